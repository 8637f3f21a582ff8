//! Loading: the plugin's JSON section and the optional YAML rules file into compiled
//! chain slots, with error messages that name the field path and, for the rules file,
//! `file:line:column`. Semantic errors found after parsing are located in the file by
//! walking its YAML again to the erring field ([`locate`]).

use brickwall_control_protocol::decode::{at_path, section};
use brickwall_rules::compile::CompileError;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::fmt;

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
        "the filter's config is a map with `chains` and/or `rules_file`",
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

/// A step of a field path.
#[derive(Debug, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

fn steps(path: &str) -> Option<Vec<Step>> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let (key, mut rest) = match part.find('[') {
            Some(i) => (part.get(..i)?, part.get(i..)?),
            None => (part, ""),
        };
        if !key.is_empty() {
            out.push(Step::Key(key.to_string()));
        }
        while let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']')?;
            out.push(Step::Index(r.get(..end)?.parse().ok()?));
            rest = r.get(end + 1..)?;
        }
    }
    Some(out)
}

const FOUND: &str = "\u{0}brickwall-filter-located";

/// The 1-based line and column of the YAML node at `path` (e.g.
/// `chains[0].rules[2].match.dport`) in `text`, if it is there.
pub fn locate(text: &str, path: &str) -> Option<(usize, usize)> {
    let steps = steps(path)?;
    let de = serde_yaml_ng::Deserializer::from_str(text);
    match (Seek { steps: &steps }).deserialize(de) {
        Err(e) if e.to_string().contains(FOUND) => e.location().map(|l| (l.line(), l.column())),
        _ => None,
    }
}

/// Walks to the node at `steps` and fails there, so that the YAML deserializer stamps
/// the error with the node's position.
struct Seek<'a> {
    steps: &'a [Step],
}

impl<'de> DeserializeSeed<'de> for Seek<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Seek<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(FOUND)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let (want, rest) = match self.steps.split_first() {
            None => return Err(de::Error::custom(FOUND)),
            Some((Step::Key(want), rest)) => (Some(want.as_str()), rest),
            Some((Step::Index(_), rest)) => (None, rest),
        };
        while let Some(key) = map.next_key::<serde_yaml_ng::Value>()? {
            if want.is_some() && key.as_str() == want {
                map.next_value_seed(Seek { steps: rest })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let (want, rest) = match self.steps.split_first() {
            None => return Err(de::Error::custom(FOUND)),
            Some((Step::Index(want), rest)) => (Some(*want), rest),
            Some((Step::Key(_), rest)) => (None, rest),
        };
        let mut i = 0;
        loop {
            let more = if Some(i) == want {
                seq.next_element_seed(Seek { steps: rest })?
            } else {
                seq.next_element::<IgnoredAny>()?.map(|_| ())
            };
            if more.is_none() {
                return Ok(());
            }
            i += 1;
        }
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.leaf()
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.leaf()
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.leaf()
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.leaf()
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.leaf()
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.leaf()
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.leaf()
    }
}

impl Seek<'_> {
    fn leaf<E: de::Error>(&self) -> Result<(), E> {
        if self.steps.is_empty() {
            Err(E::custom(FOUND))
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const YAML: &str = "\
chains:
  - hook: forward
    rules:
      - action: accept
      - match: {proto: tcp, dport: [21, \"90-80\"]}
        action: drop
";

    #[test]
    fn paths_split_into_steps() {
        assert_eq!(
            steps("chains[0].rules[12].match.dport"),
            Some(vec![
                Step::Key("chains".into()),
                Step::Index(0),
                Step::Key("rules".into()),
                Step::Index(12),
                Step::Key("match".into()),
                Step::Key("dport".into()),
            ])
        );
        assert_eq!(steps("a[x]"), None);
    }

    #[test]
    fn locates_nodes() {
        assert_eq!(
            locate(YAML, "chains[0].rules[1].match.dport"),
            Some((5, 36))
        );
        assert_eq!(locate(YAML, "chains[0].rules[1].action"), Some((6, 17)));
        assert_eq!(locate(YAML, "chains[0].hook"), Some((2, 11)));
        assert_eq!(locate(YAML, "chains[0].rules[1]"), Some((5, 9)));
        assert_eq!(locate(YAML, "chains[0].rules[5]"), None);
        assert_eq!(locate(YAML, "chains[0].nothing"), None);
        assert_eq!(locate("[1, 2", "x"), None);
    }
}
