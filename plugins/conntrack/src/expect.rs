//! Expectations: connections a helper (or another plugin, or an operator) announces
//! before they start — an FTP data connection, a TFTP reply, PPTP's GRE. A new
//! connection whose tuple matches one becomes RELATED to the expectation's master.

use crate::tuple::Tuple;
use std::collections::HashMap;

/// Flag: the expectation stays after a connection matched it.
pub const PERMANENT: u32 = 1;
/// Flag: the expectation matches nothing until made active.
pub const INACTIVE: u32 = 2;
/// Flag: created by hand through the control channel.
pub const USERSPACE: u32 = 4;

/// What to compare of a new connection's source; the destination and protocol are
/// always compared exactly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mask {
    /// Source address mask (all ones: exact; zeros: any source).
    pub src: [u8; 16],
    /// Source port / id mask (0xffff: exact; 0: any).
    pub src_id: u16,
}

impl Mask {
    /// Everything compared exactly.
    pub const EXACT: Mask = Mask {
        src: [0xff; 16],
        src_id: 0xffff,
    };

    /// Any source port, exact source address (FTP, TFTP).
    pub const ANY_SRC_PORT: Mask = Mask {
        src: [0xff; 16],
        src_id: 0,
    };

    /// Any source address and port (IRC DCC).
    pub const ANY_SRC: Mask = Mask {
        src: [0; 16],
        src_id: 0,
    };
}

/// How the connection an expectation creates is translated, for a master behind NAT
/// (Linux's `nf_nat_follow_master`): the destination goes to `to`:`to_port`, the
/// source to the address the master's far side has in the direction it travels in
/// (GRE in the master's original direction: its key too, see `follow_master`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FollowNat {
    /// The expected connection travels in the master's reply direction.
    pub reply: bool,
    /// Its real destination address.
    pub to: [u8; 16],
    /// Its real destination port.
    pub to_port: u16,
}

/// A request to create an expectation.
#[derive(Clone, Debug)]
pub struct ExpectSpec {
    /// The expected connection's original tuple (fields outside the mask are ignored).
    pub tuple: Tuple,
    /// What of the source to compare.
    pub mask: Mask,
    /// Lifetime, seconds.
    pub timeout_s: u32,
    /// Helper name (and its class) for limits and listings.
    pub helper: String,
    /// Class within the helper (FTP: 0).
    pub class: u8,
    /// Most live expectations per master and class (the oldest goes at the limit).
    pub max_expected: u32,
    /// `PERMANENT`, `INACTIVE`, `USERSPACE` bits.
    pub flags: u32,
    /// The expected connection's translation (a master behind NAT).
    pub nat: Option<FollowNat>,
}

/// What [`ExpectTable::claim`] found for a new connection.
#[derive(Debug, Default)]
pub struct Claim {
    /// The master (slot and generation) of the expectation the connection fulfils.
    pub master: Option<(u32, u32)>,
    /// How that expectation translates the connection.
    pub nat: Option<FollowNat>,
    /// Expectations that went: expired ones met on the way, then the claimed one and
    /// its mirror image.
    pub gone: Vec<Expectation>,
}

/// A live expectation.
#[derive(Clone, Debug)]
pub struct Expectation {
    /// Id (stable while it lives).
    pub id: u32,
    /// The expected tuple.
    pub tuple: Tuple,
    /// The mask.
    pub mask: Mask,
    /// Slot of the master connection.
    pub master: u32,
    /// Generation of that slot when the expectation was made.
    pub master_generation: u32,
    /// The master's original tuple (for listings).
    pub master_tuple: Tuple,
    /// When it expires (packet time, ns).
    pub expires_ns: u64,
    /// Helper name.
    pub helper: String,
    /// Class.
    pub class: u8,
    /// Flags.
    pub flags: u32,
    /// Creation order, for "oldest first".
    pub seq: u64,
    /// The expected connection's translation.
    pub nat: Option<FollowNat>,
}

