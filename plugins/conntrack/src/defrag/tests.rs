//! Tests of the reassembler with hand-built IPv4 and IPv6 fragments.

use super::*;
use brickwall_wire::checksum::checksum;

const SEC: u64 = 1_000_000_000;

/// Recognisable payload bytes.
fn payload(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 + i / 251 + 3) as u8).collect()
}

/// Deterministic xorshift64* generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i + 1);
            v.swap(i, j);
        }
    }
}

/// An IPv4 datagram's header fields, to cut fragments from.
#[derive(Clone)]
struct V4 {
    id: u16,
    proto: u8,
    tos: u8,
    df: bool,
    options: Vec<u8>,
}

impl V4 {
    fn new(id: u16) -> V4 {
        V4 {
            id,
            proto: 17,
            tos: 0,
            df: false,
            options: Vec::new(),
        }
    }

    /// A fragment carrying `data` at byte `offset`.
    fn frag(&self, offset: usize, more: bool, data: &[u8]) -> Vec<u8> {
        let ihl = 20 + self.options.len();
        let total = ihl + data.len();
        let mut frag_off = (offset / 8) as u16;
        if more {
            frag_off |= 0x2000;
        }
        if self.df {
            frag_off |= 0x4000;
        }
        let mut p = vec![0x40 | (ihl / 4) as u8, self.tos];
        p.extend_from_slice(&(total as u16).to_be_bytes());
        p.extend_from_slice(&self.id.to_be_bytes());
        p.extend_from_slice(&frag_off.to_be_bytes());
        p.extend_from_slice(&[64, self.proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
        p.extend_from_slice(&self.options);
        let sum = checksum(&p[..ihl]);
        p[10..12].copy_from_slice(&sum.to_be_bytes());
        p.extend_from_slice(data);
        p
    }

    /// `data` cut into fragments of `size` bytes (a multiple of 8).
    fn split(&self, data: &[u8], size: usize) -> Vec<Vec<u8>> {
        data.chunks(size)
            .enumerate()
            .map(|(i, c)| self.frag(i * size, (i + 1) * size < data.len(), c))
            .collect()
    }
}

/// Checks a reassembled IPv4 datagram: header checksum, total length, no
/// MF/offset, the payload in order.
fn check_v4(out: &[u8], ihl: usize, data: &[u8]) {
    assert_eq!(out[0] >> 4, 4);
    assert_eq!(usize::from(out[0] & 0x0f) * 4, ihl);
    assert_eq!(out.len(), ihl + data.len());
    assert_eq!(usize::from(u16::from_be_bytes([out[2], out[3]])), out.len());
    assert_eq!(u16::from_be_bytes([out[6], out[7]]) & 0x3fff, 0);
    assert_eq!(checksum(&out[..ihl]), 0, "header checksum");
    assert_eq!(&out[ihl..], data);
}

/// An IPv6 fragment: optional hop-by-hop header (8 bytes) before the
/// fragment header; `next` is the fragment header's next header.
fn v6_frag(id: u32, hbh: bool, offset: usize, more: bool, next: u8, data: &[u8]) -> Vec<u8> {
    v6_frag_tc(id, hbh, offset, more, next, data, 0)
}

fn v6_frag_tc(
    id: u32,
    hbh: bool,
    offset: usize,
    more: bool,
    next: u8,
    data: &[u8],
    traffic_class: u8,
) -> Vec<u8> {
    let ext = if hbh { 8 } else { 0 };
    let plen = ext + 8 + data.len();
    let mut p = vec![0x60 | (traffic_class >> 4), traffic_class << 4, 0, 0];
    p.extend_from_slice(&(plen as u16).to_be_bytes());
    p.push(if hbh { 0 } else { 44 });
    p.push(64);
    p.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
    p.extend_from_slice(&[0; 11]);
    p.push(1);
    p.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
    p.extend_from_slice(&[0; 11]);
    p.push(2);
    if hbh {
        // Next header 44, length 0, PadN option of 4 bytes.
        p.extend_from_slice(&[44, 0, 1, 4, 0, 0, 0, 0]);
    }
    let frag_off = (offset as u16 & !7) | u16::from(more);
    p.extend_from_slice(&[next, 0]);
    p.extend_from_slice(&frag_off.to_be_bytes());
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(data);
    p
}

fn v6_split(id: u32, hbh: bool, data: &[u8], size: usize) -> Vec<Vec<u8>> {
    data.chunks(size)
        .enumerate()
        .map(|(i, c)| v6_frag(id, hbh, i * size, (i + 1) * size < data.len(), 17, c))
        .collect()
}

/// Pushes all but the last at time 0 expecting Held, returns the last outcome.
fn push_all(d: &mut Defrag, frags: &[Vec<u8>]) -> DefragOutcome {
    let (last, rest) = frags.split_last().unwrap();
    for f in rest {
        assert_eq!(d.push(0, f, 0), DefragOutcome::Held);
    }
    d.push(0, last, 0)
}

fn complete(o: DefragOutcome) -> Vec<u8> {
    match o {
        DefragOutcome::Complete(v) => v,
        other => panic!("expected Complete, got {other:?}"),
    }
}

/// The internal indexes and the memory count agree.
fn consistent(d: &Defrag) {
    assert_eq!(d.by_age.len(), d.queues.len());
    assert_eq!(d.by_deadline.len(), d.queues.len());
    let charged: usize = d.queues.values().map(|q| q.charge).sum();
    assert_eq!(charged, d.held);
    assert!(d.held <= d.cfg.max_bytes);
}

#[test]
fn v4_in_order() {
    let mut d = Defrag::new(DefragConfig::default());
    let data = payload(3000);
    let h = V4::new(7);
    let out = complete(push_all(&mut d, &h.split(&data, 1000)));
    check_v4(&out, 20, &data);
    assert_eq!(d.pending(), 0);
    assert_eq!(d.held_bytes(), 0);
    assert_eq!(d.stats().reassembled, 1);
    assert_eq!(d.stats().fragments_held, 2);
    consistent(&d);
}

#[test]
fn v4_reverse_order() {
    let mut d = Defrag::new(DefragConfig::default());
    let data = payload(2001);
    let h = V4::new(8);
    let mut frags = h.split(&data, 400);
    frags.reverse();
    let out = complete(push_all(&mut d, &frags));
    check_v4(&out, 20, &data);
    assert_eq!(d.pending(), 0);
    consistent(&d);
}

#[test]
fn v4_shuffled() {
    let mut rng = Rng(0x1234_5678);
    for round in 0..50u16 {
        let mut d = Defrag::new(DefragConfig::default());
        let data = payload(3000 + usize::from(round) * 13);
        let h = V4::new(round);
        let mut frags = h.split(&data, 200);
        rng.shuffle(&mut frags);
        let out = complete(push_all(&mut d, &frags));
        check_v4(&out, 20, &data);
        consistent(&d);
    }
}

#[test]
fn v4_exact_duplicate_is_dropped_and_datagram_kept() {
    let mut d = Defrag::new(DefragConfig::default());
    let data = payload(1200);
    let h = V4::new(9);
    let frags = h.split(&data, 400);
    assert_eq!(d.push(0, &frags[0], 0), DefragOutcome::Held);
    let held = d.held_bytes();
    assert_eq!(d.push(0, &frags[0], 0), DefragOutcome::Held);
    assert_eq!(d.held_bytes(), held, "a duplicate is not stored");
    assert_eq!(d.push(0, &frags[1], 0), DefragOutcome::Held);
    assert_eq!(d.push(0, &frags[1], 0), DefragOutcome::Held);
    assert_eq!(d.stats().duplicates, 2);
    let out = complete(d.push(0, &frags[2], 0));
    check_v4(&out, 20, &data);
    consistent(&d);
}

#[test]
fn v4_duplicates_follow_linux_runs() {
    let h = V4::new(10);
    let data = payload(32);
    // In order: [0,8) [8,16) [16,24) form one run; [0,16) lies inside it.
    let mut d = Defrag::new(DefragConfig::default());
    for off in [0, 8, 16] {
        assert_eq!(
            d.push(0, &h.frag(off, true, &data[off..off + 8]), 0),
            DefragOutcome::Held
        );
    }
    assert_eq!(
        d.push(0, &h.frag(0, true, &data[..16]), 0),
        DefragOutcome::Held
    );
    assert_eq!(d.stats().duplicates, 1);
    let out = complete(d.push(0, &h.frag(24, false, &data[24..]), 0));
    check_v4(&out, 20, &data);

    // Out of order, each piece is a run of its own: [0,16) spans two runs,
    // which Linux calls an overlap.
    let mut d = Defrag::new(DefragConfig::default());
    for off in [16, 0, 8] {
        assert_eq!(
            d.push(0, &h.frag(off, true, &data[off..off + 8]), 0),
            DefragOutcome::Held
        );
    }
    assert_eq!(
        d.push(0, &h.frag(0, true, &data[..16]), 0),
        DefragOutcome::Invalid(reason::OVERLAP)
    );
    assert_eq!(d.pending(), 0);
    consistent(&d);
}

#[test]
fn v4_overlap_discards_datagram() {
    let mut d = Defrag::new(DefragConfig::default());
    let h = V4::new(11);
    let data = payload(48);
    assert_eq!(
        d.push(0, &h.frag(0, true, &data[..16]), 0),
        DefragOutcome::Held
    );
    assert_eq!(
        d.push(0, &h.frag(8, true, &data[8..24]), 0),
        DefragOutcome::Invalid(reason::OVERLAP)
    );
    assert_eq!(d.pending(), 0);
    assert_eq!(d.held_bytes(), 0);
    assert_eq!(d.stats().discarded, 1);
    assert_eq!(d.stats().invalid_count(reason::OVERLAP), 1);
    // The rest starts a new datagram that lacks its start.
    assert_eq!(
        d.push(0, &h.frag(16, true, &data[16..32]), 0),
        DefragOutcome::Held
    );
    assert_eq!(
        d.push(0, &h.frag(32, false, &data[32..]), 0),
        DefragOutcome::Held
    );
    assert_eq!(d.pending(), 1);
    // A fragment covering a held one from both sides overlaps too.
    assert_eq!(
        d.push(0, &h.frag(8, true, &data[8..40]), 0),
        DefragOutcome::Invalid(reason::OVERLAP)
    );
    assert_eq!(d.pending(), 0);
    consistent(&d);
}

#[test]
fn v4_middle_fragment_not_multiple_of_8_is_invalid() {
    let mut d = Defrag::new(DefragConfig::default());
    let h = V4::new(12);
    let data = payload(64);
    assert_eq!(
        d.push(0, &h.frag(0, true, &data[..16]), 0),
        DefragOutcome::Held
    );
    assert_eq!(
        d.push(0, &h.frag(16, true, &data[16..29]), 0),
        DefragOutcome::Invalid(reason::BAD_LENGTH)
    );
    assert_eq!(d.pending(), 0);
    // The last fragment may end anywhere.
    let mut d = Defrag::new(DefragConfig::default());
    let out = complete(push_all(
        &mut d,
        &[
            h.frag(0, true, &data[..16]),
            h.frag(16, false, &data[16..29]),
        ],
    ));
    check_v4(&out, 20, &data[..29]);
}

#[test]
fn v4_zero_length_and_conflicting_ends_are_invalid() {
    let h = V4::new(13);
    let data = payload(64);
    let mut d = Defrag::new(DefragConfig::default());
    assert_eq!(
        d.push(0, &h.frag(0, true, &data[..16]), 0),
        DefragOutcome::Held
    );
    assert_eq!(
        d.push(0, &h.frag(16, true, &[]), 0),
        DefragOutcome::Invalid(reason::BAD_LENGTH)
    );
    assert_eq!(d.pending(), 0, "IPv4 discards the datagram");

    let mut d = Defrag::new(DefragConfig::default());
    assert_eq!(
        d.push(0, &h.frag(16, false, &data[16..24]), 0),
        DefragOutcome::Held
    );
    assert_eq!(
        d.push(0, &h.frag(16, false, &data[16..32]), 0),
        DefragOutcome::Invalid(reason::BAD_LENGTH)
    );
    assert_eq!(d.pending(), 0);

    let mut d = Defrag::new(DefragConfig::default());
    assert_eq!(
        d.push(0, &h.frag(16, false, &data[16..24]), 0),
        DefragOutcome::Held
    );
    assert_eq!(
        d.push(0, &h.frag(24, true, &data[24..32]), 0),
        DefragOutcome::Invalid(reason::BAD_LENGTH),
        "data past the known end"
    );
    assert_eq!(d.pending(), 0);
    consistent(&d);
}

#[test]
fn v4_oversize_is_invalid() {
    let mut d = Defrag::new(DefragConfig::default());
    let h = V4::new(14);
    // Ping of death: offset 65528 with 100 bytes.
    assert_eq!(
        d.push(0, &h.frag(65528, false, &payload(100)), 0),
        DefragOutcome::Invalid(reason::TOO_BIG)
    );
    // 65520 bytes of data plus a 20-byte header is 65540.
    assert_eq!(
        d.push(0, &h.frag(0, true, &payload(8)), 0),
        DefragOutcome::Held
    );
    assert_eq!(
        d.push(0, &h.frag(65480, false, &payload(40)), 0),
        DefragOutcome::Invalid(reason::TOO_BIG)
    );
    assert_eq!(d.pending(), 0);
    // Exactly 65535 is fine.
    let data = payload(65515);
    let out = complete(push_all(&mut d, &h.split(&data, 8000)));
    check_v4(&out, 20, &data);
    // A smaller configured limit.
    let mut d = Defrag::new(DefragConfig {
        max_datagram: 1000,
        ..DefragConfig::default()
    });
    let frags = h.split(&payload(1200), 600);
    assert_eq!(d.push(0, &frags[0], 0), DefragOutcome::Held);
    assert_eq!(
        d.push(0, &frags[1], 0),
        DefragOutcome::Invalid(reason::TOO_BIG)
    );
    assert_eq!(d.pending(), 0);
    consistent(&d);
}

#[test]
fn v4_header_with_options_comes_from_first_fragment() {
    let mut d = Defrag::new(DefragConfig::default());
    let mut first = V4::new(15);
    first.options = vec![1, 1, 1, 0]; // NOP NOP NOP EOL
    let rest = V4::new(15);
    let data = payload(100);
    assert_eq!(
        d.push(0, &rest.frag(48, false, &data[48..]), 0),
        DefragOutcome::Held
    );
    let out = complete(d.push(0, &first.frag(0, true, &data[..48]), 0));
    check_v4(&out, 24, &data);
    assert_eq!(&out[20..24], &[1, 1, 1, 0]);
}

#[test]
fn v4_df_and_ecn_merge_like_linux() {
    let data = payload(64);
    // DF on every fragment: kept.
    let mut h = V4::new(16);
    h.df = true;
    let mut d = Defrag::new(DefragConfig::default());
    let out = complete(push_all(&mut d, &h.split(&data, 32)));
    assert_eq!(out[6] & 0x40, 0x40);
    check_v4(&out, 20, &data);
    // DF only on the small last fragment: dropped.
    let plain = V4::new(17);
    let mut small_df = V4::new(17);
    small_df.df = true;
    let out = complete(push_all(
        &mut d,
        &[
            plain.frag(0, true, &data[..56]),
            small_df.frag(56, false, &data[56..]),
        ],
    ));
    assert_eq!(out[6] & 0x40, 0);
    // CE on one fragment, ECT(0) on the other: CE.
    let mut ect0 = V4::new(18);
    ect0.tos = 0x02;
    let mut ce = V4::new(18);
    ce.tos = 0x03;
    let out = complete(push_all(
        &mut d,
        &[
            ect0.frag(0, true, &data[..32]),
            ce.frag(32, false, &data[32..]),
        ],
    ));
    assert_eq!(out[1] & 3, 3);
    check_v4(&out, 20, &data);
    // Not-ECT mixed with ECT(0): invalid.
    let mut ect0 = V4::new(19);
    ect0.tos = 0x02;
    let not_ect = V4::new(19);
    assert_eq!(
        push_all(
            &mut d,
            &[
                ect0.frag(0, true, &data[..32]),
                not_ect.frag(32, false, &data[32..])
            ],
        ),
        DefragOutcome::Invalid(reason::ECN)
    );
    assert_eq!(d.pending(), 0);
    consistent(&d);
}

#[test]
fn timeout_expiry() {
    let mut d = Defrag::new(DefragConfig::default());
    let h = V4::new(20);
    let data = payload(300);
    let frags = h.split(&data, 104);
    assert_eq!(d.push(0, &frags[0], 0), DefragOutcome::Held);
    assert_eq!(d.push(10 * SEC, &frags[1], 0), DefragOutcome::Held);
    assert_eq!(
        d.expire(30 * SEC - 1),
        0,
        "later fragments do not extend the time"
    );
    assert_eq!(d.expire(30 * SEC), 1);
    assert_eq!(d.pending(), 0);
    assert_eq!(d.held_bytes(), 0);
    assert_eq!(d.stats().timeouts, 1);
    // The late last fragment starts a new datagram, which cannot complete.
    assert_eq!(d.push(31 * SEC, &frags[2], 0), DefragOutcome::Held);
    assert_eq!(d.pending(), 1);
    assert_eq!(d.push(32 * SEC, &frags[1], 0), DefragOutcome::Held);
    assert_eq!(d.pending(), 1);
    consistent(&d);

    // Without expire(): push notices the stale datagram itself.
    let mut d = Defrag::new(DefragConfig::default());
    assert_eq!(d.push(0, &frags[0], 0), DefragOutcome::Held);
    assert_eq!(d.push(0, &frags[1], 0), DefragOutcome::Held);
    assert_eq!(d.push(40 * SEC, &frags[2], 0), DefragOutcome::Held);
    assert_eq!(d.stats().timeouts, 1);
    assert_eq!(d.pending(), 1);
    consistent(&d);

    // IPv6 waits 60 s.
    let mut d = Defrag::new(DefragConfig::default());
    let frags6 = v6_split(1, false, &payload(300), 104);
    assert_eq!(d.push(0, &frags6[0], 0), DefragOutcome::Held);
    assert_eq!(d.push(0, &frags[0], 0), DefragOutcome::Held);
    assert_eq!(d.expire(45 * SEC), 1);
    assert_eq!(d.pending(), 1);
    assert_eq!(d.expire(60 * SEC), 1);
    assert_eq!(d.pending(), 0);
}

#[test]
fn memory_limit_evicts_oldest() {
    let charge_first = 1000 + 20 + PER_FRAGMENT_OVERHEAD;
    let charge_other = 1000 + PER_FRAGMENT_OVERHEAD;
    let mut d = Defrag::new(DefragConfig {
        max_bytes: 3 * charge_first,
        ..DefragConfig::default()
    });
    let data = payload(2500);
    let frags: Vec<Vec<Vec<u8>>> = (1..=4).map(|id| V4::new(id).split(&data, 1000)).collect();
    for f in &frags[..3] {
        assert_eq!(d.push(0, &f[0], 0), DefragOutcome::Held);
    }
    assert_eq!(d.held_bytes(), 3 * charge_first);
    assert_eq!(d.pending(), 3);
    // A fourth datagram pushes the oldest (id 1) out.
    assert_eq!(d.push(0, &frags[3][0], 0), DefragOutcome::Held);
    assert_eq!(d.pending(), 3);
    assert_eq!(d.stats().evicted, 1);
    consistent(&d);
    // Id 1 lost its start: its rest is held but cannot complete.
    assert_eq!(d.push(0, &frags[0][1], 0), DefragOutcome::Held);
    assert_eq!(d.stats().evicted, 2, "id 2 made room");
    // Id 4 completes (evicting id 3 on the way).
    assert_eq!(d.push(0, &frags[3][1], 0), DefragOutcome::Held);
    let out = complete(d.push(0, &frags[3][2], 0));
    check_v4(&out, 20, &data);
    consistent(&d);

    // A datagram that cannot fit alone is invalid and dropped.
    let mut d = Defrag::new(DefragConfig {
        max_bytes: charge_first + 2 * charge_other,
        ..DefragConfig::default()
    });
    let big = V4::new(9).split(&payload(4000), 1000);
    for f in &big[..3] {
        assert_eq!(d.push(0, f, 0), DefragOutcome::Held);
    }
    assert_eq!(d.push(0, &big[3], 0), DefragOutcome::Invalid(reason::LIMIT));
    assert_eq!(d.pending(), 0);
    assert_eq!(d.held_bytes(), 0);
    assert_eq!(d.stats().invalid_count(reason::LIMIT), 1);
    consistent(&d);
}

#[test]
fn too_many_fragments() {
    let mut d = Defrag::new(DefragConfig {
        max_fragments: 4,
        ..DefragConfig::default()
    });
    let frags = V4::new(21).split(&payload(48), 8);
    for f in &frags[..4] {
        assert_eq!(d.push(0, f, 0), DefragOutcome::Held);
    }
    assert_eq!(
        d.push(0, &frags[4], 0),
        DefragOutcome::Invalid(reason::TOO_MANY)
    );
    assert_eq!(d.pending(), 0);
    // Exactly the cap is fine.
    let data = payload(32);
    let out = complete(push_all(&mut d, &V4::new(22).split(&data, 8)));
    check_v4(&out, 20, &data);
}

#[test]
fn v6_hop_by_hop_before_fragment_header() {
    let mut d = Defrag::new(DefragConfig::default());
    let data = payload(3000);
    let mut frags = v6_split(0xdead_beef, true, &data, 1232);
    frags.swap(0, 2);
    let out = complete(push_all(&mut d, &frags));
    assert_eq!(out.len(), 40 + 8 + 3000);
    assert_eq!(out[6], 0, "fixed header still names hop-by-hop");
    assert_eq!(out[40], 17, "hop-by-hop now names UDP");
    assert_eq!(u16::from_be_bytes([out[4], out[5]]), 8 + 3000);
    assert_eq!(&out[8..40], &frags[1][8..40], "addresses");
    assert_eq!(&out[42..48], &[1, 4, 0, 0, 0, 0], "options kept");
    assert_eq!(&out[48..], &data[..]);
    assert_eq!(d.pending(), 0);
    consistent(&d);

    // Without extension headers the fixed header names UDP.
    let out = complete(push_all(&mut d, &v6_split(5, false, &data, 1000)));
    assert_eq!(out[6], 17);
    assert_eq!(u16::from_be_bytes([out[4], out[5]]), 3000);
    assert_eq!(&out[40..], &data[..]);
}

#[test]
fn v6_overlap_discards_datagram() {
    let mut d = Defrag::new(DefragConfig::default());
    let data = payload(64);
    assert_eq!(
        d.push(0, &v6_frag(3, false, 0, true, 17, &data[..32]), 0),
        DefragOutcome::Held
    );
    assert_eq!(
        d.push(0, &v6_frag(3, false, 24, false, 17, &data[24..]), 0),
        DefragOutcome::Invalid(reason::OVERLAP)
    );
    assert_eq!(d.pending(), 0);
    assert_eq!(d.stats().discarded, 1);
    consistent(&d);
}

#[test]
fn v6_bad_lengths() {
    let data = payload(64);
    // Not a multiple of 8 before the last: the datagram goes.
    let mut d = Defrag::new(DefragConfig::default());
    assert_eq!(
        d.push(0, &v6_frag(4, false, 0, true, 17, &data[..32]), 0),
        DefragOutcome::Held
    );
    assert_eq!(
        d.push(0, &v6_frag(4, false, 32, true, 17, &data[32..44]), 0),
        DefragOutcome::Invalid(reason::BAD_LENGTH)
    );
    assert_eq!(d.pending(), 0);
    // A conflicting last fragment: only that fragment goes (Linux's `goto err`).
    assert_eq!(
        d.push(0, &v6_frag(4, false, 32, false, 17, &data[32..]), 0),
        DefragOutcome::Held
    );
    assert_eq!(
        d.push(0, &v6_frag(4, false, 32, false, 17, &data[32..48]), 0),
        DefragOutcome::Invalid(reason::BAD_LENGTH)
    );
    assert_eq!(d.pending(), 1);
    let out = complete(d.push(0, &v6_frag(4, false, 0, true, 17, &data[..32]), 0));
    assert_eq!(&out[40..], &data[..]);
    // Past 65535 bytes of fragmentable part.
    assert_eq!(
        d.push(0, &v6_frag(5, false, 65528, false, 17, &data[..16]), 0),
        DefragOutcome::Invalid(reason::TOO_BIG)
    );
    consistent(&d);
}

#[test]
fn v6_first_fragment_without_upper_header_is_invalid() {
    let mut d = Defrag::new(DefragConfig::default());
    // TCP needs its 20-byte header in the first fragment; later pieces need nothing.
    assert_eq!(
        d.push(0, &v6_frag(6, false, 0, true, 6, &payload(16)), 0),
        DefragOutcome::Invalid(reason::TRUNCATED)
    );
    assert_eq!(
        d.push(0, &v6_frag(6, false, 16, true, 6, &payload(16)), 0),
        DefragOutcome::Held
    );
    assert_eq!(d.pending(), 1);
}

#[test]
fn v6_atomic_fragment() {
    let mut d = Defrag::new(DefragConfig::default());
    let data = payload(100);
    // A queue with the same identification is not disturbed.
    assert_eq!(
        d.push(0, &v6_frag(7, false, 0, true, 17, &data[..48]), 0),
        DefragOutcome::Held
    );
    let out = complete(d.push(0, &v6_frag(7, true, 0, false, 17, &data), 0));
    assert_eq!(out.len(), 40 + 8 + 100);
    assert_eq!(out[6], 0);
    assert_eq!(out[40], 17);
    assert_eq!(u16::from_be_bytes([out[4], out[5]]), 108);
    assert_eq!(&out[48..], &data[..]);
    assert_eq!(d.stats().atomic, 1);
    assert_eq!(d.pending(), 1);
    let out = complete(d.push(0, &v6_frag(7, false, 48, false, 17, &data[48..]), 0));
    assert_eq!(out[6], 17);
    assert_eq!(&out[40..], &data[..]);
}

#[test]
fn v6_ecn_merge() {
    let mut d = Defrag::new(DefragConfig::default());
    let data = payload(64);
    let first = v6_frag_tc(8, false, 0, true, 17, &data[..32], 0xb8 | 2);
    let last = v6_frag_tc(8, false, 32, false, 17, &data[32..], 0xb8 | 3);
    let out = complete(push_all(&mut d, &[first, last]));
    let tc = ((out[0] & 0x0f) << 4) | (out[1] >> 4);
    assert_eq!(tc, 0xb8 | 3);
}

#[test]
fn zone_and_interface_separate_queues() {
    let mut d = Defrag::new(DefragConfig::default());
    let data = payload(64);
    let h = V4::new(30);
    assert_eq!(
        d.push(0, &h.frag(0, true, &data[..32]), 1),
        DefragOutcome::Held
    );
    assert_eq!(
        d.push(0, &h.frag(32, false, &data[32..]), 2),
        DefragOutcome::Held
    );
    assert_eq!(d.pending(), 2);
    let out = complete(d.push(0, &h.frag(32, false, &data[32..]), 1));
    check_v4(&out, 20, &data);
    assert_eq!(d.pending(), 1);

    let first = v6_frag(9, false, 0, true, 17, &data[..32]);
    let last = v6_frag(9, false, 32, false, 17, &data[32..]);
    assert_eq!(d.push_on_interface(0, &first, 0, 3), DefragOutcome::Held);
    assert_eq!(d.push_on_interface(0, &last, 0, 4), DefragOutcome::Held);
    assert_eq!(d.push_on_interface(0, &last, 1, 3), DefragOutcome::Held);
    assert_eq!(d.pending(), 4);
    complete(d.push_on_interface(0, &last, 0, 3));
    // IPv4 ignores the interface.
    assert_eq!(
        d.push_on_interface(0, &h.frag(0, true, &data[..32]), 5, 1),
        DefragOutcome::Held
    );
    complete(d.push_on_interface(0, &h.frag(32, false, &data[32..]), 5, 2));
    consistent(&d);
}

#[test]
fn not_fragments_and_truncated_fragments() {
    let mut d = Defrag::new(DefragConfig::default());
    let h = V4::new(40);
    assert_eq!(
        d.push(0, &h.frag(0, false, &payload(30)), 0),
        DefragOutcome::NotFragment
    );
    let mut df = h.clone();
    df.df = true;
    assert_eq!(
        d.push(0, &df.frag(0, false, &payload(30)), 0),
        DefragOutcome::NotFragment
    );
    assert_eq!(d.push(0, &[], 0), DefragOutcome::NotFragment);
    assert_eq!(d.push(0, &[0x45; 10], 0), DefragOutcome::NotFragment);
    assert_eq!(d.push(0, &[0x20; 60], 0), DefragOutcome::NotFragment);
    // IPv6 UDP, IPv6 ESP, IPv6 jumbogram.
    let mut udp = v6_frag(1, false, 0, false, 17, &payload(16));
    udp[6] = 17;
    assert_eq!(d.push(0, &udp, 0), DefragOutcome::NotFragment);
    udp[6] = 50;
    assert_eq!(d.push(0, &udp, 0), DefragOutcome::NotFragment);
    let mut jumbo = v6_frag(1, false, 0, true, 17, &payload(16));
    jumbo[4] = 0;
    jumbo[5] = 0;
    assert_eq!(d.push(0, &jumbo, 0), DefragOutcome::NotFragment);

    // Lying lengths.
    let mut f = h.frag(0, true, &payload(32));
    f.truncate(40);
    assert_eq!(d.push(0, &f, 0), DefragOutcome::Invalid(reason::TRUNCATED));
    let mut f = h.frag(0, true, &payload(32));
    f[0] = 0x44;
    assert_eq!(d.push(0, &f, 0), DefragOutcome::Invalid(reason::BAD_HEADER));
    let mut f = v6_frag(2, false, 8, true, 17, &payload(32));
    f.truncate(60);
    assert_eq!(d.push(0, &f, 0), DefragOutcome::Invalid(reason::TRUNCATED));
    let mut f = v6_frag(2, false, 8, true, 17, &[]);
    f.truncate(44);
    f[5] = 4;
    assert_eq!(d.push(0, &f, 0), DefragOutcome::Invalid(reason::TRUNCATED));
    assert_eq!(d.pending(), 0);

    // Bytes past the total length (link padding) are ignored.
    let data = payload(64);
    let mut first = h.frag(0, true, &data[..32]);
    first.extend_from_slice(&[0xee; 20]);
    let mut last6 = v6_frag(3, false, 32, false, 17, &data[32..]);
    last6.extend_from_slice(&[0xee; 20]);
    assert_eq!(d.push(0, &first, 0), DefragOutcome::Held);
    let out = complete(d.push(0, &h.frag(32, false, &data[32..]), 0));
    check_v4(&out, 20, &data);
    assert_eq!(d.push(0, &last6, 0), DefragOutcome::Held);
    let out = complete(d.push(0, &v6_frag(3, false, 0, true, 17, &data[..32]), 0));
    assert_eq!(&out[40..], &data[..]);
    consistent(&d);
}

#[test]
fn fuzz_random_bytes_never_panic() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut d = Defrag::new(DefragConfig {
        max_bytes: 2048,
        timeout_v4_ns: 50,
        timeout_v6_ns: 80,
        max_fragments: 16,
        ..DefragConfig::default()
    });
    let seeds: Vec<Vec<u8>> = vec![
        V4::new(1).frag(0, true, &payload(64)),
        V4::new(1).frag(64, false, &payload(40)),
        v6_frag(1, true, 0, true, 17, &payload(64)),
        v6_frag(1, false, 64, false, 17, &payload(40)),
    ];
    let mut now = 0u64;
    for i in 0..20_000 {
        now += rng.below(3) as u64;
        let packet = match i % 3 {
            0 => {
                let len = rng.below(200);
                let mut p: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
                if let Some(b) = p.first_mut() {
                    *b = (*b & 0x0f) | if rng.below(2) == 0 { 0x40 } else { 0x60 };
                }
                p
            }
            _ => {
                let mut p = seeds[rng.below(seeds.len())].clone();
                for _ in 0..rng.below(3) {
                    // Mostly the header fields that matter: lengths, id, offset.
                    let at = if rng.below(2) == 0 {
                        [2, 3, 5, 6, 7, 42, 43, 50, 51][rng.below(9)]
                    } else {
                        rng.below(p.len())
                    };
                    p[at] = rng.next() as u8;
                }
                if rng.below(4) == 0 {
                    p.truncate(p.len() - rng.below(8));
                }
                p
            }
        };
        match d.push_on_interface(now, &packet, rng.below(2) as u16, rng.below(2) as u32) {
            DefragOutcome::Complete(out) if out[0] >> 4 == 4 => {
                let ihl = usize::from(out[0] & 0x0f) * 4;
                assert_eq!(checksum(&out[..ihl]), 0);
                assert_eq!(usize::from(u16::from_be_bytes([out[2], out[3]])), out.len());
            }
            DefragOutcome::Complete(out) => {
                assert_eq!(
                    usize::from(u16::from_be_bytes([out[4], out[5]])) + 40,
                    out.len()
                );
            }
            _ => {}
        }
        consistent(&d);
        if i % 1000 == 0 {
            d.expire(now);
            consistent(&d);
        }
    }
    // The mix reaches every path: completions, duplicates, overlaps, expiry, eviction.
    let s = d.stats();
    assert!(s.reassembled > 0 && s.duplicates > 0 && s.timeouts > 0 && s.evicted > 0);
    assert!(s.invalid_count(reason::OVERLAP) > 0 && s.invalid_count(reason::TRUNCATED) > 0);
    d.expire(u64::MAX);
    assert_eq!(d.pending(), 0);
    assert_eq!(d.held_bytes(), 0);
}

#[test]
fn config_defaults_and_deserialize() {
    let c = DefragConfig::default();
    assert_eq!(c.max_bytes, 4 << 20);
    assert_eq!(c.timeout_v4_ns, 30 * SEC);
    assert_eq!(c.timeout_v6_ns, 60 * SEC);
    assert_eq!((c.max_fragments, c.max_datagram), (64, 65535));
    let c: DefragConfig = serde_json::from_str(r#"{"max_fragments": 8}"#).unwrap();
    assert_eq!((c.max_fragments, c.max_bytes), (8, 4 << 20));
    assert!(serde_json::from_str::<DefragConfig>(r#"{"nope": 1}"#).is_err());
}

/// A fragment flood (never-completed first fragments of fresh ids, tiny overlapping
/// pieces, IPv4 and IPv6) never holds more than the memory limit, and a legitimate
/// datagram whose fragments arrive together in the middle of it still completes.
#[test]
fn fragment_floods_stay_within_the_memory_limit() {
    let max_bytes = 256 * 1024;
    let mut d = Defrag::new(DefragConfig {
        max_bytes,
        ..DefragConfig::default()
    });
    let mut rng = Rng(0x00c0_ffee);
    let mut peak = 0;
    let data = payload(1200);
    for i in 0..60_000u32 {
        let frag = match i % 4 {
            // A first fragment whose datagram never completes.
            0 => V4::new(i as u16).frag(0, true, &data[..1000]),
            // A tiny piece of the middle of some datagram, overlapping others.
            1 => V4::new((i / 7) as u16).frag(8 * rng.below(64), true, &data[..8]),
            2 => v6_frag(i, false, 0, true, 17, &data[..1000]),
            _ => v6_frag(i / 5, false, 8 * rng.below(64), true, 17, &data[..16]),
        };
        let _ = d.push(u64::from(i) * 1000, &frag, 0);
        peak = peak.max(d.held_bytes());
        assert!(d.held_bytes() <= max_bytes, "{} held", d.held_bytes());
        if i == 30_000 {
            // A real datagram, its fragments back to back.
            let real = V4::new(0xbeef).split(&payload(3000), 1000);
            let out = complete(push_all(&mut d, &real));
            check_v4(&out, 20, &payload(3000));
        }
    }
    println!(
        "fragment flood: 60000 fragments, peak {peak} of {max_bytes} bytes held, {} \
         datagrams evicted",
        d.stats().evicted
    );
    assert!(
        peak > max_bytes / 2,
        "the flood never filled the limit ({peak})"
    );
    assert!(d.stats().evicted > 1000, "{:?}", d.stats());
    consistent(&d);
}
