//! Verdicts of the filter over packets built with etherparse: conntrack states, policies
//! and their drop reasons, addresses and prefixes with negation, ports, ICMP types,
//! queue, marks, notrack, interfaces, and packets too short or malformed to match.

mod common;

use brickwall_filter::{Filter, DROP_REASONS, HOOKS};
use brickwall_hooks::{flags, priority, CtInfo, FamilySel, Hook, Plugin, Verdict};
use common::*;

const A: [u8; 4] = [10, 0, 0, 1];
const B: [u8; 4] = [10, 1, 0, 2];

#[test]
fn registrations_and_reasons() {
    let names: Vec<(&str, Hook, i32)> =
        HOOKS.iter().map(|h| (h.name, h.hook, h.priority)).collect();
    assert_eq!(
        names,
        [
            ("raw-prerouting", Hook::PreRouting, priority::RAW),
            ("raw-output", Hook::LocalOut, priority::RAW),
            ("filter-prerouting", Hook::PreRouting, priority::FILTER),
            ("filter-input", Hook::LocalIn, priority::FILTER),
            ("filter-forward", Hook::Forward, priority::FILTER),
            ("filter-output", Hook::LocalOut, priority::FILTER),
            ("filter-postrouting", Hook::PostRouting, priority::FILTER),
        ]
    );
    assert!(HOOKS.iter().all(|h| h.family == FamilySel::Inet));
    assert!(HOOKS.iter().enumerate().all(|(i, h)| h.op as usize == i));
    assert_eq!(Filter::INFO.name, "filter");
    assert_eq!(
        Filter::INFO.drop_reasons,
        ["filter-rule-drop", "filter-policy-drop", "filter-reject"]
    );
    assert_eq!(DROP_REASONS[1], "filter-policy-drop");
    assert!(!brickwall_filter::brickwall_descriptor().is_null());
}

#[test]
fn no_config_accepts_everything() {
    for cfg in [
        "null",
        "{}",
        "chains: []",
        "chains:",
        "chains: [{hook: input, rules: }]",
    ] {
        let f = filter(cfg);
        for h in HOOKS.iter() {
            let mut p = tcp4(A, B, 1000, 22);
            assert_eq!(f.on_packet(h.op, &mut p.view), Verdict::Accept);
        }
        // An op no registration has is accepted too.
        let mut p = tcp4(A, B, 1000, 22);
        assert_eq!(f.on_packet(99, &mut p.view), Verdict::Accept);
    }
}

const STATEFUL: &str = r#"
chains:
  - hook: forward
    policy: drop
    rules:
      - match: {ct_state: [established, related]}
        action: accept
      - match: {ct_state: invalid}
        action: {drop: {}}
      - match: {ct_state: new, proto: tcp, dport: 22}
        action: accept
      - match: {ct_state: untracked}
        action: accept
"#;

#[test]
fn ct_state_rules_and_policy() {
    let f = filter(STATEFUL);
    let v = |info: CtInfo, dport: u16| {
        let mut p = tcp4(A, B, 40000, dport).ct(info);
        run(&f, "filter-forward", &mut p)
    };
    assert_eq!(v(CtInfo::Established, 80), Verdict::Accept);
    assert_eq!(v(CtInfo::EstablishedReply, 80), Verdict::Accept);
    assert_eq!(v(CtInfo::Related, 80), Verdict::Accept);
    assert_eq!(v(CtInfo::RelatedReply, 80), Verdict::Accept);
    assert_eq!(v(CtInfo::Invalid, 22), Verdict::Drop(0), "rule drop");
    assert_eq!(v(CtInfo::New, 22), Verdict::Accept);
    assert_eq!(v(CtInfo::New, 23), Verdict::Drop(1), "policy drop");
    assert_eq!(v(CtInfo::Untracked, 23), Verdict::Accept);
    // No conntrack: no ct_state matches, not even the port rule that requires `new`.
    assert_eq!(v(CtInfo::None, 22), Verdict::Drop(1));
    // Other hooks have no chain.
    let mut p = tcp4(A, B, 1, 23).ct(CtInfo::New);
    assert_eq!(run(&f, "filter-input", &mut p), Verdict::Accept);
}

