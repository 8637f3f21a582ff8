//! Router mode, live: the client and the server on two subnets ([`Topology::routed`]),
//! `brickwall run` routing between them as a masquerading gateway, and the kernel doing
//! the same on the same topology (forwarding on, nft nat chains with masquerade and a
//! port forward, the kernel's helpers) with the live tests' filter policy.
//!
//! The server has no route back to the inside subnet: only connections translated to
//! the router's outside address are answered. Both routers go through the same
//! scenarios and must agree on every outcome, which is also the expected one: ping
//! through the router (TTL one lower on arrival) and to the router itself; the ICMP
//! errors a router sends (time exceeded for a TTL of 1, fragmentation needed / packet
//! too big toward a smaller MTU, network unreachable without a route, host unreachable
//! when a neighbour never answers); a datagram without DF fragmented toward the smaller
//! MTU; FTP in all four modes over IPv4 and two over IPv6
//! (NAT66), TFTP, an IRC DCC SEND and an SNMPv2c trap (net-snmp's snmptrap to
//! snmptrapd, the client's address in it rewritten to the router's) through the helpers;
//! a port forward from
//! outside to a web server inside; and the router's own traffic (brickwall's host side
//! is a TAP device): a web server on the router's inside address, a ping from the
//! router. At the end their connection tables, normalised, are
//! equal. Without helpers, the helper-dependent transfers fail through brickwall.
//! Needs root (CI is root), vsftpd, tftpd-hpa, ngircd, snmptrap, snmptrapd, python3 and
//! curl.

mod firewall;

use brickwall_netns::{
    require_tools, Topology, INSIDE_CLIENT4, INSIDE_CLIENT6, OUTSIDE_SERVER4, OUTSIDE_SERVER6,
    ROUTER_INSIDE4, ROUTER_INSIDE6, ROUTER_OUTSIDE4, ROUTER_OUTSIDE6,
};
use firewall::{
    brickwall_config, make_file, nft_ruleset, require_live, Fw, Helper, FTP, IRC, SNMP_TRAP, TFTP,
};
use std::path::PathBuf;

/// The outside link's MTU (the inside keeps 1500).
const OUTSIDE_MTU: &str = "1280";

/// The port forward: the router's outside address at this port reaches the web server
/// inside at port 21 (a port the filter lets NEW connections through to).
const FORWARDED_PORT: u16 = 2121;

/// brickwall as the router: the live section of router mode, the live tests' policy,
/// and NAT (the port forward at prerouting, masquerade of the inside subnets at
/// postrouting, to the output interface's address, of each family, that the engine
/// gives the NAT plugin).
fn router_config(helpers: &[Helper], datapath: &str, workers: usize) -> String {
    let routed = routed(brickwall_config(helpers, datapath, workers));
    format!(
        r#"{routed}  - builtin: nat
    config:
      chains:
        - hook: prerouting
          rules:
            - match: {{daddr: {ROUTER_OUTSIDE4}, proto: tcp, dport: {FORWARDED_PORT}}}
              action: {{dnat: {{to: "{INSIDE_CLIENT4}:21"}}}}
        - hook: postrouting
          rules:
            - match: {{oif: fs, saddr: [10.78.1.0/24, "fd78:1::/64"]}}
              action: masquerade
"#
    )
}

/// The live tests' bridge config made a router's: its addresses on each side, and a
/// TAP for the local paths.
fn routed(bridged: String) -> String {
    let live = "live:\n  interfaces: [fc, fs]\n";
    assert!(bridged.contains(live), "the live tests' config changed");
    bridged.replacen(
        live,
        &format!(
            "live:\n  interfaces: [fc, fs]\n  tap: {{name: bwhost}}\n  router:\n    addresses:\n      \
             fc: [{ROUTER_INSIDE4}/24, \"{ROUTER_INSIDE6}/64\"]\n      \
             fs: [{ROUTER_OUTSIDE4}/24, \"{ROUTER_OUTSIDE6}/64\"]\n"
        ),
        1,
    )
}

