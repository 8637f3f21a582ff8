//! The sync plugin against Debian's conntrackd: brickwall replays captures with the
//! plugin sending NOTRACK messages to a conntrackd that listens for them on a
//! namespace's loopback, and conntrackd's external cache (`conntrackd -e`) then holds
//! every connection brickwall lists at the end (`--ct-list`), with the same original
//! tuple, protocol, TCP state, ASSURED and UNREPLIED flags and mark, while conntrackd
//! counts no malformed message and no lost one (the sequence numbers follow each
//! other).
//!
//! Needs root and `conntrackd`; fails without them.

mod common;

use brickwall_netns::{require_root, require_tools, Topology};
use common::{pcaps_dir, TempDir};
use std::collections::BTreeMap;
use std::path::Path;

/// Where conntrackd listens (its `IPv4_address`).
const DAEMON: &str = "127.0.0.1";
/// Where brickwall's plugin sends from (conntrackd's `IPv4_Destination_Address`).
const BRICKWALL: &str = "127.0.0.2";

/// conntrack with long timeouts (nothing expires during a replay), and a filter that
/// marks UDP connections 0x2a.
const PLUGINS: &str = "  - builtin: conntrack\n    config:\n      timeouts: {udp: 86400, udp_stream: 86400, icmp: 86400, generic: 86400, tcp: {syn_sent: 86400, syn_recv: 86400, established: 86400, fin_wait: 86400, close_wait: 86400, last_ack: 86400, time_wait: 86400, close: 86400, syn_sent2: 86400, retrans: 86400, unacknowledged: 86400}}\n  - builtin: filter\n    config:\n      chains:\n        - hook: forward\n          rules:\n            - match: {proto: udp}\n              action: {ct_mark_set: 42}\n";

/// A connection as both listings show it: protocol, state, original tuple, flags, mark.
type Row = (
    String,
    Option<String>,
    BTreeMap<String, String>,
    Vec<String>,
    u32,
);

/// A line of `brickwall ct`/`--ct-list` or of `conntrackd -e` as a [`Row`]: the first
/// of each key is the original direction's.
fn row(line: &str) -> Row {
    let tok: Vec<&str> = line.split_whitespace().collect();
    let mut state = None;
    let mut orig = BTreeMap::new();
    let mut flags = Vec::new();
    let mut mark = 0;
    for w in &tok[2..] {
        if let Some((k, v)) = w.split_once('=') {
            match k {
                "mark" => mark = v.parse().unwrap(),
                "use" => {}
                _ => {
                    orig.entry(k.to_string()).or_insert_with(|| v.to_string());
                }
            }
        } else if let Some(f) = w.strip_prefix('[') {
            let f = f.trim_end_matches(']');
            if f == "ASSURED" || f == "UNREPLIED" {
                flags.push(f.to_string());
            }
        } else if w.chars().all(|c| c.is_ascii_uppercase() || c == '_') {
            state = Some(w.to_string());
        }
    }
    flags.sort();
    (format!("{} {}", tok[0], tok[1]), state, orig, flags, mark)
}

fn conntrackd_conf(dir: &Path) -> String {
    format!(
        "Sync {{\n Mode NOTRACK {{\n }}\n UDP {{\n  IPv4_address {DAEMON}\n  \
         IPv4_Destination_Address {BRICKWALL}\n  Port 3780\n  Interface lo\n  \
         Checksum on\n }}\n}}\n\
         General {{\n LogFile {d}/conntrackd.file.log\n Syslog off\n \
         LockFile {d}/conntrackd.lock\n UNIX {{\n  Path {d}/conntrackd.ctl\n }}\n}}\n",
        d = dir.display()
    )
}

#[test]
fn conntrackd_external_cache_holds_brickwalls_connections() {
    require_root();
    require_tools(&["conntrackd"]);
    for capture in ["nDPI/iphone.pcap", "zeek/ftp/ipv6.pcap"] {
        let mut t = Topology::new("sync-cd");
        let dir = TempDir::new("sync-cd");
        let conf = dir.join("conntrackd.conf");
        std::fs::write(&conf, conntrackd_conf(&dir.0)).unwrap();
        let conf = conf.display().to_string();
        let fw = t.fw.clone();
        t.spawn("conntrackd", &fw, &["conntrackd", "-C", &conf]);
        t.wait_for_listener(&fw, "udp", 3780, "conntrackd");
        let config = dir.join("fw.yaml");
        std::fs::write(
            &config,
            format!(
                "plugins:\n{PLUGINS}  - builtin: sync\n    config:\n      mode: notrack\n      \
                 udp: {{ipv4_address: {BRICKWALL}, ipv4_destination_address: {DAEMON}, port: 3780}}\n"
            ),
        )
        .unwrap();
        let out = t.exec(
            &fw,
            &[
                env!("CARGO_BIN_EXE_brickwall"),
                "replay",
                &pcaps_dir().join(capture).display().to_string(),
                "--config",
                &config.display().to_string(),
                "--ct-list",
                "--quiet",
            ],
        );
        let listing = String::from_utf8_lossy(&out.stdout).into_owned();
        let mut want: Vec<Row> = listing
            .lines()
            .filter(|l| l.contains(" src=") && l.contains("use="))
            .map(row)
            .collect();
        want.sort();
        assert!(want.len() > 3, "{capture}: few connections:\n{listing}");
        // conntrackd reads what the plugin sent at its stop; give it a moment.
        let mut got: Vec<Row> = Vec::new();
        for _ in 0..20 {
            let e = t.exec(&fw, &["conntrackd", "-C", &conf, "-e"]);
            got = String::from_utf8_lossy(&e.stdout)
                .lines()
                .map(row)
                .collect();
            got.sort();
            if got.len() >= want.len() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        assert_eq!(got, want, "{capture}: conntrackd -e against --ct-list");
        if capture.starts_with("nDPI") {
            assert!(want.iter().any(|r| r.4 == 42), "{capture}: no marked UDP");
        }
        let stats = t.exec(&fw, &["conntrackd", "-C", &conf, "-s"]);
        let stats = String::from_utf8_lossy(&stats.stdout).into_owned();
        let tracking = stats
            .lines()
            .skip_while(|l| !l.contains("message tracking"))
            .nth(1)
            .unwrap_or_else(|| panic!("no message tracking in:\n{stats}"));
        let n: Vec<&str> = tracking.split_whitespace().collect();
        assert_eq!(
            (n[0], n[3]),
            ("0", "0"),
            "{capture}: malformed and lost messages: {tracking}"
        );
    }
}
