//! Router mode's forwarding step, between the routing decision and FORWARD (Linux's
//! `ip_forward` and `ip6_forward`): the next hop and output interface from the
//! forwarding table, the TTL or hop limit checked and decremented, the output MTU
//! checked; the next hop of what the engine itself sends; and the ICMP errors a router
//! sends when it cannot forward, rate-limited as Linux's `icmp_ratelimit`.

use super::fib::{Fib, NextHop};
use crate::packet::Packet;
use brickwall_hooks::HookRegistry;
use brickwall_wire::{checksum, icmp};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Mutex;
use std::time::Instant;

/// Why a packet was not forwarded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No route to its destination.
    NoRoute,
    /// Its destination is not one a router forwards to (a group, a scoped address):
    /// dropped without an error, counted as no route.
    NotForwarded,
    /// Its TTL or hop limit would reach zero.
    TtlExceeded,
    /// It is larger than the output interface's MTU (this one) and may not be
    /// fragmented: IPv4 with DF set, or IPv6.
    TooBig(u32),
}

/// The drop reasons of the forwarding step, registered in router mode.
#[derive(Clone, Copy, Debug)]
pub struct RouteReasons {
    /// No route.
    pub no_route: u32,
    /// TTL or hop limit exceeded.
    pub ttl_exceeded: u32,
    /// Larger than the MTU, not to be fragmented.
    pub too_big: u32,
}

impl RouteReasons {
    /// The reasons' names, in id order.
    pub const NAMES: [&'static str; 3] = ["route-no-route", "route-ttl-exceeded", "route-too-big"];

    /// Declares the reasons in `registry`.
    pub fn register(registry: &HookRegistry) -> RouteReasons {
        let names: Vec<String> = Self::NAMES.iter().map(|s| s.to_string()).collect();
        let b = registry.add_reasons(&names);
        RouteReasons {
            no_route: b,
            ttl_exceeded: b + 1,
            too_big: b + 2,
        }
    }

    /// The reason of a refusal.
    pub fn of(&self, r: Refusal) -> u32 {
        match r {
            Refusal::NoRoute | Refusal::NotForwarded => self.no_route,
            Refusal::TtlExceeded => self.ttl_exceeded,
            Refusal::TooBig(_) => self.too_big,
        }
    }
}

/// The destination of a packet, from its view.
fn destination(pkt: &Packet) -> Option<IpAddr> {
    let (_, dst) = pkt.view.addrs()?;
    Some(match dst.len() {
        4 => IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(dst).ok()?)),
        16 => IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(dst).ok()?)),
        _ => return None,
    })
}

/// Whether a router forwards packets to `dst`: not to a group (multicast, the limited
/// broadcast, a connected prefix's broadcast address), nor to the unspecified, the
/// loopback or an IPv6 link-local address.
pub fn forwardable(fib: &Fib, dst: IpAddr) -> bool {
    match dst {
        IpAddr::V4(a) => {
            !(a.is_multicast()
                || a.is_broadcast()
                || a.is_unspecified()
                || a.is_loopback()
                || fib.is_broadcast(dst))
        }
        IpAddr::V6(a) => {
            !(a.is_multicast()
                || a.is_unspecified()
                || a.is_loopback()
                || a.is_unicast_link_local())
        }
    }
}

/// Routes a received packet that is not for the router: sets its output interface and
/// next hop, checks its TTL (hop limit) and size, and takes one off the TTL.
pub fn forward(fib: &Fib, pkt: &mut Packet) -> Result<(), Refusal> {
    let dst = destination(pkt).ok_or(Refusal::NoRoute)?;
    if !forwardable(fib, dst) {
        return Err(Refusal::NotForwarded);
    }
    let nh = fib.lookup(dst).ok_or(Refusal::NoRoute)?;
    let mtu = fib.link(nh.oif).map_or(u32::MAX, |l| l.mtu);
    let len = pkt.view.l3_len;
    let d = pkt.datagram_mut();
    match d.first().map(|b| b >> 4) {
        Some(4) if d.len() >= 20 => {
            let ttl = d[8];
            if ttl <= 1 {
                return Err(Refusal::TtlExceeded);
            }
            if len > mtu && d[6] & 0x40 != 0 {
                return Err(Refusal::TooBig(mtu));
            }
            let old = u16::from_be_bytes([ttl, d[9]]);
            let new = u16::from_be_bytes([ttl - 1, d[9]]);
            let check = u16::from_be_bytes([d[10], d[11]]);
            d[8] = ttl - 1;
            d[10..12].copy_from_slice(&checksum::update16(check, old, new).to_be_bytes());
        }
        Some(6) if d.len() >= 40 => {
            if d[7] <= 1 {
                return Err(Refusal::TtlExceeded);
            }
            if len > mtu {
                return Err(Refusal::TooBig(mtu));
            }
            d[7] -= 1;
        }
        _ => return Err(Refusal::NoRoute),
    }
    pkt.view.oif = nh.oif;
    pkt.next_hop = Some(nh);
    Ok(())
}

