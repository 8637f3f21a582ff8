//! FTP and TFTP behind source NAT, live: as in `live_bridge.rs`, a client and a server
//! in network namespaces talk through `brickwall run` bridging them, with the live
//! tests' policy (NEW only to tcp/21, udp/69 and ICMP echo; established and related
//! accepted), and here also the NAT plugin translating the client's address to one
//! nobody owns (the server reaches it through a static neighbour entry pointing at the
//! client's link address, so the bridge carries the answers back).
//!
//! vsftpd accepts a PORT or EPRT command only for the address the control connection
//! comes from, so the active modes work only when the FTP helper rewrote the command
//! to the translated address; the data connection the server then opens to that
//! address passes only as RELATED and reaches the client only when it is translated as
//! its master (follow-master). Passive modes and TFTP need the helpers' expectations
//! as ever. With the helpers every transfer arrives intact; without, none does. Needs
//! root (CI is root), vsftpd, tftpd-hpa and curl.

mod firewall;

use brickwall_netns::{Topology, CLIENT4, SERVER4};
use firewall::{brickwall_config, make_file, require_live, run_brickwall, Helper, FTP, TFTP};
use std::path::{Path, PathBuf};
use std::process::Output;

/// The address the client's connections leave with: in the subnet, owned by nobody.
const PUBLIC4: &str = "10.77.0.100";
/// The client's link address, set so the server's neighbour entry can name it.
const CLIENT_MAC: &str = "02:77:00:00:00:01";

/// A running topology with brickwall translating the client.
struct Run {
    t: Topology,
    sock: PathBuf,
    big: Vec<u8>,
    small: Vec<u8>,
}

impl Run {
    fn start(tag: &str, helpers: &[Helper]) -> Run {
        require_live();
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
        let sock = run_brickwall(&mut t, &config);
        let ftp_root = t.dir.join("ftp");
        std::fs::create_dir_all(&ftp_root).expect("ftp root");
        let big = make_file(&ftp_root.join("big.bin"), 2 * 1024 * 1024 + 5);
        t.start_vsftpd(&ftp_root);
        let tftp_root = t.dir.join("tftp");
        std::fs::create_dir_all(&tftp_root).expect("tftp root");
        let small = make_file(&tftp_root.join("small.bin"), 100 * 1024 + 9);
        t.start_tftpd(&tftp_root);
        Run {
            t,
            sock,
            big,
            small,
        }
    }

    fn curl(&self, url: &str, out: &Path, extra: &[&str]) -> Output {
        let _ = std::fs::remove_file(out);
        let out_s = out.display().to_string();
        let mut args = vec!["curl", "-sS", "--connect-timeout", "4", "--max-time", "10"];
        args.extend_from_slice(&["-o", &out_s]);
        args.extend_from_slice(extra);
        args.push(url);
        self.t.try_exec(&self.t.client, &args)
    }

    /// Each scenario's name and whether its file arrived intact.
    fn scenarios(&self) -> Vec<(&'static str, bool)> {
        let got = self.t.dir.join("got.bin");
        let url = format!("ftp://{SERVER4}/big.bin");
        let cases: [(&'static str, Vec<&str>); 4] = [
            ("ftp PORT", vec!["-P", CLIENT4, "--disable-eprt"]),
            ("ftp EPRT", vec!["-P", CLIENT4]),
            ("ftp PASV", vec!["--disable-epsv"]),
            ("ftp EPSV", vec![]),
        ];
        let mut r = Vec::new();
        for (what, extra) in &cases {
            let o = self.curl(&url, &got, extra);
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
fn with_helpers_ftp_in_every_mode_and_tftp_pass_behind_snat() {
    let mut run = Run::start("nath", &[FTP, TFTP]);
    let got = run.scenarios();
    let failed: Vec<&str> = got.iter().filter(|(_, ok)| !ok).map(|(w, _)| *w).collect();
    let table = run.table();
    assert!(
        failed.is_empty(),
        "failed behind SNAT with helpers: {failed:?}\n{table}\n{}",
        run.t.log("brickwall")
    );
    // The control connection as the kernel would list it: translated to PUBLIC4.
    assert!(
        table.contains(&format!("dst={SERVER4} sport="))
            && table.contains(&format!("dst={PUBLIC4}")),
        "{table}"
    );
    firewall::stop_brickwall(&mut run.t);
}

#[test]
fn without_helpers_no_transfer_passes_behind_snat() {
    let mut run = Run::start("natn", &[]);
    let got = run.scenarios();
    let passed: Vec<&str> = got.iter().filter(|(_, ok)| *ok).map(|(w, _)| *w).collect();
    assert!(passed.is_empty(), "passed without helpers: {passed:?}");
    firewall::stop_brickwall(&mut run.t);
}
