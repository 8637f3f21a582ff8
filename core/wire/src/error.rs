//! [`ParseError`]: why a frame could not be parsed down to its IP header.

use crate::Family;
use alloc::string::String;
use core::fmt;

/// Names of the link layers used in [`ParseError::Truncated`]; the rest are layer 3.
const LINK_LAYERS: [&str; 5] = ["ethernet", "vlan", "linux-sll", "linux-sll2", "null"];

/// Why a frame or datagram could not be parsed (layer 2 or layer 3 problems only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// The input is longer than 65535 bytes (offsets are `u16`).
    FrameTooLong {
        /// Length of the input.
        len: usize,
    },
    /// A header is cut short.
    Truncated {
        /// The header: `ethernet`, `vlan`, `linux-sll`, `linux-sll2`, `null`, `ip`,
        /// `ipv4`, `ipv6` or `ipv6-ext`.
        layer: &'static str,
        /// Bytes the header needs (from its start).
        need: usize,
        /// Bytes present (from its start).
        have: usize,
    },
    /// The frame carries something else than IP (ARP, LLDP, an 802.3 length, ...).
    NotIp {
        /// The ethertype (or SLL protocol) found after the link-layer headers; for BSD
        /// loopback, the address family (saturated to `u16`).
        ethertype: u16,
    },
    /// Raw IP whose version nibble is neither 4 nor 6.
    BadIpVersion(u8),
    /// An IP header that is inconsistent (bad length fields, wrong version for its type).
    BadIpHeader {
        /// The family the header claims to be (or was expected to be).
        family: Family,
        /// What is wrong.
        detail: String,
    },
    /// A link type this parser does not know.
    UnsupportedLink(u32),
}

impl ParseError {
    /// Short kebab-case counter name: `frame-too-long`, `truncated-l2`, `truncated-l3`,
    /// `not-ip`, `bad-ip-version`, `bad-ipv4-header`, `bad-ipv6-header`,
    /// `unsupported-link`.
    pub fn reason(&self) -> &'static str {
        match self {
            ParseError::FrameTooLong { .. } => "frame-too-long",
            ParseError::Truncated { layer, .. } if LINK_LAYERS.contains(layer) => "truncated-l2",
            ParseError::Truncated { .. } => "truncated-l3",
            ParseError::NotIp { .. } => "not-ip",
            ParseError::BadIpVersion(_) => "bad-ip-version",
            ParseError::BadIpHeader {
                family: Family::Ipv4,
                ..
            } => "bad-ipv4-header",
            ParseError::BadIpHeader {
                family: Family::Ipv6,
                ..
            } => "bad-ipv6-header",
            ParseError::UnsupportedLink(_) => "unsupported-link",
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::FrameTooLong { len } => {
                write!(f, "frame of {len} bytes is longer than 65535")
            }
            ParseError::Truncated { layer, need, have } => {
                write!(
                    f,
                    "{layer} header truncated: need {need} bytes, have {have}"
                )
            }
            ParseError::NotIp { ethertype } => write!(f, "not IP: ethertype {ethertype:#06x}"),
            ParseError::BadIpVersion(v) => write!(f, "IP version {v} is neither 4 nor 6"),
            ParseError::BadIpHeader { family, detail } => {
                write!(f, "bad {} header: {detail}", family.name())
            }
            ParseError::UnsupportedLink(v) => write!(f, "unsupported link type {v}"),
        }
    }
}

impl core::error::Error for ParseError {}
