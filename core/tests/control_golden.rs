//! Golden tests: `brickwall ct`'s lines against the lines the Linux kernel's `conntrack`
//! printed for the same connections (`tests/fixtures/kernel/`, whose README says where
//! each line comes from and what may differ). Captures of the same 5-tuples are
//! synthesized here, replayed by the real binary, and listed through its control socket;
//! events are taken from an engine in this process, subscribed before its replay.

mod common;
mod control_common;

use brickwall_conntrack::config::CtConfig;
use brickwall_conntrack::expect::{ExpectSpec, Mask};
use brickwall_conntrack::tuple::Tuple;
use brickwall_conntrack::Conntrack;
use brickwall_control_protocol::conntrack::EventsResponse;
use brickwall_core::control::{engine_targets, ControlServer, ControlTarget, LiveStatus, Targets};
use brickwall_core::io::PcapSource;
use brickwall_core::pcap::PcapWriter;
use brickwall_core::replay::{replay, ReplayOptions};
use brickwall_core::wire::LinkType;
use brickwall_hooks::{Host, PacketView, Plugin};
use brickwall_tui::client::Client;
use common::TempDir;
use control_common::{assert_code, stderr, stdout, Engine};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::Arc;

const SEC: u64 = 1_000_000_000;
const T0: u64 = 1_795_760_644 * SEC;
const CLIENT: [u8; 4] = [10, 77, 0, 1];
const SERVER: [u8; 4] = [10, 77, 1, 2];

/// A kernel fixture's lines.
fn fixture(name: &str) -> Vec<String> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/kernel")
        .join(name);
    std::fs::read_to_string(&p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .lines()
        .map(str::to_string)
        .collect()
}

