//! Reading JSON control requests. The request is parsed into a [`serde_json::Value`] and
//! then checked field by field, so that every error names the field it is about
//! (`filter.src: not an address: "10.0.0.300"`) rather than a position in the text.
//! A `null` field counts as absent.

use crate::conn::{status, Conn};
use crate::proto::sctp::SctpState;
use crate::proto::tcp::TcpState;
use crate::tuple::{proto, proto_name, Tuple, FAMILY_V4, FAMILY_V6};
use brickwall_wire::Cidr;
use serde_json::{Map, Value};
use std::net::IpAddr;

/// The operations, as named in requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `conntrack -L`: the connections (optionally filtered).
    List,
    /// `conntrack -G`: one connection by either of its tuples.
    Get,
    /// `conntrack -D`: one connection by tuple, or every match of a filter.
    Delete,
    /// `conntrack -F`: every connection.
    Flush,
    /// `conntrack -C`: how many connections, and the maximum.
    Count,
    /// `conntrack -S`: the counters.
    Stats,
    /// Chain lengths of the hash table.
    Histogram,
    /// The nodes of one bucket's chain, in order.
    Chain,
    /// `conntrack -U --mark`: set the mark of one connection (by tuple) or of every
    /// match of a filter.
    Update,
    /// The chain lengths of a window of buckets (the dashboard's heat map).
    Buckets,
}

/// The operation names, for error messages.
const OPS: &str = "list, get, delete, flush, count, stats, histogram, chain, update, buckets";
/// Every top-level field, for error messages.
const FIELDS: &str =
    "op, now_ns, filter, tuple, format, show_labels, bucket, max_len, mark, mark_mask, labels, label_add, \
     label_del, offset, limit, states, total, cursor";
/// Every filter field, for error messages.
const FILTER_FIELDS: &str = "proto, family, src, dst, sport, dport, state, mark, zone, status";
/// Every tuple field, for error messages.
const TUPLE_FIELDS: &str =
    "proto, family, src, dst, sport, dport, type, code, id, srckey, dstkey, zone";
/// The protocol names accepted, for error messages.
const PROTO_NAMES: &str = "tcp, udp, udplite, sctp, icmp, icmpv6, gre";
/// Default for `max_len`.
const DEFAULT_MAX_LEN: usize = 16;
/// Largest `max_len` accepted (walks stop at 80 nodes anyway).
const MAX_MAX_LEN: u64 = 1024;
/// Most connections one `list` page may hold.
pub const MAX_LIST_LIMIT: u64 = 10_000;
/// Most buckets one `buckets` window may hold.
pub const MAX_BUCKETS_LIMIT: u64 = 65_536;
/// Buckets in a `buckets` window without `limit`.
const DEFAULT_BUCKETS_LIMIT: usize = 1024;

impl Op {
    /// The operation `v` names.
    fn parse(v: &Value) -> Result<Op, String> {
        let Value::String(s) = v else {
            return Err(format!("op: expected a string ({OPS}), got {}", show(v)));
        };
        Ok(match s.as_str() {
            "list" => Op::List,
            "get" => Op::Get,
            "delete" => Op::Delete,
            "flush" => Op::Flush,
            "count" => Op::Count,
            "stats" => Op::Stats,
            "histogram" => Op::Histogram,
            "chain" => Op::Chain,
            "update" => Op::Update,
            "buckets" => Op::Buckets,
            _ => return Err(format!("op: unknown operation {} ({OPS})", show(v))),
        })
    }

