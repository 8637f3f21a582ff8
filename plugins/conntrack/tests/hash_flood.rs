//! Hash flooding: an attacker who knows the table's hash key can choose flows whose
//! original tuples all land in one bucket. With the key drawn at start (what runs),
//! the same flows spread like any others; with the key known, the chain limit (Linux's
//! `chaintoolong`) bounds every walk: inserts past it are refused and counted, and the
//! connections already in the table still answer.

use brickwall_conntrack::config::CtConfig;
use brickwall_conntrack::datagram::{ipv4, udp, view};
use brickwall_conntrack::hash::{HashKind, TupleHasher};
use brickwall_conntrack::tracker::{ConfirmVerdict, InVerdict, Tracker};
use brickwall_conntrack::tuple::{Tuple, FAMILY_V4};
use brickwall_hooks::CtInfo;

const SEC: u64 = 1_000_000_000;
const BUCKETS: usize = 1024;
/// Flows the attacker sends.
const FLOWS: usize = 400;
/// The chain limit of these trackers (the plugin draws 50-79).
const CHAIN_LIMIT: usize = 64;
const DST: [u8; 4] = [10, 0, 0, 2];

/// The original tuple of a UDP flow from `src`:`sport` to DST:53.
fn tuple(src: [u8; 4], sport: u16) -> Tuple {
    let mut t = Tuple {
        src_id: sport,
        dst_id: 53,
        proto: 17,
        family: FAMILY_V4,
        ..Tuple::default()
    };
    t.src[..4].copy_from_slice(&src);
    t.dst[..4].copy_from_slice(&DST);
    t
}

/// FLOWS flows whose original tuples fall into one bucket under `known`: what an
/// attacker who learnt the key computes offline.
fn colliding(known: &TupleHasher) -> Vec<([u8; 4], u16)> {
    let probe = Tracker::with_hasher(cfg(HashKind::Siphash), CHAIN_LIMIT, known.clone());
    let target = probe.table().bucket_of(&tuple([172, 16, 0, 1], 1024));
    let mut found = Vec::new();
    'search: for a in 0..=255u8 {
        for b in 0..=255u8 {
            for port in (1024..1088u16).step_by(1) {
                let src = [172, 16, a, b];
                if probe.table().bucket_of(&tuple(src, port)) == target {
                    found.push((src, port));
                    if found.len() == FLOWS {
                        break 'search;
                    }
                }
            }
        }
    }
    assert_eq!(found.len(), FLOWS, "not enough colliding flows found");
    found
}

fn cfg(hash: HashKind) -> CtConfig {
    CtConfig {
        buckets: BUCKETS,
        max: 100_000,
        hash,
        auto_resize: false,
        ..CtConfig::default()
    }
}

/// Sends one packet of flow (`src`, `sport`); the conntrack-in and confirm verdicts.
fn send(t: &mut Tracker, src: [u8; 4], sport: u16, ts: u64) -> (CtInfo, bool) {
    let mut d = ipv4(src, DST, 17, &udp(sport, 53));
    let mut v = view(&mut d, ts);
    assert_eq!(t.conntrack_in(&mut v), InVerdict::Accept);
    let confirmed = t.confirm(&mut v) == ConfirmVerdict::Accept;
    (v.ctinfo(), confirmed)
}

/// The longest chain of the table.
fn longest(t: &Tracker) -> usize {
    (0..t.table().buckets())
        .map(|b| t.table().chain_len(b))
        .max()
        .unwrap_or(0)
}

#[test]
fn flows_chosen_for_a_known_key_spread_under_the_random_one() {
    for kind in [HashKind::Siphash, HashKind::Jenkins] {
        let known = TupleHasher::with_keys(kind, (0x0123_4567, 0x89ab_cdef), 0x5eed);
        let flows = colliding(&known);
        let mut t = Tracker::new(cfg(kind), CHAIN_LIMIT);
        for &(src, port) in &flows {
            assert!(send(&mut t, src, port, SEC).1, "{kind:?}: an insert failed");
        }
        assert_eq!(t.table().confirmed(), FLOWS);
        assert_eq!(t.stats().chaintoolong, 0, "{kind:?}");
        // 800 nodes in 1024 buckets: no chain is anywhere near the limit.
        let l = longest(&t);
        println!("{kind:?}, random key: {FLOWS} colliding flows, longest chain {l}");
        assert!(l <= 10, "{kind:?}: a chain of {l} under the random key");
    }
}

#[test]
fn under_the_known_key_the_chain_limit_bounds_every_walk() {
    for kind in [HashKind::Siphash, HashKind::Jenkins] {
        let known = TupleHasher::with_keys(kind, (0x0123_4567, 0x89ab_cdef), 0x5eed);
        let flows = colliding(&known);
        let mut t = Tracker::with_hasher(cfg(kind), CHAIN_LIMIT, known);
        // An established flow of someone else, before the flood.
        let victim = ([192, 168, 1, 1], 5353);
        send(&mut t, victim.0, victim.1, SEC);
        let mut refused = 0;
        for &(src, port) in &flows {
            if !send(&mut t, src, port, SEC).1 {
                refused += 1;
            }
        }
        let l = longest(&t);
        println!(
            "{kind:?}, known key: {FLOWS} colliding flows, longest chain {l} (limit \
             {CHAIN_LIMIT}), {refused} refused as chaintoolong"
        );
        assert!(
            l <= CHAIN_LIMIT + 1,
            "{kind:?}: a chain of {l}, past the limit {CHAIN_LIMIT}"
        );
        assert!(refused > 0, "{kind:?}: the flood filled no chain");
        assert_eq!(t.stats().chaintoolong, refused, "{kind:?}");
        assert_eq!(t.table().confirmed(), 1 + FLOWS - refused as usize);
        // The flows that got in, and the one before the flood, are still found.
        let (info, _) = send(&mut t, victim.0, victim.1, 2 * SEC);
        assert_eq!(
            info,
            CtInfo::New,
            "{kind:?}: unreplied, still the same entry"
        );
        assert_eq!(t.table().confirmed(), 1 + FLOWS - refused as usize);
        let (src, port) = flows[0];
        let before = t.stats().found;
        send(&mut t, src, port, 2 * SEC);
        assert_eq!(
            t.stats().found,
            before + 1,
            "{kind:?}: an admitted flow is found"
        );
    }
}
