//! Conntrack events as the plugin answers them to `{"op": "events"}` polls
//! ([`EventsResponse`]): typed records ([`EventRecord`]) of a connection
//! ([`ConnEventRecord`]) or an expectation ([`ExpectEventRecord`]) that was created,
//! changed or removed, and the `conntrack -E` line each prints as ([`EventRecord::line`]).
//!
//! Lines follow conntrack-tools 1.4.7 on a Linux 6.x kernel
//! (`ctnetlink_conntrack_event` decides which attributes an event carries,
//! libnetfilter_conntrack's default output prints them):
//!
//! * the type column `[NEW]`, `[UPDATE]`, `[DESTROY]` is right-aligned to 9 characters;
//! * with `-o timestamp` each line starts with `[seconds.micros]` and a tab. conntrack
//!   1.4.7 pads the microseconds differently for the two kinds of events, and the
//!   kernel sample shows both: connection events zero-pad them
//!   (`[1795760653.034351]`), expectation events left-align and space-pad them
//!   (`%-6ld`: `[1795760653.39567 ]` is .039567);
//! * NEW and UPDATE lines carry the timeout; a DESTROY line carries it only when it is
//!   not zero (a connection killed before its time; an expired one shows none);
//! * the TCP/SCTP/DCCP state appears on NEW lines, on UPDATE lines whose `what` has
//!   [`what::PROTOINFO`], and on every DESTROY line ([`ConnEventRecord::shown_state`]);
//! * `[UNREPLIED]` follows the original tuple until a reply is seen, `[ASSURED]` follows
//!   the reply tuple once assured;
//! * `mark=` appears when the mark is not zero or the event has [`what::MARK`];
//!   `zone=` when the zone is not 0; `helper=` on NEW and UPDATE lines of a connection
//!   with a helper (never on DESTROY lines);
//! * per-direction `packets= bytes=` appear only on DESTROY lines and only with
//!   accounting on (`nf_conntrack_acct=1`), as Linux reports counters only when a
//!   connection is destroyed.

use super::record::{ConnRecord, ExpectRecord};
use serde::{Deserialize, Serialize};
use std::fmt::Write;

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    /// A connection (or expectation) was created: Linux's `IPCTNL_MSG_CT_NEW` with
    /// `NLM_F_CREATE`, for IPCT_NEW and IPCT_RELATED.
    New,
    /// A connection changed.
    Update,
    /// A connection (or expectation) was removed.
    Destroy,
}

impl EventKind {
    /// The kind Linux reports for a set of [`what`] bits: DESTROY wins, then NEW or
    /// RELATED, anything else is an UPDATE.
    pub fn from_what(what: u16) -> EventKind {
        if what & what::DESTROY != 0 {
            EventKind::Destroy
        } else if what & (what::NEW | what::RELATED) != 0 {
            EventKind::New
        } else {
            EventKind::Update
        }
    }

    /// The bracketed word `conntrack -E` prints: `[NEW]`, `[UPDATE]` or `[DESTROY]`.
    pub fn label(self) -> &'static str {
        match self {
            EventKind::New => "[NEW]",
            EventKind::Update => "[UPDATE]",
            EventKind::Destroy => "[DESTROY]",
        }
    }

    /// The [`class`] bit of a connection event of this kind.
    pub fn conn_class(self) -> u8 {
        match self {
            EventKind::New => class::NEW,
            EventKind::Update => class::UPDATE,
            EventKind::Destroy => class::DESTROY,
        }
    }

    /// The [`class`] bit of an expectation event of this kind. Expectations have no
    /// UPDATE events in Linux; an `Update` here counts as [`class::EXPECT_NEW`].
    pub fn expect_class(self) -> u8 {
        match self {
            EventKind::New | EventKind::Update => class::EXPECT_NEW,
            EventKind::Destroy => class::EXPECT_DESTROY,
        }
    }
}

