//! The firewall in the middle of the live tests' [`Topology`] (from `brickwall-netns`):
//! `brickwall run`, or the kernel itself (a Linux bridge with br_netfilter, nftables
//! and nf_conntrack), with the live tests' policy — "drop forwarded NEW unless to
//! tcp/21, udp/69, tcp/6667, tcp/1723, tcp/6566, udp/10080, udp/162 or ICMP echo;
//! accept established and related" —
//! and the helpers a test asks for; checking the engine's privileges, listing its
//! tables, and normalizing them so two runs of the same traffic compare equal.
#![allow(dead_code)]

use brickwall_netns::{helper_rules, require_root, require_tools, KernelHelper, Topology};
use std::path::{Path, PathBuf};

/// Fails the test unless it runs as root with the tools of the topology and of the live
/// tests' scenarios: CI is root, so a missing privilege is a broken set-up, not a
/// reason to skip.
pub fn require_live() {
    require_root();
    require_tools(&["curl", "vsftpd", "in.tftpd", "ping", "nft", "conntrack"]);
}

/// The binary under test.
pub fn brickwall() -> &'static str {
    env!("CARGO_BIN_EXE_brickwall")
}

/// Which firewall bridges the two hosts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fw {
    /// `brickwall run` on a datapath (`pnet`, `tpacket-v3`) with N workers per interface.
    Brickwall(&'static str, usize),
    /// The kernel: a Linux bridge, br_netfilter, nftables and nf_conntrack.
    Kernel,
}

/// An application helper, as both firewalls assign it.
#[derive(Clone, Copy, Debug)]
pub struct Helper {
    /// Its name (in brickwall's config, and the kernel's helper type).
    pub name: &'static str,
    /// brickwall's bundled component (`builtin:NAME`).
    pub builtin: &'static str,
    /// `tcp` or `udp`.
    pub proto: &'static str,
    /// The port it is assigned on.
    pub port: u16,
    /// Linux's limit of expectations per master.
    pub max_expected: u32,
    /// Whether the kernel's helper is IPv4 only (`l3proto ip`).
    pub ipv4_only: bool,
}

/// FTP on tcp/21.
pub const FTP: Helper = Helper {
    name: "ftp",
    builtin: "ftp",
    proto: "tcp",
    port: 21,
    max_expected: 1,
    ipv4_only: false,
};
/// TFTP on udp/69.
pub const TFTP: Helper = Helper {
    name: "tftp",
    builtin: "tftp",
    proto: "udp",
    port: 69,
    max_expected: 1,
    ipv4_only: false,
};
/// IRC on tcp/6667.
pub const IRC: Helper = Helper {
    name: "irc",
    builtin: "irc",
    proto: "tcp",
    port: 6667,
    max_expected: 8,
    ipv4_only: true,
};
/// PPTP on tcp/1723.
pub const PPTP: Helper = Helper {
    name: "pptp",
    builtin: "pptp",
    proto: "tcp",
    port: 1723,
    max_expected: 2,
    ipv4_only: true,
};
/// SANE on tcp/6566.
pub const SANE: Helper = Helper {
    name: "sane",
    builtin: "sane",
    proto: "tcp",
    port: 6566,
    max_expected: 1,
    ipv4_only: false,
};
/// SNMP traps on udp/162: the kernel's `snmp_trap` (`nf_nat_snmp_basic`), brickwall's
/// bundled SNMP helper.
pub const SNMP_TRAP: Helper = Helper {
    name: "snmp_trap",
    builtin: "snmp",
    proto: "udp",
    port: 162,
    max_expected: 1,
    ipv4_only: true,
};
/// Amanda on udp/10080.
pub const AMANDA: Helper = Helper {
    name: "amanda",
    builtin: "amanda",
    proto: "udp",
    port: 10080,
    max_expected: 4,
    ipv4_only: false,
};

/// brickwall's config: conntrack with `helpers`, the stateful filter on FORWARD, and
/// the live section on `datapath` with `workers` per interface.
pub fn brickwall_config(helpers: &[Helper], datapath: &str, workers: usize) -> String {
    let helpers = if helpers.is_empty() {
        " []".to_string()
    } else {
        helpers
            .iter()
            .map(|h| {
                format!(
                    "\n        - {{name: {n}, wasm: \"builtin:{b}\", ports: [{p}/{port}], \
                     max_expected: {m}, timeout_s: 300}}",
                    n = h.name,
                    b = h.builtin,
                    p = h.proto,
                    port = h.port,
                    m = h.max_expected
                )
            })
            .collect()
    };
    format!(
        r#"
live:
  interfaces: [fc, fs]
  datapath: {datapath}
  workers: {workers}
plugins:
  - builtin: conntrack
    config:
      helpers:{helpers}
      # Wall clock: generous, as the test machine is busy with other tests.
      helper_sandbox: {{budget: {{deadline_ms: 250}}}}
  - builtin: filter
    config:
      chains:
        - hook: forward
          policy: drop
          rules:
            - match: {{proto: icmpv6, icmp_type: [nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit, nd-router-advert]}}
              action: accept
            - {{match: {{ct_state: [established, related]}}, action: accept}}
            - {{match: {{ct_state: new, proto: tcp, dport: [21, 6667, 1723, 6566]}}, action: accept}}
            - {{match: {{ct_state: new, proto: udp, dport: [69, 10080, 162]}}, action: accept}}
            - {{match: {{ct_state: new, proto: icmp, icmp_type: echo-request}}, action: accept}}
            - {{match: {{ct_state: new, proto: icmpv6, icmp_type: echo-request}}, action: accept}}
"#
    )
}

