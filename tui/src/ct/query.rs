//! Turning options into the conntrack plugin's [`Filter`] and [`TupleSpec`] (the
//! control protocol's types), and saying which options a command cannot use.

use super::args::{CtArgs, FamilyArg, NatArg};
use super::CtError;
use brickwall_control_protocol::conntrack::record::has_ports;
use brickwall_control_protocol::conntrack::request::{Filter, NatFilter, TupleSpec};
use brickwall_control_protocol::conntrack::value::{FamilyName, Mark, Names, Net, Proto};
use brickwall_wire::Family;
use std::net::IpAddr;

/// Whether `p` is ICMP or ICMPv6.
fn is_icmp(p: u8) -> bool {
    matches!(p, 1 | 58)
}

/// The family of `-f`.
fn family(f: FamilyArg) -> FamilyName {
    FamilyName(match f {
        FamilyArg::Ipv4 => Family::Ipv4,
        FamilyArg::Ipv6 => Family::Ipv6,
    })
}

/// A comma-separated list of names (`--state`, `--status`, checked by the parser).
fn names(s: &str) -> Names {
    s.split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .collect()
}

/// Options given that are about a single tuple's ICMP fields.
fn icmp_options(a: &CtArgs) -> bool {
    a.icmp_type.is_some() || a.icmp_code.is_some() || a.icmp_id.is_some()
}

/// Whether any filter option is given.
pub fn has_filters(a: &CtArgs) -> bool {
    a.proto.is_some()
        || a.family.is_some()
        || a.src.is_some()
        || a.dst.is_some()
        || a.sport.is_some()
        || a.dport.is_some()
        || reply_options(a)
        || a.state.is_some()
        || a.mark.is_some()
        || a.zone.is_some()
        || a.status.is_some()
        || nat_options(a)
        || icmp_options(a)
}

/// Whether a reply-tuple option (`-r`, `-q`, `--reply-port-src`, `--reply-port-dst`)
/// is given.
pub fn reply_options(a: &CtArgs) -> bool {
    a.reply_src.is_some()
        || a.reply_dst.is_some()
        || a.reply_port_src.is_some()
        || a.reply_port_dst.is_some()
}

/// Whether `--src-nat`, `--dst-nat` or `--any-nat` is given.
pub fn nat_options(a: &CtArgs) -> bool {
    a.src_nat.is_some() || a.dst_nat.is_some() || a.any_nat.is_some()
}

/// The protocol's NAT condition of an option's value.
pub fn nat_filter(n: NatArg) -> NatFilter {
    NatFilter {
        addr: n.addr,
        port: n.port,
    }
}

/// The [`Filter`] of `-L`, `-D` and `-U`, `None` without filter options.
pub fn filter(a: &CtArgs, cmd: &str) -> Result<Option<Filter>, CtError> {
    if icmp_options(a) {
        return Err(CtError::usage(format!(
            "{cmd}: --icmp-type, --icmp-code and --icmp-id name one connection (-G, or -D with a full tuple)"
        )));
    }
    for (opt, given) in [
        ("--reply-port-src", a.reply_port_src),
        ("--reply-port-dst", a.reply_port_dst),
    ] {
        // As conntrack's: a protocol's options exist only after its -p.
        if given.is_some() && a.proto.is_none() {
            return Err(CtError::usage(format!(
                "{cmd}: {opt} needs -p (tcp, udp, udplite or sctp)"
            )));
        }
    }
    for (opt, given) in [
        ("--sport", a.sport),
        ("--dport", a.dport),
        ("--reply-port-src", a.reply_port_src),
        ("--reply-port-dst", a.reply_port_dst),
    ] {
        if let (Some(_), Some(p)) = (given, a.proto.filter(|p| !has_ports(*p))) {
            return Err(CtError::usage(format!(
                "{opt}: protocol {p} has no ports (tcp, udp, udplite and sctp do)"
            )));
        }
    }
    let net = |opt: &str, v: &Option<String>| {
        v.as_deref()
            .map(|s| {
                s.parse().map(Net).map_err(|e| {
                    CtError::usage(format!("{cmd}: {opt} {s}: not an address or network ({e})"))
                })
            })
            .transpose()
    };
    let mark = a
        .mark
        .as_deref()
        .map(|m| m.parse::<Mark>().map_err(CtError::usage))
        .transpose()?;
    let f = Filter {
        proto: a.proto.map(Proto),
        family: a.family.map(family),
        src: net("-s", &a.src)?,
        dst: net("-d", &a.dst)?,
        sport: a.sport,
        dport: a.dport,
        reply_src: net("-r", &a.reply_src)?,
        reply_dst: net("-q", &a.reply_dst)?,
        reply_sport: a.reply_port_src,
        reply_dport: a.reply_port_dst,
        state: a.state.as_deref().map(names),
        mark,
        zone: a.zone,
        status: a.status.as_deref().map(names),
        src_nat: a.src_nat.map(nat_filter),
        dst_nat: a.dst_nat.map(nat_filter),
        any_nat: a.any_nat.map(nat_filter),
    };
    Ok((f != Filter::default()).then_some(f))
}

