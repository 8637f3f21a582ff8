//! The `conntrack` service, version 1.2, which the conntrack plugin exports: look up the
//! connection a packet carries (1.1: on the packet's worker's lane, beside other
//! workers' lookups instead of after them), read its tuples, status, mark, labels, helper and
//! counters; set the NAT binding (the reply tuple) of a connection not yet confirmed;
//! ask whether a tuple is taken; create expectations; subscribe to structured
//! connection events; and (1.2) walk the table, read its clock, and count the events a
//! subscription lost.
//!
//! [`ConntrackTable`] is the C table; [`Conntrack`] is the safe handle a Rust importer
//! gets from [`Conntrack::import`].

use super::{ServiceImport, ServiceRef, ServiceVersion};
use crate::packet::PacketView;
use crate::plugin::Host;
use std::ffi::c_void;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

/// The service's name.
pub const NAME: &str = "conntrack";

/// The version the conntrack plugin exports.
pub const VERSION: ServiceVersion = ServiceVersion::new(1, 2);

/// The import, for a plugin's [`IMPORTS`](crate::Plugin::IMPORTS): version 1.0, which
/// every function but 1.1's needs; [`Conntrack`] uses 1.1's where the exporter's table
/// has them.
pub const IMPORT: ServiceImport = ServiceImport {
    name: NAME,
    version: ServiceVersion::new(1, 0),
};

/// Bytes of a version 1.0 table (what 1.1 appended starts there).
const SIZE_1_0: usize = std::mem::offset_of!(ConntrackTable, conn_on);

/// Bytes of a version 1.1 table (what 1.2 appended starts there).
const SIZE_1_1: usize = std::mem::offset_of!(ConntrackTable, walk);

/// Bytes of a version 1.2 table.
const SIZE_1_2: usize = std::mem::size_of::<ConntrackTable>();

/// `NFPROTO_IPV4`.
pub const FAMILY_V4: u8 = 2;
/// `NFPROTO_IPV6`.
pub const FAMILY_V6: u8 = 10;

/// One direction of a connection, as conntrack keys it.
///
/// `src_id`/`dst_id` hold the ports for TCP, UDP, UDP-Lite and SCTP; for ICMP and ICMPv6
/// the echo id in `src_id` and `type << 8 | code` in `dst_id`; for GRE the keys.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct CtTuple {
    /// Source address (IPv4 in the first four bytes, the rest zero).
    pub src: [u8; 16],
    /// Destination address.
    pub dst: [u8; 16],
    /// Source port, ICMP id or GRE key.
    pub src_id: u16,
    /// Destination port, ICMP type and code, or GRE key.
    pub dst_id: u16,
    /// IP protocol number.
    pub proto: u8,
    /// [`FAMILY_V4`] or [`FAMILY_V6`].
    pub family: u8,
    /// Conntrack zone.
    pub zone: u16,
}

impl CtTuple {
    fn addr(&self, b: &[u8; 16]) -> IpAddr {
        if self.family == FAMILY_V6 {
            IpAddr::V6(Ipv6Addr::from(*b))
        } else {
            IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3]))
        }
    }

    /// The source address.
    pub fn src_addr(&self) -> IpAddr {
        self.addr(&self.src)
    }

    /// The destination address.
    pub fn dst_addr(&self) -> IpAddr {
        self.addr(&self.dst)
    }
}

/// Packets and bytes of one direction.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CtCounters {
    /// Packets.
    pub packets: u64,
    /// Bytes (IP datagram lengths).
    pub bytes: u64,
}

/// Bits of [`CtConn::flags`].
pub mod conn_flags {
    /// `counters` holds the connection's counters (accounting is on).
    pub const COUNTERS: u32 = 1 << 0;
    /// `start_ns` holds its start time (timestamps are on).
    pub const START: u32 = 1 << 1;
    /// The connection is confirmed (in the table).
    pub const CONFIRMED: u32 = 1 << 2;
}

