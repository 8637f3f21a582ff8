//! Applying a manip to a datagram's bytes (Linux's `nf_nat_ipv4_manip_pkt`,
//! `nf_nat_ipv6_manip_pkt` and the protocols' `manip_pkt`): the source or destination
//! address, the port, ICMP query id or enhanced GRE's key (version 1, the receiver's
//! call id, destination manip only; no checksum covers it), and every checksum that
//! covers them, updated incrementally (RFC 1624): the IPv4 header's; TCP's, UDP's,
//! UDP-Lite's, DCCP's and ICMPv6's through their pseudo-header; ICMP's for the id. A
//! UDP checksum of 0 over IPv4 means "none" and stays 0; an updated UDP or UDP-Lite
//! checksum that comes out 0 is written as 0xffff. UDP-Lite's checksum is mandatory (0
//! is never "none") and DCCP's is at offset 6; whatever part of the payload their
//! coverage fields take in, both always cover the pseudo-header and the ports, which is
//! all a manip changes.
//!
//! The datagram may be one quoted in an ICMP error, cut short: a checksum or port
//! beyond its end is left alone, and so is DCCP's checksum when the quote stops inside
//! its 12-byte header (as Linux's `dccp_manip_pkt`).

use brickwall_hooks::Family;
use brickwall_wire::checksum::update;
use brickwall_wire::crc32c;
use brickwall_wire::ip_proto;

use crate::tuple::Manip;

/// What a manip writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Target {
    /// The address (IPv4 in the first four bytes).
    pub addr: [u8; 16],
    /// The port or ICMP id; `None` to leave the transport header's fields alone.
    pub key: Option<u16>,
}

/// Where a datagram's transport checksum is and how to treat it.
#[derive(Clone, Copy, Debug)]
struct L4Sum {
    off: usize,
    /// UDP over IPv4: 0 means no checksum.
    zero_is_none: bool,
    /// UDP: a result of 0 is written as 0xffff.
    mangle_zero: bool,
}

/// The transport checksum of the datagram, if its field is present; `pseudo`: only
/// one that covers the addresses (ICMPv4's does not).
fn l4_sum(d: &[u8], family: Family, proto: u8, l4: usize, pseudo: bool) -> Option<L4Sum> {
    let (rel, zero_is_none, mangle_zero) = match (family, proto) {
        (_, ip_proto::TCP) => (16, false, false),
        (Family::Ipv4, ip_proto::UDP) => (6, true, true),
        (Family::Ipv6, ip_proto::UDP) => (6, false, true),
        (_, ip_proto::UDPLITE) => (6, false, true),
        (_, ip_proto::DCCP) if d.len() >= l4 + 12 => (6, false, false),
        (Family::Ipv6, ip_proto::ICMPV6) => (2, false, false),
        (Family::Ipv4, ip_proto::ICMP) if !pseudo => (2, false, false),
        _ => return None,
    };
    let off = l4 + rel;
    (off + 2 <= d.len()).then_some(L4Sum {
        off,
        zero_is_none,
        mangle_zero,
    })
}

fn get16(d: &[u8], off: usize) -> u16 {
    u16::from_be_bytes([d[off], d[off + 1]])
}

fn put16(d: &mut [u8], off: usize, v: u16) {
    d[off..off + 2].copy_from_slice(&v.to_be_bytes());
}

/// Updates the checksum at `s` for data changed from `old` to `new`.
fn fix(d: &mut [u8], s: L4Sum, old: &[u8], new: &[u8]) {
    let c = get16(d, s.off);
    if c == 0 && s.zero_is_none {
        return;
    }
    let mut n = update(c, old, new);
    if n == 0 && s.mangle_zero {
        n = 0xffff;
    }
    put16(d, s.off, n);
}

/// Whether an ICMP or ICMPv6 type is an error (it quotes a datagram) rather than a
/// query with an id.
pub fn icmp_is_error(family: Family, icmp_type: u8) -> bool {
    match family {
        Family::Ipv4 => matches!(icmp_type, 3 | 4 | 5 | 11 | 12),
        Family::Ipv6 => icmp_type < 128,
    }
}

