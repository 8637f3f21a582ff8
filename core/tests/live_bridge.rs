//! Live mode end to end: `brickwall run` bridges a client and a server in network
//! namespaces, with the policy "drop forwarded NEW unless to tcp/21, udp/69, tcp/6667,
//! tcp/1723 or ICMP echo; accept established and related", and real peers: vsftpd and
//! curl (passive and active, EPSV/PASV/EPRT/PORT, IPv4 and IPv6, a multi-megabyte file
//! compared byte for byte), tftpd-hpa and curl (get and put), ping, and a UDP probe of a
//! closed port whose port-unreachable must come back as RELATED. The same transfers
//! must fail when the engine runs without its helpers. Needs root (CI is root).

mod netns;

use netns::{require_root, Topology, CLIENT4, CLIENT6, SERVER4, SERVER6};
use std::path::{Path, PathBuf};
use std::process::Output;

fn brickwall() -> &'static str {
    env!("CARGO_BIN_EXE_brickwall")
}

/// The firewall's config: conntrack (with the FTP and TFTP helpers when `helpers`),
/// the stateful filter on FORWARD, and the live section.
fn config(helpers: bool) -> String {
    let helpers = if helpers {
        r#"
        - {name: ftp, wasm: "builtin:ftp", ports: [tcp/21], max_expected: 1, timeout_s: 300}
        - {name: tftp, wasm: "builtin:tftp", ports: [udp/69], max_expected: 1, timeout_s: 300}"#
    } else {
        " []"
    };
    format!(
        r#"
live:
  interfaces: [fc, fs]
plugins:
  - builtin: conntrack
    config:
      helpers:{helpers}
  - builtin: filter
    config:
      chains:
        - hook: forward
          policy: drop
          rules:
            - match: {{proto: icmpv6, icmp_type: [nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit, nd-router-advert]}}
              action: accept
            - {{match: {{ct_state: [established, related]}}, action: accept}}
            - {{match: {{ct_state: new, proto: tcp, dport: [21, 6667, 1723]}}, action: accept}}
            - {{match: {{ct_state: new, proto: udp, dport: 69}}, action: accept}}
            - {{match: {{ct_state: new, proto: icmp, icmp_type: echo-request}}, action: accept}}
            - {{match: {{ct_state: new, proto: icmpv6, icmp_type: echo-request}}, action: accept}}
"#
    )
}

/// A topology with the engine bridging it; the control socket's path beside it.
fn start(tag: &str, helpers: bool) -> (Topology, PathBuf) {
    require_root();
    let mut t = Topology::new(tag);
    let cfg = t.dir.join("fw.yaml");
    std::fs::write(&cfg, config(helpers)).expect("config");
    let sock = t.dir.join("control.sock");
    let fw = t.fw.clone();
    let (cfg_s, sock_s) = (cfg.display().to_string(), sock.display().to_string());
    t.spawn(
        "brickwall",
        &fw,
        &[brickwall(), "run", "--config", &cfg_s, "--control", &sock_s],
    );
    t.wait_for_file(&sock, "brickwall", 60);
    (t, sock)
}

