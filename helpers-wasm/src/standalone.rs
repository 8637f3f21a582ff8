//! One helper driven over captured packets without the engine (`brickwall helper
//! run`): a connection map of its own, in which both directions of a TCP or UDP tuple
//! meet one connection, the helper's state per connection, and what each call asked.
//!
//! The map is a simplification of conntrack's: a connection is its 5-tuple, whichever
//! side sent first is the original direction, its state is NEW until the first reply
//! and ESTABLISHED from then on (the first reply included); there are no timeouts, no
//! TCP state machine, no defragmentation (fragments are skipped), no expectation table
//! (the classes a helper flushes are only reported), and a packet the helper drops is
//! only reported.

use crate::conn::{CallOutcome, HConnInfo, HCtState, HTuple, PacketCall};
use crate::set::{HelperId, HelperSet};
use crate::stats::HelperStats;
use brickwall_wire::{flags, ip_proto, parse_frame, Family, LinkType, L4};
use std::collections::HashMap;

/// A TCP or UDP packet as the driver takes it.
#[derive(Clone, Copy, Debug)]
pub struct Segment<'a> {
    /// Its direction's tuple.
    pub tuple: HTuple,
    /// TCP sequence number (0 for UDP).
    pub seq: u32,
    /// TCP flags (0 for UDP).
    pub tcp_flags: u8,
    /// The layer-4 payload (without link padding).
    pub payload: &'a [u8],
}

/// Parses a frame down to its TCP or UDP payload; `None` for anything else (not IP,
/// broken, another protocol, a fragment, a malformed transport header).
pub fn segment(link: LinkType, frame: &[u8]) -> Option<Segment<'_>> {
    let p = parse_frame(link, frame).ok()?;
    if p.flags & (flags::FRAGMENT | flags::LATER_FRAGMENT | flags::L4_MALFORMED) != 0 {
        return None;
    }
    let (src_port, dst_port, seq, tcp_flags) = match p.l4 {
        L4::Tcp {
            sport,
            dport,
            seq,
            flags,
            ..
        } if p.l4proto == ip_proto::TCP => (sport, dport, seq, flags),
        L4::Udp { sport, dport } if p.l4proto == ip_proto::UDP => (sport, dport, 0, 0),
        _ => return None,
    };
    let l3 = frame.get(p.l3_off as usize..)?;
    let v6 = p.family == Family::Ipv6;
    let (s, d) = if v6 {
        (8..24, 24..40)
    } else {
        (12..16, 16..20)
    };
    let mut src = [0u8; 16];
    let mut dst = [0u8; 16];
    let sb = l3.get(s)?;
    let db = l3.get(d)?;
    src[..sb.len()].copy_from_slice(sb);
    dst[..db.len()].copy_from_slice(db);
    let end = (p.l3_off as usize + p.l3_len as usize).min(frame.len());
    let payload = frame.get(p.payload_off as usize..end).unwrap_or(&[]);
    Some(Segment {
        tuple: HTuple {
            src,
            dst,
            src_port,
            dst_port,
            proto: p.l4proto,
            v6,
        },
        seq,
        tcp_flags,
        payload,
    })
}

/// The other direction of a tuple.
pub fn invert(t: &HTuple) -> HTuple {
    HTuple {
        src: t.dst,
        dst: t.src,
        src_port: t.dst_port,
        dst_port: t.src_port,
        ..*t
    }
}

/// The direction-independent key of a tuple (the smaller endpoint first).
fn key(t: &HTuple) -> HTuple {
    if (t.src, t.src_port) <= (t.dst, t.dst_port) {
        *t
    } else {
        invert(t)
    }
}

/// A connection of the driver's map.
struct Conn {
    /// Its number, in order of appearance (the `conn` handle the helper sees).
    id: u32,
    /// The direction of its first packet.
    original: HTuple,
    /// A packet went the other way.
    replied: bool,
    /// The helper's state, if the connection was handed to it.
    state: Option<Vec<u8>>,
}

/// What a packet made the helper do, when it did anything worth reporting.
#[derive(Debug)]
pub enum Note {
    /// Its connection was new and handing it to the helper failed.
    AssignFailed {
        /// The connection's number.
        conn: u32,
        /// The kinds of failure.
        kinds: Vec<&'static str>,
    },
    /// A call asked for expectations, dropped the packet or failed.
    Called {
        /// The connection's number.
        conn: u32,
        /// Whether the packet went in the reply direction.
        reply: bool,
        /// What the call answered.
        outcome: CallOutcome,
        /// For a failed call, the kinds of failure.
        kinds: Vec<&'static str>,
    },
}

