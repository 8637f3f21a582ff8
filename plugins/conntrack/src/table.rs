//! The connection table: a slab of connections and a hash table of buckets, each the
//! head of a chain through which both tuples of every confirmed connection are linked
//! (nodes are `slab index << 1 | direction`). Unconfirmed connections live in the slab
//! but in no chain. TCP connections' window data lives in a second slab, of TCP
//! records, that only TCP connections use.

use crate::conn::{Conn, Slot};
use crate::hash::{scale, TupleHasher};
use crate::proto::tcp::TcpConn;
use crate::proto::{Fresh, ProtoState, TcpRef};
use crate::tuple::Tuple;

/// Asks the kernel to back a large, fresh allocation with huge pages (fewer TLB misses
/// on a table of millions of entries). Only a hint: ignored where unsupported.
fn advise_huge(addr: usize, len: usize) {
    const HUGE: usize = 2 << 20;
    if len < 2 * HUGE {
        return;
    }
    // Round inwards to whole huge pages.
    let start = (addr + HUGE - 1) & !(HUGE - 1);
    let end = (addr + len) & !(HUGE - 1);
    if end > start {
        // SAFETY: the range lies inside an allocation we own; MADV_HUGEPAGE changes no
        // contents, only how the kernel backs the pages.
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
        }
    }
}

/// End of a chain, and "no node".
pub const NIL: u32 = u32::MAX;

/// Why a connection could not be linked into the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InsertError {
    /// A confirmed connection already has one of the tuples: (its index, the direction found).
    Clash(u32, u8),
    /// A chain is already longer than the walk limit.
    ChainTooLong,
}

/// The table.
pub struct Table {
    heads: Vec<u32>,
    slab: Vec<Conn>,
    free: Vec<u32>,
    tcp: Vec<TcpConn>,
    tcp_free: Vec<u32>,
    hasher: TupleHasher,
    confirmed: usize,
    /// Longest chain a walk follows (Linux: 50 plus a random 0–29).
    pub max_chain: usize,
}

impl Table {
    /// A table of `buckets` chains, with room reserved for `reserve` connections (the
    /// slab then never moves its entries while it stays below that).
    pub fn new(buckets: usize, hasher: TupleHasher, max_chain: usize, reserve: usize) -> Table {
        let mut heads: Vec<u32> = Vec::with_capacity(buckets.max(1));
        advise_huge(
            heads.as_ptr() as usize,
            heads.capacity() * std::mem::size_of::<u32>(),
        );
        heads.resize(buckets.max(1), NIL);
        let slab: Vec<Conn> = Vec::with_capacity(reserve);
        advise_huge(
            slab.as_ptr() as usize,
            slab.capacity() * std::mem::size_of::<Conn>(),
        );
        Table {
            heads,
            slab,
            free: Vec::new(),
            tcp: Vec::new(),
            tcp_free: Vec::new(),
            hasher,
            confirmed: 0,
            max_chain,
        }
    }

    /// Number of buckets.
    pub fn buckets(&self) -> usize {
        self.heads.len()
    }

    /// Connections in the table (confirmed).
    pub fn confirmed(&self) -> usize {
        self.confirmed
    }

    /// The bucket of a tuple.
    #[inline]
    pub fn bucket_of(&self, t: &Tuple) -> usize {
        scale(self.hasher.hash(t), self.heads.len())
    }

    /// The connection in slot `idx`.
    #[inline]
    pub fn get(&self, idx: u32) -> Option<&Conn> {
        self.slab.get(idx as usize).filter(|c| c.slot != Slot::Free)
    }

    /// The connection in slot `idx`, writable.
    #[inline]
    pub fn get_mut(&mut self, idx: u32) -> Option<&mut Conn> {
        self.slab
            .get_mut(idx as usize)
            .filter(|c| c.slot != Slot::Free)
    }

