//! The few TCP header fields conntrack looks at, read from the bytes of a segment.

use super::flags::{TCP_FIN, TCP_SYN};

/// Length of a TCP header without options.
const BASE_HEADER_LEN: usize = 20;

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
}

impl<'a> Segment<'a> {
    /// From the TCP header and what follows (l4 bytes = header + payload, clipped to the
    /// IP datagram). `None` if the header is shorter than 20 bytes or its data offset is
    /// below 5 words or beyond the bytes present (Linux's "truncated packet").
    pub fn parse(l4: &'a [u8]) -> Option<Segment<'a>> {
        let word = |at: usize| -> Option<u32> {
            let b = l4.get(at..at + 4)?;
            Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        };
        if l4.len() < BASE_HEADER_LEN {
            return None;
        }
        let header_len = usize::from(l4[12] >> 4) * 4;
        if header_len < BASE_HEADER_LEN || header_len > l4.len() {
            return None;
        }
        Some(Segment {
            seq: word(4)?,
            ack: word(8)?,
            flags: l4[13],
            window: u16::from_be_bytes([l4[14], l4[15]]),
            payload_len: u32::try_from(l4.len() - header_len).unwrap_or(u32::MAX),
            options: l4.get(BASE_HEADER_LEN..header_len)?,
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