/// brickwall's config for running the kernel's own ruleset ([`nft_ruleset`], given with
/// `--ruleset`): conntrack with `helpers` assigned by no port (the ruleset's `ct helper
/// set` rules assign them, as in the kernel), no filter of its own, and the live section.
pub fn brickwall_config_for_ruleset(helpers: &[Helper], datapath: &str, workers: usize) -> String {
    let full = brickwall_config(helpers, datapath, workers);
    let cut = full
        .find("  - builtin: filter")
        .expect("the filter section");
    let mut cfg = full[..cut].to_string();
    for h in helpers {
        cfg = cfg.replace(&format!("ports: [{}/{}]", h.proto, h.port), "ports: []");
    }
    cfg
}

/// The same policy for the kernel, in nftables' words, its helpers attached by
/// `ct helper set` as Linux since 4.7 wants.
pub fn nft_ruleset(helpers: &[Helper]) -> String {
    let mut assign = String::new();
    if !helpers.is_empty() {
        let kernel: Vec<KernelHelper> = helpers
            .iter()
            .map(|h| KernelHelper {
                name: h.name,
                proto: h.proto,
                port: h.port,
                ipv4_only: h.ipv4_only,
            })
            .collect();
        let (objects, rules) = helper_rules(&kernel);
        assign = format!(
            "{objects}chain helper_assign {{ type filter hook prerouting priority filter;\n{rules}}}\n"
        );
    }
    format!(
        "table inet bw {{\n{assign}\
         chain filter_forward {{ type filter hook forward priority filter; policy drop;\n\
           icmpv6 type {{ nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit, nd-router-advert }} accept\n\
           ct state established,related accept\n\
           ct state new tcp dport {{ 21, 6667, 1723, 6566 }} accept\n\
           ct state new udp dport {{ 69, 10080, 162 }} accept\n\
           ct state new icmp type echo-request accept\n\
           ct state new icmpv6 type echo-request accept\n\
         }}\n}}\n"
    )
}

/// curl in `t`'s client namespace, fetching `url` into `out` (removed first) with
/// `extra` options, within 4 s to connect and 10 s in all.
pub fn curl(t: &Topology, url: &str, out: &Path, extra: &[&str]) -> std::process::Output {
    let _ = std::fs::remove_file(out);
    let out_s = out.display().to_string();
    let mut args = vec!["curl", "-sS", "--connect-timeout", "4", "--max-time", "10"];
    args.extend_from_slice(&["-o", &out_s]);
    args.extend_from_slice(extra);
    args.push(url);
    t.try_exec(&t.client, &args)
}

/// Starts firewall `fw` with `helpers` in `t`'s firewall namespace; returns brickwall's
/// control socket (where it would be, for the kernel). brickwall is checked to have
/// kept only its network capabilities.
pub fn start(t: &mut Topology, fw: Fw, helpers: &[Helper]) -> PathBuf {
    match fw {
        Fw::Brickwall(datapath, workers) => {
            let sock = run_brickwall(t, &brickwall_config(helpers, datapath, workers));
            assert_only_network_capabilities(t);
            sock
        }
        Fw::Kernel => {
            t.bridge_in_kernel(&nft_ruleset(helpers));
            t.dir.join("control.sock")
        }
    }
}

/// Starts `brickwall run` with `config` (kept as `<dir>/fw.yaml`) in `t`'s firewall
/// namespace, as the program `brickwall`; returns its control socket once it serves
/// it.
pub fn run_brickwall(t: &mut Topology, config: &str) -> PathBuf {
    run_brickwall_with(t, config, &[])
}

/// As [`run_brickwall`], with more arguments for `brickwall run`.
pub fn run_brickwall_with(t: &mut Topology, config: &str, extra: &[&str]) -> PathBuf {
    let cfg = t.dir.join("fw.yaml");
    std::fs::write(&cfg, config).expect("config");
    let sock = t.dir.join("control.sock");
    let (c, s) = (cfg.display().to_string(), sock.display().to_string());
    let ns = t.fw.clone();
    let mut args = vec![brickwall(), "run", "-v", "--config", &c, "--control", &s];
    args.extend_from_slice(extra);
    t.spawn("brickwall", &ns, &args);
    t.wait_for_file(&sock, "brickwall", 60);
    sock
}

