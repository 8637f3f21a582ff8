//! A peer's sequence numbers, tracked as conntrackd tracks them: the next expected is
//! one past the last received; a number past it means messages were lost (counted), one
//! before it a message replayed or delayed (counted, and still processed).

use crate::wire::header::seq_before;

/// Where a received number stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seq {
    /// The first number from this peer.
    First,
    /// The expected one.
    InSync,
    /// Past the expected one: this many messages were lost.
    After(u32),
    /// Before the expected one.
    Before,
}

/// The last number received.
#[derive(Debug, Default, Clone, Copy)]
pub struct Tracker {
    last: Option<u32>,
}

impl Tracker {
    /// Where `seq` stands; it becomes the last received.
    pub fn track(&mut self, seq: u32) -> Seq {
        let s = match self.last {
            None => Seq::First,
            Some(last) => {
                let want = last.wrapping_add(1);
                if seq == want {
                    Seq::InSync
                } else if seq_before(want, seq) {
                    Seq::After(seq.wrapping_sub(want))
                } else {
                    Seq::Before
                }
            }
        };
        self.last = Some(seq);
        s
    }

    /// Forgets the peer's numbers (it said HELLO: it started again).
    pub fn reset(&mut self) {
        self.last = None;
    }
}
