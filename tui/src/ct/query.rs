//! Turning options into the conntrack plugin's `filter` and `tuple` objects (see the
//! plugin's `control.rs`), and saying which options a command cannot use.

use super::args::{CtArgs, FamilyArg};
use super::CtError;
use serde_json::{Map, Value};

/// Protocols whose tuples have ports.
fn has_ports(p: u8) -> bool {
    matches!(p, 6 | 17 | 136 | 132)
}

/// Whether `p` is ICMP or ICMPv6.
fn is_icmp(p: u8) -> bool {
    matches!(p, 1 | 58)
}

/// The family name of `-f`.
fn family_name(f: FamilyArg) -> &'static str {
    match f {
        FamilyArg::Ipv4 => "ipv4",
        FamilyArg::Ipv6 => "ipv6",
    }
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
        || a.state.is_some()
        || a.mark.is_some()
        || a.zone.is_some()
        || a.status.is_some()
        || icmp_options(a)
}

/// The `filter` object of `-L` and `-D`, `None` without filter options.
pub fn filter(a: &CtArgs, cmd: &str) -> Result<Option<Value>, CtError> {
    if icmp_options(a) {
        return Err(CtError::usage(format!(
            "{cmd}: --icmp-type, --icmp-code and --icmp-id name one connection (-G, or -D with a full tuple)"
        )));
    }
    let mut m = Map::new();
    if let Some(p) = a.proto {
        m.insert("proto".into(), p.into());
    }
    if let Some(f) = a.family {
        m.insert("family".into(), family_name(f).into());
    }
    for (k, v) in [("src", &a.src), ("dst", &a.dst)] {
        if let Some(v) = v {
            m.insert(k.into(), v.clone().into());
        }
    }
    for (k, v) in [("sport", a.sport), ("dport", a.dport)] {
        if let Some(v) = v {
            if let Some(p) = a.proto.filter(|p| !has_ports(*p)) {
                return Err(CtError::usage(format!(
                    "--{k}: protocol {p} has no ports (tcp, udp, udplite and sctp do)"
                )));
            }
            m.insert(k.into(), v.into());
        }
    }
    if let Some(s) = &a.state {
        m.insert("state".into(), s.clone().into());
    }
    if let Some(mark) = &a.mark {
        m.insert("mark".into(), mark.clone().into());
    }
    if let Some(z) = a.zone {
        m.insert("zone".into(), z.into());
    }
    if let Some(s) = &a.status {
        m.insert("status".into(), s.clone().into());
    }
    Ok((!m.is_empty()).then_some(Value::Object(m)))
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

/// The `tuple` object of `-G` and `-D`: every field of one direction of a connection.
pub fn tuple(a: &CtArgs, cmd: &str) -> Result<Value, CtError> {
    let need = |what: &str| {
        CtError::usage(format!(
            "{cmd}: missing {what} (a connection is named by -p, -s, -d and the protocol's --sport/--dport or --icmp-type/--icmp-code/--icmp-id)"
        ))
    };
    let p = a.proto.ok_or_else(|| need("-p"))?;
    let src = a.src.as_ref().ok_or_else(|| need("-s"))?;
    let dst = a.dst.as_ref().ok_or_else(|| need("-d"))?;
    for (opt, v) in [("-s", src), ("-d", dst)] {
        if v.contains('/') {
            return Err(CtError::usage(format!(
                "{cmd}: {opt} {v}: a connection has addresses, not networks"
            )));
        }
    }
    for (opt, given) in [
        ("--state", a.state.is_some()),
        ("--mark", a.mark.is_some()),
        ("--status", a.status.is_some()),
    ] {
        if given {
            return Err(CtError::usage(format!(
                "{cmd}: {opt} is a filter; a connection is named by its tuple"
            )));
        }
    }
    let mut m = Map::new();
    m.insert("proto".into(), p.into());
    m.insert("src".into(), src.clone().into());
    m.insert("dst".into(), dst.clone().into());
    if let Some(f) = a.family {
        m.insert("family".into(), family_name(f).into());
    }
    if has_ports(p) {
        if icmp_options(a) {
            return Err(CtError::usage(format!(
                "{cmd}: --icmp-* options need -p icmp or icmpv6"
            )));
        }
        m.insert(
            "sport".into(),
            a.sport.ok_or_else(|| need("--sport"))?.into(),
        );
        m.insert(
            "dport".into(),
            a.dport.ok_or_else(|| need("--dport"))?.into(),
        );
    } else if is_icmp(p) {
        if a.sport.is_some() || a.dport.is_some() {
            return Err(CtError::usage(format!(
                "{cmd}: ICMP has no ports (use --icmp-type, --icmp-code, --icmp-id)"
            )));
        }
        m.insert(
            "type".into(),
            a.icmp_type.ok_or_else(|| need("--icmp-type"))?.into(),
        );
        m.insert("code".into(), a.icmp_code.unwrap_or(0).into());
        m.insert(
            "id".into(),
            a.icmp_id.ok_or_else(|| need("--icmp-id"))?.into(),
        );
    } else if a.sport.is_some() || a.dport.is_some() || icmp_options(a) {
        return Err(CtError::usage(format!(
            "{cmd}: protocol {p} has neither ports nor ICMP fields"
        )));
    }
    if let Some(z) = a.zone {
        m.insert("zone".into(), z.into());
    }
    Ok(Value::Object(m))
}
