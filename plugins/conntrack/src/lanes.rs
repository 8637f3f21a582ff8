//! The tracker's lock: a lane per worker for the packets that only find their
//! connection and move it on, and one exclusive holder for everything else, on
//! `brickwall-lanes`' lock (whose protocol, lock order and model check live there).
//!
//! Most packets belong to an established connection: conntrack-in finds it, advances
//! its protocol state and expiry, counts the packet, and nothing else changes. Those
//! packets run on their worker's **lane**, so lanes never wait for each other. Lanes
//! share the table read-only (bucket heads, chain links, tuples) and change a record
//! only under that record's lock ([`crate::table::cell`]), as Linux's lookups run
//! under RCU and change a connection under its own lock; a lane alone (the only one
//! registered) needs no record lock.
//!
//! Everything else (a new connection, confirmation, an event, a helper, an expiry, the
//! collector, a resize, a control request other than `list` and `count`) takes the
//! tracker **exclusively**, and sees and changes everything as a single thread would,
//! the `&mut Tracker` it derefs to. What each lane counted on its own (packets found, its latest packet time) is
//! folded into the tracker when the exclusive holder takes it.
//!
//! Lock order: the helper set's lock, then the lanes' lock (its mutex, then lanes in
//! order), then records one at a time. A lane holder takes nothing but records, and
//! lets go of its lane before it waits for the exclusive path.
//!
//! Workers from [`LANES`] on have no lane: their packets take the exclusive path.

use crate::batch::Prepared;
use crate::tracker::Tracker;
use brickwall_lanes::{Exclusive, LaneLock};
use std::ops::{Deref, DerefMut};

pub use brickwall_lanes::LANES;

/// The lane the control socket reads on (`list`, `count`), beside the workers' lanes: the last
/// one, which a worker numbered that high shares with it (they take turns).
pub const CONTROL_LANE: u32 = LANES as u32 - 1;

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

/// The tracker behind its lanes and its exclusive lock.
pub struct TrackerLock(LaneLock<Tracker, LaneState>);

impl TrackerLock {
    /// A lock around `tracker`.
    pub fn new(tracker: Tracker) -> TrackerLock {
        TrackerLock(LaneLock::new(tracker))
    }

    /// The tracker, exclusively: every lane waits until the guard is dropped. What the
    /// lanes counted is folded in first.
    pub fn write(&self) -> TrackerGuard<'_> {
        let mut g = self.0.write();
        g.fold(|t, i, s| {
            if s.found != 0 || s.clock_ns != 0 {
                t.fold_lane(i, std::mem::take(&mut s.found), s.clock_ns);
            }
        });
        TrackerGuard(g)
    }

    /// Worker `worker`'s lane, held; `None` for a worker without one (see [`LANES`]).
    #[inline]
    pub fn lane(&self, worker: u32) -> Option<LaneGuard<'_>> {
        let mut g = self.0.lane(worker as usize)?;
        let alone = g.alone();
        g.parts().1.alone = alone;
        Some(LaneGuard(g))
    }
}

/// The tracker held exclusively.
pub struct TrackerGuard<'a>(Exclusive<'a, Tracker, LaneState>);

impl Deref for TrackerGuard<'_> {
    type Target = Tracker;

    fn deref(&self) -> &Tracker {
        &self.0
    }
}

impl DerefMut for TrackerGuard<'_> {
    fn deref_mut(&mut self) -> &mut Tracker {
        &mut self.0
    }
}

/// A worker's lane, held: the tracker shared with other lanes, and the lane's own state.
pub struct LaneGuard<'a>(brickwall_lanes::LaneGuard<'a, Tracker, LaneState>);

impl LaneGuard<'_> {
    /// The tracker, shared with the other lanes, and this lane's state.
    #[inline]
    pub fn parts(&mut self) -> (&Tracker, &mut LaneState) {
        self.0.parts()
    }
}
