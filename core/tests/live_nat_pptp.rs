//! PPTP behind source NAT, live: as in `live_nat.rs`, a client and a server in network
//! namespaces talk through `brickwall run` bridging them, with the live tests' policy
//! (NEW only to tcp/21, udp/69, tcp/6667, tcp/1723 and ICMP echo; established and
//! related accepted) and the NAT plugin translating the client's address to one nobody
//! owns (the server reaches it through a static neighbour entry pointing at the
//! client's link address, so the bridge carries the answers back).
//!
//! The scripted PNS (client) and PAC (server) of `live_helpers.rs` set up a control
//! connection and an outgoing call, then exchange enhanced GRE keyed by the call ids
//! over raw sockets; the PAC knows the PNS by the translated address. NEW GRE is not
//! in the policy: the PNS's GRE passes only as RELATED to the control connection, and
//! the PAC's, sent to the translated address, reaches the PNS only when it is
//! translated back as its master (follow-master). With the pptp helper all of it
//! arrives both ways; without, none does. Needs root (CI is root) and python3.

mod firewall;

use brickwall_netns::{require_tools, Topology, CLIENT4, SERVER4};
use firewall::{brickwall_config, require_live, run_brickwall, Helper, PPTP};
use std::path::PathBuf;

/// The address the client's connections leave with: in the subnet, owned by nobody.
const PUBLIC4: &str = "10.77.0.100";
/// The client's link address, set so the server's neighbour entry can name it.
const CLIENT_MAC: &str = "02:77:00:00:00:01";
/// A PPTP control connection, call and GRE, PAC and PNS (see the script's docstring).
const PPTP_CALL: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/live/pptp_call.py"
);
/// The GRE packets each side of the call sends.
const GRE_PACKETS: u32 = 5;

/// What one call did.
struct Call {
    /// GRE packets that reached the PAC (from the PNS) and the PNS (from the PAC).
    to_pac: u32,
    to_pns: u32,
    /// The firewall's tables once the GRE went both ways, the call still up.
    conns: String,
    expects: String,
    /// Everything worth showing when it fails.
    logs: String,
}

/// `brickwall ct -L [expect]`, as conntrack prints it.
fn list(sock: &std::path::Path, what: &[&str]) -> String {
    let mut args = vec!["ct", "--socket", sock.to_str().expect("utf-8"), "-L"];
    args.extend_from_slice(what);
    let o = std::process::Command::new(firewall::brickwall())
        .args(&args)
        .output()
        .expect("brickwall ct");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The number after `label` in a script's output.
fn count_after(log: &str, label: &str) -> Option<u32> {
    let rest = log.split(label).nth(1)?;
    rest.split_whitespace().next()?.parse().ok()
}

/// One PPTP call from the client, translated to [`PUBLIC4`], to the server.
fn call(tag: &str, helpers: &[Helper]) -> Call {
    require_live();
    require_tools(&["python3"]);
    let mut t = Topology::new(tag);
    t.exec(
        &t.client,
        &["ip", "link", "set", "c0", "address", CLIENT_MAC],
    );
    t.exec(
        &t.server,
        &[
            "ip",
            "neigh",
            "replace",
            PUBLIC4,
            "lladdr",
            CLIENT_MAC,
            "dev",
            "s0",
            "nud",
            "permanent",
        ],
    );
    let config = format!(
        "{}  - builtin: nat\n    config:\n      chains:\n        - hook: postrouting\n          \
         rules:\n            - match: {{saddr: {CLIENT4}}}\n              \
         action: {{snat: {{to: {PUBLIC4}}}}}\n",
        brickwall_config(helpers, "pnet", 1)
    );
    let sock: PathBuf = run_brickwall(&mut t, &config);
    let dir = t.dir.clone();
    let path = |name: &str| dir.join(name).display().to_string();
    let (client, server) = (t.client.clone(), t.server.clone());
    // The PAC knows the PNS by the translated address.
    t.spawn(
        "pptp-pac",
        &server,
        &[
            "python3",
            "-u",
            PPTP_CALL,
            "pac",
            SERVER4,
            PUBLIC4,
            &path("pac.ready"),
        ],
    );
    t.wait_for_file(&dir.join("pac.ready"), "pptp-pac", 15);
    t.spawn(
        "pptp-pns",
        &client,
        &[
            "python3",
            "-u",
            PPTP_CALL,
            "pns",
            SERVER4,
            &path("pns.called"),
            &path("pns.go"),
            &path("pns.done"),
            &path("pns.release"),
        ],
    );
    t.wait_for_file(&dir.join("pns.called"), "pptp-pns", 30);
    std::fs::write(dir.join("pns.go"), b"").expect("go file");
    t.wait_for_file(&dir.join("pns.done"), "pptp-pns", 30);
    let conns = list(&sock, &[]);
    let expects = list(&sock, &["expect"]);
    std::fs::write(dir.join("pns.release"), b"").expect("release file");
    let pns_ok = t.wait_exit("pptp-pns", 20).is_some_and(|s| s.success());
    let pac_ok = t.wait_exit("pptp-pac", 20).is_some_and(|s| s.success());
    let (pns, pac) = (t.log("pptp-pns"), t.log("pptp-pac"));
    assert!(
        pns_ok && pac_ok,
        "{tag}: a PPTP script failed\nPNS:\n{pns}PAC:\n{pac}"
    );
    let to_pns = std::fs::read_to_string(dir.join("pns.done"))
        .ok()
        .and_then(|d| count_after(&d, "received"))
        .expect("the PNS's count");
    let to_pac = count_after(&pac, "GRE from the PNS:").expect("the PAC's count");
    let summary = firewall::stop_brickwall(&mut t);
    Call {
        to_pac,
        to_pns,
        logs: format!("PNS:\n{pns}PAC:\n{pac}\n{summary}\n{conns}{expects}"),
        conns,
        expects,
    }
}

#[test]
fn with_the_helper_a_pptp_calls_gre_passes_both_ways_behind_snat() {
    let c = call("ppnh", &[PPTP]);
    assert_eq!(
        (c.to_pac, c.to_pns),
        (GRE_PACKETS, GRE_PACKETS),
        "GRE packets (to the PAC, to the PNS) behind SNAT with the helper\n{}",
        c.logs
    );
    // The control connection translated to PUBLIC4, the call's GRE as its master: from
    // the client's real address, the reply addressed to the translated one.
    let control = c.conns.lines().find(|l| l.contains("dport=1723 "));
    let control = control.unwrap_or_else(|| panic!("no control connection\n{}", c.logs));
    assert!(
        control.contains("helper=pptp") && control.contains(&format!("dst={PUBLIC4}")),
        "{control}"
    );
    let gre: Vec<&str> = c.conns.lines().filter(|l| l.starts_with("gre")).collect();
    let want = format!(
        "src={CLIENT4} dst={SERVER4} srckey=0x1234 dstkey=0x5678 \
         src={SERVER4} dst={PUBLIC4} srckey=0x5678 dstkey=0x1234 [ASSURED]"
    );
    assert!(
        gre.len() == 1 && gre[0].contains(&want),
        "GRE connections: {gre:?}\n{}",
        c.logs
    );
    // The first GRE packet took both expectations.
    assert_eq!(c.expects.trim(), "", "expectations left\n{}", c.logs);
}

#[test]
fn without_the_helper_no_gre_passes_behind_snat() {
    let c = call("ppnn", &[]);
    assert_eq!(
        (c.to_pac, c.to_pns),
        (0, 0),
        "GRE packets (to the PAC, to the PNS) behind SNAT without helpers\n{}",
        c.logs
    );
}
