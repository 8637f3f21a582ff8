//! [`Ipv4Header`]: a view of an IPv4 header over bytes.

use crate::bytes::{array, be16};

/// A view of the IPv4 header at the start of a byte slice.
///
/// [`Ipv4Header::new`] checks that the 20 fixed bytes are there; nothing else is
/// checked (the version, the header length and the total length are read as they
/// are), and no accessor panics.
#[derive(Clone, Copy, Debug)]
pub struct Ipv4Header<'a> {
    /// The bytes from the start of the header (at least [`Ipv4Header::MIN_LEN`]).
    b: &'a [u8],
}

impl<'a> Ipv4Header<'a> {
    /// Length of a header without options.
    pub const MIN_LEN: usize = 20;

    /// The header at the start of `b`, if `b` holds its fixed part.
    #[inline]
    pub fn new(b: &'a [u8]) -> Option<Ipv4Header<'a>> {
        (b.len() >= Self::MIN_LEN).then_some(Ipv4Header { b })
    }

    /// The bytes the view was made from (the header and whatever follows).
    #[inline]
    pub fn bytes(&self) -> &'a [u8] {
        self.b
    }

    /// The byte at `at` of the fixed part.
    #[inline]
    fn byte(&self, at: usize) -> u8 {
        self.b.get(at).copied().unwrap_or_default()
    }

    /// The version nibble (4 in an IPv4 header).
    #[inline]
    pub fn version(&self) -> u8 {
        self.byte(0) >> 4
    }

    /// Header length in bytes, options included (IHL times 4).
    #[inline]
    pub fn header_len(&self) -> usize {
        usize::from(self.byte(0) & 0x0f) * 4
    }

    /// The DSCP and ECN byte (the former TOS).
    #[inline]
    pub fn tos(&self) -> u8 {
        self.byte(1)
    }

    /// Total length of the datagram, as the header says.
    #[inline]
    pub fn total_len(&self) -> u16 {
        be16(self.b, 2).unwrap_or_default()
    }

    /// Identification.
    #[inline]
    pub fn ident(&self) -> u16 {
        be16(self.b, 4).unwrap_or_default()
    }

    /// The flags and fragment offset word.
    #[inline]
    fn frag_word(&self) -> u16 {
        be16(self.b, 6).unwrap_or_default()
    }

    /// Don't fragment.
    #[inline]
    pub fn dont_frag(&self) -> bool {
        self.frag_word() & 0x4000 != 0
    }

    /// More fragments.
    #[inline]
    pub fn more_frags(&self) -> bool {
        self.frag_word() & 0x2000 != 0
    }

    /// Offset of this fragment's data in the original datagram, in bytes.
    #[inline]
    pub fn frag_offset(&self) -> u32 {
        u32::from(self.frag_word() & 0x1fff) * 8
    }

    /// A fragment: MF set or a non-zero offset (Linux's `ip_is_fragment`).
    #[inline]
    pub fn is_fragment(&self) -> bool {
        self.frag_word() & 0x3fff != 0
    }

    /// Time to live.
    #[inline]
    pub fn ttl(&self) -> u8 {
        self.byte(8)
    }

    /// The protocol of the payload ([`crate::ip_proto`]).
    #[inline]
    pub fn protocol(&self) -> u8 {
        self.byte(9)
    }

    /// The header checksum field.
    #[inline]
    pub fn checksum(&self) -> u16 {
        be16(self.b, 10).unwrap_or_default()
    }

    /// Source address.
    #[inline]
    pub fn src(&self) -> [u8; 4] {
        array(self.b, 12).unwrap_or_default()
    }

    /// Destination address.
    #[inline]
    pub fn dst(&self) -> [u8; 4] {
        array(self.b, 16).unwrap_or_default()
    }

    /// The whole header, options included, if the bytes hold it.
    #[inline]
    pub fn header(&self) -> Option<&'a [u8]> {
        self.b.get(..self.header_len())
    }
}
