//! A request's [`Filter`] checked against itself (a state for a protocol without
//! states, ports for a protocol without ports, mixed families) and turned into the
//! [`Matcher`] the walk over the table applies.

use crate::conn::{status, Conn};
use crate::proto::dccp::DccpState;
use crate::proto::sctp::SctpState;
use crate::proto::tcp::TcpState;
use crate::record::{ip_of, tuple_record};
use crate::tuple::proto;
use brickwall_control_protocol::conntrack::record::{has_ports, proto_name};
use brickwall_control_protocol::conntrack::request::{Filter, NatFilter, NatSide};
use brickwall_control_protocol::conntrack::value::{Mark, Net};
use brickwall_wire::Family;

/// Which connections a request is about: every condition given must hold.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Matcher {
    proto: Option<u8>,
    family: Option<u8>,
    src: Option<Net>,
    dst: Option<Net>,
    sport: Option<u16>,
    dport: Option<u16>,
    reply_src: Option<Net>,
    reply_dst: Option<Net>,
    reply_sport: Option<u16>,
    reply_dport: Option<u16>,
    states: Option<Vec<&'static str>>,
    mark: Option<Mark>,
    zone: Option<u16>,
    status: u16,
    src_nat: Option<NatFilter>,
    dst_nat: Option<NatFilter>,
    any_nat: Option<NatFilter>,
}

impl Matcher {
    /// Whether connection `c` matches.
    pub fn matches(&self, c: &Conn) -> bool {
        let t = &c.orig;
        self.proto.is_none_or(|p| t.proto == p)
            && self.family.is_none_or(|f| t.family == f)
            && self
                .src
                .is_none_or(|n| n.0.contains(ip_of(t.family, &t.src)))
            && self
                .dst
                .is_none_or(|n| n.0.contains(ip_of(t.family, &t.dst)))
            && self
                .sport
                .is_none_or(|p| has_ports(t.proto) && t.src_id == p)
            && self
                .dport
                .is_none_or(|p| has_ports(t.proto) && t.dst_id == p)
            && self.reply_matches(c)
            && self
                .states
                .as_ref()
                .is_none_or(|states| c.proto.state_name().is_some_and(|s| states.contains(&s)))
            && self.mark.is_none_or(|m| m.matches(c.mark))
            && self.zone.is_none_or(|z| t.zone == z)
            && c.status & self.status == self.status
            && self.nat_matches(c)
    }

    /// Whether `c`'s reply tuple meets the `reply_*` conditions.
    fn reply_matches(&self, c: &Conn) -> bool {
        if self.reply_src.is_none()
            && self.reply_dst.is_none()
            && self.reply_sport.is_none()
            && self.reply_dport.is_none()
        {
            return true;
        }
        let r = c.reply();
        self.reply_src
            .is_none_or(|n| n.0.contains(ip_of(r.family, &r.src)))
            && self
                .reply_dst
                .is_none_or(|n| n.0.contains(ip_of(r.family, &r.dst)))
            && self
                .reply_sport
                .is_none_or(|p| has_ports(r.proto) && r.src_id == p)
            && self
                .reply_dport
                .is_none_or(|p| has_ports(r.proto) && r.dst_id == p)
    }

    /// Whether `c` meets the NAT conditions (`--src-nat`, `--dst-nat`, `--any-nat`),
    /// judged on its tuples as the control protocol's records show them.
    fn nat_matches(&self, c: &Conn) -> bool {
        if self.src_nat.is_none() && self.dst_nat.is_none() && self.any_nat.is_none() {
            return true;
        }
        let orig = tuple_record(&c.orig, None);
        let reply = tuple_record(&c.reply(), None);
        let holds = |f: &NatFilter, side: NatSide| {
            let bit = match side {
                NatSide::Src => status::SRC_NAT,
                NatSide::Dst => status::DST_NAT,
            };
            f.holds(side, c.has(bit), &orig, &reply)
        };
        self.src_nat.is_none_or(|f| holds(&f, NatSide::Src))
            && self.dst_nat.is_none_or(|f| holds(&f, NatSide::Dst))
            && self
                .any_nat
                .is_none_or(|f| holds(&f, NatSide::Src) || holds(&f, NatSide::Dst))
    }
}

/// A protocol for messages: its name, or its number if conntrack has no name for it.
pub fn proto_label(p: u8) -> String {
    match proto_name(p) {
        "unknown" => p.to_string(),
        n => n.to_string(),
    }
}

/// Names of the TCP states (and `LISTEN`, conntrack-tools' older name for SYN_SENT2).
fn tcp_state(name: &str) -> Option<&'static str> {
    if name == "LISTEN" {
        return Some(TcpState::SynSent2.name());
    }
    TcpState::ALL.iter().map(|s| s.name()).find(|n| *n == name)
}

/// Names of the SCTP states.
fn sctp_state(name: &str) -> Option<&'static str> {
    SctpState::ALL.iter().map(|s| s.name()).find(|n| *n == name)
}

