//! Validation of a rule's `match` into its [`Matcher`]: each value parsed into its
//! compiled form, and the checks that span fields (no conntrack matches before
//! conntrack; ports only on TCP, UDP and SCTP; ICMP types only on ICMP; addresses of the
//! rule's family). Every error names the field path. The plugins with rules compile
//! their own chains and actions around it.

use brickwall_hooks::Family;
use brickwall_wire::ip_proto;
use std::fmt;

use crate::config::{
    CtDirectionName, CtStateName, CtStatusName, FamilyName, MatchCfg, PktTypeName,
};
use crate::ifname::IfPattern;
use crate::matcher::{bit256, pkttype, state, status, AddrSet, IcmpTypes, Matcher, PortSet};
use crate::names;
use crate::parse;
use crate::scalar::{OneOrMany, Scalar};

/// A semantic error at a field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompileError {
    /// The field path, e.g. `chains[0].rules[2].match.dport`.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

impl CompileError {
    /// The error `message` at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> CompileError {
        CompileError {
            path: path.into(),
            message: message.into(),
        }
    }
}

fn err<T>(path: impl Into<String>, message: impl Into<String>) -> Result<T, CompileError> {
    Err(CompileError {
        path: path.into(),
        message: message.into(),
    })
}

/// Where a chain runs relative to conntrack, which decides the matches it can use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Before conntrack (the raw priority): packets carry no connection yet, so the
    /// `ct_*` matches are refused.
    BeforeConntrack,
    /// After conntrack.
    AfterConntrack,
}

/// The items of a list, refusing an empty one (which would match nothing).
pub fn nonempty<'a, T>(v: &'a OneOrMany<T>, path: &str) -> Result<&'a [T], CompileError> {
    match v.items() {
        [] => err(
            path,
            "an empty list matches nothing; leave the field out instead",
        ),
        items => Ok(items),
    }
}

/// Interface indexes from indexes and names; a name is looked up now (nft's `iif` and
/// `oif` resolve names when the ruleset loads, and refuse one that does not exist).
fn interfaces(items: &[Scalar], path: &str) -> Result<Box<[u32]>, CompileError> {
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let at = if items.len() > 1 {
            format!("{path}[{i}]")
        } else {
            path.to_string()
        };
        out.push(match item {
            // 0: no interface (a locally generated packet's input, a replay's output).
            Scalar::Num(n) => u32::try_from(*n).map_err(|_| CompileError {
                path: at.clone(),
                message: format!("{n} is not an interface index (0 to {})", u32::MAX),
            })?,
            Scalar::Str(name) => interface_index(name).ok_or_else(|| CompileError {
                path: at.clone(),
                message: format!(
                    "no interface `{name}` here (a name is looked up when the rules load)"
                ),
            })?,
        });
    }
    Ok(out.into())
}

/// The index of interface `name`, if there is one.
fn interface_index(name: &str) -> Option<u32> {
    let c = std::ffi::CString::new(name).ok()?;
    // SAFETY: if_nametoindex reads the NUL-terminated name and nothing else.
    let i = unsafe { libc::if_nametoindex(c.as_ptr()) };
    (i != 0).then_some(i)
}

/// A family as prose names it: `IPv4`, `IPv6`.
pub fn family_word(f: Family) -> &'static str {
    match f {
        Family::Ipv4 => "IPv4",
        Family::Ipv6 => "IPv6",
    }
}

