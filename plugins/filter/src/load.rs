//! Loading: the plugin's JSON section and the optional YAML rules file into compiled
//! chain slots, with error messages that name the field path and, for the rules file,
//! `file:line:column`. Semantic errors found after parsing are located in the file by
//! walking its YAML again to the erring field (`brickwall_yaml_path::locate`).

use brickwall_control_protocol::decode::{at_path, section};
use brickwall_rules::compile::CompileError;
use brickwall_yaml_path::locate;

use crate::chain::Chain;
use crate::compile::{self, SLOTS};
use crate::config::{ChainCfg, FilterConfig, RulesFile};

/// The chains by registration slot (the hook's `op`).
pub type Slots = [Option<Chain>; SLOTS];

/// Parses and compiles the plugin's config section (JSON text; `null` or empty for none).
pub fn load(config_json: &str) -> Result<Slots, String> {
    let cfg = parse_json(config_json)?;
    let mut slots: Slots = Default::default();
    // Where each slot's chain came from, for duplicate errors.
    let mut origin: [Option<String>; SLOTS] = Default::default();
    for (i, c) in cfg.chains.iter().enumerate() {
        let path = format!("chains[{i}]");
        place(c, &path, "config", &mut slots, &mut origin).map_err(|e| e.to_string())?;
    }
    if let Some(file) = &cfg.rules_file {
        let text = std::fs::read_to_string(file)
            .map_err(|e| format!("rules_file: cannot read {file}: {e}"))?;
        let rules = parse_yaml(&text, file)?;
        for (i, c) in rules.chains.iter().enumerate() {
            let path = format!("chains[{i}]");
            place(c, &path, file, &mut slots, &mut origin).map_err(|e| {
                let (line, col) = locate(&text, &e.path).unwrap_or((0, 0));
                if line == 0 {
                    format!("{file}: {e}")
                } else {
                    format!("{file}:{line}:{col}: {e}")
                }
            })?;
        }
    }
    if let Some(file) = &cfg.ruleset {
        let text = match &cfg.ruleset_text {
            Some(t) => t.clone(),
            None => std::fs::read_to_string(file)
                .map_err(|e| format!("ruleset: cannot read {file}: {e}"))?,
        };
        let chains = crate::nft::chains(&text).map_err(|e| format!("{file}:{e}"))?;
        for (i, c) in chains.iter().enumerate() {
            let path = format!("chains[{i}]");
            place(&c.cfg, &path, file, &mut slots, &mut origin).map_err(|e| {
                let within = e.path.strip_prefix(&path).unwrap_or(&e.path);
                let (line, col) = c.locate(within.trim_start_matches('.'));
                format!("{file}:{line}:{col}: {}", e.message)
            })?;
        }
    }
    Ok(slots)
}

fn place(
    c: &ChainCfg,
    path: &str,
    source: &str,
    slots: &mut Slots,
    origin: &mut [Option<String>; SLOTS],
) -> Result<(), CompileError> {
    let (slot, chain) = compile::chain(c, path, source)?;
    let here = if source == "config" {
        format!("config {path}")
    } else {
        format!("{source} {path}")
    };
    match origin.get_mut(slot) {
        Some(Some(first)) => Err(CompileError {
            path: format!("{path}.hook"),
            message: format!(
                "a {} chain on {} is already defined ({first}); one chain per type and hook",
                c.kind.name(),
                c.hook.name()
            ),
        }),
        Some(o) => {
            *o = Some(here);
            if let Some(s) = slots.get_mut(slot) {
                *s = Some(chain);
            }
            Ok(())
        }
        None => Err(CompileError {
            path: path.to_string(),
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
