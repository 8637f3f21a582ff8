//! The plugin's config section, modelled on conntrackd's `Sync` section:
//!
//! ```yaml
//! - builtin: sync
//!   config:
//!     mode: notrack                        # conntrackd's `Mode NOTRACK { }`, or ftfw
//!     ack_window_size: 300                 # FTFW's ACKWindowSize
//!     resend_queue_size: 131072            # FTFW's ResendQueueSize
//!     udp:                                 # conntrackd's `UDP { }`
//!       ipv4_address: 192.168.100.100      # IPv4_address: ours, on the dedicated link
//!       ipv4_destination_address: 192.168.100.101  # IPv4_Destination_Address: the peer
//!       # or ipv6_address and ipv6_destination_address (IPv6_address, IPv6_Destination_Address)
//!       port: 3780                         # Port (both ends)
//!       interface: eth2                    # Interface (optional)
//!     # or, in place of `udp`, conntrackd's `Multicast { }`:
//!     multicast:
//!       ipv4_address: 225.0.0.50           # IPv4_address: the group
//!       group: 3780                        # Group: the port
//!       ipv4_interface: 192.168.100.100    # IPv4_interface: ours, on the dedicated link
//!       interface: eth2                    # Interface (optional)
//!       peer: 192.168.100.101              # the only sender accepted (conntrackd has none)
//!     startup_resync: false                # StartupResync: ask the peer for its states at start
//!     queue: 65536                         # events waiting to be sent, at most
//!     external_cache_max: 262144           # the peer's connections kept, at most
//! ```
//!
//! The JSON the engine hands over from the YAML; unknown fields are refused and every
//! error names its field.

use serde::Deserialize;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The synchronisation mode.
#[derive(Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// No reliability: messages are sent once, ALIVE when there is nothing to send.
    Notrack,
    /// conntrackd's reliable mode: acknowledgements, resend requests, HELLO.
    Ftfw,
}

/// The UDP link, as conntrackd's `UDP` section: IPv4 or IPv6 addresses, ours and the
/// peer's.
#[derive(Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Udp {
    /// Our IPv4 address on the link: the socket is bound to it and the port.
    #[serde(default)]
    pub ipv4_address: Option<Ipv4Addr>,
    /// The peer's IPv4 address.
    #[serde(default)]
    pub ipv4_destination_address: Option<Ipv4Addr>,
    /// Our IPv6 address on the link (in place of the IPv4 ones).
    #[serde(default)]
    pub ipv6_address: Option<Ipv6Addr>,
    /// The peer's IPv6 address.
    #[serde(default)]
    pub ipv6_destination_address: Option<Ipv6Addr>,
    /// The port, ours and the peer's.
    #[serde(default = "default_port")]
    pub port: u16,
    /// The dedicated link's interface (the socket is bound to it).
    #[serde(default)]
    pub interface: Option<String>,
}

impl Udp {
    /// Our address and the peer's: both IPv4 or both IPv6 (none otherwise, which
    /// [`parse`] refuses).
    pub fn addresses(&self) -> Option<(IpAddr, IpAddr)> {
        match (
            self.ipv4_address,
            self.ipv4_destination_address,
            self.ipv6_address,
            self.ipv6_destination_address,
        ) {
            (Some(a), Some(b), None, None) => Some((a.into(), b.into())),
            (None, None, Some(a), Some(b)) => Some((a.into(), b.into())),
            _ => None,
        }
    }
}

/// The multicast link, as conntrackd's `Multicast` section, and the peer accepted.
#[derive(Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Multicast {
    /// The group.
    pub ipv4_address: Ipv4Addr,
    /// The port (conntrackd calls it `Group`).
    #[serde(default = "default_port")]
    pub group: u16,
    /// Our address on the link: the group is joined and sent to through it.
    pub ipv4_interface: Ipv4Addr,
    /// The dedicated link's interface (the sockets are bound to it).
    #[serde(default)]
    pub interface: Option<String>,
    /// The peer's address: datagrams from any other are dropped unread.
    pub peer: Ipv4Addr,
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
    /// The link, unicast.
    #[serde(default)]
    pub udp: Option<Udp>,
    /// The link, multicast.
    #[serde(default)]
    pub multicast: Option<Multicast>,
    /// Events waiting for the sending thread at most; more are lost and counted.
    #[serde(default = "default_queue")]
    pub queue: u32,
    /// FTFW: acknowledge the peer's messages once per this many (conntrackd's
    /// `ACKWindowSize`).
    #[serde(default = "default_ack_window")]
    pub ack_window_size: u32,
    /// FTFW: messages kept until acknowledged, at most (conntrackd's
    /// `ResendQueueSize`); the oldest is dropped and counted past it.
    #[serde(default = "default_resend_queue")]
    pub resend_queue_size: usize,
    /// At start, ask the peer for all its states (conntrackd's `StartupResync`).
    #[serde(default)]
    pub startup_resync: bool,
    /// The peer's connections kept at most; more are refused and counted.
    #[serde(default = "default_cache_max")]
    pub external_cache_max: usize,
}

fn default_ack_window() -> u32 {
    300
}

fn default_resend_queue() -> usize {
    131_072
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
    let (port, interface, field) = match (&s.udp, &s.multicast) {
        (Some(u), None) => {
            if u.addresses().is_none() {
                return Err("config: udp.ipv4_address: ipv4_address and \
                            ipv4_destination_address, or ipv6_address and \
                            ipv6_destination_address, are needed"
                    .into());
            }
            (u.port, &u.interface, "udp")
        }
        (None, Some(m)) => {
            if !m.ipv4_address.is_multicast() {
                return Err(format!(
                    "config: multicast.ipv4_address: {} is not a multicast group",
                    m.ipv4_address
                ));
            }
            (m.group, &m.interface, "multicast")
        }
        (None, None) => return Err("config: udp: a link is needed (udp or multicast)".into()),
        (Some(_), Some(_)) => {
            return Err("config: multicast: one link only (udp or multicast)".into())
        }
    };
    if port == 0 {
        let name = if field == "udp" { "port" } else { "group" };
        return Err(format!("config: {field}.{name}: must not be 0"));
    }
    if let Some(i) = interface {
        if i.is_empty() || i.len() > 15 {
            return Err(format!(
                "config: {field}.interface: {i:?} is not an interface name"
            ));
        }
    }
    if s.ack_window_size == 0 {
        return Err("config: ack_window_size: must not be 0".into());
    }
    if s.queue == 0 {
        return Err("config: queue: must not be 0".into());
    }
    Ok(s)
}

impl Settings {
    /// The one address datagrams are accepted from.
    pub fn peer(&self) -> IpAddr {
        match (&self.udp, &self.multicast) {
            (Some(u), _) => u
                .addresses()
                .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |(_, p)| p),
            (None, Some(m)) => IpAddr::V4(m.peer),
            (None, None) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        }
    }
}
