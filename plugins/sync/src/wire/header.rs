//! The message header: a view over its bytes and the numbers it holds.
//!
//! ```text
//!  0       4       8              16                              32
//! +-------+-------+---------------+-------------------------------+
//! |version| type  |     flags     |            length             |
//! +-------+-------+---------------+-------------------------------+
//! |                        sequence number                        |
//! +---------------------------------------------------------------+
//! |              from (ACK, NACK and RESYNC only)                 |
//! +---------------------------------------------------------------+
//! |               to (ACK, NACK and RESYNC only)                  |
//! +---------------------------------------------------------------+
//! ```
//!
//! The version is the first byte's high nibble and the type its low one (conntrackd
//! declares them as C bit-fields, which little-endian compilers lay out so). The length
//! counts the whole message, header included. Every sender numbers all its messages,
//! data and control alike, in one sequence that starts at the Unix time it started.

use super::{Error, Result};

/// The protocol version conntrack-tools 1.4 speaks.
pub const VERSION: u8 = 1;
/// Bytes of a header.
pub const LEN: usize = 8;
/// Bytes of the header of an ACK, NACK or RESYNC: the header and a range.
pub const ACK_LEN: usize = 16;

/// Message types (the header's low nibble).
pub mod kind {
    /// A new conntrack.
    pub const CT_NEW: u8 = 0;
    /// A conntrack's update.
    pub const CT_UPDATE: u8 = 1;
    /// A conntrack's end.
    pub const CT_DESTROY: u8 = 2;
    /// A new expectation.
    pub const EXP_NEW: u8 = 3;
    /// An expectation's update.
    pub const EXP_UPDATE: u8 = 4;
    /// An expectation's end.
    pub const EXP_DESTROY: u8 = 5;
    /// The last type that carries an entry.
    pub const STATE_MAX: u8 = EXP_DESTROY;
    /// A control message: its flags say which.
    pub const CONTROL: u8 = 10;
}

/// Header flags.
pub mod flag {
    /// Never set.
    pub const UNUSED: u8 = 1 << 0;
    /// Control: send me all your states (the range is zero).
    pub const RESYNC: u8 = 1 << 1;
    /// Control (FTFW): the messages `from..=to` were lost, send them again.
    pub const NACK: u8 = 1 << 2;
    /// Control (FTFW): the messages `from..=to` arrived.
    pub const ACK: u8 = 1 << 3;
    /// Control: I am alive (sent when there was nothing else to send for a second).
    pub const ALIVE: u8 = 1 << 4;
    /// Any message (FTFW): I have (re)started; forget my old sequence numbers.
    pub const HELLO: u8 = 1 << 5;
    /// Any message (FTFW): your HELLO arrived.
    pub const HELLO_BACK: u8 = 1 << 6;
    /// The flags a data message may carry.
    pub const DATA_ALLOWED: u8 = HELLO | HELLO_BACK;
    /// The flags whose control messages carry a range.
    pub const RANGED: u8 = RESYNC | NACK | ACK;
}

/// A view over a message header. Reads never panic once [`Header::new_checked`]
/// accepted the bytes.
#[derive(Debug, Clone, Copy)]
pub struct Header<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Header<T> {
    /// A view over `buffer`, unchecked: reads may panic if it is shorter than the
    /// header (used to fill in a buffer of the right size).
    pub const fn new_unchecked(buffer: T) -> Header<T> {
        Header { buffer }
    }

    /// A view over `buffer` if it holds a whole header and the length field is
    /// consistent: at least the header (16 bytes for a ranged control message), at
    /// most the buffer. The bytes past the length belong to the next message.
    pub fn new_checked(buffer: T) -> Result<Header<T>> {
        let b = buffer.as_ref();
        if b.len() < LEN {
            return Err(Error::Truncated);
        }
        let h = Header { buffer };
        let need = if h.is_ranged() { ACK_LEN } else { LEN };
        let len = h.len() as usize;
        if len < need {
            return Err(Error::BadLength);
        }
        if h.buffer.as_ref().len() < len {
            return Err(Error::Truncated);
        }
        Ok(h)
    }

