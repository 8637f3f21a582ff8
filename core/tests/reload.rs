//! Reloading a running engine's config (`Engine::reload`, what SIGHUP does in live mode):
//! unchanged plugins keep running, conntrack takes its new section in place and keeps
//! its table, the filter is replaced by a fresh instance with the new rules, removed
//! plugins go, and a config that fails leaves the old plugins running.

mod common;

use brickwall_core::config::Config;
use brickwall_core::pipeline::Outcome;
use std::path::Path;

fn config(rules: &str, helpers: &str) -> String {
    format!(
        "plugins:\n  - builtin: conntrack\n    config:\n      helpers: {helpers}\n  \
         - builtin: filter\n    config:\n      chains:\n        - hook: forward\n          \
         policy: drop\n          rules:\n            - {{match: {{ct_state: [established, related]}}, action: accept}}\n{rules}"
    )
}

const UDP_53: &str = "            - {match: {proto: udp, dport: 53}, action: accept}\n";
const UDP_54: &str = "            - {match: {proto: udp, dport: 54}, action: accept}\n";
const TFTP: &str = "[{name: tftp, wasm: 'builtin:tftp', ports: [udp/69]}]";

fn send(engine: &brickwall_core::engine::Engine, dport: u16, sport: u16) -> Outcome {
    let mut pl = engine.pipeline();
    let table = engine.registry().snapshot();
    let frame = common::udp4([10, 0, 0, 1], [10, 0, 0, 2], sport, dport, b"q");
    pl.process_captured(&table, &mut common::packet(&frame))
}

/// The server's answer on the flow `send` opened from `client_port`.
fn reply(engine: &brickwall_core::engine::Engine, dport: u16, client_port: u16) -> Outcome {
    let mut pl = engine.pipeline();
    let table = engine.registry().snapshot();
    let frame = common::udp4([10, 0, 0, 2], [10, 0, 0, 1], dport, client_port, b"a");
    pl.process_captured(&table, &mut common::packet(&frame))
}

fn list(engine: &brickwall_core::engine::Engine) -> String {
    common::ct_table(engine, 0)
}

#[test]
fn a_reload_swaps_rules_and_keeps_the_table() {
    let mut engine = common::engine(&config(UDP_53, TFTP));
    assert_eq!(send(&engine, 53, 1000), Outcome::Forwarded);
    assert!(matches!(send(&engine, 54, 1001), Outcome::Dropped(_)));
    assert_eq!(list(&engine).lines().count(), 1);

    let cfg = Config::parse(&config(UDP_54, "[]"), "new.yaml").expect("parses");
    let report = engine
        .reload(&cfg, Path::new("."), "new.yaml")
        .expect("reloads");
    assert_eq!(
        report.notes,
        ["conntrack: reconfigured in place", "filter: replaced"]
    );
    // The new rules hold, the old are gone; the connection the old rules let in is
    // still known (its answer is ESTABLISHED and passes).
    assert_eq!(send(&engine, 54, 1002), Outcome::Forwarded);
    assert!(matches!(send(&engine, 53, 1003), Outcome::Dropped(_)));
    assert_eq!(reply(&engine, 53, 1000), Outcome::Forwarded);
    assert_eq!(list(&engine).lines().count(), 2);
    let helpers = engine
        .plugin("conntrack")
        .unwrap()
        .control(br#"{"op":"helpers"}"#)
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&helpers),
        r#"{"helpers":[],"expect_failed":0,"unknown_requested":0,"mangled":0,"mangle_failed":0}"#
    );
    // Exactly one filter is registered (the old one's callbacks are gone).
    let table = engine.registry().snapshot();
    let filters = table
        .iter()
        .filter(|(f, _, e)| *f == brickwall_hooks::Family::Ipv4 && &*e.name == "filter-forward")
        .count();
    assert_eq!(filters, 1);

    // The same config again: nothing changes.
    let report = engine
        .reload(&cfg, Path::new("."), "new.yaml")
        .expect("reloads");
    assert_eq!(report.notes, ["conntrack: unchanged", "filter: unchanged"]);
}

#[test]
fn a_failing_reload_leaves_the_running_plugins() {
    let mut engine = common::engine(&config(UDP_53, "[]"));
    let bad_rules = "            - {match: {proto: udp, dport: '90-80'}, action: accept}\n";
    let cfg = Config::parse(&config(bad_rules, "[]"), "bad.yaml").expect("parses");
    let e = engine
        .reload(&cfg, Path::new("."), "bad.yaml")
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("bad.yaml:12:43: plugins[1].config.chains[0].rules[1].match.dport: "),
        "{e}"
    );
    assert_eq!(send(&engine, 53, 1000), Outcome::Forwarded);
    assert!(matches!(send(&engine, 54, 1001), Outcome::Dropped(_)));
    assert_eq!(engine.plugins.len(), 2);

    // A plugin the config no longer names is unloaded.
    let only_ct = Config::parse(
        "plugins:\n  - builtin: conntrack\n    config:\n      helpers: []\n",
        "ct.yaml",
    )
    .unwrap();
    let report = engine
        .reload(&only_ct, Path::new("."), "ct.yaml")
        .expect("reloads");
    assert_eq!(report.notes, ["conntrack: unchanged", "filter: unloaded"]);
    assert_eq!(send(&engine, 54, 1002), Outcome::Forwarded);
}
