//! Bad configs: each init error names the field path and what is wrong; errors in a
//! rules file also name the file, line and column.

mod common;

use brickwall_filter::Filter;
use brickwall_hooks::{Host, Plugin};
use common::init_err;
use std::path::PathBuf;

/// One rule in a forward chain, with the given rule body (flow YAML).
fn rule(body: &str) -> String {
    format!("chains: [{{hook: forward, rules: [{{action: accept}}, {{action: accept}}, {body}]}}]")
}

fn expect(yaml: &str, path: &str, message: &str) {
    let e = init_err(yaml);
    assert!(
        e.starts_with(&format!("{path}: ")) && e.contains(message),
        "config:\n{yaml}\nerror:    {e}\nexpected: {path}: ...{message}..."
    );
}

#[test]
fn reversed_port_range() {
    expect(
        &rule(r#"{match: {proto: tcp, dport: [21, 80, "90-80"]}, action: accept}"#),
        "chains[0].rules[2].match.dport",
        r#"invalid port range "90-80""#,
    );
    expect(
        &rule(r#"{match: {sport: 70000}}"#),
        "chains[0].rules[2].match.sport",
        "port 70000 is out of range",
    );
    expect(
        &rule(r#"{match: {dport: "http"}}"#),
        "chains[0].rules[2].match.dport",
        r#"not a port or "lo-hi" range: "http""#,
    );
}

#[test]
fn notrack_outside_raw_chains() {
    expect(
        &rule("{match: {proto: tcp}, action: notrack}"),
        "chains[0].rules[2].action",
        "notrack is only valid in a raw chain",
    );
}

#[test]
fn raw_chain_on_a_filter_only_hook() {
    for hook in ["input", "forward", "postrouting"] {
        expect(
            &format!("chains: [{{hook: {hook}, type: raw}}]"),
            "chains[0].type",
            &format!("a raw chain attaches only to prerouting or output, not {hook}"),
        );
    }
}

#[test]
fn conntrack_matches_in_raw_chains() {
    expect(
        "chains: [{hook: prerouting, type: raw, rules: [{match: {ct_state: new}, action: notrack}]}]",
        "chains[0].rules[0].match.ct_state",
        "runs before conntrack",
    );
    expect(
        "chains: [{hook: output, type: raw, rules: [{action: {ct_mark_set: 1}}]}]",
        "chains[0].rules[0].action",
        "no connection yet",
    );
    expect(
        "chains: [{hook: prerouting, type: raw, rules: [{match: {ct_helper: ftp}}]}]",
        "chains[0].rules[0].match.ct_helper",
        "no connection helper yet",
    );
}

#[test]
fn labels_out_of_range_unknown_or_before_conntrack() {
    expect(
        &rule("{match: {ct_label: 128}, action: accept}"),
        "chains[0].rules[2].match.ct_label",
        "label 128: out of range (0-127)",
    );
    expect(
        &rule("{action: {ct_label_set: no-such-label-name}}"),
        "chains[0].rules[2].action",
        "unknown label `no-such-label-name`",
    );
    expect(
        "chains: [{hook: prerouting, type: raw, rules: [{match: {ct_label: 1}}]}]",
        "chains[0].rules[0].match.ct_label",
        "no connection labels yet",
    );
}

#[test]
fn helper_names_longer_than_linux_allows() {
    expect(
        &rule("{match: {ct_helper: a-helper-name-of-17}, action: accept}"),
        "chains[0].rules[2].match.ct_helper",
        "a helper name of 1 to 16 bytes",
    );
}

#[test]
fn unknown_state_names() {
    expect(
        &rule("{match: {ct_state: [new, establised]}, action: accept}"),
        "chains[0].rules[2].match.ct_state[1]",
        "unknown value `establised`, expected one of `new`, `established`",
    );
    expect(
        &rule("{match: {ct_state: bogus}}"),
        "chains[0].rules[2].match.ct_state",
        "unknown value `bogus`",
    );
}

#[test]
fn bad_prefixes_and_addresses() {
    expect(
        &rule(r#"{match: {saddr: "10.0.0.1/8"}}"#),
        "chains[0].rules[2].match.saddr",
        r#"prefix "10.0.0.1/8" has host bits set (the network is 10.0.0.0/8)"#,
    );
    expect(
        &rule(r#"{match: {daddr: ["10.0.0.0/8", "10.0.0.0/33"]}}"#),
        "chains[0].rules[2].match.daddr",
        r#"invalid prefix length in "10.0.0.0/33""#,
    );
    expect(
        &rule(r#"{match: {daddr: "10.0.0"}}"#),
        "chains[0].rules[2].match.daddr",
        r#"invalid address "10.0.0""#,
    );
    expect(
        &rule(r#"{match: {family: ipv6, saddr: "10.0.0.0/8"}}"#),
        "chains[0].rules[2].match.saddr",
        "is an IPv4 prefix but the rule matches only IPv6 packets",
    );
    expect(
        &rule(r#"{match: {proto: icmp, saddr: "2001:db8::/32"}}"#),
        "chains[0].rules[2].match.saddr",
        "is an IPv6 prefix but the rule matches only IPv4 packets",
    );
}

#[test]
fn unknown_fields_hooks_policies_and_actions() {
    expect(
        &rule("{match: {prot: tcp}}"),
        "chains[0].rules[2].match.prot",
        "unknown field `prot`, expected one of `ct_state`",
    );
    expect(
        "chains: [{hook: inptu}]",
        "chains[0].hook",
        "unknown value `inptu`",
    );
    expect(
        "chains: [{hook: input, policy: reject}]",
        "chains[0].policy",
        "unknown value `reject`, expected `accept` or `drop`",
    );
    expect(
        &rule("{action: refuse}"),
        "chains[0].rules[2].action",
        "unknown action `refuse`, expected one of accept, drop, queue",
    );
    expect(
        &rule("{action: {queue: {num: 70000}}}"),
        "chains[0].rules[2].action.queue.num",
        "invalid value: integer `70000`, expected u16",
    );
    expect(
        &rule("{action: {drop: {}, accept: {}}}"),
        "chains[0].rules[2].action",
        "one action per map",
    );
    expect(
        "chain: []",
        "chain",
        "unknown field `chain`, expected one of `rules_file`, `ruleset`, `ruleset_text`, `chains`",
    );
    expect(
        &rule("{match: {iif: no-such-if0}}"),
        "chains[0].rules[2].match.iif",
        "no interface `no-such-if0` here (a name is looked up when the rules load)",
    );
}

#[test]
fn protocol_port_and_icmp_mismatches() {
    expect(
        &rule("{match: {proto: tcpp}}"),
        "chains[0].rules[2].match.proto",
        r#"unknown protocol "tcpp""#,
    );
    expect(
        &rule("{match: {proto: icmp, dport: 80}}"),
        "chains[0].rules[2].match.dport",
        "ports match only tcp, udp or sctp packets, and proto is icmp",
    );
    expect(
        &rule("{match: {proto: tcp, icmp_type: echo-request}}"),
        "chains[0].rules[2].match.icmp_type",
        "icmp_type matches only icmp or icmpv6 packets, and proto is tcp",
    );
    expect(
        &rule("{match: {proto: icmp, icmp_type: nd-neighbor-solicit}}"),
        "chains[0].rules[2].match.icmp_type",
        r#"unknown ICMP type "nd-neighbor-solicit""#,
    );
    expect(
        &rule("{match: {family: ipv6, proto: icmp}}"),
        "chains[0].rules[2].match.proto",
        "icmp is for IPv4 but the rule has family ipv6",
    );
}

#[test]
fn marks_actions_and_lists() {
    expect(
        &rule(r#"{match: {mark: "0x110/0xff"}}"#),
        "chains[0].rules[2].match.mark",
        "value 0x110 has bits outside mask 0xff",
    );
    expect(
        &rule(r#"{action: {mark_set: "0xzz"}}"#),
        "chains[0].rules[2].action",
        r#"mark_set: not a 32-bit number: "0xzz""#,
    );
    expect(
        &rule("{action: [drop, {log: {prefix: late}}]}"),
        "chains[0].rules[2].action",
        "must come last",
    );
    expect(
        &rule("{action: {log: {rate: 0}}}"),
        "chains[0].rules[2].action",
        "log rate must be at least 1",
    );
    expect(
        &rule("{match: {dport: []}}"),
        "chains[0].rules[2].match.dport",
        "an empty list matches nothing",
    );
}

#[test]
fn duplicate_chains() {
    expect(
        "chains: [{hook: input}, {hook: forward}, {hook: input, policy: drop}]",
        "chains[2].hook",
        "a filter chain on input is already defined (config chains[0])",
    );
    // A raw and a filter chain on the same hook are two different registrations.
    assert!(Filter::init(
        &common::json("chains: [{hook: output, type: raw}, {hook: output}]"),
        Host::new(std::ptr::null(), "filter"),
    )
    .is_ok());
}

/// A fresh directory under the system's temporary directory.
fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("brickwall-filter-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn with_rules_file(name: &str, text: &str, inline: &str) -> (String, Result<Filter, String>) {
    let dir = temp_dir(name);
    let file = dir.join("fw-rules.yaml");
    std::fs::write(&file, text).unwrap();
    let file = file.display().to_string();
    let cfg = format!("{{\"rules_file\": {file:?}{inline}}}");
    let r = Filter::init(&cfg, Host::new(std::ptr::null(), "filter"));
    let _ = std::fs::remove_dir_all(&dir);
    (file, r)
}

#[test]
fn rules_file_semantic_error_names_file_line_and_column() {
    let text = "\
# firewall rules
chains:
  - hook: forward
    policy: drop
    rules:
      - match: {ct_state: [established, related]}
        action: accept
      - match: {proto: tcp, dport: [21, \"90-80\"]}
        action: accept
";
    let (file, r) = with_rules_file("semantic", text, "");
    let e = r.err().unwrap();
    assert_eq!(
        e,
        format!(
            "{file}:8:36: chains[0].rules[1].match.dport: invalid port range \"90-80\": \
             90 is above 80 (write the low end first)"
        )
    );
}

#[test]
fn rules_file_parse_error_names_file_line_and_column() {
    let text = "\
chains:
  - hook: input
    rules:
      - action: accept
      - match:
          proto: tcp
          dprot: 22
        action: drop
";
    let (file, r) = with_rules_file("parse", text, "");
    let e = r.err().unwrap();
    assert!(
        e.starts_with(&format!(
            "{file}:7:11: chains[0].rules[1].match.dprot: unknown field `dprot`"
        )),
        "{e}"
    );
}

#[test]
fn rules_file_cross_field_errors_point_at_the_field() {
    let text = "chains:\n  - hook: input\n    type: raw\n";
    let (file, r) = with_rules_file("raw", text, "");
    assert_eq!(
        r.err().unwrap(),
        format!("{file}:3:11: chains[0].type: a raw chain attaches only to prerouting or output, not input")
    );
    let text = "chains:\n  - hook: output\n    rules:\n      - match: {proto: udp}\n        action: [counter, notrack]\n";
    let (file, r) = with_rules_file("notrack", text, "");
    let e = r.err().unwrap();
    assert!(
        e.starts_with(&format!(
            "{file}:5:17: chains[0].rules[0].action: notrack is only valid"
        )),
        "{e}"
    );
}

#[test]
fn rules_file_duplicates_an_inline_chain() {
    let text = "chains:\n  - hook: output\n  - hook: forward\n";
    let (file, r) = with_rules_file("dup", text, r#", "chains": [{"hook": "forward"}]"#);
    assert_eq!(
        r.err().unwrap(),
        format!(
            "{file}:3:11: chains[1].hook: a filter chain on forward is already defined \
             (config chains[0]); one chain per type and hook"
        )
    );
}

#[test]
fn rules_file_missing_or_broken() {
    let cfg = r#"{"rules_file": "/nonexistent/brickwall/fw-rules.yaml"}"#;
    let e = Filter::init(cfg, Host::new(std::ptr::null(), "filter"))
        .err()
        .unwrap();
    assert!(
        e.starts_with("rules_file: cannot read /nonexistent/brickwall/fw-rules.yaml: "),
        "{e}"
    );
    let (file, r) = with_rules_file("syntax", "chains:\n  - hook: forward\n   rules: []\n", "");
    let e = r.err().unwrap();
    assert!(e.starts_with(&format!("{file}:3:4: ")), "{e}");
    let (file, r) = with_rules_file("type", "chains: 5\n", "");
    assert_eq!(
        r.err().unwrap(),
        format!("{file}:1:9: chains: invalid type: integer `5`, expected a sequence")
    );
}

#[test]
fn json_config_errors() {
    let e = Filter::init("[1, 2]", Host::new(std::ptr::null(), "filter"))
        .err()
        .unwrap();
    assert!(
        e.starts_with("the filter's config is a map with `chains`"),
        "{e}"
    );
    let e = Filter::init(
        r#"{"chains": [{"hook": "input"}]} x"#,
        Host::new(std::ptr::null(), "filter"),
    )
    .err()
    .unwrap();
    assert!(e.starts_with("config: trailing characters"), "{e}");
}

#[test]
fn reject_where_it_cannot_answer() {
    expect(
        &rule("{action: {reject: {with: tcp-reset}}}"),
        "chains[0].rules[2].action",
        "reject with tcp-reset needs the rule to match proto tcp",
    );
    expect(
        "chains: [{hook: prerouting, type: raw, rules: [{action: reject}]}]",
        "chains[0].rules[0].action",
        "reject is not valid in a raw chain",
    );
    expect(
        &rule("{action: {reject: {with: sorry}}}"),
        "chains[0].rules[2].action.reject.with",
        "unknown value `sorry`",
    );
}