#[test]
fn addresses_prefixes_and_negation() {
    let f = filter(
        r#"
chains:
  - hook: input
    rules:
      - match: {daddr: 10.1.0.0/16, saddr: "!192.168.0.0/16"}
        action: drop
      - match: {saddr: ["2001:db8::/32", "!2001:db8:1::/48"]}
        action: drop
      - match: {daddr: "!10.9.0.0/16"}
        action: {queue: {num: 1}}
"#,
    );
    let v4 = |s: [u8; 4], d: [u8; 4]| {
        let mut p = udp4(s, d, 1, 2);
        run(&f, "filter-input", &mut p)
    };
    assert_eq!(v4(A, B), Verdict::Drop(0));
    assert_eq!(
        v4([192, 168, 3, 4], B),
        Verdict::Queue {
            num: 1,
            bypass: false
        }
    );
    assert_eq!(v4(A, [10, 9, 0, 1]), Verdict::Accept);
    assert_eq!(
        v4(A, [10, 2, 0, 1]),
        Verdict::Queue {
            num: 1,
            bypass: false
        }
    );
    let v6p = |s: &str, d: &str| {
        let mut p = tcp6(v6(s), v6(d), 1, 2);
        run(&f, "filter-input", &mut p)
    };
    assert_eq!(v6p("2001:db8:2::1", "2001:db8::2"), Verdict::Drop(0));
    // Excluded by the negated /48.
    assert_eq!(v6p("2001:db8:1::1", "2001:db8::2"), Verdict::Accept);
    // IPv4 prefixes never match IPv6 packets, negated or not.
    assert_eq!(v6p("fd00::1", "fd00::2"), Verdict::Accept);
}

#[test]
fn port_ranges_lists_and_protocols() {
    let f = filter(
        r#"
chains:
  - hook: forward
    policy: drop
    rules:
      - match: {proto: tcp, dport: [21, 80, "8000-8100"], daddr: 10.1.0.0/16, saddr: "!192.168.0.0/16", iif: 2, oif: 3}
        action: accept
        counter: true
        comment: "ftp and web"
      - match: {proto: udp, sport: "!0-1023", dport: 53}
        action: accept
      - match: {dport: 7}
        action: accept
"#,
    );
    let tcp = |dport: u16, iif: u32| {
        let mut p = tcp4(A, B, 40000, dport).ifs(iif, 3);
        run(&f, "filter-forward", &mut p)
    };
    for port in [21, 80, 8000, 8050, 8100] {
        assert_eq!(tcp(port, 2), Verdict::Accept, "port {port}");
    }
    for port in [20, 22, 7999, 8101] {
        assert_eq!(tcp(port, 2), Verdict::Drop(1), "port {port}");
    }
    assert_eq!(tcp(80, 4), Verdict::Drop(1), "wrong iif");
    let udp = |sport: u16, dport: u16| {
        let mut p = udp4(A, B, sport, dport);
        run(&f, "filter-forward", &mut p)
    };
    assert_eq!(udp(5353, 53), Verdict::Accept);
    assert_eq!(
        udp(53, 53),
        Verdict::Drop(1),
        "privileged source port excluded"
    );
    // A port match without proto takes TCP, UDP (and SCTP), not ICMP.
    assert_eq!(udp(1, 7), Verdict::Accept);
    let mut p = tcp6(v6("::1"), v6("::2"), 1, 7);
    assert_eq!(run(&f, "filter-forward", &mut p), Verdict::Accept);
    let mut p = icmp4(A, B, false);
    assert_eq!(run(&f, "filter-forward", &mut p), Verdict::Drop(1));
    // A non-first fragment has no ports: nothing port-based matches.
    let mut p = udp4(A, B, 1, 7);
    p.view.flags |= flags::FRAGMENT | flags::LATER_FRAGMENT;
    assert_eq!(run(&f, "filter-forward", &mut p), Verdict::Drop(1));
}

