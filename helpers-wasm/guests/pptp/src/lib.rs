//! The PPTP helper: it follows a PPTP control connection (tcp/1723, the PNS as client,
//! the PAC as server) and, when a call comes up, expects the call's two GRE flows,
//! keyed by call id, as Linux's `nf_conntrack_pptp` (IPv4 only, like Linux).
//!
//! A call comes up on an Outgoing-Call-Reply "connected" from the PAC that answers the
//! PNS's Outgoing-Call-Request, or on an Incoming-Call-Connected that completes an
//! Incoming-Call-Request / Incoming-Call-Reply exchange. Two exact GRE expectations
//! follow: PNS → PAC keyed with the PAC's call id, PAC → PNS keyed with the PNS's
//! (enhanced GRE carries the receiver's call id; it is the tuple's destination port,
//! the sender's is its source port). A repeated reply expects the pair again, as in
//! Linux.
//!
//! Only established connections' packets are read. Unlike Linux, which reads only
//! the first control message of a segment, every whole message of a segment is read.
//!
//! Behind NAT (the control connection is translated, say the PNS's address by a
//! source NAT) the helper does what Linux's `nf_nat_pptp` adds. The PNS's call id is
//! replaced, so that PNSes behind one address that pick the same id stay apart at the
//! PAC: by the control connection's port as the PAC sees it (the reply tuple's
//! destination port, unique per translated address and PAC), in the PNS's
//! Outgoing-Call-Request, Incoming-Call-Reply and Call-Clear-Request; the PAC's
//! Outgoing-Call-Reply, Incoming-Call-Connected, WAN-Error-Notify and Set-Link-Info get
//! the PNS's own id back in their peer call id. The edits keep the length. The two
//! expectations: PNS → PAC as the PNS sends it (the master's original addresses, its
//! own call id), PAC → PNS as the PAC sends it (the master's reply addresses, to the
//! PNS's translated address and the new call id), each translated as it follows the
//! master — PNS → PAC goes on to the PAC's real address, and conntrack gives GRE the
//! master's translated port as the key its answers come back to (the new id); PAC →
//! PNS goes on to the PNS's real address and own call id.
//!
//! State: the original tuple ([`Tuple::encode`], 14 bytes), then [`Session::encode`]
//! (8 bytes: session state, call state, PNS call id, PAC call id, the PNS's call id as
//! the PAC knows it), then, only for a translated connection, the reply tuple (14
//! bytes): 22 or 36 bytes, written when the connection is assigned and then only when
//! the session changes. IPv6 connections get empty state and are never looked at.

#[cfg(test)]
use brickwall_helper_testkit as capture;
pub mod msg;
pub mod session;

pub use session::{Call, CallState, Session, SessionState};

use brickwall_helper_sdk::{
    export_helper, proto, ConnInfo, CtState, Direction, Edit, Expect, ExpectNat, Helper, Outcome,
    Packet, State, Tuple,
};

/// The helper.
pub struct Pptp;

/// The two GRE expectations of `call` on the control connection `original`, whose
/// reply tuple is `reply` when it is translated (`None`: the reply is the original
/// reversed): PNS → PAC, then PAC → PNS.
///
/// Translated, PNS → PAC is expected from the PNS's real address and call id to the
/// PAC's address as the PNS knows it, going on to the PAC's real address; PAC → PNS
/// from the PAC's real address to the PNS's address and call id as the PAC knows them,
/// going on to the PNS's real address and own call id (Linux's `nf_nat_pptp`).
pub fn gre_expectations(original: &Tuple, reply: Option<&Tuple>, call: Call) -> [Expect; 2] {
    let back = reply.copied().unwrap_or_else(|| original.reversed());
    let mut to_pac = Expect::exact(Tuple {
        src: original.src,
        dst: original.dst,
        protocol: proto::GRE,
        src_port: call.pns_call_id,
        dst_port: call.pac_call_id,
    });
    let mut to_pns = Expect::exact(Tuple {
        src: back.src,
        dst: back.dst,
        protocol: proto::GRE,
        src_port: call.pac_call_id,
        dst_port: call.pns_call_id_nat,
    });
    if reply.is_some() {
        to_pac.nat = Some(ExpectNat {
            dir: Direction::Original,
            to: back.src,
            to_port: call.pac_call_id,
        });
        to_pns.nat = Some(ExpectNat {
            dir: Direction::Reply,
            to: original.src,
            to_port: call.pns_call_id,
        });
    }
    [to_pac, to_pns]
}

