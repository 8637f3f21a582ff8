//! Address prefixes: parsing, membership, display.

use crate::{Cidr, CidrError};
use std::net::IpAddr;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn cidr(s: &str) -> Cidr {
    s.parse().unwrap()
}

#[test]
fn parses_networks_and_bare_addresses() {
    let n = cidr("10.0.0.0/8");
    assert_eq!(
        (n.addr(), n.prefix(), n.max_prefix()),
        (ip("10.0.0.0"), 8, 32)
    );
    let h = cidr("2001:db8::1");
    assert_eq!((h.prefix(), h.max_prefix()), (128, 128));
    assert_eq!(h, Cidr::host(ip("2001:db8::1")));
    assert_eq!(cidr(" 10.1.0.0 / 16 "), cidr("10.1.0.0/16"));
    assert_eq!(cidr("0.0.0.0/0").prefix(), 0);
}

#[test]
fn parse_errors() {
    for bad in ["10.0.0", "", "/8", "10.0.0.300/8", "fe80::x"] {
        assert_eq!(bad.parse::<Cidr>(), Err(CidrError::Address), "{bad:?}");
    }
    assert_eq!(
        "10.0.0.0/33".parse::<Cidr>(),
        Err(CidrError::Prefix { max: 32 })
    );
    assert_eq!(
        "::/129".parse::<Cidr>(),
        Err(CidrError::Prefix { max: 128 })
    );
    assert_eq!(
        "10.0.0.0/x".parse::<Cidr>(),
        Err(CidrError::Prefix { max: 32 })
    );
    assert_eq!(Cidr::new(ip("10.0.0.0"), 33), None);
}

#[test]
fn contains() {
    let n = cidr("10.1.0.0/16");
    assert!(n.contains(ip("10.1.255.3")));
    assert!(!n.contains(ip("10.2.0.1")));
    assert!(!n.contains(ip("::ffff:10.1.0.1")));
    assert!(cidr("0.0.0.0/0").contains(ip("255.255.255.255")));
    assert!(!cidr("0.0.0.0/0").contains(ip("::")));
    assert!(cidr("::/0").contains(ip("2001:db8::1")));
    let v6 = cidr("2001:db8:80::/41");
    assert!(v6.contains(ip("2001:db8:ff::1")));
    assert!(!v6.contains(ip("2001:db8:100::1")));
    // Host bits beyond the prefix do not matter.
    assert!(cidr("10.0.0.1/8").contains(ip("10.200.0.0")));
    assert!(cidr("192.0.2.7").contains(ip("192.0.2.7")));
    assert!(!cidr("192.0.2.7").contains(ip("192.0.2.6")));
    // Odd prefix lengths cut inside a byte.
    assert!(cidr("192.0.2.64/27").contains(ip("192.0.2.95")));
    assert!(!cidr("192.0.2.64/27").contains(ip("192.0.2.96")));
}

#[test]
fn network_and_host_bits() {
    let n = cidr("10.0.0.1/8");
    assert_eq!(n.network(), ip("10.0.0.0"));
    assert!(n.has_host_bits());
    assert!(!cidr("10.0.0.0/8").has_host_bits());
    assert_eq!(cidr("2001:db8::ff/120").network(), ip("2001:db8::"));
    assert!(!cidr("::1").has_host_bits());
}

#[test]
fn display() {
    assert_eq!(cidr("10.0.0.0/8").to_string(), "10.0.0.0/8");
    assert_eq!(cidr("10.0.0.9/32").to_string(), "10.0.0.9");
    assert_eq!(cidr("2001:db8::/32").to_string(), "2001:db8::/32");
    assert_eq!(
        CidrError::Prefix { max: 128 }.to_string(),
        "prefix length not in 0-128"
    );
}
