//! The NAT's view of a connection's tuples: the two manip types and the hooks that
//! apply them, and [`Flow`], one direction's tuple with the part NAT may change (the
//! port, or the ICMP query id) named by manip type. Conntrack stores the binding as the
//! reply tuple; NAT reads what it has bound so far as that reply inverted (Linux's
//! `curr_tuple`) and writes a new binding back as a reply tuple.

use brickwall_hooks::services::conntrack::{status, CtTuple, FAMILY_V6};
use brickwall_hooks::{Family, Hook};
use brickwall_wire::ip_proto;

/// Which end of a packet a translation rewrites (Linux's `nf_nat_manip_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Manip {
    /// The source: SNAT, masquerade.
    Src,
    /// The destination: DNAT, redirect.
    Dst,
}

impl Manip {
    /// The manip a hook applies, as Linux's `HOOK2MANIP`: the destination at PREROUTING
    /// and OUTPUT (before routing), the source at POSTROUTING and INPUT.
    pub fn of_hook(hook: Hook) -> Manip {
        match hook {
            Hook::PreRouting | Hook::LocalOut => Manip::Dst,
            _ => Manip::Src,
        }
    }

    /// The other manip.
    pub fn flip(self) -> Manip {
        match self {
            Manip::Src => Manip::Dst,
            Manip::Dst => Manip::Src,
        }
    }

    /// The status bit of a connection whose original-direction packets this manip
    /// rewrites (`SRC_NAT` or `DST_NAT`); reply-direction packets take the other one.
    pub fn status_bit(self, reply: bool) -> u32 {
        let bit = match self {
            Manip::Src => status::SRC_NAT,
            Manip::Dst => status::DST_NAT,
        };
        if reply {
            bit ^ (status::SRC_NAT | status::DST_NAT)
        } else {
            bit
        }
    }

    /// The status bit saying this manip of a connection is set up (`SRC_NAT_DONE` or
    /// `DST_NAT_DONE`): a connection an expectation translated has both before any
    /// rule sees it.
    pub fn done_bit(self) -> u32 {
        match self {
            Manip::Src => status::SRC_NAT_DONE,
            Manip::Dst => status::DST_NAT_DONE,
        }
    }
}

/// What part of a protocol's tuple NAT may change besides the addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyKind {
    /// Source and destination ports (TCP, UDP, UDP-Lite, SCTP, DCCP).
    Ports,
    /// The query id, the same in both directions (ICMP, ICMPv6).
    IcmpId,
    /// GRE's keys (PPTP's call ids): a destination manip writes the destination key,
    /// the only one a packet carries; a binding keeps both and never searches them.
    GreKey,
    /// Nothing: only the addresses are translated.
    None,
}

impl KeyKind {
    /// The kind for a protocol of a family (`NFPROTO_*` value).
    pub fn of(family: u8, proto: u8) -> KeyKind {
        match proto {
            ip_proto::TCP | ip_proto::UDP | ip_proto::UDPLITE | ip_proto::SCTP | ip_proto::DCCP => {
                KeyKind::Ports
            }
            ip_proto::ICMP if family != FAMILY_V6 => KeyKind::IcmpId,
            ip_proto::ICMPV6 if family == FAMILY_V6 => KeyKind::IcmpId,
            ip_proto::GRE => KeyKind::GreKey,
            _ => KeyKind::None,
        }
    }
}

/// One direction's tuple as NAT handles it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Flow {
    /// Source address (IPv4 in the first four bytes).
    pub src: [u8; 16],
    /// Destination address.
    pub dst: [u8; 16],
    /// Source port, or the ICMP id.
    pub sport: u16,
    /// Destination port, or the ICMP id.
    pub dport: u16,
    /// IP protocol number.
    pub proto: u8,
    /// `NFPROTO_*` family.
    pub family: u8,
    /// Conntrack zone.
    pub zone: u16,
    /// What besides the addresses NAT may change.
    pub kind: KeyKind,
}

impl Flow {
    /// The tuple `t` as it stands.
    pub fn of(t: &CtTuple) -> Flow {
        let mut kind = KeyKind::of(t.family, t.proto);
        if t.proto == ip_proto::DCCP && t.src_id == 0 && t.dst_id == 0 {
            // Conntrack tracking DCCP as a generic protocol (its `dccp_generic`) keeps
            // no ports: the addresses alone are translated.
            kind = KeyKind::None;
        }
        let (sport, dport) = match kind {
            KeyKind::IcmpId => (t.src_id, t.src_id),
            _ => (t.src_id, t.dst_id),
        };
        Flow {
            src: t.src,
            dst: t.dst,
            sport,
            dport,
            proto: t.proto,
            family: t.family,
            zone: t.zone,
            kind,
        }
    }

    /// The tuple of the other direction of `t`: what NAT makes a packet look like when
    /// `t` is the tuple of the direction it does not travel (Linux's
    /// `nf_ct_invert_tuple`; an ICMP id stays, its type is not NAT's concern).
    pub fn inverse_of(t: &CtTuple) -> Flow {
        let f = Flow::of(t);
        Flow {
            src: f.dst,
            dst: f.src,
            sport: f.dport,
            dport: f.sport,
            ..f
        }
    }

