//! The engine's own target ([`crate::envelope::ENGINE_TARGET`]): its requests and
//! answers — the run's phase, the pipeline's counters, the loaded plugins and their
//! hooks, the hook table as text, and the engine's metric families.

use crate::counts::Counts;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// A request to the engine: `{"op": "status"}` or the bare word (`"status"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum EngineRequest {
    /// The run's phase and clock: [`StatusResponse`].
    Status,
    /// The pipeline's counters: [`CountersResponse`].
    Counters,
    /// The hook table as `brickwall hooks` prints it (text).
    Hooks,
    /// The loaded plugins: a list of [`PluginInfo`].
    Plugins,
    /// The engine's metric families: a [`crate::metrics::MetricsResponse`].
    Metrics,
}

impl EngineRequest {
    /// Every operation's name.
    pub const OPS: [&'static str; 5] = ["status", "counters", "hooks", "plugins", "metrics"];

    /// The operation's name (`status`, ...), as [`Self::to_value`] writes it: what a
    /// client names when an answer does not fit.
    pub fn op(self) -> &'static str {
        match self {
            EngineRequest::Status => "status",
            EngineRequest::Counters => "counters",
            EngineRequest::Hooks => "hooks",
            EngineRequest::Plugins => "plugins",
            EngineRequest::Metrics => "metrics",
        }
    }

    /// The request's JSON value (what a client hands the envelope).
    pub fn to_value(self) -> Value {
        serde_json::to_value(self).expect("requests serialize")
    }

    /// Reads a request: an object with `op` and nothing else, or the bare word (as
    /// JSON string or plain text).
    pub fn from_slice(bytes: &[u8]) -> Result<EngineRequest, String> {
        Ok(match crate::decode::bare_op(bytes, &Self::OPS)?.as_str() {
            "status" => EngineRequest::Status,
            "counters" => EngineRequest::Counters,
            "hooks" => EngineRequest::Hooks,
            "plugins" => EngineRequest::Plugins,
            _ => EngineRequest::Metrics,
        })
    }
}

/// Where a run stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Plugins loading, sources opening.
    #[default]
    Starting,
    /// Packets flowing.
    Running,
    /// The source is exhausted (a replay's end); the engine still answers.
    Finished,
}

impl Phase {
    /// The name on the wire.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Starting => "starting",
            Phase::Running => "running",
            Phase::Finished => "finished",
        }
    }
}

/// The answer to `status`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusResponse {
    /// Where the run stands.
    pub phase: Phase,
    /// Frames read so far.
    pub frames: u64,
    /// The engine's clock (the last packet's time in a replay), ns since the Unix epoch.
    pub now_ns: u64,
}

/// Verdicts at one hook.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct HookCounts {
    /// Packets that entered the hook.
    pub entered: u64,
    /// Packets that passed every callback.
    pub accepted: u64,
    /// Packets dropped here.
    pub dropped: u64,
    /// Packets queued to userspace here.
    pub queued: u64,
    /// Packets stolen here.
    pub stolen: u64,
    /// REPEAT verdicts here.
    pub repeated: u64,
}

/// The answer to `counters`: what became of the packets.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CountersResponse {
    /// Frames received.
    pub received: u64,
    /// Frames that were not IP and bypassed the hooks.
    pub non_ip: u64,
    /// Packets the local side or a plugin injected.
    pub injected: u64,
    /// Packets that left through POSTROUTING.
    pub forwarded: u64,
    /// Packets delivered to the local side.
    pub delivered: u64,
    /// Packets dropped, for any reason.
    pub dropped: u64,
    /// Packets handed to a queue (and not back yet).
    pub queued: u64,
    /// Packets re-injected from a queue.
    pub reinjected: u64,
    /// Packets a callback stole.
    pub stolen: u64,
    /// Verdicts per hook, by the hook's name.
    pub hooks: BTreeMap<String, HookCounts>,
    /// Drops by reason (non-zero only), named as the plugins declared them.
    pub drops_by_reason: Counts,
    /// Drops of unparseable packets, by parse error.
    pub parse_drops: BTreeMap<String, u64>,
    /// Caught plugin panics, by plugin.
    pub panics: BTreeMap<String, u64>,
}

/// One registration of a plugin's callback.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookInfo {
    /// The hook's name (`prerouting`, ...).
    pub hook: String,
    /// The families registered (`ipv4`, `ipv6`).
    pub families: Vec<String>,
    /// The priority (Linux's numbers: lower runs first).
    pub priority: i32,
    /// The callback's name.
    pub name: String,
}

/// One loaded plugin (the answer to `plugins` is a list of these, in load order).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginInfo {
    /// Its name (its control target).
    pub name: String,
    /// Its version.
    pub version: String,
    /// Where it came from (`builtin`, a path).
    pub origin: String,
    /// Its callbacks, in hook then priority order.
    pub hooks: Vec<HookInfo>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each request's name is the one its value and the engine's reading agree on.
    #[test]
    fn op_names_the_request() {
        for r in [
            EngineRequest::Status,
            EngineRequest::Counters,
            EngineRequest::Hooks,
            EngineRequest::Plugins,
            EngineRequest::Metrics,
        ] {
            assert_eq!(r.to_value(), serde_json::json!({"op": r.op()}));
            assert!(EngineRequest::OPS.contains(&r.op()));
            assert_eq!(EngineRequest::from_slice(r.op().as_bytes()), Ok(r));
        }
    }
}
