//! Link layers: Ethernet, VLAN, QinQ, SLL, SLL2, BSD loopback, raw IP, non-IP frames.

use super::build::*;
use crate::{parse_frame, Family, LinkType, ParseError, L4};

#[test]
fn ethernet_ipv4_udp() {
    let f = eth(ETH_IPV4, &ip4(17, &udp(5353, 53, b"q")));
    let p = parse_frame(LinkType::Ethernet, &f).unwrap();
    assert_eq!((p.l3_off, p.l3_len, p.family), (14, 29, Family::Ipv4));
    assert_eq!((p.l4_off, p.payload_off, p.l4proto), (34, 42, 17));
    assert_eq!(
        p.l4,
        L4::Udp {
            sport: 5353,
            dport: 53
        }
    );
    assert_eq!((p.vlan, p.flags, p.frag), (None, 0, None));
}

#[test]
fn ethernet_padding_is_not_datagram() {
    let mut f = eth(ETH_IPV4, &ip4(17, &udp(1, 2, b"")));
    f.resize(60, 0);
    let p = parse_frame(LinkType::Ethernet, &f).unwrap();
    assert_eq!(p.l3_len, 28);
}

#[test]
fn single_vlan() {
    let f = eth(0x8100, &vlan(42, ETH_IPV6, &ipv6(17, &udp(1, 2, b"x"))));
    let p = parse_frame(LinkType::Ethernet, &f).unwrap();
    assert_eq!((p.vlan, p.l3_off, p.family), (Some(42), 18, Family::Ipv6));
    assert_eq!(p.l4, L4::Udp { sport: 1, dport: 2 });
}

#[test]
fn qinq_reports_outer_vlan() {
    let inner = vlan(7, ETH_IPV4, &ip4(17, &udp(1, 2, b"")));
    let f = eth(0x88a8, &vlan(0x3ff, 0x8100, &inner));
    let p = parse_frame(LinkType::Ethernet, &f).unwrap();
    assert_eq!((p.vlan, p.l3_off), (Some(0x3ff), 22));
    assert_eq!(p.l4proto, 17);
}

#[test]
fn vlan_tag_cut() {
    let f = eth(0x8100, &[0, 1]);
    let e = parse_frame(LinkType::Ethernet, &f).unwrap_err();
    assert!(
        matches!(e, ParseError::Truncated { layer: "vlan", .. }),
        "{e:?}"
    );
    assert_eq!(e.reason(), "truncated-l2");
}

#[test]
fn linux_sll() {
    let f = sll(1, ETH_IPV4, &ip4(6, &tcp(1, 2, 0x10, &[], b"")));
    let p = parse_frame(LinkType::LinuxSll, &f).unwrap();
    assert_eq!((p.l3_off, p.l4_off, p.payload_off), (16, 36, 56));
    assert!(matches!(p.l4, L4::Tcp { flags: 0x10, .. }));
}

#[test]
fn linux_sll_loopback_device() {
    // ARPHRD_LOOPBACK (772): the protocol is an ethertype.
    let f = sll(772, ETH_IPV6, &ipv6(17, &udp(1, 2, b"")));
    let p = parse_frame(LinkType::LinuxSll, &f).unwrap();
    assert_eq!((p.l3_off, p.family), (16, Family::Ipv6));
}

#[test]
fn linux_sll_non_ip() {
    let f = sll(1, 0x0806, &[0; 28]);
    let e = parse_frame(LinkType::LinuxSll, &f).unwrap_err();
    assert_eq!(e, ParseError::NotIp { ethertype: 0x0806 });
}

#[test]
fn linux_sll2() {
    let f = sll2(ETH_IPV4, &ip4(17, &udp(68, 67, b"")));
    let p = parse_frame(LinkType::LinuxSll2, &f).unwrap();
    assert_eq!((p.l3_off, p.l4_off), (20, 40));
    assert_eq!(
        p.l4,
        L4::Udp {
            sport: 68,
            dport: 67
        }
    );
    let e = parse_frame(LinkType::LinuxSll2, &f[..19]).unwrap_err();
    assert!(matches!(
        e,
        ParseError::Truncated {
            layer: "linux-sll2",
            need: 20,
            have: 19
        }
    ));
}

#[test]
fn bsd_loopback_both_byte_orders() {
    for family in [2u32.to_le_bytes(), 2u32.to_be_bytes()] {
        let mut f = family.to_vec();
        f.extend_from_slice(&ip4(17, &udp(1, 2, b"")));
        let p = parse_frame(LinkType::Null, &f).unwrap();
        assert_eq!((p.l3_off, p.family), (4, Family::Ipv4));
    }
    for family in [24u32, 28, 30] {
        let mut f = family.to_le_bytes().to_vec();
        f.extend_from_slice(&ipv6(17, &udp(1, 2, b"")));
        assert_eq!(
            parse_frame(LinkType::Null, &f).unwrap().family,
            Family::Ipv6
        );
    }
    let mut f = 7u32.to_le_bytes().to_vec();
    f.extend_from_slice(&[0; 20]);
    assert_eq!(
        parse_frame(LinkType::Null, &f).unwrap_err(),
        ParseError::NotIp { ethertype: 7 }
    );
}

