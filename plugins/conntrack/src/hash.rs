//! Hashing tuples into buckets, keyed with a seed chosen at start so that chain
//! placement cannot be predicted from outside: SipHash (as Linux uses today) or Jenkins'
//! lookup3 (the seed document's hash), selectable for the benchmark that picks one.

use crate::tuple::Tuple;
use std::hash::BuildHasher;

/// The hash function of a table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum HashKind {
    /// SipHash-1-3 with a random 128-bit key.
    #[default]
    Siphash,
    /// Bob Jenkins' lookup3 `hashword` with a random 32-bit seed.
    Jenkins,
}

/// A seeded tuple hasher.
#[derive(Clone, Debug)]
pub struct TupleHasher {
    kind: HashKind,
    key: (u64, u64),
    seed: u32,
}

impl TupleHasher {
    /// A hasher of `kind` with fresh random keys.
    pub fn new(kind: HashKind) -> TupleHasher {
        // The standard library's per-process random keys, through its keyed hash: a
        // 128-bit SipHash key and a Jenkins seed nobody outside can predict.
        let rs = std::collections::hash_map::RandomState::new();
        let key = (rs.hash_one(0x6b30_u64), rs.hash_one(0x6b31_u64));
        let seed = rs.hash_one(0x5eed_u64) as u32;
        TupleHasher { kind, key, seed }
    }

    /// A hasher of `kind` with the keys given: what an attacker who learnt them could
    /// compute (the adversarial tests and benchmarks play that attacker).
    pub fn with_keys(kind: HashKind, key: (u64, u64), seed: u32) -> TupleHasher {
        TupleHasher { kind, key, seed }
    }

    /// The hash of a tuple.
    #[inline]
    pub fn hash(&self, t: &Tuple) -> u32 {
        let (w, n) = t.words();
        match self.kind {
            // One call per tuple length (IPv4: 2 words, IPv6: 5), so each is unrolled.
            HashKind::Siphash if n == 2 => siphash::<1, 3>(self.key, &w[..2]) as u32,
            HashKind::Siphash => siphash::<1, 3>(self.key, &w[..n.min(5)]) as u32,
            HashKind::Jenkins => {
                let mut words = [0u32; 10];
                for (i, x) in w[..n].iter().enumerate() {
                    words[2 * i] = *x as u32;
                    words[2 * i + 1] = (*x >> 32) as u32;
                }
                jhash_words(&words[..2 * n], self.seed)
            }
        }
    }
}

/// SipHash with `C` compression and `D` finalisation rounds, keyed with `key`, of the
/// little-endian bytes of `words` (whole words: no partial block to buffer).
#[inline]
pub fn siphash<const C: usize, const D: usize>(key: (u64, u64), words: &[u64]) -> u64 {
    let mut v = [
        key.0 ^ 0x736f_6d65_7073_6575,
        key.1 ^ 0x646f_7261_6e64_6f6d,
        key.0 ^ 0x6c79_6765_6e65_7261,
        key.1 ^ 0x7465_6462_7974_6573,
    ];
    let round = |v: &mut [u64; 4]| {
        v[0] = v[0].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(13) ^ v[0];
        v[0] = v[0].rotate_left(32);
        v[2] = v[2].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(16) ^ v[2];
        v[0] = v[0].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(21) ^ v[0];
        v[2] = v[2].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(17) ^ v[2];
        v[2] = v[2].rotate_left(32);
    };
    let compress = |v: &mut [u64; 4], m: u64| {
        v[3] ^= m;
        for _ in 0..C {
            round(v);
        }
        v[0] ^= m;
    };
    for &m in words {
        compress(&mut v, u64::from_le(m));
    }
    compress(&mut v, ((words.len() as u64 * 8) & 0xff) << 56);
    v[2] ^= 0xff;
    for _ in 0..D {
        round(&mut v);
    }
    v[0] ^ v[1] ^ v[2] ^ v[3]
}

/// Maps a 32-bit hash onto `0..n` without a division (Lemire's multiply-shift).
#[inline]
pub fn scale(hash: u32, n: usize) -> usize {
    ((hash as u64 * n as u64) >> 32) as usize
}

