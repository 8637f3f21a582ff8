//! The SIP helper: media (RTP and RTCP) and incoming signalling of Voice over IP calls,
//! as Linux's `nf_conntrack_sip`. Assigned to the signalling connection (udp/5060 and
//! tcp/5060), it reads each SIP message ([`msg`]) and the SDP body it carries
//! ([`sdp`]):
//!
//! - **Media.** An INVITE, UPDATE, ACK or PRACK request, and a 1xx or 2xx response to an
//!   INVITE, UPDATE or PRACK, announce where their sender receives media: each
//!   `m=audio`, `m=video` and `m=image` line of the body (three at most, port 0 skipped)
//!   with its `c=` address, or the session's. For each, two expectations of UDP from
//!   the other endpoint, any source port: RTP to the even port at or below the one
//!   given and RTCP to the next, of class audio (1), video (2) or image (3), for 180 s.
//!   As with Linux's default `sip_direct_media=1`, a stream is expected only when its
//!   address is the sender's own and only from the signalling peer's address. A port
//!   outside 1024..=65535 or a stream without an address drops the message (after
//!   expecting the streams before it), as Linux does.
//! - **Registrations.** A REGISTER whose first readable `Contact` URI is the sender's own
//!   address (no third-party registrations), whose `transport=` (if any) is the
//!   connection's protocol and whose expiry (`Expires` header, overridden by the
//!   contact's `expires=`) is not 0, announces incoming calls: a permanent expectation
//!   of class signalling (0) from the registrar's address (Linux's default
//!   `sip_direct_signalling=1`), any source port, to the contact's address and port
//!   (5060 when it names none) over that protocol, for 3600 s (`sip_timeout`). A
//!   connection that was itself expected does not register.
//! - **Messages.** Over UDP a datagram is one message; over TCP (established
//!   connections only) a segment holds whole messages framed by `Content-Length`, read
//!   in order, and a message split over segments is not read (as in Linux). A request
//!   or response without a readable `CSeq`, or a response without a status code, is
//!   dropped. Payloads shorter than `SIP/2.0 200` are let through unread.
//! - **Flushes.** An INVITE, a BYE, and a failure answer (not 1xx or 2xx) to the last
//!   INVITE (or to an UPDATE or PRACK of the same `CSeq`) remove the connection's pending
//!   media expectations (audio, video, image) before anything else; the media
//!   connections already made live on. The registrar's answer to the last REGISTER
//!   removes the pending signalling expectation unless it is a 1xx, or a 2xx with a
//!   contact of the registering endpoint (the answer's destination) in the
//!   connection's transport and an expiry other than 0. A TCP segment's flushes
//!   apply before any of its messages' expectations are created.
//! - **Timeout.** Each packet with payload (over UDP any, over TCP one of an
//!   established connection; one too short to read as well) sets the signalling
//!   connection's timeout to 3600 s (`sip_timeout`).
//!
//! What Linux does that a helper cannot (the WIT world has no operation for it), and
//! brickwall therefore does not:
//! - keep a REGISTER's expectation inactive until the registrar's 2xx answer and then
//!   set its lifetime to the answer's expiry: here it is active from the request and
//!   lives 3600 s, and a 2xx answer with a fitting contact keeps it without checking
//!   that its address, port and protocol are the contact's (the answer's contacts are
//!   read one per `Contact` header, where Linux also reads comma-separated ones);
//! - look up another connection's identical media expectation (several endpoints
//!   offered the same call) to skip it: here the host refuses the duplicate;
//! - give the expected signalling connection the SIP helper: here it gets one only by
//!   the policy's ports.
//!
//! Behind NAT (Linux's `nf_nat_sip`) nothing is rewritten and the expectations carry no
//! translation: the media meet the NAT rules as new connections of their own.

pub mod addr;
pub mod msg;
pub mod sdp;
pub mod state;

use brickwall_helper_sdk::{
    export_helper, proto, Addr, ConnInfo, CtState, Direction, Expect, Helper, Outcome, Packet,
    State, Tuple, Verdict,
};
use msg::Method;
use state::Session;

