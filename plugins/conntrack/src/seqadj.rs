//! TCP sequence adjustment (Linux's `nf_conntrack_seqadj`): once a helper behind NAT
//! changed the length of a segment's payload, the two ends no longer agree on sequence
//! numbers. Each direction keeps where the last change was and the offsets before and
//! after it; every later segment's sequence number is moved by its direction's offset,
//! its acknowledgement and SACK blocks back by the other direction's.

use crate::proto::tcp::after;
use brickwall_wire::checksum::update32;

/// One direction's adjustment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SeqAdj {
    /// Sequence number of the segment of the last change.
    pub correction_pos: u32,
    /// Offset of sequence numbers up to and including that segment.
    pub offset_before: i32,
    /// Offset of sequence numbers after it.
    pub offset_after: i32,
}

impl SeqAdj {
    /// Records that the segment starting at `seq` grew by `delta` bytes (shrank when
    /// negative). A retransmission of a segment before the last change is not counted
    /// again.
    pub fn record(&mut self, seq: u32, delta: i32) {
        if self.offset_before == self.offset_after || after(seq, self.correction_pos) {
            self.correction_pos = seq;
            self.offset_before = self.offset_after;
            self.offset_after = self.offset_after.wrapping_add(delta);
        }
    }

    /// The offset of sequence number `seq` of this direction.
    pub fn offset_of(&self, seq: u32) -> i32 {
        if after(seq, self.correction_pos) {
            self.offset_after
        } else {
            self.offset_before
        }
    }

    /// An acknowledgement (or SACK edge) of this direction's data as the receiver sent
    /// it, moved back into the sender's numbering.
    pub fn unadjust_ack(&self, ack: u32) -> u32 {
        let off = if after(
            ack.wrapping_sub(self.offset_before as u32),
            self.correction_pos,
        ) {
            self.offset_after
        } else {
            self.offset_before
        };
        ack.wrapping_sub(off as u32)
    }
}

/// A connection's adjustments, by direction (0 original, 1 reply).
pub type SeqAdjPair = [SeqAdj; 2];

/// TCP option kinds the walk below knows.
const OPT_END: u8 = 0;
const OPT_NOP: u8 = 1;
const OPT_SACK: u8 = 5;

