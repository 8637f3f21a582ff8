//! IPv4 and IPv6 reassembly before connection tracking, as Linux's
//! `nf_defrag_ipv4` (`ip_defrag`) and `nf_defrag_ipv6` (`nf_ct_frag6_gather`)
//! do it, both built on `inet_fragment.c`. A pure state machine: no locking,
//! no I/O and no clock (every time is the packet time the caller passes), so
//! the caller keeps it under its own lock.
//!
//! Behaviour (checked against Linux 6.6 `nf_conntrack_reasm.c` and a recent
//! mainline (6.1x) `ip_fragment.c` / `inet_fragment.c`):
//!
//! - Queues are keyed by family, addresses, identification, the IPv4
//!   protocol, the zone and, for IPv6, the input interface
//!   ([`Defrag::push_on_interface`]; [`Defrag::push`] passes 0).
//! - A queue lives `timeout_v4_ns` / `timeout_v6_ns` from its first fragment's
//!   arrival; later fragments do not extend it (Linux's timer).
//! - Overlap (RFC 5722, and IPv4 since Linux 4.19 "ip: discard IPv4 datagrams
//!   with overlapping segments") discards the whole datagram. A fragment lying
//!   wholly inside a run of adjacent fragments already held is a duplicate: it
//!   is dropped and the queue kept ([`DefragOutcome::Held`], counted in
//!   [`DefragStats::duplicates`]), as `inet_frag_queue_insert` returns
//!   `IPFRAG_DUP`. That covers exact copies and also re-cut pieces of the same
//!   run (Linux does not compare the bytes).
//! - Every fragment but the last must carry a multiple of 8 bytes; one that
//!   does not is invalid and discards its datagram (Linux does so for IPv6;
//!   for IPv4 it silently trims the fragment to a multiple of 8, which only
//!   leaves a hole that never fills).
//! - A fragment with no data, a last fragment ending before data already held
//!   or disagreeing with an earlier last fragment, and a fragment reaching past
//!   a known end are invalid; for IPv4 they discard the datagram
//!   (`discard_qp`), for IPv6 only the fragment (`goto err`), as in Linux.
//! - Too big: IPv4 total length or IPv6 payload length above
//!   [`DefragConfig::max_datagram`] (at most 65535). IPv4 discards the datagram
//!   as soon as a fragment proves it (Linux waits for reassembly, then fails);
//!   IPv6 drops just the fragment whose end passes the limit, and discards the
//!   datagram if the unfragmentable part pushes the result over.
//! - ECN: Not-ECT mixed with ECN-capable fragments fails reassembly; CE in any
//!   fragment is carried into the result (Linux's `ip_frag_ecn_table`).
//! - IPv4 DF is kept on the result only when the largest fragment had it.
//! - IPv6 atomic fragments (offset 0, M clear) come back at once with the
//!   fragment header removed; modern Linux conntrack gets the same result by
//!   queueing and immediately reassembling them, but we handle them in
//!   isolation from any queue with the same identification (RFC 6946).
//! - IPv6 first fragments missing part of the header chain through the
//!   upper-layer header are invalid (RFC 8200 section 4.5;
//!   `ipv6frag_thdr_truncated` - Linux lets them through un-reassembled).
//! - Memory: when [`DefragConfig::max_bytes`] would be passed, the oldest
//!   other datagrams are evicted first; a datagram that alone would pass it is
//!   invalid (`frag-limit`). Modern Linux instead refuses new queues above
//!   `high_thresh`. Each held fragment is charged its bytes plus
//!   [`PER_FRAGMENT_OVERHEAD`], standing in for Linux's `skb->truesize`.
//! - [`DefragConfig::max_fragments`] caps fragments per datagram (Linux has no
//!   such cap, only `ipfrag_max_dist` per IPv4 source).
//! - The IPv4 header checksum is not verified (Linux's `ip_rcv` did that
//!   before the hook); the result's is recomputed.

mod parse;
mod queue;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

use parse::{Fragment, Key, Parsed};
use queue::{Place, Queue};

/// Bytes charged per held fragment on top of its data, for bookkeeping
/// (Linux charges `skb->truesize`); keeps floods of tiny fragments bounded.
pub const PER_FRAGMENT_OVERHEAD: usize = 64;

/// Expired datagrams [`Defrag::push`] drops per call at most.
const EXPIRE_PER_PUSH: usize = 16;

/// Largest value of the 16-bit IP length fields.
const IP_MAX: usize = 65535;

