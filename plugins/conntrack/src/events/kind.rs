//! What happened: the event kinds, the changed-part bits Linux reports, the classes
//! subscribers select, and the owned snapshots the bus carries.

use crate::conn::{Conn, DirCounters};
use crate::tuple::Tuple;

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
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
/// numbers; a subset). A [`ConnEvent`] carries them in `what`; they decide which
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
    /// The TCP/SCTP state changed (IPCT_PROTOINFO): the line shows the state.
    pub const PROTOINFO: u16 = 1 << 5;
    /// A helper was assigned (IPCT_HELPER).
    pub const HELPER: u16 = 1 << 6;
    /// The mark changed (IPCT_MARK): the line shows `mark=` even when it is 0.
    pub const MARK: u16 = 1 << 7;
    /// The labels changed (IPCT_LABEL).
    pub const LABEL: u16 = 1 << 10;
}

/// Event classes a subscriber selects with its mask (like ctnetlink's multicast
/// groups, with NEW and UPDATE split), and [`EventBus::wants`](super::EventBus::wants) tests.
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

/// A snapshot of a connection at an event: owned and self-contained (no references
/// into the table), cheap to clone and send to other threads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnEvent {
    /// What happened.
    pub kind: EventKind,
    /// Which parts changed ([`what`] bits).
    pub what: u16,
    /// When (packet time, ns).
    pub ts_ns: u64,
    /// The connection's id.
    pub id: u32,
    /// Original and reply tuples.
    pub tuple: [Tuple; 2],
    /// TCP or SCTP state name (`SYN_SENT`, `ESTABLISHED`…), `None` for other protocols.
    pub state: Option<&'static str>,
    /// Seconds left before the connection expires, at `ts_ns`.
    pub timeout_s: u64,
    /// Status bits ([`crate::conn::status`]).
    pub status: u16,
    /// `ct mark`.
    pub mark: u32,
    /// The helper's name, if one is assigned.
    pub helper: Option<String>,
    /// Per-direction packet and byte counters, with accounting on.
    pub counters: Option<[DirCounters; 2]>,
}

impl ConnEvent {
    /// The event `kind` (with the changed parts `what`) about connection `c`, at
    /// `now_ns` (packet time: the event's timestamp and the base of its timeout).
    pub fn from_conn(kind: EventKind, what: u16, c: &Conn, now_ns: u64) -> ConnEvent {
        ConnEvent {
            kind,
            what,
            ts_ns: now_ns,
            id: c.id,
            tuple: [c.orig, c.reply()],
            state: c.proto.state_name(),
            timeout_s: c.secs_left(now_ns),
            status: c.status,
            mark: c.mark,
            helper: c.helper().map(str::to_owned),
            counters: None,
        }
    }

    /// The event with the connection's counters (kept only with accounting on).
    pub fn with_counters(mut self, counters: Option<[DirCounters; 2]>) -> ConnEvent {
        self.counters = counters;
        self
    }

    /// The [`class`] bit of this event.
    pub fn class(&self) -> u8 {
        self.kind.conn_class()
    }

    /// Whether a status bit is set.
    pub(super) fn has(&self, bit: u16) -> bool {
        self.status & bit != 0
    }
}

/// An expectation event (NEW or DESTROY) with its body already formatted by the
/// expectation module (`300 proto=6 src=… dst=… sport=0 dport=30076 mask-src=… …
/// class=0 helper=ftp`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpectEvent {
    /// What happened.
    pub kind: EventKind,
    /// When (packet time, ns).
    pub ts_ns: u64,
    /// Everything after the type column, as `conntrack -E expect` prints it.
    pub body: String,
}

impl ExpectEvent {
    /// The [`class`] bit of this event.
    pub fn class(&self) -> u8 {
        self.kind.expect_class()
    }
}

/// One event on the bus.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// About a connection.
    Conn(ConnEvent),
    /// About an expectation.
    Expect(ExpectEvent),
}

impl Event {
    /// The [`class`] bit of this event.
    pub fn class(&self) -> u8 {
        match self {
            Event::Conn(e) => e.class(),
            Event::Expect(e) => e.class(),
        }
    }

    /// What happened.
    pub fn kind(&self) -> EventKind {
        match self {
            Event::Conn(e) => e.kind,
            Event::Expect(e) => e.kind,
        }
    }

    /// When (packet time, ns).
    pub fn ts_ns(&self) -> u64 {
        match self {
            Event::Conn(e) => e.ts_ns,
            Event::Expect(e) => e.ts_ns,
        }
    }
}
