//! The links: veth pairs between the namespaces, the hosts' addresses, the firewall's
//! ports, and the links' counters.

use crate::command::{exec, sh};
use crate::Topology;

/// A veth pair: `a` in namespace `a_ns`, its peer `b` in `b_ns`.
pub(crate) fn veth((a, a_ns): (&str, &str), (b, b_ns): (&str, &str)) {
    sh(&[
        "ip", "link", "add", a, "netns", a_ns, "type", "veth", "peer", "name", b, "netns", b_ns,
    ]);
}

/// A host's link `dev` in `ns`: `addr4`/24 and, when given, `addr6`/64 (without
/// duplicate address detection), sending wire-sized frames with full checksums, up.
pub(crate) fn host(ns: &str, dev: &str, addr4: &str, addr6: Option<&str>) {
    exec(
        ns,
        &["ip", "addr", "add", &format!("{addr4}/24"), "dev", dev],
    );
    if let Some(addr6) = addr6 {
        exec(
            ns,
            &[
                "ip",
                "-6",
                "addr",
                "add",
                &format!("{addr6}/64"),
                "dev",
                dev,
                "nodad",
            ],
        );
    }
    // The hosts' own offloads: a veth otherwise hands the firewall 64 KiB segments with
    // checksums left to fill.
    exec(
        ns,
        &[
            "ethtool", "-K", dev, "tx", "off", "tso", "off", "gso", "off",
        ],
    );
    exec(ns, &["ip", "link", "set", dev, "up"]);
}

/// A firewall's port `dev` in `ns`: no addresses, no IPv6 of its own, up.
pub(crate) fn port(ns: &str, dev: &str) {
    exec(
        ns,
        &[
            "sysctl",
            "-qw",
            &format!("net.ipv6.conf.{dev}.disable_ipv6=1"),
        ],
    );
    exec(ns, &["ip", "link", "set", dev, "up"]);
}

impl Topology {
    /// One of link `dev`'s counters in `ns` (`rx_packets`, `tx_dropped`, …).
    pub fn counter(&self, ns: &str, dev: &str, counter: &str) -> u64 {
        let s = self.read(ns, &format!("/sys/class/net/{dev}/statistics/{counter}"));
        s.trim()
            .parse()
            .unwrap_or_else(|e| panic!("{dev}'s {counter} in {ns}: {s:?}: {e}"))
    }
}
