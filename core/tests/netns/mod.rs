//! A client — firewall — server topology in network namespaces for the live tests,
//! with real peers started inside. Everything the topology made (namespaces, processes,
//! files) is removed when it is dropped, also when a test fails.
#![allow(dead_code)]

pub mod firewall;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The client's and the server's addresses.
pub const CLIENT4: &str = "10.77.0.1";
/// The server's IPv4 address.
pub const SERVER4: &str = "10.77.0.2";
/// The client's IPv6 address.
pub const CLIENT6: &str = "fd77::1";
/// The server's IPv6 address.
pub const SERVER6: &str = "fd77::2";

/// Runs a command, panicking with its output when it fails.
pub fn sh(args: &[&str]) -> Output {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", args[0]));
    assert!(
        out.status.success(),
        "{:?} failed: {}{}",
        args,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Three namespaces: client (`c0`), firewall (`fc`, `fs`), server (`s0`), joined by two
/// veth pairs. The firewall namespace has no addresses: whatever bridges `fc` and `fs`
/// is all that carries traffic between the two hosts.
pub struct Topology {
    /// Namespace names.
    pub client: String,
    /// The firewall's namespace.
    pub fw: String,
    /// The server's namespace.
    pub server: String,
    /// A scratch folder for configs, files and sockets.
    pub dir: PathBuf,
    children: Vec<(String, Child)>,
}

impl Topology {
    /// Builds the topology; `tag` keeps parallel tests apart.
    pub fn new(tag: &str) -> Topology {
        let pid = std::process::id();
        let t = Topology {
            client: format!("bwc-{tag}-{pid}"),
            fw: format!("bwf-{tag}-{pid}"),
            server: format!("bws-{tag}-{pid}"),
            dir: std::env::temp_dir().join(format!("brickwall-live-{tag}-{pid}")),
            children: Vec::new(),
        };
        let _ = std::fs::remove_dir_all(&t.dir);
        std::fs::create_dir_all(&t.dir).expect("scratch folder");
        for ns in [&t.client, &t.fw, &t.server] {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
            sh(&["ip", "netns", "add", ns]);
            t.exec(ns, &["ip", "link", "set", "lo", "up"]);
        }
        sh(&[
            "ip", "link", "add", "c0", "netns", &t.client, "type", "veth", "peer", "name", "fc",
            "netns", &t.fw,
        ]);
        sh(&[
            "ip", "link", "add", "s0", "netns", &t.server, "type", "veth", "peer", "name", "fs",
            "netns", &t.fw,
        ]);
        for (ns, dev, a4, a6) in [
            (&t.client, "c0", CLIENT4, CLIENT6),
            (&t.server, "s0", SERVER4, SERVER6),
        ] {
            t.exec(ns, &["ip", "addr", "add", &format!("{a4}/24"), "dev", dev]);
            t.exec(
                ns,
                &[
                    "ip",
                    "-6",
                    "addr",
                    "add",
                    &format!("{a6}/64"),
                    "dev",
                    dev,
                    "nodad",
                ],
            );
            // The hosts' own offloads: a veth otherwise hands the bridge 64 KiB segments
            // with checksums left to fill.
            t.exec(
                ns,
                &[
                    "ethtool", "-K", dev, "tx", "off", "tso", "off", "gso", "off",
                ],
            );
            t.exec(ns, &["ip", "link", "set", dev, "up"]);
        }
        for dev in ["fc", "fs"] {
            t.exec(
                &t.fw,
                &[
                    "sysctl",
                    "-qw",
                    &format!("net.ipv6.conf.{dev}.disable_ipv6=1"),
                ],
            );
            t.exec(&t.fw, &["ip", "link", "set", dev, "up"]);
        }
        t
    }

    /// Runs a command inside `ns`, panicking when it fails.
    pub fn exec(&self, ns: &str, args: &[&str]) -> Output {
        let mut v = vec!["ip", "netns", "exec", ns];
        v.extend_from_slice(args);
        sh(&v)
    }

    /// Runs a command inside `ns` and returns its output, whatever its status.
    pub fn try_exec(&self, ns: &str, args: &[&str]) -> Output {
        Command::new("ip")
            .args(["netns", "exec", ns])
            .args(args)
            .output()
            .expect("ip netns exec")
    }

    /// Starts a long-running program inside `ns`; it is killed when the topology drops.
    pub fn spawn(&mut self, name: &str, ns: &str, args: &[&str]) {
        let log = std::fs::File::create(self.dir.join(format!("{name}.log"))).expect("log file");
        let child = Command::new("ip")
            .args(["netns", "exec", ns])
            .args(args)
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {name}: {e}"));
        self.children.push((name.to_string(), child));
    }

    /// The process id of a spawned program (`ip netns exec` execs it, so the child's
    /// pid is the program's).
    pub fn pid(&self, name: &str) -> Option<u32> {
        self.children
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, c)| c.id())
    }

    /// What a spawned program wrote so far.
    pub fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.join(format!("{name}.log"))).unwrap_or_default()
    }

    /// Sends SIGTERM to a spawned program and waits for it (at most 10 s).
    pub fn stop(&mut self, name: &str) -> Option<std::process::ExitStatus> {
        let i = self.children.iter().position(|(n, _)| n == name)?;
        let (_, mut child) = self.children.remove(i);
        // `ip netns exec` execs the program, so the child's pid is the program's.
        // SAFETY: kill(2) on our own child.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let end = Instant::now() + Duration::from_secs(10);
        while Instant::now() < end {
            if let Ok(Some(st)) = child.try_wait() {
                return Some(st);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        child.wait().ok()
    }

    /// Waits until `path` exists (at most `secs`), panicking with `name`'s log if not.
    pub fn wait_for_file(&self, path: &Path, name: &str, secs: u64) {
        let end = Instant::now() + Duration::from_secs(secs);
        while !path.exists() {
            assert!(
                Instant::now() < end,
                "{} did not appear; {name} said:\n{}",
                path.display(),
                self.log(name)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until something listens on `port` (TCP or UDP, `proto`) inside `ns`.
    pub fn wait_for_listener(&self, ns: &str, proto: &str, port: u16, name: &str) {
        let flag = if proto == "udp" { "-lun" } else { "-ltn" };
        let end = Instant::now() + Duration::from_secs(10);
        loop {
            let out = self.try_exec(ns, &["ss", flag]);
            let text = String::from_utf8_lossy(&out.stdout);
            if text.lines().any(|l| l.contains(&format!(":{port} "))) {
                return;
            }
            assert!(
                Instant::now() < end,
                "{name} never listened on {proto}/{port}:\n{}",
                self.log(name)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Starts vsftpd in the server namespace, serving `root` to anonymous users on
    /// IPv4 and IPv6, passive and active.
    pub fn start_vsftpd(&mut self, root: &Path) {
        let conf = self.dir.join("vsftpd.conf");
        std::fs::create_dir_all("/var/run/vsftpd/empty").expect("vsftpd's secure_chroot_dir");
        std::fs::write(
            &conf,
            format!(
                "listen=NO\nlisten_ipv6=YES\nbackground=NO\nanonymous_enable=YES\n\
                 no_anon_password=YES\nanon_root={}\nlocal_enable=NO\nwrite_enable=NO\n\
                 pasv_enable=YES\nport_enable=YES\nconnect_from_port_20=NO\n\
                 seccomp_sandbox=NO\nisolate_network=NO\nisolate=NO\n\
                 secure_chroot_dir=/var/run/vsftpd/empty\nxferlog_enable=NO\n\
                 pasv_min_port=40000\npasv_max_port=40100\n",
                root.display()
            ),
        )
        .expect("vsftpd.conf");
        let server = self.server.clone();
        let conf = conf.display().to_string();
        self.spawn("vsftpd", &server, &["vsftpd", &conf]);
        self.wait_for_listener(&server, "tcp", 21, "vsftpd");
    }

    /// Starts tftpd-hpa in the server namespace on `root`, with uploads allowed.
    pub fn start_tftpd(&mut self, root: &Path) {
        let server = self.server.clone();
        let root = root.display().to_string();
        self.spawn(
            "tftpd",
            &server,
            &[
                "in.tftpd",
                "--foreground",
                "--create",
                "--user",
                "root",
                "--address",
                ":69",
                "--secure",
                &root,
            ],
        );
        self.wait_for_listener(&server, "udp", 69, "tftpd");
    }
}

impl Drop for Topology {
    fn drop(&mut self) {
        for (_, c) in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        for ns in [&self.client, &self.fw, &self.server] {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Fails the test unless it runs as root with `ip netns`: CI is root, so a missing
/// privilege is a broken set-up, not a reason to skip.
pub fn require_root() {
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    assert_eq!(
        euid, 0,
        "the live tests need root (network namespaces, AF_PACKET); run them as root"
    );
    for tool in [
        "ip",
        "ethtool",
        "curl",
        "vsftpd",
        "in.tftpd",
        "ss",
        "ping",
        "nft",
        "conntrack",
    ] {
        let found = std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
            .unwrap_or(false)
            || Path::new("/usr/sbin").join(tool).is_file();
        assert!(found, "`{tool}` is missing (scripts/test.sh installs it)");
    }
}

/// Fails the test unless every one of `tools` is on the PATH (or in /usr/sbin): like
/// [`require_root`]'s own list, for the tools only some live tests use.
pub fn require_tools(tools: &[&str]) {
    for tool in tools {
        let found = std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
            .unwrap_or(false)
            || Path::new("/usr/sbin").join(tool).is_file();
        assert!(found, "`{tool}` is missing (scripts/test.sh installs it)");
    }
}

/// The uid and gid ngircd runs as (Debian's nobody and nogroup).
const NOBODY: u32 = 65534;

impl Topology {
    /// Starts ngircd in the server namespace, in the foreground, listening on
    /// SERVER4:6667, without DNS, ident or PAM lookups (an ident query would be a NEW
    /// connection to the client that the firewall drops).
    pub fn start_ngircd(&mut self) {
        let include = self.dir.join("ngircd.d");
        std::fs::create_dir_all(&include).expect("ngircd's include folder");
        // ngircd will not stay root: it runs as nobody, so its pid file goes in a
        // folder of nobody's.
        let run = self.dir.join("ngircd.run");
        std::fs::create_dir_all(&run).expect("ngircd's run folder");
        std::os::unix::fs::chown(&run, Some(NOBODY), Some(NOBODY)).expect("chown");
        let conf = self.dir.join("ngircd.conf");
        std::fs::write(
            &conf,
            format!(
                "[Global]\nName = irc.brickwall.test\nInfo = brickwall live test\n\
                 AdminInfo1 = brickwall\nAdminInfo2 = tests\nAdminEMail = root@localhost\n\
                 Listen = {SERVER4}\nPorts = 6667\nPidFile = {}\nMotdPhrase = hello\n\
                 ServerUID = {NOBODY}\nServerGID = {NOBODY}\n\
                 [Limits]\nMaxConnectionsIP = 0\nPingTimeout = 300\n\
                 [Options]\nDNS = no\nIdent = no\nPAM = no\nIncludeDir = {}\n",
                run.join("ngircd.pid").display(),
                include.display()
            ),
        )
        .expect("ngircd.conf");
        let server = self.server.clone();
        let conf = conf.display().to_string();
        self.spawn("ngircd", &server, &["ngircd", "-n", "-f", &conf]);
        self.wait_for_listener(&server, "tcp", 6667, "ngircd");
    }

    /// Waits (at most `secs`) for a spawned program to exit by itself; `None` if it
    /// did not (it is then killed) or was never started.
    pub fn wait_exit(&mut self, name: &str, secs: u64) -> Option<std::process::ExitStatus> {
        let i = self.children.iter().position(|(n, _)| n == name)?;
        let (_, mut child) = self.children.remove(i);
        let end = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < end {
            if let Ok(Some(st)) = child.try_wait() {
                return Some(st);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        None
    }
}
