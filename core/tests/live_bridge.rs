//! Live mode end to end, and against the kernel. A client and a server in network
//! namespaces talk through a firewall namespace that bridges them, with the policy
//! "drop forwarded NEW unless to tcp/21, udp/69, tcp/6667, tcp/1723, tcp/6566, udp/10080,
//! udp/162 or ICMP echo; accept established and related". The firewall is either `brickwall run` or the
//! Linux kernel itself (a bridge with br_netfilter, nftables and its conntrack with the
//! built-in helpers attached by `ct helper set`). The same scenarios run on each, with
//! real peers: ping, vsftpd and curl (EPSV, PASV, EPRT, PORT; IPv4 and IPv6; a
//! multi-megabyte file compared byte for byte), tftpd-hpa and curl (get and put), a TCP
//! connection the policy refuses, and a UDP probe of a closed port whose
//! port-unreachable must come back as RELATED. With helpers everything passes; without,
//! the data channels fail; and brickwall's outcomes and connection table match the
//! kernel's. Needs root (CI is root).

mod firewall;

use brickwall_netns::{Topology, CLIENT4, CLIENT6, SERVER4, SERVER6};
use firewall::{
    brickwall, brickwall_config, make_file, normalized, related_packets, require_live,
    run_brickwall, Fw, Helper, FTP, TFTP,
};
use std::path::{Path, PathBuf};
use std::process::Output;

/// The helpers these scenarios need, or none.
fn helpers(on: bool) -> &'static [Helper] {
    if on {
        &[FTP, TFTP]
    } else {
        &[]
    }
}

/// A topology with its firewall running and its servers started.
struct Run {
    t: Topology,
    fw: Fw,
    /// brickwall's control socket.
    sock: PathBuf,
    big: Vec<u8>,
    small: Vec<u8>,
    tftp_root: PathBuf,
}

impl Run {
    fn start(tag: &str, fw: Fw, with_helpers: bool) -> Run {
        Run::start_as(tag, fw, with_helpers, false)
    }

    /// With `kernels_ruleset`, brickwall runs the kernel's own nft ruleset
    /// (`--ruleset`), helpers assigned by its `ct helper set` rules.
    fn start_as(tag: &str, fw: Fw, with_helpers: bool, kernels_ruleset: bool) -> Run {
        require_live();
        let mut t = Topology::new(tag);
        let sock = match (fw, kernels_ruleset) {
            (Fw::Brickwall(datapath, workers), true) => {
                let hs = helpers(with_helpers);
                let rules = t.dir.join("fw.nft");
                std::fs::write(&rules, firewall::nft_ruleset(hs)).expect("ruleset");
                let config = firewall::brickwall_config_for_ruleset(hs, datapath, workers);
                let rules = rules.display().to_string();
                firewall::run_brickwall_with(&mut t, &config, &["--ruleset", &rules])
            }
            _ => firewall::start(&mut t, fw, helpers(with_helpers)),
        };
        let (big, small) = firewall::serve_files(&mut t, 3 * 1024 * 1024 + 17, 200 * 1024 + 3);
        let tftp_root = t.dir.join("tftp");
        Run {
            t,
            fw,
            sock,
            big,
            small,
            tftp_root,
        }
    }

    /// curl in the client namespace, fetching `url` into `out` with `extra` options.
    fn curl(&self, url: &str, out: &Path, extra: &[&str]) -> Output {
        firewall::curl(&self.t, url, out, extra)
    }

