//! Per-worker counters of the pipeline: verdicts per hook, drops per reason, panics per
//! plugin, and totals. Plain integers: each worker owns its counters.

use brickwall_hooks::Hook;
use std::collections::BTreeMap;

/// Verdict counts of one hook: the control protocol's type, which the engine's
/// `counters` answer carries as they are.
pub use brickwall_control_protocol::engine::HookCounts;

/// All counters of one pipeline.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Counters {
    /// Frames received.
    pub received: u64,
    /// Frames that were not IP and bypassed the hooks (ARP, LLDP, ...).
    pub non_ip: u64,
    /// Packets the local side or a plugin injected.
    pub injected: u64,
    /// Packets that left through POSTROUTING (forwarded, or sent by the local side).
    pub forwarded: u64,
    /// Packets delivered to the local side (passed INPUT).
    pub delivered: u64,
    /// Packets dropped, for any reason.
    pub dropped: u64,
    /// Packets handed to a queue (and not back yet).
    pub queued: u64,
    /// Packets re-injected from a queue.
    pub reinjected: u64,
    /// Packets a callback stole.
    pub stolen: u64,
    /// Per hook, indexed by `Hook as usize`.
    pub hooks: [HookCounts; Hook::COUNT],
    /// Drops per reason id (see the registry's reason names).
    pub drops_by_reason: Vec<u64>,
    /// Drops of unparseable packets, by parse error.
    pub parse_drops: BTreeMap<&'static str, u64>,
    /// Caught plugin panics, by plugin name.
    pub panics: BTreeMap<String, u64>,
}

impl Counters {
    /// Counts a drop with a reason id.
    #[inline]
    pub fn drop_reason(&mut self, id: u32) {
        let i = id as usize;
        if i >= self.drops_by_reason.len() {
            self.drops_by_reason.resize(i + 1, 0);
        }
        self.drops_by_reason[i] += 1;
        self.dropped += 1;
    }

    /// Adds another worker's counters to these.
    pub fn merge(&mut self, o: &Counters) {
        self.received += o.received;
        self.non_ip += o.non_ip;
        self.injected += o.injected;
        self.forwarded += o.forwarded;
        self.delivered += o.delivered;
        self.dropped += o.dropped;
        self.queued += o.queued;
        self.reinjected += o.reinjected;
        self.stolen += o.stolen;
        for (a, b) in self.hooks.iter_mut().zip(o.hooks.iter()) {
            a.entered += b.entered;
            a.accepted += b.accepted;
            a.dropped += b.dropped;
            a.queued += b.queued;
            a.stolen += b.stolen;
            a.repeated += b.repeated;
        }
        if self.drops_by_reason.len() < o.drops_by_reason.len() {
            self.drops_by_reason.resize(o.drops_by_reason.len(), 0);
        }
        for (a, b) in self
            .drops_by_reason
            .iter_mut()
            .zip(o.drops_by_reason.iter())
        {
            *a += b;
        }
        for (k, v) in &o.parse_drops {
            *self.parse_drops.entry(k).or_default() += v;
        }
        for (k, v) in &o.panics {
            *self.panics.entry(k.clone()).or_default() += v;
        }
    }
}
