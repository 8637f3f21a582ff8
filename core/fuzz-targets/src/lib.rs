//! What brickwall's coverage-guided fuzzers run: one function per surface an attacker
//! or a broken peer reaches, each taking arbitrary bytes. The libFuzzer targets in
//! `fuzz/` call these (`cargo +nightly fuzz run <target>` there), and the tests replay
//! the committed corpus through them on stable, so that every input a fuzzer ever
//! kept, and every crash it found, runs in CI.
//!
//! Each function checks the invariants of its surface and panics when one breaks: no
//! input may panic the code under test, and what it returns must be consistent (every
//! frame accounted for, a request's answer valid JSON, an error a message rather than
//! a crash).
//!
//! | target | surface |
//! |---|---|
//! | [`frame`] | the wire crate's frame parser and header views, every link type |
//! | [`checksum`] | the Internet checksum's incremental updates against a full recomputation |
//! | [`capture`] | the pcap and pcapng reader |
//! | [`engine`] | frames through an engine with conntrack (defragmentation, accounting, a tiny table) and the stateful filter, then the table listed and flushed |
//! | [`helpers`] | frames to the FTP, IRC, TFTP, PPTP, SANE, Amanda, SNMP and SIP helpers' ports through conntrack with the eight bundled helpers |
//! | [`control`] | a conntrack control request against a table with connections and an expectation |
//! | [`config`] | the engine's YAML configuration, conntrack's and the filter's sections |
//! | [`defrag`] | IPv4 and IPv6 fragments of a few datagrams (overlaps, gaps, tiny pieces, time passing) straight into defragmentation |
//! | [`tracker`] | one connection's packets in both directions through conntrack, the table's invariants checked after each |
//! | [`tpacket`] | the frame headers of TPACKET_V3 blocks and TPACKET_V2 slots |
//! | [`metrics`] | plugins' metric families merged and rendered; the endpoint's request head |
//! | [`parsers`] | the bundled helpers' parsers (FTP, IRC DCC, PPTP, SANE, Amanda, SNMP's BER walk, SIP), built natively |
//! | [`sync`] | a datagram of conntrackd's sync protocol: its messages read and emitted back, then into the sync plugin's external cache and FTFW's rules (seeds: datagrams of Debian's conntrackd) |

use brickwall_conntrack::datagram::ipv4;
use brickwall_control_protocol::conntrack::request::{Format, List};
use brickwall_control_protocol::conntrack::response::ListResponse;
use brickwall_control_protocol::conntrack::Request;
use brickwall_engine::config::Config;
use brickwall_engine::engine::Engine;
use brickwall_engine::io::MemorySource;
use brickwall_engine::pcap::{CaptureReader, FrameMeta};
use brickwall_engine::replay::{replay, ReplayOptions};
use brickwall_engine::wire::{parse_frame, LinkType};
use std::path::Path;
use std::sync::{Mutex, OnceLock};

/// The link types an input's first byte picks from.
const LINKS: [LinkType; 7] = [
    LinkType::Ethernet,
    LinkType::Raw,
    LinkType::Ipv4,
    LinkType::Ipv6,
    LinkType::LinuxSll,
    LinkType::LinuxSll2,
    LinkType::Null,
];

/// The longest frame an input carries.
pub const MAX_FRAME: usize = 4096;

/// Splits an input into frames: a first byte naming the link type, then records of a
/// two-byte little-endian length, one byte of milliseconds since the previous frame,
/// and the frame's bytes (the last record takes what is left).
pub fn frames_of(data: &[u8]) -> (LinkType, Vec<(u64, Vec<u8>)>) {
    let Some((&first, mut rest)) = data.split_first() else {
        return (LinkType::Ethernet, Vec::new());
    };
    let link = LINKS[usize::from(first) % LINKS.len()];
    let mut out = Vec::new();
    let mut ts = 1_700_000_000_000_000_000u64;
    while rest.len() >= 3 && out.len() < 256 {
        let len = usize::from(u16::from_le_bytes([rest[0], rest[1]])) % MAX_FRAME;
        ts += u64::from(rest[2]) * 1_000_000;
        rest = &rest[3..];
        let take = len.min(rest.len());
        out.push((ts, rest[..take].to_vec()));
        rest = &rest[take..];
    }
    (link, out)
}

/// The input [`frames_of`] reads back as `frames` of `link` (time steps of whole
/// milliseconds, at most 255 each; frames cut to [`MAX_FRAME`] - 1 bytes).
pub fn encode_frames(link: LinkType, frames: &[(u64, &[u8])]) -> Vec<u8> {
    let first = LINKS.iter().position(|l| *l == link).unwrap_or(0) as u8;
    let mut out = vec![first];
    let mut last = frames.first().map_or(0, |f| f.0);
    for (ts, f) in frames {
        let f = &f[..f.len().min(MAX_FRAME - 1)];
        out.extend_from_slice(&(f.len() as u16).to_le_bytes());
        out.push((ts.saturating_sub(last) / 1_000_000).min(255) as u8);
        last = *ts;
        out.extend_from_slice(f);
    }
    out
}

/// What a router reads and builds from a frame: the ARP and neighbour discovery views,
/// and the ICMP errors, echo replies and fragments of a datagram, which stay within
/// their sizes.
fn router_formats(frame: &[u8]) {
    use brickwall_wire::{arp, fragment, icmp, ndisc};
    let body = frame.get(14..).unwrap_or_default();
    if let Some(a) = arp::ArpPacket::new(body) {
        let _ = (a.op(), a.sender_ip(), a.sender_mac(), a.target_ip());
    }
    if let Some(m) = body.get(40..).and_then(ndisc::NdMessage::new) {
        let _ = (m.target(), m.link_addr(), m.solicited());
    }
    if let Some(e) = icmp::icmp4_error([192, 0, 2, 1], body, icmp::TIME_EXCEEDED, 0, 0) {
        assert!(e.len() <= icmp::MAX_ERROR_LEN_V4);
    }
    if let Some(e) = icmp::icmp6_error(&[0x20; 16], body, icmp::V6_PACKET_TOO_BIG, 0, 1280) {
        assert!(e.len() <= icmp::MAX_ERROR_LEN_V6);
    }
    let _ = icmp::echo_reply(body);
    let mtu = 68 + usize::from(frame.first().copied().unwrap_or(0)) * 4;
    for f in fragment::fragment_v4(body, mtu).unwrap_or_default() {
        assert!(f.len() <= mtu.max(body.len()));
    }
}

