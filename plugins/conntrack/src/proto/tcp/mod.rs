//! TCP connection tracking, modelled on Linux's `nf_conntrack_proto_tcp` (kernel 6.x).
//!
//! This is a pure module: it keeps the per-connection TCP record ([`TcpConn`]) and says
//! what each segment means for it. Locking, hashing, timers and accounting belong to the
//! caller. The pieces:
//!
//! * [`check_flags`]: the flag-combination filter Linux applies before any lookup.
//! * [`tcp_new`]: whether a segment may create a connection, and the record it starts
//!   with. As in Linux, the record starts in [`TcpState::None`]; the caller then runs the
//!   same segment through [`tcp_packet`] (original direction, no reply seen, not assured),
//!   which moves it to SYN_SENT (or ESTABLISHED for a mid-stream pickup) and yields the
//!   first timeout. [`tcp_start`] does both steps at once.
//! * [`tcp_packet`]: the state machine (Linux's `tcp_conntracks` table plus the special
//!   cases around it) and the window tracking of `tcp_in_window`.
//!
//! Where this deliberately differs from Linux (all minor, see [`TcpConn`]): no NAT
//! sequence adjustment, no SYN proxy, no per-entry timeout policies, the
//! `nf_conntrack_tcp_ignore_invalid_rst` sysctl is treated as 0 (its default), and two
//! corner cases of retransmission detection that the 48-byte record cannot represent.

use brickwall_control_protocol::conntrack::states;
mod conn;
mod flags;
mod machine;
mod options;
mod segment;
mod state_table;
mod window;

#[cfg(test)]
mod tests;

pub use conn::{
    TcpConn, FLAG_BE_LIBERAL, FLAG_CLOSE_INIT, FLAG_DATA_UNACKNOWLEDGED, FLAG_MAXACK_SET,
    FLAG_SACK_PERM, FLAG_WINDOW_SCALE,
};
pub use flags::{
    check_flags, TCP_ACK, TCP_CWR, TCP_ECE, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, TCP_URG,
};
pub use machine::{tcp_new, tcp_packet, tcp_start};
pub use segment::Segment;
pub use state_table::{flag_class, transition, FlagClass, Transition};

use serde::{Deserialize, Serialize};
use std::fmt;

/// Direction of a packet relative to the connection's original direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dir {
    /// Same direction as the packet that created the connection.
    Original = 0,
    /// The opposite direction.
    Reply = 1,
}

impl Dir {
    /// 0 for [`Dir::Original`], 1 for [`Dir::Reply`].
    #[inline]
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The other direction.
    #[inline]
    pub const fn opposite(self) -> Dir {
        match self {
            Dir::Original => Dir::Reply,
            Dir::Reply => Dir::Original,
        }
    }
}

/// Linux's TCP conntrack states, numbered as Linux numbers them (`TCP_CONNTRACK_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum TcpState {
    /// No packet tracked yet (a record fresh from [`tcp_new`]).
    None = 0,
    /// A SYN was seen in the original direction.
    SynSent = 1,
    /// A SYN/ACK was seen.
    SynRecv = 2,
    /// The handshake completed (or the connection was picked up mid-stream).
    Established = 3,
    /// The first FIN was seen.
    FinWait = 4,
    /// The first FIN was acknowledged.
    CloseWait = 5,
    /// FINs were seen in both directions.
    LastAck = 6,
    /// The last FIN was acknowledged.
    TimeWait = 7,
    /// Closed by an RST.
    Close = 8,
    /// A SYN was seen in the reply direction too (simultaneous open).
    SynSent2 = 9,
}

impl TcpState {
    /// All states, in Linux's numbering order.
    pub const ALL: [TcpState; 10] = [
        TcpState::None,
        TcpState::SynSent,
        TcpState::SynRecv,
        TcpState::Established,
        TcpState::FinWait,
        TcpState::CloseWait,
        TcpState::LastAck,
        TcpState::TimeWait,
        TcpState::Close,
        TcpState::SynSent2,
    ];

    /// The name `conntrack -L` prints for the state.
    pub fn name(self) -> &'static str {
        // The enum is in Linux's numbering, which the shared table follows.
        states::TCP[self as usize]
    }

    /// The state with Linux's number `n`, if there is one.
    pub fn from_u8(n: u8) -> Option<TcpState> {
        TcpState::ALL.get(usize::from(n)).copied()
    }
}

impl fmt::Display for TcpState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// TCP timeouts in seconds, with Linux's defaults (`nf_conntrack_tcp_timeout_*`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TcpTimeouts {
    /// SYN_SENT (120).
    pub syn_sent: u32,
    /// SYN_RECV (60).
    pub syn_recv: u32,
    /// ESTABLISHED (432000, five days).
    pub established: u32,
    /// FIN_WAIT (120).
    pub fin_wait: u32,
    /// CLOSE_WAIT (60).
    pub close_wait: u32,
    /// LAST_ACK (30).
    pub last_ack: u32,
    /// TIME_WAIT (120).
    pub time_wait: u32,
    /// CLOSE (10); also the timeout after any accepted RST.
    pub close: u32,
    /// SYN_SENT2 (120).
    pub syn_sent2: u32,
    /// Cap once `max_retrans` retransmissions were seen, or when the last window was 0 (300).
    pub retrans: u32,
    /// Cap while some data is unacknowledged (300).
    pub unacknowledged: u32,
}

