//! The IRC, PPTP, SANE and Amanda helpers live, and against the kernel's. As in
//! `live_bridge.rs`, a client and a server in network namespaces talk through a
//! firewall namespace that bridges them, with the policy "drop forwarded NEW unless to
//! tcp/21, udp/69, tcp/6667, tcp/1723, tcp/6566, udp/10080, udp/162 or ICMP echo;
//! accept established and related"; the firewall is either `brickwall run` (with the builtin
//! `irc`, `pptp`, `sane` and `amanda` helpers, or none) or the Linux kernel (a bridge
//! with br_netfilter, nftables, and the kernel's helpers of the same names attached by
//! `ct helper set`, or none).
//!
//! - IRC DCC SEND: ngircd runs in the server namespace; a scripted sender in the client
//!   namespace offers a 1 MB file through it to a scripted receiver in the server
//!   namespace, which then connects back to the sender across the firewall. That
//!   connection is NEW to an unlisted port: it passes only as RELATED to the IRC
//!   connection, when the helper read the offer. With helpers the file arrives intact
//!   on both firewalls; without, the connection times out on both.
//! - PPTP: a scripted PNS (client) and PAC (server) set up a control connection and an
//!   outgoing call, then exchange enhanced GRE keyed by the call ids over raw sockets.
//!   NEW GRE is not in the policy, so it passes only as RELATED to the control
//!   connection: with helpers all of it arrives both ways, without none does.
//! - SANE: Debian's saned (the `test` backend) in the server namespace; a scripted
//!   client starts a scan and holds back once saned named its data port, then fetches
//!   the image; then Debian's scanimage scans through its `net` backend. The data
//!   connections pass only as RELATED.
//! - Amanda: Debian's amandad (the Amanda client) in the server namespace, started as
//!   inetd would; a scripted Amanda server in the client namespace asks it for a
//!   backup, holds back once the answer named the streams' ports, then connects to the
//!   data, message, index and state streams, which pass only as RELATED.
//!
//! The firewalls' connection and expectation tables (`brickwall ct -L [expect]`,
//! `conntrack -L [expect]`), normalized, are compared at several points: while the DCC
//! offer is pending (the receiver holds back) and after the transfer; once the PPTP
//! call is up (the PNS pauses before its GRE), after the GRE, and after the call was
//! cleared; once SANE's data port and Amanda's streams are announced, and after they
//! were used. With and without helpers they must be the same throughout. Needs root
//! (CI is root), ngircd, saned, scanimage, amandad and python3.

mod firewall;

use brickwall_netns::{require_tools, Topology, CLIENT4, SERVER4};
use firewall::{
    make_file, normalized, normalized_expects, related_packets, require_live, Fw, Helper, AMANDA,
    IRC, IRC_DCC, PPTP, SANE,
};
use std::path::PathBuf;
use std::thread::JoinHandle;
use std::time::Duration;

/// brickwall as these tests run it: the simple datapath, one worker per interface.
const BRICKWALL: Fw = Fw::Brickwall("pnet", 1);

/// The helpers these tests need, or none.
fn helpers(on: bool) -> &'static [Helper] {
    if on {
        &[IRC, PPTP, SANE, AMANDA]
    } else {
        &[]
    }
}

/// A PPTP control connection, call and GRE, PAC and PNS (see the script's docstring).
const PPTP_CALL: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/live/pptp_call.py"
);
/// The port the DCC sender offers its file on.
const DCC_PORT: &str = "40123";
/// The GRE packets each side of the PPTP call sends.
const GRE_PACKETS: u32 = 5;
/// A SANE network client that holds back before its data connection (see the
/// script's docstring).
const SANE_SCAN: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/live/sane_scan.py"
);
/// Debian's amandad as inetd runs it (see the script's docstring).
const AMANDAD_INETD: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/live/amandad_inetd.py"
);
/// An Amanda server asking for a backup that holds back before connecting to the
/// streams (see the script's docstring).
const AMANDA_BACKUP: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/live/amanda_backup.py"
);
/// The first of the two ports saned's configuration lets it send image data from.
const SANE_DATA_PORT: u16 = 40100;

/// A topology with its firewall running.
struct Firewall {
    t: Topology,
    fw: Fw,
    /// brickwall's control socket.
    sock: PathBuf,
}

