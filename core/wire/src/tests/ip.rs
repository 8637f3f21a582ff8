//! IPv4 (options, lengths, fragments) and IPv6 (extension headers, fragments), and
//! datagrams quoted in ICMP errors.

use super::build::*;
use crate::{flags, parse_datagram, parse_frame, Family, FragInfo, LinkType, ParseError, L4};

#[test]
fn ipv4_options() {
    // Record route (7 bytes) + end of options, padded to 8.
    let opts = [7, 7, 4, 0, 0, 0, 0, 0];
    let f = eth(
        ETH_IPV4,
        &ipv4(V4::proto(17), &opts, &udp(1000, 2000, b"abc")),
    );
    let p = parse_frame(LinkType::Ethernet, &f).unwrap();
    assert_eq!((p.l4_off, p.payload_off, p.l3_len), (42, 50, 39));
    assert_eq!(
        p.l4,
        L4::Udp {
            sport: 1000,
            dport: 2000
        }
    );
}

#[test]
fn ipv4_total_length_clipped_to_capture() {
    let mut d = ip4(17, &udp(1, 2, &[0; 100]));
    d.truncate(60); // as a snap length would
    let p = parse_datagram(&d).unwrap();
    assert_eq!(p.l3_len, 60);
    assert_eq!(p.l4, L4::Udp { sport: 1, dport: 2 });
    assert!(!p.has(flags::L4_MALFORMED));
}

