//! One datagram being reassembled: its fragments by offset, the "runs" Linux's
//! `inet_frag_queue_insert` keeps to tell duplicates from overlaps, the
//! first/last flags and lengths of `inet_frag_queue`, and the rebuilding of the
//! whole datagram (`ip_frag_reasm` / `nf_ct_frag6_reasm`).

use std::collections::BTreeMap;

use brickwall_wire::checksum::checksum;

use super::parse::{Fragment, Key};
use super::reason;

/// Where a new fragment would go (Linux's `IPFRAG_OK` / `IPFRAG_DUP` /
/// `IPFRAG_OVERLAP`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Place {
    /// Free space: store it.
    Fits,
    /// Lies wholly inside one run already held: drop it, keep the queue.
    Duplicate,
    /// Overlaps held data otherwise: discard the whole datagram.
    Overlap,
}

/// A datagram waiting for its missing fragments.
#[derive(Debug)]
pub(super) struct Queue {
    /// Its key.
    pub key: Key,
    /// Creation order, for eviction (oldest first).
    pub seq: u64,
    /// Packet time at which it expires (first fragment's time plus the timeout).
    pub deadline: u64,
    /// Bytes charged against the memory limit.
    pub charge: usize,
    /// Fragment data by offset.
    frags: BTreeMap<usize, Vec<u8>>,
    /// Runs of adjacent fragments: start to end. A fragment appended right at
    /// the current end joins the last run; any other creates a run of its own,
    /// so runs are not always maximal (as in Linux).
    runs: BTreeMap<usize, usize>,
    /// End of the highest fragment held (Linux's `fragments_tail`).
    tail_end: usize,
    /// Length of the fragmentable part: exact once the last fragment is in,
    /// else the highest end seen.
    len: usize,
    /// The fragment at offset 0 is in.
    first_in: bool,
    /// The fragment without MF/M is in.
    last_in: bool,
    /// Data bytes held (Linux's `meat`).
    meat: usize,
    /// From the fragment at offset 0: the IPv4 header, or the IPv6
    /// unfragmentable part.
    head: Vec<u8>,
    /// IPv6: offset in `head` of the next-header byte naming the fragment header.
    nh_off: usize,
    /// IPv6: the first fragment's fragment-header next header.
    next_header: u8,
    /// ECN codepoints seen, as `1 << codepoint` bits.
    ecn: u8,
    /// IPv4: largest fragment (header plus data).
    max_size: usize,
    /// IPv4: largest fragment carrying DF.
    max_df_size: usize,
}

impl Queue {
    /// An empty queue.
    pub fn new(key: Key, seq: u64, deadline: u64) -> Queue {
        Queue {
            key,
            seq,
            deadline,
            charge: 0,
            frags: BTreeMap::new(),
            runs: BTreeMap::new(),
            tail_end: 0,
            len: 0,
            first_in: false,
            last_in: false,
            meat: 0,
            head: Vec::new(),
            nh_off: 0,
            next_header: 0,
            ecn: 0,
            max_size: 0,
            max_df_size: 0,
        }
    }

    /// Fragments held.
    pub fn fragments(&self) -> usize {
        self.frags.len()
    }

    /// Length of the header the reassembled IPv4 datagram will carry, if known.
    pub fn head_len(&self) -> Option<usize> {
        self.first_in.then_some(self.head.len())
    }

    /// Linux's end checks: a last fragment must not end before data already
    /// held nor differ from an earlier last fragment; a non-last fragment must
    /// not reach past a known end.
    pub fn end_conflict(&self, f: &Fragment<'_>) -> bool {
        if f.more {
            self.last_in && f.end > self.len
        } else {
            f.end < self.len || (self.last_in && f.end != self.len)
        }
    }

