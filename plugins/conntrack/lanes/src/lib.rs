//! The lock under conntrack's tracker: a **lane** per worker, and an **exclusive**
//! holder over all of them.
//!
//! A lane is a spin lock of the worker's own, on a cache line pair of its own. Holding
//! it, the worker reads the shared value (`&T`) beside other lanes and owns the lane's
//! state (`&mut S`); lanes never wait for each other. Whatever a lane holder changes in
//! the shared value it changes under finer locks of the value's own (conntrack: a
//! record's lock).
//!
//! The exclusive holder takes the writers' mutex, then every registered lane in
//! ascending order: it then has the value (`&mut T`) and every lane's state to itself.
//!
//! A worker registers its lane once, holding the lock exclusively, so that an exclusive
//! holder never misses a lane that could be running and no lane appears while another
//! is held. A lane that finds itself the only one registered is therefore alone until
//! it lets go ([`LaneGuard::alone`]): the value's finer locks can be skipped.
//!
//! Neither side starves the other: a lane that finds its lock taken says it is waiting,
//! and the next exclusive holder lets it have its turn before taking that lane; an
//! exclusive holder that finds a lane taken says so, and that lane's next holder waits
//! until the exclusive holder has had its turn (a control client listing the table in a
//! loop, or a lane held for long stretches, cannot shut the other out).
//!
//! Lock order, which makes deadlock impossible: the writers' mutex, then lanes in
//! ascending order. A lane holder must not take the lock exclusively or another lane
//! while it holds its own (that would wait for itself, or break the order).
//!
//! `tests/loom.rs` checks the protocol under the loom model checker
//! (`RUSTFLAGS="--cfg brickwall_loom" cargo test -p brickwall-lanes --test loom --release`).

mod sync;

use std::ops::{Deref, DerefMut};
use sync::{AtomicBool, AtomicU64, ConstPtr, MutPtr, Mutex, MutexGuard, UnsafeCell};

use std::sync::atomic::Ordering;

/// The most lanes a lock has.
pub const LANES: usize = 64;

/// A lane: its lock and its state.
#[repr(align(128))]
struct Lane<S> {
    held: AtomicBool,
    /// A holder is waiting for `held` (the next exclusive holder lets it in first).
    waiting: AtomicBool,
    /// An exclusive holder is waiting for `held` (the lane's next holder lets it in
    /// first).
    writer_waiting: AtomicBool,
    state: UnsafeCell<S>,
}

/// A value behind per-worker lanes and an exclusive lock (see the crate comment).
pub struct LaneLock<T, S> {
    value: UnsafeCell<T>,
    writer: Mutex<()>,
    lanes: Box<[Lane<S>]>,
    /// A bit per lane that has been used (set while held exclusively).
    registered: AtomicU64,
}

// SAFETY: the value and the lanes' states are reached only through the guards, which
// the locks make exclusive where they hand out `&mut` (see the crate comment); shared
// access to the value from several lanes at once needs `T: Sync`-like care that the
// value's own finer locks provide, which is why the value must at least be `Send`.
unsafe impl<T: Send, S: Send> Sync for LaneLock<T, S> {}

/// Takes a spin lock if it is free.
#[inline]
fn try_acquire(flag: &AtomicBool) -> bool {
    flag.compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
        .is_ok()
}

/// Takes spin lock `held` in turn with the other side: first lets the other side in if
/// it has been waiting (`theirs`), then takes the lock, saying it waits (`mine`) while
/// it is taken.
#[inline]
fn take_in_turn(held: &AtomicBool, theirs: &AtomicBool, mine: &AtomicBool) {
    let mut spins = 0u32;
    while theirs.load(Ordering::Acquire) {
        spins += 1;
        sync::spin(spins);
    }
    if !try_acquire(held) {
        mine.store(true, Ordering::Release);
        spin_lock(held);
        mine.store(false, Ordering::Release);
    }
}

/// Takes the spin lock `flag` (true while held; the holder lets go by storing false
/// with release ordering): the lanes' own, and what finer locks beside them use.
#[inline]
pub fn spin_lock(flag: &AtomicBool) {
    let mut spins = 0u32;
    while flag
        .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {
        spins += 1;
        sync::spin(spins);
    }
}

impl<T, S: Default> LaneLock<T, S> {
    /// A lock around `value` with [`LANES`] lanes.
    pub fn new(value: T) -> Self {
        Self::with_lanes(value, LANES)
    }

    /// A lock around `value` with `n` lanes (at most [`LANES`]).
    pub fn with_lanes(value: T, n: usize) -> Self {
        LaneLock {
            value: UnsafeCell::new(value),
            writer: Mutex::new(()),
            lanes: (0..n.min(LANES))
                .map(|_| Lane {
                    held: AtomicBool::new(false),
                    waiting: AtomicBool::new(false),
                    writer_waiting: AtomicBool::new(false),
                    state: UnsafeCell::new(S::default()),
                })
                .collect(),
            registered: AtomicU64::new(0),
        }
    }
}

