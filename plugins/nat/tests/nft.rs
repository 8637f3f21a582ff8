//! Nat chains in nftables' syntax: each reads as the YAML chain that says the same
//! (their config shapes are equal), what the plugin cannot do or nft refuses is an
//! error at its line and column, and mangled rulesets are errors, never panics.

use brickwall_nat::config::NatConfig;
use brickwall_nat::{nft, rules};
use brickwall_nft::mangle::Mangler;

/// The ruleset's nat chains and the YAML chains, each as its config shape's text.
fn same(ruleset: &str, yaml_chains: &str) {
    let ours: Vec<String> = nft::chains(ruleset)
        .unwrap_or_else(|e| panic!("{e}\n{ruleset}"))
        .iter()
        .map(|c| format!("{:?}", c.cfg))
        .collect();
    let want: NatConfig = serde_json::from_value(
        serde_yaml_ng::from_str::<serde_json::Value>(yaml_chains).expect("yaml"),
    )
    .expect("the YAML chains");
    let want: Vec<String> = want.chains.iter().map(|c| format!("{c:?}")).collect();
    assert_eq!(ours, want);
}

/// The plugin's section with the ruleset's text: loads, or the error.
fn load(ruleset: &str) -> Result<(), String> {
    let section = serde_json::json!({"ruleset": "nat.nft", "ruleset_text": ruleset});
    rules::load(&section.to_string()).map(|_| ())
}

/// Every statement, flag, family and priority form (`nft -c` takes it:
/// `core/tests/cli.rs`).
const RULESET: &str = include_str!("rulesets/nat.nft");

const YAML: &str = r#"
chains:
  - name: pre
    hook: prerouting
    rules:
      - match: {family: ipv4, iifname: "wan*", proto: tcp, dport: 8080}
        action: {dnat: {to: "10.0.0.5:80", flags: []}}
        comment: web
      - match: {family: ipv4, proto: udp, dport: [53, 5353]}
        action: {dnat: {to: 10.0.0.53, flags: []}}
      - match: {family: ipv4, proto: tcp, dport: 3128}
        action: {redirect: {to: ":8080"}}
  - name: post
    hook: postrouting
    rules:
      - match: {family: ipv4, saddr: 10.0.0.0/8, daddr: 10.0.0.0/8}
        action: accept
      - match: {family: ipv4, saddr: 10.0.0.0/8, proto: udp}
        action: {snat: {to: "192.0.2.1-192.0.2.4:1024-65535", flags: [random, persistent]}}
      - match: {family: ipv4, oifname: wan0, proto: tcp}
        action: {masquerade: {to: ":10000-20000", flags: [fully-random]}}
      - match: {family: ipv4, ct_state: new}
        action: accept
  - name: out
    hook: output
    rules:
      - match: {family: ipv4, daddr: 198.51.100.1, proto: tcp, dport: 25}
        action: {dnat: {to: 10.0.0.25, flags: []}}
      - match: {family: ipv6, daddr: "2001:db8::25", proto: tcp, dport: 25}
        action: {dnat: {to: "[fd00::25]:2525", flags: []}}
      - match: {proto: tcp}
        action: {redirect: {to: ":8443"}}
  - name: in
    hook: input
    rules:
      - match: {family: ipv6, saddr: "fd00::/8"}
        action: {snat: {to: "fd00::1-fd00::4", flags: []}}
"#;

/// What `nft list ruleset` (nftables 1.0.6) printed after loading the test rulesets
/// reads as the rulesets themselves.
#[test]
fn what_nft_list_ruleset_prints_reads_as_what_was_loaded() {
    let shapes = |text: &str| -> Vec<String> {
        nft::chains(text)
            .unwrap_or_else(|e| panic!("{e}\n{text}"))
            .iter()
            .map(|c| format!("{:?}", c.cfg))
            .collect()
    };
    for (loaded, listed) in [
        (RULESET, include_str!("rulesets/nat.listed.nft")),
        (
            include_str!("rulesets/jumps.nft"),
            include_str!("rulesets/jumps.listed.nft"),
        ),
    ] {
        assert_eq!(shapes(listed), shapes(loaded));
    }
}

