//! nftables rulesets as `nft -f` reads them or `nft list ruleset` prints them: the
//! syntax both rule plugins read. [`lex`] splits the text into tokens with their line
//! and column, [`define`] expands variables, [`parse`] reads tables (a rule with a verdict
//! map becomes one rule per element, [`vmap`]), chains, sets and `ct helper` objects (a rule
//! stays its tokens), and [`rule`] reads a rule's match words into the shared match
//! vocabulary (`brickwall-rules`' `match` config, as JSON). What a chain's type and a
//! rule's statements and verdicts mean is each plugin's own lowering: the filter's
//! chains in `brickwall-filter`, the nat chains in `brickwall-nat`.
//!
//! Every error names the 1-based line and column of the word it is about.

#![warn(missing_docs)]

pub mod define;
pub mod lex;
#[cfg(feature = "mangle")]
pub mod mangle;
pub mod parse;
pub mod rule;
pub mod vmap;

use lex::Token;
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

impl std::error::Error for NftError {}

/// Field paths of a lowered chain (`hook`, `rules[2].match.dport`) with the line and
/// column each was written at.
pub type Positions = Vec<(String, (usize, usize))>;

/// A chain lowered into a plugin's config shape `C`, and where its parts were written.
pub struct Lowered<C> {
    /// The chain.
    pub cfg: C,
    /// Where each field came from.
    pub positions: Positions,
}

impl<C> Lowered<C> {
    /// The line and column of the field at `path` (relative to the chain), or of the
    /// nearest field above it.
    pub fn locate(&self, path: &str) -> (usize, usize) {
        locate(&self.positions, path)
    }
}

/// Reads `text` into its tables.
pub fn tables(text: &str) -> Result<Vec<parse::Table>, NftError> {
    let tokens =
        lex::tokens(text).map_err(|(line, col, message)| NftError { line, col, message })?;
    parse::ruleset(&define::expand(tokens)?)
}

/// The position of the longest key of `positions` that is `path` or a field above it
/// (`(0, 0)` when none is).
pub fn locate(positions: &[(String, (usize, usize))], path: &str) -> (usize, usize) {
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

/// For each chain of the table, whether it is a nat chain's: a base chain of type
/// `nat`, or a regular chain that nat chains reach (through `jump` and `goto`, directly
/// or not) and no other base chain does. The others are the filter's.
pub fn nat_chains(t: &parse::Table) -> Vec<bool> {
    let name = |c: &parse::Chain| c.name.shown().trim_matches('"').to_string();
    let index: Vec<String> = t.chains.iter().map(name).collect();
    // Each chain's jump targets, by index.
    let targets: Vec<Vec<usize>> = t
        .chains
        .iter()
        .map(|c| {
            c.rules
                .iter()
                .flat_map(|r| r.windows(2))
                .filter(|w| matches!(w[0].word(), Some("jump" | "goto")))
                .filter_map(|w| {
                    let n = w[1].shown().trim_matches('"').to_string();
                    index.iter().position(|x| *x == n)
                })
                .collect()
        })
        .collect();
    // What the base chains of each kind reach.
    let reached = |nat: bool| {
        let mut seen = vec![false; t.chains.len()];
        let mut todo: Vec<usize> = (0..t.chains.len())
            .filter(|&i| {
                t.chains[i]
                    .base
                    .as_ref()
                    .is_some_and(|b| (b.kind.word() == Some("nat")) == nat)
            })
            .collect();
        while let Some(i) = todo.pop() {
            if !std::mem::replace(&mut seen[i], true) {
                todo.extend(&targets[i]);
            }
        }
        seen
    };
    let (by_nat, by_other) = (reached(true), reached(false));
    (0..t.chains.len())
        .map(|i| by_nat[i] && !by_other[i])
        .collect()
}
