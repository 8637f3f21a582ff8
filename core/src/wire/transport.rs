//! Transport headers: TCP, UDP, ICMP and ICMPv6 through etherparse, GRE and SCTP by
//! hand, anything else by protocol number.

use super::bytes::{be16, be32};
use super::{gre, sctp, L4};
use brickwall_hooks::Family;
use etherparse::{Icmpv4Slice, Icmpv6Slice, TcpHeaderSlice, UdpHeaderSlice};

/// ICMP.
const ICMP: u8 = 1;
/// TCP.
const TCP: u8 = 6;
/// UDP.
const UDP: u8 = 17;
/// GRE.
const GRE: u8 = 47;
/// ICMPv6.
const ICMPV6: u8 = 58;
/// SCTP.
const SCTP: u8 = 132;
/// UDP-Lite (same port layout as UDP).
const UDPLITE: u8 = 136;

/// Length of the fixed part of ICMP and ICMPv6 headers.
const ICMP_LEN: usize = 8;

/// A parsed transport header.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct L4Parse {
    /// The summary.
    pub l4: L4,
    /// Header length (the payload follows); the whole segment when malformed.
    pub hdr_len: usize,
    /// The header is incomplete or inconsistent.
    pub malformed: bool,
}

impl L4Parse {
    /// A complete header.
    pub(super) fn ok(l4: L4, hdr_len: usize) -> L4Parse {
        L4Parse {
            l4,
            hdr_len,
            malformed: false,
        }
    }

    /// A header that is cut short or inconsistent, with what could be read of it.
    pub(super) fn malformed(l4: L4, seg: &[u8]) -> L4Parse {
        L4Parse {
            l4,
            hdr_len: seg.len(),
            malformed: true,
        }
    }
}

/// Parses the transport header of protocol `proto` at the start of `seg` (which ends
/// where the IP datagram ends).
pub(super) fn parse(family: Family, proto: u8, seg: &[u8]) -> L4Parse {
    match (family, proto) {
        (_, TCP) => tcp(seg),
        (_, UDP | UDPLITE) => udp(seg),
        (Family::Ipv4, ICMP) => icmp(seg),
        (Family::Ipv6, ICMPV6) => icmpv6(seg),
        (_, GRE) => gre::parse(seg),
        (_, SCTP) => sctp::parse(seg),
        (_, other) => L4Parse::ok(L4::Other(other), 0),
    }
}

/// TCP; with an incomplete header, ports and sequence number from its first 8 bytes.
fn tcp(seg: &[u8]) -> L4Parse {
    let Ok(h) = TcpHeaderSlice::from_slice(seg) else {
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
    let bits = [
        h.fin(),
        h.syn(),
        h.rst(),
        h.psh(),
        h.ack(),
        h.urg(),
        h.ece(),
        h.cwr(),
    ];
    let flags = bits
        .iter()
        .enumerate()
        .fold(0u8, |acc, (i, &set)| acc | (u8::from(set) << i));
    let l4 = L4::Tcp {
        sport: h.source_port(),
        dport: h.destination_port(),
        seq: h.sequence_number(),
        ack: h.acknowledgment_number(),
        flags,
        window: h.window_size(),
    };
    L4Parse::ok(l4, h.slice().len())
}

/// UDP (and UDP-Lite); the length field is not checked (conntrack does).
fn udp(seg: &[u8]) -> L4Parse {
    match UdpHeaderSlice::from_slice(seg) {
        Ok(h) => L4Parse::ok(
            L4::Udp {
                sport: h.source_port(),
                dport: h.destination_port(),
            },
            h.slice().len(),
        ),
        Err(_) => L4Parse::malformed(L4::None, seg),
    }
}

/// ICMP: only the 8-byte header is needed, as for the kernel's ICMP tracker.
fn icmp(seg: &[u8]) -> L4Parse {
    let (icmp_type, code) = match Icmpv4Slice::from_slice(seg) {
        Ok(s) => (s.type_u8(), s.code_u8()),
        // etherparse also insists on the exact length of timestamp messages; the
        // kernel does not, so a long enough header is taken as it is.
        Err(_) => match (seg.first(), seg.get(1)) {
            (Some(&t), Some(&c)) if seg.len() >= ICMP_LEN => (t, c),
            _ => return L4Parse::malformed(L4::None, seg),
        },
    };
    L4Parse::ok(L4::Icmp { icmp_type, code }, ICMP_LEN)
}

/// ICMPv6: the 8-byte header.
fn icmpv6(seg: &[u8]) -> L4Parse {
    match Icmpv6Slice::from_slice(seg) {
        Ok(s) => L4Parse::ok(
            L4::Icmpv6 {
                icmp_type: s.type_u8(),
                code: s.code_u8(),
            },
            ICMP_LEN,
        ),
        Err(_) => L4Parse::malformed(L4::None, seg),
    }
}