    /// The name in requests.
    pub fn name(self) -> &'static str {
        match self {
            Op::List => "list",
            Op::Get => "get",
            Op::Delete => "delete",
            Op::Flush => "flush",
            Op::Count => "count",
            Op::Stats => "stats",
            Op::Histogram => "histogram",
            Op::Chain => "chain",
            Op::Update => "update",
            Op::Buckets => "buckets",
        }
    }

    /// The fields the operation takes besides `op` and `now_ns`.
    fn fields(self) -> &'static [&'static str] {
        match self {
            Op::List => &[
                "filter",
                "format",
                "show_labels",
                "offset",
                "limit",
                "states",
                "total",
                "cursor",
            ],
            Op::Get => &["tuple", "format", "show_labels"],
            Op::Delete => &["tuple", "filter"],
            Op::Flush | Op::Count | Op::Stats => &[],
            Op::Histogram => &["max_len", "offset", "limit"],
            Op::Chain => &["bucket"],
            Op::Update => &[
                "tuple",
                "filter",
                "mark",
                "mark_mask",
                "labels",
                "label_add",
                "label_del",
            ],
            Op::Buckets => &["offset", "limit"],
        }
    }
}

/// How `list` and `get` print connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `conntrack -L` lines.
    Text,
    /// `conntrack -L -o extended` lines: the family name and number first.
    Extended,
    /// Objects with every field.
    Json,
}

/// A checked request.
#[derive(Debug)]
pub struct Request {
    /// What to do.
    pub op: Op,
    /// The engine's clock (ns) against which timeouts are judged.
    pub now_ns: u64,
    /// Which connections (`list`, `delete`).
    pub filter: Option<Filter>,
    /// One connection, by either direction's tuple (`get`, `delete`).
    pub tuple: Option<Tuple>,
    /// Output format (`list`, `get`).
    pub format: Format,
    /// Text lines end with the connection's labels, `labels=BIT,BIT` (`conntrack -o
    /// labels`; the CLI turns the bits into names).
    pub show_labels: bool,
    /// Bucket number (`chain`), not yet checked against the table's size.
    pub bucket: Option<u64>,
    /// Longest chain length counted separately (`histogram`).
    pub max_len: usize,
    /// The mark to set (`update`): the bits of `mark_mask` are taken from it, the
    /// others kept (`conntrack -U --mark MARK/MASK`).
    pub mark: Option<u32>,
    /// Which bits of the mark `update` sets (`mark_mask`, default all).
    pub mark_mask: u32,
    /// How `update` changes the labels.
    pub labels: LabelChange,
    /// Matches (`list`) or buckets (`buckets`, `histogram`) to skip first.
    pub offset: u64,
    /// Most entries (`list`: none means all) or buckets (`buckets`: a default window;
    /// `histogram`: none means to the table's end) to answer.
    pub limit: Option<usize>,
    /// Whether `list` also counts every match by state (`states`).
    pub states: bool,
    /// Whether `list` counts every match (`total`, default true); without, it stops
    /// after the page.
    pub total: bool,
    /// The slot `list` starts its walk at (`cursor`, from the previous page's answer),
    /// so that paging through a large table walks it once.
    pub cursor: Option<u64>,
}

/// A change of a connection's 128 labels (`update`): replace them all (`labels`), then
/// set the bits of `add` (`label_add`) and clear those of `del` (`label_del`), as
/// `conntrack -U --label-add`/`--label-del` do.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LabelChange {
    /// New labels replacing the old ones.
    pub set: Option<u128>,
    /// Bits to set.
    pub add: u128,
    /// Bits to clear.
    pub del: u128,
}

impl LabelChange {
    /// Whether the request changes labels at all.
    pub fn is_some(&self) -> bool {
        self.set.is_some() || self.add != 0 || self.del != 0
    }

    /// The labels after the change.
    pub fn apply(&self, old: u128) -> u128 {
        (self.set.unwrap_or(old) | self.add) & !self.del
    }
}

/// 128 labels: a number, or a string of hex (`0x...`) or decimal digits.
fn parse_labels(v: &Value, field: &str) -> Result<u128, String> {
    let bad = || {
        format!(
            "{field}: expected 128 bits of labels (\"0x...\"), got {}",
            show(v)
        )
    };
    match v {
        Value::Number(n) => n.as_u64().map(u128::from).ok_or_else(bad),
        Value::String(s) => match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
            Some(hex) => u128::from_str_radix(hex, 16).map_err(|_| bad()),
            None => s.parse::<u128>().map_err(|_| bad()),
        },
        _ => Err(bad()),
    }
}