/// Routes a packet the engine sends (after OUTPUT, where a destination translation
/// may have moved it): its output interface and next hop.
pub fn route_local(fib: &Fib, pkt: &mut Packet) -> Result<NextHop, Refusal> {
    let nh = destination(pkt)
        .and_then(|d| fib.lookup(d))
        .ok_or(Refusal::NoRoute)?;
    pkt.view.oif = nh.oif;
    pkt.next_hop = Some(nh);
    Ok(nh)
}

/// The ICMP error that tells the sender of `offending` (a datagram that came in by
/// interface `iif`) why it was not forwarded, from the router's address toward it;
/// none where no error may be sent (about an ICMP error, a later fragment, a group
/// address: the builders' rules).
pub fn icmp_error(fib: &Fib, why: Refusal, offending: &[u8], iif: u32) -> Option<Vec<u8>> {
    let (v4, v6) = match why {
        Refusal::NotForwarded => return None,
        Refusal::NoRoute => (
            (icmp::DEST_UNREACH, icmp::NET_UNREACH, 0),
            (icmp::V6_DEST_UNREACH, icmp::V6_NO_ROUTE, 0),
        ),
        Refusal::TtlExceeded => (
            (icmp::TIME_EXCEEDED, icmp::TTL_EXCEEDED, 0),
            (icmp::V6_TIME_EXCEEDED, icmp::V6_HOP_LIMIT_EXCEEDED, 0),
        ),
        Refusal::TooBig(mtu) => (
            (icmp::DEST_UNREACH, icmp::FRAG_NEEDED, mtu.min(0xffff)),
            (icmp::V6_PACKET_TOO_BIG, 0, mtu),
        ),
    };
    icmp_to_sender(fib, offending, iif, v4, v6)
}

/// An ICMP error (type, code, rest of header: `v4` for IPv4, `v6` for IPv6) about
/// `offending` to its sender, from the router's address on the route back (else on
/// `iif`); none where no error may be sent.
pub fn icmp_to_sender(
    fib: &Fib,
    offending: &[u8],
    iif: u32,
    v4: (u8, u8, u32),
    v6: (u8, u8, u32),
) -> Option<Vec<u8>> {
    let src = match offending.first()? >> 4 {
        4 => IpAddr::V4(Ipv4Addr::from(
            <[u8; 4]>::try_from(offending.get(12..16)?).ok()?,
        )),
        6 => IpAddr::V6(Ipv6Addr::from(
            <[u8; 16]>::try_from(offending.get(8..24)?).ok()?,
        )),
        _ => return None,
    };
    match fib.source_for(src, iif)? {
        IpAddr::V4(me) => icmp::icmp4_error(me.octets(), offending, v4.0, v4.1, v4.2),
        IpAddr::V6(me) => icmp::icmp6_error(&me.octets(), offending, v6.0, v6.1, v6.2),
    }
}

/// A token bucket over every ICMP error the router sends: Linux's defaults
/// (`icmp_msgs_per_sec` 1000, `icmp_msgs_burst` 50).
pub struct IcmpLimiter {
    /// Tokens left, and when they were counted.
    state: Mutex<(f64, Instant)>,
}

impl IcmpLimiter {
    /// Errors per second.
    pub const RATE: f64 = 1000.0;
    /// Errors at once.
    pub const BURST: f64 = 50.0;

    /// Whether one more error may be sent now (taking its token).
    pub fn allow(&self) -> bool {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let tokens = (s.0 + now.duration_since(s.1).as_secs_f64() * Self::RATE).min(Self::BURST);
        if tokens < 1.0 {
            *s = (tokens, now);
            return false;
        }
        *s = (tokens - 1.0, now);
        true
    }
}

impl Default for IcmpLimiter {
    fn default() -> Self {
        IcmpLimiter {
            state: Mutex::new((Self::BURST, Instant::now())),
        }
    }
}
