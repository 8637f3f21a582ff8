//! The Internet checksum: RFC 1071's example, pseudo-headers, and the incremental
//! update of RFC 1624 against a full recomputation, its corner cases included.

use super::{stream, sum_by_words};
use crate::checksum::*;

/// An IPv4 header (no options) from random bytes, its checksum filled in.
fn header(next: &mut impl FnMut() -> u64) -> [u8; 20] {
    let mut h = [0u8; 20];
    for b in h.iter_mut() {
        *b = next() as u8;
    }
    h[0] = 0x45;
    set_check(&mut h);
    h
}

/// Fills in bytes 10..12 of an IPv4 header.
fn set_check(h: &mut [u8; 20]) {
    h[10..12].copy_from_slice(&[0, 0]);
    let c = checksum(h);
    h[10..12].copy_from_slice(&c.to_be_bytes());
}

/// The checksum field of a header.
fn check_of(h: &[u8; 20]) -> u16 {
    u16::from_be_bytes([h[10], h[11]])
}

#[test]
fn rfc_1071_example() {
    // RFC 1071 section 3: these bytes sum to 0xddf2.
    let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
    assert_eq!(fold(sum(0, &data)), 0xddf2);
    assert_eq!(checksum(&data), !0xddf2);
    // Summed in pieces (even lengths first), the same.
    assert_eq!(sum(sum(0, &data[..4]), &data[4..]), sum(0, &data));
}

#[test]
fn sums_by_eight_bytes_equal_sums_by_words() {
    let mut next = stream(0x0bad_cafe_f00d_1234);
    for len in 0..300 {
        let data: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        let acc = (next() % 0x1_0000) as u32;
        assert_eq!(sum(acc, &data), sum_by_words(acc, &data), "length {len}");
    }
    // All ones, the most carries.
    assert_eq!(
        sum(0xffff, &[0xff; 1500]),
        sum_by_words(0xffff, &[0xff; 1500])
    );
    assert_eq!(sum(0, &[0; 64]), 0);
}

#[test]
fn odd_length_pads_with_zero() {
    assert_eq!(
        checksum(&[0x12, 0x34, 0x56]),
        checksum(&[0x12, 0x34, 0x56, 0])
    );
    assert_eq!(checksum(&[]), 0xffff);
}

#[test]
fn a_header_with_its_checksum_sums_to_zero() {
    let mut next = stream(0x1234_5678_9abc_def1);
    for _ in 0..100 {
        assert_eq!(checksum(&header(&mut next)), 0);
    }
    // A header worked by hand: its checksum is 0xb861.
    let h = [
        0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8, 0x00,
        0x01, 0xc0, 0xa8, 0x00, 0xc7,
    ];
    assert_eq!(checksum(&h), 0xb861);
}

#[test]
fn pseudo_headers_match_their_bytes() {
    let (s4, d4) = ([10, 0, 0, 1], [192, 168, 1, 200]);
    let mut bytes = [s4, d4].concat();
    bytes.extend_from_slice(&[0, 17, 0x01, 0x2c]);
    assert_eq!(fold(pseudo_v4(s4, d4, 17, 300)), fold(sum(0, &bytes)));

    let (s6, d6) = ([0xfe; 16], [0x20; 16]);
    let mut bytes = [s6, d6].concat();
    bytes.extend_from_slice(&70_000u32.to_be_bytes());
    bytes.extend_from_slice(&[0, 0, 0, 6]);
    assert_eq!(fold(pseudo_v6(&s6, &d6, 6, 70_000)), fold(sum(0, &bytes)));
}

#[test]
fn update16_matches_a_full_recomputation() {
    let mut next = stream(0x0bad_cafe_dead_beef);
    for _ in 0..2000 {
        let mut h = header(&mut next);
        // Any word but the checksum itself.
        let at = [0, 2, 4, 6, 8, 12, 14, 16, 18][(next() % 9) as usize];
        let old = u16::from_be_bytes([h[at], h[at + 1]]);
        let new = next() as u16;
        let before = check_of(&h);
        h[at..at + 2].copy_from_slice(&new.to_be_bytes());
        set_check(&mut h);
        assert_eq!(update16(before, old, new), check_of(&h), "{h:02x?}");
    }
}

#[test]
fn update32_matches_a_full_recomputation() {
    let mut next = stream(0x5eed_0000_1111_2222);
    for _ in 0..2000 {
        let mut h = header(&mut next);
        let at = if next() & 1 == 0 { 12 } else { 16 };
        let old = u32::from_be_bytes([h[at], h[at + 1], h[at + 2], h[at + 3]]);
        let new = next() as u32;
        let before = check_of(&h);
        h[at..at + 4].copy_from_slice(&new.to_be_bytes());
        set_check(&mut h);
        assert_eq!(update32(before, old, new), check_of(&h));
        // The same through the byte form.
        assert_eq!(
            update(before, &old.to_be_bytes(), &new.to_be_bytes()),
            check_of(&h)
        );
    }
}

#[test]
fn update_of_an_ipv6_address() {
    let mut next = stream(42);
    for _ in 0..500 {
        let mut seg = vec![0u8; 40 + 8];
        for b in seg.iter_mut() {
            *b = next() as u8;
        }
        let full = |s: &[u8]| checksum(s);
        let before = full(&seg);
        let old = seg[8..24].to_vec();
        for b in &mut seg[8..24] {
            *b = next() as u8;
        }
        assert_eq!(update(before, &old, &seg[8..24]), full(&seg));
    }
}

#[test]
fn rfc_1624_corner_cases() {
    // RFC 1624 section 3: a checksum of 0xdd2f, a word changed from 0x5555 to 0x3285.
    // The new sum is 0xffff ("-0"): equation 3 gives 0x0000, as a full recomputation
    // does, where equation 2 gave 0xffff.
    let data = |m: u16| [m.to_be_bytes(), 0xcd7a_u16.to_be_bytes()].concat();
    assert_eq!(checksum(&data(0x5555)), 0xdd2f);
    assert_eq!(checksum(&data(0x3285)), 0x0000);
    assert_eq!(update16(0xdd2f, 0x5555, 0x3285), 0x0000);
    // And back: from a checksum of 0x0000.
    assert_eq!(update16(0x0000, 0x3285, 0x5555), 0xdd2f);

    // In headers: make a change that brings the checksum to exactly 0x0000, then
    // change it back.
    let mut next = stream(7);
    for _ in 0..500 {
        let mut h = header(&mut next);
        let before = check_of(&h);
        let old = u16::from_be_bytes([h[4], h[5]]);
        // The sum of the other words; the new word completes it to 0xffff.
        h[4..6].copy_from_slice(&[0, 0]);
        h[10..12].copy_from_slice(&[0, 0]);
        let rest = fold(sum(0, &h));
        let new = !rest;
        h[4..6].copy_from_slice(&new.to_be_bytes());
        set_check(&mut h);
        assert_eq!(check_of(&h), 0x0000);
        assert_eq!(update16(before, old, new), 0x0000);
        assert_eq!(update16(0x0000, new, old), before);
    }

    // A checksum field of 0xffff (a UDP checksum that computed to zero, sent as all
    // ones) updates as its equal 0x0000 would.
    assert_eq!(
        update16(0xffff, 0x1234, 0x1235),
        update16(0x0000, 0x1234, 0x1235)
    );
}
