//! How conntrack scales across cores (issue 15): 1, 2, 4, … threads (up to the
//! machine's cores) drive one `Conntrack` plugin through its public `Plugin` API, as
//! the engine's workers do (each thread its own `worker` index; bursts of 32 packets
//! through conntrack-in and confirm, or with `BW_SCALING_ONE_AT_A_TIME=1` the way the
//! engine ran before bursts: `prepare_batch`, then each packet). Cases:
//!
//! - established UDP at 10 k and 1 M connections, each thread sending packets of its
//!   own slice of the flows ("own"), and every thread cycling over all of them from its
//!   own offset ("shared"); both directions, a stride through the flows so consecutive
//!   packets hit different buckets;
//! - new connections: each thread's fresh tuples (conntrack-in and confirm of a first
//!   packet) into a table with room;
//! - OVS's shape (`ovstest test-conntrack benchmark`): one flow per thread, its
//!   original direction only, into a table that starts empty;
//! - the ceiling: established at 10 k, own flows, but a plugin per thread (nothing
//!   shared), which says what the machine, and whatever else runs on it, allows;
//! - beside a control client ("control"): established at 10 k on one worker, alone and
//!   while another thread asks the plugin's control entry point in a loop (`count`,
//!   and `list` of the whole table), each answer taking the tracker exclusively.
//!
//! Each case runs for a fixed wall time after a warm-up, the threads released together;
//! it prints rate(N), rate(N)/rate(1), efficiency = rate(N) / (N × rate(1)), and the
//! CPU time the threads got as a share of N × wall time (below 1: they slept on a
//! lock, or other work took their cores).
//! Packets are made by patching addresses and ports into reused buffers (a few stores;
//! their cost alone is printed first).
//!
//! Run: `cargo bench -p brickwall-conntrack --bench scaling`. Settings by environment:
//! `BW_SCALING_THREADS=1,2,4` (default 1, 2, 4, … up to the available parallelism),
//! `BW_SCALING_SECS=3` (timed seconds per row; `0.2` is a smoke check),
//! `BW_SCALING_CASES=est-10k,ceiling,est-1m,new,ovs,control` (a subset, by name prefix).

use brickwall_conntrack::config::CtConfig;
use brickwall_conntrack::datagram::{ipv4, udp, view, DatagramView};
use brickwall_conntrack::Conntrack;
use brickwall_hooks::{Host, PacketView, Plugin, Verdict};
use std::hint::black_box;
use std::os::unix::thread::JoinHandleExt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

/// Packets per batch, as the engine reads them (and as OVS's benchmark is run here).
const BATCH: usize = 32;
/// A UDP datagram: 20 bytes of IPv4 header, 8 of UDP, 4 of payload.
const LEN: usize = 32;
/// The server end of every flow.
const SERVER: [u8; 4] = [192, 168, 0, 1];
/// Step through a thread's flows (a prime; replaced by a coprime when it divides).
const STRIDE: u64 = 7919;

/// The client end of flow `i`: a distinct address per flow (`i < 2^24`), a port.
fn client(i: u64) -> ([u8; 4], u16) {
    (
        [10, (i >> 16) as u8, (i >> 8) as u8, i as u8],
        1024 + (i % 60_000) as u16,
    )
}

/// Writes flow `i`'s datagram in direction `reply` into `d`, a datagram of the same
/// direction made by [`template`]: only the client's address and port change.
#[inline]
fn patch(d: &mut [u8; LEN], i: u64, reply: bool) {
    let (a, p) = client(i);
    let (addr, port) = if reply { (16, 22) } else { (12, 20) };
    d[addr..addr + 4].copy_from_slice(&a);
    d[port..port + 2].copy_from_slice(&p.to_be_bytes());
}

/// A datagram of flow 0 in direction `reply`.
fn template(reply: bool) -> [u8; LEN] {
    let (a, p) = client(0);
    let v = if reply {
        ipv4(SERVER, a, 17, &udp(53, p))
    } else {
        ipv4(a, SERVER, 17, &udp(p, 53))
    };
    v.try_into().expect("a 32-byte datagram")
}

/// The op the plugin registered under `name`: the engine learns them the same way.
fn op_named(name: &str) -> u32 {
    Conntrack::INFO
        .hooks
        .iter()
        .find(|h| h.name == name)
        .unwrap_or_else(|| panic!("no hook named {name}"))
        .op
}

