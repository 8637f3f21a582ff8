//! Connection tuples: the addresses, protocol and protocol-specific ids (ports, ICMP id
//! and type, GRE keys) that identify one direction of a connection, and their inversion.

use std::fmt::Write;
use std::net::{Ipv4Addr, Ipv6Addr};

/// IP protocol numbers (the wire crate's).
pub use brickwall_wire::ip_proto as proto;

/// Family values, as `NFPROTO_*`.
pub const FAMILY_V4: u8 = 2;
/// IPv6.
pub const FAMILY_V6: u8 = 10;

/// One direction of a connection.
///
/// `src_id`/`dst_id` hold the ports for TCP, UDP, UDP-Lite, SCTP and DCCP (0 for DCCP
/// tracked as a generic protocol); for ICMP the echo id in
/// `src_id` and `type << 8 | code` in `dst_id`; for GRE the keys (PPTP call ids).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[repr(C, align(8))]
pub struct Tuple {
    /// Source address (IPv4 in the first four bytes, the rest zero).
    pub src: [u8; 16],
    /// Destination address.
    pub dst: [u8; 16],
    /// Source port, ICMP id, or GRE source key.
    pub src_id: u16,
    /// Destination port, ICMP type and code, or GRE destination key.
    pub dst_id: u16,
    /// IP protocol number.
    pub proto: u8,
    /// `NFPROTO_IPV4` or `NFPROTO_IPV6`.
    pub family: u8,
    /// Conntrack zone.
    pub zone: u16,
}

/// ICMP (v4) request types and their replies: echo, timestamp, information, address mask.
const ICMP_PAIRS: [(u8, u8); 4] = [(8, 0), (13, 14), (15, 16), (17, 18)];
/// ICMPv6 request types and their replies: echo, node information.
const ICMPV6_PAIRS: [(u8, u8); 2] = [(128, 129), (139, 140)];

/// The reply type of an ICMP/ICMPv6 query type, or `None` if `t` starts no connection.
pub fn icmp_reply_type(family: u8, t: u8) -> Option<u8> {
    let pairs: &[(u8, u8)] = if family == FAMILY_V6 {
        &ICMPV6_PAIRS
    } else {
        &ICMP_PAIRS
    };
    pairs.iter().find(|(req, _)| *req == t).map(|(_, rep)| *rep)
}

/// The request type an ICMP/ICMPv6 reply answers, if `t` is a reply.
pub fn icmp_request_type(family: u8, t: u8) -> Option<u8> {
    let pairs: &[(u8, u8)] = if family == FAMILY_V6 {
        &ICMPV6_PAIRS
    } else {
        &ICMP_PAIRS
    };
    pairs.iter().find(|(_, rep)| *rep == t).map(|(req, _)| *req)
}

/// Whether an ICMP/ICMPv6 type is an error message (carries the packet it is about).
pub fn icmp_is_error(family: u8, t: u8) -> bool {
    if family == FAMILY_V6 {
        t < 128
    } else {
        matches!(t, 3 | 4 | 5 | 11 | 12)
    }
}

impl Tuple {
    /// Whether this is an ICMP or ICMPv6 tuple.
    pub fn is_icmp(&self) -> bool {
        (self.proto == proto::ICMP && self.family == FAMILY_V4)
            || (self.proto == proto::ICMPV6 && self.family == FAMILY_V6)
    }

    /// The tuple of the other direction: addresses and ids swapped; for ICMP queries the
    /// id kept and the type turned into its reply (or request). `None` for an ICMP type
    /// with no counterpart.
    pub fn invert(&self) -> Option<Tuple> {
        let mut t = Tuple {
            src: self.dst,
            dst: self.src,
            src_id: self.dst_id,
            dst_id: self.src_id,
            ..*self
        };
        if self.is_icmp() {
            let ty = (self.dst_id >> 8) as u8;
            let code = self.dst_id & 0xff;
            let other =
                icmp_reply_type(self.family, ty).or_else(|| icmp_request_type(self.family, ty))?;
            t.src_id = self.src_id;
            t.dst_id = (other as u16) << 8 | code;
        }
        Some(t)
    }

    /// Whether `t` is this tuple's inversion (`self.invert() == Some(t)`), compared in
    /// place: no inverted copy is built, except for ICMP, whose types change.
    #[inline]
    pub fn is_inverse_of(&self, t: &Tuple) -> bool {
        if self.is_icmp() {
            return self.invert().as_ref() == Some(t);
        }
        self.src == t.dst
            && self.dst == t.src
            && self.src_id == t.dst_id
            && self.dst_id == t.src_id
            && self.proto == t.proto
            && self.family == t.family
            && self.zone == t.zone
    }

