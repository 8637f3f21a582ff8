//! What a router sends: ARP and neighbour discovery read back from their builders,
//! the ICMP errors and echo replies with every checksum recomputed here by a plain
//! sum of our own, the size caps and the cases where no error may be sent, and no
//! panic on any cut or scrambled input.

use super::build::*;
use super::{stream, sum_by_words};
use crate::fragment::fragment_v4;
use crate::icmp::*;
use crate::ndisc::{NEIGHBOUR_ADVERTISEMENT, NEIGHBOUR_SOLICITATION};
use crate::{
    arp, arp_frame, echo_reply, ethernet, ethernet_header, icmp4_error, icmp6_error, multicast_mac,
    neighbour_advertisement, neighbour_solicitation, solicited_node, ArpPacket, NdMessage,
};

const MAC_A: [u8; 6] = [0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0x01];
const MAC_B: [u8; 6] = [0x02, 0x11, 0x22, 0x33, 0x44, 0x02];
const ROUTER4: [u8; 4] = [192, 0, 2, 1];
/// 2001:db8::1.
const ROUTER6: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
/// fe80::1 and fe80::2, the addresses of [`ipv6`].
const LL1: [u8; 16] = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const LL2: [u8; 16] = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];

/// The Internet checksum, written out plainly: the complement of the word-by-word
/// sum. 0 over data holding its own checksum.
fn ones(data: &[u8]) -> u16 {
    !(sum_by_words(0, data) as u16)
}

/// Checks the IPv4 header and ICMP checksums of an IPv4 ICMP datagram and its fixed
/// fields; returns the ICMP message.
fn check_v4(d: &[u8]) -> &[u8] {
    assert_eq!(d[0], 0x45);
    assert_eq!(usize::from(u16::from_be_bytes([d[2], d[3]])), d.len());
    assert_eq!(u16::from_be_bytes([d[6], d[7]]) & 0x4000, 0, "DF clear");
    assert_eq!((d[8], d[9]), (64, 1), "TTL and protocol");
    assert_eq!(ones(&d[..20]), 0, "IPv4 header checksum");
    assert_eq!(ones(&d[20..]), 0, "ICMP checksum");
    &d[20..]
}

/// Checks the fixed header and the ICMPv6 checksum (over the pseudo-header) of an
/// IPv6 ICMPv6 datagram; returns the ICMPv6 message.
fn check_v6(d: &[u8], hop_limit: u8) -> &[u8] {
    assert_eq!(d[0] >> 4, 6);
    assert_eq!(usize::from(u16::from_be_bytes([d[4], d[5]])), d.len() - 40);
    assert_eq!((d[6], d[7]), (58, hop_limit), "next header and hop limit");
    let mut pseudo = d[8..40].to_vec();
    pseudo.extend_from_slice(&((d.len() - 40) as u32).to_be_bytes());
    pseudo.extend_from_slice(&[0, 0, 0, 58]);
    pseudo.extend_from_slice(&d[40..]);
    assert_eq!(ones(&pseudo), 0, "ICMPv6 checksum");
    &d[40..]
}

/// An IPv4 datagram of [`ipv4`] with other addresses.
fn v4_between(src: [u8; 4], dst: [u8; 4], proto: u8, payload: &[u8]) -> Vec<u8> {
    let mut d = ip4(proto, payload);
    d[12..16].copy_from_slice(&src);
    d[16..20].copy_from_slice(&dst);
    d
}

/// An IPv6 datagram of [`ipv6`] with other addresses.
fn v6_between(src: [u8; 16], dst: [u8; 16], next: u8, payload: &[u8]) -> Vec<u8> {
    let mut d = ipv6(next, payload);
    d[8..24].copy_from_slice(&src);
    d[24..40].copy_from_slice(&dst);
    d
}

/// An ICMP or ICMPv6 message of `kind` (checksum left 0).
fn icmp(kind: u8, code: u8, rest: &[u8]) -> Vec<u8> {
    let mut m = vec![kind, code, 0, 0];
    m.extend_from_slice(rest);
    m
}