#[test]
fn icmp_types_by_family() {
    let f = filter(
        r#"
chains:
  - hook: input
    policy: drop
    rules:
      - match: {icmp_type: echo-request}
        action: accept
      - match: {proto: icmp, icmp_type: [0, destination-unreachable]}
        action: {queue: {num: 9}}
"#,
    );
    let mut p = icmp4(A, B, false);
    assert_eq!(run(&f, "filter-input", &mut p), Verdict::Accept);
    let mut p = icmp6(v6("fe80::1"), v6("fe80::2"));
    assert_eq!(run(&f, "filter-input", &mut p), Verdict::Accept);
    let mut p = icmp4(A, B, true);
    assert_eq!(
        run(&f, "filter-input", &mut p),
        Verdict::Queue {
            num: 9,
            bypass: false
        }
    );
    // A TCP packet whose first payload byte happens to be 8 is not ICMP.
    let mut p = tcp4(A, B, 8, 8);
    assert_eq!(run(&f, "filter-input", &mut p), Verdict::Drop(1));
    // ICMPv6 echo reply (129) is not ICMP echo reply (0).
    let mut p = icmp6(v6("fe80::1"), v6("fe80::2"));
    let l4 = p.view.l4_off as usize;
    p.view.frame_mut()[l4] = 129;
    assert_eq!(run(&f, "filter-input", &mut p), Verdict::Drop(1));
}

#[test]
fn queue_verdict_with_bypass() {
    let f = filter(
        r#"
chains:
  - hook: output
    rules:
      - match: {proto: udp, dport: 69}
        action: {queue: {num: 3, bypass: true}}
      - match: {proto: udp}
        action: queue
"#,
    );
    let mut p = udp4(A, B, 1000, 69);
    assert_eq!(
        run(&f, "filter-output", &mut p),
        Verdict::Queue {
            num: 3,
            bypass: true
        }
    );
    let mut p = udp4(A, B, 1000, 70);
    assert_eq!(
        run(&f, "filter-output", &mut p),
        Verdict::Queue {
            num: 0,
            bypass: false
        }
    );
}

#[test]
fn marks_set_and_matched_by_later_rules() {
    let f = filter(
        r#"
chains:
  - hook: prerouting
    rules:
      - match: {mark: "0x10/0xff", ct_mark: 5}
        action: {mark_set: 0x20}
      - match: {mark: 0x20}
        action: [{ct_mark_set: "0x7"}, drop]
      - match: {family: ipv6}
        action: {ct_mark_set: 9}
"#,
    );
    let mut p = tcp4(A, B, 1, 2).mark(0x310).ct_mark(5);
    assert_eq!(run(&f, "filter-prerouting", &mut p), Verdict::Drop(0));
    assert_eq!(p.view.mark, 0x20);
    assert_eq!(p.view.ct_mark, 7);
    // Wrong ct mark: the first rule does not match, the mark stays.
    let mut p = tcp4(A, B, 1, 2).mark(0x10).ct_mark(6);
    assert_eq!(run(&f, "filter-prerouting", &mut p), Verdict::Accept);
    assert_eq!((p.view.mark, p.view.ct_mark), (0x10, 6));
    // Non-terminal only: the packet goes on with the policy.
    let mut p = tcp6(v6("::1"), v6("::2"), 1, 2);
    assert_eq!(run(&f, "filter-prerouting", &mut p), Verdict::Accept);
    assert_eq!(p.view.ct_mark, 9);
}

#[test]
fn ct_helper_matches_the_name_conntrack_gave_the_packet() {
    let f = filter(
        r#"
chains:
  - hook: forward
    rules:
      - match: {ct_state: related, ct_helper: ftp}
        action: accept
      - match: {ct_state: related}
        action: drop
"#,
    );
    let mut data = tcp4(A, B, 20, 40000).ct(CtInfo::Related);
    assert!(data.view.set_ct_helper("ftp"));
    assert_eq!(run(&f, "filter-forward", &mut data), Verdict::Accept);
    let mut other = tcp4(A, B, 20, 40000).ct(CtInfo::Related);
    assert!(other.view.set_ct_helper("ftp-2"));
    assert_eq!(run(&f, "filter-forward", &mut other), Verdict::Drop(0));
    let mut none = tcp4(A, B, 20, 40000).ct(CtInfo::Related);
    assert_eq!(run(&f, "filter-forward", &mut none), Verdict::Drop(0));
}

