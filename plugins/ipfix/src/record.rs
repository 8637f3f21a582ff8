//! A flow record: what one data record says about a connection, made from conntrack's
//! snapshot ([`FlowRecord::from_conn`]) and written as a data record of its template
//! ([`FlowRecord::write`]).

use crate::element::{end_reason, Element};
use crate::template::Template;
use brickwall_hooks::services::conntrack::{status, CtConn, CtCounters, FAMILY_V6};
use brickwall_wire::ip_proto;

/// The translated addresses and ports (RFC 8158's post-NAT fields): what the original
/// direction's packets carry after NAT.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Translation {
    /// Source address after translation.
    pub src: [u8; 16],
    /// Destination address after translation.
    pub dst: [u8; 16],
    /// Source port after translation (0 for protocols without ports).
    pub src_port: u16,
    /// Destination port after translation.
    pub dst_port: u16,
}

/// One flow record.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FlowRecord {
    /// Conntrack's connection id (`flowId`).
    pub id: u64,
    /// IPv6 (else IPv4: the addresses' first four bytes).
    pub v6: bool,
    /// The original direction's source address.
    pub src: [u8; 16],
    /// The original direction's destination address.
    pub dst: [u8; 16],
    /// Source port (0 for protocols without ports).
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// IP protocol number.
    pub proto: u8,
    /// ICMP or ICMPv6 type × 256 + code (0 for other protocols).
    pub icmp_type_code: u16,
    /// `flowEndReason` ([`end_reason`]).
    pub end_reason: u8,
    /// Start, ms since the Unix epoch.
    pub start_ms: u64,
    /// End, ms since the Unix epoch.
    pub end_ms: u64,
    /// The original direction's bytes and packets in this record.
    pub orig: CtCounters,
    /// The reply direction's bytes and packets in this record.
    pub reply: CtCounters,
    /// The translation, when NAT changed the connection.
    pub nat: Option<Translation>,
    /// `ct mark`.
    pub mark: u32,
}

/// Whether protocol `proto` has ports in conntrack's tuple.
fn has_ports(proto: u8) -> bool {
    matches!(
        proto,
        ip_proto::TCP | ip_proto::UDP | ip_proto::SCTP | ip_proto::UDPLITE | ip_proto::DCCP
    )
}

/// The end reason of a connection conntrack destroyed: its end seen when its
/// protocol state says it closed, else it timed out idle.
pub fn destroy_reason(c: &CtConn) -> u8 {
    match c.state_name() {
        Some("CLOSE" | "TIME_WAIT" | "LAST_ACK" | "CLOSED" | "SHUTDOWN_ACK_SENT") => {
            end_reason::END_DETECTED
        }
        _ => end_reason::IDLE_TIMEOUT,
    }
}

impl FlowRecord {
    /// The record of connection `c` from `start_ns` to `end_ns`, counting what it
    /// carried beyond `base` (the counters an earlier record of it already reported;
    /// zero for its first record). Without conntrack's counters, the counts are 0.
    pub fn from_conn(
        c: &CtConn,
        start_ns: u64,
        end_ns: u64,
        base: [CtCounters; 2],
        end_reason: u8,
    ) -> FlowRecord {
        let o = &c.orig;
        let ports = has_ports(o.proto);
        let icmp = matches!(o.proto, ip_proto::ICMP | ip_proto::ICMPV6);
        let k = c.counters().unwrap_or_default();
        let delta = |d: usize| CtCounters {
            packets: k[d].packets.saturating_sub(base[d].packets),
            bytes: k[d].bytes.saturating_sub(base[d].bytes),
        };
        let r = &c.reply;
        let nat = (c.status & (status::SRC_NAT | status::DST_NAT) != 0).then_some(Translation {
            src: r.dst,
            dst: r.src,
            src_port: if ports { r.dst_id } else { 0 },
            dst_port: if ports { r.src_id } else { 0 },
        });
        FlowRecord {
            id: c.id,
            v6: o.family == FAMILY_V6,
            src: o.src,
            dst: o.dst,
            src_port: if ports { o.src_id } else { 0 },
            dst_port: if ports { o.dst_id } else { 0 },
            proto: o.proto,
            icmp_type_code: if icmp { o.dst_id } else { 0 },
            end_reason,
            start_ms: start_ns / 1_000_000,
            end_ms: end_ns / 1_000_000,
            orig: delta(0),
            reply: delta(1),
            nat,
            mark: c.mark,
        }
    }

    /// Appends the record as a data record of `template` (which must be the one
    /// [`Templates::pick`](crate::template::Templates::pick) chose for it).
    pub fn write(&self, template: &Template, out: &mut Vec<u8>) {
        let nat = self.nat.unwrap_or_default();
        for e in &template.elements {
            use Element::*;
            match *e {
                FlowId => out.extend_from_slice(&self.id.to_be_bytes()),
                SourceIpv4 => out.extend_from_slice(&self.src[..4]),
                DestinationIpv4 => out.extend_from_slice(&self.dst[..4]),
                SourceIpv6 => out.extend_from_slice(&self.src),
                DestinationIpv6 => out.extend_from_slice(&self.dst),
                SourcePort => out.extend_from_slice(&self.src_port.to_be_bytes()),
                DestinationPort => out.extend_from_slice(&self.dst_port.to_be_bytes()),
                Protocol => out.push(self.proto),
                IcmpTypeCodeIpv4 | IcmpTypeCodeIpv6 => {
                    out.extend_from_slice(&self.icmp_type_code.to_be_bytes())
                }
                FlowEndReason => out.push(self.end_reason),
                FlowStart => out.extend_from_slice(&self.start_ms.to_be_bytes()),
                FlowEnd => out.extend_from_slice(&self.end_ms.to_be_bytes()),
                Octets => out.extend_from_slice(&self.orig.bytes.to_be_bytes()),
                Packets => out.extend_from_slice(&self.orig.packets.to_be_bytes()),
                ReverseOctets => out.extend_from_slice(&self.reply.bytes.to_be_bytes()),
                ReversePackets => out.extend_from_slice(&self.reply.packets.to_be_bytes()),
                PostNatSourceIpv4 => out.extend_from_slice(&nat.src[..4]),
                PostNatDestinationIpv4 => out.extend_from_slice(&nat.dst[..4]),
                PostNatSourceIpv6 => out.extend_from_slice(&nat.src),
                PostNatDestinationIpv6 => out.extend_from_slice(&nat.dst),
                PostNaptSourcePort => out.extend_from_slice(&nat.src_port.to_be_bytes()),
                PostNaptDestinationPort => out.extend_from_slice(&nat.dst_port.to_be_bytes()),
                Mark { .. } => out.extend_from_slice(&self.mark.to_be_bytes()),
            }
        }
    }
}
