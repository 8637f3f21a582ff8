//! The knock example helper (`examples/helpers`) written three ways — Rust on the SDK,
//! C on the build step's bindings, Python with componentize-py — each built by the test,
//! then run on a capture twice: loaded from a config by a replay through conntrack and
//! the filter, where the client's `OPEN 5555` to udp/7777 makes the server's TCP
//! connection back to port 5555 RELATED, and alone by `brickwall helper run`, which
//! prints the same expectation for all three. `brickwall helper new` writes the same
//! helper under another name in each language, and `brickwall helper build` makes it a
//! component that `helper run` shows working. Nothing is skipped: a missing toolchain
//! (clang, wasm-ld, wasi-libc, componentize-py) fails naming what to install.

mod common;

use brickwall_core::pcap::PcapWriter;
use brickwall_core::wire::LinkType;
use common::{assert_code, brickwall, report_lines, stderr, stdout, tcp4_syn, udp4, TempDir};
use std::path::{Path, PathBuf};

/// The examples' folder.
fn examples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/helpers")
}

/// Where the test builds: beside the other tests' scratch files in the target dir.
fn scratch(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name)
}

/// The three components: (language, file, memory limit).
fn build_all() -> Vec<(&'static str, PathBuf, u64)> {
    let rust = brickwall_helper_build::RustGuest {
        manifest: examples().join("rust/Cargo.toml"),
        package: "brickwall-example-knock".into(),
        target_dir: scratch("wasm-guests"),
    }
    .build()
    .unwrap_or_else(|e| panic!("the Rust knock: {e}"));
    let c = brickwall_helper_build::build_c_guest(&examples().join("c"), &scratch("knock-c"))
        .unwrap_or_else(|e| panic!("the C knock: {e}"));
    let py_dir = scratch("knock-python-build");
    brickwall_helper_build::build_python_guest(&examples().join("python"), "app", &py_dir)
        .unwrap_or_else(|e| panic!("the Python knock: {e}"));
    let rust_file = scratch("knock-rust.wasm");
    std::fs::write(&rust_file, rust).unwrap();
    let c_file = scratch("knock-c.wasm");
    std::fs::write(&c_file, c).unwrap();
    vec![
        ("rust", rust_file, 4 << 20),
        ("c", c_file, 4 << 20),
        // CPython's linear memory starts at about 12 MiB.
        ("python", py_dir.join("helper.wasm"), 64 << 20),
    ]
}

const CLIENT: [u8; 4] = [10, 0, 0, 1];
const SERVER: [u8; 4] = [10, 0, 0, 2];

/// The capture: a knock the helper must act on, then the server's connection back; a
/// knock it must ignore, then a connection back to a port nobody opened.
fn capture(dir: &TempDir) -> PathBuf {
    let path = dir.join("knock.pcap");
    let mut w = PcapWriter::create(&path, LinkType::Ethernet, true).unwrap();
    let frames = [
        udp4(CLIENT, SERVER, 40000, 7777, b"OPEN 5555\n"),
        tcp4_syn(SERVER, CLIENT, 33000, 5555),
        udp4(CLIENT, SERVER, 40001, 7777, b"HELLO"),
        tcp4_syn(SERVER, CLIENT, 33001, 6666),
    ];
    for (i, f) in frames.iter().enumerate() {
        w.write(
            1_700_000_000_000_000_000 + i as u64 * 1_000_000,
            f,
            f.len() as u32,
        )
        .unwrap();
    }
    w.flush().unwrap();
    path
}

/// The replay config: conntrack with the helper on udp/7777, and a filter that passes
/// only the knocks and what they opened.
fn config(dir: &TempDir, lang: &str, wasm: &Path, memory: u64) -> PathBuf {
    let path = dir.join(&format!("{lang}.yaml"));
    let yaml = format!(
        r#"plugins:
  - builtin: conntrack
    config:
      helpers:
        - {{name: knock, wasm: "{}", ports: [udp/7777], max_memory_bytes: {memory}}}
      helper_sandbox: {{budget: {{fuel: 200000000}}}}
  - builtin: filter
    config:
      chains:
        - hook: forward
          policy: drop
          rules:
            - {{match: {{ct_state: [established, related]}}, action: accept}}
            - {{match: {{proto: udp, dport: 7777}}, action: accept}}
"#,
        wasm.display()
    );
    std::fs::write(&path, yaml).unwrap();
    path
}