impl Firewall {
    fn start(tag: &str, fw: Fw, with_helpers: bool) -> Firewall {
        require_live();
        require_tools(&["ngircd", "python3"]);
        let mut t = Topology::new(tag);
        let sock = firewall::start(&mut t, fw, helpers(with_helpers));
        Firewall { t, fw, sock }
    }

    /// The firewall's connection table as `conntrack -L` lines.
    fn table(&self) -> String {
        self.list("conntrack")
    }

    /// The firewall's expectation table as `conntrack -L expect` lines.
    fn expectations(&self) -> String {
        self.list("expect")
    }

    fn list(&self, table: &str) -> String {
        firewall::list(&self.t, self.fw, &self.sock, table)
    }

    /// brickwall's summary after SIGTERM (asserting it stopped cleanly); empty for the
    /// kernel.
    fn stop(&mut self) -> String {
        if self.fw == Fw::Kernel {
            return String::new();
        }
        firewall::stop_brickwall(&mut self.t)
    }

    /// A spawned script's exit status (waiting at most `secs`) and its output.
    fn finish(&mut self, name: &str, secs: u64) -> (bool, String) {
        let st = self.t.wait_exit(name, secs);
        (st.is_some_and(|s| s.success()), self.t.log(name))
    }
}

/// A firewall's connection and expectation tables at one moment.
struct Tables {
    /// `conntrack -L`.
    conns: String,
    /// `conntrack -L expect`.
    expects: String,
}

impl Tables {
    /// The connections, normalized and sorted.
    fn conns(&self) -> Vec<String> {
        normalized(&self.conns)
    }

    /// The expectations, normalized and sorted.
    fn expects(&self) -> Vec<String> {
        normalized_expects(&self.expects)
    }
}

impl Firewall {
    fn tables(&self) -> Tables {
        Tables {
            conns: self.table(),
            expects: self.expectations(),
        }
    }
}

/// Runs `f` on each firewall, with and without helpers, all at once, each in its own
/// topology (`prefix` and the case make the tags); returns the results in the order
/// (brickwall, kernel) with helpers, then without.
fn on_every_firewall<R: Send + 'static>(
    prefix: &'static str,
    f: fn(&str, Fw, bool) -> R,
) -> [R; 4] {
    let cases = [
        (BRICKWALL, true),
        (Fw::Kernel, true),
        (BRICKWALL, false),
        (Fw::Kernel, false),
    ];
    let handles: Vec<JoinHandle<R>> = cases
        .iter()
        .map(|&(fw, helpers)| {
            let tag = format!(
                "{prefix}-{}{}",
                if fw == BRICKWALL { "bw" } else { "k" },
                if helpers { "" } else { "0" }
            );
            std::thread::spawn(move || f(&tag, fw, helpers))
        })
        .collect();
    let mut results = Vec::new();
    let mut panic = None;
    for h in handles {
        match h.join() {
            Ok(r) => results.push(r),
            Err(e) => panic = panic.or(Some(e)),
        }
    }
    if let Some(e) = panic {
        std::panic::resume_unwind(e);
    }
    results
        .try_into()
        .unwrap_or_else(|_| unreachable!("four cases"))
}

/// brickwall's summaries with and without helpers: with them, the expected connection's
/// first packet was RELATED (`what` says otherwise); without them, nothing was, and the
/// policy dropped what the helper would have let through.
fn related_with_helpers_only(with_helpers: &str, without: &str, what: &str) {
    assert!(
        related_packets(with_helpers) >= 1,
        "{what}:\n{with_helpers}"
    );
    assert_eq!(related_packets(without), 0, "{without}");
    assert!(
        without.contains("filter-policy-drop"),
        "no policy drops counted:\n{without}"
    );
}

/// "with" or "without", for messages.
fn with(helpers: bool) -> &'static str {
    if helpers {
        "with"
    } else {
        "without"
    }
}

/// Asserts brickwall's normalized connection table is the kernel's.
fn same_conns(when: &str, ours: &Tables, kernel: &Tables) {
    assert_eq!(
        ours.conns(),
        kernel.conns(),
        "{when}: brickwall's table:\n{}\nthe kernel's:\n{}",
        ours.conns,
        kernel.conns
    );
}

/// Asserts brickwall's normalized expectation table is the kernel's.
fn same_expects(when: &str, ours: &Tables, kernel: &Tables) {
    assert_eq!(
        ours.expects(),
        kernel.expects(),
        "{when}: brickwall's expectations:\n{}\nthe kernel's:\n{}",
        ours.expects,
        kernel.expects
    );
}

