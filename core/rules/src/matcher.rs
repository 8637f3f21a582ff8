//! Compiled matchers and their per-packet evaluation. Everything here is built once at
//! init (addresses as `u128` with a mask, ports as ranges, conntrack states as a
//! bitmask, ICMP types as bitmaps) and evaluated without allocating.

use brickwall_hooks::{CtInfo, Family, PacketView};
use brickwall_wire::{ip_proto, Cidr};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::ifname::{self, IfPattern};
use crate::names;

/// Bits of a conntrack-state mask.
pub mod state {
    /// `new`.
    pub const NEW: u8 = 1 << 0;
    /// `established` (either direction).
    pub const ESTABLISHED: u8 = 1 << 1;
    /// `related` (either direction).
    pub const RELATED: u8 = 1 << 2;
    /// `invalid`.
    pub const INVALID: u8 = 1 << 3;
    /// `untracked`.
    pub const UNTRACKED: u8 = 1 << 4;
    /// Names in bit order, for the text form.
    pub const NAMES: [(&str, u8); 5] = [
        ("new", NEW),
        ("established", ESTABLISHED),
        ("related", RELATED),
        ("invalid", INVALID),
        ("untracked", UNTRACKED),
    ];
}

/// nftables' `ct status` words and the status bits they stand for (the conntrack
/// service's numbering, Linux's `IPS_*`), in bit order for the text form.
pub mod status {
    use brickwall_hooks::services::conntrack::status as bit;

    /// Names in bit order.
    pub const NAMES: [(&str, u32); 7] = [
        ("expected", bit::EXPECTED),
        ("seen-reply", bit::SEEN_REPLY),
        ("assured", bit::ASSURED),
        ("confirmed", bit::CONFIRMED),
        ("snat", bit::SRC_NAT),
        ("dnat", bit::DST_NAT),
        ("dying", bit::DYING),
    ];
}

/// The state bit of a packet's conntrack information. `CtInfo::None` (no conntrack has
/// seen the packet, e.g. none is loaded, or the chain runs before it) has no bit, so it
/// matches no `ct_state` at all.
pub fn state_bit(info: CtInfo) -> u8 {
    match info {
        CtInfo::New => state::NEW,
        CtInfo::Established | CtInfo::EstablishedReply => state::ESTABLISHED,
        CtInfo::Related | CtInfo::RelatedReply => state::RELATED,
        CtInfo::Invalid => state::INVALID,
        CtInfo::Untracked => state::UNTRACKED,
        CtInfo::None => 0,
    }
}

/// `(x & mask) == value`, for marks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MaskedValue {
    /// The value compared with (no bits outside `mask`).
    pub value: u32,
    /// The bits compared.
    pub mask: u32,
}

impl MaskedValue {
    /// Whether `x` matches.
    #[inline]
    pub fn matches(&self, x: u32) -> bool {
        x & self.mask == self.value
    }
}

/// An address prefix of a rule, included or excluded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Net {
    /// The prefix (no bits set beyond its length).
    pub cidr: Cidr,
    /// `!`: addresses in this prefix are excluded.
    pub negated: bool,
}

/// Address prefixes, kept apart per family. A packet of a family with no prefixes never
/// matches (an IPv4 prefix never matches an IPv6 packet, even negated). Otherwise the
/// address must lie in one of the family's plain prefixes (if it has any) and in none
/// of its negated ones.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AddrSet {
    /// IPv4 prefixes.
    pub v4: Box<[Net]>,
    /// IPv6 prefixes.
    pub v6: Box<[Net]>,
}

impl AddrSet {
    /// Whether `addr` of `family` (IPv4 in the low 32 bits) matches.
    #[inline]
    pub fn matches(&self, family: Family, addr: u128) -> bool {
        let (list, ip) = match family {
            Family::Ipv4 => (&self.v4, IpAddr::V4(Ipv4Addr::from(addr as u32))),
            Family::Ipv6 => (&self.v6, IpAddr::V6(Ipv6Addr::from(addr))),
        };
        in_set(list.iter().map(|n| (n.cidr.contains(ip), n.negated)))
    }
}