/// Whether the options name one connection completely (protocol, addresses, and the
/// protocol's ports or ICMP fields): `-D` then deletes by tuple.
pub fn is_full_tuple(a: &CtArgs) -> bool {
    let Some(p) = a.proto else {
        return false;
    };
    let addrs = a.src.is_some() && a.dst.is_some();
    addrs
        && if has_ports(p) {
            a.sport.is_some() && a.dport.is_some()
        } else if is_icmp(p) {
            a.icmp_type.is_some() && a.icmp_id.is_some()
        } else {
            true
        }
}

/// An address option of a tuple: an address, not a network.
pub fn address(cmd: &str, opt: &str, v: &str) -> Result<IpAddr, CtError> {
    if v.contains('/') {
        return Err(CtError::usage(format!(
            "{cmd}: {opt} {v}: a connection has addresses, not networks"
        )));
    }
    v.parse()
        .map_err(|_| CtError::usage(format!("{cmd}: {opt} {v}: not an IPv4 or IPv6 address")))
}

/// The [`TupleSpec`] of `-G`, `-D`, `-U` and `-I expect`'s master: every field of one
/// direction of a connection.
pub fn tuple(a: &CtArgs, cmd: &str) -> Result<TupleSpec, CtError> {
    let need = |what: &str| {
        CtError::usage(format!(
            "{cmd}: missing {what} (a connection is named by -p, -s, -d and the protocol's --sport/--dport or --icmp-type/--icmp-code/--icmp-id)"
        ))
    };
    let p = a.proto.ok_or_else(|| need("-p"))?;
    let src = a.src.as_deref().ok_or_else(|| need("-s"))?;
    let dst = a.dst.as_deref().ok_or_else(|| need("-d"))?;
    let (src, dst) = (address(cmd, "-s", src)?, address(cmd, "-d", dst)?);
    for (opt, given) in [
        ("--state", a.state.is_some()),
        ("--mark", a.mark.is_some()),
        ("--status", a.status.is_some()),
        ("--src-nat", a.src_nat.is_some()),
        ("--dst-nat", a.dst_nat.is_some()),
        ("--any-nat", a.any_nat.is_some()),
        ("--reply-src", a.reply_src.is_some()),
        ("--reply-dst", a.reply_dst.is_some()),
        ("--reply-port-src", a.reply_port_src.is_some()),
        ("--reply-port-dst", a.reply_port_dst.is_some()),
    ] {
        if given {
            return Err(CtError::usage(format!(
                "{cmd}: {opt} is a filter; a connection is named by its tuple"
            )));
        }
    }
    let mut t = TupleSpec::new(p, src, dst);
    t.family = a.family.map(family);
    if has_ports(p) {
        if icmp_options(a) {
            return Err(CtError::usage(format!(
                "{cmd}: --icmp-* options need -p icmp or icmpv6"
            )));
        }
        t.sport = Some(a.sport.ok_or_else(|| need("--sport"))?);
        t.dport = Some(a.dport.ok_or_else(|| need("--dport"))?);
    } else if is_icmp(p) {
        if a.sport.is_some() || a.dport.is_some() {
            return Err(CtError::usage(format!(
                "{cmd}: ICMP has no ports (use --icmp-type, --icmp-code, --icmp-id)"
            )));
        }
        t.icmp_type = Some(a.icmp_type.ok_or_else(|| need("--icmp-type"))?);
        t.code = Some(a.icmp_code.unwrap_or(0));
        t.id = Some(a.icmp_id.ok_or_else(|| need("--icmp-id"))?);
    } else if a.sport.is_some() || a.dport.is_some() || icmp_options(a) {
        return Err(CtError::usage(format!(
            "{cmd}: protocol {p} has neither ports nor ICMP fields"
        )));
    }
    t.zone = a.zone;
    Ok(t)
}
