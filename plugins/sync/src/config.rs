//! The plugin's config section, modelled on conntrackd's `Sync` section:
//!
//! ```yaml
//! - builtin: sync
//!   config:
//!     mode: notrack                        # conntrackd's `Mode NOTRACK { }`
//!     udp:                                 # conntrackd's `UDP { }`
//!       ipv4_address: 192.168.100.100      # IPv4_address: ours, on the dedicated link
//!       ipv4_destination_address: 192.168.100.101  # IPv4_Destination_Address: the peer
//!       port: 3780                         # Port (both ends)
//!       interface: eth2                    # Interface (optional)
//!     queue: 65536                         # events waiting to be sent, at most
//!     external_cache_max: 262144           # the peer's connections kept, at most
//! ```
//!
//! The JSON the engine hands over from the YAML; unknown fields are refused and every
//! error names its field.

use serde::Deserialize;
use std::net::Ipv4Addr;

/// The synchronisation mode.
#[derive(Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// No reliability: messages are sent once, ALIVE when there is nothing to send.
    Notrack,
}

/// The UDP link, as conntrackd's `UDP` section.
#[derive(Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Udp {
    /// Our address on the link: the socket is bound to it and the port.
    pub ipv4_address: Ipv4Addr,
    /// The peer's address.
    pub ipv4_destination_address: Ipv4Addr,
    /// The port, ours and the peer's.
    #[serde(default = "default_port")]
    pub port: u16,
    /// The dedicated link's interface (the socket is bound to it).
    #[serde(default)]
    pub interface: Option<String>,
}

fn default_port() -> u16 {
    3780
}

fn default_queue() -> u32 {
    65_536
}

/// The section.
#[derive(Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The mode.
    pub mode: Mode,
    /// The link.
    pub udp: Udp,
    /// Events waiting for the sending thread at most; more are lost and counted.
    #[serde(default = "default_queue")]
    pub queue: u32,
    /// The peer's connections kept at most; more are refused and counted.
    #[serde(default = "default_cache_max")]
    pub external_cache_max: usize,
}

fn default_cache_max() -> usize {
    262_144
}

/// Parses and checks the section; errors name the field.
pub fn parse(json: &str) -> Result<Settings, String> {
    let de = &mut serde_json::Deserializer::from_str(json);
    let s: Settings = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        if path == "." {
            format!("config: {}", e.inner())
        } else {
            format!("config: {path}: {}", e.inner())
        }
    })?;
    if s.udp.port == 0 {
        return Err("config: udp.port: must not be 0".into());
    }
    if s.queue == 0 {
        return Err("config: queue: must not be 0".into());
    }
    if let Some(i) = &s.udp.interface {
        if i.is_empty() || i.len() > 15 {
            return Err(format!(
                "config: udp.interface: {i:?} is not an interface name"
            ));
        }
    }
    Ok(s)
}
