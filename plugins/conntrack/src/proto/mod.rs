//! Per-protocol trackers: whether a packet may start a connection, and what a packet
//! does to its connection's state and timeout.

pub mod dccp;
pub mod generic;
pub mod gre;
pub mod icmp;
pub mod sctp;
pub mod tcp;
pub mod udp;

use crate::tuple::proto;
use serde::Deserialize;

/// Protocol-specific state as the connection record keeps it (52 bytes: TCP's window
/// data, 48, and the variant).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProtoState {
    /// TCP window tracking state.
    Tcp(tcp::TcpConn),
    /// UDP (and UDP-Lite).
    Udp(udp::UdpState),
    /// ICMP or ICMPv6 query.
    Icmp,
    /// GRE.
    Gre,
    /// SCTP association state and verification tags.
    Sctp(sctp::SctpConn),
    /// DCCP connection state.
    Dccp(dccp::DccpConn),
    /// Any other protocol.
    Generic,
}

impl ProtoState {
    /// Whether an ASSURED connection in this state may still go early when the table is
    /// nearly full, as Linux's `can_early_drop`: TCP closing or closed, SCTP shutting
    /// down, DCCP closing or in TIMEWAIT.
    pub fn can_early_drop(&self) -> bool {
        match self {
            ProtoState::Tcp(t) => matches!(
                t.state(),
                tcp::TcpState::Close
                    | tcp::TcpState::CloseWait
                    | tcp::TcpState::FinWait
                    | tcp::TcpState::LastAck
                    | tcp::TcpState::TimeWait
            ),
            ProtoState::Sctp(s) => matches!(
                s.state(),
                sctp::SctpState::ShutdownSent
                    | sctp::SctpState::ShutdownRecd
                    | sctp::SctpState::ShutdownAckSent
            ),
            ProtoState::Dccp(d) => matches!(
                d.state(),
                dccp::DccpState::CloseReq | dccp::DccpState::Closing | dccp::DccpState::TimeWait
            ),
            _ => false,
        }
    }

    /// The state word `conntrack -L` prints after the timeout (TCP, SCTP and DCCP
    /// only).
    pub fn state_name(&self) -> Option<&'static str> {
        match self {
            ProtoState::Tcp(t) => Some(t.state().name()),
            ProtoState::Sctp(s) => Some(s.state().name()),
            ProtoState::Dccp(d) => Some(d.state().name()),
            _ => None,
        }
    }

    /// The named state as a number, which changes exactly when
    /// [`state_name`](Self::state_name) does (0 for protocols without states): what
    /// tells a PROTOINFO change.
    #[inline]
    pub fn state_key(&self) -> u8 {
        match self {
            ProtoState::Tcp(t) => t.state() as u8 + 1,
            ProtoState::Sctp(s) => s.state() as u8 + 1,
            ProtoState::Dccp(d) => d.state() as u8 + 1,
            _ => 0,
        }
    }

    /// The state as a tracker reads and updates it.
    #[inline]
    pub fn tracked(&mut self) -> Tracked<'_> {
        match self {
            ProtoState::Tcp(c) => Tracked::Tcp(c),
            ProtoState::Udp(u) => Tracked::Udp(u.start_ns(), u.lite()),
            ProtoState::Icmp => Tracked::Icmp,
            ProtoState::Gre => Tracked::Gre,
            ProtoState::Sctp(s) => Tracked::Sctp(s),
            ProtoState::Dccp(d) => Tracked::Dccp(d),
            ProtoState::Generic => Tracked::Generic,
        }
    }
}

/// A connection's protocol state as a tracker reads and updates it.
pub enum Tracked<'a> {
    /// TCP window tracking state.
    Tcp(&'a mut tcp::TcpConn),
    /// UDP: the connection's start, from which the stream rule counts, and whether it
    /// is UDP-Lite.
    Udp(u64, bool),
    /// ICMP or ICMPv6 query.
    Icmp,
    /// GRE.
    Gre,
    /// SCTP association state and verification tags.
    Sctp(&'a mut sctp::SctpConn),
    /// DCCP connection state.
    Dccp(&'a mut dccp::DccpConn),
    /// Any other protocol.
    Generic,
}

/// What a packet did to its connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Track {
    /// Valid: refresh the timeout to `timeout` seconds; mark ASSURED if asked.
    Accept {
        /// New timeout, seconds.
        timeout: u32,
        /// Set the ASSURED bit now.
        set_assured: bool,
    },
    /// Valid, but the timeout is left as it is.
    Ignore,
    /// Valid, and the connection ends with it (an RST before any reply): destroy it.
    Kill,
    /// The packet does not fit its connection: INVALID, the connection is untouched.
    Invalid(&'static str),
    /// INVALID, and the connection's remaining lifetime is cut to `timeout` seconds if
    /// it is longer (and at least the minimum the TCP tracker names).
    InvalidLowerTimeout(&'static str, u32),
    /// The connection must be destroyed and the packet re-run (TCP SYN on TIME_WAIT).
    Reopen,
}

/// Timeouts of every protocol, seconds (Linux's defaults).
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Timeouts {
    /// TCP, per state.
    pub tcp: tcp::TcpTimeouts,
    /// UDP before a reply, or with a reply but no stream yet.
    pub udp: u32,
    /// UDP seen as a stream.
    pub udp_stream: u32,
    /// ICMP and ICMPv6 queries.
    pub icmp: u32,
    /// GRE before a reply.
    pub gre: u32,
    /// GRE with replies.
    pub gre_stream: u32,
    /// SCTP, per state.
    pub sctp: sctp::SctpTimeouts,
    /// DCCP, per state.
    pub dccp: dccp::DccpTimeouts,
    /// Every other protocol (and DCCP with `dccp_generic`).
    pub generic: u32,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            tcp: tcp::TcpTimeouts::default(),
            udp: 30,
            udp_stream: 120,
            icmp: 30,
            gre: 30,
            gre_stream: 180,
            sctp: sctp::SctpTimeouts::default(),
            dccp: dccp::DccpTimeouts::default(),
            generic: 600,
        }
    }
}

/// Tracker settings.
#[derive(Clone, Debug, Default)]
pub struct ProtoConfig {
    /// TCP settings (loose, be_liberal, max_retrans).
    pub tcp: tcp::TcpConfig,
    /// All timeouts.
    pub timeouts: Timeouts,
    /// Track DCCP as a generic protocol (Linux 6.16 and later) instead of with its
    /// own tracker.
    pub dccp_generic: bool,
}

/// A TCP segment from the captured L4 bytes; `l4_len` is the L4 length the IP header
/// declares, which is longer than the bytes when the capture cut the packet short: the
/// sequence space a segment covers comes from the declared length.
fn segment(l4: &[u8], l4_len: usize) -> Option<tcp::Segment<'_>> {
    let mut seg = tcp::Segment::parse(l4)?;
    let header = 20 + seg.options.len();
    if l4_len > l4.len() {
        seg.payload_len = u32::try_from(l4_len.saturating_sub(header)).unwrap_or(u32::MAX);
    }
    Some(seg)
}

