//! PPTP behind source NAT, live: as in `live_nat.rs`, a client and a server in network
//! namespaces talk through `brickwall run` bridging them, with the live tests' policy
//! (NEW only to tcp/21, udp/69, tcp/6667, tcp/1723 and ICMP echo; established and
//! related accepted) and the NAT plugin translating the client's address to one nobody
//! owns (the server reaches it through a static neighbour entry pointing at the
//! client's link address, so the bridge carries the answers back).
//!
//! The scripted PNS (client) and PAC (server) of `live_helpers.rs` set up a control
//! connection and an outgoing call, then exchange enhanced GRE keyed by the call ids
//! over raw sockets; the PAC knows the PNS by the translated address, and its call by
//! the id the helper wrote in place of the PNS's (the control connection's translated
//! port). NEW GRE is not in the policy: the PNS's GRE passes only as RELATED to the
//! control connection, and the PAC's, sent to the translated address and the new id,
//! reaches the PNS only when it is translated back as its master. With the pptp helper
//! all of it arrives both ways; without, none does.
//!
//! Then two PNSes behind one address, both from port 40000 and both with call id
//! 0x1234, call one PAC at once through a router ([`Topology::routed`]) masquerading
//! them: brickwall in router mode, and the kernel (nf_nat_pptp) on the same topology.
//! Each call's GRE reaches its own PNS both ways, the PAC gets a distinct call id per
//! call (each control connection's translated port), and the two connection tables,
//! normalised, are equal. Needs root (CI is root) and python3.

mod firewall;

