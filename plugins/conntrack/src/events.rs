//! Conntrack events, as Linux's ctnetlink event groups deliver them and `conntrack -E`
//! prints them.
//!
//! The tracker builds an owned snapshot of a connection ([`ConnEvent`]) when something
//! happens to it — created (NEW), changed (UPDATE: a reply seen, ASSURED, a TCP/SCTP
//! state change, a new mark or helper), or removed (DESTROY) — and publishes it on an
//! [`EventBus`]. Expectations publish [`ExpectEvent`]s (NEW and DESTROY) whose body the
//! expectation module formats itself.
//!
//! Subscribers ([`Subscription`]) each have a bounded queue and a mask of the event
//! classes they want ([`class`]). Publishing never blocks: when a subscriber's queue is
//! full the event is lost for that subscriber only and its `lost` counter grows, as
//! Linux drops netlink messages on a full socket buffer (ENOBUFS) instead of stalling
//! packet processing. [`EventBus::wants`] is a single atomic load, so a tracker with no
//! listeners builds no events at all.
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
//! * the TCP/SCTP state appears on NEW lines, on UPDATE lines whose `what` has
//!   [`what::PROTOINFO`], and on every DESTROY line;
//! * `[UNREPLIED]` follows the original tuple until a reply is seen, `[ASSURED]` follows
//!   the reply tuple once assured;
//! * `mark=` appears when the mark is not zero or the event has [`what::MARK`];
//!   `zone=` when the zone is not 0; `helper=` on NEW and UPDATE lines of a connection
//!   with a helper (never on DESTROY lines);
//! * per-direction `packets= bytes=` appear only on DESTROY lines and only with
//!   accounting on (`nf_conntrack_acct=1`): see [`ConnEvent::line`].

use crate::conn::{status, Conn, DirCounters};
use crate::tuple::{proto_name, Tuple};
use crossbeam_channel::{Receiver, Sender, TrySendError};
use serde::Serialize;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard, Weak};
use std::time::Duration;

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
/// groups, with NEW and UPDATE split), and [`EventBus::wants`] tests.
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
    fn has(&self, bit: u16) -> bool {
        self.status & bit != 0
    }

    /// The `conntrack -E` line (without a newline), e.g.
    /// `    [NEW] tcp      6 120 SYN_SENT src=10.77.0.1 dst=10.77.1.2 sport=45604 dport=21 [UNREPLIED] src=10.77.1.2 dst=10.77.0.1 sport=21 dport=45604 helper=ftp`;
    /// with `timestamp`, prefixed as `conntrack -E -o timestamp` does
    /// (`[1795760642.641882]` and a tab; the microseconds zero-padded to six digits).
    /// An event with counters (accounting on, Linux's `nf_conntrack_acct=1`) shows
    /// each direction's `packets=… bytes=…` after its tuple on DESTROY lines only, as
    /// Linux reports counters only when a connection is destroyed.
    pub fn line(&self, timestamp: bool) -> String {
        let destroy = self.kind == EventKind::Destroy;
        let t0 = &self.tuple[0];
        let mut s = String::with_capacity(192);
        if timestamp {
            timestamp_prefix(&mut s, self.ts_ns, true);
        }
        let _ = write!(
            s,
            "{:>9} {:<8} {}",
            self.kind.label(),
            proto_name(t0.proto),
            t0.proto
        );
        // Linux 6.x: a DESTROY carries the timeout only when it is not zero.
        if !destroy || self.timeout_s != 0 {
            let _ = write!(s, " {}", self.timeout_s);
        }
        // The state: always on DESTROY (protoinfo with `destroy`), on NEW (the first
        // packet always moves the state out of NONE), on UPDATE only when it changed.
        let show_state = match self.kind {
            EventKind::New | EventKind::Destroy => true,
            EventKind::Update => self.what & what::PROTOINFO != 0,
        };
        if let (true, Some(st)) = (show_state, self.state) {
            s.push(' ');
            s.push_str(st);
        }
        s.push(' ');
        s.push_str(&t0.conntrack_words());
        let counters = |s: &mut String, dir: usize| {
            if let (true, Some(n)) = (destroy, &self.counters) {
                let _ = write!(s, " packets={} bytes={}", n[dir].packets, n[dir].bytes);
            }
        };
        counters(&mut s, 0);
        if !self.has(status::SEEN_REPLY) {
            s.push_str(" [UNREPLIED]");
        }
        s.push(' ');
        s.push_str(&self.tuple[1].conntrack_words());
        counters(&mut s, 1);
        if self.has(status::ASSURED) {
            s.push_str(" [ASSURED]");
        }
        if self.mark != 0 || self.what & what::MARK != 0 {
            let _ = write!(s, " mark={}", self.mark);
        }
        if t0.zone != 0 {
            let _ = write!(s, " zone={}", t0.zone);
        }
        if !destroy {
            if let Some(h) = &self.helper {
                let _ = write!(s, " helper={h}");
            }
        }
        s
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

    /// The `conntrack -E expect` line (without a newline): the type column
    /// right-aligned to 9 characters, a space and the body; with `timestamp`, the
    /// `-o timestamp` prefix first, whose microseconds conntrack space-pads on the
    /// right for expectation events (`[1795760653.39567 ]` is .039567).
    pub fn line(&self, timestamp: bool) -> String {
        let mut s = String::with_capacity(self.body.len() + 32);
        if timestamp {
            timestamp_prefix(&mut s, self.ts_ns, false);
        }
        let _ = write!(s, "{:>9} {}", self.kind.label(), self.body);
        s
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

    /// The `conntrack -E` line of either kind ([`ConnEvent::line`], [`ExpectEvent::line`]).
    pub fn line(&self, timestamp: bool) -> String {
        match self {
            Event::Conn(e) => e.line(timestamp),
            Event::Expect(e) => e.line(timestamp),
        }
    }
}

/// What `conntrack -E` prints on exit: `conntrack v1.4.7 (conntrack-tools): 124 flow
/// events have been shown.` (`expect`: "expectation events"), without a newline.
pub fn summary_line(count: u64, expect: bool) -> String {
    let what = if expect { "expectation" } else { "flow" };
    format!("conntrack v1.4.7 (conntrack-tools): {count} {what} events have been shown.")
}

/// Totals of a bus since it was created.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct EventCounters {
    /// Events passed to [`EventBus::publish`].
    pub published: u64,
    /// Copies queued to subscribers (one event reaching three subscribers counts 3).
    pub delivered: u64,
    /// Copies lost to full queues.
    pub lost: u64,
    /// Subscribers now.
    pub subscribers: u64,
}

