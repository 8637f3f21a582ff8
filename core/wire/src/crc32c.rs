//! CRC-32C (Castagnoli), the checksum of SCTP packets (RFC 9260, appendix A): the
//! reflected CRC with polynomial 0x1EDC6F41, initial value and final XOR all ones. An
//! SCTP packet carries it in its common header's bytes 8..12, least significant byte
//! first, computed with those bytes zero; it covers the SCTP packet only (no
//! pseudo-header), so translating addresses leaves it alone and changing a port means
//! computing it again.

/// The reflected polynomial.
const POLY: u32 = 0x82F6_3B78;

/// The byte-at-a-time table.
const TABLE: [u32; 256] = {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 { (c >> 1) ^ POLY } else { c >> 1 };
            k += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
};

/// Feeds `data` into the running register `crc` (start from `!0`).
#[inline]
fn feed(mut crc: u32, data: &[u8]) -> u32 {
    for &b in data {
        crc = TABLE[((crc ^ u32::from(b)) & 0xff) as usize] ^ (crc >> 8);
    }
    crc
}

/// The CRC-32C of `data`.
pub fn crc32c(data: &[u8]) -> u32 {
    !feed(!0, data)
}

/// Offset of the checksum in SCTP's common header.
pub const SCTP_CHECKSUM_OFF: usize = 8;

/// The checksum of SCTP packet `packet` (common header and chunks), computed as if
/// its checksum bytes were zero; `None` for a packet shorter than the common header.
pub fn sctp(packet: &[u8]) -> Option<u32> {
    let (head, rest) = packet.split_at_checked(SCTP_CHECKSUM_OFF)?;
    let rest = rest.get(4..)?;
    Some(!feed(feed(feed(!0, head), &[0; 4]), rest))
}

/// Writes packet `packet`'s SCTP checksum into its header; false (nothing written)
/// for a packet shorter than the common header.
pub fn set_sctp(packet: &mut [u8]) -> bool {
    match sctp(packet) {
        Some(c) => {
            packet[SCTP_CHECKSUM_OFF..SCTP_CHECKSUM_OFF + 4].copy_from_slice(&c.to_le_bytes());
            true
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        // The check value of CRC-32C, and RFC 3720's (iSCSI) test patterns.
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(crc32c(&[0u8; 32]), 0x8A91_36AA);
        assert_eq!(crc32c(&[0xffu8; 32]), 0x62A8_AB43);
        let up: Vec<u8> = (0u8..32).collect();
        assert_eq!(crc32c(&up), 0x46DD_794E);
        let down: Vec<u8> = (0u8..32).rev().collect();
        assert_eq!(crc32c(&down), 0x113F_DB5C);
    }

    #[test]
    fn an_sctp_packet_checks_with_its_checksum_bytes_taken_as_zero() {
        let mut p = vec![0x13, 0x88, 0x13, 0x89, 0, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef];
        p.extend_from_slice(&[
            1, 0, 0, 20, 1, 2, 3, 4, 0, 1, 0, 0, 0, 10, 0, 10, 5, 6, 7, 8,
        ]);
        assert!(set_sctp(&mut p));
        let stored = u32::from_le_bytes([p[8], p[9], p[10], p[11]]);
        let mut zeroed = p.clone();
        zeroed[8..12].fill(0);
        assert_eq!(stored, crc32c(&zeroed));
        assert_eq!(sctp(&p), Some(stored));
        assert_eq!(sctp(&p[..11]), None);
        assert!(!set_sctp(&mut p[..11].to_vec()));
    }
}