/// The kernel as the router: the same policy and translations in nftables' words.
fn kernel_ruleset(helpers: &[Helper]) -> String {
    format!(
        "{}table inet bwnat {{\n\
           chain pre {{ type nat hook prerouting priority dstnat;\n\
             ip daddr {ROUTER_OUTSIDE4} tcp dport {FORWARDED_PORT} dnat ip to {INSIDE_CLIENT4}:21\n\
           }}\n\
           chain post {{ type nat hook postrouting priority srcnat;\n\
             ip saddr 10.78.1.0/24 masquerade\n\
             ip6 saddr fd78:1::/64 masquerade\n\
           }}\n\
         }}\n",
        nft_ruleset(helpers)
    )
}

/// A routed topology with one of the routers running and the peers started.
struct Run {
    t: Topology,
    fw: Fw,
    sock: PathBuf,
    big: Vec<u8>,
    small: Vec<u8>,
    page: Vec<u8>,
}

impl Run {
    /// With `ruleset`, brickwall reads the kernel's own ruleset ([`kernel_ruleset`],
    /// through `--ruleset`: the filter its filter chains, NAT its nat chains) in place
    /// of its YAML chains.
    fn start(tag: &str, fw: Fw, helpers: &[Helper], ruleset: bool) -> Run {
        require_live();
        require_tools(&["ngircd", "python3"]);
        let mut t = Topology::routed(tag);
        for (ns, dev) in [(&t.fw, "fs"), (&t.server, "s0")] {
            t.exec(ns, &["ip", "link", "set", dev, "mtu", OUTSIDE_MTU]);
        }
        let sock = match fw {
            Fw::Brickwall(datapath, workers) => {
                let sock = if ruleset {
                    let rules = t.dir.join("kernel.nft");
                    std::fs::write(&rules, kernel_ruleset(helpers)).expect("ruleset");
                    let rules = rules.display().to_string();
                    let config = routed(firewall::brickwall_config_for_ruleset(
                        helpers, datapath, workers,
                    ));
                    firewall::run_brickwall_with(&mut t, &config, &["--ruleset", &rules])
                } else {
                    let config = router_config(helpers, datapath, workers);
                    firewall::run_brickwall(&mut t, &config)
                };
                firewall::assert_only_network_capabilities(&t);
                sock
            }
            Fw::Kernel => {
                t.route_in_kernel(&kernel_ruleset(helpers));
                t.dir.join("control.sock")
            }
        };
        let (big, small) = firewall::serve_files(&mut t, 2 * 1024 * 1024 + 5, 100 * 1024 + 9);
        t.start_ngircd_on(OUTSIDE_SERVER4);
        // A trap receiver outside, which logs every trap with its agent address.
        require_tools(&["snmptrap", "snmptrapd"]);
        let conf = t.dir.join("snmptrapd.conf");
        std::fs::write(&conf, "disableAuthorization yes\n").expect("snmptrapd.conf");
        let (server, log) = (t.server.clone(), t.dir.join("traps.log"));
        let (conf, log) = (conf.display().to_string(), log.display().to_string());
        let listen = format!("{OUTSIDE_SERVER4}:162");
        t.spawn(
            "snmptrapd",
            &server,
            &[
                "snmptrapd",
                "-f",
                "-n",
                "-C",
                "-c",
                &conf,
                "-m",
                "",
                "-Lf",
                &log,
                &listen,
            ],
        );
        t.wait_for_listener(&server, "udp", 162, "snmptrapd");
        // The web server inside, behind the port forward.
        let web_root = t.dir.join("web");
        std::fs::create_dir_all(&web_root).expect("web root");
        let page = make_file(&web_root.join("page.bin"), 200 * 1024 + 3);
        let (client, web) = (t.client.clone(), web_root.display().to_string());
        t.spawn(
            "web",
            &client,
            &[
                "python3",
                "-m",
                "http.server",
                "21",
                "--bind",
                INSIDE_CLIENT4,
                "--directory",
                &web,
            ],
        );
        t.wait_for_listener(&client, "tcp", 21, "web");
        // A service of the router itself, on its inside address: through brickwall's
        // INPUT to the host's side (its TAP), as the kernel's own.
        let fw_ns = t.fw.clone();
        t.spawn(
            "router-web",
            &fw_ns,
            &[
                "python3",
                "-m",
                "http.server",
                "8080",
                "--bind",
                ROUTER_INSIDE4,
                "--directory",
                &web,
            ],
        );
        t.wait_for_listener(&fw_ns, "tcp", 8080, "router-web");
        Run {
            t,
            fw,
            sock,
            big,
            small,
            page,
        }
    }

