//! Completing a checksum the sender left to hardware. A frame that reached a packet
//! socket with a partial checksum (a veth peer or the host itself with transmit
//! checksumming on) carries only the pseudo-header sum in its TCP or UDP checksum field;
//! forwarded as it is, the receiver would drop it. This computes the real one.

use brickwall_wire::{checksum, ip_proto, Ipv4Header, Ipv6Header};

/// Recomputes the TCP or UDP checksum of the IP datagram at `l3` in `frame` (IPv4
/// without fragments, or IPv6 with TCP/UDP right after the fixed header). Returns
/// whether it wrote one; anything else is left as it is.
pub fn complete_l4(frame: &mut [u8], l3: usize) -> bool {
    let Some(ip) = frame.get(l3..) else {
        return false;
    };
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
            let pseudo = checksum::pseudo_v4(h.src(), h.dst(), proto, l4_len as u16);
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
            let pseudo = checksum::pseudo_v6(&h.src(), &h.dst(), proto, l4_len as u32);
            (proto, Ipv6Header::LEN, l4_len, pseudo)
        }
        _ => return false,
    };
    let field = match proto {
        ip_proto::TCP if l4_len >= 20 => 16,
        ip_proto::UDP if l4_len >= 8 => 6,
        _ => return false,
    };
    let start = l3 + l4_off;
    let Some(seg) = frame.get_mut(start..start + l4_len) else {
        return false;
    };
    seg[field..field + 2].copy_from_slice(&[0, 0]);
    let mut c = checksum::finish(checksum::sum(pseudo, seg));
    if proto == ip_proto::UDP && c == 0 {
        // UDP sends a computed zero as all ones (zero means "no checksum").
        c = 0xffff;
    }
    seg[field..field + 2].copy_from_slice(&c.to_be_bytes());
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn udp4(payload: &[u8]) -> Vec<u8> {
        let b = etherparse::PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
            .udp(1000, 53);
        let mut out = Vec::new();
        b.write(&mut out, payload).unwrap();
        out
    }

    fn tcp6(payload: &[u8]) -> Vec<u8> {
        let b = etherparse::PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv6([0xfd; 16], [0xfe; 16], 64)
            .tcp(40000, 21, 7, 1000)
            .ack(9);
        let mut out = Vec::new();
        b.write(&mut out, payload).unwrap();
        out
    }

    #[test]
    fn a_spoilt_checksum_is_restored_exactly() {
        for good in [
            udp4(b"hello"),
            udp4(b"odd"),
            tcp6(b"RETR file\r\n"),
            tcp6(b""),
        ] {
            let mut bad = good.clone();
            // What a partial checksum looks like: anything but the right value.
            let at = if good[12] == 0x08 {
                14 + 20 + 6
            } else {
                14 + 40 + 16
            };
            bad[at] ^= 0x5a;
            bad[at + 1] ^= 0xa5;
            assert_ne!(bad, good);
            assert!(complete_l4(&mut bad, 14));
            assert_eq!(bad, good);
        }
    }

    #[test]
    fn what_it_cannot_fix_it_leaves_alone() {
        let mut frag = udp4(b"x");
        frag[14 + 6] = 0x20; // more fragments
        let before = frag.clone();
        assert!(!complete_l4(&mut frag, 14));
        assert_eq!(frag, before);
        for junk in [&[][..], &[0x45], &[0x60; 39], &[0x99; 60]] {
            let mut j = junk.to_vec();
            assert!(!complete_l4(&mut j, 0));
        }
        let mut short = udp4(b"abc");
        short.truncate(30);
        assert!(!complete_l4(&mut short, 14));
        assert!(!complete_l4(&mut short, 400));
    }
}
