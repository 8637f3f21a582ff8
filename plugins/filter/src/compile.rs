//! Validation of the config's shapes into compiled chains: matches through the shared
//! rule compiler ([`brickwall_rules::compile::matcher`]), and the filter's own checks
//! (raw chains only on prerouting and output; `notrack` only in raw chains; no
//! conntrack effects before conntrack; terminal actions last). Every error names the
//! field path.

use brickwall_rules::compile::{helper_name, labels, matcher, nonempty, CompileError};
use brickwall_rules::config::HookName;
use brickwall_rules::matcher::Matcher;
use brickwall_rules::parse;
use brickwall_rules::scalar::OneOrMany;
use brickwall_wire::ip_proto;

use crate::action::{Effect, LogAction, Terminal};
use crate::chain::{Chain, Counter, Rule};
use crate::config::{ActionCfg, ChainCfg, ChainType, PolicyName, RuleCfg};
use crate::limit::{Limit, Quota};
use crate::reject::RejectWith;
use crate::text;

/// Number of chain slots: one per registration.
pub const SLOTS: usize = 7;

/// Longest `log` prefix, as the kernel's (`NF_LOG_PREFIXLEN - 1`).
pub const MAX_LOG_PREFIX: usize = 127;

fn err<T>(path: impl Into<String>, message: impl Into<String>) -> Result<T, CompileError> {
    Err(CompileError::new(path, message))
}

/// The registration slot (the `op` of the hook) of a chain type on a hook; `None` for a
/// raw chain on a hook other than prerouting and output.
pub fn slot(kind: ChainType, hook: HookName) -> Option<usize> {
    match (kind, hook) {
        (ChainType::Raw, HookName::Prerouting) => Some(0),
        (ChainType::Raw, HookName::Output) => Some(1),
        (ChainType::Raw, _) => None,
        (ChainType::Filter, HookName::Prerouting) => Some(2),
        (ChainType::Filter, HookName::Input) => Some(3),
        (ChainType::Filter, HookName::Forward) => Some(4),
        (ChainType::Filter, HookName::Output) => Some(5),
        (ChainType::Filter, HookName::Postrouting) => Some(6),
    }
}

/// The regular chains by name, with their index (what `jump` and `goto` compile to).
pub type Targets = std::collections::HashMap<String, u32>;

/// Compiles one chain found at `path` (e.g. `chains[0]`) of `source`: a base chain
/// and its slot, or (without a hook) a regular chain and no slot. Jumps name chains
/// of `targets`.
pub fn chain(
    cfg: &ChainCfg,
    path: &str,
    source: &str,
    targets: &Targets,
) -> Result<(Option<usize>, Chain), CompileError> {
    let slot = match cfg.hook {
        Some(hook) => Some(slot(cfg.kind, hook).ok_or_else(|| {
            CompileError::new(
                format!("{path}.type"),
                format!(
                    "a raw chain attaches only to prerouting or output, not {}",
                    hook.name()
                ),
            )
        })?),
        None => {
            if cfg.name.is_none() {
                return err(
                    format!("{path}.hook"),
                    "a chain without a hook is a regular chain (a jump target) and needs a name",
                );
            }
            if cfg.policy != PolicyName::Accept || cfg.kind != ChainType::Filter {
                return err(
                    format!("{path}.policy"),
                    "a regular chain has no type or policy: its caller's policy decides",
                );
            }
            None
        }
    };
    let rules = cfg
        .rules
        .iter()
        .enumerate()
        .map(|(i, r)| rule(r, &format!("{path}.rules[{i}]"), cfg.kind, targets))
        .collect::<Result<Vec<_>, _>>()?;
    let name = match (&cfg.name, cfg.hook) {
        (Some(n), _) => n.clone(),
        (None, Some(h)) => format!("{}-{}", cfg.kind.name(), h.name()),
        (None, None) => String::new(),
    };
    Ok((
        slot,
        Chain {
            name,
            hook: cfg.hook,
            kind: cfg.kind,
            policy: cfg.policy,
            rules: rules.into(),
            policy_counter: Counter::default(),
            source: source.to_string(),
        },
    ))
}

fn rule(
    cfg: &RuleCfg,
    path: &str,
    kind: ChainType,
    targets: &Targets,
) -> Result<Rule, CompileError> {
    let matcher = match &cfg.matches {
        Some(m) => matcher(m, &format!("{path}.match"), kind.stage())?,
        None => Matcher::default(),
    };
    let (effects, terminal) = match &cfg.action {
        Some(a) => actions(a, &format!("{path}.action"), (kind, matcher.proto), targets)?,
        None => (Vec::new(), None),
    };
    if let Some(l) = &cfg.limit {
        if l.rate == 0 {
            return err(
                format!("{path}.limit.rate"),
                "a rate of 0 lets nothing under it",
            );
        }
    }
    let limit = cfg.limit.map(Limit::new);
    let quota = cfg.quota.map(Quota::new);
    let name_of = |n: u32| {
        targets
            .iter()
            .find(|(_, i)| **i == n)
            .map_or_else(String::new, |(k, _)| k.clone())
    };
    let text = text::rule(
        &matcher,
        (limit.as_ref(), quota.as_ref()),
        &name_of,
        cfg.counter,
        &effects,
        terminal,
        cfg.comment.as_deref(),
    );
    Ok(Rule {
        matcher,
        effects: effects.into(),
        terminal,
        counter: Counter::default(),
        text,
        comment: cfg.comment.clone(),
        limit,
        quota,
    })
}

