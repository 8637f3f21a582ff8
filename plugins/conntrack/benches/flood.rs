//! What floods cost the traffic that is already there (RELIABILITY.md records the
//! figures): established TCP packets through a table of 10 000 ESTABLISHED
//! connections, alone, and interleaved one for one with a SYN flood from fresh
//! sources into the same table kept full (every flood SYN makes the tracker evict a
//! non-assured entry early); and the flood's SYNs alone. The established rate during
//! the flood, as a fraction of before, is `alone / (mixed - flood)` per established
//! packet.
//!
//! Hash flooding: lookups of a flow at the end of a chain filled to the walk limit by
//! flows chosen for a known key, against lookups of a flow alone in its bucket.
//!
//! `cargo bench -p brickwall-conntrack --bench flood`

use brickwall_conntrack::config::CtConfig;
use brickwall_conntrack::datagram::{ipv4, tcp, view};
use brickwall_conntrack::hash::{HashKind, TupleHasher};
use brickwall_conntrack::tracker::Tracker;
use brickwall_conntrack::tuple::{Tuple, FAMILY_V4};
use brickwall_hooks::CtInfo;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;

const FLOWS: u32 = 10_000;
/// Established packets (and flood SYNs) per iteration.
const BATCH: usize = 1024;

/// A TCP segment from 10.a.b.c:port to 192.168.0.1:80 (`reply`: the other way).
fn segment(src: [u8; 4], port: u16, reply: bool, seq: u32, ack: u32, flags: u8) -> Vec<u8> {
    let b = [192, 168, 0, 1];
    let (s, d, sp, dp) = if reply {
        (b, src, 80, port)
    } else {
        (src, b, port, 80)
    };
    ipv4(s, d, 6, &tcp(sp, dp, seq, ack, flags))
}

fn client(i: u32) -> ([u8; 4], u16) {
    (
        [10, (i >> 16) as u8, (i >> 8) as u8, i as u8],
        1024 + (i % 60000) as u16,
    )
}

/// Runs one packet through conntrack-in and confirm.
fn track(t: &mut Tracker, d: &mut [u8], ts: u64) -> CtInfo {
    let mut v = view(d, ts);
    black_box(t.conntrack_in(&mut v));
    black_box(t.confirm(&mut v));
    v.ctinfo()
}

/// FLOWS connections through their handshake and one data exchange (ASSURED), in a
/// table whose maximum leaves room for 64 more.
fn full_table() -> Tracker {
    let cfg = CtConfig {
        buckets: 16_384,
        max: FLOWS as usize + 64,
        auto_resize: false,
        ..CtConfig::default()
    };
    let mut t = Tracker::new(cfg, 80);
    for i in 0..FLOWS {
        let (src, port) = client(i);
        for (reply, seq, ack, flags) in [
            (false, 100, 0, 0x02),
            (true, 500, 101, 0x12),
            (false, 101, 501, 0x10),
            (true, 501, 101, 0x10),
        ] {
            track(&mut t, &mut segment(src, port, reply, seq, ack, flags), 1);
        }
    }
    t
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("flood");
    g.throughput(Throughput::Elements(BATCH as u64));
    let established: Vec<Vec<u8>> = (0..BATCH as u32)
        .map(|k| {
            let i = k * (FLOWS / BATCH as u32);
            let (src, port) = client(i);
            segment(
                src,
                port,
                k % 2 == 1,
                if k % 2 == 1 { 501 } else { 101 },
                if k % 2 == 1 { 101 } else { 501 },
                0x10,
            )
        })
        .collect();
    let mut next_attacker = 0u32;
    let mut syn = move || {
        next_attacker = next_attacker.wrapping_add(1);
        let i = next_attacker;
        segment(
            [172, 16 + (i >> 24) as u8 % 16, (i >> 8) as u8, i as u8],
            1024 + (i % 60000) as u16,
            false,
            i,
            0,
            0x02,
        )
    };
    let mut t = full_table();
    // The packets are what they say: ESTABLISHED flows, and SYNs that evict early.
    for d in &established[..2] {
        let info = track(&mut t, &mut d.clone(), 2);
        assert!(
            matches!(info, CtInfo::Established | CtInfo::EstablishedReply),
            "{info:?}"
        );
    }
    for _ in 0..200 {
        track(&mut t, &mut syn(), 2);
    }
    assert!(t.stats().early_drop > 0, "the table is not full");
    let mut est = established.clone();
    g.bench_function("established-alone", |b| {
        b.iter(|| {
            for d in est.iter_mut() {
                track(&mut t, d, 2);
            }
        })
    });
    let mut flood: Vec<Vec<u8>> = (0..BATCH).map(|_| syn()).collect();
    g.bench_function("established-with-syn-flood", |b| {
        b.iter(|| {
            for (d, f) in est.iter_mut().zip(flood.iter_mut()) {
                track(&mut t, d, 2);
                // A fresh source every time: the SYN is new, the table full.
                f[14] = f[14].wrapping_add(1);
                track(&mut t, f, 2);
            }
        })
    });
    g.bench_function("syn-flood-alone", |b| {
        b.iter(|| {
            for f in flood.iter_mut() {
                f[15] = f[15].wrapping_add(1);
                track(&mut t, f, 2);
            }
        })
    });
    // Every established flow survived the flood.
    for d in &established {
        let info = track(&mut t, &mut d.clone(), 3);
        assert!(
            matches!(info, CtInfo::Established | CtInfo::EstablishedReply),
            "evicted: {info:?}"
        );
    }
    g.finish();
}

