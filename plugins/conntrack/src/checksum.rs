//! Linux's `nf_conntrack_checksum` (on by default): at PREROUTING, a TCP, UDP, ICMP,
//! ICMPv6, SCTP, DCCP or UDP-Lite packet whose checksum does not check out is
//! INVALID, as the protocols' error handlers in Linux find it (UDP's zero checksum
//! means none; SCTP's is CRC-32C; DCCP's covers the bytes Linux's tracker computes from
//! the coverage field, and is not checked when DCCP is tracked as a generic protocol;
//! UDP-Lite's covers its coverage field's bytes). What the engine sends itself is not
//! checked, nor what cannot be: a fragment, or a packet a capture cut short.
//!
//! UDP-Lite differs from Linux on purpose: Linux sums UDP-Lite's pseudo-header with
//! UDP's protocol number (17), so it finds every checksum RFC 3828 defines (with 136)
//! bad, and one summed with 17 good. brickwall verifies RFC 3828's.

use brickwall_hooks::{flags, PacketView};
use brickwall_wire::{checksum, crc32c, ip_proto, DccpHeader};

/// The pseudo-header sum of an L4 segment of `len` bytes and protocol `proto` between
/// the packet's addresses.
fn pseudo(pkt: &PacketView, proto: u8, len: usize) -> Option<u32> {
    let (src, dst) = pkt.addrs()?;
    Some(match (<[u8; 4]>::try_from(src), <[u8; 4]>::try_from(dst)) {
        (Ok(s), Ok(d)) => checksum::pseudo_v4(s, d, proto, u16::try_from(len).ok()?),
        _ => checksum::pseudo_v6(
            &<[u8; 16]>::try_from(src).ok()?,
            &<[u8; 16]>::try_from(dst).ok()?,
            proto,
            len as u32,
        ),
    })
}

/// Whether the datagram is whole: the length its IP header declares is all there.
fn whole(pkt: &PacketView) -> bool {
    let l3 = pkt.l3();
    let declared = match l3.first().map(|b| b >> 4) {
        Some(4) => l3
            .get(2..4)
            .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]]))),
        Some(6) => l3
            .get(4..6)
            .map(|b| 40 + usize::from(u16::from_be_bytes([b[0], b[1]]))),
        _ => None,
    };
    declared.is_some_and(|n| n <= l3.len())
}

