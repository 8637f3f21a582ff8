//! One nftables rule in the filter's own rule config (the shape the YAML rules have, as
//! JSON, so that both are read and checked by the same code): its matches (`ct state`,
//! `ct status`, `ct direction`, `ct mark`, `ct helper`, `ct label`, `ct zone`, `meta
//! l4proto`, `meta nfproto`, `meta mark`, `meta length`, `meta pkttype`, `ip`/`ip6`
//! addresses, protocol, `ttl`/`hoplimit` and `dscp`, `tcp`/`udp`/`sctp`/`th` ports (with
//! comparisons as ranges), `tcp flags`, `iif`/`oif`, `iifname`/`oifname`,
//! `icmp`/`icmpv6 type` and `code`), its `limit rate` and `quota`, its statements
//! (`counter`, `log`, `meta mark set`, `ct mark set`, `ct helper set`, `ct label set`,
//! `notrack`, `comment`) and its verdict (`accept`, `drop`, `queue`, `reject`, `jump`,
//! `goto`, `return`). Anything else is an error naming the word and where it is.

use super::lex::{Tok, Token};
use super::parse::Family;
use super::NftError;
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

/// A rule in the filter's config shape, and where each of its fields was written
/// (`match.dport`, `action`, ...) for errors found later.
pub struct Lowered {
    /// `{"match": {...}, "action": [...], "counter": true, "comment": "..."}`.
    pub rule: Value,
    /// Field paths within the rule, and their line and column.
    pub positions: Vec<(String, (usize, usize))>,
}

/// Words that are nftables' but not read here yet, with what to say about them.
fn not_yet(word: &str) -> Option<&'static str> {
    Some(match word {
        "continue" => "`continue` is not supported yet",
        "vmap" => "verdict maps are not supported yet",
        "snat" | "dnat" | "masquerade" | "redirect" => {
            "NAT statements belong to the nat plugin's chains (its YAML config)"
        }
        "dup" | "fwd" | "synproxy" | "tproxy" | "flow" => "this statement is not supported",
        _ => return None,
    })
}

/// Lowers one rule.
pub fn rule(tokens: &[Token], cx: &Context) -> Result<Lowered, NftError> {
    let mut r = Rule {
        t: tokens,
        i: 0,
        cx,
        m: Map::new(),
        actions: Vec::new(),
        terminal: None,
        counter: false,
        comment: None,
        extra: Map::new(),
        positions: Vec::new(),
    };
    match cx.family {
        Family::Inet => {}
        Family::Ip => r.set("family", json!("ipv4"), &tokens[0])?,
        Family::Ip6 => r.set("family", json!("ipv6"), &tokens[0])?,
    }
    while let Some(t) = r.next() {
        // A comment is the rule's, not a statement: it may follow the verdict.
        if let (Some(v), false) = (r.terminal, t.word() == Some("comment")) {
            return Err(NftError::at(
                t,
                format!(
                    "`{}` after the verdict `{v}`: a verdict ends the rule",
                    t.shown()
                ),
            ));
        }
        r.statement(t)?;
    }
    let mut rule = Map::new();
    if !r.m.is_empty() {
        rule.insert("match".into(), Value::Object(r.m));
    }
    if !r.actions.is_empty() {
        rule.insert("action".into(), Value::Array(r.actions));
    }
    if r.counter {
        rule.insert("counter".into(), json!(true));
    }
    rule.extend(r.extra);
    if let Some(c) = r.comment {
        rule.insert("comment".into(), json!(c));
    }
    Ok(Lowered {
        rule: Value::Object(rule),
        positions: r.positions,
    })
}

struct Rule<'a, 'c> {
    t: &'a [Token],
    i: usize,
    cx: &'c Context<'c>,
    m: Map<String, Value>,
    actions: Vec<Value>,
    terminal: Option<&'static str>,
    counter: bool,
    comment: Option<String>,
    /// `limit` and `quota`, the rule's own fields beside its matches.
    extra: Map<String, Value>,
    positions: Vec<(String, (usize, usize))>,
}

/// A selector's values: whether negated (`!=`), and the items.
struct Values {
    neg: bool,
    items: Vec<Token>,
    at: Token,
}

