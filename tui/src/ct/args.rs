//! `brickwall ct`'s options, spelled as conntrack-tools spells them. Values are checked
//! here, so a bad parameter is a usage error (exit code 2) before anything is sent.

use brickwall_control_protocol::conntrack::record::TRACKED;
use brickwall_control_protocol::conntrack::states;
use brickwall_wire::{ip_proto, Cidr, CidrError};
use clap::{ArgGroup, Args, ValueEnum};
use std::net::IpAddr;
use std::path::PathBuf;

/// The tables conntrack-tools' commands take.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Table {
    /// The connection table.
    Conntrack,
    /// The expectation table.
    Expect,
}

/// The tables `-L` takes: conntrack-tools' two, and the kernel's lists of connections
/// outside the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ListTable {
    /// The connection table.
    Conntrack,
    /// The expectation table.
    Expect,
    /// Connections removed but still referenced (Linux's dying list). brickwall frees
    /// a connection when it is removed, so this list is always empty.
    Dying,
    /// Connections whose first packet has not yet passed the last hook (Linux's
    /// unconfirmed list): in brickwall, those of a burst still being processed.
    Unconfirmed,
}

/// Output formats (`-o`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// `conntrack -o extended`: the family name and number before each line.
    Extended,
    /// One JSON object per connection and line.
    Json,
    /// `-E -o timestamp`: each event line starts with `[seconds.micros]` and a tab.
    Timestamp,
    /// `-o labels`: each connection's labels, by their names in conntrack-tools' map
    /// (`/etc/xtables/connlabel.conf`), at the end of its line (`-L`, `-G`).
    Labels,
    /// `-o id`: each connection's id (`id=N`) at the end of its line (`-L`, `-G`).
    Id,
    /// `-o save`: each connection as the options that would create it (`-A -t … -u …
    /// -s … -d … -r … -q … -p …`), alone (`-L`, `-G`).
    Save,
    /// `-o xml`: conntrack-tools' XML, a `<flow>` per line (`-L`, `-G`, `-L expect`).
    Xml,
}

/// Address families (`-f`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FamilyArg {
    /// IPv4.
    Ipv4,
    /// IPv6.
    Ipv6,
}

/// Status bit names `--status` accepts (the conntrack plugin's `IPS_*` names).
pub const STATUS_NAMES: &[&str] = &[
    "EXPECTED",
    "SEEN_REPLY",
    "ASSURED",
    "CONFIRMED",
    "SRC_NAT",
    "DST_NAT",
    "SEQ_ADJUST",
    "SRC_NAT_DONE",
    "DST_NAT_DONE",
    "DYING",
    "FIXED_TIMEOUT",
    "HELPER",
];

/// The protocol a name `-p` accepts names: one the conntrack plugin tracks by name
/// ([`TRACKED`]), spelt as [`ip_proto::NAMES`] does (aliases too), any case.
pub fn tracked_proto(name: &str) -> Option<u8> {
    ip_proto::from_name(&name.to_ascii_lowercase()).filter(|p| TRACKED.contains(p))
}

/// The names [`tracked_proto`] accepts, for messages.
pub fn tracked_names() -> Vec<&'static str> {
    ip_proto::NAMES
        .iter()
        .filter(|(_, p)| TRACKED.contains(p))
        .map(|(n, _)| *n)
        .collect()
}