/// Reasons carried by [`DefragOutcome::Invalid`] and counted in
/// [`DefragStats::invalid`].
pub mod reason {
    /// The fragment overlaps data already held (the datagram is discarded).
    pub const OVERLAP: &str = "frag-overlap";
    /// The reassembled datagram would pass the size limit.
    pub const TOO_BIG: &str = "frag-too-big";
    /// Bad fragment length: no data, not a multiple of 8 before the last
    /// fragment, or an end that disagrees with the last fragment's.
    pub const BAD_LENGTH: &str = "frag-bad-length";
    /// The datagram alone would pass the memory limit.
    pub const LIMIT: &str = "frag-limit";
    /// The datagram already holds the most fragments allowed.
    pub const TOO_MANY: &str = "frag-too-many";
    /// Lengths in the header pass the bytes present, the fragment header is
    /// cut off, or an IPv6 first fragment lacks the upper-layer header.
    pub const TRUNCATED: &str = "frag-truncated";
    /// IPv4 header length under 20 bytes.
    pub const BAD_HEADER: &str = "frag-bad-header";
    /// Fragments disagree on ECN (Not-ECT mixed with ECT or CE).
    pub const ECN: &str = "frag-ecn";
}

/// Limits (Linux: `ipfrag_high_thresh` 4 MiB, `ipfrag_time` 30 s;
/// `nf_conntrack_frag6_high_thresh` 4 MiB, `nf_conntrack_frag6_timeout` 60 s).
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DefragConfig {
    /// Most bytes held over all datagrams, each fragment charged its data
    /// (plus the header of the first) and [`PER_FRAGMENT_OVERHEAD`].
    pub max_bytes: usize,
    /// How long an IPv4 datagram may wait from its first fragment, ns.
    pub timeout_v4_ns: u64,
    /// How long an IPv6 datagram may wait from its first fragment, ns.
    pub timeout_v6_ns: u64,
    /// Most fragments per datagram (0: no cap). Linux has no per-queue cap;
    /// 64 allows a full 65535-byte datagram cut for a 1280-byte MTU (52 pieces).
    pub max_fragments: usize,
    /// Largest reassembled IPv4 total length / IPv6 payload length; values
    /// above 65535 act as 65535, the most the 16-bit length fields hold.
    pub max_datagram: usize,
}

impl Default for DefragConfig {
    fn default() -> Self {
        DefragConfig {
            max_bytes: 4 * 1024 * 1024,
            timeout_v4_ns: 30_000_000_000,
            timeout_v6_ns: 60_000_000_000,
            max_fragments: 64,
            max_datagram: IP_MAX,
        }
    }
}

/// What happened to a datagram handed to the reassembler.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DefragOutcome {
    /// Not a fragment: continue with the packet as it is.
    NotFragment,
    /// Kept until the rest arrives, or a duplicate dropped while its datagram
    /// waits (the caller returns STOLEN either way).
    Held,
    /// The last missing piece arrived: the whole datagram (IPv4: header from
    /// the first fragment with MF=0, offset 0, total length and header
    /// checksum recomputed; IPv6: the fragment header removed, the preceding
    /// header's next-header set to the fragment header's, payload length fixed).
    Complete(Vec<u8>),
    /// The fragment is bad and is dropped (and with it the whole datagram
    /// where the RFCs or Linux say so); the reason is one of [`reason`].
    Invalid(&'static str),
}

/// Counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DefragStats {
    /// Datagrams reassembled from a queue.
    pub reassembled: u64,
    /// IPv6 atomic fragments returned without queueing.
    pub atomic: u64,
    /// Fragments stored in a queue that was not complete yet.
    pub fragments_held: u64,
    /// Duplicate fragments dropped while their datagram waits.
    pub duplicates: u64,
    /// Datagrams dropped because their time ran out.
    pub timeouts: u64,
    /// Datagrams dropped to make room under the memory limit.
    pub evicted: u64,
    /// Datagrams discarded because of a bad fragment.
    pub discarded: u64,
    /// Invalid fragments by reason.
    pub invalid: BTreeMap<&'static str, u64>,
}

impl DefragStats {
    /// Invalid fragments with `reason`.
    pub fn invalid_count(&self, reason: &str) -> u64 {
        self.invalid.get(reason).copied().unwrap_or(0)
    }

    /// Invalid fragments of every reason.
    pub fn invalid_total(&self) -> u64 {
        self.invalid.values().sum()
    }
}

/// The reassembler: datagrams waiting for their fragments.
#[derive(Debug)]
pub struct Defrag {
    cfg: DefragConfig,
    queues: HashMap<Key, Queue>,
    /// Creation order to key, for eviction.
    by_age: BTreeMap<u64, Key>,
    /// (deadline, creation order) to key, for expiry.
    by_deadline: BTreeMap<(u64, u64), Key>,
    next_seq: u64,
    held: usize,
    stats: DefragStats,
}

