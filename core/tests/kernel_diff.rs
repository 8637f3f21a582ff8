//! The kernel as the oracle, packet by packet: captures go through the kernel's own
//! conntrack in a namespace of their own (`brickwall_netns::KernelOracle`) and through
//! `brickwall replay`, and each packet's ct state and direction must be the same, and
//! so must the tables at the end.
//!
//! - The shared captures: the live kernel first gives what `kernel_packets/` recorded
//!   for them (so the oracle is the reference), then brickwall gives the same, and ends
//!   with the live kernel's tables.
//! - Traffic no shared capture has (the generator's flows and helper sessions, and
//!   hand-made packets: UDP length errors, UDP-Lite, SCTP, GRE, an FTP expectation
//!   clash, ICMPv6 informational and redirect messages, DCCP) is compared with the live
//!   kernel alone: new traffic needs no recorded truth.
//! - Checksums, with the packets entering through PREROUTING where the kernel verifies
//!   them; UDP-Lite's, where brickwall differs on purpose, checked on both sides.
//! - A filter policy as an nftables ruleset in both: each packet's verdict too.
//!
//! Each test prints a table of the captures with the packets that differ. Root is
//! needed (CI runs as root); without it the tests fail, they do not skip.

mod common;

use brickwall_core::config::Config;
use brickwall_core::engine::Engine;
use brickwall_core::io::{FrameSource, PcapSource};
use brickwall_core::replay::{replay, ReplayOptions};
use brickwall_core::report::ReportLine;
use brickwall_core::wire::LinkType;
use brickwall_netns::{require_root, require_tools, Entry, KernelHelper, KernelOracle};
use brickwall_wire::{parse_frame, ParseError};
use common::{pcaps_dir, read_capture, report_lines, shared_captures, SharedBuf};
use common::{AS_REFERENCE, NO_EXPIRY, REFERENCE_HELPERS};
use std::path::Path;

/// The kernel's helpers as the shared captures' reference attached them.
const KERNEL_HELPERS: [KernelHelper; 4] = [
    KernelHelper {
        name: "ftp",
        proto: "tcp",
        port: 21,
        ipv4_only: false,
    },
    KernelHelper {
        name: "irc",
        proto: "tcp",
        port: 6667,
        ipv4_only: true,
    },
    KernelHelper {
        name: "tftp",
        proto: "udp",
        port: 69,
        ipv4_only: false,
    },
    KernelHelper {
        name: "pptp",
        proto: "tcp",
        port: 1723,
        ipv4_only: true,
    },
];

/// conntrack as the kernel's reference runs, with `helpers` (a YAML list) and `extra`
/// keys of its section.
fn reference_yaml(helpers: &str, extra: &str) -> String {
    reference_yaml_with(AS_REFERENCE, helpers, extra)
}

/// As [`reference_yaml`], with `checksum` (`checksum: BOOL`) in place of the
/// reference's.
fn reference_yaml_with(checksum: &str, helpers: &str, extra: &str) -> String {
    format!(
        "plugins:\n  - builtin: conntrack\n    config:\n      {checksum}\n      \
         helpers: {helpers}\n      helper_sandbox: {{budget: {{fuel: 100000000}}}}\n      \
         {NO_EXPIRY}\n      {extra}\n"
    )
}

/// The word of `kernel_packets/` for what brickwall's report says of a packet.
fn word(l: &ReportLine) -> &'static str {
    let reply = l.ctdir.as_deref() == Some("reply");
    match l.ctstate.as_deref() {
        Some("NEW") => "new",
        Some("ESTABLISHED") if reply => "est/r",
        Some("ESTABLISHED") => "est/o",
        Some("RELATED") if reply => "rel/r",
        Some("RELATED") => "rel/o",
        Some("INVALID") => "inv",
        Some("UNTRACKED") => "untr",
        _ if l.hooks.is_empty() && l.reason.is_none() => "nonip",
        _ => "none",
    }
}

/// The frames of a capture through brickwall with config `yaml`: a word per frame.
fn brickwall_words(yaml: &str, src: &mut dyn FrameSource) -> Vec<String> {
    brickwall_run(yaml, src).0
}

/// As [`brickwall_words`], with the connection table at the end (`conntrack -L`).
fn brickwall_run(yaml: &str, src: &mut dyn FrameSource) -> (Vec<String>, String) {
    let cfg = Config::parse(yaml, "diff.yaml").unwrap();
    let engine = Engine::from_config(&cfg, Path::new("."), "diff.yaml").unwrap();
    let buf = SharedBuf::default();
    let opts = ReplayOptions {
        report: Some(Box::new(buf.clone())),
        ..ReplayOptions::default()
    };
    let summary = replay(&engine, src, opts).unwrap();
    let words = report_lines(&buf.contents())
        .iter()
        .map(|l| word(l).to_string())
        .collect();
    let mut tables = common::ct_table(&engine, summary.last_ts_ns);
    tables.push_str("# expect\n");
    tables.push_str(&common::ct_expectations(&engine, summary.last_ts_ns));
    (words, tables)
}

/// The frames through the kernel's conntrack: a word per frame (`nonip` for what is not
/// IP, which the kernel's IP hooks never see).
fn kernel_words(oracle: &mut KernelOracle, frames: &[(LinkType, &[u8])]) -> Vec<String> {
    frames
        .iter()
        .map(|&(link, data)| match parse_frame(link, data) {
            Ok(p) => oracle.send(&whole_datagram(&data[p.l3_off as usize..])),
            Err(ParseError::NotIp { .. }) => "nonip".into(),
            Err(_) => "unparsed".into(),
        })
        .collect()
}