/// `ruleset: FILE` alone reads the file; one it cannot read is named.
#[test]
fn a_ruleset_file_is_read() {
    let dir = std::env::temp_dir().join(format!("bw-nat-nft-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("nat.nft");
    std::fs::write(
        &file,
        RULESET.replace("dnat to 10.0.0.53", "dnat to 10.0.0.300"),
    )
    .unwrap();
    let section = |f: &std::path::Path| serde_json::json!({"ruleset": f}).to_string();
    let e = rules::load(&section(&file)).map(|_| ()).unwrap_err();
    assert!(
        e.starts_with(&format!("{}:6:", file.display())) && e.contains("not an IPv4"),
        "{e}"
    );
    std::fs::write(&file, RULESET).unwrap();
    rules::load(&section(&file)).unwrap();
    let e = rules::load(&section(&dir.join("none.nft")))
        .map(|_| ())
        .unwrap_err();
    assert!(
        e.contains("ruleset: cannot read") && e.contains("none.nft"),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Every statement, flag, family and priority form reads as its YAML, and loads.
#[test]
fn nat_chains_read_as_their_yaml() {
    same(RULESET, YAML);
    load(RULESET).unwrap();
    // The priority's forms nft takes.
    load("table inet t {\n chain c { type nat hook postrouting priority srcnat + 10; }\n chain d { type nat hook prerouting priority dstnat - 5; }\n chain e { type nat hook output priority filter+5; }\n}\n").unwrap();
    // Filter chains are the filter's: skipped here.
    same(
        "table inet f {\n chain c {\n  type filter hook input priority filter; policy drop;\n  tcp dport 22 accept\n }\n}\n",
        "chains: []",
    );
}

/// The chains of one hook join in priority order: tables of families ip and ip6
/// always, others where the earlier chain never accepts (a later one that would come
/// after an accepting chain is refused: see the refusals).
#[test]
fn chains_of_one_hook_join_in_priority_order() {
    same(
        include_str!("rulesets/join.nft"),
        r#"
chains:
  - name: post,post6,post4
    hook: postrouting
    rules:
      - {match: {proto: tcp, dport: 25}, action: {snat: {to: 192.0.2.25}}}
      - {match: {family: ipv6, daddr: "fd00::/8"}, action: accept}
      - {match: {family: ipv6}, action: {snat: {to: "2001:db8::1"}}}
      - {match: {family: ipv4, daddr: 10.0.0.0/8}, action: accept}
      - {match: {family: ipv4}, action: {snat: {to: 192.0.2.1}}}
"#,
    );
}

/// Regular chains that only nat chains reach, and `jump`, `goto` and `return`, read
/// as the YAML's regular chains; the filter's regular chains stay the filter's.
#[test]
fn jumps_read_as_their_yaml() {
    const JUMPS: &str = include_str!("rulesets/jumps.nft");
    same(
        JUMPS,
        r#"
chains:
  - name: postrouting
    hook: postrouting
    rules:
      - {match: {family: ipv4, saddr: 10.0.0.1}, action: {jump: clients}}
      - {match: {family: ipv4, proto: udp}, action: {goto: udp_out}}
      - {match: {family: ipv4}, action: {snat: {to: 192.0.2.3}}}
  - name: clients
    rules:
      - {match: {family: ipv4, proto: tcp, dport: 22}, action: return}
      - {match: {family: ipv4, proto: tcp}, action: {snat: {to: 192.0.2.1}}}
  - name: udp_out
    rules:
      - {match: {family: ipv4, proto: udp, dport: 53}, action: {snat: {to: 192.0.2.2}}}
"#,
    );
    load(JUMPS).unwrap();
    // A table of filter and nat chains: each kind takes the regular chains it reaches.
    same(
        include_str!("rulesets/mixed.nft"),
        r#"
chains:
  - name: postrouting
    hook: postrouting
    rules:
      - {match: {family: ipv4, saddr: 10.0.0.0/8}, action: {goto: masq}}
  - name: masq
    rules:
      - {match: {oifname: wan0}, action: masquerade}
"#,
    );
    // A loop, and a translation a hook reaching it cannot have, at their places.
    let e = load(&JUMPS.replace(
        "udp dport 53 snat to 192.0.2.2",
        "udp dport 53 goto udp_out",
    ))
    .unwrap_err();
    assert!(
        e.starts_with("nat.nft:7:22: ") && e.contains("a loop"),
        "{e}"
    );
    let e = load(&JUMPS.replace("snat to 192.0.2.2", "dnat to 10.0.0.2")).unwrap_err();
    assert!(
        e.starts_with("nat.nft:7:22: ") && e.contains("dnat belongs in a nat chain on prerouting or output, not postrouting (`udp_out` is reached"),
        "{e}"
    );
}

/// Each refusal names the line, the column and the word, in the reader or, for what
/// the rule compiler finds, through the chain's positions.
#[test]
fn what_nat_chains_cannot_do_is_refused_where_it_is_written() {
    let head = "table inet t {\n  chain c {\n    type nat hook postrouting priority srcnat;\n";
    for (rule, at, words) in [
        (
            "    snat to 192.0.2.1\n",
            "4:5",
            "write `snat ip to` or `snat ip6 to`",
        ),
        ("    snat ip to fd00::1\n", "4:16", "not an IPv4 address"),
        (
            "    snat ip to 192.0.2.1:80\n",
            "4:16",
            "transport protocol match",
        ),
        (
            "    masquerade to :80\n",
            "4:19",
            "transport protocol match",
        ),
        (
            "    tcp dport 80 snat ip to 192.0.2.9-192.0.2.1\n",
            "4:29",
            "192.0.2.9",
        ),
        (
            "    tcp dport 80 snat ip to 192.0.2.1:90-80\n",
            "4:29",
            "90",
        ),
        (
            "    dnat ip to 10.0.0.1\n",
            "4:5",
            "dnat belongs in a nat chain on prerouting or output",
        ),
        ("    drop\n", "4:5", "`drop` in a nat chain"),
        ("    jump other\n", "4:5", "no regular chain named `other`"),
        (
            "    snat ip prefix to 10.0.0.0/24\n",
            "4:13",
            "`snat prefix`",
        ),
        (
            "    accept snat ip to 192.0.2.1\n",
            "4:12",
            "after the verdict",
        ),
        (
            "    ct state established snat ip to 192.0.2.1\n",
            "4:8",
            "first packet",
        ),
        (
            "    tcp option maxseg size 1400 accept\n",
            "4:9",
            "`tcp option`",
        ),
        (
            "    meta mark set 1\n",
            "4:5",
            "not a match or statement the nat chains read",
        ),
    ] {
        let text = format!("{head}{rule}  }}\n}}\n");
        let e = load(&text).unwrap_err();
        assert!(
            e.starts_with(&format!("nat.nft:{at}: ")) && e.contains(words),
            "{rule}: {e}"
        );
    }
    for (text, at, words) in [
        ("table inet t {\n chain c { type nat hook forward priority 0; }\n}\n", "2:26", "hook `forward`"),
        ("table inet t {\n chain c { type nat hook postrouting priority raw; }\n}\n", "2:47", "after conntrack"),
        ("table inet t {\n chain c { type nat hook postrouting priority bogus; }\n}\n", "2:47", "priority `bogus`"),
        ("table inet t {\n chain c { type nat hook postrouting priority srcnat; policy drop; }\n}\n", "2:62", "policy `drop`"),
        ("table ip t {\n chain c { type nat hook input priority 100;\n masquerade random\n }\n}\n", "3:2", "masquerade belongs in a nat chain on postrouting"),
        ("table inet t {\n chain c { type nat hook input priority srcnat; }\n}\n", "2:41", "not a priority's name at hook input"),
        ("table ip t {\n chain c { type nat hook postrouting priority srcnat;\n snat ip6 to fd00::1\n }\n}\n", "3:2", "other family"),
        ("table ip6 t {\n chain c { type nat hook postrouting priority srcnat;\n snat to 192.0.2.1\n }\n}\n", "3:10", "but the rule matches only"),
        ("table ip a {\n chain c { type nat hook postrouting priority srcnat;\n ip daddr 10.0.0.0/8 accept\n }\n}\ntable inet b {\n chain d { type nat hook postrouting priority srcnat; }\n}\n", "7:26", "`c` accepts at 3:2"),
    ] {
        let e = load(text).unwrap_err();
        assert!(
            e.starts_with(&format!("nat.nft:{at}: ")) && e.contains(words),
            "{text}: {e}"
        );
    }
}

/// Cut, repeated and changed pieces of a nat ruleset never panic the reader: each
/// gives chains or an error at a place inside the text.
#[test]
fn mangled_nat_rulesets_are_errors_not_panics() {
    let pieces = [
        "{", "}", ";", "\n", "\"", "!=", ",", "#", "to", "ip", "ip6", ":", "[", "]", "-", "snat",
        "random",
    ];
    let mut mangler = Mangler::new(0x9e37_79b9_7f4a_7c15, &pieces);
    for _ in 0..20_000 {
        let text = mangler.mangle(RULESET);
        if let Err(e) = nft::chains(&text) {
            let lines = text.lines().count().max(1);
            assert!(
                e.line >= 1 && e.line <= lines + 1 && e.col >= 1,
                "{e}\n{text}"
            );
        }
        let _ = load(&text);
    }
}
