//! Transport headers: TCP, UDP, ICMP and ICMPv6 here, GRE and SCTP in their own
//! modules, anything else by protocol number.

use crate::bytes::{be16, be32};
use crate::ip_proto::{GRE, ICMP, ICMPV6, SCTP, TCP, UDP, UDPLITE};
use crate::{gre, sctp, Family, TcpHeader, L4};

/// Length of the fixed part of ICMP and ICMPv6 headers.
const ICMP_LEN: usize = 8;
/// Length of a UDP header.
const UDP_LEN: usize = 8;

/// A parsed transport header.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct L4Parse {
    /// The summary.
    pub l4: L4,
    /// Header length (the payload follows); the whole segment when malformed.
    pub hdr_len: usize,
    /// The header is incomplete or inconsistent.
    pub malformed: bool,
}

impl L4Parse {
    /// A complete header.
    pub(crate) fn ok(l4: L4, hdr_len: usize) -> L4Parse {
        L4Parse {
            l4,
            hdr_len,
            malformed: false,
        }
    }

    /// A header that is cut short or inconsistent, with what could be read of it.
    pub(crate) fn malformed(l4: L4, seg: &[u8]) -> L4Parse {
        L4Parse {
            l4,
            hdr_len: seg.len(),
            malformed: true,
        }
    }
}

/// Parses the transport header of protocol `proto` at the start of `seg` (which ends
/// where the IP datagram ends).
pub(crate) fn parse(family: Family, proto: u8, seg: &[u8]) -> L4Parse {
    match (family, proto) {
        (_, TCP) => tcp(seg),
        (_, UDP | UDPLITE) => udp(seg),
        (Family::Ipv4, ICMP) | (Family::Ipv6, ICMPV6) => icmp(family, seg),
        (_, GRE) => gre::parse(seg),
        (_, SCTP) => sctp::parse(seg),
        (_, other) => L4Parse::ok(L4::Other(other), 0),
    }
}

/// TCP: a header whose data offset is at least 5 words and within the segment; with
/// an incomplete header, ports and sequence number from its first 8 bytes.
fn tcp(seg: &[u8]) -> L4Parse {
    let Some(h) = TcpHeader::new_whole(seg) else {
        let partial = match (be16(seg, 0), be16(seg, 2), be32(seg, 4)) {
            (Some(sport), Some(dport), Some(seq)) => L4::Tcp {
                sport,
                dport,
                seq,
                ack: 0,
                flags: 0,
                window: 0,
            },
            _ => L4::None,
        };
        return L4Parse::malformed(partial, seg);
    };
    let l4 = L4::Tcp {
        sport: h.src_port(),
        dport: h.dst_port(),
        seq: h.seq(),
        ack: h.ack(),
        flags: h.flags(),
        window: h.window(),
    };
    L4Parse::ok(l4, h.header_len())
}

/// UDP (and UDP-Lite); the length field is not checked (conntrack does).
fn udp(seg: &[u8]) -> L4Parse {
    match (be16(seg, 0), be16(seg, 2)) {
        (Some(sport), Some(dport)) if seg.len() >= UDP_LEN => {
            L4Parse::ok(L4::Udp { sport, dport }, UDP_LEN)
        }
        _ => L4Parse::malformed(L4::None, seg),
    }
}

/// ICMP or ICMPv6: only the 8-byte header is needed, as for the kernel's trackers
/// (whatever the type: a timestamp message need not have its exact length).
fn icmp(family: Family, seg: &[u8]) -> L4Parse {
    match (seg.first(), seg.get(1)) {
        (Some(&icmp_type), Some(&code)) if seg.len() >= ICMP_LEN => {
            let l4 = match family {
                Family::Ipv4 => L4::Icmp { icmp_type, code },
                Family::Ipv6 => L4::Icmpv6 { icmp_type, code },
            };
            L4Parse::ok(l4, ICMP_LEN)
        }
        _ => L4Parse::malformed(L4::None, seg),
    }
}
