//! Rulesets in nftables' syntax: the same policy written in YAML and as an nft ruleset
//! compiles to the same rules (their text forms equal, chain by chain), what the filter
//! cannot do yet is refused at its line and column, and errors the filter finds after
//! reading (a bad port, two chains on one hook) point into the ruleset too.

use brickwall_filter::load::load;
use brickwall_filter::nft;
use brickwall_nft::mangle::Mangler;
use std::path::PathBuf;

/// A compiled chain: its type, hook, policy and rules' text forms.
type Compiled = (String, String, String, Vec<String>);

/// Each chain's type, hook (or name, for a regular chain), policy and rules' text
/// forms: the base chains, then the regular ones.
fn compiled(config_json: &str) -> Vec<Compiled> {
    let loaded = load(config_json).unwrap_or_else(|e| panic!("{e}"));
    loaded
        .slots
        .iter()
        .flatten()
        .chain(&loaded.regular)
        .map(|c| {
            (
                c.kind.name().to_string(),
                c.hook.map_or(c.name.clone(), |h| h.name().to_string()),
                format!("{:?}", c.policy),
                c.rules.iter().map(|r| r.text.clone()).collect(),
            )
        })
        .collect()
}

fn ruleset_file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("bw-nft-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("rules.nft");
    std::fs::write(&p, text).unwrap();
    p
}

fn from_ruleset(name: &str, text: &str) -> Result<Vec<Compiled>, String> {
    let p = ruleset_file(name, text);
    let json = serde_json::json!({ "ruleset": p }).to_string();
    let r = load(&json).map(|_| compiled(&json));
    let _ = std::fs::remove_dir_all(p.parent().unwrap());
    r
}

/// The policy of the live tests (core/tests/firewall), as the kernel is given it:
/// helpers assigned by `ct helper set`, the forward chain with its sets.
const LIVE_RULESET: &str = r#"table inet bw {
ct helper ftp-h { type "ftp" protocol tcp; l3proto inet; }
ct helper tftp-h { type "tftp" protocol udp; l3proto inet; }
chain helper_assign { type filter hook prerouting priority filter;
tcp dport 21 ct helper set "ftp-h"
udp dport 69 ct helper set "tftp-h"
}
chain filter_forward { type filter hook forward priority filter; policy drop;
  icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit, nd-router-advert } accept
  ct state established,related accept
  ct state new tcp dport { 21, 6667, 1723, 6566 } accept
  ct state new udp dport { 69, 10080, 162 } accept
  ct state new icmp type echo-request accept
  ct state new icmpv6 type echo-request accept
}
}
"#;

/// The same, in the filter's YAML (as core/tests/firewall's brickwall config has it).
const LIVE_YAML: &str = r#"
chains:
  - hook: prerouting
    rules:
      - {match: {proto: tcp, dport: 21}, action: {ct_helper_set: ftp}}
      - {match: {proto: udp, dport: 69}, action: {ct_helper_set: tftp}}
  - hook: forward
    policy: drop
    rules:
      - match: {proto: icmpv6, icmp_type: [nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit, nd-router-advert]}
        action: accept
      - {match: {ct_state: [established, related]}, action: accept}
      - {match: {ct_state: new, proto: tcp, dport: [21, 6667, 1723, 6566]}, action: accept}
      - {match: {ct_state: new, proto: udp, dport: [69, 10080, 162]}, action: accept}
      - {match: {ct_state: new, proto: icmp, icmp_type: echo-request}, action: accept}
      - {match: {ct_state: new, proto: icmpv6, icmp_type: echo-request}, action: accept}
"#;

fn yaml_as_json(yaml: &str) -> String {
    let v: serde_json::Value = serde_yaml_ng::from_str(yaml).unwrap();
    v.to_string()
}

#[test]
fn the_live_tests_policy_compiles_as_its_yaml_does() {
    let ours = from_ruleset("live", LIVE_RULESET).unwrap();
    let yaml = compiled(&yaml_as_json(LIVE_YAML));
    assert_eq!(ours, yaml);
    assert_eq!(ours.len(), 2);
    assert!(
        ours[1].3[2].contains("tcp dport { 21, 6667, 1723, 6566 }"),
        "{:?}",
        ours[1]
    );
}