/// What the state holds: the original tuple, the session, the reply tuple when the
/// connection is translated, and where the session's bytes start.
fn decode(state: &[u8]) -> Option<(Tuple, Session, Option<Tuple>, usize)> {
    let (original, used) = Tuple::decode(state)?;
    let end = used + Session::ENCODED_LEN;
    let session = Session::decode(state.get(used..end)?)?;
    let rest = state.get(end..)?;
    let reply = if rest.is_empty() {
        None
    } else {
        match Tuple::decode(rest)? {
            (reply, n) if n == rest.len() => Some(reply),
            _ => return None,
        }
    };
    Some((original, session, reply, used))
}

impl Helper for Pptp {
    fn assigned(conn: &ConnInfo) -> Vec<u8> {
        if conn.original.src.is_v6() {
            return Vec::new();
        }
        let mut s = Vec::with_capacity(28 + Session::ENCODED_LEN);
        conn.original.encode(&mut s);
        Session::default().encode(&mut s);
        if conn.is_translated() {
            conn.reply.encode(&mut s);
        }
        s
    }

    fn packet(pkt: &Packet<'_>, state: &mut State) -> Outcome {
        if pkt.ct != CtState::Established {
            return Outcome::accept();
        }
        let Some((original, before, reply, at)) = decode(state.get()) else {
            return Outcome::accept();
        };
        let mut session = before;
        let mut out = Outcome::accept();
        // Behind NAT a new call is known to the PAC by the control connection's port
        // as the PAC sees it.
        let nat_id = reply.map(|r| r.dst_port);
        let from_pns = pkt.dir == Direction::Original;
        for m in msg::messages(pkt.payload) {
            let Some(control) = m.control() else {
                continue;
            };
            match pkt.dir {
                Direction::Original => session.from_pns(&control, nat_id),
                Direction::Reply => {
                    if let Some(call) = session.from_pac(&control) {
                        out.expects
                            .extend(gre_expectations(&original, reply.as_ref(), call));
                    }
                    // The call (or the whole session) is over: its GRE connections and
                    // expectations go, as Linux's helper destroys the call's siblings.
                    if matches!(
                        control,
                        msg::Control::DisconnectNotify { .. } | msg::Control::StopReply { .. }
                    ) {
                        out.end_expected = true;
                    }
                }
            }
            if let Some((at, value)) = control.pns_call_field(from_pns) {
                if let Some(id) = session.translated_call_id(value, from_pns) {
                    let at = m.offset + msg::HEADER_LEN + at;
                    out.rewrites
                        .push(Edit::replace(at..at + 2, id.to_be_bytes().to_vec()));
                }
            }
        }
        if session != before {
            let mut b = Vec::with_capacity(Session::ENCODED_LEN);
            session.encode(&mut b);
            state.get_mut()[at..at + Session::ENCODED_LEN].copy_from_slice(&b);
        }
        out
    }
}

export_helper!(Pptp);

#[cfg(test)]
mod tests {
    use super::*;
    use brickwall_helper_sdk::Addr;
    use msg::{body_len, build};

    const PNS: [u8; 4] = [10, 1, 1, 11];
    const PAC: [u8; 4] = [10, 1, 1, 10];

    fn conn() -> ConnInfo {
        let original = Tuple {
            src: Addr::V4(PNS),
            dst: Addr::V4(PAC),
            protocol: proto::TCP,
            src_port: 3025,
            dst_port: 1723,
        };
        ConnInfo::of(original)
    }

    /// Runs `segments` (direction, payload) through one connection; returns each
    /// segment's outcome and whether it wrote the state.
    fn replay(c: &ConnInfo, segments: &[(Direction, Vec<u8>)]) -> (Vec<Outcome>, Vec<bool>, State) {
        let mut st = State::new(Pptp::assigned(c));
        let mut outs = Vec::new();
        let mut wrote = Vec::new();
        for (dir, payload) in segments {
            let mut s = State::new(st.get().to_vec());
            let pkt = Packet {
                conn: 1,
                dir: *dir,
                ct: CtState::Established,
                seq: 0,
                tcp_flags: 0x18,
                payload,
            };
            outs.push(Pptp::packet(&pkt, &mut s));
            wrote.push(s.changed());
            st = s;
        }
        (outs, wrote, st)
    }

    fn session_of(st: &State) -> Session {
        decode(st.get()).expect("state").1
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
            .collect()
    }