    /// The address length of the family (4 or 16).
    pub fn addr_len(&self) -> usize {
        if self.family == FAMILY_V6 {
            16
        } else {
            4
        }
    }

    /// Formats an address of this tuple's family.
    pub fn fmt_addr(&self, a: &[u8; 16]) -> String {
        if self.family == FAMILY_V6 {
            Ipv6Addr::from(*a).to_string()
        } else {
            Ipv4Addr::new(a[0], a[1], a[2], a[3]).to_string()
        }
    }

    /// The tuple in `conntrack -L` words: `src=… dst=… sport=… dport=…`, or the ICMP
    /// `type=… code=… id=…`, or GRE's `srckey=… dstkey=…`.
    pub fn conntrack_words(&self) -> String {
        let mut s = format!(
            "src={} dst={}",
            self.fmt_addr(&self.src),
            self.fmt_addr(&self.dst)
        );
        match self.proto {
            proto::TCP | proto::UDP | proto::SCTP | proto::UDPLITE | proto::DCCP => {
                let _ = write!(s, " sport={} dport={}", self.src_id, self.dst_id);
            }
            proto::ICMP | proto::ICMPV6 if self.is_icmp() => {
                let _ = write!(
                    s,
                    " type={} code={} id={}",
                    self.dst_id >> 8,
                    self.dst_id & 0xff,
                    self.src_id
                );
            }
            proto::GRE => {
                let _ = write!(s, " srckey=0x{:x} dstkey=0x{:x}", self.src_id, self.dst_id);
            }
            _ => {}
        }
        s
    }

    /// Packs the tuple into words for hashing: every field, and for IPv4 only the four
    /// address bytes each (the rest is always zero), so an IPv4 tuple is two words and an
    /// IPv6 tuple five. Returns the words and how many are used.
    #[inline]
    pub fn words(&self) -> ([u64; 5], usize) {
        let w = |b: &[u8]| u64::from_ne_bytes(b.try_into().unwrap_or([0; 8]));
        let ids = (self.src_id as u64)
            | (self.dst_id as u64) << 16
            | (self.proto as u64) << 32
            | (self.family as u64) << 40
            | (self.zone as u64) << 48;
        if self.family == FAMILY_V4 {
            let a = |b: &[u8; 16]| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]) as u64;
            ([a(&self.src) | a(&self.dst) << 32, ids, 0, 0, 0], 2)
        } else {
            (
                [
                    w(&self.src[..8]),
                    w(&self.src[8..]),
                    w(&self.dst[..8]),
                    w(&self.dst[8..]),
                    ids,
                ],
                5,
            )
        }
    }
}

/// The name conntrack-tools prints for a protocol (the control protocol's one list).
pub use brickwall_control_protocol::conntrack::record::proto_name;

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(a: [u8; 4]) -> [u8; 16] {
        let mut x = [0; 16];
        x[..4].copy_from_slice(&a);
        x
    }

    #[test]
    fn inversion_swaps_and_maps_icmp_types() {
        let t = Tuple {
            src: v4([10, 0, 0, 1]),
            dst: v4([10, 0, 0, 2]),
            src_id: 1234,
            dst_id: 80,
            proto: proto::TCP,
            family: FAMILY_V4,
            zone: 3,
        };
        let r = t.invert().unwrap();
        assert_eq!(
            (r.src, r.dst, r.src_id, r.dst_id, r.zone),
            (t.dst, t.src, 80, 1234, 3)
        );
        assert_eq!(r.invert().unwrap(), t);
        let echo = Tuple {
            proto: proto::ICMP,
            src_id: 77,
            dst_id: 8 << 8,
            ..t
        };
        let rep = echo.invert().unwrap();
        assert_eq!((rep.src_id, rep.dst_id), (77, 0));
        assert_eq!(rep.invert().unwrap(), echo);
        let unreach = Tuple {
            dst_id: 3 << 8,
            ..echo
        };
        assert_eq!(unreach.invert(), None);
        assert_eq!(
            t.conntrack_words(),
            "src=10.0.0.1 dst=10.0.0.2 sport=1234 dport=80"
        );
        assert_eq!(
            echo.conntrack_words(),
            "src=10.0.0.1 dst=10.0.0.2 type=8 code=0 id=77"
        );
        assert!(icmp_is_error(FAMILY_V6, 1) && !icmp_is_error(FAMILY_V6, 128));
        // The in-place comparison agrees with building the inversion.
        for x in [t, echo, unreach] {
            for y in [t, r, echo, rep, unreach, Tuple { zone: 4, ..r }] {
                assert_eq!(x.is_inverse_of(&y), x.invert() == Some(y), "{x:?} {y:?}");
            }
        }
    }
}