/// Compiles a rule's conditions found at `p` (e.g. `chains[0].rules[2].match`) for a
/// chain at `stage`.
pub fn matcher(m: &MatchCfg, p: &str, stage: Stage) -> Result<Matcher, CompileError> {
    let mut out = Matcher {
        family: m.family.map(|f| match f {
            FamilyName::Ipv4 => Family::Ipv4,
            FamilyName::Ipv6 => Family::Ipv6,
        }),
        ..Matcher::default()
    };
    if let Some(v) = &m.proto {
        let path = format!("{p}.proto");
        let list = nonempty(v, &path)?
            .iter()
            .map(parse::proto)
            .collect::<Result<Vec<u8>, _>>()
            .map_err(|e| CompileError {
                path: path.clone(),
                message: e,
            })?;
        match list.as_slice() {
            [one] => out.proto = Some(*one),
            many => {
                let mut set = [0u64; 4];
                for p in many {
                    set[usize::from(p >> 6)] |= 1 << (p & 63);
                }
                out.protos = Some(set);
            }
        }
    }
    // The family the rule is limited to, by `family` or by an ICMP protocol.
    let proto_family = match out.proto {
        Some(ip_proto::ICMP) => Some(Family::Ipv4),
        Some(ip_proto::ICMPV6) => Some(Family::Ipv6),
        _ => None,
    };
    if let (Some(f), Some(pf)) = (out.family, proto_family) {
        if f != pf {
            return err(
                format!("{p}.proto"),
                format!(
                    "{} is for {} but the rule has family {}; it could never match",
                    ip_proto::name(out.proto.unwrap_or(0)).unwrap_or("?"),
                    family_word(pf),
                    f.name()
                ),
            );
        }
    }
    let only = out.family.or(proto_family);

    if let Some(states) = &m.ct_state {
        let path = format!("{p}.ct_state");
        before_conntrack(stage, &path, "ct_state would never match")?;
        let mut bits = 0u8;
        for s in nonempty(states, &path)? {
            bits |= match s {
                CtStateName::New => state::NEW,
                CtStateName::Established => state::ESTABLISHED,
                CtStateName::Related => state::RELATED,
                CtStateName::Invalid => state::INVALID,
                CtStateName::Untracked => state::UNTRACKED,
            };
        }
        out.ct_state = Some(bits);
    }
    if let Some(names) = &m.ct_status {
        let path = format!("{p}.ct_status");
        before_conntrack(stage, &path, "the packet has no connection status yet")?;
        let mut bits = 0u32;
        for s in nonempty(names, &path)? {
            let word = match s {
                CtStatusName::Expected => "expected",
                CtStatusName::SeenReply => "seen-reply",
                CtStatusName::Assured => "assured",
                CtStatusName::Confirmed => "confirmed",
                CtStatusName::Snat => "snat",
                CtStatusName::Dnat => "dnat",
                CtStatusName::Dying => "dying",
            };
            bits |= status::NAMES
                .iter()
                .find(|(n, _)| *n == word)
                .map_or(0, |(_, b)| *b);
        }
        out.ct_status = Some(bits);
    }
    if let Some(d) = m.ct_direction {
        let path = format!("{p}.ct_direction");
        before_conntrack(stage, &path, "the packet has no direction yet")?;
        out.ct_direction = Some(d == CtDirectionName::Reply);
    }
    if let Some(v) = &m.ct_mark {
        let path = format!("{p}.ct_mark");
        before_conntrack(stage, &path, "the packet has no connection mark yet")?;
        out.ct_mark = Some(parse::masked(v).map_err(|e| CompileError { path, message: e })?);
    }
    if let Some(name) = &m.ct_helper {
        let path = format!("{p}.ct_helper");
        before_conntrack(stage, &path, "the packet has no connection helper yet")?;
        out.ct_helper = Some(helper_name(name).ok_or_else(|| CompileError {
            path,
            message: "a helper name of 1 to 16 bytes, as configured in the conntrack plugin's helpers".into(),
        })?);
    }
    if let Some(v) = &m.ct_label {
        let path = format!("{p}.ct_label");
        before_conntrack(stage, &path, "the packet has no connection labels yet")?;
        let list = nonempty(v, &path)?;
        out.ct_label = Some(labels(list, &path)?);
    }
    if let Some(v) = &m.mark {
        out.mark = Some(parse::masked(v).map_err(|e| CompileError {
            path: format!("{p}.mark"),
            message: e,
        })?);
    }
    if let Some(v) = &m.iif {
        let path = format!("{p}.iif");
        out.iif = Some(interfaces(nonempty(v, &path)?, &path)?);
    }
    if let Some(v) = &m.oif {
        let path = format!("{p}.oif");
        out.oif = Some(interfaces(nonempty(v, &path)?, &path)?);
    }
    if let Some(v) = &m.saddr {
        out.saddr = Some(addr_set(v, &format!("{p}.saddr"), only)?);
    }
    if let Some(v) = &m.daddr {
        out.daddr = Some(addr_set(v, &format!("{p}.daddr"), only)?);
    }
    for (field, v, slot) in [
        ("sport", &m.sport, &mut out.sport),
        ("dport", &m.dport, &mut out.dport),
    ] {
        if let Some(v) = v {
            let path = format!("{p}.{field}");
            if out
                .protos
                .is_some_and(|set| (0..=255u8).any(|x| bit256(&set, x) && !names::has_ports(x)))
            {
                return err(
                    path,
                    "ports match only tcp, udp or sctp packets, and proto lists another",
                );
            }
            if let Some(proto) = out.proto.filter(|x| !names::has_ports(*x)) {
                let name = ip_proto::name(proto)
                    .map(str::to_string)
                    .unwrap_or_else(|| proto.to_string());
                return err(
                    path,
                    format!("ports match only tcp, udp or sctp packets, and proto is {name}"),
                );
            }
            let ranges = nonempty(v, &path)?
                .iter()
                .map(parse::port_range)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| CompileError {
                    path: path.clone(),
                    message: e,
                })?;
            *slot = Some(PortSet {
                ranges: ranges.into(),
            });
        }
    }
    if let Some(v) = &m.icmp_type {
        out.icmp_type = Some(icmp_types(v, &format!("{p}.icmp_type"), out.proto, only)?);
    }
    header_matches(m, p, stage, &mut out)?;
    Ok(out)
}

