//! A rule's match words, read into the shared match vocabulary (`brickwall-rules`'
//! `match` config, as JSON, so that a plugin reads it with the same code as its YAML):
//! `ct state`, `ct status`, `ct direction`, `ct mark`, `ct helper`, `ct label`, `ct
//! zone`, `meta l4proto`, `meta nfproto`, `meta mark`, `meta length`, `meta pkttype`,
//! `iif`/`oif`, `iifname`/`oifname`, `ip`/`ip6` addresses, protocol, `ttl`/`hoplimit`
//! and `dscp`, `tcp`/`udp`/`sctp`/`th` ports (comparisons as ranges), `tcp flags`, and
//! `icmp`/`icmpv6` `type` and `code`. A plugin's lowering walks a rule with a
//! [`Reader`], hands each word to [`Reader::matches`] and reads what is not a match
//! (its statements and verdicts) itself.

use crate::lex::{Tok, Token};
use crate::parse::Family;
use crate::{NftError, Positions};
use serde_json::{json, Map, Value};

/// What a rule may refer to: its table's family, named sets and ct helper objects.
pub struct Context<'a> {
    /// The table's family.
    pub family: Family,
    /// Named sets: name, element tokens.
    pub sets: &'a [(String, Vec<Token>)],
    /// `ct helper` objects: name, helper type.
    pub helpers: &'a [(String, String)],
}

impl<'a> Context<'a> {
    /// The context of `table`'s rules.
    pub fn of(table: &'a crate::parse::Table) -> Context<'a> {
        Context {
            family: table.family,
            sets: &table.sets,
            helpers: &table.helpers,
        }
    }
}

/// A selector's values: whether negated (`!=`), and the items.
pub struct Values {
    /// Written after `!=`.
    pub neg: bool,
    /// The values (a set's elements each).
    pub items: Vec<Token>,
    /// The selector they follow, for errors.
    pub at: Token,
}

/// A cursor over one rule's tokens, and the matches read so far.
pub struct Reader<'a, 'c> {
    /// The rule's tokens.
    pub t: &'a [Token],
    /// The next token's index.
    pub i: usize,
    /// The rule's table.
    pub cx: &'c Context<'c>,
    /// The matches, as the `match` config's fields.
    pub m: Map<String, Value>,
    /// Where each field was written: `match.dport`, and the plugin's own (`action`).
    pub positions: Positions,
}

impl<'a, 'c> Reader<'a, 'c> {
    /// A reader at the start of `tokens` (not empty); in an `ip` or `ip6` table the rule
    /// already matches its family.
    pub fn new(tokens: &'a [Token], cx: &'c Context<'c>) -> Result<Self, NftError> {
        let mut r = Reader {
            t: tokens,
            i: 0,
            cx,
            m: Map::new(),
            positions: Vec::new(),
        };
        match cx.family {
            Family::Inet => {}
            Family::Ip => r.set("family", json!("ipv4"), &tokens[0])?,
            Family::Ip6 => r.set("family", json!("ipv6"), &tokens[0])?,
        }
        Ok(r)
    }

    /// The next token.
    pub fn next_token(&mut self) -> Option<&'a Token> {
        let t = self.t.get(self.i)?;
        self.i += 1;
        Some(t)
    }

