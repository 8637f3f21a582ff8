//! Conntrack on real captures: every capture in ../shared/pcaps replayed through the
//! built-in conntrack plugin, its per-state packet counts compared with what the Linux
//! kernel's conntrack said about the same capture (kernel_truth.tsv).

mod common;

use brickwall_core::config::Config;
use brickwall_core::engine::Engine;
use brickwall_core::io::PcapSource;
use brickwall_core::replay::{replay, ReplayOptions};
use common::{pcaps_dir, report_lines, SharedBuf};
use std::collections::{BTreeMap, HashSet};
use std::path::Path;

/// The kernel's counts for one capture.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Counts {
    new: u64,
    established: u64,
    related: u64,
    invalid: u64,
    untracked: u64,
    conns: u64,
    expect_create: u64,
}

fn kernel_truth() -> BTreeMap<String, Counts> {
    common::kernel_truth(&pcaps_dir())
        .into_iter()
        .map(|(file, k)| {
            let c = Counts {
                new: k.new,
                established: k.established,
                related: k.related,
                invalid: k.invalid,
                untracked: k.untracked,
                conns: k.conns,
                expect_create: k.expect_create,
            };
            (file, c)
        })
        .collect()
}

use common::{ipv4_raw, AS_REFERENCE, NO_EXPIRY, REFERENCE_HELPERS as HELPERS};

/// Replays a capture through conntrack and the bundled helpers, with `extra` YAML
/// (`key: value` of the conntrack section); returns the per-state counts of the
/// report, the distinct connections seen and the expectations created.
fn brickwall_counts(rel: &str, extra: &str) -> Counts {
    let (report, _) = replay_with_helpers(rel, extra);
    let mut c = Counts::default();
    let mut conns = HashSet::new();
    for line in report_lines(&report) {
        match line.ctstate.as_deref() {
            Some("NEW") => c.new += 1,
            Some("ESTABLISHED") => c.established += 1,
            Some("RELATED") => c.related += 1,
            Some("INVALID") => c.invalid += 1,
            Some("UNTRACKED") => c.untracked += 1,
            _ => {}
        }
        if let Some(id) = line.conn {
            conns.insert(id);
        }
        c.expect_create += line.expected.len() as u64;
    }
    c.conns = conns.len() as u64;
    c
}

/// Replays a capture through conntrack and the bundled helpers, with `extra` YAML of
/// the conntrack section: the report, and the table and expectations at the end.
fn replay_with_helpers(rel: &str, extra: &str) -> (Vec<u8>, String) {
    let yaml = format!(
        "plugins:\n  - builtin: conntrack\n    config:\n      {AS_REFERENCE}\n      helpers: {HELPERS}\n      helper_sandbox: {{budget: {{fuel: 100000000}}}}\n      {extra}\n"
    );
    let (engine, report, last_ts) = replay_capture(&yaml, rel);
    let mut tables = common::ct_table(&engine, last_ts);
    tables.push_str(&common::ct_expectations(&engine, last_ts));
    (report, tables)
}

/// Replays capture `rel` with config `yaml`: the engine afterwards, the report, and
/// the time of the last packet.
fn replay_capture(yaml: &str, rel: &str) -> (Engine, Vec<u8>, u64) {
    let cfg = Config::parse(yaml, "ct.yaml").unwrap();
    let engine = Engine::from_config(&cfg, Path::new("."), "ct.yaml").unwrap();
    let buf = SharedBuf::default();
    let mut src = PcapSource::open(&pcaps_dir().join(rel)).unwrap();
    let opts = ReplayOptions {
        report: Some(Box::new(buf.clone())),
        ..ReplayOptions::default()
    };
    let s = replay(&engine, &mut src, opts).unwrap();
    (engine, buf.contents(), s.last_ts_ns)
}