/// Lifetime of a media expectation, seconds (Linux's policy for every media class).
pub const MEDIA_TIMEOUT_S: u32 = 180;

/// Lifetime of a registration's expectation, and the signalling connection's
/// timeout after each message, seconds (Linux's `sip_timeout`).
pub const SIGNALLING_TIMEOUT_S: u32 = 3600;

/// The classes an INVITE, a BYE or a failed INVITE flushes.
pub const MEDIA_CLASSES: [u8; 3] = [sdp::class::AUDIO, sdp::class::VIDEO, sdp::class::IMAGE];

/// Media only between the signalling endpoints (Linux's `sip_direct_media`).
pub const DIRECT_MEDIA: bool = true;

/// Incoming calls only from the registrar (Linux's `sip_direct_signalling`).
pub const DIRECT_SIGNALLING: bool = true;

/// The helper.
pub struct Sip;

impl Helper for Sip {
    fn assigned(conn: &ConnInfo) -> Vec<u8> {
        Session::new(conn).to_bytes()
    }

    fn packet(pkt: &Packet<'_>, state: &mut State) -> Outcome {
        let Some(mut s) = Session::decode(state.get()) else {
            return Outcome::accept();
        };
        let before = s;
        if pkt.ct == CtState::Related {
            s.expected = true;
        }
        let mut out = Outcome::accept();
        let tcp = s.original.protocol == proto::TCP;
        if !tcp || pkt.ct == CtState::Established {
            out.timeout_s = Some(SIGNALLING_TIMEOUT_S);
        }
        if pkt.payload.len() >= msg::MIN_LEN && (!tcp || pkt.ct == CtState::Established) {
            if tcp {
                for r in msg::tcp_messages(pkt.payload) {
                    if !message(&pkt.payload[r], pkt.dir, &mut s, &mut out) {
                        out.verdict = Some(Verdict::Drop);
                        break;
                    }
                }
            } else if !message(pkt.payload, pkt.dir, &mut s, &mut out) {
                out.verdict = Some(Verdict::Drop);
            }
        }
        if s != before {
            state.set(s.to_bytes());
        }
        out
    }
}

export_helper!(Sip);

/// The addresses that matter for a message sent in `dir`: its sender's and the other
/// endpoint's (each as the source of its own direction).
fn endpoints(s: &Session, dir: Direction) -> (Addr, Addr) {
    match dir {
        Direction::Original => (s.original.src, s.reply.src),
        Direction::Reply => (s.reply.src, s.original.src),
    }
}

/// Reads one message; adds its expectations to `out`. `false`: drop the packet.
fn message(m: &[u8], dir: Direction, s: &mut Session, out: &mut Outcome) -> bool {
    if msg::is_response(m) {
        let code = msg::status_code(m);
        if code == 0 {
            return false;
        }
        let Some((cseq, method_at)) = msg::cseq(m) else {
            return false;
        };
        match msg::response_method(m, method_at) {
            Some(Method::Invite | Method::Update | Method::Prack) => {
                if (100..=299).contains(&code) {
                    return media(m, dir, s, out);
                }
                if s.invite_cseq == cseq {
                    flush(out, &MEDIA_CLASSES);
                }
                true
            }
            Some(Method::Register) => registered(m, dir, s, cseq, code, out),
            _ => true,
        }
    } else {
        let Some(method) = msg::request_method(m) else {
            return true;
        };
        let Some((cseq, _)) = msg::cseq(m) else {
            return false;
        };
        match method {
            Method::Invite => {
                flush(out, &MEDIA_CLASSES);
                let ok = media(m, dir, s, out);
                if ok {
                    s.invite_cseq = cseq;
                }
                ok
            }
            Method::Update | Method::Ack | Method::Prack => media(m, dir, s, out),
            Method::Bye => {
                flush(out, &MEDIA_CLASSES);
                true
            }
            Method::Register => register(m, dir, s, cseq, out),
        }
    }
}