/// The plugin's two registrations a forwarded packet passes.
#[derive(Clone, Copy)]
struct Ops {
    conntrack_in: u32,
    confirm: u32,
    /// One packet at a time instead of bursts.
    one_at_a_time: bool,
}

/// A plugin whose table holds up to `max` connections in `buckets` buckets.
fn plugin(buckets: usize, max: usize) -> Conntrack {
    let cfg = CtConfig {
        buckets,
        max,
        ..CtConfig::default()
    };
    Conntrack::with_config(cfg, Host::new(std::ptr::null(), "conntrack"))
}

/// Packet time: a second in, then the wall clock, so that packets come as fast as the
/// run makes them and no connection expires while it is refreshed.
fn now_ns(epoch: Instant) -> u64 {
    1_000_000_000 + epoch.elapsed().as_nanos() as u64
}

/// One batch through the plugin, as the engine passes it: as a burst (conntrack-in's
/// burst call, then confirmation's for the packets it decided, until all are), or with
/// `BW_SCALING_ONE_AT_A_TIME` set, `prepare_batch` and then each packet through
/// conntrack-in and confirm. Counts the packets accepted.
fn run_batch(p: &Conntrack, ops: Ops, bufs: &mut [[u8; LEN]; BATCH], worker: u32, ts: u64) -> u64 {
    let mut views: [DatagramView<'_>; BATCH] = bufs.each_mut().map(|d| {
        let mut v = view(d, ts);
        v.worker = worker;
        v
    });
    let mut accepted = 0;
    if ops.one_at_a_time {
        let refs: [&PacketView; BATCH] = views.each_ref().map(|v| &**v);
        p.prepare_batch(&refs);
        for v in views.iter_mut() {
            let a = p.on_packet(ops.conntrack_in, v);
            let b = p.on_packet(ops.confirm, v);
            accepted += u64::from(a == Verdict::Accept && b == Verdict::Accept);
        }
        return accepted;
    }
    let mut refs: [&mut PacketView; BATCH] = views.each_mut().map(|v| &mut **v);
    let mut ins = [Verdict::Accept; BATCH];
    let mut confirms = [Verdict::Accept; BATCH];
    let mut at = 0;
    while at < BATCH {
        let k = p.on_burst(ops.conntrack_in, &mut refs[at..], &mut ins[at..]);
        p.on_burst(
            ops.confirm,
            &mut refs[at..at + k],
            &mut confirms[at..at + k],
        );
        at += k;
    }
    for (a, b) in ins.iter().zip(&confirms) {
        accepted += u64::from(*a == Verdict::Accept && *b == Verdict::Accept);
    }
    accepted
}

/// A control request, made at packet time `now`.
type Ask = fn(u64) -> String;

