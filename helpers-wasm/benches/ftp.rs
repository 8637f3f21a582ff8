//! Nanoseconds per FTP control-connection packet: through the bundled FTP helper as a
//! sandboxed WebAssembly component (epoch deadline, pooling allocator, state kept by
//! the host), and through the same parser compiled natively, side by side.
//!
//! `cargo bench -p brickwall-helpers --bench ftp`

use brickwall_helper_ftp::Ftp;
use brickwall_helper_sdk as sdk;
use brickwall_helper_sdk::Helper;
use brickwall_helpers::{
    Budget, HConnInfo, HCtState, HTuple, HelperPolicy, HelperSet, PacketCall, SandboxPolicy,
};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;

/// The server's lines of a passive download: one in four is a 227 that creates an
/// expectation, as on a control connection listing and fetching files.
const LINES: [&[u8]; 4] = [
    b"227 Entering Passive Mode (90,130,70,73,100,85).\r\n",
    b"150 Opening BINARY mode data connection for 1KB.zip (1024 bytes).\r\n",
    b"226 Transfer complete.\r\n",
    b"200 Switching to Binary mode.\r\n",
];

fn addr4(a: [u8; 4]) -> [u8; 16] {
    let mut b = [0; 16];
    b[..4].copy_from_slice(&a);
    b
}

fn host_conn() -> HConnInfo {
    let original = HTuple {
        src: addr4([192, 168, 1, 212]),
        dst: addr4([90, 130, 70, 73]),
        src_port: 50694,
        dst_port: 21,
        proto: 6,
        v6: false,
    };
    HConnInfo {
        original,
        reply: HTuple {
            src: original.dst,
            dst: original.src,
            src_port: 21,
            dst_port: 50694,
            ..original
        },
        zone: 0,
        mark: 0,
    }
}

fn sdk_conn() -> sdk::ConnInfo {
    let original = sdk::Tuple {
        src: sdk::Addr::V4([192, 168, 1, 212]),
        dst: sdk::Addr::V4([90, 130, 70, 73]),
        protocol: 6,
        src_port: 50694,
        dst_port: 21,
    };
    sdk::ConnInfo::of(original)
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("ftp-control-packet");
    g.throughput(Throughput::Elements(LINES.len() as u64));

    let policy: HelperPolicy =
        serde_json::from_str(r#"{"name":"ftp","wasm":"builtin:ftp","ports":["tcp/21"]}"#)
            .expect("policy");
    let sandbox = SandboxPolicy {
        budget: Budget::DeadlineMs(10),
        cache_dir: Some(String::new()),
        log_per_second: None,
    };
    let mut set = HelperSet::new(&sandbox, &[policy], Path::new("."), Arc::new(|_, _, _| {}))
        .expect("bundled FTP helper");
    let mut state = set.assigned(0, 1, &host_conn()).expect("state");
    // The first line of a direction only records where the next one starts.
    let mut seq = 1000u32;
    let hello = b"220 Welcome\r\n";
    set.packet(
        0,
        &PacketCall {
            conn: 1,
            reply: true,
            ct: HCtState::Established,
            seq,
            tcp_flags: 0x18,
            payload: hello,
        },
        &mut state,
    );
    seq += hello.len() as u32;
    let mut expects = 0usize;
    g.bench_function("wasm-component", |b| {
        b.iter(|| {
            for line in LINES {
                let out = set.packet(
                    0,
                    &PacketCall {
                        conn: 1,
                        reply: true,
                        ct: HCtState::Established,
                        seq,
                        tcp_flags: 0x18,
                        payload: line,
                    },
                    &mut state,
                );
                expects += out.expects.len();
                seq = seq.wrapping_add(line.len() as u32);
            }
        })
    });
    assert!(expects > 0, "the helper parsed the 227 lines");

    let mut st = sdk::State::new(Ftp::assigned(&sdk_conn()));
    let mut seq = 1000u32;
    Ftp::packet(
        &sdk::Packet {
            conn: 1,
            dir: sdk::Direction::Reply,
            ct: sdk::CtState::Established,
            seq,
            tcp_flags: 0x18,
            payload: hello,
        },
        &mut st,
    );
    seq += hello.len() as u32;
    let mut expects = 0usize;
    g.bench_function("native", |b| {
        b.iter(|| {
            for line in LINES {
                let out = Ftp::packet(
                    &sdk::Packet {
                        conn: 1,
                        dir: sdk::Direction::Reply,
                        ct: sdk::CtState::Established,
                        seq,
                        tcp_flags: 0x18,
                        payload: black_box(line),
                    },
                    &mut st,
                );
                expects += out.expects.len();
                seq = seq.wrapping_add(line.len() as u32);
            }
        })
    });
    assert!(expects > 0, "the native parser parsed the 227 lines");
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
