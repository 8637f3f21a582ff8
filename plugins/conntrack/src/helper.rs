//! Helpers from conntrack's side, as Linux's `nf_conntrack_helper`: which helper a new
//! connection gets (by the protocol and port of its first packet), the queue of helper
//! connections that ended (their helper hears of it), the GRE key map PPTP
//! expectations install, and the helper step itself — at HELPER (300) on INPUT and
//! POSTROUTING, it hands each packet with payload to the connection's WebAssembly
//! helper, removes the classes of pending expectations it flushes, sets the
//! connection's timeout it asks for and creates the expectations that come back; behind
//! NAT it applies the helper's payload edits and keeps the connection's TCP sequence
//! adjustment.

use crate::expect::{ExpectSpec, FollowNat, Mask, PERMANENT};
use crate::lanes::TrackerLock;
use crate::tracker::Tracker;
use crate::tuple::{proto as ipproto, Tuple, FAMILY_V4, FAMILY_V6};
use crate::{mangle, seqadj};
use brickwall_helpers::{
    ExpectRequest, HConnInfo, HCtState, HTuple, HelperId, HelperSet, OnExpectFailure, PacketCall,
};
use brickwall_hooks::services::conntrack::status as ct_status;
use brickwall_hooks::{flags, CtInfo, PacketView};
use std::collections::HashMap;

/// Conntrack's record of the helpers: assignment by port, ended connections, GRE keys.
#[derive(Default)]
pub struct HelperBook {
    /// `(protocol, destination port)` → helper index and name.
    ports: HashMap<(u8, u16), (HelperId, String)>,
    /// Helper connections that ended: helper, connection slot, its last state.
    pub gone: Vec<(HelperId, u32, Vec<u8>)>,
    /// GRE source keys by the rest of the tuple (PPTP: the key in a GRE packet is the
    /// receiver's call id, so the sender's is learnt from the control session), with
    /// the master connection's slot and generation.
    gre_keys: HashMap<GreKey, (u16, u32, u32)>,
    /// Expectations helpers asked for that could not be created (no master, limit).
    pub expect_failed: u64,
    /// Packets whose payload edits were refused or whose translated expectation could
    /// not be created.
    pub mangle_failed: u64,
    /// Packets whose payload a helper edited.
    pub mangled: u64,
    /// Packets whose rule asked for a helper no config defines.
    pub unknown_requested: u64,
}

/// A GRE tuple without its source key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct GreKey {
    src: [u8; 16],
    dst: [u8; 16],
    dst_key: u16,
    family: u8,
    zone: u16,
}

impl GreKey {
    fn of(t: &Tuple) -> GreKey {
        GreKey {
            src: t.src,
            dst: t.dst,
            dst_key: t.dst_id,
            family: t.family,
            zone: t.zone,
        }
    }
}

impl HelperBook {
    /// Forgets every port assignment (before a new helper set assigns its own).
    pub fn clear_ports(&mut self) {
        self.ports.clear();
    }

    /// Assigns helper `id` called `name` to connections to `proto`/`port`.
    pub fn assign_port(&mut self, proto: u8, port: u16, id: HelperId, name: &str) {
        self.ports.insert((proto, port), (id, name.to_owned()));
    }

    /// The helper for a new connection whose original tuple is `t`.
    pub fn for_tuple(&self, t: &Tuple) -> Option<(HelperId, &str)> {
        if self.ports.is_empty() {
            return None;
        }
        self.ports
            .get(&(t.proto, t.dst_id))
            .map(|(id, n)| (*id, n.as_str()))
    }

    /// Fills in a GRE tuple's source key from the key map.
    #[inline]
    pub fn gre_source_key(&self, t: &mut Tuple) {
        if t.proto == ipproto::GRE && !self.gre_keys.is_empty() {
            if let Some((k, _, _)) = self.gre_keys.get(&GreKey::of(t)) {
                t.src_id = *k;
            }
        }
    }

    /// Records the source key of an expected GRE tuple, for master `slot`/`generation`.
    pub fn add_gre_key(&mut self, t: &Tuple, slot: u32, generation: u32) {
        self.gre_keys
            .insert(GreKey::of(t), (t.src_id, slot, generation));
    }

    /// Forgets the GRE keys a master installed; whether it had any (a PPTP control
    /// connection: only PPTP's expectations key GRE, as Linux's `nf_ct_gre_keymap`).
    pub fn master_gone(&mut self, slot: u32, generation: u32) -> bool {
        if self.gre_keys.is_empty() {
            return false;
        }
        let before = self.gre_keys.len();
        self.gre_keys
            .retain(|_, (_, s, g)| (*s, *g) != (slot, generation));
        self.gre_keys.len() != before
    }
}

fn h_tuple(t: &Tuple) -> HTuple {
    HTuple {
        src: t.src,
        dst: t.dst,
        src_port: t.src_id,
        dst_port: t.dst_id,
        proto: t.proto,
        v6: t.family == FAMILY_V6,
    }
}

