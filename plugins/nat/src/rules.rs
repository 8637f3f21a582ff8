//! NAT chains and rules: the config's shapes checked and compiled, every error naming
//! its field path; and the evaluation of a chain for a connection's first packet.
//!
//! The checks: a chain per hook at most, on prerouting, input, output or postrouting;
//! `snat` only at postrouting and input, `masquerade` only at postrouting, `dnat` and
//! `redirect` only at prerouting and output; a `ct_state` other than `new` and
//! `related` refused (NAT rules see only a connection's first packet, so such a rule
//! could never match); ports only with a protocol that has them; the `to` addresses
//! of the rule's family. A rule whose addresses are of one family matches only
//! packets of that family.

use brickwall_hooks::{Family, Hook, PacketView};
use brickwall_rules::compile::{self, family_word, CompileError, Stage};
use brickwall_rules::config::{CtStateName, HookName};
use brickwall_rules::matcher::{Facts, Matcher};
use brickwall_wire::ip_proto;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::config::{ActionCfg, ChainCfg, FlagName, LocalCfg, NatCfg, NatConfig, RuleCfg};
use crate::range::{parse_to, port_range, Flags, Range};

/// Number of chain slots: one per registration.
pub const SLOTS: usize = 4;

/// The chains by registration slot.
pub type Slots = [Option<Chain>; SLOTS];

/// The registration slot of a hook's NAT chain: prerouting 0, output 1, postrouting
/// 2, input 3; `None` for forward, where Linux has no NAT.
pub fn slot(hook: HookName) -> Option<usize> {
    match hook {
        HookName::Prerouting => Some(0),
        HookName::Output => Some(1),
        HookName::Postrouting => Some(2),
        HookName::Input => Some(3),
        HookName::Forward => None,
    }
}

/// Which translation a rule asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `snat`.
    Snat,
    /// `dnat`.
    Dnat,
    /// `masquerade`.
    Masquerade,
    /// `redirect`.
    Redirect,
}

impl Kind {
    /// The action's word.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Snat => "snat",
            Kind::Dnat => "dnat",
            Kind::Masquerade => "masquerade",
            Kind::Redirect => "redirect",
        }
    }
}

/// A compiled translation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NatAction {
    /// The translation.
    pub kind: Kind,
    /// `snat`/`dnat`: the addresses and their family.
    pub addrs: Option<(Family, u128, u128)>,
    /// The ports (ICMP ids for ICMP).
    pub ports: Option<(u16, u16)>,
    /// The flags.
    pub flags: Flags,
    /// `masquerade`/`redirect`: the configured local address per family (IPv4, IPv6).
    pub local: [Option<u128>; 2],
}

/// IPv4's and IPv6's loopback address, where `redirect` at output sends to.
const LOOPBACK: [u128; 2] = [0x7f00_0001, 1];

impl NatAction {
    /// The family the rule is limited to by its addresses.
    pub fn family(&self) -> Option<Family> {
        self.addrs.map(|a| a.0)
    }

    /// The range of a `masquerade` or `redirect` to `addr` (of `family`): the
    /// interface's own address, as the engine says.
    pub fn range_to(&self, family: Family, addr: u128) -> Range {
        Range {
            addrs: Some((addr, addr)),
            family,
            keys: self.ports,
            flags: self.flags,
        }
    }

    /// The range for a packet of `family` at `hook`; `None` when a `masquerade` or
    /// `redirect` has no configured address for the family (the engine's interface
    /// address is asked then).
    pub fn range(&self, family: Family, hook: Hook) -> Option<Range> {
        let addrs = match self.kind {
            Kind::Snat | Kind::Dnat => self.addrs.map(|(_, lo, hi)| (lo, hi)),
            Kind::Masquerade => self.local[family.index()].map(|a| (a, a)),
            Kind::Redirect => match self.local[family.index()] {
                Some(a) => Some((a, a)),
                None if hook == Hook::LocalOut => {
                    Some((LOOPBACK[family.index()], LOOPBACK[family.index()]))
                }
                None => None,
            },
        };
        Some(Range {
            addrs: Some(addrs?),
            family,
            keys: self.ports,
            flags: self.flags,
        })
    }
}

