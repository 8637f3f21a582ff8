//! The nftables-like text form of a rule's conditions, which the plugins with rules
//! show in their listings: `ip saddr 10.0.0.0/8 tcp dport { 21, 80, 8000-8100 } ct state
//! established,related`.

use brickwall_hooks::Family;
use brickwall_wire::ip_proto;

use crate::matcher::{
    bit256, pkttype, state, status, AddrSet, IcmpTypes, MaskedValue, Matcher, PortRange, PortSet,
};
use crate::names;
use crate::parse::TCP_FLAGS;

/// The conditions' words, in nft's order; empty for a rule that matches everything.
pub fn matcher(m: &Matcher) -> Vec<String> {
    let mut parts: Vec<String> = Vec::new();
    if let Some(f) = m.family {
        parts.push(format!("meta nfproto {}", f.name()));
    }
    if let Some(ifs) = &m.iif {
        parts.push(format!("iif {}", set(ifs.iter().map(|i| i.to_string()))));
    }
    if let Some(ifs) = &m.oif {
        parts.push(format!("oif {}", set(ifs.iter().map(|i| i.to_string()))));
    }
    if let Some(ps) = &m.iifname {
        parts.push(format!("iifname {}", set(ps.iter().map(|p| p.text()))));
    }
    if let Some(ps) = &m.oifname {
        parts.push(format!("oifname {}", set(ps.iter().map(|p| p.text()))));
    }
    if let Some(a) = &m.saddr {
        parts.push(addrs("saddr", a));
    }
    if let Some(a) = &m.daddr {
        parts.push(addrs("daddr", a));
    }
    let has_ports = m.sport.is_some() || m.dport.is_some();
    let proto_implied = (has_ports && m.proto.is_some_and(names::has_ports))
        || ((m.icmp_type.is_some() || m.icmp_code.is_some()) && m.proto.is_some())
        || (m.tcp_flags.is_some() && m.proto == Some(ip_proto::TCP));
    if let (Some(p), false) = (m.proto, proto_implied) {
        parts.push(format!("meta l4proto {}", ip_proto::Label(p)));
    }
    if let Some(protos) = &m.protos {
        let items = (0..=255u8)
            .filter(|p| bit256(protos, *p))
            .map(|p| ip_proto::Label(p).to_string());
        parts.push(format!("meta l4proto {}", set(items)));
    }
    let l4 = match m.proto {
        Some(p) if names::has_ports(p) => ip_proto::Label(p).to_string(),
        _ => "th".to_string(),
    };
    if let Some(p) = &m.sport {
        parts.push(ports(&format!("{l4} sport"), p));
    }
    if let Some(p) = &m.dport {
        parts.push(ports(&format!("{l4} dport"), p));
    }
    if let Some(t) = &m.icmp_type {
        parts.push(icmp(t));
    }
    if let Some(codes) = &m.icmp_code {
        let kw = match m.proto.or(m.family.map(|f| match f {
            Family::Ipv4 => ip_proto::ICMP,
            Family::Ipv6 => ip_proto::ICMPV6,
        })) {
            Some(ip_proto::ICMPV6) => "icmpv6",
            _ => "icmp",
        };
        let items = (0..=255u8)
            .filter(|c| bit256(codes, *c))
            .map(|c| c.to_string());
        parts.push(format!("{kw} code {}", set(items)));
    }
    if let Some(t) = m.tcp_flags {
        let names = |bits: u8| {
            TCP_FLAGS
                .iter()
                .filter(|(_, b)| bits & b != 0)
                .map(|(n, _)| *n)
                .collect::<Vec<_>>()
                .join(",")
        };
        parts.push(if t.any {
            format!("tcp flags {}", names(t.mask))
        } else {
            format!("tcp flags {} / {}", names(t.value), names(t.mask))
        });
    }
    let ip = match m.family {
        Some(Family::Ipv6) => "ip6",
        _ => "ip",
    };
    if let Some(t) = &m.ttl {
        let field = if ip == "ip6" {
            "ip6 hoplimit"
        } else {
            "ip ttl"
        };
        parts.push(ports(field, t));
    }
    if let Some(bits) = m.dscp {
        let items = (0..64u8)
            .filter(|d| bits & (1 << d) != 0)
            .map(|d| d.to_string());
        parts.push(format!("{ip} dscp {}", set(items)));
    }
    if let Some(l) = &m.length {
        parts.push(ports("meta length", l));
    }
    if let Some(z) = m.ct_zone {
        parts.push(format!("ct zone {z}"));
    }
    if let Some(bits) = m.pkttype {
        let items = pkttype::NAMES
            .iter()
            .filter(|(_, b)| bits & b != 0)
            .map(|(n, _)| n.to_string());
        parts.push(format!("meta pkttype {}", set(items)));
    }
    if let Some(bits) = m.ct_state {
        parts.push(format!("ct state {}", flags(&state::NAMES, bits as u32)));
    }
    if let Some(bits) = m.ct_status {
        parts.push(format!("ct status {}", flags(&status::NAMES, bits)));
    }
    if let Some(reply) = m.ct_direction {
        parts.push(format!(
            "ct direction {}",
            if reply { "reply" } else { "original" }
        ));
    }
    if let Some(v) = m.ct_mark {
        parts.push(format!("ct mark {}", masked(v)));
    }
    if let Some(n) = &m.ct_helper {
        parts.push(format!("ct helper {}", helper_name(n)));
    }
    if let Some(bits) = m.ct_label {
        parts.push(format!("ct label {}", label_set(bits)));
    }
    if let Some(v) = m.mark {
        parts.push(format!("meta mark {}", masked(v)));
    }
    parts
}

