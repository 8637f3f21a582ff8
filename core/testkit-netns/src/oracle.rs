//! The kernel as a conntrack oracle. A namespace of its own receives IP packets one at
//! a time, at either of two entries ([`Entry`]): from raw sockets, through the OUTPUT
//! hook; or from a TUN device, through PREROUTING (where the kernel verifies checksums),
//! then forwarded. Either way the kernel's conntrack (and the helpers its ruleset
//! attaches by port) sees the packet, which leaves through a veth whose far end drops
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
use crate::nflog::{Logged, Nflog};
use crate::tun::{pin_to_this_cpu, tun_device, FENCE, FENCE_LOG, FENCE_TO, TUN};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// What the kernel made of one packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// Its ct state and direction (`new`, `est/o`, ..., `unseen`).
    pub state: String,
    /// It got through every hook to leave (no rule or helper dropped it).
    pub passed: bool,
}

/// The log prefix of a packet on its way out, after every hook's rules.
const PASSED: &str = "passed";

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

/// Where the oracle's packets meet the kernel's conntrack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entry {
    /// Sent from raw sockets: the OUTPUT hook (no checksum is verified there). Any
    /// address works, loopback and multicast ones too.
    Output,
    /// Written to a TUN device: PREROUTING, then forwarded, with the kernel's
    /// `nf_conntrack_checksum` as `checksum` says. Only what the kernel forwards is
    /// confirmed: no loopback or link-local addresses, a TTL above 1.
    Prerouting {
        /// Checksums are verified (`nf_conntrack_checksum=1`).
        checksum: bool,
    },
}

/// The oracle: its namespace, removed when it drops, and its sockets there.
pub struct KernelOracle {
    ns: NsGuard,
    raw4: OwnedFd,
    raw6: OwnedFd,
    /// The TUN device's queue, with [`Entry::Prerouting`].
    tun: Option<OwnedFd>,
    log: Nflog,
    /// The outgoing veth's index (the scope of link-local IPv6 destinations).
    ifindex: u32,
}

/// The kernel's `helpers` attached by port as Linux since 4.7 wants (no automatic
/// assignment): the `ct helper` objects of a table (`NAME-h`), and the rules of a chain
/// after conntrack that set them on new connections to their ports.
pub fn helper_rules(helpers: &[KernelHelper]) -> (String, String) {
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
    (objects, assign)
}

/// The back-in rules of the TUN entry: the fence is logged and dropped, the rest of what
/// the device brings accepted.
fn fence_rule() -> String {
    format!(
        " iifname \"{TUN}\" ip daddr {FENCE_TO} udp dport 9 log group {GROUP} prefix \"{FENCE_LOG}\" drop; \
         iifname \"{TUN}\" accept;"
    )
}

