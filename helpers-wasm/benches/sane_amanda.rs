//! Nanoseconds per packet of the SANE and Amanda helpers: through the bundled helper as
//! a sandboxed WebAssembly component (epoch deadline, pooling allocator, state kept by
//! the host), and through the same parser compiled natively, side by side.
//!
//! - SANE: a control connection's start request and the daemon's answer naming the
//!   data port (one expectation per pair).
//! - Amanda: a client's answer with its `CONNECT` line (four expectations).
//!
//! `cargo bench -p brickwall-helpers --bench sane_amanda`

use brickwall_helper_amanda::Amanda;
use brickwall_helper_sane::Sane;
use brickwall_helper_sdk as sdk;
use brickwall_helper_sdk::Helper;
use brickwall_helpers::{
    Budget, HConnInfo, HCtState, HTuple, HelperPolicy, HelperSet, PacketCall, SandboxPolicy,
};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;

/// A SANE start request (procedure 7, handle 0) and saned's answer: good status, data
/// port 40001, byte order, no resource.
const SANE: [(bool, &[u8]); 2] = [
    (false, &[0, 0, 0, 7, 0, 0, 0, 0]),
    (
        true,
        &[0, 0, 0, 0, 0, 0, 0x9c, 0x41, 0, 0, 0x12, 0x34, 0, 0, 0, 0],
    ),
];

/// amandad's answer to a backup request.
const AMANDA: [(bool, &[u8]); 1] = [(
    true,
    b"Amanda 3.5 REP HANDLE 000-00000001 SEQ 1733600000\nSECURITY USER backup\n\
      CONNECT DATA 50000 MESG 50001 INDEX 50002 STATE 50003\n\
      OPTIONS features=ffffffff9efefbfffffffffffffff3fffbf71f;\n",
)];

/// One helper's case: its name, port, protocol and the packets of one round.
struct Case {
    name: &'static str,
    proto: u8,
    port: u16,
    packets: &'static [(bool, &'static [u8])],
}

fn host_conn(c: &Case) -> HConnInfo {
    let original = HTuple {
        src: [10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        dst: [10, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        src_port: 40000,
        dst_port: c.port,
        proto: c.proto,
        v6: false,
    };
    HConnInfo {
        original,
        reply: HTuple {
            src: original.dst,
            dst: original.src,
            src_port: c.port,
            dst_port: 40000,
            ..original
        },
        zone: 0,
        mark: 0,
    }
}

fn sdk_conn(c: &Case) -> sdk::ConnInfo {
    sdk::ConnInfo::of(sdk::Tuple {
        src: sdk::Addr::V4([10, 0, 0, 1]),
        dst: sdk::Addr::V4([10, 0, 0, 2]),
        protocol: c.proto,
        src_port: 40000,
        dst_port: c.port,
    })
}

/// The component and the native parser `H` on `case`'s packets.
fn run<H: Helper>(crit: &mut Criterion, case: &Case) {
    let mut g = crit.benchmark_group(format!("{}-packet", case.name));
    g.throughput(Throughput::Elements(case.packets.len() as u64));
    let proto = if case.proto == 6 { "tcp" } else { "udp" };
    let policy: HelperPolicy = serde_json::from_value(serde_json::json!({
        "name": case.name,
        "wasm": format!("builtin:{}", case.name),
        "ports": [format!("{proto}/{}", case.port)],
    }))
    .expect("policy");
    let sandbox = SandboxPolicy {
        budget: Budget::DeadlineMs(10),
        cache_dir: Some(String::new()),
        log_per_second: None,
    };
    let mut set = HelperSet::new(&sandbox, &[policy], Path::new("."), Arc::new(|_, _, _| {}))
        .expect("bundled helper");
    let mut state = set.assigned(0, 1, &host_conn(case)).expect("state");
    let mut expects = 0usize;
    g.bench_function("wasm-component", |b| {
        b.iter(|| {
            for &(reply, payload) in case.packets {
                let call = PacketCall {
                    conn: 1,
                    reply,
                    ct: HCtState::Established,
                    seq: 0,
                    tcp_flags: 0x18,
                    payload,
                };
                expects += set.packet(0, &call, &mut state).expects.len();
            }
        })
    });
    assert!(expects > 0, "the {} component expected nothing", case.name);

    let mut st = sdk::State::new(H::assigned(&sdk_conn(case)));
    let mut expects = 0usize;
    g.bench_function("native", |b| {
        b.iter(|| {
            for &(reply, payload) in case.packets {
                let dir = if reply {
                    sdk::Direction::Reply
                } else {
                    sdk::Direction::Original
                };
                let pkt = sdk::Packet {
                    conn: 1,
                    dir,
                    ct: sdk::CtState::Established,
                    seq: 0,
                    tcp_flags: 0x18,
                    payload: black_box(payload),
                };
                expects += H::packet(&pkt, &mut st).expects.len();
            }
        })
    });
    assert!(
        expects > 0,
        "the native {} parser expected nothing",
        case.name
    );
    g.finish();
}

fn bench(c: &mut Criterion) {
    let sane = Case {
        name: "sane",
        proto: 6,
        port: 6566,
        packets: &SANE,
    };
    run::<Sane>(c, &sane);
    let amanda = Case {
        name: "amanda",
        proto: 17,
        port: 10080,
        packets: &AMANDA,
    };
    run::<Amanda>(c, &amanda);
}

criterion_group!(benches, bench);
criterion_main!(benches);
