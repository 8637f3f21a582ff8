//! The live bridge (or router) against the kernel, on real traffic through network
//! namespaces.
//!
//! A client (`c0`, 10.77.0.1) and a server (`s0`, 10.77.0.2) in their own namespaces
//! talk through a firewall namespace that bridges the veth ends `fc` and `fs`. The
//! firewall is, in turn, `brickwall run` (the release binary; its datapath comes from
//! `BRICKWALL_BENCH_DATAPATH`, default `pnet`) and the kernel (a Linux bridge with
//! br_netfilter and an nftables `inet` ruleset with conntrack). Both enforce the same
//! policy on FORWARD: accept established and related, accept NEW to the bench ports
//! (tcp/5201, tcp/5300, udp/5400), drop the rest. Each firewall gets a fresh topology,
//! removed again before the next one starts, and is measured on:
//!
//! 1. TCP throughput: one iperf3 stream for 10 s (Gbit/s, iperf3's received rate).
//! 2. Small UDP packets: 60-byte frames (64 on a wire, with the FCS) over 10 000 flows
//!    (distinct source ports), written to `c0` as fast as an AF_PACKET socket with
//!    `sendmmsg` takes them, for 8 s; in the same 6 s window from 1 s in, offered = the
//!    growth of `c0`'s `tx_packets` (frames the firewall's port `fc` took) per second,
//!    delivered = the growth of `s0`'s `rx_packets` per second.
//! 3. New TCP connections per second: 4 client threads connect, wait for the server's
//!    close and close, over and over for 6 s (a full handshake and teardown each, 7
//!    segments through the firewall; the client's ports wrap around after about 64 k
//!    connections, so later ones reopen connections the firewall holds in TIME_WAIT).
//!
//! With `BRICKWALL_BENCH_MODE=router` the firewall is a masquerading router instead
//! (`Topology::routed`: the client 10.78.1.2 behind it, the server 10.78.2.2 with no
//! route back): brickwall in router mode with the NAT plugin's `masquerade`, and the
//! kernel with forwarding on and an nft `masquerade` in a nat chain; same policy, same
//! three measurements, the UDP frames addressed to the router's link address.
//!
//! The table printed at the end puts brickwall beside the kernel, with the ratio
//! brickwall / kernel (above 1: brickwall is faster), the machine and brickwall's own
//! summary (per-port counters, drops) after SIGTERM.
//!
//! Run (as root: namespaces, veth, AF_PACKET; needs `iperf3`, `iproute2`, `ethtool`,
//! `nftables`, `procps`):
//!
//! ```text
//! cargo bench -p brickwall-core --bench live
//! BRICKWALL_BENCH_DATAPATH=tpacket-v3 cargo bench -p brickwall-core --bench live
//! BRICKWALL_BENCH_MODE=router BRICKWALL_BENCH_DATAPATH=tpacket-v2 cargo bench -p brickwall-core --bench live
//! ```
//!
//! It takes about 50 s once built. The same binary acts as its own traffic programs: run
//! inside a namespace with `--bw-…` arguments it is the UDP sender, the counter, the UDP
//! sink or the connection client and server.

use brickwall_netns::{
    is_root, on_path, Options, Topology, CLIENT4, INSIDE_CLIENT4, OUTSIDE_SERVER4, ROUTER_INSIDE4,
    ROUTER_OUTSIDE4, SERVER4,
};
use brickwall_wire::{checksum, ip_proto};
use std::fmt::Write as _;
use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// iperf3's port.
const IPERF_PORT: u16 = 5201;
/// The connection benchmark's listener.
const CPS_PORT: u16 = 5300;
/// Where the small UDP packets go.
const UDP_PORT: u16 = 5400;
/// Distinct UDP flows (source ports `FIRST_SPORT..FIRST_SPORT + FLOWS`).
const FLOWS: usize = 10_000;
const FIRST_SPORT: u16 = 20_000;
/// A frame without its FCS: 14 + 20 + 8 + 18 bytes of payload.
const FRAME_LEN: usize = 60;

/// How long each measurement runs.
const IPERF_SECS: u32 = 10;
const UDP_SECS: f64 = 8.0;
/// The delivered count is taken from `UDP_WARM` to `UDP_WARM + UDP_WINDOW` into the blast.
const UDP_WARM: f64 = 1.0;
const UDP_WINDOW: f64 = 6.0;
const CPS_SECS: f64 = 6.0;
const CPS_THREADS: usize = 4;

/// Frames handed to one `sendmmsg`.
const SEND_BATCH: usize = 256;

