//! Name tables of ICMP and ICMPv6 message types, with nftables' spelling, for parsing
//! configs and for the text form of rules (protocol names are the wire crate's
//! [`brickwall_wire::ip_proto`]).

use brickwall_wire::ip_proto::{SCTP, TCP, UDP};

/// ICMP (IPv4) message types by name.
pub const ICMP_TYPES: &[(&str, u8)] = &[
    ("echo-reply", 0),
    ("destination-unreachable", 3),
    ("source-quench", 4),
    ("redirect", 5),
    ("echo-request", 8),
    ("router-advertisement", 9),
    ("router-solicitation", 10),
    ("time-exceeded", 11),
    ("parameter-problem", 12),
    ("timestamp-request", 13),
    ("timestamp-reply", 14),
    ("info-request", 15),
    ("info-reply", 16),
    ("address-mask-request", 17),
    ("address-mask-reply", 18),
];

/// ICMPv6 message types by name.
pub const ICMPV6_TYPES: &[(&str, u8)] = &[
    ("destination-unreachable", 1),
    ("packet-too-big", 2),
    ("time-exceeded", 3),
    ("parameter-problem", 4),
    ("echo-request", 128),
    ("echo-reply", 129),
    ("mld-listener-query", 130),
    ("mld-listener-report", 131),
    ("mld-listener-done", 132),
    ("mld-listener-reduction", 132),
    ("nd-router-solicit", 133),
    ("nd-router-advert", 134),
    ("nd-neighbor-solicit", 135),
    ("nd-neighbor-advert", 136),
    ("nd-redirect", 137),
    ("router-renumbering", 138),
    ("ind-neighbor-solicit", 141),
    ("ind-neighbor-advert", 142),
    ("mld2-listener-report", 143),
];

/// Looks a name up in a table (case-insensitive).
pub fn lookup(table: &[(&str, u8)], name: &str) -> Option<u8> {
    table
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| *v)
}

/// The first name of a number in a table, if it has one.
pub fn name_of(table: &[(&'static str, u8)], value: u8) -> Option<&'static str> {
    table.iter().find(|(_, v)| *v == value).map(|(n, _)| *n)
}

/// Whether ports can be matched on this protocol (TCP, UDP, SCTP).
pub fn has_ports(proto: u8) -> bool {
    matches!(proto, TCP | UDP | SCTP)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_both_ways() {
        assert_eq!(lookup(ICMP_TYPES, "echo-request"), Some(8));
        assert_eq!(lookup(ICMPV6_TYPES, "echo-request"), Some(128));
        assert_eq!(name_of(ICMPV6_TYPES, 132), Some("mld-listener-done"));
        assert_eq!(lookup(ICMP_TYPES, "nd-neighbor-solicit"), None);
        assert!(has_ports(SCTP) && !has_ports(brickwall_wire::ip_proto::ICMP));
    }
}