impl Expectation {
    /// Whether a new connection's original tuple matches.
    pub fn matches(&self, t: &Tuple) -> bool {
        let e = &self.tuple;
        e.proto == t.proto
            && e.family == t.family
            && e.zone == t.zone
            && e.dst == t.dst
            && e.dst_id == t.dst_id
            && (e.src_id & self.mask.src_id) == (t.src_id & self.mask.src_id)
            && e.src
                .iter()
                .zip(&t.src)
                .zip(&self.mask.src)
                .all(|((a, b), m)| a & m == b & m)
    }

    /// Whether a connection could match both this expectation and one of `tuple` and
    /// `mask` (Linux's `expect_clash`): the tuples are equal under the intersection of
    /// the masks.
    pub fn clashes(&self, tuple: &Tuple, mask: &Mask) -> bool {
        let (a, b) = (&self.tuple, tuple);
        let id_mask = self.mask.src_id & mask.src_id;
        a.proto == b.proto
            && a.family == b.family
            && a.zone == b.zone
            && a.dst == b.dst
            && a.dst_id == b.dst_id
            && a.src_id & id_mask == b.src_id & id_mask
            && (0..16).all(|k| {
                let m = self.mask.src[k] & mask.src[k];
                a.src[k] & m == b.src[k] & m
            })
    }

    /// The line `conntrack -L expect` prints (timeout as of `now_ns`).
    pub fn line(&self, now_ns: u64) -> String {
        crate::record::expect_record(self, now_ns).line()
    }
}

/// Why an expectation was not created.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExpectError {
    /// The master connection does not exist (any more).
    NoMaster,
    /// The table of expectations is full.
    TableFull,
    /// An expectation that the same connections could match exists (of another
    /// master, or of the same master with another mask or class).
    Clash,
}

impl std::fmt::Display for ExpectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ExpectError::NoMaster => "no such master connection",
            ExpectError::TableFull => "expectation table full",
            ExpectError::Clash => "a clashing expectation exists",
        })
    }
}

type DstKey = ([u8; 16], u16, u8, u8, u16);

fn dst_key(t: &Tuple) -> DstKey {
    (t.dst, t.dst_id, t.proto, t.family, t.zone)
}

/// All expectations, indexed by the destination they expect.
#[derive(Default)]
pub struct ExpectTable {
    by_id: HashMap<u32, Expectation>,
    by_dst: HashMap<DstKey, Vec<u32>>,
    next_id: u32,
    next_seq: u64,
    /// Most expectations in all (Linux's `nf_ct_expect_max`).
    pub max: usize,
}

impl ExpectTable {
    /// An empty table holding at most `max`.
    pub fn new(max: usize) -> ExpectTable {
        ExpectTable {
            max,
            next_id: 1,
            ..ExpectTable::default()
        }
    }

    /// Number of live expectations.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// Every expectation, oldest first.
    pub fn all(&self) -> Vec<&Expectation> {
        let mut v: Vec<&Expectation> = self.by_id.values().collect();
        v.sort_by_key(|e| e.seq);
        v
    }

    /// One expectation.
    pub fn get(&self, id: u32) -> Option<&Expectation> {
        self.by_id.get(&id)
    }

