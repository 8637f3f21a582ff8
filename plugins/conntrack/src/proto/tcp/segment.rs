//! The few TCP header fields conntrack looks at, read from the bytes of a segment
//! through the wire crate's [`TcpHeader`] view.

use super::flags::{TCP_FIN, TCP_SYN};
use brickwall_wire::TcpHeader;

/// The TCP fields conntrack needs from one segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment<'a> {
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgement number (meaningful only with ACK).
    pub ack: u32,
    /// Flag byte: FIN 1, SYN 2, RST 4, PSH 8, ACK 16, URG 32, ECE 64, CWR 128.
    pub flags: u8,
    /// Raw (unscaled) window.
    pub window: u16,
    /// Payload bytes after the header.
    pub payload_len: u32,
    /// The option bytes (between the 20-byte header and the data offset).
    pub options: &'a [u8],
    /// What to take off the ack and SACK edges before the window check: the receiver's
    /// sequence adjustment at the acknowledged byte, when a helper behind NAT changed a
    /// payload's length (Linux's `nf_ct_seq_offset`); 0 otherwise.
    pub ack_offset: i32,
}

impl<'a> Segment<'a> {
    /// From the TCP header and what follows (l4 bytes = header + payload, clipped to the
    /// IP datagram). `None` if the header is shorter than 20 bytes or its data offset is
    /// below 5 words or beyond the bytes present (Linux's "truncated packet").
    pub fn parse(l4: &'a [u8]) -> Option<Segment<'a>> {
        let h = TcpHeader::new_whole(l4)?;
        Some(Segment {
            seq: h.seq(),
            ack: h.ack(),
            flags: h.flags(),
            window: h.window(),
            payload_len: u32::try_from(l4.len().saturating_sub(h.header_len())).unwrap_or(u32::MAX),
            options: h.options(),
            ack_offset: 0,
        })
    }

    /// Whether all bits of `flag` are set.
    #[inline]
    pub fn has(&self, flag: u8) -> bool {
        self.flags & flag == flag
    }

    /// The sequence number just past this segment: payload bytes plus one for SYN and
    /// one for FIN (wrapping).
    pub fn end(&self) -> u32 {
        let syn = u32::from(self.has(TCP_SYN));
        let fin = u32::from(self.has(TCP_FIN));
        self.seq
            .wrapping_add(self.payload_len)
            .wrapping_add(syn)
            .wrapping_add(fin)
    }
}
