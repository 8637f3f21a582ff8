//! The sync plugin against Debian's conntrackd, both ways, on a namespace's loopback.
//!
//! brickwall → conntrackd: brickwall replays captures with the plugin sending NOTRACK
//! messages, and conntrackd's external cache (`conntrackd -e`) then holds every
//! connection brickwall lists at the end (`--ct-list`), with the same original tuple,
//! protocol, TCP state, ASSURED and UNREPLIED flags and mark, while conntrackd counts no
//! malformed message and no lost one (the sequence numbers follow each other).
//!
//! conntrackd → brickwall: the kernel routes, masquerades and marks in a namespace
//! (connections made with `conntrack -I` and a real ping through it), conntrackd there
//! syncs them to a lingering brickwall, whose external cache (the plugin's `external`
//! over the control socket) then lists what `conntrack -L` lists, what the kernel had
//! before brickwall started included (brickwall's startup RESYNC); and conntrackd's
//! `-n` (a RESYNC to brickwall) brings brickwall's table back into a flushed external
//! cache; `brickwall sync -e`, `-f`, `-n`, `-B` and `-s` do the same from brickwall's
//! side.
//!
//! Needs root, `conntrackd`, `conntrack`, `nft` and `ping`; fails without them.

mod common;

use brickwall_netns::{require_root, require_tools, Topology, INSIDE_CLIENT4, OUTSIDE_SERVER4};
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
    conntrackd_conf_mode(dir, "NOTRACK")
}