fn spec_of(e: &ExpectRequest, master: &Tuple, helper: &str, max_expected: u32) -> ExpectSpec {
    let t = &e.tuple;
    let mut mask = Mask::EXACT;
    if e.any_src_addr {
        mask.src = [0; 16];
    }
    if e.any_src_port {
        mask.src_id = 0;
    }
    // Fields outside the mask are zero, as Linux stores (and lists) them.
    ExpectSpec {
        tuple: Tuple {
            src: if e.any_src_addr { [0; 16] } else { t.src },
            dst: t.dst,
            src_id: if e.any_src_port { 0 } else { t.src_port },
            dst_id: t.dst_port,
            proto: t.proto,
            family: if t.v6 { FAMILY_V6 } else { FAMILY_V4 },
            zone: master.zone,
        },
        mask,
        timeout_s: e.timeout_s,
        helper: helper.to_owned(),
        class: e.class,
        max_expected,
        flags: if e.permanent { PERMANENT } else { 0 },
        nat: e.nat.map(|n| FollowNat {
            reply: n.reply,
            to: n.to,
            to_port: n.to_port,
        }),
    }
}

/// What the helper step decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepVerdict {
    /// Let the packet go on.
    Accept,
    /// The helper dropped it.
    Drop,
    /// The helper's call failed and its policy is fail-closed.
    DropFailed,
    /// The helper's payload edits could not be applied, or the expectation they
    /// announce could not be created (Linux's NAT helpers drop such a packet).
    DropMangle,
    /// An expectation the helper asked for could not be created and its policy drops
    /// the packet (Linux's FTP, IRC and TFTP helpers: "cannot add expectation").
    DropExpect,
}

/// The helper step for one packet.
///
/// The helper runs with the tracker unlocked (only the helper set is held, which every
/// helper step takes first): a slow or failing call holds up other helper packets, not
/// conntrack-in, confirmation or the control channel. The connection's helper state is
/// out of the table during the call; a connection that ended meanwhile gets its
/// helper's farewell here.
pub fn step(
    tracker: &TrackerLock,
    worker: u32,
    set: &mut HelperSet,
    pkt: &mut PacketView,
) -> StepVerdict {
    let v = call_step(tracker, worker, set, pkt);
    if v == StepVerdict::Accept
        && pkt.l4proto == ipproto::TCP
        && pkt.ct_status & ct_status::SEQ_ADJUST != 0
    {
        seq_adjust(tracker, worker, pkt);
    }
    v
}

/// Moves a TCP segment's sequence, acknowledgement and SACK numbers by its
/// connection's adjustments (after the helper, as Linux adjusts at confirmation).
fn seq_adjust(tracker: &TrackerLock, worker: u32, pkt: &mut PacketView) {
    let Some(reply) = pkt.ctinfo().is_reply() else {
        return;
    };
    let adj = {
        let mut t = tracker.write();
        t.set_worker(worker);
        t.seqadj_of(pkt.ct)
    };
    let Some(adj) = adj else { return };
    if !pkt.has_l4() {
        return;
    }
    let (l4, end) = (pkt.l4_off as usize, pkt.l3_off as usize + pkt.l3().len());
    if let Some(seg) = pkt.frame_mut().get_mut(l4..end) {
        seqadj::adjust(seg, usize::from(reply), &adj);
    }
}

