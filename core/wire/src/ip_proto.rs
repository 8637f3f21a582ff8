//! IP protocol numbers (the IPv4 protocol field, the IPv6 next header) and the
//! lower-case names conntrack-tools and nftables spell them with.

/// IPv6 hop-by-hop options (extension header).
pub const HOPOPTS: u8 = 0;
/// ICMP.
pub const ICMP: u8 = 1;
/// IGMP.
pub const IGMP: u8 = 2;
/// TCP.
pub const TCP: u8 = 6;
/// UDP.
pub const UDP: u8 = 17;
/// DCCP.
pub const DCCP: u8 = 33;
/// IPv6 routing header (extension header).
pub const ROUTING: u8 = 43;
/// IPv6 fragment header (extension header).
pub const FRAGMENT: u8 = 44;
/// GRE.
pub const GRE: u8 = 47;
/// IPsec ESP.
pub const ESP: u8 = 50;
/// IPsec AH (also an IPv6 extension header).
pub const AH: u8 = 51;
/// ICMPv6.
pub const ICMPV6: u8 = 58;
/// IPv6 "no next header".
pub const NONE: u8 = 59;
/// IPv6 destination options (extension header).
pub const DSTOPTS: u8 = 60;
/// SCTP.
pub const SCTP: u8 = 132;
/// UDP-Lite (the port layout of UDP).
pub const UDPLITE: u8 = 136;

/// Protocols known by name: `(name, number)`. A number's first name is the one
/// [`name`] gives; later ones are aliases [`from_name`] also accepts.
pub const NAMES: &[(&str, u8)] = &[
    ("icmp", ICMP),
    ("igmp", IGMP),
    ("tcp", TCP),
    ("udp", UDP),
    ("dccp", DCCP),
    ("gre", GRE),
    ("esp", ESP),
    ("ah", AH),
    ("icmpv6", ICMPV6),
    ("ipv6-icmp", ICMPV6),
    ("sctp", SCTP),
    ("udplite", UDPLITE),
];

/// The name of protocol `p` (`tcp`, `icmpv6`, ...), if it has one.
pub fn name(p: u8) -> Option<&'static str> {
    NAMES.iter().find(|(_, v)| *v == p).map(|(n, _)| *n)
}

/// Protocol `p` for people: its name, or its number when it has none (`6` shows as
/// `tcp`, `253` as `253`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Label(pub u8);

impl core::fmt::Display for Label {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match name(self.0) {
            Some(n) => f.write_str(n),
            None => write!(f, "{}", self.0),
        }
    }
}

/// The number of a protocol name or alias, spelt in lower case as [`NAMES`] has it.
pub fn from_name(name: &str) -> Option<u8> {
    NAMES.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
}
