//! Interface names matched per packet (nft's `iifname`, `oifname`): patterns (a name,
//! or a prefix ending in `*`), and the name of a packet's interface by its index, from
//! a process-wide cache that asks the kernel again after a second, so that an
//! interface created, renamed or replaced after the rules loaded is seen by its
//! current name.

use std::collections::HashMap;
use std::sync::{OnceLock, RwLock};
use std::time::{Duration, Instant};

/// The longest interface name (Linux's `IFNAMSIZ` less its NUL).
pub const MAX_LEN: usize = 15;

/// How long a looked-up name is trusted.
const FRESH: Duration = Duration::from_secs(1);

/// A name pattern: the whole name, or a prefix (`eth*`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IfPattern {
    /// The name, or the prefix without its `*`.
    pub text: String,
    /// Whether `text` is a prefix.
    pub prefix: bool,
}

impl IfPattern {
    /// Reads `eth0` or `eth*`; `None` for an empty or too long name.
    pub fn parse(s: &str) -> Option<IfPattern> {
        let (text, prefix) = match s.strip_suffix('*') {
            Some(p) => (p, true),
            None => (s, false),
        };
        let ok = text.len() <= MAX_LEN
            && (prefix || !text.is_empty())
            && !text.contains(['/', '\0'])
            && !text.chars().any(char::is_whitespace);
        ok.then(|| IfPattern {
            text: text.to_string(),
            prefix,
        })
    }

    /// Whether `name` fits the pattern.
    pub fn matches(&self, name: &str) -> bool {
        if self.prefix {
            name.starts_with(&self.text)
        } else {
            name == self.text
        }
    }

    /// As nft prints it: `"eth0"`, `"eth*"`.
    pub fn text(&self) -> String {
        format!("\"{}{}\"", self.text, if self.prefix { "*" } else { "" })
    }
}

type Cache = RwLock<HashMap<u32, (Option<String>, Instant)>>;

fn cache() -> &'static Cache {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    CACHE.get_or_init(|| RwLock::new(HashMap::new()))
}

/// The name of interface `index` now, if it has one (index 0, no interface: none).
pub fn name_of(index: u32) -> Option<String> {
    if index == 0 {
        return None;
    }
    if let Ok(c) = cache().read() {
        if let Some((name, at)) = c.get(&index) {
            if at.elapsed() < FRESH {
                return name.clone();
            }
        }
    }
    let name = lookup(index);
    if let Ok(mut c) = cache().write() {
        c.insert(index, (name.clone(), Instant::now()));
    }
    name
}

/// Asks the kernel for interface `index`'s name.
fn lookup(index: u32) -> Option<String> {
    let mut buf = [0u8; MAX_LEN + 1];
    // SAFETY: if_indextoname writes at most IF_NAMESIZE (16) bytes, NUL included, into
    // the buffer.
    let p = unsafe { libc::if_indextoname(index, buf.as_mut_ptr().cast()) };
    if p.is_null() {
        return None;
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8(buf[..end].to_vec()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_are_names_or_prefixes() {
        let eth = IfPattern::parse("eth*").unwrap();
        assert!(eth.matches("eth0") && eth.matches("eth") && !eth.matches("veth0"));
        let lo = IfPattern::parse("lo").unwrap();
        assert!(lo.matches("lo") && !lo.matches("lo0"));
        assert_eq!(
            (eth.text(), lo.text()),
            ("\"eth*\"".into(), "\"lo\"".into())
        );
        for bad in ["", "a b", "sixteen-chars-xx", "x/y"] {
            assert_eq!(IfPattern::parse(bad), None, "{bad}");
        }
        assert!(IfPattern::parse("*").is_some(), "every name");
    }

    #[test]
    fn loopback_is_named_by_its_index() {
        assert_eq!(name_of(1).as_deref(), Some("lo"));
        assert_eq!(name_of(0), None);
        assert_eq!(name_of(u32::MAX - 7), None);
    }
}
