//! The hook pipeline's cost: packets per second through PREROUTING, FORWARD and
//! POSTROUTING with 0, 1 and 5 no-op callbacks at each hook, on frames parsed beforehand
//! (the parse is not measured), beside a bare loop over the same callbacks as the peer;
//! and the built-in conntrack plugin through the engine on established UDP flows (256
//! flows; and 1 M, one packet at a time and in prepared batches); and bursts through
//! conntrack and the filter (10 k and 1 M connections, one packet at a time against
//! bursts of 32); and NAT's cost (established flows with and without source
//! translation). Run:
//! `cargo bench -p brickwall-core --bench pipeline`.

use brickwall_core::engine::Engine;
use brickwall_core::gen::{GenConfig, Generator};
use brickwall_core::packet::Packet;
use brickwall_core::pipeline::Ingress;
use brickwall_core::wire::LinkType;
use brickwall_hooks::{priority, FamilySel, Hook, Verdict};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use std::hint::black_box;

const BATCH: usize = 1024;

/// A boxed no-op callback of the peer loop.
type NoOp = Box<dyn Fn(&mut brickwall_hooks::PacketView) -> Verdict>;

fn packets() -> Vec<Packet> {
    let cfg = GenConfig {
        tcp_flows: 64,
        udp_flows: 32,
        icmp_flows: 16,
        ..GenConfig::default()
    };
    Generator::new(cfg)
        .take(BATCH)
        .map(|f| {
            let (p, r) = Packet::from_frame(LinkType::Ethernet, &f.data, f.ts_ns);
            r.expect("generated frames parse");
            p
        })
        .collect()
}

fn engine_with(per_hook: usize, hooks: &[Hook]) -> Engine {
    let cfg = brickwall_core::config::Config::default();
    let e = Engine::from_config(&cfg, std::path::Path::new("."), "bench").expect("engine");
    for &hook in hooks {
        for i in 0..per_hook {
            e.registry().register_fn(
                "noop",
                hook,
                FamilySel::Inet,
                priority::FILTER + i as i32,
                |_| Verdict::Accept,
            );
        }
    }
    e
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("pipeline");
    g.throughput(Throughput::Elements(BATCH as u64));
    let path = [Hook::PreRouting, Hook::Forward, Hook::PostRouting];
    let cases: [(&str, usize, &[Hook]); 4] = [
        ("0-callbacks", 0, &path),
        ("1-per-hook", 1, &path),
        ("5-in-total", 5, &[Hook::PreRouting]),
        ("5-per-hook", 5, &path),
    ];
    for (name, per_hook, hooks) in cases {
        let e = engine_with(per_hook, hooks);
        let mut pl = e.pipeline();
        let mut pkts = packets();
        g.bench_function(name, |b| {
            b.iter_batched_ref(
                || (),
                |_| {
                    let table = e.registry().snapshot();
                    for p in pkts.iter_mut() {
                        black_box(pl.process(&table, p));
                    }
                },
                BatchSize::SmallInput,
            )
        });
    }
    // The peer: the least any dispatcher can do, a bare loop over the same callbacks
    // (3 hooks x 5 boxed closures, no verdict handling, no counters, no path record).
    let bare: Vec<Vec<NoOp>> = (0..3)
        .map(|_| {
            (0..5)
                .map(|_| {
                    Box::new(|_: &mut brickwall_hooks::PacketView| Verdict::Accept)
                        as Box<dyn Fn(&mut _) -> _>
                })
                .collect()
        })
        .collect();
    let mut pkts = packets();
    g.bench_function("peer-bare-loop-5-per-hook", |b| {
        b.iter(|| {
            for p in pkts.iter_mut() {
                for hook in &bare {
                    for f in hook {
                        if black_box(f(&mut p.view)) != Verdict::Accept {
                            break;
                        }
                    }
                }
            }
        })
    });
    g.finish();
}