/// Shared include/exclude logic: no items → false; any negated hit → false; else true
/// when a plain item hit, or when there are no plain items.
#[inline]
fn in_set(items: impl Iterator<Item = (bool, bool)>) -> bool {
    let mut any = false;
    let mut has_plain = false;
    let mut hit = false;
    for (inside, negated) in items {
        any = true;
        if negated {
            if inside {
                return false;
            }
        } else {
            has_plain = true;
            hit |= inside;
        }
    }
    any && (hit || !has_plain)
}

/// A port range, inclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortRange {
    /// Lowest port.
    pub lo: u16,
    /// Highest port.
    pub hi: u16,
    /// `!`: ports in this range are excluded.
    pub negated: bool,
}

/// Port ranges with the same include/exclude logic as [`AddrSet`]. Only TCP, UDP and
/// SCTP packets have ports; any other packet never matches a port set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PortSet {
    /// The ranges.
    pub ranges: Box<[PortRange]>,
}

impl PortSet {
    /// Whether `port` matches.
    #[inline]
    pub fn matches(&self, port: u16) -> bool {
        in_set(
            self.ranges
                .iter()
                .map(|r| (r.lo <= port && port <= r.hi, r.negated)),
        )
    }
}

/// ICMP types (IPv4 packets, protocol 1) and ICMPv6 types (IPv6 packets, protocol 58)
/// as 256-bit maps.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IcmpTypes {
    /// ICMP types.
    pub v4: [u64; 4],
    /// ICMPv6 types.
    pub v6: [u64; 4],
}

impl IcmpTypes {
    /// Adds a type to one family's map.
    pub fn insert(&mut self, family: Family, t: u8) {
        let map = match family {
            Family::Ipv4 => &mut self.v4,
            Family::Ipv6 => &mut self.v6,
        };
        if let Some(word) = map.get_mut(usize::from(t >> 6)) {
            *word |= 1u64 << (t & 63);
        }
    }

    /// Whether a family's map holds `t`.
    #[inline]
    pub fn contains(&self, family: Family, t: u8) -> bool {
        let map = match family {
            Family::Ipv4 => &self.v4,
            Family::Ipv6 => &self.v6,
        };
        map.get(usize::from(t >> 6))
            .is_some_and(|w| w & (1u64 << (t & 63)) != 0)
    }

    /// The types of one family, ascending.
    pub fn types(&self, family: Family) -> impl Iterator<Item = u8> + '_ {
        (0..=255u8).filter(move |t| self.contains(family, *t))
    }

    /// Whether a family's map is empty.
    pub fn is_empty(&self, family: Family) -> bool {
        match family {
            Family::Ipv4 => self.v4 == [0; 4],
            Family::Ipv6 => self.v6 == [0; 4],
        }
    }
}

/// What a chain reads from a packet once, before its rules run. Marks are not here:
/// rules may change them, and later rules see the new values.
#[derive(Clone, Copy, Debug)]
pub struct Facts {
    /// The family, if the byte is valid.
    pub family: Option<Family>,
    /// The layer-4 protocol.
    pub proto: u8,
    /// The conntrack state bit (0: none).
    pub state: u8,
    /// Source and destination addresses, if the header holds them.
    pub addrs: Option<(u128, u128)>,
    /// Source and destination ports of TCP, UDP and SCTP packets with a valid header.
    pub ports: Option<(u16, u16)>,
    /// The ICMP or ICMPv6 type (by family), if the packet is one.
    pub icmp_type: Option<u8>,
}

fn addr_bits(bytes: &[u8]) -> Option<u128> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes)
            .ok()
            .map(|b| u128::from(u32::from_be_bytes(b))),
        16 => <[u8; 16]>::try_from(bytes).ok().map(u128::from_be_bytes),
        _ => None,
    }
}

impl Facts {
    /// Reads the facts of a packet.
    pub fn of(pkt: &PacketView) -> Facts {
        let family = pkt.family();
        let proto = pkt.l4proto;
        let addrs = pkt
            .addrs()
            .and_then(|(s, d)| Some((addr_bits(s)?, addr_bits(d)?)));
        let ports = if names::has_ports(proto) {
            pkt.ports()
        } else {
            None
        };
        let icmp_type = match (family, proto) {
            (Some(Family::Ipv4), ip_proto::ICMP) | (Some(Family::Ipv6), ip_proto::ICMPV6) => {
                pkt.l4().first().copied()
            }
            _ => None,
        };
        Facts {
            family,
            proto,
            state: state_bit(pkt.ctinfo()),
            addrs,
            ports,
            icmp_type,
        }
    }
}

