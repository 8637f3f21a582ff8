//! The control entry point (`list`, `reset`, errors), per-rule and policy counters, the
//! text form of rules, and the rate-limited log through a host that records messages.

mod common;

use brickwall_filter::Filter;
use brickwall_hooks::abi::HostApi;
use brickwall_hooks::{CtInfo, Host, PacketView, Plugin, Verdict};
use common::*;
use serde_json::json;
use std::sync::Mutex;

const A: [u8; 4] = [10, 0, 0, 1];
const B: [u8; 4] = [10, 1, 0, 2];

const RULES: &str = r#"
chains:
  - hook: forward
    policy: drop
    rules:
      - match: {ct_state: [established, related]}
        action: accept
      - match: {ct_state: invalid}
        action: {drop: {}}
      - match: {proto: tcp, dport: [21, 80, "8000-8100"], daddr: 10.1.0.0/16, saddr: "!192.168.0.0/16", iif: 2, oif: 3}
        action: accept
        counter: true
        comment: "ftp and web"
      - match: {proto: icmp, icmp_type: echo-request}
        action: accept
      - match: {proto: udp, dport: 69}
        action: {queue: {num: 3, bypass: true}}
      - match: {mark: "0x10/0xff", ct_mark: 5}
        action: {mark_set: 0x20}
      - match: {ct_helper: ftp, ct_label: [1, 2]}
        action: [{ct_label_set: 9}, {ct_helper_set: tftp}]
      - action: {log: {prefix: "dropped: ", rate: 5}}
  - hook: prerouting
    type: raw
    rules:
      - match: {proto: tcp, sport: "!1024-65535"}
        action: notrack
"#;

#[test]
fn list_shows_chains_rules_text_and_counters() {
    let f = filter(RULES);
    let mut p = tcp4(A, B, 40000, 80).ifs(2, 3).ct(CtInfo::New);
    assert_eq!(run(&f, "filter-forward", &mut p), Verdict::Accept);
    let mut p = tcp4(A, B, 40000, 81).ct(CtInfo::New);
    let len = p.l3_len();
    assert_eq!(run(&f, "filter-forward", &mut p), Verdict::Drop(1));
    let mut p = tcp4(A, B, 40000, 81).ct(CtInfo::Established);
    assert_eq!(run(&f, "filter-forward", &mut p), Verdict::Accept);
    let mut p = tcp4(A, B, 40000, 81).ct(CtInfo::Established);
    assert_eq!(run(&f, "filter-forward", &mut p), Verdict::Accept);

    let l = list(&f);
    let chains = l["chains"].as_array().unwrap();
    assert_eq!(chains.len(), 2);
    // Registration order: raw-prerouting first.
    assert_eq!(chains[0]["name"], "raw-prerouting");
    assert_eq!(chains[0]["priority"], -300);
    assert_eq!(
        chains[0]["rules"][0]["text"],
        "tcp sport != 1024-65535 notrack"
    );
    let fwd = &chains[1];
    assert_eq!(fwd["name"], "filter-forward");
    assert_eq!(fwd["registration"], "filter-forward");
    assert_eq!(fwd["hook"], "forward");
    assert_eq!(fwd["type"], "filter");
    assert_eq!(fwd["priority"], 0);
    assert_eq!(fwd["source"], "config");
    assert_eq!(fwd["policy"], "drop");
    assert_eq!(
        fwd["text"],
        "type filter hook forward priority filter; policy drop;"
    );
    assert_eq!(fwd["policy_packets"], 1);
    assert_eq!(fwd["policy_bytes"], len);
    let texts: Vec<&str> = fwd["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        [
            "ct state established,related accept",
            "ct state invalid drop",
            "iif 2 oif 3 ip saddr != 192.168.0.0/16 ip daddr 10.1.0.0/16 tcp dport { 21, 80, 8000-8100 } counter accept comment \"ftp and web\"",
            "icmp type echo-request accept",
            "udp dport 69 queue num 3 bypass",
            "ct mark 0x5 meta mark and 0xff == 0x10 meta mark set 0x20",
            "ct helper \"ftp\" ct label { 1, 2 } ct label set 9 ct helper set \"tftp\"",
            "log prefix \"dropped: \"",
        ]
    );
    let r0 = &fwd["rules"][0];
    assert_eq!(r0["packets"], 2);
    assert_eq!(r0["bytes"], 2 * len);
    assert_eq!(fwd["rules"][2]["packets"], 1);
    assert_eq!(fwd["rules"][2]["comment"], "ftp and web");
    assert_eq!(fwd["rules"][1]["comment"], json!(null));
    // The log rule saw the one packet that reached the policy.
    assert_eq!(fwd["rules"][7]["packets"], 1);
    assert_eq!(fwd["rules"][7]["log_suppressed"], 0);
}

#[test]
fn reset_zeroes_counters() {
    let f = filter(RULES);
    for _ in 0..3 {
        let mut p = tcp4(A, B, 1, 2).ct(CtInfo::New);
        run(&f, "filter-forward", &mut p);
        let mut p = tcp4(A, B, 1, 2);
        run(&f, "raw-prerouting", &mut p);
    }
    let l = list(&f);
    assert_eq!(l["chains"][1]["policy_packets"], 3);
    assert_eq!(l["chains"][0]["rules"][0]["packets"], 3);
    let mut out = Vec::new();
    f.control(b"reset\n", &mut out).unwrap();
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&out).unwrap(),
        json!({"reset": 2})
    );
    let l = list(&f);
    assert_eq!(l["chains"][1]["policy_packets"], 0);
    assert_eq!(l["chains"][1]["policy_bytes"], 0);
    assert_eq!(l["chains"][0]["rules"][0]["packets"], 0);
    assert_eq!(l["chains"][1]["rules"][6]["bytes"], 0);
}