/// Replay prepares each batch of packets (conntrack hashes their tuples and prefetches
/// their entries before they walk the hooks). Forced on for every capture, whatever
/// the table's size, it changes nothing: the report, packet by packet, and the final
/// table and expectations are the same as with preparation off (the default below
/// 24 MiB of records). The tables are compared as sets of lines: a listing is in slot
/// order, and which freed slot a new connection takes depends on the order the
/// collector freed them in, the order of their buckets under each run's random hash key.
#[test]
fn prepared_batches_replay_every_capture_as_unprepared() {
    let sorted = |s: &str| {
        let mut v: Vec<&str> = s.lines().collect();
        v.sort_unstable();
        v.join("\n")
    };
    let mut prepared_hits = 0;
    for rel in kernel_truth().keys() {
        let plain = replay_with_helpers(rel, "zone: 0");
        let prepared = replay_with_helpers(rel, "batch_prefetch_min_bytes: 0");
        assert_eq!(prepared.0, plain.0, "{rel}: report");
        assert_eq!(sorted(&prepared.1), sorted(&plain.1), "{rel}: table");
        prepared_hits += report_lines(&plain.0)
            .iter()
            .filter(|l| l.conn.is_some())
            .count();
    }
    assert!(prepared_hits > 1000, "{prepared_hits} tracked packets");
}

/// Replay walks each batch through the hooks as a burst (conntrack and the filter
/// decide bursts). Against the same engine made to walk one packet at a time (an
/// engine callback without a burst function keeps the table to one at a time), every
/// capture gives the same report, packet by packet, and the same table and
/// expectations at the end. The filter marks a connection 7 at its first packet and 9
/// at its next, and drops what comes after: marks are stored at confirmation, so a
/// burst that let a connection's packet through conntrack-in before the one ahead of
/// it was confirmed would let a packet through that one at a time drops. Once with the
/// helpers, once without (bursts then go on past new connections: see `BurstGuard`).
#[test]
fn bursts_replay_every_capture_as_one_packet_at_a_time() {
    for helpers in [true, false] {
        bursts_match_one_at_a_time(helpers);
    }
}

fn bursts_match_one_at_a_time(helpers: bool) {
    let conntrack = if helpers {
        format!("helpers: {HELPERS}\n      helper_sandbox: {{budget: {{fuel: 100000000}}}}")
    } else {
        "helpers: []".to_string()
    };
    let yaml = format!(
        "plugins:\n  - builtin: conntrack\n    config:\n      {AS_REFERENCE}\n      {conntrack}\n  \
         - builtin: filter\n    config:\n      \
         chains:\n        - hook: forward\n          policy: accept\n          rules:\n            \
         - {{match: {{ct_state: new}}, action: {{ct_mark_set: 7}}}}\n            \
         - {{match: {{ct_state: established, ct_mark: 7}}, action: [{{ct_mark_set: 9}}, accept]}}\n            \
         - {{match: {{ct_mark: 9}}, action: drop}}\n"
    );
    let sorted = |s: &str| {
        let mut v: Vec<&str> = s.lines().collect();
        v.sort_unstable();
        v.join("\n")
    };
    let run = |rel: &str, one_at_a_time: bool| {
        let cfg = Config::parse(&yaml, "ct.yaml").unwrap();
        let engine = Engine::from_config(&cfg, Path::new("."), "ct.yaml").unwrap();
        let table = engine.registry().snapshot();
        assert!(
            table.walks_bursts(),
            "conntrack and the filter decide bursts"
        );
        if one_at_a_time {
            engine.registry().register_fn(
                "one-at-a-time",
                brickwall_hooks::Hook::LocalIn,
                brickwall_hooks::FamilySel::Inet,
                0,
                |_| brickwall_hooks::Verdict::Accept,
            );
            assert!(!engine.registry().snapshot().walks_bursts());
        }
        let buf = SharedBuf::default();
        let mut src = PcapSource::open(&pcaps_dir().join(rel)).unwrap();
        let opts = ReplayOptions {
            report: Some(Box::new(buf.clone())),
            ..ReplayOptions::default()
        };
        let s = replay(&engine, &mut src, opts).unwrap();
        let mut tables = common::ct_table(&engine, s.last_ts_ns);
        tables.push_str(&common::ct_expectations(&engine, s.last_ts_ns));
        (buf.contents(), tables)
    };
    let (mut tracked, mut dropped) = (0, 0);
    for rel in kernel_truth().keys() {
        let bursts = run(rel, false);
        let single = run(rel, true);
        assert!(bursts.0 == single.0, "{rel}: the reports differ");
        assert_eq!(sorted(&bursts.1), sorted(&single.1), "{rel}: table");
        let lines = report_lines(&bursts.0);
        tracked += lines.iter().filter(|l| l.conn.is_some()).count();
        dropped += lines.iter().filter(|l| l.verdict == "drop").count();
    }
    assert!(tracked > 1000, "{tracked} tracked packets");
    assert!(
        dropped > 100,
        "{dropped} packets dropped for their stored mark"
    );
}