/// The ruleset: helpers by port, the log rules at the entry's hook after conntrack,
/// and everything else that comes in dropped before conntrack sees it.
fn ruleset(helpers: &[KernelHelper], entry: Entry) -> String {
    let (hook, ours, back_in) = match entry {
        Entry::Output => ("output", format!("meta mark {MARK:#x}"), String::new()),
        Entry::Prerouting { .. } => ("prerouting", format!("iifname \"{TUN}\""), fence_rule()),
    };
    let (objects, assign) = helper_rules(helpers);
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
        log += &format!("    {ours} {cond} log group {GROUP} prefix \"{word}\"\n");
    }
    format!(
        "table inet oracle {{\n{objects}\
           chain seen {{ type filter hook {hook} priority -150; policy accept;\n{assign}{log}  }}\n\
           chain back_in {{ type filter hook prerouting priority -300; policy drop;{back_in} }}\n\
           chain leaving {{ type filter hook postrouting priority 500; {ours} log group {GROUP} prefix \"{PASSED}\"; }}\n\
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
    /// The oracle in a fresh namespace (`bwk-<tag>-<pid>`), packets entering through
    /// OUTPUT, the kernel's `helpers` attached by port, checksum checking off and
    /// accounting on (as the shared captures' reference ran).
    pub fn new(tag: &str, helpers: &[KernelHelper]) -> KernelOracle {
        KernelOracle::with(tag, helpers, Entry::Output)
    }

    /// As [`new`](Self::new), packets entering where `entry` says.
    pub fn with(tag: &str, helpers: &[KernelHelper], entry: Entry) -> KernelOracle {
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
        let checksum = matches!(entry, Entry::Prerouting { checksum: true });
        run(&[
            "sysctl",
            "-qw",
            &format!("net.netfilter.nf_conntrack_checksum={}", u8::from(checksum)),
            "net.netfilter.nf_conntrack_acct=1",
            // What comes in on the TUN device is forwarded, from any source.
            "net.ipv4.ip_forward=1",
            "net.ipv6.conf.all.forwarding=1",
            "net.ipv4.conf.all.rp_filter=0",
            "net.ipv4.conf.default.rp_filter=0",
        ]);
        let rules = std::env::temp_dir().join(format!("{ns}.nft"));
        std::fs::write(&rules, ruleset(helpers, entry)).expect("oracle ruleset");
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
        let (raw4, raw6, log, tun) = std::thread::scope(|s| {
            s.spawn(|| {
                let f = std::fs::File::open(&path).expect("namespace file");
                // SAFETY: joins this thread (only) to the namespace `f` names.
                let r = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
                assert_eq!(r, 0, "setns: {}", std::io::Error::last_os_error());
                let log = Nflog::bind(GROUP).expect("nflog");
                let tun = (entry != Entry::Output).then(tun_device);
                let raw = (raw_socket(libc::AF_INET), raw_socket(libc::AF_INET6));
                (raw.0, raw.1, log, tun)
            })
            .join()
            .expect("oracle sockets")
        });
        if tun.is_some() {
            run(&["ip", "link", "set", TUN, "addrgenmode", "none"]);
            run(&["ip", "link", "set", TUN, "up"]);
        }
        KernelOracle {
            ns: guard,
            raw4,
            raw6,
            tun,
            log,
            ifindex,
        }
    }

    /// Sends one IP packet (its header first, exactly its total length) through the
    /// kernel's conntrack; what the kernel made of it.
    pub fn send(&mut self, ip: &[u8]) -> String {
        self.deliver(ip).state
    }

    /// Sends one IP packet as [`send`](Self::send) does; what the kernel made of it,
    /// and whether it got through every hook to leave.
    pub fn deliver(&mut self, ip: &[u8]) -> Delivery {
        let _ = self.log.drain();
        let logged = match &self.tun {
            Some(tun) => {
                // SAFETY: `ip` is readable for its length.
                let n = unsafe {
                    libc::write(
                        tun.as_raw_fd(),
                        ip.as_ptr() as *const libc::c_void,
                        ip.len(),
                    )
                };
                // The device queues the packet for the stack; a fence written after it
                // on the same processor's queue is logged once the packet has been
                // through every hook.
                let mut logged: Vec<Logged> = Vec::new();
                if n == ip.len() as isize {
                    pin_to_this_cpu();
                    // SAFETY: `FENCE` is readable for its length.
                    unsafe {
                        libc::write(
                            tun.as_raw_fd(),
                            FENCE.as_ptr() as *const libc::c_void,
                            FENCE.len(),
                        )
                    };
                    while !logged.iter().any(|l| l.prefix == FENCE_LOG) {
                        let more = self.log.wait(1000);
                        assert!(!more.is_empty(), "the fence was never logged");
                        logged.extend(more);
                    }
                    logged.retain(|l| l.prefix != FENCE_LOG);
                }
                logged
            }
            // A packet dropped after conntrack classified it (a helper's verdict at
            // confirmation) fails its send, but was logged: the send's outcome is not
            // what counts.
            None => {
                self.send_raw(ip);
                self.log.drain()
            }
        };
        // Only this packet's logs count (a late one of an earlier packet does not).
        let me = identity(ip);
        let logged: Vec<&Logged> = logged
            .iter()
            .filter(|l| identity(&l.payload) == me)
            .collect();
        let passed = logged.iter().any(|l| l.prefix == PASSED);
        let states: Vec<&str> = logged
            .iter()
            .filter(|l| l.prefix != PASSED)
            .map(|l| l.prefix.as_str())
            .collect();
        let state = match states.as_slice() {
            [one] => (*one).to_string(),
            [] => "unseen".into(),
            many => panic!("one packet logged {} times: {many:?}", many.len()),
        };
        Delivery { state, passed }
    }

    /// Sends `ip` from the raw socket of its family, to its destination.
    fn send_raw(&self, ip: &[u8]) -> bool {
        match ip.first().map(|b| b >> 4) {
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
        }
    }

    /// Loads more of a ruleset into the oracle's namespace (`nft -f`), beside the
    /// oracle's own table: a filter policy whose verdicts [`deliver`](Self::deliver)
    /// reports. It must not flush the ruleset.
    pub fn load(&self, ruleset: &str) {
        let file = std::env::temp_dir().join(format!("{}-extra.nft", self.ns.0));
        std::fs::write(&file, ruleset).expect("ruleset file");
        let out = std::process::Command::new("ip")
            .args(["netns", "exec", &self.ns.0, "nft", "-f"])
            .arg(&file)
            .output()
            .expect("nft");
        let _ = std::fs::remove_file(&file);
        assert!(
            out.status.success(),
            "ruleset: {}",
            String::from_utf8_lossy(&out.stderr)
        );
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

/// What tells a packet apart in the logs, from its first bytes: its addresses, its
/// protocol and its transport header's first eight bytes (ports, and TCP's sequence
/// number), which forwarding leaves as they are (unlike the TTL and the IPv4 header's
/// checksum).
fn identity(ip: &[u8]) -> Vec<u8> {
    let (fixed, proto, l4) = match ip.first().map(|b| b >> 4) {
        Some(4) => (
            12..20,
            9,
            usize::from(ip.first().map_or(5, |b| b & 0xf)) * 4,
        ),
        Some(6) => (8..40, 6, 40),
        _ => return Vec::new(),
    };
    let mut id = ip.get(fixed).unwrap_or_default().to_vec();
    id.extend(ip.get(proto));
    id.extend_from_slice(ip.get(l4..l4 + 8).unwrap_or_default());
    id
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
