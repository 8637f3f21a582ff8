//! A misbehaving helper inside a real replay (engine, conntrack, filter): a helper
//! that loops, traps or asks for expectations, assigned to udp/69. Every packet still
//! gets its verdict, the helper is disabled after its allowed failures, the
//! expectation it made before that still makes the answer RELATED, and the control
//! channel's helper counters say what happened. A reload through the control channel
//! then swaps in a working component while the engine runs.

mod common;

use brickwall_core::io::PcapSource;
use brickwall_core::pcap::PcapWriter;
use brickwall_core::replay::{replay, ReplayOptions};
use brickwall_core::wire::LinkType;
use brickwall_helper_build::RustGuest;
use common::{engine, report_lines, udp4, SharedBuf, TempDir};
use std::path::PathBuf;

const CLIENT: [u8; 4] = [10, 0, 0, 1];
const SERVER: [u8; 4] = [10, 0, 0, 2];

/// The misbehaving test helper, built into a component.
fn misbehave(dir: &TempDir) -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let bytes = RustGuest {
        manifest: root.join("Cargo.toml"),
        package: "brickwall-helper-misbehave".into(),
        target_dir: PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wasm-guests"),
    }
    .build()
    .unwrap_or_else(|e| panic!("{e}"));
    let p = dir.join("misbehave.wasm");
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn a_misbehaving_helper_never_stops_traffic_and_is_disabled_after_its_failures() {
    let dir = TempDir::new("helper-sandbox");
    let wasm = misbehave(&dir);
    let yaml = format!(
        "plugins:
  - builtin: conntrack
    config:
      helper_sandbox: {{budget: {{fuel: 5000000}}, cache_dir: ''}}
      helpers:
        - {{name: bad, wasm: '{}', ports: [udp/69], max_failures: 2}}
  - builtin: filter
    config:
      chains: [{{hook: forward, policy: accept, rules: []}}]
",
        wasm.display()
    );
    let e = engine(&yaml);
    // One connection per misbehaviour (client ports 1001..), then the answer to the
    // expectation made while the helper still worked.
    let sends: [(u16, &[u8]); 5] = [
        (1001, b"expect"),
        (1002, b"loop"),
        (1003, b"trap"),
        (1004, b"expect"),
        (1005, b"expect"),
    ];
    let pcap = dir.join("in.pcap");
    let mut w = PcapWriter::create(&pcap, LinkType::Ethernet, true).unwrap();
    let mut t = 1_700_000_000_000_000_000u64;
    for (port, payload) in sends {
        let f = udp4(CLIENT, SERVER, port, 69, payload);
        w.write(t, &f, f.len() as u32).unwrap();
        t += 1_000_000;
    }
    let answer = udp4(SERVER, CLIENT, 40000, 1001, b"\x00\x03\x00\x01data");
    w.write(t, &answer, answer.len() as u32).unwrap();
    w.flush().unwrap();
    drop(w);

    let buf = SharedBuf::default();
    let mut src = PcapSource::open(&pcap).unwrap();
    replay(
        &e,
        &mut src,
        ReplayOptions {
            report: Some(Box::new(buf.clone())),
            ..ReplayOptions::default()
        },
    )
    .unwrap();
    let lines = report_lines(&buf.contents());
    assert_eq!(lines.len(), 6);
    assert!(
        lines.iter().all(|l| l.verdict == "accept"),
        "{:?}",
        lines.iter().map(|l| &l.verdict).collect::<Vec<_>>()
    );
    // The first request's expectation survives the helper's later failures.
    assert_eq!(lines[0].expected.len(), 1, "{:?}", lines[0]);
    assert_eq!(lines[5].ctstate.as_deref(), Some("RELATED"));
    // Disabled after the loop and the trap: the later requests expect nothing.
    assert!(lines[3].expected.is_empty() && lines[4].expected.is_empty());

    let out = e
        .plugin("conntrack")
        .unwrap()
        .control(br#"{"op":"helpers"}"#)
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let s = &v["helpers"][0]["stats"];
    assert_eq!(v["helpers"][0]["name"], "bad");
    assert_eq!(s["budget_exhausted"], 1, "{s}");
    assert_eq!(s["traps"], 1, "{s}");
    assert_eq!(s["disabled"], true, "{s}");
    assert_eq!(s["expectations"], 1, "{s}");

    // Replace the component with a working one (the bundled TFTP helper) and reload it
    // through the control channel: enabled again, counted, and it answers.
    let tftp = brickwall_helpers::builtin::bundled("tftp").unwrap();
    std::fs::write(&wasm, tftp).unwrap();
    let ct = e.plugin("conntrack").unwrap();
    let out = ct
        .control(br#"{"op":"helper-reload","name":"bad"}"#)
        .unwrap();
    assert_eq!(out, br#"{"reloaded":true}"#);
    let v: serde_json::Value =
        serde_json::from_slice(&ct.control(br#"{"op":"helpers"}"#).unwrap()).unwrap();
    let s = &v["helpers"][0]["stats"];
    assert_eq!(
        (s["disabled"].as_bool(), s["reloads"].as_u64()),
        (Some(false), Some(1)),
        "{s}"
    );
    let err = ct
        .control(br#"{"op":"helper-reload","name":"nope"}"#)
        .unwrap_err();
    assert!(err.contains("no helper `nope`"), "{err}");

    // New traffic after the reload: a TFTP read request gets its expectation.
    let pcap2 = dir.join("after.pcap");
    let mut w = PcapWriter::create(&pcap2, LinkType::Ethernet, true).unwrap();
    let f = udp4(CLIENT, SERVER, 2001, 69, b"\x00\x01file\x00octet\x00");
    w.write(t + 1_000_000_000, &f, f.len() as u32).unwrap();
    w.flush().unwrap();
    drop(w);
    let buf = SharedBuf::default();
    let mut src = PcapSource::open(&pcap2).unwrap();
    replay(
        &e,
        &mut src,
        ReplayOptions {
            report: Some(Box::new(buf.clone())),
            ..ReplayOptions::default()
        },
    )
    .unwrap();
    let lines = report_lines(&buf.contents());
    assert_eq!(lines[0].expected.len(), 1, "{:?}", lines[0]);
}

/// A helper call that runs to its deadline holds no lock other traffic needs: while a
/// looping call spends its 400 ms, packets of other connections pass conntrack at
/// their usual speed (they used to wait for the call, behind the tracker's lock).
#[test]
fn a_looping_helper_call_does_not_stall_other_connections() {
    let dir = TempDir::new("helper-unlocked");
    let wasm = misbehave(&dir);
    let yaml = format!(
        "plugins:
  - builtin: conntrack
    config:
      helper_sandbox: {{budget: {{deadline_ms: 400}}, cache_dir: ''}}
      helpers:
        - {{name: bad, wasm: '{}', ports: [udp/69], max_failures: 100}}
",
        wasm.display()
    );
    let e = engine(&yaml);
    let table = e.registry().snapshot();
    let (mut slow_pl, mut fast_pl) = (e.pipeline(), e.pipeline());
    let started = std::sync::Barrier::new(2);
    let (slow_took, worst) = std::thread::scope(|s| {
        let slow = s.spawn(|| {
            started.wait();
            let t0 = std::time::Instant::now();
            let mut p = common::packet(&udp4(CLIENT, SERVER, 1002, 69, b"loop"));
            slow_pl.process(&table, &mut p);
            t0.elapsed()
        });
        started.wait();
        std::thread::sleep(std::time::Duration::from_millis(100));
        let mut worst = std::time::Duration::ZERO;
        for port in 0..20u16 {
            let t0 = std::time::Instant::now();
            let mut p = common::packet(&udp4(CLIENT, SERVER, 3000 + port, 53, b"q"));
            fast_pl.process(&table, &mut p);
            worst = worst.max(t0.elapsed());
        }
        (slow.join().unwrap(), worst)
    });
    assert!(
        slow_took >= std::time::Duration::from_millis(300),
        "the loop ran to its deadline ({slow_took:?})"
    );
    assert!(
        worst < std::time::Duration::from_millis(150),
        "a packet of another connection waited {worst:?} for the helper's call"
    );
}
