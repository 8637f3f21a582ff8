//! The kernel as a conntrack oracle. A namespace of its own receives IP packets one at
//! a time from raw sockets: each takes the OUTPUT hook (the kernel's conntrack, and the
//! helpers its ruleset attaches by port), leaves through a veth whose far end drops
//! everything before conntrack (or through the loopback, dropped the same way), and is
//! confirmed on the way out. A rule per ct state and direction logs it to NFLOG, so the
//! oracle says, packet by packet, what the kernel made of it, in the words of the shared
//! captures' `kernel_packets/` (`new`, `est/o`, `est/r`, `rel/o`, `rel/r`, `inv`,
//! `untr`; `unseen` for a packet the kernel did not log, such as a fragment it holds;
//! a packet dropped after conntrack, by a helper, still has its word).
//! At the end its tables are listed as `conntrack -L -o extended` and `-L expect` print
//! them.

use crate::command::exec;
use crate::namespace;
use crate::nflog::Nflog;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// The NFLOG group the oracle's rules log to.
const GROUP: u16 = 7;
/// The packet mark of the oracle's own packets: only they are logged (the kernel's own,
/// such as neighbour discovery, are not).
const MARK: u32 = 0x0b0c;

/// A helper the kernel attaches by destination port, as the shared captures' reference
/// runs did.
#[derive(Clone, Copy, Debug)]
pub struct KernelHelper {
    /// The kernel's helper name (`ftp`, `irc`, `tftp`, `pptp`, ...).
    pub name: &'static str,
    /// `tcp` or `udp`.
    pub proto: &'static str,
    /// The port it is attached on.
    pub port: u16,
    /// The helper exists for IPv4 only (PPTP).
    pub ipv4_only: bool,
}

/// The oracle: its namespace, removed when it drops, and its sockets there.
pub struct KernelOracle {
    ns: NsGuard,
    raw4: OwnedFd,
    raw6: OwnedFd,
    log: Nflog,
    /// The outgoing veth's index (the scope of link-local IPv6 destinations).
    ifindex: u32,
}

/// The ruleset: helpers by port, the log rules at OUTPUT after conntrack, and everything
/// that comes back in dropped before conntrack sees it again.
fn ruleset(helpers: &[KernelHelper]) -> String {
    let mut objects = String::new();
    let mut assign = String::new();
    for h in helpers {
        let l3 = if h.ipv4_only { "ip" } else { "inet" };
        objects += &format!(
            "  ct helper {n}-h {{ type \"{n}\" protocol {p}; l3proto {l3}; }}\n",
            n = h.name,
            p = h.proto
        );
        let family = if h.ipv4_only {
            "meta nfproto ipv4 "
        } else {
            ""
        };
        assign += &format!(
            "    {family}{p} dport {port} ct helper set \"{n}-h\"\n",
            p = h.proto,
            port = h.port,
            n = h.name
        );
    }
    let mut log = String::new();
    for (cond, word) in [
        ("ct state new", "new"),
        ("ct state established ct direction original", "est/o"),
        ("ct state established ct direction reply", "est/r"),
        ("ct state related ct direction original", "rel/o"),
        ("ct state related ct direction reply", "rel/r"),
        ("ct state invalid", "inv"),
        ("ct state untracked", "untr"),
    ] {
        log += &format!("    meta mark {MARK:#x} {cond} log group {GROUP} prefix \"{word}\"\n");
    }
    format!(
        "table inet oracle {{\n{objects}\
           chain out {{ type filter hook output priority filter; policy accept;\n{assign}{log}  }}\n\
           chain back_in {{ type filter hook prerouting priority -300; policy drop; }}\n\
         }}\n"
    )
}

/// Opens a raw socket of `family` that sends whole IP packets, marked as the oracle's.
fn raw_socket(family: libc::c_int) -> OwnedFd {
    // SAFETY: plain socket creation; the descriptor is owned at once.
    let fd = unsafe {
        libc::socket(
            family,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            libc::IPPROTO_RAW,
        )
    };
    assert!(fd >= 0, "raw socket: {}", std::io::Error::last_os_error());
    // SAFETY: a fresh descriptor nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    for (opt, v) in [
        (libc::SO_MARK, MARK as libc::c_int),
        (libc::SO_BROADCAST, 1),
    ] {
        // SAFETY: the option value is a c_int of the size given.
        let r = unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                opt,
                &v as *const _ as *const libc::c_void,
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        assert_eq!(r, 0, "setsockopt: {}", std::io::Error::last_os_error());
    }
    fd
}