/// A connection-tracking client of a running engine, speaking conntrack-tools' language.
///
/// Exactly one command: -L, -G, -D, -U, -F, -C, -S, -E, -I or --buckets (none at all
/// prints this help, as conntrack prints its usage). Exit codes as conntrack: 0 ok, 1
/// error (no such entry, nothing deleted or updated, engine unreachable), 2 bad
/// parameters.
#[derive(Args, Clone, Debug, Default, PartialEq, Eq)]
#[command(group(
    ArgGroup::new("command")
        .multiple(false)
        .args(["dump", "get", "delete", "update", "flush", "count", "stats", "event", "create",
               "buckets"])
))]
pub struct CtArgs {
    /// List the connection table (default), the expectation table, or the dying or
    /// unconfirmed connections.
    #[arg(short = 'L', long = "dump", value_name = "TABLE", num_args = 0..=1,
          default_missing_value = "conntrack", value_enum)]
    pub dump: Option<ListTable>,
    /// Get one connection by its tuple (-p, -s, -d and ports or ICMP fields).
    #[arg(short = 'G', long = "get")]
    pub get: bool,
    /// Delete connections: one by its full tuple, or every match of the filters (all
    /// without filters); `-D expect --id N` deletes an expectation.
    #[arg(short = 'D', long = "delete", value_name = "TABLE", num_args = 0..=1,
          default_missing_value = "conntrack", value_enum)]
    pub delete: Option<Table>,
    /// Update connections: one by its full tuple, or every match of the filters (all
    /// without filters): set the mark (-m MARK[/MASK]) and add or delete labels
    /// (--label-add, --label-del).
    #[arg(short = 'U', long = "update")]
    pub update: bool,
    /// Flush the connection (default) or the expectation table.
    #[arg(short = 'F', long = "flush", value_name = "TABLE", num_args = 0..=1,
          default_missing_value = "conntrack", value_enum)]
    pub flush: Option<Table>,
    /// Count the connections (default) or the expectations.
    #[arg(short = 'C', long = "count", value_name = "TABLE", num_args = 0..=1,
          default_missing_value = "conntrack", value_enum)]
    pub count: Option<Table>,
    /// Show the statistics, one line per worker, as `conntrack -S`.
    #[arg(short = 'S', long = "stats")]
    pub stats: bool,
    /// The hash table's buckets (Linux's `net.netfilter.nf_conntrack_buckets`): without
    /// a value, how many there are and how far a resize has come; with one, resize the
    /// table to that many while traffic flows (as writing the sysctl does).
    #[arg(long = "buckets", value_name = "N", num_args = 0..=1,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub buckets: Option<Option<u64>>,
    /// Print events as they happen (NEW, UPDATE, DESTROY lines) until interrupted.
    #[arg(short = 'E', long = "event", value_name = "TABLE", num_args = 0..=1,
          default_missing_value = "conntrack", value_enum)]
    pub event: Option<Table>,
    /// Create an expectation (`-I expect`): its master by -p, -s, -d, --sport, --dport;
    /// the expected tuple by --tuple-src, --tuple-dst, --tuple-port-src,
    /// --tuple-port-dst; --mask-src and --mask-port-src say which of its source to
    /// compare; -t its timeout, --helper its helper's name.
    #[arg(short = 'I', long = "create", value_name = "TABLE", num_args = 0..=1,
          default_missing_value = "conntrack", value_enum)]
    pub create: Option<Table>,

    /// Protocol: tcp, udp, udplite, sctp, dccp, icmp, icmpv6, gre or a number.
    #[arg(short = 'p', long = "proto", value_name = "PROTO", value_parser = parse_proto)]
    pub proto: Option<u8>,
    /// Family of the addresses.
    #[arg(short = 'f', long = "family", value_enum)]
    pub family: Option<FamilyArg>,
    /// Source address of the original direction (a network with /LEN in filters).
    #[arg(short = 's', long = "src", visible_alias = "orig-src", value_name = "ADDR",
          value_parser = parse_net)]
    pub src: Option<String>,
    /// Destination address of the original direction (a network with /LEN in filters).
    #[arg(short = 'd', long = "dst", visible_alias = "orig-dst", value_name = "ADDR",
          value_parser = parse_net)]
    pub dst: Option<String>,
    /// Source port of the original direction.
    #[arg(long = "sport", visible_alias = "orig-port-src", value_name = "PORT")]
    pub sport: Option<u16>,
    /// Destination port of the original direction.
    #[arg(long = "dport", visible_alias = "orig-port-dst", value_name = "PORT")]
    pub dport: Option<u16>,
    /// Source address of the reply direction.
    #[arg(short = 'r', long = "reply-src", value_name = "ADDR", value_parser = parse_addr)]
    pub reply_src: Option<String>,
    /// Destination address of the reply direction.
    #[arg(short = 'q', long = "reply-dst", value_name = "ADDR", value_parser = parse_addr)]
    pub reply_dst: Option<String>,
    /// Source port of the reply direction (with -p).
    #[arg(long = "reply-port-src", value_name = "PORT")]
    pub reply_port_src: Option<u16>,
    /// Destination port of the reply direction (with -p).
    #[arg(long = "reply-port-dst", value_name = "PORT")]
    pub reply_port_dst: Option<u16>,
    /// Zero the counters of the connections listed (-L, without filters), once listed.
    #[arg(short = 'z', long = "zero")]
    pub zero: bool,
    /// ICMP type (-G, -D).
    #[arg(long = "icmp-type", value_name = "TYPE")]
    pub icmp_type: Option<u8>,
    /// ICMP code (-G, -D).
    #[arg(long = "icmp-code", value_name = "CODE")]
    pub icmp_code: Option<u8>,
    /// ICMP identifier (-G, -D).
    #[arg(long = "icmp-id", value_name = "ID")]
    pub icmp_id: Option<u16>,
    /// TCP, SCTP or DCCP state (a comma-separated list matches any of them).
    #[arg(long = "state", value_name = "STATE", value_parser = parse_states)]
    pub state: Option<String>,
    /// Connection mark: MARK or MARK/MASK, decimal or 0x hex.
    #[arg(short = 'm', long = "mark", value_name = "MARK[/MASK]", value_parser = parse_mark)]
    pub mark: Option<String>,
    /// Conntrack zone.
    #[arg(short = 'w', long = "zone", value_name = "ZONE")]
    pub zone: Option<u16>,
    /// Status bits that must all be set (comma-separated: ASSURED,SEEN_REPLY,...).
    #[arg(short = 'u', long = "status", value_name = "STATUS", value_parser = parse_status)]
    pub status: Option<String>,
    /// Source-translated connections only (SRC_NAT); with ADDR, translated to that
    /// address (and with :PORT, that port; `:PORT` alone, the port only; IPv6 in
    /// brackets before a port).
    #[arg(short = 'n', long = "src-nat", value_name = "ADDR[:PORT]", num_args = 0..=1,
          default_missing_value = "", value_parser = parse_nat)]
    pub src_nat: Option<NatArg>,
    /// Destination-translated connections only (DST_NAT); with ADDR or ADDR:PORT,
    /// translated to that address and port, as --src-nat.
    #[arg(short = 'g', long = "dst-nat", value_name = "ADDR[:PORT]", num_args = 0..=1,
          default_missing_value = "", value_parser = parse_nat)]
    pub dst_nat: Option<NatArg>,
    /// Connections translated either way; with ADDR or ADDR:PORT, translated to that
    /// address and port on either side, as --src-nat.
    #[arg(short = 'j', long = "any-nat", value_name = "ADDR[:PORT]", num_args = 0..=1,
          default_missing_value = "", value_parser = parse_nat)]
    pub any_nat: Option<NatArg>,
    /// Labels to set (-U): a comma-separated list of bit numbers (0-127) or names from
    /// /etc/xtables/connlabel.conf.
    #[arg(long = "label-add", value_name = "LABELS")]
    pub label_add: Option<String>,
    /// Labels to clear (-U), as --label-add; without a value, every label.
    #[arg(long = "label-del", value_name = "LABELS", num_args = 0..=1, default_missing_value = "")]
    pub label_del: Option<String>,
    /// Source address of the expected tuple (-I expect).
    #[arg(long = "tuple-src", value_name = "ADDR")]
    pub tuple_src: Option<String>,
    /// Destination address of the expected tuple (-I expect).
    #[arg(long = "tuple-dst", value_name = "ADDR")]
    pub tuple_dst: Option<String>,
    /// Source port of the expected tuple (-I expect).
    #[arg(long = "tuple-port-src", value_name = "PORT")]
    pub tuple_port_src: Option<u16>,
    /// Destination port of the expected tuple (-I expect).
    #[arg(long = "tuple-port-dst", value_name = "PORT")]
    pub tuple_port_dst: Option<u16>,
    /// Mask of the expected source address (-I expect; 0.0.0.0 or :: for any).
    #[arg(long = "mask-src", value_name = "ADDR")]
    pub mask_src: Option<String>,
    /// Mask of the expected source port (-I expect; 0 for any).
    #[arg(long = "mask-port-src", value_name = "MASK")]
    pub mask_port_src: Option<u16>,
    /// Timeout in seconds (-I expect; -U: the connections' new timeout).
    #[arg(short = 't', long = "timeout", value_name = "SECS")]
    pub timeout: Option<u32>,
    /// Helper name of the expectation (-I expect).
    #[arg(long = "helper", value_name = "NAME")]
    pub helper: Option<String>,
    /// Expectation id (-D expect).
    #[arg(long = "id", value_name = "ID")]
    pub id: Option<u32>,
    /// Output formats, comma-separated as conntrack's (`timestamp` with -E only).
    #[arg(short = 'o', long = "output", value_enum, value_delimiter = ',')]
    pub output: Vec<OutputFormat>,
    /// Events to show with -E: a comma-separated list of NEW, UPDATE, DESTROY or ALL
    /// (expectations have NEW and DESTROY).
    #[arg(short = 'e', long = "event-mask", value_name = "EVENTS", value_parser = parse_event_mask)]
    pub event_mask: Option<String>,
    /// The engine's control socket.
    #[arg(long = "socket", value_name = "PATH",
          default_value = crate::protocol::DEFAULT_SOCKET)]
    pub socket: PathBuf,
}

