//! The nat chains of an nftables ruleset (`type nat hook H priority P`), lowered to the
//! shape of the YAML config's chains and read by the same code. The syntax and the
//! match words are `brickwall-nft`'s, shared with the filter; this module reads what
//! only nat chains have:
//!
//! - base chains of type `nat` on prerouting, input, output or postrouting, at any
//!   priority after conntrack's (-200), with policy `accept`, those of one hook joined
//!   in priority order where that means the same; the regular chains that only nat
//!   chains reach, through `jump` and `goto`; filter chains (and the regular chains
//!   they reach, or that nothing reaches) are the filter's, and are skipped here;
//! - `snat [ip|ip6] to ADDR[-ADDR][:PORT[-PORT]]` and `dnat ...` (IPv6 in brackets
//!   before a port; in an `inet` table an address needs its family named, as nft
//!   requires), `masquerade [to :PORT[-PORT]]`, `redirect [to [:]PORT[-PORT]]`, each
//!   with the flags `random`, `fully-random` and `persistent` (a comma list); ports
//!   need a transport protocol match before them, as in nft;
//! - the verdicts `accept`, `jump`, `goto` and `return` (which, in a base chain, ends
//!   it untranslated), `counter` (its printed counts ignored) and `comment`; a rule
//!   with no NAT statement and no verdict translates nothing and is left out.
//!
//! Everything else (`drop`, maps, prefixes) is an error naming the line, column and
//! word.

use brickwall_nft::lex::{Tok, Token};
use brickwall_nft::parse::{self, Family};
use brickwall_nft::rule::{Context, Reader};
use brickwall_nft::{locate, NftError, Positions};
use serde_json::{json, Map, Value};

use crate::config::ChainCfg;

/// Conntrack's priority: a nat chain must come after it.
const CONNTRACK_PRIORITY: i32 = -200;

/// One nat chain of the ruleset in the plugin's config shape, and where its parts were
/// written (paths within the chain: `hook`, `rules[1].action.snat.to`).
pub type NftChain = brickwall_nft::Lowered<ChainCfg>;

/// Reads a ruleset's nat chains, one per hook: chains on the same hook are joined in
/// the order of their priorities (the first binding wins, as in nft) where that means
/// the same, that is where an earlier chain never accepts or the two are of tables
/// of different families (`ip` and `ip6`).
pub fn chains(text: &str) -> Result<Vec<NftChain>, NftError> {
    let mut parts = Vec::new();
    let mut regular = Vec::new();
    for table in brickwall_nft::tables(text)? {
        let cx = Context::of(&table);
        let nat = brickwall_nft::nat_chains(&table);
        for (c, nat) in table.chains.iter().zip(nat) {
            match &c.base {
                _ if !nat => {}
                Some(base) => parts.push(chain(c, base, &cx)?),
                None => regular.push(regular_chain(c, &cx)?),
            }
        }
    }
    let mut hooks: Vec<&str> = Vec::new();
    for p in &parts {
        if !hooks.contains(&p.hook.as_str()) {
            hooks.push(&p.hook);
        }
    }
    let mut out = Vec::new();
    for hook in hooks {
        let mut group: Vec<&Part> = parts.iter().filter(|p| p.hook == hook).collect();
        group.sort_by_key(|p| p.priority);
        for (k, b) in group.iter().enumerate() {
            let apart = |a: &Part| {
                matches!(
                    (a.family, b.family),
                    (Family::Ip, Family::Ip6) | (Family::Ip6, Family::Ip)
                )
            };
            if let Some(a) = group[..k].iter().find(|a| a.accepts.is_some() && !apart(a)) {
                let at = a.accepts.as_ref().map_or((0, 0), |t| (t.line, t.col));
                return Err(NftError::at(
                    &b.hook_at,
                    format!(
                        "a second nat chain on {hook}: the nat plugin joins the chains of a hook \
                         only where an earlier one never accepts, and `{}` accepts at {}:{} \
                         (tables of families ip and ip6 are always joined)",
                        a.name, at.0, at.1
                    ),
                ));
            }
        }
        out.push(join(&group)?);
    }
    out.extend(regular);
    Ok(out)
}

