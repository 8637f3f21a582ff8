//! The control entry point: `list` answers the chains and rules with their counters and
//! text form; `reset` zeroes the counters. Requests and answers are the control
//! protocol's types ([`brickwall_control_protocol::filter`]).

use brickwall_control_protocol::filter::{ChainInfo, ChainsResponse, RuleInfo};
use std::sync::atomic::Ordering;

use crate::action::Effect;
use crate::chain::Chain;
use crate::compile::slot;
use crate::config::{ChainType, PolicyName};
use crate::text;

/// The `list` answer for the chains, in registration order.
pub fn list<'a>(chains: impl Iterator<Item = &'a Chain>) -> ChainsResponse {
    ChainsResponse {
        chains: chains.map(chain).collect(),
    }
}

fn chain(c: &Chain) -> ChainInfo {
    let (packets, bytes) = c.policy_counter.get();
    let rules = c
        .rules
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let (packets, bytes) = r.counter.get();
            let logs = r.effects.iter().any(|e| matches!(e, Effect::Log(_)));
            let suppressed: u64 = r
                .effects
                .iter()
                .filter_map(|e| match e {
                    Effect::Log(l) => Some(l.suppressed.load(Ordering::Relaxed)),
                    _ => None,
                })
                .sum();
            RuleInfo {
                index: i as u64,
                text: r.text.clone(),
                comment: r.comment.clone(),
                packets,
                bytes,
                log_suppressed: logs.then_some(suppressed),
            }
        })
        .collect();
    ChainInfo {
        name: c.name.clone(),
        hook: c.hook.map_or("", |h| h.name()).to_string(),
        kind: c.kind.name().to_string(),
        priority: match c.kind {
            ChainType::Raw => brickwall_hooks::priority::RAW,
            ChainType::Filter => brickwall_hooks::priority::FILTER,
        },
        registration: c
            .hook
            .and_then(|h| slot(c.kind, h))
            .and_then(|s| crate::HOOKS.get(s))
            .map(|h| h.name.to_string()),
        source: c.source.clone(),
        text: c
            .hook
            .map(|h| text::chain_header(c.kind, h, c.policy))
            .unwrap_or_default(),
        policy: match c.policy {
            PolicyName::Accept => "accept",
            PolicyName::Drop => "drop",
        }
        .to_string(),
        policy_packets: packets,
        policy_bytes: bytes,
        rules,
    }
}
