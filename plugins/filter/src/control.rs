//! The control entry point: `list` answers the chains and rules with their counters and
//! text form as JSON; `reset` zeroes the counters.

use serde_json::{json, Value};
use std::sync::atomic::Ordering;

use crate::action::Effect;
use crate::chain::Chain;
use crate::compile::slot;
use crate::config::{ChainType, PolicyName};
use crate::text;

/// The requests the control entry point answers.
pub const REQUESTS: &[&str] = &["list", "reset"];

/// The `list` answer for the chains, in registration order.
pub fn list<'a>(chains: impl Iterator<Item = &'a Chain>) -> Value {
    let chains: Vec<Value> = chains.map(chain).collect();
    json!({ "chains": chains })
}

fn chain(c: &Chain) -> Value {
    let (packets, bytes) = c.policy_counter.get();
    let rules: Vec<Value> = c
        .rules
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let (packets, bytes) = r.counter.get();
            let mut v = json!({
                "index": i,
                "text": r.text,
                "comment": r.comment,
                "packets": packets,
                "bytes": bytes,
            });
            let suppressed: u64 = r
                .effects
                .iter()
                .filter_map(|e| match e {
                    Effect::Log(l) => Some(l.suppressed.load(Ordering::Relaxed)),
                    _ => None,
                })
                .sum();
            if r.effects.iter().any(|e| matches!(e, Effect::Log(_))) {
                if let Some(m) = v.as_object_mut() {
                    m.insert("log_suppressed".into(), json!(suppressed));
                }
            }
            v
        })
        .collect();
    json!({
        "name": c.name,
        "hook": c.hook.name(),
        "type": c.kind.name(),
        "priority": match c.kind {
            ChainType::Raw => brickwall_hooks::priority::RAW,
            ChainType::Filter => brickwall_hooks::priority::FILTER,
        },
        "registration": slot(c.kind, c.hook)
            .and_then(|s| crate::HOOKS.get(s))
            .map(|h| h.name),
        "source": c.source,
        "text": text::chain_header(c.kind, c.hook, c.policy),
        "policy": match c.policy {
            PolicyName::Accept => "accept",
            PolicyName::Drop => "drop",
        },
        "policy_packets": packets,
        "policy_bytes": bytes,
        "rules": rules,
    })
}
