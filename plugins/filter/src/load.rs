//! Loading: the plugin's JSON section and the optional YAML rules file into compiled
//! chain slots, with error messages that name the field path and, for the rules file,
//! `file:line:column`. Semantic errors found after parsing are located in the file by
//! walking its YAML again to the erring field (`brickwall_yaml_path::locate`).

use brickwall_control_protocol::decode::{at_path, section};
use brickwall_rules::compile::CompileError;
use brickwall_yaml_path::locate;

use crate::action::Terminal;
use crate::chain::{Chain, MAX_DEPTH};
use crate::compile::{self, Targets, SLOTS};
use crate::config::{ChainCfg, FilterConfig, RulesFile};

/// The chains by registration slot (the hook's `op`).
pub type Slots = [Option<Chain>; SLOTS];

/// The compiled chains: base chains by slot, and the regular chains their rules jump to
/// (by the index their `jump` and `goto` hold).
#[derive(Default)]
pub struct Loaded {
    /// Base chains by registration slot.
    pub slots: Slots,
    /// Regular chains.
    pub regular: Vec<Chain>,
}

/// One chain to compile, where it came from, and how its errors are told.
struct Source<'a> {
    cfg: &'a ChainCfg,
    path: String,
    source: &'a str,
    tell: Box<dyn Fn(&CompileError) -> String + 'a>,
}

/// Parses and compiles the plugin's config section (JSON text; `null` or empty for none).
pub fn load(config_json: &str) -> Result<Loaded, String> {
    let cfg = parse_json(config_json)?;
    let rules_file = match &cfg.rules_file {
        Some(file) => {
            let text = std::fs::read_to_string(file)
                .map_err(|e| format!("rules_file: cannot read {file}: {e}"))?;
            let rules = parse_yaml(&text, file)?;
            Some((file.as_str(), text, rules))
        }
        None => None,
    };
    let ruleset = match &cfg.ruleset {
        Some(file) => {
            let text = match &cfg.ruleset_text {
                Some(t) => t.clone(),
                None => std::fs::read_to_string(file)
                    .map_err(|e| format!("ruleset: cannot read {file}: {e}"))?,
            };
            let chains = crate::nft::chains(&text).map_err(|e| format!("{file}:{e}"))?;
            Some((file.as_str(), chains))
        }
        None => None,
    };
    let mut all: Vec<Source> = Vec::new();
    for (i, c) in cfg.chains.iter().enumerate() {
        all.push(Source {
            cfg: c,
            path: format!("chains[{i}]"),
            source: "config",
            tell: Box::new(|e: &CompileError| e.to_string()),
        });
    }
    if let Some((file, text, rules)) = &rules_file {
        for (i, c) in rules.chains.iter().enumerate() {
            all.push(Source {
                cfg: c,
                path: format!("chains[{i}]"),
                source: file,
                tell: Box::new(move |e: &CompileError| match locate(text, &e.path) {
                    Some((line, col)) => format!("{file}:{line}:{col}: {e}"),
                    None => format!("{file}: {e}"),
                }),
            });
        }
    }
    if let Some((file, chains)) = &ruleset {
        for (i, c) in chains.iter().enumerate() {
            let path = format!("chains[{i}]");
            let prefix = path.clone();
            all.push(Source {
                cfg: &c.cfg,
                path,
                source: file,
                tell: Box::new(move |e: &CompileError| {
                    let within = e.path.strip_prefix(&prefix).unwrap_or(&e.path);
                    let (line, col) = c.locate(within.trim_start_matches('.'));
                    format!("{file}:{line}:{col}: {}", e.message)
                }),
            });
        }
    }
    // The regular chains' names first: rules jump to them by name.
    let mut targets = Targets::new();
    for s in all.iter().filter(|s| s.cfg.hook.is_none()) {
        let name = s.cfg.name.clone().unwrap_or_default();
        let n = targets.len() as u32;
        if targets.insert(name.clone(), n).is_some() {
            return Err((s.tell)(&CompileError::new(
                format!("{}.name", s.path),
                format!("a second regular chain named `{name}`"),
            )));
        }
    }
    let mut out = Loaded::default();
    // Where each slot's chain came from, for duplicate errors.
    let mut origin: [Option<String>; SLOTS] = Default::default();
    let mut tells = Vec::new();
    for s in &all {
        let (slot, chain) =
            compile::chain(s.cfg, &s.path, s.source, &targets).map_err(|e| (s.tell)(&e))?;
        match slot {
            Some(slot) => {
                place(slot, chain, s, &mut out.slots, &mut origin).map_err(|e| (s.tell)(&e))?
            }
            None => {
                out.regular.push(chain);
                tells.push(s);
            }
        }
    }
    // Regular chains compile in the order their names were numbered.
    if let Some((from, message)) = loops(&out) {
        let s = match from {
            Some(i) => tells[i],
            None => return Err(message),
        };
        return Err((s.tell)(&CompileError::new(s.path.clone(), message)));
    }
    Ok(out)
}