/// The names of the flags set in `bits`, in table order, as nft lists them (`a,b`).
fn flags<B: Copy + Into<u32>>(names: &[(&str, B)], bits: u32) -> String {
    names
        .iter()
        .filter(|(_, b)| bits & (*b).into() != 0)
        .map(|(n, _)| *n)
        .collect::<Vec<_>>()
        .join(",")
}

/// One item as itself, several as nft's `{ a, b }`.
pub fn set(items: impl Iterator<Item = String>) -> String {
    let items: Vec<String> = items.collect();
    match items.as_slice() {
        [one] => one.clone(),
        _ => format!("{{ {} }}", items.join(", ")),
    }
}

fn masked(v: MaskedValue) -> String {
    if v.mask == u32::MAX {
        format!("{:#x}", v.value)
    } else {
        format!("and {:#x} == {:#x}", v.mask, v.value)
    }
}

fn addrs(field: &str, a: &AddrSet) -> String {
    let mut alts = Vec::new();
    for (list, kw) in [(&a.v4, "ip"), (&a.v6, "ip6")] {
        let plain: Vec<String> = list
            .iter()
            .filter(|n| !n.negated)
            .map(|n| n.cidr.to_string())
            .collect();
        let negated: Vec<String> = list
            .iter()
            .filter(|n| n.negated)
            .map(|n| n.cidr.to_string())
            .collect();
        let mut s = Vec::new();
        if !plain.is_empty() {
            s.push(format!("{kw} {field} {}", set(plain.into_iter())));
        }
        if !negated.is_empty() {
            s.push(format!("{kw} {field} != {}", set(negated.into_iter())));
        }
        if !s.is_empty() {
            alts.push(s.join(" "));
        }
    }
    alts.join(" or ")
}

fn ports(field: &str, p: &PortSet) -> String {
    let item = |r: &PortRange| {
        if r.lo == r.hi {
            r.lo.to_string()
        } else {
            format!("{}-{}", r.lo, r.hi)
        }
    };
    let plain: Vec<String> = p.ranges.iter().filter(|r| !r.negated).map(item).collect();
    let negated: Vec<String> = p.ranges.iter().filter(|r| r.negated).map(item).collect();
    let mut s = Vec::new();
    if !plain.is_empty() {
        s.push(format!("{field} {}", set(plain.into_iter())));
    }
    if !negated.is_empty() {
        s.push(format!("{field} != {}", set(negated.into_iter())));
    }
    s.join(" ")
}

fn icmp(t: &IcmpTypes) -> String {
    let mut alts = Vec::new();
    for (family, kw, table) in [
        (Family::Ipv4, "icmp", names::ICMP_TYPES),
        (Family::Ipv6, "icmpv6", names::ICMPV6_TYPES),
    ] {
        if t.is_empty(family) {
            continue;
        }
        let items = t.types(family).map(|n| {
            names::name_of(table, n)
                .map(str::to_string)
                .unwrap_or_else(|| n.to_string())
        });
        alts.push(format!("{kw} type {}", set(items)));
    }
    alts.join(" or ")
}

/// A NUL-padded helper name, quoted as nft prints it.
pub fn helper_name(n: &[u8; 16]) -> String {
    let end = n.iter().position(|&b| b == 0).unwrap_or(16);
    format!("\"{}\"", String::from_utf8_lossy(&n[..end]))
}

/// Label bits as nft prints a set of them (bit numbers).
pub fn label_set(bits: u128) -> String {
    set((0..128)
        .filter(|b| bits >> b & 1 == 1)
        .map(|b| b.to_string()))
}