    /// A ping from the client, and what it printed.
    fn ping(&self, args: &[&str]) -> (bool, String) {
        let o = self
            .t
            .try_exec(&self.t.client, &[&["ping", "-n"][..], args].concat());
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        (o.status.success(), text)
    }

    /// Each scenario's name and whether it went as a router makes it go.
    fn scenarios(&mut self) -> Vec<(&'static str, bool)> {
        let mut r = Vec::new();
        let (ok, text) = self.ping(&["-c", "2", "-W", "3", OUTSIDE_SERVER4]);
        r.push(("ping through, TTL 63", ok && text.contains("ttl=63")));
        let (ok, text) = self.ping(&["-6", "-c", "2", "-W", "3", OUTSIDE_SERVER6]);
        r.push((
            "ping -6 through, hop limit 63",
            ok && text.contains("ttl=63"),
        ));
        r.push((
            "ping the router",
            self.ping(&["-c", "1", "-W", "3", ROUTER_INSIDE4]).0,
        ));
        r.push((
            "ping -6 the router",
            self.ping(&["-6", "-c", "1", "-W", "3", ROUTER_INSIDE6]).0,
        ));
        let (_, text) = self.ping(&["-c", "1", "-W", "3", "-t", "1", OUTSIDE_SERVER4]);
        r.push((
            "TTL 1: time exceeded",
            text.contains(&format!("From {ROUTER_INSIDE4}"))
                && text.contains("Time to live exceeded"),
        ));
        let (_, text) = self.ping(&["-6", "-c", "1", "-W", "3", "-t", "1", OUTSIDE_SERVER6]);
        r.push((
            "hop limit 1: time exceeded",
            text.contains(&format!("From {ROUTER_INSIDE6}")) && text.contains("Time exceeded"),
        ));
        let (_, text) = self.ping(&[
            "-c",
            "1",
            "-W",
            "3",
            "-M",
            "do",
            "-s",
            "1400",
            OUTSIDE_SERVER4,
        ]);
        r.push((
            "DF over a smaller MTU: fragmentation needed",
            text.contains("Frag needed") && text.contains(&format!("mtu = {OUTSIDE_MTU}")),
        ));
        r.push((
            "no DF over a smaller MTU: fragmented",
            self.ping(&[
                "-c",
                "2",
                "-W",
                "3",
                "-M",
                "dont",
                "-s",
                "1400",
                OUTSIDE_SERVER4,
            ])
            .0,
        ));
        let (_, text) = self.ping(&["-6", "-c", "1", "-W", "3", "-s", "1400", OUTSIDE_SERVER6]);
        r.push((
            "IPv6 over a smaller MTU: packet too big",
            text.contains("Packet too big") && text.contains(&format!("mtu={OUTSIDE_MTU}")),
        ));
        let (_, text) = self.ping(&["-c", "1", "-W", "3", "10.99.0.1"]);
        r.push((
            "no route: network unreachable",
            text.contains("Destination Net Unreachable"),
        ));
        let (_, text) = self.ping(&["-6", "-c", "1", "-W", "3", "fd99::1"]);
        r.push((
            "IPv6 no route: unreachable",
            text.contains("Destination unreachable: No route"),
        ));
        let (_, text) = self.ping(&["-c", "1", "-W", "6", "10.78.2.99"]);
        r.push((
            "absent neighbour: host unreachable",
            text.contains("Destination Host Unreachable"),
        ));
        let got = self.t.dir.join("got.bin");
        let url4 = format!("ftp://{OUTSIDE_SERVER4}/big.bin");
        let url6 = format!("ftp://[{OUTSIDE_SERVER6}]/big.bin");
        let cases: [(&'static str, &str, Vec<&str>); 6] = [
            (
                "ftp PORT",
                &url4,
                vec!["-P", INSIDE_CLIENT4, "--disable-eprt"],
            ),
            ("ftp EPRT", &url4, vec!["-P", INSIDE_CLIENT4]),
            ("ftp PASV", &url4, vec!["--disable-epsv"]),
            ("ftp EPSV", &url4, vec![]),
            ("ftp EPRT over NAT66", &url6, vec!["-P", INSIDE_CLIENT6]),
            ("ftp EPSV over NAT66", &url6, vec![]),
        ];
        for (what, url, extra) in &cases {
            let o = firewall::curl(&self.t, url, &got, extra);
            let intact = std::fs::read(&got).is_ok_and(|d| d == self.big);
            assert!(
                !o.status.success() || intact,
                "{what}: curl succeeded but the file differs"
            );
            r.push((*what, o.status.success()));
        }
        let o = firewall::curl(
            &self.t,
            &format!("tftp://{OUTSIDE_SERVER4}/small.bin"),
            &got,
            &[],
        );
        let intact = std::fs::read(&got).is_ok_and(|d| d == self.small);
        r.push(("tftp get", o.status.success() && intact));
        r.push((
            "irc dcc send",
            firewall::dcc_send_behind_nat(&mut self.t, OUTSIDE_SERVER4, INSIDE_CLIENT4),
        ));
        r.push(("snmp trap names the router's address", self.trap()));
        r.push(("port forward from outside", self.forwarded()));
        let got = self.t.dir.join("router.got");
        let o = firewall::curl(
            &self.t,
            &format!("http://{ROUTER_INSIDE4}:8080/page.bin"),
            &got,
            &[],
        );
        let intact = std::fs::read(&got).is_ok_and(|d| d == self.page);
        r.push(("a service on the router", o.status.success() && intact));
        let out = self.t.try_exec(
            &self.t.fw,
            &["ping", "-n", "-c", "2", "-W", "3", OUTSIDE_SERVER4],
        );
        r.push(("the router pings out", out.status.success()));
        r
    }

    /// An SNMPv2c trap from the client naming its own address in a binding: whether the
    /// receiver outside logged the router's address there (the helper rewrote it behind
    /// the masquerade). (An SNMPv1 trap would do for brickwall, but this kernel's
    /// `nf_nat_snmp_basic` drops net-snmp's v1 traps behind NAT; see the helper's doc.)
    fn trap(&self) -> bool {
        let sent = self.t.try_exec(
            &self.t.client,
            &[
                "snmptrap",
                "-v",
                "2c",
                "-c",
                "public",
                "-m",
                "",
                OUTSIDE_SERVER4,
                "",
                ".1.3.6.1.4.1.8072.2.3.1",
                ".1.3.6.1.2.1.1.5.0",
                "a",
                INSIDE_CLIENT4,
            ],
        );
        if !sent.status.success() {
            return false;
        }
        let log = self.t.dir.join("traps.log");
        for _ in 0..30 {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if text.contains("IpAddress: ") {
                return text.contains(&format!("IpAddress: {ROUTER_OUTSIDE4}"))
                    && !text.contains(INSIDE_CLIENT4);
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        false
    }

    /// A download from the server's side through the port forward.
    fn forwarded(&self) -> bool {
        let got = self.t.dir.join("page.got");
        let _ = std::fs::remove_file(&got);
        let url = format!("http://{ROUTER_OUTSIDE4}:{FORWARDED_PORT}/page.bin");
        let out = got.display().to_string();
        let o = self.t.try_exec(
            &self.t.server,
            &[
                "curl",
                "-sS",
                "--connect-timeout",
                "4",
                "--max-time",
                "10",
                "-o",
                &out,
                &url,
            ],
        );
        o.status.success() && std::fs::read(&got).is_ok_and(|d| d == self.page)
    }

    /// The router's connection table, normalised and sorted.
    fn table(&self) -> Vec<String> {
        firewall::normalized(&firewall::list(&self.t, self.fw, &self.sock, "conntrack"))
    }

    /// The router's expectation table, normalised and sorted.
    fn expects(&self) -> Vec<String> {
        firewall::normalized_expects(&firewall::list(&self.t, self.fw, &self.sock, "expect"))
    }
}

fn failed(got: &[(&'static str, bool)]) -> Vec<&'static str> {
    got.iter().filter(|(_, ok)| !ok).map(|(w, _)| *w).collect()
}

#[test]
fn brickwall_routes_and_masquerades_as_the_kernel_does() {
    as_the_kernel("rtk", "rtb", false);
}

/// The same with brickwall reading the kernel's own ruleset, nat chains and all.
#[test]
fn brickwall_with_the_kernels_ruleset_routes_and_masquerades_as_the_kernel_does() {
    as_the_kernel("rsk", "rsb", true);
}

/// The kernel's router and brickwall's (from its YAML chains, or with `ruleset` from
/// the kernel's ruleset) pass every scenario, with equal connection and expectation
/// tables.
fn as_the_kernel(kernel_tag: &str, our_tag: &str, ruleset: bool) {
    let mut kernel = Run::start(kernel_tag, Fw::Kernel, &[FTP, TFTP, IRC, SNMP_TRAP], false);
    let by_kernel = kernel.scenarios();
    let kernel_table = kernel.table();
    let kernel_expects = kernel.expects();
    drop(kernel);
    let mut ours = Run::start(
        our_tag,
        Fw::Brickwall("pnet", 1),
        &[FTP, TFTP, IRC, SNMP_TRAP],
        ruleset,
    );
    let by_brickwall = ours.scenarios();
    let our_table = ours.table();
    let our_expects = ours.expects();
    let tables = |t: &Topology| {
        String::from_utf8_lossy(&t.exec(&t.fw, &["nft", "list", "tables"]).stdout).into_owned()
    };
    let running = tables(&ours.t);
    let log = firewall::stop_brickwall(&mut ours.t);
    // The kernel's stack is kept off the routed ports while the engine runs, and the
    // table doing it goes with the engine.
    assert!(
        running.contains("table netdev brickwall-router"),
        "{running}"
    );
    let after = tables(&ours.t);
    assert!(!after.contains("brickwall-router"), "left behind: {after}");
    assert!(
        failed(&by_kernel).is_empty(),
        "the kernel router failed: {:?}",
        failed(&by_kernel)
    );
    assert!(
        failed(&by_brickwall).is_empty(),
        "brickwall's router failed: {:?}\n{}\n{log}",
        failed(&by_brickwall),
        our_table.join("\n")
    );
    assert_eq!(
        our_table, kernel_table,
        "the connection tables differ (brickwall's, then the kernel's)"
    );
    assert_eq!(
        our_expects, kernel_expects,
        "the expectation tables differ (brickwall's, then the kernel's)"
    );
    // The router's own work shows in its summary.
    for reason in [
        "route-ttl-exceeded",
        "route-too-big",
        "route-no-route",
        "live-neighbour-unreachable",
    ] {
        assert!(log.contains(reason), "no {reason} drops counted:\n{log}");
    }
}

#[test]
fn without_helpers_the_helper_dependent_transfers_fail_through_the_router() {
    // The rings and two workers per interface here (the other test: pnet, one each).
    let mut run = Run::start("rtn", Fw::Brickwall("tpacket-v2", 2), &[], false);
    let got = run.scenarios();
    firewall::stop_brickwall(&mut run.t);
    let helper_dependent = [
        "ftp PORT",
        "ftp EPRT",
        "ftp PASV",
        "ftp EPSV",
        "ftp EPRT over NAT66",
        "ftp EPSV over NAT66",
        "tftp get",
        "irc dcc send",
        "snmp trap names the router's address",
    ];
    let failing = failed(&got);
    assert_eq!(failing, helper_dependent, "what failed without helpers");
}