    /// A message of type `kind` whose body starts with `fields` (zero-padded).
    fn m(kind: u16, fields: &[u8]) -> Vec<u8> {
        let mut b = fields.to_vec();
        b.resize(body_len(kind).expect("known type"), 0);
        build(kind, &b)
    }

    fn out_request(call: u16) -> Vec<u8> {
        m(7, &call.to_be_bytes())
    }

    fn out_reply(call: u16, peer: u16, result: u8) -> Vec<u8> {
        let [a, b] = call.to_be_bytes();
        let [c, d] = peer.to_be_bytes();
        m(8, &[a, b, c, d, result])
    }

    fn start() -> Vec<(Direction, Vec<u8>)> {
        vec![
            (Direction::Original, m(1, &[1, 0])),
            (Direction::Reply, m(2, &[1, 0, 1])),
        ]
    }

    use Direction::{Original as O, Reply as R};

    /// The PPTP payloads of tcpdump's tests/pptp.pcap (BSD-3-Clause), 10.1.1.11:3025
    /// (PNS) → 10.1.1.10:1723 (PAC): frames 5, 8, 9 (a duplicate), 10, 13, 14 (a
    /// duplicate), 15.
    fn tcpdump_segments() -> Vec<(Direction, Vec<u8>)> {
        let zeros = |n: usize| "00".repeat(n);
        let sccrq = format!(
            "009c00011a2b3c4d0001000001000000000000010000000100000870{}4d6963726f736f66742057696e646f7773204e54{}",
            zeros(64),
            zeros(44)
        );
        let sccrp = format!(
            "009c00011a2b3c4d00020000010001000000000000000000000100016c6f63616c{}4d6f7265746f6e426179{}",
            zeros(59),
            zeros(54)
        );
        let ocrq = format!(
            "00a800011a2b3c4d00070000000078280000012c05f5e10000000003000000030040{}",
            zeros(134)
        );
        let ocrp = "002000011a2b3c4d00080000000000000100000005f5e1000040000000000000";
        let sli = "001800011a2b3c4d000f000000000000ffffffffffffffff";
        vec![
            (O, hex(&sccrq)),
            (R, hex(&sccrp)),
            (R, hex(&sccrp)),
            (O, hex(&ocrq)),
            (R, hex(ocrp)),
            (R, hex(ocrp)),
            (O, hex(sli)),
        ]
    }

    #[test]
    fn tcpdump_vectors_are_the_capture_payloads() {
        let lens: Vec<usize> = tcpdump_segments().iter().map(|(_, p)| p.len()).collect();
        assert_eq!(lens, [156, 156, 156, 168, 32, 32, 24]);
        let frames = capture::read("tcpdump/pptp.pcap");
        let captured: Vec<&[u8]> = frames
            .iter()
            .filter(|f| !f.payload.is_empty())
            .map(|f| &f.payload[..])
            .collect();
        let ours: Vec<Vec<u8>> = tcpdump_segments().into_iter().map(|(_, p)| p).collect();
        assert_eq!(captured, ours);
    }

    #[test]
    fn tcpdump_call_expects_gre_both_ways_twice() {
        let (outs, wrote, st) = replay(&conn(), &tcpdump_segments());
        let counts: Vec<usize> = outs.iter().map(|o| o.expects.len()).collect();
        assert_eq!(counts, [0, 0, 0, 0, 2, 2, 0]);
        // State written on the request, the first reply, the call request and the
        // first call reply; the duplicates change nothing.
        assert_eq!(wrote, [true, true, false, true, true, false, false]);
        let e = outs[4].expects.clone();
        assert_eq!(outs[5].expects, e);
        let to_pac = e[0];
        assert_eq!(to_pac.tuple.src, Addr::V4(PNS));
        assert_eq!(to_pac.tuple.dst, Addr::V4(PAC));
        assert_eq!(to_pac.tuple.protocol, proto::GRE);
        assert_eq!((to_pac.tuple.src_port, to_pac.tuple.dst_port), (0, 0));
        assert!(!to_pac.any_src_addr && !to_pac.any_src_port && !to_pac.permanent);
        assert_eq!((to_pac.class, to_pac.timeout_s), (0, 0));
        let to_pns = e[1];
        assert_eq!(to_pns.tuple, to_pac.tuple.reversed());
        let s = session_of(&st);
        assert_eq!(
            (s.session, s.call),
            (SessionState::Confirmed, CallState::OutConfirmed)
        );
    }

