//! One nftables rule in the filter's own rule config (the shape the YAML rules have, as
//! JSON, so that both are read and checked by the same code): its matches (read by the
//! shared [`brickwall_nft::rule::Reader`]), its `limit rate` and `quota`, its statements
//! (`counter`, `log`, `meta mark set`, `ct mark set`, `ct helper set`, `ct label set`,
//! `notrack`, `comment`) and its verdict (`accept`, `drop`, `queue`, `reject`, `jump`,
//! `goto`, `return`, `continue`). Anything else is an error naming the word and where it is.

use brickwall_nft::lex::{Tok, Token};
use brickwall_nft::rule::{scalar, Context, Reader};
use brickwall_nft::NftError;
use serde_json::{json, Map, Value};

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
        "snat" | "dnat" | "masquerade" | "redirect" => {
            "a NAT statement belongs in a chain of type nat"
        }
        "dup" | "fwd" | "synproxy" | "tproxy" | "flow" => "this statement is not supported",
        _ => return None,
    })
}

/// Lowers one rule.
pub fn rule(tokens: &[Token], cx: &Context) -> Result<Lowered, NftError> {
    let mut r = Rule {
        r: Reader::new(tokens, cx)?,
        actions: Vec::new(),
        terminal: None,
        counter: false,
        comment: None,
        extra: Map::new(),
    };
    while let Some(t) = r.r.next_token() {
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
    if !r.r.m.is_empty() {
        rule.insert("match".into(), Value::Object(r.r.m));
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
        positions: r.r.positions,
    })
}

/// A rule being read: the shared reader (its matches) and the filter's own parts.
struct Rule<'a, 'c> {
    r: Reader<'a, 'c>,
    actions: Vec<Value>,
    terminal: Option<&'static str>,
    counter: bool,
    comment: Option<String>,
    /// `limit` and `quota`, the rule's own fields beside its matches.
    extra: Map<String, Value>,
}