/// Linux's `IPS_*` status bits the service reports in [`CtConn::status`] (same bit
/// numbers as Linux).
pub mod status {
    /// Created from an expectation.
    pub const EXPECTED: u32 = 1 << 0;
    /// A reply was seen.
    pub const SEEN_REPLY: u32 = 1 << 1;
    /// Assured: not evicted early.
    pub const ASSURED: u32 = 1 << 2;
    /// In the table.
    pub const CONFIRMED: u32 = 1 << 3;
    /// The source is translated (the reply's destination differs from the original's
    /// source).
    pub const SRC_NAT: u32 = 1 << 4;
    /// The destination is translated (the reply's source differs from the original's
    /// destination).
    pub const DST_NAT: u32 = 1 << 5;
    /// TCP sequence numbers are adjusted (a helper changed a payload's length).
    pub const SEQ_ADJUST: u32 = 1 << 6;
    /// The source translation is set up.
    pub const SRC_NAT_DONE: u32 = 1 << 7;
    /// The destination translation is set up.
    pub const DST_NAT_DONE: u32 = 1 << 8;
    /// Being removed.
    pub const DYING: u32 = 1 << 9;
    /// The timeout is fixed.
    pub const FIXED_TIMEOUT: u32 = 1 << 10;
    /// A helper is attached.
    pub const HELPER: u32 = 1 << 13;
}

/// What a 1.1 lookup ([`ConntrackTable::conn_on`]) fills beyond the id, tuples,
/// status, mark, labels and flags, which it always fills.
pub mod want {
    /// The state and helper names.
    pub const NAMES: u32 = 1 << 0;
    /// The timeout and the start time.
    pub const TIMES: u32 = 1 << 1;
    /// The counters.
    pub const COUNTERS: u32 = 1 << 2;
    /// Everything.
    pub const ALL: u32 = NAMES | TIMES | COUNTERS;
}

/// A snapshot of a connection.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CtConn {
    /// The connection's id (as `conntrack -L -o id` shows it).
    pub id: u64,
    /// The original direction's tuple.
    pub orig: CtTuple,
    /// The reply direction's tuple (the original inverted, unless NAT bound another).
    pub reply: CtTuple,
    /// [`status`] bits.
    pub status: u32,
    /// `ct mark`.
    pub mark: u32,
    /// 128 connection labels, bit `i` of word `i / 64`.
    pub labels: [u64; 2],
    /// Seconds left before it expires.
    pub timeout_s: u64,
    /// Start time (ns), with [`conn_flags::START`].
    pub start_ns: u64,
    /// Per-direction counters, with [`conn_flags::COUNTERS`].
    pub counters: [CtCounters; 2],
    /// [`conn_flags`] bits.
    pub flags: u32,
    /// Reserved, zero.
    pub _pad: u32,
    /// TCP/SCTP/DCCP state name (`ESTABLISHED`…), NUL-padded; empty for others.
    pub state: [u8; 16],
    /// The assigned helper's name, NUL-padded; empty for none.
    pub helper: [u8; 16],
}

/// A NUL-padded name field as text.
fn padded(b: &[u8; 16]) -> &str {
    let n = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    std::str::from_utf8(&b[..n]).unwrap_or("")
}

/// Writes `s` into a NUL-padded field (cut at 15 bytes).
pub fn set_padded(field: &mut [u8; 16], s: &str) {
    *field = [0; 16];
    let n = s.len().min(15);
    field[..n].copy_from_slice(&s.as_bytes()[..n]);
}

impl CtConn {
    /// The protocol state's name, if it has one.
    pub fn state_name(&self) -> Option<&str> {
        Some(padded(&self.state)).filter(|s| !s.is_empty())
    }

    /// The helper's name, if one is assigned.
    pub fn helper_name(&self) -> Option<&str> {
        Some(padded(&self.helper)).filter(|s| !s.is_empty())
    }

    /// The counters, if accounting is on.
    pub fn counters(&self) -> Option<[CtCounters; 2]> {
        (self.flags & conn_flags::COUNTERS != 0).then_some(self.counters)
    }

    /// The labels as one 128-bit number.
    pub fn labels(&self) -> u128 {
        self.labels[0] as u128 | (self.labels[1] as u128) << 64
    }
}

/// Event classes, for [`ConntrackTable::subscribe`]'s mask and [`CtEvent::kind`].
pub mod event {
    /// A connection was confirmed.
    pub const NEW: u8 = 1 << 0;
    /// A connection changed.
    pub const UPDATE: u8 = 1 << 1;
    /// A connection was removed.
    pub const DESTROY: u8 = 1 << 2;
    /// All three.
    pub const ALL: u8 = NEW | UPDATE | DESTROY;
}

