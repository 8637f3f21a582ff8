//! The tracker's lock: a lane per worker for the packets that only find their
//! connection and move it on, and one exclusive holder for everything else.
//!
//! Most packets belong to an established connection: conntrack-in finds it, advances
//! its protocol state and expiry, counts the packet, and nothing else changes. Those
//! packets run on their worker's **lane**: a lock of the worker's own (on a cache line
//! pair of its own), so lanes never wait for each other. Lanes share the table
//! read-only (bucket heads, chain links, tuples) and change a record only under that
//! record's lock ([`crate::table::cell`]), as Linux's lookups run under RCU and change
//! a connection under its own lock.
//!
//! Everything else (a new connection, confirmation, an event, a helper, an expiry, the
//! collector, a resize, the control socket) takes the tracker **exclusively**: the
//! writers' mutex, then every registered lane in lane order. Holding them all, it sees
//! and changes everything as a single thread would, the `&mut Tracker` it derefs to.
//! Before it lets go of the lanes nothing of theirs is pending: what each lane counted
//! on its own (packets found, its latest packet time) is folded into the tracker when
//! the exclusive holder takes it.
//!
//! Lock order, which makes deadlock impossible: the writers' mutex, then lanes in
//! ascending order, then records. A lane holder takes records one at a time and
//! nothing else; it never waits for the mutex or another lane while it holds its lane
//! (a packet that needs the exclusive holder is handed over after the lane is let go).
//! A worker registers its lane once, holding the tracker exclusively (the mutex and
//! every lane registered before), so an exclusive holder never misses a lane that could
//! be running, and no lane appears while another is held. So a lane that finds itself
//! the only one registered is alone until it lets go: it changes records without
//! taking their locks ([`LaneState::alone`]), and one worker pays nothing for the
//! others it does not have.
//!
//! Workers from [`LANES`] on have no lane: their packets take the exclusive path.

use crate::batch::Prepared;
use crate::tracker::Tracker;
use std::cell::UnsafeCell;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

/// Workers with a lane of their own.
pub const LANES: usize = 64;

/// What a lane keeps for itself between exclusive holders.
#[derive(Default)]
pub struct LaneState {
    /// Packets whose connection the lane found (folded into `found`).
    pub found: u64,
    /// The latest packet time the lane saw (folded into the tracker's clock).
    pub clock_ns: u64,
    /// The batch `prepare_batch` hashed for the lane's next packets.
    pub prepared: Prepared,
    /// No other lane is registered, so none can run while this one is held: records
    /// need no lock (set each time the lane is taken).
    pub alone: bool,
}

/// A lane: its lock and what it keeps.
#[repr(align(128))]
struct Lane {
    held: AtomicBool,
    state: UnsafeCell<LaneState>,
}

/// The tracker behind its lanes and its exclusive lock.
pub struct TrackerLock {
    tracker: UnsafeCell<Tracker>,
    writer: Mutex<()>,
    lanes: Box<[Lane]>,
    /// A bit per lane that has been used (set under `writer`).
    registered: AtomicU64,
}

// SAFETY: the tracker and the lanes' states are reached only through the guards, which
// the locks make exclusive where they hand out `&mut` (see the module comment); the
// tracker itself moves between threads (`Tracker: Send`).
unsafe impl Sync for TrackerLock {}

/// Takes a spin lock, yielding the core while another holds it long.
#[inline]
fn acquire(flag: &AtomicBool) {
    let mut spins = 0u32;
    while flag
        .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {
        spins += 1;
        if spins < 128 {
            std::hint::spin_loop();
        } else {
            std::thread::yield_now();
        }
    }
}

impl TrackerLock {
    /// A lock around `tracker`.
    pub fn new(tracker: Tracker) -> TrackerLock {
        TrackerLock {
            tracker: UnsafeCell::new(tracker),
            writer: Mutex::new(()),
            lanes: (0..LANES)
                .map(|_| Lane {
                    held: AtomicBool::new(false),
                    state: UnsafeCell::new(LaneState::default()),
                })
                .collect(),
            registered: AtomicU64::new(0),
        }
    }

