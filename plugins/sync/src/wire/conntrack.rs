//! A conntrack as a conntrack message's attributes carry it: the original tuple, the
//! protocol's state, status, timeout, mark, master, NAT, helper and labels.
//!
//! Attributes are parsed as conntrackd 1.4.7 parses them: an unknown code, a fixed-size
//! attribute of another size, a helper name longer than 11 bytes (conntrackd counts the
//! attribute's header in its limit of 16) or labels longer than 1024 bytes refuse the
//! whole message; a later attribute of the same code replaces an earlier one. Strings
//! must end with a zero within the attribute (conntrackd reads on to the next zero).
//!
//! Byte order: the tuples' addresses and ports and the NAT addresses travel in network
//! order, the other numbers big-endian, except the NAT ports and the ICMP id:
//! libnetfilter_conntrack keeps those in network order and conntrackd converts them
//! once more before sending, so between the little-endian hosts it runs on they travel
//! byte-swapped (little-endian). This module reads and writes them so, as a conntrackd
//! on x86 or arm64 does (checked against Debian's conntrackd 1.4.7 in
//! `tests/conntrackd_wire.rs`).

use super::attr::{self, ct, Attr, Attrs, Writer};
use super::{Error, Result};
use std::net::{Ipv4Addr, Ipv6Addr};

/// conntrackd's limit on a helper name's attribute, header included.
pub const HELPER_ATTR_MAX: usize = 16;
/// conntrackd's limit on the labels' attribute, header included.
pub const LABELS_ATTR_MAX: usize = attr::HEADER_LEN + 1024;

/// An address pair: a tuple's source and destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Addrs {
    /// IPv4.
    V4 {
        /// Source.
        src: Ipv4Addr,
        /// Destination.
        dst: Ipv4Addr,
    },
    /// IPv6.
    V6 {
        /// Source.
        src: Ipv6Addr,
        /// Destination.
        dst: Ipv6Addr,
    },
}

impl Addrs {
    /// From the 8-byte payload of an IPv4 pair.
    pub fn v4(b: [u8; 8]) -> Addrs {
        Addrs::V4 {
            src: Ipv4Addr::new(b[0], b[1], b[2], b[3]),
            dst: Ipv4Addr::new(b[4], b[5], b[6], b[7]),
        }
    }

    /// From the 32-byte payload of an IPv6 pair.
    pub fn v6(b: [u8; 32]) -> Addrs {
        let mut s = [0; 16];
        let mut d = [0; 16];
        s.copy_from_slice(&b[..16]);
        d.copy_from_slice(&b[16..]);
        Addrs::V6 {
            src: Ipv6Addr::from(s),
            dst: Ipv6Addr::from(d),
        }
    }

    /// Writes the pair as attribute `v4_code` or `v6_code`.
    pub fn emit(&self, w: &mut Writer<'_>, v4_code: u16, v6_code: u16) {
        match self {
            Addrs::V4 { src, dst } => {
                let mut b = [0; 8];
                b[..4].copy_from_slice(&src.octets());
                b[4..].copy_from_slice(&dst.octets());
                w.bytes(v4_code, &b);
            }
            Addrs::V6 { src, dst } => {
                let mut b = [0; 32];
                b[..16].copy_from_slice(&src.octets());
                b[16..].copy_from_slice(&dst.octets());
                w.bytes(v6_code, &b);
            }
        }
    }
}

/// A port pair's 4-byte payload (network order) as (source, destination).
pub fn ports(b: [u8; 4]) -> (u16, u16) {
    (
        u16::from_be_bytes([b[0], b[1]]),
        u16::from_be_bytes([b[2], b[3]]),
    )
}

/// A port pair's payload.
pub fn ports_bytes((s, d): (u16, u16)) -> [u8; 4] {
    let (s, d) = (s.to_be_bytes(), d.to_be_bytes());
    [s[0], s[1], d[0], d[1]]
}