/// The frame parser and header views, for one frame of the input's link type; and the
/// router's formats over the same bytes.
pub fn frame(data: &[u8]) {
    let Some((&first, frame)) = data.split_first() else {
        return;
    };
    router_formats(frame);
    let link = LINKS[usize::from(first) % LINKS.len()];
    if let Ok(p) = parse_frame(link, frame) {
        let (l3, l4, payload) = (
            usize::from(p.l3_off),
            usize::from(p.l4_off),
            usize::from(p.payload_off),
        );
        assert!(l3 <= l4 && l4 <= payload && payload <= frame.len(), "{p:?}");
        assert!(l3 + p.l3_len as usize <= frame.len(), "{p:?}");
        let ip = &frame[l3..];
        if let Some(h) = brickwall_engine::wire::Ipv4Header::new(ip) {
            let _ = (
                h.total_len(),
                h.header_len(),
                h.protocol(),
                h.src(),
                h.dst(),
            );
        }
        if let Some(h) = brickwall_engine::wire::Ipv6Header::new(ip) {
            let _ = (h.payload_len(), h.next_header(), h.src(), h.dst());
        }
        if let Some(h) = brickwall_engine::wire::TcpHeader::new(&frame[l4..]) {
            let _ = (
                h.src_port(),
                h.dst_port(),
                h.flags(),
                h.seq(),
                h.ack(),
                h.window(),
            );
        }
    }
}

/// The incremental checksum updates (RFC 1624) NAT relies on: a 16-bit word, a 32-bit
/// value and a run of bytes of the input changed, the updated checksum compared with
/// one computed again over the changed data. The input: two bytes naming the offset,
/// six bytes of new values, then the data.
pub fn checksum(data: &[u8]) {
    use brickwall_engine::wire::checksum::{checksum, update, update16, update32};
    if data.len() < 8 {
        return;
    }
    let (head, body) = data.split_at(8);
    let mut d = body[..body.len().min(1500)].to_vec();
    if d.len() < 16 {
        return;
    }
    // The same value, written in one's complement as either zero.
    let same = |a: u16, b: u16| a == b || (a == 0 || a == 0xffff) && (b == 0 || b == 0xffff);
    let at = (usize::from(u16::from_le_bytes([head[0], head[1]])) % (d.len() - 4)) & !1;
    let before = checksum(&d);
    let old16 = u16::from_be_bytes([d[at], d[at + 1]]);
    let new16 = u16::from_be_bytes([head[2], head[3]]);
    d[at..at + 2].copy_from_slice(&new16.to_be_bytes());
    let after = checksum(&d);
    assert!(
        same(update16(before, old16, new16), after),
        "update16 at {at}"
    );
    let old32 = u32::from_be_bytes([d[at], d[at + 1], d[at + 2], d[at + 3]]);
    let new32 = u32::from_be_bytes([head[4], head[5], head[2], head[3]]);
    d[at..at + 4].copy_from_slice(&new32.to_be_bytes());
    let after32 = checksum(&d);
    assert!(
        same(update32(after, old32, new32), after32),
        "update32 at {at}"
    );
    let old_run = d[at..at + 4].to_vec();
    let new_run = [head[6], head[7], head[6] ^ 0xff, head[7]];
    d[at..at + 4].copy_from_slice(&new_run);
    assert!(
        same(update(after32, &old_run, &new_run), checksum(&d)),
        "update at {at}"
    );
}

/// The capture reader over a whole file: errors, never panics or unbounded work.
pub fn capture(data: &[u8]) {
    let Ok(mut r) = CaptureReader::from_reader(Box::new(std::io::Cursor::new(data.to_vec())))
    else {
        return;
    };
    let _ = (r.format(), r.link_type());
    let mut buf = Vec::new();
    // Every record takes at least 16 bytes of the file.
    for _ in 0..=data.len() / 16 + 1 {
        match r.next_frame(&mut buf) {
            Ok(Some(m)) => assert_eq!(m.caplen as usize, buf.len()),
            Ok(None) | Err(_) => return,
        }
    }
    panic!("the reader returned more records than the file can hold");
}

/// An engine from YAML text.
fn engine_of(yaml: &str) -> Engine {
    let cfg = Config::parse(yaml, "fuzz.yaml").expect("the fuzz config parses");
    Engine::from_config(&cfg, Path::new("."), "fuzz.yaml").expect("the fuzz engine builds")
}

/// Conntrack (defragmentation, accounting, timestamps, a table of 64 that evicts
/// early) and the stateful filter.
const ENGINE_YAML: &str = "\
plugins:
  - builtin: conntrack
    config: {buckets: 16, max: 64, defrag: true, accounting: true, timestamp: true, expect_max: 8}
  - builtin: filter
    config:
      chains:
        - hook: forward
          policy: drop
          rules:
            - {match: {ct_state: [established, related]}, action: accept}
            - {match: {ct_state: [invalid]}, action: drop}
            - {match: {proto: tcp, dport: [21, 22, 80, 443]}, action: accept}
            - {match: {proto: udp, dport: 53}, action: accept}
            - {match: {proto: icmp}, action: accept}
  - builtin: nat
    config:
      chains:
        - hook: prerouting
          rules:
            - {match: {proto: tcp, dport: 8080}, action: {dnat: {to: '10.0.0.5:80'}}}
        - hook: postrouting
          rules:
            - {match: {saddr: 10.0.0.0/8}, action: {snat: {to: '192.0.2.1:1024-1030'}}}
            - {match: {saddr: 'fd00::/8'}, action: {snat: {to: '2001:db8::1'}}}
";

/// Replays the input's frames through `engine` and checks that every frame is
/// accounted for and no callback panicked; then lists the table as text and JSON.
fn run_frames(engine: &Engine, data: &[u8]) {
    let (link, frames) = frames_of(data);
    let n = frames.len() as u64;
    let last = frames.last().map_or(0, |f| f.0);
    let mut src = MemorySource::new(
        frames
            .into_iter()
            .map(|(ts_ns, frame)| {
                let meta = FrameMeta {
                    ts_ns,
                    caplen: frame.len() as u32,
                    orig_len: frame.len() as u32,
                    link,
                    iface: 0,
                };
                (meta, frame)
            })
            .collect(),
    );
    let s = replay(engine, &mut src, ReplayOptions::default()).expect("a replay from memory");
    let c = &s.counters;
    assert_eq!(s.frames, n);
    assert!(c.panics.is_empty(), "a plugin panicked: {:?}", c.panics);
    assert_eq!(
        c.forwarded + c.delivered + c.dropped + c.stolen + c.non_ip + c.queued,
        c.received + c.injected,
        "{c:?}"
    );
    let ct = engine.plugin("conntrack").expect("conntrack is loaded");
    for req in [Request::list_at(last), json_list(0)] {
        let answer = ct.control(&req.to_vec()).expect("list answers");
        let page: ListResponse = serde_json::from_slice(&answer).expect("a list answer");
        assert_eq!(page.count, Some(page.entries.len() as u64));
    }
}

