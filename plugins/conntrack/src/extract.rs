//! Reading tuples out of packets: the packet's own (from the engine's parsed offsets)
//! and the one quoted inside an ICMP error (parsed here, bounds-checked, from the bytes).

use crate::tuple::{proto, Tuple, FAMILY_V4, FAMILY_V6};
use brickwall_hooks::PacketView;
use brickwall_wire::{ipv6_ext_len, Ipv4Header, Ipv6Header};

/// Why no tuple could be read.
pub type NoTuple = &'static str;

/// The version bits of a GRE header's first word.
const GRE_VERSION: u16 = 0x0007;

/// The protocol type of PPP, the only one Linux tracks in GRE version 1.
const GRE_PROTO_PPP: u16 = 0x880b;

/// Fills the L4 ids of a tuple from the L4 header bytes.
#[inline(always)]
fn l4_ids(t: &mut Tuple, l4: &[u8]) -> Result<(), NoTuple> {
    let be16 =
        |i: usize| -> Option<u16> { Some(u16::from_be_bytes([*l4.get(i)?, *l4.get(i + 1)?])) };
    match t.proto {
        proto::TCP | proto::UDP | proto::UDPLITE | proto::SCTP | proto::DCCP => {
            let p: &[u8; 4] = fixed(l4, 0).ok_or("l4-truncated")?;
            t.src_id = u16::from_be_bytes([p[0], p[1]]);
            t.dst_id = u16::from_be_bytes([p[2], p[3]]);
        }
        proto::ICMP | proto::ICMPV6 if t.is_icmp() => {
            let ty = *l4.first().ok_or("l4-truncated")?;
            let code = *l4.get(1).ok_or("l4-truncated")?;
            t.dst_id = (ty as u16) << 8 | code as u16;
            t.src_id = be16(4).ok_or("l4-truncated")?;
        }
        proto::GRE => {
            // As Linux's `gre_pkt_to_tuple`: keys only for version 1 (PPTP's enhanced
            // GRE, whose key field's low half is the receiver's call id, at offset 6);
            // other versions, and a version-1 header shorter than 8 bytes, are tracked
            // without keys; version 1 carrying anything but PPP is no tuple.
            let flags = be16(0).ok_or("l4-truncated")?;
            if flags & GRE_VERSION == 1 {
                if let (Some(protocol), Some(call_id)) = (be16(2), be16(6)) {
                    if protocol != GRE_PROTO_PPP {
                        return Err("gre-not-ppp");
                    }
                    t.dst_id = call_id;
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// Clears the ports of a DCCP tuple when DCCP is tracked as a generic protocol
/// (`dccp_generic`), which knows addresses alone.
#[inline(always)]
pub fn generic_ids(t: &mut Tuple, dccp_generic: bool) {
    if dccp_generic && t.proto == proto::DCCP {
        t.src_id = 0;
        t.dst_id = 0;
    }
}

/// The `N` bytes of `b` from `at`, if there are that many.
#[inline]
fn fixed<const N: usize>(b: &[u8], at: usize) -> Option<&[u8; N]> {
    b.get(at..at.checked_add(N)?)?.try_into().ok()
}

/// A packet's IP datagram and L4 bytes, sliced once for the several readers of one
/// packet (tuple, declared length, protocol tracker).
#[derive(Clone, Copy, Debug)]
pub struct Layers<'a> {
    /// The IP datagram (see [`PacketView::l3`]).
    pub l3: &'a [u8],
    /// The L4 header and payload (see [`PacketView::l4`]).
    pub l4: &'a [u8],
}

impl<'a> Layers<'a> {
    /// The layers of `pkt`.
    #[inline]
    pub fn of(pkt: &'a PacketView) -> Layers<'a> {
        Layers {
            l3: pkt.l3(),
            l4: pkt.l4(),
        }
    }
}

/// The tuple of a packet in its own direction (zone from `zone`).
#[inline]
pub fn packet_tuple(pkt: &PacketView, zone: u16) -> Result<Tuple, NoTuple> {
    let mut t = Tuple::default();
    read_packet_tuple(pkt, &Layers::of(pkt), zone, &mut t)?;
    Ok(t)
}

/// [`packet_tuple`] written into `t` where it lies: built in place, no tuple is moved
/// afterwards (a move reads the narrow fields back as a word before their stores have
/// landed, which stalls the per-packet path). `t` is unspecified on error.
#[inline(always)]
pub fn read_packet_tuple(
    pkt: &PacketView,
    layers: &Layers,
    zone: u16,
    t: &mut Tuple,
) -> Result<(), NoTuple> {
    if !pkt.has_l4() {
        return Err("no-l4-header");
    }
    let l3 = layers.l3;
    // Fixed-size copies: no length to branch on per byte.
    match pkt.family {
        FAMILY_V4 => {
            // Each address widened in a register and stored whole.
            let a: &[u8; 8] = fixed(l3, 12).ok_or("l3-truncated")?;
            let widen = |b: [u8; 4]| (u32::from_le_bytes(b) as u128).to_le_bytes();
            t.src = widen([a[0], a[1], a[2], a[3]]);
            t.dst = widen([a[4], a[5], a[6], a[7]]);
        }
        FAMILY_V6 => {
            let a: &[u8; 32] = fixed(l3, 8).ok_or("l3-truncated")?;
            t.src.copy_from_slice(&a[..16]);
            t.dst.copy_from_slice(&a[16..]);
        }
        _ => return Err("l3-truncated"),
    }
    t.proto = pkt.l4proto;
    t.family = pkt.family;
    t.zone = zone;
    t.src_id = 0;
    t.dst_id = 0;
    l4_ids(t, layers.l4)
}

/// The L4 length (header and payload) the packet's IP header declares, which exceeds
/// the captured bytes when a capture's snap length cut the packet.
#[inline]
pub fn declared_l4_len(pkt: &PacketView, layers: &Layers) -> usize {
    let l3 = layers.l3;
    let l3_hdr = (pkt.l4_off as usize).saturating_sub(pkt.l3_off as usize);
    let total = match pkt.family {
        FAMILY_V4 if l3.len() >= 4 => u16::from_be_bytes([l3[2], l3[3]]) as usize,
        FAMILY_V6 if l3.len() >= 6 => 40 + u16::from_be_bytes([l3[4], l3[5]]) as usize,
        _ => 0,
    };
    total.saturating_sub(l3_hdr).max(layers.l4.len())
}

/// The tuple of the datagram quoted in an ICMP error (`quoted` starts at its IP header,
/// usually truncated). The quote must be of `family` and carry at least 8 L4 bytes for
/// ports and ICMP ids.
pub fn quoted_tuple(quoted: &[u8], family: u8, zone: u16) -> Result<Tuple, NoTuple> {
    let mut t = Tuple {
        family,
        zone,
        ..Tuple::default()
    };
    let l4_off = if family == FAMILY_V4 {
        let b0 = *quoted.first().ok_or("quote-truncated")?;
        if b0 >> 4 != 4 {
            return Err("quote-not-ipv4");
        }
        let h = Ipv4Header::new(quoted).ok_or("quote-truncated")?;
        let ihl = h.header_len();
        if ihl < Ipv4Header::MIN_LEN || quoted.len() < ihl {
            return Err("quote-truncated");
        }
        if h.frag_offset() != 0 {
            return Err("quote-later-fragment");
        }
        t.proto = h.protocol();
        t.src[..4].copy_from_slice(&h.src());
        t.dst[..4].copy_from_slice(&h.dst());
        ihl
    } else if family == FAMILY_V6 {
        let h = Ipv6Header::new(quoted)
            .filter(|h| h.version() == 6)
            .ok_or("quote-truncated")?;
        t.src = h.src();
        t.dst = h.dst();
        let mut next = h.next_header();
        let mut off = Ipv6Header::LEN;
        // Walk the extension headers the quote may carry.
        for _ in 0..8 {
            match next {
                proto::HOPOPTS | proto::ROUTING | proto::DSTOPTS => {
                    let h = quoted.get(off..off + 2).ok_or("quote-truncated")?;
                    off += ipv6_ext_len(next, h[1]);
                    next = h[0];
                }
                proto::FRAGMENT => {
                    let h = quoted.get(off..off + 4).ok_or("quote-truncated")?;
                    if u16::from_be_bytes([h[2], h[3]]) >> 3 != 0 {
                        return Err("quote-later-fragment");
                    }
                    next = h[0];
                    off += 8;
                }
                _ => break,
            }
        }
        t.proto = next;
        off
    } else {
        return Err("bad-family");
    };
    let l4 = quoted.get(l4_off..).ok_or("quote-truncated")?;
    // The ports are all of a TCP or UDP header a quote needs (Linux reads 4 bytes); an
    // ICMP one needs its 8-byte header (type, code, id).
    if l4.len() < 8 && matches!(t.proto, proto::ICMP | proto::ICMPV6) {
        return Err("quote-truncated");
    }
    l4_ids(&mut t, l4)?;
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_udp_and_ipv6_with_extension() {
        let mut q = vec![
            0x45, 0, 0, 40, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        q.extend_from_slice(&[0x30, 0x39, 0, 53, 0, 20, 0, 0]);
        let t = quoted_tuple(&q, FAMILY_V4, 0).unwrap();
        assert_eq!((t.proto, t.src_id, t.dst_id), (17, 12345, 53));
        assert_eq!(&t.src[..4], &[10, 0, 0, 1]);
        // Four bytes of the UDP header (its ports) are enough, as in Linux; three not.
        let t = quoted_tuple(&q[..24], FAMILY_V4, 0).unwrap();
        assert_eq!((t.src_id, t.dst_id), (12345, 53));
        assert!(quoted_tuple(&q[..23], FAMILY_V4, 0).is_err());
        assert!(quoted_tuple(&q, FAMILY_V6, 0).is_err());

        let mut v6 = vec![0x60, 0, 0, 0, 0, 16, 60, 64];
        v6.extend_from_slice(&[0xfd; 16]);
        v6.extend_from_slice(&[0xfe; 16]);
        v6.extend_from_slice(&[17, 0, 1, 4, 0, 0, 0, 0]); // destination options, 8 bytes
        v6.extend_from_slice(&[0x00, 0x07, 0x01, 0xf4, 0, 8, 0, 0]);
        let t = quoted_tuple(&v6, FAMILY_V6, 0).unwrap();
        assert_eq!((t.proto, t.src_id, t.dst_id), (17, 7, 500));
        for n in 0..v6.len() {
            let _ = quoted_tuple(&v6[..n], FAMILY_V6, 0);
        }
    }
}
