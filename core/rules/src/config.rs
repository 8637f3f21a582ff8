//! The match vocabulary's serde shapes, as written by users of every plugin with rules:
//! the hook names chains attach to and a rule's `match` conditions. Every struct denies
//! unknown fields. Values whose meaning needs checking (ports, prefixes, marks,
//! protocol and ICMP names) stay [`Scalar`]s or strings here and are validated by
//! [`crate::compile`], which knows the field path of each.

use crate::scalar::{OneOrMany, Scalar};
use serde::Deserialize;

/// The hook a chain attaches to, in nftables' words.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HookName {
    /// PREROUTING.
    Prerouting,
    /// INPUT (LOCAL_IN).
    Input,
    /// FORWARD.
    Forward,
    /// OUTPUT (LOCAL_OUT).
    Output,
    /// POSTROUTING.
    Postrouting,
}

impl HookName {
    /// The lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            HookName::Prerouting => "prerouting",
            HookName::Input => "input",
            HookName::Forward => "forward",
            HookName::Output => "output",
            HookName::Postrouting => "postrouting",
        }
    }
}

/// Conntrack states, as in nftables' `ct state`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CtStateName {
    /// First packet of a connection, or one not yet answered.
    New,
    /// Part of a connection seen in both directions.
    Established,
    /// Starts a connection an expectation announced (e.g. FTP data, ICMP errors).
    Related,
    /// Conntrack could not make sense of it.
    Invalid,
    /// Marked `notrack`.
    Untracked,
}

/// Connection status flags, as in nftables' `ct status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CtStatusName {
    /// Created from an expectation.
    Expected,
    /// Packets were seen in the reply direction.
    SeenReply,
    /// The connection is assured (not evicted early).
    Assured,
    /// In the table (confirmed by an earlier packet).
    Confirmed,
    /// Its source is translated.
    Snat,
    /// Its destination is translated.
    Dnat,
    /// Being removed.
    Dying,
}

/// A packet's direction in its connection, as in nftables' `ct direction`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CtDirectionName {
    /// The direction of the connection's first packet.
    Original,
    /// The answering direction.
    Reply,
}

/// A packet's family, as in `meta nfproto`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FamilyName {
    /// IPv4 (`ip` is accepted too).
    #[serde(alias = "ip")]
    Ipv4,
    /// IPv6 (`ip6` is accepted too).
    #[serde(alias = "ip6")]
    Ipv6,
}

/// A packet's kind of destination, nft's `meta pkttype`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PktTypeName {
    /// To one host (nft also calls it `host`).
    #[serde(alias = "host")]
    Unicast,
    /// To every host of the link (Ethernet broadcast, or 255.255.255.255).
    Broadcast,
    /// To a group (an Ethernet group address, 224.0.0.0/4, ff00::/8).
    Multicast,
}

/// A rule's conditions.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatchCfg {
    /// Conntrack states (any of them).
    #[serde(default)]
    pub ct_state: Option<OneOrMany<CtStateName>>,
    /// Connection status flags (any of them), nft's `ct status`: `expected`,
    /// `seen-reply`, `assured`, `confirmed`, `snat`, `dnat`, `dying`.
    #[serde(default)]
    pub ct_status: Option<OneOrMany<CtStatusName>>,
    /// The packet's direction in its connection, nft's `ct direction`.
    #[serde(default)]
    pub ct_direction: Option<CtDirectionName>,
    /// The connection's mark: `value` or `"value/mask"`.
    #[serde(default)]
    pub ct_mark: Option<Scalar>,
    /// The helper of the connection's master (nft's `ct helper`): a helper name; a
    /// RELATED connection a helper announced matches its helper's name.
    #[serde(default)]
    pub ct_helper: Option<String>,
    /// Connection labels that must all be set (nft's `ct label`): bit numbers 0-127 or
    /// names from `/etc/xtables/connlabel.conf`.
    #[serde(default)]
    pub ct_label: Option<OneOrMany<Scalar>>,
    /// The packet's mark: `value` or `"value/mask"`.
    #[serde(default)]
    pub mark: Option<Scalar>,
    /// Layer-4 protocols (any of them): names or numbers.
    #[serde(default)]
    pub proto: Option<OneOrMany<Scalar>>,
    /// `ipv4` or `ipv6`.
    #[serde(default)]
    pub family: Option<FamilyName>,
    /// Source addresses or prefixes; a `!` prefix excludes.
    #[serde(default)]
    pub saddr: Option<OneOrMany<String>>,
    /// Destination addresses or prefixes; a `!` prefix excludes.
    #[serde(default)]
    pub daddr: Option<OneOrMany<String>>,
    /// Source ports or `"lo-hi"` ranges; a `!` prefix excludes.
    #[serde(default)]
    pub sport: Option<OneOrMany<Scalar>>,
    /// Destination ports or `"lo-hi"` ranges; a `!` prefix excludes.
    #[serde(default)]
    pub dport: Option<OneOrMany<Scalar>>,
    /// Input interfaces, by index or name (any of them; a name is looked up when the
    /// rules load, as nft's `iif` does).
    #[serde(default)]
    pub iif: Option<OneOrMany<Scalar>>,
    /// Output interfaces, by index or name (as `iif`).
    #[serde(default)]
    pub oif: Option<OneOrMany<Scalar>>,
    /// Input interface names, read per packet (nft's `iifname`): names, or prefixes
    /// ending in `*`; any of them.
    #[serde(default)]
    pub iifname: Option<OneOrMany<String>>,
    /// Output interface names, as `iifname`.
    #[serde(default)]
    pub oifname: Option<OneOrMany<String>>,
    /// ICMP or ICMPv6 types: names or numbers.
    #[serde(default)]
    pub icmp_type: Option<OneOrMany<Scalar>>,
    /// ICMP or ICMPv6 codes (any of them): numbers 0-255 (nft's `icmp code`).
    #[serde(default)]
    pub icmp_code: Option<OneOrMany<Scalar>>,
    /// TCP flags (nft's `tcp flags`): `"syn,ack"`, any of them set, or
    /// `"syn/syn,ack,rst"`, the mask's flags set exactly as the value's (names fin, syn,
    /// rst, psh, ack, urg, ecn, cwr).
    #[serde(default)]
    pub tcp_flags: Option<String>,
    /// The IPv4 TTL or IPv6 hop limit (nft's `ip ttl`, `ip6 hoplimit`): numbers or
    /// `"lo-hi"` ranges.
    #[serde(default)]
    pub ttl: Option<OneOrMany<Scalar>>,
    /// DSCP (nft's `ip dscp`, `ip6 dscp`): numbers 0-63 or names (`cs0`-`cs7`,
    /// `af11`-`af43`, `ef`).
    #[serde(default)]
    pub dscp: Option<OneOrMany<Scalar>>,
    /// The IP datagram's length in bytes (nft's `meta length`): numbers or ranges.
    #[serde(default)]
    pub length: Option<OneOrMany<Scalar>>,
    /// The connection's zone (nft's `ct zone`).
    #[serde(default)]
    pub ct_zone: Option<u16>,
    /// The kind of destination (nft's `meta pkttype`): `unicast` (`host`),
    /// `broadcast`, `multicast`; any of them.
    #[serde(default)]
    pub pkttype: Option<OneOrMany<PktTypeName>>,
}