/// `nft list ruleset`'s own output: tabs, counters with their counts, named sets,
/// comments, `meta l4proto`, an `ip` table (its rules match IPv4 only and its drop
/// policy drops only IPv4), a raw chain.
#[test]
fn what_nft_list_ruleset_prints_is_read() {
    let listed = "table ip filter {\n\
\tset admins {\n\t\ttype ipv4_addr\n\t\tflags interval\n\t\telements = { 10.0.0.0/24, 192.0.2.7 }\n\t}\n\n\
\tchain input {\n\t\ttype filter hook input priority filter; policy drop;\n\
\t\tiif \"lo\" accept comment \"loopback\"\n\
\t\tct state invalid counter packets 3 bytes 180 drop\n\
\t\tip saddr @admins tcp dport ssh counter packets 0 bytes 0 accept\n\
\t\tmeta l4proto icmp accept\n\
\t\tip saddr != 10.0.0.0/8 udp dport 1024-65535 log prefix \"hi: \" level info\n\
\t\tmeta mark and 0xff == 0x10 ct mark set 0x20 accept\n\
\t}\n\n\
\tchain pre {\n\t\ttype filter hook prerouting priority raw; policy accept;\n\
\t\tudp dport 53 notrack\n\t}\n}\n";
    let ours = from_ruleset("listed", listed).unwrap();
    let yaml = compiled(&yaml_as_json(
        r#"
chains:
  - hook: prerouting
    type: raw
    rules:
      - {match: {family: ipv4, proto: udp, dport: 53}, action: notrack}
  - hook: input
    rules:
      - {match: {family: ipv4, iif: lo}, action: accept, comment: loopback}
      - {match: {family: ipv4, ct_state: invalid}, action: drop, counter: true}
      - {match: {family: ipv4, saddr: [10.0.0.0/24, 192.0.2.7], proto: tcp, dport: 22}, action: accept, counter: true}
      - {match: {family: ipv4, proto: icmp}, action: accept}
      - {match: {family: ipv4, saddr: "!10.0.0.0/8", proto: udp, dport: "1024-65535"}, action: {log: {prefix: "hi: ", level: info}}}
      - {match: {family: ipv4, mark: "0x10/0xff"}, action: [{ct_mark_set: "0x20"}, accept]}
      - {match: {family: ipv4}, action: drop}
"#,
    ));
    assert_eq!(ours, yaml);
}

