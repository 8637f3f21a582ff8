//! Shared pieces of the helper tests: addresses, connections, test guests.

#![allow(dead_code)]

use brickwall_helper_build::RustGuest;
use brickwall_helpers::{HConnInfo, HCtState, HTuple, HelperPolicy, PacketCall};
use std::path::PathBuf;
use std::sync::OnceLock;

/// An IPv4 address in a tuple's 16 bytes.
pub fn v4(a: [u8; 4]) -> [u8; 16] {
    let mut b = [0; 16];
    b[..4].copy_from_slice(&a);
    b
}

/// A connection from `src`:`sport` to `dst`:`dport`.
pub fn conn(src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16, proto: u8) -> HConnInfo {
    let original = HTuple {
        src: v4(src),
        dst: v4(dst),
        src_port: sport,
        dst_port: dport,
        proto,
        v6: false,
    };
    let reply = HTuple {
        src: original.dst,
        dst: original.src,
        src_port: dport,
        dst_port: sport,
        ..original
    };
    HConnInfo {
        original,
        reply,
        zone: 0,
        mark: 0,
    }
}

/// Builds a workspace guest crate into a component file (once per test process).
fn build(package: &str, cell: &'static OnceLock<PathBuf>) -> PathBuf {
    cell.get_or_init(|| {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        let guest = RustGuest {
            manifest: root.join("Cargo.toml"),
            package: package.to_owned(),
            target_dir: PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wasm-guests"),
        };
        let bytes = guest.build().unwrap_or_else(|e| panic!("{e}"));
        let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{package}.wasm"));
        std::fs::write(&out, bytes).expect("write component");
        out
    })
    .clone()
}

/// The misbehaving test helper (`helpers-wasm/testing/misbehave`).
pub fn misbehave() -> PathBuf {
    static CELL: OnceLock<PathBuf> = OnceLock::new();
    build("brickwall-helper-misbehave", &CELL)
}

/// The WASI-importing would-be helper (`helpers-wasm/testing/wasi-import`).
pub fn wasi_import() -> PathBuf {
    static CELL: OnceLock<PathBuf> = OnceLock::new();
    build("brickwall-helper-wasi-import", &CELL)
}

/// A helper built against the older world 0.2.0 (`helpers-wasm/testing/old-world`).
pub fn old_world() -> PathBuf {
    static CELL: OnceLock<PathBuf> = OnceLock::new();
    build("brickwall-helper-old-world", &CELL)
}

/// A helper built against the older world 0.3.0 (`helpers-wasm/testing/world-0.3`).
pub fn world_three() -> PathBuf {
    static CELL: OnceLock<PathBuf> = OnceLock::new();
    build("brickwall-helper-world-three", &CELL)
}

/// The example helpers' directory (`examples/helpers`).
pub fn examples_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/helpers")
}

/// The knock example in Rust (`examples/helpers/rust`), built into a component file.
pub fn knock_rust() -> PathBuf {
    static CELL: OnceLock<PathBuf> = OnceLock::new();
    build("brickwall-example-knock", &CELL)
}

/// The knock example in C (`examples/helpers/c`), built with the build step's
/// `build_c_guest` into a component file; panics saying what to install when clang,
/// wasm-ld or wasi-libc is missing.
pub fn knock_c() -> PathBuf {
    static CELL: OnceLock<PathBuf> = OnceLock::new();
    CELL.get_or_init(|| {
        let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        let started = std::time::Instant::now();
        let bytes = brickwall_helper_build::build_c_guest(
            &examples_dir().join("c"),
            &tmp.join("knock-c-build"),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        eprintln!(
            "knock (C): {} bytes built in {:?}",
            bytes.len(),
            started.elapsed()
        );
        let out = tmp.join("knock-c.wasm");
        std::fs::write(&out, bytes).expect("write component");
        out
    })
    .clone()
}

/// The knock example in Python (`examples/helpers/python`), built with the build step's
/// `build_python_guest` (componentize-py) into a component file; the component is
/// reused while newer than `app.py` and the WIT (every build differs, and a new one
/// must be compiled again). Panics saying what to install when componentize-py is
/// missing.
pub fn knock_python() -> PathBuf {
    static CELL: OnceLock<PathBuf> = OnceLock::new();
    CELL.get_or_init(|| {
        let work = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("knock-python-build");
        let started = std::time::Instant::now();
        let bytes = brickwall_helper_build::build_python_guest(
            &examples_dir().join("python"),
            "app",
            &work,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        eprintln!(
            "knock (Python): {} bytes built or reused in {:?}",
            bytes.len(),
            started.elapsed()
        );
        work.join("helper.wasm")
    })
    .clone()
}

/// A helper's policy: `name` from `wasm` on `ports`, one expectation, 300 s, 10
/// failures a minute, 256 bytes of state and 4 MiB of memory (change the fields a
/// test is about with `..policy(...)`).
pub fn policy(name: &str, wasm: &str, ports: &[&str]) -> HelperPolicy {
    HelperPolicy {
        name: name.into(),
        wasm: wasm.into(),
        ports: ports.iter().map(|p| (*p).to_owned()).collect(),
        max_expected: 1,
        class_max_expected: Vec::new(),
        timeout_s: 300,
        on_failure: Default::default(),
        on_expect_failure: Default::default(),
        max_failures: 10,
        failure_window_s: 60,
        max_state_bytes: 256,
        max_memory_bytes: 4 << 20,
    }
}

/// `payload` on connection 1 in direction `reply` (NEW from the client, ESTABLISHED
/// from the server), as a helper's call takes it.
pub fn call_on_1(reply: bool, payload: &[u8]) -> PacketCall<'_> {
    PacketCall {
        conn: 1,
        reply,
        ct: if reply {
            HCtState::Established
        } else {
            HCtState::New
        },
        seq: 0,
        tcp_flags: 0,
        payload,
    }
}

/// Hands helper `id` of `s` a TFTP read request from 192.168.1.2:44935 to
/// 192.168.1.1:69 on a new connection (number 7); what the call answered.
pub fn tftp_read_request(
    s: &mut brickwall_helpers::HelperSet,
    id: brickwall_helpers::HelperId,
) -> brickwall_helpers::CallOutcome {
    let info = conn([192, 168, 1, 2], 44935, [192, 168, 1, 1], 69, 17);
    let mut state = s.assigned(id, 7, &info).expect("state");
    s.packet(
        id,
        &brickwall_helpers::PacketCall {
            conn: 7,
            reply: false,
            ct: brickwall_helpers::HCtState::New,
            seq: 0,
            tcp_flags: 0,
            payload: b"\x00\x01rfc1350.txt\x00octet\x00",
        },
        &mut state,
    )
}
