//! The structure of a ruleset: tables with their chains (a base chain's type, hook,
//! priority and policy, then its rules, each kept as its tokens), named sets (their
//! elements) and `ct helper` objects (their helper type). What a rule says is read by
//! the plugins' lowerings (the shared match words in [`crate::rule`]).

use crate::lex::{Tok, Token};
use crate::NftError;

/// A table's family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// `inet`: IPv4 and IPv6.
    Inet,
    /// `ip`: IPv4 only.
    Ip,
    /// `ip6`: IPv6 only.
    Ip6,
}

/// One table.
#[derive(Debug)]
pub struct Table {
    /// Its family.
    pub family: Family,
    /// Its name.
    pub name: String,
    /// Its chains, in order.
    pub chains: Vec<Chain>,
    /// Its named sets: name, and the element tokens.
    pub sets: Vec<(String, Vec<Token>)>,
    /// Its `ct helper` objects: name, and the helper type (`"ftp"`).
    pub helpers: Vec<(String, String)>,
}

/// One chain.
#[derive(Debug)]
pub struct Chain {
    /// Its name, where it is written.
    pub name: Token,
    /// The base chain's settings; `None` for a regular chain.
    pub base: Option<Base>,
    /// Its rules, each the tokens of one statement line.
    pub rules: Vec<Vec<Token>>,
}

/// A base chain's `type ... hook ... priority ...; policy ...;`.
#[derive(Debug)]
pub struct Base {
    /// `filter`, `nat`, `route`.
    pub kind: Token,
    /// The hook's name.
    pub hook: Token,
    /// The priority: a name (`filter`, `raw`, `srcnat`) or a number.
    pub priority: Token,
    /// What follows the priority's first word (`+ 10`), if anything.
    pub offset: Vec<Token>,
    /// `accept` or `drop`, when given.
    pub policy: Option<Token>,
}

impl Base {
    /// The priority as written, without spaces: `filter`, `srcnat+10`, `-100`.
    pub fn priority_text(&self) -> String {
        std::iter::once(&self.priority)
            .chain(&self.offset)
            .map(|t| t.shown().trim_matches('"').to_string())
            .collect()
    }

    /// The priority's value: a number, or one of the standard names of the ip, ip6
    /// and inet families (`raw` -300, `mangle` -150, `dstnat` -100, `filter` 0,
    /// `security` 50, `srcnat` 100) with an optional `+ N` or `- N`, as nft reads it;
    /// as in nft, `dstnat` is a name only at prerouting and output, `srcnat` only at
    /// postrouting.
    pub fn priority_value(&self) -> Result<i32, NftError> {
        let text = self.priority_text();
        let bad = || {
            NftError::at(
                &self.priority,
                format!(
                    "priority `{text}`: a number, or raw, mangle, dstnat, filter, security or \
                     srcnat with an optional + N or - N"
                ),
            )
        };
        if let Ok(n) = text.parse::<i32>() {
            return Ok(n);
        }
        let split = text.find(['+', '-']).unwrap_or(text.len());
        let hook = self.hook.word().unwrap_or("");
        let base = match &text[..split] {
            "raw" => -300,
            "mangle" => -150,
            "dstnat" if matches!(hook, "prerouting" | "output") => -100,
            "filter" => 0,
            "security" => 50,
            "srcnat" if hook == "postrouting" => 100,
            name @ ("dstnat" | "srcnat") => {
                return Err(NftError::at(
                    &self.priority,
                    format!("priority `{name}`: not a priority's name at hook {hook} (nft's rule)"),
                ))
            }
            _ => return Err(bad()),
        };
        let rest = &text[split..];
        if rest.is_empty() {
            return Ok(base);
        }
        let offset: i32 = rest
            .strip_prefix('+')
            .unwrap_or(rest)
            .parse()
            .map_err(|_| bad())?;
        base.checked_add(offset).ok_or_else(bad)
    }
}

fn unsupported(t: &Token, what: &str) -> NftError {
    NftError::at(t, format!("`{}`: {what}", t.shown()))
}

