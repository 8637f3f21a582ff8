//! Export records per second: connections turned into flow records and encoded into
//! IPFIX messages (`encode`), and the same with every message sent over UDP to a
//! local socket (`encode_send`). Mixed traffic: IPv4, IPv6, and a quarter translated.
//!
//! `cargo bench -p brickwall-ipfix --bench export`

use brickwall_hooks::services::conntrack::{
    conn_flags, status, CtConn, CtCounters, CtTuple, FAMILY_V4, FAMILY_V6,
};
use brickwall_ipfix::element::end_reason;
use brickwall_ipfix::message::Encoder;
use brickwall_ipfix::record::FlowRecord;
use brickwall_ipfix::template::Templates;
use brickwall_ipfix::transport::Collector;
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
            let orig = CtTuple {
                src,
                dst,
                src_id: 40000 + i as u16,
                dst_id: 443,
                proto: 6,
                family: if v6 { FAMILY_V6 } else { FAMILY_V4 },
                zone: 0,
            };
            let mut reply = CtTuple {
                src: dst,
                dst: src,
                src_id: 443,
                dst_id: orig.src_id,
                ..orig
            };
            let mut st = status::CONFIRMED | status::ASSURED;
            if i % 4 == 0 {
                reply.dst[3] = 99;
                st |= status::SRC_NAT;
            }
            CtConn {
                id: i as u64,
                orig,
                reply,
                status: st,
                start_ns: 1_700_000_000_000_000_000,
                counters: [CtCounters {
                    packets: 10,
                    bytes: 1000,
                }; 2],
                flags: conn_flags::COUNTERS | conn_flags::START | conn_flags::CONFIRMED,
                ..CtConn::default()
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let conns = conns();
    let mut g = c.benchmark_group("export");
    g.throughput(Throughput::Elements(CONNS as u64));
    g.bench_function("encode", |b| {
        let mut enc = Encoder::new(1, 1400, Templates::new(None));
        b.iter(|| {
            let mut bytes = 0;
            for conn in &conns {
                let end = conn.start_ns + 5_000_000_000;
                let rec = FlowRecord::from_conn(
                    conn,
                    conn.start_ns,
                    end,
                    Default::default(),
                    end_reason::IDLE_TIMEOUT,
                );
                if let Some(m) = enc.push(&rec, 1_700_000_005) {
                    bytes += m.len();
                }
            }
            black_box(bytes)
        })
    });
    let sink = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    let collector = Collector::open(sink.local_addr().expect("addr")).expect("socket");
    g.bench_function("encode_send", |b| {
        let mut enc = Encoder::new(1, 1400, Templates::new(None));
        b.iter(|| {
            for conn in &conns {
                let end = conn.start_ns + 5_000_000_000;
                let rec = FlowRecord::from_conn(
                    conn,
                    conn.start_ns,
                    end,
                    Default::default(),
                    end_reason::IDLE_TIMEOUT,
                );
                let n = enc.pending();
                if let Some(m) = enc.push(&rec, 1_700_000_005) {
                    collector.send(m, n);
                }
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
