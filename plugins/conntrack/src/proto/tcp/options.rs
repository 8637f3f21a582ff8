//! TCP option parsing, reduced to what conntrack needs: window scale and SACK-permitted
//! from handshake segments, and the highest SACK right edge from any segment. Malformed
//! option lists are read up to the first problem, as Linux does.

use super::after;
use super::conn::{Side, FLAG_BE_LIBERAL, FLAG_SACK_PERM, FLAG_WINDOW_SCALE};

const KIND_END: u8 = 0;
const KIND_NOP: u8 = 1;
const KIND_WINDOW: u8 = 3;
const KIND_SACK_PERM: u8 = 4;
const KIND_SACK: u8 = 5;
const LEN_WINDOW: usize = 3;
const LEN_SACK_PERM: usize = 2;
/// Kind and length bytes of a SACK option.
const SACK_HEAD: usize = 2;
/// One SACK block: left and right edge.
const SACK_BLOCK: usize = 8;
/// RFC 7323's largest shift; larger values are clamped to it.
pub const MAX_WINDOW_SCALE: u8 = 14;

/// Visits each complete option as (kind, body without kind and length bytes) until the
/// visitor returns true, an end-of-list option, or a malformed or partial option.
fn walk(opts: &[u8], mut visit: impl FnMut(u8, &[u8]) -> bool) {
    let mut at = 0;
    while let Some(&kind) = opts.get(at) {
        match kind {
            KIND_END => return,
            KIND_NOP => at += 1,
            _ => {
                let Some(&len) = opts.get(at + 1) else {
                    return;
                };
                let len = usize::from(len);
                // Length must cover kind and length, and the option must be complete.
                if len < 2 || len > opts.len() - at {
                    return;
                }
                if visit(kind, &opts[at + 2..at + len]) {
                    return;
                }
                at += len;
            }
        }
    }
}

/// Records a handshake segment's window scale and SACK-permitted options in `side`
/// (Linux's `tcp_options`). With no option bytes at all nothing changes; otherwise the
/// scale is reset and only the liberal flag survives before the options are read.
pub(crate) fn read_handshake_options(opts: &[u8], side: &mut Side) {
    if opts.is_empty() {
        return;
    }
    side.scale = 0;
    side.flags &= FLAG_BE_LIBERAL;
    walk(opts, |kind, body| {
        if kind == KIND_SACK_PERM && body.len() + 2 == LEN_SACK_PERM {
            side.flags |= FLAG_SACK_PERM;
        } else if kind == KIND_WINDOW && body.len() + 2 == LEN_WINDOW {
            side.scale = body[0].min(MAX_WINDOW_SCALE);
            side.flags |= FLAG_WINDOW_SCALE;
        }
        false
    });
}

/// The highest right edge among the blocks of the first well-formed SACK option, if it
/// is after `ack`; else `ack` (Linux's `tcp_sack`).
pub(crate) fn highest_sack(opts: &[u8], ack: u32) -> u32 {
    let mut best = ack;
    walk(opts, |kind, body| {
        let len = body.len() + SACK_HEAD;
        if kind != KIND_SACK || len < SACK_HEAD + SACK_BLOCK || body.len() % SACK_BLOCK != 0 {
            return false;
        }
        for block in body.chunks_exact(SACK_BLOCK) {
            let right = u32::from_be_bytes([block[4], block[5], block[6], block[7]]);
            if after(right, best) {
                best = right;
            }
        }
        true
    });
    best
}