/// Rewrites datagram `d` (its IP header at 0, its transport header at `l4` if known)
/// so that the end `m` names becomes `target`; checksums follow. Returns whether a
/// byte changed.
pub fn manip(
    d: &mut [u8],
    family: Family,
    proto: u8,
    l4: Option<usize>,
    m: Manip,
    target: &Target,
) -> bool {
    let (off, len) = match (family, m) {
        (Family::Ipv4, Manip::Src) => (12, 4),
        (Family::Ipv4, Manip::Dst) => (16, 4),
        (Family::Ipv6, Manip::Src) => (8, 16),
        (Family::Ipv6, Manip::Dst) => (24, 16),
    };
    if d.len() < off + len {
        return false;
    }
    let mut changed = false;
    let new = &target.addr[..len];
    let mut old = [0u8; 16];
    old[..len].copy_from_slice(&d[off..off + len]);
    let old = &old[..len];
    if old != new {
        d[off..off + len].copy_from_slice(new);
        if family == Family::Ipv4 {
            let c = get16(d, 10);
            put16(d, 10, update(c, old, new));
        }
        if let Some(s) = l4.and_then(|l4| l4_sum(d, family, proto, l4, true)) {
            fix(d, s, old, new);
        }
        changed = true;
    }
    let (Some(l4), Some(key)) = (l4, target.key) else {
        return changed;
    };
    let key_off = match proto {
        ip_proto::TCP | ip_proto::UDP | ip_proto::UDPLITE | ip_proto::SCTP | ip_proto::DCCP => {
            match m {
                Manip::Src => l4,
                Manip::Dst => l4 + 2,
            }
        }
        ip_proto::ICMP | ip_proto::ICMPV6 => match d.get(l4) {
            Some(&t) if !icmp_is_error(family, t) => l4 + 4,
            _ => return changed,
        },
        // Enhanced GRE (version 1) carries the receiver's key (PPTP's call id) after
        // its flags, protocol and payload length; other versions are left alone.
        ip_proto::GRE if m == Manip::Dst => match d.get(l4 + 1) {
            Some(&v) if v & 0x07 == 1 => l4 + 6,
            _ => return changed,
        },
        _ => return changed,
    };
    if d.len() < key_off + 2 {
        return changed;
    }
    let old = get16(d, key_off);
    if old != key {
        put16(d, key_off, key);
        if let Some(s) = l4_sum(d, family, proto, l4, false) {
            fix(d, s, &old.to_be_bytes(), &key.to_be_bytes());
        }
        if proto == ip_proto::SCTP {
            // SCTP's CRC-32C covers its packet alone and is not updated incrementally:
            // computed again over the whole packet (a cut capture keeps the old one).
            if let Some(packet) = whole(d, family).and_then(|n| d.get_mut(l4..n)) {
                crc32c::set_sctp(packet);
            }
        }
        changed = true;
    }
    changed
}

