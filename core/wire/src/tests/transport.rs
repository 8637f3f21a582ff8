//! Transport headers: TCP, UDP, ICMP, ICMPv6, GRE v0/v1, SCTP, other protocols, and
//! what malformed headers report.

use super::build::*;
use crate::{flags, parse_datagram, parse_frame, LinkType, Parsed, L4};

/// Parses an IPv4 datagram of `proto` carrying `seg`.
fn v4(proto: u8, seg: &[u8]) -> Parsed {
    parse_datagram(&ip4(proto, seg)).unwrap()
}

#[test]
fn tcp_with_options() {
    let f = tcp_frame();
    let p = parse_frame(LinkType::Ethernet, &f).unwrap();
    assert_eq!((p.l4_off, p.payload_off), (34, 62));
    assert_eq!(&f[usize::from(p.payload_off)..], b"data");
    assert_eq!(
        p.l4,
        L4::Tcp {
            sport: 40000,
            dport: 80,
            seq: 1000,
            ack: 2000,
            flags: 0x02,
            window: 0xfaf0
        }
    );
    assert_eq!(p.flags, 0);
}

#[test]
fn tcp_all_flags() {
    let p = v4(6, &tcp(1, 2, 0xff, &[], b""));
    assert!(matches!(p.l4, L4::Tcp { flags: 0xff, .. }));
}

#[test]
fn tcp_malformed_keeps_ports() {
    let mut seg = tcp(1, 2, 0x02, &[], b"");
    seg[12] = 0x40; // data offset 4 words
    let p = v4(6, &seg);
    assert!(p.has(flags::L4_MALFORMED));
    assert_eq!(
        p.l4,
        L4::Tcp {
            sport: 1,
            dport: 2,
            seq: 1000,
            ack: 0,
            flags: 0,
            window: 0
        }
    );

    let p = v4(6, &seg[..7]);
    assert_eq!((p.l4, p.has(flags::L4_MALFORMED)), (L4::None, true));
    assert_eq!((p.l4_off, p.payload_off), (20, 27));
}

#[test]
fn udp_cut() {
    let p = v4(17, &udp(1, 2, b"")[..7]);
    assert_eq!((p.l4, p.flags), (L4::None, flags::L4_MALFORMED));
}

#[test]
fn icmp_and_icmpv6() {
    let echo = [8, 0, 0, 0, 0, 1, 0, 1, b'p', b'i', b'n', b'g'];
    let p = v4(1, &echo);
    assert_eq!(
        (p.l4, p.payload_off),
        (
            L4::Icmp {
                icmp_type: 8,
                code: 0
            },
            28
        )
    );

    // A timestamp request with trailing bytes: any length from 8 bytes will do.
    let mut ts = vec![13, 0, 0, 0, 0, 1, 0, 1];
    ts.extend_from_slice(&[0; 16]);
    assert_eq!(
        v4(1, &ts).l4,
        L4::Icmp {
            icmp_type: 13,
            code: 0
        }
    );
    assert_eq!(v4(1, &echo[..7]).flags, flags::L4_MALFORMED);

    let p = parse_datagram(&ipv6(58, &[1, 4, 0, 0, 0, 0, 0, 0])).unwrap();
    assert_eq!(
        (p.l4, p.payload_off),
        (
            L4::Icmpv6 {
                icmp_type: 1,
                code: 4
            },
            48
        )
    );
    let p = parse_datagram(&ipv6(58, &[128, 0, 0])).unwrap();
    assert_eq!((p.l4, p.flags), (L4::None, flags::L4_MALFORMED));

    // ICMP numbers of the other family are not ICMP.
    assert_eq!(parse_datagram(&ipv6(1, &echo)).unwrap().l4, L4::Other(1));
    assert_eq!(v4(58, &echo).l4, L4::Other(58));
}

#[test]
fn gre_v0_with_key() {
    let mut gre = vec![0x20, 0x00, 0x08, 0x00]; // K, version 0, IPv4
    gre.extend_from_slice(&0x0102_0304u32.to_be_bytes());
    gre.extend_from_slice(&ip4(17, &udp(1, 2, b"")));
    let p = v4(47, &gre);
    assert_eq!(
        p.l4,
        L4::Gre {
            version: 0,
            key: Some(0x0102_0304),
            proto: 0x0800
        }
    );
    assert_eq!((p.l4_off, p.payload_off, p.flags), (20, 28, 0));
}