/// A connection event.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CtEvent {
    /// One [`event`] class bit.
    pub kind: u8,
    /// Reserved, zero.
    pub _pad: u8,
    /// Which parts changed: Linux's `IPCT_*` bits (NEW 0, RELATED 1, DESTROY 2, REPLY
    /// 3, ASSURED 4, PROTOINFO 5, HELPER 6, MARK 7, LABEL 10).
    pub what: u16,
    /// Reserved, zero.
    pub _pad2: u32,
    /// When (packet time, ns).
    pub ts_ns: u64,
    /// The connection as it was then (its counters too on DESTROY, with accounting).
    pub conn: CtConn,
}

/// An expectation to create: a connection the master's protocol announced.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CtExpectSpec {
    /// The expected connection's original tuple.
    pub tuple: CtTuple,
    /// Non-zero: any source address matches.
    pub any_src_addr: u8,
    /// Non-zero: any source port matches.
    pub any_src_port: u8,
    /// Class within the helper.
    pub class: u8,
    /// Reserved, zero.
    pub _pad: u8,
    /// Lifetime in seconds (0: 300).
    pub timeout_s: u32,
    /// Most live expectations of this master and class (0: 1).
    pub max_expected: u32,
    /// Reserved, zero.
    pub _pad2: u32,
    /// The helper's name the expectation is listed under, NUL-padded.
    pub helper: [u8; 16],
}

/// Results of the table's functions besides success.
pub mod code {
    /// Done.
    pub const OK: i32 = 0;
    /// No such connection (a stale or zero reference).
    pub const NOT_FOUND: i32 = -1;
    /// The connection is confirmed: its NAT binding can no longer change.
    pub const CONFIRMED: i32 = -2;
    /// The argument does not fit the connection (another protocol or family).
    pub const INVALID: i32 = -3;
    /// A limit refused it (expectations).
    pub const REFUSED: i32 = -4;
}

/// The service's C table. `ctx` is passed back to every function.
#[repr(C)]
pub struct ConntrackTable {
    /// `size_of::<ConntrackTable>()` as the exporter built it.
    pub size: u32,
    /// Reserved, zero.
    pub _pad: u32,
    /// The exporter's context.
    pub ctx: *const c_void,
    /// The connection that packet reference `ct` ([`PacketView::ct`]) names, into
    /// `out`: [`code::OK`] or [`code::NOT_FOUND`].
    pub conn: extern "C" fn(ctx: *const c_void, ct: u64, out: *mut CtConn) -> i32,
    /// Binds the reply tuple of the not yet confirmed connection `ct` (the tuple NAT
    /// chose; the original inverted undoes it): [`code::OK`], [`code::NOT_FOUND`],
    /// [`code::CONFIRMED`] or [`code::INVALID`].
    pub set_nat_reply: extern "C" fn(ctx: *const c_void, ct: u64, reply: *const CtTuple) -> i32,
    /// 1 when a confirmed connection has `tuple` in either direction, else 0.
    pub tuple_taken: extern "C" fn(ctx: *const c_void, tuple: *const CtTuple) -> i32,
    /// Creates an expectation whose master is connection `ct`: its id (> 0), or a
    /// negative [`code`].
    pub expect: extern "C" fn(ctx: *const c_void, ct: u64, spec: *const CtExpectSpec) -> i64,
    /// A subscription to the [`event`] classes in `mask`, with room for `capacity`
    /// queued events (a full queue loses the newest); null on failure.
    pub subscribe: extern "C" fn(ctx: *const c_void, mask: u8, capacity: u32) -> *mut c_void,
    /// The subscription's next event into `out`, waiting up to `timeout_ms`: 1, or 0
    /// when none came.
    pub next_event: extern "C" fn(
        ctx: *const c_void,
        sub: *mut c_void,
        timeout_ms: u32,
        out: *mut CtEvent,
    ) -> i32,
    /// Ends a subscription (once; `sub` is not used after).
    pub unsubscribe: extern "C" fn(ctx: *const c_void, sub: *mut c_void),
    /// 1.1: as [`conn`](Self::conn), for a packet of worker `worker`
    /// ([`PacketView::worker`]), read on that worker's lane; filling what [`want`]'s
    /// bits ask for beyond the tuples, status, mark, labels and flags (the rest zero).
    pub conn_on:
        extern "C" fn(ctx: *const c_void, worker: u32, ct: u64, want: u32, out: *mut CtConn) -> i32,
    /// 1.1: the importer binds reply tuples ([`set_nat_reply`](Self::set_nat_reply)) of
    /// new connections at a later hook (NAT), so conntrack must not let a packet that
    /// could belong to such a connection by its bound reply run ahead of its
    /// confirmation; called once, at the importer's init.
    pub will_bind: extern "C" fn(ctx: *const c_void),
    /// 1.2: a page of the table's confirmed connections, from position `cursor` (0: the
    /// start) on, into `out` (room for `cap`), filled as [`want::ALL`] asks (expired
    /// ones not yet collected included: their `timeout_s` is 0); writes the position to
    /// resume from into `next` (0 when the walk is done) and returns how many it wrote.
    /// A walk is not a snapshot: connections created or removed meanwhile may be met
    /// or missed, as in a `conntrack -L` dump.
    pub walk: extern "C" fn(
        ctx: *const c_void,
        cursor: u64,
        out: *mut CtConn,
        cap: u32,
        next: *mut u64,
    ) -> u32,
    /// 1.2: the table's clock (ns): the latest packet time it saw, the time events and
    /// timeouts are measured in.
    pub clock_ns: extern "C" fn(ctx: *const c_void) -> u64,
    /// 1.2: events the subscription `sub` lost to its full queue so far.
    pub lost: extern "C" fn(ctx: *const c_void, sub: *mut c_void) -> u64,
}