impl KernelOracle {
    /// The oracle in a fresh namespace (`bwk-<tag>-<pid>`), the kernel's `helpers`
    /// attached by port, checksum checking off and accounting on (as the shared
    /// captures' reference ran).
    pub fn new(tag: &str, helpers: &[KernelHelper]) -> KernelOracle {
        namespace::remove_stale("bwk");
        let ns = format!("bwk-{tag}-{}", std::process::id());
        namespace::add(&ns, true);
        // From here on the namespace goes with a panic too.
        let guard = NsGuard(ns.clone());
        let run = |args: &[&str]| {
            exec(&ns, args);
        };
        run(&[
            "ip", "link", "add", "out0", "type", "veth", "peer", "name", "out1",
        ]);
        for dev in ["out0", "out1"] {
            run(&["ip", "link", "set", dev, "addrgenmode", "none"]);
            run(&["ip", "link", "set", dev, "arp", "off", "mtu", "65535", "up"]);
        }
        // A link-local address (no duplicate detection: usable at once), the source the
        // kernel's routing picks for link-local and multicast destinations.
        run(&[
            "ip",
            "-6",
            "addr",
            "add",
            "fe80::b0c/64",
            "dev",
            "out0",
            "nodad",
        ]);
        run(&["ip", "route", "add", "default", "dev", "out0"]);
        run(&["ip", "-6", "route", "add", "default", "dev", "out0"]);
        run(&[
            "sysctl",
            "-qw",
            "net.netfilter.nf_conntrack_checksum=0",
            "net.netfilter.nf_conntrack_acct=1",
        ]);
        let rules = std::env::temp_dir().join(format!("{ns}.nft"));
        std::fs::write(&rules, ruleset(helpers)).expect("oracle ruleset");
        let loaded = std::process::Command::new("ip")
            .args(["netns", "exec", &ns, "nft", "-f"])
            .arg(&rules)
            .output()
            .expect("nft");
        let _ = std::fs::remove_file(&rules);
        assert!(
            loaded.status.success(),
            "oracle ruleset: {}",
            String::from_utf8_lossy(&loaded.stderr)
        );
        let ifindex: u32 =
            String::from_utf8_lossy(&exec(&ns, &["cat", "/sys/class/net/out0/ifindex"]).stdout)
                .trim()
                .parse()
                .expect("ifindex");
        // Sockets belong to the namespace of the thread that opens them.
        let path = format!("/run/netns/{ns}");
        let (raw4, raw6, log) = std::thread::scope(|s| {
            s.spawn(|| {
                let f = std::fs::File::open(&path).expect("namespace file");
                // SAFETY: joins this thread (only) to the namespace `f` names.
                let r = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
                assert_eq!(r, 0, "setns: {}", std::io::Error::last_os_error());
                let log = Nflog::bind(GROUP).expect("nflog");
                (raw_socket(libc::AF_INET), raw_socket(libc::AF_INET6), log)
            })
            .join()
            .expect("oracle sockets")
        });
        KernelOracle {
            ns: guard,
            raw4,
            raw6,
            log,
            ifindex,
        }
    }

    /// Sends one IP packet (its header first, exactly its total length) through the
    /// kernel's conntrack; what the kernel made of it.
    pub fn send(&mut self, ip: &[u8]) -> String {
        let _ = self.log.drain();
        let sent = match ip.first().map(|b| b >> 4) {
            Some(4) if ip.len() >= 20 => {
                let dst = Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]);
                // SAFETY: zeroed is a valid sockaddr_in.
                let mut sa: libc::sockaddr_in = unsafe { std::mem::zeroed() };
                sa.sin_family = libc::AF_INET as libc::sa_family_t;
                sa.sin_addr.s_addr = u32::from(dst).to_be();
                send_to(&self.raw4, ip, &sa)
            }
            Some(6) if ip.len() >= 40 => {
                let mut d = [0u8; 16];
                d.copy_from_slice(&ip[24..40]);
                // SAFETY: zeroed is a valid sockaddr_in6.
                let mut sa: libc::sockaddr_in6 = unsafe { std::mem::zeroed() };
                sa.sin6_family = libc::AF_INET6 as libc::sa_family_t;
                sa.sin6_addr.s6_addr = Ipv6Addr::from(d).octets();
                sa.sin6_scope_id = self.ifindex;
                send_to(&self.raw6, ip, &sa)
            }
            _ => false,
        };
        // A packet dropped after conntrack classified it (a helper's verdict at
        // confirmation) fails its send, but was logged.
        let logged = self.log.drain();
        match (sent, logged.as_slice()) {
            (_, [one]) => one.clone(),
            (_, []) => "unseen".into(),
            (_, many) => panic!("one packet logged {} times: {many:?}", many.len()),
        }
    }

    /// `conntrack -L -o extended` in the oracle's namespace.
    pub fn table(&self) -> String {
        self.conntrack(&["-L", "-o", "extended"])
    }

    /// `conntrack -L expect` in the oracle's namespace.
    pub fn expectations(&self) -> String {
        self.conntrack(&["-L", "expect"])
    }

    fn conntrack(&self, args: &[&str]) -> String {
        let mut all = vec!["conntrack"];
        all.extend_from_slice(args);
        let out = std::process::Command::new("ip")
            .args(["netns", "exec", &self.ns.0])
            .args(&all)
            .output()
            .expect("conntrack");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

/// Sends `ip` to `sa` on `fd`; whether the kernel took all of it.
fn send_to<T>(fd: &OwnedFd, ip: &[u8], sa: &T) -> bool {
    // SAFETY: `ip` is readable for its length, `sa` is a socket address of its size.
    let n = unsafe {
        libc::sendto(
            fd.as_raw_fd(),
            ip.as_ptr() as *const libc::c_void,
            ip.len(),
            0,
            sa as *const T as *const libc::sockaddr,
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    };
    n == ip.len() as isize
}

/// A namespace, removed when it drops (also when a test fails).
struct NsGuard(String);

impl Drop for NsGuard {
    fn drop(&mut self) {
        namespace::delete(&self.0);
    }
}