    /// Inserts an expectation for master slot `master` (generation `gen`, original tuple
    /// `master_tuple`). Evicts the master's oldest of the same class beyond
    /// `max_expected`; returns the new id and the ids evicted (or replaced).
    pub fn insert(
        &mut self,
        spec: ExpectSpec,
        master: u32,
        gen: u32,
        master_tuple: Tuple,
        now_ns: u64,
    ) -> Result<(u32, Vec<u32>), ExpectError> {
        let mut removed = Vec::new();
        // As Linux's `__nf_ct_expect_check`: an identical expectation (tuple and mask)
        // of the same master and class is replaced (Linux refreshes it); of another
        // class it is refused; any other that a connection could match as well as the
        // new one (equal under both masks) clashes, whichever master it has.
        let mut same = Vec::new();
        for &i in self.by_dst.get(&dst_key(&spec.tuple)).into_iter().flatten() {
            let Some(e) = self.by_id.get(&i) else {
                continue;
            };
            let mine = e.master == master && e.master_generation == gen;
            if mine && e.tuple == spec.tuple && e.mask == spec.mask {
                if e.class != spec.class {
                    return Err(ExpectError::Clash);
                }
                same.push(i);
            } else if e.clashes(&spec.tuple, &spec.mask) {
                return Err(ExpectError::Clash);
            }
        }
        for i in same {
            self.remove(i);
            removed.push(i);
        }
        if spec.max_expected > 0 {
            let mut mine: Vec<(u64, u32)> = self
                .by_id
                .values()
                .filter(|e| {
                    e.master == master
                        && e.master_generation == gen
                        && e.class == spec.class
                        && e.helper == spec.helper
                })
                .map(|e| (e.seq, e.id))
                .collect();
            mine.sort_unstable();
            while mine.len() >= spec.max_expected as usize {
                let (_, id) = mine.remove(0);
                self.remove(id);
                removed.push(id);
            }
        }
        if self.by_id.len() >= self.max {
            return Err(ExpectError::TableFull);
        }
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1).max(1);
        self.next_seq += 1;
        let e = Expectation {
            id,
            tuple: spec.tuple,
            mask: spec.mask,
            master,
            master_generation: gen,
            master_tuple,
            expires_ns: now_ns.saturating_add(spec.timeout_s as u64 * 1_000_000_000),
            helper: spec.helper,
            class: spec.class,
            flags: spec.flags,
            seq: self.next_seq,
            nat: spec.nat,
        };
        self.by_dst.entry(dst_key(&e.tuple)).or_default().push(id);
        self.by_id.insert(id, e);
        Ok((id, removed))
    }

    /// Removes one expectation; returns it.
    pub fn remove(&mut self, id: u32) -> Option<Expectation> {
        let e = self.by_id.remove(&id)?;
        let key = dst_key(&e.tuple);
        if let Some(v) = self.by_dst.get_mut(&key) {
            v.retain(|i| *i != id);
            if v.is_empty() {
                self.by_dst.remove(&key);
            }
        }
        Some(e)
    }

    /// The newest live, active expectation matching a new connection's tuple (Linux
    /// adds expectations at the head of their hash chain and takes the first match).
    /// Expired ones met on the way are removed and returned in `expired`.
    pub fn find(&mut self, t: &Tuple, now_ns: u64, expired: &mut Vec<Expectation>) -> Option<u32> {
        let ids = self.by_dst.get(&dst_key(t))?.clone();
        let mut best: Option<(u64, u32)> = None;
        for id in ids {
            let Some(e) = self.by_id.get(&id) else {
                continue;
            };
            if e.expires_ns <= now_ns {
                if let Some(e) = self.remove(id) {
                    expired.push(e);
                }
                continue;
            }
            if e.flags & INACTIVE == 0 && e.matches(t) && best.is_none_or(|(s, _)| e.seq > s) {
                best = Some((e.seq, id));
            }
        }
        best.map(|(_, id)| id)
    }

    /// Claims the expectation a new connection with tuple `t` fulfils, as Linux's
    /// `nf_ct_find_expectation` does: the newest live, active match. A permanent one
    /// stays; any other goes, and with it its mirror image (a pair expected both ways,
    /// PPTP's GRE: the first to arrive makes the connection of both directions, as
    /// Linux's pptp expectfn removes the other). Expired expectations met on the way
    /// go too.
    pub fn claim(&mut self, t: &Tuple, now_ns: u64) -> Claim {
        let mut gone = Vec::new();
        let Some(e) = self.find(t, now_ns, &mut gone).and_then(|id| self.get(id)) else {
            return Claim {
                master: None,
                nat: None,
                gone,
            };
        };
        let (id, master, generation, nat) = (e.id, e.master, e.master_generation, e.nat);
        if e.flags & PERMANENT == 0 {
            if let Some(e) = self.remove(id) {
                let siblings = match e.tuple.invert() {
                    Some(mirror) => self.remove_mirror((master, generation), &mirror),
                    None => Vec::new(),
                };
                gone.push(e);
                gone.extend(siblings);
            }
        }
        Claim {
            master: Some((master, generation)),
            nat,
            gone,
        }
    }

    /// Removes master `master`'s (slot and generation) expectations of exactly `tuple`
    /// that are not permanent: the other direction of a pair whose first connection
    /// arrived. Looked up by destination.
    pub fn remove_mirror(&mut self, master: (u32, u32), tuple: &Tuple) -> Vec<Expectation> {
        let ids: Vec<u32> = self
            .by_dst
            .get(&dst_key(tuple))
            .into_iter()
            .flatten()
            .filter_map(|id| self.by_id.get(id))
            .filter(|x| {
                (x.master, x.master_generation) == master
                    && x.tuple == *tuple
                    && x.flags & PERMANENT == 0
            })
            .map(|x| x.id)
            .collect();
        ids.into_iter().filter_map(|id| self.remove(id)).collect()
    }

    /// Removes every expectation of master slot `master` (its connection ended).
    pub fn remove_master(&mut self, master: u32, gen: u32) -> Vec<Expectation> {
        let ids: Vec<u32> = self
            .by_id
            .values()
            .filter(|e| e.master == master && e.master_generation == gen)
            .map(|e| e.id)
            .collect();
        ids.into_iter().filter_map(|i| self.remove(i)).collect()
    }

    /// Removes master `master`'s (slot and generation) expectations whose class is one
    /// of `classes`.
    pub fn remove_classes(&mut self, master: u32, gen: u32, classes: &[u8]) -> Vec<Expectation> {
        let ids: Vec<u32> = self
            .by_id
            .values()
            .filter(|e| {
                e.master == master && e.master_generation == gen && classes.contains(&e.class)
            })
            .map(|e| e.id)
            .collect();
        ids.into_iter().filter_map(|i| self.remove(i)).collect()
    }

    /// Removes expired expectations.
    pub fn expire(&mut self, now_ns: u64) -> Vec<Expectation> {
        let ids: Vec<u32> = self
            .by_id
            .values()
            .filter(|e| e.expires_ns <= now_ns)
            .map(|e| e.id)
            .collect();
        ids.into_iter().filter_map(|i| self.remove(i)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gre(src: u8, dst: u8, src_key: u16, dst_key: u16) -> Tuple {
        let mut t = Tuple {
            src_id: src_key,
            dst_id: dst_key,
            proto: 47,
            family: crate::tuple::FAMILY_V4,
            ..Tuple::default()
        };
        t.src[..4].copy_from_slice(&[10, 0, 0, src]);
        t.dst[..4].copy_from_slice(&[10, 0, 0, dst]);
        t
    }

    fn spec(tuple: Tuple, flags: u32) -> ExpectSpec {
        ExpectSpec {
            tuple,
            mask: Mask::EXACT,
            timeout_s: 60,
            helper: "pptp".into(),
            class: 0,
            max_expected: 8,
            flags,
            nat: None,
        }
    }

    #[test]
    fn a_claim_takes_the_match_and_its_mirror_image_and_leaves_a_permanent_one() {
        let sec = 1_000_000_000;
        let mut t = ExpectTable::new(64);
        let master = gre(1, 2, 0, 0);
        let there = gre(1, 2, 7, 9);
        let back = gre(2, 1, 9, 7);
        t.insert(spec(there, 0), 3, 11, master, 0).unwrap();
        t.insert(spec(back, 0), 3, 11, master, 0).unwrap();
        let other = gre(5, 6, 1, 1);
        t.insert(spec(other, PERMANENT), 4, 12, master, 0).unwrap();

        let c = t.claim(&back, sec);
        assert_eq!(c.master, Some((3, 11)));
        let gone: Vec<Tuple> = c.gone.iter().map(|e| e.tuple).collect();
        assert_eq!(gone, [back, there], "the match, then its mirror image");
        assert_eq!(t.len(), 1);
        // A permanent expectation serves every claim and stays.
        for _ in 0..2 {
            let c = t.claim(&other, sec);
            assert_eq!(c.master, Some((4, 12)));
            assert!(c.gone.is_empty());
        }
        // Nothing matches: no master.
        assert_eq!(t.claim(&there, sec).master, None);
        // An expectation past its time is not claimed but removed.
        t.insert(spec(there, 0), 3, 11, master, 0).unwrap();
        let c = t.claim(&there, 120 * sec);
        assert_eq!(c.master, None);
        assert_eq!(c.gone.len(), 1);
    }
}