/// Which parts of a connection changed, as Linux's `IPCT_*` event bits (same bit
/// numbers; a subset). A [`ConnEventRecord`] carries them in `what`; they decide which
/// optional attributes its line shows.
pub mod what {
    /// A new connection (IPCT_NEW).
    pub const NEW: u16 = 1 << 0;
    /// A new connection created from an expectation (IPCT_RELATED).
    pub const RELATED: u16 = 1 << 1;
    /// The connection was removed (IPCT_DESTROY).
    pub const DESTROY: u16 = 1 << 2;
    /// The first reply was seen (IPCT_REPLY).
    pub const REPLY: u16 = 1 << 3;
    /// The connection became ASSURED (IPCT_ASSURED).
    pub const ASSURED: u16 = 1 << 4;
    /// The TCP/SCTP/DCCP state changed (IPCT_PROTOINFO): the line shows the state.
    pub const PROTOINFO: u16 = 1 << 5;
    /// A helper was assigned (IPCT_HELPER).
    pub const HELPER: u16 = 1 << 6;
    /// The mark changed (IPCT_MARK): the line shows `mark=` even when it is 0.
    pub const MARK: u16 = 1 << 7;
    /// The labels changed (IPCT_LABEL).
    pub const LABEL: u16 = 1 << 10;
}

/// Event classes a subscriber selects with its mask (like ctnetlink's multicast
/// groups, with NEW and UPDATE split): the `mask` of an `events` request.
pub mod class {
    /// Connection NEW events.
    pub const NEW: u8 = 1 << 0;
    /// Connection UPDATE events.
    pub const UPDATE: u8 = 1 << 1;
    /// Connection DESTROY events.
    pub const DESTROY: u8 = 1 << 2;
    /// Expectation NEW events.
    pub const EXPECT_NEW: u8 = 1 << 3;
    /// Expectation DESTROY events.
    pub const EXPECT_DESTROY: u8 = 1 << 4;
    /// Every connection event (`conntrack -E`).
    pub const CONNTRACK: u8 = NEW | UPDATE | DESTROY;
    /// Every expectation event (`conntrack -E expect`).
    pub const EXPECT: u8 = EXPECT_NEW | EXPECT_DESTROY;
    /// Everything.
    pub const ALL: u8 = CONNTRACK | EXPECT;
}

/// An event about a connection: the connection as it was at the event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnEventRecord {
    /// What happened.
    pub kind: EventKind,
    /// Which parts changed ([`what`] bits).
    pub what: u16,
    /// When (packet time, ns).
    pub ts_ns: u64,
    /// The connection; its `timeout` counts from `ts_ns`.
    pub conn: ConnRecord,
}

impl ConnEventRecord {
    /// The TCP/SCTP/DCCP state as the event shows it: on NEW (the first packet always moves
    /// the state out of NONE) and DESTROY (protoinfo with `destroy`), on UPDATE only
    /// when the state changed ([`what::PROTOINFO`]).
    pub fn shown_state(&self) -> Option<&str> {
        let shown = match self.kind {
            EventKind::New | EventKind::Destroy => true,
            EventKind::Update => self.what & what::PROTOINFO != 0,
        };
        self.conn.state.as_deref().filter(|_| shown)
    }

    /// The `conntrack -E` line (without a newline), e.g.
    /// `    [NEW] tcp      6 120 SYN_SENT src=10.77.0.1 dst=10.77.1.2 sport=45604 dport=21 [UNREPLIED] src=10.77.1.2 dst=10.77.0.1 sport=21 dport=45604 helper=ftp`;
    /// with `timestamp`, prefixed as `conntrack -E -o timestamp` does
    /// (`[1795760642.641882]` and a tab; the microseconds zero-padded to six digits).
    /// Counters show after each tuple on DESTROY lines only.
    pub fn line(&self, timestamp: bool) -> String {
        let c = &self.conn;
        let destroy = self.kind == EventKind::Destroy;
        let mut s = String::with_capacity(192);
        if timestamp {
            timestamp_prefix(&mut s, self.ts_ns, true);
        }
        let _ = write!(s, "{:>9} {:<8} {}", self.kind.label(), c.proto, c.protonum);
        // Linux 6.x: a DESTROY carries the timeout only when it is not zero.
        if !destroy || c.timeout != 0 {
            let _ = write!(s, " {}", c.timeout);
        }
        if let Some(st) = self.shown_state() {
            s.push(' ');
            s.push_str(st);
        }
        s.push(' ');
        s.push_str(&c.orig.words());
        if destroy {
            c.orig.write_counters(&mut s);
        }
        if !c.has_status("SEEN_REPLY") {
            s.push_str(" [UNREPLIED]");
        }
        s.push(' ');
        s.push_str(&c.reply.words());
        if destroy {
            c.reply.write_counters(&mut s);
        }
        if c.has_status("ASSURED") {
            s.push_str(" [ASSURED]");
        }
        if c.mark != 0 || self.what & what::MARK != 0 {
            let _ = write!(s, " mark={}", c.mark);
        }
        if c.zone != 0 {
            let _ = write!(s, " zone={}", c.zone);
        }
        if !destroy {
            if let Some(h) = &c.helper {
                let _ = write!(s, " helper={h}");
            }
        }
        s
    }
}

