//! Per-protocol trackers: whether a packet may start a connection, and what a packet
//! does to its connection's state and timeout.

pub mod generic;
pub mod gre;
pub mod icmp;
pub mod sctp;
pub mod tcp;
pub mod udp;

use crate::tuple::proto;
use serde::Deserialize;

/// Protocol-specific state as the connection record keeps it (8 bytes). TCP's window
/// data (48 bytes) lives out of line, in the table's TCP records; UDP's only datum (when
/// the flow may count as a stream) is derived from the connection's start time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProtoState {
    /// TCP: where the window data is, and a copy of its state for listings.
    Tcp(TcpRef),
    /// UDP (and UDP-Lite).
    Udp,
    /// ICMP or ICMPv6 query.
    Icmp,
    /// GRE.
    Gre,
    /// SCTP association state.
    Sctp(sctp::SctpState),
    /// Any other protocol.
    Generic,
}

/// A TCP connection's link to its window data in the table's TCP records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpRef {
    /// Index of the record ([`crate::table::NIL`] until the table stores one).
    pub record: u32,
    /// The record's state, kept in step by every packet (listings and events read it
    /// here without reaching the record).
    pub state: tcp::TcpState,
}

impl ProtoState {
    /// The state word `conntrack -L` prints after the timeout (TCP and SCTP only).
    pub fn state_name(&self) -> Option<&'static str> {
        match self {
            ProtoState::Tcp(t) => Some(t.state.name()),
            ProtoState::Sctp(s) => Some(s.name()),
            _ => None,
        }
    }
}

/// The protocol state of a connection being created, before the table stores it.
#[derive(Clone, Debug)]
pub enum Fresh {
    /// TCP window tracking state.
    Tcp(tcp::TcpConn),
    /// Any other protocol: its state as stored.
    Other(ProtoState),
}

impl Fresh {
    /// The state as a tracker updates it (`start_ns`: the connection's start).
    pub fn tracked(&mut self, start_ns: u64) -> Tracked<'_> {
        match self {
            Fresh::Tcp(c) => Tracked::Tcp(c),
            Fresh::Other(p) => Tracked::of(p, None, start_ns),
        }
    }
}

/// A connection's protocol state as a tracker reads and updates it.
pub enum Tracked<'a> {
    /// TCP window tracking state (the record out of line).
    Tcp(&'a mut tcp::TcpConn),
    /// UDP: the connection's start, from which the stream rule counts.
    Udp(u64),
    /// ICMP or ICMPv6 query.
    Icmp,
    /// GRE.
    Gre,
    /// SCTP association state.
    Sctp(&'a mut sctp::SctpState),
    /// Any other protocol; also a TCP connection whose record is missing.
    Generic,
}

impl<'a> Tracked<'a> {
    /// The view of a stored state, with its TCP record (if any) and start time.
    pub fn of(
        p: &'a mut ProtoState,
        tcp: Option<&'a mut tcp::TcpConn>,
        start_ns: u64,
    ) -> Tracked<'a> {
        match (p, tcp) {
            (ProtoState::Tcp(_), Some(c)) => Tracked::Tcp(c),
            (ProtoState::Udp, _) => Tracked::Udp(start_ns),
            (ProtoState::Icmp, _) => Tracked::Icmp,
            (ProtoState::Gre, _) => Tracked::Gre,
            (ProtoState::Sctp(s), _) => Tracked::Sctp(s),
            (ProtoState::Tcp(_) | ProtoState::Generic, _) => Tracked::Generic,
        }
    }
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
    /// Every other protocol.
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

/// The protocol state a connection starts with, or why `l4` cannot start one
/// (`l4_len`: the L4 length the IP header declares).
pub fn new_state(
    l4proto: u8,
    l4: &[u8],
    l4_len: usize,
    cfg: &ProtoConfig,
) -> Result<Fresh, &'static str> {
    let other = |p| Ok(Fresh::Other(p));
    match l4proto {
        proto::TCP => {
            let seg = segment(l4, l4_len).ok_or("tcp-truncated")?;
            tcp::tcp_new(&seg, &cfg.tcp).map(Fresh::Tcp)
        }
        proto::UDP | proto::UDPLITE => other(ProtoState::Udp),
        proto::ICMP | proto::ICMPV6 => other(ProtoState::Icmp),
        proto::GRE => other(ProtoState::Gre),
        proto::SCTP => sctp::sctp_new(l4).map(|s| Fresh::Other(ProtoState::Sctp(s))),
        _ => other(ProtoState::Generic),
    }
}

/// Tracks one packet of a connection in direction `dir` (0 original, 1 reply).
/// `status` is the connection's status before this packet (a first reply does not yet
/// count as seen, as in Linux); `l4_len` the L4 length the IP header declares.
pub fn track(
    state: Tracked<'_>,
    dir: u8,
    l4: &[u8],
    l4_len: usize,
    now_ns: u64,
    status: u16,
    cfg: &ProtoConfig,
) -> Track {
    let seen_reply = status & crate::conn::status::SEEN_REPLY != 0;
    let assured = status & crate::conn::status::ASSURED != 0;
    let t = &cfg.timeouts;
    match state {
        Tracked::Tcp(c) => {
            let Some(seg) = segment(l4, l4_len) else {
                return Track::Invalid("tcp-truncated");
            };
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
        Tracked::Udp(start_ns) => udp::track(start_ns, now_ns, seen_reply, assured, t),
        Tracked::Icmp => Track::Accept {
            timeout: t.icmp,
            set_assured: false,
        },
        Tracked::Gre => gre::track(seen_reply, t),
        Tracked::Sctp(s) => sctp::track(s, dir, l4, t),
        Tracked::Generic => generic::track(t),
    }
}
