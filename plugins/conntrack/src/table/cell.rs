//! A slab slot: a connection record, and the lock in it that lanes take to change it.
//!
//! Two kinds of access reach a record (see [`crate::lanes`]):
//! - the tracker's exclusive holder, which excludes every lane and so reads and writes
//!   records freely ([`ConnCell::conn`], [`ConnCell::conn_mut`]);
//! - lanes, many at once, each holding a shared `&Table`. A lane changes only a
//!   record's expiry, protocol state and counters, and only under the record's lock
//!   ([`SlotGuard`]). Without the lock a lane reads only the fields no lane writes
//!   ([`Fixed`]): the tuples (the original, and a NAT reply in the extension), id,
//!   status, slot state, mark and extension.
//!
//! So no reference a lane makes overlaps a concurrent write: a whole `&Conn` exists
//! only under the lock, and a locked writer writes the two fields by place, never
//! through a `&mut Conn`.

use crate::conn::{Conn, DirCounters};
use crate::proto::ProtoState;
use crate::tuple::Tuple;
use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicBool, Ordering};

/// The lock of a record, held by the lane changing it: a byte of the record that
/// would otherwise be padding. A copy of a record starts unlocked.
#[derive(Default)]
pub struct RecordLock(AtomicBool);

impl Clone for RecordLock {
    fn clone(&self) -> Self {
        RecordLock::default()
    }
}

impl std::fmt::Debug for RecordLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecordLock")
    }
}

/// A slot of the slab: a record that lanes reach through `&` (see the module comment).
/// Slots keep the record's 120-byte stride: aligning them to cache lines (128 bytes,
/// 136 with links) made no measurable difference to lanes on two cores changing
/// neighbouring records (BENCHMARKS.md), and would cost 8 bytes a connection.
#[repr(transparent)]
pub struct ConnCell {
    conn: UnsafeCell<Conn>,
}

impl ConnCell {
    /// A slot holding `conn`.
    pub fn new(conn: Conn) -> ConnCell {
        ConnCell {
            conn: UnsafeCell::new(conn),
        }
    }

    /// The record, for the tracker's exclusive holder.
    ///
    /// # Safety
    /// No lane may run: the caller holds the tracker exclusively (every lane excluded),
    /// or is the only thread that reaches the table (a table not shared).
    #[inline]
    pub unsafe fn conn(&self) -> &Conn {
        // SAFETY: no lane runs (the caller's contract), and lanes are the only writers
        // besides the exclusive holder, whose writes need `&mut self`.
        unsafe { &*self.conn.get() }
    }

    /// The record, writable (the table is held exclusively: `&mut`).
    #[inline]
    pub fn conn_mut(&mut self) -> &mut Conn {
        self.conn.get_mut()
    }

    /// The original tuple: written only by the exclusive holder, so a lane reads it
    /// without the record's lock.
    #[inline]
    pub fn orig(&self) -> &Tuple {
        // SAFETY: a reference to the `orig` field alone; lanes never write it, and
        // the exclusive holder writes only while no lane runs.
        unsafe { &(*self.conn.get()).orig }
    }

    /// Whether `t` is the record's reply tuple (read as [`orig`](Self::orig) is).
    #[inline]
    pub fn reply_is(&self, t: &Tuple) -> bool {
        let f = self.fixed();
        match f.ext.as_ref().and_then(|e| e.nat_reply) {
            Some(r) => r == *t,
            None => f.orig.is_inverse_of(t),
        }
    }