/// A list of label bit numbers (0-127) as a mask; `true` means every bit.
fn parse_label_bits(v: &Value, field: &str) -> Result<u128, String> {
    match v {
        Value::Bool(true) => Ok(u128::MAX),
        Value::Array(bits) => bits.iter().try_fold(0u128, |acc, b| {
            Ok(acc | 1u128 << uint(b, field, 127, "label bit numbers (0-127)")?)
        }),
        _ => Ok(1u128
            << uint(
                v,
                field,
                127,
                "a label bit number (0-127) or a list of them",
            )?),
    }
}

/// The family of an address or network, as `NFPROTO_*`.
fn family_of(n: &Cidr) -> u8 {
    if n.addr().is_ipv6() {
        FAMILY_V6
    } else {
        FAMILY_V4
    }
}

/// A tuple's address (IPv4 in the first four bytes) as an [`IpAddr`]; `None` if
/// `family` is neither IPv4 nor IPv6.
fn ip_of(family: u8, a: &[u8; 16]) -> Option<IpAddr> {
    match family {
        FAMILY_V4 => Some(IpAddr::from([a[0], a[1], a[2], a[3]])),
        FAMILY_V6 => Some(IpAddr::from(*a)),
        _ => None,
    }
}

/// An address as a tuple holds it (IPv4 in the first four bytes, the rest zero).
fn tuple_addr(ip: IpAddr) -> [u8; 16] {
    match ip {
        IpAddr::V4(v4) => {
            let mut a = [0u8; 16];
            a[..4].copy_from_slice(&v4.octets());
            a
        }
        IpAddr::V6(v6) => v6.octets(),
    }
}

/// Which connections a `list` or `delete` is about. Every condition given must hold;
/// addresses, ports and zone are those of the original tuple, as conntrack's `-s`, `-d`,
/// `--sport`, `--dport` and `--zone`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    /// IP protocol number.
    pub proto: Option<u8>,
    /// `NFPROTO_IPV4` or `NFPROTO_IPV6`.
    pub family: Option<u8>,
    /// Original source address or network.
    pub src: Option<Cidr>,
    /// Original destination address or network.
    pub dst: Option<Cidr>,
    /// Original source port.
    pub sport: Option<u16>,
    /// Original destination port.
    pub dport: Option<u16>,
    /// Protocol states (TCP or SCTP names), any of which matches.
    pub states: Option<Vec<&'static str>>,
    /// `ct mark` value and mask.
    pub mark: Option<(u32, u32)>,
    /// Zone of the original tuple.
    pub zone: Option<u16>,
    /// Status bits that must all be set.
    pub status: u16,
}

impl Filter {
    /// Whether connection `c` matches.
    pub fn matches(&self, c: &Conn) -> bool {
        let t = &c.orig;
        self.proto.is_none_or(|p| t.proto == p)
            && self.family.is_none_or(|f| t.family == f)
            && self
                .src
                .is_none_or(|n| ip_of(t.family, &t.src).is_some_and(|a| n.contains(a)))
            && self
                .dst
                .is_none_or(|n| ip_of(t.family, &t.dst).is_some_and(|a| n.contains(a)))
            && self
                .sport
                .is_none_or(|p| has_ports(t.proto) && t.src_id == p)
            && self
                .dport
                .is_none_or(|p| has_ports(t.proto) && t.dst_id == p)
            && self
                .states
                .as_ref()
                .is_none_or(|states| c.proto.state_name().is_some_and(|s| states.contains(&s)))
            && self
                .mark
                .is_none_or(|(value, mask)| c.mark & mask == value & mask)
            && self.zone.is_none_or(|z| t.zone == z)
            && c.status & self.status == self.status
    }
}

/// Whether tuples of protocol `p` carry ports.
fn has_ports(p: u8) -> bool {
    matches!(p, proto::TCP | proto::UDP | proto::UDPLITE | proto::SCTP)
}

