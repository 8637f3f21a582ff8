//! FTP, TFTP, IRC DCC and ping behind NAT, live: as in `live_bridge.rs`, a client and a
//! server in network namespaces talk through `brickwall run` bridging them, with the
//! live tests' policy (NEW only to tcp/21, udp/69, tcp/6667 and ICMP echo; established
//! and related accepted), and here also the NAT plugin:
//!
//! - the client's addresses (IPv4 and IPv6) are translated to ones nobody owns; the
//!   server reaches them through static neighbour entries pointing at the client's
//!   link address, so the bridge carries the answers back;
//! - a port forward: the client reaches the server's FTP port as `DNAT4:2121`, another
//!   unowned address, which the client's neighbour entry points at the server.
//!
//! vsftpd accepts a PORT or EPRT command only for the address the control connection
//! comes from, so the active modes work only when the FTP helper rewrote the command
//! to the translated address; the data connection the server then opens to that
//! address passes only as RELATED and reaches the client only when it is translated as
//! its master (follow-master). Through the port forward the server's passive answer
//! names its own address, which the helper rewrites to the forwarded one. An IRC DCC
//! offer names the sender's address, which the IRC helper rewrites. Passive modes and
//! TFTP need the helpers' expectations as ever. With the helpers every transfer
//! arrives intact; without, none does (ping passes either way). Needs root (CI is
//! root), vsftpd, tftpd-hpa, ngircd, python3 and curl.

mod firewall;

use brickwall_netns::{require_tools, Topology, CLIENT4, CLIENT6, SERVER4, SERVER6};
use firewall::{brickwall_config, require_live, run_brickwall, Helper, FTP, IRC, TFTP};
use std::path::{Path, PathBuf};
use std::process::Output;

/// The address the client's connections leave with: in the subnet, owned by nobody.
const PUBLIC4: &str = "10.77.0.100";
/// The same for IPv6.
const PUBLIC6: &str = "fd77::100";
/// The address the client leaves with after the ruleset changes (SIGHUP).
const PUBLIC4_NEXT: &str = "10.77.0.101";
/// The forwarded address: `DNAT4:2121` reaches the server's port 21.
const DNAT4: &str = "10.77.0.200";
/// The client's link address, set so the server's neighbour entries can name it.
const CLIENT_MAC: &str = "02:77:00:00:00:01";
/// The server's, for the client's entry for the forwarded address.
const SERVER_MAC: &str = "02:77:00:00:00:02";

/// The NAT plugin's section: the client translated at postrouting, the port forward
/// at prerouting.
fn nat_config() -> String {
    format!(
        r#"  - builtin: nat
    config:
      chains:
        - hook: prerouting
          rules:
            - match: {{daddr: {DNAT4}, proto: tcp, dport: 2121}}
              action: {{dnat: {{to: "{SERVER4}:21"}}}}
        - hook: postrouting
          rules:
            - match: {{saddr: {CLIENT4}}}
              action: {{snat: {{to: {PUBLIC4}}}}}
            - match: {{saddr: "{CLIENT6}"}}
              action: {{snat: {{to: "{PUBLIC6}"}}}}
"#
    )
}

/// The same translations as [`nat_config`] as an nftables ruleset (`--ruleset`).
fn nat_ruleset() -> String {
    format!(
        r#"table ip nat {{
    chain prerouting {{
        type nat hook prerouting priority dstnat; policy accept;
        ip daddr {DNAT4} tcp dport 2121 dnat to {SERVER4}:21
    }}
    chain postrouting {{
        type nat hook postrouting priority srcnat; policy accept;
        ip saddr {CLIENT4} snat to {PUBLIC4}
    }}
}}
table ip6 nat6 {{
    chain postrouting {{
        type nat hook postrouting priority srcnat; policy accept;
        ip6 saddr {CLIENT6} snat to {PUBLIC6}
    }}
}}
"#
    )
}

/// A running topology with brickwall translating the client.
struct Run {
    t: Topology,
    sock: PathBuf,
    big: Vec<u8>,
    small: Vec<u8>,
}

