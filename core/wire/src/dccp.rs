//! [`DccpHeader`]: a view of a DCCP header (RFC 4340, section 5) over bytes, and the
//! packet type numbers.
//!
//! The generic header is 12 bytes, or 16 with the X bit (48-bit sequence numbers):
//! ports, data offset (in 32-bit words), CCVal and checksum coverage (4 bits each),
//! checksum, type (4 bits) and X, then the sequence number. Every type but Data and
//! Request follows it with an acknowledgement subheader whose acknowledgement number
//! is as wide as the sequence number.

use crate::bytes::{be16, be32};

/// Request (client to server, opens a connection).
pub const REQUEST: u8 = 0;
/// Response (server to client).
pub const RESPONSE: u8 = 1;
/// Data.
pub const DATA: u8 = 2;
/// Ack.
pub const ACK: u8 = 3;
/// DataAck.
pub const DATAACK: u8 = 4;
/// CloseReq (server asks the client to close).
pub const CLOSEREQ: u8 = 5;
/// Close.
pub const CLOSE: u8 = 6;
/// Reset (ends the connection).
pub const RESET: u8 = 7;
/// Sync.
pub const SYNC: u8 = 8;
/// SyncAck.
pub const SYNCACK: u8 = 9;
/// First reserved type: types from here on are not defined.
pub const RESERVED: u8 = 10;

/// A view of the DCCP header at the start of a byte slice.
///
/// [`DccpHeader::new`] checks that the 12 bytes every header has are there; the data
/// offset and the fields past those 12 bytes are read as they are, and no accessor
/// panics (a field beyond the bytes reads as 0).
#[derive(Clone, Copy, Debug)]
pub struct DccpHeader<'a> {
    /// The bytes from the start of the header (at least [`DccpHeader::MIN_LEN`]).
    b: &'a [u8],
}

impl<'a> DccpHeader<'a> {
    /// Length of the generic header with 24-bit sequence numbers.
    pub const MIN_LEN: usize = 12;
    /// Offset of the checksum.
    pub const CHECKSUM_OFF: usize = 6;

    /// The header at the start of `b`, if `b` holds its first 12 bytes.
    #[inline]
    pub fn new(b: &'a [u8]) -> Option<DccpHeader<'a>> {
        (b.len() >= Self::MIN_LEN).then_some(DccpHeader { b })
    }

    /// The bytes the view was made from (the header and whatever follows).
    #[inline]
    pub fn bytes(&self) -> &'a [u8] {
        self.b
    }

    /// Source port.
    #[inline]
    pub fn src_port(&self) -> u16 {
        be16(self.b, 0).unwrap_or_default()
    }

    /// Destination port.
    #[inline]
    pub fn dst_port(&self) -> u16 {
        be16(self.b, 2).unwrap_or_default()
    }

    /// Data offset in bytes (the field counts 32-bit words): where the payload starts.
    #[inline]
    pub fn header_len(&self) -> usize {
        usize::from(self.b.get(4).copied().unwrap_or_default()) * 4
    }

    /// CCVal, for the congestion control (high 4 bits of byte 5).
    #[inline]
    pub fn ccval(&self) -> u8 {
        self.b.get(5).copied().unwrap_or_default() >> 4
    }

    /// Checksum coverage field (low 4 bits of byte 5): 0 covers the whole packet, `n`
    /// the header and `n - 1` words of payload.
    #[inline]
    pub fn cscov(&self) -> u8 {
        self.b.get(5).copied().unwrap_or_default() & 0x0f
    }

    /// The checksum.
    #[inline]
    pub fn checksum(&self) -> u16 {
        be16(self.b, Self::CHECKSUM_OFF).unwrap_or_default()
    }

    /// Packet type (4 bits; [`REQUEST`] … [`SYNCACK`], reserved from [`RESERVED`]).
    #[inline]
    pub fn packet_type(&self) -> u8 {
        (self.b.get(8).copied().unwrap_or_default() >> 1) & 0x0f
    }

    /// The X bit: sequence and acknowledgement numbers are 48 bits wide.
    #[inline]
    pub fn extended(&self) -> bool {
        self.b.get(8).copied().unwrap_or_default() & 1 != 0
    }

    /// Length of the generic header: 16 bytes with the X bit, else 12.
    #[inline]
    pub fn generic_len(&self) -> usize {
        if self.extended() {
            16
        } else {
            12
        }
    }

    /// Sequence number: 48 bits with the X bit, else 24.
    #[inline]
    pub fn seq(&self) -> u64 {
        let high = u64::from(be16(self.b, 10).unwrap_or_default());
        if self.extended() {
            high << 32 | u64::from(be32(self.b, 12).unwrap_or_default())
        } else {
            u64::from(self.b.get(9).copied().unwrap_or_default()) << 16 | high
        }
    }

    /// The acknowledgement number as the 48-bit layout places it right after the
    /// generic header (bytes 2..8 of the acknowledgement subheader), whatever the X bit
    /// says: Linux's conntrack reads it so.
    #[inline]
    pub fn ack_48(&self) -> u64 {
        let at = self.generic_len();
        u64::from(be16(self.b, at + 2).unwrap_or_default()) << 32
            | u64::from(be32(self.b, at + 4).unwrap_or_default())
    }

    /// Length of the type's subheader after the generic header, as Linux's
    /// `dccp_packet_hdr_len` counts it: none for Data, 4 for Request (service code),
    /// 12 for Response and Reset, 8 (a 48-bit acknowledgement) for the others.
    #[inline]
    pub fn subheader_len(&self) -> usize {
        match self.packet_type() {
            DATA => 0,
            REQUEST => 4,
            RESPONSE | RESET => 12,
            _ => 8,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_of_a_request_and_of_short_headers() {
        // Request, X set, doff 5, CsCov 1, sequence 0x0102_0304_0506, service 42.
        let mut b = vec![
            0x13, 0x89, 0x17, 0x71, 5, 0x21, 0xab, 0xcd, 0x01, 0, 0x01, 0x02,
        ];
        b.extend_from_slice(&[3, 4, 5, 6, 0, 0, 0, 42]);
        let h = DccpHeader::new(&b).unwrap();
        assert_eq!((h.src_port(), h.dst_port()), (5001, 6001));
        assert_eq!((h.header_len(), h.ccval(), h.cscov()), (20, 2, 1));
        assert_eq!(
            (h.checksum(), h.packet_type(), h.extended()),
            (0xabcd, REQUEST, true)
        );
        assert_eq!((h.generic_len(), h.subheader_len()), (16, 4));
        assert_eq!(h.seq(), 0x0102_0304_0506);
        // 24-bit sequence numbers: byte 9 is the high byte.
        let mut d = b.clone();
        d[8] = DATA << 1;
        d[9] = 7;
        let h = DccpHeader::new(&d).unwrap();
        assert_eq!(
            (h.seq(), h.generic_len(), h.subheader_len()),
            (0x07_0102, 12, 0)
        );
        // An Ack whose acknowledgement number lies past the bytes reads as 0.
        d[8] = ACK << 1 | 1;
        assert_eq!(DccpHeader::new(&d[..16]).unwrap().ack_48(), 0);
        assert!(DccpHeader::new(&b[..11]).is_none());
        for n in 12..b.len() {
            let h = DccpHeader::new(&b[..n]).unwrap();
            let _ = (h.seq(), h.ack_48(), h.header_len());
        }
    }
}