/// A regular chain that only nat chains reach (a jump target), lowered and read as a
/// YAML chain is.
fn regular_chain(c: &parse::Chain, cx: &Context) -> Result<NftChain, NftError> {
    let mut positions = vec![
        (String::new(), (c.name.line, c.name.col)),
        ("name".to_string(), (c.name.line, c.name.col)),
    ];
    let mut rules = Vec::new();
    for tokens in &c.rules {
        let Some(l) = rule(tokens, cx, true)? else {
            continue;
        };
        let j = rules.len();
        positions.push((format!("rules[{j}]"), (tokens[0].line, tokens[0].col)));
        positions.extend(
            l.positions
                .into_iter()
                .map(|(k, at)| (format!("rules[{j}].{k}"), at)),
        );
        rules.push(l.rule);
    }
    read(json!({"name": word(&c.name), "rules": rules}), positions)
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

/// One nat base chain, lowered: its rules in the config's shape, and what joining it
/// with the hook's other chains needs.
struct Part {
    name: String,
    hook: String,
    hook_at: Token,
    priority: i32,
    family: Family,
    /// Its first rule that accepts, if any.
    accepts: Option<Token>,
    /// Its rules, their fields' places (within the rule), and where each starts.
    rules: Vec<(Value, Positions, (usize, usize))>,
}

/// The chains of one hook, in priority order, as one chain read as a YAML chain is.
fn join(group: &[&Part]) -> Result<NftChain, NftError> {
    let first = group[0];
    let mut positions = vec![
        (String::new(), (first.hook_at.line, first.hook_at.col)),
        ("hook".to_string(), (first.hook_at.line, first.hook_at.col)),
    ];
    let mut rules = Vec::new();
    for p in group {
        for (rule, at, start) in &p.rules {
            let j = rules.len();
            positions.push((format!("rules[{j}]"), *start));
            positions.extend(at.iter().map(|(k, at)| (format!("rules[{j}].{k}"), *at)));
            rules.push(rule.clone());
        }
    }
    let names: Vec<&str> = group.iter().map(|p| p.name.as_str()).collect();
    let value = json!({"name": names.join(","), "hook": first.hook, "rules": rules});
    read(value, positions)
}

/// A word or string without its quotes.
fn word(t: &Token) -> String {
    t.shown().trim_matches('"').to_string()
}

/// One nat base chain, lowered.
fn chain(c: &parse::Chain, base: &parse::Base, cx: &Context) -> Result<Part, NftError> {
    let hook = word(&base.hook);
    if !matches!(
        hook.as_str(),
        "prerouting" | "input" | "output" | "postrouting"
    ) {
        return Err(NftError::at(
            &base.hook,
            format!("hook `{hook}`: nat chains hook prerouting, input, output or postrouting"),
        ));
    }
    let priority = base.priority_value()?;
    if priority <= CONNTRACK_PRIORITY {
        return Err(NftError::at(
            &base.priority,
            format!(
                "priority `{}` ({priority}): a nat chain comes after conntrack ({CONNTRACK_PRIORITY})",
                base.priority_text()
            ),
        ));
    }
    if let Some(p) = base.policy.as_ref().filter(|p| p.word() != Some("accept")) {
        return Err(NftError::at(
            p,
            format!(
                "policy `{}`: the nat chains read here have policy accept",
                word(p)
            ),
        ));
    }
    let mut part = Part {
        name: word(&c.name),
        hook,
        hook_at: base.hook.clone(),
        priority,
        family: cx.family,
        accepts: None,
        rules: Vec::new(),
    };
    for tokens in &c.rules {
        let Some(l) = rule(tokens, cx, false)? else {
            continue;
        };
        // A jump may accept in the chain it runs.
        let accepts = match l.rule.get("action") {
            Some(Value::String(a)) => a == "accept",
            Some(Value::Object(a)) => a.contains_key("jump") || a.contains_key("goto"),
            _ => false,
        };
        if accepts && part.accepts.is_none() {
            part.accepts = Some(tokens[0].clone());
        }
        part.rules
            .push((l.rule, l.positions, (tokens[0].line, tokens[0].col)));
    }
    Ok(part)
}

/// A rule in the plugin's config shape and where its fields were written.
struct Lowered {
    rule: Value,
    positions: Positions,
}

/// Lowers one rule (of a regular chain, where `return` leaves it, with `regular`);
/// `None` for a rule that neither translates nor decides.
fn rule(tokens: &[Token], cx: &Context, regular: bool) -> Result<Option<Lowered>, NftError> {
    let mut r = Reader::new(tokens, cx)?;
    let mut action: Option<(Value, &Token)> = None;
    let mut jump: Option<(Value, &Token)> = None;
    let mut verdict: Option<&Token> = None;
    let mut comment = None;
    // The NAT statement's `to` with ports, checked once the matches are all read.
    let mut ported: Option<&Token> = None;
    while let Some(t) = r.next_token() {
        if t.word() == Some("comment") {
            match r.next_token() {
                Some(Token {
                    tok: Tok::Str(s), ..
                }) => comment = Some(s.clone()),
                _ => return Err(NftError::at(t, "expected `comment \"TEXT\"`")),
            }
            continue;
        }
        if let Some(v) = verdict {
            return Err(NftError::at(
                t,
                format!(
                    "`{}` after the verdict `{}`: a verdict ends the rule",
                    t.shown(),
                    v.shown()
                ),
            ));
        }
        let w = t.word().unwrap_or("");
        match w {
            "counter" => {
                while matches!(r.peek_word(), Some("packets" | "bytes")) {
                    r.i += 2;
                }
            }
            "accept" => verdict = Some(t),
            "return" if !regular => verdict = Some(t),
            "return" => {
                jump = Some((json!("return"), t));
                verdict = Some(t);
            }
            "jump" | "goto" => {
                let target = match r.next_token() {
                    Some(n) if matches!(n.tok, Tok::Word(_) | Tok::Str(_)) => word(n),
                    _ => return Err(NftError::at(t, format!("`{w}` needs a chain's name"))),
                };
                jump = Some((json!({ w: target }), t));
                verdict = Some(t);
            }
            "snat" | "dnat" | "masquerade" | "redirect" => {
                if let Some((_, first)) = &action {
                    return Err(NftError::at(
                        t,
                        format!(
                            "`{w}` after `{}`: one NAT statement per rule",
                            first.shown()
                        ),
                    ));
                }
                let (a, ports) = if matches!(w, "snat" | "dnat") {
                    nat(&mut r, t, cx.family)?
                } else {
                    local(&mut r, t)?
                };
                ported = ports.or(ported);
                action = Some((a, t));
                // A NAT statement decides: nothing but a comment follows it.
                verdict = Some(t);
            }
            "drop" | "reject" | "queue" => {
                return Err(NftError::at(
                    t,
                    format!("`{w}` in a nat chain is not supported: its rules translate or accept"),
                ))
            }
            _ if r.matches(t)? => {}
            _ => {
                return Err(NftError::at(
                    t,
                    format!(
                        "`{}`: not a match or statement the nat chains read (yet)",
                        t.shown()
                    ),
                ))
            }
        }
    }
    if let Some(to) = ported {
        if !r.m.contains_key("proto") {
            return Err(NftError::at(
                to,
                "ports are mapped only after a transport protocol match (`tcp dport 80`, \
                 `meta l4proto tcp`), as nft requires",
            ));
        }
    }
    let (action, at) = match (action.or(jump), verdict) {
        (Some(a), _) => a,
        (None, Some(v)) => (json!("accept"), v),
        (None, None) => return Ok(None),
    };
    r.positions.push(("action".into(), (at.line, at.col)));
    let mut rule = Map::new();
    if !r.m.is_empty() {
        rule.insert("match".into(), Value::Object(std::mem::take(&mut r.m)));
    }
    rule.insert("action".into(), action);
    if let Some(c) = comment {
        rule.insert("comment".into(), json!(c));
    }
    Ok(Some(Lowered {
        rule: Value::Object(rule),
        positions: r.positions,
    }))
}

/// The flags after a NAT statement's `to`: `random`, `fully-random`, `persistent`, a
/// comma list.
fn flags(r: &mut Reader) -> Vec<Value> {
    let mut out = Vec::new();
    while let Some(f) = r.peek_word() {
        if !matches!(f, "random" | "fully-random" | "persistent") {
            break;
        }
        out.push(json!(f));
        r.i += 1;
        if r.t.get(r.i).map(|t| &t.tok) == Some(&Tok::Comma) {
            r.i += 1;
        }
    }
    out
}

/// `snat|dnat [ip|ip6] to ADDR[-ADDR][:PORT[-PORT]] [flags]`; the `to` token when it
/// has ports.
fn nat<'a>(
    r: &mut Reader<'a, '_>,
    t: &'a Token,
    table: Family,
) -> Result<(Value, Option<&'a Token>), NftError> {
    let kind = word(t);
    let named = match r.peek_word() {
        Some("ip") => Some(Family::Ip),
        Some("ip6") => Some(Family::Ip6),
        _ => None,
    };
    if named.is_some() {
        r.i += 1;
    }
    match r.next_token() {
        Some(k) if k.word() == Some("to") => {}
        Some(k) if matches!(k.word(), Some("prefix" | "addr")) => {
            return Err(NftError::at(
                k,
                format!("`{kind} {}`: not supported yet", k.shown()),
            ))
        }
        Some(k) => {
            return Err(NftError::at(
                k,
                format!("expected `{kind} to ADDR`, found `{}`", k.shown()),
            ))
        }
        None => return Err(NftError::at(t, format!("`{kind}` needs `to ADDR`"))),
    }
    let to = match r.next_token() {
        Some(v) if v.word().is_some() => v,
        Some(v) => {
            return Err(NftError::at(
                v,
                format!(
                "`{kind} to` takes ADDR[-ADDR][:PORT[-PORT]] (maps are not supported), found `{}`",
                v.shown()
            ),
            ))
        }
        None => return Err(NftError::at(t, format!("`{kind} to` needs an address"))),
    };
    let text = word(to);
    let family = to_family(&text);
    match (table, named, family) {
        (Family::Ip, Some(Family::Ip6), _) | (Family::Ip6, Some(Family::Ip), _) => {
            return Err(NftError::at(
                t,
                format!("`{kind}` of the other family than this table's"),
            ))
        }
        (Family::Inet, None, Some(_)) => {
            return Err(NftError::at(
                t,
                format!("in an inet table, write `{kind} ip to` or `{kind} ip6 to`"),
            ))
        }
        (_, Some(n), Some(f)) if n != f => {
            return Err(NftError::at(
                to,
                format!(
                    "`{text}` is not an {} address",
                    if n == Family::Ip { "IPv4" } else { "IPv6" }
                ),
            ))
        }
        _ => {}
    }
    let ports = has_port(&text).then_some(to);
    let f = flags(r);
    r.positions
        .push((format!("action.{kind}.to"), (to.line, to.col)));
    Ok((json!({ kind: {"to": text, "flags": f} }), ports))
}

