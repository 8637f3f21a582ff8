//! Where lines start: for one direction of the control connection, the TCP sequence
//! numbers that come right after a payload ending in `'\n'`. Like Linux, the helper
//! parses a packet only when it begins at one of these, which keeps it from reading a
//! command out of the middle of a line (or out of a file listing).

/// How many line starts a direction remembers (Linux keeps two).
pub const REMEMBERED: usize = 2;

/// Whether `a` comes before `b` in TCP sequence space (modulo 2^32).
pub fn before(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

/// Up to [`REMEMBERED`] line-start sequence numbers of one direction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LineStarts {
    len: u8,
    seqs: [u32; REMEMBERED],
}

impl LineStarts {
    /// Bytes [`LineStarts::encode`] writes: a count, then two big-endian numbers
    /// (unused ones zero).
    pub const ENCODED_LEN: usize = 1 + 4 * REMEMBERED;

    /// The remembered numbers.
    pub fn as_slice(&self) -> &[u32] {
        self.seqs.get(..usize::from(self.len)).unwrap_or(&[])
    }

    /// Whether a packet starting at `seq` starts a line.
    pub fn contains(&self, seq: u32) -> bool {
        self.as_slice().contains(&seq)
    }

    /// Notes that a line starts at `seq`; returns whether anything changed. With both
    /// slots taken, the older number gives way if `seq` comes after it; a `seq` older
    /// than both is ignored.
    pub fn record(&mut self, seq: u32) -> bool {
        if self.contains(seq) {
            return false;
        }
        let len = usize::from(self.len);
        if let Some(slot) = self.seqs.get_mut(len) {
            *slot = seq;
            self.len += 1;
            return true;
        }
        let [a, b] = self.seqs;
        let oldest = if before(a, b) { 0 } else { 1 };
        match self.seqs.get_mut(oldest) {
            Some(old) if before(*old, seq) => {
                *old = seq;
                true
            }
            _ => false,
        }
    }

    /// The compact form kept in the connection's state.
    pub fn encode(&self) -> [u8; Self::ENCODED_LEN] {
        let mut out = [0u8; Self::ENCODED_LEN];
        out[0] = self.len;
        for (chunk, seq) in out[1..].chunks_exact_mut(4).zip(self.seqs) {
            chunk.copy_from_slice(&seq.to_be_bytes());
        }
        out
    }

    /// Reads what [`LineStarts::encode`] wrote (`None` if short or the count is off).
    pub fn decode(b: &[u8]) -> Option<LineStarts> {
        let b = b.get(..Self::ENCODED_LEN)?;
        let (&len, rest) = b.split_first()?;
        if usize::from(len) > REMEMBERED {
            return None;
        }
        let mut seqs = [0u32; REMEMBERED];
        for (seq, chunk) in seqs.iter_mut().zip(rest.chunks_exact(4)) {
            *seq = u32::from_be_bytes(chunk.try_into().ok()?);
        }
        Some(LineStarts { len, seqs })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn before_wraps_around() {
        assert!(before(1, 2));
        assert!(!before(2, 1));
        assert!(!before(7, 7));
        assert!(before(u32::MAX - 5, 3));
        assert!(!before(3, u32::MAX - 5));
    }

    #[test]
    fn fills_two_slots_then_replaces_the_older() {
        let mut s = LineStarts::default();
        assert!(!s.contains(0));
        assert!(s.record(100));
        assert!(!s.record(100), "a number already held changes nothing");
        assert!(s.record(200));
        assert_eq!(s.as_slice(), &[100, 200]);
        assert!(s.record(300));
        assert_eq!(s.as_slice(), &[300, 200], "100 was the older");
        assert!(!s.record(150), "older than both: ignored");
        assert_eq!(s.as_slice(), &[300, 200]);
        assert!(s.record(250));
        assert_eq!(s.as_slice(), &[300, 250]);
        assert!(s.contains(250) && s.contains(300) && !s.contains(200));
    }

    #[test]
    fn replacement_follows_sequence_space_across_the_wrap() {
        let mut s = LineStarts::default();
        s.record(u32::MAX - 15);
        s.record(0x10);
        // 0x10 is after u32::MAX - 15, so the latter is the older and gives way.
        assert!(s.record(0x20));
        assert_eq!(s.as_slice(), &[0x20, 0x10]);
        // u32::MAX - 100 is before both.
        assert!(!s.record(u32::MAX - 100));
        assert_eq!(s.as_slice(), &[0x20, 0x10]);
    }

    #[test]
    fn encodes_and_decodes() {
        let mut s = LineStarts::default();
        for seqs in [&[][..], &[7], &[u32::MAX, 0x0102_0304]] {
            for &q in seqs {
                s.record(q);
            }
            let b = s.encode();
            assert_eq!(LineStarts::decode(&b), Some(s));
            assert!(LineStarts::decode(&b[..LineStarts::ENCODED_LEN - 1]).is_none());
        }
        let mut bad = s.encode();
        bad[0] = 3;
        assert!(LineStarts::decode(&bad).is_none());
    }
}
