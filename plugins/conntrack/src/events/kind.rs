//! The owned snapshots the bus carries ([`Event`]), and their records as the control
//! protocol answers them. The event kinds, the changed-part bits Linux reports
//! ([`what`]) and the classes subscribers select ([`class`]) are the protocol's.

use crate::conn::{Conn, DirCounters};
use crate::tuple::Tuple;
pub use brickwall_control_protocol::conntrack::event::{class, what, EventKind};
use brickwall_control_protocol::conntrack::{EventRecord, ExpectEventRecord, ExpectRecord};

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
    /// TCP, SCTP or DCCP state name (`SYN_SENT`, `OPEN`…), `None` for other protocols.
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
    /// Its labels.
    pub labels: u128,
    /// References held (conntrack's `use=`).
    pub uses: u32,
    /// When it started (ns), with the timestamp extension on.
    pub start_ns: Option<u64>,
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
            labels: c.labels(),
            uses: c.uses(),
            start_ns: None,
        }
    }

    /// The event with the connection's counters (kept only with accounting on).
    pub fn with_counters(mut self, counters: Option<[DirCounters; 2]>) -> ConnEvent {
        self.counters = counters;
        self
    }

    /// The event with the connection's start time (kept only with timestamps on).
    pub fn with_start(mut self, start_ns: Option<u64>) -> ConnEvent {
        self.start_ns = start_ns;
        self
    }

    /// The [`class`] bit of this event.
    pub fn class(&self) -> u8 {
        self.kind.conn_class()
    }

    /// The event as the protocol's record ([`crate::record::conn_event_record`]).
    pub fn record(&self) -> EventRecord {
        EventRecord::Conn(crate::record::conn_event_record(self))
    }
}

/// An expectation event (NEW or DESTROY) with the expectation as it was
/// ([`crate::record::expect_record`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpectEvent {
    /// What happened.
    pub kind: EventKind,
    /// When (packet time, ns).
    pub ts_ns: u64,
    /// The expectation at `ts_ns`.
    pub expect: ExpectRecord,
}

impl ExpectEvent {
    /// The [`class`] bit of this event.
    pub fn class(&self) -> u8 {
        self.kind.expect_class()
    }

    /// The event as the protocol's record.
    pub fn record(&self) -> EventRecord {
        self.clone().into_record()
    }

    /// The event as the protocol's record, without copying the expectation.
    pub fn into_record(self) -> EventRecord {
        EventRecord::Expect(ExpectEventRecord {
            kind: self.kind,
            ts_ns: self.ts_ns,
            expect: self.expect,
        })
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

    /// The event as the protocol's record, which prints its `conntrack -E` line
    /// ([`EventRecord::line`]).
    pub fn record(&self) -> EventRecord {
        match self {
            Event::Conn(e) => e.record(),
            Event::Expect(e) => e.record(),
        }
    }

    /// The event as the protocol's record, without copying an expectation.
    pub fn into_record(self) -> EventRecord {
        match self {
            Event::Conn(e) => e.record(),
            Event::Expect(e) => e.into_record(),
        }
    }
}
