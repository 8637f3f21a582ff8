//! No input makes the parsers panic: every truncation of valid frames, and a
//! deterministic storm of corrupted copies, on every link type.

use super::build::*;
use crate::{flags, parse_datagram, parse_frame, LinkType, Parsed};

/// Valid frames of several link types covering every parser path.
fn samples() -> Vec<(LinkType, Vec<u8>)> {
    let gre1 = [
        0x30, 0x81, 0x88, 0x0b, 0, 4, 0, 1, 0, 0, 0, 5, 0, 0, 0, 3, 1, 2, 3, 4,
    ];
    let sctp = [0x13, 0x88, 0x8e, 0x3c, 1, 2, 3, 4, 0, 0, 0, 0, 1, 0, 0, 4];
    let v6frag = ipv6(
        0,
        &opts_ext(44, &frag_ext(6, 3, 0, true, &tcp(1, 2, 2, &[], b"x"))),
    );
    vec![
        (LinkType::Ethernet, tcp_frame()),
        (
            LinkType::Ethernet,
            eth(0x88a8, &vlan(1, 0x8100, &vlan(2, ETH_IPV6, &v6frag))),
        ),
        (
            LinkType::Ethernet,
            eth(ETH_IPV4, &ipv4(V4::proto(47), &[1, 1, 1, 0], &gre1)),
        ),
        (LinkType::LinuxSll, sll(1, ETH_IPV4, &ip4(132, &sctp))),
        (
            LinkType::LinuxSll2,
            sll2(ETH_IPV6, &ipv6(58, &[1, 4, 0, 0, 0, 0, 0, 0])),
        ),
        (
            LinkType::Raw,
            ip4(1, &[3, 3, 0, 0, 0, 0, 0, 0, 0x45, 0, 0, 99]),
        ),
        (
            LinkType::Null,
            [2u32.to_le_bytes().as_slice(), &ip4(17, &udp(1, 2, b"x"))].concat(),
        ),
    ]
}

/// Checks that the offsets of a result lie within the input.
fn check(p: &Parsed, len: usize) {
    let l3_end = usize::from(p.l3_off) + p.l3_len as usize;
    assert!(l3_end <= len, "{p:?} beyond {len}");
    if p.flags & (flags::L4_MALFORMED | flags::LATER_FRAGMENT) == 0 {
        assert!(p.l3_off <= p.l4_off && p.l4_off <= p.payload_off, "{p:?}");
        assert!(usize::from(p.payload_off) <= l3_end, "{p:?}");
    }
}

#[test]
fn every_truncation_of_a_tcp_frame() {
    let f = tcp_frame();
    for n in 0..=f.len() {
        match parse_frame(LinkType::Ethernet, &f[..n]) {
            Ok(p) => check(&p, n),
            Err(e) => assert!(n < 34, "cut at {n}: {e}"),
        }
    }
}

#[test]
fn every_truncation_of_every_sample() {
    for (link, f) in samples() {
        for n in 0..=f.len() {
            if let Ok(p) = parse_frame(link, &f[..n]) {
                check(&p, n);
            }
            let _ = parse_datagram(&f[..n]);
        }
        let p = parse_frame(link, &f).unwrap_or_else(|e| panic!("{link}: {e}"));
        assert_eq!(p.flags & flags::L4_MALFORMED, 0, "{link}: {p:?}");
    }
}

#[test]
fn corrupted_frames_never_panic() {
    // xorshift64: deterministic, no dependency.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let links = [
        LinkType::Ethernet,
        LinkType::LinuxSll,
        LinkType::LinuxSll2,
        LinkType::Raw,
        LinkType::Null,
        LinkType::Ipv4,
        LinkType::Ipv6,
    ];
    for (link, f) in samples() {
        for _ in 0..3000 {
            let mut g = f.clone();
            for _ in 0..1 + next() % 4 {
                let at = (next() % g.len() as u64) as usize;
                g[at] = match next() % 3 {
                    0 => next() as u8,
                    1 => 0xff,
                    _ => 0,
                };
            }
            let cut = g.len() - (next() % 8) as usize;
            g.truncate(cut);
            for l in [link, links[(next() % links.len() as u64) as usize]] {
                if let Ok(p) = parse_frame(l, &g) {
                    check(&p, g.len());
                }
            }
            if let Ok(p) = parse_datagram(&g) {
                check(&p, g.len());
            }
        }
    }
}
