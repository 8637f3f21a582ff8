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
    // `-o extended` prints the same line; `-o xml` the expectation in XML.
    let ct = |o: &str| {
        std::process::Command::new(control_common::bin())
            .args(["ct", "-L", "expect", "-o", o, "--socket"])
            .arg(server.path())
            .output()
            .unwrap()
    };
    let ext = ct("extended");
    assert_code(&ext, 0);
    let k = kernel_run("-L expect -o extended");
    assert_eq!(k.out.len(), 1);
    assert_eq!(
        drop_timeout(stdout(&ext).trim_end()),
        drop_timeout(&k.out[0])
    );
    let x = ct("xml");
    assert_code(&x, 0);
    let ours: Vec<String> = stdout(&x).lines().map(xml_without_clock).collect();
    let kernel: Vec<String> = kernel_run("-L expect -o xml")
        .out
        .iter()
        .map(|l| xml_without_clock(l))
        .collect();
    assert_eq!(ours, kernel);
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

/// What conntrack did for one command of `ct_options.txt`: its output lines, its
/// summary and error lines, its exit code.
struct Run {
    out: Vec<String>,
    err: Vec<String>,
    code: i32,
}

/// The kernel's run of `conntrack ARGS` in `ct_options.txt` (recorded by its script).
fn kernel_run(args: &str) -> Run {
    let lines = fixture("ct_options.txt");
    let head = format!("$ conntrack {args}");
    let at = lines
        .iter()
        .position(|l| l.trim_end() == head.trim_end())
        .unwrap_or_else(|| panic!("no `{head}` in ct_options.txt"));
    let mut r = Run {
        out: Vec::new(),
        err: Vec::new(),
        code: -1,
    };
    for l in &lines[at + 1..] {
        if let Some(o) = l
            .strip_prefix("> ")
            .or(l.strip_prefix(">").filter(|s| s.is_empty()))
        {
            r.out.push(o.to_string());
        } else if let Some(e) = l.strip_prefix("! ") {
            r.err.push(e.to_string());
        } else if let Some(c) = l.strip_prefix("? ") {
            r.code = c.parse().unwrap();
            break;
        }
    }
    r
}

/// A summary or error line after the program's name (errors: `brickwall ct: `).
fn after_name(l: &str) -> &str {
    l.split_once("): ")
        .or_else(|| l.split_once("brickwall ct: "))
        .map_or(l, |(_, t)| t)
        .trim()
}

/// `id=N` as `id=ID`.
fn id_as_word(l: &str) -> String {
    l.split(' ')
        .map(|w| if w.starts_with("id=") { "id=ID" } else { w })
        .collect::<Vec<_>>()
        .join(" ")
}

/// An `-o save` line with its timeout (`-t N`) as `T`.
fn save_timeout_as_t(l: &str) -> String {
    let mut w: Vec<&str> = l.split(' ').collect();
    let t = w.iter().position(|x| *x == "-t").expect("-t") + 1;
    assert!(w[t].parse::<u64>().is_ok(), "{l}");
    w[t] = "T";
    w.join(" ")
}

/// An `-o xml` line with its `<timeout>` and `<id>` values as `T` and `ID`.
fn xml_without_clock(l: &str) -> String {
    let blank = |l: &str, tag: &str, word: &str| -> String {
        let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
        match (l.find(&open), l.find(&close)) {
            (Some(a), Some(b)) if a < b => {
                assert!(l[a + open.len()..b].parse::<u64>().is_ok(), "{l}");
                format!("{}{open}{word}{}", &l[..a], &l[b..])
            }
            _ => l.to_string(),
        }
    };
    blank(&blank(l, "timeout", "T"), "id", "ID")
}