/// The IP datagram at the start of `ip` at its declared length: cut off there, or,
/// where the capture cut it short, with the missing bytes as zeros (as the reference
/// runs sent such frames: the trackers go by the declared length).
fn whole_datagram(ip: &[u8]) -> Vec<u8> {
    let declared = match ip.first().map(|b| b >> 4) {
        Some(4) if ip.len() >= 4 => u16::from_be_bytes([ip[2], ip[3]]) as usize,
        Some(6) if ip.len() >= 6 => 40 + u16::from_be_bytes([ip[4], ip[5]]) as usize,
        _ => ip.len(),
    };
    let mut d = ip[..declared.min(ip.len())].to_vec();
    d.resize(declared, 0);
    d
}

/// `kernel_packets/NAME.tsv` of a shared capture: the recorded word per frame.
fn recorded(rel: &str) -> Vec<String> {
    let name = rel.replace('/', "__");
    let path = pcaps_dir()
        .join("kernel_packets")
        .join(format!("{name}.tsv"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    text.lines()
        .skip(1)
        .map(|l| l.split('\t').nth(1).unwrap_or("").to_string())
        .collect()
}

/// The frames where `a` and `b` differ, as `#frame a/b` (1-based, as `kernel_packets/`
/// counts), and a length difference.
fn differences(a: &[String], b: &[String]) -> Vec<String> {
    let mut out: Vec<String> = a
        .iter()
        .zip(b)
        .enumerate()
        .filter(|(_, (x, y))| x != y)
        .map(|(i, (x, y))| format!("#{} {x}/{y}", i + 1))
        .collect();
    if a.len() != b.len() {
        out.push(format!("{} frames against {}", a.len(), b.len()));
    }
    out
}

/// Fails with a table of the captures whose packets differ (`what`: the two sides).
fn assert_none_differ(what: &str, rows: &[(String, Vec<String>)], packets: usize) {
    let bad: Vec<String> = rows
        .iter()
        .filter(|(_, d)| !d.is_empty())
        .map(|(name, d)| {
            let shown: Vec<&str> = d.iter().take(12).map(String::as_str).collect();
            format!("  {name}: {} differ: {}", d.len(), shown.join(", "))
        })
        .collect();
    assert!(
        bad.is_empty(),
        "{what}: {} of {} captures differ ({packets} packets compared):\n{}",
        bad.len(),
        rows.len(),
        bad.join("\n")
    );
}

/// The live kernel, through the oracle, gives every shared capture's packets the
/// states `kernel_packets/` recorded: the oracle is the reference.
#[test]
fn the_live_kernel_gives_every_shared_capture_its_recorded_states() {
    require_root();
    require_tools(&["nft", "conntrack"]);
    let mut rows = Vec::new();
    let mut packets = 0;
    for rel in shared_captures() {
        let frames = read_capture(&pcaps_dir().join(&rel));
        let views: Vec<(LinkType, &[u8])> =
            frames.iter().map(|(m, d)| (m.link, d.as_slice())).collect();
        // A fresh kernel table per capture, as the reference had.
        let mut oracle = KernelOracle::new("shared", &KERNEL_HELPERS);
        let live = kernel_words(&mut oracle, &views);
        packets += live.len();
        rows.push((rel.clone(), differences(&recorded(&rel), &live)));
    }
    assert!(packets > 1000, "only {packets} packets");
    assert_none_differ("recorded/live kernel", &rows, packets);
}

/// brickwall ends every shared capture with the live kernel's tables: connections with
/// their states, tuples, per-direction counters, flags, helpers and references, and
/// the expectations still pending. brickwall sees the frames a microsecond apart, as
/// the kernel sees them within a second, so that no timing rule (UDP's two-second
/// stream rule, timeouts) tells them apart.
#[test]
fn every_shared_capture_ends_with_the_live_kernels_tables() {
    require_root();
    require_tools(&["nft", "conntrack"]);
    let yaml = reference_yaml(REFERENCE_HELPERS, "accounting: true");
    let mut rows = Vec::new();
    let mut compared = 0;
    for rel in shared_captures() {
        let frames = read_capture(&pcaps_dir().join(&rel));
        let views: Vec<(LinkType, &[u8])> =
            frames.iter().map(|(m, d)| (m.link, d.as_slice())).collect();
        let mut oracle = KernelOracle::new("tables", &KERNEL_HELPERS);
        kernel_words(&mut oracle, &views);
        let mut src = common::vec_source(frames.iter().map(|(m, d)| (m.link, d.clone())).collect());
        let d = table_differences(&oracle, &brickwall_run(&yaml, &mut src).1);
        compared += oracle.table().lines().count();
        rows.push((rel.clone(), d));
    }
    assert!(compared > 100, "only {compared} rows");
    assert_none_differ("live kernel/brickwall tables", &rows, compared);
}

/// brickwall gives every packet of every shared capture the kernel's state and
/// direction (`kernel_packets/`).
#[test]
fn brickwall_gives_every_shared_packet_the_kernels_state() {
    let yaml = reference_yaml(REFERENCE_HELPERS, "");
    let mut rows = Vec::new();
    let mut packets = 0;
    for rel in shared_captures() {
        let mut src = PcapSource::open(&pcaps_dir().join(&rel)).unwrap();
        let ours = brickwall_words(&yaml, &mut src);
        packets += ours.len();
        rows.push((rel.clone(), differences(&recorded(&rel), &ours)));
    }
    assert!(packets > 1000, "only {packets} packets");
    assert_none_differ("kernel/brickwall", &rows, packets);
}

/// Every helper both have, on its standard port (the generator's sessions use them).
const ALL_KERNEL_HELPERS: [KernelHelper; 7] = [
    KERNEL_HELPERS[0],
    KERNEL_HELPERS[1],
    KERNEL_HELPERS[2],
    KERNEL_HELPERS[3],
    KernelHelper {
        name: "sane",
        proto: "tcp",
        port: 6566,
        ipv4_only: false,
    },
    KernelHelper {
        name: "amanda",
        proto: "udp",
        port: 10080,
        ipv4_only: false,
    },
    KernelHelper {
        name: "sip",
        proto: "udp",
        port: 5060,
        ipv4_only: false,
    },
];

/// The same helpers for brickwall, with Linux's limits.
const ALL_HELPERS: &str = "[{name: ftp, wasm: 'builtin:ftp', ports: [tcp/21]}, \
    {name: irc, wasm: 'builtin:irc', ports: [tcp/6667], max_expected: 8}, \
    {name: tftp, wasm: 'builtin:tftp', ports: [udp/69]}, \
    {name: pptp, wasm: 'builtin:pptp', ports: [tcp/1723], max_expected: 2}, \
    {name: sane, wasm: 'builtin:sane', ports: [tcp/6566], max_expected: 1, timeout_s: 300}, \
    {name: amanda, wasm: 'builtin:amanda', ports: [udp/10080], max_expected: 4, timeout_s: 180}, \
    {name: sip, wasm: 'builtin:sip', ports: [udp/5060], max_expected: 4, \
    class_max_expected: [1, 4, 4, 2], timeout_s: 180}]";

/// Compares `frames` through the live kernel and brickwall (`extra`: keys of brickwall's
/// conntrack section): the packets that differ, then the rows of the final tables that
/// only one side has.
fn against_the_kernel(tag: &str, frames: &[(LinkType, Vec<u8>)], extra: &str) -> Vec<String> {
    against_the_kernel_at(Entry::Output, tag, frames, extra)
}

/// As [`against_the_kernel`], the kernel's packets entering at `entry` (brickwall
/// verifies checksums as the kernel does there).
fn against_the_kernel_at(
    entry: Entry,
    tag: &str,
    frames: &[(LinkType, Vec<u8>)],
    extra: &str,
) -> Vec<String> {
    let views: Vec<(LinkType, &[u8])> = frames.iter().map(|(l, d)| (*l, d.as_slice())).collect();
    let mut oracle = KernelOracle::with(tag, &ALL_KERNEL_HELPERS, entry);
    let live = kernel_words(&mut oracle, &views);
    let mut src = common::vec_source(frames.to_vec());
    let extra = format!("accounting: true\n      {extra}");
    let checksum = match entry {
        Entry::Prerouting { checksum: true } => "checksum: true",
        _ => AS_REFERENCE,
    };
    let yaml = reference_yaml_with(checksum, ALL_HELPERS, &extra);
    let (ours, table) = brickwall_run(&yaml, &mut src);
    let mut d = differences(&live, &ours);
    d.extend(table_differences(&oracle, &table));
    d
}

/// The rows ([`table_rows`]) only one side's final tables have: the kernel's (the
/// oracle's) or brickwall's (`ours`, a connection listing, `# expect`, then the
/// expectations).
fn table_differences(oracle: &KernelOracle, ours: &str) -> Vec<String> {
    let kernel = format!("{}# expect\n{}", oracle.table(), oracle.expectations());
    let (k, b) = (table_rows(&kernel), table_rows(ours));
    let mut d: Vec<String> = k
        .difference(&b)
        .map(|r| format!("kernel only: {r}"))
        .collect();
    d.extend(b.difference(&k).map(|r| format!("brickwall only: {r}")));
    d
}

/// The rows of a connection listing and, after a `# expect` line, an expectation
/// listing, each as what both sides must agree on: protocol, state, tuples, counters,
/// flags, mark, helper and references (`conntrack -L` prints them; timeouts, ids and
/// times left out); expectations by their tuples, mask, flags and helper.
fn table_rows(listing: &str) -> std::collections::BTreeSet<String> {
    const KEYS: [&str; 16] = [
        "src=", "dst=", "sport=", "dport=", "srckey=", "dstkey=", "type=", "code=", "id=",
        "packets=", "bytes=", "mark=", "helper=", "use=", "zone=", "proto=",
    ];
    let mut expect = false;
    let mut rows = std::collections::BTreeSet::new();
    for l in listing.lines() {
        if l.starts_with("# expect") {
            expect = true;
            continue;
        }
        let mut words: Vec<&str> = l.split_whitespace().collect();
        // `-o extended` starts with the family and its number; then the protocol's
        // name comes first.
        if matches!(words.first(), Some(&"ipv4" | &"ipv6")) {
            words.drain(..2.min(words.len()));
        }
        let kept: Vec<&str> = words
            .iter()
            .enumerate()
            .filter(|&(i, w)| {
                (!expect && i == 0)
                    || KEYS.iter().any(|k| w.starts_with(k))
                    || w.starts_with('[')
                    || (w.len() > 3 && w.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
            })
            .map(|(_, w)| *w)
            .collect();
        let tag = if expect { "expect " } else { "" };
        rows.insert(format!("{tag}{}", kept.join(" ")));
    }
    rows
}

/// The generator's traffic (TCP, UDP, ICMP and ICMPv6 flows, and three sets of every
/// helper's sessions: FTP passive and active, TFTP, IRC DCC, PPTP, SANE, Amanda, SIP)
/// gives the live kernel's state on every packet, and its final tables (the SIP calls'
/// media expectations flushed when each call ends, as the kernel's).
#[test]
fn generated_traffic_and_helper_sessions_match_the_live_kernel() {
    require_root();
    require_tools(&["nft", "conntrack"]);
    let cfg = brickwall_core::gen::GenConfig {
        helper_sessions: 3,
        ..Default::default()
    };
    let frames: Vec<(LinkType, Vec<u8>)> = brickwall_core::gen::generate(&cfg)
        .into_iter()
        .map(|f| (LinkType::Ethernet, f.data))
        .collect();
    let d = against_the_kernel("gen", &frames, "");
    assert_none_differ(
        "live kernel/brickwall",
        &[("generator".into(), d)],
        frames.len(),
    );
}

const A4: [u8; 4] = [10, 9, 0, 1];
const B4: [u8; 4] = [10, 9, 0, 2];
const A6: [u8; 16] = [0xfd, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const B6: [u8; 16] = [0xfd, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
/// A link-local address (fe80::1).
const LL6: [u8; 16] = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];

/// A UDP header and payload whose length field says `len`.
fn udp(sport: u16, dport: u16, len: u16, payload: &[u8]) -> Vec<u8> {
    let mut l4 = Vec::new();
    for v in [sport, dport, len, 0] {
        l4.extend_from_slice(&v.to_be_bytes());
    }
    l4.extend_from_slice(payload);
    l4
}

/// A TCP header without options: `flags`, sequence and acknowledgement numbers.
fn tcp(sport: u16, dport: u16, seq: u32, ack: u32, flags: u8) -> Vec<u8> {
    let mut l4 = Vec::new();
    l4.extend_from_slice(&sport.to_be_bytes());
    l4.extend_from_slice(&dport.to_be_bytes());
    l4.extend_from_slice(&seq.to_be_bytes());
    l4.extend_from_slice(&ack.to_be_bytes());
    l4.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    l4
}

/// An SCTP packet: common header with verification tag `vtag`, then `chunks`.
fn sctp(sport: u16, dport: u16, vtag: u32, chunks: &[u8]) -> Vec<u8> {
    let mut l4 = Vec::new();
    l4.extend_from_slice(&sport.to_be_bytes());
    l4.extend_from_slice(&dport.to_be_bytes());
    l4.extend_from_slice(&vtag.to_be_bytes());
    l4.extend_from_slice(&[0; 4]);
    l4.extend_from_slice(chunks);
    l4
}

/// An SCTP INIT (type 1) or INIT ACK (2) chunk with initiate tag `tag`; INIT ACK
/// carries a four-byte state cookie.
fn sctp_init(ty: u8, tag: u32) -> Vec<u8> {
    let len: u16 = if ty == 1 { 20 } else { 28 };
    let mut c = vec![ty, 0];
    c.extend_from_slice(&len.to_be_bytes());
    c.extend_from_slice(&tag.to_be_bytes());
    c.extend_from_slice(&65535u32.to_be_bytes());
    c.extend_from_slice(&[0, 1, 0, 1]);
    c.extend_from_slice(&1000u32.to_be_bytes());
    if ty == 2 {
        c.extend_from_slice(&[0, 7, 0, 8, 1, 2, 3, 4]);
    }
    c
}

/// An ICMP or ICMPv6 message: type, code, four bytes of rest of header, `body`.
fn icmp(ty: u8, code: u8, rest: [u8; 4], body: &[u8]) -> Vec<u8> {
    let mut m = vec![ty, code, 0, 0];
    m.extend_from_slice(&rest);
    m.extend_from_slice(body);
    m
}

/// Hand-made packets no shared capture has, each small sequence from a fresh flow:
/// UDP with a length field beyond the segment or under 8, an ICMP error quoting only
/// four bytes of UDP, UDP-Lite, an SCTP association (and a packet with a wrong
/// verification tag), GRE version 0 (and version 1 carrying IPv4), TCP with odd flags,
/// UDP over IPv6 behind an authentication header, and ICMPv6's informational
/// messages (echo, node information, the neighbour-discovery and MLD types the kernel
/// leaves untracked, redirects, an unknown type), two FTP control connections whose
/// expectations clash, and DCCP (generic on this kernel).
fn hand_made() -> Vec<(LinkType, Vec<u8>)> {
    use brickwall_wire::ip_proto::{GRE, ICMP, ICMPV6, SCTP, TCP, UDP, UDPLITE};
    let v4 = |src, dst, proto, l4: Vec<u8>| common::ipv4_raw(src, dst, proto, &l4);
    let v6 = |src, dst, hops, l4: Vec<u8>| common::ipv6_raw(src, dst, ICMPV6, hops, &l4);
    let mut p = vec![
        // UDP: length beyond the segment, under 8, then a good exchange.
        v4(A4, B4, UDP, udp(4000, 5000, 100, &[1; 12])),
        v4(A4, B4, UDP, udp(4001, 5000, 4, &[1; 12])),
        v4(A4, B4, UDP, udp(4002, 5000, 20, &[1; 12])),
        v4(B4, A4, UDP, udp(5000, 4002, 20, &[2; 12])),
        // An ICMP port unreachable quoting the IP header and four bytes of UDP.
        v4(A4, B4, UDP, udp(4003, 5001, 20, &[1; 12])),
    ];
    let quoted = common::ipv4_raw(A4, B4, UDP, &udp(4003, 5001, 20, &[1; 12]));
    p.push(v4(B4, A4, ICMP, icmp(3, 3, [0; 4], &quoted[..24])));
    // UDP-Lite: a request, its answer, another request.
    for (src, dst, sport, dport) in [
        (A4, B4, 4100, 5100),
        (B4, A4, 5100, 4100),
        (A4, B4, 4100, 5100),
    ] {
        let mut l4 = udp(sport, dport, 0, &[3; 8]);
        l4[4..6].copy_from_slice(&8u16.to_be_bytes());
        p.push(v4(src, dst, UDPLITE, l4));
    }
    // SCTP: INIT, INIT ACK, COOKIE ECHO, COOKIE ACK, DATA, SACK, then DATA with a
    // wrong verification tag.
    let (ta, tb) = (0x1111_1111u32, 0x2222_2222u32);
    let data = [
        0u8, 3, 0, 20, 0, 0, 3, 232, 0, 0, 0, 0, 0, 0, 0, 0, 9, 9, 9, 9,
    ];
    let sack = [3u8, 0, 0, 16, 0, 0, 3, 232, 0, 1, 0, 0, 0, 0, 0, 0];
    p.push(v4(A4, B4, SCTP, sctp(7000, 7001, 0, &sctp_init(1, ta))));
    p.push(v4(B4, A4, SCTP, sctp(7001, 7000, ta, &sctp_init(2, tb))));
    p.push(v4(
        A4,
        B4,
        SCTP,
        sctp(7000, 7001, tb, &[10, 0, 0, 8, 1, 2, 3, 4]),
    ));
    p.push(v4(B4, A4, SCTP, sctp(7001, 7000, ta, &[11, 0, 0, 4])));
    p.push(v4(A4, B4, SCTP, sctp(7000, 7001, tb, &data)));
    p.push(v4(B4, A4, SCTP, sctp(7001, 7000, ta, &sack)));
    p.push(v4(A4, B4, SCTP, sctp(7000, 7001, 0xdead, &data)));
    // Its shutdown, with a SHUTDOWN COMPLETE first under the wrong tag.
    p.push(v4(
        A4,
        B4,
        SCTP,
        sctp(7000, 7001, tb, &[7, 0, 0, 8, 0, 0, 3, 232]),
    ));
    p.push(v4(B4, A4, SCTP, sctp(7001, 7000, ta, &[8, 0, 0, 4])));
    p.push(v4(A4, B4, SCTP, sctp(7000, 7001, ta, &[14, 0, 0, 4])));
    p.push(v4(A4, B4, SCTP, sctp(7000, 7001, tb, &[14, 0, 0, 4])));
    // What cannot start an association: DATA, an INIT with a tag, an INIT bundled
    // with DATA, an ABORT; then one aborted under the T bit (the sender's own tag).
    p.push(v4(A4, B4, SCTP, sctp(7010, 7001, 5, &data)));
    p.push(v4(A4, B4, SCTP, sctp(7011, 7001, 5, &sctp_init(1, ta))));
    let mut bundled = sctp_init(1, ta);
    bundled.extend_from_slice(&data);
    p.push(v4(A4, B4, SCTP, sctp(7012, 7001, 0, &bundled)));
    p.push(v4(A4, B4, SCTP, sctp(7013, 7001, 5, &[6, 0, 0, 4])));
    p.push(v4(A4, B4, SCTP, sctp(7014, 7001, 0, &sctp_init(1, ta))));
    p.push(v4(B4, A4, SCTP, sctp(7001, 7014, tb, &[6, 1, 0, 4])));
    p.push(v4(B4, A4, SCTP, sctp(7001, 7014, ta, &[6, 0, 0, 4])));
    // A secondary path: HEARTBEAT opens it, HEARTBEAT ACK answers, DATA follows; a
    // COOKIE ECHO under a wrong tag on a fresh INIT.
    p.push(v4(
        A4,
        B4,
        SCTP,
        sctp(7020, 7001, tb, &[4, 0, 0, 8, 0, 1, 0, 4]),
    ));
    p.push(v4(
        B4,
        A4,
        SCTP,
        sctp(7001, 7020, ta, &[5, 0, 0, 8, 0, 1, 0, 4]),
    ));
    p.push(v4(A4, B4, SCTP, sctp(7020, 7001, tb, &data)));
    p.push(v4(A4, B4, SCTP, sctp(7030, 7001, 0, &sctp_init(1, ta))));
    p.push(v4(B4, A4, SCTP, sctp(7001, 7030, ta, &sctp_init(2, tb))));
    p.push(v4(
        A4,
        B4,
        SCTP,
        sctp(7030, 7001, ta, &[10, 0, 0, 8, 1, 2, 3, 4]),
    ));
    // GRE version 0 carrying IPv4, both ways; then version 1 (enhanced GRE, keyed)
    // carrying IPv4 rather than PPP.
    let gre = [0u8, 0, 0x08, 0, 0x45, 0, 0, 20];
    p.push(v4(A4, B4, GRE, gre.to_vec()));
    p.push(v4(B4, A4, GRE, gre.to_vec()));
    p.push(v4(
        A4,
        B4,
        GRE,
        vec![0x20, 0x01, 0x08, 0, 0, 4, 0, 9, 0x45, 0, 0, 20],
    ));
    // TCP: SYN with FIN, a SYN-ACK and an RST that start nothing, a mid-stream ACK.
    p.push(v4(A4, B4, TCP, tcp(4200, 80, 1, 0, 0x03)));
    p.push(v4(A4, B4, TCP, tcp(4201, 80, 1, 5, 0x12)));
    p.push(v4(A4, B4, TCP, tcp(4202, 80, 1, 0, 0x04)));
    p.push(v4(A4, B4, TCP, tcp(4203, 80, 1, 5, 0x10)));
    // ICMPv6: echo both ways, node information query, router and neighbour
    // solicitation, MLD query, redirects (one from a link-local source with hop limit
    // 255 and no option, one from a global source), an unknown informational type.
    // UDP behind an authentication header (AH: next header, length 1 (12 bytes), SPI,
    // sequence number), both ways.
    for (src, dst, sport, dport) in [(A6, B6, 4500u16, 53u16), (B6, A6, 53, 4500)] {
        let mut l4 = vec![17u8, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];
        l4.extend_from_slice(&udp(sport, dport, 20, &[1; 12]));
        p.push(common::ipv6_raw(src, dst, 51, 64, &l4));
    }
    let echo = |ty| icmp(ty, 0, [0, 7, 0, 1], &[5; 8]);
    p.push(v6(A6, B6, 64, echo(128)));
    p.push(v6(B6, A6, 64, echo(129)));
    p.push(v6(A6, B6, 64, icmp(139, 0, [0, 3, 0, 0], &[0; 8])));
    p.push(v6(LL6, B6, 255, icmp(133, 0, [0; 4], &[])));
    p.push(v6(LL6, B6, 255, icmp(135, 0, [0; 4], &B6)));
    p.push(v6(LL6, B6, 1, icmp(130, 0, [0; 4], &[0; 20])));
    let mut redirect = B6.to_vec();
    redirect.extend_from_slice(&A6);
    p.push(v6(LL6, B6, 255, icmp(137, 0, [0; 4], &redirect)));
    p.push(v6(A6, B6, 64, icmp(137, 0, [0; 4], &redirect)));
    p.push(v6(A6, B6, 64, icmp(200, 0, [0; 4], &[0; 8])));
    // Two FTP control connections of one client announce the same data port: the
    // second expectation clashes with the first, another master's, and its PORT
    // command is dropped.
    for sport in [4300u16, 4301] {
        p.push(v4(A4, B4, TCP, tcp(sport, 21, 100, 0, 0x02)));
        p.push(v4(B4, A4, TCP, tcp(21, sport, 500, 101, 0x12)));
        p.push(v4(A4, B4, TCP, tcp(sport, 21, 101, 501, 0x10)));
    }
    // The helper reads a command only after a line it has seen end.
    for sport in [4300u16, 4301] {
        let mut user = tcp(sport, 21, 101, 501, 0x18);
        user.extend_from_slice(b"USER x\r\n");
        p.push(v4(A4, B4, TCP, user));
    }
    for sport in [4300u16, 4301] {
        let mut port = tcp(sport, 21, 109, 501, 0x18);
        port.extend_from_slice(b"PORT 10,9,0,1,20,10\r\n");
        p.push(v4(A4, B4, TCP, port));
    }
    // The data connection the first announced.
    p.push(v4(B4, A4, TCP, tcp(20, 5130, 900, 0, 0x02)));
    // DCCP, which this kernel (6.16 and later) tracks as a generic protocol: Request,
    // Response, Ack, then a Request of another flow.
    use brickwall_wire::ip_proto::DCCP;
    let dccp = |sport, dport, ty, seq, ack| common::dccp_segment(sport, dport, ty, seq, ack);
    p.push(v4(A4, B4, DCCP, dccp(7100, 7101, 0, 1, 0)));
    p.push(v4(B4, A4, DCCP, dccp(7101, 7100, 1, 50, 1)));
    p.push(v4(A4, B4, DCCP, dccp(7100, 7101, 3, 2, 50)));
    p.push(v4(A4, B4, DCCP, dccp(7102, 7101, 0, 1, 0)));
    p.into_iter().map(|d| (LinkType::Raw, d)).collect()
}

/// Every hand-made packet gets the live kernel's state and direction, and the SCTP
/// associations end in the kernel's states.
#[test]
fn hand_made_packets_match_the_live_kernel() {
    require_root();
    require_tools(&["nft", "conntrack"]);
    let frames = hand_made();
    let d = against_the_kernel("hand", &frames, "dccp_generic: true");
    assert_none_differ(
        "live kernel/brickwall",
        &[("hand-made".into(), d)],
        frames.len(),
    );
}

/// A copy of IPv4 datagram `d` with its transport checksum (at `at` in the transport
/// header) broken.
fn broken(mut d: Vec<u8>, at: usize) -> Vec<u8> {
    d[20 + at] ^= 0x5a;
    d
}

/// Packets whose checksums the kernel verifies at PREROUTING (with
/// `nf_conntrack_checksum` on): good and bad TCP, UDP (and UDP without one), ICMP,
/// ICMPv6 and SCTP (CRC-32C), and a bad checksum on an established connection.
fn checksummed() -> Vec<(LinkType, Vec<u8>)> {
    use brickwall_wire::ip_proto::{ICMP, ICMPV6, SCTP, TCP, UDP};
    let v4 = |src, dst, proto, l4: Vec<u8>| common::ipv4_raw(src, dst, proto, &l4);
    let (c, s) = ([10, 8, 0, 1], [10, 8, 0, 2]);
    let mut p = vec![
        v4(c, s, TCP, tcp(4400, 80, 100, 0, 0x02)),
        v4(s, c, TCP, tcp(80, 4400, 500, 101, 0x12)),
        broken(v4(c, s, TCP, tcp(4400, 80, 101, 501, 0x10)), 16),
        v4(c, s, TCP, tcp(4400, 80, 101, 501, 0x10)),
        broken(v4(c, s, TCP, tcp(4401, 80, 100, 0, 0x02)), 16),
        v4(c, s, UDP, udp(4402, 53, 20, &[1; 12])),
        broken(v4(c, s, UDP, udp(4403, 53, 20, &[1; 12])), 6),
    ];
    let mut none = v4(c, s, UDP, udp(4404, 53, 20, &[1; 12]));
    none[26..28].copy_from_slice(&[0, 0]);
    p.push(none);
    p.push(v4(c, s, ICMP, icmp(8, 0, [0, 9, 0, 1], &[7; 8])));
    p.push(broken(
        v4(c, s, ICMP, icmp(8, 0, [0, 10, 0, 1], &[7; 8])),
        2,
    ));
    // SCTP: an INIT with its CRC-32C, one with it broken.
    for (sport, bad) in [(4410u16, false), (4411, true)] {
        let mut l4 = sctp(sport, 7001, 0, &sctp_init(1, 0x77));
        let crc = brickwall_wire::crc32c::sctp(&l4).unwrap();
        l4[8..12].copy_from_slice(&crc.to_le_bytes());
        if bad {
            l4[8] ^= 1;
        }
        p.push(v4(c, s, SCTP, l4));
    }
    // ICMPv6 echo, good and broken.
    let echo = |id: u8| icmp(128, 0, [0, id, 0, 1], &[5; 8]);
    p.push(common::ipv6_raw(A6, B6, ICMPV6, 64, &echo(1)));
    let mut bad6 = common::ipv6_raw(A6, B6, ICMPV6, 64, &echo(2));
    bad6[42] ^= 0x5a;
    p.push(bad6);
    p.into_iter().map(|d| (LinkType::Raw, d)).collect()
}

/// With checksums verified (`nf_conntrack_checksum=1`, brickwall's `checksum: true`),
/// every packet's state at PREROUTING is the kernel's, and so are the final tables.
#[test]
fn checksums_at_prerouting_match_the_live_kernel() {
    require_root();
    require_tools(&["nft", "conntrack"]);
    let frames = checksummed();
    let entry = Entry::Prerouting { checksum: true };
    let d = against_the_kernel_at(entry, "csum", &frames, "");
    assert_none_differ(
        "live kernel/brickwall",
        &[("checksums".into(), d)],
        frames.len(),
    );
}

/// UDP-Lite datagrams from 10.8.0.1 to 10.8.0.2:5100 carrying 24 bytes: coverage 0
/// (all) and 8 (the header) with RFC 3828's checksum, coverage 4 (too small) and 200
/// (beyond the datagram), no checksum, and one summed over a pseudo-header with UDP's
/// protocol number (17) instead of UDP-Lite's (136).
fn udplite_datagrams() -> Vec<(LinkType, Vec<u8>)> {
    use brickwall_wire::ip_proto::{UDP, UDPLITE};
    let (c, s) = ([10, 8, 0, 1], [10, 8, 0, 2]);
    let mut p = Vec::new();
    for (sport, cov) in [(4420u16, 0u16), (4421, 8), (4422, 4), (4423, 200)] {
        p.push(common::ipv4_raw(
            c,
            s,
            UDPLITE,
            &udp(sport, 5100, cov, &[3; 24]),
        ));
    }
    let mut none = common::ipv4_raw(c, s, UDPLITE, &udp(4424, 5100, 0, &[3; 24]));
    none[26..28].copy_from_slice(&[0, 0]);
    p.push(none);
    // Summed as UDP (whole coverage: the same bytes), then relabelled UDP-Lite.
    let mut as_udp = common::ipv4_raw(c, s, UDP, &udp(4425, 5100, 0, &[3; 24]));
    as_udp[9] = UDPLITE;
    as_udp[10..12].copy_from_slice(&[0, 0]);
    let sum = brickwall_wire::checksum::checksum(&as_udp[..20]);
    as_udp[10..12].copy_from_slice(&sum.to_be_bytes());
    p.push(as_udp);
    p.into_iter().map(|d| (LinkType::Raw, d)).collect()
}

/// UDP-Lite's checksum, where brickwall differs from the kernel on purpose: Linux sums
/// UDP-Lite's pseudo-header with UDP's protocol number, so it finds RFC 3828's
/// checksums bad and one summed with 17 good; brickwall verifies RFC 3828's. Both
/// refuse a coverage out of range and a missing checksum. The kernel's words and
/// brickwall's are each checked, so that a change on either side shows.
#[test]
fn udplite_checksums_are_rfc_3828s_where_the_kernel_sums_protocol_17() {
    require_root();
    require_tools(&["nft", "conntrack"]);
    let frames = udplite_datagrams();
    let views: Vec<(LinkType, &[u8])> = frames.iter().map(|(l, d)| (*l, d.as_slice())).collect();
    let entry = Entry::Prerouting { checksum: true };
    let mut oracle = KernelOracle::with("lite", &[], entry);
    let live = kernel_words(&mut oracle, &views);
    assert_eq!(
        live,
        ["inv", "inv", "inv", "inv", "inv", "new"],
        "the kernel"
    );
    let yaml = reference_yaml_with("checksum: true", "[]", "");
    let ours = brickwall_words(&yaml, &mut common::vec_source(frames));
    assert_eq!(
        ours,
        ["new", "new", "inv", "inv", "inv", "inv"],
        "brickwall"
    );
}

/// The demo's policy again, with verdict maps (`ct state vmap`, `tcp dport vmap`, and
/// `meta l4proto vmap` jumping to a regular chain).
const DEMO_POLICY_VMAP: &str = "table inet demo {
    chain forward {
        type filter hook forward priority filter; policy drop;
        ct state vmap { established : accept, related : accept, invalid : drop }
        udp dport ntp drop comment \"not here\"
        tcp dport vmap { 22 : accept, 80 : accept, 443 : accept, 8080 : accept, 8443 : accept, 21 : accept, 6667 : accept, 1723 : accept, 6566 : accept }
        udp dport vmap { domain : accept, 69 : accept, 10080 : accept, 5060 : accept }
        meta l4proto vmap { icmp : jump icmp_in, ipv6-icmp : jump icmp_in }
    }
    chain icmp_in {
        icmp type echo-request accept
        icmpv6 type echo-request accept
    }
}
";

/// The same ruleset in the kernel (its forward chain, the packets entering through
/// PREROUTING and forwarded) and in brickwall (`ruleset:` of the filter) gives every
/// packet of the generator's traffic and helper sessions the same state and verdict:
/// passed, or dropped by a rule or the policy.
#[test]
fn a_ruleset_gives_the_kernels_verdicts() {
    same_verdicts_as_the_kernel("verdicts", common::DEMO_POLICY_NFT);
}

/// As [`a_ruleset_gives_the_kernels_verdicts`], the policy written with verdict maps.
#[test]
fn a_ruleset_with_verdict_maps_gives_the_kernels_verdicts() {
    same_verdicts_as_the_kernel("vmaps", DEMO_POLICY_VMAP);
}

/// Runs `policy` in the kernel and in brickwall on the generator's traffic and helper
/// sessions; fails where a packet's state or verdict differs.
fn same_verdicts_as_the_kernel(tag: &str, policy: &str) {
    require_root();
    require_tools(&["nft", "conntrack"]);
    let cfg = brickwall_core::gen::GenConfig {
        tcp_flows: 60,
        udp_flows: 30,
        icmp_flows: 20,
        helper_sessions: 2,
        ..Default::default()
    };
    let frames: Vec<(LinkType, Vec<u8>)> = brickwall_core::gen::generate(&cfg)
        .into_iter()
        .map(|f| (LinkType::Ethernet, f.data))
        .collect();
    // The kernel.
    let mut oracle = KernelOracle::with(
        tag,
        &ALL_KERNEL_HELPERS,
        Entry::Prerouting { checksum: false },
    );
    oracle.load(policy);
    let live: Vec<String> = frames
        .iter()
        .map(|(link, data)| {
            let p = parse_frame(*link, data).expect("generated frames parse");
            let d = oracle.deliver(&whole_datagram(&data[p.l3_off as usize..]));
            format!("{} {}", d.state, if d.passed { "accept" } else { "drop" })
        })
        .collect();
    // brickwall, with the same file.
    let dir = common::TempDir::new(&format!("kernel-{tag}"));
    let rules = dir.join("demo.nft");
    std::fs::write(&rules, policy).unwrap();
    let yaml = format!(
        "{}  - builtin: filter\n    config: {{ruleset: {}}}\n",
        reference_yaml(ALL_HELPERS, ""),
        rules.display()
    );
    let cfg = Config::parse(&yaml, "diff.yaml").unwrap();
    let engine = Engine::from_config(&cfg, Path::new("."), "diff.yaml").unwrap();
    let buf = SharedBuf::default();
    let opts = ReplayOptions {
        report: Some(Box::new(buf.clone())),
        ..ReplayOptions::default()
    };
    replay(&engine, &mut common::vec_source(frames.clone()), opts).unwrap();
    let ours: Vec<String> = report_lines(&buf.contents())
        .iter()
        .map(|l| format!("{} {}", word(l), l.verdict))
        .collect();
    let drops = live.iter().filter(|w| w.ends_with("drop")).count();
    assert!(
        drops > 10 && drops < live.len() - 10,
        "{drops} of {} dropped",
        live.len()
    );
    assert_none_differ(
        "live kernel/brickwall verdicts",
        &[("demo policy".into(), differences(&live, &ours))],
        frames.len(),
    );
}