#[test]
fn ct_labels_matched_all_of_them_and_set_beside_the_others() {
    let f = filter(
        r#"
chains:
  - hook: forward
    rules:
      - match: {ct_label: [3, "70"]}
        action: drop
      - action: {ct_label_set: 127}
"#,
    );
    // Both labels: dropped. One of them: the rule does not match; 127 is added.
    let mut both = tcp4(A, B, 1, 2).ct(CtInfo::Established);
    both.view.set_labels(1 << 3 | 1 << 70 | 1 << 9);
    assert_eq!(run(&f, "filter-forward", &mut both), Verdict::Drop(0));
    let mut one = tcp4(A, B, 1, 2).ct(CtInfo::Established);
    one.view.set_labels(1 << 3);
    assert_eq!(run(&f, "filter-forward", &mut one), Verdict::Accept);
    assert_eq!(one.view.labels(), 1 << 3 | 1 << 127);
    assert_eq!(one.view.ct_labels, [1 << 3, 1 << 63]);
}

#[test]
fn notrack_in_raw_chains() {
    let f = filter(
        r#"
chains:
  - hook: prerouting
    type: raw
    rules:
      - match: {proto: tcp}
        action: notrack
  - hook: output
    type: raw
    rules:
      - match: {proto: udp, dport: 53}
        action: [notrack, accept]
"#,
    );
    let mut p = tcp4(A, B, 1, 2);
    assert_eq!(run(&f, "raw-prerouting", &mut p), Verdict::Accept);
    assert_ne!(p.view.flags & flags::NOTRACK, 0);
    let mut p = udp4(A, B, 1, 2);
    assert_eq!(run(&f, "raw-prerouting", &mut p), Verdict::Accept);
    assert_eq!(p.view.flags & flags::NOTRACK, 0);
    let mut p = udp4(A, B, 1, 53);
    assert_eq!(run(&f, "raw-output", &mut p), Verdict::Accept);
    assert_ne!(p.view.flags & flags::NOTRACK, 0);
    // The filter-priority registrations on the same hooks have no chain.
    let mut p = tcp4(A, B, 1, 2);
    assert_eq!(run(&f, "filter-prerouting", &mut p), Verdict::Accept);
    assert_eq!(p.view.flags & flags::NOTRACK, 0);
}

#[test]
fn family_protocol_numbers_and_interfaces() {
    let f = filter(
        r#"
chains:
  - hook: postrouting
    policy: drop
    rules:
      - match: {family: ipv6, proto: 17}
        action: accept
      - match: {proto: gre}
        action: accept
      - match: {oif: [5, 6], family: ip}
        action: accept
"#,
    );
    let mut p = udp6(v6("::1"), v6("::2"), 1, 2);
    assert_eq!(run(&f, "filter-postrouting", &mut p), Verdict::Accept);
    let mut p = udp4(A, B, 1, 2);
    assert_eq!(run(&f, "filter-postrouting", &mut p), Verdict::Drop(1));
    let mut p = udp4(A, B, 1, 2);
    p.view.l4proto = 47;
    assert_eq!(run(&f, "filter-postrouting", &mut p), Verdict::Accept);
    let mut p = udp4(A, B, 1, 2).ifs(0, 6);
    assert_eq!(run(&f, "filter-postrouting", &mut p), Verdict::Accept);
    let mut p = udp6(v6("::1"), v6("::2"), 1, 2).ifs(0, 6);
    p.view.l4proto = 6;
    assert_eq!(run(&f, "filter-postrouting", &mut p), Verdict::Drop(1));
}