#[test]
fn raw_ip_picks_version() {
    let v4 = ip4(17, &udp(1, 2, b""));
    let v6 = ipv6(17, &udp(1, 2, b""));
    assert_eq!(
        parse_frame(LinkType::Raw, &v4).unwrap().family,
        Family::Ipv4
    );
    assert_eq!(
        parse_frame(LinkType::Raw, &v6).unwrap().family,
        Family::Ipv6
    );
    assert_eq!(parse_frame(LinkType::Ipv4, &v4).unwrap().l3_off, 0);
    assert_eq!(parse_frame(LinkType::Ipv6, &v6).unwrap().l4_off, 40);
    let e = parse_frame(LinkType::Raw, &[0x50; 40]).unwrap_err();
    assert_eq!(
        (e.clone(), e.reason()),
        (ParseError::BadIpVersion(5), "bad-ip-version")
    );
    let e = parse_frame(LinkType::Ipv4, &v6).unwrap_err();
    assert_eq!(e.reason(), "bad-ipv4-header");
    let e = parse_frame(LinkType::Raw, &[]).unwrap_err();
    assert_eq!(e.reason(), "truncated-l3");
}

#[test]
fn non_ip_frames() {
    let arp = eth(0x0806, &[0; 28]);
    let e = parse_frame(LinkType::Ethernet, &arp).unwrap_err();
    assert_eq!(e, ParseError::NotIp { ethertype: 0x0806 });
    assert_eq!(e.reason(), "not-ip");
    let lldp = eth(0x88cc, &[0; 30]);
    assert_eq!(
        parse_frame(LinkType::Ethernet, &lldp).unwrap_err(),
        ParseError::NotIp { ethertype: 0x88cc }
    );
    // 802.3 with an LLC header: the type field is a length.
    let llc = eth(0x0026, &[0x42, 0x42, 0x03, 0, 0]);
    assert!(matches!(
        parse_frame(LinkType::Ethernet, &llc),
        Err(ParseError::NotIp { .. })
    ));
    let vlan_arp = eth(0x8100, &vlan(5, 0x0806, &[0; 28]));
    assert!(matches!(
        parse_frame(LinkType::Ethernet, &vlan_arp),
        Err(ParseError::NotIp { .. })
    ));
}

#[test]
fn short_ethernet_and_unknown_link() {
    let e = parse_frame(LinkType::Ethernet, &[0; 13]).unwrap_err();
    assert_eq!(
        e,
        ParseError::Truncated {
            layer: "ethernet",
            need: 14,
            have: 13
        }
    );
    let e = parse_frame(LinkType::Other(147), &[0; 40]).unwrap_err();
    assert_eq!(
        (e.clone(), e.reason()),
        (ParseError::UnsupportedLink(147), "unsupported-link")
    );
}

#[test]
fn link_type_numbers() {
    for dlt in [0, 1, 101, 113, 228, 229, 276, 147] {
        assert_eq!(LinkType::from_dlt(dlt).dlt(), dlt);
    }
    assert_eq!(LinkType::from_dlt(12), LinkType::Raw);
    assert_eq!(LinkType::from_dlt(276).name(), "linux-sll2");
    assert_eq!(LinkType::Other(147).to_string(), "linktype-147");
}

#[test]
fn linux_sll_protocol_that_is_no_ethertype() {
    // Netlink, radiotap and Frame Relay devices: the protocol field is not an
    // ethertype, even when it reads 0x0800.
    for arphrd in [824, 803, 770] {
        let f = sll(arphrd, ETH_IPV4, &ip4(17, &udp(1, 2, b"")));
        let e = parse_frame(LinkType::LinuxSll, &f).unwrap_err();
        assert_eq!(e, ParseError::NotIp { ethertype: 0x0800 });
    }
    // An IP GRE tunnel device, or a packet type Linux does not define: an ethertype.
    let f = sll(778, ETH_IPV4, &ip4(17, &udp(1, 2, b"")));
    assert_eq!(parse_frame(LinkType::LinuxSll, &f).unwrap().l3_off, 16);
    let mut f = sll(824, ETH_IPV4, &ip4(17, &udp(1, 2, b"")));
    f[1] = 9;
    assert_eq!(parse_frame(LinkType::LinuxSll, &f).unwrap().l3_off, 16);
    let e = parse_frame(LinkType::LinuxSll, &f[..15]).unwrap_err();
    assert_eq!(
        e,
        ParseError::Truncated {
            layer: "linux-sll",
            need: 16,
            have: 15
        }
    );
}
