//! The IPv6 extension header chain: hop-by-hop, routing, destination options,
//! authentication and fragment headers, up to the transport protocol.

use super::{FragInfo, ParseError};
use brickwall_hooks::Family;
use etherparse::err::ip_auth::HeaderSliceError as AuthError;
use etherparse::{IpAuthHeaderSlice, Ipv6FragmentHeaderSlice, Ipv6RawExtHeaderSlice};

/// Hop-by-hop options.
const HOP_BY_HOP: u8 = 0;
/// Routing header.
const ROUTING: u8 = 43;
/// Fragment header.
const FRAGMENT: u8 = 44;
/// Authentication header.
const AUTH: u8 = 51;
/// Destination options.
const DEST_OPTS: u8 = 60;

/// The end of an extension header chain.
#[derive(Debug)]
pub(super) struct ExtChain {
    /// The protocol after the last extension header.
    pub proto: u8,
    /// Bytes of extension headers.
    pub len: usize,
    /// The last fragment header seen, if any.
    pub frag: Option<FragInfo>,
}

/// Walks the extension headers in `body` (the IPv6 payload) starting with `next`.
///
/// Like the kernel's `ipv6_skip_exthdr`, the walk stops after the fragment header of a
/// later fragment (what follows is fragment data) and does not insist that hop-by-hop
/// options come first.
pub(super) fn walk(mut next: u8, body: &[u8]) -> Result<ExtChain, ParseError> {
    let mut len = 0;
    let mut frag = None;
    loop {
        let rest = body.get(len..).unwrap_or_default();
        let (hdr_len, following) = match next {
            HOP_BY_HOP | ROUTING | DEST_OPTS => {
                let h = Ipv6RawExtHeaderSlice::from_slice(rest)
                    .map_err(|e| truncated(e.required_len, e.len))?;
                (h.slice().len(), h.next_header().0)
            }
            FRAGMENT => {
                let h = Ipv6FragmentHeaderSlice::from_slice(rest)
                    .map_err(|e| truncated(e.required_len, e.len))?;
                let info = FragInfo {
                    id: h.identification(),
                    offset: u32::from(h.fragment_offset().value()) * 8,
                    more_fragments: h.more_fragments(),
                };
                frag = Some(info);
                if info.offset != 0 {
                    return Ok(ExtChain {
                        proto: h.next_header().0,
                        len: len + h.slice().len(),
                        frag,
                    });
                }
                (h.slice().len(), h.next_header().0)
            }
            AUTH => {
                let h = IpAuthHeaderSlice::from_slice(rest).map_err(|e| match e {
                    AuthError::Len(e) => truncated(e.required_len, e.len),
                    AuthError::Content(e) => ParseError::BadIpHeader {
                        family: Family::Ipv6,
                        detail: e.to_string(),
                    },
                })?;
                (h.slice().len(), h.next_header().0)
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
