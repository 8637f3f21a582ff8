//! Attributes: the TLVs after a header, and the codes conntrack and expectation
//! messages give them.
//!
//! ```text
//!  0                              16                              32
//! +-------------------------------+-------------------------------+
//! |            length             |             code              |
//! +-------------------------------+-------------------------------+
//! |                 payload, padded with zeros to 4                |
//! ```
//!
//! The length counts the 4-byte header and the payload, not the padding; the next
//! attribute starts at the length rounded up to four. Unlike netlink's, the length comes
//! first. A receiver accepts a last attribute whose padding the message cuts short, and
//! ignores fewer than five bytes left after the last attribute, as conntrackd does.

use super::{Error, Result};

/// Bytes of an attribute's header.
pub const HEADER_LEN: usize = 4;
/// Attributes start at multiples of this.
pub const ALIGN: usize = 4;

/// `len` rounded up to [`ALIGN`].
pub const fn align(len: usize) -> usize {
    (len + ALIGN - 1) & !(ALIGN - 1)
}

/// Codes of a conntrack message's attributes, with their payloads.
pub mod ct {
    /// Original source and destination IPv4 addresses (8 bytes, network order).
    pub const IPV4: u16 = 0;
    /// Original source and destination IPv6 addresses (32 bytes).
    pub const IPV6: u16 = 1;
    /// Layer-4 protocol number (1 byte).
    pub const L4PROTO: u16 = 2;
    /// Original source and destination ports (4 bytes, network order).
    pub const PORT: u16 = 3;
    /// TCP state, Linux's numbering (1 byte).
    pub const TCP_STATE: u16 = 4;
    /// Status bits, `IPS_*` (4 bytes).
    pub const STATUS: u16 = 5;
    /// Seconds left (4 bytes).
    pub const TIMEOUT: u16 = 6;
    /// Mark (4 bytes).
    pub const MARK: u16 = 7;
    /// Master's original IPv4 addresses (8 bytes).
    pub const MASTER_IPV4: u16 = 8;
    /// Master's original IPv6 addresses (32 bytes).
    pub const MASTER_IPV6: u16 = 9;
    /// Master's layer-4 protocol (1 byte).
    pub const MASTER_L4PROTO: u16 = 10;
    /// Master's original ports (4 bytes).
    pub const MASTER_PORT: u16 = 11;
    /// Source NAT: the reply's destination IPv4 address (4 bytes, network order).
    pub const SNAT_IPV4: u16 = 12;
    /// Destination NAT: the reply's source IPv4 address (4 bytes, network order).
    pub const DNAT_IPV4: u16 = 13;
    /// Source port translation: the reply's destination port (2 bytes, byte-swapped).
    pub const SPAT_PORT: u16 = 14;
    /// Destination port translation: the reply's source port (2 bytes, byte-swapped).
    pub const DPAT_PORT: u16 = 15;
    /// NAT sequence adjustment, six numbers (24 bytes).
    pub const NAT_SEQ_ADJ: u16 = 16;
    /// SCTP state (1 byte).
    pub const SCTP_STATE: u16 = 17;
    /// SCTP original verification tag (4 bytes).
    pub const SCTP_VTAG_ORIG: u16 = 18;
    /// SCTP reply verification tag (4 bytes).
    pub const SCTP_VTAG_REPLY: u16 = 19;
    /// DCCP state (1 byte).
    pub const DCCP_STATE: u16 = 20;
    /// DCCP role (1 byte).
    pub const DCCP_ROLE: u16 = 21;
    /// ICMP type (1 byte).
    pub const ICMP_TYPE: u16 = 22;
    /// ICMP code (1 byte).
    pub const ICMP_CODE: u16 = 23;
    /// ICMP id (2 bytes, byte-swapped).
    pub const ICMP_ID: u16 = 24;
    /// TCP window scale of the original direction (1 byte).
    pub const TCP_WSCALE_ORIG: u16 = 25;
    /// TCP window scale of the reply direction (1 byte).
    pub const TCP_WSCALE_REPLY: u16 = 26;
    /// Helper name (a zero-terminated string, at most 16 bytes with the zero).
    pub const HELPER_NAME: u16 = 27;
    /// Labels: 32-bit words, bit `32 * i + b` in word `i`'s bit `b` (at most 4096 bytes).
    pub const LABELS: u16 = 28;
    /// Source NAT: the reply's destination IPv6 address (16 bytes, network order).
    pub const SNAT_IPV6: u16 = 29;
    /// Destination NAT: the reply's source IPv6 address (16 bytes, network order).
    pub const DNAT_IPV6: u16 = 30;
    /// SYN proxy: initial timestamp, initial sequence number, timestamp offset (12 bytes).
    pub const SYNPROXY: u16 = 31;
    /// One past the last code conntrack-tools 1.4.7 knows; it refuses a message with
    /// a higher one.
    pub const MAX: u16 = 32;
}