#[test]
fn ipv4_bad_headers() {
    let mut d = ip4(17, &udp(1, 2, b""));
    d[0] = 0x44; // header length 16
    let e = parse_datagram(&d).unwrap_err();
    assert!(
        matches!(
            e,
            ParseError::BadIpHeader {
                family: Family::Ipv4,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(e.reason(), "bad-ipv4-header");

    let mut d = ip4(17, &udp(1, 2, b""));
    d[2..4].copy_from_slice(&19u16.to_be_bytes());
    assert_eq!(parse_datagram(&d).unwrap_err().reason(), "bad-ipv4-header");

    let mut d = ip4(17, &udp(1, 2, b""));
    d[0] = 0x46; // options announced but absent
    d.truncate(22);
    let e = parse_datagram(&d).unwrap_err();
    assert_eq!(
        e,
        ParseError::Truncated {
            layer: "ipv4",
            need: 24,
            have: 22
        }
    );
    assert_eq!(e.reason(), "truncated-l3");

    let v6_in_v4 = eth(ETH_IPV4, &ipv6(17, &udp(1, 2, b"")));
    assert_eq!(
        parse_frame(LinkType::Ethernet, &v6_in_v4)
            .unwrap_err()
            .reason(),
        "bad-ipv4-header"
    );
}

#[test]
fn ipv4_fragments() {
    let first = V4 {
        proto: 6,
        id: 77,
        frag_units: 0,
        mf: true,
    };
    let p = parse_datagram(&ipv4(first, &[], &tcp(1, 2, 0x02, &[], &[0; 8]))).unwrap();
    assert_eq!(p.flags, flags::FRAGMENT);
    assert_eq!(
        p.frag,
        Some(FragInfo {
            id: 77,
            offset: 0,
            more_fragments: true
        })
    );
    assert!(matches!(
        p.l4,
        L4::Tcp {
            sport: 1,
            dport: 2,
            ..
        }
    ));

    let later = V4 {
        proto: 6,
        id: 77,
        frag_units: 3,
        mf: false,
    };
    let p = parse_datagram(&ipv4(later, &[], &[0xaa; 16])).unwrap();
    assert_eq!(p.flags, flags::FRAGMENT | flags::LATER_FRAGMENT);
    assert_eq!(
        p.frag,
        Some(FragInfo {
            id: 77,
            offset: 24,
            more_fragments: false
        })
    );
    assert_eq!(
        (p.l4, p.l4proto, p.l4_off, p.payload_off),
        (L4::None, 6, 20, 20)
    );
}

#[test]
fn ipv6_hop_by_hop_and_fragment() {
    let seg = udp(546, 547, b"dhcp");
    let frag = frag_ext(17, 0xdead_beef, 0, true, &seg);
    let f = eth(ETH_IPV6, &ipv6(0, &opts_ext(44, &frag)));
    let p = parse_frame(LinkType::Ethernet, &f).unwrap();
    assert_eq!(
        (p.l4proto, p.l4_off, p.payload_off),
        (17, 14 + 40 + 8 + 8, 14 + 40 + 8 + 8 + 8)
    );
    assert_eq!(p.flags, flags::FRAGMENT);
    assert_eq!(
        p.frag,
        Some(FragInfo {
            id: 0xdead_beef,
            offset: 0,
            more_fragments: true
        })
    );
    assert_eq!(
        p.l4,
        L4::Udp {
            sport: 546,
            dport: 547
        }
    );
}

#[test]
fn ipv6_later_fragment_stops_at_fragment_header() {
    // The data after the fragment header is not a header, even if `next` says so.
    let frag = frag_ext(60, 9, 100, false, &[0xff; 24]);
    let p = parse_datagram(&ipv6(0, &opts_ext(44, &frag))).unwrap();
    assert_eq!(p.flags, flags::FRAGMENT | flags::LATER_FRAGMENT);
    assert_eq!((p.l4proto, p.l4, p.l4_off), (60, L4::None, 56));
    assert_eq!(
        p.frag,
        Some(FragInfo {
            id: 9,
            offset: 800,
            more_fragments: false
        })
    );
}

#[test]
fn ipv6_atomic_fragment_is_a_fragment() {
    let p = parse_datagram(&ipv6(44, &frag_ext(17, 1, 0, false, &udp(1, 2, b"")))).unwrap();
    assert_eq!(p.flags, flags::FRAGMENT);
    assert_eq!(p.l4, L4::Udp { sport: 1, dport: 2 });
}

#[test]
fn ipv6_destination_options_before_tcp() {
    let p = parse_datagram(&ipv6(60, &opts_ext(6, &tcp(1, 2, 0x12, &[], b"")))).unwrap();
    assert_eq!((p.l4proto, p.l4_off, p.payload_off), (6, 48, 68));
    assert!(matches!(
        p.l4,
        L4::Tcp {
            flags: 0x12,
            window: 0xfaf0,
            ..
        }
    ));
}

#[test]
fn ipv6_truncated_extension() {
    let mut d = ipv6(0, &opts_ext(17, &udp(1, 2, b"")));
    d.truncate(45);
    let e = parse_datagram(&d).unwrap_err();
    assert!(
        matches!(
            e,
            ParseError::Truncated {
                layer: "ipv6-ext",
                need: 8,
                have: 5
            }
        ),
        "{e:?}"
    );
    assert_eq!(e.reason(), "truncated-l3");
    let e = parse_datagram(&d[..39]).unwrap_err();
    assert_eq!(
        e,
        ParseError::Truncated {
            layer: "ipv6",
            need: 40,
            have: 39
        }
    );
}

#[test]
fn ipv6_no_next_header() {
    let p = parse_datagram(&ipv6(59, &[])).unwrap();
    assert_eq!((p.l4proto, p.l4, p.flags), (59, L4::Other(59), 0));
    assert_eq!((p.l4_off, p.payload_off), (40, 40));
}

#[test]
fn icmp_error_quote_parses_truncated() {
    // The quote of an ICMP error: an IPv4 header claiming 1000 bytes, then 8 bytes of TCP.
    let mut inner = ip4(6, &tcp(33000, 443, 0x18, &[], &[0; 972]));
    inner.truncate(28);
    let p = parse_datagram(&inner).unwrap();
    assert_eq!(p.l3_len, 28);
    assert!(p.has(flags::L4_MALFORMED));
    assert_eq!(
        p.l4,
        L4::Tcp {
            sport: 33000,
            dport: 443,
            seq: 1000,
            ack: 0,
            flags: 0,
            window: 0
        }
    );

    let outer = ip4(1, &[[3, 3, 0, 0, 0, 0, 0, 0].as_slice(), &inner].concat());
    let p = parse_datagram(&outer).unwrap();
    assert_eq!(
        p.l4,
        L4::Icmp {
            icmp_type: 3,
            code: 3
        }
    );
    assert_eq!(usize::from(p.payload_off), 28);

    // IPv6 quote with an extension header, cut inside the UDP payload.
    let mut inner6 = ipv6(60, &opts_ext(17, &udp(5000, 53, &[0; 64])));
    inner6.truncate(40 + 8 + 8 + 3);
    let p = parse_datagram(&inner6).unwrap();
    assert_eq!(
        (p.l4, p.flags),
        (
            L4::Udp {
                sport: 5000,
                dport: 53
            },
            0
        )
    );
}

#[test]
fn too_long_input() {
    let big = vec![0x45; 70_000];
    let e = parse_datagram(&big).unwrap_err();
    assert_eq!(
        (e.clone(), e.reason()),
        (ParseError::FrameTooLong { len: 70_000 }, "frame-too-long")
    );
    assert!(matches!(
        parse_frame(LinkType::Ethernet, &big),
        Err(ParseError::FrameTooLong { .. })
    ));
}

#[test]
fn ipv6_authentication_header() {
    // AH: next header, payload length 4 (6 words of 4 bytes = 24 bytes), then UDP.
    let mut ah = vec![17, 4, 0, 0];
    ah.extend_from_slice(&[0; 20]);
    let d = ipv6(51, &[ah.as_slice(), &udp(7, 8, b"")].concat());
    let p = parse_datagram(&d).unwrap();
    assert_eq!((p.l4proto, p.l4_off), (17, 64));
    assert_eq!(p.l4, L4::Udp { sport: 7, dport: 8 });

    let e = parse_datagram(&d[..40 + 10]).unwrap_err();
    assert_eq!(
        e,
        ParseError::Truncated {
            layer: "ipv6-ext",
            need: 12,
            have: 10
        }
    );
    let e = parse_datagram(&d[..40 + 20]).unwrap_err();
    assert_eq!(
        e,
        ParseError::Truncated {
            layer: "ipv6-ext",
            need: 24,
            have: 20
        }
    );
    let mut zero = d.clone();
    zero[41] = 0;
    assert_eq!(
        parse_datagram(&zero).unwrap_err().reason(),
        "bad-ipv6-header"
    );
}
