//! nft's variables: `define NAME = VALUE` (and `redefine`, `undefine`) at the top level
//! of a ruleset, used as `$NAME` after it, in later definitions too. They are expanded
//! in the tokens before the ruleset is parsed: a use takes the value's tokens, at the
//! use's place; a set value (`{ 80, 443 }`) used as an item of a list (after `{` or
//! `,`) gives its items, as nft merges it into the list.

use crate::lex::{Tok, Token};
use crate::NftError;
use std::collections::HashMap;

/// The tokens with every definition taken out and every use expanded; an undefined
/// variable, a definition of one already defined (`redefine` is for that), or a
/// definition without a value is an error at its place.
pub fn expand(tokens: Vec<Token>) -> Result<Vec<Token>, NftError> {
    let mut vars: HashMap<String, Vec<Token>> = HashMap::new();
    let mut out: Vec<Token> = Vec::with_capacity(tokens.len());
    let mut depth = 0usize;
    let mut i = 0;
    while i < tokens.len() {
        let t = &tokens[i];
        let starts_statement = out
            .last()
            .is_none_or(|l| matches!(l.tok, Tok::Newline | Tok::Semi));
        let keyword = t.word().filter(|_| depth == 0 && starts_statement);
        match keyword {
            Some(kw @ ("define" | "redefine" | "undefine")) => {
                let name = tokens
                    .get(i + 1)
                    .filter(|n| n.word().is_some())
                    .ok_or_else(|| {
                        NftError::at(t, format!("`{kw}`: a variable's name must follow"))
                    })?;
                let key = name.word().unwrap_or_default().to_string();
                i += 2;
                if kw == "undefine" {
                    if vars.remove(&key).is_none() {
                        return Err(NftError::at(name, format!("`{key}`: no such variable")));
                    }
                    continue;
                }
                if kw == "define" && vars.contains_key(&key) {
                    return Err(NftError::at(
                        name,
                        format!("`{key}`: defined already (`redefine` changes a variable)"),
                    ));
                }
                if tokens.get(i).map(|a| &a.tok) != Some(&Tok::Assign) {
                    return Err(NftError::at(
                        name,
                        format!("`{key}`: `=` and a value must follow"),
                    ));
                }
                i += 1;
                let (value, next) = value(&tokens, i);
                if value.is_empty() {
                    return Err(NftError::at(
                        name,
                        format!("`{key}`: a value must follow `=`"),
                    ));
                }
                let mut expanded = Vec::new();
                for v in value {
                    substitute(v, &vars, &mut expanded)?;
                }
                vars.insert(key, expanded);
                i = next;
            }
            _ => {
                match t.tok {
                    Tok::Open => depth += 1,
                    Tok::Close => depth = depth.saturating_sub(1),
                    _ => {}
                }
                substitute(t, &vars, &mut out)?;
                i += 1;
            }
        }
    }
    Ok(out)
}

/// The value of a definition starting at `start`: the tokens up to the end of its line
/// or a `;` outside braces; and where the next statement starts.
fn value(tokens: &[Token], start: usize) -> (&[Token], usize) {
    let mut depth = 0usize;
    let mut j = start;
    while let Some(t) = tokens.get(j) {
        match t.tok {
            Tok::Open => depth += 1,
            Tok::Close => depth = depth.saturating_sub(1),
            Tok::Newline | Tok::Semi if depth == 0 => break,
            _ => {}
        }
        j += 1;
    }
    (&tokens[start..j], j)
}

/// Pushes `t` to `out`, or, for a `$NAME`, the variable's value: without its braces
/// when it is a set used as an item of a list.
fn substitute(
    t: &Token,
    vars: &HashMap<String, Vec<Token>>,
    out: &mut Vec<Token>,
) -> Result<(), NftError> {
    let Some(name) = t.word().and_then(|w| w.strip_prefix('$')) else {
        out.push(t.clone());
        return Ok(());
    };
    let value = vars
        .get(name)
        .ok_or_else(|| NftError::at(t, format!("`${name}`: no such variable")))?;
    let in_list = matches!(out.last().map(|l| &l.tok), Some(Tok::Open | Tok::Comma));
    let braced = value.first().map(|f| &f.tok) == Some(&Tok::Open)
        && value.last().map(|l| &l.tok) == Some(&Tok::Close);
    let items = if in_list && braced {
        &value[1..value.len() - 1]
    } else {
        &value[..]
    };
    // The value's tokens stand where the use does, for messages about them.
    out.extend(items.iter().map(|v| Token {
        tok: v.tok.clone(),
        line: t.line,
        col: t.col,
    }));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lex::tokens;

    fn shown(text: &str) -> Result<String, String> {
        let t = tokens(text).map_err(|e| e.2)?;
        expand(t)
            .map(|v| {
                v.iter()
                    .filter(|t| t.tok != Tok::Newline)
                    .map(|t| t.shown())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .map_err(|e| format!("{}:{}: {}", e.line, e.col, e.message))
    }

    #[test]
    fn uses_take_the_values_and_sets_merge_into_lists() {
        let text = "define web = { 80, 443 }\ndefine ports = { $web, 22 }\n\
                    table t { tcp dport $web ; tcp dport { $ports, 8080 } ; ip saddr $a }";
        let with_a = format!("define a = 10.0.0.1\n{text}");
        assert_eq!(
            shown(&with_a).unwrap(),
            "table t { tcp dport { 80 , 443 } ; tcp dport { 80 , 443 , 22 , 8080 } ; ip saddr 10.0.0.1 }"
        );
    }

    #[test]
    fn errors_name_the_place() {
        assert_eq!(
            shown("table t { ip saddr $nope }").unwrap_err(),
            "1:20: `$nope`: no such variable"
        );
        assert_eq!(
            shown("define x = 1\ndefine x = 2\n").unwrap_err(),
            "2:8: `x`: defined already (`redefine` changes a variable)"
        );
        assert_eq!(
            shown("define x =\n").unwrap_err(),
            "1:8: `x`: a value must follow `=`"
        );
        assert_eq!(
            shown("redefine x = 1\nredefine x = 2\nundefine x\ntable $x").unwrap_err(),
            "4:7: `$x`: no such variable"
        );
    }
}
