//! Router mode's forwarding table: the routed interfaces (index, MTU, addresses) and
//! the routes, those of the interfaces' own prefixes and the static ones, looked up by
//! longest prefix as Linux's FIB does.

use brickwall_wire::Cidr;
use std::net::IpAddr;

/// A routed interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    /// Its index (what `iif` and `oif` hold).
    pub index: u32,
    /// The largest datagram it carries.
    pub mtu: u32,
    /// Its addresses with their prefixes: the router's own, and its connected routes.
    pub addrs: Vec<Cidr>,
}

/// A route: where packets to `to` go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FibRoute {
    /// The destination prefix.
    pub to: Cidr,
    /// The gateway; none: the destination itself is on the link.
    pub via: Option<IpAddr>,
    /// The outgoing interface's index.
    pub oif: u32,
}

/// Where a routed packet goes next: out of `oif`, to the neighbour `addr` (its gateway,
/// or its destination when that is on the link).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NextHop {
    /// The outgoing interface's index.
    pub oif: u32,
    /// The neighbour whose link address the frame is sent to.
    pub addr: IpAddr,
}

/// The forwarding table.
#[derive(Clone, Debug, Default)]
pub struct Fib {
    links: Vec<Link>,
    /// Longest prefix first, so the first match is the best.
    routes: Vec<FibRoute>,
}

impl Fib {
    /// The table of these interfaces: a connected route for each of their prefixes,
    /// then `routes`.
    pub fn new(links: Vec<Link>, routes: &[FibRoute]) -> Fib {
        let mut all: Vec<FibRoute> = links
            .iter()
            .flat_map(|l| {
                l.addrs.iter().map(|a| FibRoute {
                    to: Cidr::new(a.network(), a.prefix()).unwrap_or(*a),
                    via: None,
                    oif: l.index,
                })
            })
            .collect();
        all.extend_from_slice(routes);
        // Stable: among equal prefixes, connected routes and then the config's order.
        all.sort_by_key(|r| std::cmp::Reverse(r.to.prefix()));
        Fib { links, routes: all }
    }

    /// The routes, longest prefix first.
    pub fn routes(&self) -> &[FibRoute] {
        &self.routes
    }

    /// The interfaces.
    pub fn links(&self) -> &[Link] {
        &self.links
    }

    /// The interface of index `index`.
    pub fn link(&self, index: u32) -> Option<&Link> {
        self.links.iter().find(|l| l.index == index)
    }

    /// Where a packet to `dst` goes; none without a route.
    #[inline]
    pub fn lookup(&self, dst: IpAddr) -> Option<NextHop> {
        let r = self.routes.iter().find(|r| r.to.contains(dst))?;
        Some(NextHop {
            oif: r.oif,
            addr: r.via.unwrap_or(dst),
        })
    }

    /// Whether `addr` is one of the router's own addresses.
    pub fn is_local(&self, addr: IpAddr) -> bool {
        self.links
            .iter()
            .any(|l| l.addrs.iter().any(|a| a.addr() == addr))
    }

    /// Whether `addr` is the broadcast address of one of the interfaces' IPv4 prefixes
    /// (up to /30; a /31 and a /32 have none).
    pub fn is_broadcast(&self, addr: IpAddr) -> bool {
        let IpAddr::V4(a) = addr else {
            return false;
        };
        self.links.iter().flat_map(|l| &l.addrs).any(|c| {
            let IpAddr::V4(net) = c.network() else {
                return false;
            };
            c.prefix() <= 30 && u32::from(a) == u32::from(net) | (u32::MAX >> c.prefix())
        })
    }

    /// The router's address on interface `index` of `dst`'s family that shares the
    /// longest prefix with `dst` (the source of what the router sends there), else its
    /// first of that family there.
    pub fn source_on(&self, index: u32, dst: IpAddr) -> Option<IpAddr> {
        let addrs = &self.link(index)?.addrs;
        let same = |a: &&Cidr| a.addr().is_ipv4() == dst.is_ipv4();
        addrs
            .iter()
            .filter(same)
            .find(|a| a.contains(dst))
            .or_else(|| addrs.iter().find(same))
            .map(|a| a.addr())
    }

    /// The source of a packet the router sends to `dst`: its address on the interface
    /// the route to `dst` leaves by, else (no route) on `fallback`'s.
    pub fn source_for(&self, dst: IpAddr, fallback: u32) -> Option<IpAddr> {
        self.lookup(dst)
            .and_then(|nh| self.source_on(nh.oif, dst))
            .or_else(|| self.source_on(fallback, dst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cidr(s: &str) -> Cidr {
        s.parse().unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn fib() -> Fib {
        Fib::new(
            vec![
                Link {
                    index: 3,
                    mtu: 1500,
                    addrs: vec![cidr("10.1.0.1/24"), cidr("fd01::1/64")],
                },
                Link {
                    index: 5,
                    mtu: 1400,
                    addrs: vec![cidr("10.2.0.1/24"), cidr("192.0.2.1/28")],
                },
            ],
            &[
                FibRoute {
                    to: cidr("0.0.0.0/0"),
                    via: Some(ip("10.2.0.254")),
                    oif: 5,
                },
                FibRoute {
                    to: cidr("10.9.0.0/16"),
                    via: Some(ip("10.1.0.9")),
                    oif: 3,
                },
            ],
        )
    }

    #[test]
    fn the_longest_prefix_wins() {
        let f = fib();
        let nh = |d: &str| f.lookup(ip(d));
        assert_eq!(
            nh("10.1.0.7"),
            Some(NextHop {
                oif: 3,
                addr: ip("10.1.0.7")
            })
        );
        assert_eq!(
            nh("10.9.4.4"),
            Some(NextHop {
                oif: 3,
                addr: ip("10.1.0.9")
            })
        );
        assert_eq!(
            nh("8.8.8.8"),
            Some(NextHop {
                oif: 5,
                addr: ip("10.2.0.254")
            })
        );
        assert_eq!(nh("fd01::5").map(|n| n.oif), Some(3));
        assert_eq!(nh("2001:db8::1"), None, "no IPv6 default route");
    }

    #[test]
    fn sources_follow_the_route_back() {
        let f = fib();
        assert_eq!(f.source_for(ip("10.1.0.7"), 5), Some(ip("10.1.0.1")));
        assert_eq!(f.source_for(ip("8.8.8.8"), 3), Some(ip("10.2.0.1")));
        assert_eq!(f.source_on(5, ip("192.0.2.9")), Some(ip("192.0.2.1")));
        assert_eq!(f.source_for(ip("2001:db8::1"), 3), Some(ip("fd01::1")));
        assert!(f.is_local(ip("192.0.2.1")));
        assert!(!f.is_local(ip("192.0.2.2")));
    }

    #[test]
    fn groups_and_scoped_addresses_are_not_forwarded() {
        use super::super::forward::forwardable;
        let f = fib();
        for a in [
            "10.1.0.255",
            "192.0.2.15",
            "255.255.255.255",
            "224.0.0.251",
            "0.0.0.0",
            "127.0.0.1",
            "ff02::1",
            "fe80::1",
            "::",
        ] {
            assert!(!forwardable(&f, ip(a)), "{a}");
        }
        for a in [
            "10.1.0.254",
            "192.0.2.14",
            "8.8.8.8",
            "fd01::ff",
            "2001:db8::1",
        ] {
            assert!(forwardable(&f, ip(a)), "{a}");
        }
        assert!(f.is_broadcast(ip("10.2.0.255")));
        assert!(!f.is_broadcast(ip("10.9.0.255")), "not a connected prefix");
    }
}
