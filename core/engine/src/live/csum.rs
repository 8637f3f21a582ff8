//! Completing a checksum the sender left to hardware. A frame that reached a packet
//! socket with a partial checksum (a veth peer or the host itself with transmit
//! checksumming on) carries only the pseudo-header sum in its TCP or UDP checksum field;
//! forwarded as it is, the receiver would drop it. This computes the real one.

use brickwall_wire::checksum;

/// Recomputes the TCP or UDP checksum of the IP datagram at `l3` in `frame` (see
/// [`checksum::fill_transport`]). Returns whether it wrote one.
pub fn complete_l4(frame: &mut [u8], l3: usize) -> bool {
    frame.get_mut(l3..).is_some_and(checksum::fill_transport)
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