fn conntrackd_conf_mode(dir: &Path, mode: &str) -> String {
    format!(
        "Sync {{\n Mode {mode} {{\n }}\n UDP {{\n  IPv4_address {DAEMON}\n  \
         IPv4_Destination_Address {BRICKWALL}\n  Port 3780\n  Interface lo\n  \
         Checksum on\n }}\n Options {{\n  ExpectationSync on\n }}\n}}\n\
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

/// The plugin's external cache over the control socket at `sock`.
fn external(sock: &Path) -> Vec<String> {
    let mut c = brickwall_tui::client::Client::connect(sock).expect("control socket");
    let v = c
        .call("sync", &serde_json::json!("external"))
        .expect("sync external");
    v["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|l| l.as_str().unwrap().to_string())
        .collect()
}

/// Rows of the kernel's or the cache's lines, the sync link's own flow left out.
fn rows<'a>(lines: impl Iterator<Item = &'a str>) -> Vec<Row> {
    let mut v: Vec<Row> = lines
        .filter(|l| l.contains(" src=") && !l.contains("src=127.") && !l.contains("src=fd78:1::"))
        .map(row)
        .collect();
    v.sort();
    v
}

#[test]
fn brickwalls_external_cache_holds_the_kernels_connections_and_a_resync_refills_conntrackds() {
    require_root();
    require_tools(&["conntrackd", "conntrack", "nft", "ping"]);
    let mut t = Topology::routed("sync-rx");
    t.route_in_kernel(
        "table ip sync_test {
  ct helper ftp_std {
    type \"ftp\" protocol tcp;
  }
  chain prerouting {
    type filter hook prerouting priority 0;
    tcp dport 21 ct helper set \"ftp_std\"
  }
  chain forward {
    type filter hook forward priority 0;
    ct state new ct mark set 42
  }
  chain postrouting {
    type nat hook postrouting priority 100;
    oifname \"fs\" masquerade
  }
}
",
    );
    let fw = t.fw.clone();
    let dir = t.dir.clone();
    let conf = dir.join("conntrackd.conf");
    std::fs::write(&conf, conntrackd_conf(&dir)).unwrap();
    let conf = conf.display().to_string();
    t.spawn("conntrackd", &fw, &["conntrackd", "-C", &conf]);
    t.wait_for_listener(&fw, "udp", 3780, "conntrackd");
    // A connection the kernel had before brickwall started: conntrackd sends it when
    // brickwall's startup RESYNC asks.
    t.exec(
        &fw,
        &[
            "conntrack",
            "-I",
            "-p",
            "tcp",
            "-s",
            "10.9.0.9",
            "-d",
            "10.9.0.2",
            "--sport",
            "999",
            "--dport",
            "22",
            "--state",
            "ESTABLISHED",
            "-u",
            "SEEN_REPLY,ASSURED",
            "-t",
            "600",
        ],
    );
    std::thread::sleep(std::time::Duration::from_millis(300));
    let config = dir.join("fw.yaml");
    std::fs::write(
        &config,
        format!(
            "plugins:\n{PLUGINS}  - builtin: sync\n    config:\n      mode: notrack\n      \
             startup_resync: true\n      \
             udp: {{ipv4_address: {BRICKWALL}, ipv4_destination_address: {DAEMON}, port: 3780}}\n"
        ),
    )
    .unwrap();
    let sock = dir.join("control.sock");
    let capture = pcaps_dir().join("zeek/ftp/ipv6.pcap").display().to_string();
    t.spawn(
        "brickwall",
        &fw,
        &[
            env!("CARGO_BIN_EXE_brickwall"),
            "replay",
            &capture,
            "--config",
            &config.display().to_string(),
            "--control",
            &sock.display().to_string(),
            "--linger",
            "60",
            "--quiet",
        ],
    );
    t.wait_for_file(&sock, "brickwall", 20);

    // The kernel's connections: two made up, one real.
    t.exec(
        &fw,
        &[
            "conntrack",
            "-I",
            "-p",
            "tcp",
            "-s",
            "10.9.0.1",
            "-d",
            "10.9.0.2",
            "--sport",
            "1234",
            "--dport",
            "80",
            "--state",
            "ESTABLISHED",
            "-u",
            "SEEN_REPLY,ASSURED",
            "-t",
            "600",
            "-m",
            "7",
        ],
    );
    t.exec(
        &fw,
        &[
            "conntrack",
            "-I",
            "-p",
            "udp",
            "-s",
            "10.9.0.1",
            "-d",
            "10.9.0.3",
            "--sport",
            "5353",
            "--dport",
            "53",
            "-t",
            "60",
        ],
    );
    t.exec(&t.client, &["ping", "-c", "1", "-W", "2", OUTSIDE_SERVER4]);
    let mut want = Vec::new();
    let mut got = Vec::new();
    for _ in 0..30 {
        let l = t.exec(&fw, &["conntrack", "-L"]);
        want = rows(String::from_utf8_lossy(&l.stdout).lines());
        got = rows(external(&sock).iter().map(String::as_str));
        if got == want {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(got, want, "brickwall's external cache against conntrack -L");
    assert_eq!(want.len(), 4, "{want:?}");
    assert!(want.iter().any(|r| r.0 == "icmp 1"
        && r.2.get("src").map(String::as_str) == Some(INSIDE_CLIENT4)
        && r.4 == 42));
    let mut c = brickwall_tui::client::Client::connect(&sock).unwrap();
    let stats = c.call("sync", &serde_json::json!("stats")).unwrap();
    let r = &stats["receive"];
    assert_eq!(
        r["malformed"],
        serde_json::json!({"header": 0, "version": 0, "type": 0, "payload": 0}),
        "{stats}"
    );
    assert_eq!(
        (r["lost"].as_u64(), r["foreign"].as_u64()),
        (Some(0), Some(0)),
        "{stats}"
    );

    // conntrackd -n: a RESYNC to brickwall, which sends its table again.
    let ext = |t: &Topology| {
        let e = t.exec(&fw, &["conntrackd", "-C", &conf, "-e"]);
        String::from_utf8_lossy(&e.stdout).lines().count()
    };
    let before = ext(&t);
    assert!(before > 3, "conntrackd's external cache: {before} entries");
    t.exec(&fw, &["conntrackd", "-C", &conf, "-f", "external"]);
    assert_eq!(ext(&t), 0);
    t.exec(&fw, &["conntrackd", "-C", &conf, "-n"]);
    let mut after = 0;
    for _ in 0..30 {
        after = ext(&t);
        if after == before {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(after, before, "entries back after the RESYNC");
    let stats = c.call("sync", &serde_json::json!("stats")).unwrap();
    assert_eq!(stats["receive"]["resync_requests"], 1, "{stats}");

    // The same from brickwall's side, with conntrackd's options: -f empties brickwall's
    // external cache, -n asks conntrackd for its states again; -B sends brickwall's
    // table into conntrackd's flushed external cache.
    let sync = |args: &[&str]| {
        let s = sock.display().to_string();
        let mut v = vec![env!("CARGO_BIN_EXE_brickwall"), "sync"];
        v.extend_from_slice(args);
        v.extend_from_slice(&["--socket", &s]);
        let o = t.exec(&fw, &v);
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    assert_eq!(sync(&["-e"]).lines().count(), external(&sock).len());
    assert_eq!(rows(sync(&["-e"]).lines()), want);
    sync(&["-f"]);
    assert_eq!(sync(&["-e"]), "");
    sync(&["-n"]);
    let mut refilled = Vec::new();
    for _ in 0..30 {
        refilled = rows(sync(&["-e"]).lines());
        if refilled == want {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(
        refilled, want,
        "brickwall sync -n: conntrackd's states again"
    );
    t.exec(&fw, &["conntrackd", "-C", &conf, "-f", "external"]);
    assert_eq!(ext(&t), 0);
    sync(&["-B"]);
    let mut after = 0;
    for _ in 0..30 {
        after = ext(&t);
        if after == before {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(
        after, before,
        "brickwall sync -B: brickwall's table in conntrackd's cache"
    );
    assert!(sync(&["-s"]).contains("\"resync\": 2"), "{}", sync(&["-s"]));

    // An expectation: an FTP session that asks for a passive data connection and never
    // opens it, so that the kernel's FTP helper keeps expecting it.
    let root = dir.join("ftp");
    std::fs::create_dir_all(&root).unwrap();
    t.start_vsftpd(&root);
    let client = t.client.clone();
    t.spawn(
        "ftp-session",
        &client,
        &[
            "bash",
            "-c",
            &format!(
                "exec 3<>/dev/tcp/{OUTSIDE_SERVER4}/21; \
                 printf 'USER anonymous\\r\\nPASS x\\r\\nPASV\\r\\n' >&3; sleep 60"
            ),
        ],
    );
    let fields = |line: &str| -> Vec<String> {
        line.split_whitespace()
            .filter(|w| w.contains('=') && !w.starts_with("class="))
            .map(str::to_string)
            .collect()
    };
    let (mut kernel, mut ours) = (Vec::new(), Vec::new());
    for _ in 0..50 {
        let l = t.exec(&fw, &["conntrack", "-L", "expect"]);
        kernel = String::from_utf8_lossy(&l.stdout)
            .lines()
            .map(fields)
            .collect::<Vec<_>>();
        let s = sock.display().to_string();
        let o = t.exec(
            &fw,
            &[
                env!("CARGO_BIN_EXE_brickwall"),
                "sync",
                "-e",
                "--expect",
                "--socket",
                &s,
            ],
        );
        ours = String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(fields)
            .collect::<Vec<_>>();
        if !kernel.is_empty() && ours == kernel {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(kernel.len(), 1, "the kernel's expectations: {kernel:?}");
    assert_eq!(
        ours, kernel,
        "brickwall sync -e --expect against conntrack -L expect"
    );
}

/// Multicast on a dedicated link, both ways: conntrackd in the router's namespace and
/// brickwall in the client's, on the veth between them, each sending to group
/// 225.0.0.50 through its own address. (conntrackd's parser takes an interface named
/// `fc` for a hexadecimal number: the router's side of the link is renamed.)
#[test]
fn multicast_carries_both_ways_between_brickwall_and_conntrackd() {
    require_root();
    require_tools(&["conntrackd", "conntrack", "nft"]);
    let mut t = Topology::routed("sync-mc");
    t.route_in_kernel("table ip sync_test {\n}\n");
    let fw = t.fw.clone();
    for args in [
        &["ip", "link", "set", "fc", "down"][..],
        &["ip", "link", "set", "fc", "name", "synclink"],
        &["ip", "link", "set", "synclink", "up"],
    ] {
        t.exec(&fw, args);
    }
    let client = t.client.clone();
    let dir = t.dir.clone();
    let conf = dir.join("conntrackd.conf");
    std::fs::write(
        &conf,
        format!(
            "Sync {{\n Mode NOTRACK {{\n }}\n Multicast {{\n  IPv4_address 225.0.0.50\n  \
             Group 3780\n  IPv4_interface 10.78.1.1\n  Interface synclink\n  Checksum on\n }}\n}}\n\
             General {{\n LogFile {d}/conntrackd.file.log\n Syslog off\n \
             LockFile {d}/conntrackd.lock\n UNIX {{\n  Path {d}/conntrackd.ctl\n }}\n}}\n",
            d = dir.display()
        ),
    )
    .unwrap();
    let conf = conf.display().to_string();
    t.spawn("conntrackd", &fw, &["conntrackd", "-C", &conf]);
    t.wait_for_listener(&fw, "udp", 3780, "conntrackd");
    let config = dir.join("fw.yaml");
    std::fs::write(
        &config,
        format!(
            "plugins:\n{PLUGINS}  - builtin: sync\n    config:\n      mode: notrack\n      \
             multicast: {{ipv4_address: 225.0.0.50, group: 3780, ipv4_interface: {INSIDE_CLIENT4}, \
             interface: c0, peer: 10.78.1.1}}\n"
        ),
    )
    .unwrap();
    let sock = dir.join("control.sock");
    let capture = pcaps_dir().join("nDPI/iphone.pcap").display().to_string();
    t.spawn(
        "brickwall",
        &client,
        &[
            env!("CARGO_BIN_EXE_brickwall"),
            "replay",
            &capture,
            "--config",
            &config.display().to_string(),
            "--control",
            &sock.display().to_string(),
            "--linger",
            "60",
            "--quiet",
        ],
    );
    t.wait_for_file(&sock, "brickwall", 20);

    // brickwall's connections in conntrackd's external cache.
    let ct = t.exec(
        &client,
        &[
            env!("CARGO_BIN_EXE_brickwall"),
            "ct",
            "-L",
            "--socket",
            &sock.display().to_string(),
        ],
    );
    let want = rows(String::from_utf8_lossy(&ct.stdout).lines());
    assert!(want.len() > 10, "brickwall ct -L: {want:?}");
    let mut got = Vec::new();
    for _ in 0..30 {
        let e = t.exec(&fw, &["conntrackd", "-C", &conf, "-e"]);
        got = rows(String::from_utf8_lossy(&e.stdout).lines());
        if got == want {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(
        got, want,
        "conntrackd -e against brickwall ct -L, over multicast"
    );

    // The kernel's connection in brickwall's external cache.
    t.exec(
        &fw,
        &[
            "conntrack",
            "-I",
            "-p",
            "tcp",
            "-s",
            "10.9.0.1",
            "-d",
            "10.9.0.2",
            "--sport",
            "1234",
            "--dport",
            "80",
            "--state",
            "ESTABLISHED",
            "-u",
            "SEEN_REPLY,ASSURED",
            "-t",
            "600",
            "-m",
            "7",
        ],
    );
    let mut kernel = Vec::new();
    let mut cache = Vec::new();
    for _ in 0..30 {
        let l = t.exec(&fw, &["conntrack", "-L"]);
        kernel = rows(String::from_utf8_lossy(&l.stdout).lines());
        cache = rows(external(&sock).iter().map(String::as_str));
        if cache == kernel {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(
        cache, kernel,
        "brickwall's external cache against conntrack -L"
    );
    assert_eq!(kernel.len(), 1, "{kernel:?}");
}

/// FTFW both ways on a lossy link. Once the HELLOs are answered (before that FTFW is
/// unreliable by design: a HELLO bypasses the sequence check), nftables drops one
/// datagram in five each way on the sync port; then the kernel's new connections reach
/// brickwall's external cache, and brickwall's bulk send (`brickwall sync -B`) refills
/// conntrackd's flushed one, through NACKs and resends both ways. Then conntrackd
/// restarts, and brickwall, seeing its HELLO, sends it the whole table unasked.
#[test]
fn ftfw_recovers_lost_datagrams_both_ways() {
    require_root();
    require_tools(&["conntrackd", "conntrack", "nft"]);
    let mut t = Topology::new("sync-ft");
    let fw = t.fw.clone();
    let dir = t.dir.clone();
    let conf = dir.join("conntrackd.conf");
    std::fs::write(&conf, conntrackd_conf_mode(&dir, "FTFW")).unwrap();
    let conf = conf.display().to_string();
    t.spawn("conntrackd", &fw, &["conntrackd", "-C", &conf]);
    t.wait_for_listener(&fw, "udp", 3780, "conntrackd");
    let config = dir.join("fw.yaml");
    std::fs::write(
        &config,
        format!(
            "plugins:\n{PLUGINS}  - builtin: sync\n    config:\n      mode: ftfw\n      \
             ack_window_size: 20\n      \
             udp: {{ipv4_address: {BRICKWALL}, ipv4_destination_address: {DAEMON}, port: 3780}}\n"
        ),
    )
    .unwrap();
    let sock = dir.join("control.sock");
    let capture = pcaps_dir().join("nDPI/iphone.pcap").display().to_string();
    t.spawn(
        "brickwall",
        &fw,
        &[
            env!("CARGO_BIN_EXE_brickwall"),
            "replay",
            &capture,
            "--config",
            &config.display().to_string(),
            "--control",
            &sock.display().to_string(),
            "--linger",
            "60",
            "--quiet",
        ],
    );
    t.wait_for_file(&sock, "brickwall", 20);
    let sock_s = sock.display().to_string();
    let bw = |t: &Topology, args: &[&str]| {
        let mut v = vec![env!("CARGO_BIN_EXE_brickwall")];
        v.extend_from_slice(args);
        v.extend_from_slice(&["--socket", &sock_s]);
        let o = t.exec(&fw, &v);
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let stats = |t: &Topology| -> serde_json::Value {
        serde_json::from_str(&bw(t, &["sync", "-s"])).unwrap()
    };
    let end = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while stats(&t)["ftfw"]["hello_answered"] != true
        || stats(&t)["ftfw"]["peer_says_hello"] != false
    {
        assert!(
            std::time::Instant::now() < end,
            "no HELLO_BACK: {}",
            stats(&t)
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let rules = dir.join("loss.nft");
    std::fs::write(
        &rules,
        format!("table inet sync_loss {{\n  chain output {{\n    type filter hook output priority 0;\n    \
         ip daddr {DAEMON} udp dport 3780 numgen inc mod 5 == 2 counter drop\n    \
         ip daddr {BRICKWALL} udp dport 3780 numgen inc mod 5 == 2 counter drop\n  }}\n}}\n")
    )
    .unwrap();
    t.exec(&fw, &["nft", "-f", &rules.display().to_string()]);
    t.exec(&fw, &["conntrackd", "-C", &conf, "-f", "external"]);
    bw(&t, &["sync", "-B"]);
    for i in 0..20u16 {
        let sport = (2000 + i).to_string();
        t.exec(
            &fw,
            &[
                "conntrack",
                "-I",
                "-p",
                "tcp",
                "-s",
                "10.9.0.1",
                "-d",
                "10.9.0.2",
                "--sport",
                &sport,
                "--dport",
                "80",
                "--state",
                "ESTABLISHED",
                "-u",
                "SEEN_REPLY,ASSURED",
                "-t",
                "600",
            ],
        );
    }
    let ours = rows(bw(&t, &["ct", "-L"]).lines());
    assert!(ours.len() > 10, "{ours:?}");
    let (mut theirs_cache, mut ours_cache, mut kernel) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..150 {
        let e = t.exec(&fw, &["conntrackd", "-C", &conf, "-e"]);
        theirs_cache = rows(String::from_utf8_lossy(&e.stdout).lines());
        let l = t.exec(&fw, &["conntrack", "-L"]);
        kernel = rows(String::from_utf8_lossy(&l.stdout).lines());
        ours_cache = rows(bw(&t, &["sync", "-e"]).lines());
        if theirs_cache == ours && ours_cache == kernel {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let st = stats(&t);
    let nft = t.exec(&fw, &["nft", "list", "ruleset"]);
    let nft = String::from_utf8_lossy(&nft.stdout).into_owned();
    let cd = t.exec(&fw, &["conntrackd", "-C", &conf, "-s"]);
    let cd = String::from_utf8_lossy(&cd.stdout).into_owned();
    assert_eq!(
        theirs_cache.len(),
        ours.len(),
        "conntrackd -e against brickwall ct -L\n{st:#}\n{nft}\n{cd}"
    );
    assert_eq!(theirs_cache, ours);
    assert_eq!(
        ours_cache, kernel,
        "brickwall sync -e against conntrack -L\n{st:#}\n{nft}\n{cd}"
    );
    assert_eq!(kernel.len(), 20);
    let f = &st["ftfw"];
    assert!(
        f["nacks_sent"].as_u64().unwrap() > 0 && f["nacks_received"].as_u64().unwrap() > 0,
        "no NACK one way or the other: {st:#}\n{nft}"
    );
    assert!(f["resent"].as_u64().unwrap() > 0, "{st:#}");

    // conntrackd restarts (on a clean link): its HELLO says it joined, and brickwall
    // sends it the whole table unasked.
    t.exec(&fw, &["nft", "delete", "table", "inet", "sync_loss"]);
    t.stop("conntrackd");
    let _ = std::fs::remove_file(dir.join("conntrackd.lock"));
    let _ = std::fs::remove_file(dir.join("conntrackd.ctl"));
    t.spawn("conntrackd-again", &fw, &["conntrackd", "-C", &conf]);
    t.wait_for_listener(&fw, "udp", 3780, "conntrackd-again");
    let mut again = Vec::new();
    for _ in 0..100 {
        let e = t.try_exec(&fw, &["conntrackd", "-C", &conf, "-e"]);
        again = rows(String::from_utf8_lossy(&e.stdout).lines());
        if again == ours {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let st = stats(&t);
    assert_eq!(
        again, ours,
        "a restarted conntrackd's external cache\n{st:#}"
    );
    assert!(
        st["receive"]["peers_joined"].as_u64().unwrap() >= 2,
        "{st:#}"
    );
}

/// UDP over IPv6 (conntrackd's `IPv6_address` and `IPv6_Destination_Address`), both
/// ways, on the veth between the router's namespace (conntrackd) and the client's
/// (brickwall). (conntrackd's IPv6 sending socket is not bound to its address: on one
/// host its datagrams would come from the destination address itself.)
#[test]
fn udp_over_ipv6_carries_both_ways() {
    require_root();
    require_tools(&["conntrackd", "conntrack", "nft"]);
    let mut t = Topology::routed("sync-v6");
    t.route_in_kernel("table ip sync_test {\n}\n");
    let fw = t.fw.clone();
    let client = t.client.clone();
    for args in [
        &["ip", "link", "set", "fc", "down"][..],
        &["ip", "link", "set", "fc", "name", "synclink"],
        &["ip", "link", "set", "synclink", "up"],
        &[
            "ip",
            "-6",
            "addr",
            "replace",
            "fd78:1::1/64",
            "dev",
            "synclink",
            "nodad",
        ],
    ] {
        t.exec(&fw, args);
    }
    let dir = t.dir.clone();
    let conf = dir.join("conntrackd.conf");
    std::fs::write(
        &conf,
        format!(
            "Sync {{\n Mode NOTRACK {{\n }}\n UDP {{\n  IPv6_address fd78:1::1\n  \
             IPv6_Destination_Address fd78:1::2\n  Port 3780\n  Interface synclink\n  \
             Checksum on\n }}\n}}\n\
             General {{\n LogFile {d}/conntrackd.file.log\n Syslog off\n \
             LockFile {d}/conntrackd.lock\n UNIX {{\n  Path {d}/conntrackd.ctl\n }}\n}}\n",
            d = dir.display()
        ),
    )
    .unwrap();
    let conf = conf.display().to_string();
    t.spawn("conntrackd", &fw, &["conntrackd", "-C", &conf]);
    t.wait_for_listener(&fw, "udp", 3780, "conntrackd");
    let config = dir.join("fw.yaml");
    std::fs::write(
        &config,
        format!(
            "plugins:\n{PLUGINS}  - builtin: sync\n    config:\n      mode: notrack\n      \
             udp: {{ipv6_address: \"fd78:1::2\", ipv6_destination_address: \"fd78:1::1\", \
             interface: c0}}\n"
        ),
    )
    .unwrap();
    let sock = dir.join("control.sock");
    let capture = pcaps_dir().join("zeek/ftp/ipv6.pcap").display().to_string();
    t.spawn(
        "brickwall",
        &client,
        &[
            env!("CARGO_BIN_EXE_brickwall"),
            "replay",
            &capture,
            "--config",
            &config.display().to_string(),
            "--control",
            &sock.display().to_string(),
            "--linger",
            "60",
            "--quiet",
        ],
    );
    t.wait_for_file(&sock, "brickwall", 20);
    t.exec(
        &fw,
        &[
            "conntrack",
            "-I",
            "-p",
            "tcp",
            "-s",
            "10.9.0.1",
            "-d",
            "10.9.0.2",
            "--sport",
            "1234",
            "--dport",
            "80",
            "--state",
            "ESTABLISHED",
            "-u",
            "SEEN_REPLY,ASSURED",
            "-t",
            "600",
        ],
    );
    let s = sock.display().to_string();
    let bw = |t: &Topology, args: &[&str]| {
        let mut v = vec![env!("CARGO_BIN_EXE_brickwall")];
        v.extend_from_slice(args);
        v.extend_from_slice(&["--socket", &s]);
        String::from_utf8_lossy(&t.exec(&client, &v).stdout).into_owned()
    };
    let ours = rows(bw(&t, &["ct", "-L"]).lines());
    assert!(ours.len() > 3, "{ours:?}");
    let (mut theirs_cache, mut ours_cache, mut kernel) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..50 {
        let e = t.exec(&fw, &["conntrackd", "-C", &conf, "-e"]);
        theirs_cache = rows(String::from_utf8_lossy(&e.stdout).lines());
        let l = t.exec(&fw, &["conntrack", "-L"]);
        kernel = rows(String::from_utf8_lossy(&l.stdout).lines());
        ours_cache = rows(bw(&t, &["sync", "-e"]).lines());
        if theirs_cache == ours && ours_cache == kernel {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(
        theirs_cache, ours,
        "conntrackd -e against brickwall ct -L, over IPv6"
    );
    assert_eq!(
        ours_cache,
        kernel,
        "brickwall sync -e against conntrack -L, over IPv6\n{}",
        bw(&t, &["sync", "-s"])
    );
    assert_eq!(kernel.len(), 1, "{kernel:?}");
}