/// A rule's compiled conditions; `None` fields are not checked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Matcher {
    /// `meta nfproto`.
    pub family: Option<Family>,
    /// `meta l4proto`, one protocol.
    pub proto: Option<u8>,
    /// `meta l4proto { a, b }`: any of several protocols (a bit per number).
    pub protos: Option<[u64; 4]>,
    /// `ct state`, as a bitmask of [`state`] bits.
    pub ct_state: Option<u8>,
    /// `ct status`: any of these status bits (the packet's `ct_status`).
    pub ct_status: Option<u32>,
    /// `ct direction`: true for `reply`.
    pub ct_direction: Option<bool>,
    /// `ct mark`.
    pub ct_mark: Option<MaskedValue>,
    /// `ct helper`: the name, NUL-padded as the packet carries it.
    pub ct_helper: Option<[u8; 16]>,
    /// `ct label`: the labels that must all be set.
    pub ct_label: Option<u128>,
    /// `meta mark`.
    pub mark: Option<MaskedValue>,
    /// Input interfaces.
    pub iif: Option<Box<[u32]>>,
    /// Output interfaces.
    pub oif: Option<Box<[u32]>>,
    /// Source addresses.
    pub saddr: Option<AddrSet>,
    /// Destination addresses.
    pub daddr: Option<AddrSet>,
    /// Source ports.
    pub sport: Option<PortSet>,
    /// Destination ports.
    pub dport: Option<PortSet>,
    /// ICMP / ICMPv6 types.
    pub icmp_type: Option<IcmpTypes>,
    /// ICMP / ICMPv6 codes (a bit per code).
    pub icmp_code: Option<[u64; 4]>,
    /// `tcp flags`: the flags under `mask` must equal `value`, or with `any`, at least
    /// one of `mask` must be set.
    pub tcp_flags: Option<TcpFlags>,
    /// IPv4 TTL / IPv6 hop limit.
    pub ttl: Option<PortSet>,
    /// DSCP values (a bit per value).
    pub dscp: Option<u64>,
    /// The IP datagram's length.
    pub length: Option<PortSet>,
    /// `ct zone`.
    pub ct_zone: Option<u16>,
    /// `iifname`: patterns of the input interface's name.
    pub iifname: Option<Box<[IfPattern]>>,
    /// `oifname`: patterns of the output interface's name.
    pub oifname: Option<Box<[IfPattern]>>,
    /// `meta pkttype`: a bit per [`pkttype`] kind.
    pub pkttype: Option<u8>,
    /// Whether any of the nine fields above is set (one test on the common path).
    pub rare: bool,
}

/// A `tcp flags` condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpFlags {
    /// The flags looked at.
    pub mask: u8,
    /// What they must be (with `any` false).
    pub value: u8,
    /// Any of `mask` set (nft's `tcp flags syn,ack`).
    pub any: bool,
}

impl TcpFlags {
    /// Whether the flags byte `f` meets the condition.
    pub fn matches(self, f: u8) -> bool {
        if self.any {
            f & self.mask != 0
        } else {
            f & self.mask == self.value
        }
    }
}

/// The kinds of destination `meta pkttype` tells apart, as bits.
pub mod pkttype {
    /// To one host.
    pub const UNICAST: u8 = 1;
    /// To every host of the link.
    pub const BROADCAST: u8 = 2;
    /// To a group.
    pub const MULTICAST: u8 = 4;

    /// The bits by nft's names, in nft's order.
    pub const NAMES: [(&str, u8); 3] = [
        ("unicast", UNICAST),
        ("broadcast", BROADCAST),
        ("multicast", MULTICAST),
    ];
}