    /// The bytes under the view.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The protocol version.
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[0] >> 4
    }

    /// The message type ([`kind`]).
    pub fn kind(&self) -> u8 {
        self.buffer.as_ref()[0] & 0x0f
    }

    /// The flags ([`flag`]).
    pub fn flags(&self) -> u8 {
        self.buffer.as_ref()[1]
    }

    /// The message's length, header included.
    pub fn len(&self) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_be_bytes([b[2], b[3]])
    }

    /// Whether the length field says zero (never valid).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The sequence number.
    pub fn seq(&self) -> u32 {
        let b = self.buffer.as_ref();
        u32::from_be_bytes([b[4], b[5], b[6], b[7]])
    }

    /// Whether this is a control message with a range (ACK, NACK or RESYNC), as
    /// conntrackd decides it: the control type and any of those flags.
    pub fn is_ranged(&self) -> bool {
        self.kind() == kind::CONTROL && self.flags() & flag::RANGED != 0
    }

    /// The range's first sequence number (ranged control messages; 0 otherwise).
    pub fn from(&self) -> u32 {
        self.word(8)
    }

    /// The range's last sequence number (ranged control messages; 0 otherwise).
    pub fn to(&self) -> u32 {
        self.word(12)
    }

    fn word(&self, at: usize) -> u32 {
        match self.buffer.as_ref().get(at..at + 4) {
            Some(w) if self.is_ranged() => u32::from_be_bytes([w[0], w[1], w[2], w[3]]),
            _ => 0,
        }
    }

    /// The bytes after the header, up to the length: the attributes.
    pub fn payload(&self) -> &[u8] {
        let b = self.buffer.as_ref();
        let start = if self.is_ranged() { ACK_LEN } else { LEN };
        let end = (self.len() as usize).min(b.len());
        b.get(start..end).unwrap_or(&[])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Header<T> {
    /// Sets the version and the type.
    pub fn set_version_kind(&mut self, version: u8, kind: u8) {
        self.buffer.as_mut()[0] = (version << 4) | (kind & 0x0f);
    }

    /// Sets the flags.
    pub fn set_flags(&mut self, flags: u8) {
        self.buffer.as_mut()[1] = flags;
    }

    /// Sets the length.
    pub fn set_len(&mut self, len: u16) {
        self.buffer.as_mut()[2..4].copy_from_slice(&len.to_be_bytes());
    }

    /// Sets the sequence number.
    pub fn set_seq(&mut self, seq: u32) {
        self.buffer.as_mut()[4..8].copy_from_slice(&seq.to_be_bytes());
    }

    /// Sets the range (the buffer must hold [`ACK_LEN`] bytes).
    pub fn set_range(&mut self, from: u32, to: u32) {
        let b = self.buffer.as_mut();
        b[8..12].copy_from_slice(&from.to_be_bytes());
        b[12..16].copy_from_slice(&to.to_be_bytes());
    }
}

/// Appends a header to `out`: version 1, `kind`, `flags`, `seq`, and a length to be
/// filled in by [`finish`] (a range of zeros when `flags` make it ranged). Returns
/// where the header begins.
pub fn begin(out: &mut Vec<u8>, kind: u8, flags: u8, seq: u32) -> usize {
    let start = out.len();
    let ranged = kind == self::kind::CONTROL && flags & flag::RANGED != 0;
    out.resize(start + if ranged { ACK_LEN } else { LEN }, 0);
    let mut h = Header::new_unchecked(&mut out[start..]);
    h.set_version_kind(VERSION, kind);
    h.set_flags(flags);
    h.set_seq(seq);
    start
}

/// Writes the length of the message that begins at `start` and ends at `out`'s end.
/// Returns false (and writes nothing) if it is longer than the field holds.
pub fn finish(out: &mut [u8], start: usize) -> bool {
    let Ok(len) = u16::try_from(out.len() - start) else {
        return false;
    };
    Header::new_unchecked(&mut out[start..]).set_len(len);
    true
}

/// Whether sequence number `a` comes before `b`, modulo 2^32 (as TCP compares them).
pub fn seq_before(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}