/// Each refusal names the line, the column and the word.
#[test]
fn what_the_filter_cannot_do_is_refused_where_it_is_written() {
    let head =
        "table inet t {\n  chain c {\n    type filter hook input priority filter; policy drop;\n";
    for (rule, at, words) in [
        (
            "    tcp dport 22 dup to 10.0.0.1\n",
            "4:18",
            "`dup`: this statement is not supported",
        ),
        (
            "    ct mark > 3 accept\n",
            "4:13",
            "a comparison after `mark` is not supported",
        ),
        (
            "    ct state new limit rate 4 mbytes/second accept\n",
            "4:29",
            "byte rates",
        ),
        ("    jump other\n", "4:5", "no regular chain named `other`"),
        (
            "    tcp option maxseg size 1400 accept\n",
            "4:9",
            "`tcp option`",
        ),
        ("    ip id 1 drop\n", "4:8", "`ip id`"),
        ("    ip6 ttl 1 drop\n", "4:9", "`ip6 ttl`"),
        (
            "    ct helper set \"nope\"\n",
            "4:19",
            "no ct helper object named `nope`",
        ),
        ("    ip saddr @nope drop\n", "4:14", "no set named `nope`"),
        ("    accept drop\n", "4:12", "after the verdict `accept`"),
        (
            "    tcp dport 22 udp dport 53\n",
            "4:18",
            "already matches proto",
        ),
        (
            "    tcp dport nosuchservice accept\n",
            "4:15",
            "not a port, a range or a service name",
        ),
    ] {
        let text = format!("{head}{rule}  }}\n}}\n");
        let e = from_ruleset("refused", &text).unwrap_err();
        let file_at = e.split_once("rules.nft:").map(|(_, r)| r).unwrap_or(&e);
        assert!(
            file_at.starts_with(&format!("{at}: ")) && file_at.contains(words),
            "{rule}: {e}"
        );
    }
    for (text, at, words) in [
        ("table bridge b { }\n", "1:7", "bridge"),
        ("add rule inet t c accept\n", "1:1", "commands such as `add rule`"),
        ("table inet t {\n chain c { vmap }\n}\n", "2:12", "expected `{ KEY : VERDICT"),
        ("table inet t {\n chain c { type route hook output priority mangle; }\n}\n", "2:17", "chain type `route`"),
        ("table inet t {\n chain c { type filter hook input priority filter; tcp dport 22 dnat ip to 10.0.0.1 }\n}\n", "2:65", "belongs in a chain of type nat"),
        ("table inet t {\n chain c { type filter hook input priority 10; }\n}\n", "2:44", "priority `10`"),
        ("table inet t {\n chain c { type filter hook input priority filter;\n ct state bogus accept\n }\n}\n", "3:5", "unknown variant `bogus`"),
        ("table inet t {\n chain c { type filter hook input priority filter;\n log prefix \"x\n }\n}\n", "3:13", "closing quote"),
    ] {
        let e = from_ruleset("refused2", text).unwrap_err();
        let file_at = e.split_once("rules.nft:").map(|(_, r)| r).unwrap_or(&e);
        assert!(
            file_at.starts_with(&format!("{at}: ")) && file_at.contains(words),
            "{text}: {e}"
        );
    }
}

/// Errors found after reading (the rule compiler's, the one-chain-per-hook check)
/// point into the ruleset.
#[test]
fn later_errors_point_into_the_ruleset() {
    let e = from_ruleset(
        "later",
        "table inet t {\n chain c { type filter hook input priority filter;\n  tcp dport 70000 accept\n }\n}\n",
    )
    .unwrap_err();
    assert!(e.contains("rules.nft:3:7: ") && e.contains("70000"), "{e}");
    let e = from_ruleset(
        "twice",
        "table inet a {\n chain c { type filter hook input priority filter; }\n}\n\
         table inet b {\n chain d { type filter hook input priority filter; }\n}\n",
    )
    .unwrap_err();
    assert!(
        e.contains("rules.nft:5:29: ") && e.contains("already defined"),
        "{e}"
    );
}

/// A table of filter and nat chains: the filter takes its base chains and the regular
/// chains they reach, and leaves the nat chains and theirs to the NAT plugin.
#[test]
fn nat_chains_and_theirs_are_left_to_nat() {
    let names: Vec<String> = nft::chains(include_str!("../../nat/tests/rulesets/mixed.nft"))
        .unwrap()
        .iter()
        .map(|c| c.cfg.name.clone().unwrap_or_default())
        .collect();
    assert_eq!(names, ["allowed", "input"]);
}

#[test]
fn a_ruleset_reads_alone() {
    let chains = nft::chains("flush ruleset\n").unwrap();
    assert!(chains.is_empty());
}

/// Cut, repeated and changed pieces of rulesets never panic the reader: each gives
/// chains or an error at a place inside the text.
#[test]
fn mangled_rulesets_are_errors_not_panics() {
    let seeds = [LIVE_RULESET, "table ip t { set s { type ipv4_addr; elements = { 10.0.0.1 } }\n chain c { type filter hook input priority raw; policy drop;\n ip saddr != @s udp dport { 53, 1000-2000 } log prefix \"x\" level info queue num 3 bypass comment \"c\"\n }\n}\n"];
    let pieces = [
        "{", "}", ";", "\n", "\"", "@s", "!=", "==", " = ", ",", "#", "\\\n", "ct", "set", "-", "/",
    ];
    let mut mangler = Mangler::new(0x2545_f491_4f6c_dd1d, &pieces);
    for round in 0..20_000 {
        let text = mangler.mangle(seeds[round % 2]);
        if let Err(e) = nft::chains(&text) {
            let lines = text.lines().count().max(1);
            assert!(
                e.line >= 1 && e.line <= lines + 1 && e.col >= 1,
                "{e}\n{text}"
            );
        }
    }
}

