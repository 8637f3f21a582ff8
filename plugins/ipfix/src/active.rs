//! What earlier records reported of connections still alive: for each connection that
//! had a periodic (active timeout) record, when that record ended and the counters it
//! covered, so that the next record of it starts there and counts only what came
//! after. Entries of connections a full walk of the table no longer meets are
//! dropped, so the book never outgrows the table.

use brickwall_hooks::services::conntrack::CtCounters;
use std::collections::HashMap;

/// One connection's reported part.
#[derive(Clone, Copy, Debug)]
struct Entry {
    /// Where its last record ended (ns), or when a walk first met it.
    since_ns: u64,
    /// The counters reported so far.
    counters: [CtCounters; 2],
    /// The walk that last met it.
    walk: u32,
}

/// The book, by connection id.
#[derive(Debug, Default)]
pub struct Reported {
    entries: HashMap<u64, Entry>,
    walk: u32,
}

impl Reported {
    /// Where connection `id`'s next record starts and the counters already reported,
    /// when a record or a walk covered it.
    pub fn get(&self, id: u64) -> Option<(u64, [CtCounters; 2])> {
        self.entries.get(&id).map(|e| (e.since_ns, e.counters))
    }

    /// As [`get`](Self::get), forgetting the connection (it ended).
    pub fn take(&mut self, id: u64) -> Option<(u64, [CtCounters; 2])> {
        self.entries.remove(&id).map(|e| (e.since_ns, e.counters))
    }

    /// Records that connection `id` was reported up to `since_ns` with `counters`.
    pub fn set(&mut self, id: u64, since_ns: u64, counters: [CtCounters; 2]) {
        let walk = self.walk;
        self.entries.insert(
            id,
            Entry {
                since_ns,
                counters,
                walk,
            },
        );
    }

    /// Starts a walk of the table.
    pub fn begin_walk(&mut self) {
        self.walk = self.walk.wrapping_add(1);
    }

    /// The current walk met connection `id`.
    pub fn met(&mut self, id: u64) {
        let walk = self.walk;
        if let Some(e) = self.entries.get_mut(&id) {
            e.walk = walk;
        }
    }

    /// Ends a complete walk: connections it did not meet are gone.
    pub fn end_walk(&mut self) {
        let walk = self.walk;
        self.entries.retain(|_, e| e.walk == walk);
    }

    /// Connections in the book.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the book is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}