/// Reads the tokens as a ruleset.
pub fn ruleset(tokens: &[Token]) -> Result<Vec<Table>, NftError> {
    let mut p = Parser { t: tokens, i: 0 };
    let mut tables = Vec::new();
    loop {
        p.skip_ends();
        let Some(t) = p.next() else {
            return Ok(tables);
        };
        match t.word() {
            Some("table") => tables.push(p.table()?),
            Some("flush") => {
                let what = p.word("`ruleset`")?;
                if what.word() != Some("ruleset") {
                    return Err(unsupported(what, "only `flush ruleset` is read"));
                }
            }
            Some("include") => return Err(unsupported(t, "includes are not supported yet")),
            _ => {
                return Err(unsupported(
                    t,
                    "expected `table` (commands such as `add rule` are not read: write the \
                     ruleset as `nft list ruleset` prints it)",
                ))
            }
        }
    }
}

struct Parser<'a> {
    t: &'a [Token],
    i: usize,
}

impl<'a> Parser<'a> {
    fn next(&mut self) -> Option<&'a Token> {
        let t = self.t.get(self.i)?;
        self.i += 1;
        Some(t)
    }

    fn peek(&self) -> Option<&'a Token> {
        self.t.get(self.i)
    }

    /// Skips newlines and `;`.
    fn skip_ends(&mut self) {
        while matches!(self.peek().map(|t| &t.tok), Some(Tok::Newline | Tok::Semi)) {
            self.i += 1;
        }
    }

    /// The last token, for errors at the end of the text.
    fn last(&self) -> Token {
        self.t.last().cloned().unwrap_or(Token {
            tok: Tok::Newline,
            line: 1,
            col: 1,
        })
    }

    fn word(&mut self, what: &str) -> Result<&'a Token, NftError> {
        match self.next() {
            Some(t) if matches!(t.tok, Tok::Word(_) | Tok::Str(_)) => Ok(t),
            Some(t) => Err(NftError::at(
                t,
                format!("expected {what}, found `{}`", t.shown()),
            )),
            None => Err(NftError::at(
                &self.last(),
                format!("expected {what}, found the end"),
            )),
        }
    }

    fn open(&mut self) -> Result<(), NftError> {
        match self.next() {
            Some(t) if t.tok == Tok::Open => Ok(()),
            Some(t) => Err(NftError::at(
                t,
                format!("expected `{{`, found `{}`", t.shown()),
            )),
            None => Err(NftError::at(&self.last(), "expected `{`, found the end")),
        }
    }

    /// The tokens of one statement: up to a newline or `;` outside braces, or the
    /// block's closing brace (not consumed). Newlines inside braces are dropped.
    fn statement(&mut self) -> Vec<Token> {
        let mut out = Vec::new();
        let mut depth = 0usize;
        while let Some(t) = self.peek() {
            match t.tok {
                Tok::Newline | Tok::Semi if depth == 0 => break,
                Tok::Close if depth == 0 => break,
                Tok::Newline => {
                    self.i += 1;
                    continue;
                }
                Tok::Open => depth += 1,
                Tok::Close => depth -= 1,
                _ => {}
            }
            out.push(t.clone());
            self.i += 1;
        }
        out
    }

    /// The statements of a `{ ... }` block, after its `{`; consumes the `}`.
    fn block(&mut self, opened: &Token) -> Result<Vec<Vec<Token>>, NftError> {
        let mut out = Vec::new();
        loop {
            self.skip_ends();
            match self.peek() {
                None => return Err(NftError::at(opened, "this block has no closing `}`")),
                Some(t) if t.tok == Tok::Close => {
                    self.i += 1;
                    return Ok(out);
                }
                Some(_) => {
                    let s = self.statement();
                    if !s.is_empty() {
                        out.push(s);
                    }
                }
            }
        }
    }

    fn table(&mut self) -> Result<Table, NftError> {
        let fam = self.word("a family")?;
        let family = match fam.word() {
            Some("inet") => Family::Inet,
            Some("ip") => Family::Ip,
            Some("ip6") => Family::Ip6,
            _ => {
                return Err(unsupported(
                    fam,
                    "tables of family inet, ip and ip6 are read (bridge, arp and netdev are \
                     not supported)",
                ))
            }
        };
        let name = self.word("the table's name")?;
        let opened = self.peek().cloned().unwrap_or_else(|| self.last());
        self.open()?;
        let mut table = Table {
            family,
            name: name.shown().trim_matches('"').to_string(),
            chains: Vec::new(),
            sets: Vec::new(),
            helpers: Vec::new(),
        };
        loop {
            self.skip_ends();
            let Some(t) = self.next() else {
                return Err(NftError::at(&opened, "this table has no closing `}`"));
            };
            match (&t.tok, t.word()) {
                (Tok::Close, _) => return Ok(table),
                (_, Some("chain")) => {
                    let name = self.word("the chain's name")?.clone();
                    let opened = self.peek().cloned().unwrap_or_else(|| self.last());
                    self.open()?;
                    let body = self.block(&opened)?;
                    table.chains.push(chain(name, body)?);
                }
                (_, Some("set")) => {
                    let name = self.word("the set's name")?;
                    let opened = self.peek().cloned().unwrap_or_else(|| self.last());
                    self.open()?;
                    let body = self.block(&opened)?;
                    table
                        .sets
                        .push((name.shown().trim_matches('"').to_string(), set(body)?));
                }
                (_, Some("ct")) => {
                    let what = self.word("`helper`")?;
                    if what.word() != Some("helper") {
                        return Err(unsupported(
                            what,
                            "of the ct objects, only `ct helper` is read",
                        ));
                    }
                    let name = self.word("the helper object's name")?;
                    let opened = self.peek().cloned().unwrap_or_else(|| self.last());
                    self.open()?;
                    let body = self.block(&opened)?;
                    let kind = helper(name, body)?;
                    table
                        .helpers
                        .push((name.shown().trim_matches('"').to_string(), kind));
                }
                (_, Some("comment")) => {
                    self.word("the comment")?;
                }
                _ => {
                    return Err(unsupported(
                        t,
                        "a table holds chains, sets and ct helpers here (maps, flowtables, \
                         counters, quotas and limits as objects are not supported yet)",
                    ))
                }
            }
        }
    }
}

