//! The `conntrack` service this plugin exports to other plugins (its C table is
//! defined in `brickwall_hooks::services::conntrack`): connections by packet
//! reference, NAT bindings before confirmation, whether a tuple is taken,
//! expectations, subscriptions to connection events, and walks of the table.

use crate::conn::{Conn, DirCounters};
use crate::events::{class, Event, EventKind, Subscription};
use crate::expect::{ExpectSpec, Mask};
use crate::tracker::{NatBindError, Tracker};
use crate::tuple::Tuple;
use crate::Conntrack;
use brickwall_hooks::services::conntrack::{
    code, conn_flags, event, set_padded, want, ConntrackTable, CtConn, CtCounters, CtEvent,
    CtExpectSpec, CtTuple,
};
use std::ffi::c_void;
use std::time::Duration;

/// The table for the plugin at `plugin` (its final address: the table points back).
pub fn table(plugin: &Conntrack) -> ConntrackTable {
    ConntrackTable {
        size: std::mem::size_of::<ConntrackTable>() as u32,
        _pad: 0,
        ctx: plugin as *const Conntrack as *const c_void,
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
    }
}

extern "C" fn walk(
    ctx: *const c_void,
    cursor: u64,
    out: *mut CtConn,
    cap: u32,
    next: *mut u64,
) -> u32 {
    if next.is_null() {
        return 0;
    }
    // SAFETY: `next` is the importer's valid out-pointer.
    unsafe { *next = 0 };
    let Some(p) = plugin(ctx) else { return 0 };
    if out.is_null() || cap == 0 {
        return 0;
    }
    // SAFETY: `out` has room for `cap` values, the importer's, not used elsewhere meanwhile.
    let out = unsafe { std::slice::from_raw_parts_mut(out, cap as usize) };
    let t = p.tracker();
    let start = cursor.min(u32::MAX as u64) as u32;
    let mut n = 0;
    for (idx, c) in t.table.slots_from(start) {
        if !c.has(crate::conn::status::CONFIRMED) {
            continue;
        }
        if n == out.len() {
            // SAFETY: as above.
            unsafe { *next = idx as u64 };
            break;
        }
        out[n] = snapshot(&t, idx, c);
        n += 1;
    }
    n as u32
}

extern "C" fn clock_ns(ctx: *const c_void) -> u64 {
    plugin(ctx).map_or(0, |p| p.tracker().clock_ns())
}

extern "C" fn lost(_ctx: *const c_void, sub: *mut c_void) -> u64 {
    if sub.is_null() {
        return 0;
    }
    // SAFETY: `sub` came from `subscribe` and is not yet unsubscribed.
    unsafe { &*(sub as *const Subscription) }.lost()
}

extern "C" fn will_bind(ctx: *const c_void) {
    if let Some(p) = plugin(ctx) {
        p.binders.store(true, std::sync::atomic::Ordering::Release);
    }
}

/// The plugin behind a table's context.
fn plugin<'a>(ctx: *const c_void) -> Option<&'a Conntrack> {
    // SAFETY: `ctx` is the address `table` put in the table: the plugin, alive while
    // any importer of the service lives (the engine keeps it so).
    (!ctx.is_null()).then(|| unsafe { &*(ctx as *const Conntrack) })
}

/// A service tuple as conntrack's.
pub fn from_ct_tuple(t: &CtTuple) -> Tuple {
    Tuple {
        src: t.src,
        dst: t.dst,
        src_id: t.src_id,
        dst_id: t.dst_id,
        proto: t.proto,
        family: t.family,
        zone: t.zone,
    }
}

/// Conntrack's tuple as the service's.
pub fn to_ct_tuple(t: &Tuple) -> CtTuple {
    CtTuple {
        src: t.src,
        dst: t.dst,
        src_id: t.src_id,
        dst_id: t.dst_id,
        proto: t.proto,
        family: t.family,
        zone: t.zone,
    }
}

fn counters(c: [DirCounters; 2]) -> [CtCounters; 2] {
    c.map(|d| CtCounters {
        packets: d.packets,
        bytes: d.bytes,
    })
}

/// A snapshot of connection `c` in slot `idx`, read by the exclusive holder.
fn snapshot(t: &Tracker, idx: u32, c: &Conn) -> CtConn {
    let mut out = CtConn::default();
    fill(&mut out, t, idx, c, t.table.counters(idx), want::ALL);
    out
}