    /// Runs every scenario but the closed-port probe; returns each one's name and
    /// whether it worked (for the refused port: whether the connection was let through).
    fn scenarios(&self) -> Vec<(&'static str, bool)> {
        let t = &self.t;
        let mut r = Vec::new();
        let ok = |o: &Output| o.status.success();
        r.push((
            "ping",
            ok(&t.try_exec(&t.client, &["ping", "-c", "2", "-W", "3", SERVER4])),
        ));
        r.push((
            "ping -6",
            ok(&t.try_exec(&t.client, &["ping", "-6", "-c", "2", "-W", "3", SERVER6])),
        ));
        let got = t.dir.join("got.bin");
        let url4 = format!("ftp://{SERVER4}/big.bin");
        let url6 = format!("ftp://[{SERVER6}]/big.bin");
        let cases: [(&'static str, &str, Vec<&str>); 6] = [
            ("ftp EPSV", &url4, vec![]),
            ("ftp PASV", &url4, vec!["--disable-epsv"]),
            ("ftp EPRT", &url4, vec!["-P", CLIENT4]),
            ("ftp PORT", &url4, vec!["-P", CLIENT4, "--disable-eprt"]),
            ("ftp EPSV over IPv6", &url6, vec![]),
            ("ftp EPRT over IPv6", &url6, vec!["-P", CLIENT6]),
        ];
        for (what, url, extra) in &cases {
            let o = self.curl(url, &got, extra);
            let intact = std::fs::read(&got).is_ok_and(|d| d == self.big);
            if o.status.success() && !intact {
                panic!(
                    "{what} through {:?}: curl succeeded but the file differs",
                    self.fw
                );
            }
            r.push((*what, o.status.success()));
        }
        let o = self.curl(&format!("tftp://{SERVER4}/small.bin"), &got, &[]);
        let intact = std::fs::read(&got).is_ok_and(|d| d == self.small);
        r.push(("tftp get", o.status.success() && intact));
        let up = t.dir.join("up.bin");
        let up_data = make_file(&up, 50 * 1024 + 1);
        let up_s = up.display().to_string();
        let o = self.curl(&format!("tftp://{SERVER4}/up.bin"), &got, &["-T", &up_s]);
        let intact = std::fs::read(self.tftp_root.join("up.bin")).is_ok_and(|d| d == up_data);
        r.push(("tftp put", o.status.success() && intact));
        // Nothing listens on tcp/8080: a refusal (exit 7) means the SYN got through, a
        // timeout (28) that the firewall dropped it.
        let o = self.curl(
            &format!("http://{SERVER4}:8080/"),
            &got,
            &["--max-time", "3"],
        );
        r.push(("tcp/8080 let through", o.status.code() != Some(28)));
        r
    }

    /// Stops tftpd and probes udp/69: the port-unreachable must reach the client.
    fn closed_port_probe(&mut self) -> String {
        self.t.stop("tftpd");
        let probe = format!(
            "import socket\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n\
             s.settimeout(3)\ns.connect(('{SERVER4}',69))\ns.send(b'x')\ntry:\n    \
             s.recv(10)\n    print('data')\nexcept ConnectionRefusedError:\n    \
             print('refused')\nexcept socket.timeout:\n    print('timeout')\n"
        );
        let o = self.t.try_exec(&self.t.client, &["python3", "-c", &probe]);
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    }

    /// The firewall's connection table as `conntrack -L` lines.
    fn table(&self) -> String {
        firewall::list(&self.t, self.fw, &self.sock, "conntrack")
    }

    /// brickwall's summary after SIGTERM; asserts it stopped cleanly.
    fn stop_brickwall(&mut self) -> String {
        let log = firewall::stop_brickwall(&mut self.t);
        eprintln!("{log}");
        log
    }
}

/// What every scenario must do with the helpers (and without).
fn expected(helpers: bool) -> Vec<(&'static str, bool)> {
    vec![
        ("ping", true),
        ("ping -6", true),
        ("ftp EPSV", helpers),
        ("ftp PASV", helpers),
        ("ftp EPRT", helpers),
        ("ftp PORT", helpers),
        ("ftp EPSV over IPv6", helpers),
        ("ftp EPRT over IPv6", helpers),
        ("tftp get", helpers),
        ("tftp put", helpers),
        ("tcp/8080 let through", false),
    ]
}

/// Runs every scenario through brickwall on `fw`, with helpers (with the kernel's own
/// ruleset when `kernels_ruleset`); returns its table.
fn brickwall_with_helpers(tag: &str, fw: Fw, kernels_ruleset: bool) -> String {
    let mut ours = Run::start_as(tag, fw, true, kernels_ruleset);
    let got = ours.scenarios();
    assert_eq!(got, expected(true), "{fw:?}:\n{}", ours.t.log("brickwall"));
    let table = ours.table();
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("tcp") && l.contains("dport=21 ") && l.contains("helper=ftp")),
        "{fw:?}: no FTP control connection with its helper in:\n{table}"
    );
    // `ct -S`: one line per worker that handled packets (each interface's traffic
    // reaches at least one of its workers; a fanout group may leave one idle).
    let Fw::Brickwall(_, workers) = fw else {
        unreachable!("brickwall only")
    };
    let o = std::process::Command::new(brickwall())
        .args(["ct", "--socket", ours.sock.to_str().expect("utf-8"), "-S"])
        .output()
        .expect("brickwall ct -S");
    let stats = String::from_utf8_lossy(&o.stdout).into_owned();
    let cpus: Vec<&str> = stats.lines().filter(|l| l.starts_with("cpu=")).collect();
    assert!(
        (2..=2 * workers).contains(&cpus.len()),
        "{fw:?}: ct -S printed:\n{stats}"
    );
    assert!(cpus.iter().all(|l| l.contains(" insert=")), "{stats}");
    assert_eq!(
        ours.closed_port_probe(),
        "refused",
        "{fw:?}: the port-unreachable did not pass"
    );
    let summary = ours.stop_brickwall();
    // Six FTP data connections, the TFTP get and put, and the port-unreachable.
    assert!(
        related_packets(&summary) >= 9,
        "{fw:?}: too few RELATED packets:\n{summary}"
    );
    table
}