/// Established packets at 10 k connections on one worker, alone and beside a control
/// client asking in a loop; prints each rate, its fraction of the rate alone, and the
/// requests answered per second.
fn beside_control(ops: Ops, warm: f64, secs: f64) {
    let epoch = Instant::now();
    let n = 10_000;
    let p = filled(ops, n, epoch);
    let flows = own_slices(n, 1);
    let one = std::slice::from_ref(&p);
    let alone = measure(one, ops, &flows, warm, secs, u64::MAX, epoch);
    println!(
        "  beside a control client, established UDP, 10 k connections, 1 worker: alone {:.2} M/s",
        alone.per_s / 1e6
    );
    let asks: [(&str, Ask); 2] = [
        ("count", |_| r#"{"op":"count"}"#.to_string()),
        ("list", |now| {
            format!(r#"{{"op":"list","now_ns":{now},"limit":10000}}"#)
        }),
    ];
    for (name, request) in asks {
        let stop = Arc::new(AtomicBool::new(false));
        let answered = Arc::new(AtomicU64::new(0));
        let client = {
            let (p, stop, answered) = (p.clone(), stop.clone(), answered.clone());
            std::thread::spawn(move || {
                let mut out = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    out.clear();
                    p.control(request(now_ns(epoch)).as_bytes(), &mut out)
                        .expect("control answer");
                    answered.fetch_add(1, Ordering::Relaxed);
                }
            })
        };
        let started = Instant::now();
        let busy = measure(one, ops, &flows, warm, secs, u64::MAX, epoch);
        let asked = answered.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64();
        stop.store(true, Ordering::Relaxed);
        client.join().expect("control client");
        println!(
            "  beside a control client asking `{name}` in a loop: {:.2} M/s, {:.2} of alone (cpu {:.2}); {asked:.0} answers/s",
            busy.per_s / 1e6,
            busy.per_s / alone.per_s,
            busy.cpu
        );
    }
}

/// What one thread sends: the flows `lo .. lo + len`, visited with a stride from
/// `start`, alternating directions so that every flow gets both over two passes; or
/// fresh tuples, one new connection each.
#[derive(Clone, Copy)]
enum Pattern {
    Flows {
        lo: u64,
        len: u64,
        start: u64,
        both: bool,
    },
    /// New connections: flow numbers from `base` upwards (a thread's own range).
    Fresh { base: u64 },
}

/// A stride coprime with `len`, below it.
fn stride_for(len: u64) -> u64 {
    let gcd = |mut a: u64, mut b: u64| {
        while b != 0 {
            (a, b) = (b, a % b);
        }
        a
    };
    let mut s = STRIDE % len.max(1);
    while len > 1 && (s == 0 || gcd(s, len) != 1) {
        s += 1;
    }
    s.max(1) % len.max(2)
}

/// The packet source of one thread: fills a batch by patching the buffers.
struct Source {
    pattern: Pattern,
    pos: u64,
    stride: u64,
    count: u64,
    pass: bool,
    orig: [u8; LEN],
    reply: [u8; LEN],
}

impl Source {
    fn new(pattern: Pattern) -> Source {
        let (pos, stride) = match pattern {
            Pattern::Flows { len, start, .. } => (start % len, stride_for(len)),
            Pattern::Fresh { .. } => (0, 1),
        };
        Source {
            pattern,
            pos,
            stride,
            count: 0,
            pass: false,
            orig: template(false),
            reply: template(true),
        }
    }

    #[inline]
    fn fill(&mut self, bufs: &mut [[u8; LEN]; BATCH]) {
        for d in bufs.iter_mut() {
            match self.pattern {
                Pattern::Flows { lo, len, both, .. } => {
                    let reply = both && ((self.count & 1 == 1) ^ self.pass);
                    *d = if reply { self.reply } else { self.orig };
                    patch(d, lo + self.pos, reply);
                    self.pos += self.stride;
                    if self.pos >= len {
                        self.pos -= len;
                    }
                    self.count += 1;
                    if self.count == len {
                        self.count = 0;
                        self.pass = !self.pass;
                    }
                }
                Pattern::Fresh { base } => {
                    *d = self.orig;
                    let i = base + self.pos;
                    // Beyond 2^24 flows, the address repeats: the port tells them apart.
                    patch(d, i, false);
                    d[20..22].copy_from_slice(&(1024 + (i >> 24) as u16).to_be_bytes());
                    self.pos += 1;
                }
            }
        }
    }
}

/// A per-thread counter on its own cache line.
#[repr(align(128))]
#[derive(Default)]
struct Counter(AtomicU64);

/// CPU time a thread has used, ns (its clock from `pthread_getcpuclockid`).
fn cpu_ns(clock: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec to write; the clock is a live thread's.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// A measured row: packets per second of all threads together, and the CPU time the
/// threads got as a share of threads × wall time (below 1: they slept on the lock or
/// other work on the machine took their core).
#[derive(Clone, Copy)]
struct Rate {
    per_s: f64,
    cpu: f64,
}

/// Runs `patterns.len()` threads, thread `t` against `plugins[t % plugins.len()]`, for
/// `secs` after `warm` seconds of warm-up. A thread stops early when it has sent
/// `quota` packets (the timed window then ends with the first to stop).
fn measure(
    plugins: &[Arc<Conntrack>],
    ops: Ops,
    patterns: &[Pattern],
    warm: f64,
    secs: f64,
    quota: u64,
    epoch: Instant,
) -> Rate {
    let n = patterns.len();
    let barrier = Arc::new(Barrier::new(n + 1));
    let stop = Arc::new(AtomicBool::new(false));
    let counters: Arc<Vec<Counter>> = Arc::new((0..n).map(|_| Counter::default()).collect());
    let handles: Vec<_> = patterns
        .iter()
        .enumerate()
        .map(|(t, &pattern)| {
            let p = plugins[t % plugins.len()].clone();
            let (barrier, stop, counters) = (barrier.clone(), stop.clone(), counters.clone());
            std::thread::spawn(move || {
                let mut src = Source::new(pattern);
                let mut bufs = [[0u8; LEN]; BATCH];
                let mut sent = 0u64;
                let mut accepted = 0u64;
                barrier.wait();
                while !stop.load(Ordering::Relaxed) && sent < quota {
                    src.fill(&mut bufs);
                    accepted += run_batch(&p, ops, &mut bufs, t as u32, now_ns(epoch));
                    sent += BATCH as u64;
                    counters[t].0.store(sent, Ordering::Relaxed);
                }
                counters[t].0.store(u64::MAX, Ordering::Relaxed);
                (sent, accepted)
            })
        })
        .collect();
    let total = |c: &[Counter]| -> (u64, bool) {
        let mut sum = 0;
        let mut done = false;
        for x in c {
            match x.0.load(Ordering::Relaxed) {
                u64::MAX => done = true,
                v => sum += v,
            }
        }
        (sum, done)
    };
    let clocks: Vec<libc::clockid_t> = handles
        .iter()
        .map(|h| {
            let mut clock: libc::clockid_t = 0;
            // SAFETY: the thread is alive until joined below; `clock` is writable.
            let rc = unsafe { libc::pthread_getcpuclockid(h.as_pthread_t(), &mut clock) };
            assert_eq!(rc, 0, "pthread_getcpuclockid");
            clock
        })
        .collect();
    let cpu = || clocks.iter().map(|&c| cpu_ns(c)).sum::<u64>();
    barrier.wait();
    std::thread::sleep(Duration::from_secs_f64(warm));
    let (c0, _) = total(&counters);
    let (t0, cpu0) = (Instant::now(), cpu());
    let (mut c1, mut t1, mut cpu1) = (c0, t0, cpu0);
    while t1.duration_since(t0).as_secs_f64() < secs {
        std::thread::sleep(Duration::from_millis(5).min(Duration::from_secs_f64(secs)));
        let (c, done) = total(&counters);
        if done {
            break;
        }
        (c1, t1, cpu1) = (c, Instant::now(), cpu());
    }
    stop.store(true, Ordering::Relaxed);
    let mut sent = 0;
    let mut accepted = 0;
    for h in handles {
        let (s, a) = h.join().expect("thread");
        sent += s;
        accepted += a;
    }
    assert_eq!(accepted, sent, "packets dropped");
    let wall = t1.duration_since(t0).as_secs_f64();
    Rate {
        per_s: (c1 - c0) as f64 / wall,
        cpu: (cpu1 - cpu0) as f64 / 1e9 / (n as f64 * wall),
    }
}

/// A table of `n` UDP connections, each seen in both directions (so a reply was seen),
/// with room to spare.
fn filled(ops: Ops, n: u64, epoch: Instant) -> Arc<Conntrack> {
    let p = plugin((n as usize).next_power_of_two(), n as usize * 2);
    let mut src = Source::new(Pattern::Flows {
        lo: 0,
        len: n,
        start: 0,
        both: true,
    });
    // The source alternates directions within a pass: two passes give every flow both.
    let mut bufs = [[0u8; LEN]; BATCH];
    for _ in 0..(2 * n).div_ceil(BATCH as u64) {
        src.fill(&mut bufs);
        run_batch(&p, ops, &mut bufs, 0, now_ns(epoch));
    }
    let t = p.tracker();
    assert_eq!(
        t.table().confirmed(),
        n as usize,
        "the table holds the flows"
    );
    drop(t);
    Arc::new(p)
}

/// A case's rows: threads, measured rate.
struct Rows {
    name: String,
    rows: Vec<(usize, Rate)>,
}

impl Rows {
    fn new(name: String) -> Rows {
        Rows {
            name,
            rows: Vec::new(),
        }
    }

    fn push(&mut self, k: usize, r: Rate) {
        eprintln!(
            "  {}: {k} threads {:.2} M/s, cpu {:.2}",
            self.name,
            r.per_s / 1e6,
            r.cpu
        );
        self.rows.push((k, r));
    }

    fn print(&self) {
        println!("\n{}", self.name);
        println!(
            "| threads | rate (/s) | rate(N)/rate(1) | efficiency | cpu share |\n\
             |---:|---:|---:|---:|---:|"
        );
        let one = self.rows.iter().find(|r| r.0 == 1).map(|r| r.1.per_s);
        for &(n, r) in &self.rows {
            let (ratio, eff) = match one {
                Some(r1) => (
                    format!("{:.2}", r.per_s / r1),
                    format!("{:.2}", r.per_s / (n as f64 * r1)),
                ),
                None => ("–".into(), "–".into()),
            };
            println!(
                "| {n} | {:.2} M | {ratio} | {eff} | {:.2} |",
                r.per_s / 1e6,
                r.cpu
            );
        }
    }
}

/// Thread `t` of `k`'s own slice of flows `0..n`.
fn own_slices(n: u64, k: usize) -> Vec<Pattern> {
    (0..k as u64)
        .map(|t| {
            let lo = t * n / k as u64;
            Pattern::Flows {
                lo,
                len: (t + 1) * n / k as u64 - lo,
                start: 0,
                both: true,
            }
        })
        .collect()
}

/// Established packets at `n` connections, own and shared flows.
fn established(ops: Ops, n: u64, threads: &[usize], warm: f64, secs: f64) -> [Rows; 2] {
    let epoch = Instant::now();
    let label = if n >= 1_000_000 {
        format!("{} M", n / 1_000_000)
    } else {
        format!("{} k", n / 1000)
    };
    let fill_start = Instant::now();
    let p = filled(ops, n, epoch);
    eprintln!(
        "  filled {n} connections in {:.2} s",
        fill_start.elapsed().as_secs_f64()
    );
    let mut own = Rows::new(format!("established UDP, {label} connections, own flows"));
    let mut shared = Rows::new(format!(
        "established UDP, {label} connections, shared flows"
    ));
    let ps = [p.clone()];
    for &k in threads {
        own.push(
            k,
            measure(&ps, ops, &own_slices(n, k), warm, secs, u64::MAX, epoch),
        );
        let shared_p: Vec<Pattern> = (0..k as u64)
            .map(|t| Pattern::Flows {
                lo: 0,
                len: n,
                start: t * n / k as u64,
                both: true,
            })
            .collect();
        shared.push(k, measure(&ps, ops, &shared_p, warm, secs, u64::MAX, epoch));
    }
    // Nothing expired or was added: every packet was of an established flow.
    let t = p.tracker();
    assert_eq!(
        t.table().confirmed(),
        n as usize,
        "connections came or went"
    );
    assert_eq!(t.stats().early_drop, 0);
    [own, shared]
}

/// The ceiling: established UDP, own flows, but a plugin per thread (each with all `n`
/// flows), so that the threads share nothing. What the machine allows N threads,
/// other load on it included; the shared plugin's efficiency is to be read against it.
fn ceiling(ops: Ops, n: u64, threads: &[usize], warm: f64, secs: f64) -> Rows {
    let epoch = Instant::now();
    let mut rows = Rows::new(format!(
        "ceiling: established UDP, {} k connections, own flows, a plugin per thread",
        n / 1000
    ));
    let max = threads.iter().copied().max().unwrap_or(1);
    let plugins: Vec<Arc<Conntrack>> = (0..max).map(|_| filled(ops, n, epoch)).collect();
    for &k in threads {
        rows.push(
            k,
            measure(
                &plugins[..k],
                ops,
                &own_slices(n, k),
                warm,
                secs,
                u64::MAX,
                epoch,
            ),
        );
    }
    rows
}

/// New connections per second into a table with room for all of them.
fn new_connections(ops: Ops, threads: &[usize], warm: f64, secs: f64) -> Rows {
    // Room for 8 M; a run stops sooner if the threads get there.
    const ROOM: u64 = 1 << 23;
    let mut rows = Rows::new("new connections (conntrack-in + confirm of a first packet)".into());
    for &k in threads {
        let epoch = Instant::now();
        let p = Arc::new(plugin(ROOM as usize, ROOM as usize + 1024));
        let per = ROOM / k as u64;
        let patterns: Vec<Pattern> = (0..k as u64)
            .map(|t| Pattern::Fresh { base: t * per })
            .collect();
        let rate = measure(
            std::slice::from_ref(&p),
            ops,
            &patterns,
            warm,
            secs,
            per,
            epoch,
        );
        let t = p.tracker();
        assert_eq!(t.stats().early_drop, 0);
        assert_eq!(t.stats().insert_failed, 0);
        let made = t.table().confirmed();
        drop(t);
        eprintln!("  ({made} connections made)");
        rows.push(k, rate);
    }
    rows
}

/// OVS's benchmark's shape: one connection per thread, original direction only.
fn ovs_shape(ops: Ops, threads: &[usize], warm: f64, secs: f64) -> Rows {
    let mut rows =
        Rows::new("one flow per thread, original direction (the shape of OVS's benchmark)".into());
    for &k in threads {
        let epoch = Instant::now();
        let p = Arc::new(plugin(1024, 4096));
        let patterns: Vec<Pattern> = (0..k as u64)
            .map(|t| Pattern::Flows {
                lo: t,
                len: 1,
                start: 0,
                both: false,
            })
            .collect();
        let rate = measure(
            std::slice::from_ref(&p),
            ops,
            &patterns,
            warm,
            secs,
            u64::MAX,
            epoch,
        );
        assert_eq!(p.tracker().table().confirmed(), k);
        rows.push(k, rate);
    }
    rows
}

/// What making the packets costs alone, per packet (it is inside every timed loop).
fn packet_making_ns() -> f64 {
    let mut src = Source::new(Pattern::Flows {
        lo: 0,
        len: 1_000_000,
        start: 0,
        both: true,
    });
    let mut bufs = [[0u8; LEN]; BATCH];
    let rounds = 200_000;
    let t = Instant::now();
    for _ in 0..rounds {
        src.fill(&mut bufs);
        let mut views: [DatagramView<'_>; BATCH] = bufs.each_mut().map(|d| view(d, 1));
        for v in views.iter_mut() {
            black_box(&mut **v);
        }
    }
    t.elapsed().as_nanos() as f64 / (rounds * BATCH) as f64
}

fn machine() -> String {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    format!("{model}, {cores} cores available")
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is read from the command line.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads: Vec<usize> = match std::env::var("BW_SCALING_THREADS") {
        Ok(s) => s
            .split(',')
            .map(|x| x.trim().parse().expect("BW_SCALING_THREADS: numbers"))
            .filter(|&k: &usize| k >= 1)
            .collect(),
        Err(_) => std::iter::successors(Some(1usize), |k| Some(k * 2))
            .take_while(|&k| k <= cores)
            .collect(),
    };
    assert!(
        threads.iter().all(|&k| k <= 1024),
        "at most Tracker::MAX_WORKERS threads"
    );
    let secs: f64 = std::env::var("BW_SCALING_SECS")
        .ok()
        .map_or(3.0, |s| s.parse().expect("BW_SCALING_SECS: seconds"));
    let warm = (secs / 4.0).min(1.0);
    let cases = std::env::var("BW_SCALING_CASES").unwrap_or_default();
    let wanted = |name: &str| cases.is_empty() || cases.split(',').any(|c| name.starts_with(c));
    let ops = Ops {
        conntrack_in: op_named("conntrack-in"),
        confirm: op_named("confirm-postrouting"),
        one_at_a_time: std::env::var_os("BW_SCALING_ONE_AT_A_TIME").is_some(),
    };
    println!("conntrack scaling: {}", machine());
    println!(
        "threads {threads:?}, {secs} s per row after {warm} s of warm-up; {} of {BATCH}; \
         making a packet costs {:.1} ns of each",
        if ops.one_at_a_time {
            "one packet at a time, batches"
        } else {
            "bursts"
        },
        packet_making_ns()
    );
    let mut all = Vec::new();
    if wanted("est-10k") {
        all.extend(established(ops, 10_000, &threads, warm, secs));
    }
    if wanted("ceiling") {
        all.push(ceiling(ops, 10_000, &threads, warm, secs));
    }
    if wanted("est-1m") {
        all.extend(established(ops, 1_000_000, &threads, warm, secs));
    }
    if wanted("new") {
        all.push(new_connections(ops, &threads, warm, secs));
    }
    if wanted("ovs") {
        all.push(ovs_shape(ops, &threads, warm, secs));
    }
    if wanted("control") {
        beside_control(ops, warm, secs);
    }
    for r in &all {
        r.print();
    }
}
