//! Protocol numbers and names.

use crate::ip_proto::*;

#[test]
fn names_both_ways() {
    for (n, p) in [("tcp", 6), ("udp", 17), ("icmpv6", 58), ("udplite", 136)] {
        assert_eq!((name(p), from_name(n)), (Some(n), Some(p)));
    }
    assert_eq!(from_name("ipv6-icmp"), Some(ICMPV6));
    assert_eq!(name(ICMPV6), Some("icmpv6"));
    assert_eq!((name(NONE), name(255)), (None, None));
    assert_eq!((from_name("TCP"), from_name("unknown")), (None, None));
}

#[test]
fn every_number_has_one_first_name() {
    for (n, p) in NAMES {
        assert_eq!(from_name(n), Some(*p));
        assert!(name(*p).is_some());
    }
}