/// A chain's statements: the base chain's line(s), then its rules.
fn chain(name: Token, body: Vec<Vec<Token>>) -> Result<Chain, NftError> {
    let mut c = Chain {
        name,
        base: None,
        rules: Vec::new(),
    };
    for s in body {
        match s[0].word() {
            Some("type") => {
                let w = |k: usize| s.get(k);
                let (Some(kind), Some(h), Some(hook)) = (w(1), w(2), w(3)) else {
                    return Err(NftError::at(
                        &s[0],
                        "expected `type TYPE hook HOOK priority P`",
                    ));
                };
                if h.word() != Some("hook") {
                    return Err(NftError::at(
                        h,
                        format!("expected `hook`, found `{}`", h.shown()),
                    ));
                }
                let (Some(p), Some(priority)) = (w(4), w(5)) else {
                    return Err(NftError::at(hook, "expected `priority P` after the hook"));
                };
                if p.word() == Some("device") {
                    return Err(unsupported(p, "netdev chains are not supported"));
                }
                if p.word() != Some("priority") {
                    return Err(NftError::at(
                        p,
                        format!("expected `priority`, found `{}`", p.shown()),
                    ));
                }
                c.base = Some(Base {
                    kind: kind.clone(),
                    hook: hook.clone(),
                    priority: priority.clone(),
                    offset: s[6..].to_vec(),
                    policy: None,
                });
            }
            Some("policy") => {
                let Some(base) = c.base.as_mut() else {
                    return Err(NftError::at(
                        &s[0],
                        "a policy belongs to a base chain (after `type`)",
                    ));
                };
                let Some(p) = s.get(1) else {
                    return Err(NftError::at(&s[0], "expected `accept` or `drop`"));
                };
                base.policy = Some(p.clone());
            }
            Some("comment") if s.len() == 2 => {}
            _ => c.rules.extend(crate::vmap::expand(s)?),
        }
    }
    Ok(c)
}