/// The original tuple of client `src`:`port` to 192.168.0.1:80.
fn tuple(src: [u8; 4], port: u16) -> Tuple {
    let mut t = Tuple {
        src_id: port,
        dst_id: 80,
        proto: 6,
        family: FAMILY_V4,
        ..Tuple::default()
    };
    t.src[..4].copy_from_slice(&src);
    t.dst[..4].copy_from_slice(&[192, 168, 0, 1]);
    t
}

/// Lookups at the end of a chain an attacker who knows the key filled to the limit.
fn hash_flood(c: &mut Criterion) {
    let mut g = c.benchmark_group("hash-flood");
    g.throughput(Throughput::Elements(BATCH as u64));
    const LIMIT: usize = 64;
    let known = TupleHasher::with_keys(HashKind::Siphash, (0x0123_4567, 0x89ab_cdef), 0x5eed);
    let cfg = CtConfig {
        buckets: 16_384,
        max: 100_000,
        auto_resize: false,
        ..CtConfig::default()
    };
    let mut t = Tracker::with_hasher(cfg, LIMIT, known);
    let target = t.table().bucket_of(&tuple([172, 16, 0, 1], 1024));
    let mut chain = Vec::new();
    'search: for a in 0..=255u8 {
        for b in 0..=255u8 {
            for port in 1024..1280u16 {
                let src = [172, 16, a, b];
                if t.table().bucket_of(&tuple(src, port)) == target {
                    chain.push((src, port));
                    if chain.len() == LIMIT {
                        break 'search;
                    }
                }
            }
        }
    }
    for &(src, port) in &chain {
        for (reply, seq, ack, flags) in [
            (false, 100, 0, 0x02),
            (true, 500, 101, 0x12),
            (false, 101, 501, 0x10),
        ] {
            track(&mut t, &mut segment(src, port, reply, seq, ack, flags), 1);
        }
    }
    // A flow alone in its bucket, for comparison.
    let (lone, lone_port) = ([10, 9, 9, 9], 2000);
    for (reply, seq, ack, flags) in [
        (false, 100, 0, 0x02),
        (true, 500, 101, 0x12),
        (false, 101, 501, 0x10),
    ] {
        track(
            &mut t,
            &mut segment(lone, lone_port, reply, seq, ack, flags),
            1,
        );
    }
    assert!(
        t.table().chain_len(target) >= LIMIT,
        "the chain is {}",
        t.table().chain_len(target)
    );
    // The flow inserted first sits at the chain's far end (new nodes go to the head).
    let (deep, deep_port) = chain[0];
    let mut deep_pkts: Vec<Vec<u8>> = (0..BATCH)
        .map(|_| segment(deep, deep_port, false, 101, 501, 0x10))
        .collect();
    let mut lone_pkts: Vec<Vec<u8>> = (0..BATCH)
        .map(|_| segment(lone, lone_port, false, 101, 501, 0x10))
        .collect();
    assert_eq!(
        track(&mut t, &mut deep_pkts[0].clone(), 2),
        CtInfo::Established
    );
    g.bench_function("lookup-alone-in-its-bucket", |b| {
        b.iter(|| {
            for d in lone_pkts.iter_mut() {
                track(&mut t, d, 2);
            }
        })
    });
    g.bench_function("lookup-at-the-end-of-a-full-chain", |b| {
        b.iter(|| {
            for d in deep_pkts.iter_mut() {
                track(&mut t, d, 2);
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench, hash_flood);
criterion_main!(benches);