// The table is immutable; its functions are thread-safe.
unsafe impl Sync for ConntrackTable {}
unsafe impl Send for ConntrackTable {}

/// An importer's handle on the conntrack service.
#[derive(Clone, Copy)]
pub struct Conntrack {
    table: &'static ConntrackTable,
}

impl std::fmt::Debug for Conntrack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conntrack").finish_non_exhaustive()
    }
}

impl Conntrack {
    /// Takes the service at init (the plugin must list [`IMPORT`] in its imports).
    pub fn import(host: &Host) -> Result<Conntrack, String> {
        let r = host.import(NAME, IMPORT.version)?;
        // SAFETY: the engine hands out the exporter's table for this name and a
        // compatible version, and keeps the exporter alive while this plugin lives.
        unsafe { Conntrack::from_ref(r) }
    }

    /// A handle over a table the engine handed out.
    ///
    /// # Safety
    /// `r.table` must point to a [`ConntrackTable`] that outlives every use of the handle.
    pub unsafe fn from_ref(r: ServiceRef) -> Result<Conntrack, String> {
        if r.table.is_null() {
            return Err("the conntrack service's table is null".into());
        }
        let table = &*(r.table as *const ConntrackTable);
        if (table.size as usize) < SIZE_1_0 {
            return Err(format!(
                "the conntrack service's table has {} bytes, version 1.0 needs {SIZE_1_0}",
                table.size,
            ));
        }
        Ok(Conntrack { table })
    }

    /// The connection a packet carries (`None` when it carries none), read on the
    /// packet's worker's lane where the exporter has version 1.1.
    pub fn conn_of(&self, pkt: &PacketView) -> Option<CtConn> {
        self.conn_wanting(pkt, want::ALL)
    }

    /// What NAT needs of the connection a packet carries: its id, tuples, status,
    /// mark, labels and flags (with a 1.1 exporter, nothing else is filled: the names,
    /// times and counters stay zero).
    pub fn binding_of(&self, pkt: &PacketView) -> Option<CtConn> {
        self.conn_wanting(pkt, 0)
    }

    /// As [`binding_of`](Self::binding_of), written into `out` (which it zeroes
    /// first): false when the packet carries no connection.
    pub fn binding_into(&self, pkt: &PacketView, out: &mut CtConn) -> bool {
        self.conn_into(pkt, 0, out)
    }

    fn conn_wanting(&self, pkt: &PacketView, want: u32) -> Option<CtConn> {
        let mut out = CtConn::default();
        self.conn_into(pkt, want, &mut out).then_some(out)
    }

    fn conn_into(&self, pkt: &PacketView, want: u32, out: &mut CtConn) -> bool {
        *out = CtConn::default();
        let f = if (self.table.size as usize) < SIZE_1_1 {
            (self.table.conn)(self.table.ctx, pkt.ct, out)
        } else {
            (self.table.conn_on)(self.table.ctx, pkt.worker, pkt.ct, want, out)
        };
        f == code::OK
    }

