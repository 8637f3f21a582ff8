//! The kernel as the firewall in the middle: a Linux bridge over the firewall's ports,
//! with br_netfilter handing the bridged packets to an nftables ruleset.

use crate::Topology;

impl Topology {
    /// Bridges `fc` and `fs` in the firewall namespace with `br0` (no multicast
    /// snooping, whose queries would be the kernel's own traffic; no IPv6 of its own),
    /// has br_netfilter hand the bridged IPv4 and IPv6 packets to Netfilter, and loads
    /// `ruleset` (nftables' words, kept as `<dir>/fw.nft`). Needs the br_netfilter
    /// module loaded.
    pub fn bridge_in_kernel(&self, ruleset: &str) {
        let ns = &self.fw;
        self.exec(
            ns,
            &[
                "ip",
                "link",
                "add",
                "br0",
                "type",
                "bridge",
                "mcast_snooping",
                "0",
            ],
        );
        self.exec(ns, &["sysctl", "-qw", "net.ipv6.conf.br0.disable_ipv6=1"]);
        for dev in ["fc", "fs"] {
            self.exec(ns, &["ip", "link", "set", dev, "master", "br0"]);
        }
        self.exec(ns, &["ip", "link", "set", "br0", "up"]);
        self.exec(
            ns,
            &[
                "sysctl",
                "-qw",
                "net.bridge.bridge-nf-call-iptables=1",
                "net.bridge.bridge-nf-call-ip6tables=1",
            ],
        );
        let rules = self.dir.join("fw.nft");
        std::fs::write(&rules, ruleset)
            .unwrap_or_else(|e| panic!("writing {}: {e}", rules.display()));
        self.exec(ns, &["nft", "-f", &rules.display().to_string()]);
    }
}