/// Codes of an expectation message's attributes.
pub mod exp {
    /// Master's original IPv4 addresses (8 bytes).
    pub const MASTER_IPV4: u16 = 0;
    /// Master's original IPv6 addresses (32 bytes).
    pub const MASTER_IPV6: u16 = 1;
    /// Master's layer-4 protocol (1 byte).
    pub const MASTER_L4PROTO: u16 = 2;
    /// Master's original ports (4 bytes).
    pub const MASTER_PORT: u16 = 3;
    /// Expected tuple's IPv4 addresses (8 bytes).
    pub const EXPECT_IPV4: u16 = 4;
    /// Expected tuple's IPv6 addresses (32 bytes).
    pub const EXPECT_IPV6: u16 = 5;
    /// Expected tuple's layer-4 protocol (1 byte).
    pub const EXPECT_L4PROTO: u16 = 6;
    /// Expected tuple's ports (4 bytes).
    pub const EXPECT_PORT: u16 = 7;
    /// Mask's IPv4 addresses (8 bytes).
    pub const MASK_IPV4: u16 = 8;
    /// Mask's IPv6 addresses (32 bytes).
    pub const MASK_IPV6: u16 = 9;
    /// Mask's layer-4 protocol (1 byte).
    pub const MASK_L4PROTO: u16 = 10;
    /// Mask's ports (4 bytes).
    pub const MASK_PORT: u16 = 11;
    /// Seconds left (4 bytes).
    pub const TIMEOUT: u16 = 12;
    /// Flags, `NF_CT_EXPECT_*` (4 bytes).
    pub const FLAGS: u16 = 13;
    /// Class (4 bytes).
    pub const CLASS: u16 = 14;
    /// NAT tuple's IPv4 addresses (8 bytes).
    pub const NAT_IPV4: u16 = 15;
    /// NAT tuple's ports (4 bytes).
    pub const NAT_PORT: u16 = 16;
    /// NAT tuple's layer-4 protocol (1 byte).
    pub const NAT_L4PROTO: u16 = 17;
    /// NAT direction (4 bytes).
    pub const NAT_DIR: u16 = 18;
    /// Helper name (a zero-terminated string, at most 16 bytes).
    pub const HELPER_NAME: u16 = 19;
    /// Expectation function name (a zero-terminated string, at most 32 bytes).
    pub const FN: u16 = 20;
    /// One past the last code.
    pub const MAX: u16 = 21;
}

/// One attribute: its code and payload (padding excluded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attr<'a> {
    /// The code.
    pub code: u16,
    /// The payload.
    pub payload: &'a [u8],
}

impl<'a> Attr<'a> {
    /// The payload as exactly `N` bytes, or [`Error::BadAttrSize`].
    pub fn fixed<const N: usize>(&self) -> Result<[u8; N]> {
        self.payload
            .try_into()
            .map_err(|_| Error::BadAttrSize(self.code))
    }

    /// A one-byte payload.
    pub fn u8(&self) -> Result<u8> {
        Ok(self.fixed::<1>()?[0])
    }

    /// A two-byte big-endian payload.
    pub fn u16(&self) -> Result<u16> {
        Ok(u16::from_be_bytes(self.fixed()?))
    }

    /// A four-byte big-endian payload.
    pub fn u32(&self) -> Result<u32> {
        Ok(u32::from_be_bytes(self.fixed()?))
    }

    /// A zero-terminated string of at most `max` bytes with its zero (what follows the
    /// first zero is ignored, as C reads it).
    pub fn string(&self, max: usize) -> Result<&'a str> {
        if self.payload.len() > max {
            return Err(Error::BadAttrSize(self.code));
        }
        let end = self
            .payload
            .iter()
            .position(|&b| b == 0)
            .ok_or(Error::BadString(self.code))?;
        std::str::from_utf8(&self.payload[..end]).map_err(|_| Error::BadString(self.code))
    }
}

/// The attributes in a message's payload, in order; an error ends the walk.
#[derive(Debug, Clone)]
pub struct Attrs<'a> {
    rest: &'a [u8],
    failed: bool,
}

impl<'a> Attrs<'a> {
    /// The attributes in `payload` (the bytes after the header).
    pub fn new(payload: &'a [u8]) -> Attrs<'a> {
        Attrs {
            rest: payload,
            failed: false,
        }
    }
}

impl<'a> Iterator for Attrs<'a> {
    type Item = Result<Attr<'a>>;

    fn next(&mut self) -> Option<Result<Attr<'a>>> {
        if self.failed || self.rest.len() <= HEADER_LEN {
            return None;
        }
        let b = self.rest;
        let len = u16::from_be_bytes([b[0], b[1]]) as usize;
        let code = u16::from_be_bytes([b[2], b[3]]);
        if len < HEADER_LEN || len > b.len() {
            self.failed = true;
            return Some(Err(Error::BadAttrLength(code)));
        }
        let payload = &b[HEADER_LEN..len];
        self.rest = b.get(align(len)..).unwrap_or(&[]);
        Some(Ok(Attr { code, payload }))
    }
}

/// Appends attributes to a message being built.
#[derive(Debug)]
pub struct Writer<'a> {
    out: &'a mut Vec<u8>,
}

impl<'a> Writer<'a> {
    /// A writer appending to `out` (which holds the message's header already).
    pub fn new(out: &'a mut Vec<u8>) -> Writer<'a> {
        Writer { out }
    }

    /// An attribute with payload `payload`, padded.
    pub fn bytes(&mut self, code: u16, payload: &[u8]) {
        let len = HEADER_LEN + payload.len();
        self.out.extend_from_slice(&(len as u16).to_be_bytes());
        self.out.extend_from_slice(&code.to_be_bytes());
        self.out.extend_from_slice(payload);
        self.out.resize(self.out.len() + align(len) - len, 0);
    }

    /// A one-byte attribute.
    pub fn u8(&mut self, code: u16, v: u8) {
        self.bytes(code, &[v]);
    }

    /// A two-byte big-endian attribute.
    pub fn u16(&mut self, code: u16, v: u16) {
        self.bytes(code, &v.to_be_bytes());
    }

    /// A four-byte big-endian attribute.
    pub fn u32(&mut self, code: u16, v: u32) {
        self.bytes(code, &v.to_be_bytes());
    }

    /// A string attribute, zero-terminated.
    pub fn string(&mut self, code: u16, s: &str) {
        let mut v = Vec::with_capacity(s.len() + 1);
        v.extend_from_slice(s.as_bytes());
        v.push(0);
        self.bytes(code, &v);
    }
}