/// Writes connection `c` in slot `idx`, with its counters `acct`, into `out` (an
/// importer's zeroed value, written in place: a lookup per packet copies nothing): the
/// id, tuples, status, mark, labels and flags, and what `wanted` asks for beyond them.
fn fill(
    out: &mut CtConn,
    t: &Tracker,
    idx: u32,
    c: &Conn,
    acct: Option<[DirCounters; 2]>,
    wanted: u32,
) {
    out.id = c.id as u64;
    out.orig = to_ct_tuple(&c.orig);
    out.reply = to_ct_tuple(&c.reply());
    out.status = c.status as u32;
    out.mark = c.mark;
    out.labels = [c.labels() as u64, (c.labels() >> 64) as u64];
    if c.slot == crate::conn::Slot::Confirmed {
        out.flags |= conn_flags::CONFIRMED;
    }
    if wanted & want::TIMES != 0 {
        out.timeout_s = c.secs_left(t.clock_ns());
        if let Some(s) = t.table.start_of(idx) {
            out.start_ns = s;
            out.flags |= conn_flags::START;
        }
    }
    if let Some(k) = acct.filter(|_| wanted & want::COUNTERS != 0) {
        out.counters = counters(k);
        out.flags |= conn_flags::COUNTERS;
    }
    if wanted & want::NAMES != 0 {
        set_padded(&mut out.state, c.proto.state_name().unwrap_or(""));
        set_padded(&mut out.helper, c.helper().unwrap_or(""));
    }
}

extern "C" fn conn(ctx: *const c_void, ct: u64, out: *mut CtConn) -> i32 {
    let Some(p) = plugin(ctx) else {
        return code::NOT_FOUND;
    };
    if out.is_null() {
        return code::INVALID;
    }
    let t = p.tracker();
    match t.conn_of(ct) {
        Some((idx, c)) => {
            let snap = snapshot(&t, idx, c);
            // SAFETY: `out` is the importer's valid out-pointer.
            unsafe { *out = snap };
            code::OK
        }
        None => code::NOT_FOUND,
    }
}

extern "C" fn conn_on(
    ctx: *const c_void,
    worker: u32,
    ct: u64,
    wanted: u32,
    out: *mut CtConn,
) -> i32 {
    let Some(p) = plugin(ctx) else {
        return code::NOT_FOUND;
    };
    if out.is_null() {
        return code::INVALID;
    }
    let Some(mut lane) = p.tracker.lane(worker) else {
        return conn(ctx, ct, out);
    };
    let (t, state) = lane.parts();
    // SAFETY: `out` is the importer's valid out-pointer, not used elsewhere meanwhile.
    let out = unsafe { &mut *out };
    match t.on_lane(ct, state, |idx, c, acct| fill(out, t, idx, c, acct, wanted)) {
        Some(()) => code::OK,
        None => code::NOT_FOUND,
    }
}

extern "C" fn set_nat_reply(ctx: *const c_void, ct: u64, reply: *const CtTuple) -> i32 {
    let Some(p) = plugin(ctx) else {
        return code::NOT_FOUND;
    };
    if reply.is_null() {
        return code::INVALID;
    }
    // SAFETY: the importer passes a valid tuple.
    let reply = from_ct_tuple(unsafe { &*reply });
    match p.tracker().bind_nat_reply(ct, reply) {
        Ok(()) => code::OK,
        Err(NatBindError::NotFound) => code::NOT_FOUND,
        Err(NatBindError::Confirmed) => code::CONFIRMED,
        Err(NatBindError::Invalid) => code::INVALID,
    }
}

extern "C" fn tuple_taken(ctx: *const c_void, tuple: *const CtTuple) -> i32 {
    let Some(p) = plugin(ctx) else { return 0 };
    if tuple.is_null() {
        return 0;
    }
    // SAFETY: the importer passes a valid tuple.
    let t = from_ct_tuple(unsafe { &*tuple });
    p.tracker().table.find(&t).0.is_some() as i32
}