/// A value as it appears in the request, shortened for error messages.
pub fn show(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() <= 60 {
        return s;
    }
    let mut short: String = s.chars().take(57).collect();
    short.push('…');
    short
}

/// Fields of a JSON object other than nulls, or an error naming `field`.
fn object<'a>(v: &'a Value, field: &str) -> Result<&'a Map<String, Value>, String> {
    match v {
        Value::Object(m) => Ok(m),
        _ => Err(format!("{field}: expected an object, got {}", show(v))),
    }
}

/// The non-null value of `key` in `m`.
fn get<'a>(m: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    m.get(key).filter(|v| !v.is_null())
}

/// Rejects keys of `m` that are not in `known` (a comma-separated list).
fn known_keys(m: &Map<String, Value>, prefix: &str, known: &str) -> Result<(), String> {
    for k in m.keys() {
        if !known.split(", ").any(|n| n == k) {
            return Err(format!(
                "{prefix}unknown field {} ({known})",
                show(&Value::String(k.clone()))
            ));
        }
    }
    Ok(())
}

/// A non-negative integer no larger than `max`.
fn uint(v: &Value, field: &str, max: u64, what: &str) -> Result<u64, String> {
    let n = v
        .as_u64()
        .ok_or_else(|| format!("{field}: expected {what}, got {}", show(v)))?;
    if n > max {
        return Err(format!("{field}: {n} is out of range (0-{max})"));
    }
    Ok(n)
}

/// A protocol: a number, a numeric string or a name.
fn parse_proto(v: &Value, field: &str) -> Result<u8, String> {
    let bad = || {
        format!(
            "{field}: unknown protocol {} (a number 0-255 or {PROTO_NAMES})",
            show(v)
        )
    };
    match v {
        Value::Number(_) => Ok(uint(v, field, 255, "a protocol number or name")? as u8),
        Value::String(s) => {
            if let Ok(n) = s.parse::<u8>() {
                return Ok(n);
            }
            Ok(match s.to_ascii_lowercase().as_str() {
                "tcp" => proto::TCP,
                "udp" => proto::UDP,
                "udplite" => proto::UDPLITE,
                "sctp" => proto::SCTP,
                "icmp" => proto::ICMP,
                "icmpv6" | "ipv6-icmp" => proto::ICMPV6,
                "gre" => proto::GRE,
                _ => return Err(bad()),
            })
        }
        _ => Err(bad()),
    }
}

/// A family: `ipv4`/`ipv6` or the `NFPROTO_*` number.
fn parse_family(v: &Value, field: &str) -> Result<u8, String> {
    let f = match v {
        Value::String(s) => match s.to_ascii_lowercase().as_str() {
            "ipv4" => Some(FAMILY_V4),
            "ipv6" => Some(FAMILY_V6),
            _ => None,
        },
        Value::Number(n) => match n.as_u64() {
            Some(2) => Some(FAMILY_V4),
            Some(10) => Some(FAMILY_V6),
            _ => None,
        },
        _ => None,
    };
    f.ok_or_else(|| format!("{field}: unknown family {} (ipv4, ipv6)", show(v)))
}

/// The family name as requests and extended lines spell it.
pub fn family_name(f: u8) -> &'static str {
    if f == FAMILY_V6 {
        "ipv6"
    } else {
        "ipv4"
    }
}

/// An address, with a `/prefix` if `allow_prefix`.
fn parse_net(v: &Value, field: &str, allow_prefix: bool) -> Result<Cidr, String> {
    let not_addr = || {
        let what = if allow_prefix {
            "an address or network"
        } else {
            "an address"
        };
        format!("{field}: not {what}: {}", show(v))
    };
    let Value::String(s) = v else {
        return Err(not_addr());
    };
    let (a, prefix) = match s.split_once('/') {
        Some((a, p)) if allow_prefix => (a, Some(p)),
        Some(_) => return Err(format!("{field}: not an address (no prefix here): {s:?}")),
        None => (s.as_str(), None),
    };
    let ip: IpAddr = a.trim().parse().map_err(|_| not_addr())?;
    let Some(prefix) = prefix else {
        return Ok(Cidr::host(ip));
    };
    let host = Cidr::host(ip);
    let (family, bits) = (family_of(&host), host.max_prefix());
    prefix
        .trim()
        .parse::<u8>()
        .ok()
        .and_then(|n| Cidr::new(ip, n))
        .ok_or_else(|| {
            format!(
                "{field}: bad prefix length {prefix:?} for {} (0-{bits})",
                family_name(family)
            )
        })
}

