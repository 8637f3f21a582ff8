//! The `engine` target: what the engine itself answers on the control socket.
//!
//! | request | answer |
//! |---|---|
//! | `{"op":"status"}` | `{"phase": "starting"\|"running"\|"finished", "frames": N, "now_ns": N}` (`now_ns`: the engine's clock, the last packet's time in a replay) |
//! | `{"op":"counters"}` | the pipeline's counters: totals, `hooks` (verdicts per hook by name), `drops_by_reason` and `parse_drops` (by name, non-zero only), `panics` (by plugin) |
//! | `{"op":"hooks"}` | the text `brickwall hooks` prints |
//! | `{"op":"metrics"}` | its metric families (packets by outcome, verdicts per hook, drops by reason): a `MetricsResponse` of the control protocol |
//! | `{"op":"plugins"}` | `[{"name", "version", "origin", "hooks": [{"hook", "families", "priority", "name"}]}]` in load order |
//!
//! The bare word (`"hooks"`) is accepted as well as the object.

use super::hooks;
use super::status::LiveStatus;
use super::target::{ControlTarget, Targets};
use crate::engine::Engine;
use crate::plugin::LoadedPlugin;
use brickwall_control_protocol::counts::Counts;
use brickwall_control_protocol::engine::{
    CountersResponse, EngineRequest, HookInfo, PluginInfo, StatusResponse,
};
use brickwall_control_protocol::metrics::{MetricFamily, MetricKind, MetricsResponse};
use brickwall_hooks::{Hook, HookRegistry};
use std::sync::Arc;

/// The engine's own control target: what it needs of the engine, shared.
pub struct EngineTarget {
    registry: Arc<HookRegistry>,
    plugins: Vec<Arc<LoadedPlugin>>,
    status: Arc<LiveStatus>,
}

impl EngineTarget {
    /// The target for an engine whose run publishes to `status`.
    pub fn new(engine: &Engine, status: Arc<LiveStatus>) -> EngineTarget {
        EngineTarget {
            registry: engine.registry().clone(),
            plugins: engine.plugins.iter().map(|s| s.plugin.clone()).collect(),
            status,
        }
    }

