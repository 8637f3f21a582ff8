//! Batches: the tuples of a batch of packets and their hashes, computed before the
//! packets are tracked one by one so that the table's cache misses for the whole batch
//! overlap (see [`crate::table::Table::prefetch`]), and handed to conntrack-in as each
//! packet arrives; and the guard that keeps a burst's packets independent of each
//! other ([`BurstGuard`]).
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

/// What conntrack-in has done to a burst so far, so that the burst's packets stay
/// independent: the engine runs a burst's next packet through conntrack-in before the
/// earlier ones reach the helper step and confirmation, so a packet that depends on what
/// those do to an earlier one must wait for them.
///
/// A packet waits (it is deferred) when its connection is one an earlier packet of the
/// burst carries: that packet's `ct mark` and labels are stored at confirmation, and its
/// state must be seen in order. The packets after one that opened a connection, reopened
/// or ended one, or belongs to a connection with a helper, wait too (the burst is cut
/// after it): confirmation puts the new connection in the table, and a helper's step
/// may expect connections that they open.
#[derive(Debug)]
pub struct BurstGuard {
    /// Slots of the connections the burst's packets carry.
    claimed: [u32; BURST_CONNS],
    n: usize,
    /// A bit per slot's low 8 bits: a slot whose bit is clear is not claimed, and
    /// most claims need no search.
    bits: [u64; 4],
    /// The packets after the latest one must wait for it.
    pub cut: bool,
    /// The latest packet must wait (set by conntrack-in, read by the burst).
    pub(crate) deferred: bool,
    /// The worker's connections from before the burst are settled (see the tracker's
    /// `pending`).
    pub(crate) settled: bool,
    /// A later hook may still change what a new connection means to the next packets:
    /// helpers are configured (a rule may give it one, whose step may expect their
    /// connections) or a plugin said it binds reply tuples (NAT: the next packets may be
    /// replies to the bound tuple). The burst is then cut after every new connection.
    pub late_changes: bool,
}

/// Connections a burst remembers (the engine's bursts are at most this long).
const BURST_CONNS: usize = brickwall_hooks::abi::MAX_BURST;

impl Default for BurstGuard {
    fn default() -> Self {
        BurstGuard {
            claimed: [0; BURST_CONNS],
            n: 0,
            bits: [0; 4],
            cut: false,
            deferred: false,
            settled: false,
            late_changes: false,
        }
    }
}

impl BurstGuard {
    /// Claims connection slot `idx` for the current packet: false when an earlier
    /// packet of the burst carries it (or the guard is full), and the packet must wait.
    pub fn claim(&mut self, idx: u32) -> bool {
        let (word, bit) = ((idx as usize >> 6) & 3, 1u64 << (idx & 63));
        if self.bits[word] & bit != 0 && self.claimed[..self.n].contains(&idx)
            || self.n == BURST_CONNS
        {
            return false;
        }
        self.bits[word] |= bit;
        self.claimed[self.n] = idx;
        self.n += 1;
        true
    }
}