/// With timeouts long enough that nothing expires (the kernel saw each capture within a
/// second), every capture gives exactly the kernel's counts: packets per state,
/// connections, and expectations the helpers created (FTP, IRC, TFTP, PPTP).
///
/// The connection counts differ for two captures, by exactly the connections that an
/// RST ended before any reply: Linux kills those at once (as we do), and the kernel's
/// reference counts did not include them; the per-state packet counts agree.
#[test]
fn per_state_counts_equal_the_kernels() {
    check_against_kernel(NO_EXPIRY, &[]);
}

/// With Linux's default timeouts and the captures' own clocks, idle UDP and ICMP flows
/// expire in the long captures (the kernel saw each capture within a second): only
/// the captures pcaps/README.md names may differ.
#[test]
fn with_default_timeouts_only_the_long_captures_differ() {
    check_against_kernel("zone: 0", &LONG_CAPTURES);
}

/// Captures lasting 26-61 s, in which idle flows may time out under the capture's clock.
const LONG_CAPTURES: [&str; 5] = [
    "nDPI/iphone.pcap",
    "nDPI/tcp_scan.pcapng",
    "zeek/ftp/ipv6.pcap",
    "zeek/tcp/retransmit-fast009.pcap",
    "zeek/var-services-std-ports.pcap",
];

/// Connections that an RST killed before any reply, which the kernel's counts leave out.
const KILLED_BEFORE_REPLY: [(&str, u64); 2] = [
    ("nDPI/tcp_scan.pcapng", 2),
    ("zeek/tcp/rst-inject-rae.pcap", 1),
];

