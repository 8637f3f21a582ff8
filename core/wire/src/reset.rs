//! The TCP reset a firewall's `reject with tcp reset` answers a segment with, as RFC
//! 793 has a closed port answer: from the segment's destination to its source, ports
//! swapped; when the segment acknowledged something, the reset's sequence number is
//! that acknowledgement; else the reset acknowledges everything the segment occupied
//! (its data, SYN and FIN). TTL (hop limit) [`TTL`], window 0, no options.

use crate::checksum::{checksum, finish, pseudo_v4, pseudo_v6, sum};
use crate::icmp::TTL;
use crate::ip_proto::TCP;
use crate::tcp_flags::{ACK, FIN, RST, SYN};
use crate::{Ipv4Header, Ipv6Header, TcpHeader};
use alloc::vec::Vec;

/// Bytes of a TCP header without options.
const TCP_LEN: usize = 20;

/// The reset answering the IPv4 or IPv6 datagram `offending` (its IP header first);
/// `None` when it is not a whole TCP segment (a later fragment, IPv6 extension headers
/// before TCP, too short), is itself a reset, or came from or went to an address no
/// reset is sent to (unspecified, multicast, IPv4 broadcast).
pub fn tcp_reset(offending: &[u8]) -> Option<Vec<u8>> {
    match offending.first()? >> 4 {
        4 => {
            let h = Ipv4Header::new(offending)?;
            let hl = h.header_len();
            let end = usize::from(h.total_len()).min(offending.len());
            let (src, dst) = (h.src(), h.dst());
            let bad = |a: [u8; 4]| a == [0; 4] || a == [255; 4] || a[0] >= 224;
            if h.protocol() != TCP || h.frag_offset() != 0 || bad(src) || bad(dst) || end < hl {
                return None;
            }
            let seg = reply_segment(offending.get(hl..end)?)?;
            let mut d = Vec::with_capacity(Ipv4Header::MIN_LEN + TCP_LEN);
            let total = (Ipv4Header::MIN_LEN + TCP_LEN) as u16;
            d.extend_from_slice(&[0x45, 0]);
            d.extend_from_slice(&total.to_be_bytes());
            // Identification 0, don't fragment.
            d.extend_from_slice(&[0, 0, 0x40, 0, TTL, TCP, 0, 0]);
            d.extend_from_slice(&dst);
            d.extend_from_slice(&src);
            let c = checksum(&d);
            d[10..12].copy_from_slice(&c.to_be_bytes());
            let c = finish(sum(pseudo_v4(dst, src, TCP, TCP_LEN as u16), &seg));
            d.extend_from_slice(&seg);
            d[Ipv4Header::MIN_LEN + 16..Ipv4Header::MIN_LEN + 18].copy_from_slice(&c.to_be_bytes());
            Some(d)
        }
        6 => {
            let h = Ipv6Header::new(offending)?;
            let (src, dst) = (h.src(), h.dst());
            let bad = |a: &[u8; 16]| *a == [0; 16] || a[0] == 0xff;
            if h.next_header() != TCP || bad(&src) || bad(&dst) {
                return None;
            }
            let end = (Ipv6Header::LEN + usize::from(h.payload_len())).min(offending.len());
            let seg = reply_segment(offending.get(Ipv6Header::LEN..end)?)?;
            let mut d = Vec::with_capacity(Ipv6Header::LEN + TCP_LEN);
            d.extend_from_slice(&[0x60, 0, 0, 0]);
            d.extend_from_slice(&(TCP_LEN as u16).to_be_bytes());
            d.extend_from_slice(&[TCP, TTL]);
            d.extend_from_slice(&dst);
            d.extend_from_slice(&src);
            let c = finish(sum(pseudo_v6(&dst, &src, TCP, TCP_LEN as u32), &seg));
            d.extend_from_slice(&seg);
            d[Ipv6Header::LEN + 16..Ipv6Header::LEN + 18].copy_from_slice(&c.to_be_bytes());
            Some(d)
        }
        _ => None,
    }
}

