//! Resizing the table's bucket array while it is in use, a few buckets at a time.
//!
//! A resize keeps two arrays: the old one (the table's `heads`) and the new one (a
//! `Migration`'s), with a cursor over the old buckets. Old buckets below the cursor have
//! been migrated (they are empty), the others not yet. [`scale`] is monotonic in the
//! hash, so the hashes of the migrated old buckets are exactly those below a bound, and a
//! tuple's bucket is found in one test: its old bucket is at or past the cursor, so its
//! chain is the old one, or it is below, so its chain is the new one (`Migration::place`).
//! Inserts and removals go where lookups look.
//!
//! Each [`Table::migrate`] call moves whole old buckets, chain by chain, to the new array
//! until it has moved a bounded number of nodes (or visited a bounded number of buckets);
//! a moved node keeps its link value (the tag is hash bits that do not depend on the
//! bucket count), only its chain changes. The new array is reserved at the start and
//! filled in step with the cursor (the new buckets a migrated hash range maps to), so
//! starting a resize touches no memory. When the cursor passes the last old bucket the
//! new array replaces the old.
//!
//! Mid-resize, the table's bucket numbers cover both arrays, the old first: buckets
//! `0..old` are the old array (migrated ones empty), `old..old + new` the new one. The
//! chain views (`buckets`, `histogram`, `chain`), the collector's cursor and early
//! drop's 8-bucket window all use these numbers, so each sees real chains, every node in
//! one of them.

use super::{advise_huge, prefetch, Table, NIL};
use crate::hash::scale;

/// Most nodes one step moves from old chains to new ones (a step moves whole buckets:
/// it may go past this by one chain).
pub const STEP_NODES: usize = 8;

/// Most old buckets one step visits (empty ones cost one read each).
pub const STEP_BUCKETS: usize = 64;

/// Nodes a step gathers (and whose records it prefetches) before it moves them.
const GATHER: usize = 32;

/// A resize in progress: the new array and how far the old one has been migrated.
pub(super) struct Migration {
    /// The new array's buckets, filled up to the last bucket a migrated hash maps to
    /// (the rest is reserved; an unfilled bucket is empty).
    heads: Vec<u32>,
    /// Buckets of the new array.
    target: usize,
    /// Old buckets below this one have been migrated.
    cursor: usize,
    /// The link values of the nodes a step moves.
    scratch: Vec<u32>,
}

impl Migration {
    /// The bucket number (in the numbering of both arrays) of hash `h`, whose old bucket
    /// is `old_bucket` of `old_len`.
    #[inline]
    pub(super) fn place(&self, h: u32, old_bucket: usize, old_len: usize) -> usize {
        if old_bucket >= self.cursor {
            old_bucket
        } else {
            old_len + scale(h, self.target)
        }
    }

    /// The head of new bucket `j`.
    #[inline]
    pub(super) fn head(&self, j: usize) -> u32 {
        self.heads.get(j).copied().unwrap_or(NIL)
    }

    /// New bucket `j`'s head, writable (filling the array up to it).
    #[inline]
    pub(super) fn head_mut(&mut self, j: usize) -> &mut u32 {
        if j >= self.heads.len() {
            self.heads.resize(j + 1, NIL);
        }
        &mut self.heads[j]
    }

    /// Every head of the new array, to rewrite links (see [`Table`]'s `widen`).
    pub(super) fn heads_mut(&mut self) -> &mut [u32] {
        &mut self.heads
    }

    /// Buckets of the new array.
    pub(super) fn target(&self) -> usize {
        self.target
    }
}

/// How far a resize has come.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResizeProgress {
    /// Buckets of the old array.
    pub from: usize,
    /// Buckets of the new array.
    pub to: usize,
    /// Old buckets migrated so far (of `from`).
    pub migrated: usize,
}

