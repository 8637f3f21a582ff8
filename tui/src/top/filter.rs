//! The `/` text filter. Its words split in two:
//!
//! - words the conntrack plugin can judge over the whole table go to the server as the
//!   `list` request's [`CtFilter`]: `key=value` for `src`, `dst` (addresses or
//!   networks), `sport`, `dport`, `proto`, `state` (comma list), `mark`, `zone`,
//!   `family`, `status`; a bare protocol name (`tcp`, `udp`, ...) and a bare TCP or
//!   SCTP state name (`established`, `time_wait`, ...) likewise. Their values are read
//!   as the protocol reads them (the same spellings); one that does not read is the
//!   filter's [`Filter::error`], and nothing is asked for while it stands;
//! - every other word is a case-insensitive substring that a row of the fetched page
//!   must contain (in any column): those narrow the page only, and the view says so.
//!
//! The expectations and plugins views match every word as a substring of the row.

use brickwall_control_protocol::conntrack::request::Filter as CtFilter;
use brickwall_control_protocol::decode;
use serde_json::{Map, Value};

/// Protocol names the plugin knows: the same words `brickwall ct -p` takes.
use crate::ct::args::tracked_proto;

/// TCP, SCTP and DCCP state names the plugin knows: the same words `brickwall ct --state` takes.
use brickwall_control_protocol::conntrack::states;

/// Keys a `key=value` word may use (sent to the plugin as filter fields).
const KEYS: [&str; 10] = [
    "src", "dst", "sport", "dport", "proto", "state", "mark", "zone", "family", "status",
];

/// A parsed filter.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Filter {
    /// The text as typed.
    pub text: String,
    /// The filter of the plugin's `list`, `None` if no word goes there.
    pub server: Option<CtFilter>,
    /// Why the words for the plugin do not make a filter (`src: not an address or
    /// network: ...`).
    pub error: Option<String>,
    /// Lowercased words a row of the page must contain.
    pub local: Vec<String>,
}

impl Filter {
    /// Parses `text`.
    pub fn parse(text: &str) -> Filter {
        let mut m = Map::new();
        let mut states: Vec<String> = Vec::new();
        let mut local = Vec::new();
        for w in text.split_whitespace() {
            let lower = w.to_ascii_lowercase();
            if let Some((k, v)) = w.split_once('=') {
                let k = k.to_ascii_lowercase();
                if KEYS.contains(&k.as_str()) && !v.is_empty() {
                    if k == "state" {
                        states.extend(v.split(',').map(|s| s.to_ascii_uppercase()));
                    } else {
                        let value = match (k.as_str(), v.parse::<u64>()) {
                            ("sport" | "dport" | "zone", Ok(n)) => Value::from(n),
                            _ => Value::from(v),
                        };
                        m.insert(k, value);
                    }
                    continue;
                }
            }
            if tracked_proto(&lower).is_some() && !m.contains_key("proto") {
                m.insert("proto".into(), Value::from(lower));
            } else if states::known(&w.to_ascii_uppercase()) {
                states.push(w.to_ascii_uppercase());
            } else {
                local.push(lower);
            }
        }
        if !states.is_empty() {
            m.insert("state".into(), Value::from(states.join(",")));
        }
        // The words, spelled as a request's filter fields, read as the plugin reads them.
        let (server, error) = if m.is_empty() {
            (None, None)
        } else {
            match decode::from_value::<CtFilter>(Value::Object(m)) {
                Ok(f) => (Some(f), None),
                Err(e) => (None, Some(e)),
            }
        };
        Filter {
            text: text.to_string(),
            server,
            error,
            local,
        }
    }

    /// The filter for the plugin's `list` (`None`: every connection), or why there is
    /// none.
    pub fn request(&self) -> Result<Option<CtFilter>, String> {
        match &self.error {
            Some(e) => Err(e.clone()),
            None => Ok(self.server.clone()),
        }
    }

    /// Whether the filter is empty.
    pub fn is_empty(&self) -> bool {
        self.server.is_none() && self.error.is_none() && self.local.is_empty()
    }

    /// Whether `haystack` (a row's text, any case) contains every local word.
    pub fn matches_local(&self, haystack: &str) -> bool {
        if self.local.is_empty() {
            return true;
        }
        let h = haystack.to_ascii_lowercase();
        self.local.iter().all(|w| h.contains(w.as_str()))
    }

    /// Whether `haystack` contains every word of the filter as typed (for views that
    /// have no server side).
    pub fn matches_all_words(&self, haystack: &str) -> bool {
        let h = haystack.to_ascii_lowercase();
        self.text
            .split_whitespace()
            .all(|w| h.contains(w.to_ascii_lowercase().as_str()))
    }
}