    /// The TCP record of the connection in slot `idx`, if it is a TCP connection.
    pub fn tcp(&self, idx: u32) -> Option<&TcpConn> {
        match self.get(idx)?.proto {
            ProtoState::Tcp(r) => self.tcp.get(r.record as usize),
            _ => None,
        }
    }

    /// The connection in slot `idx` and its TCP record (for a TCP connection), writable.
    #[inline]
    pub fn get_mut_tcp(&mut self, idx: u32) -> Option<(&mut Conn, Option<&mut TcpConn>)> {
        let c = self
            .slab
            .get_mut(idx as usize)
            .filter(|c| c.slot != Slot::Free)?;
        let tcp = match c.proto {
            ProtoState::Tcp(r) => self.tcp.get_mut(r.record as usize),
            _ => None,
        };
        Some((c, tcp))
    }

    /// Puts a new (unconfirmed) connection in the slab, with its protocol state `fresh`
    /// (a TCP record goes to the TCP slab); returns its slot.
    pub fn alloc(&mut self, mut conn: Conn, fresh: Fresh) -> u32 {
        conn.proto = match fresh {
            Fresh::Tcp(t) => {
                let state = t.state();
                let record = match self.tcp_free.pop() {
                    Some(r) => {
                        self.tcp[r as usize] = t;
                        r
                    }
                    None => {
                        self.tcp.push(t);
                        (self.tcp.len() - 1) as u32
                    }
                };
                ProtoState::Tcp(TcpRef { record, state })
            }
            Fresh::Other(p) => p,
        };
        conn.slot = Slot::Unconfirmed;
        conn.next = [NIL; 2];
        match self.free.pop() {
            Some(i) => {
                conn.generation = self.slab[i as usize].generation.wrapping_add(1);
                self.slab[i as usize] = conn;
                i
            }
            None => {
                self.slab.push(conn);
                (self.slab.len() - 1) as u32
            }
        }
    }

    /// Releases a slot (unlinking it first if it is in the table).
    pub fn release(&mut self, idx: u32) {
        if self.get(idx).is_some_and(|c| c.slot == Slot::Confirmed) {
            self.unlink(idx);
        }
        if let Some(c) = self.slab.get_mut(idx as usize) {
            if c.slot != Slot::Free {
                c.slot = Slot::Free;
                c.ext = None;
                if let ProtoState::Tcp(r) = c.proto {
                    self.tcp_free.push(r.record);
                }
                c.proto = ProtoState::Generic;
                self.free.push(idx);
            }
        }
    }

    /// Finds the confirmed connection with tuple `t`: its slot and the direction `t` is.
    /// Follows at most `max_chain` nodes; returns the nodes walked beside the answer.
    #[inline]
    pub fn find(&self, t: &Tuple) -> (Option<(u32, u8)>, usize) {
        self.probe(self.bucket_of(t), t)
    }

    /// The length of bucket `bucket`'s chain (0 for a bucket out of range); walks the
    /// chain without allocating.
    pub fn chain_len(&self, bucket: usize) -> usize {
        let Some(&head) = self.heads.get(bucket) else {
            return 0;
        };
        let mut node = head;
        let mut n = 0;
        // Every node is in one chain once: a walk longer than all nodes cannot happen.
        while node != NIL && n < 2 * self.slab.len() {
            n += 1;
            node = self.slab[(node >> 1) as usize].next[(node & 1) as usize];
        }
        n
    }

    /// Walks bucket `b` once: the node whose tuple is `t`, if any, and the chain's length
    /// (counted up to `max_chain + 1`).
    fn probe(&self, b: usize, t: &Tuple) -> (Option<(u32, u8)>, usize) {
        let mut node = self.heads[b];
        let mut len = 0;
        while node != NIL && len <= self.max_chain {
            let (idx, dir) = (node >> 1, (node & 1) as u8);
            let c = &self.slab[idx as usize];
            let hit = if dir == 0 {
                c.orig == *t
            } else {
                c.reply() == *t
            };
            if hit {
                return (Some((idx, dir)), len);
            }
            node = c.next[dir as usize];
            len += 1;
        }
        (None, len)
    }