/// Why a fragment is refused, and whether its datagram goes with it.
struct Refusal {
    reason: &'static str,
    discard: bool,
}

impl Defrag {
    /// A reassembler with no datagrams waiting.
    pub fn new(cfg: DefragConfig) -> Defrag {
        Defrag {
            cfg,
            queues: HashMap::new(),
            by_age: BTreeMap::new(),
            by_deadline: BTreeMap::new(),
            next_seq: 0,
            held: 0,
            stats: DefragStats::default(),
        }
    }

    /// The limits in force.
    pub fn config(&self) -> &DefragConfig {
        &self.cfg
    }

    /// Handles one IP datagram (starting at the IP header; bytes after the IP
    /// total length / payload length are ignored), received at packet time
    /// `now_ns` in conntrack zone `zone`. Same as [`Defrag::push_on_interface`]
    /// with interface 0.
    pub fn push(&mut self, now_ns: u64, datagram: &[u8], zone: u16) -> DefragOutcome {
        self.push_on_interface(now_ns, datagram, zone, 0)
    }

    /// [`Defrag::push`] for a datagram that came in on interface `if_index`:
    /// IPv6 fragments are queued per interface, as `nf_ct_frag6_gather` keys
    /// them by `skb->dev->ifindex`; IPv4 ignores it (Linux keys IPv4 by the
    /// VRF master only).
    pub fn push_on_interface(
        &mut self,
        now_ns: u64,
        datagram: &[u8],
        zone: u16,
        if_index: u32,
    ) -> DefragOutcome {
        self.expire_some(now_ns, EXPIRE_PER_PUSH);
        match parse::parse(datagram, zone, if_index) {
            Parsed::NotFragment => DefragOutcome::NotFragment,
            Parsed::Invalid(reason) => self.invalid(reason),
            Parsed::Fragment(f) if !f.v4 && f.offset == 0 && !f.more => self.atomic(&f),
            Parsed::Fragment(f) => self.enqueue(now_ns, &f),
        }
    }

    /// Drops datagrams whose first fragment is older than the timeout (expired
    /// once `now_ns` reaches arrival plus timeout); returns how many were
    /// dropped. [`Defrag::push`] also does this, a few datagrams per call.
    pub fn expire(&mut self, now_ns: u64) -> usize {
        self.expire_some(now_ns, usize::MAX)
    }

    /// Bytes held now, as charged against [`DefragConfig::max_bytes`].
    pub fn held_bytes(&self) -> usize {
        self.held
    }

    /// Datagrams waiting now.
    pub fn pending(&self) -> usize {
        self.queues.len()
    }

    /// Counters.
    pub fn stats(&self) -> &DefragStats {
        &self.stats
    }

    /// Drops every waiting datagram (counters are kept).
    pub fn clear(&mut self) {
        self.queues.clear();
        self.by_age.clear();
        self.by_deadline.clear();
        self.held = 0;
    }

    fn invalid(&mut self, reason: &'static str) -> DefragOutcome {
        *self.stats.invalid.entry(reason).or_insert(0) += 1;
        DefragOutcome::Invalid(reason)
    }

    fn expire_some(&mut self, now_ns: u64, budget: usize) -> usize {
        let mut dropped = 0;
        while dropped < budget {
            let key = match self.by_deadline.first_key_value() {
                Some((&(deadline, _), &key)) if deadline <= now_ns => key,
                _ => break,
            };
            if let Some(q) = self.queues.remove(&key) {
                self.forget(&q);
            } else {
                // Not reachable while the indexes agree; never loop on it.
                self.by_deadline.pop_first();
            }
            self.stats.timeouts += 1;
            dropped += 1;
        }
        dropped
    }

    /// Removes a queue (already out of `queues`) from the indexes and the
    /// memory count.
    fn forget(&mut self, q: &Queue) {
        self.by_age.remove(&q.seq);
        self.by_deadline.remove(&(q.deadline, q.seq));
        self.held = self.held.saturating_sub(q.charge);
    }

    /// An IPv6 atomic fragment: the datagram without its fragment header.
    fn atomic(&mut self, f: &Fragment<'_>) -> DefragOutcome {
        if f.data.is_empty() {
            return self.invalid(reason::BAD_LENGTH);
        }
        let mut out = Vec::with_capacity(f.head.len() + f.data.len());
        out.extend_from_slice(f.head);
        out.extend_from_slice(f.data);
        // At most the original payload length minus the 8-byte fragment header.
        let payload_len = (out.len() - 40) as u16;
        out[4..6].copy_from_slice(&payload_len.to_be_bytes());
        out[f.nh_off] = f.next_header;
        self.stats.atomic += 1;
        DefragOutcome::Complete(out)
    }

