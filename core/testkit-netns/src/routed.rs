//! The routed topology: the client and the server on two subnets, the firewall
//! namespace between them as their router (brickwall's router mode, or the kernel's
//! forwarding to compare with).

use crate::command::exec;
use crate::{link, Options, Topology};

/// The client's IPv4 address, on the inside subnet (10.78.1.0/24).
pub const INSIDE_CLIENT4: &str = "10.78.1.2";
/// The router's IPv4 address on the inside subnet: the client's gateway.
pub const ROUTER_INSIDE4: &str = "10.78.1.1";
/// The router's IPv4 address on the outside subnet (10.78.2.0/24).
pub const ROUTER_OUTSIDE4: &str = "10.78.2.1";
/// The server's IPv4 address, on the outside subnet.
pub const OUTSIDE_SERVER4: &str = "10.78.2.2";
/// The client's IPv6 address (fd78:1::/64).
pub const INSIDE_CLIENT6: &str = "fd78:1::2";
/// The router's IPv6 address on the inside subnet.
pub const ROUTER_INSIDE6: &str = "fd78:1::1";
/// The router's IPv6 address on the outside subnet (fd78:2::/64).
pub const ROUTER_OUTSIDE6: &str = "fd78:2::1";
/// The server's IPv6 address.
pub const OUTSIDE_SERVER6: &str = "fd78:2::2";

impl Topology {
    /// Client (`c0`), firewall (`fc` inside, `fs` outside) and server (`s0`): the
    /// client's default routes lead through the router's inside addresses; the server
    /// has no route to the inside subnet, so only a translation to the router's outside
    /// address gets its answers back. The firewall's ports carry no addresses in the
    /// kernel: the router owns them ([`Topology::route_in_kernel`] gives them to the
    /// kernel instead).
    pub fn routed(tag: &str) -> Topology {
        let t = Topology::bare(tag, Options::default());
        link::host(&t.client, "c0", INSIDE_CLIENT4, Some(INSIDE_CLIENT6));
        link::host(&t.server, "s0", OUTSIDE_SERVER4, Some(OUTSIDE_SERVER6));
        exec(
            &t.client,
            &["ip", "route", "add", "default", "via", ROUTER_INSIDE4],
        );
        exec(
            &t.client,
            &["ip", "-6", "route", "add", "default", "via", ROUTER_INSIDE6],
        );
        t
    }

    /// The kernel as the router: the firewall's ports get the router's addresses,
    /// forwarding is on, and `ruleset` (nftables' words, kept as `<dir>/fw.nft`) is
    /// loaded.
    pub fn route_in_kernel(&self, ruleset: &str) {
        let ns = &self.fw;
        for (dev, a4, a6) in [
            ("fc", ROUTER_INSIDE4, ROUTER_INSIDE6),
            ("fs", ROUTER_OUTSIDE4, ROUTER_OUTSIDE6),
        ] {
            self.exec(
                ns,
                &[
                    "sysctl",
                    "-qw",
                    &format!("net.ipv6.conf.{dev}.disable_ipv6=0"),
                ],
            );
            self.exec(ns, &["ip", "addr", "add", &format!("{a4}/24"), "dev", dev]);
            self.exec(
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
        }
        self.exec(
            ns,
            &[
                "sysctl",
                "-qw",
                "net.ipv4.ip_forward=1",
                "net.ipv6.conf.all.forwarding=1",
            ],
        );
        let rules = self.dir.join("fw.nft");
        std::fs::write(&rules, ruleset)
            .unwrap_or_else(|e| panic!("writing {}: {e}", rules.display()));
        self.exec(ns, &["nft", "-f", &rules.display().to_string()]);
    }
}
