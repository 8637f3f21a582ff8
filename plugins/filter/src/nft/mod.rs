//! Rulesets in nftables' own syntax (a file as `nft -f` reads it, or what `nft list
//! ruleset` prints), read into the filter's chains: the subset the filter can do, and
//! for everything else an error naming the line, the column and the word. The syntax
//! and the match words are `brickwall-nft`'s (shared with the NAT plugin); this module
//! reads what only filter chains have.
//!
//! - Tables of family `inet`, `ip` or `ip6`; in an `ip` or `ip6` table every rule also
//!   matches the family, and a `drop` policy becomes a last rule dropping that family
//!   (the chain itself accepts the other).
//! - Base chains of type `filter` at priority `filter` (0) or `raw` (-300), on
//!   prerouting, input, forward, output or postrouting, one per type and hook; and
//!   regular chains, which `jump` and `goto` reach. Chains of type `nat`, and the
//!   regular chains that only nat chains reach, are the NAT plugin's and are skipped
//!   here.
//! - Named sets (their elements, where `@name` refers to them) and `ct helper` objects
//!   (`ct helper set "NAME"` assigns the object's helper type).
//! - Rules: see [`lower`].
//!
//! Each chain is lowered to the shape of the YAML config's chains and read by the same
//! code, so both compile to the same filter.

pub mod lower;

use crate::config::ChainCfg;
use brickwall_nft::lex::Token;
use brickwall_nft::parse::{self, Family};
use brickwall_nft::rule::Context;
use brickwall_nft::{locate, Positions};
use serde_json::{json, Value};

pub use brickwall_nft::NftError;

/// One chain of the ruleset in the filter's config shape, and where its parts were
/// written: paths within the chain (`hook`, `rules[2].match.dport`) with their line and
/// column.
pub type NftChain = brickwall_nft::Lowered<ChainCfg>;

/// Reads a ruleset into the filter's chains: its filter chains and the regular chains
/// they reach (the nat chains, and the regular chains only nat chains reach, are the
/// NAT plugin's).
pub fn chains(text: &str) -> Result<Vec<NftChain>, NftError> {
    let mut out = Vec::new();
    for table in brickwall_nft::tables(text)? {
        let cx = Context::of(&table);
        let nat = brickwall_nft::nat_chains(&table);
        for (c, nat) in table.chains.iter().zip(nat) {
            if !nat {
                out.push(chain(c, &cx)?);
            }
        }
    }
    Ok(out)
}

/// A regular chain (a jump target: no type, hook or policy), lowered.
fn regular(c: &parse::Chain, cx: &Context, name: String) -> Result<NftChain, NftError> {
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
    cx: &Context,
    positions: &mut Positions,
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
fn read(value: Value, positions: Positions) -> Result<NftChain, NftError> {
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
fn chain(c: &parse::Chain, cx: &Context) -> Result<NftChain, NftError> {
    let word = |t: &Token| t.shown().trim_matches('"').to_string();
    let Some(base) = &c.base else {
        return regular(c, cx, word(&c.name));
    };
    if base.kind.word() != Some("filter") {
        return Err(NftError::at(
            &base.kind,
            format!(
                "chain type `{}`: filter and nat chains are read",
                word(&base.kind)
            ),
        ));
    }
    let kind = match base.priority_value() {
        Ok(0) => "filter",
        Ok(-300) => "raw",
        _ => {
            return Err(NftError::at(
                &base.priority,
                format!(
                    "priority `{}`: the filter's chains sit at filter (0) or raw (-300)",
                    base.priority_text()
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