#[test]
fn ethernet_header_fields() {
    let h = ethernet_header(MAC_B, MAC_A, ethernet::ETHERTYPE_IPV6);
    assert_eq!(&h[..6], &MAC_B);
    assert_eq!(&h[6..12], &MAC_A);
    assert_eq!(&h[12..], &[0x86, 0xdd]);
}

#[test]
fn arp_round_trip() {
    let f = arp_frame(
        arp::OP_REQUEST,
        MAC_A,
        [10, 0, 0, 1],
        [0; 6],
        [10, 0, 0, 2],
        [0xff; 6],
    );
    assert_eq!(f.len(), 60);
    assert_eq!(&f[..14], &ethernet_header([0xff; 6], MAC_A, 0x0806));
    assert_eq!(&f[14..22], &[0, 1, 8, 0, 6, 4, 0, 1]);
    assert!(f[42..].iter().all(|&b| b == 0), "zero padding");
    let a = ArpPacket::new(&f[14..]).unwrap();
    assert_eq!(a.op(), arp::OP_REQUEST);
    assert_eq!((a.sender_mac(), a.sender_ip()), (MAC_A, [10, 0, 0, 1]));
    assert_eq!((a.target_mac(), a.target_ip()), ([0; 6], [10, 0, 0, 2]));

    let r = arp_frame(
        arp::OP_REPLY,
        MAC_B,
        [10, 0, 0, 2],
        MAC_A,
        [10, 0, 0, 1],
        MAC_A,
    );
    let a = ArpPacket::new(&r[14..]).unwrap();
    assert_eq!(a.op(), arp::OP_REPLY);
    assert_eq!((a.sender_mac(), a.target_mac()), (MAC_B, MAC_A));
    assert_eq!(&r[..6], &MAC_A);
}

#[test]
fn arp_view_rejects_other_types() {
    let f = arp_frame(1, MAC_A, [1, 2, 3, 4], [0; 6], [5, 6, 7, 8], [0xff; 6]);
    let body = &f[14..42];
    assert!(ArpPacket::new(body).is_some());
    assert!(ArpPacket::new(&body[..27]).is_none());
    for (at, bad) in [(1, 6), (2, 0x86), (4, 8), (5, 16)] {
        let mut b = body.to_vec();
        b[at] = bad;
        assert!(ArpPacket::new(&b).is_none(), "byte {at} = {bad}");
    }
}

#[test]
fn solicited_node_and_multicast_mac() {
    let a = [
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0x12, 0x34, 0x56, 0x78,
    ];
    let g = solicited_node(&a);
    assert_eq!(
        g,
        [0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0x34, 0x56, 0x78]
    );
    assert_eq!(multicast_mac(&g), [0x33, 0x33, 0xff, 0x34, 0x56, 0x78]);
    assert_eq!(multicast_mac(&a), [0x33, 0x33, 0x12, 0x34, 0x56, 0x78]);
}

#[test]
fn neighbour_solicitation_round_trip() {
    let dst = solicited_node(&LL2);
    let d = neighbour_solicitation(&LL1, &dst, &LL2, Some(MAC_A));
    assert_eq!(d.len(), 40 + 32);
    assert_eq!(&d[24..40], &dst);
    let m = check_v6(&d, 255);
    assert_eq!(m[0], NEIGHBOUR_SOLICITATION);
    let v = NdMessage::new(m).unwrap();
    assert!(v.is_solicitation());
    assert_eq!(v.target(), LL2);
    assert_eq!(v.link_addr(), Some(MAC_A));
    assert!(!v.router() && !v.solicited() && !v.override_flag());

    // Without a source address (duplicate address detection): no option, even if asked.
    for mac in [None, Some(MAC_A)] {
        let d = neighbour_solicitation(&[0; 16], &dst, &LL2, mac);
        assert_eq!(d.len(), 40 + 24);
        let v = NdMessage::new(check_v6(&d, 255)).unwrap();
        assert_eq!(v.link_addr(), None);
    }
    let d = neighbour_solicitation(&LL1, &dst, &LL2, None);
    assert_eq!(NdMessage::new(check_v6(&d, 255)).unwrap().link_addr(), None);
}