fn check_against_kernel(extra: &str, may_differ: &[&str]) {
    let truth = kernel_truth();
    let mut mismatches = Vec::new();
    for (rel, k) in &truth {
        let mut b = brickwall_counts(rel, extra);
        if let Some((_, n)) = KILLED_BEFORE_REPLY.iter().find(|(f, _)| f == rel) {
            b.conns -= n;
        }
        if may_differ.contains(&rel.as_str()) {
            continue;
        }
        if b != *k {
            mismatches.push(format!("{rel}:\n  kernel    {k:?}\n  brickwall {b:?}"));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} captures differ:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

/// Replays with the embedded-default-like config and returns the report lines and the
/// final table (`conntrack -L` lines as of the last packet).
fn replay_with_table(rel: &str) -> (Vec<brickwall_core::report::ReportLine>, Vec<String>) {
    replay_with_table_and(
        &format!("plugins:\n  - builtin: conntrack\n    config: {{{AS_REFERENCE}}}\n"),
        rel,
    )
}

/// Replays `rel` with config `yaml`; the report lines and the final table.
fn replay_with_table_and(
    yaml: &str,
    rel: &str,
) -> (Vec<brickwall_core::report::ReportLine>, Vec<String>) {
    let (engine, report, last_ts) = replay_capture(yaml, rel);
    let table = common::ct_table(&engine, last_ts)
        .lines()
        .map(str::to_string)
        .collect();
    (report_lines(&report), table)
}

/// A master's `use=` counts its live RELATED children, as Linux's reference count does:
/// an FTP control connection whose data connection is still in the table shows 2.
#[test]
fn a_master_counts_its_live_children_in_use() {
    let yaml = format!("plugins:\n  - builtin: conntrack\n    config:\n      {AS_REFERENCE}\n      helpers: {HELPERS}\n      helper_sandbox: {{budget: {{fuel: 100000000}}}}\n");
    let (lines, table) = replay_with_table_and(&yaml, "zeek/ftp/retr.pcap");
    let related = lines
        .iter()
        .filter(|l| l.ctstate.as_deref() == Some("RELATED"))
        .count();
    assert!(related > 0, "no RELATED packet: the helper did not work");
    let uses = |l: &String| -> u32 {
        l.rsplit("use=")
            .next()
            .and_then(|n| n.trim().parse().ok())
            .unwrap()
    };
    let masters: Vec<&String> = table.iter().filter(|l| l.contains("helper=ftp")).collect();
    let children = table.iter().filter(|l| !l.contains("dport=21 ")).count();
    assert!(!masters.is_empty(), "{table:#?}");
    // Every child in the table holds one reference on its master, and nothing else
    // does (a pending expectation holds none, as in Linux).
    let held: u32 = masters.iter().map(|l| uses(l) - 1).sum();
    assert_eq!(held as usize, children, "{table:#?}");
    assert!(masters.iter().any(|l| uses(l) >= 2), "{table:#?}");
}

#[test]
fn a_clean_tcp_lifecycle_ends_in_time_wait() {
    let (lines, table) = replay_with_table_and(
        "plugins:\n  - builtin: conntrack\n    config: {accounting: true, checksum: false}\n",
        "tcpdump/dns_tcp.pcap",
    );
    let states: Vec<_> = lines
        .iter()
        .map(|l| l.ctstate.as_deref().unwrap())
        .collect();
    assert_eq!(states[0], "NEW");
    assert!(
        states[1..].iter().all(|s| *s == "ESTABLISHED"),
        "{states:?}"
    );
    assert_eq!(lines[1].ctdir.as_deref(), Some("reply"));
    assert_eq!(table.len(), 1);
    assert!(
        table[0].starts_with("tcp      6 120 TIME_WAIT src=192.168.1.11 dst=209.87.249.18 sport=33779 dport=53 packets=6 "),
        "{}",
        table[0]
    );
    assert!(table[0].contains(" [ASSURED] mark=0 use=1"), "{}", table[0]);
}

#[test]
fn icmp_errors_are_related_or_invalid_as_the_ground_truth_says() {
    // doq: six ICMPv6 port-unreachable errors about a live UDP flow: RELATED.
    let (lines, _) = replay_with_table("nDPI/doq.pcapng");
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.ctstate.as_deref() == Some("RELATED"))
            .count(),
        6
    );
    // An error about a flow nobody saw, in IPv4 and (with an extension header) IPv6: INVALID.
    for rel in [
        "zeek/icmp/icmp-destunreach-udp.pcap",
        "zeek/icmp/icmp6-destunreach-ip6ext-udp.pcap",
    ] {
        let (lines, table) = replay_with_table(rel);
        assert_eq!(lines[0].ctstate.as_deref(), Some("INVALID"), "{rel}");
        assert!(table.is_empty(), "{rel}: {table:?}");
    }
}

#[test]
fn lone_rst_and_scan_probes_are_invalid() {
    let (lines, table) = replay_with_table("tcpdump/tcp_rst_data.pcap");
    assert_eq!(lines[0].ctstate.as_deref(), Some("INVALID"));
    assert!(table.is_empty());
    // The FIN, NULL and Xmas probes of the scan: six INVALID packets, no connection each.
    let (lines, _) = replay_with_table("nDPI/tcp_scan.pcapng");
    let invalid: Vec<_> = lines
        .iter()
        .filter(|l| l.ctstate.as_deref() == Some("INVALID"))
        .collect();
    assert_eq!(invalid.len(), 6);
    assert!(invalid.iter().all(|l| l.conn.is_none()));
}