#[test]
fn short_and_malformed_packets_match_nothing_field_based() {
    let f = filter(
        r#"
chains:
  - hook: forward
    policy: drop
    rules:
      - match: {saddr: "!1.2.3.4"}
        action: accept
      - match: {dport: "!1"}
        action: accept
      - match: {icmp_type: 8}
        action: accept
"#,
    );
    // L3 cut to 10 bytes: no addresses.
    let mut p = tcp4(A, B, 1, 2);
    p.view.l3_len = 10;
    assert_eq!(run(&f, "filter-forward", &mut p), Verdict::Drop(1));
    // Malformed L4: no ports.
    let mut p = udp4([1, 2, 3, 4], B, 1, 2);
    p.view.flags |= flags::L4_MALFORMED;
    assert_eq!(run(&f, "filter-forward", &mut p), Verdict::Drop(1));
    // No buffer at all.
    let mut v = brickwall_hooks::PacketView::default();
    assert_eq!(
        f.on_packet(common::op("filter-forward"), &mut v),
        Verdict::Drop(1)
    );
}

/// Random views over random bytes, through a config that exercises every matcher:
/// nothing panics, and every verdict is one the config can produce.
#[test]
fn random_packets_never_panic() {
    let f = filter(
        r#"
chains:
  - hook: forward
    policy: drop
    rules:
      - match: {ct_state: [new, invalid], mark: "0x1/0x1", ct_mark: 0}
        action: {log: {prefix: "x", rate: 1}}
      - match: {saddr: ["10.0.0.0/8", "!10.1.0.0/16", "fd00::/8"], daddr: "::/0"}
        action: counter
      - match: {sport: ["!1-100", 443], dport: "0-65535", iif: [1, 2]}
        action: {queue: {num: 2, bypass: true}}
      - match: {icmp_type: [echo-request, 255, nd-neighbor-solicit]}
        action: [{mark_set: 1}, accept]
      - match: {family: ipv4, proto: udp}
        action: accept
"#,
    );
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..20_000 {
        let n = (next() % 120) as usize;
        let mut buf: Vec<u8> = (0..n).map(|_| next() as u8).collect();
        let r = next();
        let mut v = brickwall_hooks::PacketView::default();
        v.l3_len = (r >> 8) as u32 % 200;
        v.l3_off = (r >> 16) as u16 % 130;
        v.l4_off = (r >> 24) as u16 % 150;
        v.payload_off = (r >> 32) as u16 % 160;
        v.flags = (r >> 40) as u16 & 0x3f;
        v.family = [2, 10, 0, 255][(r >> 48) as usize % 4];
        v.l4proto = [1, 6, 17, 58, 132, 47, 0][(r >> 50) as usize % 7];
        v.ctinfo = (r >> 53) as u8;
        v.mark = (r >> 61) as u32;
        v.iif = (r >> 62) as u32;
        v.ts_ns = r;
        if r & 1 == 0 {
            // SAFETY: `buf` outlives `v` and is reached only through it.
            unsafe { v.set_frame(buf.as_mut_ptr(), n as u32) };
        }
        let verdict = f.on_packet(common::op("filter-forward"), &mut v);
        assert!(matches!(
            verdict,
            Verdict::Accept
                | Verdict::Drop(1)
                | Verdict::Queue {
                    num: 2,
                    bypass: true
                }
        ));
        // Every op, including ones the plugin does not register.
        for op in 0..10 {
            let _ = f.on_packet(op, &mut v);
        }
    }
}