    fn enqueue(&mut self, now_ns: u64, f: &Fragment<'_>) -> DefragOutcome {
        let existing = match self.queues.remove(&f.key) {
            Some(q) if q.deadline <= now_ns => {
                // Its time ran out: this fragment starts a new datagram.
                self.forget(&q);
                self.stats.timeouts += 1;
                None
            }
            other => other,
        };
        let is_new = existing.is_none();
        let mut q = existing.unwrap_or_else(|| {
            let timeout = if f.v4 {
                self.cfg.timeout_v4_ns
            } else {
                self.cfg.timeout_v6_ns
            };
            self.next_seq += 1;
            Queue::new(f.key, self.next_seq, now_ns.saturating_add(timeout))
        });

        let charge =
            f.data.len() + if f.offset == 0 { f.head.len() } else { 0 } + PER_FRAGMENT_OVERHEAD;
        match self.check(&q, f, charge) {
            Ok(Place::Fits) => {}
            Ok(_) => {
                // A duplicate: dropped, the datagram keeps waiting.
                self.stats.duplicates += 1;
                self.queues.insert(q.key, q);
                return DefragOutcome::Held;
            }
            Err(refusal) => {
                if !is_new {
                    if refusal.discard {
                        self.forget(&q);
                        self.stats.discarded += 1;
                    } else {
                        self.queues.insert(q.key, q);
                    }
                }
                return self.invalid(refusal.reason);
            }
        }

        let own = (!is_new).then_some(q.seq);
        self.make_room(now_ns, charge, own);
        q.add(f, charge);
        self.held += charge;

        if q.complete() {
            if !is_new {
                self.forget(&q);
            } else {
                self.held = self.held.saturating_sub(q.charge);
            }
            return match q.reassemble(f.v4, self.limit()) {
                Ok(datagram) => {
                    self.stats.reassembled += 1;
                    DefragOutcome::Complete(datagram)
                }
                Err(reason) => {
                    self.stats.discarded += 1;
                    self.invalid(reason)
                }
            };
        }
        if is_new {
            self.by_age.insert(q.seq, q.key);
            self.by_deadline.insert((q.deadline, q.seq), q.key);
        }
        self.queues.insert(q.key, q);
        self.stats.fragments_held += 1;
        DefragOutcome::Held
    }

    fn limit(&self) -> usize {
        self.cfg.max_datagram.min(IP_MAX)
    }

    /// Every test a fragment must pass before it is stored, in Linux's order.
    fn check(&self, q: &Queue, f: &Fragment<'_>, charge: usize) -> Result<Place, Refusal> {
        let refuse = |reason, discard| Err(Refusal { reason, discard });
        if f.v4 {
            let header = if f.offset == 0 {
                f.head.len()
            } else {
                q.head_len().unwrap_or(20)
            };
            if f.end + header > self.limit() {
                return refuse(reason::TOO_BIG, true);
            }
        } else if f.end > self.limit() {
            return refuse(reason::TOO_BIG, false);
        }
        if f.more && f.end & 7 != 0 {
            return refuse(reason::BAD_LENGTH, true);
        }
        if q.end_conflict(f) || f.end == f.offset {
            return refuse(reason::BAD_LENGTH, f.v4);
        }
        let place = q.place(f.offset, f.end);
        match place {
            Place::Overlap => return refuse(reason::OVERLAP, true),
            Place::Duplicate => return Ok(place),
            Place::Fits => {}
        }
        if self.cfg.max_fragments != 0 && q.fragments() >= self.cfg.max_fragments {
            return refuse(reason::TOO_MANY, true);
        }
        if q.charge + charge > self.cfg.max_bytes {
            return refuse(reason::LIMIT, true);
        }
        Ok(place)
    }

    /// Evicts the oldest datagrams other than `own` until `charge` more bytes
    /// fit; one already past its deadline counts as a timeout.
    fn make_room(&mut self, now_ns: u64, charge: usize, own: Option<u64>) {
        while self.held + charge > self.cfg.max_bytes {
            let victim = self
                .by_age
                .iter()
                .find(|(seq, _)| Some(**seq) != own)
                .map(|(_, key)| *key);
            let Some(key) = victim else { break };
            let Some(q) = self.queues.remove(&key) else {
                // Not reachable while the indexes agree; never loop on it.
                self.by_age.retain(|_, k| *k != key);
                continue;
            };
            self.forget(&q);
            if q.deadline <= now_ns {
                self.stats.timeouts += 1;
            } else {
                self.stats.evicted += 1;
            }
        }
    }
}