/// What asking for a resize did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResizeStart {
    /// A resize to the size asked for began.
    Started,
    /// The table already has that many buckets (and none is being resized).
    Unchanged,
    /// A resize was already running: the size asked for follows when it ends (the
    /// latest such request wins).
    Queued,
}

impl Table {
    /// Starts resizing the table to `buckets` buckets (at least 1); lookups, inserts and
    /// removals go on meanwhile, and [`migrate`](Self::migrate) moves it along. While one
    /// resize runs, another waits for it (see [`ResizeStart::Queued`]).
    pub fn start_resize(&mut self, buckets: usize) -> ResizeStart {
        let buckets = buckets.max(1);
        if self.resize.is_some() {
            self.queued = Some(buckets);
            return ResizeStart::Queued;
        }
        if buckets == self.heads.len() {
            return ResizeStart::Unchanged;
        }
        let heads: Vec<u32> = Vec::with_capacity(buckets);
        advise_huge(
            heads.as_ptr() as usize,
            heads.capacity() * std::mem::size_of::<u32>(),
        );
        self.resize = Some(Box::new(Migration {
            heads,
            target: buckets,
            cursor: 0,
            scratch: Vec::with_capacity(2 * GATHER),
        }));
        ResizeStart::Started
    }

    /// Whether a resize runs.
    #[inline]
    pub fn resizing(&self) -> bool {
        self.resize.is_some()
    }

    /// The running resize's progress, if one runs.
    pub fn resize_progress(&self) -> Option<ResizeProgress> {
        self.resize.as_ref().map(|m| ResizeProgress {
            from: self.heads.len(),
            to: m.target,
            migrated: m.cursor,
        })
    }

    /// The buckets the table has once the running resize (and a queued one) ends: its
    /// size as lookups will see it; [`buckets`](Self::buckets) when none runs.
    pub fn target_buckets(&self) -> usize {
        match (&self.resize, self.queued) {
            (_, Some(q)) => q,
            (Some(m), None) => m.target,
            (None, None) => self.heads.len(),
        }
    }

    /// One step of the running resize: moves whole old buckets to the new array until
    /// `max_nodes` nodes have moved (the last chain may take it past) or `max_buckets`
    /// buckets have been visited. Finishes the resize (and starts a queued one) when
    /// the last old bucket has moved. Returns whether a resize still runs.
    pub fn migrate(&mut self, max_nodes: usize, max_buckets: usize) -> bool {
        let Some(mut m) = self.resize.take() else {
            return false;
        };
        let old_len = self.heads.len();
        let mask = self.node_mask();
        let (max_nodes, max_buckets) = (max_nodes.max(1), max_buckets.max(1));
        let (mut visited, mut moved) = (0, 0);
        let mut scratch = std::mem::take(&mut m.scratch);
        while m.cursor < old_len && visited < max_buckets && moved < max_nodes {
            // Gather a few chains first, their records' loads started, so that the
            // misses overlap.
            let first = m.cursor;
            let room = (max_nodes - moved).min(GATHER);
            scratch.clear();
            while m.cursor < old_len
                && visited < max_buckets
                && (scratch.is_empty() || scratch.len() < room)
            {
                let mut link = self.heads[m.cursor];
                while link != NIL {
                    let node = link & mask;
                    scratch.push(link);
                    if let Some(c) = self.get(node >> 1) {
                        prefetch(c);
                    }
                    link = self.next_of(node);
                }
                m.cursor += 1;
                visited += 1;
            }
            // Then move them: each to the head of its new chain, its link value kept.
            for &link in &scratch {
                let node = link & mask;
                let (idx, dir) = ((node >> 1) as usize, (node & 1) as u8);
                let h = self.hasher.hash(&self.slab[idx].conn_mut().tuple(dir));
                let head = m.head_mut(scale(h, m.target));
                self.links[idx][dir as usize] = *head;
                *head = link;
            }
            self.heads[first..m.cursor].fill(NIL);
            moved += scratch.len();
        }
        scratch.clear();
        m.scratch = scratch;
        if m.cursor < old_len {
            self.resize = Some(m);
            return true;
        }
        m.heads.resize(m.target, NIL);
        self.heads = std::mem::take(&mut m.heads);
        if let Some(next) = self.queued.take() {
            self.start_resize(next);
        }
        self.resize.is_some()
    }

