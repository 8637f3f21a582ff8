//! The IPv6 extension header chain: hop-by-hop, routing, destination options,
//! authentication and fragment headers, up to the transport protocol.

use crate::bytes::{be16, be32};
use crate::ip_proto::{AH, DSTOPTS, FRAGMENT, HOPOPTS, ROUTING};
use crate::{Family, FragInfo, ParseError};
use alloc::string::ToString;

/// Length of a fragment header (and the least of any extension header).
const FRAG_LEN: usize = 8;
/// The least length of an authentication header (RFC 4302: 12 bytes before the ICV).
const AH_MIN_LEN: usize = 12;

/// The end of an extension header chain.
#[derive(Debug)]
pub(crate) struct ExtChain {
    /// The protocol after the last extension header.
    pub proto: u8,
    /// Bytes of extension headers.
    pub len: usize,
    /// The last fragment header seen, if any.
    pub frag: Option<FragInfo>,
}

/// Length in bytes of the IPv6 extension header `kind` whose second byte is
/// `len_byte`: the authentication header counts 4-byte units minus 2, the others
/// 8-byte units minus 1.
#[inline]
pub fn ipv6_ext_len(kind: u8, len_byte: u8) -> usize {
    if kind == AH {
        (usize::from(len_byte) + 2) * 4
    } else {
        (usize::from(len_byte) + 1) * 8
    }
}

/// Walks the extension headers in `body` (the IPv6 payload) starting with `next`.
///
/// Like the kernel's `ipv6_skip_exthdr`, the walk stops after the fragment header of a
/// later fragment (what follows is fragment data) and does not insist that hop-by-hop
/// options come first.
pub(crate) fn walk(mut next: u8, body: &[u8]) -> Result<ExtChain, ParseError> {
    let mut len = 0;
    let mut frag = None;
    loop {
        let rest = body.get(len..).unwrap_or_default();
        let (hdr_len, following) = match next {
            HOPOPTS | ROUTING | DSTOPTS | AH => {
                let least = if next == AH { AH_MIN_LEN } else { FRAG_LEN };
                let (Some(&following), Some(&len_byte)) = (rest.first(), rest.get(1)) else {
                    return Err(truncated(least, rest.len()));
                };
                if rest.len() < least {
                    return Err(truncated(least, rest.len()));
                }
                if next == AH && len_byte == 0 {
                    return Err(ParseError::BadIpHeader {
                        family: Family::Ipv6,
                        detail: "authentication header with a payload length of 0".to_string(),
                    });
                }
                let hdr_len = ipv6_ext_len(next, len_byte);
                if rest.len() < hdr_len {
                    return Err(truncated(hdr_len, rest.len()));
                }
                (hdr_len, following)
            }
            FRAGMENT => {
                let (Some(&following), Some(word), Some(id)) =
                    (rest.first(), be16(rest, 2), be32(rest, 4))
                else {
                    return Err(truncated(FRAG_LEN, rest.len()));
                };
                let info = FragInfo {
                    id,
                    offset: u32::from(word & !7),
                    more_fragments: word & 1 != 0,
                };
                frag = Some(info);
                if info.offset != 0 {
                    return Ok(ExtChain {
                        proto: following,
                        len: len + FRAG_LEN,
                        frag,
                    });
                }
                (FRAG_LEN, following)
            }
            _ => {
                return Ok(ExtChain {
                    proto: next,
                    len,
                    frag,
                })
            }
        };
        len += hdr_len;
        next = following;
    }
}

/// Error for an extension header cut short.
fn truncated(need: usize, have: usize) -> ParseError {
    ParseError::Truncated {
        layer: "ipv6-ext",
        need,
        have,
    }
}