/// Counts per state and expectations of a replay with `yaml` as the whole config.
fn counts_with(rel: &str, yaml: &str) -> Counts {
    let (_, report, _) = replay_capture(yaml, rel);
    let mut c = Counts::default();
    for line in report_lines(&report) {
        match line.ctstate.as_deref() {
            Some("NEW") => c.new += 1,
            Some("RELATED") => c.related += 1,
            _ => {}
        }
        c.expect_create += line.expected.len() as u64;
    }
    c
}

/// A config: conntrack with the TFTP helper (`ports`: the rest of its entry, e.g. its
/// automatic assignment) and a forward chain, policy accept, of `rule`.
fn tftp_config(ports: &str, rule: &str) -> String {
    format!(
        "plugins:
  - builtin: conntrack
    config:
      {AS_REFERENCE}
      helpers: [{{name: tftp, wasm: 'builtin:tftp'{ports}}}]
      helper_sandbox: {{budget: {{fuel: 100000000}}}}
  - builtin: filter
    config:
      chains:
        - hook: forward
          policy: accept
          rules: [{rule}]
"
    )
}

/// nft's `ct helper "tftp"` matches the packets of the connections the TFTP helper
/// announced (the helper of the connection's master), not the request's own: with a
/// drop rule on it, exactly the RELATED data packet is dropped; with another helper's
/// name, nothing.
#[test]
fn a_filter_rule_matches_the_helper_of_the_master() {
    let yaml = |name: &str| {
        tftp_config(
            ", ports: [udp/69]",
            &format!("{{match: {{ct_helper: {name}}}, action: drop}}"),
        )
    };
    let dropped = |name: &str| -> Vec<(String, String)> {
        let (_, report, _) = replay_capture(&yaml(name), "tcpdump/tftp.pcap");
        report_lines(&report)
            .into_iter()
            .filter(|l| l.reason.is_some())
            .map(|l| (l.ctstate.unwrap_or_default(), l.reason.unwrap_or_default()))
            .collect()
    };
    assert_eq!(
        dropped("tftp"),
        [("RELATED".to_string(), "filter-rule-drop".to_string())]
    );
    assert_eq!(dropped("ftp"), []);
}

