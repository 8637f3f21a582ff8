//! nftables rulesets as `nft -f` reads them or `nft list ruleset` prints them: the
//! syntax both rule plugins read. [`lex`] splits the text into tokens with their line
//! and column, [`parse`] reads tables, chains, sets and `ct helper` objects (a rule
//! stays its tokens), and [`rule`] reads a rule's match words into the shared match
//! vocabulary (`brickwall-rules`' `match` config, as JSON). What a chain's type and a
//! rule's statements and verdicts mean is each plugin's own lowering: the filter's
//! chains in `brickwall-filter`, the nat chains in `brickwall-nat`.
//!
//! Every error names the 1-based line and column of the word it is about.

pub mod lex;
pub mod parse;
pub mod rule;

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

/// Reads `text` into its tables.
pub fn tables(text: &str) -> Result<Vec<parse::Table>, NftError> {
    let tokens =
        lex::tokens(text).map_err(|(line, col, message)| NftError { line, col, message })?;
    parse::ruleset(&tokens)
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

/// Whether the table's base chains are all of type `nat` (and it has one): its regular
/// chains are then the nat chains' jump targets, not the filter's.
pub fn nat_table(t: &parse::Table) -> bool {
    let mut bases = t.chains.iter().filter_map(|c| c.base.as_ref()).peekable();
    bases.peek().is_some() && bases.all(|b| b.kind.word() == Some("nat"))
}
