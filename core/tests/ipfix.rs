//! The IPFIX plugin against real collectors: nfdump's `nfcapd` and pmacct's `nfacctd`
//! (Debian's packages nfdump and pmacct) on the loopback. A shared capture is replayed
//! with conntrack (accounting and timestamps on) and the plugin pointing at them; what
//! `nfdump -r` reads back from nfcapd's file, and what nfacctd's print plugin writes,
//! are every connection the replay's `conntrack -L` listing showed, with its tuples,
//! its packets and bytes in both directions, and its translation when NAT made one.
//!
//! The records come from the three ways the plugin makes them: conntrack's DESTROY
//! events (after a flush of the table), periodic records of live connections (the
//! active timeout: their deltas add up to the totals), and the export of what is left
//! at stop. A full event queue and an unreachable collector are counted, not hidden.

mod common;

use brickwall_core::config::Config;
use brickwall_core::engine::Engine;
use brickwall_core::io::PcapSource;
use brickwall_core::replay::{replay, ReplayOptions};
use common::{pcaps_dir, TempDir};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Conntrack with counters and start times, and timeouts so long that nothing
/// expires during a replay: the final listing is then every connection there was.
const CONNTRACK: &str = "  - builtin: conntrack\n    config:\n      accounting: true\n      timestamp: true\n      timeouts: {udp: 86400, udp_stream: 86400, icmp: 86400, gre: 86400, gre_stream: 86400, generic: 86400, tcp: {syn_sent: 86400, syn_recv: 86400, established: 86400, fin_wait: 86400, close_wait: 86400, last_ack: 86400, time_wait: 86400, close: 86400, syn_sent2: 86400, retrans: 86400, unacknowledged: 86400}}\n";

/// Finds a program in PATH or the sbin folders.
fn program(name: &str) -> PathBuf {
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path
        .split(':')
        .chain(["/usr/sbin", "/sbin", "/usr/bin"])
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file());
    found.unwrap_or_else(|| {
        panic!("{name} is not installed (apt-get install nfdump pmacct; scripts/test.sh does)")
    })
}

/// A UDP port nothing listens on now.
fn free_port() -> u16 {
    let s = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    s.local_addr().expect("addr").port()
}