/// An event about an expectation (NEW or DESTROY): the expectation as it was.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpectEventRecord {
    /// What happened.
    pub kind: EventKind,
    /// When (packet time, ns).
    pub ts_ns: u64,
    /// The expectation; its `timeout` counts from `ts_ns`.
    pub expect: ExpectRecord,
}

impl ExpectEventRecord {
    /// The `conntrack -E expect` line (without a newline): the type column
    /// right-aligned to 9 characters, a space and the `conntrack -L expect` body; with
    /// `timestamp`, the `-o timestamp` prefix first, whose microseconds conntrack
    /// space-pads on the right for expectation events (`[1795760653.39567 ]` is
    /// .039567).
    pub fn line(&self, timestamp: bool) -> String {
        let mut s = String::with_capacity(256);
        if timestamp {
            timestamp_prefix(&mut s, self.ts_ns, false);
        }
        let _ = write!(s, "{:>9} {}", self.kind.label(), self.expect.line());
        s
    }
}

/// One event: `{"type": "conn", ...}` or `{"type": "expect", ...}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum EventRecord {
    /// About a connection.
    Conn(ConnEventRecord),
    /// About an expectation.
    Expect(ExpectEventRecord),
}

impl EventRecord {
    /// What happened.
    pub fn kind(&self) -> EventKind {
        match self {
            EventRecord::Conn(e) => e.kind,
            EventRecord::Expect(e) => e.kind,
        }
    }

    /// When (packet time, ns).
    pub fn ts_ns(&self) -> u64 {
        match self {
            EventRecord::Conn(e) => e.ts_ns,
            EventRecord::Expect(e) => e.ts_ns,
        }
    }

    /// The [`class`] bit of this event.
    pub fn class(&self) -> u8 {
        match self {
            EventRecord::Conn(e) => e.kind.conn_class(),
            EventRecord::Expect(e) => e.kind.expect_class(),
        }
    }

    /// The `conntrack -E` line of either kind ([`ConnEventRecord::line`],
    /// [`ExpectEventRecord::line`]); `timestamp` as `-o timestamp`.
    pub fn line(&self, timestamp: bool) -> String {
        match self {
            EventRecord::Conn(e) => e.line(timestamp),
            EventRecord::Expect(e) => e.line(timestamp),
        }
    }
}

/// The answer to `events`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventsResponse {
    /// The session to name in the next poll.
    pub cursor: u64,
    /// The events, oldest first.
    pub events: Vec<EventRecord>,
    /// Events this session lost because it polled too slowly.
    pub lost: u64,
}

/// The `-o timestamp` prefix: `[seconds.micros]` and a tab. `zero_pad`: the
/// microseconds as six digits (connection events, `[1795760653.034351]`); otherwise as
/// conntrack's `"[%-8ld.%-6ld]\t"` for expectation events, left-aligned and space-padded
/// (`[1795760653.39567 ]`).
fn timestamp_prefix(out: &mut String, ts_ns: u64, zero_pad: bool) {
    let secs = ts_ns / 1_000_000_000;
    let micros = ts_ns % 1_000_000_000 / 1_000;
    let _ = if zero_pad {
        write!(out, "[{secs:<8}.{micros:06}]\t")
    } else {
        write!(out, "[{secs:<8}.{micros:<6}]\t")
    };
}

/// What `conntrack -E` prints on exit: `conntrack v1.4.7 (conntrack-tools): 124 flow
/// events have been shown.` (`expect`: "expectation events"), without a newline.
pub fn summary_line(count: u64, expect: bool) -> String {
    let what = if expect { "expectation" } else { "flow" };
    format!("conntrack v1.4.7 (conntrack-tools): {count} {what} events have been shown.")
}
