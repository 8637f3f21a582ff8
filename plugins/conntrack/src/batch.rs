//! Batches: the tuples of a batch of packets and their hashes, computed before the
//! packets are tracked one by one so that the table's cache misses for the whole batch
//! overlap (see [`crate::table::Table::prefetch`]), and handed to conntrack-in as each
//! packet arrives.
//!
//! A prepared hash is used only for a tuple equal to the one it was computed from, so
//! a packet changed, dropped or reordered between preparation and conntrack-in costs a
//! fresh hash, never a wrong lookup.

use crate::tuple::Tuple;

/// One worker's prepared batch, in packet order.
#[derive(Default, Debug)]
pub struct Prepared {
    tuples: Vec<Tuple>,
    hashes: Vec<u32>,
    next: usize,
}

impl Prepared {
    /// Forgets the previous batch.
    pub fn clear(&mut self) {
        self.tuples.clear();
        self.hashes.clear();
        self.next = 0;
    }

    /// Adds the next packet's tuple and its hash.
    pub fn push(&mut self, t: Tuple, hash: u32) {
        self.tuples.push(t);
        self.hashes.push(hash);
    }

    /// The hashes prepared, in order.
    pub fn hashes(&self) -> &[u32] {
        &self.hashes
    }

    /// The prepared hash of tuple `t`: the first prepared entry from where the last
    /// match left off whose tuple is `t` (packets dropped in between are passed over);
    /// none when the batch holds no such tuple.
    #[inline]
    pub fn take(&mut self, t: &Tuple) -> Option<u32> {
        let rest = self.tuples.get(self.next..)?;
        let at = self.next + rest.iter().position(|u| u == t)?;
        self.next = at + 1;
        self.hashes.get(at).copied()
    }

    /// Whether nothing is prepared.
    pub fn is_empty(&self) -> bool {
        self.tuples.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(port: u16) -> Tuple {
        Tuple {
            src_id: port,
            ..Tuple::default()
        }
    }

    #[test]
    fn hashes_are_handed_out_in_order_passing_over_packets_that_never_came() {
        let mut p = Prepared::default();
        for port in [1, 2, 3, 2] {
            p.push(t(port), port as u32 * 10);
        }
        assert_eq!(p.take(&t(1)), Some(10));
        // Packet 2 was dropped before conntrack-in: 3 still finds its hash.
        assert_eq!(p.take(&t(3)), Some(30));
        // The second packet of tuple 2 comes after 3: the later entry serves it.
        assert_eq!(p.take(&t(2)), Some(20));
        // Nothing is left for a packet that was not in the batch.
        assert_eq!(p.take(&t(9)), None);
        assert_eq!(p.take(&t(1)), None);
        p.clear();
        assert!(p.is_empty());
        assert_eq!(p.take(&t(1)), None);
    }
}
