//! The connection table: a slab of connections and a hash table of buckets, each the
//! head of a chain through which both tuples of every confirmed connection are linked
//! (nodes are `slab index << 1 | direction`). Unconfirmed connections live in the slab
//! but in no chain. Linux's optional extensions, per-direction counters (`acct`) and
//! start times (`tstamp`), live in arrays of their own beside the slab, allocated only
//! when switched on ([`Extensions`]).
//!
//! The chain links are kept apart from the records, in an array of two links per slot
//! (8 bytes, small enough to stay in cache where the records do not), and every link
//! carries a tag, some bits of the hash of the tuple it points to: a walk follows the
//! links and only reads a record whose tag matches, so the records a chain passes
//! through on the way to its match are not loaded. A link is `tag << node_bits | node`;
//! `node_bits` grows with the slab (the tag shrinks), see [`Table::alloc`]. The tag is
//! the hash's low bits and the bucket comes from its high ones ([`scale`]), so a tag
//! does not depend on the bucket count and stays valid when the table is resized.
//!
//! The bucket array is resized in place, a few buckets at a time, while lookups and
//! inserts go on ([`resize`]).

pub mod cell;
pub mod resize;

pub use cell::{ConnCell, SlotGuard};
pub use resize::{ResizeProgress, ResizeStart, STEP_BUCKETS, STEP_NODES};

use crate::conn::{Conn, DirCounters, Slot};
use crate::hash::{scale, TupleHasher};
use crate::proto::ProtoState;
use crate::tuple::Tuple;
use std::cell::UnsafeCell;

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

/// Lookups [`Table::prefetch`] overlaps at a time.
pub const PREFETCH_BATCH: usize = 32;

/// Asks the CPU to bring the cache line at `p` closer (a hint: nothing happens where
/// the architecture has no such instruction).
#[inline(always)]
fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch only hints at a future load; it never faults, whatever the
    // address, and changes no memory.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p as *const i8)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Offset of a record's last byte.
const RECORD_LAST: usize = std::mem::size_of::<ConnCell>() - 1;

/// End of a chain, and "no node".
pub const NIL: u32 = u32::MAX;

/// Bytes of chain links per slot (beside the record).
pub const LINK_BYTES: usize = std::mem::size_of::<[u32; 2]>();

/// The fewest link bits that number the nodes of `slots` slots (plus one spare value,
/// so that no link is [`NIL`]).
fn node_bits_for(slots: usize) -> u32 {
    let nodes = 2 * slots as u64 + 2;
    (64 - (nodes - 1).leading_zeros()).clamp(1, 32)
}

/// Linux's optional per-connection extensions, which the table keeps beside the
/// records, each in an array that stays empty while the extension is off.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Extensions {
    /// Per-direction packet and byte counters (`nf_conntrack_acct`): 32 bytes a
    /// connection.
    pub acct: bool,
    /// The connection's start time (`nf_conntrack_timestamp`): 8 bytes a connection.
    pub tstamp: bool,
}

