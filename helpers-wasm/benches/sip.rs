//! Nanoseconds per packet of the SIP helper: through the bundled helper as a sandboxed
//! WebAssembly component (epoch deadline, pooling allocator, state kept by the host),
//! and through the same parser compiled natively, side by side. One round is a call's
//! set-up over UDP: the INVITE with its SDP offer (audio and video: four expectations),
//! the 200 OK with the answer (four more) and the ACK.
//!
//! `cargo bench -p brickwall-helpers --bench sip`

use brickwall_helper_sdk as sdk;
use brickwall_helper_sdk::Helper;
use brickwall_helper_sip::Sip;
use brickwall_helpers::{
    Budget, HConnInfo, HCtState, HTuple, HelperPolicy, HelperSet, PacketCall, SandboxPolicy,
};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;

/// A message with an SDP body offering audio and video at `addr`.
fn with_sdp(head: &str, addr: &str, port: u16) -> Vec<u8> {
    let body = format!(
        "v=0\r\no=- 2890844526 2890844526 IN IP4 {addr}\r\ns=call\r\nc=IN IP4 {addr}\r\n\
         t=0 0\r\nm=audio {port} RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\n\
         a=rtpmap:101 telephone-event/8000\r\nm=video {} RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n",
        port + 2
    );
    format!(
        "{head}\r\nVia: SIP/2.0/UDP {addr}:5060;branch=z9hG4bK776asdhds\r\nMax-Forwards: 70\r\n\
         From: <sip:alice@10.0.0.1>;tag=1928301774\r\nTo: <sip:bob@10.0.0.2>\r\n\
         Call-ID: a84b4c76e66710@10.0.0.1\r\nContact: <sip:alice@{addr}>\r\n\
         Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// The round: `(reply direction, payload)`.
fn call() -> Vec<(bool, Vec<u8>)> {
    vec![
        (
            false,
            with_sdp(
                "INVITE sip:bob@10.0.0.2 SIP/2.0\r\nCSeq: 314159 INVITE",
                "10.0.0.1",
                49170,
            ),
        ),
        (
            true,
            with_sdp("SIP/2.0 200 OK\r\nCSeq: 314159 INVITE", "10.0.0.2", 30000),
        ),
        (
            false,
            b"ACK sip:bob@10.0.0.2 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1:5060\r\n\
              Call-ID: a84b4c76e66710@10.0.0.1\r\nCSeq: 314159 ACK\r\nContent-Length: 0\r\n\r\n"
                .to_vec(),
        ),
    ]
}

fn host_conn() -> HConnInfo {
    let original = HTuple {
        src: [10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        dst: [10, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        src_port: 5060,
        dst_port: 5060,
        proto: 17,
        v6: false,
    };
    HConnInfo {
        original,
        reply: HTuple {
            src: original.dst,
            dst: original.src,
            ..original
        },
        zone: 0,
        mark: 0,
    }
}

fn bench(c: &mut Criterion) {
    let packets = call();
    let mut g = c.benchmark_group("sip-packet");
    g.throughput(Throughput::Elements(packets.len() as u64));
    let policy: HelperPolicy = serde_json::from_value(serde_json::json!({
        "name": "sip", "wasm": "builtin:sip", "ports": ["udp/5060"],
    }))
    .expect("policy");
    let sandbox = SandboxPolicy {
        budget: Budget::DeadlineMs(10),
        cache_dir: Some(String::new()),
        log_per_second: None,
    };
    let mut set = HelperSet::new(&sandbox, &[policy], Path::new("."), Arc::new(|_, _, _| {}))
        .expect("bundled helper");
    let mut state = set.assigned(0, 1, &host_conn()).expect("state");
    let mut expects = 0usize;
    g.bench_function("wasm-component", |b| {
        b.iter(|| {
            for (reply, payload) in &packets {
                let call = PacketCall {
                    conn: 1,
                    reply: *reply,
                    ct: HCtState::Established,
                    seq: 0,
                    tcp_flags: 0,
                    payload,
                };
                expects += set.packet(0, &call, &mut state).expects.len();
            }
        })
    });
    assert!(expects > 0, "the sip component expected nothing");

    let conn = sdk::ConnInfo::of(sdk::Tuple {
        src: sdk::Addr::V4([10, 0, 0, 1]),
        dst: sdk::Addr::V4([10, 0, 0, 2]),
        protocol: 17,
        src_port: 5060,
        dst_port: 5060,
    });
    let mut st = sdk::State::new(Sip::assigned(&conn));
    let mut expects = 0usize;
    g.bench_function("native", |b| {
        b.iter(|| {
            for (reply, payload) in &packets {
                let pkt = sdk::Packet {
                    conn: 1,
                    dir: if *reply {
                        sdk::Direction::Reply
                    } else {
                        sdk::Direction::Original
                    },
                    ct: sdk::CtState::Established,
                    seq: 0,
                    tcp_flags: 0,
                    payload: black_box(payload),
                };
                expects += Sip::packet(&pkt, &mut st).expects.len();
            }
        })
    });
    assert!(expects > 0, "the native sip parser expected nothing");
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