/// `list` of every connection as records, at `now_ns`.
fn json_list(now_ns: u64) -> Request {
    Request::List(List {
        now_ns,
        format: Format::Json,
        ..List::default()
    })
}

/// Frames through conntrack, the filter and NAT (a port forward, source translation
/// with a small port range that runs out), on a fresh engine.
pub fn engine(data: &[u8]) {
    run_frames(&engine_of(ENGINE_YAML), data);
}

/// Conntrack with the eight bundled helpers on their ports, behind NAT (every connection's
/// source translated, a port forward to tcp/21), so that the helpers' payload edits, the
/// sequence adjustment and the translated expectations run too.
const HELPERS_YAML: &str = "\
plugins:
  - builtin: conntrack
    config:
      buckets: 64
      max: 256
      helpers:
        - {name: ftp, wasm: 'builtin:ftp', ports: [tcp/21]}
        - {name: irc, wasm: 'builtin:irc', ports: [tcp/6667]}
        - {name: tftp, wasm: 'builtin:tftp', ports: [udp/69]}
        - {name: pptp, wasm: 'builtin:pptp', ports: [tcp/1723]}
        - {name: sane, wasm: 'builtin:sane', ports: [tcp/6566]}
        - {name: amanda, wasm: 'builtin:amanda', ports: [udp/10080]}
        - {name: snmp, wasm: 'builtin:snmp', ports: [udp/161, udp/162]}
        - {name: sip, wasm: 'builtin:sip', ports: [udp/5060, tcp/5060]}
  - builtin: nat
    config:
      chains:
        - hook: prerouting
          rules:
            - {match: {proto: tcp, dport: 2121}, action: {dnat: {to: '10.0.0.5:21'}}}
        - hook: postrouting
          rules:
            - {match: {}, action: {snat: {to: '192.0.2.100'}}}
            - {match: {}, action: {snat: {to: '2001:db8::100'}}}
";