/// A subscriber as the bus sees it.
struct Sub {
    /// Its id.
    id: u64,
    /// The classes it wants.
    mask: u8,
    /// Its queue.
    tx: Sender<Event>,
    /// Events lost to its full queue (shared with its [`Subscription`]).
    lost: Arc<AtomicU64>,
}

/// The bus's shared state.
struct Inner {
    /// Subscribers (read-locked by publishers, write-locked to add and remove).
    subs: RwLock<Vec<Sub>>,
    /// The union of the subscribers' masks, for [`EventBus::wants`].
    mask: AtomicU8,
    /// The next subscriber id.
    next_id: AtomicU64,
    /// Events published.
    published: AtomicU64,
    /// Copies delivered.
    delivered: AtomicU64,
    /// Copies lost.
    lost: AtomicU64,
}

impl Inner {
    /// The subscriber list for reading (a poisoned lock is still usable: the list is
    /// never left half-changed).
    fn read(&self) -> RwLockReadGuard<'_, Vec<Sub>> {
        self.subs.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// The subscriber list for changing.
    fn write(&self) -> RwLockWriteGuard<'_, Vec<Sub>> {
        self.subs.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Removes the subscribers `gone` says to and recomputes the mask union (under the
    /// write lock, so the union never misses a subscriber added concurrently).
    fn remove(&self, gone: impl Fn(&Sub) -> bool) {
        let mut subs = self.write();
        subs.retain(|s| !gone(s));
        let union = subs.iter().fold(0, |m, s| m | s.mask);
        self.mask.store(union, Ordering::Release);
    }
}

/// The event bus: any number of subscribers, each with a bounded queue and a class
/// mask. Publishing never blocks. Cloning the bus gives another handle to the same
/// subscribers and counters. `Send + Sync`: publish from every worker thread.
#[derive(Clone)]
pub struct EventBus {
    inner: Arc<Inner>,
}

impl Default for EventBus {
    fn default() -> Self {
        EventBus::new()
    }
}

impl std::fmt::Debug for EventBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventBus")
            .field("mask", &self.inner.mask.load(Ordering::Relaxed))
            .field("counters", &self.counters())
            .finish()
    }
}

impl EventBus {
    /// A bus with no subscribers.
    pub fn new() -> EventBus {
        EventBus {
            inner: Arc::new(Inner {
                subs: RwLock::new(Vec::new()),
                mask: AtomicU8::new(0),
                next_id: AtomicU64::new(1),
                published: AtomicU64::new(0),
                delivered: AtomicU64::new(0),
                lost: AtomicU64::new(0),
            }),
        }
    }

    /// A subscriber for the event classes in `mask` ([`class`] bits), with room for
    /// `capacity` queued events (at least 1). It receives events published from now
    /// on, until it is dropped.
    pub fn subscribe(&self, mask: u8, capacity: usize) -> Subscription {
        let (tx, rx) = crossbeam_channel::bounded(capacity.max(1));
        let lost = Arc::new(AtomicU64::new(0));
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let mut subs = self.inner.write();
        subs.push(Sub {
            id,
            mask,
            tx,
            lost: Arc::clone(&lost),
        });
        self.inner.mask.fetch_or(mask, Ordering::Release);
        drop(subs);
        Subscription {
            rx,
            lost,
            id,
            mask,
            bus: Arc::downgrade(&self.inner),
        }
    }

    /// Whether any subscriber wants events of a class (any of the [`class`] bits in
    /// `class`). One relaxed atomic load: check it before building an event.
    #[inline]
    pub fn wants(&self, class: u8) -> bool {
        self.inner.mask.load(Ordering::Relaxed) & class != 0
    }