    #[test]
    fn ndpi_like_call_ids_key_each_direction() {
        // PNS call 0, PAC call 11755 (as in nDPI's pptp.pcap).
        let mut segs = start();
        segs.push((O, out_request(0)));
        segs.push((R, out_reply(11755, 0, 1)));
        let (outs, _, _) = replay(&conn(), &segs);
        let e = &outs[3].expects;
        assert_eq!(e.len(), 2);
        assert_eq!(
            (e[0].tuple.src, e[0].tuple.src_port, e[0].tuple.dst_port),
            (Addr::V4(PNS), 0, 11755)
        );
        assert_eq!(
            (e[1].tuple.src, e[1].tuple.src_port, e[1].tuple.dst_port),
            (Addr::V4(PAC), 11755, 0)
        );
    }

    #[test]
    fn several_messages_in_one_segment() {
        let mut one = Vec::new();
        for (_, p) in start().iter().take(1) {
            one.extend_from_slice(p);
        }
        one.extend(m(5, &[0, 0, 0, 1]));
        let mut reply = m(2, &[1, 0, 1]);
        reply.extend(m(6, &[0, 0, 0, 1, 1]));
        let mut call = out_request(9);
        call.extend(m(15, &[]));
        let mut answer = m(6, &[0, 0, 0, 1, 1]);
        answer.extend(out_reply(33, 9, 1));
        // A cut message at the end is left alone.
        answer.extend_from_slice(&out_reply(34, 9, 1)[..20]);
        let (outs, _, st) = replay(&conn(), &[(O, one), (R, reply), (O, call), (R, answer)]);
        assert_eq!(outs[3].expects.len(), 2);
        assert_eq!(outs[3].expects[0].tuple.dst_port, 33);
        assert_eq!(session_of(&st).pac_call_id, 33);
    }

    #[test]
    fn a_failed_call_expects_nothing() {
        let mut segs = start();
        segs.push((O, out_request(5)));
        for result in [0, 2, 3, 7] {
            let mut s = segs.clone();
            s.push((R, out_reply(6, 5, result)));
            let (outs, _, st) = replay(&conn(), &s);
            assert!(outs.iter().all(|o| o.expects.is_empty()), "result {result}");
            assert_eq!(session_of(&st).call, CallState::None);
        }
    }

    /// Linux destroys a call's GRE connections and expectations on the PAC's
    /// Call-Disconnect-Notify and Stop-Control-Connection-Reply; so do we, and on
    /// nothing else.
    #[test]
    fn the_pacs_teardown_ends_what_the_call_expected() {
        let mut segs = start();
        segs.push((O, out_request(5)));
        segs.push((R, out_reply(6, 5, 1)));
        segs.push((O, m(12, &5u16.to_be_bytes())));
        segs.push((R, m(13, &6u16.to_be_bytes())));
        segs.push((O, m(3, &[1, 0])));
        segs.push((R, m(4, &[1, 0])));
        let (outs, _, _) = replay(&conn(), &segs);
        let ends: Vec<bool> = outs.iter().map(|o| o.end_expected).collect();
        assert_eq!(ends, [false, false, false, false, false, true, false, true]);
        assert_eq!(outs[3].expects.len(), 2, "the call was up");
    }

    #[test]
    fn bad_magic_is_ignored() {
        let mut segs = start();
        segs.push((O, out_request(5)));
        let mut bad = out_reply(6, 5, 1);
        bad[4] = 0x1b;
        segs.push((R, bad));
        let (outs, wrote, _) = replay(&conn(), &segs);
        assert!(outs[3].expects.is_empty());
        assert!(!wrote[3]);
    }

    #[test]
    fn the_reply_must_come_from_the_pac() {
        let mut segs = start();
        segs.push((O, out_request(5)));
        segs.push((O, out_reply(6, 5, 1)));
        let (outs, _, _) = replay(&conn(), &segs);
        assert!(outs.iter().all(|o| o.expects.is_empty()));
        // And the session must have been started by the PNS.
        let segs = vec![
            (R, m(1, &[1, 0])),
            (O, m(2, &[1, 0, 1])),
            (O, out_request(5)),
            (R, out_reply(6, 5, 1)),
        ];
        let (outs, _, _) = replay(&conn(), &segs);
        assert!(outs.iter().all(|o| o.expects.is_empty()));
    }