/// Names of the DCCP states.
fn dccp_state(name: &str) -> Option<&'static str> {
    DccpState::ALL.iter().map(|s| s.name()).find(|n| *n == name)
}

/// The states a filter asks for, checked against the filter's protocol.
fn states(names: &[String], proto: Option<u8>) -> Result<Vec<&'static str>, String> {
    let field = "filter.state";
    let lookup: fn(&str) -> Option<&'static str> = match proto {
        Some(proto::TCP) => tcp_state,
        Some(proto::SCTP) => sctp_state,
        Some(proto::DCCP) => dccp_state,
        Some(p) => {
            return Err(format!(
                "{field}: only tcp, sctp and dccp connections have a state (filter.proto is {})",
                proto_label(p)
            ))
        }
        None => |n| {
            tcp_state(n)
                .or_else(|| sctp_state(n))
                .or_else(|| dccp_state(n))
        },
    };
    let kind = match proto {
        Some(p) => format!("{} state", proto_name(p)),
        None => "tcp, sctp or dccp state".to_string(),
    };
    if names.is_empty() {
        return Err(format!("{field}: no state given"));
    }
    names
        .iter()
        .map(|n| {
            lookup(&n.to_ascii_uppercase()).ok_or_else(|| format!("{field}: unknown {kind} {n:?}"))
        })
        .collect()
}

/// Checks `f` and makes its matcher.
pub fn matcher(f: &Filter) -> Result<Matcher, String> {
    let proto = f.proto.map(|p| p.0);
    let family = f.family.map(|f| f.0);
    if let (Some(s), Some(d)) = (f.src, f.dst) {
        if s.family() != d.family() {
            return Err(format!(
                "filter.dst: an {} address, but filter.src is {}",
                d.family().name(),
                s.family().name()
            ));
        }
    }
    if let (Some(s), Some(d)) = (f.reply_src, f.reply_dst) {
        if s.family() != d.family() {
            return Err(format!(
                "filter.reply_dst: an {} address, but filter.reply_src is {}",
                d.family().name(),
                s.family().name()
            ));
        }
    }
    if let Some(fam) = family {
        for (key, n) in [
            ("src", f.src),
            ("dst", f.dst),
            ("reply_src", f.reply_src),
            ("reply_dst", f.reply_dst),
        ] {
            if let Some(n) = n.filter(|n| n.family() != fam) {
                return Err(format!(
                    "filter.{key}: an {} address, but filter.family is {}",
                    n.family().name(),
                    fam.name()
                ));
            }
        }
    }
    for (key, port) in [
        ("sport", f.sport),
        ("dport", f.dport),
        ("reply_sport", f.reply_sport),
        ("reply_dport", f.reply_dport),
    ] {
        if let (Some(_), Some(p)) = (port, proto.filter(|p| !has_ports(*p))) {
            return Err(format!(
                "filter.{key}: {} has no ports (tcp, udp, udplite and sctp do)",
                proto_label(p)
            ));
        }
    }
    for (key, n) in [
        ("src_nat", f.src_nat),
        ("dst_nat", f.dst_nat),
        ("any_nat", f.any_nat),
    ] {
        let Some(n) = n else { continue };
        if let Some(a) = n.addr {
            let fam = if a.is_ipv6() {
                Family::Ipv6
            } else {
                Family::Ipv4
            };
            let other = family.or(f.src.or(f.dst).map(|n| n.family()));
            if let Some(other) = other.filter(|o| *o != fam) {
                return Err(format!(
                    "filter.{key}.addr: an {} address, but the filter's addresses are {}",
                    fam.name(),
                    other.name()
                ));
            }
        }
        if let (Some(_), Some(p)) = (n.port, proto.filter(|p| !has_ports(*p))) {
            return Err(format!(
                "filter.{key}.port: {} has no ports (tcp, udp, udplite and sctp do)",
                proto_label(p)
            ));
        }
    }
    let states = f
        .state
        .as_ref()
        .map(|names| states(&names.0, proto))
        .transpose()?;
    let mut status_bits = 0;
    for n in f.status.iter().flat_map(|n| n.0.iter()) {
        let up = n.to_ascii_uppercase();
        status_bits |= status::NAMES
            .iter()
            .find(|(_, name)| *name == up)
            .map(|(bit, _)| *bit)
            .ok_or_else(|| {
                let all: Vec<&str> = status::NAMES.iter().map(|(_, n)| *n).collect();
                format!("filter.status: unknown status {n:?} ({})", all.join(", "))
            })?;
    }
    Ok(Matcher {
        proto,
        family: family.map(|f: Family| f as u8),
        src: f.src,
        dst: f.dst,
        sport: f.sport,
        dport: f.dport,
        reply_src: f.reply_src,
        reply_dst: f.reply_dst,
        reply_sport: f.reply_sport,
        reply_dport: f.reply_dport,
        states,
        mark: f.mark,
        zone: f.zone,
        status: status_bits,
        src_nat: f.src_nat,
        dst_nat: f.dst_nat,
        any_nat: f.any_nat,
    })
}
