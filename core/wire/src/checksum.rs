//! The Internet checksum (RFC 1071) of IPv4 headers, TCP, UDP, ICMP and the rest: the
//! one's complement of the one's-complement sum of the data's big-endian 16-bit words;
//! the pseudo-header sums TCP and UDP add over IPv4 and IPv6; and the incremental
//! update of RFC 1624 for a changed word or address, as NAT rewrites them.
//!
//! A running sum is a `u32` that [`sum`] keeps folded to 16 bits, so a caller may add
//! a few small values to it (a protocol number, a length) before the next call.
//! Verifying data that holds its own checksum: [`checksum`] of it is 0.

use crate::{ip_proto, Ipv4Header, Ipv6Header};

/// Adds `data` to the running sum `acc` and folds the result to 16 bits. An odd last
/// byte counts as a word padded with zero, so of several pieces summed in turn only
/// the last may have an odd length.
#[inline]
pub fn sum(acc: u32, data: &[u8]) -> u32 {
    // Eight bytes at a time, as two 32-bit words: a 32-bit word is congruent to the
    // sum of its two 16-bit halves modulo 0xffff, so the fold comes out the same.
    let mut s = u64::from(acc);
    let mut quads = data.chunks_exact(8);
    for q in &mut quads {
        let v = u64::from_be_bytes([q[0], q[1], q[2], q[3], q[4], q[5], q[6], q[7]]);
        s += (v >> 32) + (v & 0xffff_ffff);
    }
    let mut words = quads.remainder().chunks_exact(2);
    for w in &mut words {
        if let [hi, lo] = *w {
            s += u64::from(u16::from_be_bytes([hi, lo]));
        }
    }
    if let [last] = *words.remainder() {
        s += u64::from(last) << 8;
    }
    u32::from(fold64(s))
}

/// A running sum folded to 16 bits (the carries added back in), not complemented.
#[inline]
pub fn fold(acc: u32) -> u16 {
    fold64(u64::from(acc))
}

/// The checksum a running sum gives: its fold, complemented.
#[inline]
pub fn finish(acc: u32) -> u16 {
    !fold(acc)
}

/// The Internet checksum of `data`.
#[inline]
pub fn checksum(data: &[u8]) -> u16 {
    finish(sum(0, data))
}

/// The sum of the IPv4 pseudo-header of a TCP or UDP segment (addresses, protocol,
/// segment length), to start the segment's sum with.
#[inline]
pub fn pseudo_v4(src: [u8; 4], dst: [u8; 4], proto: u8, len: u16) -> u32 {
    let acc = sum(sum(0, &src), &dst);
    acc + u32::from(proto) + u32::from(len)
}

/// The sum of the IPv6 pseudo-header of an upper-layer packet (addresses, its length,
/// the next header), to start the packet's sum with.
#[inline]
pub fn pseudo_v6(src: &[u8; 16], dst: &[u8; 16], proto: u8, len: u32) -> u32 {
    let acc = sum(sum(0, src), dst);
    sum(acc, &len.to_be_bytes()) + u32::from(proto)
}

/// The checksum `check` updated for a 16-bit word of the data changed from `old` to
/// `new` (RFC 1624, equation 3: `~(~check + ~old + new)`, which, unlike equation 2,
/// never gives 0xffff for a sum of zero).
///
/// The result is what a full recomputation gives, except when the data become all
/// zeros (then the full sum gives 0xffff and this 0x0000, the same value in one's
/// complement); an IP or transport header is never all zeros.
#[inline]
pub fn update16(check: u16, old: u16, new: u16) -> u16 {
    finish(u32::from(!check) + u32::from(!old) + u32::from(new))
}

/// The checksum `check` updated for a 32-bit value at an even offset of the data (an
/// IPv4 address, a TCP sequence number) changed from `old` to `new`; as [`update16`]
/// for both of its words.
#[inline]
pub fn update32(check: u16, old: u32, new: u32) -> u16 {
    let words = |v: u32| [(v >> 16) as u16, v as u16];
    let [old_hi, old_lo] = words(old);
    let [new_hi, new_lo] = words(new);
    let acc = u32::from(!check)
        + u32::from(!old_hi)
        + u32::from(!old_lo)
        + u32::from(new_hi)
        + u32::from(new_lo);
    finish(acc)
}