/// Conntrack through the whole engine: the built-in conntrack plugin (and nothing else)
/// on established UDP flows, the packets run once beforehand so every connection exists;
/// with checksum verification (conntrack's default, Linux's `nf_conntrack_checksum`)
/// and without.
fn bench_conntrack(c: &mut Criterion) {
    let mut g = c.benchmark_group("engine");
    g.throughput(Throughput::Elements(BATCH as u64));
    for (name, section) in [
        ("conntrack-established-udp", ""),
        (
            "conntrack-established-udp-no-checksum",
            "    config: {checksum: false}\n",
        ),
    ] {
        let cfg = brickwall_core::config::Config::parse(
            &format!("plugins:\n  - builtin: conntrack\n{section}"),
            "bench",
        )
        .expect("config");
        let e = Engine::from_config(&cfg, std::path::Path::new("."), "bench").expect("engine");
        let gen = GenConfig {
            tcp_flows: 0,
            udp_flows: 256,
            icmp_flows: 0,
            data_packets: 4,
            interleave: true,
            ..GenConfig::default()
        };
        let mut pkts: Vec<Packet> = Generator::new(gen)
            .take(BATCH)
            .map(|f| {
                let (p, r) = Packet::from_frame(LinkType::Ethernet, &f.data, f.ts_ns);
                r.expect("generated frames parse");
                p
            })
            .collect();
        let mut pl = e.pipeline();
        let table = e.registry().snapshot();
        for p in pkts.iter_mut() {
            pl.process(&table, p);
        }
        assert!(
            pkts.iter()
                .all(|p| p.ctinfo() != brickwall_hooks::CtInfo::Invalid),
            "{name}: the generated packets are valid"
        );
        g.bench_function(name, |b| {
            b.iter(|| {
                let table = e.registry().snapshot();
                for p in pkts.iter_mut() {
                    // A packet keeps the connection reference of its last run: clear it,
                    // as a fresh packet from the wire would have none.
                    p.view.ct = 0;
                    black_box(pl.process(&table, p));
                }
            })
        });
    }
    g.finish();
}

/// Conntrack through the whole engine with 1 M connections in the table, one packet
/// at a time and in batches of 64 that the plugins prepare first (`Pipeline::prepare`,
/// as replay and the live bridge do).
fn bench_conntrack_1m(c: &mut Criterion) {
    const FLOWS: u32 = 1_000_000;
    // Every STRIDE-th of the flows' 2 M packets is measured: 4090 packets.
    const STRIDE: usize = 489;
    let measured = (2 * FLOWS as usize).div_ceil(STRIDE);
    const READ_BATCH: usize = 64;
    let mut g = c.benchmark_group("engine");
    g.throughput(Throughput::Elements(measured as u64));
    let cfg = brickwall_core::config::Config::parse(
        "plugins:\n  - builtin: conntrack\n    config: {buckets: 1048576, max: 2097152}\n",
        "bench",
    )
    .expect("config");
    let e = Engine::from_config(&cfg, std::path::Path::new("."), "bench").expect("engine");
    let mut pl = e.pipeline();
    let mut pkts: Vec<Packet> = Vec::new();
    for batched in [false, true] {
        let name = if batched {
            "conntrack-established-udp-1M-batched"
        } else {
            "conntrack-established-udp-1M"
        };
        g.bench_function(name, |b| {
            if pkts.is_empty() {
                // Every flow's request and reply through the engine (the flows back to
                // back, streamed), keeping a sample spread over the table, both
                // directions, as the packets to measure.
                let gen = GenConfig {
                    tcp_flows: 0,
                    udp_flows: FLOWS,
                    icmp_flows: 0,
                    data_packets: 1,
                    ipv6_share: 0.0,
                    gap_ns: 10,
                    interleave: false,
                    ..GenConfig::default()
                };
                let table = e.registry().snapshot();
                for (k, f) in Generator::new(gen).enumerate() {
                    let (mut p, r) = Packet::from_frame(LinkType::Ethernet, &f.data, f.ts_ns);
                    r.expect("generated frames parse");
                    pl.process(&table, &mut p);
                    if k % STRIDE == 0 {
                        pkts.push(p);
                    }
                }
                assert_eq!(pkts.len(), measured);
            }
            b.iter(|| {
                let table = e.registry().snapshot();
                for chunk in pkts.chunks_mut(READ_BATCH) {
                    for p in chunk.iter_mut() {
                        p.view.ct = 0;
                    }
                    if batched {
                        pl.prepare(&table, chunk.iter_mut());
                    }
                    for p in chunk.iter_mut() {
                        black_box(pl.process(&table, p));
                    }
                }
            })
        });
    }
    g.finish();
}