/// What a whole run did.
#[derive(Clone, Debug)]
pub struct Summary {
    /// Connections seen.
    pub connections: usize,
    /// Connections handed to the helper.
    pub handed: u64,
    /// The helper's counters at the end.
    pub stats: HelperStats,
}

/// One helper and its connection map.
pub struct Driver {
    set: HelperSet,
    id: HelperId,
    /// Hand the helper only connections to its ports (else every one).
    by_port: bool,
    conns: Vec<Conn>,
    index: HashMap<HTuple, usize>,
    handed: u64,
    /// The counters as of the last failure check.
    last: HelperStats,
}

impl Driver {
    /// Drives helper `id` of `set`; with `by_port`, only over connections whose first
    /// packet goes to one of its ports.
    pub fn new(set: HelperSet, id: HelperId, by_port: bool) -> Driver {
        Driver {
            set,
            id,
            by_port,
            conns: Vec::new(),
            index: HashMap::new(),
            handed: 0,
            last: HelperStats::default(),
        }
    }

    /// The helper's counters now.
    pub fn stats(&mut self) -> HelperStats {
        self.set
            .reports()
            .into_iter()
            .next()
            .map(|r| r.stats)
            .unwrap_or_default()
    }

    /// The kinds of failure since the last check, if any.
    fn new_failures(&mut self) -> Option<Vec<&'static str>> {
        let now = self.stats();
        let kinds = (now.failures() > self.last.failures()).then(|| {
            let k = now.failure_kinds_since(&self.last);
            if k.is_empty() {
                vec!["unknown"]
            } else {
                k
            }
        });
        self.last = now;
        kinds
    }

    /// Takes one packet: finds or makes its connection, hands it to the helper, and
    /// says what the helper did worth reporting.
    pub fn packet(&mut self, pkt: &Segment<'_>) -> Vec<Note> {
        let mut notes = Vec::new();
        let k = key(&pkt.tuple);
        let ci = match self.index.get(&k) {
            Some(&ci) => ci,
            None => {
                let conn_id = u32::try_from(self.conns.len()).unwrap_or(u32::MAX);
                let t = pkt.tuple;
                let helper =
                    !self.by_port || self.set.id_for_port(t.proto, t.dst_port) == Some(self.id);
                let state = if helper {
                    self.handed += 1;
                    let info = HConnInfo {
                        original: t,
                        reply: invert(&t),
                        zone: 0,
                        mark: 0,
                    };
                    let s = self.set.assigned(self.id, conn_id, &info);
                    if s.is_none() {
                        if let Some(kinds) = self.new_failures() {
                            notes.push(Note::AssignFailed {
                                conn: conn_id,
                                kinds,
                            });
                        }
                    }
                    Some(s.unwrap_or_default())
                } else {
                    None
                };
                self.conns.push(Conn {
                    id: conn_id,
                    original: t,
                    replied: false,
                    state,
                });
                self.index.insert(k, self.conns.len() - 1);
                self.conns.len() - 1
            }
        };
        let Some(c) = self.conns.get_mut(ci) else {
            return notes;
        };
        let reply = pkt.tuple != c.original;
        if reply {
            c.replied = true;
        }
        let (Some(state), false) = (c.state.as_mut(), pkt.payload.is_empty()) else {
            return notes;
        };
        let call = PacketCall {
            conn: c.id,
            reply,
            ct: if c.replied {
                HCtState::Established
            } else {
                HCtState::New
            },
            seq: pkt.seq,
            tcp_flags: pkt.tcp_flags,
            payload: pkt.payload,
        };
        let conn = c.id;
        let outcome = self.set.packet(self.id, &call, state);
        let quiet = outcome.expects.is_empty() && outcome.flush_classes.is_empty();
        if quiet && !outcome.failed && !outcome.drop {
            return notes;
        }
        let kinds = if outcome.failed {
            self.new_failures().unwrap_or_else(|| vec!["unknown"])
        } else {
            Vec::new()
        };
        notes.push(Note::Called {
            conn,
            reply,
            outcome,
            kinds,
        });
        notes
    }

    /// Ends the run: the helper hears `destroyed` for each of its connections.
    pub fn finish(mut self) -> Summary {
        for c in &self.conns {
            if let Some(state) = &c.state {
                self.set.destroyed(self.id, c.id, state);
            }
        }
        Summary {
            connections: self.conns.len(),
            handed: self.handed,
            stats: self.stats(),
        }
    }
}