#[test]
fn with_helpers_every_scenario_passes_as_through_the_kernel() {
    // Every datapath; the V3 ring with two workers per interface (a fanout group).
    let pnet_table = brickwall_with_helpers("on", Fw::Brickwall("pnet", 1), false);
    let ring_table = brickwall_with_helpers("ring", Fw::Brickwall("tpacket-v3", 2), false);
    let v2_table = brickwall_with_helpers("v2", Fw::Brickwall("tpacket-v2", 1), false);
    // The kernel's own ruleset (nft syntax, helpers by `ct helper set`), read by brickwall.
    let nft_table = brickwall_with_helpers("nft", Fw::Brickwall("tpacket-v2", 1), true);

    let mut kernel = Run::start("kon", Fw::Kernel, true);
    let got = kernel.scenarios();
    assert_eq!(got, expected(true), "the kernel, with helpers");
    let kernel_table = kernel.table();
    assert_eq!(
        kernel.closed_port_probe(),
        "refused",
        "the kernel: no port-unreachable"
    );
    for (what, ours) in [
        ("pnet", &pnet_table),
        ("tpacket-v3", &ring_table),
        ("tpacket-v2", &v2_table),
        ("the kernel's ruleset", &nft_table),
    ] {
        assert_eq!(
            normalized(ours),
            normalized(&kernel_table),
            "after the same traffic, brickwall's table ({what}):\n{ours}\nthe kernel's:\n{kernel_table}"
        );
    }
}

#[test]
fn without_helpers_the_data_channels_fail_as_through_the_kernel() {
    // Both firewalls at once: the failures are timeouts, so this halves the wait.
    let kernel = std::thread::spawn(|| {
        let kernel = Run::start("koff", Fw::Kernel, false);
        kernel.scenarios()
    });
    let mut ours = Run::start("off", Fw::Brickwall("tpacket-v3", 1), false);
    let got = ours.scenarios();
    assert_eq!(
        got,
        expected(false),
        "brickwall:\n{}",
        ours.t.log("brickwall")
    );
    let summary = ours.stop_brickwall();
    assert!(
        summary.contains("filter-policy-drop"),
        "no policy drops counted:\n{summary}"
    );
    let kernel = kernel.join().expect("the kernel's run panicked");
    assert_eq!(kernel, expected(false), "the kernel, without helpers");
}

/// A TCP echo server on tcp/6667 for one connection.
const ECHO_SERVER: &str = r#"
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('0.0.0.0', 6667))
s.listen(1)
c, _ = s.accept()
while True:
    d = c.recv(64)
    if not d:
        break
    c.sendall(d)
"#;

/// A client that keeps one connection to the echo server and, each time a file `goN`
/// appears in the folder it is given, sends `xN` and prints what came back.
const ECHO_CLIENT: &str = r#"
import os, socket, sys, time
folder = sys.argv[2]
s = socket.create_connection((sys.argv[1], 6667), timeout=5)
for i in range(3):
    while not os.path.exists(os.path.join(folder, 'go%d' % i)):
        time.sleep(0.05)
    s.sendall(b'x%d' % i)
    try:
        print('echo', s.recv(16).decode(), flush=True)
    except Exception as e:
        print('lost', e, flush=True)
"#;