impl Default for TcpTimeouts {
    fn default() -> Self {
        TcpTimeouts {
            syn_sent: 120,
            syn_recv: 60,
            established: 432_000,
            fin_wait: 120,
            close_wait: 60,
            last_ack: 30,
            time_wait: 120,
            close: 10,
            syn_sent2: 120,
            retrans: 300,
            unacknowledged: 300,
        }
    }
}

impl TcpTimeouts {
    /// The timeout of `state` (NONE uses SYN_SENT's, as Linux does for its unused slot 0).
    pub fn for_state(&self, state: TcpState) -> u32 {
        match state {
            TcpState::None | TcpState::SynSent => self.syn_sent,
            TcpState::SynRecv => self.syn_recv,
            TcpState::Established => self.established,
            TcpState::FinWait => self.fin_wait,
            TcpState::CloseWait => self.close_wait,
            TcpState::LastAck => self.last_ack,
            TcpState::TimeWait => self.time_wait,
            TcpState::Close => self.close,
            TcpState::SynSent2 => self.syn_sent2,
        }
    }
}

/// Tracker settings (Linux's `nf_conntrack_tcp_*` sysctls).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TcpConfig {
    /// `nf_conntrack_tcp_loose` (default true): let a segment without SYN start a
    /// connection (picked up mid-stream as ESTABLISHED).
    pub loose: bool,
    /// `nf_conntrack_tcp_be_liberal` (default false): accept segments that fail the
    /// window checks (RSTs before the expected sequence stay INVALID).
    pub be_liberal: bool,
    /// `nf_conntrack_tcp_max_retrans` (default 3): identical retransmissions after which
    /// the timeout is capped at `timeouts.retrans`.
    pub max_retrans: u8,
    /// Timeouts, seconds.
    pub timeouts: TcpTimeouts,
}

impl Default for TcpConfig {
    fn default() -> Self {
        TcpConfig {
            loose: true,
            be_liberal: false,
            max_retrans: 3,
            timeouts: TcpTimeouts::default(),
        }
    }
}

/// The remaining lifetime below which [`TcpVerdict::InvalidLowerTimeout`] leaves an entry
/// alone (Linux's `120 * HZ` in `nf_tcp_handle_invalid`), seconds.
pub const LOWER_TIMEOUT_MIN_REMAINING: u32 = 120;

/// What a packet did to its connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TcpVerdict {
    /// Valid: refresh the entry's timer to `timeout` seconds, and mark the connection
    /// ASSURED if `set_assured` (Linux does so when a packet moves a connection that had
    /// already seen a reply from SYN_RECV or ESTABLISHED to ESTABLISHED). The new state
    /// is [`TcpConn::state`].
    Accept {
        /// The entry's new timeout, seconds.
        timeout: u32,
        /// Whether the connection must now be marked ASSURED.
        set_assured: bool,
    },
    /// Valid, but the entry's timer is left as it is (Linux returns `NF_ACCEPT` without
    /// refreshing it): packets in the table's "ignore" cells, segments the window check
    /// tolerates without trusting (retransmissions of acknowledged data, very old ACKs,
    /// a few bytes past the window), an RFC 5961 challenge ACK in LAST_ACK, and a SYN
    /// before any reply. The state does not change, except that the reply side's SYN
    /// in SYN_SENT (simultaneous open) still moves the connection to SYN_SENT2. As for
    /// any accepted packet, a reply-direction one sets SEEN_REPLY.
    Ignore {
        /// Why, for counters and logs.
        reason: &'static str,
    },
    /// The packet does not fit the connection (Linux's `-NF_ACCEPT`): the packet is
    /// INVALID and the connection keeps its state and timer.
    Invalid {
        /// Why, for counters and logs.
        reason: &'static str,
    },
    /// As [`TcpVerdict::Invalid`], and the packet was a FIN or RST answering the peer's
    /// FIN or RST on an ASSURED connection: if the entry's remaining lifetime is at least
    /// [`LOWER_TIMEOUT_MIN_REMAINING`] and longer than `timeout`, set it to `timeout`
    /// (Linux's `nf_tcp_handle_invalid`; skip this for FIXED_TIMEOUT entries).
    InvalidLowerTimeout {
        /// Why, for counters and logs.
        reason: &'static str,
        /// The lifetime to lower the entry to, seconds (the unacknowledged timeout).
        timeout: u32,
    },
    /// Valid, and the entry must be deleted now: an RST accepted before any reply was
    /// seen (Linux's `nf_ct_kill_acct`; the packet still counts for the connection).
    Kill,
    /// A SYN that reopens a closed or aborted connection (TIME_WAIT, CLOSE): delete the
    /// entry and run the packet through the hook again so that it creates a new one
    /// (Linux's `-NF_REPEAT`).
    Reopen,
}

impl TcpVerdict {
    /// Whether the packet is INVALID ([`TcpVerdict::Invalid`] or
    /// [`TcpVerdict::InvalidLowerTimeout`]).
    pub fn is_invalid(&self) -> bool {
        matches!(
            self,
            TcpVerdict::Invalid { .. } | TcpVerdict::InvalidLowerTimeout { .. }
        )
    }

    /// The reason string of an ignored or invalid packet.
    pub fn reason(&self) -> Option<&'static str> {
        match *self {
            TcpVerdict::Ignore { reason }
            | TcpVerdict::Invalid { reason }
            | TcpVerdict::InvalidLowerTimeout { reason, .. } => Some(reason),
            _ => None,
        }
    }
}

/// Is `a` before `b` in sequence space (RFC 1982 style, wrapping)?
#[inline]
pub fn before(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

/// Is `a` after `b` in sequence space (wrapping)?
#[inline]
pub fn after(a: u32, b: u32) -> bool {
    before(b, a)
}