/// The checksum `check` updated for bytes at an even offset of the data (an IPv6
/// address, say) changed from `old` to `new`, both of the same length; as
/// [`update16`] for each of their words.
#[inline]
pub fn update(check: u16, old: &[u8], new: &[u8]) -> u16 {
    let removed = !fold(sum(0, old));
    finish(u32::from(!check) + u32::from(removed) + sum(0, new))
}

/// Folds a 64-bit sum to 16 bits.
#[inline]
fn fold64(mut s: u64) -> u16 {
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    s as u16
}
/// Computes the TCP, UDP, UDP-Lite, DCCP, ICMP or ICMPv6 checksum of an IP datagram
/// (`datagram` starts at the IP header: IPv4 without fragments, or IPv6 with the
/// transport header right after the fixed header) in full and writes it. UDP-Lite's
/// covers what its coverage field says (0: everything), DCCP's the header and
/// `CsCov - 1` words of payload (CsCov 0: everything), as RFC 3828 and RFC 4340 define
/// them. Returns whether it wrote one; anything else is left as it is.
pub fn fill_transport(datagram: &mut [u8]) -> bool {
    let ip = &*datagram;
    let (proto, l4_off, l4_len, pseudo) = match ip.first().map(|b| b >> 4) {
        Some(4) => {
            let Some(h) = Ipv4Header::new(ip) else {
                return false;
            };
            let ihl = h.header_len();
            let total = usize::from(h.total_len());
            if ihl < Ipv4Header::MIN_LEN || h.is_fragment() || total < ihl || total > ip.len() {
                return false;
            }
            let l4_len = total - ihl;
            let proto = h.protocol();
            let pseudo = pseudo_v4(h.src(), h.dst(), proto, l4_len as u16);
            (proto, ihl, l4_len, pseudo)
        }
        Some(6) => {
            let Some(h) = Ipv6Header::new(ip) else {
                return false;
            };
            let l4_len = usize::from(h.payload_len());
            if Ipv6Header::LEN + l4_len > ip.len() {
                return false;
            }
            let proto = h.next_header();
            let pseudo = pseudo_v6(&h.src(), &h.dst(), proto, l4_len as u32);
            (proto, Ipv6Header::LEN, l4_len, pseudo)
        }
        _ => return false,
    };
    let v4 = ip.first().is_some_and(|b| b >> 4 == 4);
    let (field, pseudo) = match proto {
        ip_proto::TCP if l4_len >= 20 => (16, pseudo),
        ip_proto::UDP | ip_proto::UDPLITE if l4_len >= 8 => (6, pseudo),
        ip_proto::DCCP if l4_len >= 12 => (6, pseudo),
        // ICMP's covers the message only; ICMPv6's the pseudo-header too.
        ip_proto::ICMP if v4 && l4_len >= 4 => (2, 0),
        ip_proto::ICMPV6 if !v4 && l4_len >= 4 => (2, pseudo),
        _ => return false,
    };
    let Some(seg) = datagram.get_mut(l4_off..l4_off + l4_len) else {
        return false;
    };
    let covered = match proto {
        ip_proto::UDPLITE => match usize::from(u16::from_be_bytes([seg[4], seg[5]])) {
            0 => l4_len,
            n => n.min(l4_len),
        },
        ip_proto::DCCP => match seg[5] & 0x0f {
            0 => l4_len,
            n => (usize::from(seg[4]) * 4 + usize::from(n - 1) * 4).min(l4_len),
        },
        _ => l4_len,
    };
    seg[field..field + 2].copy_from_slice(&[0, 0]);
    let mut c = finish(sum(pseudo, &seg[..covered]));
    if matches!(proto, ip_proto::UDP | ip_proto::UDPLITE) && c == 0 {
        // UDP sends a computed zero as all ones (zero means "no checksum").
        c = 0xffff;
    }
    seg[field..field + 2].copy_from_slice(&c.to_be_bytes());
    true
}
