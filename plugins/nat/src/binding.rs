//! Choosing a connection's translated tuple, as Linux's `get_unique_tuple`
//! (nf_nat_core.c): keep the original when it lies in the range and is free (source
//! translation without the random flags); else pick the address from a hash of the
//! client (and, unless `persistent`, the server), keep the port if that is in range
//! and free, and else search the port (or ICMP id) range from an offset: 0 for a
//! destination translation without flags, a keyed hash of the flow otherwise, a
//! per-connection random value with `fully-random`. At most 128 tries from the
//! first offset, then rounds of half as many from fresh random offsets, as Linux
//! bounds the search. "Free" means no confirmed connection has the reply tuple the
//! choice implies, which the caller answers through conntrack's service.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::range::Range;
use crate::tuple::{addr_num, num_addr, Flow, KeyKind, Manip};

/// The most tuples one round of the port search tries (Linux's `NF_NAT_MAX_ATTEMPTS`).
pub const MAX_ATTEMPTS: u32 = 128;

/// The chooser: the secret key of its hashes and the counter its random values come
/// from.
#[derive(Debug)]
pub struct Chooser {
    key: RandomState,
    counter: AtomicU64,
}

impl Default for Chooser {
    fn default() -> Self {
        Chooser {
            key: RandomState::new(),
            counter: AtomicU64::new(0),
        }
    }
}

/// The outcome of a choice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Choice {
    /// A tuple no other connection has.
    Unique(Flow),
    /// Every candidate clashed; the first one tried.
    Exhausted(Flow),
}

impl Chooser {
    /// A keyed hash of a flow without the part the manip changes (Linux's
    /// `secure_port` for the random flag: the same peers start the search at the same
    /// place, unpredictable from outside).
    fn keyed(&self, f: &Flow, m: Manip) -> u32 {
        let mut h = self.key.build_hasher();
        (f.family, f.proto, f.zone).hash(&mut h);
        match m {
            Manip::Src => (f.src, f.dst, f.dport).hash(&mut h),
            Manip::Dst => (f.src, f.sport, f.dst).hash(&mut h),
        }
        h.finish() as u32
    }

    /// A fresh random value (a keyed hash of a counter).
    fn random(&self) -> u32 {
        self.key
            .hash_one(self.counter.fetch_add(1, Ordering::Relaxed)) as u32
    }

    /// Chooses the tuple for translating `curr` (the connection's original tuple as
    /// bound so far) at manip `m` within `range`; `used` says whether a candidate
    /// clashes with another connection.
    pub fn choose(
        &self,
        curr: &Flow,
        range: &Range,
        m: Manip,
        used: &dyn Fn(&Flow) -> bool,
    ) -> Choice {
        let random = range.flags.any_random();
        // 1) A source translation keeps the original if it is in range and free.
        if m == Manip::Src && !random && range.contains(curr, m) && !used(curr) {
            return Choice::Unique(*curr);
        }
        // 2) The address.
        let mut t = *curr;
        best_addr(&mut t, range, m);
        // 3) The port, kept if in range and free.
        if !random {
            let in_range = match (range.keys, t.key(m)) {
                (Some((lo, hi)), Some(k)) => (lo..=hi).contains(&k),
                _ => true,
            };
            if in_range && !used(&t) {
                return Choice::Unique(t);
            }
        }
        let first = t;
        if self.unique_key(&mut t, range, m, used) {
            Choice::Unique(t)
        } else {
            Choice::Exhausted(first)
        }
    }

    /// Searches the port or ICMP id range for a free tuple (Linux's
    /// `nf_nat_l4proto_unique_tuple`); whether one was found.
    fn unique_key(
        &self,
        t: &mut Flow,
        range: &Range,
        m: Manip,
        used: &dyn Fn(&Flow) -> bool,
    ) -> bool {
        let (min, size): (u32, u32) = match (t.kind, range.keys) {
            // GRE keys are never searched (Linux searches them only for a range that
            // names keys, which no rule here can).
            (KeyKind::None | KeyKind::GreKey, _) => return !used(t),
            (_, Some((lo, hi))) => (u32::from(lo), u32::from(hi) - u32::from(lo) + 1),
            (KeyKind::IcmpId, None) => (0, 65536),
            (KeyKind::Ports, None) => {
                // A destination keeps its port unless the rule names ports.
                if m == Manip::Dst {
                    return !used(t);
                }
                // Privileged ports stay privileged: below 512, 600-1023, the rest.
                match t.key(m).unwrap_or(0) {
                    k if k < 512 => (1, 511),
                    k if k < 1024 => (600, 424),
                    _ => (1024, 64512),
                }
            }
        };
        let mut off = if range.flags.fully_random {
            self.random()
        } else if range.flags.random || m == Manip::Src {
            self.keyed(t, m)
        } else {
            0
        };
        let mut attempts = size.min(MAX_ATTEMPTS);
        loop {
            for _ in 0..attempts {
                t.set_key(m, (min + off % size) as u16);
                if !used(t) {
                    return true;
                }
                off = off.wrapping_add(1);
            }
            if attempts >= size || attempts < 16 {
                return false;
            }
            attempts /= 2;
            off = self.random();
        }
    }
}