/// The bench's topology: namespaces of its own prefix (stale ones of a killed run are
/// removed), IPv6 off everywhere (no router or neighbour chatter in the counts).
const TOPOLOGY: Options = Options {
    prefix: "bwbench",
    ipv6: false,
};

type Res<T> = Result<T, String>;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let helper = match args.get(1).map(String::as_str) {
        Some("--bw-blast") => Some(blast(&args[2..])),
        Some("--bw-count") => Some(count(&args[2..])),
        Some("--bw-udp-sink") => Some(udp_sink(&args[2..])),
        Some("--bw-cps-server") => Some(cps_server(&args[2..])),
        Some("--bw-cps-client") => Some(cps_client(&args[2..])),
        Some("--bw-connect") => Some(connect_probe(&args[2..])),
        _ => None,
    };
    let result = match helper {
        Some(r) => r,
        // `cargo bench` passes `--bench`; `cargo test --benches` does not, and then this
        // minute of root-only traffic is not run.
        None if !args.iter().any(|a| a == "--bench") => {
            println!(
                "live: a benchmark; run it as root with `cargo bench -p brickwall-core --bench live`"
            );
            Ok(())
        }
        None => bench(),
    };
    if let Err(e) = result {
        eprintln!("live bench: {e}");
        std::process::exit(1);
    }
}

// ---------------------------------------------------------------------------------------
// The benchmark.

/// Which firewall bridges the two hosts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fw {
    Brickwall,
    Kernel,
}

impl Fw {
    fn tag(self) -> &'static str {
        match self {
            Fw::Brickwall => "bw",
            Fw::Kernel => "k",
        }
    }
}

/// What one firewall measured.
#[derive(Debug, Default)]
struct Measured {
    tcp_gbps: f64,
    tcp_retransmits: u64,
    /// Frames per second c0 handed to fc in the counting window.
    udp_offered_pps: f64,
    /// Frames per second the sender got out, over its whole run.
    udp_sent_pps: f64,
    udp_delivered_pps: f64,
    /// Frames `c0` could not hand to `fc` (its backlog was full), during the whole blast.
    udp_c0_dropped: u64,
    cps: f64,
    cps_failed: u64,
    /// brickwall's summary after SIGTERM.
    summary: Option<String>,
    /// Every veth end's rx_dropped / tx_dropped after the run, where not zero.
    if_drops: String,
    /// The kernel's conntrack statistics (`/proc/net/stat/nf_conntrack`) after the run.
    kernel_ct: Option<String>,
}

