//! What `brickwall ct` prints comes from the engine: connection lines, events, error
//! messages. A terminal acts on control characters, so they are printed as escapes
//! (`\x1b`, `\u{9b}`) instead: a string from a server cannot move the cursor, retitle
//! the window or hide what follows.

use std::io::{self, Write};

/// A writer that passes printable text through and escapes control characters (C0
/// but newline and tab, DEL, and C1 in UTF-8).
pub struct Printable<'a> {
    inner: &'a mut dyn Write,
}

impl<'a> Printable<'a> {
    /// Escapes what is written to `inner`.
    pub fn new(inner: &'a mut dyn Write) -> Printable<'a> {
        Printable { inner }
    }
}

/// Appends `bytes` to `out` with control characters escaped.
pub fn escape_controls(bytes: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'\n' | b'\t' => out.push(b),
            0x00..=0x1f | 0x7f => out.extend_from_slice(format!("\\x{b:02x}").as_bytes()),
            // C1 controls, U+0080 to U+009F, are 0xC2 0x80..=0x9F in UTF-8.
            0xc2 if bytes.get(i + 1).is_some_and(|c| (0x80..=0x9f).contains(c)) => {
                out.extend_from_slice(format!("\\u{{{:x}}}", bytes[i + 1]).as_bytes());
                i += 1;
            }
            _ => out.push(b),
        }
        i += 1;
    }
}

impl Write for Printable<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut escaped = Vec::with_capacity(buf.len());
        escape_controls(buf, &mut escaped);
        self.inner.write_all(&escaped)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_text_kept() {
        let mut out = Vec::new();
        let mut p = Printable::new(&mut out);
        writeln!(p, "tcp\t6 src=10.0.0.1 \u{1b}[2J\u{7}é\u{9b}31m end").unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "tcp\t6 src=10.0.0.1 \\x1b[2J\\x07é\\u{9b}31m end\n"
        );
    }
}