/// The protocol state a connection started at `now_ns` begins with, or why `l4`
/// cannot start one (`l4_len`: the L4 length the IP header declares).
pub fn new_state(
    l4proto: u8,
    l4: &[u8],
    l4_len: usize,
    now_ns: u64,
    cfg: &ProtoConfig,
) -> Result<ProtoState, &'static str> {
    match l4proto {
        proto::TCP => {
            let seg = segment(l4, l4_len).ok_or("tcp-truncated")?;
            tcp::tcp_new(&seg, &cfg.tcp).map(ProtoState::Tcp)
        }
        proto::UDP => Ok(ProtoState::Udp(udp::UdpState::new(now_ns))),
        proto::UDPLITE => Ok(ProtoState::Udp(udp::UdpState::new_lite(now_ns))),
        proto::ICMP | proto::ICMPV6 => Ok(ProtoState::Icmp),
        proto::GRE => Ok(ProtoState::Gre),
        proto::SCTP => sctp::sctp_new(l4).map(ProtoState::Sctp),
        proto::DCCP if !cfg.dccp_generic => dccp::dccp_new(l4, l4_len).map(ProtoState::Dccp),
        _ => Ok(ProtoState::Generic),
    }
}

/// Tracks one packet of a connection in direction `dir` (0 original, 1 reply).
/// `status` is the connection's status before this packet (a first reply does not yet
/// count as seen, as in Linux); `l4_len` the L4 length the IP header declares;
/// `receiver_adj` the other direction's TCP sequence adjustment, if it has one.
#[inline]
#[allow(clippy::too_many_arguments)]
pub fn track(
    state: Tracked<'_>,
    dir: u8,
    l4: &[u8],
    l4_len: usize,
    now_ns: u64,
    status: u16,
    cfg: &ProtoConfig,
    receiver_adj: Option<&crate::seqadj::SeqAdj>,
) -> Track {
    let seen_reply = status & crate::conn::status::SEEN_REPLY != 0;
    let assured = status & crate::conn::status::ASSURED != 0;
    let t = &cfg.timeouts;
    match state {
        Tracked::Tcp(c) => {
            let Some(mut seg) = segment(l4, l4_len) else {
                return Track::Invalid("tcp-truncated");
            };
            if let Some(a) = receiver_adj {
                seg.ack_offset = a.offset_of(seg.ack.wrapping_sub(1));
            }
            let d = if dir == 0 {
                tcp::Dir::Original
            } else {
                tcp::Dir::Reply
            };
            match tcp::tcp_packet(c, d, &seg, &cfg.tcp, seen_reply, assured) {
                tcp::TcpVerdict::Accept {
                    timeout,
                    set_assured,
                } => Track::Accept {
                    timeout,
                    set_assured,
                },
                tcp::TcpVerdict::Ignore { .. } => Track::Ignore,
                tcp::TcpVerdict::Kill => Track::Kill,
                tcp::TcpVerdict::Invalid { reason } => Track::Invalid(reason),
                tcp::TcpVerdict::InvalidLowerTimeout { reason, timeout } => {
                    Track::InvalidLowerTimeout(reason, timeout)
                }
                tcp::TcpVerdict::Reopen => Track::Reopen,
            }
        }
        Tracked::Udp(start_ns, lite) => {
            if !udp::header_ok(l4, l4_len, lite) {
                return Track::Invalid("udp-length");
            }
            udp::track(start_ns, now_ns, seen_reply, assured, lite, t)
        }
        Tracked::Icmp => Track::Accept {
            timeout: t.icmp,
            set_assured: false,
        },
        Tracked::Gre => gre::track(seen_reply, t),
        Tracked::Sctp(s) => {
            let confirmed = status & crate::conn::status::CONFIRMED != 0;
            sctp::track(s, dir, l4, confirmed, t)
        }
        Tracked::Dccp(d) => dccp::track(d, dir, l4, l4_len, seen_reply, t),
        Tracked::Generic => generic::track(t),
    }
}
