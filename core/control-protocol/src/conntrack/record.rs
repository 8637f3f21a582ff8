//! What conntrack answers about its entries: a connection ([`ConnRecord`], `list` and
//! `get` in the `json` format, and events), one direction's tuple ([`TupleRecord`]) and
//! an expectation ([`ExpectRecord`], `expect-list` and expectation events). Each
//! prints itself in conntrack-tools' words.

use super::value::{FamilyName, Labels};
use brickwall_wire::ip_proto;
use serde::{Deserialize, Serialize};
use std::fmt::Write;
use std::net::IpAddr;

/// Which of a connection's tuples: the original (as its first packet had it) or the
/// reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dir {
    /// The first packet's direction.
    Original,
    /// The other direction.
    Reply,
}

/// One direction of a connection: addresses, the protocol's identifiers, and the
/// counters when conntrack keeps them (its accounting extension).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TupleRecord {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Source port (TCP, UDP, UDP-Lite, SCTP, DCCP; expectations of any protocol but GRE).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sport: Option<u16>,
    /// Destination port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dport: Option<u16>,
    /// ICMP type.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub icmp_type: Option<u8>,
    /// ICMP code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<u8>,
    /// ICMP echo identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u16>,
    /// GRE source key (PPTP call id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub srckey: Option<u16>,
    /// GRE destination key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dstkey: Option<u16>,
    /// Packets in this direction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packets: Option<u64>,
    /// Bytes in this direction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
}

impl TupleRecord {
    /// A tuple of addresses only (identifiers and counters to be filled in).
    pub fn new(src: IpAddr, dst: IpAddr) -> TupleRecord {
        TupleRecord {
            src,
            dst,
            sport: None,
            dport: None,
            icmp_type: None,
            code: None,
            id: None,
            srckey: None,
            dstkey: None,
            packets: None,
            bytes: None,
        }
    }

    /// Appends the protocol's identifiers as conntrack prints them: ` sport=… dport=…`,
    /// ` type=… code=… id=…` or ` srckey=0x… dstkey=0x…`.
    pub fn write_ids(&self, s: &mut String) {
        if let (Some(sp), Some(dp)) = (self.sport, self.dport) {
            let _ = write!(s, " sport={sp} dport={dp}");
        }
        if let (Some(t), Some(c), Some(id)) = (self.icmp_type, self.code, self.id) {
            let _ = write!(s, " type={t} code={c} id={id}");
        }
        if let (Some(sk), Some(dk)) = (self.srckey, self.dstkey) {
            let _ = write!(s, " srckey=0x{sk:x} dstkey=0x{dk:x}");
        }
    }

    /// The tuple in `conntrack -L` words: `src=… dst=…` and the identifiers.
    pub fn words(&self) -> String {
        let mut s = format!("src={} dst={}", self.src, self.dst);
        self.write_ids(&mut s);
        s
    }

    /// ` packets=… bytes=…` when counted.
    pub fn write_counters(&self, s: &mut String) {
        if let (Some(p), Some(b)) = (self.packets, self.bytes) {
            let _ = write!(s, " packets={p} bytes={b}");
        }
    }
}

/// The protocols conntrack tracks by name (others it tracks as `unknown`), as
/// conntrack-tools names them in listings and accepts them in `-p`.
pub const TRACKED: [u8; 8] = [
    ip_proto::TCP,
    ip_proto::UDP,
    ip_proto::UDPLITE,
    ip_proto::SCTP,
    ip_proto::DCCP,
    ip_proto::ICMP,
    ip_proto::ICMPV6,
    ip_proto::GRE,
];

/// Whether the tuples of protocol `p` carry ports (TCP, UDP, UDP-Lite, SCTP, DCCP;
/// DCCP's are 0 where conntrack tracks it as a generic protocol, and conntrack-tools
/// prints them so).
pub fn has_ports(p: u8) -> bool {
    matches!(
        p,
        ip_proto::TCP | ip_proto::UDP | ip_proto::UDPLITE | ip_proto::SCTP | ip_proto::DCCP
    )
}