use brickwall_netns::{
    require_tools, Topology, CLIENT4, INSIDE_CLIENT4, OUTSIDE_SERVER4, ROUTER_INSIDE4,
    ROUTER_INSIDE6, ROUTER_OUTSIDE4, ROUTER_OUTSIDE6, SERVER4,
};
use firewall::{brickwall_config, nft_ruleset, require_live, run_brickwall, Fw, Helper, PPTP};
use std::path::{Path, PathBuf};

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
fn list(sock: &Path, what: &[&str]) -> String {
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

/// The hexadecimal number (`0x...`) after `label` in a script's output.
fn hex_after(log: &str, label: &str) -> Option<u16> {
    let rest = log.split(label).nth(1)?;
    let word = rest.split_whitespace().next()?;
    u16::from_str_radix(word.strip_prefix("0x")?, 16).ok()
}

/// The port the PAC sees the control connection from `src` come from: the reply
/// tuple's destination port in its `conntrack -L` line.
fn translated_port(conns: &str, src: &str) -> Option<u16> {
    let line = conns
        .lines()
        .find(|l| l.contains(&format!("src={src} ")) && l.contains("dport=1723 "))?;
    let rest = line.split("sport=1723 dport=").nth(1)?;
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
    let to_pac = count_after(&pac, "call 0x5678 GRE from the PNS:").expect("the PAC's count");
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
    // the client's real address, the reply addressed to the translated one and the
    // call id the PAC got, the control connection's translated port.
    let control = c.conns.lines().find(|l| l.contains("dport=1723 "));
    let control = control.unwrap_or_else(|| panic!("no control connection\n{}", c.logs));
    assert!(
        control.contains("helper=pptp") && control.contains(&format!("dst={PUBLIC4}")),
        "{control}"
    );
    let new = translated_port(&c.conns, CLIENT4).expect("the translated port");
    assert_eq!(
        hex_after(&c.logs, "call 0x5678: the PNS's call id"),
        Some(new),
        "the call id the PAC got\n{}",
        c.logs
    );
    let gre: Vec<&str> = c.conns.lines().filter(|l| l.starts_with("gre")).collect();
    let want = format!(
        "src={CLIENT4} dst={SERVER4} srckey=0x1234 dstkey=0x5678 \
         src={SERVER4} dst={PUBLIC4} srckey=0x5678 dstkey={new:#x} [ASSURED]"
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

/// The second PNS, beside [`INSIDE_CLIENT4`] on the inside subnet.
const INSIDE_CLIENT4_B: &str = "10.78.1.3";
/// The control connections' source port, the same for both PNSes.
const PNS_PORT: &str = "40000";
/// The keys the scripts choose: the PNSes' call id and the PAC's two.
const CHOSEN_KEYS: [&str; 3] = ["0x1234", "0x5678", "0x5679"];

/// brickwall as the router: the live tests' policy with the pptp helper, router mode's
/// addresses, and masquerade of the inside subnet.
fn router_config(datapath: &str, workers: usize) -> String {
    let bridged = brickwall_config(&[PPTP], datapath, workers);
    let live = "live:\n  interfaces: [fc, fs]\n";
    assert!(bridged.contains(live), "the live tests' config changed");
    let routed = bridged.replacen(
        live,
        &format!(
            "live:\n  interfaces: [fc, fs]\n  router:\n    addresses:\n      \
             fc: [{ROUTER_INSIDE4}/24, \"{ROUTER_INSIDE6}/64\"]\n      \
             fs: [{ROUTER_OUTSIDE4}/24, \"{ROUTER_OUTSIDE6}/64\"]\n"
        ),
        1,
    );
    format!(
        "{routed}  - builtin: nat\n    config:\n      chains:\n        - hook: postrouting\n          \
         rules:\n            - match: {{oif: fs, saddr: 10.78.1.0/24}}\n              \
         action: masquerade\n"
    )
}

/// The kernel as the router: the same policy and masquerade in nftables' words.
fn kernel_ruleset() -> String {
    format!(
        "{}table ip bwnat {{\n\
           chain post {{ type nat hook postrouting priority srcnat;\n\
             ip saddr 10.78.1.0/24 masquerade\n\
           }}\n\
         }}\n",
        nft_ruleset(&[PPTP])
    )
}

/// What the two calls did.
struct TwoCalls {
    /// GRE packets that reached the PAC, per call (from the first PNS, the second).
    to_pac: [u32; 2],
    /// GRE packets that reached each PNS.
    to_pns: [u32; 2],
    /// The call id the PAC got in each call.
    pac_got: [u16; 2],
    /// The firewall's connection and expectation tables, both calls up.
    conns: String,
    expects: String,
    logs: String,
}

/// Two PNSes behind the router `fw`, one after the other, each with its call up
/// before the next starts; the tables are read with both calls up.
fn two_calls(tag: &str, fw: Fw) -> TwoCalls {
    require_live();
    require_tools(&["python3"]);
    let mut t = Topology::routed(tag);
    let second = format!("{INSIDE_CLIENT4_B}/24");
    t.exec(&t.client, &["ip", "addr", "add", &second, "dev", "c0"]);
    let sock = match fw {
        Fw::Brickwall(datapath, workers) => {
            run_brickwall(&mut t, &router_config(datapath, workers))
        }
        Fw::Kernel => {
            t.route_in_kernel(&kernel_ruleset());
            t.dir.join("control.sock")
        }
    };
    let dir = t.dir.clone();
    let path = |name: &str| dir.join(name).display().to_string();
    let (client, server) = (t.client.clone(), t.server.clone());
    // The PAC knows both PNSes by the router's outside address.
    t.spawn(
        "pptp-pac",
        &server,
        &[
            "python3",
            "-u",
            PPTP_CALL,
            "pac",
            OUTSIDE_SERVER4,
            ROUTER_OUTSIDE4,
            &path("pac.ready"),
            "2",
        ],
    );
    t.wait_for_file(&dir.join("pac.ready"), "pptp-pac", 15);
    let pnses = [
        ("pptp-pns1", INSIDE_CLIENT4),
        ("pptp-pns2", INSIDE_CLIENT4_B),
    ];
    for (name, addr) in pnses {
        let file = |what: &str| path(&format!("{name}.{what}"));
        t.spawn(
            name,
            &client,
            &[
                "python3",
                "-u",
                PPTP_CALL,
                "pns",
                OUTSIDE_SERVER4,
                &file("called"),
                &file("go"),
                &file("done"),
                &path("release"),
                addr,
                PNS_PORT,
            ],
        );
        t.wait_for_file(&dir.join(format!("{name}.called")), name, 30);
        std::fs::write(dir.join(format!("{name}.go")), b"").expect("go file");
        t.wait_for_file(&dir.join(format!("{name}.done")), name, 30);
    }
    let conns = firewall::list(&t, fw, &sock, "conntrack");
    let expects = firewall::list(&t, fw, &sock, "expect");
    std::fs::write(dir.join("release"), b"").expect("release file");
    let mut logs = String::new();
    let mut ok = true;
    for name in ["pptp-pns1", "pptp-pns2", "pptp-pac"] {
        ok &= t.wait_exit(name, 20).is_some_and(|s| s.success());
        logs += &format!("{name}:\n{}", t.log(name));
    }
    assert!(ok, "{tag}: a PPTP script failed\n{logs}");
    let to_pns = pnses.map(|(name, _)| {
        std::fs::read_to_string(dir.join(format!("{name}.done")))
            .ok()
            .and_then(|d| count_after(&d, "received"))
            .expect("a PNS's count")
    });
    let pac = t.log("pptp-pac");
    let to_pac = ["0x5678", "0x5679"].map(|c| {
        count_after(&pac, &format!("call {c} GRE from the PNS:")).expect("the PAC's count")
    });
    let pac_got = ["0x5678", "0x5679"].map(|c| {
        hex_after(&pac, &format!("call {c}: the PNS's call id")).expect("the call id the PAC got")
    });
    if matches!(fw, Fw::Brickwall(..)) {
        logs += &firewall::stop_brickwall(&mut t);
    }
    logs += &format!("\n{conns}{expects}");
    TwoCalls {
        to_pac,
        to_pns,
        pac_got,
        conns,
        expects,
        logs,
    }
}

/// Checks what both routers must do: each call's GRE both ways, the PAC told each
/// control connection's translated port as the call id, and each call's GRE
/// connection answered on it.
fn check_two_calls(who: &str, c: &TwoCalls) {
    assert_eq!(
        (c.to_pac, c.to_pns),
        ([GRE_PACKETS; 2], [GRE_PACKETS; 2]),
        "{who}: GRE packets (to the PAC, to the PNSes) per call\n{}",
        c.logs
    );
    for (i, (pns, pac_call)) in [(INSIDE_CLIENT4, 0x5678u16), (INSIDE_CLIENT4_B, 0x5679)]
        .into_iter()
        .enumerate()
    {
        let port = translated_port(&c.conns, pns)
            .unwrap_or_else(|| panic!("{who}: no control connection of {pns}\n{}", c.logs));
        assert_eq!(
            c.pac_got[i], port,
            "{who}: the call id the PAC got\n{}",
            c.logs
        );
        let want = format!(
            "src={pns} dst={OUTSIDE_SERVER4} srckey=0x1234 dstkey={pac_call:#x} \
             src={OUTSIDE_SERVER4} dst={ROUTER_OUTSIDE4} srckey={pac_call:#x} dstkey={port:#x}"
        );
        assert!(
            c.conns
                .lines()
                .any(|l| l.starts_with("gre") && l.contains(&want)),
            "{who}: no GRE connection {want}\n{}",
            c.logs
        );
    }
    assert_ne!(
        c.pac_got[0], c.pac_got[1],
        "{who}: one call id for both calls"
    );
}

/// The PPTP part of a connection table, normalised, GRE keys other than those the
/// scripts chose (the new call ids, which are ports) as `*`.
fn pptp_table(conns: &str) -> Vec<String> {
    firewall::normalized(conns)
        .into_iter()
        .filter(|l| l.starts_with("gre ") || l.contains("dport=1723 "))
        .map(|l| {
            l.split(' ')
                .map(|tok| match tok.split_once('=') {
                    Some((k @ ("srckey" | "dstkey"), v)) if !CHOSEN_KEYS.contains(&v) => {
                        format!("{k}=*")
                    }
                    _ => tok.to_string(),
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

#[test]
fn two_pnses_with_one_call_id_behind_one_address_as_the_kernel_does() {
    let kernel = two_calls("pp2k", Fw::Kernel);
    check_two_calls("the kernel", &kernel);
    let ours = two_calls("pp2b", Fw::Brickwall("pnet", 1));
    check_two_calls("brickwall", &ours);
    assert_eq!(
        pptp_table(&ours.conns),
        pptp_table(&kernel.conns),
        "the PPTP connections differ (brickwall's, then the kernel's)\n{}\n{}",
        ours.logs,
        kernel.logs
    );
    assert_eq!(
        firewall::normalized_expects(&ours.expects),
        firewall::normalized_expects(&kernel.expects),
        "the expectations differ"
    );
}