/// The header words: protocol sets, `tcp flags` (any, masked, exact), ICMP codes, TTL
/// and hop limit, DSCP, length and zone read as their YAML forms.
#[test]
fn header_words_read_as_their_yaml() {
    let ruleset = "table inet t {\n chain c {\n  type filter hook forward priority filter;\n\
        meta l4proto { tcp, udp } th dport 53 accept\n\
        tcp flags syn / syn,ack ct state new accept\n\
        tcp flags == syn drop\n\
        tcp flags fin,rst drop\n\
        icmp code { 1, 3 } drop\n\
        ip ttl 1-5 drop\n\
        ip6 hoplimit 255 accept\n\
        ip dscp { ef, cs1 } accept\n\
        meta length 0-100 ct zone 3 accept\n }\n}\n";
    let yaml = r#"
chains:
  - hook: forward
    rules:
      - {match: {proto: [tcp, udp], dport: 53}, action: accept}
      - {match: {proto: tcp, tcp_flags: "syn/syn,ack", ct_state: new}, action: accept}
      - {match: {proto: tcp, tcp_flags: "syn/fin,syn,rst,psh,ack,urg,ecn,cwr"}, action: drop}
      - {match: {proto: tcp, tcp_flags: "fin,rst"}, action: drop}
      - {match: {proto: icmp, icmp_code: [1, 3]}, action: drop}
      - {match: {family: ipv4, ttl: "1-5"}, action: drop}
      - {match: {family: ipv6, ttl: 255}, action: accept}
      - {match: {family: ipv4, dscp: [ef, cs1]}, action: accept}
      - {match: {length: "0-100", ct_zone: 3}, action: accept}
"#;
    let ours = from_ruleset("header", ruleset).unwrap();
    assert_eq!(ours, compiled(&yaml_as_json(yaml)));
    let texts = &ours[0].3;
    assert_eq!(texts[0], "meta l4proto { tcp, udp } th dport 53 accept");
    assert_eq!(texts[1], "tcp flags syn / syn,ack ct state new accept");
    assert_eq!(texts[5], "meta nfproto ipv4 ip ttl 1-5 drop");
    assert_eq!(texts[7], "meta nfproto ipv4 ip dscp { 8, 46 } accept");
}

/// `limit rate` and `quota` read as the YAML rules' `limit` and `quota`.
#[test]
fn limits_and_quotas_read_as_their_yaml() {
    let ruleset = "table inet t {\n chain c {\n  type filter hook input priority filter;\n\
        icmp type echo-request limit rate 2/second burst 3 packets accept\n\
        icmp type echo-request limit rate over 10/minute drop\n\
        quota over 10 mbytes used 0 bytes drop\n\
        tcp dport 22 quota 1000 bytes accept\n }\n}\n";
    let yaml = r#"
chains:
  - hook: input
    rules:
      - {match: {proto: icmp, icmp_type: echo-request}, limit: {rate: 2, per: second, burst: 3}, action: accept}
      - {match: {proto: icmp, icmp_type: echo-request}, limit: {rate: 10, per: minute, over: true}, action: drop}
      - {quota: {bytes: 10485760, over: true}, action: drop}
      - {match: {proto: tcp, dport: 22}, quota: {bytes: 1000}, action: accept}
"#;
    let ours = from_ruleset("limits", ruleset).unwrap();
    assert_eq!(ours, compiled(&yaml_as_json(yaml)));
    assert_eq!(
        ours[0].3[0],
        "icmp type echo-request limit rate 2/second burst 3 packets accept"
    );
    assert_eq!(ours[0].3[2], "quota over 10485760 bytes drop");
}