/// A set's elements (its `type`, `typeof` and `flags interval` need nothing here).
fn set(body: Vec<Vec<Token>>) -> Result<Vec<Token>, NftError> {
    let mut elements = Vec::new();
    for s in body {
        match s[0].word() {
            Some("type" | "typeof" | "comment" | "auto-merge" | "size") => {}
            Some("flags") => {
                if let Some(f) = s[1..].iter().find(|t| {
                    !matches!(t.word(), Some("interval" | "constant")) && t.tok != Tok::Comma
                }) {
                    return Err(unsupported(f, "sets that change while traffic flows (timeout, dynamic) are not supported yet"));
                }
            }
            Some("elements") => {
                let items = match (s.get(1).map(|t| &t.tok), s.get(2).map(|t| &t.tok), s.last()) {
                    (Some(Tok::Assign), Some(Tok::Open), Some(last)) if last.tok == Tok::Close => {
                        &s[3..s.len() - 1]
                    }
                    _ => return Err(NftError::at(&s[0], "expected `elements = { ... }`")),
                };
                for t in items {
                    match &t.tok {
                        Tok::Comma => {}
                        Tok::Word(w) if w == "." || w == ":" => {
                            return Err(unsupported(
                                t,
                                "concatenations and maps are not supported yet",
                            ))
                        }
                        Tok::Word(_) | Tok::Str(_) => elements.push(t.clone()),
                        _ => return Err(unsupported(t, "expected an element")),
                    }
                }
            }
            _ => return Err(unsupported(&s[0], "expected type, flags or elements")),
        }
    }
    Ok(elements)
}

/// A `ct helper` object's type: `type "ftp" protocol tcp` (`l3proto` needs nothing).
fn helper(name: &Token, body: Vec<Vec<Token>>) -> Result<String, NftError> {
    let mut kind = None;
    for s in body {
        match s[0].word() {
            Some("type") => match s.get(1).map(|t| &t.tok) {
                Some(Tok::Str(k)) => kind = Some(k.clone()),
                _ => {
                    return Err(NftError::at(
                        &s[0],
                        "expected `type \"NAME\" protocol tcp|udp`",
                    ))
                }
            },
            Some("l3proto") => {}
            _ => return Err(unsupported(&s[0], "expected type or l3proto")),
        }
    }
    kind.ok_or_else(|| NftError::at(name, "this ct helper has no `type`"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The base chain of a one-chain ruleset whose chain line is `line`.
    fn base(line: &str) -> Base {
        let text = format!("table inet t {{\n chain c {{ {line} }}\n}}\n");
        let tokens = crate::lex::tokens(&text).unwrap();
        let mut tables = ruleset(&tokens).unwrap();
        tables.remove(0).chains.remove(0).base.unwrap()
    }

    #[test]
    fn priorities_read_as_nft_reads_them() {
        for (line, want) in [
            ("type filter hook input priority filter;", Ok(0)),
            ("type filter hook input priority raw;", Ok(-300)),
            ("type filter hook input priority -7;", Ok(-7)),
            ("type nat hook postrouting priority srcnat + 10;", Ok(110)),
            ("type nat hook postrouting priority srcnat+10;", Ok(110)),
            ("type nat hook prerouting priority dstnat - 5;", Ok(-105)),
            ("type nat hook output priority dstnat;", Ok(-100)),
            ("type filter hook forward priority security;", Ok(50)),
            ("type filter hook forward priority mangle;", Ok(-150)),
            ("type nat hook input priority srcnat;", Err("at hook input")),
            (
                "type nat hook postrouting priority dstnat;",
                Err("at hook postrouting"),
            ),
            (
                "type filter hook input priority first;",
                Err("priority `first`"),
            ),
            (
                "type filter hook input priority filter + x;",
                Err("priority `filter+x`"),
            ),
        ] {
            let got = base(line).priority_value();
            match (got, want) {
                (Ok(n), Ok(w)) => assert_eq!(n, w, "{line}"),
                (Err(e), Err(w)) => assert!(e.message.contains(w) && e.col > 1, "{line}: {e}"),
                (got, want) => panic!("{line}: {got:?}, wanted {want:?}"),
            }
        }
    }
}