/// What a rule does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Translate.
    Nat(NatAction),
    /// Leave the connection untranslated at this hook.
    Accept,
    /// Run the regular chain of this index, then go on unless it decided.
    Jump(u32),
    /// Run the regular chain of this index in place of the rest of the chain.
    Goto(u32),
    /// Leave the chain.
    Return,
}

/// The deepest chain a `jump` or `goto` may reach (nft's limit).
pub const MAX_DEPTH: usize = 16;

/// A compiled rule.
#[derive(Debug)]
pub struct Rule {
    /// Its conditions.
    pub matcher: Matcher,
    /// Its action.
    pub action: Action,
    /// Its comment.
    pub comment: Option<String>,
    /// Connections it decided.
    pub hits: AtomicU64,
}

/// A compiled NAT chain.
#[derive(Debug)]
pub struct Chain {
    /// Its name.
    pub name: String,
    /// Its hook; none for a regular chain.
    pub hook: Option<HookName>,
    /// Its rules, in order.
    pub rules: Box<[Rule]>,
    /// The regular chains its rules (and theirs) jump to, by index (a base chain's;
    /// empty in a regular chain).
    pub regular: Arc<[Chain]>,
}

impl Chain {
    /// The rule that decides the packet (the first matching one of its family,
    /// through `jump` and `goto`), counted; none when no rule decides.
    pub fn eval(&self, pkt: &PacketView) -> Option<&Rule> {
        let facts = Facts::of(pkt);
        let rule = walk(&self.rules, &self.regular, &facts, pkt, 0)?;
        rule.hits.fetch_add(1, Ordering::Relaxed);
        Some(rule)
    }
}

/// The rule of `rules` that decides (following `jump` and `goto` into `regular`);
/// none when the chain ends, returns or its `goto`'s chain ends undecided (either
/// way the chain is left, and a `jump` to it goes on after the jump).
fn walk<'a>(
    rules: &'a [Rule],
    regular: &'a [Chain],
    facts: &Facts,
    pkt: &PacketView,
    depth: usize,
) -> Option<&'a Rule> {
    for r in rules {
        let family_ok = match r.action {
            Action::Nat(n) => n.family().is_none_or(|f| Some(f) == facts.family),
            _ => true,
        };
        if !family_ok || !r.matcher.matches(facts, pkt) {
            continue;
        }
        // Loops and depths beyond MAX_DEPTH are refused at load; the depth check keeps
        // a bad table from recursing without end all the same.
        let call = |n: u32| {
            let c = regular.get(n as usize).filter(|_| depth < MAX_DEPTH)?;
            walk(&c.rules, regular, facts, pkt, depth + 1)
        };
        match r.action {
            Action::Nat(_) | Action::Accept => return Some(r),
            Action::Return => return None,
            Action::Jump(n) => {
                if let Some(d) = call(n) {
                    return Some(d);
                }
            }
            Action::Goto(n) => return call(n),
        }
    }
    None
}

fn err<T>(path: impl Into<String>, message: impl Into<String>) -> Result<T, CompileError> {
    Err(CompileError::new(path, message))
}