    fn version_of(&self, name: &str) -> Option<String> {
        self.plugins
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.version.clone())
    }

    fn status(&self) -> StatusResponse {
        StatusResponse {
            phase: self.status.phase(),
            frames: self.status.frames(),
            now_ns: self.status.now_ns(),
        }
    }

    /// The non-zero drop counts by reason, named as the plugins declared them.
    fn drops_by_reason(&self, c: &crate::pipeline::counters::Counters) -> Vec<(String, u64)> {
        c.drops_by_reason
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(id, n)| {
                let name = self
                    .registry
                    .reason_name(id as u32)
                    .map_or_else(|| format!("reason-{id}"), |s| s.to_string());
                (name, *n)
            })
            .collect()
    }

    fn counters(&self) -> CountersResponse {
        let c = self.status.counters();
        let hooks = Hook::ALL
            .iter()
            .map(|&h| (h.name().to_string(), c.hooks[h as usize]))
            .collect();
        CountersResponse {
            received: c.received,
            non_ip: c.non_ip,
            injected: c.injected,
            forwarded: c.forwarded,
            delivered: c.delivered,
            dropped: c.dropped,
            queued: c.queued,
            reinjected: c.reinjected,
            stolen: c.stolen,
            hooks,
            drops_by_reason: Counts(self.drops_by_reason(&c)),
            parse_drops: c
                .parse_drops
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect(),
            panics: c.panics.clone(),
        }
    }

    /// The engine's metric families: packets by outcome, verdicts per hook, drops by
    /// reason.
    fn metrics(&self) -> MetricsResponse {
        let c = self.status.counters();
        let mut packets = MetricFamily::new(
            "brickwall_packets_total",
            MetricKind::Counter,
            "Packets by what became of them.",
        );
        for (outcome, n) in [
            ("received", c.received),
            ("forwarded", c.forwarded),
            ("delivered", c.delivered),
            ("dropped", c.dropped),
            ("stolen", c.stolen),
            ("injected", c.injected),
            ("non_ip", c.non_ip),
        ] {
            packets.push(&[("outcome", outcome)], n as f64);
        }
        let mut verdicts = MetricFamily::new(
            "brickwall_hook_verdicts_total",
            MetricKind::Counter,
            "Verdicts per hook.",
        );
        for h in Hook::ALL {
            let k = &c.hooks[h as usize];
            for (verdict, n) in [
                ("accepted", k.accepted),
                ("dropped", k.dropped),
                ("queued", k.queued),
                ("stolen", k.stolen),
                ("repeated", k.repeated),
            ] {
                verdicts.push(&[("hook", h.name()), ("verdict", verdict)], n as f64);
            }
        }
        let mut drops = MetricFamily::new(
            "brickwall_drops_total",
            MetricKind::Counter,
            "Dropped packets by reason.",
        );
        for (name, n) in self.drops_by_reason(&c) {
            drops.push(&[("reason", &name)], n as f64);
        }
        for (reason, n) in &c.parse_drops {
            drops.push(&[("reason", reason)], *n as f64);
        }
        MetricsResponse {
            families: vec![packets, verdicts, drops],
        }
    }

    fn plugins(&self) -> Vec<PluginInfo> {
        let table = self.registry.snapshot();
        self.plugins
            .iter()
            .map(|p| {
                // One entry per (hook, priority, name), with its families.
                let mut hooks: Vec<(Hook, HookInfo)> = Vec::new();
                for (family, hook, e) in table.iter().filter(|(_, _, e)| *e.owner.name == *p.name) {
                    match hooks
                        .iter_mut()
                        .find(|(h, i)| *h == hook && i.priority == e.priority && *i.name == *e.name)
                    {
                        Some((_, i)) => i.families.push(family.name().to_string()),
                        None => hooks.push((
                            hook,
                            HookInfo {
                                hook: hook.name().to_string(),
                                families: vec![family.name().to_string()],
                                priority: e.priority,
                                name: e.name.to_string(),
                            },
                        )),
                    }
                }
                hooks.sort_by_key(|(h, i)| (*h as usize, i.priority));
                PluginInfo {
                    name: p.name.to_string(),
                    version: p.version.to_string(),
                    origin: p.origin.to_string(),
                    hooks: hooks.into_iter().map(|(_, i)| i).collect(),
                }
            })
            .collect()
    }
}

/// An answer's JSON bytes.
fn json<T: serde::Serialize>(v: &T) -> Result<Vec<u8>, String> {
    serde_json::to_vec(v).map_err(|e| format!("response: {e}"))
}

impl ControlTarget for EngineTarget {
    fn control(&self, request: &[u8]) -> Result<Vec<u8>, String> {
        match EngineRequest::from_slice(request).map_err(|e| format!("engine: {e}"))? {
            EngineRequest::Status => json(&self.status()),
            EngineRequest::Counters => json(&self.counters()),
            EngineRequest::Plugins => json(&self.plugins()),
            EngineRequest::Metrics => json(&self.metrics()),
            EngineRequest::Hooks => {
                let text = hooks::render(&self.registry.snapshot(), &|n| self.version_of(n));
                Ok(text.into_bytes())
            }
        }
    }
}

/// Every target of an engine: its plugins by name and the engine itself as `engine`.
pub fn engine_targets(engine: &Engine, status: Arc<LiveStatus>) -> Targets {
    let mut t = Targets::new();
    for slot in &engine.plugins {
        t.add(slot.plugin.name.clone(), slot.plugin.clone());
    }
    t.add(
        brickwall_control_protocol::envelope::ENGINE_TARGET,
        Arc::new(EngineTarget::new(engine, status)),
    );
    t
}