/// `masquerade|redirect [to [:]PORT[-PORT]] [flags]`; the `to` token when it has
/// ports.
fn local<'a>(r: &mut Reader<'a, '_>, t: &'a Token) -> Result<(Value, Option<&'a Token>), NftError> {
    let kind = word(t);
    let mut args = Map::new();
    let mut ports = None;
    if r.peek_word() == Some("to") {
        r.i += 1;
        let Some(to) = r.next_token().filter(|v| v.word().is_some()) else {
            return Err(NftError::at(t, format!("`{kind} to` needs :PORT[-PORT]")));
        };
        let text = word(to);
        let text = match (kind.as_str(), text.starts_with(':')) {
            (_, true) => text,
            ("redirect", false) => format!(":{text}"),
            _ => {
                return Err(NftError::at(
                    to,
                    format!("`masquerade to` takes :PORT[-PORT], found `{text}`"),
                ))
            }
        };
        r.positions
            .push((format!("action.{kind}.to"), (to.line, to.col)));
        args.insert("to".into(), json!(text));
        ports = Some(to);
    }
    let f = flags(r);
    if !f.is_empty() {
        args.insert("flags".into(), json!(f));
    }
    Ok((json!({ kind: args }), ports))
}

/// The family of the address in a `to` argument, when it starts with one.
fn to_family(text: &str) -> Option<Family> {
    if text.starts_with(':') {
        return None;
    }
    if text.starts_with('[') || text.contains("::") || text.matches(':').count() > 1 {
        return Some(Family::Ip6);
    }
    Some(Family::Ip)
}

/// Whether a `to` argument maps ports: `:PORT` alone, `ADDR:PORT`, `[ADDR]:PORT`.
fn has_port(text: &str) -> bool {
    match to_family(text) {
        None => true,
        Some(Family::Ip6) => text.contains("]:"),
        Some(_) => text.contains(':'),
    }
}
