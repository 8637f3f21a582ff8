//! conntrackd's network protocol (conntrack-tools 1.4, protocol version 1): what a
//! datagram between two sync daemons holds.
//!
//! A datagram carries one message or several back to back. Each message begins with
//! an 8-byte [`header`] (version, type, flags, length, sequence number; 16 bytes for
//! the acknowledgements of FTFW, which add a range of sequence numbers). A conntrack or
//! expectation message then carries [`attr`]ibutes, each a 4-byte TLV header and a
//! payload padded to a multiple of four. [`conntrack`] and [`expect`] are the entries
//! those attributes describe; [`message`] puts headers and entries together and splits
//! a datagram into its messages.
//!
//! Multi-byte numbers are big-endian, with one exception conntrackd inherits from
//! libnetfilter_conntrack: the NAT ports and the ICMP id, which the library keeps in
//! network order and conntrackd converts once more, travel byte-swapped between
//! little-endian hosts. [`conntrack`] says more.

pub mod attr;
pub mod conntrack;
pub mod expect;
pub mod header;
pub mod message;

use std::fmt;

/// Why bytes are not a valid message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// Fewer bytes than a header, or than the length a header announces.
    Truncated,
    /// A header's length is shorter than its header, or not a multiple of four.
    BadLength,
    /// A protocol version other than [`header::VERSION`].
    BadVersion(u8),
    /// A message type that is neither an entry's nor a control message's.
    BadType(u8),
    /// A control message with no known flag, or a data message with control flags.
    BadFlags(u8),
    /// An attribute whose length is shorter than its header or runs past the message.
    BadAttrLength(u16),
    /// An attribute code this protocol version does not define.
    UnknownAttr(u16),
    /// An attribute whose payload has the wrong size for its code.
    BadAttrSize(u16),
    /// A string attribute with no terminating zero, or not UTF-8.
    BadString(u16),
    /// An ACK or NACK whose range ends before it begins.
    BadRange,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Truncated => write!(f, "truncated message"),
            Error::BadLength => write!(f, "bad message length"),
            Error::BadVersion(v) => write!(f, "unknown protocol version {v}"),
            Error::BadType(t) => write!(f, "unknown message type {t}"),
            Error::BadFlags(x) => write!(f, "bad flags {x:#04x}"),
            Error::BadAttrLength(c) => write!(f, "attribute {c}: bad length"),
            Error::UnknownAttr(c) => write!(f, "unknown attribute {c}"),
            Error::BadAttrSize(c) => write!(f, "attribute {c}: wrong size"),
            Error::BadString(c) => write!(f, "attribute {c}: bad string"),
            Error::BadRange => write!(f, "acknowledged range ends before it begins"),
        }
    }
}

impl std::error::Error for Error {}

/// What a parse returns.
pub type Result<T> = std::result::Result<T, Error>;