    /// The connection packet reference `ct` names.
    pub fn conn(&self, ct: u64) -> Option<CtConn> {
        let mut out = CtConn::default();
        ((self.table.conn)(self.table.ctx, ct, &mut out) == code::OK).then_some(out)
    }

    /// Binds the reply tuple of connection `ct` before it is confirmed.
    pub fn set_nat_reply(&self, ct: u64, reply: &CtTuple) -> Result<(), i32> {
        match (self.table.set_nat_reply)(self.table.ctx, ct, reply) {
            code::OK => Ok(()),
            e => Err(e),
        }
    }

    /// Tells conntrack this importer binds reply tuples (see
    /// [`ConntrackTable::will_bind`]); nothing with a 1.0 exporter, which cuts a burst
    /// after every new connection anyway.
    pub fn will_bind(&self) {
        if (self.table.size as usize) >= SIZE_1_1 {
            (self.table.will_bind)(self.table.ctx);
        }
    }

    /// Whether a confirmed connection has `tuple` in either direction.
    pub fn tuple_taken(&self, tuple: &CtTuple) -> bool {
        (self.table.tuple_taken)(self.table.ctx, tuple) == 1
    }

    /// Creates an expectation with master `ct`; its id.
    pub fn expect(&self, ct: u64, spec: &CtExpectSpec) -> Result<u32, i32> {
        let r = (self.table.expect)(self.table.ctx, ct, spec);
        if r > 0 {
            Ok(r as u32)
        } else {
            Err(r as i32)
        }
    }

    /// Whether the exporter's table has version 1.2's functions ([`walk`](Self::walk),
    /// [`clock_ns`](Self::clock_ns), [`Subscription::lost`]).
    pub fn has_walk(&self) -> bool {
        (self.table.size as usize) >= SIZE_1_2
    }

    /// One page of a walk of the table from `cursor` (0: the start): the connections
    /// written at the front of `out`, and the cursor to resume from (`None` when the
    /// walk is done). `None` from a 1.0 or 1.1 exporter.
    pub fn walk(&self, cursor: u64, out: &mut [CtConn]) -> Option<(usize, Option<u64>)> {
        if !self.has_walk() {
            return None;
        }
        let cap = out.len().min(u32::MAX as usize) as u32;
        let mut next = 0u64;
        let n = (self.table.walk)(self.table.ctx, cursor, out.as_mut_ptr(), cap, &mut next);
        Some(((n as usize).min(out.len()), (next != 0).then_some(next)))
    }

    /// The table's clock (ns; packet time); `None` from a 1.0 or 1.1 exporter.
    pub fn clock_ns(&self) -> Option<u64> {
        self.has_walk()
            .then(|| (self.table.clock_ns)(self.table.ctx))
    }

    /// Subscribes to the [`event`] classes in `mask`.
    pub fn subscribe(&self, mask: u8, capacity: u32) -> Option<Subscription> {
        let sub = (self.table.subscribe)(self.table.ctx, mask, capacity);
        (!sub.is_null()).then_some(Subscription {
            table: self.table,
            sub,
        })
    }
}

/// A subscription to conntrack's events; dropping it unsubscribes.
pub struct Subscription {
    table: &'static ConntrackTable,
    sub: *mut c_void,
}

// The exporter's subscription is a queue receiver, usable from any thread.
unsafe impl Send for Subscription {}

impl Subscription {
    /// The next event, waiting up to `timeout`.
    pub fn next(&mut self, timeout: Duration) -> Option<CtEvent> {
        let mut out = CtEvent::default();
        let ms = timeout.as_millis().min(u32::MAX as u128) as u32;
        ((self.table.next_event)(self.table.ctx, self.sub, ms, &mut out) == 1).then_some(out)
    }