#[test]
fn unknown_requests_name_the_valid_ones() {
    let f = filter("null");
    let mut out = Vec::new();
    let e = f.control(b"stats", &mut out).unwrap_err();
    assert_eq!(e, "op: unknown operation \"stats\" (list, reset)");
    let e = f.control(&[0xff, 0xfe], &mut out).unwrap_err();
    assert!(e.ends_with("(list, reset)"), "{e}");
    let e = f
        .control(br#"{"op": "list", "chain": "x"}"#, &mut out)
        .unwrap_err();
    assert_eq!(e, "\"chain\": unknown field (these requests take only op)");
    f.control(br#"{"op": "list"}"#, &mut out).unwrap();
    assert_eq!(list(&f), json!({"chains": []}));
}

#[test]
fn rules_file_chains_are_listed_with_their_source() {
    let dir = std::env::temp_dir().join(format!("brickwall-filter-{}-list", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("fw-rules.yaml");
    std::fs::write(
        &file,
        "chains:\n  - hook: input\n    name: inbound\n    policy: drop\n    rules:\n      - match: {proto: tcp, dport: 22}\n        action: accept\n",
    )
    .unwrap();
    let cfg = json!({
        "rules_file": file.display().to_string(),
        "chains": [{"hook": "output", "rules": [{"action": "drop"}]}],
    });
    let f = Filter::init(&cfg.to_string(), Host::new(std::ptr::null(), "filter")).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let mut p = tcp4(A, B, 1, 22);
    assert_eq!(run(&f, "filter-input", &mut p), Verdict::Accept);
    let mut p = tcp4(A, B, 1, 23);
    assert_eq!(run(&f, "filter-input", &mut p), Verdict::Drop(1));
    let mut p = tcp4(A, B, 1, 23);
    assert_eq!(run(&f, "filter-output", &mut p), Verdict::Drop(0));
    let l = list(&f);
    assert_eq!(l["chains"][0]["name"], "inbound");
    assert_eq!(l["chains"][0]["source"], file.display().to_string());
    assert_eq!(l["chains"][1]["source"], "config");
}

// A host that records log messages.
static LOGS: Mutex<Vec<(u8, String)>> = Mutex::new(Vec::new());

extern "C" fn log(level: u8, _p: *const u8, _pl: usize, msg: *const u8, len: usize) {
    let text = String::from_utf8_lossy(unsafe { std::slice::from_raw_parts(msg, len) });
    LOGS.lock().unwrap().push((level, text.into_owned()));
}
extern "C" fn annotate(_: *mut PacketView, _: *const u8, _: usize, _: *const u8, _: usize) {}
extern "C" fn replace(_: *mut PacketView, _: *const u8, _: usize) -> i32 {
    -1
}
extern "C" fn inject(_: *mut std::ffi::c_void, _: *const u8, _: usize) -> i32 {
    -1
}

static API: HostApi = HostApi {
    abi_version: brickwall_hooks::abi::ABI_VERSION,
    size: std::mem::size_of::<HostApi>() as u32,
    log,
    annotate,
    replace_datagram: replace,
    inject,
    inject_ctx: std::ptr::null_mut(),
    import: None,
    import_ctx: std::ptr::null_mut(),
    config_dir: None,
    config_dir_ctx: std::ptr::null_mut(),
    interface_address: None,
    interface_address_ctx: std::ptr::null_mut(),
    reply: None,
    reply_ctx: std::ptr::null_mut(),
};

#[test]
fn log_is_rate_limited_and_non_terminal() {
    let cfg = json(
        r#"
chains:
  - hook: input
    rules:
      - match: {proto: tcp}
        action: [{log: {prefix: "in: ", rate: 2, level: warn}}, {queue: {num: 4}}]
"#,
    );
    let f = Filter::init(&cfg, Host::new(&API, "filter")).unwrap();
    let t0 = 1_700_000_000_000_000_000u64;
    for i in 0..10 {
        let mut p = tcp4(A, B, 1000 + i, 22).ifs(2, 0);
        p.view.ts_ns = t0;
        assert_eq!(
            run(&f, "filter-input", &mut p),
            Verdict::Queue {
                num: 4,
                bypass: false
            }
        );
    }
    let mut p = tcp4(A, B, 5, 22);
    p.view.ts_ns = t0 + 1_000_000_000;
    run(&f, "filter-input", &mut p);
    let logs = LOGS.lock().unwrap().clone();
    assert_eq!(logs.len(), 3, "{logs:?}");
    assert!(logs.iter().all(|(level, _)| *level == 1));
    assert_eq!(
        logs[0].1,
        "in: HOOK=FORWARD IN=2 OUT=0 SRC=10.0.0.1 DST=10.1.0.2 LEN=45 PROTO=TCP SPT=1000 DPT=22"
    );
    assert!(
        logs[2].1.ends_with("SPT=5 DPT=22 (8 suppressed)"),
        "{}",
        logs[2].1
    );
    let l = list(&f);
    assert_eq!(l["chains"][0]["rules"][0]["log_suppressed"], 8);
    assert_eq!(l["chains"][0]["rules"][0]["packets"], 11);
    assert_eq!(
        l["chains"][0]["rules"][0]["text"],
        "meta l4proto tcp log prefix \"in: \" rate 2/second queue num 4"
    );
}