/// Runs `brickwall ct ARGS` against the engine and checks its exit code and first
/// summary or error line against the kernel's run; both outputs' lines.
fn compare(e: &Engine, args: &str) -> (Vec<String>, Vec<String>) {
    let argv: Vec<&str> = args.split(' ').filter(|a| !a.is_empty()).collect();
    let o = e.ct(&argv);
    let k = kernel_run(args);
    assert_eq!(o.status.code(), Some(k.code), "`{args}`: {}", stderr(&o));
    let ours: Vec<String> = stdout(&o).lines().map(str::to_string).collect();
    let ours_err = stderr(&o);
    if k.code != 2 {
        // Usage errors are clap's words; every other message is conntrack's.
        assert_eq!(
            after_name(ours_err.lines().next().unwrap_or("")),
            after_name(&k.err[0]),
            "`{args}`"
        );
    }
    (ours, k.out)
}

#[test]
fn options_of_conntrack_tools_match_the_kernels() {
    let dir = TempDir::new("golden-o");
    let e = Engine::replay("golden-o-engine", &capture(&dir));
    // Without a command: the usage on standard output, exit code 0.
    let bare = std::process::Command::new(control_common::bin())
        .arg("ct")
        .output()
        .unwrap();
    assert_code(&bare, 0);
    assert_eq!(kernel_run("").code, 0);
    assert!(
        stdout(&bare).contains("Usage: brickwall ct"),
        "{}",
        stdout(&bare)
    );
    compare(&e, "-p tcp");
    // Nothing deleted or updated: exit code 1, the summary as conntrack's.
    compare(&e, "-D -p udp --dport 1");
    compare(&e, "-U -p udp --dport 1 -m 1");
    // `-o id`, `-o extended,id`: the id last (before labels).
    for args in [
        "-L -p tcp --dport 30011 -o id",
        "-L -p tcp -o extended,id --dport 30011",
    ] {
        let (ours, kernel) = compare(&e, args);
        let at = if args.contains("extended") { 4 } else { 2 };
        assert_eq!(ours.len(), 1, "{args}");
        assert_eq!(
            id_as_word(&normalize(&ours[0], at)),
            id_as_word(&normalize(&kernel[0], at)),
            "{args}"
        );
    }
    // `-o save`, and its refusal of company.
    let (ours, kernel) = compare(&e, "-L -p tcp -o save");
    for k in &kernel {
        let sport = k
            .split(" --sport ")
            .nth(1)
            .unwrap()
            .split(' ')
            .next()
            .unwrap();
        let mine = ours
            .iter()
            .find(|l| l.contains(&format!(" --sport {sport} ")))
            .unwrap_or_else(|| panic!("no --sport {sport} in\n{}", ours.join("\n")));
        assert_eq!(save_timeout_as_t(mine), save_timeout_as_t(k));
    }
    compare(&e, "-L -p tcp -o save,id");
    // Reply-tuple filters.
    for args in [
        "-L -p tcp --reply-port-src 30011",
        "-L -p tcp --reply-port-dst 42184",
        "-L -r 10.77.1.2 -q 10.77.0.1 -p tcp --reply-port-src 30076",
        "-L -p tcp --reply-src 10.77.0.1",
    ] {
        let (ours, kernel) = compare(&e, args);
        assert_eq!(ours.len(), kernel.len(), "{args}: {ours:?}");
        for k in &kernel {
            let mine = same_connection(&ours, k);
            assert_eq!(normalize(mine, 2), normalize(k, 2), "{args}");
        }
    }
    compare(
        &e,
        "-L --reply-dst 10.77.0.0/16 -p tcp --reply-port-src 30011",
    );
    compare(&e, "-L --reply-port-src 30011");
    // The lists outside the table: empty.
    for args in ["-L dying", "-L unconfirmed"] {
        let (ours, kernel) = compare(&e, args);
        assert_eq!((ours.len(), kernel.len()), (0, 0), "{args}");
    }
    compare(&e, "-E -e BOGUS");
    // `-z`: not with filters; lists, then the counters are 0, both directions.
    compare(&e, "-L -z -p tcp");
    // (brickwall's table has the UDP connections too: the summaries differ in number.)
    let z = e.ct(&["-L", "-z"]);
    assert_code(&z, kernel_run("-L -z").code);
    let listed: Vec<String> = stdout(&z).lines().map(str::to_string).collect();
    let est = kernel_run("-L").out;
    let zeroed = e.ct(&["-L"]);
    let ours: Vec<String> = stdout(&zeroed).lines().map(str::to_string).collect();
    assert_eq!(ours.len(), listed.len());
    assert!(
        listed.iter().any(|l| !l.contains("packets=0 bytes=0")),
        "{listed:?}"
    );
    for k in est.iter().filter(|l| l.starts_with("tcp")) {
        let mine = same_connection(&ours, k);
        // Counters kept: every one of them 0, as the kernel's.
        let t = |l: &str| {
            let mut w: Vec<String> = l.split(' ').map(str::to_string).collect();
            let i = w
                .iter()
                .position(|x| x.parse::<u64>().is_ok() && x != "6")
                .unwrap();
            w[i] = "T".into();
            w.join(" ")
        };
        assert_eq!(t(mine), t(k));
    }
    // `-o xml` (after `-z`, so both sides' counters are 0): the declaration, the root
    // element and one `<flow>` line per connection, in any order.
    for args in ["-L -p tcp --dport 30011 -o xml", "-L -p tcp -o xml,id"] {
        let (ours, kernel) = compare(&e, args);
        assert_eq!(ours.len(), kernel.len(), "{args}: {ours:?}");
        // The default config keeps start times (the kernel ran without them): each of
        // ours has a `<deltatime>`, the kernel's none.
        let mut ours: Vec<String> = ours
            .iter()
            .map(|l| {
                let at = l.find("<deltatime>");
                assert_eq!(at.is_some(), l.starts_with("<flow>"), "{l}");
                let l = match (at, l.find("</deltatime>")) {
                    (Some(a), Some(b)) => format!("{}{}", &l[..a], &l[b + 12..]),
                    _ => l.clone(),
                };
                xml_without_clock(&l)
            })
            .collect();
        let mut kernel: Vec<String> = kernel.iter().map(|l| xml_without_clock(l)).collect();
        assert_eq!(ours[..2], kernel[..2], "{args}");
        assert_eq!(ours.last(), kernel.last(), "{args}");
        ours.sort();
        kernel.sort();
        assert_eq!(ours, kernel, "{args}");
    }
    // Nothing matched: no declaration either, as conntrack's empty listing.
    let none = e.ct(&["-L", "-p", "udp", "--dport", "1", "-o", "xml"]);
    assert_code(&none, 0);
    assert_eq!(stdout(&none), "");
    assert!(kernel_run("-L -p udp -o xml").out.is_empty());
    compare(&e, "-L -p tcp -o xml,save");
    // `-U -t`: the new timeout, printed with the connection, then listed.
    let update = "-U -s 10.77.0.1 -d 10.77.1.2 -p tcp --sport 50048 --dport 30011 -t 500";
    let (ours, kernel) = compare(&e, update);
    // (The kernel's `use` counts the update's own reference.)
    let no_use = |l: &str| l.replace(" use=2", " use=1");
    assert_eq!(ours.len(), 1, "{ours:?}");
    assert_eq!(no_use(&ours[0]), no_use(&kernel[0]));
    let (ours, kernel) = compare(&e, "-L -p tcp --dport 30011");
    let timeout = |l: &str| l.split_whitespace().nth(2).unwrap().parse::<u64>().unwrap();
    assert!((499..=500).contains(&timeout(&ours[0])), "{ours:?}");
    assert_eq!(timeout(&kernel[0]), 499);
    assert_eq!(normalize(&ours[0], 2), normalize(&kernel[0], 2));
    assert_code(&e.stop(), 0);
}

#[test]
fn event_masks_are_read_as_conntrack_reads_them() {
    use brickwall_tui::ct::args::parse_event_mask;
    for (given, read) in [
        ("UPDATES", "UPDATE"),
        ("updates", "UPDATE"),
        ("UPD", "UPDATE"),
        ("N", "NEW"),
        ("NEW,UPDATES,DESTROY", "NEW,UPDATE,DESTROY"),
        ("all", "ALL"),
    ] {
        assert_eq!(parse_event_mask(given).as_deref(), Ok(read), "{given}");
    }
    for bad in ["", "BOGUS", "UPDATESX"] {
        assert!(parse_event_mask(bad).is_err(), "{bad}");
    }
}