/// The conditions read from the headers only when a rule has them: ICMP codes, TCP
/// flags, TTL, DSCP, length, zone.
fn header_matches(
    m: &MatchCfg,
    p: &str,
    stage: Stage,
    out: &mut Matcher,
) -> Result<(), CompileError> {
    if let Some(v) = &m.icmp_code {
        let path = format!("{p}.icmp_code");
        if let Some(pr) = out
            .proto
            .filter(|x| *x != ip_proto::ICMP && *x != ip_proto::ICMPV6)
        {
            return err(
                path,
                format!(
                    "icmp_code matches only icmp or icmpv6 packets, and proto is {}",
                    ip_proto::Label(pr)
                ),
            );
        }
        let mut set = [0u64; 4];
        for c in nonempty(v, &path)? {
            let n = match c {
                Scalar::Num(n) => u8::try_from(*n).ok(),
                Scalar::Str(s) => s.trim().parse().ok(),
            }
            .ok_or_else(|| {
                CompileError::new(path.clone(), format!("{c} is not an ICMP code (0-255)"))
            })?;
            set[usize::from(n >> 6)] |= 1 << (n & 63);
        }
        out.icmp_code = Some(set);
    }
    if let Some(s) = &m.tcp_flags {
        let path = format!("{p}.tcp_flags");
        if let Some(pr) = out.proto.filter(|x| *x != ip_proto::TCP) {
            return err(
                path,
                format!(
                    "tcp_flags matches only tcp packets, and proto is {}",
                    ip_proto::Label(pr)
                ),
            );
        }
        out.tcp_flags = Some(parse::tcp_flags(s).map_err(|e| CompileError::new(path, e))?);
    }
    if let Some(v) = &m.ttl {
        let path = format!("{p}.ttl");
        out.ttl = Some(ranges(v, &path, 255, "a TTL")?);
    }
    if let Some(v) = &m.dscp {
        let path = format!("{p}.dscp");
        let mut bits = 0u64;
        for d in nonempty(v, &path)? {
            bits |= 1 << parse::dscp(d).map_err(|e| CompileError::new(path.clone(), e))?;
        }
        out.dscp = Some(bits);
    }
    if let Some(v) = &m.length {
        let path = format!("{p}.length");
        out.length = Some(ranges(v, &path, u16::MAX, "a length")?);
    }
    if let Some(z) = m.ct_zone {
        let path = format!("{p}.ct_zone");
        before_conntrack(stage, &path, "the packet has no connection zone yet")?;
        out.ct_zone = Some(z);
    }
    for (field, v, slot) in [
        ("iifname", &m.iifname, &mut out.iifname),
        ("oifname", &m.oifname, &mut out.oifname),
    ] {
        if let Some(v) = v {
            let path = format!("{p}.{field}");
            let list = nonempty(v, &path)?
                .iter()
                .map(|s| {
                    IfPattern::parse(s).ok_or_else(|| {
                        CompileError::new(
                            path.clone(),
                            format!("{s:?} is not an interface name (1-15 bytes, or a prefix ending in `*`)"),
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            *slot = Some(list.into());
        }
    }
    if let Some(v) = &m.pkttype {
        let path = format!("{p}.pkttype");
        let mut bits = 0;
        for k in nonempty(v, &path)? {
            bits |= match k {
                PktTypeName::Unicast => pkttype::UNICAST,
                PktTypeName::Broadcast => pkttype::BROADCAST,
                PktTypeName::Multicast => pkttype::MULTICAST,
            };
        }
        out.pkttype = Some(bits);
    }
    out.rare = out.pkttype.is_some()
        || out.icmp_code.is_some()
        || out.tcp_flags.is_some()
        || out.ttl.is_some()
        || out.dscp.is_some()
        || out.length.is_some()
        || out.ct_zone.is_some()
        || out.iifname.is_some()
        || out.oifname.is_some();
    Ok(())
}

/// Numbers or `"lo-hi"` ranges up to `max` (`what` names one in errors).
fn ranges(
    v: &OneOrMany<Scalar>,
    path: &str,
    max: u16,
    what: &str,
) -> Result<PortSet, CompileError> {
    let ranges = nonempty(v, path)?
        .iter()
        .map(|x| {
            let r = parse::port_range(x).map_err(|e| e.replace("port", what))?;
            if r.hi > max {
                return Err(format!("{x} is above {max}, the largest {what}"));
            }
            Ok(r)
        })
        .collect::<Result<Vec<_>, String>>()
        .map_err(|e| CompileError::new(path, e))?;
    Ok(PortSet {
        ranges: ranges.into(),
    })
}

fn addr_set(
    v: &OneOrMany<String>,
    path: &str,
    only: Option<Family>,
) -> Result<AddrSet, CompileError> {
    let (mut v4, mut v6) = (Vec::new(), Vec::new());
    for s in nonempty(v, path)? {
        let (family, net) = parse::net(s).map_err(|e| CompileError {
            path: path.to_string(),
            message: e,
        })?;
        if let Some(f) = only.filter(|f| *f != family) {
            return err(
                path,
                format!(
                    "{s:?} is an {} prefix but the rule matches only {} packets",
                    family_word(family),
                    family_word(f)
                ),
            );
        }
        match family {
            Family::Ipv4 => v4.push(net),
            Family::Ipv6 => v6.push(net),
        }
    }
    Ok(AddrSet {
        v4: v4.into(),
        v6: v6.into(),
    })
}

/// Connection labels, bit numbers or names from conntrack-tools' map, as one set.
pub fn labels(list: &[Scalar], path: &str) -> Result<u128, CompileError> {
    let conf = std::path::Path::new(brickwall_hooks::connlabel::CONNLABEL_CONF);
    let mut set = 0u128;
    for s in list {
        let text = match s {
            Scalar::Num(n) => n.to_string(),
            Scalar::Str(t) => t.clone(),
        };
        for bit in
            brickwall_hooks::connlabel::bits(&text, conf).map_err(|message| CompileError {
                path: path.to_string(),
                message,
            })?
        {
            set |= 1u128 << bit;
        }
    }
    Ok(set)
}

/// Refuses a conntrack match in a chain before conntrack (a raw chain), saying what it
/// would miss there.
fn before_conntrack(stage: Stage, path: &str, consequence: &str) -> Result<(), CompileError> {
    if stage == Stage::BeforeConntrack {
        return err(
            path,
            format!("a raw chain runs before conntrack, so {consequence}"),
        );
    }
    Ok(())
}

/// A helper name as packets carry it (NUL-padded to 16 bytes); `None` unless 1 to 16
/// bytes.
pub fn helper_name(name: &str) -> Option<[u8; 16]> {
    if name.is_empty() || name.len() > 16 {
        return None;
    }
    let mut b = [0u8; 16];
    b[..name.len()].copy_from_slice(name.as_bytes());
    Some(b)
}

fn icmp_types(
    v: &OneOrMany<Scalar>,
    path: &str,
    proto: Option<u8>,
    only: Option<Family>,
) -> Result<IcmpTypes, CompileError> {
    if let Some(p) = proto.filter(|p| *p != ip_proto::ICMP && *p != ip_proto::ICMPV6) {
        let name = ip_proto::name(p)
            .map(str::to_string)
            .unwrap_or_else(|| p.to_string());
        return err(
            path,
            format!("icmp_type matches only icmp or icmpv6 packets, and proto is {name}"),
        );
    }
    let families: &[Family] = match only {
        Some(Family::Ipv4) => &[Family::Ipv4],
        Some(Family::Ipv6) => &[Family::Ipv6],
        None => &[Family::Ipv4, Family::Ipv6],
    };
    let table = |f: Family| match f {
        Family::Ipv4 => names::ICMP_TYPES,
        Family::Ipv6 => names::ICMPV6_TYPES,
    };
    let mut out = IcmpTypes::default();
    for item in nonempty(v, path)? {
        let number = match item {
            Scalar::Num(n) => Some(u8::try_from(*n).map_err(|_| CompileError {
                path: path.to_string(),
                message: format!("ICMP type {n} is out of range (0-255)"),
            })?),
            Scalar::Str(s) => s.trim().parse::<u8>().ok(),
        };
        if let Some(t) = number {
            for f in families {
                out.insert(*f, t);
            }
            continue;
        }
        let name = match item {
            Scalar::Str(s) => s.trim(),
            Scalar::Num(_) => "",
        };
        let mut found = false;
        for f in families {
            if let Some(t) = names::lookup(table(*f), name) {
                out.insert(*f, t);
                found = true;
            }
        }
        if !found {
            let kind = match only {
                Some(Family::Ipv4) => "ICMP",
                Some(Family::Ipv6) => "ICMPv6",
                None => "ICMP or ICMPv6",
            };
            let mut known: Vec<&str> = families
                .iter()
                .flat_map(|f| table(*f).iter().map(|(n, _)| *n))
                .collect();
            known.sort_unstable();
            known.dedup();
            return err(
                path,
                format!(
                    "unknown {kind} type {name:?} (a number 0-255 or one of {})",
                    known.join(", ")
                ),
            );
        }
    }
    Ok(out)
}