impl<'a> Rule<'a, '_> {
    fn action(&mut self, a: Value, at: &Token) {
        self.r
            .positions
            .push((format!("action[{}]", self.actions.len()), (at.line, at.col)));
        self.actions.push(a);
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
            // On to the next rule, as a rule without a verdict goes.
            "continue" => self.terminal = Some("continue"),
            "jump" | "goto" => {
                let target = match self.r.next_token() {
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
                while matches!(self.r.peek_word(), Some("packets" | "bytes")) {
                    self.r.i += 2;
                }
            }
            "limit" => self.limit(t)?,
            "quota" => self.quota(t)?,
            "comment" => match self.r.next_token() {
                Some(Token {
                    tok: Tok::Str(s), ..
                }) => self.comment = Some(s.clone()),
                _ => return Err(NftError::at(t, "expected `comment \"TEXT\"`")),
            },
            "notrack" => self.action(json!("notrack"), t),
            "log" => self.log(t)?,
            _ if self.r.matches(t)? => {}
            "ct" => self.ct_set(t)?,
            "meta" | "mark" => self.mark_set(t)?,
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
        while let Some(w) = self.r.peek_word() {
            match w {
                "num" | "to" => {
                    self.r.i += 1;
                    let n = self
                        .r
                        .next_token()
                        .and_then(|t| t.word())
                        .and_then(|w| w.parse().ok());
                    num = n.ok_or_else(|| NftError::at(t, "expected a queue number"))?;
                }
                "bypass" => {
                    self.r.i += 1;
                    bypass = true;
                }
                "flags" => {
                    self.r.i += 1;
                    let f = self.r.next_token().and_then(|t| t.word()).unwrap_or("");
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
        while let Some(w) = self.r.peek_word() {
            match w {
                "prefix" => {
                    self.r.i += 1;
                    match self.r.next_token() {
                        Some(Token {
                            tok: Tok::Str(s), ..
                        }) => {
                            args.insert("prefix".into(), json!(s));
                        }
                        _ => return Err(NftError::at(t, "expected `prefix \"TEXT\"`")),
                    }
                }
                "level" => {
                    self.r.i += 1;
                    let l = self.r.next_token().and_then(|t| t.word()).unwrap_or("");
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
                    let at = &self.r.t[self.r.i];
                    return Err(NftError::at(at, format!("`log {w}` is not supported yet")));
                }
                _ => break,
            }
        }
        self.action(json!({ "log": args }), t);
        Ok(())
    }

    /// `ct mark set`, `ct helper set`, `ct label set` (the matches after `ct` are the
    /// reader's).
    fn ct_set(&mut self, t: &'a Token) -> Result<(), NftError> {
        let s = self.r.sub(t)?;
        let w = s.word().unwrap_or("");
        self.r.i += 1; // `set`
        let v = self.r.values(s)?;
        match w {
            "mark" => {
                let v = self.r.one(&v)?;
                self.action(json!({ "ct_mark_set": v }), s);
            }
            "helper" => {
                let name = v.items[0].shown().trim_matches('"').to_string();
                let Some((_, kind)) = self.r.cx.helpers.iter().find(|(n, _)| *n == name) else {
                    return Err(NftError::at(
                        &v.items[0],
                        format!("no ct helper object named `{name}` in this table"),
                    ));
                };
                self.action(json!({ "ct_helper_set": kind }), s);
            }
            "label" => {
                let labels = self.r.list(&v, false, |t| Ok(scalar(t)))?;
                self.action(json!({ "ct_label_set": labels }), s);
            }
            _ => {
                return Err(NftError::at(
                    s,
                    format!("`ct {w} set` is not supported yet"),
                ))
            }
        }
        Ok(())
    }

    /// `meta mark set V` and `mark set V`.
    fn mark_set(&mut self, t: &'a Token) -> Result<(), NftError> {
        let s = if t.word() == Some("meta") {
            self.r.sub(t)?
        } else {
            t
        };
        if s.word() != Some("mark") {
            return Err(NftError::at(
                s,
                format!("`meta {} set` is not supported yet", s.shown()),
            ));
        }
        self.r.i += 1; // `set`
        let v = self.r.values(s)?;
        let m = self.r.one(&v)?;
        self.action(json!({ "mark_set": m }), s);
        Ok(())
    }

    /// `reject [with icmp|icmpv6|icmpx [type] CODE | with tcp reset]` (the ICMP codes
    /// are read as nft's `icmpx`, each family's number).
    fn reject(&mut self, t: &'a Token) -> Result<(), NftError> {
        let mut with = "port-unreachable";
        if self.r.peek_word() == Some("with") {
            self.r.i += 1;
            let kind = self.r.next_token().and_then(|t| t.word()).unwrap_or("");
            if kind == "tcp" {
                if self.r.next_token().and_then(|t| t.word()) != Some("reset") {
                    return Err(NftError::at(t, "expected `reject with tcp reset`"));
                }
                with = "tcp-reset";
            } else if matches!(kind, "icmp" | "icmpv6" | "icmpx") {
                if self.r.peek_word() == Some("type") {
                    self.r.i += 1;
                }
                let code = self.r.next_token();
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
        self.r.positions.push((key.into(), (at.line, at.col)));
        Ok(())
    }

    /// `limit rate [over] N/UNIT [burst B packets]`, in packets.
    fn limit(&mut self, t: &'a Token) -> Result<(), NftError> {
        if self.r.peek_word() != Some("rate") {
            return Err(NftError::at(t, "expected `limit rate N/UNIT`"));
        }
        self.r.i += 1;
        let over = self.r.peek_word() == Some("over");
        if over {
            self.r.i += 1;
        }
        let r = self
            .r
            .next_token()
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
        if self.r.peek_word() == Some("burst") {
            self.r.i += 1;
            let b = self
                .r
                .next_token()
                .and_then(|t| t.word())
                .and_then(|w| w.parse::<u64>().ok());
            let b = b.ok_or_else(|| NftError::at(t, "expected `burst N packets`"))?;
            match self.r.next_token().and_then(|t| t.word()) {
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
        let over = self.r.peek_word() == Some("over");
        if over {
            self.r.i += 1;
        }
        let bytes = |r: &mut Self| -> Result<u64, NftError> {
            let n =
                r.r.next_token()
                    .and_then(|t| t.word())
                    .and_then(|w| w.parse::<u64>().ok());
            let n = n.ok_or_else(|| NftError::at(t, "expected a number of bytes"))?;
            let unit = match r.r.peek_word() {
                Some("bytes") => 1,
                Some("kbytes") => 1 << 10,
                Some("mbytes") => 1 << 20,
                Some("gbytes") => 1 << 30,
                _ => return Ok(n),
            };
            r.r.i += 1;
            Ok(n.saturating_mul(unit))
        };
        let n = bytes(self)?;
        // `nft list ruleset` prints what was used: not read back.
        if self.r.peek_word() == Some("used") {
            self.r.i += 1;
            bytes(self)?;
        }
        self.extra("quota", json!({"bytes": n, "over": over}), t)
    }
}