/// The length datagram `d`'s IP header declares, if `d` holds all of it.
fn whole(d: &[u8], family: Family) -> Option<usize> {
    let declared = match family {
        Family::Ipv4 => d.get(2..4).map(|b| usize::from(get16(b, 0))),
        Family::Ipv6 => d.get(4..6).map(|b| 40 + usize::from(get16(b, 0))),
    };
    declared.filter(|&n| n >= 20 && d.len() >= n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use brickwall_wire::checksum::{checksum, finish, pseudo_v4, pseudo_v6, sum};

    fn v4(a: [u8; 4]) -> [u8; 16] {
        let mut b = [0; 16];
        b[..4].copy_from_slice(&a);
        b
    }

    /// The transport checksum recomputed over the whole segment: 0 when right.
    fn verify_l4(d: &[u8], family: Family, proto: u8, l4: usize) -> u16 {
        let seg = &d[l4..];
        let acc = match family {
            Family::Ipv4 if proto == ip_proto::ICMP => 0,
            Family::Ipv4 => pseudo_v4(
                d[12..16].try_into().unwrap(),
                d[16..20].try_into().unwrap(),
                proto,
                seg.len() as u16,
            ),
            Family::Ipv6 => pseudo_v6(
                d[8..24].try_into().unwrap(),
                d[24..40].try_into().unwrap(),
                proto,
                seg.len() as u32,
            ),
        };
        finish(sum(acc, seg))
    }

    #[test]
    fn udp_and_tcp_over_ipv4_stay_valid() {
        let b = etherparse::PacketBuilder::ipv4([10, 0, 0, 1], [198, 51, 100, 2], 64).udp(1000, 53);
        let mut d = Vec::new();
        b.write(&mut d, b"query").unwrap();
        let t = Target {
            addr: v4([192, 0, 2, 1]),
            key: Some(40000),
        };
        assert!(manip(
            &mut d,
            Family::Ipv4,
            ip_proto::UDP,
            Some(20),
            Manip::Src,
            &t
        ));
        assert_eq!(checksum(&d[..20]), 0);
        assert_eq!(verify_l4(&d, Family::Ipv4, ip_proto::UDP, 20), 0);
        assert_eq!(&d[12..16], &[192, 0, 2, 1]);
        assert_eq!(&d[20..22], &40000u16.to_be_bytes());
        // A UDP datagram without a checksum keeps none.
        d[26] = 0;
        d[27] = 0;
        let t = Target {
            addr: v4([192, 0, 2, 7]),
            key: Some(1),
        };
        manip(
            &mut d,
            Family::Ipv4,
            ip_proto::UDP,
            Some(20),
            Manip::Src,
            &t,
        );
        assert_eq!(&d[26..28], &[0, 0]);
        assert_eq!(checksum(&d[..20]), 0);

        let b = etherparse::PacketBuilder::ipv4([10, 0, 0, 1], [198, 51, 100, 2], 64)
            .tcp(1000, 80, 7, 64240)
            .syn();
        let mut d = Vec::new();
        b.write(&mut d, &[]).unwrap();
        let t = Target {
            addr: v4([10, 9, 9, 9]),
            key: Some(8080),
        };
        assert!(manip(
            &mut d,
            Family::Ipv4,
            ip_proto::TCP,
            Some(20),
            Manip::Dst,
            &t
        ));
        assert_eq!(checksum(&d[..20]), 0);
        assert_eq!(verify_l4(&d, Family::Ipv4, ip_proto::TCP, 20), 0);
        assert!(
            !manip(
                &mut d,
                Family::Ipv4,
                ip_proto::TCP,
                Some(20),
                Manip::Dst,
                &t
            ),
            "nothing left to change"
        );
    }

    #[test]
    fn icmp_ids_and_ipv6() {
        let b = etherparse::PacketBuilder::ipv4([10, 0, 0, 1], [198, 51, 100, 2], 64)
            .icmpv4_echo_request(77, 1);
        let mut d = Vec::new();
        b.write(&mut d, b"ping").unwrap();
        let t = Target {
            addr: v4([192, 0, 2, 1]),
            key: Some(9),
        };
        manip(
            &mut d,
            Family::Ipv4,
            ip_proto::ICMP,
            Some(20),
            Manip::Src,
            &t,
        );
        assert_eq!(&d[24..26], &9u16.to_be_bytes());
        assert_eq!(checksum(&d[20..]), 0);
        assert_eq!(checksum(&d[..20]), 0);

        let mut a6 = [0u8; 16];
        a6[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
        a6[15] = 1;
        let mut b6 = a6;
        b6[15] = 2;
        let b = etherparse::PacketBuilder::ipv6(a6, b6, 64).udp(5000, 53);
        let mut d = Vec::new();
        b.write(&mut d, b"q6").unwrap();
        let mut n = a6;
        n[14] = 0xbe;
        n[15] = 0xef;
        manip(
            &mut d,
            Family::Ipv6,
            ip_proto::UDP,
            Some(40),
            Manip::Src,
            &Target {
                addr: n,
                key: Some(6000),
            },
        );
        assert_eq!(verify_l4(&d, Family::Ipv6, ip_proto::UDP, 40), 0);
        let b = etherparse::PacketBuilder::ipv6(a6, b6, 64).icmpv6_echo_request(5, 1);
        let mut d = Vec::new();
        b.write(&mut d, b"p6").unwrap();
        manip(
            &mut d,
            Family::Ipv6,
            ip_proto::ICMPV6,
            Some(40),
            Manip::Dst,
            &Target {
                addr: n,
                key: Some(600),
            },
        );
        assert_eq!(verify_l4(&d, Family::Ipv6, ip_proto::ICMPV6, 40), 0);
        assert_eq!(&d[24..40], &n);
    }

    /// Enhanced GRE: flags with key and sequence present, version 1, PPP, payload
    /// length, key, sequence.
    fn gre_v1(version: u8, key: u16) -> Vec<u8> {
        let g = [
            0x30,
            version,
            0x88,
            0x0b,
            0,
            0,
            (key >> 8) as u8,
            key as u8,
            0,
            0,
            0,
            1,
        ];
        let ip = etherparse::Ipv4Header::new(
            g.len() as u16,
            64,
            etherparse::IpNumber::GRE,
            [198, 51, 100, 2],
            [192, 0, 2, 1],
        )
        .unwrap();
        let mut d = Vec::new();
        ip.write(&mut d).unwrap();
        d.extend_from_slice(&g);
        d
    }

    #[test]
    fn gre_v1_key_is_written_on_a_destination_manip_only() {
        let t = Target {
            addr: v4([10, 0, 0, 1]),
            key: Some(0x1234),
        };
        let mut d = gre_v1(1, 40000);
        assert!(manip(
            &mut d,
            Family::Ipv4,
            ip_proto::GRE,
            Some(20),
            Manip::Dst,
            &t
        ));
        assert_eq!(&d[16..20], &[10, 0, 0, 1]);
        assert_eq!(&d[26..28], &0x1234u16.to_be_bytes());
        assert_eq!(checksum(&d[..20]), 0);
        // The source manip has no key to write (GRE carries none for the sender).
        let mut d = gre_v1(1, 40000);
        let before = d.clone();
        manip(
            &mut d,
            Family::Ipv4,
            ip_proto::GRE,
            Some(20),
            Manip::Src,
            &Target {
                addr: v4([198, 51, 100, 2]),
                key: Some(7),
            },
        );
        assert_eq!(d, before);
        // Version 0 keeps its bytes but the address; a cut header is left alone.
        let mut d = gre_v1(0, 40000);
        manip(
            &mut d,
            Family::Ipv4,
            ip_proto::GRE,
            Some(20),
            Manip::Dst,
            &t,
        );
        assert_eq!(&d[26..28], &40000u16.to_be_bytes());
        let mut d = gre_v1(1, 40000);
        d.truncate(27);
        manip(
            &mut d,
            Family::Ipv4,
            ip_proto::GRE,
            Some(20),
            Manip::Dst,
            &t,
        );
        assert_eq!(&d[26..27], &[(40000u16 >> 8) as u8]);
    }

    /// An IPv4 datagram of protocol `proto` carrying `l4`, its transport checksum
    /// computed in full.
    fn datagram(proto: u8, l4: &[u8]) -> Vec<u8> {
        let mut d = vec![0x45, 0];
        d.extend_from_slice(&((20 + l4.len()) as u16).to_be_bytes());
        d.extend_from_slice(&[0, 0, 0, 0, 64, proto, 0, 0, 10, 0, 0, 1, 198, 51, 100, 2]);
        let c = checksum(&d);
        d[10..12].copy_from_slice(&c.to_be_bytes());
        d.extend_from_slice(l4);
        assert!(brickwall_wire::checksum::fill_transport(&mut d));
        d
    }

    /// The checksum over the pseudo-header and the first `covered` bytes of the
    /// segment, recomputed: 0 when right.
    fn verify_covered(d: &[u8], proto: u8, covered: usize) -> u16 {
        let seg = &d[20..];
        let acc = pseudo_v4(
            d[12..16].try_into().unwrap(),
            d[16..20].try_into().unwrap(),
            proto,
            seg.len() as u16,
        );
        finish(sum(acc, &seg[..covered]))
    }

    #[test]
    fn dccp_and_udplite_ports_and_checksums() {
        // DCCP Request (X bit, data offset 5 words, CsCov 0), then payload.
        let mut l4 = vec![0x13, 0x88, 0x17, 0x70, 5, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 9];
        l4.extend_from_slice(&[0, 0, 0, 42, 1, 2, 3, 4, 5]);
        let mut d = datagram(ip_proto::DCCP, &l4);
        let t = Target {
            addr: v4([192, 0, 2, 1]),
            key: Some(40000),
        };
        assert!(manip(
            &mut d,
            Family::Ipv4,
            ip_proto::DCCP,
            Some(20),
            Manip::Src,
            &t
        ));
        assert_eq!(&d[20..22], &40000u16.to_be_bytes());
        assert_eq!(checksum(&d[..20]), 0);
        assert_eq!(verify_covered(&d, ip_proto::DCCP, d.len() - 20), 0);
        // The destination port, and a partial coverage (CsCov 1: the header).
        let mut l4c = l4.clone();
        l4c[5] = 1;
        let mut d = datagram(ip_proto::DCCP, &l4c);
        let t = Target {
            addr: [198, 51, 100, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            key: Some(8080),
        };
        assert!(manip(
            &mut d,
            Family::Ipv4,
            ip_proto::DCCP,
            Some(20),
            Manip::Dst,
            &t
        ));
        assert_eq!(&d[22..24], &8080u16.to_be_bytes());
        assert_eq!(verify_covered(&d, ip_proto::DCCP, 20), 0);
        // A quote cut after 8 bytes: the ports change, the checksum (not all of the
        // 12-byte header is there) is left.
        let mut q = datagram(ip_proto::DCCP, &l4)[..28].to_vec();
        let sum_before = [q[26], q[27]];
        manip(
            &mut q,
            Family::Ipv4,
            ip_proto::DCCP,
            Some(20),
            Manip::Src,
            &Target {
                addr: v4([10, 0, 0, 1]),
                key: Some(1),
            },
        );
        assert_eq!((&q[20..22], [q[26], q[27]]), (&[0u8, 1][..], sum_before));

        // UDP-Lite covering its header only (coverage 8).
        let mut d = datagram(
            ip_proto::UDPLITE,
            &[0x13, 0x88, 0, 53, 0, 8, 0, 0, 9, 9, 9, 9],
        );
        let t = Target {
            addr: v4([192, 0, 2, 1]),
            key: Some(2000),
        };
        assert!(manip(
            &mut d,
            Family::Ipv4,
            ip_proto::UDPLITE,
            Some(20),
            Manip::Src,
            &t
        ));
        assert_eq!(&d[20..22], &2000u16.to_be_bytes());
        assert_eq!(verify_covered(&d, ip_proto::UDPLITE, 8), 0);
        assert_ne!(&d[26..28], &[0, 0]);
        // A checksum that comes out 0 is written as 0xffff (UDP-Lite has no "none"):
        // find the port that makes it so and translate to it.
        let mut d = datagram(ip_proto::UDPLITE, &[0x13, 0x88, 0, 53, 0, 8, 0, 0]);
        let c = u16::from_be_bytes([d[26], d[27]]);
        let zeroing = (1..=u16::MAX)
            .find(|&p| update(c, &0x1388u16.to_be_bytes(), &p.to_be_bytes()) == 0)
            .unwrap();
        manip(
            &mut d,
            Family::Ipv4,
            ip_proto::UDPLITE,
            Some(20),
            Manip::Src,
            &Target {
                addr: v4([10, 0, 0, 1]),
                key: Some(zeroing),
            },
        );
        assert_eq!(&d[26..28], &[0xff, 0xff]);
        assert_eq!(verify_covered(&d, ip_proto::UDPLITE, 8), 0);
    }
}
