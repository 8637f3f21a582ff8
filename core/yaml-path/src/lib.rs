//! Where a field is in a YAML text: the line and column of the value a path such as
//! `plugins[1].config.chains[0].rules[0].match.dport` names. Plugins check their own
//! config sections (and the filter its rules file) and name a field by its path; this
//! turns that path back into a place in the file the user wrote.
//!
//! The text is read again by `serde_yaml_ng` with a seed that follows the path and fails
//! on purpose at its end; the parser's error carries the position of the node it was
//! reading, which is the field's.

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// One step of a path: a mapping key or a sequence index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// `name` or `.name`.
    Key(String),
    /// `[N]`.
    Index(usize),
}

/// Splits `a.b[2].c` into steps; `None` if it is not such a path.
pub fn steps(path: &str) -> Option<Vec<Step>> {
    let mut out = Vec::new();
    let mut rest = path;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']')?;
            out.push(Step::Index(r[..end].parse().ok()?));
            rest = &r[end + 1..];
        } else {
            let r = if out.is_empty() {
                rest
            } else {
                rest.strip_prefix('.')?
            };
            let end = r.find(['.', '[']).unwrap_or(r.len());
            let key = &r[..end];
            let ok = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
            if key.is_empty() || !key.chars().all(ok) {
                return None;
            }
            out.push(Step::Key(key.to_string()));
            rest = &r[end..];
        }
    }
    (!out.is_empty()).then_some(out)
}

/// The message the seed fails with at the path's end.
const FOUND: &str = "\u{0}brickwall: found\u{0}";

/// The 1-based line and column of the value at `path` in the YAML `text`, if the path
/// leads to one.
pub fn locate(text: &str, path: &str) -> Option<(usize, usize)> {
    let steps = steps(path)?;
    let de = serde_yaml_ng::Deserializer::from_str(text);
    let Err(e) = Seek(&steps).deserialize(de) else {
        return None;
    };
    let at = e.location()?;
    // (The parser puts the path before the message.)
    e.to_string()
        .contains(FOUND)
        .then(|| (at.line(), at.column()))
}

/// Follows the remaining steps; fails with [`FOUND`] at the node they lead to.
struct Seek<'a>(&'a [Step]);

impl<'de> DeserializeSeed<'de> for Seek<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Seek<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let (want, rest) = match self.0.split_first() {
            None => return Err(de::Error::custom(FOUND)),
            Some((Step::Key(k), rest)) => (k, rest),
            Some((Step::Index(_), _)) => return Err(de::Error::custom("a mapping has no index")),
        };
        while let Some(key) = map.next_key::<String>()? {
            if key == *want {
                return map.next_value_seed(Seek(rest));
            }
            map.next_value::<IgnoredAny>()?;
        }
        Err(de::Error::custom("no such key"))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let (want, rest) = match self.0.split_first() {
            None => return Err(de::Error::custom(FOUND)),
            Some((Step::Index(i), rest)) => (i, rest),
            Some((Step::Key(_), _)) => return Err(de::Error::custom("a sequence has no keys")),
        };
        for _ in 0..*want {
            if seq.next_element::<IgnoredAny>()?.is_none() {
                return Err(de::Error::custom("no such index"));
            }
        }
        match seq.next_element_seed(Seek(rest))? {
            Some(()) => Ok(()),
            None => Err(de::Error::custom("no such index")),
        }
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.scalar()
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.scalar()
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.scalar()
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.scalar()
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.scalar()
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.scalar()
    }

    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.scalar()
    }
}

impl Seek<'_> {
    /// A scalar ends the path here, or the path goes on where it cannot.
    fn scalar<E: de::Error>(&self) -> Result<(), E> {
        Err(de::Error::custom(if self.0.is_empty() {
            FOUND
        } else {
            "a scalar has no fields"
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
plugins:
  - builtin: conntrack
    config:
      accounting: true
      max: banana
  - builtin: filter
    config:
      chains:
        - hook: forward
          rules:
            - {match: {proto: tcp, dport: 99999}, action: accept}
";

    #[test]
    fn paths_split_into_keys_and_indexes() {
        assert_eq!(
            steps("plugins[1].config.x-y").unwrap(),
            [
                Step::Key("plugins".into()),
                Step::Index(1),
                Step::Key("config".into()),
                Step::Key("x-y".into())
            ]
        );
        for bad in ["", "a..b", "a[x]", "a b", ".a", "a[1"] {
            assert_eq!(steps(bad), None, "{bad}");
        }
    }

    #[test]
    fn values_are_found_in_block_and_flow_style() {
        assert_eq!(locate(TEXT, "plugins[0].config.max"), Some((5, 12)));
        assert_eq!(locate(TEXT, "plugins[0].config"), Some((4, 7)));
        assert_eq!(
            locate(TEXT, "plugins[1].config.chains[0].rules[0].match.dport"),
            Some((11, 43))
        );
        assert_eq!(
            locate(TEXT, "plugins[1].config.chains[0].hook"),
            Some((9, 17))
        );
    }

    #[test]
    fn sequence_items_and_maps_in_flow_style() {
        let yaml = "chains:\n  - hook: forward\n    rules:\n      - action: accept\n      \
                    - match: {proto: tcp, dport: [21, \"90-80\"]}\n        action: drop\n";
        assert_eq!(
            locate(yaml, "chains[0].rules[1].match.dport"),
            Some((5, 36))
        );
        assert_eq!(locate(yaml, "chains[0].rules[1].action"), Some((6, 17)));
        assert_eq!(locate(yaml, "chains[0].rules[1]"), Some((5, 9)));
        assert_eq!(locate("[1, 2", "x"), None);
    }

    #[test]
    fn missing_fields_are_not_found() {
        for path in [
            "plugins[2]",
            "plugins[0].config.nope",
            "plugins[0].config.max.deeper",
            "plugins.x",
        ] {
            assert_eq!(locate(TEXT, path), None, "{path}");
        }
    }
}