impl Extensions {
    /// Bytes each connection costs beside its record and links.
    pub fn bytes(&self) -> usize {
        let mut n = 0;
        if self.acct {
            n += std::mem::size_of::<[DirCounters; 2]>();
        }
        if self.tstamp {
            n += std::mem::size_of::<u64>();
        }
        n
    }
}

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
    /// The bucket heads (mid-resize, the old array).
    heads: Vec<u32>,
    /// The resize in progress, if any.
    resize: Option<Box<resize::Migration>>,
    /// The size the next resize goes to, asked for while one ran.
    queued: Option<usize>,
    /// Per slot, the link after each of its two nodes.
    links: Vec<[u32; 2]>,
    /// Bits of a link that hold the node; the rest hold the tag.
    node_bits: u32,
    slab: Vec<ConnCell>,
    free: Vec<u32>,
    extensions: Extensions,
    /// Per slot, with `acct`: each direction's packets and bytes (written by lanes
    /// under the record's lock: see [`cell`]).
    acct: Vec<UnsafeCell<[DirCounters; 2]>>,
    /// Per slot, with `tstamp`: when the connection started (packet time, ns).
    tstamp: Vec<u64>,
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
        let slab: Vec<ConnCell> = Vec::with_capacity(reserve);
        advise_huge(
            slab.as_ptr() as usize,
            slab.capacity() * std::mem::size_of::<ConnCell>(),
        );
        let links: Vec<[u32; 2]> = Vec::with_capacity(reserve);
        advise_huge(links.as_ptr() as usize, links.capacity() * LINK_BYTES);
        Table {
            heads,
            resize: None,
            queued: None,
            links,
            node_bits: node_bits_for(reserve),
            slab,
            free: Vec::new(),
            extensions: Extensions::default(),
            acct: Vec::new(),
            tstamp: Vec::new(),
            hasher,
            confirmed: 0,
            max_chain,
        }
    }

    /// Number of buckets. Mid-resize, the buckets of both arrays, whose numbers the
    /// chain views use: the old array's first, then the new one's (see [`resize`]).
    pub fn buckets(&self) -> usize {
        self.heads.len() + self.resize.as_ref().map_or(0, |m| m.target())
    }

    /// The head of bucket `b` (a number below [`buckets`](Self::buckets)).
    #[inline]
    fn head(&self, b: usize) -> u32 {
        match self.heads.get(b) {
            Some(&link) => link,
            None => self.new_head(b),
        }
    }

    /// The head of bucket `b` of the new array, mid-resize.
    #[cold]
    fn new_head(&self, b: usize) -> u32 {
        let j = b - self.heads.len();
        self.resize.as_ref().map_or(NIL, |m| m.head(j))
    }

    /// The head of bucket `b`, writable.
    #[inline]
    fn head_mut(&mut self, b: usize) -> &mut u32 {
        let old = self.heads.len();
        match (b < old, self.resize.as_mut()) {
            (false, Some(m)) => m.head_mut(b - old),
            _ => &mut self.heads[b],
        }
    }

    /// Bytes of connection records the table holds (live and free slots).
    pub fn record_bytes(&self) -> usize {
        self.slab.len() * std::mem::size_of::<ConnCell>()
    }

    /// Bytes one connection costs: its record, its links and the extensions on.
    pub fn bytes_per_conn(&self) -> usize {
        std::mem::size_of::<ConnCell>() + LINK_BYTES + self.extensions.bytes()
    }

    /// Switches extensions on or off (a switched-on one starts at zero, or at 0 ns, for
    /// the connections already stored).
    /// An extension switched on reserves room for as many connections as the slab
    /// (its arrays then grow without moving, like the slab, up to that size).
    pub fn set_extensions(&mut self, e: Extensions) {
        self.extensions = e;
        let reserve = self.slab.capacity();
        self.acct = Vec::new();
        if e.acct {
            self.acct.reserve_exact(reserve);
            advise_huge(
                self.acct.as_ptr() as usize,
                self.acct.capacity() * std::mem::size_of::<[DirCounters; 2]>(),
            );
            self.acct.resize_with(self.slab.len(), Default::default);
        }
        self.tstamp = Vec::new();
        if e.tstamp {
            self.tstamp.reserve_exact(reserve);
            self.tstamp.resize(self.slab.len(), 0);
        }
    }

    /// The extensions on.
    pub fn extensions(&self) -> Extensions {
        self.extensions
    }

    /// The counters of the connection in slot `idx`, with `acct` on.
    pub fn counters(&self, idx: u32) -> Option<[DirCounters; 2]> {
        self.get(idx)?;
        // SAFETY: see `get`: no lane runs while this `&Table` is held.
        self.acct.get(idx as usize).map(|a| unsafe { *a.get() })
    }

    /// Counts a packet of `bytes` in direction `dir` (0 or 1) of the connection in slot
    /// `idx`, with `acct` on.
    #[inline]
    pub fn account(&mut self, idx: u32, dir: u8, bytes: u64) {
        if let Some(c) = self.acct.get_mut(idx as usize) {
            let c = &mut c.get_mut()[dir as usize & 1];
            c.packets += 1;
            c.bytes += bytes;
        }
    }

    /// Sets the counters of the connection in slot `idx` to 0, with `acct` on
    /// (`conntrack -L -z`).
    pub fn zero_counters(&mut self, idx: u32) {
        if let Some(c) = self.acct.get_mut(idx as usize) {
            *c.get_mut() = Default::default();
        }
    }

    /// When the connection in slot `idx` started, with `tstamp` on.
    pub fn start_ns(&self, idx: u32) -> Option<u64> {
        self.get(idx)?;
        self.start_of(idx)
    }

    /// When slot `idx`'s connection started, with `tstamp` on, whether or not the slot
    /// is live (the start is written only by the exclusive holder: lanes may read it).
    pub fn start_of(&self, idx: u32) -> Option<u64> {
        self.tstamp.get(idx as usize).copied()
    }

    /// Connections in the table (confirmed).
    pub fn confirmed(&self) -> usize {
        self.confirmed
    }

    /// The bucket of a tuple (mid-resize, in the numbering of both arrays).
    #[inline]
    pub fn bucket_of(&self, t: &Tuple) -> usize {
        self.place(t).0
    }

    /// The table's hash function.
    pub fn hasher(&self) -> &TupleHasher {
        &self.hasher
    }

    /// The hash of a tuple, as [`find_hashed`](Self::find_hashed) and
    /// [`prefetch`](Self::prefetch) take it.
    #[inline]
    pub fn hash(&self, t: &Tuple) -> u32 {
        self.hasher.hash(t)
    }

    /// A tuple's bucket and the tag of links to it, in place in the link: the low bits
    /// of the hash (the bucket comes from the high ones); none when links have no room.
    #[inline]
    fn place(&self, t: &Tuple) -> (usize, u32) {
        self.place_of(self.hasher.hash(t))
    }

    /// The bucket and tag of hash `h`. Without a resize running, one branch more than
    /// the scaling, always taken the same way.
    #[inline]
    fn place_of(&self, h: u32) -> (usize, u32) {
        let old = self.heads.len();
        let b = scale(h, old);
        let b = match &self.resize {
            None => b,
            Some(m) => m.place(h, b, old),
        };
        (b, h.checked_shl(self.node_bits).unwrap_or(0))
    }

    /// The bits of a link that hold the node.
    #[inline]
    fn node_mask(&self) -> u32 {
        u32::MAX >> (32 - self.node_bits)
    }

    /// The link after node `node` (a node of a live slot).
    #[inline]
    fn next_of(&self, node: u32) -> u32 {
        self.links[(node >> 1) as usize][(node & 1) as usize]
    }

    /// Makes room for one more bit of node in every link, taking it from the tag.
    fn widen(&mut self) {
        let mask = self.node_mask();
        let shift = |l: u32| {
            if l == NIL {
                l
            } else {
                (l & !mask) << 1 | (l & mask)
            }
        };
        for h in self.heads.iter_mut() {
            *h = shift(*h);
        }
        if let Some(m) = self.resize.as_mut() {
            for h in m.heads_mut() {
                *h = shift(*h);
            }
        }
        for pair in self.links.iter_mut() {
            *pair = [shift(pair[0]), shift(pair[1])];
        }
        self.node_bits += 1;
    }

    /// The connection in slot `idx`.
    ///
    /// For the tracker's exclusive holder: lanes, which share the table while other
    /// lanes change records, read it through [`lock_slot`](Self::lock_slot) and
    /// [`find_hashed`](Self::find_hashed) only (see [`cell`]).
    #[inline]
    pub fn get(&self, idx: u32) -> Option<&Conn> {
        let cell = self.slab.get(idx as usize)?;
        // SAFETY: a `&Table` outside a lane's own methods belongs to the tracker's
        // exclusive holder or to an unshared table: no lane runs.
        let c = unsafe { cell.conn() };
        (c.slot != Slot::Free).then_some(c)
    }

    /// The connection in slot `idx`, writable.
    #[inline]
    pub fn get_mut(&mut self, idx: u32) -> Option<&mut Conn> {
        self.slab
            .get_mut(idx as usize)
            .map(ConnCell::conn_mut)
            .filter(|c| c.slot != Slot::Free)
    }

    /// The fields of slot `idx`'s record that lanes read without its lock (see
    /// [`cell`]).
    #[inline]
    pub fn fixed(&self, idx: u32) -> Option<cell::Fixed<'_>> {
        self.slab.get(idx as usize).map(ConnCell::fixed)
    }

    /// Locks the record in slot `idx` for a lane: it reads the record and changes its
    /// protocol state, expiry and counters (see [`cell`]). Whether the slot is still
    /// the connection the lane looked for is the caller's to check, under the lock.
    /// `alone`: the lane is the only one that can run ([`crate::lanes::LaneState::alone`]),
    /// and takes no lock.
    #[inline]
    pub fn lock_slot(&self, idx: u32, alone: bool) -> Option<SlotGuard<'_>> {
        let cell = self.slab.get(idx as usize)?;
        Some(cell.lock(self.acct.get(idx as usize), alone))
    }

    /// Puts a new (unconfirmed) connection, started at `start_ns`, in the slab;
    /// returns its slot. Its id must differ from the slot's previous occupant's (ids
    /// are a sequence, see [`Conn::id`]).
    pub fn alloc(&mut self, mut conn: Conn, start_ns: u64) -> u32 {
        conn.slot = Slot::Unconfirmed;
        let idx = match self.free.pop() {
            Some(i) => {
                *self.slab[i as usize].conn_mut() = conn;
                self.links[i as usize] = [NIL; 2];
                i
            }
            None => {
                while node_bits_for(self.slab.len() + 1) > self.node_bits {
                    self.widen();
                }
                self.slab.push(ConnCell::new(conn));
                self.links.push([NIL; 2]);
                (self.slab.len() - 1) as u32
            }
        };
        let i = idx as usize;
        if self.extensions.acct {
            self.acct.resize_with(self.slab.len(), Default::default);
            *self.acct[i].get_mut() = Default::default();
        }
        if self.extensions.tstamp {
            self.tstamp.resize(self.slab.len(), 0);
            self.tstamp[i] = start_ns;
        }
        idx
    }

    /// Releases a slot (unlinking it first if it is in the table).
    pub fn release(&mut self, idx: u32) {
        if self.get(idx).is_some_and(|c| c.slot == Slot::Confirmed) {
            self.unlink(idx);
        }
        if let Some(c) = self.slab.get_mut(idx as usize).map(ConnCell::conn_mut) {
            if c.slot != Slot::Free {
                c.slot = Slot::Free;
                c.ext = None;
                c.proto = ProtoState::Generic;
                self.free.push(idx);
            }
        }
    }

    /// Finds the confirmed connection with tuple `t`: its slot and the direction `t` is.
    /// Follows at most `max_chain` nodes; returns the nodes walked beside the answer.
    #[inline]
    pub fn find(&self, t: &Tuple) -> (Option<(u32, u8)>, usize) {
        let (b, tag) = self.place(t);
        self.probe(b, tag, t)
    }

    /// As [`find`](Self::find), for a tuple whose hash `h` is already known.
    #[inline]
    pub fn find_hashed(&self, t: &Tuple, h: u32) -> (Option<(u32, u8)>, usize) {
        let (b, tag) = self.place_of(h);
        self.probe(b, tag, t)
    }

    /// Warms the cache for lookups of the tuples whose hashes are `hashes`, a batch at a
    /// time and a step at a time, so that the misses of a batch overlap instead of
    /// following one another: every bucket head, then the first link of each chain,
    /// then the record each walk will compare (the first whose tag matches). Reads
    /// only; a lookup that follows finds the same answer, sooner.
    pub fn prefetch(&self, hashes: &[u32]) {
        let mask = self.node_mask();
        for chunk in hashes.chunks(PREFETCH_BATCH) {
            let mut places = [(0usize, 0u32); PREFETCH_BATCH];
            for (p, &h) in places.iter_mut().zip(chunk) {
                *p = self.place_of(h);
                if let Some(head) = self.heads.get(p.0) {
                    prefetch(head);
                }
            }
            // The first node of each chain: its record if the tag matches, else its
            // link, which the next step follows.
            let mut walks = [NIL; PREFETCH_BATCH];
            for (w, &(b, tag)) in walks.iter_mut().zip(&places[..chunk.len()]) {
                let link = self.head(b);
                if link == NIL {
                    continue;
                }
                if link & !mask == tag {
                    self.prefetch_record(((link & mask) >> 1) as usize);
                } else {
                    prefetch(&self.links[((link & mask) >> 1) as usize]);
                    *w = link;
                }
            }
            // The rest of the chains that did not start with their match.
            for (&w, &(_, tag)) in walks.iter().zip(&places[..chunk.len()]) {
                let mut link = w;
                let mut len = 0;
                while link != NIL && len <= self.max_chain {
                    let node = link & mask;
                    if link & !mask == tag {
                        self.prefetch_record((node >> 1) as usize);
                        break;
                    }
                    link = self.next_of(node);
                    len += 1;
                }
            }
        }
    }

    /// Warms the record in slot `idx`: its first and its last cache line (the core's
    /// adjacent-line prefetch brings a line between them, if any), and its counters
    /// with accounting on.
    #[inline]
    fn prefetch_record(&self, idx: usize) {
        if let Some(c) = self.slab.get(idx) {
            let p = c.as_ptr();
            prefetch(p);
            prefetch(p.wrapping_add(RECORD_LAST));
        }
        self.prefetch_extensions(idx);
    }

    /// Warms the counters of slot `idx`, with accounting on (they live apart from the
    /// record: another miss, which a hit can start early).
    #[inline(always)]
    fn prefetch_extensions(&self, idx: usize) {
        if let Some(a) = self.acct.get(idx) {
            prefetch(a);
        }
    }

    /// The length of bucket `bucket`'s chain (0 for a bucket out of range); walks the
    /// chain without allocating.
    pub fn chain_len(&self, bucket: usize) -> usize {
        if bucket >= self.buckets() {
            return 0;
        }
        let mask = self.node_mask();
        let mut link = self.head(bucket);
        let mut n = 0;
        // Every node is in one chain once: a walk longer than all nodes cannot happen.
        while link != NIL && n < 2 * self.slab.len() {
            n += 1;
            link = self.next_of(link & mask);
        }
        n
    }

    /// Walks bucket `b` once: the node whose tuple is `t` (whose links carry `tag`), if
    /// any, and the chain's length (counted up to `max_chain + 1`). Only records whose
    /// tag matches are read.
    #[inline]
    fn probe(&self, b: usize, tag: u32, t: &Tuple) -> (Option<(u32, u8)>, usize) {
        let mask = self.node_mask();
        let mut link = self.head(b);
        let mut len = 0;
        while link != NIL && len <= self.max_chain {
            let node = link & mask;
            let (idx, dir) = (node >> 1, (node & 1) as u8);
            if link & !mask == tag {
                let c = &self.slab[idx as usize];
                // A hit goes on to the record's far end (protocol state), often
                // another cache line: ask for it now, beside the compare's.
                prefetch(c.as_ptr().wrapping_add(RECORD_LAST));
                self.prefetch_extensions(idx as usize);
                // Only the tuples are read, which lanes never write (see `cell`).
                let hit = if dir == 0 {
                    c.orig() == t
                } else {
                    c.reply_is(t)
                };
                if hit {
                    return (Some((idx, dir)), len);
                }
            }
            link = self.links[idx as usize][dir as usize];
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
        let mut places = [(0usize, 0u32); 2];
        for dir in 0..2 {
            places[dir] = self.place(&tuples[dir]);
            let (b, tag) = places[dir];
            match self.probe(b, tag, &tuples[dir]) {
                (Some((other, d)), _) => return Err(InsertError::Clash(other, d)),
                (None, len) if len >= self.max_chain => return Err(InsertError::ChainTooLong),
                _ => {}
            }
        }
        for (dir, &(b, tag)) in places.iter().enumerate() {
            let head = self.head_mut(b);
            let next = std::mem::replace(head, tag | idx << 1 | dir as u32);
            self.links[idx as usize][dir] = next;
        }
        self.slab[idx as usize].conn_mut().slot = Slot::Confirmed;
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
        let mask = self.node_mask();
        for (dir, t) in tuples.iter().enumerate() {
            let target = idx << 1 | dir as u32;
            let b = self.bucket_of(t);
            let mut prev = NIL;
            let mut link = self.head(b);
            while link != NIL {
                let node = link & mask;
                let next = self.next_of(node);
                if node == target {
                    if prev == NIL {
                        *self.head_mut(b) = next;
                    } else {
                        self.links[(prev >> 1) as usize][(prev & 1) as usize] = next;
                    }
                    break;
                }
                prev = node;
                link = next;
            }
        }
        self.slab[idx as usize].conn_mut().slot = Slot::Unconfirmed;
        self.confirmed -= 1;
    }

    /// The nodes of bucket `b` in chain order: (slot, direction).
    pub fn chain(&self, b: usize) -> Vec<(u32, u8)> {
        let mut out = Vec::new();
        if b >= self.buckets() {
            return out;
        }
        let mask = self.node_mask();
        let mut link = self.head(b);
        while link != NIL && out.len() < 1 << 20 {
            let node = link & mask;
            out.push((node >> 1, (node & 1) as u8));
            link = self.next_of(node);
        }
        out
    }

    /// How many chains have each length: `hist[n]` chains of length `n` (the last entry
    /// counts every longer chain).
    pub fn chain_histogram(&self, max_len: usize) -> Vec<u64> {
        let mut hist = vec![0u64; max_len + 1];
        for b in 0..self.buckets() {
            hist[self.chain_len(b).min(max_len)] += 1;
        }
        hist
    }

    /// Slots of confirmed connections in buckets `start..start+n` (wrapping), in chain
    /// order, each once (by its original-direction node).
    pub fn scan(&self, start: usize, n: usize) -> Vec<u32> {
        let mut out = Vec::new();
        let len = self.buckets();
        for i in 0..n.min(len) {
            for (idx, dir) in self.chain((start + i) % len) {
                if dir == 0 {
                    out.push(idx);
                }
            }
        }
        out
    }

    /// Slots in the slab (live and free): slot numbers are below it.
    pub fn slot_count(&self) -> u32 {
        self.slab.len() as u32
    }

    /// Every live slot (confirmed and unconfirmed).
    pub fn slots(&self) -> impl Iterator<Item = (u32, &Conn)> {
        self.slots_from(0)
    }

    /// Every live slot from slot `start` on, in slot order.
    pub fn slots_from(&self, start: u32) -> impl Iterator<Item = (u32, &Conn)> {
        let start = (start as usize).min(self.slab.len());
        self.slab[start..]
            .iter()
            .enumerate()
            // SAFETY: as in `get`: no lane runs while this `&Table` is held.
            .map(|(i, c)| (i, unsafe { c.conn() }))
            .filter(|(_, c)| c.slot != Slot::Free)
            .map(move |(i, c)| ((start + i) as u32, c))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::hash::HashKind;
    use crate::proto::ProtoState;
    use crate::tuple::{proto, FAMILY_V4};

    /// An unconfirmed UDP connection from an address made of `i`.
    pub(super) fn conn(i: u32) -> Conn {
        let mut src = [0u8; 16];
        src[..4].copy_from_slice(&i.to_be_bytes());
        Conn {
            orig: Tuple {
                src,
                dst: [1; 16],
                src_id: i as u16,
                dst_id: 53,
                proto: proto::UDP,
                family: FAMILY_V4,
                zone: 0,
            },
            expires_ns: 0,
            proto: ProtoState::Generic,
            id: i,
            mark: 0,
            status: 0,
            slot: Slot::Unconfirmed,
            lock: Default::default(),
            ext: None,
        }
    }

    #[test]
    fn links_widen_as_the_slab_grows_and_walks_still_find_every_tuple() {
        let mut t = Table::new(4, TupleHasher::new(HashKind::Siphash), 10_000, 1);
        let first_bits = t.node_bits;
        for i in 0..300 {
            let idx = t.alloc(conn(i), 0);
            assert_eq!(t.insert(idx), Ok(()));
        }
        assert!(t.node_bits > first_bits);
        for idx in (0..300).step_by(3) {
            t.release(idx);
        }
        for idx in 0..300u32 {
            let c = conn(idx);
            let want = (idx % 3 != 0).then_some(idx);
            assert_eq!(t.find(&c.orig).0.map(|h| h.0), want);
            assert_eq!(t.find(&c.reply()).0, want.map(|i| (i, 1)));
        }
        let nodes: usize = (0..t.buckets()).map(|b| t.chain_len(b)).sum();
        assert_eq!(nodes, 2 * t.confirmed());
        assert_eq!(t.confirmed(), 200);
    }
}