/// Frames through conntrack with the helpers. The engine (and its compiled helpers)
/// is made once and its tables flushed after each input.
pub fn helpers(data: &[u8]) {
    static ENGINE: OnceLock<Mutex<Engine>> = OnceLock::new();
    let engine = ENGINE
        .get_or_init(|| Mutex::new(engine_of(HELPERS_YAML)))
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    run_frames(&engine, data);
    let ct = engine.plugin("conntrack").expect("conntrack is loaded");
    for op in [&br#"{"op": "flush"}"#[..], br#"{"op": "expect-flush"}"#] {
        ct.control(op).expect("flush answers");
    }
    let helpers = ct
        .control(br#"{"op": "helpers"}"#)
        .expect("helpers answers");
    let _: serde_json::Value = serde_json::from_slice(&helpers).expect("JSON");
}

/// The configurations the targets run, as seeds of the `config` target.
pub const CONFIG_SEEDS: [&str; 2] = [ENGINE_YAML, HELPERS_YAML];

/// Requests of every operation, as seeds of the `control` target.
pub const CONTROL_SEEDS: &[&str] = &[
    r#"{"op": "list", "now_ns": 1700000000000000000, "format": "json", "filter": {"proto": "tcp", "src": "10.0.0.0/8", "dport": 21, "state": ["ESTABLISHED"], "mark": "0x0/0xff", "status": "ASSURED", "zone": 0, "family": "ipv4"}}"#,
    r#"{"op": "list", "offset": 1, "limit": 2, "states": true, "format": "extended", "show_labels": true}"#,
    r#"{"op": "list", "limit": 1, "total": false, "cursor": 3}"#,
    r#"{"op": "get", "format": "json", "tuple": {"proto": "icmp", "src": "10.0.0.2", "dst": "10.0.0.1", "type": 0, "code": 0, "id": 77}}"#,
    r#"{"op": "get", "tuple": {"proto": "udp", "src": "10.0.0.1", "dst": "10.0.0.2", "sport": 1000, "dport": 53}}"#,
    r#"{"op": "delete", "tuple": {"proto": "gre", "src": "2001:db8::1", "dst": "2001:db8::2", "srckey": 1, "dstkey": 2}}"#,
    r#"{"op": "delete", "filter": {"proto": "udp"}}"#,
    r#"{"op": "update", "filter": {}, "mark": 5, "mark_mask": 255, "labels": "0x1f", "label_add": [3, 4], "label_del": true}"#,
    r#"{"op": "flush"}"#,
    r#"{"op": "count"}"#,
    r#"{"op": "stats"}"#,
    r#"{"op": "histogram", "max_len": 3, "offset": 2, "limit": 4}"#,
    r#"{"op": "buckets", "offset": 10, "limit": 10}"#,
    r#"{"op": "chain", "bucket": 7}"#,
    r#"{"op": "events", "cursor": 0, "max": 10, "mask": 31}"#,
    r#"{"op": "expect-list", "now_ns": 5}"#,
    r#"{"op": "expect-delete", "id": 1}"#,
    r#"{"op": "expect-flush"}"#,
    r#"{"op": "expect-create", "master": {"proto": "tcp", "src": "10.0.0.1", "dst": "10.0.0.2", "sport": 40000, "dport": 21}, "expect": {"proto": "tcp", "src": "10.0.0.2", "dst": "10.0.0.1", "sport": 0, "dport": 50001}, "mask": {"src": "255.255.255.0", "sport": 0}, "timeout": 5, "helper": "ftp"}"#,
    r#"{"op": "helpers"}"#,
    r#"{"op": "metrics"}"#,
    r#"{"op": "reconfigure", "config": {"buckets": 32, "timeouts": {"tcp_established": 60}}}"#,
];

/// A TCP segment (no options, window 65535) carrying `payload`.
fn tcp(sp: u16, dp: u16, seq: u32, ack: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut t = brickwall_conntrack::datagram::tcp(sp, dp, seq, ack, flags);
    t.extend_from_slice(payload);
    t
}

/// Hand-made seeds of the targets that real captures do not feed: `(target, name,
/// bytes)`.
pub fn hand_seeds() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    let mut v: Vec<(&str, &str, Vec<u8>)> = Vec::new();
    // tracker: a TCP handshake, data, FIN both ways; UDP both ways; an ICMP echo.
    let tcp_steps = |flags: &[(u8, u8)]| -> Vec<u8> {
        flags
            .iter()
            .flat_map(|&(dir, f)| [dir, f, 1, if f & 0x08 != 0 { 10 } else { 0 }])
            .collect()
    };
    v.push((
        "tracker",
        "tcp-handshake-teardown",
        tcp_steps(&[
            (0, 0x02),
            (1, 0x12),
            (0, 0x10),
            (0, 0x18),
            (1, 0x10),
            (0, 0x11),
            (1, 0x11),
            (0, 0x10),
        ]),
    ));
    v.push(("tracker", "tcp-rst", tcp_steps(&[(0, 0x02), (1, 0x14)])));
    v.push((
        "tracker",
        "udp-icmp",
        vec![4, 0, 1, 5, 5, 0, 1, 5, 6, 0, 1, 0, 7, 0, 1, 0],
    ));
    // tpacket: a V3 block with two frames, and a V2 slot.
    let mut block = vec![0u8; 256];
    block[12..16].copy_from_slice(&2u32.to_ne_bytes()); // packets
    block[16..20].copy_from_slice(&48u32.to_ne_bytes()); // first at 48
    let hdr = |b: &mut [u8], at: usize, next: u32, snap: u32, status: u32| {
        b[at..at + 4].copy_from_slice(&next.to_ne_bytes());
        b[at + 12..at + 16].copy_from_slice(&snap.to_ne_bytes());
        b[at + 20..at + 24].copy_from_slice(&status.to_ne_bytes());
        b[at + 24..at + 26].copy_from_slice(&48u16.to_ne_bytes());
        b[at + 32..at + 34].copy_from_slice(&7u16.to_ne_bytes());
    };
    hdr(&mut block, 48, 112, 60, 1);
    hdr(&mut block, 160, 0, 40, 1 | 1 << 4);
    let mut v3 = vec![0u8];
    v3.extend_from_slice(&block);
    v.push(("tpacket", "v3-two-frames", v3));
    let mut slot = vec![0u8; 128];
    slot[4..8].copy_from_slice(&60u32.to_ne_bytes());
    slot[8..12].copy_from_slice(&60u32.to_ne_bytes());
    slot[12..14].copy_from_slice(&32u16.to_ne_bytes());
    let mut v2 = vec![1u8];
    v2.extend_from_slice(&slot);
    v.push(("tpacket", "v2-slot", v2));
    // metrics: two plugins' families.
    {
        use brickwall_control_protocol::metrics::{MetricFamily, MetricKind, MetricsResponse};
        let mut x = MetricFamily::new("brickwall_x_total", MetricKind::Counter, "X.");
        x.push(&[("a", "b\"c\\d\ne")], 3.0);
        let mut y = MetricFamily::new("brickwall_y", MetricKind::Gauge, "Y\nz");
        y.push(&[], 1.5);
        let mut bytes = serde_json::to_vec(&MetricsResponse { families: vec![x] }).expect("JSON");
        bytes.push(0);
        bytes.extend(serde_json::to_vec(&MetricsResponse { families: vec![y] }).expect("JSON"));
        v.push(("metrics", "two-plugins", bytes));
    }
    v.push((
        "metrics",
        "request-head",
        b"GET /metrics HTTP/1.1
Host: x

"
        .to_vec(),
    ));
    // parsers: FTP PORT, EPRT, 227 and 229; IRC DCC SEND; PPTP start and call messages.
    v.push((
        "parsers",
        "ftp-port",
        b"\x00PORT 10,0,0,1,117,48
"
        .to_vec(),
    ));
    v.push((
        "parsers",
        "ftp-eprt",
        b"\x80EPRT |2|2001:db8::1|30000|
"
        .to_vec(),
    ));
    v.push((
        "parsers",
        "ftp-227",
        b"\x01227 Entering Passive Mode (10,0,0,2,117,49)
"
        .to_vec(),
    ));
    v.push((
        "parsers",
        "ftp-229",
        b"\x01229 Entering Extended Passive Mode (|||30001|)
"
        .to_vec(),
    ));
    v.push((
        "parsers",
        "irc-dcc",
        b"\x02PRIVMSG bob :\x01DCC SEND file.txt 167772161 5000 1024\x01
"
        .to_vec(),
    ));
    let pptp = |kind: u16, body_len: usize| {
        let len = (12 + body_len) as u16;
        let mut m = Vec::new();
        m.extend_from_slice(&len.to_be_bytes());
        m.extend_from_slice(&1u16.to_be_bytes());
        m.extend_from_slice(&0x1a2b_3c4du32.to_be_bytes());
        m.extend_from_slice(&kind.to_be_bytes());
        m.extend_from_slice(&[0, 0]);
        m.extend(std::iter::repeat_n(0u8, body_len));
        m
    };
    // Selector 21: framing and session (21 % 9 == 3), directions from 21 >> 3.
    let mut p = vec![21u8];
    for (kind, len) in [(1, 144), (2, 144), (7, 156), (8, 20)] {
        p.extend(pptp(kind, len));
    }
    v.push(("parsers", "pptp-session", p));
    v.push(("parsers", "pptp-state", vec![4, 2, 3, 0, 7, 0, 9]));
    v.push((
        "parsers",
        "sane-start-answer",
        vec![
            5, 0, 0, 0, 0, 0, 0, 0x9c, 0x41, 0, 0, 0x12, 0x34, 0, 0, 0, 0,
        ],
    ));
    // Selector 7: a SIP INVITE with an SDP offer, over UDP.
    v.push((
        "parsers",
        "sip-invite",
        b"\x07INVITE sip:bob@10.0.0.2 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1:5060\r\nCall-ID: 1@x\r\nCSeq: 1 INVITE\r\nContact: <sip:alice@10.0.0.1>\r\nl: 80\r\n\r\nv=0\r\no=- 1 1 IN IP4 10.0.0.1\r\nc=IN IP4 10.0.0.1\r\nm=audio 49170 RTP/AVP 0\r\nm=video 49172 RTP/AVP 96\r\n"
            .to_vec(),
    ));
    v.push((
        "parsers",
        "snmp-trap",
        vec![
            8, 0x30, 0x23, 0x02, 0x01, 0x00, 0x04, 0x06, b'p', b'u', b'b', b'l', b'i', b'c', 0xa4,
            0x16, 0x06, 0x03, 0x2b, 0x06, 0x01, 0x40, 0x04, 10, 0, 0, 1, 0x02, 0x01, 0x06, 0x02,
            0x01, 0x01, 0x43, 0x01, 0x01, 0x30, 0x00,
        ],
    ));
    v.push((
        "parsers",
        "amanda-connect",
        b"\x06Amanda 3.5 REP HANDLE 000-00000001 SEQ 1\nCONNECT DATA 50000 MESG 50001 INDEX -1 STATE 50003\n"
            .to_vec(),
    ));
    // config: nftables rulesets, one the filter reads and one it refuses (and one of nat
    // chains below).
    v.push((
        "config",
        "nft-ruleset",
        b"flush ruleset\ntable inet t {\n  set s { type ipv4_addr; flags interval; elements = { 10.0.0.0/8, 192.0.2.1 } }\n  ct helper f { type \"ftp\" protocol tcp; l3proto inet; }\n  chain c {\n    type filter hook forward priority filter; policy drop;\n    ct state established,related accept\n    ip saddr @s tcp dport { 21, 1024-65535 } ct helper set \"f\" counter packets 1 bytes 2 accept comment \"x\"\n    meta mark and 0xff == 0x10 log prefix \"p\" level info\n    icmpv6 type { echo-request, nd-neighbor-solicit } accept\n  }\n}\n"
            .to_vec(),
    ));
    // config: a ruleset's nat chains, which the NAT plugin reads (the filter skips).
    v.push((
        "config",
        "nft-nat",
        include_bytes!("../../../plugins/nat/tests/rulesets/nat.nft").to_vec(),
    ));
    v.push((
        "config",
        "nft-refused",
        b"table ip t {\n chain c { type filter hook input priority raw; policy drop;\n  udp dport >= 1024 reject\n }\n}\n".to_vec(),
    ));
    // defrag: a datagram in three pieces, one of each family; an overlap.
    v.push((
        "defrag",
        "three-pieces",
        vec![
            0, 0, 0, 100, 0x40, 1, 0, 100, 0, 100, 0x40, 1, 0, 200, 0, 50, 0, 1, // v4 id 0
            1, 0, 0, 100, 0x40, 1, 1, 100, 0, 100, 0, 1, // v6 id 0
            2, 0, 0, 50, 0x40, 0, 2, 20, 0, 50, 0x40, 0, 2, 60, 0, 10, 0,
            0, // v4 id 1 overlapping
        ],
    ));
    v
}