/// Picks the address within the range (Linux's `find_best_ips_proto`): the only one,
/// or one chosen by a hash of the source address and, unless `persistent`, the
/// destination, unkeyed so that a client keeps its address across restarts.
fn best_addr(t: &mut Flow, range: &Range, m: Manip) {
    let Some((lo, hi)) = range.addrs else {
        return;
    };
    if t.family() != range.family {
        return;
    }
    if lo == hi {
        t.set_addr(m, num_addr(lo, range.family));
        return;
    }
    // FNV-1a over the addresses.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for b in bytes {
            h = (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    eat(&t.src);
    if !range.flags.persistent {
        eat(&t.dst);
    }
    eat(&t.zone.to_be_bytes());
    let span = hi - lo;
    let pick = if span == u128::MAX {
        u128::from(h)
    } else {
        u128::from(h) % (span + 1)
    };
    t.set_addr(m, num_addr(lo + pick, range.family));
}

/// The address a flow has at the manip, as a number (for tests and listings).
pub fn addr_of(f: &Flow, m: Manip) -> u128 {
    addr_num(&f.addr(m), f.family())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::range::Flags;
    use brickwall_hooks::services::conntrack::FAMILY_V4;
    use brickwall_hooks::Family;
    use brickwall_wire::ip_proto;
    use std::cell::RefCell;
    use std::collections::HashSet;

    fn flow(src: u8, sport: u16) -> Flow {
        Flow {
            src: num_addr(0x0a00_0000 | u128::from(src), Family::Ipv4),
            dst: num_addr(0xc633_6402, Family::Ipv4),
            sport,
            dport: 80,
            proto: ip_proto::TCP,
            family: FAMILY_V4,
            zone: 0,
            kind: KeyKind::Ports,
        }
    }

    fn snat(lo: u16, hi: u16, flags: Flags) -> Range {
        Range {
            addrs: Some((0xc000_0201, 0xc000_0201)),
            family: Family::Ipv4,
            keys: Some((lo, hi)),
            flags,
        }
    }

    #[test]
    fn keeps_the_port_then_searches_then_runs_out() {
        let c = Chooser::default();
        let taken = RefCell::new(HashSet::new());
        let used = |f: &Flow| taken.borrow().contains(f);
        let r = snat(1000, 1001, Flags::default());
        let mut got = Vec::new();
        for client in 1..=3 {
            match c.choose(&flow(client, 1000), &r, Manip::Src, &used) {
                Choice::Unique(f) => {
                    assert_eq!(addr_of(&f, Manip::Src), 0xc000_0201);
                    taken.borrow_mut().insert(f);
                    got.push(f.sport);
                }
                Choice::Exhausted(_) => got.push(0),
            }
        }
        assert_eq!(got, [1000, 1001, 0], "kept, searched, exhausted");
    }

    #[test]
    fn random_flags_never_keep_the_original_and_ranges_hold() {
        let c = Chooser::default();
        let none = |_: &Flow| false;
        for flags in [
            Flags {
                random: true,
                ..Flags::default()
            },
            Flags {
                fully_random: true,
                ..Flags::default()
            },
        ] {
            for _ in 0..20 {
                let Choice::Unique(f) =
                    c.choose(&flow(1, 5000), &snat(5000, 5100, flags), Manip::Src, &none)
                else {
                    panic!("free range");
                };
                assert!((5000..=5100).contains(&f.sport));
            }
        }
        // A null binding keeps everything when nothing clashes.
        let f = flow(1, 40000);
        assert_eq!(
            c.choose(&f, &Range::null(&f, Manip::Src), Manip::Src, &none),
            Choice::Unique(f)
        );
        // A clash moves a source port within its class.
        let clash = |g: &Flow| g.sport == 40000;
        let Choice::Unique(g) = c.choose(&f, &Range::null(&f, Manip::Src), Manip::Src, &clash)
        else {
            panic!("room");
        };
        assert!(g.sport >= 1024 && g.sport != 40000);
        let low = flow(1, 22);
        let Choice::Unique(g) = c.choose(
            &low,
            &Range::null(&low, Manip::Src),
            Manip::Src,
            &|g: &Flow| g.sport == 22,
        ) else {
            panic!("room");
        };
        assert!((1..512).contains(&g.sport));
    }

    #[test]
    fn persistent_gives_a_client_one_address() {
        let c = Chooser::default();
        let none = |_: &Flow| false;
        let range = |persistent| Range {
            addrs: Some((0xc000_0201, 0xc000_02ff)),
            family: Family::Ipv4,
            keys: None,
            flags: Flags {
                persistent,
                ..Flags::default()
            },
        };
        let mut addrs = HashSet::new();
        for server in 0..64u128 {
            let mut f = flow(7, 3000);
            f.dst = num_addr(0xc633_6400 + server, Family::Ipv4);
            let Choice::Unique(g) = c.choose(&f, &range(true), Manip::Src, &none) else {
                panic!("free");
            };
            addrs.insert(addr_of(&g, Manip::Src));
        }
        assert_eq!(addrs.len(), 1);
    }
}