fn bench() -> Res<()> {
    let started = Instant::now();
    preflight()?;
    let datapath = std::env::var("BRICKWALL_BENCH_DATAPATH").unwrap_or_else(|_| "pnet".to_string());
    let routed = match std::env::var("BRICKWALL_BENCH_MODE").as_deref() {
        Ok("router") => true,
        Ok("bridge") | Err(_) => false,
        Ok(other) => {
            return Err(format!(
                "BRICKWALL_BENCH_MODE={other}: give bridge or router"
            ))
        }
    };
    let setup = Setup { datapath, routed };
    let datapath = &setup.datapath;
    let brickwall = env!("CARGO_BIN_EXE_brickwall");
    let load_before = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    eprintln!("live bench: brickwall ({datapath} datapath), then the kernel");
    let ours = measure(Fw::Brickwall, &setup)?;
    let kernel = measure(Fw::Kernel, &setup)?;
    let took = started.elapsed();

    let mut o = String::new();
    let what = if routed {
        "Live masquerading router"
    } else {
        "Live bridge"
    };
    let _ = writeln!(o, "\n## {what}: brickwall vs the kernel\n");
    let _ = writeln!(
        o,
        "command: {}{}cargo bench -p brickwall-core --bench live",
        if routed {
            "BRICKWALL_BENCH_MODE=router "
        } else {
            ""
        },
        if datapath == "pnet" {
            String::new()
        } else {
            format!("BRICKWALL_BENCH_DATAPATH={datapath} ")
        }
    );
    let _ = writeln!(o, "brickwall: {brickwall} (datapath {datapath})");
    let _ = writeln!(o, "machine: {}", machine());
    let _ = writeln!(
        o,
        "load average before: {}",
        load_before
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    let _ = writeln!(o, "took: {:.0} s\n", took.as_secs_f64());
    let _ = writeln!(
        o,
        "| metric | brickwall | kernel | ratio brickwall/kernel |"
    );
    let _ = writeln!(o, "|---|---|---|---|");
    let row = |o: &mut String, name: &str, a: f64, b: f64, unit: &str, digits: usize| {
        let ratio = if b > 0.0 {
            format!("{:.2}", a / b)
        } else {
            "—".to_string()
        };
        let _ = writeln!(
            o,
            "| {name} | {a:.digits$} {unit} | {b:.digits$} {unit} | {ratio} |"
        );
    };
    row(
        &mut o,
        &format!("TCP throughput, 1 iperf3 stream, {IPERF_SECS} s"),
        ours.tcp_gbps,
        kernel.tcp_gbps,
        "Gbit/s",
        2,
    );
    row(
        &mut o,
        &format!("UDP 64 B × {FLOWS} flows: offered"),
        ours.udp_offered_pps / 1e6,
        kernel.udp_offered_pps / 1e6,
        "Mpps",
        3,
    );
    row(
        &mut o,
        &format!("UDP 64 B × {FLOWS} flows: delivered"),
        ours.udp_delivered_pps / 1e6,
        kernel.udp_delivered_pps / 1e6,
        "Mpps",
        3,
    );
    row(
        &mut o,
        &format!("new TCP connections, {CPS_THREADS} client threads, {CPS_SECS} s"),
        ours.cps,
        kernel.cps,
        "conn/s",
        0,
    );
    let _ = writeln!(o);
    for (name, m) in [("brickwall", &ours), ("kernel", &kernel)] {
        let _ = writeln!(
            o,
            "{name}: iperf3 retransmits {}; UDP sender {:.3} Mpps over its whole run, \
             delivered/offered {:.1} %, frames c0 could not hand to fc (its backlog full) {}; \
             failed connection attempts {}",
            m.tcp_retransmits,
            m.udp_sent_pps / 1e6,
            100.0 * m.udp_delivered_pps / m.udp_offered_pps.max(1.0),
            m.udp_c0_dropped,
            m.cps_failed
        );
    }
    for (name, m) in [("brickwall", &ours), ("kernel", &kernel)] {
        let _ = writeln!(o, "{name}: interface drops over the run: {}", m.if_drops);
    }
    if let Some(s) = &kernel.kernel_ct {
        let _ = writeln!(o, "kernel conntrack after the run: {s}");
    }
    if let Some(s) = &ours.summary {
        let _ = writeln!(o, "\nbrickwall's summary after SIGTERM (all three steps):");
        for l in s.lines() {
            let _ = writeln!(o, "    {l}");
        }
    }
    print!("{o}");
    Ok(())
}

/// Root, the tools, br_netfilter: everything a run needs, checked before anything starts.
fn preflight() -> Res<()> {
    if !is_root() {
        return Err("needs root (network namespaces, veth, AF_PACKET): run it as root".into());
    }
    for (tool, package) in [
        ("ip", "iproute2"),
        ("ss", "iproute2"),
        ("ethtool", "ethtool"),
        ("nft", "nftables"),
        ("sysctl", "procps"),
        ("iperf3", "iperf3"),
    ] {
        if !on_path(tool) {
            return Err(format!(
                "`{tool}` is missing: install the Debian package `{package}` \
                 (apt-get install {package})"
            ));
        }
    }
    if !Path::new("/proc/sys/net/bridge").exists() {
        // The kernel firewall needs br_netfilter for bridged packets to meet nftables.
        let _ = Command::new("modprobe").arg("br_netfilter").output();
        if !Path::new("/proc/sys/net/bridge").exists() {
            return Err(
                "the kernel's br_netfilter module is not loaded and `modprobe br_netfilter` \
                 did not load it (install `kmod`, or load it on the host)"
                    .into(),
            );
        }
    }
    Ok(())
}

/// `nproc`, the CPU model and the kernel version.
fn machine() -> String {
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    format!("nproc {cpus}, {model}, Linux {kernel}")
}

/// What the bench runs: the datapath, and a bridge or a masquerading router.
struct Setup {
    datapath: String,
    routed: bool,
}

impl Setup {
    /// The client's address.
    fn client(&self) -> &'static str {
        if self.routed {
            INSIDE_CLIENT4
        } else {
            CLIENT4
        }
    }

    /// The server's address.
    fn server(&self) -> &'static str {
        if self.routed {
            OUTSIDE_SERVER4
        } else {
            SERVER4
        }
    }

    /// A fresh topology for `fw` (IPv6 off in the bridged one).
    fn topology(&self, fw: Fw) -> Topology {
        if self.routed {
            Topology::routed(&format!("bench{}", fw.tag()))
        } else {
            Topology::with(fw.tag(), TOPOLOGY)
        }
    }

    /// The link address the client's frames go to: the server's across a bridge, the
    /// router's inside port's across a router.
    fn first_hop_mac(&self, t: &Topology) -> String {
        if self.routed {
            t.read(&t.fw, "/sys/class/net/fc/address")
        } else {
            t.read(&t.server, "/sys/class/net/s0/address")
        }
    }
}

