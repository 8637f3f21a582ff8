//! The SCTP common header, parsed by hand: ports, verification tag, checksum.

use crate::bytes::{be16, be32};
use crate::transport::L4Parse;
use crate::L4;

/// Length of the SCTP common header.
const COMMON_LEN: usize = 12;

/// Parses the 12-byte common header; with only the first 8 bytes, the ports and tag
/// are reported and the header is malformed. Chunks are not looked at.
pub(crate) fn parse(seg: &[u8]) -> L4Parse {
    let (Some(sport), Some(dport), Some(vtag)) = (be16(seg, 0), be16(seg, 2), be32(seg, 4)) else {
        return L4Parse::malformed(L4::None, seg);
    };
    let l4 = L4::Sctp { sport, dport, vtag };
    if seg.len() < COMMON_LEN {
        return L4Parse::malformed(l4, seg);
    }
    L4Parse::ok(l4, COMMON_LEN)
}
