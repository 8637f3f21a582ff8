//! What a running replay publishes for the control socket: the pipeline's counters, the
//! frames read, the engine's clock and the phase. The replay loop copies its counters
//! here once per batch (not per packet), so readers cost the data path one short lock
//! per batch.

use crate::pipeline::counters::Counters;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Mutex;

pub use brickwall_control_protocol::engine::Phase;

/// The phase stored as `n`.
fn phase_from_u8(n: u8) -> Phase {
    match n {
        0 => Phase::Starting,
        1 => Phase::Running,
        _ => Phase::Finished,
    }
}

/// The live view of a run, shared between the replay loop and the control server.
#[derive(Debug, Default)]
pub struct LiveStatus {
    counters: Mutex<Counters>,
    frames: AtomicU64,
    now_ns: AtomicU64,
    phase: AtomicU8,
}

impl LiveStatus {
    /// A status in phase [`Phase::Starting`].
    pub fn new() -> LiveStatus {
        LiveStatus::default()
    }

    /// Publishes the counters, frame count and clock after a batch (phase: running).
    pub fn publish(&self, counters: &Counters, frames: u64, now_ns: u64) {
        self.counters
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone_from(counters);
        self.frames.store(frames, Ordering::Relaxed);
        self.now_ns.store(now_ns, Ordering::Relaxed);
        let _ = self.phase.compare_exchange(
            Phase::Starting as u8,
            Phase::Running as u8,
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
    }

    /// Publishes the final numbers and marks the run finished.
    pub fn finish(&self, counters: &Counters, frames: u64, now_ns: u64) {
        self.publish(counters, frames, now_ns);
        self.phase.store(Phase::Finished as u8, Ordering::Release);
    }

    /// A copy of the counters last published.
    pub fn counters(&self) -> Counters {
        self.counters
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Frames read so far.
    pub fn frames(&self) -> u64 {
        self.frames.load(Ordering::Relaxed)
    }

    /// The engine's clock: the last packet's timestamp (ns), 0 before the first.
    pub fn now_ns(&self) -> u64 {
        self.now_ns.load(Ordering::Relaxed)
    }

    /// The phase.
    pub fn phase(&self) -> Phase {
        phase_from_u8(self.phase.load(Ordering::Acquire))
    }
}