impl Run {
    /// With `ruleset`, the translations come from [`nat_ruleset`] (which the real
    /// `nft -c` takes first) through `--ruleset`, else from [`nat_config`].
    fn start(tag: &str, helpers: &[Helper], ruleset: bool) -> Run {
        require_live();
        require_tools(&["ngircd", "python3"]);
        let mut t = Topology::new(tag);
        let link = |ns: &str, dev: &str, mac: &str| {
            t.exec(ns, &["ip", "link", "set", dev, "address", mac]);
        };
        link(&t.client, "c0", CLIENT_MAC);
        link(&t.server, "s0", SERVER_MAC);
        let neigh = |ns: &str, dev: &str, addr: &str, mac: &str| {
            let args = ["ip", "neigh", "replace", addr, "lladdr", mac, "dev", dev];
            t.exec(ns, &[&args[..], &["nud", "permanent"]].concat());
        };
        neigh(&t.server, "s0", PUBLIC4, CLIENT_MAC);
        neigh(&t.server, "s0", PUBLIC6, CLIENT_MAC);
        neigh(&t.client, "c0", DNAT4, SERVER_MAC);
        let sock = if ruleset {
            let rules = t.dir.join("nat.nft");
            std::fs::write(&rules, nat_ruleset()).expect("ruleset");
            let rules = rules.display().to_string();
            t.exec(&t.fw.clone(), &["nft", "-c", "-f", &rules]);
            let config = brickwall_config(helpers, "pnet", 1);
            firewall::run_brickwall_with(&mut t, &config, &["--ruleset", &rules])
        } else {
            let config = format!("{}{}", brickwall_config(helpers, "pnet", 1), nat_config());
            run_brickwall(&mut t, &config)
        };
        let (big, small) = firewall::serve_files(&mut t, 2 * 1024 * 1024 + 5, 100 * 1024 + 9);
        t.start_ngircd();
        Run {
            t,
            sock,
            big,
            small,
        }
    }

    fn curl(&self, url: &str, out: &Path, extra: &[&str]) -> Output {
        firewall::curl(&self.t, url, out, extra)
    }