#[test]
fn neighbour_advertisement_round_trip() {
    for flags in 0..8u8 {
        let (r, s, o) = (flags & 4 != 0, flags & 2 != 0, flags & 1 != 0);
        let d = neighbour_advertisement(&LL2, &LL1, &LL2, MAC_B, r, s, o);
        assert_eq!(d.len(), 40 + 32);
        let m = check_v6(&d, 255);
        assert_eq!(m[0], NEIGHBOUR_ADVERTISEMENT);
        let v = NdMessage::new(m).unwrap();
        assert!(!v.is_solicitation());
        assert_eq!(v.target(), LL2);
        assert_eq!((v.router(), v.solicited(), v.override_flag()), (r, s, o));
        assert_eq!(v.link_addr(), Some(MAC_B));
    }
}

#[test]
fn nd_view_rejects_other_messages() {
    let d = neighbour_advertisement(&LL2, &LL1, &LL2, MAC_B, false, true, true);
    let m = &d[40..];
    assert!(NdMessage::new(&m[..23]).is_none());
    assert!(NdMessage::new(&m[..24]).is_some());
    assert!(NdMessage::new(&[]).is_none());
    for (at, bad) in [(0, 134), (0, 137), (0, 128), (1, 1)] {
        let mut b = m.to_vec();
        b[at] = bad;
        assert!(NdMessage::new(&b).is_none(), "byte {at} = {bad}");
    }
}

#[test]
fn nd_option_walk() {
    let fixed = |kind: u8| {
        let mut m = vec![kind, 0, 0, 0, 0x60, 0, 0, 0];
        m.extend_from_slice(&LL2);
        m
    };
    let slla = [1, 1, 1, 2, 3, 4, 5, 6];
    let tlla = [2, 1, 6, 5, 4, 3, 2, 1];
    let nonce = [14, 1, 9, 9, 9, 9, 9, 9];
    let mtu = [5, 1, 0, 0, 0, 0, 5, 0xdc];
    let with = |kind: u8, opts: &[&[u8]]| {
        let mut m = fixed(kind);
        for o in opts {
            m.extend_from_slice(o);
        }
        m
    };
    let addr = |m: &[u8]| NdMessage::new(m).unwrap().link_addr();

    // The option of the message's kind, after others.
    assert_eq!(
        addr(&with(135, &[&nonce, &tlla, &slla])),
        Some([1, 2, 3, 4, 5, 6])
    );
    assert_eq!(
        addr(&with(136, &[&mtu, &slla, &tlla])),
        Some([6, 5, 4, 3, 2, 1])
    );
    // The other kind's option only: none.
    assert_eq!(addr(&with(135, &[&tlla])), None);
    assert_eq!(addr(&with(136, &[&slla])), None);
    // A longer option (2 units) is stepped over whole.
    let long = [3, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1];
    assert_eq!(addr(&with(135, &[&long, &slla])), Some([1, 2, 3, 4, 5, 6]));
    // A zero-length option ends the walk.
    assert_eq!(addr(&with(135, &[&[7, 0, 0, 0, 0, 0, 0, 0], &slla])), None);
    assert_eq!(addr(&with(135, &[&[7, 0]])), None);
    // An option longer than the bytes left ends it too.
    assert_eq!(addr(&with(135, &[&[7, 3, 0, 0, 0, 0, 0, 0], &slla])), None);
    // Every cut of a message with options: the address only when it is whole.
    let m = with(136, &[&nonce, &tlla]);
    for n in 0..=m.len() {
        let got = NdMessage::new(&m[..n]).and_then(|v| v.link_addr());
        assert_eq!(got.is_some(), n == m.len(), "cut at {n}");
    }
    // A lone byte after the fixed part (no length byte).
    assert_eq!(addr(&with(135, &[&[1]])), None);
}