/// A table with connections of every kind the control requests name, and an
/// expectation.
fn filled_engine() -> Engine {
    let e = engine_of("plugins:\n  - builtin: conntrack\n    config: {buckets: 16, accounting: true, timestamp: true}\n");
    // TCP (a whole handshake), UDP both ways, an ICMP echo.
    let (a, b) = ([10, 0, 0, 1], [10, 0, 0, 2]);
    let seg = |sp, dp, seq, ack, flags| tcp(sp, dp, seq, ack, flags, &[]);
    let frames = [
        ipv4(a, b, 6, &seg(40000, 21, 100, 0, 0x02)),
        ipv4(b, a, 6, &seg(21, 40000, 500, 101, 0x12)),
        ipv4(a, b, 6, &seg(40000, 21, 101, 501, 0x10)),
        ipv4(a, b, 17, &[0x03, 0xe8, 0, 53, 0, 9, 0, 0, b'q']),
        ipv4(b, a, 17, &[0, 53, 0x03, 0xe8, 0, 9, 0, 0, b'a']),
        ipv4(a, b, 1, &[8, 0, 0, 0, 0, 77, 0, 1]),
    ];
    let refs: Vec<(u64, &[u8])> = frames
        .iter()
        .enumerate()
        .map(|(i, f)| (i as u64 * 1_000_000, f.as_slice()))
        .collect();
    let input = encode_frames(LinkType::Ipv4, &refs);
    run_frames(&e, &input);
    let ct = e.plugin("conntrack").expect("conntrack is loaded");
    ct.control(
        br#"{"op": "expect-create", "master": {"proto": "tcp", "src": "10.0.0.1", "dst": "10.0.0.2", "sport": 40000, "dport": 21}, "expect": {"proto": "tcp", "src": "10.0.0.2", "dst": "10.0.0.1", "sport": 0, "dport": 50000}, "mask": {"sport": 0}}"#,
    )
    .expect("the expectation is made");
    e
}

/// A conntrack control request: refused with a message, or answered with JSON.
pub fn control(data: &[u8]) {
    static ENGINE: OnceLock<Mutex<Engine>> = OnceLock::new();
    let engine = ENGINE
        .get_or_init(|| Mutex::new(filled_engine()))
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let ct = engine.plugin("conntrack").expect("conntrack is loaded");
    // Requests that change the table (delete, flush, update) would leave the next
    // input an empty one: they run against a copy made for the input instead.
    let mutating = matches!(
        Request::from_slice(data),
        Ok(Request::Delete(_)
            | Request::Flush(_)
            | Request::Update(_)
            | Request::ExpectDelete(_)
            | Request::ExpectFlush(_)
            | Request::ExpectCreate(_)
            | Request::Reconfigure(_)
            | Request::Resize(_)
            | Request::Events(_))
    );
    let fresh;
    let ct = if mutating {
        fresh = filled_engine();
        fresh
            .plugin("conntrack")
            .expect("conntrack is loaded")
            .clone()
    } else {
        ct.clone()
    };
    match ct.control(data) {
        Ok(answer) => {
            let _: serde_json::Value = serde_json::from_slice(&answer)
                .unwrap_or_else(|e| panic!("the answer is not JSON ({e}): {answer:?}"));
        }
        Err(e) => assert!(!e.is_empty() && e.len() < 4096, "{e:?}"),
    }
}

/// Configuration text: the engine's YAML (and with it conntrack's and the filter's
/// sections), refused with an error naming the file, or building an engine; and the
/// same text as an nftables ruleset, read by the filter and by NAT.
pub fn config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Config::parse(text, "fuzz.yaml") {
        Ok(cfg) => {
            // Only builtin plugins: a path would load a file.
            if cfg.plugins.iter().all(|p| p.builtin.is_some()) {
                let _ = Engine::from_config(&cfg, Path::new("/nonexistent"), "fuzz.yaml");
            }
        }
        Err(e) => assert!(e.to_string().contains("fuzz.yaml"), "{e}"),
    }
    let _ = brickwall_conntrack::config::CtConfig::parse(text);
    let _ = brickwall_filter::load::load(text);
    // The same text as an nftables ruleset, read by the filter and by NAT: chains, or
    // an error at a place in it.
    let lines = text.lines().count().max(1);
    let placed = |e: brickwall_filter::nft::NftError| {
        assert!(e.line >= 1 && e.line <= lines + 1, "{e} (of {lines} lines)");
        assert!(e.col >= 1 && !e.message.is_empty(), "{e}");
    };
    if let Err(e) = brickwall_filter::nft::chains(text) {
        placed(e);
    }
    if let Err(e) = brickwall_nat::nft::chains(text) {
        placed(e);
    }
}

/// One connection's packets, both directions, through conntrack alone: each step of
/// the input (four bytes: direction and protocol, TCP flags, how far the sequence
/// number moves, payload length) becomes a packet between 10.0.0.1 and 10.0.0.2 whose
/// sequence and acknowledgement numbers follow the other side's (so that handshakes
/// and teardowns happen), or jump when the input says. After every packet the table
/// must be consistent: every listed connection's reply tuple is its original one
/// reversed, no tuple is listed twice, ASSURED implies SEEN_REPLY, TCP and DCCP
/// connections have a state and others none, and the count is the listing's length.
pub fn tracker(data: &[u8]) {
    tracker_run(data);
}

