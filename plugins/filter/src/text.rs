//! The nftables-like text form of chains and rules, shown by the `list` request:
//! `ct state established,related accept`, `tcp dport { 21, 80, 8000-8100 } accept`
//! (the conditions' words are [`brickwall_rules::text::matcher`]'s).

use brickwall_rules::config::HookName;
use brickwall_rules::matcher::Matcher;
use brickwall_rules::text::{helper_name, label_set};
use std::fmt::Write as _;

use crate::action::{Effect, Terminal};
use crate::config::{ChainType, PolicyName};
use crate::limit::{Limit, Quota};

/// The chain's header as nft prints it: `type filter hook forward priority filter;
/// policy drop;` (`priority raw` for a raw chain).
pub fn chain_header(kind: ChainType, hook: HookName, policy: PolicyName) -> String {
    let policy = match policy {
        PolicyName::Accept => "accept",
        PolicyName::Drop => "drop",
    };
    // A raw chain is nft's filter chain at priority raw.
    format!(
        "type filter hook {h} priority {k}; policy {policy};",
        k = kind.name(),
        h = hook.name()
    )
}

/// A rule's text.
pub fn rule(
    m: &Matcher,
    (limit, quota): (Option<&Limit>, Option<&Quota>),
    chain_name: &dyn Fn(u32) -> String,
    counter: bool,
    effects: &[Effect],
    terminal: Option<Terminal>,
    comment: Option<&str>,
) -> String {
    let mut parts = brickwall_rules::text::matcher(m);
    parts.extend(limit.map(Limit::text));
    parts.extend(quota.map(Quota::text));
    if counter && !effects.iter().any(|e| matches!(e, Effect::Counter)) {
        parts.push("counter".into());
    }
    for e in effects {
        parts.push(match e {
            Effect::MarkSet(v) => format!("meta mark set {v:#x}"),
            Effect::CtMarkSet(v) => format!("ct mark set {v:#x}"),
            Effect::CtHelperSet(n) => format!("ct helper set {}", helper_name(n)),
            Effect::CtLabelSet(bits) => format!("ct label set {}", label_set(*bits)),
            Effect::Notrack => "notrack".into(),
            Effect::Counter => "counter".into(),
            Effect::Log(l) => {
                let mut s = String::from("log");
                if !l.prefix.is_empty() {
                    let _ = write!(s, " prefix {:?}", l.prefix);
                }
                if l.level != crate::config::LogLevel::default().value() {
                    let level = ["error", "warn", "info", "debug"]
                        .get(usize::from(l.level))
                        .unwrap_or(&"info");
                    let _ = write!(s, " level {level}");
                }
                // brickwall's own limit on log lines, not nft's syntax: shown only when
                // a YAML rule changed it, so a ruleset's rules list as nft reads them.
                if l.rate != crate::config::DEFAULT_LOG_RATE {
                    let _ = write!(s, " rate {}/second", l.rate);
                }
                s
            }
        });
    }
    match terminal {
        Some(Terminal::Accept) => parts.push("accept".into()),
        Some(Terminal::Drop) => parts.push("drop".into()),
        Some(Terminal::Queue { num, bypass }) => parts.push(format!(
            "queue num {num}{}",
            if bypass { " bypass" } else { "" }
        )),
        Some(Terminal::Jump(n)) => parts.push(format!("jump {}", chain_name(n))),
        Some(Terminal::Goto(n)) => parts.push(format!("goto {}", chain_name(n))),
        Some(Terminal::Return) => parts.push("return".into()),
        Some(Terminal::Reject(with)) => parts.push(with.text()),
        None => {}
    }
    if parts.is_empty() {
        parts.push("continue".into());
    }
    if let Some(c) = comment {
        parts.push(format!("comment {c:?}"));
    }
    parts.join(" ")
}