impl<'a> Rule<'a, '_> {
    fn next(&mut self) -> Option<&'a Token> {
        let t = self.t.get(self.i)?;
        self.i += 1;
        Some(t)
    }

    fn peek_word(&self) -> Option<&'a str> {
        self.t.get(self.i).and_then(|t| t.word())
    }

    /// The next word (the selector after `ct`, `ip`, `tcp`...).
    fn sub(&mut self, after: &Token) -> Result<&'a Token, NftError> {
        match self.next() {
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
    fn set(&mut self, key: &str, v: Value, at: &Token) -> Result<(), NftError> {
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

    fn action(&mut self, a: Value, at: &Token) {
        self.positions
            .push((format!("action[{}]", self.actions.len()), (at.line, at.col)));
        self.actions.push(a);
    }

    /// The values after a selector: `VALUE`, `VALUE,VALUE`, `{ VALUE, ... }` or `@set`,
    /// after an optional `==` or `!=`.
    fn values(&mut self, after: &Token) -> Result<Values, NftError> {
        self.values_up_to(after, None)
    }

    /// As [`values`](Self::values), and a comparison (`>= N`, `< N`, ...) as the range
    /// it means, up to `max` (numbers only; none where comparisons make no sense).
    fn values_up_to(&mut self, after: &Token, max: Option<u64>) -> Result<Values, NftError> {
        let mut neg = false;
        match self.t.get(self.i).map(|t| &t.tok) {
            Some(Tok::Ne) => {
                neg = true;
                self.i += 1;
            }
            Some(Tok::Eq) => self.i += 1,
            _ => {}
        }
        let Some(first) = self.next() else {
            return Err(NftError::at(
                after,
                format!("`{}` needs a value", after.shown()),
            ));
        };
        let mut items = Vec::new();
        match &first.tok {
            Tok::Open => loop {
                match self.next() {
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
                    .next()
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
    fn list(
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

    fn one(&self, v: &Values) -> Result<Value, NftError> {
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

    fn statement(&mut self, t: &'a Token) -> Result<(), NftError> {
        let Some(w) = t.word() else {
            return Err(NftError::at(t, format!("unexpected `{}`", t.shown())));
        };
        if let Some(why) = not_yet(w) {
            return Err(NftError::at(t, format!("`{w}`: {why}")));
        }
        match w {
            "accept" | "drop" => {
                self.action(json!(w), t);
                self.terminal = Some(if w == "accept" { "accept" } else { "drop" });
            }
            "queue" => self.queue(t)?,
            "reject" => self.reject(t)?,
            "return" => {
                self.action(json!("return"), t);
                self.terminal = Some("return");
            }
            "jump" | "goto" => {
                let target = match self.next() {
                    Some(n) if matches!(n.tok, Tok::Word(_) | Tok::Str(_)) => {
                        n.shown().trim_matches('"').to_string()
                    }
                    _ => return Err(NftError::at(t, format!("`{w}` needs a chain's name"))),
                };
                self.action(json!({ w: target }), t);
                self.terminal = Some(if w == "jump" { "jump" } else { "goto" });
            }
            "counter" => {
                self.counter = true;
                // `nft list ruleset` prints the counts: `counter packets 3 bytes 180`.
                while matches!(self.peek_word(), Some("packets" | "bytes")) {
                    self.i += 2;
                }
            }
            "limit" => self.limit(t)?,
            "quota" => self.quota(t)?,
            "comment" => match self.next() {
                Some(Token {
                    tok: Tok::Str(s), ..
                }) => self.comment = Some(s.clone()),
                _ => return Err(NftError::at(t, "expected `comment \"TEXT\"`")),
            },
            "notrack" => self.action(json!("notrack"), t),
            "log" => self.log(t)?,
            "ct" => self.ct(t)?,
            "tcp" if self.peek_word() == Some("flags") => {
                let s = self.sub(t)?;
                self.tcp_flags(t, s)?;
            }
            "meta" => {
                let s = self.sub(t)?;
                self.meta(s)?;
            }
            "mark" | "iif" | "oif" | "iifname" | "oifname" | "l4proto" | "nfproto" => {
                self.meta(t)?
            }
            "ip" | "ip6" => self.ip(t, w == "ip6")?,
            "tcp" | "udp" | "sctp" | "th" => self.ports(t, w)?,
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
            }
            _ => {
                return Err(NftError::at(
                    t,
                    format!("`{w}`: not a match or statement brickwall reads (yet)"),
                ))
            }
        }
        Ok(())
    }

    fn queue(&mut self, t: &'a Token) -> Result<(), NftError> {
        let mut num = 0u64;
        let mut bypass = false;
        while let Some(w) = self.peek_word() {
            match w {
                "num" | "to" => {
                    self.i += 1;
                    let n = self
                        .next()
                        .and_then(|t| t.word())
                        .and_then(|w| w.parse().ok());
                    num = n.ok_or_else(|| NftError::at(t, "expected a queue number"))?;
                }
                "bypass" => {
                    self.i += 1;
                    bypass = true;
                }
                "flags" => {
                    self.i += 1;
                    let f = self.next().and_then(|t| t.word()).unwrap_or("");
                    if f != "bypass" {
                        return Err(NftError::at(
                            t,
                            format!("queue flags `{f}`: only bypass is supported"),
                        ));
                    }
                    bypass = true;
                }
                _ => break,
            }
        }
        self.action(json!({"queue": {"num": num, "bypass": bypass}}), t);
        self.terminal = Some("queue");
        Ok(())
    }

    fn log(&mut self, t: &'a Token) -> Result<(), NftError> {
        let mut args = Map::new();
        while let Some(w) = self.peek_word() {
            match w {
                "prefix" => {
                    self.i += 1;
                    match self.next() {
                        Some(Token {
                            tok: Tok::Str(s), ..
                        }) => {
                            args.insert("prefix".into(), json!(s));
                        }
                        _ => return Err(NftError::at(t, "expected `prefix \"TEXT\"`")),
                    }
                }
                "level" => {
                    self.i += 1;
                    let l = self.next().and_then(|t| t.word()).unwrap_or("");
                    let level = match l {
                        "emerg" | "alert" | "crit" | "err" => "error",
                        "warn" | "notice" => "warn",
                        "info" => "info",
                        "debug" => "debug",
                        _ => return Err(NftError::at(t, format!("log level `{l}`"))),
                    };
                    args.insert("level".into(), json!(level));
                }
                "group" | "snaplen" | "queue-threshold" | "flags" => {
                    let at = &self.t[self.i];
                    return Err(NftError::at(at, format!("`log {w}` is not supported yet")));
                }
                _ => break,
            }
        }
        self.action(json!({ "log": args }), t);
        Ok(())
    }

    fn ct(&mut self, t: &'a Token) -> Result<(), NftError> {
        let s = self.sub(t)?;
        let w = s.word().unwrap_or("");
        let setting = self.peek_word() == Some("set");
        if setting {
            self.i += 1;
            let v = self.values(s)?;
            match w {
                "mark" => {
                    let v = self.one(&v)?;
                    self.action(json!({ "ct_mark_set": v }), s);
                }
                "helper" => {
                    let name = v.items[0].shown().trim_matches('"').to_string();
                    let Some((_, kind)) = self.cx.helpers.iter().find(|(n, _)| *n == name) else {
                        return Err(NftError::at(
                            &v.items[0],
                            format!("no ct helper object named `{name}` in this table"),
                        ));
                    };
                    self.action(json!({ "ct_helper_set": kind }), s);
                }
                "label" => {
                    let labels = self.list(&v, false, |t| Ok(scalar(t)))?;
                    self.action(json!({ "ct_label_set": labels }), s);
                }
                _ => {
                    return Err(NftError::at(
                        s,
                        format!("`ct {w} set` is not supported yet"),
                    ))
                }
            }
            return Ok(());
        }
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
    fn masked(&mut self, s: &Token) -> Result<Value, NftError> {
        if self.peek_word() == Some("and") {
            self.i += 1;
            let mask = self.next().and_then(|t| t.word()).map(str::to_string);
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

    fn meta(&mut self, s: &'a Token) -> Result<(), NftError> {
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
                if self.peek_word() == Some("set") {
                    self.i += 1;
                    let v = self.values(s)?;
                    let m = self.one(&v)?;
                    self.action(json!({ "mark_set": m }), s);
                    return Ok(());
                }
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

    fn ip(&mut self, t: &'a Token, v6: bool) -> Result<(), NftError> {
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

    /// `reject [with icmp|icmpv6|icmpx [type] CODE | with tcp reset]` (the ICMP codes
    /// are read as nft's `icmpx`, each family's number).
    fn reject(&mut self, t: &'a Token) -> Result<(), NftError> {
        let mut with = "port-unreachable";
        if self.peek_word() == Some("with") {
            self.i += 1;
            let kind = self.next().and_then(|t| t.word()).unwrap_or("");
            if kind == "tcp" {
                if self.next().and_then(|t| t.word()) != Some("reset") {
                    return Err(NftError::at(t, "expected `reject with tcp reset`"));
                }
                with = "tcp-reset";
            } else if matches!(kind, "icmp" | "icmpv6" | "icmpx") {
                if self.peek_word() == Some("type") {
                    self.i += 1;
                }
                let code = self.next();
                with = match code.and_then(|t| t.word()) {
                    Some("port-unreachable") => "port-unreachable",
                    Some("host-unreachable" | "addr-unreachable") => "host-unreachable",
                    Some("net-unreachable" | "no-route") => "no-route",
                    Some("admin-prohibited" | "host-prohibited" | "net-prohibited") => "admin-prohibited",
                    _ => {
                        return Err(NftError::at(
                            code.unwrap_or(t),
                            "reject codes: port-unreachable, host-unreachable, no-route, admin-prohibited",
                        ))
                    }
                };
            } else {
                return Err(NftError::at(
                    t,
                    "expected `with icmpx CODE` or `with tcp reset`",
                ));
            }
        }
        self.action(json!({"reject": {"with": with}}), t);
        self.terminal = Some("reject");
        Ok(())
    }

    /// A rule-level field (`limit`, `quota`), once per rule.
    fn extra(&mut self, key: &str, v: Value, at: &Token) -> Result<(), NftError> {
        if self.extra.contains_key(key) {
            return Err(NftError::at(at, format!("one {key} per rule here")));
        }
        self.extra.insert(key.into(), v);
        self.positions.push((key.into(), (at.line, at.col)));
        Ok(())
    }

    /// `limit rate [over] N/UNIT [burst B packets]`, in packets.
    fn limit(&mut self, t: &'a Token) -> Result<(), NftError> {
        if self.peek_word() != Some("rate") {
            return Err(NftError::at(t, "expected `limit rate N/UNIT`"));
        }
        self.i += 1;
        let over = self.peek_word() == Some("over");
        if over {
            self.i += 1;
        }
        let r = self
            .next()
            .ok_or_else(|| NftError::at(t, "expected N/UNIT"))?;
        let text = r.shown();
        let Some((n, unit)) = text.split_once('/') else {
            return Err(NftError::at(
                r,
                format!("`{text}`: a rate in packets, N/second|minute|hour|day (byte rates are not supported yet)"),
            ));
        };
        let rate: u64 = n
            .parse()
            .map_err(|_| NftError::at(r, format!("`{n}`: not a number of packets")))?;
        if !matches!(unit, "second" | "minute" | "hour" | "day") {
            return Err(NftError::at(
                r,
                format!("`{unit}`: second, minute, hour or day"),
            ));
        }
        let mut cfg = json!({"rate": rate, "per": unit, "over": over});
        if self.peek_word() == Some("burst") {
            self.i += 1;
            let b = self
                .next()
                .and_then(|t| t.word())
                .and_then(|w| w.parse::<u64>().ok());
            let b = b.ok_or_else(|| NftError::at(t, "expected `burst N packets`"))?;
            match self.next().and_then(|t| t.word()) {
                Some("packets") => {}
                _ => {
                    return Err(NftError::at(
                        t,
                        "expected `burst N packets` (byte bursts are not supported yet)",
                    ))
                }
            }
            cfg["burst"] = json!(b);
        }
        self.extra("limit", cfg, t)
    }

    /// `quota [over] N [bytes|kbytes|mbytes|gbytes] [used M UNIT]`.
    fn quota(&mut self, t: &'a Token) -> Result<(), NftError> {
        let over = self.peek_word() == Some("over");
        if over {
            self.i += 1;
        }
        let bytes = |r: &mut Self| -> Result<u64, NftError> {
            let n = r
                .next()
                .and_then(|t| t.word())
                .and_then(|w| w.parse::<u64>().ok());
            let n = n.ok_or_else(|| NftError::at(t, "expected a number of bytes"))?;
            let unit = match r.peek_word() {
                Some("bytes") => 1,
                Some("kbytes") => 1 << 10,
                Some("mbytes") => 1 << 20,
                Some("gbytes") => 1 << 30,
                _ => return Ok(n),
            };
            r.i += 1;
            Ok(n.saturating_mul(unit))
        };
        let n = bytes(self)?;
        // `nft list ruleset` prints what was used: not read back.
        if self.peek_word() == Some("used") {
            self.i += 1;
            bytes(self)?;
        }
        self.extra("quota", json!({"bytes": n, "over": over}), t)
    }

    /// `tcp flags syn,ack` (any of them), `tcp flags syn / syn,ack` (value under mask),
    /// `tcp flags == syn` (exactly).
    fn tcp_flags(&mut self, t: &'a Token, s: &'a Token) -> Result<(), NftError> {
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

    fn ports(&mut self, t: &'a Token, proto: &str) -> Result<(), NftError> {
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
fn scalar(t: &Token) -> Value {
    let s = t.shown();
    let s = s.trim_matches('"');
    match s.parse::<u64>() {
        Ok(n) => json!(n),
        Err(_) => json!(s),
    }
}

/// A port, a range, or a service name from `/etc/services`, as nft reads them.
fn port(t: &Token) -> Result<Value, NftError> {
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