/// Builds a topology, starts `fw` in it, measures the three metrics and tears it down.
fn measure(fw: Fw, setup: &Setup) -> Res<Measured> {
    let datapath = setup.datapath.as_str();
    let (client4, server4) = (setup.client(), setup.server());
    let mut t = setup.topology(fw);
    // Room for a few seconds of connections without reusing a port.
    t.exec(
        &t.client,
        &["sysctl", "-qw", "net.ipv4.ip_local_port_range=1024 65535"],
    );
    let me = self_exe()?;
    let mut m = Measured::default();
    // The servers first: the readiness probe needs the connection listener.
    let server = t.server.clone();
    let client = t.client.clone();
    t.spawn(
        "cps-server",
        &server,
        &[&me, "--bw-cps-server", &CPS_PORT.to_string()],
    );
    t.spawn(
        "iperf3",
        &server,
        &["iperf3", "-s", "-p", &IPERF_PORT.to_string()],
    );
    t.spawn(
        "udp-sink",
        &server,
        &[&me, "--bw-udp-sink", &UDP_PORT.to_string()],
    );
    for (proto, port, name) in [
        ("tcp", CPS_PORT, "cps-server"),
        ("tcp", IPERF_PORT, "iperf3"),
        ("udp", UDP_PORT, "udp-sink"),
    ] {
        t.wait_for_listener(&server, proto, port, name);
    }
    start_firewall(&mut t, fw, datapath, setup.routed);
    let target = format!("{server4}:{CPS_PORT}");
    let probe = t.try_exec(&client, &[&me, "--bw-connect", &target, "15"]);
    if !probe.status.success() {
        return Err(format!(
            "{fw:?}: the client never reached the server through the firewall{}",
            firewall_log(&t, fw)
        ));
    }

    eprintln!("live bench: {fw:?}: TCP throughput ({IPERF_SECS} s)");
    let out = t.try_exec(
        &client,
        &[
            "iperf3",
            "-c",
            server4,
            "-p",
            &IPERF_PORT.to_string(),
            "-t",
            &IPERF_SECS.to_string(),
            "-J",
        ],
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("{fw:?}: iperf3 -J printed no JSON ({e}): {}", text(&out)))?;
    if let Some(err) = v.get("error").and_then(|e| e.as_str()) {
        return Err(format!("{fw:?}: iperf3: {err}{}", firewall_log(&t, fw)));
    }
    let end = &v["end"];
    m.tcp_gbps = end["sum_received"]["bits_per_second"]
        .as_f64()
        .ok_or_else(|| format!("{fw:?}: no end.sum_received in iperf3's JSON"))?
        / 1e9;
    m.tcp_retransmits = end["sum_sent"]["retransmits"].as_u64().unwrap_or(0);

    eprintln!("live bench: {fw:?}: 64-byte UDP over {FLOWS} flows ({UDP_SECS} s)");
    let first_hop = setup.first_hop_mac(&t);
    let c0_dropped_before = t.counter(&client, "c0", "tx_dropped");
    t.spawn(
        "blast",
        &client,
        &[
            &me,
            "--bw-blast",
            "c0",
            first_hop.trim(),
            &UDP_SECS.to_string(),
            client4,
            server4,
        ],
    );
    // Offered and delivered over the same window: what c0 handed to fc, what fs handed
    // to s0 (a veth counts a frame sent once its peer has taken it).
    let (warm, window) = (UDP_WARM.to_string(), UDP_WINDOW.to_string());
    t.spawn(
        "count-c0",
        &client,
        &[&me, "--bw-count", "c0", "tx_packets", &warm, &window],
    );
    let counted = t.exec(
        &server,
        &[&me, "--bw-count", "s0", "rx_packets", &warm, &window],
    );
    let (delivered, secs) = two_numbers(&String::from_utf8_lossy(&counted.stdout))
        .ok_or_else(|| format!("the counter said: {}", text(&counted)))?;
    m.udp_delivered_pps = delivered / secs;
    let st = t.wait_exit("count-c0", 10);
    let log = t.log("count-c0");
    let (offered, secs) = two_numbers(&log)
        .filter(|_| st.is_some_and(|s| s.success()))
        .ok_or_else(|| format!("the counter on c0 said: {log}"))?;
    m.udp_offered_pps = offered / secs;
    let st = t.wait_exit("blast", UDP_SECS as u64 + 10);
    let log = t.log("blast");
    if !st.is_some_and(|s| s.success()) {
        return Err(format!("{fw:?}: the UDP sender failed ({st:?}): {log}"));
    }
    let (sent, secs) = two_numbers(&log).ok_or_else(|| format!("the UDP sender said: {log}"))?;
    m.udp_sent_pps = sent / secs;
    m.udp_c0_dropped = t
        .counter(&client, "c0", "tx_dropped")
        .saturating_sub(c0_dropped_before);

    eprintln!("live bench: {fw:?}: new TCP connections ({CPS_SECS} s)");
    let out = t.exec(
        &client,
        &[
            &me,
            "--bw-cps-client",
            &target,
            &CPS_SECS.to_string(),
            &CPS_THREADS.to_string(),
        ],
    );
    let said = String::from_utf8_lossy(&out.stdout);
    let nums: Vec<f64> = said
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    let [ok, failed, secs] = nums[..] else {
        return Err(format!("the connection client said: {said}"));
    };
    m.cps = ok / secs;
    m.cps_failed = failed as u64;

    let mut drops = Vec::new();
    for (ns, dev) in [
        (&t.client, "c0"),
        (&t.fw, "fc"),
        (&t.fw, "fs"),
        (&t.server, "s0"),
    ] {
        for counter in ["rx_dropped", "tx_dropped"] {
            let n = t.counter(ns, dev, counter);
            if n > 0 {
                drops.push(format!("{dev} {counter} {n}"));
            }
        }
    }
    m.if_drops = if drops.is_empty() {
        "none".to_string()
    } else {
        drops.join(", ")
    };
    if fw == Fw::Kernel {
        m.kernel_ct = Some(kernel_ct_stats(
            &t.read(&t.fw, "/proc/net/stat/nf_conntrack"),
        ));
    }
    if fw == Fw::Brickwall {
        let st = t.stop("brickwall");
        let log = t.log("brickwall");
        if !st.is_some_and(|s| s.success()) {
            return Err(format!(
                "brickwall did not exit cleanly on SIGTERM ({st:?}):\n{log}"
            ));
        }
        m.summary = Some(log);
    }
    Ok(m)
}