/// A packet's kind of destination: by its Ethernet destination when it has one (an IP
/// header 14, 18 or 22 bytes in: Ethernet with no, one or two VLAN tags), else by its
/// IP destination.
fn pkttype_of(pkt: &PacketView, f: &Facts) -> u8 {
    if matches!(pkt.l3_off, 14 | 18 | 22) {
        if let Some(mac) = pkt.frame().get(..6) {
            return if mac == [0xff; 6] {
                pkttype::BROADCAST
            } else if mac[0] & 1 != 0 {
                pkttype::MULTICAST
            } else {
                pkttype::UNICAST
            };
        }
    }
    match (f.family, f.addrs) {
        (Some(Family::Ipv4), Some((_, 0xffff_ffff))) => pkttype::BROADCAST,
        (Some(Family::Ipv4), Some((_, d))) if d >> 28 == 0xe => pkttype::MULTICAST,
        (Some(Family::Ipv6), Some((_, d))) if d >> 120 == 0xff => pkttype::MULTICAST,
        _ => pkttype::UNICAST,
    }
}

/// Whether bit `n` of a 256-bit map is set.
pub fn bit256(map: &[u64; 4], n: u8) -> bool {
    map[usize::from(n >> 6)] & (1 << (n & 63)) != 0
}

/// The IP header's TTL (IPv4) or hop limit (IPv6), and DSCP.
fn ttl_dscp(pkt: &PacketView, family: Family) -> Option<(u8, u8)> {
    let h = pkt.l3();
    match family {
        Family::Ipv4 => Some((*h.get(8)?, h.get(1)? >> 2)),
        Family::Ipv6 => {
            let class = (h.first()? & 0x0f) << 4 | h.get(1)? >> 4;
            Some((*h.get(7)?, class >> 2))
        }
    }
}

impl Matcher {
    /// Whether every condition holds for the packet.
    #[inline]
    pub fn matches(&self, f: &Facts, pkt: &PacketView) -> bool {
        if let Some(fam) = self.family {
            if f.family != Some(fam) {
                return false;
            }
        }
        if let Some(p) = self.proto {
            if f.proto != p {
                return false;
            }
        }
        if let Some(set) = &self.protos {
            if !bit256(set, f.proto) {
                return false;
            }
        }
        if let Some(bits) = self.ct_state {
            if f.state & bits == 0 {
                return false;
            }
        }
        if let Some(bits) = self.ct_status {
            if pkt.ct == 0 || pkt.ct_status & bits == 0 {
                return false;
            }
        }
        if let Some(reply) = self.ct_direction {
            // Without a connection `ct direction` matches neither way.
            if pkt.ctinfo().is_reply() != Some(reply) {
                return false;
            }
        }
        if let Some(m) = self.ct_mark {
            if !m.matches(pkt.ct_mark) {
                return false;
            }
        }
        if let Some(name) = &self.ct_helper {
            if pkt.ct_helper != *name {
                return false;
            }
        }
        if let Some(bits) = self.ct_label {
            if pkt.labels() & bits != bits {
                return false;
            }
        }
        if let Some(m) = self.mark {
            if !m.matches(pkt.mark) {
                return false;
            }
        }
        if let Some(ifs) = &self.iif {
            if !ifs.contains(&pkt.iif) {
                return false;
            }
        }
        if let Some(ifs) = &self.oif {
            if !ifs.contains(&pkt.oif) {
                return false;
            }
        }
        if self.saddr.is_some() || self.daddr.is_some() {
            let (Some(fam), Some((src, dst))) = (f.family, f.addrs) else {
                return false;
            };
            if let Some(set) = &self.saddr {
                if !set.matches(fam, src) {
                    return false;
                }
            }
            if let Some(set) = &self.daddr {
                if !set.matches(fam, dst) {
                    return false;
                }
            }
        }
        if self.sport.is_some() || self.dport.is_some() {
            let Some((sp, dp)) = f.ports else {
                return false;
            };
            if let Some(set) = &self.sport {
                if !set.matches(sp) {
                    return false;
                }
            }
            if let Some(set) = &self.dport {
                if !set.matches(dp) {
                    return false;
                }
            }
        }
        if let Some(types) = &self.icmp_type {
            let (Some(fam), Some(t)) = (f.family, f.icmp_type) else {
                return false;
            };
            if !types.contains(fam, t) {
                return false;
            }
        }
        if self.rare {
            return self.matches_rare(f, pkt);
        }
        true
    }

