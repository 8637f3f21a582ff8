//! Conntrack's cost per packet: established packets per second per core with 10 k and
//! 1 M connections in the table, new connections per second (conntrack-in and confirm
//! of a first packet), for both hash functions. Driven through the tracker directly
//! (no engine), on datagrams built beforehand; beside it, the peer: a home-grown
//! tracker on a standard `HashMap`.
//! Run: `cargo bench -p brickwall-conntrack --bench tracker`.

use brickwall_conntrack::config::CtConfig;
use brickwall_conntrack::datagram::view;
use brickwall_conntrack::extract::packet_tuple;
use brickwall_conntrack::hash::HashKind;
use brickwall_conntrack::tracker::Tracker;
use brickwall_conntrack::tuple::Tuple;
use brickwall_hooks::{CtInfo, PacketView};
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

/// A TCP segment of flow `i` (the UDP flows' addresses and ports), in direction
/// `reply`, with sequence and acknowledgement numbers and flags; no payload.
fn tcp_flow(i: u32, reply: bool, seq: u32, ack: u32, flags: u8) -> Vec<u8> {
    let mut v = udp_flow(i, reply);
    v.truncate(24);
    v[3] = 40;
    v[9] = 6;
    v.extend_from_slice(&seq.to_be_bytes());
    v.extend_from_slice(&ack.to_be_bytes());
    v.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    // Conntrack verifies TCP checksums (its UDP flows carry none).
    brickwall_wire::checksum::fill_transport(&mut v);
    v
}

/// A table of `n` connections, sized for them (buckets: the next power of two); with
/// `accounting`, per-direction counters (Linux's `nf_conntrack_acct`) on.
fn filled(n: u32, hash: HashKind, accounting: bool) -> Tracker {
    let cfg = CtConfig {
        buckets: (n as usize).next_power_of_two(),
        max: n as usize * 2,
        hash,
        accounting,
        ..CtConfig::default()
    };
    fill(cfg, n)
}

/// A table of `n` connections with room for more (for the new-connection benchmark).
fn filled_fresh(n: u32) -> Tracker {
    let cfg = CtConfig {
        buckets: 1 << 18,
        max: 1 << 20,
        auto_resize: false,
        ..CtConfig::default()
    };
    fill(cfg, n)
}

/// A tracker holding TCP connections `0..n`, each through its handshake (client
/// sequence numbers from 100, server's from 500) and ESTABLISHED.
fn filled_tcp(n: u32) -> Tracker {
    let cfg = CtConfig {
        buckets: (n as usize).next_power_of_two(),
        max: n as usize * 2,
        ..CtConfig::default()
    };
    let mut t = Tracker::new(cfg, 80);
    for i in 0..n {
        for (reply, seq, ack, flags) in [
            (false, 100, 0, 0x02),
            (true, 500, 101, 0x12),
            (false, 101, 501, 0x10),
        ] {
            let mut d = tcp_flow(i, reply, seq, ack, flags);
            let mut v = view(&mut d, 1);
            t.conntrack_in(&mut v);
            t.confirm(&mut v);
        }
    }
    // The benchmark's packets must be what it says: valid ACKs of ESTABLISHED flows.
    for (reply, seq, ack, want) in [
        (false, 101, 501, CtInfo::Established),
        (true, 501, 101, CtInfo::EstablishedReply),
    ] {
        let mut d = tcp_flow(0, reply, seq, ack, 0x10);
        let mut v = view(&mut d, 1);
        t.conntrack_in(&mut v);
        assert_eq!(v.ctinfo(), want);
    }
    t
}

/// Each packet through conntrack-in and confirm, one at a time.
fn track_all(t: &mut Tracker, pkts: &mut [Vec<u8>]) {
    for d in pkts.iter_mut() {
        let mut v = view(d, 2);
        black_box(t.conntrack_in(&mut v));
        black_box(t.confirm(&mut v));
    }
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

/// Resident memory of this process, bytes (`/proc/self/statm`).
fn resident_bytes() -> usize {
    // SAFETY: sysconf only reads a system constant.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(1) as usize;
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<usize>().ok())
        .map_or(0, |pages| pages * page)
}

/// What 1 M TCP connections take in resident memory, per connection: the size the
/// record's layout promises, measured (reserved but untouched slab pages are not
/// resident, so they do not count; the bucket heads, all written at start, do).
fn report_resident_memory() {
    let n = 1_000_000u32;
    let before = resident_bytes();
    let t = filled_tcp(n);
    let after = resident_bytes();
    let heads = t.table().buckets() * std::mem::size_of::<u32>();
    eprintln!(
        "{n} TCP connections: {} resident bytes per connection, of which {} of bucket heads \
         ({} buckets)",
        after.saturating_sub(before) / n as usize,
        heads / n as usize,
        t.table().buckets()
    );
}

fn bench(c: &mut Criterion) {
    report_resident_memory();
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
                let t = table.get_or_insert_with(|| filled(n, hash, false));
                b.iter(|| track_all(t, &mut pkts))
            });
            if hash != HashKind::Siphash {
                continue;
            }
            // With accounting on, as the peer counts: the counters live beside the
            // records, in an array of their own.
            let mut counting: Option<Tracker> = None;
            g.bench_function(format!("established-{label}-{hash:?}-acct"), |b| {
                let t = counting.get_or_insert_with(|| filled(n, hash, true));
                b.iter(|| track_all(t, &mut pkts))
            });
            drop(counting);
            // TCP: window tracking on every packet, its data in the record. Pure ACKs
            // in both directions, as a bulk transfer's acknowledgements look.
            let mut tcp_table: Option<Tracker> = None;
            let mut acks: Vec<Vec<u8>> = (0..BATCH)
                .map(|k| {
                    let reply = k % 2 == 1;
                    let (seq, ack) = if reply { (501, 101) } else { (101, 501) };
                    tcp_flow((k * 7919) % n, reply, seq, ack, 0x10)
                })
                .collect();
            g.bench_function(format!("established-tcp-{label}-{hash:?}"), |b| {
                let t = tcp_table.get_or_insert_with(|| filled_tcp(n));
                b.iter(|| track_all(t, &mut acks))
            });
            drop(tcp_table);
            // The same packets the way the engine hands them over: in batches the
            // tracker prepares (hashes, prefetches) before tracking them one by one.
            g.bench_function(format!("established-{label}-{hash:?}-batched"), |b| {
                let t = table.get_or_insert_with(|| filled(n, hash, false));
                b.iter(|| {
                    let mut views = Vec::with_capacity(ENGINE_BATCH);
                    for chunk in pkts.chunks_mut(ENGINE_BATCH) {
                        views.clear();
                        views.extend(chunk.iter_mut().map(|d| view(d, 2)));
                        let refs: Vec<&PacketView> = views.iter().map(|v| &**v).collect();
                        t.prefetch(refs.iter().copied());
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
    let ext = |acct, tstamp| brickwall_conntrack::table::Extensions { acct, tstamp }.bytes();
    eprintln!(
        "per connection, any protocol: record {} (TCP window data {} of it) + chain links {} \
         bytes; accounting {} more, timestamps {} more; {} bytes of bucket head per bucket",
        std::mem::size_of::<brickwall_conntrack::conn::Conn>(),
        std::mem::size_of::<brickwall_conntrack::proto::tcp::TcpConn>(),
        brickwall_conntrack::table::LINK_BYTES,
        ext(true, false),
        ext(false, true),
        std::mem::size_of::<u32>()
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
