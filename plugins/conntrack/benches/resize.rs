//! Resizing a table of 1 M connections while packets flow: the latency of each packet
//! (conntrack-in and confirm, timed one at a time) before a resize and during it, the
//! throughput during it as a fraction of before, and the packets the resize took to
//! finish; for contrast, the same resize done in one go (the stop-the-world rehash).
//! The table starts with too few buckets (4 connections each) and grows 2× or 4×.
//! Run: `cargo bench -p brickwall-conntrack --bench resize`.

use brickwall_conntrack::config::CtConfig;
use brickwall_conntrack::datagram::view;
use brickwall_conntrack::tracker::Tracker;
use brickwall_hooks::CtInfo;
use std::hint::black_box;
use std::time::Instant;

/// Connections in the table.
const FLOWS: u32 = 1_000_000;
/// Buckets at the start: 4 connections (8 nodes) per bucket.
const BUCKETS: usize = 1 << 18;
/// Packets timed before the resize (and after it).
const BEFORE: usize = 1_000_000;

/// Writes a UDP datagram of flow `i` (distinct 5-tuples), in direction `reply`.
fn udp_flow(d: &mut [u8; 48], i: u32, reply: bool) {
    let a = [10, (i >> 16) as u8, (i >> 8) as u8, i as u8];
    let b = [192, 168, 0, 1];
    let port = 1024 + (i % 60000) as u16;
    let (src, dst, sp, dp) = if reply {
        (b, a, 53u16, port)
    } else {
        (a, b, port, 53u16)
    };
    d[..12].copy_from_slice(&[0x45, 0, 0, 48, 0, 0, 0, 0, 64, 17, 0, 0]);
    d[12..16].copy_from_slice(&src);
    d[16..20].copy_from_slice(&dst);
    d[20..22].copy_from_slice(&sp.to_be_bytes());
    d[22..24].copy_from_slice(&dp.to_be_bytes());
    d[24..28].copy_from_slice(&[0, 28, 0, 0]);
    d[28..].fill(0);
}

/// A tracker holding flows `0..FLOWS`, each answered.
fn filled() -> Tracker {
    let cfg = CtConfig {
        buckets: BUCKETS,
        max: 2 * FLOWS as usize,
        auto_resize: false,
        ..CtConfig::default()
    };
    let mut t = Tracker::new(cfg, 80);
    let mut d = [0u8; 48];
    for i in 0..FLOWS {
        for reply in [false, true] {
            udp_flow(&mut d, i, reply);
            let mut v = view(&mut d, 1);
            t.conntrack_in(&mut v);
            t.confirm(&mut v);
        }
    }
    assert_eq!(t.table().confirmed(), FLOWS as usize);
    t
}

/// Packet `k` of a stream over every flow, spread over the table, both directions.
struct Stream(u64);

impl Stream {
    fn next(&mut self, d: &mut [u8; 48]) {
        let k = self.0;
        self.0 += 1;
        udp_flow(d, ((k * 7919) % FLOWS as u64) as u32, k % 2 == 1);
    }
}

/// Sends one packet through conntrack-in and confirm; its time, ns.
#[inline]
fn timed(t: &mut Tracker, d: &mut [u8; 48]) -> u32 {
    let mut v = view(d, 2);
    let start = Instant::now();
    black_box(t.conntrack_in(&mut v));
    black_box(t.confirm(&mut v));
    let ns = start.elapsed().as_nanos() as u32;
    debug_assert!(matches!(
        v.ctinfo(),
        CtInfo::Established | CtInfo::EstablishedReply
    ));
    ns
}

/// Latency figures of a phase.
struct Phase {
    packets: usize,
    total_ns: u64,
    p50: u32,
    p99: u32,
    p999: u32,
    max: u32,
    /// Packets that took more than 10 µs.
    over_10us: usize,
}

impl Phase {
    fn of(mut ns: Vec<u32>) -> Phase {
        let total_ns = ns.iter().map(|&n| n as u64).sum();
        let over_10us = ns.iter().filter(|&&n| n > 10_000).count();
        ns.sort_unstable();
        let at = |q: f64| ns[((ns.len() - 1) as f64 * q) as usize];
        Phase {
            packets: ns.len(),
            total_ns,
            p50: at(0.5),
            p99: at(0.99),
            p999: at(0.999),
            max: *ns.last().unwrap_or(&0),
            over_10us,
        }
    }