impl<T, S> LaneLock<T, S> {
    /// The value, exclusively: every lane waits until the guard is dropped.
    pub fn write(&self) -> Exclusive<'_, T, S> {
        let writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        // Registration happens while held exclusively: this is every lane that can run.
        let held = self.registered.load(Ordering::Relaxed);
        let mut bits = held;
        while bits != 0 {
            let i = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            let lane = &self.lanes[i];
            // A lane that waited through the previous exclusive holder goes first.
            take_in_turn(&lane.held, &lane.waiting, &lane.writer_waiting);
        }
        Exclusive {
            lock: self,
            held,
            value: Some(self.value.get_mut()),
            _writer: writer,
        }
    }

    /// Lane `i`, held; `None` past the lock's lanes. Its first use registers it
    /// (taking the lock exclusively once). Two threads that claim the same lane take
    /// turns on it.
    #[inline]
    pub fn lane(&self, i: usize) -> Option<LaneGuard<'_, T, S>> {
        let lane = self.lanes.get(i)?;
        let bit = 1u64 << i;
        if self.registered.load(Ordering::Acquire) & bit == 0 {
            let _all = self.write();
            self.registered.fetch_or(bit, Ordering::Release);
        }
        // An exclusive holder that waited for this lane goes first.
        take_in_turn(&lane.held, &lane.writer_waiting, &lane.waiting);
        let alone = self.registered.load(Ordering::Acquire) == bit;
        Some(LaneGuard {
            lock: self,
            lane: i,
            alone,
            access: Some((self.value.get(), lane.state.get_mut())),
        })
    }
}

/// The value held exclusively (the writers' mutex and every registered lane).
pub struct Exclusive<'a, T, S> {
    lock: &'a LaneLock<T, S>,
    held: u64,
    /// The access to the value (ended before the lanes are let go).
    value: Option<MutPtr<T>>,
    _writer: MutexGuard<'a, ()>,
}

impl<T, S> Exclusive<'_, T, S> {
    /// Calls `f` with the value and each registered lane's index and state (all held).
    pub fn fold(&mut self, mut f: impl FnMut(&mut T, usize, &mut S)) {
        let mut bits = self.held;
        while bits != 0 {
            let i = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            let state = self.lock.lanes[i].state.get_mut();
            // SAFETY: lane `i` is held by this guard, so its state is ours; the value
            // is ours too (every lane and the mutex are held).
            unsafe { f(self.deref_mut(), i, state.deref()) };
        }
    }
}

impl<T, S> Deref for Exclusive<'_, T, S> {
    type Target = T;

    fn deref(&self) -> &T {
        match &self.value {
            // SAFETY: held exclusively (see `LaneLock::write`).
            Some(v) => unsafe { v.deref() },
            None => unreachable!("the access lives as long as the guard"),
        }
    }
}

impl<T, S> DerefMut for Exclusive<'_, T, S> {
    fn deref_mut(&mut self) -> &mut T {
        match &self.value {
            // SAFETY: held exclusively (see `LaneLock::write`).
            Some(v) => unsafe { v.deref() },
            None => unreachable!("the access lives as long as the guard"),
        }
    }
}

impl<T, S> Drop for Exclusive<'_, T, S> {
    fn drop(&mut self) {
        self.value = None;
        // The lanes go first; the mutex is let go after this (a field).
        let mut bits = self.held;
        while bits != 0 {
            let i = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            self.lock.lanes[i].held.store(false, Ordering::Release);
        }
    }
}

/// A lane, held: the value shared with the other lanes, and the lane's own state.
pub struct LaneGuard<'a, T, S> {
    lock: &'a LaneLock<T, S>,
    lane: usize,
    alone: bool,
    /// The accesses to the value and the lane's state (ended before the lane is let go).
    access: Option<(ConstPtr<T>, MutPtr<S>)>,
}

impl<T, S> LaneGuard<'_, T, S> {
    /// The value, shared with the other lanes, and this lane's state.
    #[inline]
    pub fn parts(&mut self) -> (&T, &mut S) {
        match &self.access {
            // SAFETY: no exclusive holder runs while a lane is held (it holds every
            // lane first), so the value is only shared; the lane's state is this
            // guard's alone.
            Some((v, s)) => unsafe { (v.deref(), s.deref()) },
            None => unreachable!("the access lives as long as the guard"),
        }
    }

    /// No other lane is registered, so none runs until this one is let go.
    #[inline]
    pub fn alone(&self) -> bool {
        self.alone
    }

    /// The lane's index.
    #[inline]
    pub fn index(&self) -> usize {
        self.lane
    }
}

impl<T, S> Drop for LaneGuard<'_, T, S> {
    #[inline]
    fn drop(&mut self) {
        self.access = None;
        self.lock.lanes[self.lane]
            .held
            .store(false, Ordering::Release);
    }
}