/// `brickwall ct` as a stand-alone parser (tests and embedding).
#[derive(clap::Parser, Debug)]
#[command(
    name = "brickwall ct",
    about = "Connection tracking of a running brickwall engine, as conntrack-tools' conntrack"
)]
pub struct CtCli {
    /// The options.
    #[command(flatten)]
    pub args: CtArgs,
}

/// A protocol name or number.
pub fn parse_proto(s: &str) -> Result<u8, String> {
    if let Ok(n) = s.parse::<u8>() {
        return Ok(n);
    }
    tracked_proto(s).ok_or_else(|| {
        format!(
            "unknown protocol `{s}` (a number 0-255 or {})",
            tracked_names().join(", ")
        )
    })
}

/// An address, or a network `ADDR/LEN`.
pub fn parse_net(s: &str) -> Result<String, String> {
    let (addr, len) = s.split_once('/').unwrap_or((s, ""));
    match s.parse::<Cidr>() {
        Ok(_) => Ok(s.to_string()),
        Err(CidrError::Address) => Err(format!("not an IPv4 or IPv6 address: `{addr}`")),
        Err(CidrError::Prefix { max }) => Err(format!("bad prefix length `{len}` (0-{max})")),
    }
}

/// An address (conntrack takes no network for the reply tuple's addresses).
pub fn parse_addr(s: &str) -> Result<String, String> {
    if s.contains('/') {
        return Err(format!("CIDR notation unavailable: `{s}` (an address)"));
    }
    s.parse::<IpAddr>()
        .map(|_| s.to_string())
        .map_err(|_| format!("not an IPv4 or IPv6 address: `{s}`"))
}