/// NAT sequence adjustment (`NTA_NAT_SEQ_ADJ`): per direction, the position of the
/// correction and the offsets before and after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SeqAdj {
    /// Original direction: correction position, offset before, offset after.
    pub orig: [u32; 3],
    /// Reply direction: correction position, offset before, offset after.
    pub reply: [u32; 3],
}

/// SYN proxy's numbers (`NTA_SYNPROXY`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Synproxy {
    /// Initial timestamp.
    pub its: u32,
    /// Initial sequence number.
    pub isn: u32,
    /// Timestamp offset.
    pub tsoff: u32,
}

/// A conntrack entry as a message describes it; absent attributes are `None`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Conntrack {
    /// The original direction's addresses.
    pub addrs: Option<Addrs>,
    /// The layer-4 protocol number.
    pub l4proto: Option<u8>,
    /// The original direction's ports (TCP, UDP, SCTP, DCCP).
    pub ports: Option<(u16, u16)>,
    /// TCP state, Linux's numbering (`TCP_CONNTRACK_*`: 3 is ESTABLISHED).
    pub tcp_state: Option<u8>,
    /// TCP window scale, original and reply directions.
    pub tcp_wscale: (Option<u8>, Option<u8>),
    /// SCTP state.
    pub sctp_state: Option<u8>,
    /// SCTP verification tags, original and reply.
    pub sctp_vtag: (Option<u32>, Option<u32>),
    /// DCCP state.
    pub dccp_state: Option<u8>,
    /// DCCP role.
    pub dccp_role: Option<u8>,
    /// ICMP type.
    pub icmp_type: Option<u8>,
    /// ICMP code.
    pub icmp_code: Option<u8>,
    /// ICMP id.
    pub icmp_id: Option<u16>,
    /// Status bits (`IPS_*`).
    pub status: Option<u32>,
    /// Seconds left.
    pub timeout: Option<u32>,
    /// Mark.
    pub mark: Option<u32>,
    /// The master's original addresses (an expected connection's).
    pub master_addrs: Option<Addrs>,
    /// The master's layer-4 protocol.
    pub master_l4proto: Option<u8>,
    /// The master's original ports.
    pub master_ports: Option<(u16, u16)>,
    /// Source NAT's address: the reply direction's destination.
    pub snat_v4: Option<Ipv4Addr>,
    /// Destination NAT's address: the reply direction's source.
    pub dnat_v4: Option<Ipv4Addr>,
    /// Source NAT's IPv6 address.
    pub snat_v6: Option<Ipv6Addr>,
    /// Destination NAT's IPv6 address.
    pub dnat_v6: Option<Ipv6Addr>,
    /// Source port translation: the reply direction's destination port.
    pub spat_port: Option<u16>,
    /// Destination port translation: the reply direction's source port.
    pub dpat_port: Option<u16>,
    /// NAT sequence adjustment.
    pub seq_adj: Option<SeqAdj>,
    /// The helper's name.
    pub helper: Option<String>,
    /// The labels as 32-bit words (word `i`'s bit `b` is label `32 * i + b`).
    pub labels: Option<Vec<u32>>,
    /// SYN proxy's numbers.
    pub synproxy: Option<Synproxy>,
}

impl Conntrack {
    /// The entry a conntrack message's attributes (its payload) describe.
    pub fn parse(payload: &[u8]) -> Result<Conntrack> {
        let mut c = Conntrack::default();
        for a in Attrs::new(payload) {
            c.apply(a?)?;
        }
        Ok(c)
    }