/// Whether the packet's transport checksum checks out (or cannot be checked); `dccp`:
/// DCCP has its tracker, which verifies its checksum.
pub fn l4_ok(pkt: &PacketView, dccp: bool) -> bool {
    if !pkt.has_l4() || pkt.flags & flags::FRAGMENT != 0 || !whole(pkt) {
        return true;
    }
    let l4 = pkt.l4();
    let sums_to_zero =
        |start: Option<u32>| start.is_none_or(|s| checksum::finish(checksum::sum(s, l4)) == 0);
    let v4 = pkt.addrs().is_some_and(|(s, _)| s.len() == 4);
    match pkt.l4proto {
        ip_proto::TCP => sums_to_zero(pseudo(pkt, ip_proto::TCP, l4.len())),
        ip_proto::UDP => {
            l4.get(6..8).is_none_or(|c| c == [0, 0])
                || sums_to_zero(pseudo(pkt, ip_proto::UDP, l4.len()))
        }
        ip_proto::ICMP if v4 => sums_to_zero(Some(0)),
        ip_proto::ICMPV6 if !v4 => sums_to_zero(pseudo(pkt, ip_proto::ICMPV6, l4.len())),
        ip_proto::SCTP => {
            let at = crc32c::SCTP_CHECKSUM_OFF;
            match (crc32c::sctp(l4), l4.get(at..at + 4)) {
                (Some(c), Some(stored)) => c.to_le_bytes() == stored,
                _ => true,
            }
        }
        ip_proto::DCCP if dccp => {
            // Linux's tracker sums `(CsCov - 1) * 4` bytes from the header's start
            // (RFC 4340 adds the header to them), with the pseudo-header's length that
            // of the whole segment. A header the tracker refuses is left to it.
            let Some(h) = DccpHeader::new(l4) else {
                return true;
            };
            let covered = match h.cscov() {
                0 => l4.len(),
                n => usize::from(n - 1) * 4,
            };
            l4.get(..covered).is_none_or(|part| {
                pseudo(pkt, ip_proto::DCCP, l4.len())
                    .is_none_or(|s| checksum::finish(checksum::sum(s, part)) == 0)
            })
        }
        ip_proto::UDPLITE => {
            // RFC 3828: the pseudo-header (protocol 136, the datagram's length) and
            // the first `coverage` bytes (0: all). A coverage out of range and a zero
            // checksum are the tracker's to refuse.
            let Some(&[hi, lo]) = l4.get(4..6) else {
                return true;
            };
            let covered = match usize::from(u16::from_be_bytes([hi, lo])) {
                0 => l4.len(),
                n => n,
            };
            if covered < 8 || l4.get(6..8).is_some_and(|c| c == [0, 0]) {
                return true;
            }
            l4.get(..covered).is_none_or(|part| {
                pseudo(pkt, ip_proto::UDPLITE, l4.len())
                    .is_none_or(|s| checksum::finish(checksum::sum(s, part)) == 0)
            })
        }
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use crate::config::CtConfig;
    use crate::datagram::{icmp, ipv4, ipv6, tcp, udp, view};
    use crate::tracker::Tracker;
    use brickwall_hooks::{CtInfo, Hook};
    use brickwall_wire::{checksum, crc32c};

    const A: [u8; 4] = [10, 0, 0, 1];
    const B: [u8; 4] = [10, 0, 0, 2];

    fn v6(last: u8) -> [u8; 16] {
        let mut a = [0u8; 16];
        a[0] = 0xfd;
        a[15] = last;
        a
    }

    /// `d`'s ctinfo from a fresh tracker (`checksum` as given) at `hook`, and the
    /// tracker's count of ICMP errors.
    fn state(mut d: Vec<u8>, hook: Hook, checksum: bool) -> (CtInfo, u64) {
        let cfg = CtConfig {
            checksum,
            ..CtConfig::default()
        };
        let mut t = Tracker::new(cfg, 64);
        let mut v = view(&mut d, 1_000_000_000);
        v.hook = hook as u8;
        t.conntrack_in(&mut v);
        (v.ctinfo(), t.stats().icmp_error)
    }

    fn at_pre(d: Vec<u8>) -> CtInfo {
        state(d, Hook::PreRouting, true).0
    }

    /// Flips a bit of the byte at `at` (from the end when negative).
    fn flip(mut d: Vec<u8>, at: isize) -> Vec<u8> {
        let i = if at < 0 {
            d.len() - at.unsigned_abs()
        } else {
            at as usize
        };
        d[i] ^= 0x10;
        d
    }

    #[test]
    fn a_bad_checksum_is_invalid_at_prerouting_only() {
        let syn = ipv4(A, B, 6, &tcp(1000, 80, 1, 0, 0x02));
        assert_eq!(at_pre(syn.clone()), CtInfo::New);
        let bad = flip(syn, -1);
        assert_eq!(at_pre(bad.clone()), CtInfo::Invalid);
        // What the engine sends itself is not checked, and the switch turns it off.
        assert_eq!(state(bad.clone(), Hook::LocalOut, true).0, CtInfo::New);
        assert_eq!(state(bad, Hook::PreRouting, false).0, CtInfo::New);
        // IPv6 TCP, with the pseudo-header's addresses part of the sum.
        let syn6 = ipv6(v6(1), v6(2), 6, &tcp(1000, 80, 1, 0, 0x02));
        assert_eq!(at_pre(syn6.clone()), CtInfo::New);
        assert_eq!(
            at_pre(flip(syn6, 8)),
            CtInfo::Invalid,
            "a source address bit"
        );
    }

    #[test]
    fn udp_without_a_checksum_passes_with_a_wrong_one_does_not() {
        let d = ipv4(A, B, 17, &udp(1000, 53));
        assert_eq!(at_pre(flip(d.clone(), -1)), CtInfo::Invalid);
        let mut none = flip(d, -1);
        none[26..28].copy_from_slice(&[0, 0]);
        assert_eq!(at_pre(none), CtInfo::New, "zero: no checksum");
    }

    #[test]
    fn udplite_is_checked_over_its_coverage_with_its_own_protocol_number() {
        // Coverage 12: the whole datagram; a flipped payload bit is found.
        let whole = ipv4(A, B, 136, &udp(1000, 53));
        assert_eq!(at_pre(whole.clone()), CtInfo::New);
        assert_eq!(at_pre(flip(whole, -1)), CtInfo::Invalid);
        // Coverage 8: the header only; the payload may change.
        let mut l4 = udp(1001, 53);
        l4[4..6].copy_from_slice(&8u16.to_be_bytes());
        let header = ipv4(A, B, 136, &l4);
        assert_eq!(at_pre(flip(header.clone(), -1)), CtInfo::New);
        assert_eq!(
            at_pre(flip(header, 26)),
            CtInfo::Invalid,
            "the checksum itself"
        );
    }

    #[test]
    fn icmp_and_icmpv6_are_checked_and_counted_as_errors() {
        let echo = ipv4(A, B, 1, &icmp(8, 0, &[0, 7, 0, 1]));
        assert_eq!(
            state(echo.clone(), Hook::PreRouting, true),
            (CtInfo::New, 0)
        );
        assert_eq!(
            state(flip(echo, -1), Hook::PreRouting, true),
            (CtInfo::Invalid, 1)
        );
        // A neighbour solicitation is untracked, unless its checksum is wrong.
        let mut ns = icmp(135, 0, &[0; 4]);
        ns.extend_from_slice(&v6(2));
        let ns = ipv6(v6(1), v6(2), 58, &ns);
        assert_eq!(at_pre(ns.clone()), CtInfo::Untracked);
        assert_eq!(at_pre(flip(ns, -1)), CtInfo::Invalid);
    }

    #[test]
    fn sctp_is_checked_by_its_crc() {
        // INIT: common header, then a 20-byte INIT chunk.
        let mut s = vec![0x13, 0x88, 0x13, 0x88, 0, 0, 0, 0, 0, 0, 0, 0];
        s.extend_from_slice(&[
            1, 0, 0, 20, 0, 0, 0, 9, 0, 0, 0x10, 0, 0, 1, 0, 1, 0, 0, 0, 1,
        ]);
        assert!(crc32c::set_sctp(&mut s));
        let d = ipv4(A, B, 132, &s);
        assert_eq!(at_pre(d.clone()), CtInfo::New);
        assert_eq!(at_pre(flip(d, -1)), CtInfo::Invalid);
    }

    #[test]
    fn dccp_is_checked_over_the_coverage_linux_computes() {
        // A Request (X bit, data offset 5 words) and four bytes of payload.
        let mut l4 = vec![0x13, 0x89, 0x17, 0x71, 5, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1];
        l4.extend_from_slice(&[0, 0, 0, 42, 1, 2, 3, 4]);
        let d = ipv4(A, B, 33, &l4);
        assert_eq!(at_pre(d.clone()), CtInfo::New);
        assert_eq!(at_pre(flip(d.clone(), -1)), CtInfo::Invalid);
        // Tracked as a generic protocol, DCCP's checksum is not looked at.
        let generic = |d: Vec<u8>| {
            let mut t = Tracker::new(
                CtConfig {
                    dccp_generic: true,
                    ..CtConfig::default()
                },
                64,
            );
            let mut d = d;
            let mut v = view(&mut d, 1);
            v.hook = Hook::PreRouting as u8;
            t.conntrack_in(&mut v);
            v.ctinfo()
        };
        assert_eq!(generic(flip(d, -1)), CtInfo::New);
        // CsCov 6: Linux sums the pseudo-header and the first 20 bytes only, so the
        // payload's last bytes may change; RFC 4340's coverage (header and 5 words)
        // would take them in.
        let mut part = l4.clone();
        part[5] = 6;
        part[6..8].copy_from_slice(&[0, 0]);
        let mut d = ipv4(A, B, 33, &part);
        let pseudo = checksum::pseudo_v4(A, B, 33, part.len() as u16);
        let c = checksum::finish(checksum::sum(pseudo, &part[..20]));
        d[26..28].copy_from_slice(&c.to_be_bytes());
        assert_eq!(at_pre(d.clone()), CtInfo::New);
        assert_eq!(at_pre(flip(d.clone(), -1)), CtInfo::New);
        assert_eq!(at_pre(flip(d, 20 + 19)), CtInfo::Invalid);
    }

    #[test]
    fn what_cannot_be_checked_is_not() {
        // A capture cut the datagram short: its IP length says more than is there.
        let mut cut = flip(ipv4(A, B, 6, &tcp(1000, 80, 1, 0, 0x02)), -1);
        cut[2..4].copy_from_slice(&200u16.to_be_bytes());
        assert_eq!(at_pre(cut), CtInfo::New);
        // A first fragment: its checksum covers the whole datagram.
        let mut frag = flip(ipv4(A, B, 17, &udp(1000, 53)), -1);
        frag[6] = 0x20;
        let cfg = CtConfig {
            defrag: false,
            ..CtConfig::default()
        };
        let mut t = Tracker::new(cfg, 64);
        let mut v = view(&mut frag, 1);
        v.flags |= brickwall_hooks::flags::FRAGMENT;
        t.conntrack_in(&mut v);
        assert_eq!(v.ctinfo(), CtInfo::New);
    }
}