    #[test]
    fn incoming_call_expects_gre_on_connected() {
        let mut segs = start();
        segs.push((R, m(9, &[0, 40])));
        segs.push((O, m(10, &[0, 9, 0, 40, 1])));
        segs.push((R, m(11, &[0, 9])));
        let (outs, _, _) = replay(&conn(), &segs);
        let counts: Vec<usize> = outs.iter().map(|o| o.expects.len()).collect();
        assert_eq!(counts, [0, 0, 0, 0, 2]);
        let e = &outs[4].expects;
        assert_eq!((e[0].tuple.src, e[0].tuple.dst_port), (Addr::V4(PNS), 40));
        assert_eq!((e[1].tuple.src, e[1].tuple.dst_port), (Addr::V4(PAC), 9));
    }

    #[test]
    fn only_established_packets_are_read() {
        let c = conn();
        let mut st = State::new(Pptp::assigned(&c));
        let p = m(1, &[1, 0]);
        for ct in [CtState::New, CtState::Related] {
            let pkt = Packet {
                conn: 1,
                dir: Direction::Original,
                ct,
                seq: 0,
                tcp_flags: 0x18,
                payload: &p,
            };
            assert_eq!(Pptp::packet(&pkt, &mut st), Outcome::accept());
            assert!(!st.changed());
        }
    }

    #[test]
    fn ipv6_and_bad_state_are_ignored() {
        let original = Tuple {
            src: Addr::V6([1; 16]),
            dst: Addr::V6([2; 16]),
            protocol: proto::TCP,
            src_port: 1,
            dst_port: 1723,
        };
        let c = ConnInfo::of(original);
        assert!(Pptp::assigned(&c).is_empty());
        let p = m(1, &[1, 0]);
        let mut good = Pptp::assigned(&conn());
        good[14] = 9; // no such session state
        for bytes in [Vec::new(), vec![4, 1, 2], good] {
            let mut st = State::new(bytes);
            let pkt = Packet {
                conn: 1,
                dir: Direction::Original,
                ct: CtState::Established,
                seq: 0,
                tcp_flags: 0,
                payload: &p,
            };
            assert_eq!(Pptp::packet(&pkt, &mut st), Outcome::accept());
            assert!(!st.changed());
        }
    }

    #[test]
    fn truncated_messages_never_panic_and_change_nothing() {
        let mut segs = start();
        segs.push((O, out_request(5)));
        let (_, _, ready) = replay(&conn(), &segs);
        let reply = out_reply(6, 5, 1);
        for n in 0..reply.len() {
            let mut st = State::new(ready.get().to_vec());
            let pkt = Packet {
                conn: 1,
                dir: Direction::Reply,
                ct: CtState::Established,
                seq: 0,
                tcp_flags: 0x18,
                payload: &reply[..n],
            };
            assert_eq!(Pptp::packet(&pkt, &mut st), Outcome::accept(), "cut at {n}");
            assert!(!st.changed());
        }
    }

    #[test]
    fn random_payloads_never_panic() {
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let c = conn();
        let mut st = State::new(Pptp::assigned(&c));
        let mut st_nat = State::new(Pptp::assigned(&snat_conn()));
        for round in 0..20_000 {
            let len = (next() % 200) as usize;
            let mut p: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            if round % 2 == 1 {
                // A well-formed header with a random type, length and body.
                let kind = (next() % 17) as u16;
                let mut h = build(kind, &p);
                let cut = (next() as usize) % (h.len() + 1);
                h.truncate(cut.max(h.len() / 2));
                if round % 3 == 0 {
                    // Random fields in an otherwise valid message.
                    if let Some(n) = body_len(kind) {
                        h = build(kind, &p.iter().copied().cycle().take(n).collect::<Vec<_>>());
                    }
                }
                p = h;
            }
            let dir = if next() % 2 == 0 {
                Direction::Original
            } else {
                Direction::Reply
            };
            let pkt = Packet {
                conn: 1,
                dir,
                ct: CtState::Established,
                seq: 0,
                tcp_flags: 0x18,
                payload: &p,
            };
            for st in [&mut st, &mut st_nat] {
                let out = Pptp::packet(&pkt, st);
                assert_eq!(out.verdict, None);
                assert_eq!(out.expects.len() % 2, 0);
                assert!(session_of(st).session <= SessionState::Confirmed);
                // Edits are two bytes within the payload, in order, apart.
                let mut end = 0;
                for e in &out.rewrites {
                    assert_eq!((e.length, e.data.len()), (2, 2));
                    assert!(e.offset >= end && (e.offset + 2) as usize <= p.len());
                    end = e.offset + 2;
                }
            }
        }
    }