    /// The tracker, exclusively: every lane waits until the guard is dropped.
    pub fn write(&self) -> TrackerGuard<'_> {
        let writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        // Registration happens under `writer`: this is every lane that can run.
        let held = self.registered.load(Ordering::Relaxed);
        let mut bits = held;
        while bits != 0 {
            let i = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            acquire(&self.lanes[i].held);
        }
        let guard = TrackerGuard {
            lock: self,
            held,
            _writer: writer,
        };
        // SAFETY: the writers' mutex and every registered lane are held: nothing else
        // reaches the tracker or the lanes' states.
        let t = unsafe { &mut *self.tracker.get() };
        let mut bits = held;
        while bits != 0 {
            let i = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            // SAFETY: lane `i` is held by this guard.
            let s = unsafe { &mut *self.lanes[i].state.get() };
            if s.found != 0 || s.clock_ns != 0 {
                t.fold_lane(i, std::mem::take(&mut s.found), s.clock_ns);
            }
        }
        guard
    }

    /// Worker `worker`'s lane, held; `None` for a worker without one (see [`LANES`]).
    /// Its first use registers it, under the writers' mutex. Two threads that claim the
    /// same worker take turns on its lane.
    #[inline]
    pub fn lane(&self, worker: u32) -> Option<LaneGuard<'_>> {
        let i = worker as usize;
        let lane = self.lanes.get(i)?;
        let bit = 1u64 << i;
        if self.registered.load(Ordering::Acquire) & bit == 0 {
            let _all = self.write();
            self.registered.fetch_or(bit, Ordering::Release);
        }
        acquire(&lane.held);
        let alone = self.registered.load(Ordering::Acquire) == bit;
        // SAFETY: the lane is held: its state is this caller's.
        unsafe { (*lane.state.get()).alone = alone };
        Some(LaneGuard {
            lock: self,
            lane: i,
        })
    }

    /// The tracker, through exclusive ownership of the lock.
    pub fn get_mut(&mut self) -> &mut Tracker {
        self.tracker.get_mut()
    }
}

/// The tracker held exclusively (the writers' mutex and every registered lane).
pub struct TrackerGuard<'a> {
    lock: &'a TrackerLock,
    held: u64,
    _writer: MutexGuard<'a, ()>,
}

impl Deref for TrackerGuard<'_> {
    type Target = Tracker;

    fn deref(&self) -> &Tracker {
        // SAFETY: held exclusively (see `TrackerLock::write`).
        unsafe { &*self.lock.tracker.get() }
    }
}

impl DerefMut for TrackerGuard<'_> {
    fn deref_mut(&mut self) -> &mut Tracker {
        // SAFETY: held exclusively (see `TrackerLock::write`).
        unsafe { &mut *self.lock.tracker.get() }
    }
}

impl Drop for TrackerGuard<'_> {
    fn drop(&mut self) {
        // The lanes go first; the mutex is let go after this (a field).
        let mut bits = self.held;
        while bits != 0 {
            let i = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            self.lock.lanes[i].held.store(false, Ordering::Release);
        }
    }
}

/// A worker's lane, held: the tracker shared with other lanes, and the lane's own state.
pub struct LaneGuard<'a> {
    lock: &'a TrackerLock,
    lane: usize,
}

impl LaneGuard<'_> {
    /// The tracker, shared with the other lanes, and this lane's state.
    #[inline]
    pub fn parts(&mut self) -> (&Tracker, &mut LaneState) {
        // SAFETY: no exclusive holder runs while a lane is held (it holds every lane
        // first), so the tracker is only shared; lanes change it only through records'
        // locks (see `table::cell`). The lane's state is this guard's alone.
        unsafe {
            (
                &*self.lock.tracker.get(),
                &mut *self.lock.lanes[self.lane].state.get(),
            )
        }
    }
}

impl Drop for LaneGuard<'_> {
    #[inline]
    fn drop(&mut self) {
        self.lock.lanes[self.lane]
            .held
            .store(false, Ordering::Release);
    }
}
