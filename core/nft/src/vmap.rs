//! Anonymous verdict maps (`tcp dport vmap { 22 : accept, 80 : jump web }`): a rule with
//! one is read as one rule per element, in the map's order, each the rule's words
//! before `vmap`, then the element's key, then its verdict, then what follows the map
//! (a comment). A packet matches at most one element's key (a map's keys do not
//! overlap), so the rules decide as the map does; a packet whose key is not in the map
//! goes on to the next rule, as in nft. A rule's counter counts per element.

use crate::lex::{Tok, Token};
use crate::NftError;

/// The rules `rule` stands for: itself, or one per element of its verdict map.
pub fn expand(rule: Vec<Token>) -> Result<Vec<Vec<Token>>, NftError> {
    let Some(at) = rule.iter().position(|t| t.word() == Some("vmap")) else {
        return Ok(vec![rule]);
    };
    let vmap = &rule[at];
    let (prefix, rest) = (&rule[..at], &rule[at + 1..]);
    match rest.first() {
        Some(t) if t.tok == Tok::Open => {}
        Some(t) if matches!(t.tok, Tok::SetRef(_)) => {
            return Err(NftError::at(t, "named verdict maps are not supported yet"))
        }
        _ => {
            return Err(NftError::at(
                vmap,
                "`vmap`: expected `{ KEY : VERDICT, ... }`",
            ))
        }
    }
    if prefix.is_empty() {
        return Err(NftError::at(vmap, "`vmap`: a selector must come before it"));
    }
    let close = rest
        .iter()
        .position(|t| t.tok == Tok::Close)
        .ok_or_else(|| NftError::at(vmap, "this verdict map has no closing `}`"))?;
    let suffix = &rest[close + 1..];
    let mut rules = Vec::new();
    for element in rest[1..close].split(|t| t.tok == Tok::Comma) {
        if element.is_empty() {
            continue;
        }
        // `KEY : VERDICT`, the colon a word of its own or ending the key.
        let (key, verdict) = match element.iter().position(|t| t.word() == Some(":")) {
            Some(c) => (element[..c].to_vec(), &element[c + 1..]),
            None => match element
                .iter()
                .position(|t| t.word().is_some_and(|w| w.ends_with(':') && w.len() > 1))
            {
                Some(c) => {
                    let mut key = element[..c].to_vec();
                    let w = element[c].word().unwrap_or_default();
                    key.push(Token {
                        tok: Tok::Word(w[..w.len() - 1].to_string()),
                        ..element[c].clone()
                    });
                    (key, &element[c + 1..])
                }
                None => {
                    return Err(NftError::at(
                        &element[0],
                        "a verdict map's element is `KEY : VERDICT`",
                    ))
                }
            },
        };
        if key.is_empty() || verdict.is_empty() {
            return Err(NftError::at(
                &element[0],
                "a verdict map's element is `KEY : VERDICT`",
            ));
        }
        let mut r = prefix.to_vec();
        r.extend(key);
        r.extend_from_slice(verdict);
        r.extend_from_slice(suffix);
        rules.push(r);
    }
    if rules.is_empty() {
        return Err(NftError::at(vmap, "this verdict map is empty"));
    }
    Ok(rules)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lex::tokens;

    fn rules(text: &str) -> Result<Vec<String>, String> {
        let t = tokens(text).map_err(|e| e.2)?;
        expand(t)
            .map(|rs| {
                rs.iter()
                    .map(|r| r.iter().map(|t| t.shown()).collect::<Vec<_>>().join(" "))
                    .collect()
            })
            .map_err(|e| format!("{}:{}: {}", e.line, e.col, e.message))
    }

    #[test]
    fn each_element_becomes_a_rule() {
        assert_eq!(
            rules("ct state vmap { established : accept, related: accept, invalid : drop } comment \"x\"").unwrap(),
            [
                "ct state established accept comment \"x\"",
                "ct state related accept comment \"x\"",
                "ct state invalid drop comment \"x\""
            ]
        );
        assert_eq!(
            rules("ip saddr 10.0.0.0/8 tcp dport vmap { 22 : jump ssh, 80-89 : drop }").unwrap(),
            [
                "ip saddr 10.0.0.0/8 tcp dport 22 jump ssh",
                "ip saddr 10.0.0.0/8 tcp dport 80-89 drop"
            ]
        );
        assert_eq!(
            rules("tcp dport 22 accept").unwrap(),
            ["tcp dport 22 accept"]
        );
    }

    #[test]
    fn malformed_maps_are_refused_where_they_are() {
        assert_eq!(
            rules("tcp dport vmap @m").unwrap_err(),
            "1:16: named verdict maps are not supported yet"
        );
        assert_eq!(
            rules("tcp dport vmap { 22 accept }").unwrap_err(),
            "1:18: a verdict map's element is `KEY : VERDICT`"
        );
        assert_eq!(
            rules("vmap { 22 : accept }").unwrap_err(),
            "1:1: `vmap`: a selector must come before it"
        );
        assert_eq!(
            rules("tcp dport vmap { }").unwrap_err(),
            "1:11: this verdict map is empty"
        );
    }
}