/// SIGHUP swaps the filter's rules and reconfigures conntrack in place: an established
/// connection carries on, a rule removed stops what it let through, and a broken config
/// changes nothing.
#[test]
fn sighup_reloads_rules_and_keeps_connections() {
    let mut run = Run::start("hup", Fw::Brickwall("tpacket-v3", 1), true);
    let t = &mut run.t;
    let (server, client, dir) = (t.server.clone(), t.client.clone(), t.dir.clone());
    t.spawn("echo-server", &server, &["python3", "-c", ECHO_SERVER]);
    t.wait_for_listener(&server, "tcp", 6667, "echo-server");
    let dir_s = dir.display().to_string();
    t.spawn(
        "echo-client",
        &client,
        &["python3", "-c", ECHO_CLIENT, SERVER4, &dir_s],
    );
    let echoed = |t: &Topology, n: usize| {
        std::fs::write(dir.join(format!("go{n}")), b"").expect("go file");
        let end = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let log = t.log("echo-client");
            if log.lines().count() > n {
                return log.lines().nth(n).unwrap_or_default().to_string();
            }
            assert!(
                std::time::Instant::now() < end,
                "the client said nothing:\n{log}"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    };
    let ping = |t: &Topology| {
        t.try_exec(&t.client, &["ping", "-c", "1", "-W", "2", SERVER4])
            .status
            .success()
    };
    assert_eq!(echoed(t, 0), "echo x0");
    assert!(ping(t), "ping before the reload");

    // The new config: no ICMP echo rule, and no TFTP helper.
    let cfg = dir.join("fw.yaml");
    let echo_rule =
        "            - {match: {ct_state: new, proto: icmp, icmp_type: echo-request}, action: accept}\n";
    let new = brickwall_config(&[FTP], "tpacket-v3", 1).replace(echo_rule, "");
    assert!(!new.contains(echo_rule) && !new.contains("tftp"), "{new}");
    std::fs::write(&cfg, &new).expect("new config");
    let pid = t.pid("brickwall").expect("the engine runs") as i32;
    let reloads = |t: &Topology| t.log("brickwall").matches("SIGHUP:").count();
    let hup = |t: &Topology, before: usize| {
        // SAFETY: kill(2) on our own child.
        unsafe { libc::kill(pid, libc::SIGHUP) };
        let end = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while reloads(t) == before {
            assert!(
                std::time::Instant::now() < end,
                "no reload:\n{}",
                t.log("brickwall")
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    };
    hup(t, 0);
    let log = t.log("brickwall");
    assert!(log.contains("conntrack: reconfigured in place"), "{log}");
    assert!(log.contains("filter: replaced"), "{log}");
    assert_eq!(
        echoed(t, 1),
        "echo x1",
        "the connection did not survive the reload"
    );
    assert!(!ping(t), "the removed echo rule still lets ping through");
    let table = run.table();
    assert!(
        table.contains("dport=6667"),
        "the connection left the table:\n{table}"
    );

    // A broken config: the reload fails and the running rules stay.
    let t = &mut run.t;
    std::fs::write(&cfg, "plugins: [ {builtin: nosuch} ]\n").expect("broken config");
    hup(t, 1);
    let log = t.log("brickwall");
    assert!(log.contains("reload failed"), "{log}");
    assert_eq!(echoed(t, 2), "echo x2");
    assert!(!ping(t), "a failed reload changed the rules");
    run.stop_brickwall();
}

/// The host's own side: with a TAP device carrying 10.77.0.254 and fd77::fe, packets
/// for those addresses take PREROUTING → INPUT (where the input chain decides) and are
/// delivered to the host's stack; what the host sends takes OUTPUT → POSTROUTING. All
/// three of Netfilter's paths run live.
#[test]
fn local_paths_reach_the_host_through_its_tap() {
    require_live();
    let mut t = Topology::new("tap");
    let config = brickwall_config(helpers(true), "tpacket-v3", 1).replace(
        "  workers: 1\n",
        "  workers: 1\n  tap: {name: bw0, addresses: [10.77.0.254/24, 'fd77::fe/64']}\n",
    ) + r#"        - hook: input
          policy: drop
          rules:
            - match: {proto: icmpv6, icmp_type: [nd-neighbor-solicit, nd-neighbor-advert]}
              action: accept
            - {match: {ct_state: [established, related]}, action: accept}
            - {match: {ct_state: new, proto: icmp, icmp_type: echo-request}, action: accept}
            - {match: {ct_state: new, proto: icmpv6, icmp_type: echo-request}, action: accept}
            - {match: {ct_state: new, proto: tcp, dport: 8080}, action: accept}
"#;
    run_brickwall(&mut t, &config);
    let (fw, client) = (t.fw.clone(), t.client.clone());
    let dir = t.dir.display().to_string();
    for port in ["8080", "8081"] {
        let name = format!("http-{port}");
        t.spawn(
            &name,
            &fw,
            &[
                "python3",
                "-m",
                "http.server",
                port,
                "--bind",
                "10.77.0.254",
                "--directory",
                &dir,
            ],
        );
        t.wait_for_listener(&fw, "tcp", port.parse().unwrap(), &name);
    }
    let ok = |o: Output| o.status.success();
    assert!(
        ok(t.try_exec(&client, &["ping", "-c", "2", "-W", "3", "10.77.0.254"])),
        "ping the host:\n{}",
        t.log("brickwall")
    );
    assert!(
        ok(t.try_exec(&client, &["ping", "-6", "-c", "2", "-W", "3", "fd77::fe"])),
        "ping -6 the host"
    );
    assert!(
        ok(t.try_exec(&fw, &["ping", "-c", "2", "-W", "3", CLIENT4])),
        "the host pings the client"
    );
    let curl = |port: &str| {
        t.try_exec(
            &client,
            &[
                "curl",
                "-sS",
                "-o",
                "/dev/null",
                "--max-time",
                "3",
                &format!("http://10.77.0.254:{port}/"),
            ],
        )
    };
    let o = curl("8080");
    assert!(o.status.success(), "tcp/8080 on the host: {}", text(&o));
    assert_eq!(
        curl("8081").status.code(),
        Some(28),
        "the input chain should drop tcp/8081"
    );

    let st = t.stop("brickwall").expect("running");
    let summary = t.log("brickwall");
    assert!(st.success(), "{summary}");
    let entered = |hook: &str| -> u64 {
        summary
            .lines()
            .find(|l| l.trim_start().starts_with(hook))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    assert!(entered("INPUT") > 0 && entered("OUTPUT") > 0, "{summary}");
    assert!(summary.contains("filter-policy-drop"), "{summary}");
}

/// The firewall's interfaces' offload switches that the engine turns off, as
/// `ethtool -k` prints them (`tx-checksumming: on`, ...), each interface's in turn.
fn offloads(t: &Topology) -> Vec<String> {
    let fw = t.fw.clone();
    let mut all = Vec::new();
    for iface in ["fc", "fs"] {
        let o = t.try_exec(&fw, &["ethtool", "-k", iface]);
        assert!(o.status.success(), "ethtool -k {iface}: {}", text(&o));
        let shown = String::from_utf8_lossy(&o.stdout).into_owned();
        all.extend(shown.lines().filter_map(|l| {
            let l = l.trim();
            [
                "tx-checksumming:",
                "tcp-segmentation-offload:",
                "generic-segmentation-offload:",
                "generic-receive-offload:",
                "large-receive-offload:",
            ]
            .iter()
            .any(|f| l.starts_with(f))
            .then(|| format!("{iface} {}", l.trim_end_matches(" [fixed]")))
        }));
    }
    all
}

/// With `live.user`, every thread of the engine runs as that user with only the two
/// network capabilities, and it still bridges, serves root's `brickwall ct` and stops
/// cleanly, turning on again the offloads it turned off.
#[test]
fn an_unprivileged_user_runs_the_bridge() {
    require_live();
    let mut t = Topology::new("user");
    let before = offloads(&t);
    assert!(
        before.iter().any(|l| l == "fc tx-checksumming: on"),
        "{before:?}"
    );
    let config = brickwall_config(helpers(true), "tpacket-v2", 2)
        .replace("  workers: 2\n", "  workers: 2\n  user: nobody\n");
    let sock = run_brickwall(&mut t, &config);
    let during = offloads(&t);
    assert!(
        during.iter().any(|l| l == "fc tx-checksumming: off"),
        "{during:?}"
    );
    firewall::assert_privileges(&t, Some(65534));
    let client = t.client.clone();
    let o = t.try_exec(&client, &["ping", "-c", "2", "-W", "3", SERVER4]);
    assert!(
        o.status.success(),
        "ping: {}\n{}",
        text(&o),
        t.log("brickwall")
    );
    let table = firewall::list(&t, Fw::Brickwall("tpacket-v2", 2), &sock, "conntrack");
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("icmp ") && l.contains(SERVER4)),
        "{table}"
    );
    let log = firewall::stop_brickwall(&mut t);
    assert!(log.contains("running as nobody (uid 65534"), "{log}");
    assert_eq!(offloads(&t), before, "{log}");
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A quiet flow through `tpacket-v3` does not wait for the block timer: with a 200 ms
/// retire timeout, pings one at a time (each crossing the bridge twice) come back in a
/// small fraction of it. Two workers, so the steering program's flow hash runs too.
#[test]
fn a_quiet_flow_through_tpacket_v3_does_not_wait_for_the_block_timer() {
    require_live();
    let mut t = Topology::new("quiet");
    let config = brickwall_config(helpers(false), "tpacket-v3", 2).replace(
        "  workers: 2\n",
        "  workers: 2\n  ring: {block_timeout_ms: 200}\n",
    );
    run_brickwall(&mut t, &config);
    let client = t.client.clone();
    // The first one also resolves the server's address.
    let o = t.try_exec(&client, &["ping", "-c", "1", "-W", "3", SERVER4]);
    assert!(
        o.status.success(),
        "ping: {}\n{}",
        text(&o),
        t.log("brickwall")
    );
    let o = t.try_exec(
        &client,
        &["ping", "-q", "-c", "10", "-i", "0.05", "-W", "3", SERVER4],
    );
    assert!(
        o.status.success(),
        "ping: {}\n{}",
        text(&o),
        t.log("brickwall")
    );
    // "rtt min/avg/max/mdev = 0.051/0.083/0.130/0.021 ms"
    let out = String::from_utf8_lossy(&o.stdout);
    let avg: f64 = out
        .lines()
        .find_map(|l| l.split_once(" = ").filter(|(k, _)| k.starts_with("rtt")))
        .and_then(|(_, v)| v.split('/').nth(1)?.parse().ok())
        .unwrap_or_else(|| panic!("no round-trip times in: {out}"));
    assert!(
        avg < 20.0,
        "average round trip {avg} ms: the block timer (200 ms) held the frames\n{out}"
    );
    firewall::stop_brickwall(&mut t);
}

/// As the packaged systemd unit runs it: started as an unprivileged user holding only
/// CAP_NET_RAW and CAP_NET_ADMIN as ambient capabilities (no root at any point), with
/// `NOTIFY_SOCKET` and `CACHE_DIRECTORY` set. It tells the manager it is ready once it
/// bridges, says so around a SIGHUP reload, says it is stopping, keeps its compiled
/// helpers in the cache directory, and turns the offloads on again at the end.
#[test]
fn as_a_notify_service_of_its_own_user() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::net::UnixDatagram;
    require_live();
    let mut t = Topology::new("unit");
    let before = offloads(&t);
    // Everything the user reaches: its own folder with the binary, the config, the
    // notification socket and the cache.
    let home = t.dir.join("svc");
    std::fs::create_dir_all(home.join("cache")).unwrap();
    for d in [&t.dir, &home] {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let bin = home.join("brickwall");
    std::fs::copy(brickwall(), &bin).unwrap();
    let cfg = home.join("fw.yaml");
    std::fs::write(&cfg, brickwall_config(helpers(true), "tpacket-v2", 1)).unwrap();
    let notify = home.join("notify.sock");
    let manager = UnixDatagram::bind(&notify).unwrap();
    std::fs::set_permissions(&notify, std::fs::Permissions::from_mode(0o777)).unwrap();
    manager
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    let chown = std::process::Command::new("chown")
        .args(["-R", "65534:65534"])
        .arg(home.join("cache"))
        .status()
        .unwrap();
    assert!(chown.success());
    let fw = t.fw.clone();
    let env_notify = format!("NOTIFY_SOCKET={}", notify.display());
    let env_cache = format!("CACHE_DIRECTORY={}", home.join("cache").display());
    t.spawn(
        "brickwall",
        &fw,
        &[
            "env",
            &env_notify,
            &env_cache,
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all,+net_raw,+net_admin",
            "--ambient-caps=-all,+net_raw,+net_admin",
            "--bounding-set=-all,+net_raw,+net_admin",
            "--",
            bin.to_str().unwrap(),
            "run",
            "-v",
            "--config",
            cfg.to_str().unwrap(),
        ],
    );
    let recv = |what: &str, t: &Topology| {
        let mut buf = [0u8; 512];
        loop {
            match manager.recv(&mut buf) {
                Ok(k) => return String::from_utf8_lossy(&buf[..k]).into_owned(),
                // A signal to the test process (another test's children) is no answer.
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => panic!("no {what} notice: {e}\n{}", t.log("brickwall")),
            }
        }
    };
    let ready = recv("ready", &t);
    let pid = t.pid("brickwall").expect("running");
    assert_eq!(ready, format!("READY=1\nMAINPID={pid}"));
    firewall::assert_privileges(&t, Some(65534));
    let client = t.client.clone();
    let o = t.try_exec(&client, &["ping", "-c", "2", "-W", "3", SERVER4]);
    assert!(
        o.status.success(),
        "ping: {}\n{}",
        text(&o),
        t.log("brickwall")
    );
    // The helpers were compiled into the cache directory, as the user.
    let cached: Vec<_> = std::fs::read_dir(home.join("cache/helpers"))
        .unwrap_or_else(|e| panic!("no helper cache: {e}\n{}", t.log("brickwall")))
        .flatten()
        .collect();
    assert!(!cached.is_empty(), "{}", t.log("brickwall"));
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(pid as i32, libc::SIGHUP) };
    assert_eq!(recv("reloading", &t), "RELOADING=1");
    assert_eq!(recv("ready again", &t), "READY=1");
    let log = firewall::stop_brickwall(&mut t);
    assert_eq!(recv("stopping", &t), "STOPPING=1");
    assert!(!log.contains("could not drop"), "{log}");
    assert!(log.contains("SIGHUP: reloaded"), "{log}");
    assert_eq!(offloads(&t), before, "{log}");
}

/// `reject` on a bridge: the answer goes back out of the port the packet came in on,
/// its Ethernet header turned around, so the client hears at once: `connection
/// refused` for TCP (a reset), and for UDP the ICMP port unreachable its socket reports
/// as refused too, IPv4 and IPv6.
#[test]
fn reject_answers_through_the_bridge() {
    require_live();
    let mut t = Topology::new("reject");
    let reject =
        "            - {match: {proto: tcp, dport: 8081}, action: {reject: {with: tcp-reset}}}\n\
                  \x20           - {match: {proto: udp, dport: 9999}, action: reject}\n";
    let anchor = "            - {match: {ct_state: [established, related]}, action: accept}\n";
    let config = brickwall_config(helpers(false), "tpacket-v2", 1);
    assert!(config.contains(anchor));
    let config = config.replacen(anchor, &format!("{anchor}{reject}"), 1);
    run_brickwall(&mut t, &config);
    let client = t.client.clone();
    for server in [SERVER4, "[fd77::2]"] {
        let started = std::time::Instant::now();
        let url = format!("http://{server}:8081/");
        let o = t.try_exec(&client, &["curl", "-sS", "--connect-timeout", "5", &url]);
        let took = started.elapsed();
        assert_eq!(
            o.status.code(),
            Some(7),
            "curl {url}: {}\n{}",
            text(&o),
            t.log("brickwall")
        );
        // (A dropped SYN would wait out the 5 s and exit with 28.)
        assert!(
            took < std::time::Duration::from_secs(2),
            "{took:?}: no reset came back"
        );
    }
    for (family, server) in [("AF_INET", SERVER4), ("AF_INET6", SERVER6)] {
        let script = format!(
            "import socket\ns = socket.socket(socket.{family}, socket.SOCK_DGRAM)\n\
             s.settimeout(3)\ns.connect(('{server}', 9999))\ns.send(b'x')\n\
             try:\n    s.recv(16)\n    print('answered')\nexcept ConnectionRefusedError:\n    print('refused')\n\
             except socket.timeout:\n    print('timeout')\n"
        );
        let o = t.try_exec(&client, &["python3", "-c", &script]);
        assert_eq!(
            String::from_utf8_lossy(&o.stdout).trim(),
            "refused",
            "{family}: {}\n{}",
            text(&o),
            t.log("brickwall")
        );
    }
    let log = firewall::stop_brickwall(&mut t);
    assert!(log.contains("filter-reject"), "{log}");
}