    /// The fields no lane writes, read without the record's lock.
    #[inline]
    pub fn fixed(&self) -> Fixed<'_> {
        let c = self.conn.get();
        // SAFETY: references to single fields that lanes never write; the exclusive
        // holder writes them only while no lane runs.
        unsafe {
            Fixed {
                orig: &(*c).orig,
                id: (*c).id,
                status: (*c).status,
                slot: (*c).slot,
                mark: (*c).mark,
                ext: &(*c).ext,
            }
        }
    }

    /// The record's address (for prefetching).
    #[inline]
    pub fn as_ptr(&self) -> *const u8 {
        self as *const ConnCell as *const u8
    }

    /// Takes the record's lock (a lane's access: see the module comment); `alone`: no
    /// other lane can run while the caller's is held, and the lock is not needed.
    #[inline]
    pub fn lock<'a>(
        &'a self,
        acct: Option<&'a UnsafeCell<[DirCounters; 2]>>,
        alone: bool,
    ) -> SlotGuard<'a> {
        if alone {
            return SlotGuard {
                cell: self,
                acct,
                locked: false,
            };
        }
        brickwall_lanes::spin_lock(self.flag());
        SlotGuard {
            cell: self,
            acct,
            locked: true,
        }
    }

    /// The record's lock flag.
    #[inline]
    fn flag(&self) -> &AtomicBool {
        // SAFETY: a reference to the atomic `lock` field alone, which every thread
        // changes only atomically (the exclusive holder may also overwrite it, while
        // no lane runs).
        unsafe { &(*self.conn.get()).lock.0 }
    }
}

/// A record's fields that only the exclusive holder writes: what a lane may read
/// without the record's lock.
pub struct Fixed<'a> {
    /// The original tuple.
    pub orig: &'a Tuple,
    /// The connection id (the slot's generation).
    pub id: u32,
    /// Status bits.
    pub status: u16,
    /// Slot state.
    pub slot: crate::conn::Slot,
    /// `ct mark`.
    pub mark: u32,
    /// The extension (labels, helper, master, NAT reply).
    pub ext: &'a Option<Box<crate::conn::ConnExt>>,
}

impl Fixed<'_> {
    /// The connection's labels.
    #[inline]
    pub fn labels(&self) -> u128 {
        self.ext.as_ref().map_or(0, |e| e.labels)
    }
}

/// A record locked by a lane: read it whole, change its expiry and protocol state,
/// count a packet.
pub struct SlotGuard<'a> {
    cell: &'a ConnCell,
    acct: Option<&'a UnsafeCell<[DirCounters; 2]>>,
    /// The lock was taken (not when the lane is alone).
    locked: bool,
}

impl SlotGuard<'_> {
    /// The record.
    #[inline]
    pub fn conn(&self) -> &Conn {
        // SAFETY: the lock is held, so no other lane writes this record; the exclusive
        // holder does not run while a lane does; other lanes' lock-free reads make
        // shared references only.
        unsafe { &*self.cell.conn.get() }
    }

    /// Stores what a packet did: the new protocol state and expiry.
    #[inline]
    pub fn store(&mut self, proto: ProtoState, expires_ns: u64) {
        let c = self.cell.conn.get();
        // SAFETY: the lock is held (no other writer); `&mut self` ends every `&Conn`
        // from [`conn`](Self::conn); the two fields are written by place, and no
        // lock-free reader reads them.
        unsafe {
            (*c).proto = proto;
            (*c).expires_ns = expires_ns;
        }
    }

    /// The record's counters (with accounting on).
    #[inline]
    pub fn counters(&self) -> Option<[DirCounters; 2]> {
        // SAFETY: as in `account`: written only under the lock, which is held.
        self.acct.map(|a| unsafe { *a.get() })
    }

    /// Counts a packet of `bytes` in direction `dir` (with accounting on).
    #[inline]
    pub fn account(&mut self, dir: u8, bytes: u64) {
        if let Some(a) = self.acct {
            // SAFETY: a slot's counters are written by a lane only under its record's
            // lock, which is held, and by the exclusive holder only while no lane runs.
            let a = unsafe { &mut (*a.get())[dir as usize & 1] };
            a.packets += 1;
            a.bytes += bytes;
        }
    }
}

impl Drop for SlotGuard<'_> {
    #[inline]
    fn drop(&mut self) {
        if self.locked {
            self.cell.flag().store(false, Ordering::Release);
        }
    }
}