/// `iifname` and `oifname` (names and prefixes) read as the YAML's.
#[test]
fn interface_names_read_as_their_yaml() {
    let ruleset = "table inet t {\n chain c {\n  type filter hook forward priority filter;\n\
        iifname \"lo\" accept\n\
        iifname { \"eth*\", \"wg0\" } oifname != \"x\" drop\n }\n}\n";
    let e = from_ruleset("ifnames-neg", ruleset).unwrap_err();
    assert!(
        e.contains("5:27: ") && e.contains("`!=` is not supported after `oifname`"),
        "{e}"
    );
    let ruleset = ruleset.replace(" oifname != \"x\"", " oifname \"veth*\"");
    let yaml = r#"
chains:
  - hook: forward
    rules:
      - {match: {iifname: lo}, action: accept}
      - {match: {iifname: ["eth*", wg0], oifname: "veth*"}, action: drop}
"#;
    let ours = from_ruleset("ifnames", &ruleset).unwrap();
    assert_eq!(ours, compiled(&yaml_as_json(yaml)));
    assert_eq!(
        ours[0].3[1],
        "iifname { \"eth*\", \"wg0\" } oifname \"veth*\" drop"
    );
}

/// Regular chains, `jump`, `goto` and `return`, read as the YAML's; loops are refused
/// where they start.
#[test]
fn jumps_read_as_their_yaml_and_loops_are_refused() {
    let ruleset = "table inet t {\n\
        chain input {\n  type filter hook input priority filter; policy drop;\n\
          ct state established,related accept\n  iifname \"eth*\" jump from_lan\n  goto from_wan\n }\n\
        chain from_lan {\n  tcp dport 22 accept\n  return\n }\n\
        chain from_wan {\n  icmp type echo-request accept\n }\n}\n";
    let yaml = r#"
chains:
  - hook: input
    name: input
    policy: drop
    rules:
      - {match: {ct_state: [established, related]}, action: accept}
      - {match: {iifname: "eth*"}, action: {jump: from_lan}}
      - {action: {goto: from_wan}}
  - name: from_lan
    rules:
      - {match: {proto: tcp, dport: 22}, action: accept}
      - {action: return}
  - name: from_wan
    rules:
      - {match: {proto: icmp, icmp_type: echo-request}, action: accept}
"#;
    let ours = from_ruleset("jumps", ruleset).unwrap();
    assert_eq!(ours, compiled(&yaml_as_json(yaml)));
    assert_eq!(ours[0].3[1], "iifname \"eth*\" jump from_lan");
    assert_eq!(ours[0].3[2], "goto from_wan");
    let looped = "table inet t {\n chain a {\n  jump b\n }\n chain b {\n  goto a\n }\n\
        chain input { type filter hook input priority filter; jump a; }\n}\n";
    let e = from_ruleset("loop", looped).unwrap_err();
    assert!(
        e.contains("rules.nft:2:8: ") && e.contains("a loop of jumps: a -> b -> a"),
        "{e}"
    );
}

/// The nftables wiki's simple ruleset for a workstation, as written there: service
/// names, comparisons, `meta pkttype`, limits with bursts, rules that only count.
pub const WIKI_WORKSTATION: &str = r#"#!/usr/sbin/nft -f

flush ruleset

table inet my_table {
	chain my_input {
		type filter hook input priority filter; policy drop;

		iif lo accept comment "Accept any localhost traffic"
		ct state invalid drop comment "Drop invalid connections"
		ct state established,related accept comment "Accept traffic originated from us"

		meta l4proto ipv6-icmp accept comment "Accept ICMPv6"
		meta l4proto icmp accept comment "Accept ICMP"
		ip protocol igmp accept comment "Accept IGMP"

		udp dport mdns ip6 daddr ff02::fb accept comment "Accept mDNS"
		udp dport mdns ip daddr 224.0.0.251 accept comment "Accept mDNS"

		udp sport 1900 udp dport >= 1024 ip6 saddr { fd00::/8, fe80::/10 } meta pkttype unicast limit rate 4/second burst 20 packets accept comment "Accept UPnP IGD port mapping reply"
		udp sport 1900 udp dport >= 1024 ip saddr { 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 169.254.0.0/16 } meta pkttype unicast limit rate 4/second burst 20 packets accept comment "Accept UPnP IGD port mapping reply"

		udp sport netbios-ns udp dport >= 1024 meta pkttype unicast ip6 saddr { fd00::/8, fe80::/10 } accept comment "Accept Samba Workgroup browsing replies"
		udp sport netbios-ns udp dport >= 1024 meta pkttype unicast ip saddr { 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 169.254.0.0/16 } accept comment "Accept Samba Workgroup browsing replies"

		counter comment "Count any other traffic"
	}

	chain my_forward {
		type filter hook forward priority filter; policy drop;
		# Drop everything forwarded to us. We do not forward. That is routers job.
	}

	chain my_output {
		type filter hook output priority filter; policy accept;
		# Accept every outbound connection
	}
}
"#;

