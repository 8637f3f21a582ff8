//! [`Ipv6Header`]: a view of the fixed IPv6 header over bytes.

use crate::bytes::{array, be16, be32};

/// A view of the fixed IPv6 header at the start of a byte slice.
///
/// [`Ipv6Header::new`] checks that its 40 bytes are there; the fields are read as they
/// are, and no accessor panics.
#[derive(Clone, Copy, Debug)]
pub struct Ipv6Header<'a> {
    /// The bytes from the start of the header (at least [`Ipv6Header::LEN`]).
    b: &'a [u8],
}

impl<'a> Ipv6Header<'a> {
    /// Length of the fixed header.
    pub const LEN: usize = 40;

    /// The header at the start of `b`, if `b` holds it.
    #[inline]
    pub fn new(b: &'a [u8]) -> Option<Ipv6Header<'a>> {
        (b.len() >= Self::LEN).then_some(Ipv6Header { b })
    }

    /// The bytes the view was made from (the header and whatever follows).
    #[inline]
    pub fn bytes(&self) -> &'a [u8] {
        self.b
    }

    /// The version nibble (6 in an IPv6 header).
    #[inline]
    pub fn version(&self) -> u8 {
        self.b.first().copied().unwrap_or_default() >> 4
    }

    /// Traffic class (DSCP and ECN).
    #[inline]
    pub fn traffic_class(&self) -> u8 {
        let word = be16(self.b, 0).unwrap_or_default();
        (word >> 4) as u8
    }

    /// Flow label (20 bits).
    #[inline]
    pub fn flow_label(&self) -> u32 {
        be32(self.b, 0).unwrap_or_default() & 0x000f_ffff
    }

    /// Payload length: the bytes after the fixed header, extension headers included.
    #[inline]
    pub fn payload_len(&self) -> u16 {
        be16(self.b, 4).unwrap_or_default()
    }

    /// The first next-header value (an extension header or the transport protocol,
    /// [`crate::ip_proto`]).
    #[inline]
    pub fn next_header(&self) -> u8 {
        self.b.get(6).copied().unwrap_or_default()
    }

    /// Hop limit.
    #[inline]
    pub fn hop_limit(&self) -> u8 {
        self.b.get(7).copied().unwrap_or_default()
    }

    /// Source address.
    #[inline]
    pub fn src(&self) -> [u8; 16] {
        array(self.b, 8).unwrap_or_default()
    }

    /// Destination address.
    #[inline]
    pub fn dst(&self) -> [u8; 16] {
        array(self.b, 24).unwrap_or_default()
    }
}