    #[test]
    fn capture_tcpdump_pptp_gre_matches_an_expectation() {
        let frames = capture::read("tcpdump/pptp.pcap");
        let exps = replay_capture(&frames);
        assert_eq!(
            exps.len(),
            4,
            "each of the two Outgoing-Call-Replies expects a pair"
        );
        let gre: Vec<_> = frames.iter().filter(|f| f.protocol == proto::GRE).collect();
        assert_eq!(gre.len(), 1);
        let g = gre[0];
        let hit = exps.iter().filter(|e| {
            e.tuple.src == Addr::V4(g.src)
                && e.tuple.dst == Addr::V4(g.dst)
                && e.tuple.dst_port == g.dst_port
        });
        assert_eq!(hit.count(), 2, "the GRE packet PNS → PAC, key 0");
    }

    #[test]
    fn capture_ndpi_pptp_expects_keys_11755_and_0() {
        let frames = capture::read("nDPI/pptp.pcap");
        let exps = replay_capture(&frames);
        assert_eq!(exps.len(), 2);
        let pns = Addr::V4([192, 168, 43, 22]);
        let pac = Addr::V4([191, 101, 61, 1]);
        assert_eq!(
            (
                exps[0].tuple.src,
                exps[0].tuple.dst,
                exps[0].tuple.src_port,
                exps[0].tuple.dst_port
            ),
            (pns, pac, 0, 11755)
        );
        assert_eq!(
            (
                exps[1].tuple.src,
                exps[1].tuple.dst,
                exps[1].tuple.src_port,
                exps[1].tuple.dst_port
            ),
            (pac, pns, 11755, 0)
        );
    }

    /// The PNS 10.0.0.2:40000 behind a source NAT that makes it 192.0.2.1:61000 to
    /// the PAC 198.51.100.7:1723.
    const INSIDE: [u8; 4] = [10, 0, 0, 2];
    const PUBLIC: [u8; 4] = [192, 0, 2, 1];
    const SERVER: [u8; 4] = [198, 51, 100, 7];

    fn snat_conn() -> ConnInfo {
        let mut c = ConnInfo::of(Tuple {
            src: Addr::V4(INSIDE),
            dst: Addr::V4(SERVER),
            protocol: proto::TCP,
            src_port: 40000,
            dst_port: 1723,
        });
        c.reply.dst = Addr::V4(PUBLIC);
        c.reply.dst_port = 61000;
        c
    }

    fn gre(src: [u8; 4], dst: [u8; 4], src_key: u16, dst_key: u16) -> Tuple {
        Tuple {
            src: Addr::V4(src),
            dst: Addr::V4(dst),
            protocol: proto::GRE,
            src_port: src_key,
            dst_port: dst_key,
        }
    }

    /// An outgoing call, PNS call 0x1234, PAC call 0x5678; the PAC answers `echo`, the
    /// PNS's call id as it reached the PAC.
    fn outgoing_call(echo: u16) -> Vec<(Direction, Vec<u8>)> {
        let mut segs = start();
        segs.push((O, out_request(0x1234)));
        segs.push((R, out_reply(0x5678, echo, 1)));
        segs
    }

    /// `payload` with `edits` applied (same-length edits only).
    fn edited(payload: &[u8], edits: &[brickwall_helper_sdk::Edit]) -> Vec<u8> {
        let mut p = payload.to_vec();
        for e in edits {
            let at = e.offset as usize;
            assert_eq!(e.length as usize, e.data.len(), "same length");
            p[at..at + e.data.len()].copy_from_slice(&e.data);
        }
        p
    }

    /// The one edit of `out`: its offset and the id it writes.
    fn id_edit(out: &Outcome) -> Option<(u32, u16)> {
        match &out.rewrites[..] {
            [] => None,
            [e] => Some((e.offset, u16::from_be_bytes([e.data[0], e.data[1]]))),
            more => panic!("several edits: {more:?}"),
        }
    }

    /// The translated port of [`snat_conn`]'s control connection.
    const NEW_ID: u16 = 61000;