/// What one DCC SEND through one firewall did.
struct Dcc {
    fw: Fw,
    helpers: bool,
    /// Both sides succeeded and the receiver's copy is the file.
    transferred: bool,
    sender: String,
    receiver: String,
    /// The tables once the receiver had the offer, before it connected.
    offered: Tables,
    /// The tables once both sides were done.
    after: Tables,
    /// brickwall's summary.
    summary: String,
}

/// ngircd in the server namespace; the receiver `bob` next to it (its IRC connection
/// stays in the server namespace), the sender `alice` in the client namespace: its IRC
/// connection crosses the firewall, and so does bob's connection back to its offer.
fn dcc_send(tag: &str, fw: Fw, helpers: bool) -> Dcc {
    let mut f = Firewall::start(tag, fw, helpers);
    f.t.start_ngircd();
    let dir = f.t.dir.clone();
    let path = |name: &str| dir.join(name).display().to_string();
    let data = make_file(&dir.join("file.bin"), 1_000_003);
    let (client, server) = (f.t.client.clone(), f.t.server.clone());
    f.t.spawn(
        "dcc-recv",
        &server,
        &[
            "python3",
            "-u",
            IRC_DCC,
            "recv",
            SERVER4,
            "bob",
            &path("got.bin"),
            &path("bob.ready"),
            &path("bob.offered"),
            &path("bob.go"),
        ],
    );
    f.t.wait_for_file(&dir.join("bob.ready"), "dcc-recv", 15);
    f.t.spawn(
        "dcc-send",
        &client,
        &[
            "python3",
            "-u",
            IRC_DCC,
            "send",
            SERVER4,
            "alice",
            "bob",
            &path("file.bin"),
            CLIENT4,
            DCC_PORT,
        ],
    );
    f.t.wait_for_file(&dir.join("bob.offered"), "dcc-recv", 15);
    let offered = f.tables();
    std::fs::write(dir.join("bob.go"), b"").expect("go file");
    let (sent, sender) = f.finish("dcc-send", 30);
    let (received, receiver) = f.finish("dcc-recv", 30);
    let intact = std::fs::read(dir.join("got.bin")).is_ok_and(|d| d == data);
    assert!(
        !received || intact,
        "{tag}: the receiver said it got the file, but its copy differs"
    );
    // The last ACKs of both closes.
    std::thread::sleep(Duration::from_millis(300));
    let after = f.tables();
    let summary = f.stop();
    Dcc {
        fw,
        helpers,
        transferred: sent && received && intact,
        sender,
        receiver,
        offered,
        after,
        summary,
    }
}

#[test]
fn irc_dcc_send_passes_with_the_helper_and_not_without_as_through_the_kernel() {
    let runs = on_every_firewall("irc", dcc_send);
    for r in &runs {
        let what = format!("DCC SEND through {:?} {} helpers", r.fw, with(r.helpers));
        let logs = format!("sender:\n{}receiver:\n{}", r.sender, r.receiver);
        assert_eq!(r.transferred, r.helpers, "{what}\n{logs}\n{}", r.summary);
        if !r.helpers {
            // Offered and dropped: the receiver got the offer, its SYN went unanswered.
            assert!(
                r.receiver
                    .contains(&format!("{CLIENT4}:{DCC_PORT}: connecting timed out")),
                "{what}: not a connection that timed out\n{logs}"
            );
        }
        // The offer expects a connection from anywhere to the sender's port.
        let want: Vec<String> = if r.helpers {
            vec![format!(
                "proto=6 src=0.0.0.0 dst={CLIENT4} sport=0 dport={DCC_PORT} \
                 mask-src=0.0.0.0 mask-dst=255.255.255.255 sport=0 dport=65535 \
                 master-src={CLIENT4} master-dst={SERVER4} sport=* dport=6667 class=0 \
                 helper=irc"
            )]
        } else {
            Vec::new()
        };
        assert_eq!(r.offered.expects(), want, "{what}: {}", r.offered.expects);
        let irc = r.after.conns.lines().find(|l| l.contains("dport=6667 "));
        let irc = irc.unwrap_or_else(|| panic!("{what}: no IRC connection in\n{}", r.after.conns));
        assert_eq!(irc.contains("helper=irc"), r.helpers, "{what}: {irc}");
        let data = r
            .after
            .conns
            .lines()
            .filter(|l| l.contains(&format!("dport={DCC_PORT} ")))
            .count();
        assert_eq!(
            data,
            usize::from(r.helpers),
            "{what}: DCC connections in\n{}",
            r.after.conns
        );
        assert!(r.after.expects().is_empty(), "{what}: {}", r.after.expects);
    }
    let [ours, kernel, ours_off, kernel_off] = &runs;
    related_with_helpers_only(
        &ours.summary,
        &ours_off.summary,
        "the DCC connection's first packet was not RELATED",
    );
    for (a, b) in [(ours, kernel), (ours_off, kernel_off)] {
        let w = with(a.helpers);
        same_expects(
            &format!("at the offer, {w} helpers"),
            &a.offered,
            &b.offered,
        );
        same_conns(
            &format!("after the transfer, {w} helpers"),
            &a.after,
            &b.after,
        );
        same_expects(
            &format!("after the transfer, {w} helpers"),
            &a.after,
            &b.after,
        );
    }
    same_conns(
        "at the offer, without helpers",
        &ours_off.offered,
        &kernel_off.offered,
    );
    // With the helper too: the pending expectation adds nothing to the IRC
    // connection's use= (use=1), in Linux as in brickwall.
    same_conns("at the offer, with helpers", &ours.offered, &kernel.offered);
}