/// The kernel's conntrack counters worth a look, summed over its CPUs, from the table
/// of hexadecimal columns in `/proc/net/stat/nf_conntrack`.
fn kernel_ct_stats(table: &str) -> String {
    let mut lines = table.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split_whitespace().collect();
    let mut sums = vec![0u64; header.len()];
    for l in lines {
        for (sum, v) in sums.iter_mut().zip(l.split_whitespace()) {
            *sum += u64::from_str_radix(v, 16).unwrap_or(0);
        }
    }
    ["invalid", "insert_failed", "drop", "early_drop"]
        .iter()
        .filter_map(|k| {
            let i = header.iter().position(|h| h == k)?;
            Some(format!("{k} {}", sums[i]))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The first two numbers in `s`.
fn two_numbers(s: &str) -> Option<(f64, f64)> {
    let mut it = s.split_whitespace().filter_map(|w| w.parse::<f64>().ok());
    Some((it.next()?, it.next()?))
}

fn self_exe() -> Res<String> {
    std::env::current_exe()
        .map_err(|e| format!("finding the bench binary: {e}"))
        .map(|p| p.display().to_string())
}

fn brickwall_config(datapath: &str, routed: bool) -> String {
    let (router, nat) = if routed {
        (
            format!(
                "  router:\n    addresses: {{fc: [{ROUTER_INSIDE4}/24], fs: [{ROUTER_OUTSIDE4}/24]}}\n"
            ),
            "  - builtin: nat\n    config:\n      chains:\n        - hook: postrouting\n          \
             rules: [{match: {saddr: 10.78.1.0/24}, action: masquerade}]\n",
        )
    } else {
        (String::new(), "")
    };
    format!(
        r#"live:
  interfaces: [fc, fs]
  datapath: {datapath}
{router}plugins:
  - builtin: conntrack
  - builtin: filter
    config:
      chains:
        - hook: forward
          policy: drop
          rules:
            - {{match: {{ct_state: [established, related]}}, action: accept}}
            - {{match: {{ct_state: new, proto: tcp, dport: [{IPERF_PORT}, {CPS_PORT}]}}, action: accept}}
            - {{match: {{ct_state: new, proto: udp, dport: {UDP_PORT}}}, action: accept}}
{nat}"#
    )
}

fn nft_ruleset(routed: bool) -> String {
    let nat = if routed {
        "chain post { type nat hook postrouting priority srcnat; ip saddr 10.78.1.0/24 masquerade; }\n"
    } else {
        ""
    };
    format!(
        "table inet bwbench {{\n\
         chain forward {{ type filter hook forward priority filter; policy drop;\n\
           ct state established,related accept\n\
           ct state new tcp dport {{ {IPERF_PORT}, {CPS_PORT} }} accept\n\
           ct state new udp dport {UDP_PORT} accept\n\
         }}\n{nat}}}\n"
    )
}

/// Starts firewall `fw` in `t`'s firewall namespace: brickwall on `datapath`, once it
/// has opened every port (its control socket appears then), or the kernel's bridge
/// (router, when `routed`).
fn start_firewall(t: &mut Topology, fw: Fw, datapath: &str, routed: bool) {
    match fw {
        Fw::Brickwall => {
            let cfg = t.dir.join("fw.yaml");
            let sock = t.dir.join("control.sock");
            std::fs::write(&cfg, brickwall_config(datapath, routed))
                .unwrap_or_else(|e| panic!("writing {}: {e}", cfg.display()));
            let (c, s) = (cfg.display().to_string(), sock.display().to_string());
            let ns = t.fw.clone();
            t.spawn(
                "brickwall",
                &ns,
                &[
                    env!("CARGO_BIN_EXE_brickwall"),
                    "run",
                    "--config",
                    &c,
                    "--control",
                    &s,
                ],
            );
            t.wait_for_file(&sock, "brickwall", 60);
        }
        Fw::Kernel if routed => t.route_in_kernel(&nft_ruleset(true)),
        Fw::Kernel => t.bridge_in_kernel(&nft_ruleset(false)),
    }
}

/// What brickwall said, for an error about `fw`'s traffic; nothing for the kernel.
fn firewall_log(t: &Topology, fw: Fw) -> String {
    match fw {
        Fw::Brickwall => format!("\nbrickwall said:\n{}", t.log("brickwall")),
        Fw::Kernel => String::new(),
    }
}

/// What a command printed, both streams.
fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

// ---------------------------------------------------------------------------------------
// The traffic programs, run inside the namespaces by re-executing this binary.

fn arg<T: std::str::FromStr>(args: &[String], i: usize, what: &str) -> Res<T> {
    args.get(i)
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| format!("missing or bad argument {i}: {what}"))
}

fn parse_mac(s: &str) -> Res<[u8; 6]> {
    let mut mac = [0u8; 6];
    let parts: Vec<&str> = s.trim().split(':').collect();
    if parts.len() != 6 {
        return Err(format!("not a MAC address: {s:?}"));
    }
    for (b, p) in mac.iter_mut().zip(parts) {
        *b = u8::from_str_radix(p, 16).map_err(|_| format!("not a MAC address: {s:?}"))?;
    }
    Ok(mac)
}

/// The octets of one of the topology's IPv4 addresses.
fn octets(addr: &str) -> [u8; 4] {
    addr.parse::<Ipv4Addr>()
        .unwrap_or_else(|e| panic!("{addr}: {e}"))
        .octets()
}

/// One 60-byte Ethernet/IPv4/UDP frame from `client`'s `sport` to `server`'s UDP_PORT.
fn udp_frame(
    dst: [u8; 6],
    src: [u8; 6],
    client: [u8; 4],
    server: [u8; 4],
    sport: u16,
    id: u16,
) -> [u8; FRAME_LEN] {
    let mut f = [0u8; FRAME_LEN];
    f[0..6].copy_from_slice(&dst);
    f[6..12].copy_from_slice(&src);
    f[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
    let udp_len = (FRAME_LEN - 14 - 20) as u16;
    let ip_len = udp_len + 20;
    {
        let ip = &mut f[14..34];
        ip[0] = 0x45;
        ip[2..4].copy_from_slice(&ip_len.to_be_bytes());
        ip[4..6].copy_from_slice(&id.to_be_bytes());
        ip[8] = 64;
        ip[9] = ip_proto::UDP;
        ip[12..16].copy_from_slice(&client);
        ip[16..20].copy_from_slice(&server);
        let c = checksum::checksum(ip);
        ip[10..12].copy_from_slice(&c.to_be_bytes());
    }
    for (i, b) in f[42..].iter_mut().enumerate() {
        *b = b"brickwall-bench-64"[i % 18];
    }
    f[34..36].copy_from_slice(&sport.to_be_bytes());
    f[36..38].copy_from_slice(&UDP_PORT.to_be_bytes());
    f[38..40].copy_from_slice(&udp_len.to_be_bytes());
    let pseudo = checksum::pseudo_v4(client, server, ip_proto::UDP, udp_len);
    let c = match checksum::finish(checksum::sum(pseudo, &f[34..])) {
        0 => 0xffff,
        c => c,
    };
    f[40..42].copy_from_slice(&c.to_be_bytes());
    f
}

/// `--bw-blast IFACE DST_MAC SECS SRC_IP DST_IP`: writes the FLOWS frames round and
/// round to IFACE through an AF_PACKET socket, SEND_BATCH per `sendmmsg`, for SECS
/// seconds; prints the frames sent and the seconds taken.
fn blast(args: &[String]) -> Res<()> {
    let ifname: String = arg(args, 0, "interface")?;
    let dst = parse_mac(&arg::<String>(args, 1, "destination MAC")?)?;
    let secs: f64 = arg(args, 2, "seconds")?;
    let src = parse_mac(
        &std::fs::read_to_string(format!("/sys/class/net/{ifname}/address"))
            .map_err(|e| format!("{ifname}'s MAC: {e}"))?,
    )?;
    let cname = std::ffi::CString::new(ifname.clone()).map_err(|e| e.to_string())?;
    // SAFETY: a NUL-terminated name.
    let index = unsafe { libc::if_nametoindex(cname.as_ptr()) };
    if index == 0 {
        return Err(format!("no interface {ifname}"));
    }
    let client = octets(&arg::<String>(args, 3, "source address")?);
    let server = octets(&arg::<String>(args, 4, "destination address")?);
    let frames: Vec<[u8; FRAME_LEN]> = (0..FLOWS)
        .map(|i| udp_frame(dst, src, client, server, FIRST_SPORT + i as u16, i as u16))
        .collect();

    // Protocol 0: the socket only sends, it is handed no frames.
    // SAFETY: plain socket(2).
    let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(format!(
            "AF_PACKET socket: {}",
            std::io::Error::last_os_error()
        ));
    }
    // SAFETY: sockaddr_ll is plain data; all zeroes is a valid value.
    let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    sll.sll_family = libc::AF_PACKET as u16;
    sll.sll_ifindex = index as i32;
    // SAFETY: binding our socket to a sockaddr_ll of the right size.
    let r = unsafe {
        libc::bind(
            fd,
            &sll as *const libc::sockaddr_ll as *const libc::sockaddr,
            std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    };
    if r < 0 {
        return Err(format!(
            "binding to {ifname}: {}",
            std::io::Error::last_os_error()
        ));
    }
    let sndbuf: libc::c_int = 4 << 20;
    // SAFETY: an int option on our own socket (failure only leaves the default).
    unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_SNDBUFFORCE,
            &sndbuf as *const libc::c_int as *const libc::c_void,
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    let mut iovs: Vec<libc::iovec> = frames
        .iter()
        .map(|f| libc::iovec {
            iov_base: f.as_ptr() as *mut libc::c_void,
            iov_len: FRAME_LEN,
        })
        .collect();
    let mut msgs: Vec<libc::mmsghdr> = iovs
        .iter_mut()
        .map(|iov| {
            // SAFETY: msghdr is plain data; all zeroes is a valid (empty) value.
            let mut h: libc::mmsghdr = unsafe { std::mem::zeroed() };
            h.msg_hdr.msg_iov = iov;
            h.msg_hdr.msg_iovlen = 1;
            h
        })
        .collect();

    let start = Instant::now();
    let limit = Duration::from_secs_f64(secs);
    let (mut sent, mut busy, mut pos) = (0u64, 0u64, 0usize);
    while start.elapsed() < limit {
        let n = SEND_BATCH.min(FLOWS - pos);
        // SAFETY: `msgs[pos..pos + n]` are valid headers whose iovecs point into
        // `frames`, both alive for the call.
        let r = unsafe { libc::sendmmsg(fd, msgs.as_mut_ptr().add(pos), n as u32, 0) };
        if r < 0 {
            let e = std::io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::ENOBUFS) | Some(libc::EAGAIN) | Some(libc::EINTR) => {
                    busy += 1;
                    std::thread::yield_now();
                    continue;
                }
                _ => return Err(format!("sendmmsg on {ifname}: {e}")),
            }
        }
        sent += r as u64;
        pos = (pos + r as usize) % FLOWS;
    }
    let took = start.elapsed().as_secs_f64();
    // SAFETY: closing our own descriptor.
    unsafe { libc::close(fd) };
    println!("{sent} {took:.6} (frames sent, seconds; {busy} sends refused as busy)");
    Ok(())
}

/// `--bw-count IFACE COUNTER WARM WINDOW`: after WARM seconds, counts the growth of
/// IFACE's COUNTER (`rx_packets`, `tx_packets`, ...) for WINDOW seconds; prints it and
/// the exact seconds.
fn count(args: &[String]) -> Res<()> {
    let ifname: String = arg(args, 0, "interface")?;
    let counter: String = arg(args, 1, "counter")?;
    if counter.contains('/') {
        return Err(format!("not a counter: {counter}"));
    }
    let warm: f64 = arg(args, 2, "warm-up seconds")?;
    let window: f64 = arg(args, 3, "window seconds")?;
    let path = format!("/sys/class/net/{ifname}/statistics/{counter}");
    let read = || -> Res<u64> {
        std::fs::read_to_string(&path)
            .map_err(|e| format!("{path}: {e}"))?
            .trim()
            .parse()
            .map_err(|e| format!("{path}: {e}"))
    };
    std::thread::sleep(Duration::from_secs_f64(warm));
    let (a, t0) = (read()?, Instant::now());
    std::thread::sleep(Duration::from_secs_f64(window));
    let (b, took) = (read()?, t0.elapsed());
    println!("{} {:.6}", b.saturating_sub(a), took.as_secs_f64());
    Ok(())
}

/// `--bw-udp-sink PORT`: a bound UDP socket that is never read. Datagrams that find it
/// full are dropped by the kernel without an ICMP error going back through the firewall.
fn udp_sink(args: &[String]) -> Res<()> {
    let port: u16 = arg(args, 0, "port")?;
    let _sock = UdpSocket::bind(("0.0.0.0", port)).map_err(|e| format!("udp/{port}: {e}"))?;
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

/// `--bw-cps-server PORT`: accepts connections and closes each at once (two threads).
fn cps_server(args: &[String]) -> Res<()> {
    let port: u16 = arg(args, 0, "port")?;
    let listener = TcpListener::bind(("0.0.0.0", port)).map_err(|e| format!("tcp/{port}: {e}"))?;
    let second = listener.try_clone().map_err(|e| e.to_string())?;
    let serve = |l: TcpListener| {
        for conn in l.incoming() {
            drop(conn);
        }
    };
    let t = std::thread::spawn(move || serve(second));
    serve(listener);
    let _ = t.join();
    Ok(())
}

/// `--bw-cps-client ADDR SECS THREADS`: THREADS threads each connect to ADDR, wait for
/// the server's FIN and close, over and over for SECS seconds; prints connections
/// completed, attempts failed and the seconds taken.
fn cps_client(args: &[String]) -> Res<()> {
    let addr: SocketAddr = arg(args, 0, "address")?;
    let secs: f64 = arg(args, 1, "seconds")?;
    let threads: usize = arg(args, 2, "threads")?;
    let start = Instant::now();
    let end = start + Duration::from_secs_f64(secs);
    let per_thread: Vec<(u64, u64)> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(move || {
                    let (mut ok, mut failed) = (0u64, 0u64);
                    let mut buf = [0u8; 64];
                    while Instant::now() < end {
                        let done = TcpStream::connect_timeout(&addr, Duration::from_secs(1))
                            .and_then(|mut c| {
                                c.set_read_timeout(Some(Duration::from_secs(1)))?;
                                while c.read(&mut buf)? > 0 {}
                                Ok(())
                            });
                        match done {
                            Ok(()) => ok += 1,
                            Err(_) => failed += 1,
                        }
                    }
                    (ok, failed)
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap_or((0, 0))).collect()
    });
    let took = start.elapsed().as_secs_f64();
    let ok: u64 = per_thread.iter().map(|p| p.0).sum();
    let failed: u64 = per_thread.iter().map(|p| p.1).sum();
    println!("{ok} {failed} {took:.6}");
    Ok(())
}

/// `--bw-connect ADDR SECS`: succeeds once a TCP connection to ADDR works, fails after
/// SECS seconds of trying.
fn connect_probe(args: &[String]) -> Res<()> {
    let addr: SocketAddr = arg(args, 0, "address")?;
    let secs: f64 = arg(args, 1, "seconds")?;
    let end = Instant::now() + Duration::from_secs_f64(secs);
    loop {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(500)) {
            Ok(_) => return Ok(()),
            Err(e) if Instant::now() > end => return Err(format!("{addr}: {e}")),
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}