    #[test]
    fn behind_snat_the_call_id_is_replaced_and_gre_follows_the_master() {
        let c = snat_conn();
        assert_eq!(Pptp::assigned(&c).len(), 36, "the reply tuple is kept");
        let (outs, _, st) = replay(&c, &outgoing_call(NEW_ID));
        // The request carries the new id to the PAC, the reply the PNS's own back.
        assert_eq!(id_edit(&outs[2]), Some((12, NEW_ID)));
        assert_eq!(id_edit(&outs[3]), Some((14, 0x1234)));
        assert!(outs[..2].iter().all(|o| o.rewrites.is_empty()));
        let sent = edited(&out_request(0x1234), &outs[2].rewrites);
        assert_eq!(sent, out_request(NEW_ID));
        let got = edited(&out_reply(0x5678, NEW_ID, 1), &outs[3].rewrites);
        assert_eq!(got, out_reply(0x5678, 0x1234, 1));
        let e = &outs[3].expects;
        assert_eq!(e.len(), 2);
        // PNS → PAC as the PNS sends it, on to the PAC's real address (the same here).
        assert_eq!(e[0].tuple, gre(INSIDE, SERVER, 0x1234, 0x5678));
        assert_eq!(
            e[0].nat,
            Some(ExpectNat {
                dir: Direction::Original,
                to: Addr::V4(SERVER),
                to_port: 0x5678
            })
        );
        // PAC → PNS as the PAC sends it, to the translated address and the new id, on
        // to the PNS and its own id.
        assert_eq!(e[1].tuple, gre(SERVER, PUBLIC, 0x5678, NEW_ID));
        assert_eq!(
            e[1].nat,
            Some(ExpectNat {
                dir: Direction::Reply,
                to: Addr::V4(INSIDE),
                to_port: 0x1234
            })
        );
        assert!(e.iter().all(|x| !x.any_src_addr && !x.any_src_port));
        let (_, s, reply, _) = decode(st.get()).expect("state");
        assert_eq!(reply, Some(c.reply));
        assert_eq!(
            (s.call, s.pns_call_id, s.pns_call_id_nat, s.pac_call_id),
            (CallState::OutConfirmed, 0x1234, NEW_ID, 0x5678)
        );
    }

    #[test]
    fn behind_snat_a_reply_to_the_pnss_own_id_brings_nothing_up() {
        let (outs, _, st) = replay(&snat_conn(), &outgoing_call(0x1234));
        assert!(outs[3].expects.is_empty());
        assert!(outs[3].rewrites.is_empty());
        assert_eq!(session_of(&st).call, CallState::OutRequested);
    }

    #[test]
    fn behind_snat_the_other_messages_naming_the_call_are_translated() {
        let mut segs = outgoing_call(NEW_ID);
        // The PAC: WAN-Error-Notify, Set-Link-Info, then Call-Disconnect-Notify (its
        // own call id, left alone); the PNS: Set-Link-Info (the PAC's id, left alone),
        // Call-Clear-Request.
        let mut two = m(14, &NEW_ID.to_be_bytes());
        two.extend(m(15, &NEW_ID.to_be_bytes()));
        segs.push((R, two));
        segs.push((O, m(15, &0x5678u16.to_be_bytes())));
        segs.push((O, m(12, &0x1234u16.to_be_bytes())));
        segs.push((R, m(13, &0x5678u16.to_be_bytes())));
        let (outs, _, _) = replay(&snat_conn(), &segs);
        let offsets: Vec<(u32, u16)> = outs[4]
            .rewrites
            .iter()
            .map(|e| (e.offset, u16::from_be_bytes([e.data[0], e.data[1]])))
            .collect();
        // The second message starts after the first's 40 bytes.
        assert_eq!(offsets, [(12, 0x1234), (40 + 12, 0x1234)]);
        assert_eq!(id_edit(&outs[5]), None);
        assert_eq!(id_edit(&outs[6]), Some((12, NEW_ID)));
        assert_eq!(id_edit(&outs[7]), None);
    }

    #[test]
    fn behind_dnat_the_pac_is_reached_at_its_real_address() {
        // The PNS calls 203.0.113.9, which a destination NAT sends on to the PAC; the
        // call id becomes the PNS's port, which the PAC sees unchanged.
        let mut c = ConnInfo::of(Tuple {
            src: Addr::V4(INSIDE),
            dst: Addr::V4([203, 0, 113, 9]),
            protocol: proto::TCP,
            src_port: 40000,
            dst_port: 1723,
        });
        c.reply.src = Addr::V4(SERVER);
        let mut segs = start();
        segs.push((O, out_request(7)));
        segs.push((R, out_reply(8, 40000, 1)));
        let (outs, _, _) = replay(&c, &segs);
        assert_eq!(id_edit(&outs[2]), Some((12, 40000)));
        let e = &outs[3].expects;
        assert_eq!(e[0].tuple, gre(INSIDE, [203, 0, 113, 9], 7, 8));
        assert_eq!(
            e[0].nat.map(|n| (n.to, n.to_port)),
            Some((Addr::V4(SERVER), 8))
        );
        assert_eq!(e[1].tuple, gre(SERVER, INSIDE, 8, 40000));
        assert_eq!(
            e[1].nat.map(|n| (n.to, n.to_port)),
            Some((Addr::V4(INSIDE), 7))
        );
    }