    /// Links an unconfirmed connection's two tuples into their chains (at the head),
    /// making it confirmed; refuses on a clash or an over-long chain. One walk per chain
    /// checks both.
    pub fn insert(&mut self, idx: u32) -> Result<(), InsertError> {
        let Some(c) = self.get(idx) else {
            return Err(InsertError::ChainTooLong);
        };
        let tuples = [c.orig, c.reply()];
        let mut buckets = [0usize; 2];
        for dir in 0..2 {
            buckets[dir] = self.bucket_of(&tuples[dir]);
            match self.probe(buckets[dir], &tuples[dir]) {
                (Some((other, d)), _) => return Err(InsertError::Clash(other, d)),
                (None, len) if len >= self.max_chain => return Err(InsertError::ChainTooLong),
                _ => {}
            }
        }
        for (dir, &b) in buckets.iter().enumerate() {
            let old = self.heads[b];
            self.slab[idx as usize].next[dir] = old;
            self.heads[b] = idx << 1 | dir as u32;
        }
        self.slab[idx as usize].slot = Slot::Confirmed;
        self.confirmed += 1;
        Ok(())
    }

    /// Unlinks a confirmed connection from both chains (it stays in the slab, unconfirmed).
    pub fn unlink(&mut self, idx: u32) {
        let Some(c) = self.get(idx) else { return };
        if c.slot != Slot::Confirmed {
            return;
        }
        let tuples = [c.orig, c.reply()];
        for (dir, t) in tuples.iter().enumerate() {
            let target = idx << 1 | dir as u32;
            let b = self.bucket_of(t);
            let mut prev = NIL;
            let mut node = self.heads[b];
            while node != NIL {
                let next = self.slab[(node >> 1) as usize].next[(node & 1) as usize];
                if node == target {
                    if prev == NIL {
                        self.heads[b] = next;
                    } else {
                        self.slab[(prev >> 1) as usize].next[(prev & 1) as usize] = next;
                    }
                    break;
                }
                prev = node;
                node = next;
            }
        }
        self.slab[idx as usize].slot = Slot::Unconfirmed;
        self.confirmed -= 1;
    }

    /// The nodes of bucket `b` in chain order: (slot, direction).
    pub fn chain(&self, b: usize) -> Vec<(u32, u8)> {
        let mut out = Vec::new();
        let Some(&head) = self.heads.get(b) else {
            return out;
        };
        let mut node = head;
        while node != NIL && out.len() < 1 << 20 {
            out.push((node >> 1, (node & 1) as u8));
            node = self.slab[(node >> 1) as usize].next[(node & 1) as usize];
        }
        out
    }

    /// How many chains have each length: `hist[n]` chains of length `n` (the last entry
    /// counts every longer chain).
    pub fn chain_histogram(&self, max_len: usize) -> Vec<u64> {
        let mut hist = vec![0u64; max_len + 1];
        for b in 0..self.heads.len() {
            hist[self.chain_len(b).min(max_len)] += 1;
        }
        hist
    }

    /// Slots of confirmed connections in buckets `start..start+n` (wrapping), in chain
    /// order, each once (by its original-direction node).
    pub fn scan(&self, start: usize, n: usize) -> Vec<u32> {
        let mut out = Vec::new();
        let len = self.heads.len();
        for i in 0..n.min(len) {
            for (idx, dir) in self.chain((start + i) % len) {
                if dir == 0 {
                    out.push(idx);
                }
            }
        }
        out
    }

    /// Every live slot (confirmed and unconfirmed).
    pub fn slots(&self) -> impl Iterator<Item = (u32, &Conn)> {
        self.slab
            .iter()
            .enumerate()
            .filter(|(_, c)| c.slot != Slot::Free)
            .map(|(i, c)| (i as u32, c))
    }
}