/// A mark: `MARK` or `MARK/MASK`, each decimal or `0x` hex, 32 bits.
pub fn parse_mark(s: &str) -> Result<String, String> {
    mark_parts(s)
        .map(|_| s.to_string())
        .ok_or_else(|| format!("not a mark: `{s}` (MARK or MARK/MASK, decimal or 0x hex, 32 bits)"))
}

/// A mark's value and mask (all ones without `/MASK`).
pub fn mark_parts(s: &str) -> Option<(u32, u32)> {
    fn num(s: &str) -> Option<u32> {
        match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
            Some(h) => u32::from_str_radix(h, 16).ok(),
            None => s.parse().ok(),
        }
    }
    match s.split_once('/') {
        Some((m, mask)) => Some((num(m)?, num(mask)?)),
        None => Some((num(s)?, u32::MAX)),
    }
}

/// Checks a comma-separated list of names against `known`; returns it upper-cased.
fn name_list(s: &str, known: &[&str], what: &str) -> Result<String, String> {
    let names: Vec<String> = s
        .split(',')
        .map(|n| n.trim().to_ascii_uppercase())
        .collect();
    for n in &names {
        if !known.contains(&n.as_str()) {
            return Err(format!("unknown {what} `{n}` ({})", known.join(", ")));
        }
    }
    Ok(names.join(","))
}

/// TCP, SCTP or DCCP state names (conntrack-tools' names, and `LISTEN`).
pub fn parse_states(s: &str) -> Result<String, String> {
    let names: Vec<String> = s
        .split(',')
        .map(|n| n.trim().to_ascii_uppercase())
        .collect();
    match names.iter().find(|n| !states::known(n)) {
        Some(n) => Err(format!("unknown state `{n}` (TCP's, SCTP's or DCCP's)")),
        None => Ok(names.join(",")),
    }
}

/// Status bit names.
pub fn parse_status(s: &str) -> Result<String, String> {
    name_list(s, STATUS_NAMES, "status")
}

/// The value of `--src-nat`, `--dst-nat` or `--any-nat`: the translated address and
/// port, each optional.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NatArg {
    /// The address.
    pub addr: Option<IpAddr>,
    /// The port.
    pub port: Option<u16>,
}