/// [`tracker`], answering the last listing.
fn tracker_run(data: &[u8]) -> ListResponse {
    let e = engine_of("plugins:\n  - builtin: conntrack\n    config: {buckets: 16, max: 32}\n");
    let ct = e.plugin("conntrack").expect("conntrack is loaded").clone();
    let (a, b) = ([10, 0, 0, 1], [10, 0, 0, 2]);
    let mut next = [1000u32, 5000u32];
    let mut pl = e.pipeline();
    let table = e.registry().snapshot();
    let mut ts = 1_700_000_000_000_000_000u64;
    for step in data.chunks_exact(4).take(64) {
        let dir = usize::from(step[0] & 1);
        let (src, dst) = if dir == 0 { (a, b) } else { (b, a) };
        let (sp, dp) = if dir == 0 {
            (40000u16, 80u16)
        } else {
            (80, 40000)
        };
        let payload = vec![b'x'; usize::from(step[3] % 64)];
        let datagram = match (step[0] >> 1) % 5 {
            0 | 1 => {
                let flags = step[1] & 0x3f;
                let jump = u32::from(step[2]);
                let seq = next[dir].wrapping_add(if jump > 200 { jump << 16 } else { 0 });
                let ack = next[1 - dir];
                let consumed = payload.len() as u32 + u32::from(flags & 0x03 != 0);
                next[dir] = seq.wrapping_add(consumed);
                ipv4(src, dst, 6, &tcp(sp, dp, seq, ack, flags, &payload))
            }
            2 => {
                let mut u = Vec::with_capacity(8 + payload.len());
                u.extend_from_slice(&sp.to_be_bytes());
                u.extend_from_slice(&dp.to_be_bytes());
                u.extend_from_slice(&(8 + payload.len() as u16).to_be_bytes());
                u.extend_from_slice(&[0, 0]);
                u.extend_from_slice(&payload);
                ipv4(src, dst, 17, &u)
            }
            3 => {
                let ty = if dir == 0 { 8 } else { step[1] % 20 };
                ipv4(src, dst, 1, &[ty, step[2] % 4, 0, 0, 0, 7, 0, 1])
            }
            _ => {
                // DCCP: any type (reserved ones too), the X bit, a data offset of 0 to
                // 7 words, sequence and acknowledgement numbers following the sides.
                let (ty, x) = (step[1] & 0x0f, (step[1] >> 4) & 1);
                let mut d = Vec::with_capacity(28 + payload.len());
                d.extend_from_slice(&sp.to_be_bytes());
                d.extend_from_slice(&dp.to_be_bytes());
                d.extend_from_slice(&[step[2] % 8, step[1] >> 5, 0, 0, ty << 1 | x, 0]);
                d.extend_from_slice(&[0, 0]);
                d.extend_from_slice(&next[dir].to_be_bytes());
                d.extend_from_slice(&[0, 0, 0, 0]);
                d.extend_from_slice(&next[1 - dir].to_be_bytes());
                d.extend_from_slice(&[0; 4]);
                next[dir] = next[dir].wrapping_add(1);
                d.extend_from_slice(&payload);
                ipv4(src, dst, 33, &d)
            }
        };
        ts += u64::from(step[2]) * 10_000_000;
        let (mut pkt, parsed) =
            brickwall_engine::packet::Packet::from_frame(LinkType::Ipv4, &datagram, ts);
        parsed.expect("the fuzzer's own datagrams parse");
        let _ = pl.process_captured(&table, &mut pkt);
        check_table(&ct, ts);
    }
    check_table(&ct, ts)
}

/// The table's invariants (see [`tracker`]).
fn check_table(ct: &brickwall_engine::plugin::LoadedPlugin, now_ns: u64) -> ListResponse {
    use brickwall_control_protocol::conntrack::response::Entry;
    let answer = ct
        .control(&json_list(now_ns).to_vec())
        .expect("list answers");
    let page: ListResponse = serde_json::from_slice(&answer).expect("a list answer");
    assert_eq!(page.count, Some(page.entries.len() as u64));
    let mut seen = std::collections::HashSet::new();
    for e in &page.entries {
        let Entry::Record(c) = e else {
            panic!("a json listing holds records: {e:?}");
        };
        let (o, r) = (&c.orig, &c.reply);
        assert_eq!((o.src, o.dst), (r.dst, r.src), "{c:?}");
        assert_eq!((o.sport, o.dport), (r.dport, r.sport), "{c:?}");
        assert!(seen.insert(format!("{} {:?}", c.protonum, o)), "{c:?}");
        assert!(
            seen.insert(format!("{} {:?} reply", c.protonum, r)),
            "{c:?}"
        );
        assert!(
            !c.has_status("ASSURED") || c.has_status("SEEN_REPLY"),
            "{c:?}"
        );
        assert_eq!(
            c.state.is_some(),
            c.protonum == 6 || c.protonum == 33,
            "{c:?}"
        );
        assert!(c.timeout <= 5 * 24 * 3600, "{c:?}");
    }
    page
}

/// A TPACKET_V3 block or a TPACKET_V2 slot of the kernel's ring, as the kernel might
/// (mis)write it: every frame handed on lies inside it (or is it with a VLAN tag put
/// back), and walking it ends. The input's first byte picks the version.
pub fn tpacket(data: &[u8]) {
    use brickwall_engine::live::tpacket::{take_v2_slot, walk_block};
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let mut block = rest.to_vec();
    block.resize(block.len().clamp(64, 1 << 16), 0);
    let size = block.len();
    let mut scratch = Vec::new();
    let mut frames = 0usize;
    let mut check = |f: &[u8]| {
        frames += 1;
        assert!(
            f.len() <= size + 4,
            "a frame of {} bytes from {size}",
            f.len()
        );
    };
    if sel & 1 == 0 {
        let n = walk_block(&mut block, &mut scratch, &mut check);
        assert_eq!(n, frames);
    } else {
        let status = u32::from_ne_bytes([sel, sel >> 1, 0, 0]);
        let passed = take_v2_slot(&mut block, status, &mut scratch, &mut check);
        assert_eq!(usize::from(passed), frames);
    }
}

/// Metric families from two plugins (the input split at its first zero byte, each part
/// a `MetricsResponse` in JSON) merged and rendered as the endpoint serves them: every
/// line a comment or a sample `name{labels} value` whose name is valid and which holds
/// no raw line break; and the endpoint's reading of a request head.
pub fn metrics(data: &[u8]) {
    use brickwall_control_protocol::metrics::{merge, render, valid_name, MetricsResponse};
    let _ = brickwall_engine::control::metrics::wants_metrics(data);
    let mut parts = Vec::new();
    for (i, part) in data.splitn(2, |b| *b == 0).enumerate() {
        if let Ok(r) = serde_json::from_slice::<MetricsResponse>(part) {
            parts.push((format!("plugin{i}"), r.families));
        }
    }
    let (families, _notes) = merge(parts);
    let text = render(&families);
    for line in text.lines() {
        if line.starts_with("# ") {
            continue;
        }
        let name_end = line.find(['{', ' ']).unwrap_or(line.len());
        assert!(valid_name(&line[..name_end]), "{line:?}");
        let value = line.rsplit(' ').next().unwrap_or("");
        assert!(
            value.parse::<f64>().is_ok() || ["+Inf", "-Inf", "NaN"].contains(&value),
            "{line:?}"
        );
    }
}