/// The helper's call for one packet and what follows from its answer.
fn call_step(
    tracker: &TrackerLock,
    worker: u32,
    set: &mut HelperSet,
    pkt: &mut PacketView,
) -> StepVerdict {
    let lock = || {
        let mut t = tracker.write();
        t.set_worker(worker);
        t
    };
    let ctinfo = pkt.ctinfo();
    let (ct, reply) = match ctinfo {
        CtInfo::New => (HCtState::New, false),
        CtInfo::Established => (HCtState::Established, false),
        CtInfo::EstablishedReply => (HCtState::Established, true),
        CtInfo::Related => (HCtState::Related, false),
        // ICMP errors in reply to a related connection, untracked, invalid.
        _ => return StepVerdict::Accept,
    };
    let handle = pkt.ct;
    let mut t = lock();
    let Some((slot, c)) = t.conn_of(handle) else {
        return StepVerdict::Accept;
    };
    let (orig, reply_tuple, mark, zone) = (c.orig, c.reply(), c.mark, c.orig.zone);
    let confirmed = c.has(crate::conn::status::CONFIRMED);
    let hid = match c.helper_id() {
        Some(h) => h,
        // A rule asked for a helper (`ct_helper_set`): as Linux, only a new connection
        // not yet in the table takes one.
        None => {
            let Some(name) = pkt.ct_helper_name() else {
                return StepVerdict::Accept;
            };
            if confirmed || ctinfo != CtInfo::New {
                return StepVerdict::Accept;
            }
            let Some(id) = set.id_by_name(name) else {
                t.helpers.unknown_requested += 1;
                return StepVerdict::Accept;
            };
            t.assign_helper(slot, id, name);
            id
        }
    };
    let taken = t.take_helper_state(slot);
    drop(t);
    // The helper's calls, with the tracker unlocked.
    let mut state = match taken {
        Some(s) => s,
        None => {
            let info = HConnInfo {
                original: h_tuple(&orig),
                reply: h_tuple(&reply_tuple),
                zone,
                mark,
            };
            set.assigned(hid, slot, &info).unwrap_or_default()
        }
    };
    let payload = pkt.payload();
    let out = if payload.is_empty() {
        None
    } else {
        let (seq, tcp_flags) = if orig.proto == ipproto::TCP {
            (seq_of(pkt), pkt.l4().get(13).copied().unwrap_or(0))
        } else {
            (0, 0)
        };
        let call = PacketCall {
            conn: slot,
            reply,
            ct,
            seq,
            tcp_flags,
            payload,
        };
        Some(set.packet(hid, &call, &mut state))
    };
    let mut t = lock();
    if t.conn_of(handle).is_none() {
        // The connection ended during the call.
        drop(t);
        set.destroyed(hid, slot, &state);
        return out.as_ref().map_or(StepVerdict::Accept, verdict_of);
    }
    t.put_helper_state(slot, state);
    let Some(out) = out else {
        return StepVerdict::Accept;
    };
    if out.end_expected {
        t.end_expected(handle);
    }
    t.flush_expected(handle, &out.flush_classes);
    if let Some(secs) = out.timeout_s {
        t.refresh(handle, pkt.ts_ns, secs);
    }
    let reporting = pkt.flags & flags::REPORTING != 0;
    if !reporting && out.expects.is_empty() && out.rewrites.is_empty() {
        return verdict_of(&out);
    }
    let (name, drop_unexpected) = set.policy(hid).map_or((String::new(), false), |p| {
        (p.name.clone(), p.on_expect_failure == OnExpectFailure::Drop)
    });
    let max_expected = |class: u8| set.policy(hid).map_or(1, |p| p.max_expected_for(class));
    if reporting {
        pkt.annotate("helper", &name);
    }
    let now = pkt.ts_ns;
    let (mut lost_nat, mut lost) = (false, false);
    for e in &out.expects {
        let spec = spec_of(e, &orig, &name, max_expected(e.class));
        let translated = spec.nat.is_some();
        match t.expect_create(handle, spec, now) {
            Ok(id) => {
                if reporting {
                    if let Some(x) = t.expects.get(id) {
                        let line = x.line(now);
                        pkt.annotate("expected", &line);
                    }
                }
            }
            Err(_) => {
                t.helpers.expect_failed += 1;
                lost_nat |= translated;
                lost = true;
            }
        }
    }
    let verdict = verdict_of(&out);
    if verdict != StepVerdict::Accept {
        return verdict;
    }
    // The payload would announce a translated connection nobody expects.
    if lost_nat {
        t.helpers.mangle_failed += 1;
        return StepVerdict::DropMangle;
    }
    if lost && drop_unexpected {
        return StepVerdict::DropExpect;
    }
    if out.rewrites.is_empty() {
        return verdict;
    }
    let payload_off = usize::from(pkt.payload_off.saturating_sub(pkt.l3_off));
    match mangle::apply(pkt.l3(), payload_off, &out.rewrites) {
        Ok((datagram, delta)) => {
            if !pkt.replace_datagram(&datagram) {
                t.helpers.mangle_failed += 1;
                return StepVerdict::DropMangle;
            }
            t.helpers.mangled += 1;
            if orig.proto == ipproto::TCP && delta != 0 {
                t.record_seqadj(handle, usize::from(reply), seq_of(pkt), delta);
                pkt.ct_status |= ct_status::SEQ_ADJUST;
            }
            if reporting {
                pkt.annotate("mangled", &format!("{delta:+}"));
            }
            StepVerdict::Accept
        }
        Err(_) => {
            t.helpers.mangle_failed += 1;
            StepVerdict::DropMangle
        }
    }
}

/// A TCP segment's sequence number (0 when it has none).
fn seq_of(pkt: &PacketView) -> u32 {
    pkt.l4()
        .get(4..8)
        .map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

fn verdict_of(out: &brickwall_helpers::CallOutcome) -> StepVerdict {
    if out.failed && out.drop {
        StepVerdict::DropFailed
    } else if out.drop {
        StepVerdict::Drop
    } else {
        StepVerdict::Accept
    }
}

/// Tells helpers of their connections that ended.
pub fn drain_gone(t: &mut Tracker, set: &mut HelperSet) {
    for (hid, slot, state) in std::mem::take(&mut t.helpers.gone) {
        set.destroyed(hid, slot, &state);
    }
}