    /// Where `[offset, end)` would go (`inet_frag_queue_insert`).
    pub fn place(&self, offset: usize, end: usize) -> Place {
        if self.frags.is_empty() {
            return Place::Fits;
        }
        if self.tail_end < end {
            return if offset < self.tail_end {
                Place::Overlap
            } else {
                Place::Fits
            };
        }
        // Runs are disjoint: only the last one starting before `end` can meet it.
        match self.runs.range(..end).next_back() {
            Some((&start, &run_end)) if run_end > offset => {
                if offset >= start && end <= run_end {
                    Place::Duplicate
                } else {
                    Place::Overlap
                }
            }
            _ => Place::Fits,
        }
    }

    /// Stores a fragment that [`Queue::place`] said fits, charging `charge`.
    pub fn add(&mut self, f: &Fragment<'_>, charge: usize) {
        let (offset, end) = (f.offset, f.end);
        if !self.frags.is_empty() && self.tail_end < end && offset == self.tail_end {
            if let Some(mut last) = self.runs.last_entry() {
                *last.get_mut() = end;
            }
        } else {
            self.runs.insert(offset, end);
        }
        self.tail_end = self.tail_end.max(end);
        self.frags.insert(offset, f.data.to_vec());
        if f.more {
            self.len = self.len.max(end);
        } else {
            self.last_in = true;
            self.len = end;
        }
        self.meat += end - offset;
        self.ecn |= f.ecn;
        if f.v4 {
            self.max_size = self.max_size.max(f.size);
            if f.df {
                self.max_df_size = self.max_df_size.max(f.size);
            }
        }
        if offset == 0 {
            self.first_in = true;
            self.head = f.head.to_vec();
            self.nh_off = f.nh_off;
            self.next_header = f.next_header;
        }
        self.charge += charge;
    }

    /// Every byte from 0 to the last fragment's end is here.
    pub fn complete(&self) -> bool {
        self.first_in && self.last_in && self.meat == self.len
    }

    /// Builds the whole datagram. IPv4: the first fragment's header with the
    /// total length set, DF kept only if the largest fragment had it
    /// (`max_df_size == max_size`), MF and offset cleared, CE merged into
    /// the TOS and the checksum recomputed. IPv6: the fragment header removed,
    /// the header before it naming the first fragment's next header, the
    /// payload length set and CE merged into the traffic class. `limit` is
    /// the largest IPv4 total length / IPv6 payload length allowed.
    pub fn reassemble(&self, v4: bool, limit: usize) -> Result<Vec<u8>, &'static str> {
        let ecn = ecn_merge(self.ecn).ok_or(reason::ECN)?;
        let total = self.head.len() + self.len;
        let length = if v4 { total } else { total.saturating_sub(40) };
        if length > limit || length > usize::from(u16::MAX) {
            return Err(reason::TOO_BIG);
        }
        let mut out = Vec::with_capacity(total);
        out.extend_from_slice(&self.head);
        for data in self.frags.values() {
            out.extend_from_slice(data);
        }
        let length = (length as u16).to_be_bytes();
        if v4 {
            out[2..4].copy_from_slice(&length);
            out[1] |= ecn;
            let frag_off: u16 = if self.max_df_size == self.max_size {
                0x4000
            } else {
                0
            };
            out[6..8].copy_from_slice(&frag_off.to_be_bytes());
            out[10..12].copy_from_slice(&[0, 0]);
            let sum = checksum(&out[..self.head.len()]);
            out[10..12].copy_from_slice(&sum.to_be_bytes());
        } else {
            out[4..6].copy_from_slice(&length);
            out[1] |= ecn << 4;
            out[self.nh_off] = self.next_header;
        }
        Ok(out)
    }
}

/// Linux's `ip_frag_ecn_table`: Not-ECT mixed with any ECN-capable codepoint
/// is invalid; CE mixed with ECT(0)/ECT(1) gives CE; anything else leaves the
/// first fragment's codepoint alone (returns 0 to OR in).
pub(super) fn ecn_merge(bits: u8) -> Option<u8> {
    const NOT_ECT: u8 = 1 << 0;
    const CE: u8 = 1 << 3;
    if bits & NOT_ECT != 0 && bits != NOT_ECT {
        None
    } else if bits & CE != 0 && bits != CE {
        Some(3)
    } else {
        Some(0)
    }
}