/// The bundled helpers' parsers, built natively: FTP's command and reply scanner, the
/// IRC DCC offer finder, PPTP's control-message framing with its session state, the
/// PPTP session's encoding (what a helper keeps between calls) read back, SANE's
/// request and start answer, Amanda's `CONNECT` line (never a port 0, never more than
/// one port per stream), SNMP's BER walk (the addresses it finds lie inside the
/// message; rewritten, the message reads the same but for them), and SIP's messages
/// and SDP bodies through the helper.
pub fn parsers(data: &[u8]) {
    use brickwall_helper_pptp::session::Session;
    use brickwall_helper_sdk::Direction;
    let Some((&sel, payload)) = data.split_first() else {
        return;
    };
    match sel % 9 {
        0 => drop(brickwall_helper_ftp::parse::scan(
            Direction::Original,
            payload,
            sel & 0x80 != 0,
        )),
        1 => drop(brickwall_helper_ftp::parse::scan(
            Direction::Reply,
            payload,
            sel & 0x80 != 0,
        )),
        2 => {
            let mut offers = 0;
            let _ = brickwall_helper_irc::dcc::find(payload, |d| {
                assert_ne!(d.port, 0, "an offer of port 0");
                offers += 1;
                offers % 2 == 0
            });
        }
        3 => {
            let mut s = Session::default();
            // Half the inputs as behind NAT, the new call id a fixed port.
            let nat_id = (payload.len() % 2 == 1).then_some(0x9c40);
            for (i, m) in brickwall_helper_pptp::msg::messages(payload)
                .take(1000)
                .enumerate()
            {
                if let Some(c) = m.control() {
                    let from_pns = (sel >> 3 >> (i % 5)) & 1 == 0;
                    if from_pns {
                        s.from_pns(&c, nat_id);
                    } else {
                        let _ = s.from_pac(&c);
                    }
                    // A translated call id translates back.
                    if let Some((_, v)) = c.pns_call_field(from_pns) {
                        if let Some(t) = s.translated_call_id(v, from_pns) {
                            assert_eq!(s.translated_call_id(t, !from_pns), Some(v));
                        }
                    }
                }
            }
            let mut out = Vec::new();
            s.encode(&mut out);
            assert_eq!(Session::decode(&out), Some(s));
        }
        5 => {
            let _ = brickwall_helper_sane::msg::request(payload);
            if let Some(port) = brickwall_helper_sane::msg::start_reply(payload) {
                assert_eq!(
                    u32::from(port),
                    u32::from_be_bytes([0, 0, payload[6], payload[7]])
                );
            }
        }
        8 => {
            let from = [10, 0, 0, 1];
            if let Ok(at) = brickwall_helper_snmp::ber::addresses(payload) {
                assert!(at.iter().all(|&i| i + 4 <= payload.len()), "{at:?}");
                let edits = brickwall_helper_snmp::translate(payload, from, [192, 0, 2, 1])
                    .expect("a message the walk read translates");
                let mut out = payload.to_vec();
                for e in &edits {
                    let i = e.offset as usize;
                    assert_eq!((e.length, e.data.len()), (4, 4));
                    out[i..i + 4].copy_from_slice(&e.data);
                }
                assert_eq!(brickwall_helper_snmp::ber::addresses(&out), Ok(at));
            }
        }
        6 => {
            let ports = brickwall_helper_amanda::connect::ports(payload);
            assert!(ports.len() <= brickwall_helper_amanda::connect::STREAMS.len());
            assert!(!ports.contains(&0), "{ports:?}");
        }
        7 => sip(sel, payload),
        _ => {
            if let Some(s) = Session::decode(payload) {
                let mut out = Vec::new();
                s.encode(&mut out);
                assert_eq!(out, payload);
            }
        }
    }
}