#[inline]
fn rot(x: u32, k: u32) -> u32 {
    x.rotate_left(k)
}

/// Jenkins' lookup3 over 32-bit words (the algorithm of `hashword`, with our own code).
pub fn jhash_words(k: &[u32], initval: u32) -> u32 {
    let init = 0xdead_beef_u32
        .wrapping_add((k.len() as u32) << 2)
        .wrapping_add(initval);
    let (mut a, mut b, mut c) = (init, init, init);
    let mut rest = k;
    while rest.len() > 3 {
        a = a.wrapping_add(rest[0]);
        b = b.wrapping_add(rest[1]);
        c = c.wrapping_add(rest[2]);
        // mix
        a = a.wrapping_sub(c);
        a ^= rot(c, 4);
        c = c.wrapping_add(b);
        b = b.wrapping_sub(a);
        b ^= rot(a, 6);
        a = a.wrapping_add(c);
        c = c.wrapping_sub(b);
        c ^= rot(b, 8);
        b = b.wrapping_add(a);
        a = a.wrapping_sub(c);
        a ^= rot(c, 16);
        c = c.wrapping_add(b);
        b = b.wrapping_sub(a);
        b ^= rot(a, 19);
        a = a.wrapping_add(c);
        c = c.wrapping_sub(b);
        c ^= rot(b, 4);
        b = b.wrapping_add(a);
        rest = &rest[3..];
    }
    if rest.is_empty() {
        return c;
    }
    if rest.len() == 3 {
        c = c.wrapping_add(rest[2]);
    }
    if rest.len() >= 2 {
        b = b.wrapping_add(rest[1]);
    }
    a = a.wrapping_add(rest[0]);
    // final
    c ^= b;
    c = c.wrapping_sub(rot(b, 14));
    a ^= c;
    a = a.wrapping_sub(rot(c, 11));
    b ^= a;
    b = b.wrapping_sub(rot(a, 25));
    c ^= b;
    c = c.wrapping_sub(rot(b, 16));
    a ^= c;
    a = a.wrapping_sub(rot(c, 4));
    b ^= a;
    b = b.wrapping_sub(rot(a, 14));
    c ^= b;
    c = c.wrapping_sub(rot(b, 24));
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup3_known_values() {
        // Published test values of lookup3's hashword: the empty key with seeds 0 and 0xdeadbeef.
        assert_eq!(jhash_words(&[], 0), 0xdead_beef);
        assert_eq!(jhash_words(&[], 0xdead_beef), 0xbd5b_7dde);
    }

    #[test]
    #[allow(deprecated)]
    fn siphash_matches_the_standard_library() {
        // The standard library's SipHasher is SipHash-2-4; the rounds are the only
        // difference from the 1-3 variant the tables use.
        use std::hash::{Hasher, SipHasher};
        let key = (0x0706_0504_0302_0100, 0x0f0e_0d0c_0b0a_0908);
        for words in [&[][..], &[1], &[0x0123_4567_89ab_cdef, 42, 7, 9, u64::MAX]] {
            let mut h = SipHasher::new_with_keys(key.0, key.1);
            for w in words {
                h.write(&w.to_le_bytes());
            }
            assert_eq!(siphash::<2, 4>(key, words), h.finish());
        }
    }

    #[test]
    fn seeds_differ_between_tables_and_spread_well() {
        let t = Tuple {
            proto: 6,
            family: 2,
            src_id: 1,
            dst_id: 2,
            ..Tuple::default()
        };
        for kind in [HashKind::Siphash, HashKind::Jenkins] {
            let a = TupleHasher::new(kind);
            let b = TupleHasher::new(kind);
            assert_ne!(a.hash(&t), b.hash(&t), "{kind:?}: two tables hash alike");
            let mut buckets = vec![0u32; 1024];
            for port in 0..16384u16 {
                let x = Tuple { src_id: port, ..t };
                buckets[scale(a.hash(&x), 1024)] += 1;
            }
            let max = *buckets.iter().max().unwrap();
            assert!(
                max < 40,
                "{kind:?}: longest chain {max} for 16 per bucket on average"
            );
        }
    }
}