#[test]
fn the_wikis_workstation_ruleset_reads() {
    let ours = from_ruleset("wiki", WIKI_WORKSTATION).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ours.len(), 3);
    let input = &ours[0];
    assert_eq!(input.3.len(), 13, "{:?}", input.3);
    assert_eq!(
        input.3[9],
        "meta nfproto ipv4 ip saddr { 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 169.254.0.0/16 } udp sport 1900 \
         udp dport 1024-65535 meta pkttype unicast limit rate 4/second burst 20 packets accept \
         comment \"Accept UPnP IGD port mapping reply\""
    );
    assert_eq!(input.3[12], "counter comment \"Count any other traffic\"");
}

/// Variables (`define`, `redefine`, `undefine`; a set merged into a list where it is
/// used as an item) read as the ruleset written out, and a use of an undefined one is
/// refused at its place. (The real `nft -c` takes the variables' ruleset: checked when
/// the test was written, as `core/tests/cli.rs` checks others.)
#[test]
fn variables_read_as_the_ruleset_written_out() {
    let with = "define web = { 80, 443 }\n\
                define admin = 10.0.0.7\n\
                redefine admin = 10.0.0.9\n\
                define ports = { $web, 22 }\n\
                table inet t {\n  chain c {\n    type filter hook input priority filter; policy drop;\n    \
                tcp dport $web accept\n    ip saddr $admin tcp dport { $ports, 8080 } accept\n  }\n}\n";
    let out = "table inet t {\n  chain c {\n    type filter hook input priority filter; policy drop;\n    \
               tcp dport { 80, 443 } accept\n    ip saddr 10.0.0.9 tcp dport { 80, 443, 22, 8080 } accept\n  }\n}\n";
    let a = from_ruleset("vars", with).unwrap_or_else(|e| panic!("{e}"));
    let b = from_ruleset("written", out).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(a, b);
    let e = from_ruleset("undef", "undefine admin\ntable inet t { }\n").unwrap_err();
    assert!(
        e.contains("rules.nft:1:10: `admin`: no such variable"),
        "{e}"
    );
}

/// A rule with an anonymous verdict map reads as one rule per element, in order, each
/// with the rule's words before the map and its comment.
#[test]
fn verdict_maps_read_as_a_rule_per_element() {
    let head =
        "table inet t {\n  chain c {\n    type filter hook input priority filter; policy drop;\n";
    let with = format!(
        "{head}    ct state vmap {{ established : accept, related : accept, invalid : drop }}\n    \
         ip saddr 10.0.0.0/8 tcp dport vmap {{ 22 : accept, 80-89 : drop }} comment \"m\"\n  }}\n}}\n"
    );
    let out = format!(
        "{head}    ct state established accept\n    ct state related accept\n    ct state invalid drop\n    \
         ip saddr 10.0.0.0/8 tcp dport 22 accept comment \"m\"\n    \
         ip saddr 10.0.0.0/8 tcp dport 80-89 drop comment \"m\"\n  }}\n}}\n"
    );
    let a = from_ruleset("vmap", &with).unwrap_or_else(|e| panic!("{e}"));
    // `continue` goes on to the next rule, as a rule without a verdict does.
    let cont = from_ruleset(
        "cont",
        &format!("{head}    tcp dport 22 counter continue\n  }}\n}}\n"),
    );
    let plain = from_ruleset(
        "plain",
        &format!("{head}    tcp dport 22 counter\n  }}\n}}\n"),
    );
    assert_eq!(cont.unwrap(), plain.unwrap());
    let b = from_ruleset("rules", &out).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(a, b);
}