/// A `conntrack -L` line without accounting (`packets=`, `bytes=`) and with the
/// `at`-th field (its timeout) as `T`; the column padding stays as printed.
fn normalize(line: &str, at: usize) -> String {
    let mut field = 0;
    line.split(' ')
        .filter(|w| !w.starts_with("packets=") && !w.starts_with("bytes="))
        .map(|w| {
            if w.is_empty() {
                return w;
            }
            field += 1;
            if field - 1 == at {
                assert!(w.parse::<u64>().is_ok(), "no timeout at field {at}: {line}");
                "T"
            } else {
                w
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Builds a TCP segment between the client and the server.
#[allow(clippy::too_many_arguments)]
fn tcp(
    from_client: bool,
    cport: u16,
    sport: u16,
    seq: u32,
    ack: Option<u32>,
    syn: bool,
    fin: bool,
    payload: &[u8],
) -> Vec<u8> {
    let (src, dst, sp, dp) = if from_client {
        (CLIENT, SERVER, cport, sport)
    } else {
        (SERVER, CLIENT, sport, cport)
    };
    let mut b = etherparse::PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
        .ipv4(src, dst, 64)
        .tcp(sp, dp, seq, 64240);
    if syn {
        b = b.syn();
    }
    if fin {
        b = b.fin();
    }
    if let Some(a) = ack {
        b = b.ack(a);
    }
    if !payload.is_empty() {
        b = b.psh();
    }
    let mut out = Vec::with_capacity(b.size(payload.len()));
    b.write(&mut out, payload).unwrap();
    out
}

/// A UDP datagram.
fn udp(src: [u8; 4], dst: [u8; 4], sp: u16, dp: u16) -> Vec<u8> {
    udp_with(src, dst, sp, dp, b"data")
}

/// A UDP datagram carrying `payload`.
fn udp_with(src: [u8; 4], dst: [u8; 4], sp: u16, dp: u16, payload: &[u8]) -> Vec<u8> {
    let b = etherparse::PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
        .ipv4(src, dst, 64)
        .udp(sp, dp);
    let mut out = Vec::with_capacity(b.size(payload.len()));
    b.write(&mut out, payload).unwrap();
    out
}

/// The connections of the kernel's lines: a TCP connection closed (TIME_WAIT), one with
/// data flowing (ESTABLISHED), a UDP exchange and an unanswered TFTP read request.
fn frames() -> Vec<Vec<u8>> {
    let (c, s) = (1_000u32, 50_000u32);
    let (cp, sp) = (42184, 30076);
    let mut f = vec![
        tcp(true, cp, sp, c, None, true, false, b""),
        tcp(false, cp, sp, s, Some(c + 1), true, false, b""),
        tcp(true, cp, sp, c + 1, Some(s + 1), false, false, b""),
        tcp(false, cp, sp, s + 1, Some(c + 1), false, false, b"hello\n"),
        tcp(true, cp, sp, c + 1, Some(s + 7), false, false, b""),
        tcp(true, cp, sp, c + 1, Some(s + 7), false, true, b""),
        tcp(false, cp, sp, s + 7, Some(c + 2), false, true, b""),
        tcp(true, cp, sp, c + 2, Some(s + 8), false, false, b""),
    ];
    let (cp, sp) = (50048, 30011);
    f.extend([
        tcp(true, cp, sp, c, None, true, false, b""),
        tcp(false, cp, sp, s, Some(c + 1), true, false, b""),
        tcp(true, cp, sp, c + 1, Some(s + 1), false, false, b""),
        tcp(
            false,
            cp,
            sp,
            s + 1,
            Some(c + 1),
            false,
            false,
            b"data data",
        ),
        tcp(true, cp, sp, c + 1, Some(s + 10), false, false, b""),
    ]);
    // A TFTP read request: the bundled TFTP helper expects the answer, as the kernel's
    // did; the server's answer from another port is that expected connection, a child
    // of the request's, which counts it in its `use=2` as the kernel's did.
    f.push(udp_with(
        CLIENT,
        SERVER,
        54630,
        69,
        b"\x00\x01file\x00octet\x00",
    ));
    f.push(udp(SERVER, CLIENT, 54983, 54630));
    f.push(udp(CLIENT, SERVER, 54630, 54983));
    f
}

/// Writes the frames as a capture, a millisecond apart.
fn capture(dir: &TempDir) -> PathBuf {
    let p = dir.join("kernel-tuples.pcap");
    let mut w = PcapWriter::create(&p, LinkType::Ethernet, true).unwrap();
    for (i, f) in frames().iter().enumerate() {
        w.write(T0 + i as u64 * 1_000_000, f, f.len() as u32)
            .unwrap();
    }
    w.flush().unwrap();
    p
}

/// The first line of `ours` with the same original tuple as `kernel`'s.
fn same_connection<'a>(ours: &'a [String], kernel: &str) -> &'a str {
    let key = |l: &str| -> Vec<String> {
        ["src", "dst", "sport", "dport"]
            .iter()
            .map(|k| control_common::field(l, k).unwrap_or("").to_string())
            .collect()
    };
    ours.iter()
        .find(|l| key(l) == key(kernel))
        .unwrap_or_else(|| panic!("no connection like\n{kernel}\nin\n{}", ours.join("\n")))
}

#[test]
fn conntrack_list_lines_match_the_kernels() {
    let dir = TempDir::new("golden-l");
    let e = Engine::replay("golden-l-engine", &capture(&dir));
    let list = e.ct(&["-L"]);
    let ext = e.ct(&["-L", "-o", "extended", "-p", "tcp", "--dport", "30076"]);
    let stats = e.ct(&["-S"]);
    assert_code(&list, 0);
    let ours: Vec<String> = stdout(&list).lines().map(str::to_string).collect();
    for k in fixture("conntrack_L.txt") {
        let kernel = k.clone();
        let mine = same_connection(&ours, &kernel);
        assert_eq!(
            normalize(mine, 2),
            normalize(&kernel, 2),
            "\nours:   {mine}\nkernel: {k}"
        );
    }
    // `-o extended`.
    let k = &fixture("conntrack_L_extended.txt")[0];
    let mine = stdout(&ext);
    assert_eq!(
        normalize(mine.trim_end(), 4),
        normalize(k, 4),
        "\nours:   {mine}kernel: {k}"
    );
    // The summary line after the program's name.
    let tail = |s: &str| s.split_once("): ").map(|(_, t)| t.trim().to_string());
    let summaries = fixture("summaries.txt");
    let flows = summaries
        .iter()
        .find(|l| l.contains("flow entries"))
        .unwrap();
    let one = stderr(&ext);
    assert_eq!(tail(&one), tail(flows));
    // `-S`: the same line with the counters as numbers.
    let k = &fixture("conntrack_S.txt")[0];
    assert_eq!(
        control_common::numbers_as_n(stdout(&stats).trim_end_matches('\n')),
        control_common::numbers_as_n(k)
    );
    assert_code(&e.stop(), 0);
}

#[test]
fn event_lines_match_the_kernels() {
    let dir = TempDir::new("golden-e");
    let pcap = capture(&dir);
    let engine = common::engine("plugins:\n  - builtin: conntrack\n");
    let status = Arc::new(LiveStatus::new());
    let server = ControlServer::start(
        &dir.join("ctl.sock"),
        engine_targets(&engine, status.clone()),
    )
    .unwrap();
    let mut c = Client::connect(server.path()).unwrap();
    let poll = |c: &mut Client, cursor: u64| -> Value {
        c.call(
            "conntrack",
            &json!({"op": "events", "cursor": cursor, "max": 1000, "mask": 7}),
        )
        .unwrap()
    };
    let cursor = poll(&mut c, 0)["cursor"].as_u64().unwrap();
    let opts = ReplayOptions {
        live: Some(status),
        ..ReplayOptions::default()
    };
    replay(&engine, &mut PcapSource::open(&pcap).unwrap(), opts).unwrap();
    let got: EventsResponse = serde_json::from_value(poll(&mut c, cursor)).unwrap();
    let ours: Vec<String> = got.events.iter().map(|e| e.line(false)).collect();
    for flow in ["sport=42184 dport=30076", "sport=54983 dport=54630"] {
        let kernel: Vec<String> = fixture("conntrack_E.txt")
            .iter()
            .filter(|l| l.contains(flow))
            .map(|l| l.split_once('\t').unwrap().1.to_string())
            .collect();
        let mine: Vec<&String> = ours.iter().filter(|l| l.contains(flow)).collect();
        assert_eq!(
            mine.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            kernel.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            "events of {flow}"
        );
    }
}

/// The conntrack plugin itself as a control target (the engine holds it behind the C
/// ABI; here the test keeps the object to create an expectation on it).
struct PluginTarget(Arc<Conntrack>);

impl ControlTarget for PluginTarget {
    fn control(&self, request: &[u8]) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        Plugin::control(&*self.0, request, &mut out)?;
        Ok(out)
    }
}

/// An engine target that only tells the clock.
struct Clock(u64);

impl ControlTarget for Clock {
    fn control(&self, _: &[u8]) -> Result<Vec<u8>, String> {
        Ok(
            serde_json::to_vec(&json!({"phase": "finished", "frames": 0, "now_ns": self.0}))
                .unwrap(),
        )
    }
}

/// Runs an IPv4 TCP SYN through conntrack-in and confirm; the connection's reference.
fn syn(ct: &Conntrack, src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16, ts: u64) -> u64 {
    let mut d = tcp(true, sport, dport, 1, None, true, false, b"")[14..].to_vec();
    d[12..16].copy_from_slice(&src);
    d[16..20].copy_from_slice(&dst);
    let mut v = PacketView::default();
    v.l3_len = d.len() as u32;
    v.l4_off = 20;
    v.payload_off = 40;
    v.family = 2;
    v.l4proto = 6;
    v.ts_ns = ts;
    // SAFETY: `d` outlives `v` and is reached only through it.
    unsafe { v.set_frame(d.as_mut_ptr(), d.len() as u32) };
    let mut t = ct.tracker();
    t.conntrack_in(&mut v);
    t.confirm(&mut v);
    v.ct
}

#[test]
fn expectation_lines_match_the_kernels() {
    let dir = TempDir::new("golden-x");
    let ct = Arc::new(Conntrack::with_config(
        CtConfig::default(),
        Host::new(std::ptr::null(), "conntrack"),
    ));
    let mut targets = Targets::new();
    targets.add("conntrack", Arc::new(PluginTarget(ct.clone())));
    targets.add("engine", Arc::new(Clock(T0)));
    let server = ControlServer::start(&dir.join("ctl.sock"), targets).unwrap();
    let mut c = Client::connect(server.path()).unwrap();
    let sub = c
        .call(
            "conntrack",
            &json!({"op": "events", "cursor": 0, "mask": 24}),
        )
        .unwrap();
    // The FTP control connection, and the PASV data connection it announces.
    let master = syn(&ct, CLIENT, SERVER, 45604, 21, T0);
    let v4 = |a: [u8; 4]| {
        let mut x = [0u8; 16];
        x[..4].copy_from_slice(&a);
        x
    };
    let spec = ExpectSpec {
        tuple: Tuple {
            src: v4(CLIENT),
            dst: v4(SERVER),
            src_id: 0,
            dst_id: 30076,
            proto: 6,
            family: 2,
            zone: 0,
        },
        mask: Mask::ANY_SRC_PORT,
        timeout_s: 300,
        helper: "ftp".into(),
        class: 0,
        max_expected: 1,
        flags: 0,
        nat: None,
    };
    ct.tracker().expect_create(master, spec, T0).unwrap();
    // `brickwall ct -L expect` (the real binary) against this server.
    let o = std::process::Command::new(control_common::bin())
        .args(["ct", "-L", "expect", "--socket"])
        .arg(server.path())
        .output()
        .unwrap();
    assert_code(&o, 0);
    let k = &fixture("expect_L.txt")[0];
    let mine = stdout(&o);
    let drop_timeout = |l: &str| l.split_once(' ').unwrap().1.to_string();
    assert_eq!(
        drop_timeout(mine.trim_end()),
        drop_timeout(k),
        "\nours:   {mine}kernel: {k}"
    );
    assert!(mine.starts_with("300 "), "{mine}");
    let summaries = fixture("summaries.txt");
    let kx = summaries
        .iter()
        .find(|l| l.contains("expectations"))
        .unwrap();
    assert_eq!(
        stderr(&o).split_once("): ").unwrap().1.trim(),
        kx.split_once("): ").unwrap().1.trim()
    );
    // The NEW event, timeout included.
    let ev = c
        .call(
            "conntrack",
            &json!({"op": "events", "cursor": sub["cursor"], "mask": 24}),
        )
        .unwrap();
    let kernel = fixture("expect_E.txt")[0]
        .split_once('\t')
        .unwrap()
        .1
        .to_string();
    let ev: EventsResponse = serde_json::from_value(ev).unwrap();
    let ours: Vec<String> = ev.events.iter().map(|e| e.line(false)).collect();
    assert_eq!(ours, [kernel]);
}
