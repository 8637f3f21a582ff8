//! Router mode's link layer: the forwarding table built from the config and the
//! interfaces; the router's answers to ARP and neighbour solicitations for its own
//! addresses; the frames of routed packets, addressed to their next hop's link address
//! (resolved through [`super::neigh`], the packets waiting meanwhile); and the probes
//! and host-unreachable errors the neighbour table's timers call for.

use super::iface::Interface;
use super::neigh::{Neighbours, Resolution};
use crate::config::LiveConfig;
use crate::pipeline::fib::{Fib, FibRoute, Link, NextHop};
use crate::pipeline::forward;
use brickwall_wire::{arp, ethernet, fragment, icmp, ndisc, Cidr};
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Arc;
use std::time::Instant;

/// The forwarding table of a router-mode config: each interface's addresses (its
/// connected routes) and the static routes. Looks the interfaces up; errors name the
/// field.
pub fn fib(live: &LiveConfig) -> Result<Fib, (String, String)> {
    let Some(router) = &live.router else {
        return Err(("live.router".into(), "not in router mode".into()));
    };
    let mut links = Vec::new();
    for (i, name) in live.interfaces.iter().enumerate() {
        let iface = Interface::by_name(name)
            .map_err(|e| (format!("live.interfaces[{i}]"), e.to_string()))?;
        let addrs = router
            .addresses
            .get(name)
            .into_iter()
            .flatten()
            .filter_map(|a| Cidr::new(a.0, a.1))
            .collect();
        links.push(Link {
            index: iface.index,
            mtu: iface.mtu,
            addrs,
        });
    }
    let routes: Vec<FibRoute> = router
        .static_routes(&live.interfaces)?
        .into_iter()
        .map(|r| FibRoute {
            to: r.to,
            via: r.via,
            oif: links[r.dev].index,
        })
        .collect();
    Ok(Fib::new(links, &routes))
}

/// The link address the router answers with on the host's TAP device, for every
/// address the host asks for (it routes everything through the engine).
pub const HOST_SIDE_MAC: [u8; 6] = [0x02, 0x62, 0x77, 0x00, 0x00, 0x01];

/// A routed interface (or the host's TAP) as the link layer needs it.
struct Port {
    index: u32,
    /// The router's link address on it.
    mac: [u8; 6],
    mtu: u32,
    /// The host's TAP device: its own link address (the host's).
    host: Option<[u8; 6]>,
}

/// How sending a routed datagram went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sent {
    /// Framed and handed out (now, or when its neighbour answers).
    Out,
    /// Its neighbour has too many packets waiting already.
    QueueFull,
    /// Larger than the interface's MTU and not to be fragmented (DF, IPv6).
    TooBig,
    /// Its next hop's interface is not a routed one.
    NoPort,
}

/// What the link layer made of a received frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Taken {
    /// Its own business (ARP, neighbour discovery), answered or learnt from.
    Handled,
    /// Addressed to another host's link address (a socket that takes every frame sees
    /// those): not the router's, dropped.
    OtherHost,
    /// For the pipeline (IP), or for the parser to tell what is wrong with it.
    Pass,
}

/// The link layer of every routed interface, shared by the workers.
pub struct Routed {
    fib: Arc<Fib>,
    /// In the order of the live ports.
    ports: Vec<Port>,
    /// The neighbours.
    pub neigh: Neighbours,
}

/// Where frames go: the port's position and the frame.
pub type Out<'a> = &'a mut dyn FnMut(usize, &[u8]);

impl Routed {
    /// The link layer of `ports` (the live ports, in order, each with whether it is
    /// the host's TAP) routing by `fib`.
    pub fn new(fib: Arc<Fib>, ports: &[(&Interface, bool)]) -> Routed {
        Routed {
            fib,
            ports: ports
                .iter()
                .map(|&(i, host)| Port {
                    index: i.index,
                    mac: if host { HOST_SIDE_MAC } else { i.mac },
                    mtu: i.mtu,
                    host: host.then_some(i.mac),
                })
                .collect(),
            neigh: Neighbours::default(),
        }
    }

