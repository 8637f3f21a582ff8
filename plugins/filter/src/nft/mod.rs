//! Rulesets in nftables' own syntax (a file as `nft -f` reads it, or what `nft list
//! ruleset` prints), read into the filter's chains: the subset the filter can do, and
//! for everything else an error naming the line, the column and the word.
//!
//! - Tables of family `inet`, `ip` or `ip6`; in an `ip` or `ip6` table every rule also
//!   matches the family, and a `drop` policy becomes a last rule dropping that family
//!   (the chain itself accepts the other).
//! - Base chains of type `filter` at priority `filter` (0) or `raw` (-300), on
//!   prerouting, input, forward, output or postrouting, one per type and hook; and
//!   regular chains, which `jump` and `goto` reach.
//! - Named sets (their elements, where `@name` refers to them) and `ct helper` objects
//!   (`ct helper set "NAME"` assigns the object's helper type).
//! - Rules: see [`lower`].
//!
//! Each chain is lowered to the shape of the YAML config's chains and read by the same
//! code, so both compile to the same filter.

pub mod lex;
pub mod lower;
pub mod parse;

use crate::config::ChainCfg;
use lex::Token;
use parse::Family;
use serde_json::{json, Value};
use std::fmt;

/// An error at a line and column of the ruleset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NftError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub col: usize,
    /// What is wrong.
    pub message: String,
}

impl NftError {
    /// The error `message` at token `t`.
    pub fn at(t: &Token, message: impl Into<String>) -> NftError {
        NftError {
            line: t.line,
            col: t.col,
            message: message.into(),
        }
    }
}

impl fmt::Display for NftError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.col, self.message)
    }
}

/// One chain of the ruleset in the filter's config shape, and where its parts were
/// written: paths within the chain (`hook`, `rules[2].match.dport`) with their line and
/// column.
pub struct NftChain {
    /// The chain.
    pub cfg: ChainCfg,
    /// Where each field came from.
    pub positions: Vec<(String, (usize, usize))>,
}

impl NftChain {
    /// The line and column of the field at `path` (relative to the chain), or of the
    /// nearest field above it.
    pub fn locate(&self, path: &str) -> (usize, usize) {
        locate(&self.positions, path)
    }
}

/// The position of the longest key of `positions` that is `path` or above it.
fn locate(positions: &[(String, (usize, usize))], path: &str) -> (usize, usize) {
    let within = |key: &str| {
        key.is_empty()
            || path == key
            || path.starts_with(&format!("{key}."))
            || path.starts_with(&format!("{key}["))
    };
    positions
        .iter()
        .filter(|(k, _)| within(k))
        .max_by_key(|(k, _)| k.len())
        .map_or((0, 0), |(_, at)| *at)
}

/// Reads a ruleset into chains.
pub fn chains(text: &str) -> Result<Vec<NftChain>, NftError> {
    let tokens =
        lex::tokens(text).map_err(|(line, col, message)| NftError { line, col, message })?;
    let mut out = Vec::new();
    for table in parse::ruleset(&tokens)? {
        let cx = lower::Context {
            family: table.family,
            sets: &table.sets,
            helpers: &table.helpers,
        };
        for c in &table.chains {
            out.push(chain(c, &cx)?);
        }
    }
    Ok(out)
}

/// A regular chain (a jump target: no type, hook or policy), lowered.
fn regular(c: &parse::Chain, cx: &lower::Context, name: String) -> Result<NftChain, NftError> {
    let mut positions = vec![
        (String::new(), (c.name.line, c.name.col)),
        ("name".to_string(), (c.name.line, c.name.col)),
    ];
    let rules = rules(c, cx, &mut positions)?;
    let value = json!({"name": name, "rules": Value::Array(rules)});
    read(value, positions)
}

/// The chain's rules, lowered; their fields' places go into `positions`.
fn rules(
    c: &parse::Chain,
    cx: &lower::Context,
    positions: &mut Vec<(String, (usize, usize))>,
) -> Result<Vec<Value>, NftError> {
    let mut rules = Vec::new();
    for (j, tokens) in c.rules.iter().enumerate() {
        let l = lower::rule(tokens, cx)?;
        positions.push((format!("rules[{j}]"), (tokens[0].line, tokens[0].col)));
        positions.extend(
            l.positions
                .into_iter()
                .map(|(k, at)| (format!("rules[{j}].{k}"), at)),
        );
        rules.push(l.rule);
    }
    Ok(rules)
}

/// A lowered chain read as the YAML chains are.
fn read(value: Value, positions: Vec<(String, (usize, usize))>) -> Result<NftChain, NftError> {
    let cfg: ChainCfg = serde_path_to_error::deserialize(value).map_err(|e| {
        let (line, col) = locate(&positions, &e.path().to_string());
        NftError {
            line,
            col,
            message: e.into_inner().to_string(),
        }
    })?;
    Ok(NftChain { cfg, positions })
}

/// One chain, lowered and read as a YAML chain is.
fn chain(c: &parse::Chain, cx: &lower::Context) -> Result<NftChain, NftError> {
    let word = |t: &Token| t.shown().trim_matches('"').to_string();
    let Some(base) = &c.base else {
        return regular(c, cx, word(&c.name));
    };
    match base.kind.word() {
        Some("filter") => {}
        Some("nat") => {
            return Err(NftError::at(
                &base.kind,
                "nat chains are not read from a ruleset yet: give them to the nat plugin \
                 (its YAML chains)",
            ))
        }
        _ => {
            return Err(NftError::at(
                &base.kind,
                format!("chain type `{}`: only filter chains", word(&base.kind)),
            ))
        }
    }
    let kind = match base.priority.word() {
        Some("filter" | "0") => "filter",
        Some("raw" | "-300") => "raw",
        _ => {
            return Err(NftError::at(
                &base.priority,
                format!(
                    "priority `{}`: the filter's chains sit at filter (0) or raw (-300)",
                    word(&base.priority)
                ),
            ))
        }
    };
    let hook = word(&base.hook);
    if !matches!(
        hook.as_str(),
        "prerouting" | "input" | "forward" | "output" | "postrouting"
    ) {
        return Err(NftError::at(
            &base.hook,
            format!("hook `{hook}`: not one of the five IP hooks"),
        ));
    }
    let mut policy = match base.policy.as_ref().map(word).as_deref() {
        None | Some("accept") => "accept",
        Some("drop") => "drop",
        Some(p) => {
            return Err(NftError::at(
                base.policy.as_ref().unwrap_or(&base.kind),
                format!("policy `{p}`: accept or drop"),
            ))
        }
    };
    let mut positions = vec![
        (String::new(), (c.name.line, c.name.col)),
        ("hook".to_string(), (base.hook.line, base.hook.col)),
        ("type".to_string(), (base.kind.line, base.kind.col)),
    ];
    let mut rules = rules(c, cx, &mut positions)?;
    // A family table's drop policy drops only its family.
    let family = match cx.family {
        Family::Inet => None,
        Family::Ip => Some("ipv4"),
        Family::Ip6 => Some("ipv6"),
    };
    if let (Some(f), "drop") = (family, policy) {
        let at = base.policy.as_ref().unwrap_or(&base.kind);
        positions.push((format!("rules[{}]", rules.len()), (at.line, at.col)));
        rules.push(json!({"match": {"family": f}, "action": ["drop"]}));
        policy = "accept";
    }
    let value = json!({
        "name": word(&c.name),
        "hook": hook,
        "type": kind,
        "policy": policy,
        "rules": Value::Array(rules),
    });
    read(value, positions)
}