/// The name conntrack-tools prints for protocol `p`: its own protocols ([`TRACKED`])
/// by name, `unknown` for the rest.
pub fn proto_name(p: u8) -> &'static str {
    if TRACKED.contains(&p) {
        ip_proto::name(p).unwrap_or("unknown")
    } else {
        "unknown"
    }
}

/// One connection with every field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnRecord {
    /// Its id (conntrack's `id=`).
    pub id: u32,
    /// IPv4 or IPv6.
    pub family: FamilyName,
    /// The protocol's name as conntrack prints it ([`proto_name`]).
    pub proto: String,
    /// The protocol's number.
    pub protonum: u8,
    /// TCP, SCTP (and DCCP) state name; none for protocols without states.
    #[serde(default)]
    pub state: Option<String>,
    /// Seconds before it expires.
    pub timeout: u64,
    /// Status bits set, by name (`SEEN_REPLY`, `ASSURED`, ...).
    pub status: Vec<String>,
    /// The original direction.
    pub orig: TupleRecord,
    /// The reply direction.
    pub reply: TupleRecord,
    /// `ct mark`.
    pub mark: u32,
    /// Its zone.
    pub zone: u16,
    /// Its 128 labels.
    pub labels: Labels,
    /// The helper assigned to it.
    #[serde(default)]
    pub helper: Option<String>,
    /// References held (conntrack's `use=`).
    #[serde(rename = "use")]
    pub uses: u32,
    /// When it started (engine clock, ns), with the timestamp extension on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_ns: Option<u64>,
}

impl ConnRecord {
    /// Whether status bit `name` is set.
    pub fn has_status(&self, name: &str) -> bool {
        self.status.iter().any(|s| s == name)
    }

    /// The direction's tuple.
    pub fn tuple(&self, dir: Dir) -> &TupleRecord {
        match dir {
            Dir::Original => &self.orig,
            Dir::Reply => &self.reply,
        }
    }
}

/// One expectation, as `conntrack -L expect` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpectRecord {
    /// Its id.
    pub id: u32,
    /// Seconds before it expires.
    pub timeout: u64,
    /// The protocol number of the expected connection.
    pub protonum: u8,
    /// IPv4 or IPv6.
    pub family: FamilyName,
    /// The expected tuple (fields outside the mask zero).
    pub tuple: TupleRecord,
    /// Which bits of the tuple are compared.
    pub mask: TupleRecord,
    /// The master connection's original tuple.
    pub master: TupleRecord,
    /// `PERMANENT`, `INACTIVE`, `USERSPACE`.
    #[serde(default)]
    pub flags: Vec<String>,
    /// The helper's expectation class.
    pub class: u32,
    /// The helper that made it (empty for one made by hand).
    pub helper: String,
    /// Its zone.
    pub zone: u16,
}

impl ExpectRecord {
    /// The `conntrack -L expect` line without a newline: `300 proto=6 src=… dst=…
    /// sport=… dport=… mask-src=… mask-dst=… sport=… dport=… master-src=… master-dst=…
    /// sport=… dport=… [PERMANENT] [INACTIVE] [USERSPACE] class=… helper=…`.
    pub fn line(&self) -> String {
        let mut s = format!(
            "{} proto={} src={} dst={}",
            self.timeout, self.protonum, self.tuple.src, self.tuple.dst
        );
        self.tuple.write_ids(&mut s);
        let _ = write!(s, " mask-src={} mask-dst={}", self.mask.src, self.mask.dst);
        self.mask.write_ids(&mut s);
        let _ = write!(
            s,
            " master-src={} master-dst={}",
            self.master.src, self.master.dst
        );
        self.master.write_ids(&mut s);
        for f in &self.flags {
            s.push(' ');
            s.push_str(f);
        }
        let _ = write!(s, " class={} helper={}", self.class, self.helper);
        s
    }
}