/// The firewall's `conntrack` or `expect` table, as `conntrack -L` prints it.
pub fn list(t: &Topology, fw: Fw, sock: &Path, table: &str) -> String {
    let o = match fw {
        Fw::Brickwall(..) => std::process::Command::new(brickwall())
            .args(["ct", "--socket", sock.to_str().expect("utf-8")])
            .args(["-L", table])
            .output()
            .expect("brickwall ct"),
        Fw::Kernel => t.try_exec(&t.fw, &["conntrack", "-L", table]),
    };
    assert!(
        o.status.success(),
        "listing the {table} table of {fw:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// brickwall's summary after SIGTERM, asserting it stopped cleanly.
pub fn stop_brickwall(t: &mut Topology) -> String {
    let st = t.stop("brickwall").expect("the engine was running");
    let log = t.log("brickwall");
    assert!(
        st.success(),
        "the engine did not exit cleanly on SIGTERM: {st:?}\n{log}"
    );
    log
}

/// Every thread of the running engine keeps CAP_NET_ADMIN and CAP_NET_RAW (bits 12 and
/// 13) and nothing else, in its effective, permitted and bounding sets, and none has
/// no-new-privileges unset.
pub fn assert_only_network_capabilities(t: &Topology) {
    assert_privileges(t, None);
}

/// As [`assert_only_network_capabilities`], and every thread's real, effective, saved
/// and filesystem user ids are `uid` when given.
pub fn assert_privileges(t: &Topology, uid: Option<u32>) {
    let pid = t.pid("brickwall").expect("the engine runs");
    let end = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let threads = thread_privileges(pid);
        let wanted = |p: &ThreadPrivileges| {
            p.caps == ["0000000000003000"; 3]
                && p.no_new_privs
                && uid.is_none_or(|u| p.uids == [u; 4])
        };
        // The engine is serving (its control socket exists), so its threads have
        // started: more than one (workers, the control server).
        if threads.len() > 1 && threads.iter().all(wanted) {
            return;
        }
        assert!(
            std::time::Instant::now() < end,
            "a thread of the engine kept more than the network capabilities or the wrong \
             user (wanted uid {uid:?}): {threads:#?}\n{}",
            t.log("brickwall")
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// What one thread of a process may do.
#[derive(Debug)]
pub struct ThreadPrivileges {
    /// The thread's name.
    pub name: String,
    /// CapEff, CapPrm, CapBnd in hex.
    pub caps: Vec<String>,
    /// Real, effective, saved and filesystem uid.
    pub uids: Vec<u32>,
    /// Whether no-new-privileges is set.
    pub no_new_privs: bool,
}

/// Every thread of process `pid`, from /proc.
pub fn thread_privileges(pid: u32) -> Vec<ThreadPrivileges> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for task in tasks.flatten() {
        let Ok(status) = std::fs::read_to_string(task.path().join("status")) else {
            continue;
        };
        let field = |k: &str| -> Vec<&str> {
            status
                .lines()
                .find(|l| l.starts_with(k))
                .map(|l| l.split_whitespace().skip(1).collect())
                .unwrap_or_default()
        };
        out.push(ThreadPrivileges {
            name: field("Name:").join(" "),
            caps: ["CapEff:", "CapPrm:", "CapBnd:"]
                .iter()
                .map(|k| field(k).first().unwrap_or(&"").to_string())
                .collect(),
            uids: field("Uid:")
                .iter()
                .filter_map(|u| u.parse().ok())
                .collect(),
            no_new_privs: field("NoNewPrivs:") == ["1"],
        });
    }
    out
}

/// A `conntrack -L` line with what differs between two runs of the same traffic taken
/// out: the timeout, ephemeral ports and ICMP ids become `*` (the services' ports 21,
/// 69, 6667 and 1723 stay, and so do GRE's keys, which the tests choose); the
/// per-direction counters go (brickwall always keeps them, the kernel only with
/// `nf_conntrack_acct=1`); and a TCP connection's ended states, TIME_WAIT and CLOSE,
/// read `CLOSED`: whether a peer ends a data connection with a FIN or a RST varies from
/// run to run (seen with the kernel itself), and the two runs are separate traffic.
pub fn normalize(line: &str) -> Option<String> {
    let toks: Vec<&str> = line.split_whitespace().collect();
    if toks.len() < 4 || toks[1].parse::<u8>().is_err() {
        return None;
    }
    let mut out = vec![toks[0].to_string(), toks[1].to_string()];
    for tok in &toks[3..] {
        out.push(match tok.split_once('=') {
            Some((k @ ("sport" | "dport"), v)) if !["21", "69", "6667", "1723"].contains(&v) => {
                format!("{k}=*")
            }
            Some(("id", _)) => "id=*".to_string(),
            Some(("packets" | "bytes", _)) => continue,
            None if *tok == "TIME_WAIT" || *tok == "CLOSE" => "CLOSED".to_string(),
            _ => tok.to_string(),
        });
    }
    Some(out.join(" "))
}

/// A `conntrack -L expect` line without its timeout and its master's (ephemeral)
/// source port; the expected tuple and mask stay whole.
pub fn normalize_expect(line: &str) -> Option<String> {
    let toks: Vec<&str> = line.split_whitespace().collect();
    if toks.len() < 3 || toks[0].parse::<u32>().is_err() || !toks[1].starts_with("proto=") {
        return None;
    }
    let mut master = false;
    let mut out = Vec::new();
    for tok in &toks[1..] {
        master |= tok.starts_with("master-");
        out.push(if master && tok.starts_with("sport=") {
            "sport=*".to_string()
        } else {
            tok.to_string()
        });
    }
    Some(out.join(" "))
}

/// A connection table's lines, normalized and sorted.
pub fn normalized(table: &str) -> Vec<String> {
    let mut v: Vec<String> = table.lines().filter_map(normalize).collect();
    v.sort();
    v
}

/// An expectation table's lines, normalized and sorted.
pub fn normalized_expects(table: &str) -> Vec<String> {
    let mut v: Vec<String> = table.lines().filter_map(normalize_expect).collect();
    v.sort();
    v
}

/// brickwall's count of RELATED packets from its summary (the first packet of each
/// expected connection; later ones, once the reply is seen, are ESTABLISHED, as in
/// Linux).
pub fn related_packets(summary: &str) -> u64 {
    summary
        .lines()
        .find_map(|l| l.trim().strip_prefix("conntrack: "))
        .and_then(|l| l.split("related ").nth(1))
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// A file of pseudo-random bytes (not compressible, not repeating at a small period).
pub fn make_file(path: &Path, len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15 ^ len as u64;
    let data: Vec<u8> = (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    std::fs::write(path, &data).expect("test file");
    data
}

/// Both ends of a DCC SEND over IRC (see the script's docstring).
pub const IRC_DCC: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/live/irc_dcc.py"
);

/// A DCC SEND of 300 007 bytes from the client (offering `offered`, its own address,
/// which an IRC helper behind NAT rewrites) to a receiver in the server's namespace,
/// both on the IRC server at `irc`; whether the file arrived intact.
pub fn dcc_send_behind_nat(t: &mut Topology, irc: &str, offered: &str) -> bool {
    let dir = t.dir.clone();
    let path = |name: &str| dir.join(name).display().to_string();
    let data = make_file(&dir.join("file.bin"), 300_007);
    let (client, server) = (t.client.clone(), t.server.clone());
    let (got, ready, said, go) = (
        path("dcc.bin"),
        path("bob.ready"),
        path("bob.offered"),
        path("bob.go"),
    );
    let recv = [
        "python3", "-u", IRC_DCC, "recv", irc, "bob", &got, &ready, &said, &go,
    ];
    t.spawn("dcc-recv", &server, &recv);
    t.wait_for_file(&dir.join("bob.ready"), "dcc-recv", 15);
    // The receiver goes on as soon as the offer arrives.
    std::fs::write(dir.join("bob.go"), b"").expect("go file");
    let file = path("file.bin");
    let send = [
        "python3", "-u", IRC_DCC, "send", irc, "alice", "bob", &file, offered, "40123",
    ];
    t.spawn("dcc-send", &client, &send);
    let sent = t.wait_exit("dcc-send", 30).is_some_and(|s| s.success());
    let received = t.wait_exit("dcc-recv", 30).is_some_and(|s| s.success());
    let intact = std::fs::read(dir.join("dcc.bin")).is_ok_and(|d| d == data);
    sent && received && intact
}

/// Starts vsftpd and tftpd-hpa in the server namespace, serving `big.bin` of `big`
/// bytes over FTP (from `<dir>/ftp`) and `small.bin` of `small` bytes over TFTP (from
/// `<dir>/tftp`); their contents.
pub fn serve_files(t: &mut Topology, big: usize, small: usize) -> (Vec<u8>, Vec<u8>) {
    let ftp_root = t.dir.join("ftp");
    std::fs::create_dir_all(&ftp_root).expect("ftp root");
    let big = make_file(&ftp_root.join("big.bin"), big);
    t.start_vsftpd(&ftp_root);
    let tftp_root = t.dir.join("tftp");
    std::fs::create_dir_all(&tftp_root).expect("tftp root");
    let small = make_file(&tftp_root.join("small.bin"), small);
    t.start_tftpd(&tftp_root);
    (big, small)
}