fn actions(
    list: &OneOrMany<ActionCfg>,
    path: &str,
    (kind, proto): (ChainType, Option<u8>),
    targets: &Targets,
) -> Result<(Vec<Effect>, Option<Terminal>), CompileError> {
    let items = nonempty(list, path)?;
    let mut effects = Vec::new();
    let mut terminal = None;
    for (i, a) in items.iter().enumerate() {
        if a.is_terminal() && i + 1 != items.len() {
            return err(
                path,
                "a terminal action (accept, drop, queue, jump, goto, return) ends the rule, so it must come last",
            );
        }
        match a {
            ActionCfg::Accept => terminal = Some(Terminal::Accept),
            ActionCfg::Return => terminal = Some(Terminal::Return),
            ActionCfg::Reject(r) => {
                if kind == ChainType::Raw {
                    return err(path, "reject is not valid in a raw chain");
                }
                if r.with == RejectWith::TcpReset && proto != Some(ip_proto::TCP) {
                    return err(
                        path,
                        "reject with tcp-reset needs the rule to match proto tcp",
                    );
                }
                terminal = Some(Terminal::Reject(r.with));
            }
            ActionCfg::Jump(name) | ActionCfg::Goto(name) => {
                if kind == ChainType::Raw {
                    return err(path, "jumps from raw chains are not supported yet");
                }
                let Some(&n) = targets.get(name) else {
                    return err(
                        path,
                        format!(
                            "no regular chain named `{name}` (a chain with a name and no hook)"
                        ),
                    );
                };
                terminal = Some(if matches!(a, ActionCfg::Jump(_)) {
                    Terminal::Jump(n)
                } else {
                    Terminal::Goto(n)
                });
            }
            ActionCfg::Drop => terminal = Some(Terminal::Drop),
            ActionCfg::Queue(q) => {
                terminal = Some(Terminal::Queue {
                    num: q.num,
                    bypass: q.bypass,
                })
            }
            ActionCfg::MarkSet(v) => {
                effects
                    .push(Effect::MarkSet(parse::value32(v).map_err(|e| {
                        CompileError::new(path, format!("mark_set: {e}"))
                    })?))
            }
            ActionCfg::CtMarkSet(v) => {
                if kind == ChainType::Raw {
                    return err(
                        path,
                        "ct_mark_set in a raw chain: the packet has no connection yet (conntrack runs after raw)",
                    );
                }
                effects
                    .push(Effect::CtMarkSet(parse::value32(v).map_err(|e| {
                        CompileError::new(path, format!("ct_mark_set: {e}"))
                    })?))
            }
            ActionCfg::CtLabelSet(v) => {
                if kind == ChainType::Raw {
                    return err(
                        path,
                        "ct_label_set in a raw chain: the packet has no connection yet (conntrack runs after raw)",
                    );
                }
                let list = nonempty(v, path)?;
                effects.push(Effect::CtLabelSet(labels(list, path)?))
            }
            ActionCfg::CtHelperSet(name) => {
                if kind == ChainType::Raw {
                    return err(
                        path,
                        "ct_helper_set in a raw chain: the packet has no connection yet (conntrack runs after raw)",
                    );
                }
                let Some(b) = helper_name(name) else {
                    return err(
                        path,
                        "ct_helper_set: a helper name of 1 to 16 bytes, as configured in the conntrack plugin's helpers",
                    );
                };
                effects.push(Effect::CtHelperSet(b))
            }
            ActionCfg::Notrack => {
                if kind != ChainType::Raw {
                    return err(
                        path,
                        "notrack is only valid in a raw chain (type: raw, on prerouting or output), which runs before conntrack",
                    );
                }
                effects.push(Effect::Notrack)
            }
            ActionCfg::Log(l) => {
                if l.rate == 0 {
                    return err(path, "log rate must be at least 1 message per second");
                }
                if l.prefix.len() > MAX_LOG_PREFIX {
                    return err(
                        path,
                        format!(
                            "log prefix is {} bytes long; at most {MAX_LOG_PREFIX}",
                            l.prefix.len()
                        ),
                    );
                }
                effects.push(Effect::Log(LogAction::new(
                    l.prefix.clone(),
                    l.rate,
                    l.level.value(),
                )))
            }
            ActionCfg::Counter => effects.push(Effect::Counter),
        }
    }
    Ok((effects, terminal))
}