/// Labels a rule sets on a connection's first packet (nft's `ct label set`, here at
/// POSTROUTING) reach the connection at confirmation and come back on its later
/// packets, where `ct label` (at FORWARD) matches them: exactly the ESTABLISHED packets of connections that began NEW are
/// dropped; with a label nobody set, nothing is.
#[test]
fn labels_set_by_a_rule_are_matched_on_later_packets() {
    let yaml = |label: u32| {
        format!(
            "plugins:
  - builtin: conntrack
    config: {{{AS_REFERENCE}}}
  - builtin: filter
    config:
      chains:
        - hook: forward
          policy: accept
          rules:
            - {{match: {{ct_label: {label}}}, action: drop}}
        - hook: postrouting
          policy: accept
          rules:
            - {{match: {{ct_state: new}}, action: {{ct_label_set: [7, 100]}}}}
"
        )
    };
    let run = |label: u32| {
        let (engine, report, last_ts) = replay_capture(&yaml(label), "nDPI/ftp.pcap");
        let table = engine
            .plugin("conntrack")
            .unwrap()
            .control(
                format!(r#"{{"op": "list", "now_ns": {last_ts}, "format": "json"}}"#).as_bytes(),
            )
            .unwrap();
        (report_lines(&report), String::from_utf8(table).unwrap())
    };
    let (lines, table) = run(100);
    let began_new: HashSet<u64> = lines
        .iter()
        .filter(|l| l.ctstate.as_deref() == Some("NEW"))
        .filter_map(|l| l.conn)
        .collect();
    let dropped: Vec<_> = lines.iter().filter(|l| l.reason.is_some()).collect();
    let expected = lines
        .iter()
        .filter(|l| l.ctstate.as_deref() == Some("ESTABLISHED"))
        .filter(|l| l.conn.is_some_and(|c| began_new.contains(&c)))
        .count();
    assert!(expected > 100, "{expected}");
    assert_eq!(dropped.len(), expected);
    assert!(dropped
        .iter()
        .all(|l| l.ctstate.as_deref() == Some("ESTABLISHED")));
    // Bits 7 and 100 on every connection that began NEW.
    let labelled = table
        .matches(r#""labels":"0x10000000000000000000000080""#)
        .count();
    assert_eq!(labelled, began_new.len(), "{table}");
    let (lines, _) = run(8);
    assert!(lines.iter().all(|l| l.reason.is_none()));
}

/// As Linux since 4.7, a helper with no ports is assigned only where a rule says so
/// (`ct_helper_set`, nft's `ct helper set "tftp"`): without the rule the TFTP answer is
/// NEW, with it RELATED.
#[test]
fn a_filter_rule_assigns_a_helper_explicitly() {
    let yaml = |rule: &str| tftp_config("", rule);
    let without = counts_with("tcpdump/tftp.pcap", &yaml(""));
    assert_eq!((without.related, without.expect_create), (0, 0));
    let with = counts_with(
        "tcpdump/tftp.pcap",
        &yaml("{match: {proto: udp, dport: 69}, action: {ct_helper_set: tftp}}"),
    );
    assert_eq!((with.related, with.expect_create, with.new), (1, 1, 1));
    // The request's connection carries `HELPER`, as Linux marks a helper a rule set.
    let (engine, _, last) = replay_capture(
        &yaml("{match: {proto: udp, dport: 69}, action: {ct_helper_set: tftp}}"),
        "tcpdump/tftp.pcap",
    );
    let marked = common::ct_records(&engine, last)
        .into_iter()
        .filter(|r| r.status.iter().any(|s| s == "HELPER"))
        .count();
    assert_eq!(marked, 1);
    // A name no config defines is refused by nothing at load (helpers may be
    // reloaded), counted at run time, and assigns nothing.
    let unknown = counts_with(
        "tcpdump/tftp.pcap",
        &yaml("{match: {proto: udp, dport: 69}, action: {ct_helper_set: gopher}}"),
    );
    assert_eq!(unknown.related, 0);
}

/// A DCCP packet between 10.0.0.1:5001 (the client) and 10.0.0.2:6001, from the server
/// when `reply`: type `ty` with the X bit, sequence number `seq`, acknowledgement
/// number `ack` (types that carry one), four bytes of payload, its checksum filled in;
/// a raw IPv4 datagram.
fn dccp4(reply: bool, ty: u8, seq: u64, ack: u64) -> Vec<u8> {
    let (mut sport, mut dport) = (5001u16, 6001u16);
    let (mut src, mut dst) = ([10, 0, 0, 1], [10, 0, 0, 2]);
    if reply {
        (sport, dport, src, dst) = (dport, sport, dst, src);
    }
    let l4 = common::dccp_segment(sport, dport, ty, seq, ack);
    ipv4_raw(src, dst, brickwall_core::wire::ip_proto::DCCP, &l4)
}

/// A whole DCCP connection, with a malformed packet, a bad checksum, an ICMP error
/// quoting it and a Sync that starts nothing, replayed with `config`: each packet's
/// ctstate and the final `conntrack -L` lines.
fn dccp_replay(config: &str) -> (Vec<String>, Vec<String>) {
    use brickwall_core::wire::{dccp, LinkType};
    // Data offset 2 words (8 bytes, under the header), the checksum computed again.
    let mut l4 = dccp4(false, dccp::DATA, 103, 0)[20..].to_vec();
    l4[4] = 2;
    let bad_offset = ipv4_raw([10, 0, 0, 1], [10, 0, 0, 2], 33, &l4);
    let mut bad_sum = dccp4(false, dccp::DATA, 104, 0);
    bad_sum[27] ^= 1;
    // Port unreachable from the server about a client packet: its IP header and the
    // first 8 bytes of DCCP.
    let mut icmp = vec![3, 3, 0, 0, 0, 0, 0, 0];
    icmp.extend_from_slice(&dccp4(false, dccp::DATA, 105, 0)[..28]);
    let c = brickwall_core::wire::checksum::checksum(&icmp);
    icmp[2..4].copy_from_slice(&c.to_be_bytes());
    let icmp = ipv4_raw([10, 0, 0, 2], [10, 0, 0, 1], 1, &icmp);
    // A Sync of another pair of ports: nothing to resynchronise.
    let mut sync = dccp4(false, dccp::SYNC, 1, 1);
    sync[20..22].copy_from_slice(&7000u16.to_be_bytes());
    let l4 = sync[20..].to_vec();
    let sync = ipv4_raw([10, 0, 0, 1], [10, 0, 0, 2], 33, &l4);
    let frames = vec![
        dccp4(false, dccp::REQUEST, 100, 0),
        dccp4(true, dccp::RESPONSE, 5000, 100),
        dccp4(false, dccp::ACK, 101, 5000),
        dccp4(true, dccp::DATA, 5001, 0),
        dccp4(false, dccp::DATAACK, 102, 5001),
        bad_offset,
        bad_sum,
        icmp,
        sync,
        dccp4(true, dccp::CLOSEREQ, 5002, 102),
        dccp4(false, dccp::CLOSE, 106, 5002),
        dccp4(true, dccp::RESET, 5003, 106),
    ];
    let cfg = Config::parse(
        &format!("plugins:\n  - builtin: conntrack\n    config: {{{config}}}\n"),
        "ct.yaml",
    )
    .unwrap();
    let engine = Engine::from_config(&cfg, Path::new("."), "ct.yaml").unwrap();
    let buf = SharedBuf::default();
    let mut src = common::vec_source(frames.into_iter().map(|f| (LinkType::Raw, f)).collect());
    let opts = ReplayOptions {
        report: Some(Box::new(buf.clone())),
        ..ReplayOptions::default()
    };
    let s = replay(&engine, &mut src, opts).unwrap();
    let states = report_lines(&buf.contents())
        .iter()
        .map(|l| l.ctstate.clone().unwrap_or_default())
        .collect();
    let table = common::ct_table(&engine, s.last_ts_ns)
        .lines()
        .map(str::to_string)
        .collect();
    (states, table)
}

/// DCCP's own tracker (the default, as Linux 6.1–6.15): the handshake, data, a closing
/// handshake ending in TIMEWAIT; the malformed packet, the bad checksum and the Sync
/// that starts nothing are INVALID, the ICMP error RELATED.
#[test]
fn a_dccp_connection_is_tracked_through_its_states() {
    let (states, table) = dccp_replay("");
    let est = "ESTABLISHED";
    assert_eq!(
        states,
        ["NEW", est, est, est, est, "INVALID", "INVALID", "RELATED", "INVALID", est, est, est],
    );
    assert_eq!(
        table,
        [
            "dccp     33 240 TIMEWAIT src=10.0.0.1 dst=10.0.0.2 sport=5001 dport=6001 \
          src=10.0.0.2 dst=10.0.0.1 sport=6001 dport=5001 [ASSURED] mark=0 use=1"
        ],
    );
}

/// With `dccp_generic` (Linux 6.16 and later, this machine's kernel), DCCP is tracked
/// by addresses alone: every packet of the pair is the one connection, none is
/// INVALID, and the listing shows no state, ports 0 and the generic timeout, as
/// conntrack-tools prints such an entry.
#[test]
fn dccp_generic_tracks_by_addresses_alone() {
    let (states, table) = dccp_replay("dccp_generic: true");
    let est = "ESTABLISHED";
    assert_eq!(
        states,
        ["NEW", est, est, est, est, est, est, "RELATED", est, est, est, est],
    );
    assert_eq!(
        table,
        ["dccp     33 600 src=10.0.0.1 dst=10.0.0.2 sport=0 dport=0 \
          src=10.0.0.2 dst=10.0.0.1 sport=0 dport=0 mark=0 use=1"],
    );
}