    /// The next token's word, not consumed.
    pub fn peek_word(&self) -> Option<&'a str> {
        self.t.get(self.i).and_then(|t| t.word())
    }

    /// The word `k` tokens ahead of the next (0: the next), not consumed.
    pub fn word_ahead(&self, k: usize) -> Option<&'a str> {
        self.t.get(self.i + k).and_then(|t| t.word())
    }

    /// The next word (the selector after `ct`, `ip`, `tcp`...).
    pub fn sub(&mut self, after: &Token) -> Result<&'a Token, NftError> {
        match self.next_token() {
            Some(t) if t.word().is_some() => Ok(t),
            Some(t) => Err(NftError::at(
                t,
                format!("unexpected `{}` after `{}`", t.shown(), after.shown()),
            )),
            None => Err(NftError::at(
                after,
                format!("`{}` needs more after it", after.shown()),
            )),
        }
    }

    /// A match field, once per rule.
    pub fn set(&mut self, key: &str, v: Value, at: &Token) -> Result<(), NftError> {
        if let Some(old) = self.m.get(key) {
            if *old == v {
                return Ok(());
            }
            return Err(NftError::at(
                at,
                format!("this rule already matches {key} {old}: one {key} per rule here"),
            ));
        }
        self.m.insert(key.into(), v);
        self.positions
            .push((format!("match.{key}"), (at.line, at.col)));
        Ok(())
    }

    /// Reads the match that starts at `t` (already consumed) and returns true; false,
    /// with nothing consumed after `t`, when `t` starts no match (a statement, a
    /// verdict, or a setting such as `ct mark set` and `meta mark set`).
    pub fn matches(&mut self, t: &'a Token) -> Result<bool, NftError> {
        let Some(w) = t.word() else {
            return Ok(false);
        };
        match w {
            "ct" if self.word_ahead(1) == Some("set") => Ok(false),
            "meta" if self.word_ahead(1) == Some("set") => Ok(false),
            "mark" if self.word_ahead(0) == Some("set") => Ok(false),
            "ct" => {
                let s = self.sub(t)?;
                self.ct(s)?;
                Ok(true)
            }
            "tcp" if self.peek_word() == Some("flags") => {
                let s = self.sub(t)?;
                self.tcp_flags(t, s)?;
                Ok(true)
            }
            "meta" => {
                let s = self.sub(t)?;
                self.meta(s)?;
                Ok(true)
            }
            "mark" | "iif" | "oif" | "iifname" | "oifname" | "l4proto" | "nfproto" => {
                self.meta(t)?;
                Ok(true)
            }
            "ip" | "ip6" => {
                self.ip(t, w == "ip6")?;
                Ok(true)
            }
            "tcp" | "udp" | "sctp" | "th" => {
                self.ports(t, w)?;
                Ok(true)
            }
            "icmp" | "icmpv6" => {
                let s = self.sub(t)?;
                let key = match s.word() {
                    Some("type") => "icmp_type",
                    Some("code") => "icmp_code",
                    _ => {
                        return Err(NftError::at(
                            s,
                            format!(
                                "`{w} {}`: only `{w} type` and `{w} code` are supported yet",
                                s.shown()
                            ),
                        ))
                    }
                };
                let v = self.values(s)?;
                let items = self.list(&v, false, |t| Ok(scalar(t)))?;
                self.set("proto", json!(w), t)?;
                self.set(key, items, s)?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// The values after a selector: `VALUE`, `VALUE,VALUE`, `{ VALUE, ... }` or `@set`,
    /// after an optional `==` or `!=`.
    pub fn values(&mut self, after: &Token) -> Result<Values, NftError> {
        self.values_up_to(after, None)
    }

    /// As [`values`](Self::values), and a comparison (`>= N`, `< N`, ...) as the range
    /// it means, up to `max` (numbers only; none where comparisons make no sense).
    pub fn values_up_to(&mut self, after: &Token, max: Option<u64>) -> Result<Values, NftError> {
        let mut neg = false;
        match self.t.get(self.i).map(|t| &t.tok) {
            Some(Tok::Ne) => {
                neg = true;
                self.i += 1;
            }
            Some(Tok::Eq) => self.i += 1,
            _ => {}
        }
        let Some(first) = self.next_token() else {
            return Err(NftError::at(
                after,
                format!("`{}` needs a value", after.shown()),
            ));
        };
        let mut items = Vec::new();
        match &first.tok {
            Tok::Open => loop {
                match self.next_token() {
                    Some(t) if t.tok == Tok::Close => break,
                    Some(t) if t.tok == Tok::Comma => {}
                    Some(t) if matches!(t.tok, Tok::Word(_) | Tok::Str(_)) => items.push(t.clone()),
                    Some(t) => {
                        return Err(NftError::at(
                            t,
                            format!("unexpected `{}` in a set", t.shown()),
                        ))
                    }
                    None => return Err(NftError::at(first, "this set has no closing `}`")),
                }
            },
            Tok::SetRef(name) => {
                let Some((_, elements)) = self.cx.sets.iter().find(|(n, _)| n == name) else {
                    return Err(NftError::at(
                        first,
                        format!("no set named `{name}` in this table"),
                    ));
                };
                items.extend(elements.iter().cloned());
            }
            Tok::Word(w)
                if matches!(
                    w.as_str(),
                    "<" | ">" | "<=" | ">=" | "lt" | "gt" | "le" | "ge"
                ) =>
            {
                let Some(max) = max else {
                    return Err(NftError::at(
                        first,
                        format!(
                            "`{w}`: a comparison after `{}` is not supported",
                            after.shown()
                        ),
                    ));
                };
                let n = self
                    .next_token()
                    .and_then(|t| t.word())
                    .and_then(|v| v.parse::<u64>().ok())
                    .filter(|n| *n <= max)
                    .ok_or_else(|| {
                        NftError::at(first, format!("`{w}` needs a number up to {max}"))
                    })?;
                let (lo, hi) = match w.as_str() {
                    ">=" | "ge" => (n, max),
                    ">" | "gt" => (n + 1, max),
                    "<=" | "le" => (0, n),
                    _ => (
                        0,
                        n.checked_sub(1)
                            .ok_or_else(|| NftError::at(first, "`< 0` matches nothing"))?,
                    ),
                };
                if lo > hi {
                    return Err(NftError::at(first, format!("`{w} {n}` matches nothing")));
                }
                items.push(Token {
                    tok: Tok::Word(format!("{lo}-{hi}")),
                    line: first.line,
                    col: first.col,
                });
            }
            Tok::Word(_) | Tok::Str(_) => {
                items.push(first.clone());
                while self.t.get(self.i).map(|t| &t.tok) == Some(&Tok::Comma) {
                    match self.t.get(self.i + 1) {
                        Some(t) if matches!(t.tok, Tok::Word(_) | Tok::Str(_)) => {
                            items.push(t.clone());
                            self.i += 2;
                        }
                        _ => break,
                    }
                }
            }
            _ => {
                return Err(NftError::at(
                    first,
                    format!("expected a value, found `{}`", first.shown()),
                ))
            }
        }
        if items.is_empty() {
            return Err(NftError::at(first, "an empty set matches nothing"));
        }
        Ok(Values {
            neg,
            items,
            at: after.clone(),
        })
    }

    /// Values as one value or a list, each as a number when it is one; `!` before each
    /// when negated (`allow_neg`, else negation is an error).
    pub fn list(
        &self,
        v: &Values,
        allow_neg: bool,
        map: impl Fn(&Token) -> Result<Value, NftError>,
    ) -> Result<Value, NftError> {
        if v.neg && !allow_neg {
            return Err(NftError::at(
                &v.at,
                format!("`!=` is not supported after `{}` yet", v.at.shown()),
            ));
        }
        let mut out = Vec::new();
        for t in &v.items {
            let x = map(t)?;
            out.push(match (v.neg, x) {
                (true, Value::Number(n)) => json!(format!("!{n}")),
                (true, Value::String(s)) => json!(format!("!{s}")),
                (_, x) => x,
            });
        }
        Ok(if out.len() == 1 {
            out.remove(0)
        } else {
            Value::Array(out)
        })
    }

    /// One value (a set of them is an error), not negated.
    pub fn one(&self, v: &Values) -> Result<Value, NftError> {
        if v.items.len() > 1 {
            return Err(NftError::at(
                &v.items[1],
                format!(
                    "one value after `{}` here (a set of them is not supported yet)",
                    v.at.shown()
                ),
            ));
        }
        self.list(v, false, |t| Ok(scalar(t)))
    }

    /// `ct` matches: `state`, `status`, `direction`, `zone`, `mark`, `helper`, `label`.
    fn ct(&mut self, s: &Token) -> Result<(), NftError> {
        let w = s.word().unwrap_or("");
        match w {
            "state" | "status" => {
                let v = self.values(s)?;
                let names = self.list(&v, false, |t| Ok(json!(t.shown().trim_matches('"'))))?;
                self.set(
                    if w == "state" {
                        "ct_state"
                    } else {
                        "ct_status"
                    },
                    names,
                    s,
                )
            }
            "direction" => {
                let v = self.values(s)?;
                let d = self.one(&v)?;
                self.set("ct_direction", d, s)
            }
            "zone" => {
                let v = self.values(s)?;
                let z = self.one(&v)?;
                self.set("ct_zone", z, s)
            }
            "mark" => {
                let v = self.masked(s)?;
                self.set("ct_mark", v, s)
            }
            "helper" => {
                let v = self.values(s)?;
                let h = self.list(&v, false, |t| Ok(json!(t.shown().trim_matches('"'))))?;
                if h.is_array() {
                    return Err(NftError::at(s, "one helper name per rule here"));
                }
                self.set("ct_helper", h, s)
            }
            "label" => {
                let v = self.values(s)?;
                let l = self.list(&v, false, |t| Ok(scalar(t)))?;
                self.set("ct_label", l, s)
            }
            _ => Err(NftError::at(s, format!("`ct {w}`: not supported yet"))),
        }
    }

    /// A mark value, or `and MASK == VALUE` as `VALUE/MASK`.
    pub fn masked(&mut self, s: &Token) -> Result<Value, NftError> {
        if self.peek_word() == Some("and") {
            self.i += 1;
            let mask = self.next_token().and_then(|t| t.word()).map(str::to_string);
            let v = self.values(s)?;
            let value = self.one(&v)?;
            let (Some(mask), Some(value)) = (
                mask,
                value
                    .as_str()
                    .map(str::to_string)
                    .or(value.as_u64().map(|n| n.to_string())),
            ) else {
                return Err(NftError::at(s, "expected `and MASK == VALUE`"));
            };
            return Ok(json!(format!("{value}/{mask}")));
        }
        let v = self.values(s)?;
        self.one(&v)
    }

    /// `meta` matches, and the bare words that are short for them (`mark`, `iif`...).
    fn meta(&mut self, s: &Token) -> Result<(), NftError> {
        match s.word().unwrap_or("") {
            "l4proto" => {
                let v = self.values(s)?;
                let p = self.list(&v, false, |t| Ok(scalar(t)))?;
                self.set("proto", p, s)
            }
            "length" => {
                let v = self.values_up_to(s, Some(65_535))?;
                let l = self.list(&v, false, |t| Ok(scalar(t)))?;
                self.set("length", l, s)
            }
            "nfproto" => {
                let v = self.values(s)?;
                let f = self.one(&v)?;
                self.set("family", f, s)
            }
            "mark" => {
                let v = self.masked(s)?;
                self.set("mark", v, s)
            }
            "iif" | "oif" => {
                let v = self.values(s)?;
                let l = self.list(&v, false, |t| Ok(scalar(t)))?;
                let key = s.word().unwrap_or("iif").to_string();
                self.set(&key, l, s)
            }
            "iifname" | "oifname" => {
                let v = self.values(s)?;
                let l = self.list(&v, false, |t| Ok(json!(t.shown().trim_matches('"'))))?;
                let key = s.word().unwrap_or("iifname").to_string();
                self.set(&key, l, s)
            }
            "pkttype" => {
                let v = self.values(s)?;
                let l = self.list(&v, false, |t| Ok(json!(t.shown())))?;
                self.set("pkttype", l, s)
            }
            w => Err(NftError::at(s, format!("`meta {w}`: not supported yet"))),
        }
    }

    /// `ip`/`ip6` `saddr`, `daddr`, `protocol`/`nexthdr`, `ttl`/`hoplimit`, `dscp`.
    fn ip(&mut self, t: &Token, v6: bool) -> Result<(), NftError> {
        let s = self.sub(t)?;
        let family = if v6 { "ipv6" } else { "ipv4" };
        match s.word().unwrap_or("") {
            "saddr" | "daddr" => {
                let v = self.values(s)?;
                let a = self.list(&v, true, |t| Ok(json!(t.shown().trim_matches('"'))))?;
                self.set("family", json!(family), t)?;
                self.set(s.word().unwrap_or("saddr"), a, s)
            }
            "protocol" | "nexthdr" => {
                let v = self.values(s)?;
                let p = self.list(&v, false, |t| Ok(scalar(t)))?;
                self.set("family", json!(family), t)?;
                self.set("proto", p, s)
            }
            "ttl" | "hoplimit" if (s.word() == Some("ttl")) != v6 => {
                let v = self.values_up_to(s, Some(255))?;
                let l = self.list(&v, false, |t| Ok(scalar(t)))?;
                self.set("family", json!(family), t)?;
                self.set("ttl", l, s)
            }
            "dscp" => {
                let v = self.values(s)?;
                let d = self.list(&v, false, |t| Ok(scalar(t)))?;
                self.set("family", json!(family), t)?;
                self.set("dscp", d, s)
            }
            w => Err(NftError::at(
                s,
                format!("`{} {w}`: not supported yet", t.shown()),
            )),
        }
    }

    /// `tcp flags syn,ack` (any of them), `tcp flags syn / syn,ack` (value under mask),
    /// `tcp flags == syn` (exactly).
    fn tcp_flags(&mut self, t: &Token, s: &Token) -> Result<(), NftError> {
        let exact = self.t.get(self.i).map(|t| &t.tok) == Some(&Tok::Eq);
        let v = self.values(s)?;
        if v.neg {
            return Err(NftError::at(s, "`tcp flags !=` is not supported yet"));
        }
        let names = |items: &[Token]| {
            items
                .iter()
                .map(|t| t.shown())
                .collect::<Vec<_>>()
                .join(",")
        };
        let value = names(&v.items);
        let flags = if self.peek_word() == Some("/") {
            self.i += 1;
            let m = self.values(s)?;
            format!("{value}/{}", names(&m.items))
        } else if exact {
            format!("{value}/fin,syn,rst,psh,ack,urg,ecn,cwr")
        } else {
            value
        };
        self.set("proto", json!("tcp"), t)?;
        self.set("tcp_flags", json!(flags), s)
    }

    /// `tcp`/`udp`/`sctp`/`th` `sport` and `dport`.
    fn ports(&mut self, t: &Token, proto: &str) -> Result<(), NftError> {
        let s = self.sub(t)?;
        let w = s.word().unwrap_or("");
        if w != "dport" && w != "sport" {
            return Err(NftError::at(s, format!("`{proto} {w}`: not supported yet")));
        }
        let v = self.values_up_to(s, Some(65_535))?;
        let p = self.list(&v, true, port)?;
        if proto != "th" {
            self.set("proto", json!(proto), t)?;
        }
        self.set(w, p, s)
    }
}

/// A word as a JSON number when it is a decimal number, else as a string.
pub fn scalar(t: &Token) -> Value {
    let s = t.shown();
    let s = s.trim_matches('"');
    match s.parse::<u64>() {
        Ok(n) => json!(n),
        Err(_) => json!(s),
    }
}

/// A port, a range, or a service name from `/etc/services`, as nft reads them.
pub fn port(t: &Token) -> Result<Value, NftError> {
    let s = t.shown();
    if s.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
        return Ok(scalar(t));
    }
    service(&s).map(|p| json!(p)).ok_or_else(|| {
        NftError::at(
            t,
            format!("`{s}`: not a port, a range or a service name in /etc/services"),
        )
    })
}

/// The port of service `name` (TCP or UDP) in `/etc/services`.
fn service(name: &str) -> Option<u16> {
    let text = std::fs::read_to_string("/etc/services").ok()?;
    text.lines().find_map(|l| {
        let l = l.split('#').next()?;
        let mut words = l.split_whitespace();
        let first = words.next()?;
        let (port, _) = words.next()?.split_once('/')?;
        (first == name || words.any(|alias| alias == name)).then(|| port.parse().ok())?
    })
}