/// `ADDR`, `ADDR:PORT` (IPv4), `[ADDR]:PORT` (IPv6), `:PORT`, or nothing.
pub fn parse_nat(s: &str) -> Result<NatArg, String> {
    let bad = || format!("not ADDR, ADDR:PORT, [IPV6]:PORT or :PORT: `{s}`");
    let port = |p: &str| p.parse::<u16>().map_err(|_| bad());
    let addr = |a: &str| a.parse::<IpAddr>().map_err(|_| bad());
    if s.is_empty() {
        return Ok(NatArg::default());
    }
    if let Some(p) = s.strip_prefix(':').filter(|p| !p.contains(':')) {
        return Ok(NatArg {
            addr: None,
            port: Some(port(p)?),
        });
    }
    if let Some(rest) = s.strip_prefix('[') {
        let (a, tail) = rest.split_once(']').ok_or_else(bad)?;
        let p = match tail {
            "" => None,
            t => Some(port(t.strip_prefix(':').ok_or_else(bad)?)?),
        };
        return Ok(NatArg {
            addr: Some(addr(a)?),
            port: p,
        });
    }
    if let Ok(a) = s.parse::<IpAddr>() {
        return Ok(NatArg {
            addr: Some(a),
            port: None,
        });
    }
    let (a, p) = s.rsplit_once(':').ok_or_else(bad)?;
    if a.contains(':') {
        return Err(bad());
    }
    Ok(NatArg {
        addr: Some(addr(a)?),
        port: Some(port(p)?),
    })
}

/// Event type names, as conntrack reads them: each a case-insensitive prefix of `ALL`,
/// `NEW`, `UPDATES` or `DESTROY` (the first it begins), so `UPDATES` (the man page's
/// spelling), `UPDATE`, `upd` and `N` are all accepted; returned as `NEW`, `UPDATE`,
/// `DESTROY` or `ALL`, comma-separated.
pub fn parse_event_mask(s: &str) -> Result<String, String> {
    const NAMES: [(&str, &str); 4] = [
        ("ALL", "ALL"),
        ("NEW", "NEW"),
        ("UPDATES", "UPDATE"),
        ("DESTROY", "DESTROY"),
    ];
    let mut out = Vec::new();
    for n in s.split(',') {
        let up = n.trim().to_ascii_uppercase();
        let name = NAMES
            .iter()
            .find(|(full, _)| !up.is_empty() && full.starts_with(&up))
            .map(|(_, name)| *name)
            .ok_or_else(|| format!("unknown event type `{n}` (ALL, NEW, UPDATES, DESTROY)"))?;
        out.push(name);
    }
    Ok(out.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocols_and_networks() {
        assert_eq!(parse_proto("TCP"), Ok(6));
        assert_eq!(parse_proto("ipv6-icmp"), Ok(58));
        assert_eq!(parse_proto("50"), Ok(50));
        let e = parse_proto("esp").unwrap_err();
        assert!(
            e.starts_with("unknown protocol `esp` (a number 0-255 or icmp, tcp, udp"),
            "{e}"
        );
        assert_eq!(parse_net("10.0.0.0/8").as_deref(), Ok("10.0.0.0/8"));
        assert_eq!(
            parse_net("10.0.0/8"),
            Err("not an IPv4 or IPv6 address: `10.0.0`".into())
        );
        assert_eq!(
            parse_net("::/129"),
            Err("bad prefix length `129` (0-128)".into())
        );
    }

    #[test]
    fn nat_addresses_and_ports() {
        let a = |addr: Option<&str>, port: Option<u16>| NatArg {
            addr: addr.map(|x| x.parse().unwrap()),
            port,
        };
        assert_eq!(parse_nat(""), Ok(a(None, None)));
        assert_eq!(parse_nat("192.0.2.1"), Ok(a(Some("192.0.2.1"), None)));
        assert_eq!(
            parse_nat("192.0.2.1:80"),
            Ok(a(Some("192.0.2.1"), Some(80)))
        );
        assert_eq!(parse_nat(":8080"), Ok(a(None, Some(8080))));
        assert_eq!(parse_nat("2001:db8::1"), Ok(a(Some("2001:db8::1"), None)));
        assert_eq!(
            parse_nat("[2001:db8::1]:443"),
            Ok(a(Some("2001:db8::1"), Some(443)))
        );
        assert_eq!(parse_nat("[2001:db8::1]"), Ok(a(Some("2001:db8::1"), None)));
        for bad in [
            "10.0.0.300",
            "1.2.3.4:70000",
            ":",
            "[::1]443",
            "x:1",
            "::1:x",
        ] {
            assert!(parse_nat(bad).is_err(), "{bad}");
        }
    }
}