/// Compiles the plugin's section into chains by slot, each base chain with the
/// regular chains its rules jump to.
pub fn compile(cfg: &NatConfig) -> Result<Slots, CompileError> {
    // The regular chains' names first: rules jump to them by name.
    let mut targets: HashMap<&str, u32> = HashMap::new();
    let mut at = Vec::new();
    for (i, c) in cfg.chains.iter().enumerate() {
        if c.hook.is_some() {
            continue;
        }
        let Some(name) = c.name.as_deref() else {
            return err(
                format!("chains[{i}]"),
                "a regular chain (no hook) needs a `name`, which `jump` and `goto` name",
            );
        };
        if targets.insert(name, at.len() as u32).is_some() {
            return err(
                format!("chains[{i}].name"),
                format!("a second regular chain named `{name}`"),
            );
        }
        at.push(i);
    }
    let none: Arc<[Chain]> = Arc::from(Vec::new());
    let regular = at
        .iter()
        .map(|&i| {
            chain(
                &cfg.chains[i],
                &format!("chains[{i}]"),
                None,
                &targets,
                &none,
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    let regular: Arc<[Chain]> = regular.into();
    let mut slots: Slots = Default::default();
    for (i, c) in cfg.chains.iter().enumerate() {
        let Some(hook) = c.hook else {
            continue;
        };
        let path = format!("chains[{i}]");
        let Some(s) = slot(hook) else {
            return err(
                format!("{path}.hook"),
                "NAT chains attach to prerouting, input, output or postrouting (Linux has no NAT at forward)",
            );
        };
        if slots[s].is_some() {
            return err(
                format!("{path}.hook"),
                format!(
                    "a nat chain on {} is already defined; one per hook",
                    hook.name()
                ),
            );
        }
        let compiled = chain(c, &path, Some(hook), &targets, &regular)?;
        reach(&compiled.rules, i, &regular, &at, hook, &mut Vec::new())?;
        slots[s] = Some(compiled);
    }
    Ok(slots)
}

/// Checks the regular chains that the rules of chain `from` (its index in the config)
/// reach from a base chain on `hook`: their translations must belong at the hook, and
/// no `jump` or `goto` may loop or go deeper than [`MAX_DEPTH`] chains, as nft refuses
/// them at load. `stack`: the regular chains being walked.
fn reach(
    rules: &[Rule],
    from: usize,
    regular: &[Chain],
    at: &[usize],
    hook: HookName,
    stack: &mut Vec<u32>,
) -> Result<(), CompileError> {
    for (j, r) in rules.iter().enumerate() {
        let (Action::Jump(n) | Action::Goto(n)) = r.action else {
            continue;
        };
        let path = format!("chains[{from}].rules[{j}].action");
        let target = &regular[n as usize];
        if stack.contains(&n) {
            return err(
                path,
                format!("a loop: `{}` is already being run here", target.name),
            );
        }
        if stack.len() >= MAX_DEPTH {
            return err(
                path,
                format!("jumps more than {MAX_DEPTH} chains deep (nft's limit)"),
            );
        }
        let i = at[n as usize];
        for (k, t) in target.rules.iter().enumerate() {
            if let Action::Nat(a) = t.action {
                belongs(a.kind, hook, &format!("chains[{i}].rules[{k}].action")).map_err(|e| {
                    CompileError {
                        message: format!(
                            "{} (`{}` is reached from the nat chain on {})",
                            e.message,
                            target.name,
                            hook.name()
                        ),
                        ..e
                    }
                })?;
            }
        }
        stack.push(n);
        reach(&target.rules, i, regular, at, hook, stack)?;
        stack.pop();
    }
    Ok(())
}

/// Compiles chain `c` (on `hook`; none for a regular chain) whose jumps go to
/// `targets`, into `regular`.
fn chain(
    c: &ChainCfg,
    path: &str,
    hook: Option<HookName>,
    targets: &HashMap<&str, u32>,
    regular: &Arc<[Chain]>,
) -> Result<Chain, CompileError> {
    let rules = c
        .rules
        .iter()
        .enumerate()
        .map(|(i, r)| rule(r, &format!("{path}.rules[{i}]"), hook, targets))
        .collect::<Result<Vec<_>, _>>()?;
    let name = match (&c.name, hook) {
        (Some(n), _) => n.clone(),
        (None, Some(h)) => format!("nat-{}", h.name()),
        (None, None) => String::new(),
    };
    Ok(Chain {
        name,
        hook,
        rules: rules.into(),
        regular: regular.clone(),
    })
}

fn rule(
    r: &RuleCfg,
    path: &str,
    hook: Option<HookName>,
    targets: &HashMap<&str, u32>,
) -> Result<Rule, CompileError> {
    let matcher = match &r.matches {
        Some(m) => {
            let p = format!("{path}.match");
            if let Some(states) = &m.ct_state {
                for s in states.items() {
                    if !matches!(s, CtStateName::New | CtStateName::Related) {
                        return err(
                            format!("{p}.ct_state"),
                            "NAT rules see only the first packet of a connection (ct state new or related); this rule could never match",
                        );
                    }
                }
            }
            compile::matcher(m, &p, Stage::AfterConntrack)?
        }
        None => Matcher::default(),
    };
    let p = format!("{path}.action");
    let action = match &r.action {
        ActionCfg::Jump(name) | ActionCfg::Goto(name) => {
            let Some(&n) = targets.get(name.as_str()) else {
                return err(p, format!("no regular chain named `{name}`"));
            };
            if matches!(r.action, ActionCfg::Jump(_)) {
                Action::Jump(n)
            } else {
                Action::Goto(n)
            }
        }
        ActionCfg::Return => Action::Return,
        a => action(a, &p, hook, &matcher)?,
    };
    Ok(Rule {
        matcher,
        action,
        comment: r.comment.clone(),
        hits: AtomicU64::new(0),
    })
}

/// Refuses translation `kind` at `hook` where Linux has none of its kind.
fn belongs(kind: Kind, hook: HookName, path: &str) -> Result<(), CompileError> {
    let allowed: &[HookName] = match kind {
        Kind::Snat => &[HookName::Postrouting, HookName::Input],
        Kind::Dnat | Kind::Redirect => &[HookName::Prerouting, HookName::Output],
        Kind::Masquerade => &[HookName::Postrouting],
    };
    if allowed.contains(&hook) {
        return Ok(());
    }
    let names: Vec<&str> = allowed.iter().map(|h| h.name()).collect();
    err(
        path,
        format!(
            "{} belongs in a nat chain on {}, not {}",
            kind.name(),
            names.join(" or "),
            hook.name()
        ),
    )
}

fn flags(list: &[FlagName]) -> Flags {
    let mut f = Flags::default();
    for x in list {
        match x {
            FlagName::Random => f.random = true,
            FlagName::FullyRandom => f.fully_random = true,
            FlagName::Persistent => f.persistent = true,
        }
    }
    f
}

/// Refuses ports in `to` for a rule whose protocol has none.
fn ports_fit(matcher: &Matcher, path: &str) -> Result<(), CompileError> {
    match matcher.proto {
        Some(ip_proto::TCP | ip_proto::UDP | ip_proto::UDPLITE | ip_proto::SCTP | ip_proto::DCCP)
        | None => Ok(()),
        Some(p) => err(
            path,
            format!(
                "ports are translated for tcp, udp, udplite, sctp and dccp, and the rule's proto is {}",
                ip_proto::name(p)
                    .map(str::to_string)
                    .unwrap_or_else(|| p.to_string())
            ),
        ),
    }
}

/// The family a rule's match limits it to, if any (by `family` or an ICMP protocol).
fn match_family(matcher: &Matcher) -> Option<Family> {
    matcher.family.or(match matcher.proto {
        Some(ip_proto::ICMP) => Some(Family::Ipv4),
        Some(ip_proto::ICMPV6) => Some(Family::Ipv6),
        _ => None,
    })
}

fn action(
    a: &ActionCfg,
    path: &str,
    hook: Option<HookName>,
    matcher: &Matcher,
) -> Result<Action, CompileError> {
    let kind = match a {
        ActionCfg::Snat(_) => Kind::Snat,
        ActionCfg::Dnat(_) => Kind::Dnat,
        ActionCfg::Masquerade(_) => Kind::Masquerade,
        ActionCfg::Redirect(_) => Kind::Redirect,
        ActionCfg::Accept | ActionCfg::Jump(_) | ActionCfg::Goto(_) | ActionCfg::Return => {
            return Ok(Action::Accept)
        }
    };
    // A regular chain's translations are checked against the hooks that reach it.
    if let Some(hook) = hook {
        belongs(kind, hook, path)?;
    }
    let p = format!("{path}.{}", kind.name());
    let mut out = NatAction {
        kind,
        addrs: None,
        ports: None,
        flags: Flags::default(),
        local: [None; 2],
    };
    match a {
        ActionCfg::Snat(NatCfg { to, flags: f }) | ActionCfg::Dnat(NatCfg { to, flags: f }) => {
            let tp = format!("{p}.to");
            let t = parse_to(to).map_err(|message| CompileError {
                path: tp.clone(),
                message,
            })?;
            let Some(addrs) = t.addrs else {
                return err(
                    tp,
                    format!(
                        "{} needs an address: ADDR[-ADDR][:PORT[-PORT]]",
                        kind.name()
                    ),
                );
            };
            if let Some(mf) = match_family(matcher).filter(|mf| *mf != addrs.0) {
                return err(
                    tp,
                    format!(
                        "an {} address, but the rule matches only {} packets",
                        family_word(addrs.0),
                        family_word(mf)
                    ),
                );
            }
            if t.ports.is_some() {
                ports_fit(matcher, &tp)?;
            }
            out.addrs = Some(addrs);
            out.ports = t.ports;
            out.flags = flags(f);
        }
        ActionCfg::Masquerade(l) | ActionCfg::Redirect(l) => {
            local(l, &p, kind, matcher, &mut out)?;
        }
        ActionCfg::Accept | ActionCfg::Jump(_) | ActionCfg::Goto(_) | ActionCfg::Return => {}
    }
    Ok(Action::Nat(out))
}

fn local(
    l: &LocalCfg,
    p: &str,
    kind: Kind,
    matcher: &Matcher,
    out: &mut NatAction,
) -> Result<(), CompileError> {
    if let Some(to) = &l.to {
        let tp = format!("{p}.to");
        let Some(ports) = to.trim().strip_prefix(':') else {
            return err(
                tp,
                format!("{} maps only ports: `:PORT[-PORT]`", kind.name()),
            );
        };
        out.ports = Some(port_range(ports).map_err(|message| CompileError {
            path: tp.clone(),
            message,
        })?);
        ports_fit(matcher, &tp)?;
    }
    out.flags = flags(&l.flags);
    for (i, a) in l.addresses.iter().enumerate() {
        let ap = format!("{p}.addresses[{i}]");
        let ip: IpAddr = a.trim().parse().map_err(|_| CompileError {
            path: ap.clone(),
            message: format!("{a:?} is not an IPv4 or IPv6 address"),
        })?;
        let (f, n) = match ip {
            IpAddr::V4(v) => (Family::Ipv4, u128::from(u32::from(v))),
            IpAddr::V6(v) => (Family::Ipv6, u128::from(v)),
        };
        if out.local[f.index()].replace(n).is_some() {
            return err(
                ap,
                format!("a second {} address; one per family", family_word(f)),
            );
        }
    }
    Ok(())
}

/// Parses the plugin's section (JSON text; `null` or empty for none) and compiles it,
/// with the nat chains of its `ruleset` after its own; an error in the ruleset names
/// `file:line:column`.
pub fn load(config_json: &str) -> Result<Slots, String> {
    let Some(mut cfg) = brickwall_control_protocol::decode::section::<NatConfig>(
        config_json,
        "the NAT plugin's config is a map with `chains` and/or `ruleset`",
    )?
    else {
        return Ok(Default::default());
    };
    let Some(file) = cfg.ruleset.take() else {
        return compile(&cfg).map_err(|e| e.to_string());
    };
    let text = match cfg.ruleset_text.take() {
        Some(t) => t,
        None => std::fs::read_to_string(&file)
            .map_err(|e| format!("ruleset: cannot read {file}: {e}"))?,
    };
    let mut positions = Vec::new();
    for c in crate::nft::chains(&text).map_err(|e| format!("{file}:{e}"))? {
        cfg.chains.push(c.cfg);
        positions.push(c.positions);
    }
    let own = cfg.chains.len() - positions.len();
    compile(&cfg).map_err(|e| {
        // `chains[K]...`, K past the config's own chains: a ruleset chain.
        let at = e
            .path
            .strip_prefix("chains[")
            .and_then(|r| r.split_once(']'))
            .and_then(|(k, rest)| Some((k.parse::<usize>().ok()?.checked_sub(own)?, rest)));
        match at.and_then(|(k, rest)| Some((positions.get(k)?, rest))) {
            Some((p, rest)) => {
                let (line, col) = brickwall_nft::locate(p, rest.trim_start_matches('.'));
                format!("{file}:{line}:{col}: {}", e.message)
            }
            None => e.to_string(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use brickwall_rules::parse;
    use brickwall_rules::scalar::Scalar;

    #[test]
    fn ports_read_as_the_match_vocabulary_reads_them() {
        let f = parse::port_range(&Scalar::Str("1024-2048".into())).unwrap();
        assert_eq!((f.lo, f.hi), port_range("1024-2048").unwrap());
    }
}
