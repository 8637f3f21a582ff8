//! [`TcpHeader`]: a view of a TCP header over bytes.

use crate::bytes::{be16, be32};

/// A view of the TCP header at the start of a byte slice.
///
/// [`TcpHeader::new`] checks that the 20 fixed bytes are there; the data offset is read
/// as it is (see [`TcpHeader::options`]), and no accessor panics.
#[derive(Clone, Copy, Debug)]
pub struct TcpHeader<'a> {
    /// The bytes from the start of the header (at least [`TcpHeader::MIN_LEN`]).
    b: &'a [u8],
}

impl<'a> TcpHeader<'a> {
    /// Length of a header without options.
    pub const MIN_LEN: usize = 20;

    /// The header at the start of `b`, if `b` holds its fixed part.
    #[inline]
    pub fn new(b: &'a [u8]) -> Option<TcpHeader<'a>> {
        (b.len() >= Self::MIN_LEN).then_some(TcpHeader { b })
    }

    /// The header at the start of `b`, if its data offset is at least 5 words and `b`
    /// holds the whole header, options included.
    #[inline]
    pub fn new_whole(b: &'a [u8]) -> Option<TcpHeader<'a>> {
        let h = TcpHeader::new(b)?;
        (h.header_len() >= Self::MIN_LEN && h.header_len() <= b.len()).then_some(h)
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

    /// Sequence number.
    #[inline]
    pub fn seq(&self) -> u32 {
        be32(self.b, 4).unwrap_or_default()
    }

    /// Acknowledgment number.
    #[inline]
    pub fn ack(&self) -> u32 {
        be32(self.b, 8).unwrap_or_default()
    }

    /// Header length in bytes, options included (data offset times 4).
    #[inline]
    pub fn header_len(&self) -> usize {
        usize::from(self.b.get(12).copied().unwrap_or_default() >> 4) * 4
    }

    /// The flag byte: FIN 1, SYN 2, RST 4, PSH 8, ACK 16, URG 32, ECE 64, CWR 128.
    #[inline]
    pub fn flags(&self) -> u8 {
        self.b.get(13).copied().unwrap_or_default()
    }

    /// Window (unscaled).
    #[inline]
    pub fn window(&self) -> u16 {
        be16(self.b, 14).unwrap_or_default()
    }

    /// The checksum field.
    #[inline]
    pub fn checksum(&self) -> u16 {
        be16(self.b, 16).unwrap_or_default()
    }

    /// The option bytes, between the fixed header and the data offset; empty when the
    /// data offset is below 5 words or beyond the bytes present.
    #[inline]
    pub fn options(&self) -> &'a [u8] {
        self.b
            .get(Self::MIN_LEN..self.header_len())
            .unwrap_or_default()
    }
}