#[test]
fn icmp4_error_fields_and_checksums() {
    let offending = v4_between([10, 0, 0, 1], [10, 9, 9, 9], 17, &udp(5000, 53, b"query"));
    let mut padded = offending.clone();
    padded.extend_from_slice(&[0xee; 7]); // link-layer padding, not quoted
    let d = icmp4_error(ROUTER4, &padded, DEST_UNREACH, FRAG_NEEDED, 1400).unwrap();
    assert_eq!(&d[12..16], &ROUTER4);
    assert_eq!(&d[16..20], &[10, 0, 0, 1]);
    let m = check_v4(&d);
    assert_eq!(&m[..2], &[DEST_UNREACH, FRAG_NEEDED]);
    assert_eq!(&m[4..8], &[0, 0, 0x05, 0x78]);
    assert_eq!(&m[8..], &offending[..]);

    let d = icmp4_error(ROUTER4, &offending, TIME_EXCEEDED, TTL_EXCEEDED, 0).unwrap();
    assert_eq!(&check_v4(&d)[..8], &[11, 0, d[22], d[23], 0, 0, 0, 0]);
}

#[test]
fn icmp4_error_is_at_most_576_bytes() {
    let big = v4_between([10, 0, 0, 1], [10, 0, 0, 2], 17, &[0x5a; 1480]);
    let d = icmp4_error(ROUTER4, &big, DEST_UNREACH, HOST_UNREACH, 0).unwrap();
    assert_eq!(d.len(), 576);
    assert_eq!(&check_v4(&d)[8..], &big[..548]);
    // Just fitting: quoted whole.
    let fit = v4_between([10, 0, 0, 1], [10, 0, 0, 2], 17, &[0x5a; 528]);
    assert_eq!(fit.len(), 548);
    let d = icmp4_error(ROUTER4, &fit, DEST_UNREACH, NET_UNREACH, 0).unwrap();
    assert_eq!((d.len(), &d[28..]), (576, &fit[..]));
}

#[test]
fn icmp4_error_not_sent() {
    let a = [10, 0, 0, 1];
    let b = [10, 0, 0, 2];
    let err = |d: &[u8]| icmp4_error(ROUTER4, d, DEST_UNREACH, HOST_UNREACH, 0);
    let udp_between = |s, t| v4_between(s, t, 17, &udp(1, 2, b"x"));
    assert!(err(&udp_between(a, b)).is_some());
    // Too short for a header, or for its own header length.
    assert!(err(&udp_between(a, b)[..19]).is_none());
    assert!(err(&[]).is_none());
    let opts = ipv4(V4::proto(17), &[1, 1, 1, 0], &[]);
    assert!(err(&opts[..23]).is_none());
    assert!(err(&opts).is_some());
    let mut short_ihl = udp_between(a, b);
    short_ihl[0] = 0x44;
    assert!(err(&short_ihl).is_none());
    let mut v6 = udp_between(a, b);
    v6[0] = 0x65;
    assert!(err(&v6).is_none());
    // Errors about ICMP errors; informational messages are answered.
    for kind in [3, 4, 5, 11, 12] {
        assert!(err(&v4_between(a, b, 1, &icmp(kind, 0, &[0; 4]))).is_none());
    }
    for kind in [0, 8, 13, 14, 15, 16, 17, 18] {
        assert!(err(&v4_between(a, b, 1, &icmp(kind, 0, &[0; 4]))).is_some());
    }
    // An ICMP datagram with no ICMP byte (total length 20).
    assert!(err(&v4_between(a, b, 1, &[])).is_none());
    // Fragments: only the first is answered; a later one of an ICMP error is
    // no ICMP error itself, but still a later fragment.
    let frag = |units, mf| {
        ipv4(
            V4 {
                proto: 1,
                id: 7,
                frag_units: units,
                mf,
            },
            &[],
            &[3, 0, 0, 0],
        )
    };
    assert!(
        err(&frag(0, true)).is_none(),
        "first fragment of an ICMP error"
    );
    assert!(err(&ipv4(
        V4 {
            proto: 17,
            id: 7,
            frag_units: 0,
            mf: true
        },
        &[],
        b"x"
    ))
    .is_some());
    assert!(err(&frag(1, false)).is_none());
    assert!(err(&ipv4(
        V4 {
            proto: 17,
            id: 7,
            frag_units: 5,
            mf: true
        },
        &[],
        b"x"
    ))
    .is_none());
    // Sources no error may go to, and destinations no error is sent about.
    for s in [
        [0, 0, 0, 0],
        [255; 4],
        [224, 0, 0, 1],
        [239, 1, 2, 3],
        [127, 0, 0, 1],
        [127, 9, 9, 9],
    ] {
        assert!(err(&udp_between(s, b)).is_none(), "source {s:?}");
    }
    for t in [[224, 0, 0, 5], [239, 255, 255, 250], [255; 4]] {
        assert!(err(&udp_between(a, t)).is_none(), "destination {t:?}");
    }
    // Nothing else: a subnet broadcast, class E, the zero network are answered.
    for t in [[10, 255, 255, 255], [240, 0, 0, 1], [0, 0, 0, 0]] {
        assert!(err(&udp_between(a, t)).is_some(), "destination {t:?}");
    }
    assert!(err(&udp_between([240, 0, 0, 1], b)).is_some());
}