    fn apply(&mut self, a: Attr<'_>) -> Result<()> {
        match a.code {
            ct::IPV4 => self.addrs = Some(Addrs::v4(a.fixed()?)),
            ct::IPV6 => self.addrs = Some(Addrs::v6(a.fixed()?)),
            ct::L4PROTO => self.l4proto = Some(a.u8()?),
            ct::PORT => self.ports = Some(ports(a.fixed()?)),
            ct::TCP_STATE => self.tcp_state = Some(a.u8()?),
            ct::STATUS => self.status = Some(a.u32()?),
            ct::TIMEOUT => self.timeout = Some(a.u32()?),
            ct::MARK => self.mark = Some(a.u32()?),
            ct::MASTER_IPV4 => self.master_addrs = Some(Addrs::v4(a.fixed()?)),
            ct::MASTER_IPV6 => self.master_addrs = Some(Addrs::v6(a.fixed()?)),
            ct::MASTER_L4PROTO => self.master_l4proto = Some(a.u8()?),
            ct::MASTER_PORT => self.master_ports = Some(ports(a.fixed()?)),
            ct::SNAT_IPV4 => self.snat_v4 = Some(Ipv4Addr::from(a.fixed::<4>()?)),
            ct::DNAT_IPV4 => self.dnat_v4 = Some(Ipv4Addr::from(a.fixed::<4>()?)),
            ct::SPAT_PORT => self.spat_port = Some(u16::from_le_bytes(a.fixed()?)),
            ct::DPAT_PORT => self.dpat_port = Some(u16::from_le_bytes(a.fixed()?)),
            ct::NAT_SEQ_ADJ => {
                let b: [u8; 24] = a.fixed()?;
                let w = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
                self.seq_adj = Some(SeqAdj {
                    orig: [w(0), w(4), w(8)],
                    reply: [w(12), w(16), w(20)],
                });
            }
            ct::SCTP_STATE => self.sctp_state = Some(a.u8()?),
            ct::SCTP_VTAG_ORIG => self.sctp_vtag.0 = Some(a.u32()?),
            ct::SCTP_VTAG_REPLY => self.sctp_vtag.1 = Some(a.u32()?),
            ct::DCCP_STATE => self.dccp_state = Some(a.u8()?),
            ct::DCCP_ROLE => self.dccp_role = Some(a.u8()?),
            ct::ICMP_TYPE => self.icmp_type = Some(a.u8()?),
            ct::ICMP_CODE => self.icmp_code = Some(a.u8()?),
            ct::ICMP_ID => self.icmp_id = Some(u16::from_le_bytes(a.fixed()?)),
            ct::TCP_WSCALE_ORIG => self.tcp_wscale.0 = Some(a.u8()?),
            ct::TCP_WSCALE_REPLY => self.tcp_wscale.1 = Some(a.u8()?),
            ct::HELPER_NAME => {
                let s = a.string(HELPER_ATTR_MAX - attr::HEADER_LEN)?;
                self.helper = Some(s.to_owned());
            }
            ct::LABELS => {
                let p = a.payload;
                if p.len() > LABELS_ATTR_MAX - attr::HEADER_LEN || !p.len().is_multiple_of(4) {
                    return Err(Error::BadAttrSize(a.code));
                }
                let words = p
                    .chunks_exact(4)
                    .map(|w| u32::from_be_bytes([w[0], w[1], w[2], w[3]]))
                    .collect();
                self.labels = Some(words);
            }
            ct::SNAT_IPV6 => self.snat_v6 = Some(Ipv6Addr::from(a.fixed::<16>()?)),
            ct::DNAT_IPV6 => self.dnat_v6 = Some(Ipv6Addr::from(a.fixed::<16>()?)),
            ct::SYNPROXY => {
                let b: [u8; 12] = a.fixed()?;
                let w = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
                self.synproxy = Some(Synproxy {
                    its: w(0),
                    isn: w(4),
                    tsoff: w(8),
                });
            }
            code => return Err(Error::UnknownAttr(code)),
        }
        Ok(())
    }