/// Bursts through the whole engine with conntrack and a stateful filter (accept
/// established and related, accept new UDP, drop the rest) on established UDP flows,
/// 10 k and 1 M connections: bursts of 32 (`Pipeline::process_burst`, as replay and the
/// live bridge run them), then, on the same table, one packet at a time with each batch
/// of 32 prepared first, as the engine ran before bursts.
fn bench_bursts(c: &mut Criterion) {
    const BURST: usize = 32;
    let mut g = c.benchmark_group("bursts");
    for (label, flows, stride) in [("10k", 10_000u32, 7usize), ("1M", 1_000_000, 8)] {
        let measured = (2 * flows as usize).div_ceil(stride);
        g.throughput(Throughput::Elements(measured as u64));
        let cfg = brickwall_core::config::Config::parse(
            &format!(
                "plugins:\n  - builtin: conntrack\n    config: {{buckets: {b}, max: {m}}}\n  \
                 - builtin: filter\n    config:\n      chains:\n        - hook: forward\n          \
                 policy: drop\n          rules:\n            \
                 - {{match: {{ct_state: [established, related]}}, action: accept}}\n            \
                 - {{match: {{ct_state: new, proto: udp}}, action: accept}}\n",
                b = (2 * flows).next_power_of_two(),
                m = 2 * flows
            ),
            "bench",
        )
        .expect("config");
        let e = Engine::from_config(&cfg, std::path::Path::new("."), "bench").expect("engine");
        assert!(e.registry().snapshot().walks_bursts());
        let mut pl = e.pipeline();
        // Every flow's request and reply through the engine, keeping every STRIDE-th
        // packet (spread over the table, both directions) as the packets to measure.
        let gen = GenConfig {
            tcp_flows: 0,
            udp_flows: flows,
            icmp_flows: 0,
            data_packets: 1,
            ipv6_share: 0.0,
            gap_ns: 10,
            interleave: false,
            ..GenConfig::default()
        };
        let table = e.registry().snapshot();
        let mut pkts: Vec<Packet> = Vec::new();
        for (k, f) in Generator::new(gen).enumerate() {
            let (mut p, r) = Packet::from_frame(LinkType::Ethernet, &f.data, f.ts_ns);
            r.expect("generated frames parse");
            pl.process(&table, &mut p);
            if k % stride == 0 {
                pkts.push(p);
            }
        }
        assert_eq!(pkts.len(), measured);
        let mut outcomes = [brickwall_core::pipeline::Outcome::Stolen; BURST];
        for burst in [true, false] {
            if !burst {
                // One packet at a time, as before bursts: an engine callback without a
                // burst function (at INPUT, which forwarded packets never reach) keeps
                // the table to one packet at a time, and batches are prepared.
                e.registry().register_fn(
                    "one-at-a-time",
                    Hook::LocalIn,
                    FamilySel::Inet,
                    0,
                    |_| Verdict::Accept,
                );
                assert!(!e.registry().snapshot().walks_bursts());
            }
            let name = format!(
                "established-udp-{label}-{}",
                if burst {
                    "bursts-of-32"
                } else {
                    "one-at-a-time"
                }
            );
            g.bench_function(&name, |b| {
                b.iter(|| {
                    let table = e.registry().snapshot();
                    for chunk in pkts.chunks_mut(BURST) {
                        for p in chunk.iter_mut() {
                            p.view.ct = 0;
                        }
                        pl.prepare(&table, chunk.iter_mut());
                        if burst {
                            let mut refs: Vec<&mut Packet> = chunk.iter_mut().collect();
                            pl.process_burst(
                                &table,
                                &mut refs,
                                Ingress::Received,
                                &mut outcomes[..],
                            );
                            black_box(&outcomes);
                        } else {
                            for p in chunk.iter_mut() {
                                black_box(pl.process(&table, p));
                            }
                        }
                    }
                })
            });
        }
        let forwarded = pl.counters.forwarded;
        assert!(
            forwarded > 0 && pl.counters.dropped == 0,
            "{:?}",
            pl.counters
        );
    }
    g.finish();
}