/// A file of pseudo-random bytes (not compressible, not repeating at a small period).
fn make_file(path: &Path, len: usize) -> Vec<u8> {
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

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// curl in the client namespace, fetching `url` into `out` with `extra` options.
fn curl(t: &Topology, url: &str, out: &Path, extra: &[&str]) -> Output {
    let _ = std::fs::remove_file(out);
    let out_s = out.display().to_string();
    let mut args = vec![
        "curl",
        "-sS",
        "--connect-timeout",
        "4",
        "--max-time",
        "20",
        "-o",
        &out_s,
    ];
    args.extend_from_slice(extra);
    args.push(url);
    t.try_exec(&t.client, &args)
}

fn ct_list(sock: &Path, table: &[&str]) -> String {
    let mut args = vec!["ct", "--socket", sock.to_str().expect("utf-8 path"), "-L"];
    args.extend_from_slice(table);
    let o = std::process::Command::new(brickwall())
        .args(&args)
        .output()
        .expect("brickwall ct");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The engine's summary after SIGTERM; asserts it stopped cleanly.
fn stop_engine(t: &mut Topology) -> String {
    let st = t.stop("brickwall").expect("the engine was running");
    let log = t.log("brickwall");
    eprintln!("{log}");
    assert!(
        st.success(),
        "the engine did not exit cleanly on SIGTERM: {st:?}\n{log}"
    );
    log
}

#[test]
fn ftp_tftp_and_icmp_pass_the_bridge_with_helpers() {
    let (mut t, sock) = start("on", true);
    let ftp_root = t.dir.join("ftp");
    std::fs::create_dir_all(&ftp_root).expect("ftp root");
    let big = make_file(&ftp_root.join("big.bin"), 3 * 1024 * 1024 + 17);
    t.start_vsftpd(&ftp_root);
    let tftp_root = t.dir.join("tftp");
    std::fs::create_dir_all(&tftp_root).expect("tftp root");
    let small = make_file(&tftp_root.join("small.bin"), 200 * 1024 + 3);
    t.start_tftpd(&tftp_root);

    // ICMP echo both families.
    let p = t.try_exec(&t.client, &["ping", "-c", "2", "-W", "3", SERVER4]);
    assert!(p.status.success(), "ping: {}", text(&p));
    let p = t.try_exec(&t.client, &["ping", "-6", "-c", "2", "-W", "3", SERVER6]);
    assert!(p.status.success(), "ping -6: {}", text(&p));

    // FTP: every mode, both families; the file must arrive intact.
    let got = t.dir.join("got.bin");
    let url4 = format!("ftp://{SERVER4}/big.bin");
    let url6 = format!("ftp://[{SERVER6}]/big.bin");
    let cases: [(&str, &str, Vec<&str>); 6] = [
        ("EPSV over IPv4", &url4, vec![]),
        ("PASV over IPv4", &url4, vec!["--disable-epsv"]),
        ("EPRT over IPv4", &url4, vec!["-P", CLIENT4]),
        (
            "PORT over IPv4",
            &url4,
            vec!["-P", CLIENT4, "--disable-eprt"],
        ),
        ("EPSV over IPv6", &url6, vec![]),
        ("EPRT over IPv6", &url6, vec!["-P", CLIENT6]),
    ];
    for (what, url, extra) in &cases {
        let o = curl(&t, url, &got, extra);
        assert!(
            o.status.success(),
            "{what}: {}\nengine: {}",
            text(&o),
            t.log("brickwall")
        );
        let data = std::fs::read(&got).expect("downloaded file");
        assert!(
            data == big,
            "{what}: the file differs ({} bytes of {})",
            data.len(),
            big.len()
        );
    }

    // While the engine runs, its table shows the FTP control connection assured.
    let list = ct_list(&sock, &[]);
    assert!(
        list.lines()
            .any(|l| l.starts_with("tcp") && l.contains("dport=21 ") && l.contains("[ASSURED]")),
        "no assured FTP control connection in:\n{list}"
    );

    // TFTP get and put.
    let tftp_url = format!("tftp://{SERVER4}/small.bin");
    let o = curl(&t, &tftp_url, &got, &[]);
    assert!(o.status.success(), "tftp get: {}", text(&o));
    assert!(
        std::fs::read(&got).expect("tftp file") == small,
        "tftp get: the file differs"
    );
    let up = t.dir.join("up.bin");
    let up_data = make_file(&up, 50 * 1024 + 1);
    let o = t.try_exec(
        &t.client,
        &[
            "curl",
            "-sS",
            "--max-time",
            "20",
            "-T",
            up.to_str().expect("path"),
            &format!("tftp://{SERVER4}/up.bin"),
        ],
    );
    assert!(o.status.success(), "tftp put: {}", text(&o));
    assert!(
        std::fs::read(tftp_root.join("up.bin")).expect("uploaded file") == up_data,
        "tftp put: the file differs"
    );

    // A TCP connection to a port the policy does not open is dropped: curl times out
    // instead of being refused.
    let o = curl(
        &t,
        &format!("http://{SERVER4}:8080/"),
        &got,
        &["--max-time", "3"],
    );
    assert_eq!(
        o.status.code(),
        Some(28),
        "tcp/8080 should time out: {}",
        text(&o)
    );

    // Stop tftpd: a UDP probe of udp/69 now draws a port-unreachable, which must pass
    // as RELATED and reach the client as "connection refused".
    t.stop("tftpd");
    let probe = format!(
        "import socket\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.settimeout(3)\n\
         s.connect(('{SERVER4}',69))\ns.send(b'x')\ntry:\n    s.recv(10)\n    print('data')\n\
         except ConnectionRefusedError:\n    print('refused')\nexcept socket.timeout:\n    print('timeout')\n"
    );
    let o = t.try_exec(&t.client, &["python3", "-c", &probe]);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        "refused",
        "{}",
        text(&o)
    );

    let summary = stop_engine(&mut t);
    assert!(summary.contains("bridged"), "{summary}");
    let related: u64 = summary
        .lines()
        .find_map(|l| l.trim().strip_prefix("conntrack: "))
        .and_then(|l| l.split("related ").nth(1))
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    // The first packet of each expected connection is RELATED (later ones, once the
    // reply is seen, are ESTABLISHED, as in Linux): six FTP data connections, the TFTP
    // get and put, and the port-unreachable.
    assert!(
        related >= 9,
        "the data connections were not RELATED:\n{summary}"
    );
}

#[test]
fn without_helpers_the_data_channels_are_dropped() {
    let (mut t, _sock) = start("off", false);
    let ftp_root = t.dir.join("ftp");
    std::fs::create_dir_all(&ftp_root).expect("ftp root");
    make_file(&ftp_root.join("big.bin"), 64 * 1024);
    t.start_vsftpd(&ftp_root);
    let tftp_root = t.dir.join("tftp");
    std::fs::create_dir_all(&tftp_root).expect("tftp root");
    make_file(&tftp_root.join("small.bin"), 4096);
    t.start_tftpd(&tftp_root);
    let got = t.dir.join("got.bin");

    // The control connection still works (curl logs in), but no data connection opens.
    let o = curl(
        &t,
        &format!("ftp://{SERVER4}/big.bin"),
        &got,
        &["--disable-epsv", "--max-time", "8"],
    );
    assert!(
        !o.status.success(),
        "passive FTP worked without the helper: {}",
        text(&o)
    );
    let o = curl(
        &t,
        &format!("ftp://{SERVER4}/big.bin"),
        &got,
        &["-P", CLIENT4, "--max-time", "8"],
    );
    assert!(
        !o.status.success(),
        "active FTP worked without the helper: {}",
        text(&o)
    );
    let o = curl(
        &t,
        &format!("tftp://{SERVER4}/small.bin"),
        &got,
        &["--max-time", "6"],
    );
    assert!(
        !o.status.success(),
        "TFTP worked without the helper: {}",
        text(&o)
    );
    // What the policy opens on its own still passes.
    let p = t.try_exec(&t.client, &["ping", "-c", "1", "-W", "3", SERVER4]);
    assert!(p.status.success(), "ping: {}", text(&p));

    let summary = stop_engine(&mut t);
    assert!(
        summary.contains("filter-policy-drop"),
        "no policy drops counted:\n{summary}"
    );
}