    /// Hands a packet that passed INPUT to the host's TAP device; false without one.
    pub fn deliver(&self, datagram: &[u8], out: Out<'_>) -> bool {
        let Some((port, host)) = self
            .ports
            .iter()
            .enumerate()
            .find_map(|(k, p)| Some((k, p.host?)))
        else {
            return false;
        };
        self.frame_out(port, host, ethertype_of(datagram), datagram, out);
        true
    }

    /// The host asks for a link address on its TAP: every one is the router's.
    fn answer_host(&self, port: usize, frame: &[u8], out: Out<'_>) -> bool {
        let from: [u8; 6] = frame[6..12].try_into().unwrap_or_default();
        let payload = &frame[14..];
        match u16::from_be_bytes([frame[12], frame[13]]) {
            ethernet::ETHERTYPE_ARP => {
                // Not the host's announcements of its own addresses (gratuitous, or a
                // probe from 0.0.0.0).
                let asks = |a: &arp::ArpPacket<'_>| {
                    a.op() == arp::OP_REQUEST
                        && a.sender_ip() != [0; 4]
                        && a.sender_ip() != a.target_ip()
                };
                let Some(a) = arp::ArpPacket::new(payload) else {
                    return false;
                };
                if asks(&a) {
                    let reply = arp::arp_frame(
                        arp::OP_REPLY,
                        HOST_SIDE_MAC,
                        a.target_ip(),
                        a.sender_mac(),
                        a.sender_ip(),
                        a.sender_mac(),
                    );
                    out(port, &reply);
                }
                true
            }
            ethernet::ETHERTYPE_IPV6 => {
                let nd = match (payload.get(6), payload.get(7), payload.get(40..)) {
                    (Some(&58), Some(&255), Some(icmp)) => ndisc::NdMessage::new(icmp),
                    _ => None,
                };
                let Some(m) = nd else {
                    return false;
                };
                let src: [u8; 16] = payload[8..24].try_into().unwrap_or_default();
                if m.is_solicitation() && src != [0; 16] {
                    let target = m.target();
                    let asker = m.link_addr().unwrap_or(from);
                    let na = ndisc::neighbour_advertisement(
                        &target,
                        &src,
                        &target,
                        HOST_SIDE_MAC,
                        true,
                        true,
                        true,
                    );
                    self.frame_out(port, asker, ethernet::ETHERTYPE_IPV6, &na, out);
                }
                true
            }
            _ => false,
        }
    }

    fn port_of(&self, oif: u32) -> Option<usize> {
        self.ports.iter().position(|p| p.index == oif)
    }

    /// Whether `addr` is one of the router's addresses on port `port`.
    fn owns(&self, port: usize, addr: IpAddr) -> bool {
        self.fib
            .link(self.ports[port].index)
            .is_some_and(|l| l.addrs.iter().any(|a| a.addr() == addr))
    }

    /// Takes the frames that are the link layer's own business, before the pipeline:
    /// ARP, neighbour solicitations and advertisements; and tells the frames addressed
    /// to another host's link address.
    pub fn intercept(&self, port: usize, frame: &[u8], out: Out<'_>) -> Taken {
        let Some(eth) = frame.get(..14) else {
            return Taken::Pass;
        };
        let group = eth[0] & 1 != 0;
        if !group && eth[..6] != self.ports[port].mac {
            return Taken::OtherHost;
        }
        let handled = if self.ports[port].host.is_some() {
            self.answer_host(port, frame, out)
        } else {
            self.answer_wire(port, frame, out)
        };
        if handled {
            Taken::Handled
        } else {
            Taken::Pass
        }
    }

    /// ARP and neighbour discovery on a routed interface; whether `frame` was one.
    fn answer_wire(&self, port: usize, frame: &[u8], out: Out<'_>) -> bool {
        let eth = &frame[..14];
        let from: [u8; 6] = eth[6..12].try_into().unwrap_or_default();
        match u16::from_be_bytes([eth[12], eth[13]]) {
            ethernet::ETHERTYPE_ARP => match arp::ArpPacket::new(&frame[14..]) {
                Some(a) => {
                    self.on_arp(port, &a, Instant::now(), out);
                    true
                }
                // Not Ethernet/IPv4 ARP: the parser counts it as not IP.
                None => false,
            },
            ethernet::ETHERTYPE_IPV6 => {
                let d = &frame[14..];
                // Neighbour discovery comes with no extension headers and hop limit 255.
                match (d.get(6), d.get(7), d.get(40..)) {
                    (Some(&58), Some(&255), Some(icmp)) => match ndisc::NdMessage::new(icmp) {
                        Some(m) => {
                            let src: [u8; 16] = d[8..24].try_into().unwrap_or_default();
                            self.on_nd(port, from, &src, &m, Instant::now(), out);
                            true
                        }
                        None => false,
                    },
                    _ => false,
                }
            }
            _ => false,
        }
    }

    fn on_arp(&self, port: usize, a: &arp::ArpPacket<'_>, now: Instant, out: Out<'_>) {
        let sender = IpAddr::from(a.sender_ip());
        let target = IpAddr::from(a.target_ip());
        let for_us = self.owns(port, target);
        let index = self.ports[port].index;
        // Linux learns from requests aimed at it, and takes answers and announcements
        // about neighbours it knows or asked for; unsolicited ones about others it
        // ignores.
        let known = self.neigh.has(index, sender);
        let asks_us = a.op() == arp::OP_REQUEST && for_us;
        if a.sender_ip() != [0; 4] && (asks_us || known) {
            let waiting = self.neigh.confirm(index, sender, a.sender_mac(), now);
            self.flush(port, a.sender_mac(), &waiting, out);
        }
        if asks_us {
            let me = self.ports[port].mac;
            let reply = arp::arp_frame(
                arp::OP_REPLY,
                me,
                a.target_ip(),
                a.sender_mac(),
                a.sender_ip(),
                a.sender_mac(),
            );
            out(port, &reply);
        }
    }

    fn on_nd(
        &self,
        port: usize,
        from: [u8; 6],
        src: &[u8; 16],
        m: &ndisc::NdMessage<'_>,
        now: Instant,
        out: Out<'_>,
    ) {
        let index = self.ports[port].index;
        let target = m.target();
        let unspecified = *src == [0; 16];
        if m.is_solicitation() {
            if !self.owns(port, IpAddr::from(target)) {
                return;
            }
            let asker = m.link_addr().unwrap_or(from);
            if !unspecified {
                let waiting = self.neigh.confirm(index, IpAddr::from(*src), asker, now);
                self.flush(port, asker, &waiting, out);
            }
            // A duplicate-address check (from ::) is answered to all nodes.
            let (dst, eth_dst) = if unspecified {
                let all: [u8; 16] = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1).octets();
                (all, ndisc::multicast_mac(&all))
            } else {
                (*src, asker)
            };
            let me = self.ports[port].mac;
            let na = ndisc::neighbour_advertisement(
                &target,
                &dst,
                &target,
                me,
                true,
                !unspecified,
                true,
            );
            self.frame_out(port, eth_dst, ethernet::ETHERTYPE_IPV6, &na, out);
        } else {
            let mac = m.link_addr().unwrap_or(from);
            let addr = IpAddr::from(target);
            if self.neigh.has(index, addr) {
                let waiting = self.neigh.confirm(index, addr, mac, now);
                self.flush(port, mac, &waiting, out);
            }
        }
    }

    /// Frames `datagram` for `dst` out of `port`.
    fn frame_out(&self, port: usize, dst: [u8; 6], ethertype: u16, datagram: &[u8], out: Out<'_>) {
        let mut f = Vec::with_capacity(14 + datagram.len());
        f.extend_from_slice(&ethernet::ethernet_header(
            dst,
            self.ports[port].mac,
            ethertype,
        ));
        f.extend_from_slice(datagram);
        out(port, &f);
    }

    /// Sends the datagrams that waited for a neighbour now known at `mac`.
    fn flush(&self, port: usize, mac: [u8; 6], waiting: &[Vec<u8>], out: Out<'_>) {
        for d in waiting {
            self.frame_out(port, mac, ethertype_of(d), d, out);
        }
    }

    /// Asks for `addr`'s link address on `port`: broadcast (ARP) or to its
    /// solicited-node group (IPv6), or unicast to `known` to confirm a stale entry.
    fn solicit(&self, port: usize, addr: IpAddr, known: Option<[u8; 6]>, out: Out<'_>) {
        let p = &self.ports[port];
        let Some(me) = self.fib.source_on(p.index, addr) else {
            return;
        };
        match (me, addr) {
            (IpAddr::V4(me), IpAddr::V4(a)) => {
                let f = arp::arp_frame(
                    arp::OP_REQUEST,
                    p.mac,
                    me.octets(),
                    [0; 6],
                    a.octets(),
                    known.unwrap_or([0xff; 6]),
                );
                out(port, &f);
            }
            (IpAddr::V6(me), IpAddr::V6(a)) => {
                let a = a.octets();
                let dst = if known.is_some() {
                    a
                } else {
                    ndisc::solicited_node(&a)
                };
                let ns = ndisc::neighbour_solicitation(&me.octets(), &dst, &a, Some(p.mac));
                let eth = known.unwrap_or_else(|| ndisc::multicast_mac(&dst));
                self.frame_out(port, eth, ethernet::ETHERTYPE_IPV6, &ns, out);
            }
            _ => {}
        }
    }

    /// Sends a routed datagram to its next hop, framed with its link address, or
    /// queues it while that is asked for. `scratch` holds the frame (reused).
    pub fn send(
        &self,
        nh: NextHop,
        datagram: &[u8],
        now: Instant,
        scratch: &mut Vec<u8>,
        out: Out<'_>,
    ) -> Sent {
        let Some(port) = self.port_of(nh.oif) else {
            return Sent::NoPort;
        };
        let mtu = self.ports[port].mtu as usize;
        if datagram.len() > mtu {
            // An IPv4 datagram without DF (one conntrack reassembled, say) goes in
            // fragments, as Linux's `ip_fragment` sends it.
            let Some(pieces) = fragment::fragment_v4(datagram, mtu) else {
                return Sent::TooBig;
            };
            let mut sent = Sent::Out;
            for p in &pieces {
                let s = self.send_fitting(port, nh, p, now, scratch, out);
                if s != Sent::Out {
                    sent = s;
                }
            }
            return sent;
        }
        self.send_fitting(port, nh, datagram, now, scratch, out)
    }

    /// [`Routed::send`] for a datagram that fits the MTU of `port`.
    fn send_fitting(
        &self,
        port: usize,
        nh: NextHop,
        datagram: &[u8],
        now: Instant,
        scratch: &mut Vec<u8>,
        out: Out<'_>,
    ) -> Sent {
        match self.neigh.resolve(nh.oif, nh.addr, datagram, now) {
            Resolution::Known { mac, probe } => {
                scratch.clear();
                scratch.extend_from_slice(&ethernet::ethernet_header(
                    mac,
                    self.ports[port].mac,
                    ethertype_of(datagram),
                ));
                scratch.extend_from_slice(datagram);
                out(port, scratch);
                if probe {
                    self.solicit(port, nh.addr, Some(mac), out);
                }
                Sent::Out
            }
            Resolution::Queued { probe } => {
                if probe {
                    self.solicit(port, nh.addr, None, out);
                }
                Sent::Out
            }
            Resolution::Full => Sent::QueueFull,
        }
    }

    /// The neighbour table's timers: probes sent again; for each packet that waited
    /// for a neighbour that never answered, the host-unreachable error to its sender
    /// (handed to `icmp`). Returns how many packets were given up.
    pub fn tick(&self, now: Instant, out: Out<'_>, icmp: &mut dyn FnMut(Vec<u8>)) -> u64 {
        let due = self.neigh.tick(now);
        for (oif, addr, known) in due.probe {
            if let Some(port) = self.port_of(oif) {
                self.solicit(port, addr, known, out);
            }
        }
        let mut lost = 0;
        for (oif, _, waiting) in due.failed {
            for d in waiting {
                lost += 1;
                if let Some(e) = self.unreachable(oif, &d) {
                    icmp(e);
                }
            }
        }
        lost
    }

    /// The host-unreachable error about `d`, which could not be delivered out of `oif`.
    fn unreachable(&self, oif: u32, d: &[u8]) -> Option<Vec<u8>> {
        forward::icmp_to_sender(
            &self.fib,
            d,
            oif,
            (icmp::DEST_UNREACH, icmp::HOST_UNREACH, 0),
            (icmp::V6_DEST_UNREACH, icmp::V6_ADDR_UNREACH, 0),
        )
    }
}

