//! The example plugin `connlog` (examples/plugins/connlog), built as a shared object,
//! imports conntrack's service: listed before conntrack in the config, it still loads
//! after it; after a replay of a shared capture and a flush of the table, it has
//! written one line per connection, whose protocol, state, tuples and counters are
//! those `conntrack -L` listed just before.

mod common;

use brickwall_core::config::Config;
use brickwall_core::engine::Engine;
use brickwall_core::io::PcapSource;
use brickwall_core::replay::{replay, ReplayOptions};
use common::{example_plugin_so, pcaps_dir, TempDir};
use std::path::Path;
use std::time::{Duration, Instant};

/// The words of a listing line that both sides print: the protocol, the state, and
/// each direction's tuple and counters (`key=value`), in order.
fn comparable(tokens: &[&str]) -> Vec<String> {
    const KEYS: [&str; 11] = [
        "src", "dst", "sport", "dport", "type", "code", "id", "srckey", "dstkey", "packets",
        "bytes",
    ];
    tokens
        .iter()
        .filter(|t| match t.split_once('=') {
            Some((k, _)) => KEYS.contains(&k),
            None => !t.starts_with('['),
        })
        .map(|t| t.to_string())
        .collect()
}

/// A `conntrack -L` line without its protocol number and timeout.
fn listed(line: &str) -> Vec<String> {
    let t: Vec<&str> = line.split_whitespace().collect();
    let mut words = vec![t[0]];
    words.extend(&t[3..]);
    comparable(&words)
}

/// A connlog line without its `ended id=N` head.
fn logged(line: &str) -> Vec<String> {
    let t: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(t[0], "ended", "{line}");
    assert!(t[1].starts_with("id="), "{line}");
    comparable(&t[2..])
}

fn run(rel: &str) {
    let so = example_plugin_so("brickwall-example-connlog");
    let dir = TempDir::new("connlog");
    let out = dir.join("ended.log");
    let yaml = format!(
        "plugins:\n  - path: {}\n    config: {{output: {}}}\n  - builtin: conntrack\n    config: {{accounting: true}}\n",
        so.display(),
        out.display()
    );
    let cfg = Config::parse(&yaml, "connlog.yaml").unwrap();
    let engine = Engine::from_config(&cfg, Path::new("/"), "connlog.yaml").unwrap();
    let order: Vec<&str> = engine
        .plugins
        .iter()
        .map(|s| s.plugin.name.as_str())
        .collect();
    assert_eq!(order, ["conntrack", "connlog"], "the exporter loads first");
    assert_eq!(
        engine.plugin("connlog").unwrap().imported(),
        [("conntrack".to_string(), "conntrack".to_string())]
    );

    let mut src = PcapSource::open(&pcaps_dir().join(rel)).unwrap();
    let s = replay(&engine, &mut src, ReplayOptions::default()).unwrap();
    let list = common::ct_table(&engine, s.last_ts_ns);
    let mut want: Vec<Vec<String>> = list.lines().map(listed).collect();
    assert!(!want.is_empty(), "{rel}: no connections");
    engine
        .plugin("conntrack")
        .unwrap()
        .control(br#"{"op":"flush"}"#)
        .unwrap();

    let connlog = engine.plugin("connlog").unwrap();
    let written = || -> usize {
        let v: serde_json::Value =
            serde_json::from_slice(&connlog.control(b"stats").unwrap()).unwrap();
        v["written"].as_u64().unwrap() as usize
    };
    let end = Instant::now() + Duration::from_secs(10);
    while written() < want.len() && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(20));
    }
    let text = std::fs::read_to_string(&out).unwrap();
    let mut got: Vec<Vec<String>> = text.lines().map(logged).collect();
    want.sort();
    got.sort();
    assert_eq!(got, want, "{rel}:\nconntrack -L:\n{list}\nconnlog:\n{text}");
    // Counters are there, and add up to something.
    assert!(text.contains(" packets="), "{text}");
}

#[test]
fn connlog_logs_every_connection_that_ends_as_conntrack_listed_it() {
    run("zeek/ftp/ipv6.pcap");
    run("suricata-verify/output-eve-tftp-01/input.pcap");
}

/// A reload that replaces conntrack reloads connlog too, so that it imports from the
/// new instance; a config that drops conntrack but keeps connlog is refused and the
/// running plugins stay.
#[test]
fn a_reload_rebinds_importers_and_refuses_to_orphan_them() {
    let so = example_plugin_so("brickwall-example-connlog");
    let dir = TempDir::new("connlog-reload");
    let out = dir.join("ended.log");
    let config = |ct: &str| {
        let mut y = format!(
            "plugins:\n  - path: {}\n    config: {{output: {}}}\n",
            so.display(),
            out.display()
        );
        y.push_str(ct);
        Config::parse(&y, "connlog.yaml").unwrap()
    };
    let first = config("  - builtin: conntrack\n");
    let mut engine = Engine::from_config(&first, Path::new("/"), "connlog.yaml").unwrap();
    let before = engine.plugin("conntrack").unwrap().clone();

    let moved = config("  - builtin: conntrack\n    priorities: {conntrack-in: -199}\n");
    let report = engine
        .reload(&moved, Path::new("/"), "connlog.yaml")
        .unwrap();
    assert!(
        report.notes.contains(&"conntrack: replaced".to_string())
            && report.notes.contains(
                &"connlog: reloaded (it imports from conntrack, which was replaced)".to_string()
            ),
        "{:?}",
        report.notes
    );
    let now = engine.plugin("conntrack").unwrap().clone();
    assert!(!std::sync::Arc::ptr_eq(&before, &now));
    let connlog = engine.plugin("connlog").unwrap();
    assert!(connlog.imports_from(&now) && !connlog.imports_from(&before));

    let orphaning = config("");
    let err = engine
        .reload(&orphaning, Path::new("/"), "connlog.yaml")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("plugin connlog imports a service from plugin conntrack, which this config no longer loads"),
        "{err}"
    );
    let names: Vec<&str> = engine
        .plugins
        .iter()
        .map(|s| s.plugin.name.as_str())
        .collect();
    assert_eq!(names, ["conntrack", "connlog"], "the running plugins stay");
}