    /// The reply tuple whose inverse this flow is, the reply's other fields (the ICMP
    /// reply type) taken from `reply`, the connection's current one.
    pub fn to_reply(&self, reply: &CtTuple) -> CtTuple {
        let mut r = *reply;
        r.src = self.dst;
        r.dst = self.src;
        match self.kind {
            KeyKind::IcmpId => r.src_id = self.sport,
            _ => {
                r.src_id = self.dport;
                r.dst_id = self.sport;
            }
        }
        r
    }

    /// The packet family.
    pub fn family(&self) -> Family {
        if self.family == FAMILY_V6 {
            Family::Ipv6
        } else {
            Family::Ipv4
        }
    }

    /// The address the manip changes.
    pub fn addr(&self, m: Manip) -> [u8; 16] {
        match m {
            Manip::Src => self.src,
            Manip::Dst => self.dst,
        }
    }

    /// Sets the address the manip changes.
    pub fn set_addr(&mut self, m: Manip, a: [u8; 16]) {
        match m {
            Manip::Src => self.src = a,
            Manip::Dst => self.dst = a,
        }
    }

    /// The port, ICMP id or GRE key the manip changes; `None` for protocols without
    /// one, and for GRE's source key, which its packets do not carry.
    pub fn key(&self, m: Manip) -> Option<u16> {
        match (self.kind, m) {
            (KeyKind::None, _) | (KeyKind::GreKey, Manip::Src) => None,
            (KeyKind::IcmpId, _) | (KeyKind::Ports, Manip::Src) => Some(self.sport),
            (KeyKind::Ports | KeyKind::GreKey, Manip::Dst) => Some(self.dport),
        }
    }

    /// Sets the port, ICMP id or GRE key the manip changes; nothing where
    /// [`key`](Self::key) has none.
    pub fn set_key(&mut self, m: Manip, k: u16) {
        match (self.kind, m) {
            (KeyKind::None, _) | (KeyKind::GreKey, Manip::Src) => {}
            (KeyKind::IcmpId, _) => {
                self.sport = k;
                self.dport = k;
            }
            (KeyKind::Ports, Manip::Src) => self.sport = k,
            (KeyKind::Ports | KeyKind::GreKey, Manip::Dst) => self.dport = k,
        }
    }
}

/// An address as a number (IPv4 in the low 32 bits), for ranges.
pub fn addr_num(a: &[u8; 16], family: Family) -> u128 {
    match family {
        Family::Ipv4 => u128::from(u32::from_be_bytes([a[0], a[1], a[2], a[3]])),
        Family::Ipv6 => u128::from_be_bytes(*a),
    }
}

/// The address bytes of a number from [`addr_num`].
pub fn num_addr(n: u128, family: Family) -> [u8; 16] {
    match family {
        Family::Ipv4 => {
            let mut a = [0; 16];
            a[..4].copy_from_slice(&(n as u32).to_be_bytes());
            a
        }
        Family::Ipv6 => n.to_be_bytes(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use brickwall_hooks::services::conntrack::FAMILY_V4;

    fn t(src: u8, dst: u8, sid: u16, did: u16, proto: u8) -> CtTuple {
        CtTuple {
            src: num_addr(u128::from(src), Family::Ipv4),
            dst: num_addr(u128::from(dst), Family::Ipv4),
            src_id: sid,
            dst_id: did,
            proto,
            family: FAMILY_V4,
            zone: 0,
        }
    }

    #[test]
    fn inverse_and_back_to_the_reply() {
        let reply = t(2, 1, 80, 1000, ip_proto::TCP);
        let curr = Flow::inverse_of(&reply);
        assert_eq!(
            (curr.src[3], curr.dst[3], curr.sport, curr.dport),
            (1, 2, 1000, 80)
        );
        assert_eq!(curr.to_reply(&reply), reply);
        let mut moved = curr;
        moved.set_key(Manip::Src, 2000);
        moved.set_addr(Manip::Src, num_addr(9, Family::Ipv4));
        let r = moved.to_reply(&reply);
        assert_eq!((r.dst[3], r.dst_id, r.src_id), (9, 2000, 80));
        // ICMP: the id is both keys and the reply keeps its type.
        let echo_reply = t(2, 1, 77, 0, ip_proto::ICMP);
        let mut f = Flow::inverse_of(&echo_reply);
        assert_eq!((f.key(Manip::Src), f.key(Manip::Dst)), (Some(77), Some(77)));
        f.set_key(Manip::Src, 5);
        assert_eq!(f.to_reply(&echo_reply), t(2, 1, 5, 0, ip_proto::ICMP));
        assert_eq!(Manip::Src.status_bit(true), status::DST_NAT);
    }

    #[test]
    fn gre_keys_are_kept_and_only_the_destination_one_is_written() {
        let reply = t(2, 9, 0x5678, 40000, ip_proto::GRE);
        let f = Flow::inverse_of(&reply);
        assert_eq!(f.kind, KeyKind::GreKey);
        assert_eq!((f.key(Manip::Src), f.key(Manip::Dst)), (None, Some(0x5678)));
        let mut g = f;
        g.set_key(Manip::Src, 1);
        assert_eq!(g, f, "no source key to set");
        g.set_key(Manip::Dst, 7);
        assert_eq!(g.dport, 7);
        // Both keys survive a binding's round trip.
        assert_eq!(f.to_reply(&reply), reply);
    }
}
