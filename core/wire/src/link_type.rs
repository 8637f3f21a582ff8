//! [`LinkType`]: the link-layer header type of a capture or interface.

use core::fmt;

/// Link-layer type of a capture or interface (pcap `LINKTYPE_`/`DLT_` values).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LinkType {
    /// Ethernet II, possibly VLAN-tagged (1).
    Ethernet,
    /// Raw IP, version from the first nibble (101; also 12, `DLT_RAW` on some systems).
    Raw,
    /// Raw IPv4 (228).
    Ipv4,
    /// Raw IPv6 (229).
    Ipv6,
    /// Linux cooked capture v1, 16-byte header (113).
    LinuxSll,
    /// Linux cooked capture v2, 20-byte header (276).
    LinuxSll2,
    /// BSD loopback: a 4-byte address family in the capturing host's byte order (0).
    Null,
    /// Any other link type, by its number.
    Other(u32),
}

impl LinkType {
    /// The link type with this `LINKTYPE_`/`DLT_` number.
    pub fn from_dlt(v: u32) -> LinkType {
        match v {
            0 => LinkType::Null,
            1 => LinkType::Ethernet,
            12 | 101 => LinkType::Raw,
            113 => LinkType::LinuxSll,
            228 => LinkType::Ipv4,
            229 => LinkType::Ipv6,
            276 => LinkType::LinuxSll2,
            other => LinkType::Other(other),
        }
    }

    /// The `LINKTYPE_` number written to capture files (raw IP is 101).
    pub fn dlt(self) -> u32 {
        match self {
            LinkType::Null => 0,
            LinkType::Ethernet => 1,
            LinkType::Raw => 101,
            LinkType::LinuxSll => 113,
            LinkType::Ipv4 => 228,
            LinkType::Ipv6 => 229,
            LinkType::LinuxSll2 => 276,
            LinkType::Other(v) => v,
        }
    }

    /// Short lower-case name (`ethernet`, `raw`, `linux-sll`, ...; `other` for the rest).
    pub fn name(self) -> &'static str {
        match self {
            LinkType::Ethernet => "ethernet",
            LinkType::Raw => "raw",
            LinkType::Ipv4 => "ipv4",
            LinkType::Ipv6 => "ipv6",
            LinkType::LinuxSll => "linux-sll",
            LinkType::LinuxSll2 => "linux-sll2",
            LinkType::Null => "null",
            LinkType::Other(_) => "other",
        }
    }
}

impl fmt::Display for LinkType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkType::Other(v) => write!(f, "linktype-{v}"),
            known => f.write_str(known.name()),
        }
    }
}