/// The ethertype of an IP datagram, from its version.
fn ethertype_of(d: &[u8]) -> u16 {
    if d.first().is_some_and(|b| b >> 4 == 6) {
        ethernet::ETHERTYPE_IPV6
    } else {
        ethernet::ETHERTYPE_IPV4
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::fib::Link;

    const ME: [u8; 6] = [2, 0, 0, 0, 0, 0xaa];
    const HOST: [u8; 6] = [2, 0, 0, 0, 0, 0x0b];
    const PEER: [u8; 6] = [2, 0, 0, 0, 0, 0x0c];

    /// A router with one port (index 7, 10.0.0.1/24, MTU 1500).
    fn routed() -> Routed {
        let fib = Fib::new(
            vec![Link {
                index: 7,
                mtu: 1500,
                addrs: vec!["10.0.0.1/24".parse().unwrap()],
            }],
            &[],
        );
        let iface = Interface {
            name: "r0".into(),
            index: 7,
            mtu: 1500,
            up: true,
            mac: ME,
        };
        Routed::new(Arc::new(fib), &[(&iface, false)])
    }

    /// What `f` sent, as (port, frame).
    fn sent(f: impl FnOnce(Out<'_>)) -> Vec<(usize, Vec<u8>)> {
        let mut got = Vec::new();
        f(&mut |j, frame| got.push((j, frame.to_vec())));
        got
    }

    fn arp(op: u16, from_mac: [u8; 6], from: [u8; 4], to: [u8; 4], eth_dst: [u8; 6]) -> Vec<u8> {
        arp::arp_frame(op, from_mac, from, [0; 6], to, eth_dst)
    }

    /// Every cut and scrambled copy of ARP and neighbour discovery frames, on a routed
    /// port and on the host's TAP, is taken or passed on without a panic.
    #[test]
    fn no_frame_makes_the_link_layer_panic() {
        let tap = Interface {
            name: "t0".into(),
            index: 9,
            mtu: 1500,
            up: true,
            mac: HOST,
        };
        let fib = Fib::new(
            vec![Link {
                index: 7,
                mtu: 1500,
                addrs: vec![
                    "10.0.0.1/24".parse().unwrap(),
                    "fd00::1/64".parse().unwrap(),
                ],
            }],
            &[],
        );
        let wire = Interface {
            name: "r0".into(),
            index: 7,
            mtu: 1500,
            up: true,
            mac: ME,
        };
        let r = Routed::new(Arc::new(fib), &[(&wire, false), (&tap, true)]);
        let me6: [u8; 16] = "fd00::1".parse::<Ipv6Addr>().unwrap().octets();
        let peer6: [u8; 16] = "fd00::5".parse::<Ipv6Addr>().unwrap().octets();
        let ns =
            ndisc::neighbour_solicitation(&peer6, &ndisc::solicited_node(&me6), &me6, Some(PEER));
        let na = ndisc::neighbour_advertisement(&peer6, &me6, &peer6, PEER, false, true, true);
        let mut samples = vec![arp(
            arp::OP_REQUEST,
            HOST,
            [10, 0, 0, 5],
            [10, 0, 0, 1],
            [0xff; 6],
        )];
        for d in [ns, na] {
            let mut f = ethernet::ethernet_header(ME, PEER, ethernet::ETHERTYPE_IPV6).to_vec();
            f.extend_from_slice(&d);
            samples.push(f);
        }
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for round in 0..3000 {
            let mut f = samples[round % samples.len()].clone();
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let at = (x as usize) % f.len();
            f[at] = (x >> 32) as u8;
            f.truncate((x >> 40) as usize % (f.len() + 1));
            for port in [0, 1] {
                let _ = sent(|o| {
                    r.intercept(port, &f, o);
                });
            }
        }
    }

    #[test]
    fn a_request_for_the_router_is_answered_and_its_asker_learned() {
        let r = routed();
        let req = arp(
            arp::OP_REQUEST,
            HOST,
            [10, 0, 0, 5],
            [10, 0, 0, 1],
            [0xff; 6],
        );
        let out = sent(|o| assert_eq!(r.intercept(0, &req, o), Taken::Handled));
        assert_eq!(out.len(), 1);
        let reply = arp::ArpPacket::new(&out[0].1[14..]).unwrap();
        assert_eq!(reply.op(), arp::OP_REPLY);
        assert_eq!((reply.sender_mac(), reply.sender_ip()), (ME, [10, 0, 0, 1]));
        assert_eq!(&out[0].1[..6], &HOST);
        assert_eq!(r.neigh.get(7, "10.0.0.5".parse().unwrap()), Some(HOST));
        // A request for another address is not answered.
        let other = arp(
            arp::OP_REQUEST,
            HOST,
            [10, 0, 0, 5],
            [10, 0, 0, 9],
            [0xff; 6],
        );
        assert!(sent(|o| assert_eq!(r.intercept(0, &other, o), Taken::Handled)).is_empty());
    }

    #[test]
    fn packets_wait_for_their_neighbour_and_unsolicited_answers_are_ignored() {
        let r = routed();
        // An answer nobody asked for teaches nothing.
        let forged = arp(arp::OP_REPLY, PEER, [10, 0, 0, 9], [10, 0, 0, 1], ME);
        sent(|o| assert_eq!(r.intercept(0, &forged, o), Taken::Handled));
        assert!(!r.neigh.has(7, "10.0.0.9".parse().unwrap()));
        // A datagram to 10.0.0.9 waits, and the router asks for it by broadcast.
        let d = vec![
            0x45, 0, 0, 20, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 9,
        ];
        let nh = NextHop {
            oif: 7,
            addr: "10.0.0.9".parse().unwrap(),
        };
        let mut scratch = Vec::new();
        let out = sent(|o| assert_eq!(r.send(nh, &d, Instant::now(), &mut scratch, o), Sent::Out));
        assert_eq!(out.len(), 1);
        assert_eq!(&out[0].1[..6], &[0xff; 6]);
        let ask = arp::ArpPacket::new(&out[0].1[14..]).unwrap();
        assert_eq!(
            (ask.op(), ask.target_ip()),
            (arp::OP_REQUEST, [10, 0, 0, 9])
        );
        // Its answer releases the datagram, framed to it from the router.
        let answer = arp(arp::OP_REPLY, PEER, [10, 0, 0, 9], [10, 0, 0, 1], ME);
        let out = sent(|o| assert_eq!(r.intercept(0, &answer, o), Taken::Handled));
        assert_eq!(out.len(), 1);
        assert_eq!(&out[0].1[..12], &[PEER, ME].concat()[..]);
        assert_eq!(&out[0].1[14..], &d[..]);
        // Frames to another host's link address are not the router's.
        let mut elsewhere = d.clone();
        elsewhere.splice(0..0, ethernet::ethernet_header(PEER, HOST, 0x0800));
        assert!(sent(|o| assert_eq!(r.intercept(0, &elsewhere, o), Taken::OtherHost)).is_empty());
    }
}