/// A chain that `jump`s or `goto`s in a loop, or deeper than [`MAX_DEPTH`] (as nft
/// refuses them): the regular chain where it was found, and what is wrong.
fn loops(l: &Loaded) -> Option<(Option<usize>, String)> {
    fn targets(c: &Chain) -> impl Iterator<Item = usize> + '_ {
        c.rules.iter().filter_map(|r| match r.terminal {
            Some(Terminal::Jump(n) | Terminal::Goto(n)) => Some(n as usize),
            _ => None,
        })
    }
    // Depth-first from each chain, with the path walked so far.
    fn walk(l: &Loaded, at: usize, path: &mut Vec<usize>) -> Option<(Option<usize>, String)> {
        if path.contains(&at) {
            let names: Vec<&str> = path
                .iter()
                .chain(std::iter::once(&at))
                .map(|i| l.regular[*i].name.as_str())
                .collect();
            return Some((Some(at), format!("a loop of jumps: {}", names.join(" -> "))));
        }
        if path.len() >= MAX_DEPTH {
            return Some((Some(at), format!("jumps more than {MAX_DEPTH} chains deep")));
        }
        path.push(at);
        for t in targets(&l.regular[at]) {
            if let Some(found) = walk(l, t, path) {
                return Some(found);
            }
        }
        path.pop();
        None
    }
    (0..l.regular.len()).find_map(|i| walk(l, i, &mut Vec::new()))
}

fn place(
    slot: usize,
    chain: Chain,
    s: &Source,
    slots: &mut Slots,
    origin: &mut [Option<String>; SLOTS],
) -> Result<(), CompileError> {
    let here = if s.source == "config" {
        format!("config {}", s.path)
    } else {
        format!("{} {}", s.source, s.path)
    };
    match origin.get_mut(slot) {
        Some(Some(first)) => Err(CompileError {
            path: format!("{}.hook", s.path),
            message: format!(
                "a {} chain on {} is already defined ({first}); one chain per type and hook",
                s.cfg.kind.name(),
                s.cfg.hook.map_or("?", |h| h.name())
            ),
        }),
        Some(o) => {
            *o = Some(here);
            if let Some(x) = slots.get_mut(slot) {
                *x = Some(chain);
            }
            Ok(())
        }
        None => Err(CompileError {
            path: s.path.clone(),
            message: "no registration for this chain".into(),
        }),
    }
}

fn parse_json(text: &str) -> Result<FilterConfig, String> {
    Ok(section(
        text,
        "the filter's config is a map with `chains`, `rules_file` and/or `ruleset`",
    )?
    .unwrap_or_default())
}

fn parse_yaml(text: &str, file: &str) -> Result<RulesFile, String> {
    let de = serde_yaml_ng::Deserializer::from_str(text);
    let parsed: Result<Option<RulesFile>, _> = serde_path_to_error::deserialize(de);
    match parsed {
        Ok(rules) => Ok(rules.unwrap_or_default()),
        Err(e) => {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let mut msg = inner.to_string();
            let at = inner.location().map(|l| (l.line(), l.column()));
            if let Some((line, col)) = at {
                let suffix = format!(" at line {line} column {col}");
                if let Some(stripped) = msg.strip_suffix(&suffix) {
                    msg = stripped.to_string();
                }
            }
            // serde_yaml_ng puts its own copy of the path (ours, or a parent of it) first.
            if let Some((head, rest)) = msg.split_once(": ") {
                if !head.is_empty() && path.starts_with(head) {
                    msg = rest.to_string();
                }
            }
            let msg = at_path(&path, &msg);
            Err(match at {
                Some((line, col)) => format!("{file}:{line}:{col}: {msg}"),
                None => format!("{file}: {msg}"),
            })
        }
    }
}