/// The streams of the message's SDP body, expected as RTP and RTCP pairs.
fn media(m: &[u8], dir: Direction, s: &Session, out: &mut Outcome) -> bool {
    let v6 = s.original.src.is_v6();
    let (sender, peer) = endpoints(s, dir);
    let body = sdp::body(m, v6);
    for st in &body.streams {
        if DIRECT_MEDIA && st.addr != sender {
            continue;
        }
        let rtp = st.port & !1;
        for port in [rtp, rtp + 1] {
            out.expects.push(Expect {
                tuple: Tuple {
                    src: peer,
                    dst: st.addr,
                    protocol: proto::UDP,
                    src_port: 0,
                    dst_port: port,
                },
                timeout_s: MEDIA_TIMEOUT_S,
                class: st.class,
                permanent: false,
                any_src_addr: !DIRECT_MEDIA,
                any_src_port: true,
                nat: None,
            });
        }
    }
    !body.bad
}

/// A REGISTER: the expectation of incoming calls to its contact.
fn register(m: &[u8], dir: Direction, s: &mut Session, cseq: u32, out: &mut Outcome) -> bool {
    if s.expected {
        return true;
    }
    let v6 = s.original.src.is_v6();
    let (sender, registrar) = endpoints(s, dir);
    let mut expires = msg::header_number(m, &msg::EXPIRES).map_or(0, |(v, _)| v as u32);
    let uri = match msg::uri(m, 0, &msg::CONTACT, v6) {
        msg::UriFound::Missing => return true,
        msg::UriFound::Bad => return false,
        msg::UriFound::Uri(u) => u,
    };
    if uri.addr != sender {
        return true;
    }
    let Some(protocol) = msg::transport(m, uri.end, s.original.protocol) else {
        return true;
    };
    if let Some(e) = msg::numeric_param(m, uri.end, b"expires=") {
        expires = e;
    }
    s.register_cseq = cseq;
    if expires == 0 {
        return true;
    }
    out.expects.push(Expect {
        tuple: Tuple {
            src: registrar,
            dst: uri.addr,
            protocol,
            src_port: 0,
            dst_port: uri.port,
        },
        timeout_s: SIGNALLING_TIMEOUT_S,
        class: sdp::class::SIGNALLING,
        permanent: true,
        any_src_addr: !DIRECT_SIGNALLING,
        any_src_port: true,
        nat: None,
    });
    true
}

/// Adds `classes` to the classes `out` flushes.
fn flush(out: &mut Outcome, classes: &[u8]) {
    for c in classes {
        if !out.flush_expected.contains(c) {
            out.flush_expected.push(*c);
        }
    }
}

/// The registrar's answer to the last REGISTER: a 1xx changes nothing; a 2xx keeps the
/// registration's expectation when one of its contacts is the registering endpoint's
/// (the answer's destination) in the connection's transport with an expiry (the
/// contact's `expires=`, else the `Expires` header) other than 0; anything else
/// flushes it. A 2xx with an unreadable contact is dropped, as Linux does.
fn registered(
    m: &[u8],
    dir: Direction,
    s: &Session,
    cseq: u32,
    code: u32,
    out: &mut Outcome,
) -> bool {
    if s.register_cseq != cseq || (100..=199).contains(&code) {
        return true;
    }
    if (200..=299).contains(&code) {
        let v6 = s.original.src.is_v6();
        let endpoint = match dir {
            Direction::Original => s.original.dst,
            Direction::Reply => s.reply.dst,
        };
        let expires = msg::header_number(m, &msg::EXPIRES).map_or(0, |(v, _)| v as u32);
        let mut from = 0;
        loop {
            let uri = match msg::uri(m, from, &msg::CONTACT, v6) {
                msg::UriFound::Missing => break,
                msg::UriFound::Bad => return false,
                msg::UriFound::Uri(u) => u,
            };
            from = uri.end;
            if uri.addr != endpoint || msg::transport(m, uri.end, s.original.protocol).is_none() {
                continue;
            }
            let c_expires = msg::numeric_param(m, uri.end, b"expires=").unwrap_or(expires);
            if c_expires == 0 {
                break;
            }
            return true;
        }
    }
    flush(out, &[sdp::class::SIGNALLING]);
    true
}

#[cfg(test)]
mod tests;