/// Waits until `f` holds or `secs` pass; whether it held.
fn wait_until(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + Duration::from_secs(secs);
    loop {
        if f() {
            return true;
        }
        if Instant::now() > end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A collector daemon for one test; stopped with SIGTERM (so it writes its files).
struct Daemon {
    child: Child,
    log: PathBuf,
}

impl Daemon {
    fn start(mut cmd: Command, log: PathBuf, ready: &str) -> Daemon {
        use std::os::unix::process::CommandExt;
        let out = std::fs::File::create(&log).expect("log");
        // A group of its own: nfacctd's plugins are processes of their own, ended with it.
        let child = cmd
            .process_group(0)
            .stdout(out.try_clone().expect("log"))
            .stderr(out)
            .stdin(Stdio::null())
            .spawn()
            .expect("start the collector");
        let d = Daemon { child, log };
        assert!(
            wait_until(10, || d.log_text().contains(ready)),
            "the collector did not start:\n{}",
            d.log_text()
        );
        d
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Stops it with SIGTERM and waits for it to exit (nfcapd then writes its file);
    /// its log.
    fn stop(mut self) -> String {
        self.signal("TERM");
        let exited = wait_until(10, || matches!(self.child.try_wait(), Ok(Some(_))));
        assert!(exited, "the collector did not stop:\n{}", self.log_text());
        self.log_text()
    }

    /// Sends `sig` to its process group.
    fn signal(&self, sig: &str) {
        let _ = Command::new("kill")
            .args([&format!("-{sig}"), "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
    }
}

impl Drop for Daemon {
    /// Ends its whole group (nfacctd does not stop on SIGTERM while its plugin runs).
    fn drop(&mut self) {
        self.signal("KILL");
        let _ = self.child.wait();
    }
}

/// nfcapd listening on 127.0.0.1:`port`, writing into `dir`.
fn nfcapd(dir: &Path, port: u16) -> Daemon {
    let flows = dir.join("flows");
    std::fs::create_dir_all(&flows).expect("flows dir");
    let mut cmd = Command::new(program("nfcapd"));
    cmd.args([
        "-b",
        "127.0.0.1",
        "-p",
        &port.to_string(),
        "-t",
        "3600",
        "-w",
    ])
    .arg(&flows);
    Daemon::start(cmd, dir.join("nfcapd.log"), "Startup")
}

/// The records nfdump reads from nfcapd's files, as comparable connections.
fn nfdump(dir: &Path) -> Vec<Flow> {
    let out = Command::new(program("nfdump"))
        .arg("-R")
        .arg(dir.join("flows"))
        .args([
            "-q",
            "-N",
            "-o",
            "fmt:%pr|%sa|%sp|%da|%dp|%ipkt|%ibyt|%opkt|%obyt|%xsa|%xsp|%xda|%xdp",
            "-6",
        ])
        .output()
        .expect("run nfdump");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "nfdump: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('|').map(str::trim).collect();
            assert_eq!(f.len(), 13, "{l}");
            let n = |i: usize| {
                f[i].parse::<u64>()
                    .unwrap_or_else(|_| panic!("{l}: field {i}"))
            };
            let proto = n(0) as u8;
            let ports = has_ports(proto);
            let port = |i: usize| if ports { n(i) as u16 } else { 0 };
            let xlate = (f[9] != "0.0.0.0" && f[9] != "::")
                .then(|| (f[9].to_string(), port(10), f[11].to_string(), port(12)));
            Flow {
                proto,
                src: f[1].to_string(),
                sport: port(2),
                dst: f[3].to_string(),
                dport: if ports { n(4) as u16 } else { 0 },
                packets: [n(5), n(7)],
                bytes: [n(6), n(8)],
                xlate,
            }
        })
        .collect()
}

fn has_ports(proto: u8) -> bool {
    matches!(proto, 6 | 17 | 33 | 132 | 136)
}

/// A connection as both sides can say it: the original tuple, the counters of both
/// directions, and the translation (post-NAT source and destination) if any.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Flow {
    proto: u8,
    src: String,
    sport: u16,
    dst: String,
    dport: u16,
    packets: [u64; 2],
    bytes: [u64; 2],
    xlate: Option<(String, u16, String, u16)>,
}

/// A `conntrack -L` line as a [`Flow`].
fn listed(line: &str) -> Flow {
    let t: Vec<&str> = line.split_whitespace().collect();
    let proto: u8 = t[1].parse().unwrap_or_else(|_| panic!("{line}"));
    let ports = has_ports(proto);
    let mut dirs: Vec<std::collections::HashMap<&str, &str>> = Vec::new();
    for w in &t[2..] {
        let Some((k, v)) = w.split_once('=') else {
            continue;
        };
        if k == "src" {
            dirs.push(Default::default());
        }
        if let Some(d) = dirs.last_mut() {
            d.entry(k).or_insert(v);
        }
    }
    assert_eq!(dirs.len(), 2, "{line}");
    let get = |d: usize, k: &str| dirs[d].get(k).copied().unwrap_or("0");
    let num = |d: usize, k: &str| {
        get(d, k)
            .parse::<u64>()
            .unwrap_or_else(|_| panic!("{line}"))
    };
    let port = |d: usize, k: &str| if ports { num(d, k) as u16 } else { 0 };
    let translated = get(1, "dst") != get(0, "src")
        || get(1, "src") != get(0, "dst")
        || port(1, "dport") != port(0, "sport")
        || port(1, "sport") != port(0, "dport");
    Flow {
        proto,
        src: get(0, "src").to_string(),
        sport: port(0, "sport"),
        dst: get(0, "dst").to_string(),
        dport: port(0, "dport"),
        packets: [num(0, "packets"), num(1, "packets")],
        bytes: [num(0, "bytes"), num(1, "bytes")],
        xlate: translated.then(|| {
            (
                get(1, "dst").to_string(),
                port(1, "dport"),
                get(1, "src").to_string(),
                port(1, "sport"),
            )
        }),
    }
}

fn sorted(mut v: Vec<Flow>) -> Vec<Flow> {
    v.sort();
    v
}

/// The listing lines of `brickwall replay --ct-list`'s output.
fn ct_lines(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter(|l| l.contains(" src=") && l.contains("use="))
        .map(str::to_string)
        .collect()
}

fn write_config(dir: &Path, body: &str) -> PathBuf {
    let path = dir.join("fw.yaml");
    std::fs::write(&path, format!("plugins:\n{CONNTRACK}{body}")).expect("config");
    path
}

/// Replays `capture` with `brickwall replay --ct-list`; the listing's lines.
fn replay_cli(config: &Path, capture: &str) -> Vec<String> {
    let o = common::brickwall(&[
        &"replay",
        &pcaps_dir().join(capture),
        &"--config",
        &config,
        &"--ct-list",
        &"--quiet",
    ]);
    common::assert_code(&o, 0);
    let lines = ct_lines(&common::stdout(&o));
    assert!(!lines.is_empty(), "{capture}: no connections");
    lines
}

#[test]
fn nfcapd_gets_every_connection_of_a_replay_with_the_counters_conntrack_listed() {
    // The second run sends the templates before every data message, in small ones.
    for (capture, more) in [
        ("nDPI/iphone.pcap", ""),
        (
            "zeek/ftp/ipv6.pcap",
            ", template_refresh_messages: 1, max_message: 300",
        ),
        ("suricata-verify/output-eve-tftp-01/input.pcap", ""),
    ] {
        let dir = TempDir::new("ipfix-nfcapd");
        let port = free_port();
        let collector = nfcapd(&dir.0, port);
        let config = write_config(
            &dir.0,
            &format!(
                "  - builtin: ipfix\n    config: {{collector: \"127.0.0.1:{port}\", domain: 7{more}}}\n"
            ),
        );
        let listing = replay_cli(&config, capture);
        let log = collector.stop();
        let want = sorted(listing.iter().map(|l| listed(l)).collect());
        let got = sorted(nfdump(&dir.0));
        assert_eq!(
            got,
            want,
            "{capture}: nfdump against conntrack -L:\n{}",
            listing.join("\n")
        );
        assert!(
            got.iter().any(|f| f.packets[1] > 0),
            "{capture}: replies counted"
        );
        assert!(log.contains("Sequence Errors: 0"), "{capture}: {log}");
        assert!(log.contains("Observation domain 7"), "{capture}: {log}");
    }
}

/// nfacctd's config: a print plugin writing CSV every second, keyed by the tuple and
/// the post-NAT fields.
fn nfacctd(dir: &Path, port: u16) -> (Daemon, PathBuf) {
    let csv = dir.join("acct.csv");
    let conf = dir.join("nfacctd.conf");
    std::fs::write(
        &conf,
        format!(
            "daemonize: false\nnfacctd_ip: 127.0.0.1\nnfacctd_port: {port}\nplugins: print[out]\n\
             aggregate[out]: src_host, dst_host, src_port, dst_port, proto, post_nat_src_host, post_nat_dst_host, post_nat_src_port, post_nat_dst_port\n\
             print_output[out]: csv\nprint_output_file[out]: {}\nprint_output_file_append[out]: true\nprint_refresh_time[out]: 1\n",
            csv.display()
        ),
    )
    .expect("nfacctd.conf");
    let mut cmd = Command::new(program("nfacctd"));
    cmd.arg("-f").arg(&conf);
    (
        Daemon::start(
            cmd,
            dir.join("nfacctd.log"),
            "waiting for NetFlow/IPFIX data",
        ),
        csv,
    )
}

/// Per key (tuple and translation), the original direction's packets and bytes.
type Totals = std::collections::BTreeMap<
    (String, String, u16, u16, u8, String, String, u16, u16),
    (u64, u64),
>;

fn totals_of_flows(flows: &[Flow]) -> Totals {
    let mut t = Totals::new();
    for f in flows {
        let (xs, xsp, xd, xdp) = f.xlate.clone().unwrap_or_default();
        let e = t
            .entry((
                f.src.clone(),
                f.dst.clone(),
                f.sport,
                f.dport,
                f.proto,
                xs,
                xd,
                xsp,
                xdp,
            ))
            .or_default();
        e.0 += f.packets[0];
        e.1 += f.bytes[0];
    }
    t
}

/// What nfacctd's print plugin wrote, summed per key (each purge writes what came in
/// since the last).
fn totals_of_csv(csv: &Path) -> Totals {
    let text = std::fs::read_to_string(csv).unwrap_or_default();
    let mut t = Totals::new();
    for l in text
        .lines()
        .filter(|l| !l.starts_with("SRC_IP") && !l.is_empty())
    {
        let f: Vec<&str> = l.split(',').collect();
        if f.len() != 11 {
            continue;
        }
        let proto = match f[4] {
            "tcp" => 6,
            "udp" => 17,
            "icmp" => 1,
            "igmp" => 2,
            "ipv6-icmp" => 58,
            "gre" => 47,
            other => other.parse().unwrap_or(0),
        };
        let ports = has_ports(proto);
        let n = |i: usize| f[i].parse::<u64>().unwrap_or(0);
        let port = |i: usize| if ports { n(i) as u16 } else { 0 };
        let (xs, xsp, xd, xdp) = if f[5].is_empty() || f[5] == "0.0.0.0" || f[5] == "::" {
            Default::default()
        } else {
            (f[5].to_string(), port(7), f[6].to_string(), port(8))
        };
        let e = t
            .entry((
                f[0].to_string(),
                f[1].to_string(),
                port(2),
                port(3),
                proto,
                xs,
                xd,
                xsp,
                xdp,
            ))
            .or_default();
        e.0 += n(9);
        e.1 += n(10);
    }
    t
}

#[test]
fn nfcapd_and_nfacctd_get_translated_connections_with_their_nat_fields() {
    let dir = TempDir::new("ipfix-nat");
    let (p1, p2) = (free_port(), free_port());
    let capd = nfcapd(&dir.0, p1);
    let (acctd, csv) = nfacctd(&dir.0, p2);
    let config = write_config(
        &dir.0,
        &format!(
            "  - builtin: nat\n    config:\n      chains: [{{hook: postrouting, rules: [{{match: {{saddr: 192.168.2.17}}, action: {{snat: {{to: 192.0.2.1}}}}}}]}}]\n\
             \x20 - builtin: ipfix\n    config: {{collector: [\"127.0.0.1:{p1}\", \"127.0.0.1:{p2}\"]}}\n"
        ),
    );
    let listing = replay_cli(&config, "nDPI/iphone.pcap");
    let want = sorted(listing.iter().map(|l| listed(l)).collect());
    let translated = want.iter().filter(|f| f.xlate.is_some()).count();
    assert!(translated > 10, "{translated} translated connections");
    assert!(want.iter().any(|f| f.xlate.is_none()), "and some not");

    capd.stop();
    assert_eq!(sorted(nfdump(&dir.0)), want, "nfdump against conntrack -L");

    let expected = totals_of_flows(&want);
    wait_until(10, || totals_of_csv(&csv) == expected);
    let got = totals_of_csv(&csv);
    drop(acctd);
    assert_eq!(got, expected, "nfacctd against conntrack -L");
}

/// An engine with conntrack and the plugin (`ipfix` is its config's flow mapping).
fn engine(ipfix: &str) -> Engine {
    let yaml = format!("plugins:\n{CONNTRACK}  - builtin: ipfix\n    config: {ipfix}\n");
    let cfg = Config::parse(&yaml, "ipfix.yaml").expect("config");
    Engine::from_config(&cfg, Path::new("/"), "ipfix.yaml").expect("engine")
}

fn stats(engine: &Engine) -> serde_json::Value {
    let answer = engine
        .plugin("ipfix")
        .expect("loaded")
        .control(b"stats")
        .expect("stats");
    serde_json::from_slice(&answer).expect("json")
}

/// Replays `capture` through `engine`; the table's listing at the end.
fn replay_lib(engine: &Engine, capture: &str) -> Vec<String> {
    let mut src = PcapSource::open(&pcaps_dir().join(capture)).expect("capture");
    let s = replay(engine, &mut src, ReplayOptions::default()).expect("replay");
    common::ct_table(engine, s.last_ts_ns)
        .lines()
        .map(str::to_string)
        .collect()
}

fn flush_table(engine: &Engine) {
    engine
        .plugin("conntrack")
        .expect("conntrack")
        .control(br#"{"op":"flush"}"#)
        .expect("flush");
}

#[test]
fn end_records_come_from_destroy_events_and_periodic_records_add_up() {
    // DESTROY events: the table flushed after the replay, every record an end record.
    let dir = TempDir::new("ipfix-destroy");
    let port = free_port();
    let collector = nfcapd(&dir.0, port);
    let e = engine(&format!(
        "{{collector: \"127.0.0.1:{port}\", flush_ms: 50}}"
    ));
    let listing = replay_lib(&e, "suricata-verify/output-eve-tftp-01/input.pcap");
    flush_table(&e);
    let n = listing.len() as u64;
    assert!(
        wait_until(10, || stats(&e)["records"] == n),
        "{}",
        stats(&e)
    );
    let s = stats(&e);
    assert_eq!(
        (s["stop_records"].as_u64(), s["active_records"].as_u64()),
        (Some(0), Some(0)),
        "{s}"
    );
    assert_eq!(s["events_lost"], 0, "{s}");
    drop(e);
    collector.stop();
    let want = sorted(listing.iter().map(|l| listed(l)).collect());
    assert_eq!(sorted(nfdump(&dir.0)), want);

    // The active timeout: the capture spans about 50 s of packet time, so a walk finds
    // connections older than 1 s and reports them; the end records count the rest,
    // and each connection's records add up to its totals.
    let dir = TempDir::new("ipfix-active");
    let port = free_port();
    let collector = nfcapd(&dir.0, port);
    let e = engine(&format!(
        "{{collector: \"127.0.0.1:{port}\", active_timeout: 1, flush_ms: 50, max_message: 400, template_refresh_messages: 2}}"
    ));
    let listing = replay_lib(&e, "nDPI/iphone.pcap");
    assert!(
        wait_until(10, || stats(&e)["active_records"].as_u64() > Some(10)),
        "{}",
        stats(&e)
    );
    flush_table(&e);
    // Every connection's end, besides the periodic records (a walk under way during
    // the flush may still add one: the counts are read together).
    let n = listing.len() as u64;
    let ended = || {
        let s = stats(&e);
        s["records"].as_u64() == Some(s["active_records"].as_u64().unwrap() + n)
    };
    assert!(wait_until(10, ended), "{}", stats(&e));
    let active = stats(&e)["active_records"].as_u64().unwrap();
    // Templates at start, then before every other data message (read again if a
    // message was between its templates and its own count).
    let refreshed = || {
        let s = stats(&e);
        let messages = s["messages"].as_u64().unwrap();
        messages > 4 && s["template_messages"].as_u64() == Some(1 + (messages - 1) / 2)
    };
    assert!(wait_until(5, refreshed), "{}", stats(&e));
    drop(e);
    collector.stop();
    let got = nfdump(&dir.0);
    assert_eq!(
        got.len() as u64,
        active + n,
        "a record per connection and per period"
    );
    let sum = |flows: &[Flow]| {
        let mut t = std::collections::BTreeMap::new();
        for f in flows {
            let e: &mut ([u64; 2], [u64; 2]) = t
                .entry((f.proto, f.src.clone(), f.sport, f.dst.clone(), f.dport))
                .or_default();
            for d in 0..2 {
                e.0[d] += f.packets[d];
                e.1[d] += f.bytes[d];
            }
        }
        t
    };
    let want: Vec<Flow> = listing.iter().map(|l| listed(l)).collect();
    assert_eq!(
        sum(&got),
        sum(&want),
        "the periods add up to conntrack's counters"
    );
}

#[test]
fn a_full_queue_and_an_unreachable_collector_are_counted() {
    // Nothing listens on the port: sends are refused (ICMP port unreachable).
    let port = free_port();
    let e = engine(&format!(
        "{{collector: \"127.0.0.1:{port}\", queue: 1, flush_ms: 10, max_message: 256}}"
    ));
    let listing = replay_lib(&e, "nDPI/iphone.pcap");
    flush_table(&e);
    let n = listing.len() as u64;
    let settled = || {
        let s = stats(&e);
        s["records"].as_u64().unwrap() + s["events_lost"].as_u64().unwrap() == n
    };
    assert!(wait_until(10, settled), "{}", stats(&e));
    std::thread::sleep(Duration::from_millis(100));
    let s = stats(&e);
    let c = &s["collectors"][0];
    assert!(c["errors"].as_u64() > Some(0), "{s}");
    assert!(c["records_lost"].as_u64() > Some(0), "{s}");
    assert!(c["last_error"].as_str().unwrap().contains("refused"), "{s}");
    // The same counters as metric families, for the engine's /metrics.
    let answer = e
        .plugin("ipfix")
        .unwrap()
        .control(br#"{"op":"metrics"}"#)
        .expect("metrics");
    let m: brickwall_control_protocol::metrics::MetricsResponse =
        serde_json::from_slice(&answer).expect("metric families");
    let text = brickwall_control_protocol::metrics::render(&m.families);
    let lost = s["collectors"][0]["records_lost"].as_u64().unwrap();
    let line = format!(
        "brickwall_ipfix_collector_records_lost_total{{collector=\"127.0.0.1:{port}\"}} {lost}"
    );
    assert!(text.contains(&line), "{line}\n{text}");
    let line = format!("brickwall_ipfix_events_lost_total {}", s["events_lost"]);
    assert!(text.contains(&line), "{line}\n{text}");
    assert_eq!(
        c["records"].as_u64().unwrap() + c["records_lost"].as_u64().unwrap(),
        s["records"].as_u64().unwrap(),
        "every record encoded was sent or counted lost: {s}"
    );
}

/// A reload that changes the section (another observation domain) is taken in place:
/// the connections in the table are exported once, at stop, in the new domain; none
/// is exported by the reload itself.
#[test]
fn a_reload_reconfigures_in_place_without_repeating_records() {
    let dir = TempDir::new("ipfix-reload");
    let port = free_port();
    let collector = nfcapd(&dir.0, port);
    let section = |domain: u32| {
        format!("plugins:\n{CONNTRACK}  - builtin: ipfix\n    config: {{collector: \"127.0.0.1:{port}\", domain: {domain}}}\n")
    };
    let cfg = Config::parse(&section(3), "ipfix.yaml").expect("config");
    let mut e = Engine::from_config(&cfg, Path::new("/"), "ipfix.yaml").expect("engine");
    let listing = replay_lib(&e, "zeek/ftp/ipv6.pcap");
    let cfg = Config::parse(&section(4), "ipfix.yaml").expect("config");
    let report = e
        .reload(&cfg, Path::new("/"), "ipfix.yaml")
        .expect("reload");
    let text = format!("{report:?}");
    assert!(text.contains("reconfigured in place"), "{text}");
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(stats(&e)["records"], 0, "nothing exported by the reload");
    drop(e);
    let log = collector.stop();
    assert!(log.contains("Observation domain 4"), "{log}");
    let want = sorted(listing.iter().map(|l| listed(l)).collect());
    assert_eq!(sorted(nfdump(&dir.0)), want);
}

/// The example config loads as it is.
#[test]
fn the_example_config_loads() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/ipfix/flows.yaml");
    let text = std::fs::read_to_string(&path).expect("the example");
    let cfg = Config::parse(&text, "flows.yaml").expect("parses");
    let e = Engine::from_config(&cfg, Path::new("/"), "flows.yaml").expect("loads");
    assert_eq!(stats(&e)["collectors"].as_array().map(Vec::len), Some(2));
}

/// A bad section stops the engine from loading, and the error names the file and the
/// field.
#[test]
fn a_bad_section_names_the_field() {
    for (section, field) in [
        (
            "{collector: \"127.0.0.1\"}",
            "plugins[1].config.collector: plugin ipfix (static) refused its config: `127.0.0.1`",
        ),
        (
            "{collector: \"127.0.0.1:4739\", active_timout: 5}",
            "unknown field `active_timout`",
        ),
    ] {
        let yaml = format!("plugins:\n{CONNTRACK}  - builtin: ipfix\n    config: {section}\n");
        let cfg = Config::parse(&yaml, "bad.yaml").expect("parses");
        let err = match Engine::from_config(&cfg, Path::new("/"), "bad.yaml") {
            Ok(_) => panic!("{section} loads"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains("bad.yaml") && err.contains(field), "{err}");
    }
}