    /// Events lost to a full queue so far; `None` from a 1.0 or 1.1 exporter.
    pub fn lost(&self) -> Option<u64> {
        ((self.table.size as usize) >= SIZE_1_2)
            .then(|| (self.table.lost)(self.table.ctx, self.sub))
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        (self.table.unsubscribe)(self.table.ctx, self.sub);
    }
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // A stand-in exporter: `conn` answers id 10, `conn_on` id 11 plus the worker.
    extern "C" fn conn(_: *const c_void, _: u64, out: *mut CtConn) -> i32 {
        // SAFETY: the handle passes its own out-value.
        unsafe { (*out).id = 10 };
        code::OK
    }
    extern "C" fn conn_on(
        _: *const c_void,
        worker: u32,
        _: u64,
        want: u32,
        out: *mut CtConn,
    ) -> i32 {
        // SAFETY: as in `conn`.
        unsafe { (*out).id = 11 + worker as u64 + 100 * (want == 0) as u64 };
        code::OK
    }
    extern "C" fn set_nat_reply(_: *const c_void, _: u64, _: *const CtTuple) -> i32 {
        code::INVALID
    }
    extern "C" fn tuple_taken(_: *const c_void, _: *const CtTuple) -> i32 {
        0
    }
    extern "C" fn expect(_: *const c_void, _: u64, _: *const CtExpectSpec) -> i64 {
        code::INVALID as i64
    }
    extern "C" fn subscribe(_: *const c_void, _: u8, _: u32) -> *mut c_void {
        std::ptr::null_mut()
    }
    extern "C" fn next_event(_: *const c_void, _: *mut c_void, _: u32, _: *mut CtEvent) -> i32 {
        0
    }
    extern "C" fn unsubscribe(_: *const c_void, _: *mut c_void) {}
    extern "C" fn will_bind(_: *const c_void) {}
    extern "C" fn walk(_: *const c_void, c: u64, out: *mut CtConn, cap: u32, n: *mut u64) -> u32 {
        // SAFETY: the handle passes its own slice and out-value.
        unsafe {
            if cap > 0 {
                (*out).id = 20 + c;
            }
            *n = if c == 0 { 5 } else { 0 };
        }
        cap.min(1)
    }
    extern "C" fn clock_ns(_: *const c_void) -> u64 {
        42
    }
    extern "C" fn lost(_: *const c_void, _: *mut c_void) -> u64 {
        0
    }

    fn table(size: usize) -> &'static ConntrackTable {
        Box::leak(Box::new(ConntrackTable {
            size: size as u32,
            _pad: 0,
            ctx: std::ptr::null(),
            conn,
            set_nat_reply,
            tuple_taken,
            expect,
            subscribe,
            next_event,
            unsubscribe,
            conn_on,
            will_bind,
            walk,
            clock_ns,
            lost,
        }))
    }

    fn handle(t: &'static ConntrackTable) -> Result<Conntrack, String> {
        let r = ServiceRef {
            table: t as *const ConntrackTable as *const c_void,
            version: VERSION,
        };
        // SAFETY: the table is leaked, so it outlives the handle.
        unsafe { Conntrack::from_ref(r) }
    }

    #[test]
    fn lookups_use_the_lane_only_where_the_exporters_table_has_it() {
        let mut pkt = PacketView::default();
        pkt.worker = 3;
        let full = handle(table(std::mem::size_of::<ConntrackTable>())).expect("1.1");
        assert_eq!(full.conn_of(&pkt).map(|c| c.id), Some(14));
        assert_eq!(full.binding_of(&pkt).map(|c| c.id), Some(114));
        // A 1.0 exporter's table ends before `conn_on`: the 1.0 lookup serves.
        let old = handle(table(SIZE_1_0)).expect("1.0");
        assert_eq!(old.conn_of(&pkt).map(|c| c.id), Some(10));
        assert_eq!(old.binding_of(&pkt).map(|c| c.id), Some(10));
        // A 1.1 exporter's table ends before `walk`: lanes, but no walk.
        let mid = handle(table(SIZE_1_1)).expect("1.1");
        assert_eq!(mid.conn_of(&pkt).map(|c| c.id), Some(14));
        assert!(!mid.has_walk());
        assert_eq!(mid.walk(0, &mut [CtConn::default()]), None);
        assert_eq!(mid.clock_ns(), None);
        let mut page = [CtConn::default(); 2];
        assert_eq!(full.walk(0, &mut page), Some((1, Some(5))));
        assert_eq!(page[0].id, 20);
        assert_eq!(full.walk(5, &mut page), Some((1, None)));
        assert_eq!(page[0].id, 25);
        assert_eq!(full.clock_ns(), Some(42));
        let err = handle(table(SIZE_1_0 - 8)).unwrap_err();
        assert!(err.contains("version 1.0 needs"), "{err}");
    }
}
