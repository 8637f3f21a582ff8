//! A request's [`TupleSpec`] checked (the fields its protocol takes, one family) and
//! turned into the tuple the table holds.

use super::filter::proto_label;
use crate::tuple::{proto, Tuple, FAMILY_V4, FAMILY_V6};
use brickwall_control_protocol::conntrack::record::has_ports;
use brickwall_control_protocol::conntrack::request::TupleSpec;
use brickwall_wire::Family;
use std::net::IpAddr;

/// An address as a tuple holds it (IPv4 in the first four bytes, the rest zero).
pub fn tuple_addr(ip: IpAddr) -> [u8; 16] {
    match ip {
        IpAddr::V4(v4) => {
            let mut a = [0u8; 16];
            a[..4].copy_from_slice(&v4.octets());
            a
        }
        IpAddr::V6(v6) => v6.octets(),
    }
}

fn family_word(ip: IpAddr) -> &'static str {
    Family::of(ip).name()
}

/// The tuple `spec` names; `field` is its name in the request (`tuple`, `master`,
/// `expect`) and `zone` the zone of a tuple that gives none.
pub fn tuple(spec: &TupleSpec, field: &str, zone: u16) -> Result<Tuple, String> {
    let p = spec.proto.0;
    if spec.src.is_ipv6() != spec.dst.is_ipv6() {
        return Err(format!(
            "{field}.dst: an {} address, but {field}.src is {}",
            family_word(spec.dst),
            family_word(spec.src)
        ));
    }
    let family = if spec.src.is_ipv6() {
        FAMILY_V6
    } else {
        FAMILY_V4
    };
    if let Some(f) = spec.family.filter(|f| f.0 as u8 != family) {
        return Err(format!(
            "{field}.src: an {} address, but {field}.family is {}",
            family_word(spec.src),
            f.0.name()
        ));
    }
    match (p, family) {
        (proto::ICMP, FAMILY_V6) => {
            return Err(format!(
                "{field}.proto: icmp with IPv6 addresses (use icmpv6)"
            ))
        }
        (proto::ICMPV6, FAMILY_V4) => {
            return Err(format!(
                "{field}.proto: icmpv6 with IPv4 addresses (use icmp)"
            ))
        }
        _ => {}
    }
    let (takes, needs): (&[&str], &[&str]) = match p {
        _ if has_ports(p) => (&["sport", "dport"], &["sport", "dport"]),
        proto::ICMP | proto::ICMPV6 => (&["type", "code", "id"], &["type", "id"]),
        proto::GRE => (&["srckey", "dstkey"], &[]),
        _ => (&[], &[]),
    };
    let given = [
        ("sport", spec.sport.is_some()),
        ("dport", spec.dport.is_some()),
        ("type", spec.icmp_type.is_some()),
        ("code", spec.code.is_some()),
        ("id", spec.id.is_some()),
        ("srckey", spec.srckey.is_some()),
        ("dstkey", spec.dstkey.is_some()),
    ];
    let label = proto_label(p);
    for (key, given) in given {
        if given && !takes.contains(&key) {
            let hint = if takes.is_empty() {
                "it has only addresses".to_string()
            } else {
                format!("it takes {}", takes.join(", "))
            };
            return Err(format!("{field}.{key}: not used by {label} ({hint})"));
        }
        if !given && needs.contains(&key) {
            return Err(format!(
                "{field}.{key}: missing ({label} needs {})",
                needs.join(", ")
            ));
        }
    }
    let (src_id, dst_id) = match p {
        proto::ICMP | proto::ICMPV6 => (
            spec.id.unwrap_or(0),
            u16::from(spec.icmp_type.unwrap_or(0)) << 8 | u16::from(spec.code.unwrap_or(0)),
        ),
        proto::GRE => (spec.srckey.unwrap_or(0), spec.dstkey.unwrap_or(0)),
        _ => (spec.sport.unwrap_or(0), spec.dport.unwrap_or(0)),
    };
    Ok(Tuple {
        src: tuple_addr(spec.src),
        dst: tuple_addr(spec.dst),
        src_id,
        dst_id,
        proto: p,
        family,
        zone: spec.zone.unwrap_or(zone),
    })
}