#[test]
fn icmp6_error_fields_and_checksums() {
    let offending = v6_between(LL1, ROUTER6, 17, &udp(5000, 53, b"query"));
    let mut padded = offending.clone();
    padded.extend_from_slice(&[0xee; 5]);
    let d = icmp6_error(&ROUTER6, &padded, V6_PACKET_TOO_BIG, 0, 1280).unwrap();
    assert_eq!((&d[8..24], &d[24..40]), (&ROUTER6[..], &LL1[..]));
    let m = check_v6(&d, 64);
    assert_eq!(&m[..2], &[V6_PACKET_TOO_BIG, 0]);
    assert_eq!(&m[4..8], &1280u32.to_be_bytes());
    assert_eq!(&m[8..], &offending[..]);

    let d = icmp6_error(&ROUTER6, &offending, V6_DEST_UNREACH, V6_NO_ROUTE, 0).unwrap();
    assert_eq!(&check_v6(&d, 64)[..2], &[1, 0]);
    let d = icmp6_error(
        &ROUTER6,
        &offending,
        V6_TIME_EXCEEDED,
        V6_HOP_LIMIT_EXCEEDED,
        0,
    );
    assert_eq!(&check_v6(&d.unwrap(), 64)[..2], &[3, 0]);
}

#[test]
fn icmp6_error_is_at_most_1280_bytes() {
    let big = v6_between(LL1, LL2, 17, &[0xa5; 1460]);
    let d = icmp6_error(&ROUTER6, &big, V6_PACKET_TOO_BIG, 0, 1280).unwrap();
    assert_eq!(d.len(), 1280);
    assert_eq!(&check_v6(&d, 64)[8..], &big[..1232]);
    let fit = v6_between(LL1, LL2, 17, &[0xa5; 1192]);
    let d = icmp6_error(&ROUTER6, &fit, V6_DEST_UNREACH, 0, 0).unwrap();
    assert_eq!((d.len(), &d[48..]), (1280, &fit[..]));
}