    /// Packets per second over the time spent in the tracker.
    fn rate(&self) -> f64 {
        self.packets as f64 / (self.total_ns as f64 / 1e9)
    }

    fn print(&self, label: &str) {
        eprintln!(
            "  {label:<8} {:>9} packets  p50 {:>5} ns  p99 {:>6} ns  p99.9 {:>6} ns  max {:>8} ns  \
             over 10 us: {:>5}  {:.2} M packets/s",
            self.packets,
            self.p50,
            self.p99,
            self.p999,
            self.max,
            self.over_10us,
            self.rate() / 1e6
        );
    }
}

/// Times `n` packets of `s`.
fn phase(t: &mut Tracker, s: &mut Stream, n: usize) -> Phase {
    let mut d = [0u8; 48];
    let mut ns = Vec::with_capacity(n);
    for _ in 0..n {
        s.next(&mut d);
        ns.push(timed(t, &mut d));
    }
    Phase::of(ns)
}

/// Fills a table, times packets before a resize to `factor`× the buckets, during it
/// (until it finishes) and after it.
fn incremental(factor: usize) {
    let mut t = filled();
    let mut s = Stream(0);
    let before = phase(&mut t, &mut s, BEFORE);
    // A step moves whole chains: at most STEP_NODES - 1 nodes and then one more chain.
    let longest = t.table().chain_histogram(1024).iter().rposition(|&n| n > 0);
    let r = t.resize(BUCKETS * factor).expect("a resize");
    assert!(!r.already_running);
    let mut d = [0u8; 48];
    let mut ns = Vec::new();
    let start = Instant::now();
    while t.table().resizing() {
        s.next(&mut d);
        ns.push(timed(&mut t, &mut d));
    }
    let wall = start.elapsed();
    let during = Phase::of(ns);
    assert_eq!(t.table().buckets(), BUCKETS * factor);
    let after = phase(&mut t, &mut s, BEFORE);
    eprintln!(
        "{FLOWS} connections, {BUCKETS} -> {} buckets ({factor}x), incremental: {} packets \
         to finish ({:.1} ms)",
        BUCKETS * factor,
        during.packets,
        wall.as_secs_f64() * 1e3
    );
    eprintln!(
        "  longest chain before: {} nodes, so a step moves at most {} nodes",
        longest.unwrap_or(0),
        brickwall_conntrack::table::STEP_NODES - 1 + longest.unwrap_or(0)
    );
    before.print("before");
    during.print("during");
    after.print("after");
    eprintln!(
        "  throughput during / before: {:.2}; worst packet during / before: {:.1}x",
        during.rate() / before.rate(),
        during.max as f64 / before.max.max(1) as f64
    );
}

/// The same resize in one call: every connection rehashed while no packet passes.
fn stop_the_world(factor: usize) {
    let mut t = filled();
    let start = Instant::now();
    t.resize_now(BUCKETS * factor).expect("a resize");
    let took = start.elapsed();
    assert_eq!(t.table().buckets(), BUCKETS * factor);
    let mut d = [0u8; 48];
    udp_flow(&mut d, 12345, true);
    let mut v = view(&mut d, 2);
    t.conntrack_in(&mut v);
    assert_eq!(v.ctinfo(), CtInfo::EstablishedReply);
    eprintln!(
        "{FLOWS} connections, {BUCKETS} -> {} buckets ({factor}x), stop-the-world: one call \
         of {:.1} ms",
        BUCKETS * factor,
        took.as_secs_f64() * 1e3
    );
}

fn main() {
    // `cargo bench` passes `--bench`; a name filter other than this bench's skips it.
    if std::env::args()
        .skip(1)
        .any(|a| !a.starts_with('-') && !"resize".contains(a.as_str()))
    {
        return;
    }
    for factor in [2, 4] {
        incremental(factor);
        stop_the_world(factor);
    }
}