extern "C" fn expect(ctx: *const c_void, ct: u64, spec: *const CtExpectSpec) -> i64 {
    let Some(p) = plugin(ctx) else {
        return code::NOT_FOUND as i64;
    };
    if spec.is_null() {
        return code::INVALID as i64;
    }
    // SAFETY: the importer passes a valid spec.
    let s = unsafe { &*spec };
    let name_len = s.helper.iter().position(|&b| b == 0).unwrap_or(16);
    let spec = ExpectSpec {
        tuple: from_ct_tuple(&s.tuple),
        mask: Mask {
            src: if s.any_src_addr != 0 {
                [0; 16]
            } else {
                [0xff; 16]
            },
            src_id: if s.any_src_port != 0 { 0 } else { 0xffff },
        },
        timeout_s: if s.timeout_s == 0 { 300 } else { s.timeout_s },
        helper: String::from_utf8_lossy(&s.helper[..name_len]).into_owned(),
        class: s.class,
        max_expected: s.max_expected.max(1),
        flags: 0,
        nat: None,
    };
    let mut t = p.tracker();
    let now = t.clock_ns();
    match t.expect_create(ct, spec, now) {
        Ok(id) => id as i64,
        Err(crate::expect::ExpectError::NoMaster) => code::NOT_FOUND as i64,
        Err(_) => code::REFUSED as i64,
    }
}

extern "C" fn subscribe(ctx: *const c_void, mask: u8, capacity: u32) -> *mut c_void {
    let Some(p) = plugin(ctx) else {
        return std::ptr::null_mut();
    };
    let mut classes = 0;
    for (bit, cls) in [
        (event::NEW, class::NEW),
        (event::UPDATE, class::UPDATE),
        (event::DESTROY, class::DESTROY),
    ] {
        if mask & bit != 0 {
            classes |= cls;
        }
    }
    if classes == 0 {
        return std::ptr::null_mut();
    }
    let bus = p.tracker().events.clone();
    let sub = bus.subscribe(classes, capacity.clamp(1, 1 << 20) as usize);
    Box::into_raw(Box::new(sub)) as *mut c_void
}

extern "C" fn next_event(
    _ctx: *const c_void,
    sub: *mut c_void,
    timeout_ms: u32,
    out: *mut CtEvent,
) -> i32 {
    if sub.is_null() || out.is_null() {
        return 0;
    }
    // SAFETY: `sub` came from `subscribe` and is not yet unsubscribed.
    let sub = unsafe { &*(sub as *const Subscription) };
    let Some(Event::Conn(ev)) = sub.recv_timeout(Duration::from_millis(timeout_ms as u64)) else {
        return 0;
    };
    let mut conn = CtConn {
        id: ev.id as u64,
        orig: to_ct_tuple(&ev.tuple[0]),
        reply: to_ct_tuple(&ev.tuple[1]),
        status: ev.status as u32,
        mark: ev.mark,
        labels: [ev.labels as u64, (ev.labels >> 64) as u64],
        timeout_s: ev.timeout_s,
        ..CtConn::default()
    };
    if let Some(s) = ev.start_ns {
        conn.start_ns = s;
        conn.flags |= conn_flags::START;
    }
    if let Some(k) = ev.counters {
        conn.counters = counters(k);
        conn.flags |= conn_flags::COUNTERS;
    }
    if ev.kind != EventKind::New || ev.status & crate::conn::status::CONFIRMED != 0 {
        conn.flags |= conn_flags::CONFIRMED;
    }
    set_padded(&mut conn.state, ev.state.unwrap_or(""));
    set_padded(&mut conn.helper, ev.helper.as_deref().unwrap_or(""));
    let kind = match ev.kind {
        EventKind::New => event::NEW,
        EventKind::Update => event::UPDATE,
        EventKind::Destroy => event::DESTROY,
    };
    // SAFETY: `out` is the importer's valid out-pointer.
    unsafe {
        *out = CtEvent {
            kind,
            _pad: 0,
            what: ev.what,
            _pad2: 0,
            ts_ns: ev.ts_ns,
            conn,
        }
    };
    1
}

extern "C" fn unsubscribe(_ctx: *const c_void, sub: *mut c_void) {
    if !sub.is_null() {
        // SAFETY: `sub` came from `subscribe`; the importer ends it once.
        drop(unsafe { Box::from_raw(sub as *mut Subscription) });
    }
}
