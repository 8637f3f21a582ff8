//! Bad configs: each error names the field path and what is wrong, NAT rules that
//! could only see later packets of a connection among them; good ones compile into
//! the chain of their hook.

use brickwall_hooks::{Family, Hook};
use brickwall_nat::rules::{self, Action, Kind};

/// The config's JSON for one chain on `hook` with the rule bodies given as JSON.
fn chain(hook: &str, rules: &str) -> String {
    format!(r#"{{"chains": [{{"hook": "{hook}", "rules": [{rules}]}}]}}"#)
}

fn expect(json: &str, wanted: &str) {
    match rules::load(json) {
        Ok(_) => panic!("loads: {json}"),
        Err(e) => assert!(e.contains(wanted), "{e}\n  wanted: {wanted}"),
    }
}

#[test]
fn errors_name_the_field_path() {
    expect(
        &chain(
            "postrouting",
            r#"{"action": {"snat": {"to": "192.0.2.1", "flag": []}}}"#,
        ),
        "chains[0].rules[0].action.snat.flag: unknown field `flag`, expected `to` or `flags`",
    );
    expect(
        &chain(
            "postrouting",
            r#"{"action": {"snat": {"to": "192.0.2.1", "flags": ["randomly"]}}}"#,
        ),
        "chains[0].rules[0].action.snat.flags[0]: unknown value `randomly`",
    );
    expect(
        &chain(
            "postrouting",
            r#"{"action": {"snat": {"to": "192.0.2.300"}}}"#,
        ),
        r#"chains[0].rules[0].action.snat.to: "192.0.2.300" is not an IPv4 or IPv6 address"#,
    );
    expect(
        &chain("postrouting", r#"{"action": {"snat": {"to": ":1000"}}}"#),
        "chains[0].rules[0].action.snat.to: snat needs an address",
    );
    expect(
        &chain("prerouting", r#"{"action": {"snat": {"to": "192.0.2.1"}}}"#),
        "chains[0].rules[0].action: snat belongs in a nat chain on postrouting or input, not prerouting",
    );
    expect(
        &chain("input", r#"{"action": "masquerade"}"#),
        "chains[0].rules[0].action: masquerade belongs in a nat chain on postrouting, not input",
    );
    // Without `addresses`, masquerade asks the engine for the output interface's.
    assert!(rules::load(&chain("postrouting", r#"{"action": "masquerade"}"#)).is_ok());
    expect(
        &chain(
            "postrouting",
            r#"{"action": {"masquerade": {"addresses": ["192.0.2.1", "192.0.2.2"]}}}"#,
        ),
        "chains[0].rules[0].action.masquerade.addresses[1]: a second IPv4 address",
    );
    expect(
        &chain(
            "output",
            r#"{"action": {"redirect": {"to": "10.0.0.1:80"}}}"#,
        ),
        "chains[0].rules[0].action.redirect.to: redirect maps only ports",
    );
    expect(
        &chain("forward", r#"{"action": "accept"}"#),
        "chains[0].hook: NAT chains attach to prerouting, input, output or postrouting",
    );
    expect(
        &chain(
            "prerouting",
            r#"{"action": {"dnat": {"to": "10.0.0.5:80"}}, "match": {"ct_state": ["established"]}}"#,
        ),
        "chains[0].rules[0].match.ct_state: NAT rules see only the first packet of a connection",
    );
    expect(
        &chain("prerouting", r#"{"action": {"dnat": {"to": "10.0.0.5:80"}}, "match": {"proto": "icmp"}}"#),
        "chains[0].rules[0].action.dnat.to: ports are translated for tcp, udp, udplite, sctp and dccp, and the rule's proto is icmp",
    );
    expect(
        &chain("prerouting", r#"{"action": {"dnat": {"to": "[2001:db8::5]:80"}}, "match": {"family": "ipv4"}}"#),
        "chains[0].rules[0].action.dnat.to: an IPv6 address, but the rule matches only IPv4 packets",
    );
    expect(
        &chain(
            "prerouting",
            r#"{"action": {"dnat": {"to": "10.0.0.5"}}, "match": {"dport": "99999"}}"#,
        ),
        "chains[0].rules[0].match.dport",
    );
    expect(
        &chain(
            "prerouting",
            r#"{"action": {"dnat": {"to": "10.0.0.5"}, "snat": {"to": "10.0.0.5"}}}"#,
        ),
        "chains[0].rules[0].action: one action per rule",
    );
    expect(
        &chain("prerouting", r#"{"action": "drop"}"#),
        "chains[0].rules[0].action: unknown action `drop`",
    );
    expect(
        r#"{"chains": [{"hook": "output", "rules": []}, {"hook": "output", "rules": []}]}"#,
        "chains[1].hook: a nat chain on output is already defined",
    );
    expect(r#"{"chain": []}"#, "unknown field `chain`");
    // Regular chains and jumps.
    expect(
        &chain("postrouting", r#"{"action": {"jump": "nope"}}"#),
        "chains[0].rules[0].action: no regular chain named `nope`",
    );
    expect(
        r#"{"chains": [{"rules": []}]}"#,
        "chains[0]: a regular chain (no hook) needs a `name`",
    );
    expect(
        r#"{"chains": [{"name": "a", "rules": []}, {"name": "a", "rules": []}]}"#,
        "chains[1].name: a second regular chain named `a`",
    );
    expect(
        r#"{"chains": [{"hook": "prerouting", "rules": [{"action": {"jump": "a"}}]},
            {"name": "a", "rules": [{"action": {"goto": "b"}}]},
            {"name": "b", "rules": [{"action": {"jump": "a"}}]}]}"#,
        "chains[2].rules[0].action: a loop: `a` is already being run here",
    );
    expect(
        r#"{"chains": [{"hook": "prerouting", "rules": [{"action": {"jump": "a"}}]},
            {"name": "a", "rules": [{"action": {"snat": {"to": "192.0.2.1"}}}]}]}"#,
        "chains[1].rules[0].action: snat belongs in a nat chain on postrouting or input, not prerouting (`a` is reached from the nat chain on prerouting)",
    );
    // A regular chain that only hooks reaching it check: none here.
    assert!(rules::load(
        r#"{"chains": [{"name": "a", "rules": [{"action": {"snat": {"to": "192.0.2.1"}}}]}]}"#
    )
    .is_ok());
}

#[test]
fn good_rules_compile_into_their_hooks_slot() {
    let slots = rules::load(
        r#"{"chains": [
            {"hook": "output", "rules": [{"action": {"redirect": {"to": ":3128"}}}]},
            {"hook": "postrouting", "rules": [
                {"match": {"ct_state": ["new", "related"], "proto": "udp"},
                 "action": {"snat": {"to": "192.0.2.1-192.0.2.9:1024-2047", "flags": ["random", "persistent"]}}},
                {"action": "accept"}]}]}"#,
    )
    .expect("loads");
    let out = slots[1].as_ref().expect("output's chain");
    let Action::Nat(r) = out.rules[0].action else {
        panic!("a translation");
    };
    assert_eq!(r.kind, Kind::Redirect);
    let range = r.range(Family::Ipv4, Hook::LocalOut).expect("loopback");
    assert_eq!(range.addrs, Some((0x7f00_0001, 0x7f00_0001)));
    assert_eq!(
        r.range(Family::Ipv4, Hook::PreRouting),
        None,
        "no address at prerouting"
    );
    let post = slots[2].as_ref().expect("postrouting's chain");
    let Action::Nat(s) = post.rules[0].action else {
        panic!("a translation");
    };
    assert_eq!(s.addrs.map(|a| a.2 - a.1), Some(8));
    assert_eq!(s.ports, Some((1024, 2047)));
    assert!(s.flags.random && s.flags.persistent && !s.flags.fully_random);
    assert_eq!(post.rules[1].action, Action::Accept);
    assert!(slots[0].is_none() && slots[3].is_none());
    assert!(rules::load("null")
        .expect("no config")
        .iter()
        .all(Option::is_none));
}