    /// The rarer conditions, read from the headers (and interface names) only when a
    /// rule has them.
    #[cold]
    fn matches_rare(&self, f: &Facts, pkt: &PacketView) -> bool {
        if let Some(kinds) = self.pkttype {
            if pkttype_of(pkt, f) & kinds == 0 {
                return false;
            }
        }
        for (patterns, index) in [(&self.iifname, pkt.iif), (&self.oifname, pkt.oif)] {
            if let Some(ps) = patterns {
                let name = ifname::name_of(index);
                if !name.is_some_and(|n| ps.iter().any(|p| p.matches(&n))) {
                    return false;
                }
            }
        }
        if let Some(codes) = &self.icmp_code {
            let code = f.icmp_type.and_then(|_| pkt.l4().get(1).copied());
            if !code.is_some_and(|c| bit256(codes, c)) {
                return false;
            }
        }
        if let Some(t) = self.tcp_flags {
            let flags = (f.proto == ip_proto::TCP && pkt.l4().len() >= 20)
                .then(|| pkt.l4().get(13).copied())
                .flatten();
            if !flags.is_some_and(|fl| t.matches(fl)) {
                return false;
            }
        }
        if self.ttl.is_some() || self.dscp.is_some() {
            let Some((ttl, dscp)) = f.family.and_then(|fam| ttl_dscp(pkt, fam)) else {
                return false;
            };
            if self
                .ttl
                .as_ref()
                .is_some_and(|s| !s.matches(u16::from(ttl)))
            {
                return false;
            }
            if self.dscp.is_some_and(|bits| bits & (1 << dscp) == 0) {
                return false;
            }
        }
        if let Some(s) = &self.length {
            if !u16::try_from(pkt.l3_len).is_ok_and(|l| s.matches(l)) {
                return false;
            }
        }
        if let Some(z) = self.ct_zone {
            if pkt.ct == 0 || pkt.zone != z {
                return false;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(addr: u128, len: u8, negated: bool) -> Net {
        let ip = IpAddr::V4(Ipv4Addr::from(addr as u32));
        Net {
            cidr: Cidr::new(ip, len).unwrap(),
            negated,
        }
    }

    #[test]
    fn include_exclude_sets() {
        let ten = 0x0a00_0000u128;
        let set = AddrSet {
            v4: vec![net(ten, 8, false), net(0x0a01_0000, 16, true)].into(),
            v6: Box::new([]),
        };
        assert!(set.matches(Family::Ipv4, 0x0a02_0304));
        assert!(!set.matches(Family::Ipv4, 0x0a01_0304));
        assert!(!set.matches(Family::Ipv4, 0x0b00_0001));
        assert!(!set.matches(Family::Ipv6, 0x0a02_0304));
        let only_not = AddrSet {
            v4: vec![net(0xc0a8_0000, 16, true)].into(),
            v6: Box::new([]),
        };
        assert!(only_not.matches(Family::Ipv4, 0x0a00_0001));
        assert!(!only_not.matches(Family::Ipv4, 0xc0a8_0101));
        let ports = PortSet {
            ranges: vec![
                PortRange {
                    lo: 21,
                    hi: 21,
                    negated: false,
                },
                PortRange {
                    lo: 8000,
                    hi: 8100,
                    negated: false,
                },
            ]
            .into(),
        };
        assert!(ports.matches(21) && ports.matches(8050) && !ports.matches(22));
    }

    #[test]
    fn icmp_maps_and_states() {
        let mut t = IcmpTypes::default();
        t.insert(Family::Ipv4, 8);
        t.insert(Family::Ipv6, 255);
        assert!(t.contains(Family::Ipv4, 8) && !t.contains(Family::Ipv6, 8));
        assert!(t.contains(Family::Ipv6, 255));
        assert_eq!(t.types(Family::Ipv4).collect::<Vec<_>>(), [8]);
        assert_eq!(state_bit(CtInfo::None), 0);
        assert_eq!(state_bit(CtInfo::RelatedReply), state::RELATED);
    }
}
