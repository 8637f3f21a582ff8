//! The plugin's config section: where records go and when, as JSON the engine hands
//! over from the YAML config. Unknown fields are refused; every error names the field.

use crate::element::Element;
use serde::Deserialize;
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

/// One collector or several.
#[derive(Deserialize, Debug, Clone)]
#[serde(untagged)]
enum Collectors {
    One(String),
    Many(Vec<String>),
}

/// The enterprise-specific element `ct mark` is exported as.
#[derive(Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct MarkElement {
    /// The Private Enterprise Number (IANA's registry of them) the element belongs to.
    pub enterprise: u32,
    /// The element's id within that enterprise (1 to 32767).
    pub id: u16,
}

/// The section as written.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct Raw {
    collector: Collectors,
    #[serde(default)]
    domain: u32,
    #[serde(default = "default_template_refresh")]
    template_refresh: u64,
    #[serde(default)]
    template_refresh_messages: u32,
    #[serde(default)]
    active_timeout: u64,
    #[serde(default = "default_queue")]
    queue: u32,
    #[serde(default = "default_max_message")]
    max_message: u32,
    #[serde(default = "default_flush_ms")]
    flush_ms: u64,
    #[serde(default = "default_true")]
    flush_on_stop: bool,
    #[serde(default)]
    mark: Option<MarkElement>,
}

fn default_template_refresh() -> u64 {
    60
}
fn default_queue() -> u32 {
    65_536
}
fn default_max_message() -> u32 {
    1400
}
fn default_flush_ms() -> u64 {
    1000
}
fn default_true() -> bool {
    true
}

/// The plugin's settings, checked.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where messages go (each gets every message).
    pub collectors: Vec<SocketAddr>,
    /// The observation domain id in every message header.
    pub domain: u32,
    /// Templates are sent again after this long (zero: never by time).
    pub template_refresh: Duration,
    /// Templates are sent again after this many data messages (0: never by count).
    pub template_refresh_messages: u32,
    /// A connection alive this long since its last record gets another (zero: only at
    /// its end).
    pub active_timeout: Duration,
    /// Events waiting for the exporter at most; more are lost and counted.
    pub queue: u32,
    /// Bytes of a message at most (the path MTU less IP and UDP headers).
    pub max_message: usize,
    /// A record waits at most this long for others to share its message.
    pub flush: Duration,
    /// At stop, connections still in the table are exported (flowEndReason 4).
    pub flush_on_stop: bool,
    /// The element `ct mark` is exported as; none: not exported.
    pub mark: Option<Element>,
}

/// Parses and checks the section; errors name the field.
pub fn parse(json: &str) -> Result<Settings, String> {
    let de = &mut serde_json::Deserializer::from_str(json);
    let raw: Raw = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        if path == "." {
            format!("config: {}", e.inner())
        } else {
            format!("config: {path}: {}", e.inner())
        }
    })?;
    let list = match raw.collector {
        Collectors::One(s) => vec![s],
        Collectors::Many(v) => v,
    };
    if list.is_empty() {
        return Err("config: collector: no collector given".into());
    }
    let mut collectors = Vec::new();
    for (i, s) in list.iter().enumerate() {
        let field = if list.len() > 1 {
            format!("collector[{i}]")
        } else {
            "collector".into()
        };
        let addr = s
            .to_socket_addrs()
            .map_err(|e| format!("config: {field}: `{s}`: {e} (expected host:port)"))?
            .next()
            .ok_or_else(|| format!("config: {field}: `{s}`: no address"))?;
        if addr.port() == 0 {
            return Err(format!("config: {field}: `{s}`: port 0"));
        }
        collectors.push(addr);
    }
    if raw.queue == 0 {
        return Err("config: queue: must be at least 1".into());
    }
    if !(256..=65_535).contains(&raw.max_message) {
        return Err(format!(
            "config: max_message: {} is outside 256..=65535",
            raw.max_message
        ));
    }
    if raw.flush_ms == 0 || raw.flush_ms > 60_000 {
        return Err(format!(
            "config: flush_ms: {} is outside 1..=60000",
            raw.flush_ms
        ));
    }
    if let Some(m) = raw.mark {
        if m.id == 0 || m.id >= 0x8000 {
            return Err(format!("config: mark.id: {} is outside 1..=32767", m.id));
        }
        if m.enterprise == 0 {
            return Err("config: mark.enterprise: 0 is IANA's, not an enterprise".into());
        }
    }
    Ok(Settings {
        collectors,
        domain: raw.domain,
        template_refresh: Duration::from_secs(raw.template_refresh),
        template_refresh_messages: raw.template_refresh_messages,
        active_timeout: Duration::from_secs(raw.active_timeout),
        queue: raw.queue,
        max_message: raw.max_message as usize,
        flush: Duration::from_millis(raw.flush_ms),
        flush_on_stop: raw.flush_on_stop,
        mark: raw.mark.map(|m| Element::Mark {
            enterprise: m.enterprise,
            id: m.id,
        }),
    })
}