/// Adjusts the TCP segment `l4` (header and payload) of direction `dir`: its sequence
/// number by `adj[dir]`, its acknowledgement and SACK blocks by the other direction's,
/// with the checksum updated to match. Returns whether anything changed.
pub fn adjust(l4: &mut [u8], dir: usize, adj: &SeqAdjPair) -> bool {
    if l4.len() < 20 {
        return false;
    }
    let (this, other) = (&adj[dir & 1], &adj[(dir & 1) ^ 1]);
    let mut check = u16::from_be_bytes([l4[16], l4[17]]);
    let mut changed = false;
    let mut set = |l4: &mut [u8], at: usize, new: u32, check: &mut u16| {
        let old = u32::from_be_bytes([l4[at], l4[at + 1], l4[at + 2], l4[at + 3]]);
        if old != new {
            l4[at..at + 4].copy_from_slice(&new.to_be_bytes());
            *check = update32(*check, old, new);
            changed = true;
        }
    };
    let word =
        |l4: &[u8], at: usize| u32::from_be_bytes([l4[at], l4[at + 1], l4[at + 2], l4[at + 3]]);
    let seq = word(l4, 4);
    set(
        l4,
        4,
        seq.wrapping_add(this.offset_of(seq) as u32),
        &mut check,
    );
    let ack = word(l4, 8);
    set(l4, 8, other.unadjust_ack(ack), &mut check);
    let header = usize::from(l4[12] >> 4) * 4;
    let mut i = 20;
    let end = header.min(l4.len());
    while i < end {
        match l4[i] {
            OPT_END => break,
            OPT_NOP => i += 1,
            kind => {
                let Some(&len) = l4.get(i + 1) else { break };
                let len = usize::from(len);
                if len < 2 || i + len > end {
                    break;
                }
                if kind == OPT_SACK {
                    let mut b = i + 2;
                    while b + 8 <= i + len {
                        for at in [b, b + 4] {
                            let edge = word(l4, at);
                            set(l4, at, other.unadjust_ack(edge), &mut check);
                        }
                        b += 8;
                    }
                }
                i += len;
            }
        }
    }
    if changed {
        l4[16..18].copy_from_slice(&check.to_be_bytes());
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use brickwall_wire::checksum::{finish, pseudo_v4, sum};

    const SRC: [u8; 4] = [10, 0, 0, 1];
    const DST: [u8; 4] = [10, 0, 0, 2];

    /// A TCP segment with a SACK option of one block and a valid checksum.
    fn segment(seq: u32, ack: u32, sack: (u32, u32)) -> Vec<u8> {
        let mut s = vec![0u8; 32];
        s[4..8].copy_from_slice(&seq.to_be_bytes());
        s[8..12].copy_from_slice(&ack.to_be_bytes());
        s[12] = 8 << 4;
        s[13] = 0x10;
        s[20..22].copy_from_slice(&[OPT_NOP, OPT_NOP]);
        s[22..24].copy_from_slice(&[OPT_SACK, 10]);
        s[24..28].copy_from_slice(&sack.0.to_be_bytes());
        s[28..32].copy_from_slice(&sack.1.to_be_bytes());
        let c = finish(sum(pseudo_v4(SRC, DST, 6, s.len() as u16), &s));
        s[16..18].copy_from_slice(&c.to_be_bytes());
        s
    }

    fn word(s: &[u8], at: usize) -> u32 {
        u32::from_be_bytes([s[at], s[at + 1], s[at + 2], s[at + 3]])
    }

    #[test]
    fn offsets_apply_after_the_change_and_retransmissions_keep_theirs() {
        let mut a = SeqAdj::default();
        a.record(1000, 4);
        assert_eq!((a.offset_of(1000), a.offset_of(1001)), (0, 4));
        // A retransmission of the changed segment is not counted twice.
        a.record(1000, 4);
        assert_eq!(a.offset_after, 4);
        // A later change adds up; the earlier segment keeps the first offset.
        a.record(2000, -2);
        assert_eq!(
            (a.offset_of(1500), a.offset_of(2000), a.offset_of(2001)),
            (4, 4, 2)
        );
        // Acks from the other side come back into the sender's numbers.
        assert_eq!(a.unadjust_ack(2004), 2000);
        assert_eq!(a.unadjust_ack(2012), 2010);
        // Around the wrap of the sequence space.
        let mut w = SeqAdj::default();
        w.record(u32::MAX - 1, 10);
        assert_eq!(w.offset_of(5), 10);
    }

    #[test]
    fn a_segment_is_moved_both_ways_with_its_checksum() {
        let mut adj = SeqAdjPair::default();
        adj[0].record(100, 7);
        adj[1].record(5000, -3);
        // Reply direction: its seq moves by -3 after 5000; its ack and SACK (of the
        // original direction's data) come back by 7.
        let mut s = segment(6000, 207, (300, 400));
        assert!(adjust(&mut s, 1, &adj));
        assert_eq!(word(&s, 4), 5997);
        assert_eq!(word(&s, 8), 200);
        assert_eq!((word(&s, 24), word(&s, 28)), (293, 393));
        assert_eq!(finish(sum(pseudo_v4(SRC, DST, 6, s.len() as u16), &s)), 0);
        // Nothing to do before any change.
        let mut s = segment(50, 4000, (1, 2));
        assert!(!adjust(&mut s, 0, &adj));
        // A truncated option list or header is left alone, never read past.
        let mut s = segment(6000, 207, (300, 400));
        s[23] = 40;
        adjust(&mut s, 1, &adj);
        assert!(!adjust(&mut [0u8; 12], 0, &adj));
    }
}