/// The header matches: protocol sets, TCP flags, ICMP codes, TTL (IPv4) and hop limit
/// (IPv6), DSCP, the datagram's length and the connection's zone.
#[test]
fn header_matches() {
    let f = filter(
        r#"
chains:
  - hook: forward
    rules:
      - {match: {proto: [udp, icmp]}, action: {mark_set: 1}}
      - {match: {tcp_flags: "syn,fin"}, action: {mark_set: 2}}
      - {match: {tcp_flags: "syn/syn,ack"}, action: {mark_set: 4}}
      - {match: {icmp_code: [0, 3]}, action: {mark_set: 8}}
      - {match: {ttl: "60-64"}, action: {mark_set: 16}}
      - {match: {dscp: [ef, af41]}, action: {mark_set: 32}}
      - {match: {length: "40-45"}, action: {mark_set: 64}}
      - {match: {ct_zone: 7}, action: {mark_set: 128}}
"#,
    );
    // Each rule's mark_set replaces the mark: the last matching rule's mark stays.
    let mark = |p: &mut Pkt| {
        p.view.mark = 0;
        run(&f, "filter-forward", p);
        p.view.mark
    };
    // A SYN, TTL 64, 45 bytes, DSCP 0, no connection: flags (2, 4), ttl, length.
    let mut syn = tcp4(A, B, 1000, 22);
    assert_eq!(mark(&mut syn), 64);
    let marks_of = |p: &mut Pkt| -> Vec<u32> {
        // Which rules match, one at a time: drop all but rule i.
        (0..8)
            .filter(|i| {
                let only = filter(&format!(
                    "chains: [{{hook: forward, rules: [{}]}}]",
                    [
                        r#"{match: {proto: [udp, icmp]}, action: drop}"#,
                        r#"{match: {tcp_flags: "syn,fin"}, action: drop}"#,
                        r#"{match: {tcp_flags: "syn/syn,ack"}, action: drop}"#,
                        r#"{match: {icmp_code: [0, 3]}, action: drop}"#,
                        r#"{match: {ttl: "60-64"}, action: drop}"#,
                        r#"{match: {dscp: [ef, af41]}, action: drop}"#,
                        r#"{match: {length: "40-45"}, action: drop}"#,
                        r#"{match: {ct_zone: 7}, action: drop}"#,
                    ][*i as usize]
                ));
                matches!(run(&only, "filter-forward", p), Verdict::Drop { .. })
            })
            .collect()
    };
    assert_eq!(marks_of(&mut syn), [1, 2, 4, 6]);
    // SYN-ACK: "syn,fin" yes, "syn/syn,ack" no.
    syn.view.frame_mut()[14 + 20 + 13] = 0x12;
    assert_eq!(marks_of(&mut syn), [1, 4, 6]);
    // TTL 59 and 1 byte longer (the datagram's length field is not what counts: l3_len).
    syn.view.frame_mut()[14 + 8] = 59;
    syn.view.l3_len = 46;
    assert_eq!(marks_of(&mut syn), [1]);
    // DSCP EF (46 << 2 in the TOS byte), zone 7 of a tracked connection.
    syn.view.frame_mut()[14 + 1] = 46 << 2;
    syn.view.zone = 7;
    syn.view.ct = 1;
    assert_eq!(marks_of(&mut syn), [1, 5, 7]);
    // ICMP echo request (code 0) and UDP (32 bytes each): the protocol set; ICMP also
    // the code.
    let mut ping = icmp4(A, B, false);
    assert_eq!(marks_of(&mut ping), [0, 3, 4]);
    let mut dns = udp4(A, B, 1000, 53);
    assert_eq!(marks_of(&mut dns), [0, 4]);
    // IPv6: hop limit 64, traffic class AF41 (34 << 2).
    let mut six = udp6(v6("fd00::1"), v6("fd00::2"), 1000, 53);
    six.view.frame_mut()[14] = 0x60 | (34 << 2) >> 4;
    six.view.frame_mut()[15] = ((34u8 << 2) & 0x0f) << 4;
    assert_eq!(marks_of(&mut six), [0, 4, 5]);
}

