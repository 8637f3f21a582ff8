//! Conntrack's cost per packet: established packets per second per core with 10 k and
//! 1 M connections in the table, new connections per second (conntrack-in and confirm
//! of a first packet), for both hash functions. Driven through the tracker directly
//! (no engine), on datagrams built beforehand; beside it, the peer: a home-grown
//! tracker on a standard `HashMap`.
//! Run: `cargo bench -p brickwall-conntrack --bench tracker`.

use brickwall_conntrack::config::CtConfig;
use brickwall_conntrack::core::Tracker;
use brickwall_conntrack::extract::packet_tuple;
use brickwall_conntrack::hash::HashKind;
use brickwall_conntrack::tuple::Tuple;
use brickwall_hooks::PacketView;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::collections::HashMap;
use std::hint::black_box;

/// The peer: tuples to (flow index, direction), and the flows.
type Peer = (HashMap<Tuple, (usize, usize)>, Vec<PeerFlow>);

/// The peer's flow record.
#[derive(Default)]
struct PeerFlow {
    expires_ns: u64,
    packets: [u64; 2],
    bytes: [u64; 2],
}

/// A UDP datagram of flow `i` (distinct 5-tuples), in direction `reply`.
fn udp_flow(i: u32, reply: bool) -> Vec<u8> {
    let a = [10, (i >> 16) as u8, (i >> 8) as u8, i as u8];
    let b = [192, 168, 0, 1];
    let (src, dst, sp, dp) = if reply {
        (b, a, 53u16, 1024 + (i % 60000) as u16)
    } else {
        (a, b, 1024 + (i % 60000) as u16, 53u16)
    };
    let mut v = vec![0x45, 0, 0, 40, 0, 0, 0, 0, 64, 17, 0, 0];
    v.extend_from_slice(&src);
    v.extend_from_slice(&dst);
    v.extend_from_slice(&sp.to_be_bytes());
    v.extend_from_slice(&dp.to_be_bytes());
    v.extend_from_slice(&[0, 20, 0, 0]);
    v.extend_from_slice(&[0u8; 12]);
    v
}

fn view(d: &mut [u8], ts: u64) -> PacketView {
    PacketView {
        data: d.as_mut_ptr(),
        len: d.len() as u32,
        l3_len: d.len() as u32,
        l4_off: 20,
        payload_off: 28,
        family: 2,
        l4proto: 17,
        ts_ns: ts,
        ..PacketView::default()
    }
}

/// A table of `n` connections, sized for them (buckets: the next power of two).
fn filled(n: u32, hash: HashKind) -> Tracker {
    let cfg = CtConfig {
        buckets: (n as usize).next_power_of_two(),
        max: n as usize * 2,
        hash,
        ..CtConfig::default()
    };
    fill(cfg, n)
}

/// A table of `n` connections with room for more (for the new-connection benchmark).
fn filled_fresh(n: u32) -> Tracker {
    let cfg = CtConfig {
        buckets: 1 << 18,
        max: 1 << 20,
        ..CtConfig::default()
    };
    fill(cfg, n)
}

