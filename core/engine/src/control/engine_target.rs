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
use brickwall_control_protocol::metrics::{MetricFamily, MetricKind, MetricsResponse};
use brickwall_hooks::{Hook, HookRegistry};
use serde_json::{json, Map, Value};
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

    fn status(&self) -> Value {
        json!({
            "phase": self.status.phase().name(),
            "frames": self.status.frames(),
            "now_ns": self.status.now_ns(),
        })
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

    fn counters(&self) -> Value {
        let c = self.status.counters();
        let mut hooks = Map::new();
        for h in Hook::ALL {
            let k = &c.hooks[h as usize];
            hooks.insert(h.name().into(), json!(k));
        }
        let mut reasons = Map::new();
        for (name, n) in self.drops_by_reason(&c) {
            reasons.insert(name, n.into());
        }
        json!({
            "received": c.received,
            "non_ip": c.non_ip,
            "injected": c.injected,
            "forwarded": c.forwarded,
            "delivered": c.delivered,
            "dropped": c.dropped,
            "queued": c.queued,
            "reinjected": c.reinjected,
            "stolen": c.stolen,
            "hooks": hooks,
            "drops_by_reason": reasons,
            "parse_drops": c.parse_drops,
            "panics": c.panics,
        })
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

    fn plugins(&self) -> Value {
        let table = self.registry.snapshot();
        let list = self
            .plugins
            .iter()
            .map(|p| {
                // (hook, priority, name) -> families, in hook then priority order.
                let mut regs: Vec<(Hook, i32, String, Vec<&str>)> = Vec::new();
                for (family, hook, e) in table.iter().filter(|(_, _, e)| *e.owner.name == *p.name)
                {
                    match regs
                        .iter_mut()
                        .find(|r| r.0 == hook && r.1 == e.priority && *r.2 == *e.name)
                    {
                        Some(r) => r.3.push(family.name()),
                        None => regs.push((hook, e.priority, e.name.to_string(), vec![family.name()])),
                    }
                }
                regs.sort_by_key(|r| (r.0 as usize, r.1));
                let hooks: Vec<Value> = regs
                    .into_iter()
                    .map(|(hook, priority, name, families)| {
                        json!({"hook": hook.name(), "families": families, "priority": priority, "name": name})
                    })
                    .collect();
                json!({"name": p.name, "version": p.version, "origin": p.origin, "hooks": hooks})
            })
            .collect();
        Value::Array(list)
    }
}

impl ControlTarget for EngineTarget {
    fn control(&self, request: &[u8]) -> Result<Vec<u8>, String> {
        const OPS: &str = "status, counters, hooks, plugins, metrics";
        let op = match serde_json::from_slice::<Value>(request) {
            Ok(Value::Object(m)) => match m.get("op") {
                Some(Value::String(s)) => s.clone(),
                _ => return Err(format!("engine: missing \"op\" ({OPS})")),
            },
            Ok(Value::String(s)) => s,
            _ => String::from_utf8_lossy(request).trim().to_string(),
        };
        let v = match op.as_str() {
            "status" => self.status(),
            "counters" => self.counters(),
            "plugins" => self.plugins(),
            "metrics" => return serde_json::to_vec(&self.metrics()).map_err(|e| e.to_string()),
            "hooks" => {
                let text = hooks::render(&self.registry.snapshot(), &|n| self.version_of(n));
                return Ok(text.into_bytes());
            }
            other => return Err(format!("engine: unknown op \"{other}\" ({OPS})")),
        };
        serde_json::to_vec(&v).map_err(|e| e.to_string())
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