    #[test]
    fn an_incoming_call_behind_snat_is_translated_alike() {
        let mut segs = start();
        segs.push((R, m(9, &[0, 40])));
        segs.push((O, m(10, &[0, 9, 0, 40, 1])));
        let [hi, lo] = NEW_ID.to_be_bytes();
        segs.push((R, m(11, &[hi, lo])));
        let (outs, _, _) = replay(&snat_conn(), &segs);
        assert_eq!(id_edit(&outs[3]), Some((12, NEW_ID)));
        assert_eq!(id_edit(&outs[4]), Some((12, 9)));
        let e = &outs[4].expects;
        assert_eq!(e[0].tuple, gre(INSIDE, SERVER, 9, 40));
        assert_eq!(e[1].tuple, gre(SERVER, PUBLIC, 40, NEW_ID));
        assert_eq!(
            e[1].nat.map(|n| (n.to, n.to_port)),
            Some((Addr::V4(INSIDE), 9))
        );
    }

    #[test]
    fn untranslated_expectations_carry_no_translation_and_the_state_stays_22_bytes() {
        let c = conn();
        assert_eq!(Pptp::assigned(&c).len(), 22);
        let (outs, _, st) = replay(&c, &outgoing_call(0x1234));
        assert!(outs[3].expects.iter().all(|e| e.nat.is_none()));
        assert!(outs.iter().all(|o| o.rewrites.is_empty()));
        assert_eq!(st.get().len(), 22);
        assert_eq!(
            outs[3].expects[1].tuple,
            outs[3].expects[0].tuple.reversed()
        );
    }

    #[test]
    fn a_translated_state_with_a_bad_tail_is_ignored() {
        let good = Pptp::assigned(&snat_conn());
        for bad in [&good[..good.len() - 1], &[&good[..], &[0][..]].concat()[..]] {
            let mut segs = start();
            segs.push((O, out_request(1)));
            let mut st = State::new(bad.to_vec());
            for (dir, p) in &segs {
                let pkt = Packet {
                    conn: 1,
                    dir: *dir,
                    ct: CtState::Established,
                    seq: 0,
                    tcp_flags: 0x18,
                    payload: p,
                };
                assert_eq!(Pptp::packet(&pkt, &mut st), Outcome::accept());
            }
            assert!(!st.changed());
        }
    }

    /// Replays a capture's one TCP connection (original = its SYN's direction;
    /// established once the other side answered) and gathers the expectations.
    fn replay_capture(frames: &[capture::Frame]) -> Vec<Expect> {
        let tcp: Vec<_> = frames.iter().filter(|f| f.protocol == proto::TCP).collect();
        let syn = tcp
            .iter()
            .find(|f| f.tcp_flags & 0x12 == 0x02)
            .expect("a SYN");
        let original = Tuple {
            src: Addr::V4(syn.src),
            dst: Addr::V4(syn.dst),
            protocol: proto::TCP,
            src_port: syn.src_port,
            dst_port: syn.dst_port,
        };
        let c = ConnInfo::of(original);
        let mut st = State::new(Pptp::assigned(&c));
        let mut answered = false;
        let mut exps = Vec::new();
        for f in &tcp {
            let dir = if f.src == syn.src && f.src_port == syn.src_port {
                Direction::Original
            } else {
                answered = true;
                Direction::Reply
            };
            if f.payload.is_empty() {
                continue;
            }
            let pkt = Packet {
                conn: 1,
                dir,
                ct: if answered {
                    CtState::Established
                } else {
                    CtState::New
                },
                seq: 0,
                tcp_flags: f.tcp_flags,
                payload: &f.payload,
            };
            let mut s = State::new(st.get().to_vec());
            exps.extend(Pptp::packet(&pkt, &mut s).expects);
            st = s;
        }
        exps
    }
}