    /// Each scenario's name and whether it passed (a file arrived intact, a ping was
    /// answered).
    fn scenarios(&mut self) -> Vec<(&'static str, bool)> {
        let got = self.t.dir.join("got.bin");
        let url4 = format!("ftp://{SERVER4}/big.bin");
        let url6 = format!("ftp://[{SERVER6}]/big.bin");
        let forwarded = format!("ftp://{DNAT4}:2121/big.bin");
        let cases: [(&'static str, &str, Vec<&str>); 10] = [
            ("ftp PORT", &url4, vec!["-P", CLIENT4, "--disable-eprt"]),
            ("ftp EPRT", &url4, vec!["-P", CLIENT4]),
            ("ftp PASV", &url4, vec!["--disable-epsv"]),
            ("ftp EPSV", &url4, vec![]),
            ("ftp EPRT over NAT66", &url6, vec!["-P", CLIENT6]),
            ("ftp EPSV over NAT66", &url6, vec![]),
            ("forwarded ftp PASV", &forwarded, vec!["--disable-epsv"]),
            ("forwarded ftp EPSV", &forwarded, vec![]),
            (
                "forwarded ftp PORT",
                &forwarded,
                vec!["-P", CLIENT4, "--disable-eprt"],
            ),
            ("forwarded ftp EPRT", &forwarded, vec!["-P", CLIENT4]),
        ];
        let mut r = Vec::new();
        let t = &self.t;
        let ping = |args: &[&str]| t.try_exec(&t.client, args).status.success();
        r.push(("ping", ping(&["ping", "-c", "2", "-W", "3", SERVER4])));
        r.push((
            "ping -6",
            ping(&["ping", "-6", "-c", "2", "-W", "3", SERVER6]),
        ));
        for (what, url, extra) in &cases {
            let o = self.curl(url, &got, extra);
            let intact = std::fs::read(&got).is_ok_and(|d| d == self.big);
            assert!(
                !o.status.success() || intact,
                "{what}: curl succeeded but the file differs"
            );
            r.push((*what, o.status.success()));
        }
        let o = self.curl(&format!("tftp://{SERVER4}/small.bin"), &got, &[]);
        let intact = std::fs::read(&got).is_ok_and(|d| d == self.small);
        r.push(("tftp get", o.status.success() && intact));
        r.push((
            "irc dcc send",
            firewall::dcc_send_behind_nat(&mut self.t, SERVER4, CLIENT4),
        ));
        r
    }

    /// `brickwall ct -L`, as conntrack prints it.
    fn table(&self) -> String {
        let o = std::process::Command::new(firewall::brickwall())
            .args(["ct", "--socket", self.sock.to_str().expect("utf-8"), "-L"])
            .output()
            .expect("brickwall ct");
        String::from_utf8_lossy(&o.stdout).into_owned()
    }
}

#[test]
fn with_helpers_ftp_tftp_and_irc_dcc_pass_behind_snat_nat66_and_a_port_forward() {
    with_helpers("nath", false);
}

/// The same with the translations from an nftables ruleset (`--ruleset`).
#[test]
fn with_helpers_the_same_passes_with_the_nat_chains_of_an_nft_ruleset() {
    with_helpers("natr", true);
}

/// Every scenario passes behind NAT with the helpers, and the table lists the
/// translated control connections as the kernel would.
fn with_helpers(tag: &str, ruleset: bool) {
    let mut run = Run::start(tag, &[FTP, TFTP, IRC], ruleset);
    let got = run.scenarios();
    let failed: Vec<&str> = got.iter().filter(|(_, ok)| !ok).map(|(w, _)| *w).collect();
    let table = run.table();
    assert!(
        failed.is_empty(),
        "failed behind NAT with helpers: {failed:?}\n{table}\n{}\n{}",
        run.t.log("dcc-send"),
        run.t.log("dcc-recv")
    );
    // The FTP control connections as the kernel would list them: translated, and the
    // port forward's with the helper of the port it really goes to.
    let has = |words: &[String]| {
        table
            .lines()
            .any(|l| words.iter().all(|w| l.contains(w.as_str())))
    };
    let ftp = "helper=ftp".to_string();
    for line in [
        vec![
            format!("src={SERVER4} dst={PUBLIC4} sport=21 "),
            ftp.clone(),
        ],
        vec![
            format!("src={SERVER6} dst={PUBLIC6} sport=21 "),
            ftp.clone(),
        ],
        vec![
            format!("dst={DNAT4} sport="),
            "dport=2121 ".into(),
            format!("src={SERVER4} dst={PUBLIC4} sport=21 "),
            ftp,
        ],
    ] {
        assert!(has(&line), "{line:?}: {table}");
    }
    firewall::stop_brickwall(&mut run.t);
}

/// SIGHUP reads the ruleset again for NAT as for the filter: once the ruleset names
/// another address, a new connection leaves with it.
#[test]
fn sighup_reads_the_nat_chains_of_the_ruleset_again() {
    let mut run = Run::start("nathup", &[], true);
    let t = &mut run.t;
    let server = t.server.clone();
    t.exec(
        &server,
        &[
            "ip",
            "neigh",
            "replace",
            PUBLIC4_NEXT,
            "lladdr",
            CLIENT_MAC,
            "dev",
            "s0",
            "nud",
            "permanent",
        ],
    );
    let ping = |t: &Topology| {
        t.try_exec(&t.client, &["ping", "-c", "1", "-W", "2", SERVER4])
            .status
            .success()
    };
    assert!(ping(t), "ping before the reload");
    let rules = t.dir.join("nat.nft");
    let before = format!("snat to {PUBLIC4}\n");
    let text = nat_ruleset();
    assert!(text.contains(&before), "{text}");
    std::fs::write(
        &rules,
        text.replace(&before, &format!("snat to {PUBLIC4_NEXT}\n")),
    )
    .expect("the new ruleset");
    let pid = t.pid("brickwall").expect("the engine runs") as i32;
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(pid, libc::SIGHUP) };
    let end = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !t.log("brickwall").contains("SIGHUP:") {
        assert!(
            std::time::Instant::now() < end,
            "no reload:\n{}",
            t.log("brickwall")
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let log = t.log("brickwall");
    assert!(log.contains("SIGHUP: reloaded"), "{log}");
    assert!(ping(t), "ping after the reload");
    let table = run.table();
    for public in [PUBLIC4, PUBLIC4_NEXT] {
        assert!(
            table.contains(&format!("src={SERVER4} dst={public} ")),
            "no connection translated to {public}:\n{table}"
        );
    }
    firewall::stop_brickwall(&mut run.t);
}

#[test]
fn without_helpers_no_transfer_passes_behind_nat() {
    let mut run = Run::start("natn", &[], false);
    let got = run.scenarios();
    let passed: Vec<&str> = got.iter().filter(|(_, ok)| *ok).map(|(w, _)| *w).collect();
    assert_eq!(passed, ["ping", "ping -6"], "passed without helpers");
    firewall::stop_brickwall(&mut run.t);
}