/// A mark: a number, or `MARK` / `MARK/MASK` in decimal or `0x` hex.
fn parse_mark(v: &Value, field: &str) -> Result<(u32, u32), String> {
    let bad = || {
        format!(
            "{field}: not a mark: {} (MARK or MARK/MASK, decimal or 0x hex)",
            show(v)
        )
    };
    fn num(s: &str) -> Option<u32> {
        let s = s.trim();
        match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
            Some(h) => u32::from_str_radix(h, 16).ok(),
            None => s.parse().ok(),
        }
    }
    match v {
        Value::Number(n) => {
            let m = n
                .as_u64()
                .and_then(|m| u32::try_from(m).ok())
                .ok_or_else(bad)?;
            Ok((m, u32::MAX))
        }
        Value::String(s) => {
            let (m, mask) = match s.split_once('/') {
                Some((m, mask)) => (num(m), num(mask)),
                None => (num(s), Some(u32::MAX)),
            };
            Ok((m.ok_or_else(bad)?, mask.ok_or_else(bad)?))
        }
        _ => Err(bad()),
    }
}

/// A list of names: an array of strings, or one string of comma-separated names.
fn names(v: &Value, field: &str) -> Result<Vec<String>, String> {
    match v {
        Value::String(s) => Ok(s
            .split(',')
            .map(|w| w.trim().to_string())
            .filter(|w| !w.is_empty())
            .collect()),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| match item {
                Value::String(s) => Ok(s.trim().to_string()),
                _ => Err(format!("{field}[{i}]: expected a name, got {}", show(item))),
            })
            .collect(),
        _ => Err(format!(
            "{field}: expected a name or an array of names, got {}",
            show(v)
        )),
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
    [
        SctpState::Closed,
        SctpState::CookieWait,
        SctpState::CookieEchoed,
        SctpState::Established,
        SctpState::ShutdownSent,
        SctpState::ShutdownRecd,
        SctpState::ShutdownAckSent,
    ]
    .iter()
    .map(|s| s.name())
    .find(|n| *n == name)
}

/// The states a filter asks for, checked against the filter's protocol.
fn parse_states(v: &Value, proto: Option<u8>) -> Result<Vec<&'static str>, String> {
    let field = "filter.state";
    let lookup: fn(&str) -> Option<&'static str> = match proto {
        Some(proto::TCP) => tcp_state,
        Some(proto::SCTP) => sctp_state,
        Some(p) => {
            return Err(format!(
                "{field}: only tcp and sctp connections have a state (filter.proto is {})",
                proto_label(p)
            ))
        }
        None => |n| tcp_state(n).or_else(|| sctp_state(n)),
    };
    let kind = match proto {
        Some(p) => format!("{} state", proto_name(p)),
        None => "tcp or sctp state".to_string(),
    };
    let list = names(v, field)?;
    if list.is_empty() {
        return Err(format!("{field}: no state given"));
    }
    list.iter()
        .map(|n| {
            lookup(&n.to_ascii_uppercase()).ok_or_else(|| format!("{field}: unknown {kind} {n:?}"))
        })
        .collect()
}

/// A protocol for messages: its name, or its number if conntrack has no name for it.
fn proto_label(p: u8) -> String {
    match proto_name(p) {
        "unknown" => p.to_string(),
        n => n.to_string(),
    }
}