/// A tracker of `cfg` holding flows `0..n`.
fn fill(cfg: CtConfig, n: u32) -> Tracker {
    let mut t = Tracker::new(cfg, 80);
    for i in 0..n {
        let mut d = udp_flow(i, false);
        let mut v = view(&mut d, 1);
        t.conntrack_in(&mut v);
        t.confirm(&mut v);
    }
    t
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("conntrack");
    const BATCH: u32 = 4096;
    // Packets per batch the engine prepares at once (its default read batch).
    const ENGINE_BATCH: usize = 32;
    g.throughput(Throughput::Elements(BATCH as u64));
    for (label, n) in [("10k", 10_000u32), ("1M", 1_000_000u32)] {
        for hash in [HashKind::Siphash, HashKind::Jenkins] {
            // Built on first use, so that a filtered run does not fill tables it skips.
            let mut table: Option<Tracker> = None;
            // Packets of existing flows, spread over the table, both directions.
            let mut pkts: Vec<Vec<u8>> = (0..BATCH)
                .map(|k| udp_flow((k * 7919) % n, k % 2 == 1))
                .collect();
            g.bench_function(format!("established-{label}-{hash:?}"), |b| {
                let t = table.get_or_insert_with(|| filled(n, hash));
                b.iter(|| {
                    for d in pkts.iter_mut() {
                        let mut v = view(d, 2);
                        black_box(t.conntrack_in(&mut v));
                        black_box(t.confirm(&mut v));
                    }
                })
            });
            if hash != HashKind::Siphash {
                continue;
            }
            // The same packets the way the engine hands them over: in batches the
            // tracker prepares (hashes, prefetches) before tracking them one by one.
            g.bench_function(format!("established-{label}-{hash:?}-batched"), |b| {
                let t = table.get_or_insert_with(|| filled(n, hash));
                let mut views: Vec<PacketView> = Vec::with_capacity(ENGINE_BATCH);
                b.iter(|| {
                    for chunk in pkts.chunks_mut(ENGINE_BATCH) {
                        views.clear();
                        views.extend(chunk.iter_mut().map(|d| view(d, 2)));
                        let refs: Vec<&PacketView> = views.iter().collect();
                        t.prefetch(&refs);
                        for v in views.iter_mut() {
                            black_box(t.conntrack_in(v));
                            black_box(t.confirm(v));
                        }
                    }
                })
            });
        }
    }
    // The peer: a home-grown tracker, a standard HashMap from both tuples to a flow
    // record (expiry and counters updated per packet; no state machine, no window
    // tracking, no table limits).
    for (label, n) in [("10k", 10_000u32), ("1M", 1_000_000u32)] {
        let mut peer: Option<Peer> = None;
        let mut pkts: Vec<Vec<u8>> = (0..BATCH)
            .map(|k| udp_flow((k * 7919) % n, k % 2 == 1))
            .collect();
        g.bench_function(format!("peer-hashmap-established-{label}"), |b| {
            let (map, flows) = peer.get_or_insert_with(|| {
                let mut map = HashMap::with_capacity(2 * n as usize);
                let mut flows = Vec::with_capacity(n as usize);
                for i in 0..n {
                    let mut d = udp_flow(i, false);
                    let v = view(&mut d, 1);
                    let t = packet_tuple(&v, 0).expect("tuple");
                    map.insert(t, (flows.len(), 0));
                    map.insert(t.invert().expect("inverse"), (flows.len(), 1));
                    flows.push(PeerFlow::default());
                }
                (map, flows)
            });
            b.iter(|| {
                for d in pkts.iter_mut() {
                    let v = view(d, 2);
                    let t = packet_tuple(&v, 0).expect("tuple");
                    if let Some(&(i, dir)) = map.get(&t) {
                        let f = &mut flows[i];
                        f.expires_ns = v.ts_ns + 30_000_000_000;
                        f.packets[dir] += 1;
                        f.bytes[dir] += v.l3_len as u64;
                    }
                    black_box(&v);
                }
            })
        });
    }
    // New connections: BATCH new flows created and confirmed in a table that already
    // holds 100 k connections (a fresh copy per batch, made outside the timing).
    let mut next = 1u32 << 20;
    let mut d = udp_flow(0, false);
    g.bench_function("new-connections-at-100k", |b| {
        b.iter_batched_ref(
            || filled_fresh(100_000),
            |t| {
                for _ in 0..BATCH {
                    // A new source address and port each time, written into one buffer.
                    d[12..16].copy_from_slice(&[
                        11,
                        (next >> 16) as u8,
                        (next >> 8) as u8,
                        next as u8,
                    ]);
                    d[20..22].copy_from_slice(&(1024 + (next % 60000) as u16).to_be_bytes());
                    next = next.wrapping_add(1);
                    let mut v = view(&mut d, 3);
                    black_box(t.conntrack_in(&mut v));
                    black_box(t.confirm(&mut v));
                }
            },
            criterion::BatchSize::PerIteration,
        )
    });
    g.finish();
    eprintln!(
        "per connection: record {} + chain links {} bytes, TCP connections {} more (TCP record); \
         {} bytes of bucket head per bucket",
        std::mem::size_of::<brickwall_conntrack::conn::Conn>(),
        brickwall_conntrack::table::LINK_BYTES,
        std::mem::size_of::<brickwall_conntrack::proto::tcp::TcpConn>(),
        std::mem::size_of::<u32>()
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