#[test]
fn the_knock_helper_in_rust_c_and_python_runs_on_a_capture() {
    let dir = TempDir::new("helper-examples");
    let cap = capture(&dir);
    let mut expects = Vec::new();
    for (lang, wasm, memory) in build_all() {
        let cfg = config(&dir, lang, &wasm, memory);
        let report = dir.join(&format!("{lang}.jsonl"));
        let o = brickwall(&[
            &"replay",
            &cap,
            &"--config",
            &cfg,
            &"--report",
            &report,
            &"-q",
            &"--ct-list",
        ]);
        assert_code(&o, 0);
        let lines = report_lines(&std::fs::read(&report).unwrap());
        let states: Vec<(Option<&str>, &str)> = lines
            .iter()
            .map(|l| (l.ctstate.as_deref(), l.verdict.as_str()))
            .collect();
        assert_eq!(
            states,
            [
                (Some("NEW"), "accept"),
                (Some("RELATED"), "accept"),
                (Some("NEW"), "accept"),
                (Some("NEW"), "drop"),
            ],
            "{lang}: {lines:?}"
        );
        // The report says which helper saw the knock and what it expected.
        assert_eq!(lines[0].helper.as_deref(), Some("knock"), "{lang}");
        assert_eq!(lines[0].expected.len(), 1, "{lang}: {:?}", lines[0]);
        assert!(
            lines[0].expected[0].contains("src=10.0.0.2 dst=10.0.0.1 sport=0 dport=5555"),
            "{lang}: {:?}",
            lines[0].expected
        );
        assert!(
            lines[2].expected.is_empty(),
            "{lang}: HELLO expects nothing"
        );
        let listed = stdout(&o);
        assert!(
            listed.lines().any(|l| l.starts_with("tcp ")
                && l.contains("src=10.0.0.2 dst=10.0.0.1 sport=33000 dport=5555")),
            "{lang}: the RELATED connection is in the table:\n{listed}"
        );

        let mut run: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![
            &"helper",
            &"run",
            &wasm,
            &"--pcap",
            &cap,
            &"--ports",
            &"udp/7777",
        ];
        let mem = memory.to_string();
        run.extend([&"--max-memory" as &dyn AsRef<std::ffi::OsStr>, &mem]);
        let o = brickwall(&run);
        assert_code(&o, 0);
        let out = stdout(&o);
        let e: Vec<String> = out
            .lines()
            .filter(|l| l.contains(": expect "))
            .map(str::to_string)
            .collect();
        assert_eq!(e.len(), 1, "{lang}: one expectation:\n{out}");
        expects.push(e[0].clone());
    }
    assert_eq!(
        expects[0],
        "packet 0 conn 0 original: expect tcp 10.0.0.2:* -> 10.0.0.1:5555 (any-src-port, timeout 300s)"
    );
    assert!(expects.iter().all(|e| *e == expects[0]), "{expects:?}");
}

#[test]
fn helper_new_writes_a_skeleton_that_helper_build_makes_a_working_helper_in_each_language() {
    let dir = TempDir::new("helper-new");
    let cap = capture(&dir);
    for (lang, memory) in [("rust", 4u64 << 20), ("c", 4 << 20), ("python", 64 << 20)] {
        let name = format!("bell-{lang}");
        let folder = dir.join(&name);
        let o = brickwall(&[
            &"helper", &"new", &name, &"--lang", &lang, &"--dir", &folder,
        ]);
        assert_code(&o, 0);
        assert!(
            stdout(&o).contains("build it: brickwall helper build"),
            "{}",
            stdout(&o)
        );
        // The folder is not written over.
        let again = brickwall(&[
            &"helper", &"new", &name, &"--lang", &lang, &"--dir", &folder,
        ]);
        assert_code(&again, 1);
        assert!(
            stderr(&again).contains("is not empty"),
            "{}",
            stderr(&again)
        );

        let wasm = dir.join(&format!("{name}.wasm"));
        // Rust shares the examples' target directory: the SDK is built once.
        let work = scratch(if lang == "rust" { "wasm-guests" } else { &name });
        let o = brickwall(&[
            &"helper",
            &"build",
            &folder,
            &"-o",
            &wasm,
            &"--target-dir",
            &work,
        ]);
        assert_code(&o, 0);
        let o = brickwall(&[&"helper", &"check", &wasm]);
        assert_code(&o, 0);
        let mem = memory.to_string();
        let o = brickwall(&[
            &"helper",
            &"run",
            &wasm,
            &"--pcap",
            &cap,
            &"--ports",
            &"udp/7777",
            &"--max-memory",
            &mem,
            &"--name",
            &name,
        ]);
        assert_code(&o, 0);
        let out = stdout(&o);
        let e: Vec<&str> = out.lines().filter(|l| l.contains(": expect ")).collect();
        assert_eq!(
            e,
            ["packet 0 conn 0 original: expect tcp 10.0.0.2:* -> 10.0.0.1:5555 (any-src-port, timeout 300s)"],
            "{lang}:\n{out}"
        );
    }
}

#[test]
fn helper_new_and_build_name_what_is_wrong() {
    let dir = TempDir::new("helper-new-errors");
    let o = brickwall(&[&"helper", &"new", &"Bad_Name", &"--lang", &"c"]);
    assert_code(&o, 1);
    assert!(
        stderr(&o).contains("is not a helper name"),
        "{}",
        stderr(&o)
    );
    let o = brickwall(&[&"helper", &"new", &"x", &"--lang", &"cobol"]);
    assert_code(&o, 2);
    let empty = dir.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let out = dir.join("x.wasm");
    let o = brickwall(&[&"helper", &"build", &empty, &"-o", &out]);
    assert_code(&o, 1);
    assert!(stderr(&o).contains("holds no helper"), "{}", stderr(&o));
    let o = brickwall(&[
        &"helper",
        &"new",
        &"x",
        &"--lang",
        &"rust",
        &"--dir",
        &dir.join("r"),
        &"--sdk",
        &dir.join("no-sdk"),
    ]);
    assert_code(&o, 1);
    assert!(stderr(&o).contains("--sdk"), "{}", stderr(&o));
}
