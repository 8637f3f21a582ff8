//! The knock example helper (`examples/helpers`), in Rust on the SDK, in C on bindings
//! from the build step's wit-bindgen-c and in Python with componentize-py, builds,
//! loads and behaves the same: `OPEN <port>` from the client expects the server's TCP
//! connection back to that port, anything else expects nothing.
//!
//! Nothing is skipped: without clang/wasm-ld/wasi-libc or componentize-py the tests
//! fail saying what to install (`scripts/test.sh` installs them).

mod common;

use brickwall_helpers::{Budget, CallOutcome, HelperId, HelperPolicy, HelperSet, SandboxPolicy};
use common::{conn, knock_c, knock_python, knock_rust, v4};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Fuel per call, well above what the helpers need.
const FUEL: u64 = 200_000_000;

/// Loads serialised, so the first load fills the default cache the later ones use.
static LOADING: Mutex<()> = Mutex::new(());

fn policy(name: &str, wasm: &Path, ports: &[&str], max_memory_bytes: u64) -> HelperPolicy {
    HelperPolicy {
        max_memory_bytes,
        ..common::policy(name, &wasm.display().to_string(), ports)
    }
}

fn load(helpers: &[HelperPolicy]) -> HelperSet {
    try_load(helpers).unwrap_or_else(|e| panic!("the knock helpers load: {e}"))
}

fn try_load(helpers: &[HelperPolicy]) -> Result<HelperSet, String> {
    let sandbox = SandboxPolicy {
        budget: Budget::Fuel(FUEL),
        // The default cache: the Python component is compiled once per machine.
        cache_dir: None,
        log_per_second: None,
    };
    let _one = LOADING.lock().unwrap_or_else(|e| e.into_inner());
    let started = Instant::now();
    let set = HelperSet::new(&sandbox, helpers, Path::new("/"), Arc::new(|_, _, _| {}));
    let names: Vec<_> = helpers.iter().map(|h| h.name.as_str()).collect();
    eprintln!("loading {names:?} took {:?}", started.elapsed());
    set
}

fn rust() -> HelperPolicy {
    policy("knock", &knock_rust(), &["udp/7777"], 4 << 20)
}

fn c() -> HelperPolicy {
    policy("knock-c", &knock_c(), &["udp/7777"], 4 << 20)
}

/// CPython's linear memory starts at 12.3 MiB: the Python version gets 64 MiB.
fn python() -> HelperPolicy {
    policy("knock-python", &knock_python(), &["udp/7777"], 64 << 20)
}

/// A packet on a fresh connection 10.0.0.1:40000 -> 10.0.0.2:7777 (udp).
fn call(s: &mut HelperSet, id: HelperId, reply: bool, payload: &[u8]) -> CallOutcome {
    let info = conn([10, 0, 0, 1], 40000, [10, 0, 0, 2], 7777, 17);
    let mut state = s.assigned(id, 1, &info).expect("assigned gives a state");
    assert_eq!(state.len(), 14, "the state is the encoded reply tuple");
    let out = s.packet(id, &common::call_on_1(reply, payload), &mut state);
    assert!(!out.failed, "the call works: {out:?}");
    out
}

/// The behaviour every version must have.
fn check(p: HelperPolicy) {
    let name = p.name.clone();
    let mut s = load(&[p]);
    let id = s
        .id_for_port(17, 7777)
        .expect("udp/7777 assigns the helper");
    for payload in [&b"OPEN 5555"[..], b"OPEN 5555\n"] {
        let started = Instant::now();
        let out = call(&mut s, id, false, payload);
        eprintln!("{name}: assigned + {payload:?} in {:?}", started.elapsed());
        assert!(!out.drop);
        assert_eq!(
            out.expects.len(),
            1,
            "{name}: {payload:?} expects one: {out:?}"
        );
        let e = out.expects[0];
        assert_eq!(e.tuple.src, v4([10, 0, 0, 2]), "{name}: from the server");
        assert_eq!(
            (e.tuple.dst, e.tuple.dst_port, e.tuple.proto),
            (v4([10, 0, 0, 1]), 5555, 6),
            "{name}: TCP to the client's port 5555"
        );
        assert!(
            e.any_src_port && !e.any_src_addr && !e.permanent,
            "{name}: {e:?}"
        );
        assert_eq!(
            (e.timeout_s, e.class),
            (300, 0),
            "the policy's timeout fills in"
        );
    }
    for payload in [&b"HELLO"[..], b"OPEN 0", b"OPEN 65536", b"OPEN x"] {
        let out = call(&mut s, id, false, payload);
        assert_eq!(
            out,
            CallOutcome::default(),
            "{name}: {payload:?} expects nothing"
        );
    }
    let out = call(&mut s, id, true, b"OPEN 5555");
    assert_eq!(
        out,
        CallOutcome::default(),
        "{name}: a reply expects nothing"
    );
    let st = s.reports().remove(0).stats;
    assert_eq!((st.calls, st.expectations), (7, 2), "{name}: {st:?}");
}