/// Status bit names, for error messages.
fn status_names() -> String {
    status::NAMES
        .iter()
        .map(|(_, n)| *n)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Parses a `filter` object.
fn parse_filter(v: &Value) -> Result<Filter, String> {
    let m = object(v, "filter")?;
    known_keys(m, "filter: ", FILTER_FIELDS)?;
    let mut f = Filter::default();
    if let Some(v) = get(m, "proto") {
        f.proto = Some(parse_proto(v, "filter.proto")?);
    }
    if let Some(v) = get(m, "family") {
        f.family = Some(parse_family(v, "filter.family")?);
    }
    for (key, slot) in [("src", &mut f.src), ("dst", &mut f.dst)] {
        if let Some(v) = get(m, key) {
            *slot = Some(parse_net(v, &format!("filter.{key}"), true)?);
        }
    }
    if let (Some(s), Some(d)) = (f.src, f.dst) {
        if family_of(&s) != family_of(&d) {
            return Err(format!(
                "filter.dst: an {} address, but filter.src is {}",
                family_name(family_of(&d)),
                family_name(family_of(&s))
            ));
        }
    }
    if let Some(fam) = f.family {
        for (key, n) in [("src", f.src), ("dst", f.dst)] {
            if let Some(n) = n.filter(|n| family_of(n) != fam) {
                return Err(format!(
                    "filter.{key}: an {} address, but filter.family is {}",
                    family_name(family_of(&n)),
                    family_name(fam)
                ));
            }
        }
    }
    for (key, slot) in [("sport", &mut f.sport), ("dport", &mut f.dport)] {
        if let Some(v) = get(m, key) {
            let field = format!("filter.{key}");
            if let Some(p) = f.proto.filter(|p| !has_ports(*p)) {
                return Err(format!(
                    "{field}: {} has no ports (tcp, udp, udplite and sctp do)",
                    proto_label(p)
                ));
            }
            *slot = Some(uint(v, &field, 65535, "a port number")? as u16);
        }
    }
    if let Some(v) = get(m, "state") {
        f.states = Some(parse_states(v, f.proto)?);
    }
    if let Some(v) = get(m, "mark") {
        f.mark = Some(parse_mark(v, "filter.mark")?);
    }
    if let Some(v) = get(m, "zone") {
        f.zone = Some(uint(v, "filter.zone", 65535, "a zone number")? as u16);
    }
    if let Some(v) = get(m, "status") {
        for n in names(v, "filter.status")? {
            let up = n.to_ascii_uppercase();
            let bit = status::NAMES
                .iter()
                .find(|(_, name)| *name == up)
                .map(|(bit, _)| *bit)
                .ok_or_else(|| {
                    format!("filter.status: unknown status {n:?} ({})", status_names())
                })?;
            f.status |= bit;
        }
    }
    Ok(f)
}

/// Parses a `tuple` object into the tuple the table holds; `zone` is the default zone.
pub(super) fn parse_tuple(v: &Value, zone: u16) -> Result<Tuple, String> {
    let m = object(v, "tuple")?;
    known_keys(m, "tuple: ", TUPLE_FIELDS)?;
    let p = parse_proto(
        get(m, "proto").ok_or("tuple.proto: missing (the connection's protocol)")?,
        "tuple.proto",
    )?;
    let src = parse_net(
        get(m, "src").ok_or("tuple.src: missing (the source address)")?,
        "tuple.src",
        false,
    )?;
    let dst = parse_net(
        get(m, "dst").ok_or("tuple.dst: missing (the destination address)")?,
        "tuple.dst",
        false,
    )?;
    let family = family_of(&src);
    if family != family_of(&dst) {
        return Err(format!(
            "tuple.dst: an {} address, but tuple.src is {}",
            family_name(family_of(&dst)),
            family_name(family)
        ));
    }
    if let Some(v) = get(m, "family") {
        let fam = parse_family(v, "tuple.family")?;
        if fam != family {
            return Err(format!(
                "tuple.src: an {} address, but tuple.family is {}",
                family_name(family),
                family_name(fam)
            ));
        }
    }
    match (p, family) {
        (proto::ICMP, FAMILY_V6) => {
            return Err("tuple.proto: icmp with IPv6 addresses (use icmpv6)".into())
        }
        (proto::ICMPV6, FAMILY_V4) => {
            return Err("tuple.proto: icmpv6 with IPv4 addresses (use icmp)".into())
        }
        _ => {}
    }
    let label = proto_label(p);
    let mut t = Tuple {
        src: tuple_addr(src.addr()),
        dst: tuple_addr(dst.addr()),
        proto: p,
        family,
        ..Tuple::default()
    };
    let (takes, needs): (&[&str], &[&str]) = match p {
        _ if has_ports(p) => (&["sport", "dport"], &["sport", "dport"]),
        proto::ICMP | proto::ICMPV6 => (&["type", "code", "id"], &["type", "id"]),
        proto::GRE => (&["srckey", "dstkey"], &[]),
        _ => (&[], &[]),
    };
    for key in ["sport", "dport", "type", "code", "id", "srckey", "dstkey"] {
        let given = get(m, key).is_some();
        if given && !takes.contains(&key) {
            let hint = if takes.is_empty() {
                "it has only addresses".to_string()
            } else {
                format!("it takes {}", takes.join(", "))
            };
            return Err(format!("tuple.{key}: not used by {label} ({hint})"));
        }
        if !given && needs.contains(&key) {
            return Err(format!(
                "tuple.{key}: missing ({label} needs {})",
                needs.join(", ")
            ));
        }
    }
    let u16_of = |key: &str, what: &str| -> Result<u16, String> {
        get(m, key).map_or(Ok(0), |v| {
            uint(v, &format!("tuple.{key}"), 65535, what).map(|n| n as u16)
        })
    };
    let u8_of = |key: &str, what: &str| -> Result<u16, String> {
        get(m, key).map_or(Ok(0), |v| {
            uint(v, &format!("tuple.{key}"), 255, what).map(|n| n as u16)
        })
    };
    match p {
        proto::ICMP | proto::ICMPV6 => {
            t.dst_id = u8_of("type", "an ICMP type")? << 8 | u8_of("code", "an ICMP code")?;
            t.src_id = u16_of("id", "an ICMP id")?;
        }
        proto::GRE => {
            t.src_id = u16_of("srckey", "a GRE key")?;
            t.dst_id = u16_of("dstkey", "a GRE key")?;
        }
        _ => {
            t.src_id = u16_of("sport", "a port number")?;
            t.dst_id = u16_of("dport", "a port number")?;
        }
    }
    t.zone = match get(m, "zone") {
        Some(v) => uint(v, "tuple.zone", 65535, "a zone number")? as u16,
        None => zone,
    };
    Ok(t)
}

/// Checks a request parsed from JSON; `zone` is the zone a tuple without one is looked
/// up in.
pub fn parse_value(v: &Value, zone: u16) -> Result<Request, String> {
    let m = match v {
        Value::Object(m) => m,
        _ => {
            return Err(format!(
                "request: expected a JSON object like {{\"op\": \"list\"}}, got {}",
                show(v)
            ))
        }
    };
    known_keys(m, "request: ", FIELDS)?;
    let op = Op::parse(get(m, "op").ok_or_else(|| format!("op: missing ({OPS})"))?)?;
    for (k, _) in m.iter().filter(|(_, v)| !v.is_null()) {
        if k != "op" && k != "now_ns" && !op.fields().contains(&k.as_str()) {
            let takes = if op.fields().is_empty() {
                "now_ns".to_string()
            } else {
                format!("now_ns, {}", op.fields().join(", "))
            };
            return Err(format!("{k}: not used by {} (it takes {takes})", op.name()));
        }
    }
    let now_ns = match get(m, "now_ns") {
        Some(v) => uint(v, "now_ns", u64::MAX, "a non-negative integer (ns)")?,
        None => 0,
    };
    let filter = get(m, "filter").map(parse_filter).transpose()?;
    let tuple = get(m, "tuple").map(|v| parse_tuple(v, zone)).transpose()?;
    let format = match get(m, "format") {
        None => Format::Text,
        Some(Value::String(s)) if s == "text" => Format::Text,
        Some(Value::String(s)) if s == "extended" => Format::Extended,
        Some(Value::String(s)) if s == "json" => Format::Json,
        Some(v) => {
            return Err(format!(
                "format: unknown format {} (text, extended, json)",
                show(v)
            ))
        }
    };
    let bucket = get(m, "bucket")
        .map(|v| uint(v, "bucket", u64::MAX, "a bucket number"))
        .transpose()?;
    let max_len = match get(m, "max_len") {
        Some(v) => {
            let n = uint(v, "max_len", MAX_MAX_LEN, "a chain length")?;
            if n == 0 {
                return Err(format!("max_len: must be at least 1 (1-{MAX_MAX_LEN})"));
            }
            n as usize
        }
        None => DEFAULT_MAX_LEN,
    };
    let mark = get(m, "mark")
        .map(|v| uint(v, "mark", u32::MAX as u64, "a 32-bit mark").map(|n| n as u32))
        .transpose()?;
    let mark_mask = get(m, "mark_mask")
        .map(|v| uint(v, "mark_mask", u32::MAX as u64, "a 32-bit mask").map(|n| n as u32))
        .transpose()?
        .unwrap_or(u32::MAX);
    let labels = LabelChange {
        set: get(m, "labels")
            .map(|v| parse_labels(v, "labels"))
            .transpose()?,
        add: get(m, "label_add")
            .map(|v| parse_label_bits(v, "label_add"))
            .transpose()?
            .unwrap_or(0),
        del: get(m, "label_del")
            .map(|v| parse_label_bits(v, "label_del"))
            .transpose()?
            .unwrap_or(0),
    };
    let offset = get(m, "offset")
        .map(|v| uint(v, "offset", u64::MAX, "a number of entries to skip"))
        .transpose()?
        .unwrap_or(0);
    let max_limit = match op {
        Op::Buckets => MAX_BUCKETS_LIMIT,
        Op::Histogram => u64::MAX,
        _ => MAX_LIST_LIMIT,
    };
    let limit = get(m, "limit")
        .map(|v| {
            uint(v, "limit", max_limit, "a number of entries")
                .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
        })
        .transpose()?;
    let flag = |k: &str, default: bool| match get(m, k) {
        None => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(v) => Err(format!("{k}: expected true or false, got {}", show(v))),
    };
    let cursor = get(m, "cursor")
        .map(|v| {
            uint(
                v,
                "cursor",
                u32::MAX as u64,
                "a slot from a previous page's answer",
            )
        })
        .transpose()?;
    let states = flag("states", false)?;
    let show_labels = flag("show_labels", false)?;
    let total = flag("total", true)?;
    if states && !total {
        return Err("states: counting by state needs total (every match counted)".into());
    }
    match op {
        Op::Update if mark.is_none() && !labels.is_some() => {
            return Err("update: nothing to change (mark, labels, label_add or label_del)".into())
        }
        Op::Update if tuple.is_some() == filter.is_some() => {
            return Err("update: give either tuple (one connection) or filter (every match)".into())
        }
        Op::Get if tuple.is_none() => {
            return Err("tuple: missing (get needs the connection's tuple)".into())
        }
        Op::Delete if tuple.is_some() && filter.is_some() => {
            return Err(
                "delete: give either tuple (one connection) or filter (every match), not both"
                    .into(),
            )
        }
        Op::Delete if tuple.is_none() && filter.is_none() => {
            return Err(
                "delete: needs tuple (one connection) or filter (every match; {} for all)".into(),
            )
        }
        Op::Chain if bucket.is_none() => {
            return Err("bucket: missing (chain needs the bucket number)".into())
        }
        _ => {}
    }
    Ok(Request {
        op,
        now_ns,
        filter,
        tuple,
        format,
        show_labels,
        bucket,
        max_len,
        mark,
        mark_mask,
        labels,
        offset,
        limit: match op {
            Op::Buckets => Some(limit.unwrap_or(DEFAULT_BUCKETS_LIMIT)),
            _ => limit,
        },
        states,
        total,
        cursor,
    })
}