/// NAT's cost per packet (issue 16): established UDP flows through the engine in bursts
/// of 32, with conntrack alone and with conntrack and the NAT plugin translating every
/// flow's source (`snat to 192.0.2.1`, the port kept or searched). 10 000 flows, their
/// original direction (a reply would have to be addressed to the translated tuple): each
/// packet is looked up, and with NAT rewritten from its binding, checksums included.
/// The packets' bytes are restored before each pass, in both cases.
fn bench_nat(c: &mut Criterion) {
    const FLOWS: u32 = 10_000;
    const BURST: usize = 32;
    let mut g = c.benchmark_group("nat");
    g.throughput(Throughput::Elements(FLOWS as u64));
    let frames: Vec<Vec<u8>> = (0..FLOWS)
        .map(|i| {
            let b = etherparse::PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
                .ipv4(
                    [10, (i >> 16) as u8, (i >> 8) as u8, i as u8],
                    [198, 51, 100, 2],
                    64,
                )
                .udp(1024 + (i % 50_000) as u16, 53);
            let mut out = Vec::with_capacity(b.size(18));
            b.write(&mut out, &[0u8; 18]).expect("frame");
            out
        })
        .collect();
    let nat = "  - builtin: nat\n    config:\n      chains: [{hook: postrouting, rules: \
               [{match: {saddr: 10.0.0.0/8}, action: {snat: {to: 192.0.2.1}}}]}]\n";
    for (name, extra) in [("conntrack", ""), ("conntrack-snat", nat)] {
        let cfg = brickwall_core::config::Config::parse(
            &format!("plugins:\n  - builtin: conntrack\n{extra}"),
            "bench",
        )
        .expect("config");
        let e = Engine::from_config(&cfg, std::path::Path::new("."), "bench").expect("engine");
        assert!(e.registry().snapshot().walks_bursts());
        let mut pl = e.pipeline();
        let mut pkts: Vec<Packet> = frames
            .iter()
            .map(|f| {
                let (p, r) = Packet::from_frame(LinkType::Ethernet, f, 1_000_000_000);
                r.expect("frame parses");
                p
            })
            .collect();
        let mut outcomes = [brickwall_core::pipeline::Outcome::Stolen; BURST];
        let mut pass = |pl: &mut brickwall_core::pipeline::Pipeline, pkts: &mut [Packet]| {
            let table = e.registry().snapshot();
            for (chunk, orig) in pkts.chunks_mut(BURST).zip(frames.chunks(BURST)) {
                for (p, f) in chunk.iter_mut().zip(orig) {
                    p.view.ct = 0;
                    p.view.frame_mut().copy_from_slice(f);
                }
                let mut refs: Vec<&mut Packet> = chunk.iter_mut().collect();
                pl.process_burst(&table, &mut refs, Ingress::Received, &mut outcomes[..]);
                black_box(&outcomes);
            }
        };
        // The connections and their bindings, made by the first pass.
        pass(&mut pl, &mut pkts);
        let translated = pkts
            .iter()
            .filter(|p| p.view.frame().get(26..30) == Some(&[192, 0, 2, 1][..]))
            .count();
        assert_eq!(translated, if extra.is_empty() { 0 } else { pkts.len() });
        g.bench_function(format!("established-udp-10k-{name}"), |b| {
            b.iter(|| pass(&mut pl, &mut pkts))
        });
        assert_eq!(pl.counters.dropped, 0, "{:?}", pl.counters);
    }
    g.finish();
}

criterion_group!(
    benches,
    bench,
    bench_conntrack,
    bench_conntrack_1m,
    bench_bursts,
    bench_nat
);
criterion_main!(benches);