/// What one PPTP call through one firewall did.
struct Pptp {
    fw: Fw,
    helpers: bool,
    /// GRE packets that reached the PAC (from the PNS) and the PNS (from the PAC).
    to_pac: u32,
    to_pns: u32,
    pac: String,
    pns: String,
    /// The tables once the call was up, before any GRE.
    called: Tables,
    /// The tables after the GRE both ways, the call still up.
    during: Tables,
    /// The tables after the PNS cleared the call and stopped the control connection.
    after: Tables,
    summary: String,
}

/// The number after `label` in a script's output.
fn count_after(log: &str, label: &str) -> Option<u32> {
    let rest = log.split(label).nth(1)?;
    rest.split_whitespace().next()?.parse().ok()
}

/// The PAC in the server namespace, the PNS in the client namespace; the tables are
/// read once the call is up, again after the GRE, and once the PNS cleared the call
/// and stopped the control connection.
fn pptp_call(tag: &str, fw: Fw, helpers: bool) -> Pptp {
    let mut f = Firewall::start(tag, fw, helpers);
    let dir = f.t.dir.clone();
    let path = |name: &str| dir.join(name).display().to_string();
    let (client, server) = (f.t.client.clone(), f.t.server.clone());
    f.t.spawn(
        "pptp-pac",
        &server,
        &[
            "python3",
            "-u",
            PPTP_CALL,
            "pac",
            SERVER4,
            CLIENT4,
            &path("pac.ready"),
        ],
    );
    f.t.wait_for_file(&dir.join("pac.ready"), "pptp-pac", 15);
    f.t.spawn(
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
    f.t.wait_for_file(&dir.join("pns.called"), "pptp-pns", 30);
    let called = f.tables();
    std::fs::write(dir.join("pns.go"), b"").expect("go file");
    f.t.wait_for_file(&dir.join("pns.done"), "pptp-pns", 30);
    let during = f.tables();
    std::fs::write(dir.join("pns.release"), b"").expect("release file");
    let (pns_ok, pns) = f.finish("pptp-pns", 20);
    let (pac_ok, pac) = f.finish("pptp-pac", 20);
    assert!(
        pns_ok && pac_ok,
        "{tag}: a PPTP script failed\nPNS:\n{pns}PAC:\n{pac}"
    );
    let to_pns = std::fs::read_to_string(dir.join("pns.done"))
        .ok()
        .and_then(|d| count_after(&d, "received"))
        .expect("the PNS's count");
    let to_pac = count_after(&pac, "GRE from the PNS:").expect("the PAC's count");
    // The last ACKs of the close.
    std::thread::sleep(Duration::from_millis(300));
    let after = f.tables();
    let summary = f.stop();
    Pptp {
        fw,
        helpers,
        to_pac,
        to_pns,
        pac,
        pns,
        called,
        during,
        after,
        summary,
    }
}

#[test]
fn pptp_gre_passes_as_related_with_the_helper_and_not_without_as_through_the_kernel() {
    let runs = on_every_firewall("pptp", pptp_call);
    for r in &runs {
        let what = format!("PPTP through {:?} {} helpers", r.fw, with(r.helpers));
        let want = if r.helpers { GRE_PACKETS } else { 0 };
        assert_eq!(
            (r.to_pac, r.to_pns),
            (want, want),
            "{what}: GRE packets (to the PAC, to the PNS)\nPNS:\n{}PAC:\n{}\n{}",
            r.pns,
            r.pac,
            r.summary
        );
        // The call expects GRE both ways, exactly, keyed by the receiver's call id.
        let master = format!("master-src={CLIENT4} master-dst={SERVER4} sport=* dport=1723");
        let want: Vec<String> = if r.helpers {
            vec![
                format!(
                    "proto=47 src={CLIENT4} dst={SERVER4} srckey=0x1234 dstkey=0x5678 \
                     mask-src=255.255.255.255 mask-dst=255.255.255.255 srckey=0xffff \
                     dstkey=0xffff {master} class=0 helper=pptp"
                ),
                format!(
                    "proto=47 src={SERVER4} dst={CLIENT4} srckey=0x5678 dstkey=0x1234 \
                     mask-src=255.255.255.255 mask-dst=255.255.255.255 srckey=0xffff \
                     dstkey=0xffff {master} class=0 helper=pptp"
                ),
            ]
        } else {
            Vec::new()
        };
        assert_eq!(r.called.expects(), want, "{what}: {}", r.called.expects);
        let control = r.during.conns.lines().find(|l| l.contains("dport=1723 "));
        let control = control
            .unwrap_or_else(|| panic!("{what}: no control connection in\n{}", r.during.conns));
        assert!(control.contains("ESTABLISHED"), "{what}: {control}");
        assert_eq!(
            control.contains("helper=pptp"),
            r.helpers,
            "{what}: {control}"
        );
        let gre: Vec<String> = r
            .during
            .conns()
            .into_iter()
            .filter(|l| l.starts_with("gre"))
            .collect();
        let want: Vec<String> = if r.helpers {
            // PNS → PAC first, keyed by the PAC's call id; the PAC's reply by the PNS's.
            vec![format!(
                "gre 47 src={CLIENT4} dst={SERVER4} srckey=0x1234 dstkey=0x5678 \
                 src={SERVER4} dst={CLIENT4} srckey=0x5678 dstkey=0x1234 [ASSURED] mark=0 use=1"
            )]
        } else {
            Vec::new()
        };
        assert_eq!(gre, want, "{what}: GRE connections in\n{}", r.during.conns);
    }
    let [ours, kernel, ours_off, kernel_off] = &runs;
    related_with_helpers_only(
        &ours.summary,
        &ours_off.summary,
        "the first GRE packet was not RELATED",
    );
    same_expects(
        "once the call was up, with helpers",
        &ours.called,
        &kernel.called,
    );
    // The two GRE expectations add nothing to the control connection's use=; once the
    // PNS → PAC one is used, its PAC → PNS mirror image goes too (Linux's pptp
    // expectfn), so during the call both tables agree.
    same_conns(
        "once the call was up, with helpers",
        &ours.called,
        &kernel.called,
    );
    same_conns(
        "during the call, with helpers",
        &ours.during,
        &kernel.during,
    );
    same_expects(
        "during the call, with helpers",
        &ours.during,
        &kernel.during,
    );
    for (when, a, b) in [
        ("once the call was up", &ours_off.called, &kernel_off.called),
        ("during the call", &ours_off.during, &kernel_off.during),
        ("after the call", &ours_off.after, &kernel_off.after),
    ] {
        same_conns(&format!("{when}, without helpers"), a, b);
        same_expects(&format!("{when}, without helpers"), a, b);
    }
    // After the call: the PAC's Call-Disconnect-Notify (and again its
    // Stop-Control-Connection-Reply) ends the call's GRE connection and expectations, as
    // Linux's helper destroys the call's siblings.
    same_conns("after the call, with helpers", &ours.after, &kernel.after);
    same_expects("after the call, with helpers", &ours.after, &kernel.after);
}

/// What one pair of SANE scans through one firewall did.
struct Scan {
    fw: Fw,
    helpers: bool,
    /// The scripted client got image data.
    scripted: bool,
    script: String,
    /// Debian's scanimage wrote a PNM image.
    scanimage: bool,
    scanimage_log: String,
    /// The tables once saned named its data port, before the client connected to it.
    started: Tables,
    /// The tables after the scripted scan.
    after: Tables,
    summary: String,
}

/// saned in the server namespace with the `test` backend, serving the topology's
/// prefixes and sending image data from [`SANE_DATA_PORT`] or the next; configuration
/// folders for it and for scanimage's `net` backend, which knows only the server.
fn sane_folders(dir: &std::path::Path) -> (PathBuf, PathBuf) {
    let (daemon, client) = (dir.join("sane-daemon"), dir.join("sane-client"));
    let files: [(&PathBuf, &str, String); 5] = [
        (&daemon, "dll.conf", "test\n".into()),
        // A gray page of 157 × 196 pixels (30 772 bytes).
        (
            &daemon,
            "test.conf",
            "mode Gray\ndepth 8\nresolution 50.0\nbr_x 80.0\nbr_y 100.0\n".into(),
        ),
        (
            &daemon,
            "saned.conf",
            // The second: the first is in TIME_WAIT when scanimage scans.
            format!(
                "data_portrange = {SANE_DATA_PORT} - {}\n10.77.0.0/24\n",
                SANE_DATA_PORT + 1
            ),
        ),
        (&client, "dll.conf", "net\n".into()),
        (
            &client,
            "net.conf",
            format!("connect_timeout = 5\n{SERVER4}\n"),
        ),
    ];
    for (folder, name, text) in files {
        std::fs::create_dir_all(folder).expect("sane folder");
        std::fs::write(folder.join(name), text).expect("sane config");
    }
    (daemon, client)
}

/// saned in the server namespace; the scripted client in the client namespace starts
/// a scan of the `test` device, the tables are read while it holds back, then it
/// fetches the image; then scanimage scans once more.
fn sane_scan(tag: &str, fw: Fw, helpers: bool) -> Scan {
    let mut f = Firewall::start(tag, fw, helpers);
    require_tools(&["saned", "scanimage"]);
    let dir = f.t.dir.clone();
    let path = |name: &str| dir.join(name).display().to_string();
    let (daemon, client_conf) = sane_folders(&dir);
    let (client, server) = (f.t.client.clone(), f.t.server.clone());
    let daemon_env = format!("SANE_CONFIG_DIR={}", daemon.display());
    f.t.spawn(
        "saned",
        &server,
        &[
            "env",
            &daemon_env,
            "saned",
            "-l",
            "-e",
            "-d",
            "1",
            "-b",
            SERVER4,
        ],
    );
    f.t.wait_for_listener(&server, "tcp", 6566, "saned");
    f.t.spawn(
        "sane-scan",
        &client,
        &[
            "python3",
            "-u",
            SANE_SCAN,
            SERVER4,
            "test:0",
            &path("scan.bin"),
            &path("scan.started"),
            &path("scan.go"),
        ],
    );
    f.t.wait_for_file(&dir.join("scan.started"), "sane-scan", 15);
    let started = f.tables();
    std::fs::write(dir.join("scan.go"), b"").expect("go file");
    let (scripted, script) = f.finish("sane-scan", 30);
    // The last ACKs of the data connection's close.
    std::thread::sleep(Duration::from_millis(300));
    let after = f.tables();
    let client_env = format!("SANE_CONFIG_DIR={}", client_conf.display());
    let device = format!("net:{SERVER4}:test:0");
    let out = f.t.try_exec(
        &client,
        &[
            "env",
            &client_env,
            "timeout",
            "-s",
            "KILL",
            "8",
            "scanimage",
            "-d",
            &device,
            "--format=pnm",
        ],
    );
    let scanimage =
        out.status.success() && out.stdout.starts_with(b"P5") && out.stdout.len() > 30_772;
    let scanimage_log = format!(
        "{} bytes, {}\n{}",
        out.stdout.len(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = f.stop();
    Scan {
        fw,
        helpers,
        scripted,
        script,
        scanimage,
        scanimage_log,
        started,
        after,
        summary,
    }
}

#[test]
fn sane_data_passes_as_related_with_the_helper_and_not_without_as_through_the_kernel() {
    let runs = on_every_firewall("sane", sane_scan);
    for r in &runs {
        let what = format!("SANE through {:?} {} helpers", r.fw, with(r.helpers));
        assert_eq!(
            r.scripted, r.helpers,
            "{what}: scripted client\n{}\n{}",
            r.script, r.summary
        );
        assert_eq!(
            r.scanimage, r.helpers,
            "{what}: scanimage\n{}\n{}\n{}",
            r.scanimage_log, r.after.conns, r.summary
        );
        // saned's answer expects the client, from any port, at the data port.
        let want: Vec<String> = if r.helpers {
            vec![format!(
                "proto=6 src={CLIENT4} dst={SERVER4} sport=0 dport={SANE_DATA_PORT} \
                 mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 \
                 master-src={CLIENT4} master-dst={SERVER4} sport=* dport=6566 class=0 \
                 helper=sane"
            )]
        } else {
            Vec::new()
        };
        assert_eq!(r.started.expects(), want, "{what}: {}", r.started.expects);
        let data = r
            .after
            .conns
            .lines()
            .filter(|l| l.contains(&format!("dport={SANE_DATA_PORT} ")))
            .count();
        assert_eq!(
            data,
            usize::from(r.helpers),
            "{what}: data connections in\n{}",
            r.after.conns
        );
        assert!(r.after.expects().is_empty(), "{what}: {}", r.after.expects);
    }
    let [ours, kernel, ours_off, kernel_off] = &runs;
    related_with_helpers_only(
        &ours.summary,
        &ours_off.summary,
        "the data connection's first packet was not RELATED",
    );
    for (a, b) in [(ours, kernel), (ours_off, kernel_off)] {
        let w = with(a.helpers);
        same_expects(
            &format!("once started, {w} helpers"),
            &a.started,
            &b.started,
        );
        same_conns(
            &format!("once started, {w} helpers"),
            &a.started,
            &b.started,
        );
        same_conns(&format!("after the scan, {w} helpers"), &a.after, &b.after);
    }
}

/// What one Amanda backup request through one firewall did.
struct Backup {
    fw: Fw,
    helpers: bool,
    /// The server connected to the data, message and index streams.
    connected: bool,
    script: String,
    /// The answer's `CONNECT` line.
    connect: String,
    /// The tables once the server had the answer, before it connected.
    answered: Tables,
    /// The tables after it connected.
    after: Tables,
    summary: String,
}

impl Backup {
    /// `table`'s lines with the ports of the answer's streams named (`dport=DATA`):
    /// amandad picks them afresh each run.
    fn named(&self, lines: Vec<String>) -> Vec<String> {
        let words: Vec<&str> = self.connect.split_whitespace().collect();
        let mut lines = lines;
        for pair in words[1..].chunks(2) {
            if let [name, port] = pair {
                for l in &mut lines {
                    *l = l
                        .replace(&format!("port={port} "), &format!("port={name} "))
                        .replace(&format!("port={port}\n"), &format!("port={name}\n"));
                }
            }
        }
        lines.sort();
        lines
    }
}

/// amandad (the Amanda client) in the server namespace, run as inetd would with its
/// own view of `/etc/amandahosts` and `/etc/hosts` (a mount namespace of its own)
/// that lets the scripted Amanda server in the client namespace ask for backups; the
/// tables are read once the answer arrived, then the server connects to the streams.
fn amanda_backup(tag: &str, fw: Fw, helpers: bool) -> Backup {
    let mut f = Firewall::start(tag, fw, helpers);
    require_tools(&["unshare"]);
    let amandad = std::path::Path::new("/usr/lib/amanda/amandad");
    assert!(
        amandad.exists(),
        "{} is missing (scripts/test.sh installs amanda-client)",
        amandad.display()
    );
    let dir = f.t.dir.clone();
    let path = |name: &str| dir.join(name).display().to_string();
    let hosts = dir.join("hosts");
    std::fs::write(
        &hosts,
        format!("127.0.0.1 localhost\n{CLIENT4} amserver\n{SERVER4} amclient\n"),
    )
    .expect("hosts");
    let allowed = dir.join("amandahosts");
    std::fs::write(&allowed, "amserver root amdump\n").expect("amandahosts");
    let backup = f.t.exec(&f.t.server.clone(), &["id", "-u", "backup"]);
    let uid = String::from_utf8_lossy(&backup.stdout).trim().to_string();
    f.t.exec(
        &f.t.server.clone(),
        &["chown", &format!("{uid}:{uid}"), &path("amandahosts")],
    );
    f.t.exec(&f.t.server.clone(), &["chmod", "600", &path("amandahosts")]);
    let disk = dir.join("disk");
    std::fs::create_dir_all(&disk).expect("disk");
    let (client, server) = (f.t.client.clone(), f.t.server.clone());
    let inetd = format!(
        "mount --bind {} /etc/amandahosts && mount --bind {} /etc/hosts && \
         exec python3 -u {AMANDAD_INETD} {SERVER4} {}",
        allowed.display(),
        hosts.display(),
        path("amandad.ready")
    );
    f.t.spawn("amandad", &server, &["unshare", "-m", "sh", "-c", &inetd]);
    f.t.wait_for_file(&dir.join("amandad.ready"), "amandad", 15);
    f.t.spawn(
        "amanda-server",
        &client,
        &[
            "python3",
            "-u",
            AMANDA_BACKUP,
            SERVER4,
            &disk.display().to_string(),
            &path("backup.answered"),
            &path("backup.go"),
        ],
    );
    f.t.wait_for_file(&dir.join("backup.answered"), "amanda-server", 20);
    let answered = f.tables();
    let connect = std::fs::read_to_string(dir.join("backup.answered")).expect("CONNECT line");
    std::fs::write(dir.join("backup.go"), b"").expect("go file");
    let (connected, script) = f.finish("amanda-server", 30);
    std::thread::sleep(Duration::from_millis(300));
    let after = f.tables();
    let summary = f.stop();
    Backup {
        fw,
        helpers,
        connected,
        script,
        connect: connect.trim().to_string(),
        answered,
        after,
        summary,
    }
}

#[test]
fn amanda_streams_pass_as_related_with_the_helper_and_not_without_as_through_the_kernel() {
    let runs = on_every_firewall("amanda", amanda_backup);
    for r in &runs {
        let what = format!("Amanda through {:?} {} helpers", r.fw, with(r.helpers));
        assert_eq!(
            r.connected, r.helpers,
            "{what}: the server's streams\n{}\n{}",
            r.script, r.summary
        );
        // The answer names data, message, index and state ports; each is expected
        // from the server, any port.
        let words: Vec<&str> = r.connect.split_whitespace().collect();
        assert_eq!(
            (
                words[0],
                words.iter().skip(1).step_by(2).copied().collect::<Vec<_>>()
            ),
            ("CONNECT", vec!["DATA", "MESG", "INDEX", "STATE"]),
            "{what}: {}",
            r.connect
        );
        let want: Vec<String> = if r.helpers {
            ["DATA", "INDEX", "MESG", "STATE"]
                .iter()
                .map(|name| {
                    format!(
                        "proto=6 src={CLIENT4} dst={SERVER4} sport=0 dport={name} \
                         mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 \
                         dport=65535 master-src={CLIENT4} master-dst={SERVER4} sport=* \
                         dport=10080 class=0 helper=amanda"
                    )
                })
                .collect()
        } else {
            Vec::new()
        };
        assert_eq!(
            r.named(r.answered.expects()),
            want,
            "{what}: {}",
            r.answered.expects
        );
        let streams = r
            .named(r.after.conns())
            .into_iter()
            .filter(|l| l.starts_with("tcp"))
            .count();
        assert_eq!(
            streams,
            if r.helpers { 4 } else { 0 },
            "{what}:\n{}",
            r.after.conns
        );
        assert!(r.after.expects().is_empty(), "{what}: {}", r.after.expects);
    }
    let [ours, kernel, ours_off, kernel_off] = &runs;
    related_with_helpers_only(
        &ours.summary,
        &ours_off.summary,
        "the streams' first packets were not RELATED",
    );
    for (a, b) in [(ours, kernel), (ours_off, kernel_off)] {
        let w = with(a.helpers);
        for (when, x, y) in [
            ("once answered", &a.answered, &b.answered),
            ("after the streams", &a.after, &b.after),
        ] {
            assert_eq!(
                a.named(x.conns()),
                b.named(y.conns()),
                "{when}, {w} helpers: brickwall's table:\n{}\nthe kernel's:\n{}",
                x.conns,
                y.conns
            );
            assert_eq!(
                a.named(x.expects()),
                b.named(y.expects()),
                "{when}, {w} helpers: brickwall's expectations:\n{}\nthe kernel's:\n{}",
                x.expects,
                y.expects
            );
        }
    }
}