    /// Delivers `ev` to every subscriber whose mask has its class, without blocking: a
    /// subscriber whose queue is full loses it (its `lost` counter and the bus's grow).
    /// Subscribers whose receiving end is gone are removed.
    pub fn publish(&self, ev: Event) {
        let inner = &*self.inner;
        inner.published.fetch_add(1, Ordering::Relaxed);
        let class = ev.class();
        if inner.mask.load(Ordering::Relaxed) & class == 0 {
            return;
        }
        let mut ev = Some(ev);
        let mut gone: Vec<u64> = Vec::new();
        {
            let subs = inner.read();
            let mut targets = subs.iter().filter(|s| s.mask & class != 0).peekable();
            while let Some(sub) = targets.next() {
                // The last target gets the event itself, the others a copy.
                let copy = if targets.peek().is_some() {
                    ev.clone()
                } else {
                    ev.take()
                };
                let Some(copy) = copy else { break };
                match sub.tx.try_send(copy) {
                    Ok(()) => {
                        inner.delivered.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(TrySendError::Full(_)) => {
                        sub.lost.fetch_add(1, Ordering::Relaxed);
                        inner.lost.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(TrySendError::Disconnected(_)) => gone.push(sub.id),
                }
            }
        }
        if !gone.is_empty() {
            inner.remove(|s| gone.contains(&s.id));
        }
    }

    /// The bus's totals.
    pub fn counters(&self) -> EventCounters {
        let inner = &*self.inner;
        EventCounters {
            published: inner.published.load(Ordering::Relaxed),
            delivered: inner.delivered.load(Ordering::Relaxed),
            lost: inner.lost.load(Ordering::Relaxed),
            subscribers: inner.read().len() as u64,
        }
    }
}

/// A subscriber's end of the bus. Dropping it unsubscribes (and clears its classes
/// from [`EventBus::wants`] if no one else wants them).
#[derive(Debug)]
pub struct Subscription {
    /// The queue.
    rx: Receiver<Event>,
    /// Events lost because the queue was full.
    lost: Arc<AtomicU64>,
    /// Id on the bus.
    id: u64,
    /// The classes subscribed to.
    mask: u8,
    /// The bus, to unsubscribe on drop.
    bus: Weak<Inner>,
}

impl Subscription {
    /// The next event, waiting up to `timeout`; `None` on timeout or when the bus is gone
    /// and the queue empty.
    pub fn recv_timeout(&self, timeout: Duration) -> Option<Event> {
        self.rx.recv_timeout(timeout).ok()
    }

    /// The next event if one is queued.
    pub fn try_recv(&self) -> Option<Event> {
        self.rx.try_recv().ok()
    }

    /// The next event, waiting as long as it takes; `None` when the bus is gone and the
    /// queue empty.
    pub fn recv(&self) -> Option<Event> {
        self.rx.recv().ok()
    }

    /// Events this subscriber lost because its queue was full.
    pub fn lost(&self) -> u64 {
        self.lost.load(Ordering::Relaxed)
    }

    /// Events waiting in the queue.
    pub fn pending(&self) -> usize {
        self.rx.len()
    }

    /// The subscriber's id on its bus.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The [`class`] bits subscribed to.
    pub fn mask(&self) -> u8 {
        self.mask
    }

    /// The queue's receiving end, for `crossbeam_channel::select!`. Events stop when
    /// the `Subscription` is dropped, even if a clone of the receiver lives on.
    pub fn receiver(&self) -> &Receiver<Event> {
        &self.rx
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Some(inner) = self.bus.upgrade() {
            let id = self.id;
            inner.remove(|s| s.id == id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conn::{ConnExt, Slot};
    use crate::proto::tcp::{self, Dir, Segment, TcpConfig, TcpVerdict, TCP_ACK, TCP_FIN, TCP_SYN};
    use crate::proto::ProtoState;
    use crate::tuple::{proto, FAMILY_V4, FAMILY_V6};
    use std::collections::HashSet;
    use std::net::{Ipv4Addr, Ipv6Addr};

    const SEC: u64 = 1_000_000_000;

    fn v4(a: &str) -> [u8; 16] {
        let mut x = [0; 16];
        x[..4].copy_from_slice(&a.parse::<Ipv4Addr>().unwrap().octets());
        x
    }

    fn v6(a: &str) -> [u8; 16] {
        a.parse::<Ipv6Addr>().unwrap().octets()
    }

    fn tuple(src: [u8; 16], dst: [u8; 16], l4: u8, src_id: u16, dst_id: u16) -> Tuple {
        let family = if src[4..].iter().any(|b| *b != 0) || dst[4..].iter().any(|b| *b != 0) {
            FAMILY_V6
        } else {
            FAMILY_V4
        };
        Tuple {
            src,
            dst,
            src_id,
            dst_id,
            proto: l4,
            family,
            zone: 0,
        }
    }

    /// The stored protocol state of a TCP connection whose window data is `c`.
    fn tcp_proto(c: &tcp::TcpConn) -> ProtoState {
        ProtoState::Tcp(c.clone())
    }

    /// A UDP connection's protocol state.
    fn udp() -> ProtoState {
        ProtoState::Udp(crate::proto::udp::UdpState::new(0))
    }

    /// A confirmed connection with `t` as its original tuple.
    fn conn(t: Tuple, p: ProtoState, status: u16, expires_ns: u64, helper: Option<&str>) -> Conn {
        Conn {
            orig: t,
            expires_ns,
            proto: p,
            id: 7,
            mark: 0,
            status: status | status::CONFIRMED,
            slot: Slot::Confirmed,
            ext: helper.map(|h| {
                Box::new(ConnExt {
                    helper: Some(h.to_owned()),
                    ..ConnExt::default()
                })
            }),
        }
    }

    fn seg(seq: u32, ack: u32, flags: u8) -> Segment<'static> {
        Segment {
            seq,
            ack,
            flags,
            window: 64240,
            payload_len: 0,
            options: &[],
        }
    }

    /// A TCP record after the SYN (SYN_SENT), after SYN/ACK (SYN_RECV) and after the
    /// third ACK (ESTABLISHED).
    fn tcp_handshake() -> [tcp::TcpConn; 3] {
        let cfg = TcpConfig::default();
        let (mut c, v) = tcp::tcp_start(&seg(1000, 0, TCP_SYN), &cfg).unwrap();
        assert!(matches!(v, TcpVerdict::Accept { timeout: 120, .. }));
        let syn_sent = c.clone();
        let v = tcp::tcp_packet(
            &mut c,
            Dir::Reply,
            &seg(5000, 1001, TCP_SYN | TCP_ACK),
            &cfg,
            false,
            false,
        );
        assert!(matches!(v, TcpVerdict::Accept { timeout: 60, .. }), "{v:?}");
        let syn_recv = c.clone();
        let v = tcp::tcp_packet(
            &mut c,
            Dir::Original,
            &seg(1001, 5001, TCP_ACK),
            &cfg,
            true,
            false,
        );
        assert!(
            matches!(
                v,
                TcpVerdict::Accept {
                    timeout: 432000,
                    set_assured: true
                }
            ),
            "{v:?}"
        );
        [syn_sent, syn_recv, c]
    }

    /// Sample lines (`conntrack_events.txt`) split into the timestamp in ns and the line.
    fn sample(line: &str) -> (u64, &str) {
        let (ts, _) = line[1..].split_once(']').unwrap();
        let (s, us) = ts.split_once('.').unwrap();
        let ns = s.parse::<u64>().unwrap() * SEC + us.trim().parse::<u64>().unwrap() * 1000;
        // Some nanoseconds below the microsecond, which the line must not show.
        (ns + 789, line)
    }

    fn ftp_tuple(sport: u16) -> Tuple {
        tuple(v4("10.77.0.1"), v4("10.77.1.2"), proto::TCP, sport, 21)
    }

    #[test]
    fn tcp_new_update_lines_match_the_kernel_sample() {
        let [syn_sent, syn_recv, est] = tcp_handshake();
        let t = ftp_tuple(45604);

        let (ts, want) = sample("[1795760642.641882]\t    [NEW] tcp      6 120 SYN_SENT src=10.77.0.1 dst=10.77.1.2 sport=45604 dport=21 [UNREPLIED] src=10.77.1.2 dst=10.77.0.1 sport=21 dport=45604 helper=ftp");
        let c = conn(t, tcp_proto(&syn_sent), 0, ts + 120 * SEC, Some("ftp"));
        let ev = ConnEvent::from_conn(EventKind::New, what::NEW | what::PROTOINFO, &c, ts);
        assert_eq!(ev.line(true), want);
        assert_eq!(ev.line(false), want.split_once('\t').unwrap().1);
        assert_eq!((ev.id, ev.timeout_s, ev.state), (7, 120, Some("SYN_SENT")));

        let (ts, want) = sample("[1795760642.641953]\t [UPDATE] tcp      6 60 SYN_RECV src=10.77.0.1 dst=10.77.1.2 sport=45604 dport=21 src=10.77.1.2 dst=10.77.0.1 sport=21 dport=45604 helper=ftp");
        let c = conn(
            t,
            tcp_proto(&syn_recv),
            status::SEEN_REPLY,
            ts + 60 * SEC,
            Some("ftp"),
        );
        let ev = ConnEvent::from_conn(EventKind::Update, what::REPLY | what::PROTOINFO, &c, ts);
        assert_eq!(ev.line(true), want);

        let (ts, want) = sample("[1795760642.641965]\t [UPDATE] tcp      6 432000 ESTABLISHED src=10.77.0.1 dst=10.77.1.2 sport=45604 dport=21 src=10.77.1.2 dst=10.77.0.1 sport=21 dport=45604 [ASSURED] helper=ftp");
        let c = conn(
            t,
            tcp_proto(&est),
            status::SEEN_REPLY | status::ASSURED,
            ts + 432000 * SEC,
            Some("ftp"),
        );
        let ev = ConnEvent::from_conn(EventKind::Update, what::ASSURED | what::PROTOINFO, &c, ts);
        assert_eq!(ev.line(true), want);

        // Without a helper (the data connection of the sample).
        let (ts, want) = sample("[1795760644.651175]\t [UPDATE] tcp      6 432000 ESTABLISHED src=10.77.0.1 dst=10.77.1.2 sport=42184 dport=30076 src=10.77.1.2 dst=10.77.0.1 sport=30076 dport=42184 [ASSURED]");
        let t2 = tuple(v4("10.77.0.1"), v4("10.77.1.2"), proto::TCP, 42184, 30076);
        let c = conn(
            t2,
            tcp_proto(&est),
            status::SEEN_REPLY | status::ASSURED,
            ts + 432000 * SEC,
            None,
        );
        assert_eq!(
            ConnEvent::from_conn(EventKind::Update, what::ASSURED | what::PROTOINFO, &c, ts)
                .line(true),
            want
        );

        // An UPDATE that did not change the state (a mark set) shows no state, and
        // mark= even for mark 0 because the event is about the mark.
        let ev = ConnEvent::from_conn(EventKind::Update, what::MARK, &c, ts);
        assert_eq!(ev.line(false), " [UPDATE] tcp      6 432000 src=10.77.0.1 dst=10.77.1.2 sport=42184 dport=30076 src=10.77.1.2 dst=10.77.0.1 sport=30076 dport=42184 [ASSURED] mark=0");
    }

    #[test]
    fn destroy_lines() {
        // UDP, expired: no timeout, no helper.
        let t = tuple(v4("10.77.1.2"), v4("10.77.0.1"), proto::UDP, 54983, 54630);
        let c = conn(t, udp(), status::SEEN_REPLY, 30 * SEC, Some("tftp"));
        let ev = ConnEvent::from_conn(EventKind::Destroy, what::DESTROY, &c, 31 * SEC);
        assert_eq!(ev.state, None);
        assert_eq!(ev.line(false), "[DESTROY] udp      17 src=10.77.1.2 dst=10.77.0.1 sport=54983 dport=54630 src=10.77.0.1 dst=10.77.1.2 sport=54630 dport=54983");
        // Never replied.
        let c = conn(t, udp(), 0, 30 * SEC, None);
        assert_eq!(
            ConnEvent::from_conn(EventKind::Destroy, what::DESTROY, &c, 30 * SEC).line(false),
            "[DESTROY] udp      17 src=10.77.1.2 dst=10.77.0.1 sport=54983 dport=54630 [UNREPLIED] src=10.77.0.1 dst=10.77.1.2 sport=54630 dport=54983"
        );

        // Killed before its time (the sample's GRE): the timeout left is shown.
        let (ts, want) = sample("[1795760665.996805]\t[DESTROY] gre      47 178 src=10.77.0.1 dst=10.77.1.2 srckey=0x1234 dstkey=0x4321 src=10.77.1.2 dst=10.77.0.1 srckey=0x4321 dstkey=0x1234 [ASSURED]");
        let g = tuple(v4("10.77.0.1"), v4("10.77.1.2"), proto::GRE, 0x1234, 0x4321);
        let c = conn(
            g,
            ProtoState::Gre,
            status::SEEN_REPLY | status::ASSURED,
            ts + 178 * SEC + 500_000_000,
            None,
        );
        assert_eq!(
            ConnEvent::from_conn(EventKind::Destroy, what::DESTROY, &c, ts).line(true),
            want
        );

        // TCP: the state is shown on DESTROY; counters with accounting on; a non-zero
        // mark always.
        let [_, _, mut est] = tcp_handshake();
        let cfg = TcpConfig::default();
        let _ = tcp::tcp_packet(
            &mut est,
            Dir::Original,
            &seg(1001, 5001, TCP_FIN | TCP_ACK),
            &cfg,
            true,
            true,
        );
        let mut c = conn(
            ftp_tuple(45604),
            tcp_proto(&est),
            status::SEEN_REPLY | status::ASSURED,
            100 * SEC,
            Some("ftp"),
        );
        c.mark = 5;
        let counters = [
            DirCounters {
                packets: 12,
                bytes: 900,
            },
            DirCounters {
                packets: 10,
                bytes: 1400,
            },
        ];
        let ev = ConnEvent::from_conn(EventKind::Destroy, what::DESTROY, &c, 100 * SEC);
        assert_eq!(ev.line(false), "[DESTROY] tcp      6 FIN_WAIT src=10.77.0.1 dst=10.77.1.2 sport=45604 dport=21 src=10.77.1.2 dst=10.77.0.1 sport=21 dport=45604 [ASSURED] mark=5");
        let ev = ev.with_counters(Some(counters));
        assert_eq!(ev.line(false), "[DESTROY] tcp      6 FIN_WAIT src=10.77.0.1 dst=10.77.1.2 sport=45604 dport=21 packets=12 bytes=900 src=10.77.1.2 dst=10.77.0.1 sport=21 dport=45604 packets=10 bytes=1400 [ASSURED] mark=5");
        // Counters are for DESTROY only.
        let up = ConnEvent::from_conn(EventKind::Update, what::PROTOINFO, &c, 40 * SEC)
            .with_counters(Some(counters));
        assert_eq!(up.line(false), " [UPDATE] tcp      6 60 FIN_WAIT src=10.77.0.1 dst=10.77.1.2 sport=45604 dport=21 src=10.77.1.2 dst=10.77.0.1 sport=21 dport=45604 [ASSURED] mark=5 helper=ftp");
    }

    #[test]
    fn icmp_ipv6_zone_lines() {
        let t = tuple(v4("10.0.0.1"), v4("10.0.0.2"), proto::ICMP, 77, 8 << 8);
        let c = conn(t, ProtoState::Icmp, 0, 30 * SEC, None);
        assert_eq!(
            ConnEvent::from_conn(EventKind::New, what::NEW, &c, 0).line(false),
            "    [NEW] icmp     1 30 src=10.0.0.1 dst=10.0.0.2 type=8 code=0 id=77 [UNREPLIED] src=10.0.0.2 dst=10.0.0.1 type=0 code=0 id=77"
        );

        let t = tuple(v6("fd77::1"), v6("fd77:1::2"), proto::ICMPV6, 5, 128 << 8);
        let c = conn(t, ProtoState::Icmp, status::SEEN_REPLY, 30 * SEC, None);
        assert_eq!(
            ConnEvent::from_conn(EventKind::Update, what::REPLY, &c, 0).line(false),
            " [UPDATE] icmpv6   58 30 src=fd77::1 dst=fd77:1::2 type=128 code=0 id=5 src=fd77:1::2 dst=fd77::1 type=129 code=0 id=5"
        );

        let [syn_sent, ..] = tcp_handshake();
        let (ts, want) = sample("[1795760650.973600]\t    [NEW] tcp      6 120 SYN_SENT src=fd77::1 dst=fd77:1::2 sport=37128 dport=21 [UNREPLIED] src=fd77:1::2 dst=fd77::1 sport=21 dport=37128 helper=ftp");
        let t = tuple(v6("fd77::1"), v6("fd77:1::2"), proto::TCP, 37128, 21);
        let c = conn(t, tcp_proto(&syn_sent), 0, ts + 120 * SEC, Some("ftp"));
        assert_eq!(
            ConnEvent::from_conn(EventKind::New, what::NEW | what::PROTOINFO, &c, ts).line(true),
            want
        );

        // A zone is shown after the mark.
        let mut t = tuple(v4("10.0.0.1"), v4("10.0.0.2"), proto::UDP, 1000, 53);
        t.zone = 4;
        let mut c = conn(t, udp(), 0, 30 * SEC, None);
        c.mark = 0x10;
        assert_eq!(
            ConnEvent::from_conn(EventKind::New, what::NEW, &c, 0).line(false),
            "    [NEW] udp      17 30 src=10.0.0.1 dst=10.0.0.2 sport=1000 dport=53 [UNREPLIED] src=10.0.0.2 dst=10.0.0.1 sport=53 dport=1000 mark=16 zone=4"
        );
    }

    #[test]
    fn timestamps_pad_micros_as_conntrack_does() {
        let t = tuple(v4("10.0.0.1"), v4("10.0.0.2"), proto::UDP, 1000, 53);
        let c = conn(t, udp(), 0, 0, None);
        // Connection events: six digits, zero-padded (the sample's
        // `[1795760653.034351]`); nanoseconds are cut, not rounded.
        let mut ev = ConnEvent::from_conn(
            EventKind::Destroy,
            what::DESTROY,
            &c,
            1_795_760_653_034_351_999,
        );
        assert!(ev
            .line(true)
            .starts_with("[1795760653.034351]\t[DESTROY] udp"));
        ev.ts_ns = 12 * SEC + 5_000;
        assert!(ev.line(true).starts_with("[12      .000005]\t"));
        // Expectation events: space-padded on the right (the sample's
        // `[1795760653.39567 ]`).
        let mut ex = ExpectEvent {
            kind: EventKind::New,
            ts_ns: 1_795_760_653_039_567_999,
            body: String::from("300"),
        };
        assert_eq!(ex.line(true), "[1795760653.39567 ]\t    [NEW] 300");
        ex.ts_ns = 1_795_760_653_000_000_000;
        assert_eq!(ex.line(true), "[1795760653.0     ]\t    [NEW] 300");
    }

    #[test]
    fn expect_lines_match_the_kernel_sample() {
        let samples = [
            "[1795760642.649978]\t    [NEW] 300 proto=6 src=10.77.0.1 dst=10.77.1.2 sport=0 dport=30076 mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 master-src=10.77.0.1 master-dst=10.77.1.2 sport=45604 dport=21 class=0 helper=ftp",
            "[1795760644.651364]\t[DESTROY] 298 proto=6 src=10.77.0.1 dst=10.77.1.2 sport=0 dport=30076 mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 master-src=10.77.0.1 master-dst=10.77.1.2 sport=45604 dport=21 class=0 helper=ftp",
            "[1795760653.39567 ]\t    [NEW] 300 proto=6 src=fd77:1::2 dst=fd77::1 sport=0 dport=46657 mask-src=ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff mask-dst=ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff sport=0 dport=65535 master-src=fd77::1 master-dst=fd77:1::2 sport=37134 dport=21 class=0 helper=ftp",
        ];
        for line in samples {
            let (ts, _) = sample(line);
            let (_, rest) = line.split_once('\t').unwrap();
            let kind = if rest.trim_start().starts_with("[NEW]") {
                EventKind::New
            } else {
                EventKind::Destroy
            };
            let body = rest[10..].to_owned();
            let ev = ExpectEvent {
                kind,
                ts_ns: ts,
                body,
            };
            assert_eq!(ev.line(true), line);
            assert_eq!(ev.line(false), rest);
            let ev = Event::Expect(ev);
            assert_eq!(ev.line(true), line);
            assert_eq!(
                ev.class(),
                if kind == EventKind::New {
                    class::EXPECT_NEW
                } else {
                    class::EXPECT_DESTROY
                }
            );
        }
        assert_eq!(
            summary_line(124, false),
            "conntrack v1.4.7 (conntrack-tools): 124 flow events have been shown."
        );
        assert_eq!(
            summary_line(24, true),
            "conntrack v1.4.7 (conntrack-tools): 24 expectation events have been shown."
        );
    }

    #[test]
    fn kinds_from_what() {
        assert_eq!(
            EventKind::from_what(what::NEW | what::PROTOINFO),
            EventKind::New
        );
        assert_eq!(EventKind::from_what(what::RELATED), EventKind::New);
        assert_eq!(
            EventKind::from_what(what::REPLY | what::PROTOINFO),
            EventKind::Update
        );
        assert_eq!(
            EventKind::from_what(what::DESTROY | what::MARK),
            EventKind::Destroy
        );
    }

    /// A small connection event numbered `n` (in its id).
    fn numbered(kind: EventKind, n: u32) -> Event {
        let t = tuple(v4("10.0.0.1"), v4("10.0.0.2"), proto::UDP, 1000, 53);
        let mut c = conn(t, udp(), 0, 30 * SEC, None);
        c.id = n;
        let w = match kind {
            EventKind::New => what::NEW,
            EventKind::Update => what::REPLY,
            EventKind::Destroy => what::DESTROY,
        };
        Event::Conn(ConnEvent::from_conn(kind, w, &c, 0))
    }

    fn id_of(ev: &Event) -> u32 {
        match ev {
            Event::Conn(c) => c.id,
            Event::Expect(_) => u32::MAX,
        }
    }

    #[test]
    fn bus_is_send_sync() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<EventBus>();
        send_sync::<Event>();
        send_sync::<Subscription>();
    }

    #[test]
    fn a_slow_subscriber_loses_what_does_not_fit() {
        let bus = EventBus::new();
        let slow = bus.subscribe(class::ALL, 2);
        let fast = bus.subscribe(class::ALL, 64);
        for n in 0..10 {
            bus.publish(numbered(EventKind::New, n));
        }
        assert_eq!((slow.lost(), fast.lost()), (8, 0));
        let got: Vec<u32> = std::iter::from_fn(|| slow.try_recv())
            .map(|e| id_of(&e))
            .collect();
        assert_eq!(got, [0, 1]);
        let got: Vec<u32> = std::iter::from_fn(|| fast.try_recv())
            .map(|e| id_of(&e))
            .collect();
        assert_eq!(got, (0..10).collect::<Vec<_>>());
        assert_eq!(
            bus.counters(),
            EventCounters {
                published: 10,
                delivered: 12,
                lost: 8,
                subscribers: 2
            }
        );
        // Room again: the next event gets through.
        bus.publish(numbered(EventKind::Update, 10));
        assert_eq!(slow.try_recv().map(|e| id_of(&e)), Some(10));
        assert_eq!(slow.lost(), 8);
        assert_eq!(slow.recv_timeout(Duration::from_millis(10)), None);
    }

    #[test]
    fn masks_filter_classes() {
        let bus = EventBus::new();
        let news = bus.subscribe(class::NEW, 16);
        let ends = bus.subscribe(class::DESTROY | class::EXPECT_NEW, 16);
        assert!(bus.wants(class::NEW) && bus.wants(class::DESTROY) && bus.wants(class::EXPECT_NEW));
        assert!(!bus.wants(class::UPDATE) && !bus.wants(class::EXPECT_DESTROY));
        assert!(bus.wants(class::UPDATE | class::NEW));
        bus.publish(numbered(EventKind::New, 1));
        bus.publish(numbered(EventKind::Update, 2));
        bus.publish(numbered(EventKind::Destroy, 3));
        let exp = |kind| {
            Event::Expect(ExpectEvent {
                kind,
                ts_ns: 0,
                body: String::from("300 proto=6"),
            })
        };
        bus.publish(exp(EventKind::New));
        bus.publish(exp(EventKind::Destroy));
        let got: Vec<(EventKind, u8)> = std::iter::from_fn(|| news.try_recv())
            .map(|e| (e.kind(), e.class()))
            .collect();
        assert_eq!(got, [(EventKind::New, class::NEW)]);
        let got: Vec<(EventKind, u8)> = std::iter::from_fn(|| ends.try_recv())
            .map(|e| (e.kind(), e.class()))
            .collect();
        assert_eq!(
            got,
            [
                (EventKind::Destroy, class::DESTROY),
                (EventKind::New, class::EXPECT_NEW)
            ]
        );
        let c = bus.counters();
        assert_eq!((c.published, c.delivered, c.lost), (5, 3, 0));
    }

    #[test]
    fn wants_nothing_without_subscribers() {
        let bus = EventBus::new();
        assert!(!bus.wants(class::ALL));
        let sub = bus.subscribe(class::UPDATE, 4);
        let other = bus.subscribe(class::NEW, 4);
        assert!(bus.wants(class::UPDATE));
        drop(sub);
        bus.publish(numbered(EventKind::Update, 1));
        assert!(!bus.wants(class::UPDATE) && bus.wants(class::NEW));
        drop(other);
        bus.publish(numbered(EventKind::New, 2));
        assert!(!bus.wants(class::ALL));
        assert_eq!(bus.counters().subscribers, 0);
        assert_eq!(bus.counters().delivered, 0);
        // A clone of the receiver does not keep the subscription alive.
        let sub = bus.subscribe(class::NEW, 4);
        let rx = sub.receiver().clone();
        drop(sub);
        bus.publish(numbered(EventKind::New, 3));
        assert!(rx.try_recv().is_err());
        assert!(!bus.wants(class::ALL));
        // A subscriber outliving its bus sees the end.
        let bus2 = EventBus::new();
        let sub = bus2.subscribe(class::ALL, 4);
        bus2.publish(numbered(EventKind::New, 4));
        drop(bus2);
        assert_eq!(sub.recv().map(|e| id_of(&e)), Some(4));
        assert_eq!(sub.recv(), None);
    }

    #[test]
    fn concurrent_publishers_reach_a_large_subscriber_complete() {
        let bus = EventBus::new();
        let sub = bus.subscribe(class::CONNTRACK, 10_000);
        std::thread::scope(|s| {
            for t in 0..4u32 {
                let bus = &bus;
                s.spawn(move || {
                    for i in 0..250 {
                        let kind =
                            [EventKind::New, EventKind::Update, EventKind::Destroy][i as usize % 3];
                        bus.publish(numbered(kind, t * 1000 + i));
                    }
                });
            }
        });
        let mut seen = HashSet::new();
        while let Some(ev) = sub.recv_timeout(Duration::from_millis(50)) {
            assert!(seen.insert(id_of(&ev)));
        }
        assert_eq!(seen.len(), 1000);
        assert_eq!(
            seen,
            (0..4)
                .flat_map(|t| (0..250).map(move |i| t * 1000 + i))
                .collect()
        );
        assert_eq!(sub.lost(), 0);
        let c = bus.counters();
        assert_eq!((c.published, c.delivered, c.lost), (1000, 1000, 0));
    }

    #[test]
    fn concurrent_publishers_with_a_reader_and_a_slow_subscriber() {
        let bus = EventBus::new();
        let reader = bus.subscribe(class::ALL, 8);
        let slow = bus.subscribe(class::ALL, 1);
        let got = std::thread::scope(|s| {
            let r = s.spawn(|| {
                let mut n = 0u64;
                while reader.recv_timeout(Duration::from_millis(200)).is_some() {
                    n += 1;
                }
                n
            });
            for t in 0..4u32 {
                let bus = &bus;
                s.spawn(move || {
                    for i in 0..250 {
                        bus.publish(numbered(EventKind::New, t * 1000 + i));
                    }
                });
            }
            r.join().unwrap()
        });
        // Every event reached the reader, waits in its queue or was counted lost for it.
        assert_eq!(got + reader.pending() as u64 + reader.lost(), 1000);
        assert_eq!(slow.pending() as u64 + slow.lost(), 1000);
        let c = bus.counters();
        assert_eq!(c.delivered + c.lost, 2000);
    }

    /// The shared folder beside the repository (`$BRICKWALL_SHARED` when set).
    fn shared_dir() -> std::path::PathBuf {
        if let Some(p) = std::env::var_os("BRICKWALL_SHARED") {
            return p.into();
        }
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared");
        assert!(
            p.is_dir(),
            "shared test data not found at {} (set BRICKWALL_SHARED)",
            p.display()
        );
        p
    }

    /// Parses one tuple's words (`src=… dst=…` and the protocol's ids) from `words`.
    fn parse_tuple<'a>(words: &mut impl Iterator<Item = &'a str>, l4: u8) -> Tuple {
        let mut val = |key: &str| {
            let w = words.next().unwrap();
            let (k, v) = w.split_once('=').unwrap();
            assert_eq!(k, key, "in {w}");
            v
        };
        let addr = |a: &str| if a.contains(':') { v6(a) } else { v4(a) };
        let (src, dst) = (addr(val("src")), addr(val("dst")));
        let (src_id, dst_id) = match l4 {
            proto::GRE => {
                let hex = |v: &str| u16::from_str_radix(v.trim_start_matches("0x"), 16).unwrap();
                (hex(val("srckey")), hex(val("dstkey")))
            }
            proto::ICMP | proto::ICMPV6 => {
                let ty: u16 = val("type").parse().unwrap();
                let code: u16 = val("code").parse().unwrap();
                (val("id").parse().unwrap(), ty << 8 | code)
            }
            _ => (val("sport").parse().unwrap(), val("dport").parse().unwrap()),
        };
        tuple(src, dst, l4, src_id, dst_id)
    }

    /// Every line of the kernel's `conntrack -E -o timestamp` sample, parsed into an
    /// event and formatted back, comes out byte for byte.
    #[test]
    fn every_sample_line_round_trips() {
        let text =
            std::fs::read_to_string(shared_dir().join("kernel-samples/conntrack_events.txt"))
                .unwrap();
        let state_name = |w: &str| {
            (0..=20u8)
                .filter_map(crate::proto::tcp::TcpState::from_u8)
                .map(|s| s.name())
                .find(|n| *n == w)
        };
        let mut n = 0;
        for line in text.lines().filter(|l| l.starts_with('[')) {
            let (ts, _) = sample(line);
            let rest = line.split_once('\t').unwrap().1;
            let kind = match rest[..9].trim_start() {
                "[NEW]" => EventKind::New,
                "[UPDATE]" => EventKind::Update,
                "[DESTROY]" => EventKind::Destroy,
                other => panic!("{other}"),
            };
            let mut words = rest[10..].split_whitespace().peekable();
            let _name = words.next().unwrap();
            let l4: u8 = words.next().unwrap().parse().unwrap();
            let timeout_s = match words.peek().and_then(|w| w.parse::<u64>().ok()) {
                Some(t) => {
                    words.next();
                    t
                }
                None => 0,
            };
            let state = match words.peek().copied().and_then(state_name) {
                Some(st) => {
                    words.next();
                    Some(st)
                }
                None => None,
            };
            let orig = parse_tuple(&mut words, l4);
            let mut st = status::CONFIRMED | status::SEEN_REPLY;
            if words.peek() == Some(&"[UNREPLIED]") {
                words.next();
                st &= !status::SEEN_REPLY;
            }
            let reply = parse_tuple(&mut words, l4);
            let mut helper = None;
            for w in words {
                match w {
                    "[ASSURED]" => st |= status::ASSURED,
                    _ => helper = Some(w.strip_prefix("helper=").unwrap().to_owned()),
                }
            }
            let what = match kind {
                EventKind::New => what::NEW | what::PROTOINFO,
                EventKind::Update if state.is_some() => what::PROTOINFO,
                EventKind::Update => what::REPLY,
                EventKind::Destroy => what::DESTROY,
            };
            let ev = ConnEvent {
                kind,
                what,
                ts_ns: ts,
                id: 1,
                tuple: [orig, reply],
                state,
                timeout_s,
                status: st,
                mark: 0,
                helper,
                counters: None,
            };
            assert_eq!(ev.line(true), line);
            n += 1;
        }
        assert_eq!(n, 124);
    }
}

/// Subscriptions held for clients that poll for events over the control channel (the
/// `-E` of the CLI): each poll names its session (0 starts one) and takes what arrived
/// since the last. Sessions nobody polled for a minute are dropped.
#[derive(Default)]
pub struct Pollers {
    next: u64,
    sessions: std::collections::HashMap<u64, (Subscription, std::time::Instant)>,
}

/// What one poll returns.
#[derive(Debug, serde::Serialize)]
pub struct Poll {
    /// The session to name in the next poll.
    pub cursor: u64,
    /// `conntrack -E` lines, oldest first.
    pub events: Vec<String>,
    /// Events this session lost because it polled too slowly.
    pub lost: u64,
}

impl Pollers {
    /// Room per session.
    const CAPACITY: usize = 65_536;
    /// A session idle this long is dropped.
    const IDLE: std::time::Duration = std::time::Duration::from_secs(60);

    /// Takes at most `max` events for session `cursor` (0: a new session of `mask`).
    pub fn poll(
        &mut self,
        bus: &EventBus,
        cursor: u64,
        mask: u8,
        max: usize,
        timestamps: bool,
    ) -> Result<Poll, String> {
        let now = std::time::Instant::now();
        self.sessions
            .retain(|_, (_, seen)| now.duration_since(*seen) < Self::IDLE);
        let cursor = if cursor == 0 {
            self.next += 1;
            self.sessions
                .insert(self.next, (bus.subscribe(mask, Self::CAPACITY), now));
            self.next
        } else {
            cursor
        };
        let (sub, seen) = self.sessions.get_mut(&cursor).ok_or_else(|| {
            format!("cursor: no event session {cursor} (expired after a minute without a poll?)")
        })?;
        *seen = now;
        let events = std::iter::from_fn(|| sub.try_recv())
            .take(max.max(1))
            .map(|e| e.line(timestamps))
            .collect();
        Ok(Poll {
            cursor,
            events,
            lost: sub.lost(),
        })
    }
}