/// The SIP helper's parsers and the helper itself on one payload: TCP framing stays
/// within the segment, an SDP body announces at most three streams on ports of 1024 and
/// up, and the helper (over UDP, or TCP when `sel`'s top bit is set) expects RTP and
/// RTCP pairs of UDP and keeps a state that reads back.
fn sip(sel: u8, payload: &[u8]) {
    use brickwall_helper_sdk::{proto, Addr, ConnInfo, CtState, Direction, Helper, Packet, State};
    use brickwall_helper_sip::{msg, sdp, state::Session, Sip};
    let mut end = 0;
    for r in msg::tcp_messages(payload).take(1000) {
        assert!(r.start == end && r.end > r.start && r.end <= payload.len());
        end = r.end;
    }
    let v6 = sel & 0x40 != 0;
    let body = sdp::body(payload, v6);
    assert!(body.streams.len() <= 3);
    assert!(body
        .streams
        .iter()
        .all(|s| s.port >= 1024 && s.addr.is_v6() == v6));
    let tcp = sel & 0x80 != 0;
    let (a, b) = if v6 {
        (
            Addr::V6([0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
            Addr::V6([0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]),
        )
    } else {
        (Addr::V4([10, 0, 0, 1]), Addr::V4([10, 0, 0, 2]))
    };
    let conn = ConnInfo::of(brickwall_helper_sdk::Tuple {
        src: a,
        dst: b,
        protocol: if tcp { proto::TCP } else { proto::UDP },
        src_port: 5060,
        dst_port: 5060,
    });
    let mut st = State::new(Sip::assigned(&conn));
    let dir = if sel & 0x20 != 0 {
        Direction::Reply
    } else {
        Direction::Original
    };
    let pkt = Packet {
        conn: 1,
        dir,
        ct: CtState::Established,
        seq: 0,
        tcp_flags: 0x18,
        payload,
    };
    let out = Sip::packet(&pkt, &mut st);
    for e in &out.expects {
        assert!(e.any_src_port && e.nat.is_none());
        assert!(e.class <= sdp::class::IMAGE);
        if e.class != sdp::class::SIGNALLING {
            assert_eq!(e.tuple.protocol, proto::UDP);
            assert!(e.tuple.dst_port >= 1024);
        }
    }
    assert!(Session::decode(st.get()).is_some());
}

/// Defragmentation driven directly: each six bytes of the input a fragment (IPv4 or
/// IPv6, one of eight datagram ids, an offset, a length, more-fragments, a time step),
/// its data a pattern of its datagram and offset so that overlaps are visible. After
/// every fragment the bytes held stay within the limit; a reassembled datagram parses,
/// its length fields are its length, and no larger than the largest allowed.
pub fn defrag(data: &[u8]) {
    defrag_run(data);
}

/// [`defrag`], answering how many datagrams were reassembled.
fn defrag_run(data: &[u8]) -> usize {
    use brickwall_conntrack::defrag::{Defrag, DefragConfig, DefragOutcome};
    let mut completed = 0;
    let cfg = DefragConfig {
        max_bytes: 64 * 1024,
        max_fragments: 16,
        ..DefragConfig::default()
    };
    let (max_bytes, max_datagram) = (cfg.max_bytes, cfg.max_datagram.min(65535));
    let mut d = Defrag::new(cfg);
    let mut now = 0u64;
    for step in data.chunks_exact(6).take(512) {
        let v6 = step[0] & 1 == 1;
        let id = (step[0] >> 1) & 7;
        let offset = usize::from(u16::from_le_bytes([step[1], step[2]]) & 0x1fff) * 8;
        let len = usize::from(step[3]) * 8 + usize::from(step[4] >> 7) * (step[4] as usize & 7);
        let more = step[4] & 0x40 != 0;
        now += u64::from(step[5]) * 100_000_000;
        let body: Vec<u8> = (0..len).map(|i| (offset + i) as u8 ^ id).collect();
        let frag = if v6 {
            v6_fragment(u32::from(id), offset, more, &body)
        } else {
            v4_fragment(u16::from(id), offset, more, &body)
        };
        match d.push(now, &frag, 0) {
            DefragOutcome::Complete(out) => {
                completed += 1;
                let p = brickwall_engine::wire::parse_datagram(&out)
                    .unwrap_or_else(|e| panic!("a reassembled datagram does not parse: {e}"));
                assert_eq!(p.l3_len as usize, out.len(), "{p:?}");
                if v6 {
                    assert!(out.len() - 40 <= max_datagram, "{}", out.len());
                } else {
                    assert!(out.len() <= max_datagram, "{}", out.len());
                }
            }
            DefragOutcome::NotFragment | DefragOutcome::Held | DefragOutcome::Invalid(_) => {}
        }
        assert!(d.held_bytes() <= max_bytes, "{} held", d.held_bytes());
        d.expire(now);
    }
    completed
}

/// An IPv4 UDP fragment of datagram `id` from 10.0.0.1 to 10.0.0.2.
fn v4_fragment(id: u16, offset: usize, more: bool, data: &[u8]) -> Vec<u8> {
    let total = (20 + data.len()).min(65535);
    let frag_off = (offset / 8) as u16 | if more { 0x2000 } else { 0 };
    let mut p = vec![0x45, 0];
    p.extend_from_slice(&(total as u16).to_be_bytes());
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(&frag_off.to_be_bytes());
    p.extend_from_slice(&[64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
    let sum = brickwall_engine::wire::checksum::checksum(&p);
    p[10..12].copy_from_slice(&sum.to_be_bytes());
    p.extend_from_slice(data);
    p
}

/// An IPv6 UDP fragment of datagram `id` from 2001:db8::1 to 2001:db8::2.
fn v6_fragment(id: u32, offset: usize, more: bool, data: &[u8]) -> Vec<u8> {
    let plen = (8 + data.len()).min(65535);
    let mut p = vec![0x60, 0, 0, 0];
    p.extend_from_slice(&(plen as u16).to_be_bytes());
    p.extend_from_slice(&[44, 64]);
    for last in [1u8, 2] {
        p.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
        p.extend_from_slice(&[0; 11]);
        p.push(last);
    }
    let frag_off = (offset as u16 & !7) | u16::from(more);
    p.extend_from_slice(&[17, 0]);
    p.extend_from_slice(&frag_off.to_be_bytes());
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(data);
    p
}

/// A datagram of conntrackd's sync protocol (the sync plugin's receiving side): split
/// into messages, each refused with a reason or read, and what is read emits bytes that
/// read back the same; then taken in by an external cache and FTFW's rules.
pub fn sync(data: &[u8]) {
    use brickwall_sync::cache::Cache;
    use brickwall_sync::ftfw::Ftfw;
    use brickwall_sync::wire::message::{Body, Message, Messages};
    let mut cache = Cache::new(64);
    let mut ftfw = Ftfw::new(3, 8);
    let now = std::time::Instant::now();
    for m in Messages::new(data).flatten() {
        let again = m.to_bytes();
        assert_eq!(Message::parse(&again).as_ref(), Ok(&m), "{again:02x?}");
        ftfw.received(&m);
        ftfw.sent(&m);
        match m.body {
            Body::Conntrack(a, c) => {
                cache.apply(a, c, now);
            }
            Body::Expect(a, e) => {
                cache.apply_expect(a, e, now);
            }
            Body::Control(_) => {}
        }
    }
    for e in cache.entries() {
        let _ = brickwall_sync::listing::line(e, now);
    }
    for e in cache.expects() {
        let _ = brickwall_sync::listing::expect_line(e);
    }
    let _ = ftfw.take_outbox();
    let _ = ftfw.idle();
}

#[cfg(test)]
mod tests {
    use super::*;
    use brickwall_control_protocol::conntrack::response::Entry;

    /// The tracker target's seeds do what they are named for: the handshake seed
    /// makes an ASSURED connection that its FINs take to TIME_WAIT.
    #[test]
    fn the_tracker_seeds_drive_real_connections() {
        let seeds = hand_seeds();
        let seed = |name: &str| {
            seeds
                .iter()
                .find(|s| s.1 == name)
                .map(|s| s.2.clone())
                .expect("the seed exists")
        };
        let page = tracker_run(&seed("tcp-handshake-teardown"));
        let [Entry::Record(c)] = page.entries.as_slice() else {
            panic!("one connection: {page:?}");
        };
        assert!(c.has_status("ASSURED"), "{c:?}");
        assert_eq!(c.state.as_deref(), Some("TIME_WAIT"), "{c:?}");
        let page = tracker_run(&seed("udp-icmp"));
        let protos: Vec<u8> = page
            .entries
            .iter()
            .filter_map(|e| match e {
                Entry::Record(c) => Some(c.protonum),
                Entry::Line(_) => None,
            })
            .collect();
        assert!(protos.contains(&17) && protos.contains(&1), "{protos:?}");
    }

    /// The defrag seed reassembles its IPv4 and IPv6 datagrams, and not the one whose
    /// pieces overlap.
    #[test]
    fn the_defrag_seed_reassembles_two_datagrams() {
        let seeds = hand_seeds();
        let seed = seeds
            .iter()
            .find(|s| s.1 == "three-pieces")
            .expect("the seed");
        assert_eq!(defrag_run(&seed.2), 2);
    }
}
