//! Tokens of nftables' ruleset syntax (what `nft -f` reads and `nft list ruleset`
//! prints), each with its 1-based line and column: words (keywords, names, numbers,
//! addresses, prefixes, ranges), quoted strings, braces, `;`, `,`, newlines (which end
//! a statement as `;` does), `=`, `==`, `!=`, and `@set` references. `#` starts a
//! comment to the end of the line; a backslash before a newline joins the lines.

/// What a token is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tok {
    /// A bare word: `table`, `forward`, `22`, `10.0.0.0/8`, `1024-65535`, `fe80::1`.
    Word(String),
    /// A double-quoted string, without its quotes.
    Str(String),
    /// `{`.
    Open,
    /// `}`.
    Close,
    /// `;`.
    Semi,
    /// `,`.
    Comma,
    /// The end of a line.
    Newline,
    /// `=` (in `elements = { ... }`).
    Assign,
    /// `==`.
    Eq,
    /// `!=`.
    Ne,
    /// `@name`: a named set.
    SetRef(String),
}

/// A token and where it starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    /// The token.
    pub tok: Tok,
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub col: usize,
}

impl Token {
    /// The token as the user wrote it, for messages.
    pub fn shown(&self) -> String {
        match &self.tok {
            Tok::Word(w) => w.clone(),
            Tok::Str(s) => format!("\"{s}\""),
            Tok::Open => "{".into(),
            Tok::Close => "}".into(),
            Tok::Semi => ";".into(),
            Tok::Comma => ",".into(),
            Tok::Newline => "end of line".into(),
            Tok::Assign => "=".into(),
            Tok::Eq => "==".into(),
            Tok::Ne => "!=".into(),
            Tok::SetRef(n) => format!("@{n}"),
        }
    }

    /// The word, if the token is one.
    pub fn word(&self) -> Option<&str> {
        match &self.tok {
            Tok::Word(w) => Some(w),
            _ => None,
        }
    }
}

/// Characters that end a word.
fn ends_word(c: char) -> bool {
    c.is_whitespace() || matches!(c, '{' | '}' | ';' | ',' | '"' | '#' | '=' | '@' | '\\')
}

/// Splits `text` into tokens; an unterminated string is an error at its quote.
pub fn tokens(text: &str) -> Result<Vec<Token>, (usize, usize, String)> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut line, mut col) = (0, 1, 1);
    while i < chars.len() {
        let c = chars[i];
        let at = (line, col);
        let push = |out: &mut Vec<Token>, tok: Tok| {
            out.push(Token {
                tok,
                line: at.0,
                col: at.1,
            })
        };
        match c {
            '\n' => {
                push(&mut out, Tok::Newline);
                i += 1;
                line += 1;
                col = 1;
                continue;
            }
            '\\' if chars.get(i + 1) == Some(&'\n') => {
                i += 2;
                line += 1;
                col = 1;
                continue;
            }
            c if c.is_whitespace() => {}
            '#' => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
                continue;
            }
            '{' => push(&mut out, Tok::Open),
            '}' => push(&mut out, Tok::Close),
            ';' => push(&mut out, Tok::Semi),
            ',' => push(&mut out, Tok::Comma),
            '=' if chars.get(i + 1) == Some(&'=') => {
                push(&mut out, Tok::Eq);
                i += 2;
                col += 2;
                continue;
            }
            '=' => push(&mut out, Tok::Assign),
            '<' | '>' if chars.get(i + 1) == Some(&'=') => {
                push(&mut out, Tok::Word(format!("{c}=")));
                i += 2;
                col += 2;
                continue;
            }
            '!' if chars.get(i + 1) == Some(&'=') => {
                push(&mut out, Tok::Ne);
                i += 2;
                col += 2;
                continue;
            }
            '"' => {
                let mut s = String::new();
                let mut j = i + 1;
                while j < chars.len() && chars[j] != '"' && chars[j] != '\n' {
                    s.push(chars[j]);
                    j += 1;
                }
                if chars.get(j) != Some(&'"') {
                    return Err((line, col, "a string without its closing quote".into()));
                }
                push(&mut out, Tok::Str(s));
                col += j + 1 - i;
                i = j + 1;
                continue;
            }
            _ => {
                let at_set = c == '@';
                let start = if at_set { i + 1 } else { i };
                let mut j = start;
                while j < chars.len()
                    && !ends_word(chars[j])
                    && !(chars[j] == '!' && chars.get(j + 1) == Some(&'='))
                {
                    j += 1;
                }
                if j == start {
                    return Err((line, col, format!("unexpected `{c}`")));
                }
                let w: String = chars[start..j].iter().collect();
                push(&mut out, if at_set { Tok::SetRef(w) } else { Tok::Word(w) });
                col += j - i;
                i = j;
                continue;
            }
        }
        i += 1;
        col += 1;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        tokens(s).unwrap().into_iter().map(|t| t.tok).collect()
    }

    fn w(s: &str) -> Tok {
        Tok::Word(s.into())
    }

    #[test]
    fn words_strings_punctuation_and_positions() {
        assert_eq!(
            toks("ip saddr != { 10.0.0.0/8, fe80::1 } tcp dport 1024-65535 # note\n"),
            [
                w("ip"),
                w("saddr"),
                Tok::Ne,
                Tok::Open,
                w("10.0.0.0/8"),
                Tok::Comma,
                w("fe80::1"),
                Tok::Close,
                w("tcp"),
                w("dport"),
                w("1024-65535"),
                Tok::Newline
            ]
        );
        assert_eq!(
            toks("ct helper set \"ftp-h\"; elements = { @x }"),
            [
                w("ct"),
                w("helper"),
                w("set"),
                Tok::Str("ftp-h".into()),
                Tok::Semi,
                w("elements"),
                Tok::Assign,
                Tok::Open,
                Tok::SetRef("x".into()),
                Tok::Close
            ]
        );
        let t = tokens("table inet t {\n  chain c\\\n {").unwrap();
        let at: Vec<(usize, usize)> = t.iter().map(|t| (t.line, t.col)).collect();
        assert_eq!(
            at,
            [
                (1, 1),
                (1, 7),
                (1, 12),
                (1, 14),
                (1, 15),
                (2, 3),
                (2, 9),
                (3, 2)
            ]
        );
        assert_eq!(
            toks("ct state established,related"),
            [
                w("ct"),
                w("state"),
                w("established"),
                Tok::Comma,
                w("related")
            ]
        );
    }

    #[test]
    fn an_open_string_is_an_error_at_its_quote() {
        assert_eq!(tokens("log prefix \"x\n").unwrap_err().0, 1);
        assert_eq!(tokens("log prefix \"x\n").unwrap_err().1, 12);
    }
}