#[test]
fn icmp6_error_not_sent() {
    let mcast = [0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    let err = |d: &[u8], kind, code| icmp6_error(&ROUTER6, d, kind, code, 0);
    let unreach = |d: &[u8]| err(d, V6_DEST_UNREACH, 0);
    let data = udp(1, 2, b"x");
    assert!(unreach(&v6_between(LL1, LL2, 17, &data)).is_some());
    // Too short, or not version 6.
    assert!(unreach(&v6_between(LL1, LL2, 17, &data)[..39]).is_none());
    let mut v4 = v6_between(LL1, LL2, 17, &data);
    v4[0] = 0x45;
    assert!(unreach(&v4).is_none());
    // From the unspecified or a multicast address.
    assert!(unreach(&v6_between([0; 16], LL2, 17, &data)).is_none());
    assert!(unreach(&v6_between(mcast, LL2, 17, &data)).is_none());
    // To a multicast address: only packet too big and an unrecognised option.
    let to_group = v6_between(LL1, mcast, 17, &data);
    assert!(unreach(&to_group).is_none());
    assert!(err(&to_group, V6_TIME_EXCEEDED, 0).is_none());
    assert!(err(&to_group, V6_PARAM_PROBLEM, 0).is_none());
    assert!(err(&to_group, V6_PACKET_TOO_BIG, 0).is_some());
    assert!(err(&to_group, V6_PARAM_PROBLEM, V6_UNRECOGNIZED_OPTION).is_some());
    // ICMPv6 errors, directly or behind extension headers; informational ones answered.
    for kind in [1, 2, 3, 4, 127] {
        let m = icmp(kind, 0, &[0; 4]);
        assert!(
            unreach(&v6_between(LL1, LL2, 58, &m)).is_none(),
            "type {kind}"
        );
        let behind = opts_ext(60, &opts_ext(58, &m));
        assert!(
            unreach(&v6_between(LL1, LL2, 0, &behind)).is_none(),
            "type {kind}"
        );
    }
    for kind in [128, 129, 135, 136] {
        let m = icmp(kind, 0, &[0; 4]);
        assert!(
            unreach(&v6_between(LL1, LL2, 58, &m)).is_some(),
            "type {kind}"
        );
        let behind = opts_ext(58, &m);
        assert!(
            unreach(&v6_between(LL1, LL2, 0, &behind)).is_some(),
            "type {kind}"
        );
    }
    // An ICMPv6 message with no type byte counts as an error.
    assert!(unreach(&v6_between(LL1, LL2, 58, &[])).is_none());
    // A later fragment carries no ICMPv6 header, whatever its data starts with.
    let later = frag_ext(58, 9, 10, false, &[1, 0, 0, 0, 0, 0, 0, 0]);
    assert!(unreach(&v6_between(LL1, LL2, 44, &later)).is_some());
    let first = frag_ext(58, 9, 0, true, &[1, 0, 0, 0, 0, 0, 0, 0]);
    assert!(unreach(&v6_between(LL1, LL2, 44, &first)).is_none());
}

#[test]
fn echo_reply_v4() {
    let mut req = icmp(ECHO_REQUEST, 0, &[0x12, 0x34, 0, 7]);
    req.extend_from_slice(b"ping payload!");
    let c = ones(&req);
    req[2..4].copy_from_slice(&c.to_be_bytes());
    // Options in the request are dropped; padding after it is ignored.
    let mut d = ipv4(V4::proto(1), &[1, 1, 1, 0], &req);
    d[12..20].copy_from_slice(&[10, 0, 0, 7, 192, 0, 2, 1]);
    d.extend_from_slice(&[0; 6]);
    let r = echo_reply(&d).unwrap();
    assert_eq!(r.len(), 20 + req.len());
    assert_eq!(&r[12..20], &[192, 0, 2, 1, 10, 0, 0, 7]);
    let m = check_v4(&r);
    assert_eq!(&m[..2], &[ECHO_REPLY, 0]);
    assert_eq!(&m[4..], &req[4..]);
}

#[test]
fn echo_reply_v6() {
    let mut req = icmp(V6_ECHO_REQUEST, 0, &[0xab, 0xcd, 0, 1]);
    req.extend_from_slice(&[7; 57]);
    let d = v6_between(LL1, ROUTER6, 58, &req);
    let r = echo_reply(&d).unwrap();
    assert_eq!(r.len(), d.len());
    assert_eq!((&r[8..24], &r[24..40]), (&ROUTER6[..], &LL1[..]));
    let m = check_v6(&r, 64);
    assert_eq!(&m[..2], &[V6_ECHO_REPLY, 0]);
    assert_eq!(&m[4..], &req[4..]);
}

#[test]
fn echo_reply_refuses() {
    let req4 = icmp(ECHO_REQUEST, 0, &[0, 1, 0, 1, 9]);
    let req6 = icmp(V6_ECHO_REQUEST, 0, &[0, 1, 0, 1, 9]);
    let good4 = ip4(1, &req4);
    let good6 = ipv6(58, &req6);
    assert!(echo_reply(&good4).is_some() && echo_reply(&good6).is_some());
    // Not a request: a reply, another protocol, an error.
    assert!(echo_reply(&ip4(1, &icmp(ECHO_REPLY, 0, &[0; 4]))).is_none());
    assert!(echo_reply(&ip4(17, &req4)).is_none());
    assert!(echo_reply(&ip4(1, &icmp(3, 1, &[0; 4]))).is_none());
    assert!(echo_reply(&ipv6(58, &icmp(V6_ECHO_REPLY, 0, &[0; 4]))).is_none());
    assert!(echo_reply(&ipv6(58, &req4)).is_none());
    assert!(echo_reply(&ipv6(17, &req6)).is_none());
    // Behind an extension header: not looked for.
    assert!(echo_reply(&ipv6(60, &opts_ext(58, &req6))).is_none());
    // Cut short of the IP length, or an ICMP header under 8 bytes.
    assert!(echo_reply(&good4[..good4.len() - 1]).is_none());
    assert!(echo_reply(&good6[..good6.len() - 1]).is_none());
    assert!(echo_reply(&ip4(1, &req4[..7])).is_none());
    assert!(echo_reply(&ipv6(58, &req6[..7])).is_none());
    // A fragment, a bad header length, another version, nothing.
    let frag = ipv4(
        V4 {
            proto: 1,
            id: 1,
            frag_units: 0,
            mf: true,
        },
        &[],
        &req4,
    );
    assert!(echo_reply(&frag).is_none());
    let mut bad_ihl = good4.clone();
    bad_ihl[0] = 0x43;
    assert!(echo_reply(&bad_ihl).is_none());
    let mut v5 = good4.clone();
    v5[0] = 0x55;
    assert!(echo_reply(&v5).is_none());
    assert!(echo_reply(&[]).is_none());
}

/// Runs every view and builder on `b`; what the error builders return stays within
/// its cap and checks out.
fn poke(b: &[u8]) {
    if let Some(a) = ArpPacket::new(b) {
        let _ = (
            a.op(),
            a.sender_mac(),
            a.sender_ip(),
            a.target_mac(),
            a.target_ip(),
        );
    }
    if let Some(m) = NdMessage::new(b) {
        let _ = (m.is_solicitation(), m.target(), m.link_addr());
        let _ = (m.router(), m.solicited(), m.override_flag());
    }
    if let Some(d) = icmp4_error(ROUTER4, b, DEST_UNREACH, HOST_UNREACH, 0) {
        assert!(d.len() <= 576);
        check_v4(&d);
    }
    for kind in [V6_DEST_UNREACH, V6_PACKET_TOO_BIG] {
        if let Some(d) = icmp6_error(&ROUTER6, b, kind, 0, 0) {
            assert!(d.len() <= 1280);
            check_v6(&d, 64);
        }
    }
    if let Some(r) = echo_reply(b) {
        if r[0] >> 4 == 4 {
            check_v4(&r);
        } else {
            check_v6(&r, 64);
        }
    }
    for mtu in [0, 20, 28, 29, 68] {
        for f in fragment_v4(b, mtu).unwrap_or_default() {
            assert!(f.len() <= mtu.max(b.len()));
        }
    }
}

/// Reassembles fragments by hand: checks each header (checksum by [`ones`], length,
/// the same id and addresses) and puts the data back by offset; returns the data and
/// whether the last one ended the datagram (MF clear).
fn reassemble(frags: &[Vec<u8>], mtu: usize) -> (Vec<u8>, bool) {
    let mut data = Vec::new();
    let mut ended = false;
    for (k, f) in frags.iter().enumerate() {
        assert!(
            f.len() <= mtu,
            "fragment {k} of {} bytes over {mtu}",
            f.len()
        );
        let hl = usize::from(f[0] & 0x0f) * 4;
        assert_eq!(ones(&f[..hl]), 0, "fragment {k}'s header checksum");
        assert_eq!(usize::from(u16::from_be_bytes([f[2], f[3]])), f.len());
        assert_eq!(&f[4..6], &frags[0][4..6], "the id");
        assert_eq!(&f[12..20], &frags[0][12..20], "the addresses");
        let fo = u16::from_be_bytes([f[6], f[7]]);
        let off = usize::from(fo & 0x1fff) * 8;
        assert_eq!(off, data.len(), "fragment {k} follows on");
        let mf = fo & 0x2000 != 0;
        assert!(mf || k == frags.len() - 1, "only the last ends it");
        if mf {
            assert_eq!((f.len() - hl) % 8, 0, "a multiple of 8 but for the last");
        }
        ended = !mf;
        data.extend_from_slice(&f[hl..]);
    }
    (data, ended)
}

#[test]
fn fragments_rebuild_the_datagram() {
    let payload: Vec<u8> = (0..3001u32).map(|i| (i * 7) as u8).collect();
    // Options: a copied one (security, 0x82) and one that is not (record route, 7).
    let opts = [0x82, 4, 0xaa, 0xbb, 7, 3, 4, 0];
    let d = ipv4(V4::proto(17), &opts, &payload);
    for mtu in [68, 576, 1280, 1500] {
        let frags = fragment_v4(&d, mtu).expect("DF clear");
        assert!(frags.len() > 1);
        let (data, ended) = reassemble(&frags, mtu);
        assert!(ended);
        assert_eq!(data, payload, "mtu {mtu}");
        assert_eq!(&frags[0][20..28], &opts, "the first keeps every option");
        assert_eq!(frags[1][0], 0x46, "later ones the copied option only");
        assert_eq!(&frags[1][20..24], &opts[..4]);
    }
    // It fits: the datagram itself (without link padding).
    let mut padded = d.clone();
    padded.extend_from_slice(&[0; 6]);
    assert_eq!(fragment_v4(&padded, 4000), Some(vec![d.clone()]));
    // DF set, or no room for 8 bytes of data: none.
    let mut df = d.clone();
    df[6] |= 0x40;
    assert_eq!(fragment_v4(&df, 576), None);
    assert_eq!(fragment_v4(&d, 35), None);
    // A fragment cut further keeps its offset, and its MF on its last piece.
    let part = ipv4(
        V4 {
            proto: 17,
            id: 9,
            frag_units: 100,
            mf: true,
        },
        &[],
        &payload[..1000],
    );
    let frags = fragment_v4(&part, 300).unwrap();
    assert_eq!(u16::from_be_bytes([frags[0][6], frags[0][7]]) & 0x1fff, 100);
    assert!(frags.iter().all(|f| f[6] & 0x20 != 0), "every piece has MF");
    let data: Vec<u8> = frags.iter().flat_map(|f| f[20..].to_vec()).collect();
    assert_eq!(data, payload[..1000]);
}

#[test]
fn no_input_panics() {
    let echo4 = ip4(1, &icmp(ECHO_REQUEST, 0, &[0, 1, 0, 2, 3, 4, 5]));
    let echo6 = ipv6(58, &icmp(V6_ECHO_REQUEST, 0, &[0, 1, 0, 2, 3, 4, 5]));
    let ns = neighbour_solicitation(&LL1, &solicited_node(&LL2), &LL2, Some(MAC_A));
    let na = neighbour_advertisement(&LL2, &LL1, &LL2, MAC_B, true, true, false);
    let arp = arp_frame(1, MAC_A, [1, 2, 3, 4], [0; 6], [5, 6, 7, 8], [0xff; 6]);
    let v6err = ipv6(0, &opts_ext(58, &icmp(1, 0, &[0; 12])));
    let v6frag = ipv6(44, &frag_ext(17, 3, 0, true, &udp(1, 2, b"abc")));
    let v4opts = ipv4(V4::proto(6), &[1, 1, 1, 0], &tcp(1, 2, 2, &[], b"x"));
    let samples: Vec<Vec<u8>> = vec![
        echo4,
        echo6,
        ns[40..].to_vec(),
        na[40..].to_vec(),
        ns,
        na,
        arp[14..].to_vec(),
        v6err,
        v6frag,
        v4opts,
    ];
    for s in &samples {
        for n in 0..=s.len() {
            poke(&s[..n]);
        }
    }
    // Scrambled copies of the samples, and random bytes.
    let mut next = stream(0x9e37_79b9_7f4a_7c15);
    for round in 0..4000 {
        let mut b = samples[round % samples.len()].clone();
        for _ in 0..1 + next() % 4 {
            let at = (next() % b.len() as u64) as usize;
            b[at] = next() as u8;
        }
        poke(&b);
        let len = (next() % 90) as usize;
        let mut r: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        if let Some(first) = r.first_mut() {
            *first = [0x45, 0x60, 135, 136][round % 4];
        }
        poke(&r);
    }
}