/// The reset's TCP header (checksum 0) for the segment `seg`.
fn reply_segment(seg: &[u8]) -> Option<[u8; TCP_LEN]> {
    let t = TcpHeader::new_whole(seg)?;
    let f = t.flags();
    if f & RST != 0 {
        return None;
    }
    let data = seg.len().checked_sub(t.header_len())? as u32;
    let (seq, ack, out_flags) = if f & ACK != 0 {
        (t.ack(), 0, RST)
    } else {
        let occupied = data + u32::from(f & SYN != 0) + u32::from(f & FIN != 0);
        (0, t.seq().wrapping_add(occupied), RST | ACK)
    };
    let mut h = [0u8; TCP_LEN];
    h[0..2].copy_from_slice(&t.dst_port().to_be_bytes());
    h[2..4].copy_from_slice(&t.src_port().to_be_bytes());
    h[4..8].copy_from_slice(&seq.to_be_bytes());
    h[8..12].copy_from_slice(&ack.to_be_bytes());
    h[12] = (TCP_LEN as u8 / 4) << 4;
    h[13] = out_flags;
    Some(h)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checksum::fill_transport;

    /// An IPv4 TCP segment with `flags`, `seq`, `ack` and `data`.
    fn segment4(flags: u8, seq: u32, ack: u32, data: &[u8]) -> Vec<u8> {
        let mut d = Vec::new();
        let total = (20 + 20 + data.len()) as u16;
        d.extend_from_slice(&[0x45, 0]);
        d.extend_from_slice(&total.to_be_bytes());
        d.extend_from_slice(&[0, 1, 0, 0, 64, TCP, 0, 0, 10, 0, 0, 1, 10, 1, 0, 2]);
        d.extend_from_slice(&40000u16.to_be_bytes());
        d.extend_from_slice(&23u16.to_be_bytes());
        d.extend_from_slice(&seq.to_be_bytes());
        d.extend_from_slice(&ack.to_be_bytes());
        d.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
        d.extend_from_slice(data);
        d
    }

    /// Both checksums of `d` hold: recomputing them changes nothing.
    fn sums_hold(d: &[u8]) {
        let mut again = d.to_vec();
        again[10..12].fill(0);
        let c = checksum(&again[..20]);
        again[10..12].copy_from_slice(&c.to_be_bytes());
        assert!(fill_transport(&mut again));
        assert_eq!(again, d);
    }

    #[test]
    fn a_syn_gets_rst_ack_of_its_sequence_number_plus_one() {
        let r = tcp_reset(&segment4(SYN, 1000, 0, b"")).unwrap();
        assert_eq!(&r[12..20], &[10, 1, 0, 2, 10, 0, 0, 1]);
        assert_eq!(&r[20..24], &[0, 23, 0x9c, 0x40]);
        assert_eq!(&r[24..28], &0u32.to_be_bytes());
        assert_eq!(&r[28..32], &1001u32.to_be_bytes());
        assert_eq!(r[33], RST | ACK);
        assert_eq!((r[8], r[6]), (TTL, 0x40));
        sums_hold(&r);
    }

    #[test]
    fn an_ack_gets_a_reset_at_its_acknowledgement() {
        let r = tcp_reset(&segment4(ACK | crate::tcp_flags::PSH, 5, 777, b"data")).unwrap();
        assert_eq!(&r[24..28], &777u32.to_be_bytes());
        assert_eq!(&r[28..32], &0u32.to_be_bytes());
        assert_eq!(r[33], RST);
        sums_hold(&r);
        // Data and FIN without ACK: all of it acknowledged.
        let r = tcp_reset(&segment4(FIN, 10, 0, b"abc")).unwrap();
        assert_eq!(&r[28..32], &14u32.to_be_bytes());
    }

    #[test]
    fn no_reset_for_a_reset_a_fragment_or_a_broadcast() {
        assert!(tcp_reset(&segment4(RST, 1, 0, b"")).is_none());
        let mut frag = segment4(SYN, 1, 0, b"");
        frag[7] = 1;
        assert!(tcp_reset(&frag).is_none());
        let mut bcast = segment4(SYN, 1, 0, b"");
        bcast[16..20].copy_from_slice(&[255; 4]);
        assert!(tcp_reset(&bcast).is_none());
        assert!(tcp_reset(&[0x45, 0, 0]).is_none());
        assert!(tcp_reset(&[]).is_none());
    }

    #[test]
    fn ipv6_resets_carry_their_pseudo_header_sum() {
        let mut d = vec![0x60, 0, 0, 0, 0, 20, TCP, 64];
        d.extend_from_slice(&[0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        d.extend_from_slice(&[0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
        d.extend_from_slice(&segment4(SYN, 9, 0, b"")[20..]);
        let r = tcp_reset(&d).unwrap();
        assert_eq!(r.len(), 60);
        assert_eq!(r[7], TTL);
        assert_eq!(&r[8..24], &d[24..40]);
        let mut again = r.clone();
        assert!(fill_transport(&mut again));
        assert_eq!(again, r);
        assert_eq!(&r[48..52], &10u32.to_be_bytes());
    }
}