/// The header matches' checks: values out of range, a field the protocol cannot have.
#[test]
fn header_match_errors() {
    for (m, path, words) in [
        (
            r#"{tcp_flags: "syn,bogus"}"#,
            "tcp_flags",
            "unknown TCP flag",
        ),
        (
            r#"{tcp_flags: "syn,ack/syn"}"#,
            "tcp_flags",
            "outside the mask",
        ),
        (
            r#"{proto: udp, tcp_flags: syn}"#,
            "tcp_flags",
            "only tcp packets",
        ),
        (r#"{icmp_code: 256}"#, "icmp_code", "not an ICMP code"),
        (
            r#"{proto: tcp, icmp_code: 1}"#,
            "icmp_code",
            "only icmp or icmpv6",
        ),
        (r#"{ttl: 300}"#, "ttl", "above 255"),
        (r#"{dscp: af51}"#, "dscp", "not a DSCP value"),
        (r#"{dscp: 64}"#, "dscp", "not a DSCP value"),
        (
            r#"{proto: [tcp, icmp], dport: 22}"#,
            "dport",
            "proto lists another",
        ),
    ] {
        let e = init_err(&format!(
            "chains: [{{hook: forward, rules: [{{match: {m}}}]}}]"
        ));
        let want = format!("chains[0].rules[0].match.{path}: ");
        assert!(e.starts_with(&want) && e.contains(words), "{m}: {e}");
    }
}

/// `limit`: the burst, then the rate, by packet time; `quota`: the bytes, this packet's
/// included; `reset` starts both again.
#[test]
fn limits_and_quotas() {
    let f = filter(
        r#"
chains:
  - hook: forward
    policy: drop
    rules:
      - {match: {proto: icmp}, limit: {rate: 2, burst: 3}, action: accept}
      - {match: {proto: udp}, quota: {bytes: 100}, action: accept}
"#,
    );
    let t0 = 1_700_000_000_000_000_000u64;
    let at = |p: &mut Pkt, ns: u64| {
        p.view.ts_ns = ns;
        matches!(run(&f, "filter-forward", p), Verdict::Accept)
    };
    let mut ping = icmp4(A, B, false);
    let burst: Vec<bool> = (0..4).map(|_| at(&mut ping, t0)).collect();
    assert_eq!(burst, [true, true, true, false]);
    assert!(
        at(&mut ping, t0 + 500_000_000),
        "a token half a second later"
    );
    assert!(!at(&mut ping, t0 + 500_000_000));
    // 32-byte datagrams: the fourth makes 128, over 100.
    let mut dns = udp4(A, B, 1000, 53);
    let quota: Vec<bool> = (0..4).map(|_| at(&mut dns, t0)).collect();
    assert_eq!(quota, [true, true, true, false]);
    f.control(b"reset", &mut Vec::new()).unwrap();
    assert!(at(&mut dns, t0) && at(&mut ping, t0));
    assert!(
        init_err("chains: [{hook: forward, rules: [{limit: {rate: 0}}]}]")
            .starts_with("chains[0].rules[0].limit.rate: ")
    );
}

/// `iifname`/`oifname` compare the interface's name when the packet passes: `lo` is
/// index 1 in every namespace; a prefix matches every name it starts.
#[test]
fn interface_names_per_packet() {
    let f = filter(
        r#"
chains:
  - hook: forward
    policy: drop
    rules:
      - {match: {iifname: "l*", oifname: [nosuch0, lo]}, action: accept}
"#,
    );
    let mut p = tcp4(A, B, 1000, 22).ifs(1, 1);
    assert!(matches!(run(&f, "filter-forward", &mut p), Verdict::Accept));
    let mut p = tcp4(A, B, 1000, 22).ifs(1, 0);
    assert!(matches!(
        run(&f, "filter-forward", &mut p),
        Verdict::Drop(_)
    ));
    let mut p = tcp4(A, B, 1000, 22).ifs(0, 1);
    assert!(matches!(
        run(&f, "filter-forward", &mut p),
        Verdict::Drop(_)
    ));
    let e = init_err("chains: [{hook: forward, rules: [{match: {iifname: \"a b\"}}]}]");
    assert!(e.starts_with("chains[0].rules[0].match.iifname: "), "{e}");
}

/// `jump` runs a regular chain and comes back unless it decided; `goto` does not come
/// back; `return` leaves a chain; the base chain's policy decides what none decided.
#[test]
fn jumps_gotos_and_returns() {
    let f = filter(
        r#"
chains:
  - hook: forward
    policy: drop
    rules:
      - {match: {proto: tcp}, action: {jump: tcp_in}}
      - {match: {proto: tcp, dport: 80}, action: accept}
      - {match: {proto: udp}, action: {goto: udp_in}}
      - {match: {proto: udp}, action: accept}
  - name: tcp_in
    rules:
      - {match: {dport: 22}, action: accept}
      - {match: {dport: 23}, action: drop}
      - {match: {dport: 80}, action: return}
      - {action: {mark_set: 7}}
  - name: udp_in
    rules:
      - {match: {dport: 53}, action: accept}
"#,
    );
    let verdict = |p: &mut Pkt| run(&f, "filter-forward", p);
    assert!(matches!(verdict(&mut tcp4(A, B, 1, 22)), Verdict::Accept));
    assert!(matches!(verdict(&mut tcp4(A, B, 1, 23)), Verdict::Drop(0)));
    // Returned before the mark; the base chain accepts port 80.
    let mut web = tcp4(A, B, 1, 80);
    assert!(matches!(verdict(&mut web), Verdict::Accept));
    assert_eq!(web.view.mark, 0);
    // Fell off the end of tcp_in (marked): back in the base chain, its policy drops.
    let mut other = tcp4(A, B, 1, 443);
    assert!(matches!(verdict(&mut other), Verdict::Drop(1)));
    assert_eq!(other.view.mark, 7);
    assert!(matches!(verdict(&mut udp4(A, B, 1, 53)), Verdict::Accept));
    // goto: udp_in fell off, and the base chain's later accept is not reached.
    assert!(matches!(verdict(&mut udp4(A, B, 1, 54)), Verdict::Drop(1)));
    // The listing has the regular chains, without a hook.
    let l = list(&f);
    let names: Vec<&str> = l["chains"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["filter-forward", "tcp_in", "udp_in"]);
    assert_eq!(l["chains"][1]["hook"], "");
    assert_eq!(
        l["chains"][0]["rules"][0]["text"],
        "meta l4proto tcp jump tcp_in"
    );
    // Checks: an unknown target, a loop, a regular chain with a policy or no name.
    for (yaml, words) in [
        (
            "chains: [{hook: input, rules: [{action: {jump: nope}}]}]",
            "no regular chain named `nope`",
        ),
        (
            "chains: [{name: a, rules: [{action: {goto: a}}]}]",
            "a loop of jumps: a -> a",
        ),
        ("chains: [{name: a, policy: drop}]", "no type or policy"),
        ("chains: [{rules: []}]", "needs a name"),
        (
            "chains: [{name: a}, {name: a}]",
            "a second regular chain named `a`",
        ),
        (
            "chains: [{hook: input, rules: [{action: [{jump: a}, accept]}]}, {name: a}]",
            "must come last",
        ),
    ] {
        let e = init_err(yaml);
        assert!(e.contains(words), "{yaml}: {e}");
    }
    // Seventeen chains deep is refused.
    let deep: Vec<String> = (0..17)
        .map(|i| format!("{{name: c{i}, rules: [{{action: {{jump: c{}}}}}]}}", i + 1))
        .chain(std::iter::once("{name: c17}".to_string()))
        .collect();
    let e = init_err(&format!("chains: [{}]", deep.join(", ")));
    assert!(e.contains("more than 16 chains deep"), "{e}");
}

/// `pkttype`: by the Ethernet destination when the frame has one, else by the IP
/// destination.
#[test]
fn packet_types() {
    let f = filter("chains: [{hook: forward, policy: drop, rules: [{match: {pkttype: [broadcast, multicast]}, action: accept}]}]");
    let mut p = udp4(A, [255, 255, 255, 255], 68, 67);
    assert!(
        matches!(run(&f, "filter-forward", &mut p), Verdict::Drop(_)),
        "its MAC is unicast"
    );
    p.view.frame_mut()[..6].copy_from_slice(&[0xff; 6]);
    assert!(matches!(run(&f, "filter-forward", &mut p), Verdict::Accept));
    p.view.frame_mut()[..6].copy_from_slice(&[0x01, 0, 0x5e, 0, 0, 0xfb]);
    assert!(matches!(run(&f, "filter-forward", &mut p), Verdict::Accept));
    // Without a link header: 224.0.0.251 is a group.
    let mut q = udp4(A, [224, 0, 0, 251], 5353, 5353);
    q.view.l3_off = 0;
    let datagram = q.bytes()[14..].to_vec();
    q.view.frame_mut()[..datagram.len()].copy_from_slice(&datagram);
    q.view.l4_off -= 14;
    q.view.payload_off -= 14;
    assert!(matches!(run(&f, "filter-forward", &mut q), Verdict::Accept));
}