    /// Appends the entry's attributes to a message, in conntrackd's order.
    pub fn emit(&self, out: &mut Vec<u8>) {
        let mut w = Writer::new(out);
        if let Some(a) = &self.addrs {
            a.emit(&mut w, ct::IPV4, ct::IPV6);
        }
        if let Some(v) = self.status {
            w.u32(ct::STATUS, v);
        }
        if let Some(v) = self.l4proto {
            w.u8(ct::L4PROTO, v);
        }
        if let Some(p) = self.ports {
            w.bytes(ct::PORT, &ports_bytes(p));
        }
        if let Some(v) = self.tcp_state {
            w.u8(ct::TCP_STATE, v);
        }
        if let Some(v) = self.tcp_wscale.0 {
            w.u8(ct::TCP_WSCALE_ORIG, v);
        }
        if let Some(v) = self.tcp_wscale.1 {
            w.u8(ct::TCP_WSCALE_REPLY, v);
        }
        if let Some(v) = self.sctp_state {
            w.u8(ct::SCTP_STATE, v);
        }
        if let Some(v) = self.sctp_vtag.0 {
            w.u32(ct::SCTP_VTAG_ORIG, v);
        }
        if let Some(v) = self.sctp_vtag.1 {
            w.u32(ct::SCTP_VTAG_REPLY, v);
        }
        if let Some(v) = self.dccp_state {
            w.u8(ct::DCCP_STATE, v);
        }
        if let Some(v) = self.dccp_role {
            w.u8(ct::DCCP_ROLE, v);
        }
        if let Some(v) = self.icmp_type {
            w.u8(ct::ICMP_TYPE, v);
        }
        if let Some(v) = self.icmp_code {
            w.u8(ct::ICMP_CODE, v);
        }
        if let Some(v) = self.icmp_id {
            w.bytes(ct::ICMP_ID, &v.to_le_bytes());
        }
        if let Some(v) = self.timeout {
            w.u32(ct::TIMEOUT, v);
        }
        if let Some(v) = self.mark {
            w.u32(ct::MARK, v);
        }
        if let Some(a) = &self.master_addrs {
            a.emit(&mut w, ct::MASTER_IPV4, ct::MASTER_IPV6);
        }
        if let Some(v) = self.master_l4proto {
            w.u8(ct::MASTER_L4PROTO, v);
        }
        if let Some(p) = self.master_ports {
            w.bytes(ct::MASTER_PORT, &ports_bytes(p));
        }
        if let Some(a) = self.snat_v4 {
            w.bytes(ct::SNAT_IPV4, &a.octets());
        }
        if let Some(a) = self.dnat_v4 {
            w.bytes(ct::DNAT_IPV4, &a.octets());
        }
        if let Some(a) = self.snat_v6 {
            w.bytes(ct::SNAT_IPV6, &a.octets());
        }
        if let Some(a) = self.dnat_v6 {
            w.bytes(ct::DNAT_IPV6, &a.octets());
        }
        if let Some(v) = self.spat_port {
            w.bytes(ct::SPAT_PORT, &v.to_le_bytes());
        }
        if let Some(v) = self.dpat_port {
            w.bytes(ct::DPAT_PORT, &v.to_le_bytes());
        }
        if let Some(s) = &self.seq_adj {
            let mut b = [0u8; 24];
            for (i, v) in s.orig.iter().chain(s.reply.iter()).enumerate() {
                b[i * 4..i * 4 + 4].copy_from_slice(&v.to_be_bytes());
            }
            w.bytes(ct::NAT_SEQ_ADJ, &b);
        }
        if let Some(h) = &self.helper {
            w.string(ct::HELPER_NAME, h);
        }
        if let Some(l) = &self.labels {
            let b: Vec<u8> = l.iter().flat_map(|v| v.to_be_bytes()).collect();
            w.bytes(ct::LABELS, &b);
        }
        if let Some(s) = &self.synproxy {
            let mut b = [0u8; 12];
            b[..4].copy_from_slice(&s.its.to_be_bytes());
            b[4..8].copy_from_slice(&s.isn.to_be_bytes());
            b[8..].copy_from_slice(&s.tsoff.to_be_bytes());
            w.bytes(ct::SYNPROXY, &b);
        }
    }
}