#[test]
fn gre_v0_checksum_key_sequence() {
    let mut gre = vec![0xb0, 0x00, 0x86, 0xdd]; // C, K, S
    gre.extend_from_slice(&[0xab, 0xcd, 0, 0]); // checksum, reserved
    gre.extend_from_slice(&7u32.to_be_bytes()); // key
    gre.extend_from_slice(&99u32.to_be_bytes()); // sequence
    let p = v4(47, &gre);
    assert_eq!(
        p.l4,
        L4::Gre {
            version: 0,
            key: Some(7),
            proto: 0x86dd
        }
    );
    assert_eq!(p.payload_off, 20 + 16);

    let plain = v4(47, &[0, 0, 0x08, 0]);
    assert_eq!(
        plain.l4,
        L4::Gre {
            version: 0,
            key: None,
            proto: 0x0800
        }
    );
    assert_eq!(plain.payload_off, 24);
}

#[test]
fn gre_v1_pptp() {
    // K, S, A, version 1, PPP; payload length 4, call id 0x1234.
    let mut gre = vec![0x30, 0x81, 0x88, 0x0b, 0x00, 0x04, 0x12, 0x34];
    gre.extend_from_slice(&5u32.to_be_bytes()); // sequence
    gre.extend_from_slice(&3u32.to_be_bytes()); // acknowledgment
    gre.extend_from_slice(&[0xff, 0x03, 0x00, 0x21]);
    let p = v4(47, &gre);
    assert_eq!(
        p.l4,
        L4::Gre {
            version: 1,
            key: Some(0x1234),
            proto: 0x880b
        }
    );
    assert_eq!((p.payload_off, p.flags), (20 + 16, 0));

    // Acknowledgment only, no payload.
    let ack_only = [0x20, 0x81, 0x88, 0x0b, 0, 0, 0, 0, 0, 0, 0, 9];
    let p = v4(47, &ack_only);
    assert_eq!(
        p.l4,
        L4::Gre {
            version: 1,
            key: Some(0),
            proto: 0x880b
        }
    );
    assert_eq!(p.payload_off, 32);
}

#[test]
fn gre_malformed() {
    let cases: [&[u8]; 5] = [
        &[0x00, 0x01, 0x88, 0x0b, 0, 0, 0, 0], // v1 without key
        &[0x30, 0x01, 0x88, 0x0b, 0, 0, 0, 0], // v1 with S but cut
        &[0x40, 0x00, 0x08, 0x00, 0, 0, 0, 0], // v0 with routing
        &[0x00, 0x02, 0x08, 0x00],             // version 2
        &[0x20, 0x00, 0x08],                   // cut
    ];
    for seg in cases {
        let p = v4(47, seg);
        assert_eq!((p.l4, p.flags), (L4::None, flags::L4_MALFORMED), "{seg:?}");
    }
}

#[test]
fn sctp_common_header() {
    let mut seg = 5000u16.to_be_bytes().to_vec();
    seg.extend_from_slice(&36412u16.to_be_bytes());
    seg.extend_from_slice(&0xcafe_f00du32.to_be_bytes());
    seg.extend_from_slice(&[0; 4]);
    seg.extend_from_slice(&[1, 0, 0, 4]); // an INIT chunk header
    let want = L4::Sctp {
        sport: 5000,
        dport: 36412,
        vtag: 0xcafe_f00d,
    };
    let p = v4(132, &seg);
    assert_eq!((p.l4, p.payload_off, p.flags), (want, 32, 0));

    let p = v4(132, &seg[..10]);
    assert_eq!((p.l4, p.flags), (want, flags::L4_MALFORMED));
    let p = v4(132, &seg[..6]);
    assert_eq!((p.l4, p.flags), (L4::None, flags::L4_MALFORMED));
}

#[test]
fn other_protocols_are_generic() {
    let p = v4(50, &[1, 2, 3, 4]); // ESP
    assert_eq!((p.l4, p.l4proto, p.flags), (L4::Other(50), 50, 0));
    assert_eq!((p.l4_off, p.payload_off), (20, 20));
    let p = v4(136, &udp(7, 8, b"")); // UDP-Lite
    assert_eq!((p.l4, p.l4proto), (L4::Udp { sport: 7, dport: 8 }, 136));
}
