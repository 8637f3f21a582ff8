//! Completing a checksum the sender left to hardware. A frame that reached a packet
//! socket with a partial checksum (a veth peer or the host itself with transmit
//! checksumming on) carries only the pseudo-header sum in its TCP or UDP checksum field;
//! forwarded as it is, the receiver would drop it. This computes the real one.

/// Adds `data` to a running one's-complement sum (big-endian 16-bit words).
fn sum(mut acc: u32, data: &[u8]) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        acc += u16::from_be_bytes([c[0], c[1]]) as u32;
    }
    if let [last] = chunks.remainder() {
        acc += (*last as u32) << 8;
    }
    acc
}

fn fold(mut acc: u32) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

/// Recomputes the TCP or UDP checksum of the IP datagram at `l3` in `frame` (IPv4
/// without fragments, or IPv6 with TCP/UDP right after the fixed header). Returns
/// whether it wrote one; anything else is left as it is.
pub fn complete_l4(frame: &mut [u8], l3: usize) -> bool {
    let Some(ip) = frame.get(l3..) else {
        return false;
    };
    let Some(&v) = ip.first() else {
        return false;
    };
    let (proto, l4_off, l4_len, pseudo) = match v >> 4 {
        4 => {
            let ihl = (v & 0x0f) as usize * 4;
            if ip.len() < 20 || ihl < 20 || ip.len() < ihl {
                return false;
            }
            let total = u16::from_be_bytes([ip[2], ip[3]]) as usize;
            let frag = u16::from_be_bytes([ip[6], ip[7]]) & 0x3fff;
            if frag != 0 || total < ihl || total > ip.len() {
                return false;
            }
            let l4_len = total - ihl;
            let mut p = sum(0, &ip[12..20]);
            p += ip[9] as u32 + l4_len as u32;
            (ip[9], ihl, l4_len, p)
        }
        6 => {
            if ip.len() < 40 {
                return false;
            }
            let l4_len = u16::from_be_bytes([ip[4], ip[5]]) as usize;
            if 40 + l4_len > ip.len() {
                return false;
            }
            let mut p = sum(0, &ip[8..40]);
            p += ip[6] as u32 + l4_len as u32;
            (ip[6], 40, l4_len, p)
        }
        _ => return false,
    };
    let field = match proto {
        6 if l4_len >= 20 => 16,
        17 if l4_len >= 8 => 6,
        _ => return false,
    };
    let start = l3 + l4_off;
    let seg = &mut frame[start..start + l4_len];
    seg[field] = 0;
    seg[field + 1] = 0;
    let mut c = fold(sum(pseudo, seg));
    if proto == 17 && c == 0 {
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