    /// Resizes the table to `buckets` in one go (a running resize is finished first):
    /// the stop-the-world rehash, which the benchmarks compare with the incremental one.
    pub fn resize_now(&mut self, buckets: usize) {
        while self.migrate(usize::MAX, usize::MAX) {}
        self.start_resize(buckets);
        while self.migrate(usize::MAX, usize::MAX) {}
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::conn;
    use super::super::InsertError;
    use super::*;
    use crate::hash::{HashKind, TupleHasher};
    use std::collections::HashMap;

    fn table(buckets: usize) -> Table {
        Table::new(buckets, TupleHasher::new(HashKind::Siphash), 10_000, 64)
    }

    /// Every connection `live` names is found by both tuples, nothing else is, and
    /// the chains hold exactly two nodes per connection.
    fn check(t: &Table, live: &HashMap<u32, u32>, ids: std::ops::Range<u32>) {
        for id in ids {
            let c = conn(id);
            let want = live.get(&id).copied();
            assert_eq!(t.find(&c.orig).0, want.map(|i| (i, 0)), "id {id} orig");
            assert_eq!(t.find(&c.reply()).0, want.map(|i| (i, 1)), "id {id} reply");
        }
        let nodes: usize = (0..t.buckets()).map(|b| t.chain_len(b)).sum();
        assert_eq!(nodes, 2 * live.len());
        assert_eq!(t.confirmed(), live.len());
        let hist: u64 = t.chain_histogram(100).iter().sum();
        assert_eq!(hist as usize, t.buckets());
    }

    #[test]
    fn every_connection_is_found_at_every_step_of_a_grow_and_a_shrink() {
        for (from, to) in [(16, 64), (64, 16), (7, 100), (100, 7), (1, 3)] {
            let mut t = table(from);
            let mut live = HashMap::new();
            for id in 0..300 {
                let idx = t.alloc(conn(id), 0);
                assert_eq!(t.insert(idx), Ok(()));
                live.insert(id, idx);
            }
            assert_eq!(t.start_resize(to), ResizeStart::Started);
            assert_eq!(t.buckets(), from + to);
            let mut steps = 0;
            loop {
                check(&t, &live, 0..300);
                let p = t.resize_progress().expect("running");
                assert_eq!((p.from, p.to), (from, to));
                // Migrated old buckets are empty.
                assert!((0..p.migrated).all(|b| t.chain_len(b) == 0));
                steps += 1;
                if !t.migrate(5, 3) {
                    break;
                }
            }
            // A step moves whole chains: a table of one bucket moves in one.
            assert!(steps > 1 || from == 1, "{from} -> {to} in one step");
            assert_eq!((t.buckets(), t.resize_progress()), (to, None));
            check(&t, &live, 0..300);
        }
    }

    #[test]
    fn a_step_moves_a_bounded_number_of_nodes() {
        let mut t = table(256);
        for id in 0..1000 {
            let idx = t.alloc(conn(id), 0);
            t.insert(idx).unwrap();
        }
        let longest = (0..256).map(|b| t.chain_len(b)).max().unwrap();
        t.start_resize(1024);
        while let Some(p) = t.resize_progress() {
            let left = |t: &Table| (0..256).map(|b| t.chain_len(b)).sum::<usize>();
            let before = left(&t);
            t.migrate(STEP_NODES, STEP_BUCKETS);
            let after = if t.resizing() { left(&t) } else { 0 };
            assert!(
                before - after < STEP_NODES + longest,
                "{p:?}: {}",
                before - after
            );
        }
    }

    /// A tiny deterministic generator (xorshift), so failures replay.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    #[test]
    fn random_operations_interleaved_with_resize_steps_agree_with_a_map() {
        for seed in 1..=20u64 {
            let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
            let mut t = table(1 + rng.below(40) as usize);
            let mut model: HashMap<u32, u32> = HashMap::new();
            const IDS: u32 = 400;
            for _ in 0..6000 {
                match rng.below(100) {
                    0..=39 => {
                        let id = rng.below(IDS as u64) as u32;
                        let idx = t.alloc(conn(id), 0);
                        match t.insert(idx) {
                            Ok(()) => {
                                assert!(model.insert(id, idx).is_none(), "seed {seed}: {id} twice");
                            }
                            Err(InsertError::Clash(other, 0)) => {
                                assert_eq!(model.get(&id), Some(&other), "seed {seed}");
                                t.release(idx);
                            }
                            Err(e) => panic!("seed {seed}: {e:?}"),
                        }
                    }
                    40..=59 => {
                        let id = rng.below(IDS as u64) as u32;
                        if let Some(idx) = model.remove(&id) {
                            t.release(idx);
                        }
                    }
                    60..=84 => {
                        let id = rng.below(IDS as u64) as u32;
                        let c = conn(id);
                        let want = model.get(&id).copied();
                        assert_eq!(t.find(&c.orig).0, want.map(|i| (i, 0)), "seed {seed}");
                        assert_eq!(t.find(&c.reply()).0, want.map(|i| (i, 1)), "seed {seed}");
                    }
                    85..=96 => {
                        t.migrate(1 + rng.below(8) as usize, 1 + rng.below(8) as usize);
                    }
                    _ => {
                        t.start_resize(1 + rng.below(200) as usize);
                    }
                }
            }
            check(&t, &model, 0..IDS);
            while t.migrate(3, 3) {}
            check(&t, &model, 0..IDS);
            assert_eq!(t.buckets(), t.target_buckets());
        }
    }

    #[test]
    fn links_widened_mid_resize_keep_both_arrays_walkable() {
        // Room for 4 slots: the 300 allocations below widen the links several times,
        // while a resize runs.
        let mut t = Table::new(8, TupleHasher::new(HashKind::Jenkins), 10_000, 4);
        let mut live = HashMap::new();
        for id in 0..20 {
            let idx = t.alloc(conn(id), 0);
            t.insert(idx).unwrap();
            live.insert(id, idx);
        }
        t.start_resize(32);
        for id in 20..300 {
            let idx = t.alloc(conn(id), 0);
            t.insert(idx).unwrap();
            live.insert(id, idx);
            if id % 50 == 0 {
                t.migrate(1, 1);
            }
        }
        check(&t, &live, 0..300);
        while t.migrate(4, 4) {}
        check(&t, &live, 0..300);
    }

    #[test]
    fn a_resize_asked_for_while_one_runs_follows_it() {
        let mut t = table(16);
        for id in 0..50 {
            let idx = t.alloc(conn(id), 0);
            t.insert(idx).unwrap();
        }
        assert_eq!(t.start_resize(16), ResizeStart::Unchanged);
        assert_eq!(t.start_resize(64), ResizeStart::Started);
        assert_eq!(t.start_resize(128), ResizeStart::Queued);
        assert_eq!(t.start_resize(32), ResizeStart::Queued);
        assert_eq!(t.target_buckets(), 32);
        while t.resize_progress().is_some_and(|p| p.to == 64) {
            t.migrate(4, 4);
        }
        assert_eq!(
            t.resize_progress(),
            Some(ResizeProgress {
                from: 64,
                to: 32,
                migrated: 0
            })
        );
        t.resize_now(200);
        assert_eq!((t.buckets(), t.resizing()), (200, false));
        let live: HashMap<u32, u32> = (0..50).map(|id| (id, id)).collect();
        check(&t, &live, 0..50);
    }
}
