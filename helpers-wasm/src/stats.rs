//! Per-helper counters, as the dashboard, `/metrics` and the control channel show them.

use serde::Serialize;

/// Counters of one helper.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct HelperStats {
    /// Connections assigned.
    pub assigned: u64,
    /// Packets handed to the helper.
    pub calls: u64,
    /// Expectations it asked for.
    pub expectations: u64,
    /// Packets it dropped (its own verdict).
    pub drops: u64,
    /// Calls that trapped (other than budget and memory).
    pub traps: u64,
    /// Calls stopped by the run-time budget (fuel or deadline).
    pub budget_exhausted: u64,
    /// Calls that hit the memory limit.
    pub memory_exceeded: u64,
    /// Returned states larger than the policy allows (kept the old one).
    pub state_oversize: u64,
    /// Packets dropped because a call failed under fail-closed.
    pub failure_drops: u64,
    /// Instances thrown away and made again after a failure.
    pub reinstantiations: u64,
    /// Log lines dropped by the rate limit.
    pub log_dropped: u64,
    /// Bytes of per-connection state held for it now (kept by the caller, reported here).
    pub state_bytes: u64,
    /// Reloads of its component.
    pub reloads: u64,
    /// Disabled after too many failures.
    pub disabled: bool,
}

impl HelperStats {
    /// Failed calls of every kind.
    pub fn failures(&self) -> u64 {
        self.traps + self.budget_exhausted + self.memory_exceeded + self.state_oversize
    }

    /// Each kind of failure with its count: trap, budget exhausted, memory limit, state
    /// too large.
    pub fn failure_counts(&self) -> [(&'static str, u64); 4] {
        [
            ("trap", self.traps),
            ("budget exhausted", self.budget_exhausted),
            ("memory limit", self.memory_exceeded),
            ("state too large", self.state_oversize),
        ]
    }

    /// The kinds of failure counted since `before` (an earlier snapshot).
    pub fn failure_kinds_since(&self, before: &HelperStats) -> Vec<&'static str> {
        self.failure_counts()
            .iter()
            .zip(before.failure_counts())
            .filter(|((_, now), (_, then))| now > then)
            .map(|((kind, _), _)| *kind)
            .collect()
    }
}