#[test]
fn the_rust_knock_expects_the_connection_back() {
    check(rust());
}

#[test]
fn the_c_knock_expects_the_connection_back() {
    check(c());
}

#[test]
fn the_python_knock_expects_the_connection_back() {
    check(python());
}

#[test]
fn the_rust_c_and_python_versions_agree() {
    agree();
}

/// Every version gives the same outcome on the same packets.
fn agree() {
    let helpers = vec![
        rust(),
        HelperPolicy {
            ports: vec![],
            ..c()
        },
        HelperPolicy {
            ports: vec![],
            ..python()
        },
    ];
    let mut s = load(&helpers);
    let ids: Vec<HelperId> = helpers
        .iter()
        .map(|h| s.id_by_name(&h.name).expect("loaded"))
        .collect();
    let payloads: [&[u8]; 14] = [
        b"OPEN 5555",
        b"OPEN 5555\n",
        b"OPEN 1",
        b"OPEN 65535",
        b"OPEN 00080\n",
        b"HELLO",
        b"",
        b"OPEN ",
        b"OPEN 0",
        b"OPEN 65536",
        b"OPEN 123456",
        b"OPEN 5555\r\n",
        b"open 5555",
        b"OPEN 5555 ",
    ];
    for payload in payloads {
        for reply in [false, true] {
            let first = call(&mut s, ids[0], reply, payload);
            for (h, &id) in helpers.iter().zip(&ids).skip(1) {
                let out = call(&mut s, id, reply, payload);
                assert_eq!(
                    first, out,
                    "Rust and {} on {payload:?} (reply {reply})",
                    h.name
                );
            }
        }
    }
}

/// A connection from `src` to `dst` on udp/7777, IPv4 or IPv6 by the addresses' length.
fn conn_between(src: &[u8], dst: &[u8]) -> brickwall_helpers::HConnInfo {
    let v6 = src.len() == 16;
    let mut info = conn([0; 4], 40000, [0; 4], 7777, 17);
    for (t, (a, b)) in [
        (&mut info.original, (src, dst)),
        (&mut info.reply, (dst, src)),
    ] {
        t.src = [0; 16];
        t.dst = [0; 16];
        t.src[..a.len()].copy_from_slice(a);
        t.dst[..b.len()].copy_from_slice(b);
        t.v6 = v6;
    }
    info
}

/// The three versions keep the same state, the Rust SDK's encoding of the reply tuple
/// (the C header and the Python module of the SDK write the same bytes), and read it
/// back: an IPv6 knock expects the connection back between the IPv6 addresses.
#[test]
fn the_state_is_the_sdks_encoding_in_every_language() {
    use brickwall_helper_sdk::{Addr, Tuple};
    let helpers = vec![
        rust(),
        HelperPolicy {
            ports: vec![],
            ..c()
        },
        HelperPolicy {
            ports: vec![],
            ..python()
        },
    ];
    let mut s = load(&helpers);
    let client6: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    let server6: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
    let cases: [(&[u8], &[u8], Addr, Addr); 2] = [
        (
            &[10, 0, 0, 1],
            &[10, 0, 0, 2],
            Addr::V4([10, 0, 0, 2]),
            Addr::V4([10, 0, 0, 1]),
        ),
        (&client6, &server6, Addr::V6(server6), Addr::V6(client6)),
    ];
    for (client, server, reply_src, reply_dst) in cases {
        let mut want = Vec::new();
        Tuple {
            src: reply_src,
            dst: reply_dst,
            protocol: 17,
            src_port: 7777,
            dst_port: 40000,
        }
        .encode(&mut want);
        let info = conn_between(client, server);
        for h in &helpers {
            let id = s.id_by_name(&h.name).expect("loaded");
            let mut state = s.assigned(id, 1, &info).expect("a state");
            assert_eq!(state, want, "{}: the state of {client:?}", h.name);
            let call = brickwall_helpers::PacketCall {
                ct: brickwall_helpers::HCtState::New,
                ..common::call_on_1(false, b"OPEN 5555")
            };
            let out = s.packet(id, &call, &mut state);
            assert_eq!(out.expects.len(), 1, "{}: {out:?}", h.name);
            let e = out.expects[0].tuple;
            assert_eq!(
                (&e.src[..server.len()], &e.dst[..client.len()], e.v6),
                (server, client, client.len() == 16),
                "{}: {e:?}",
                h.name
            );
        }
    }
}
