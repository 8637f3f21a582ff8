//! Messages per second: connections of conntrack's service turned into sync entries and
//! encoded into datagrams (`encode`), and datagrams split and decoded back into entries
//! (`decode`). Mixed traffic: IPv4 and IPv6, TCP with a state, a quarter source-NATed
//! with a port translation, marked.
//!
//! `cargo bench -p brickwall-sync --bench wire`

use brickwall_hooks::services::conntrack::{
    set_padded, status, CtConn, CtTuple, FAMILY_V4, FAMILY_V6,
};
use brickwall_sync::entry::from_conn;
use brickwall_sync::sender::MAX_DATAGRAM;
use brickwall_sync::wire::message::{Action, Body, Message, Messages};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;

const CONNS: usize = 4096;

fn conns() -> Vec<CtConn> {
    (0..CONNS)
        .map(|i| {
            let v6 = i % 2 == 1;
            let mut src = [0u8; 16];
            let mut dst = [0u8; 16];
            src[..4].copy_from_slice(&[10, 0, (i >> 8) as u8, i as u8]);
            dst[..4].copy_from_slice(&[192, 0, 2, 1]);
            if v6 {
                src[0] = 0x20;
                dst[0] = 0x20;
            }
            let family = if v6 { FAMILY_V6 } else { FAMILY_V4 };
            let orig = CtTuple {
                src,
                dst,
                src_id: 40000 + i as u16,
                dst_id: 443,
                proto: 6,
                family,
                zone: 0,
            };
            let mut reply = CtTuple {
                src: dst,
                dst: src,
                src_id: 443,
                dst_id: orig.src_id,
                ..orig
            };
            if i % 4 == 0 {
                reply.dst[..4].copy_from_slice(&[198, 51, 100, 1]);
                reply.dst_id = 1024 + i as u16;
            }
            let mut c = CtConn {
                id: i as u64,
                orig,
                reply,
                status: status::SEEN_REPLY | status::ASSURED | status::CONFIRMED,
                mark: 42,
                timeout_s: 432_000,
                ..CtConn::default()
            };
            set_padded(&mut c.state, "ESTABLISHED");
            c
        })
        .collect()
}

fn encode_all(conns: &[CtConn], out: &mut Vec<Vec<u8>>) {
    out.clear();
    let mut d = Vec::with_capacity(MAX_DATAGRAM);
    for (i, c) in conns.iter().enumerate() {
        let m = Message {
            seq: i as u32,
            hello: false,
            hello_back: false,
            body: Body::Conntrack(Action::Update, from_conn(c)),
        };
        let start = d.len();
        m.emit(&mut d);
        if d.len() > MAX_DATAGRAM {
            let tail = d.split_off(start);
            out.push(std::mem::replace(&mut d, tail));
        }
    }
    out.push(d);
}

fn bench(c: &mut Criterion) {
    let conns = conns();
    let mut g = c.benchmark_group("sync");
    g.throughput(Throughput::Elements(CONNS as u64));
    let mut datagrams = Vec::new();
    g.bench_function("encode", |b| {
        b.iter(|| {
            encode_all(black_box(&conns), &mut datagrams);
            black_box(datagrams.len())
        })
    });
    encode_all(&conns, &mut datagrams);
    g.bench_function("decode", |b| {
        b.iter(|| {
            let mut n = 0;
            for d in black_box(&datagrams) {
                for m in Messages::new(d) {
                    n += m.is_ok() as usize;
                }
            }
            assert_eq!(n, CONNS);
            n
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
