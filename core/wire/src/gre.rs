//! GRE headers, parsed by hand: version 0 (RFC 2784 with the RFC 2890 key and sequence
//! number) and version 1, the enhanced GRE of PPTP (RFC 2637).

use crate::bytes::{be16, be32};
use crate::transport::L4Parse;
use crate::L4;

/// Checksum present (then 4 bytes: checksum and reserved/offset).
const F_CHECKSUM: u16 = 0x8000;
/// Routing present (RFC 1701, obsolete; Linux refuses it).
const F_ROUTING: u16 = 0x4000;
/// Key present.
const F_KEY: u16 = 0x2000;
/// Sequence number present.
const F_SEQ: u16 = 0x1000;
/// Acknowledgment number present (version 1 only).
const F_ACK: u16 = 0x0080;
/// The version bits.
const VERSION_MASK: u16 = 0x0007;
/// Length of the flags and protocol words.
const BASE_LEN: usize = 4;

/// Parses a GRE header. Version 0 with the routing bit, version 1 without the key bit
/// or with the checksum or routing bit, other versions and cut headers are malformed.
pub(crate) fn parse(seg: &[u8]) -> L4Parse {
    let (Some(word), Some(proto)) = (be16(seg, 0), be16(seg, 2)) else {
        return L4Parse::malformed(L4::None, seg);
    };
    let has = |f: u16| word & f != 0;
    let opt = |f: u16| if has(f) { 4 } else { 0 };
    let version = (word & VERSION_MASK) as u8;
    let (hdr_len, key) = match version {
        0 if !has(F_ROUTING) => {
            let key_at = BASE_LEN + opt(F_CHECKSUM);
            let key = if has(F_KEY) {
                match be32(seg, key_at) {
                    Some(k) => Some(k),
                    None => return L4Parse::malformed(L4::None, seg),
                }
            } else {
                None
            };
            (key_at + opt(F_KEY) + opt(F_SEQ), key)
        }
        1 if has(F_KEY) && !has(F_CHECKSUM) && !has(F_ROUTING) => {
            // The key field is payload length (16 bits) then call id (16 bits).
            let Some(call_id) = be16(seg, BASE_LEN + 2) else {
                return L4Parse::malformed(L4::None, seg);
            };
            (
                BASE_LEN + 4 + opt(F_SEQ) + opt(F_ACK),
                Some(u32::from(call_id)),
            )
        }
        _ => return L4Parse::malformed(L4::None, seg),
    };
    if seg.len() < hdr_len {
        return L4Parse::malformed(L4::None, seg);
    }
    L4Parse::ok(
        L4::Gre {
            version,
            key,
            proto,
        },
        hdr_len,
    )
}
