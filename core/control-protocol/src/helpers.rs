//! The conntrack plugin's answer to `{"op":"helpers"}`: each application helper with
//! its counters, as the helper host reports them and the dashboard shows them.

use serde::{Deserialize, Serialize};

/// Counters of one helper.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
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
    /// Returned states larger than the policy allows (the old one was kept).
    pub state_oversize: u64,
    /// Packets dropped because a call failed under fail-closed.
    pub failure_drops: u64,
    /// Instances thrown away and made again after a failure.
    pub reinstantiations: u64,
    /// Log lines dropped by the rate limit.
    pub log_dropped: u64,
    /// Bytes of per-connection state held for it now.
    pub state_bytes: u64,
    /// Reloads of its component.
    pub reloads: u64,
    /// Disabled after too many failures (its connections pass unhelped).
    pub disabled: bool,
}

impl HelperStats {
    /// Failed calls of every kind.
    pub fn failures(&self) -> u64 {
        self.traps
            .saturating_add(self.budget_exhausted)
            .saturating_add(self.memory_exceeded)
            .saturating_add(self.state_oversize)
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

    /// The kinds of failure that happened, short, as `traps 2, budget 1` (`-` when
    /// none did).
    pub fn failure_kinds(&self) -> String {
        let kinds: Vec<String> = [
            ("traps", self.traps),
            ("budget", self.budget_exhausted),
            ("memory", self.memory_exceeded),
            ("oversize", self.state_oversize),
        ]
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(k, n)| format!("{k} {n}"))
        .collect();
        if kinds.is_empty() {
            "-".into()
        } else {
            kinds.join(", ")
        }
    }
}

/// One loaded helper.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct HelperReport {
    /// Name (`ftp`, `irc`, ...).
    pub name: String,
    /// Its component: `builtin:…` or the `.wasm` file's path.
    pub wasm: String,
    /// Ports it is assigned to automatically (`tcp/21`).
    pub ports: Vec<String>,
    /// Whether the compiled component was read from the cache (else compiled at load).
    pub cached: bool,
    /// Its counters.
    pub stats: HelperStats,
}

/// The whole answer (the helper list is required; the counters default to 0).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct HelpersResponse {
    /// The helpers, in configuration order.
    pub helpers: Vec<HelperReport>,
    /// Expectations helpers asked for that could not be created (no master, limit).
    #[serde(default)]
    pub expect_failed: u64,
    /// Packets whose rule asked for a helper no configuration defines.
    #[serde(default)]
    pub unknown_requested: u64,
    /// Packets whose payload a helper edited (behind NAT).
    #[serde(default)]
    pub mangled: u64,
    /// Packets dropped because a helper's edits could not be applied or the translated
    /// expectation they announce could not be created.
    #[serde(default)]
    pub mangle_failed: u64,
}
