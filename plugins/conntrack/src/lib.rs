//! brickwall's connection tracking plugin: Linux's nf_conntrack in userspace.
//!
//! It registers as Linux's does: defragmentation at DEFRAG (-400) and conntrack-in at
//! CONNTRACK (-200) on PREROUTING and OUTPUT, confirmation last on INPUT and
//! POSTROUTING. It writes its verdict on each packet into the packet's metadata
//! (`ctinfo`, the connection reference and id, `ct mark`) for the plugins after it.
//!
//! Files, as Linux's `net/netfilter`: [`tracker`] (conntrack-in, confirm, timeouts, early
//! drop, ICMP errors), [`lanes`] (the tracker's lock: a lane per worker for packets that
//! only move their connection on, an exclusive holder for the rest), [`table`] and
//! [`hash`] (the hash table of chains), [`tuple`](mod@tuple) and
//! [`extract`] (tuples and reading them from packets), [`conn`] (a connection),
//! [`proto`] (one tracker per protocol), [`defrag`], [`expect`] (expectations),
//! [`helper`] (helper assignment and the helper step at HELPER, 300, on INPUT and
//! POSTROUTING, which runs the WebAssembly helpers of `brickwall-helpers`), [`stats`],
//! [`list`] (`conntrack -L` lines), [`metrics`], [`config`], [`service`] (the `conntrack` service
//! other plugins import); and [`datagram`], hand-built packets for tests.

pub mod batch;
pub mod checksum;
pub mod config;
pub mod conn;
pub mod control;
pub mod datagram;
pub mod defrag;
pub mod events;
pub mod expect;
pub mod extract;
pub mod hash;
pub mod helper;
pub mod lanes;
pub mod list;
pub mod mangle;
pub mod metrics;
pub mod proto;
pub mod record;
pub mod seqadj;
pub mod service;
pub mod stats;
pub mod table;
pub mod tracker;
pub mod tuple;

use crate::batch::BurstGuard;
use crate::conn::Slot;
use crate::lanes::{TrackerGuard, TrackerLock};
use crate::tracker::{ConfirmVerdict, InVerdict, Keyer, LaneOutcome, Tracker};
use crate::tuple::Tuple;
use brickwall_control_protocol::conntrack::request as rq;
use brickwall_control_protocol::conntrack::response::HelperReloaded;
use brickwall_control_protocol::conntrack::Request;
use brickwall_control_protocol::helpers::HelpersResponse;
use brickwall_helpers::HelperSet;
use brickwall_hooks::abi::MAX_BURST;
use brickwall_hooks::services::ServiceExport;
use brickwall_hooks::{
    declare_plugin, priority, FailurePolicy, Hook, HookSpec, Host, PacketView, Plugin, PluginInfo,
    Verdict,
};
use config::CtConfig;
use defrag::{Defrag, DefragConfig, DefragOutcome};
use std::ops::{Deref, DerefMut};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// Registration ids: the `op` each callback is called with.
pub mod op {
    /// defrag-prerouting.
    pub const DEFRAG_PRE: u32 = 0;
    /// defrag-output.
    pub const DEFRAG_OUT: u32 = 1;
    /// conntrack-in.
    pub const IN_PRE: u32 = 2;
    /// conntrack-local.
    pub const IN_OUT: u32 = 3;
    /// confirm-input.
    pub const CONFIRM_IN: u32 = 4;
    /// confirm-postrouting.
    pub const CONFIRM_POST: u32 = 5;
    /// helper-input.
    pub const HELPER_IN: u32 = 6;
    /// helper-postrouting.
    pub const HELPER_POST: u32 = 7;
}

/// Drop reasons, by index.
mod reason {
    pub const TABLE_FULL: u32 = 0;
    pub const INSERT_FAILED: u32 = 1;
    pub const DEFRAG_INVALID: u32 = 2;
    pub const HELPER_DROP: u32 = 3;
    pub const HELPER_FAILED: u32 = 4;
    pub const HELPER_MANGLE: u32 = 5;
    pub const HELPER_EXPECT: u32 = 6;
}

const HOOKS: [HookSpec; 8] = [
    HookSpec::inet(
        Hook::PreRouting,
        priority::DEFRAG,
        op::DEFRAG_PRE,
        "defrag-prerouting",
    ),
    HookSpec::inet(
        Hook::LocalOut,
        priority::DEFRAG,
        op::DEFRAG_OUT,
        "defrag-output",
    ),
    HookSpec::inet(
        Hook::PreRouting,
        priority::CONNTRACK,
        op::IN_PRE,
        "conntrack-in",
    ),
    HookSpec::inet(
        Hook::LocalOut,
        priority::CONNTRACK,
        op::IN_OUT,
        "conntrack-local",
    ),
    HookSpec::inet(
        Hook::LocalIn,
        priority::HELPER,
        op::HELPER_IN,
        "helper-input",
    ),
    HookSpec::inet(
        Hook::PostRouting,
        priority::HELPER,
        op::HELPER_POST,
        "helper-postrouting",
    ),
    HookSpec::inet(
        Hook::LocalIn,
        priority::CONFIRM,
        op::CONFIRM_IN,
        "confirm-input",
    ),
    HookSpec::inet(
        Hook::PostRouting,
        priority::CONFIRM,
        op::CONFIRM_POST,
        "confirm-postrouting",
    ),
];

/// The conntrack plugin.
pub struct Conntrack {
    /// The tracker, behind per-worker lanes and an exclusive lock ([`lanes`]).
    tracker: TrackerLock,
    defrag: Option<Mutex<Defrag>>,
    /// The WebAssembly helpers, if any are configured (locked before the tracker). A
    /// reconfiguration may add, change or remove them.
    helpers: Mutex<Option<HelperSet>>,
    /// Whether `helpers` holds a set: packets skip its lock when it does not.
    has_helpers: AtomicBool,
    /// Another plugin binds the reply tuples of new connections (NAT, through the
    /// service's `will_bind`).
    binders: AtomicBool,
    /// Per worker, what conntrack-in noted about its latest packet, which lets the
    /// helper step and confirm pass it by without a lock.
    seen: Box<[Seen]>,
    host: Host,
    /// Computes a burst's tuples and hashes before the tracker's lock is taken.
    keyer: Keyer,
    /// The `conntrack` service's table, made when the engine first asks for it (at the
    /// plugin's final address, which it points back to).
    service: std::sync::OnceLock<brickwall_hooks::services::conntrack::ConntrackTable>,
}

/// What conntrack-in noted about a worker's latest packet: on a cache line pair of its
/// own, so that workers writing their notes do not contend for a line.
#[derive(Default)]
#[repr(align(128))]
struct Seen {
    /// The packet's connection reference when that connection has no helper (0
    /// otherwise), for [`Conntrack::helper_step`].
    no_helper: AtomicU64,
    /// The connection reference when this call attached it and the connection was
    /// already confirmed and had no labels (0 otherwise), for [`Conntrack::confirm`].
    confirmed: AtomicU64,
    /// The mark attached, for [`Conntrack::confirm`].
    mark: AtomicU32,
    /// How many packets the worker's next conntrack-in burst computes keys for: twice
    /// what its last one decided (0: all). A burst cut after each packet (new
    /// connections) computes few keys it will not use.
    window: AtomicU32,
}

/// The helper set, locked.
pub struct HelperGuard<'a>(MutexGuard<'a, Option<HelperSet>>);

impl Deref for HelperGuard<'_> {
    type Target = HelperSet;

    fn deref(&self) -> &HelperSet {
        self.0
            .as_ref()
            .expect("a HelperGuard is only made over a set")
    }
}

impl DerefMut for HelperGuard<'_> {
    fn deref_mut(&mut self) -> &mut HelperSet {
        self.0
            .as_mut()
            .expect("a HelperGuard is only made over a set")
    }
}

impl Conntrack {
    /// A plugin from a config (for tests and embedding).
    pub fn with_config(cfg: CtConfig, host: Host) -> Conntrack {
        Self::build(cfg, host, None)
    }

    /// A plugin from a config, loading the helpers it names.
    pub fn with_helpers(cfg: CtConfig, host: Host) -> Result<Conntrack, String> {
        if cfg.helpers.is_empty() {
            return Ok(Self::with_config(cfg, host));
        }
        let set = Self::load_helpers(&cfg, host)?;
        Ok(Self::build(cfg, host, Some(set)))
    }

    fn load_helpers(cfg: &CtConfig, host: Host) -> Result<HelperSet, String> {
        let log: brickwall_helpers::bindings::LogSink =
            Arc::new(move |level, name, msg| host.log(level, &format!("helper {name}: {msg}")));
        // Helper files are relative to the config's directory.
        let dir = host
            .config_dir()
            .unwrap_or_else(|| Path::new(".").to_path_buf());
        HelperSet::new(&cfg.helper_sandbox, &cfg.helpers, &dir, log)
    }

    fn build(cfg: CtConfig, host: Host, helpers: Option<HelperSet>) -> Conntrack {
        // Linux bounds chain walks at 50 plus a random 0-29.
        let chain_limit =
            50 + (std::collections::hash_map::RandomState::new().hash_one(0u8) as usize % 30);
        let defrag = cfg
            .defrag
            .then(|| Mutex::new(Defrag::new(DefragConfig::default())));
        let mut tracker = Tracker::new(cfg, chain_limit);
        // The helper set checked the ports when it loaded; the tracker keeps its own
        // copy for assigning new connections.
        if let Some(set) = &helpers {
            for (spec, id, name) in set.port_assignments() {
                tracker.helpers.assign_port(spec.proto, spec.port, id, name);
            }
        }
        Conntrack {
            keyer: tracker.keyer(),
            tracker: TrackerLock::new(tracker),
            defrag,
            has_helpers: AtomicBool::new(helpers.is_some()),
            binders: AtomicBool::new(false),
            helpers: Mutex::new(helpers),
            seen: (0..Tracker::MAX_WORKERS).map(|_| Seen::default()).collect(),
            host,
            service: std::sync::OnceLock::new(),
        }
    }

    /// The helper set, locked (before the tracker), if helpers are configured.
    pub fn helper_set(&self) -> Option<HelperGuard<'_>> {
        if !self.has_helpers.load(Ordering::Acquire) {
            return None;
        }
        let g = self.helpers.lock().unwrap_or_else(|e| e.into_inner());
        g.is_some().then(|| HelperGuard(g))
    }

    /// Takes a new config section without losing the table (the engine's reload, the
    /// control request `{"op":"reconfigure","config":{...}}`): its tunables apply at
    /// once, its helpers replace the old ones (connections keep theirs by name; those
    /// whose helper is gone lose it). Answers what was applied and what needs a restart.
    fn reconfigure(&self, config: &serde_json::Value) -> Result<Vec<u8>, String> {
        let cfg = CtConfig::parse(&config.to_string())?;
        let new_set = if cfg.helpers.is_empty() {
            None
        } else {
            Some(Self::load_helpers(&cfg, self.host)?)
        };
        // Helpers before the tracker, as on the packet path.
        let mut slot = self.helpers.lock().unwrap_or_else(|e| e.into_inner());
        let mut t = self.tracker();
        if let Some(old) = slot.as_mut() {
            // Connections that ended still owe their helper a farewell.
            helper::drain_gone(&mut t, old);
        }
        t.helpers.gone.clear();
        let fixed = t.retune(&cfg);
        t.helpers.clear_ports();
        let lost = match &new_set {
            Some(set) => {
                for (spec, id, name) in set.port_assignments() {
                    t.helpers.assign_port(spec.proto, spec.port, id, name);
                }
                t.remap_helpers(|name| set.id_by_name(name))
            }
            None => t.remap_helpers(|_| None),
        };
        let helpers = new_set.as_ref().map_or(0, |s| s.port_assignments().count());
        self.has_helpers.store(new_set.is_some(), Ordering::Release);
        *slot = new_set;
        drop(t);
        drop(slot);
        self.host.log(
            2,
            &format!(
                "reconfigured: {} helper port assignments, {lost} connections lost their helper",
                helpers
            ),
        );
        serde_json::to_vec(&serde_json::json!({
            "reconfigured": true,
            "needs_restart": fixed,
            "connections_without_helper": lost,
        }))
        .map_err(|e| e.to_string())
    }

    /// conntrack-in, and the notes that let the helper step and confirm pass the
    /// packet by.
    fn conntrack_in(&self, pkt: &mut PacketView) -> InVerdict {
        if let Some(mut lane) = self.tracker.lane(pkt.worker) {
            let (t, state) = lane.parts();
            if let LaneOutcome::Done { unlabelled } = t.track_lane(pkt, None, None, state) {
                drop(lane);
                self.note_lane(pkt, unlabelled);
                return InVerdict::Accept;
            }
        }
        // A packet that arrives already tracked keeps what it carries: the note is only
        // for what this call attaches.
        let attaching = pkt.ct == 0;
        let mut t = self.tracker();
        let v = t.conntrack_in(pkt);
        self.note(&t, pkt, attaching);
        v
    }

    /// Leaves the worker's note about `pkt`, which conntrack-in just saw (`attaching`:
    /// it came without a connection).
    fn note(&self, t: &Tracker, pkt: &PacketView, attaching: bool) {
        let conn = t.conn_of(pkt.ct).map(|(_, c)| c);
        let confirmed =
            attaching && conn.is_some_and(|c| c.slot == Slot::Confirmed && c.labels() == 0);
        let plain = conn.is_some_and(|c| c.helper().is_none());
        if let Some(seen) = self.seen.get(pkt.worker as usize) {
            let note = |yes: bool| if yes { pkt.ct } else { 0 };
            seen.confirmed.store(note(confirmed), Ordering::Relaxed);
            seen.mark.store(pkt.ct_mark, Ordering::Relaxed);
            if self.has_helpers.load(Ordering::Relaxed) {
                seen.no_helper.store(note(plain), Ordering::Relaxed);
            }
        }
    }

    /// The worker's note about a packet a lane decided: its connection is confirmed and
    /// has no helper (`unlabelled`: nor labels).
    fn note_lane(&self, pkt: &PacketView, unlabelled: bool) {
        if let Some(seen) = self.seen.get(pkt.worker as usize) {
            let note = if unlabelled { pkt.ct } else { 0 };
            seen.confirmed.store(note, Ordering::Relaxed);
            seen.mark.store(pkt.ct_mark, Ordering::Relaxed);
            if self.has_helpers.load(Ordering::Relaxed) {
                seen.no_helper.store(pkt.ct, Ordering::Relaxed);
            }
        }
    }

    /// conntrack-in for a burst: decides the packets in order up to where the burst
    /// must be cut (see [`BurstGuard`]), first on the worker's lane, then, from the
    /// first packet a lane cannot decide, under one exclusive acquisition of the
    /// tracker. The worker's note is about the last packet decided: where that is the
    /// only one, the engine walks it on alone, through the one-packet helper step and
    /// confirmation.
    fn conntrack_in_burst(&self, pkts: &mut [&mut PacketView], verdicts: &mut [Verdict]) -> usize {
        // Tuples and hashes before the lock; the lookups overlapped under it (from the
        // table size where that pays). A packet of a flow an earlier packet of the burst
        // has (either direction), and an ICMP error (it may quote a connection an earlier
        // packet opened), must wait for the packets before it: the burst is decided up
        // to there (its keys are not computed past it).
        let Some(first) = pkts.first() else { return 0 };
        let seen = self.seen.get(first.worker as usize);
        let window = seen.map_or(0, |s| s.window.load(Ordering::Relaxed)) as usize;
        let mut n = pkts.len().min(MAX_BURST);
        if window > 0 {
            n = n.min(window);
        }
        // Only the keys computed are written (a burst of new connections computes two).
        let mut keys =
            [const { std::mem::MaybeUninit::<Option<(Tuple, u32)>>::uninit() }; MAX_BURST];
        let mut hashes = [0u32; MAX_BURST];
        let mut flows = [0u64; MAX_BURST];
        let mut hashed = 0;
        for (i, pkt) in pkts.iter().enumerate().take(n) {
            let key = self.keyer.key(pkt);
            if let Some((t, h)) = &key {
                // SAFETY: `keys[..i]` were written in the earlier rounds of this loop.
                let earlier = |j: usize| unsafe { keys[j].assume_init_ref() };
                // A packet of a flow an earlier packet of the burst has, either way:
                // it waits for that one (a connection found twice, or one the earlier
                // packet opens and confirmation has not put in the table yet).
                if i > 0 && proto::icmp::tuple_is_error(t) {
                    n = i;
                    break;
                }
                let flow = flow_print(t);
                if flows[..hashed].contains(&flow)
                    && (0..i)
                        .any(|j| earlier(j).is_some_and(|(u, _)| u == *t || u.is_inverse_of(t)))
                {
                    n = i;
                    break;
                }
                hashes[hashed] = *h;
                flows[hashed] = flow;
                hashed += 1;
            }
            keys[i].write(key);
        }
        let mut guard = BurstGuard::default();
        guard.late_changes =
            self.has_helpers.load(Ordering::Relaxed) || self.binders.load(Ordering::Relaxed);
        let worker = first.worker;
        let mut decided = 0;
        // The lane's part: up to the first packet it cannot decide.
        let mut on_lane = 0;
        let mut unlabelled = false;
        let mut deferred = false;
        if let Some(mut lane) = self.tracker.lane(worker) {
            let (t, state) = lane.parts();
            if hashed >= PREFETCH_MIN_KEYS {
                t.prefetch_hashes(&hashes[..hashed]);
            }
            for (i, (pkt, v)) in pkts[..n].iter_mut().zip(verdicts.iter_mut()).enumerate() {
                if pkt.worker != worker {
                    break;
                }
                // SAFETY: the loop above wrote `keys[..n]`; a key is plain data, read
                // again below if the exclusive part takes this packet.
                let key = unsafe { keys[i].assume_init_read() };
                match t.track_lane(pkt, Some(&mut guard), key, state) {
                    LaneOutcome::Done { unlabelled: u } => {
                        *v = Verdict::Accept;
                        (on_lane, unlabelled) = (i + 1, u);
                    }
                    LaneOutcome::Defer => {
                        deferred = true;
                        break;
                    }
                    LaneOutcome::Exclusive => break,
                }
            }
            decided = on_lane;
        }
        if !deferred && decided < n {
            let mut t = self.tracker();
            if decided == 0 && hashed >= PREFETCH_MIN_KEYS {
                t.prefetch_hashes(&hashes[..hashed]);
            }
            let mut attached = false;
            for (i, (pkt, v)) in pkts[..n].iter_mut().zip(verdicts.iter_mut()).enumerate() {
                if i < on_lane {
                    continue;
                }
                let attaching = pkt.ct == 0;
                // SAFETY: the loop above wrote `keys[..n]`.
                let key = unsafe { keys[i].assume_init_read() };
                let Some(r) = t.conntrack_in_burst(pkt, &mut guard, key) else {
                    break;
                };
                *v = in_verdict(r);
                (decided, attached) = (i + 1, attaching);
                if guard.cut {
                    break;
                }
            }
            if decided > on_lane {
                if let Some(last) = pkts.get(decided - 1) {
                    self.note(&t, last, attached);
                }
            }
        }
        if decided > 0 && decided == on_lane {
            self.note_lane(pkts[decided - 1], unlabelled);
        }
        if let Some(s) = seen {
            let next = (2 * decided).clamp(2, MAX_BURST);
            s.window.store(next as u32, Ordering::Relaxed);
        }
        decided
    }

    /// Confirmation for a burst: on the worker's lane, the packets with nothing to
    /// confirm; from the first that has, under one exclusive acquisition of the tracker.
    fn confirm_burst(&self, pkts: &mut [&mut PacketView], verdicts: &mut [Verdict]) -> usize {
        let mut at = 0;
        if let Some(mut lane) = pkts.first().and_then(|p| self.tracker.lane(p.worker)) {
            let (t, _) = lane.parts();
            while let Some(pkt) = pkts.get(at) {
                if !t.confirm_is_noop(pkt) {
                    break;
                }
                verdicts[at] = Verdict::Accept;
                at += 1;
            }
        }
        if at == pkts.len() {
            return at;
        }
        let mut t = self.tracker();
        for (pkt, v) in pkts[at..].iter_mut().zip(verdicts[at..].iter_mut()) {
            *v = if pkt.ct == 0 {
                Verdict::Accept
            } else {
                match t.confirm(pkt) {
                    ConfirmVerdict::Accept => Verdict::Accept,
                    ConfirmVerdict::DropInsertFailed => Verdict::Drop(reason::INSERT_FAILED),
                }
            };
        }
        pkts.len()
    }

    /// The helper step for a burst: which packets' connections have a helper is read
    /// under one acquisition of the tracker's lock; only those take the step.
    fn helper_burst(&self, pkts: &mut [&mut PacketView], verdicts: &mut [Verdict]) -> usize {
        verdicts.fill(Verdict::Accept);
        if !self.has_helpers.load(Ordering::Acquire) {
            return pkts.len();
        }
        let mut steps = 0u64;
        let helper = |t: &Tracker, pkt: &PacketView| {
            pkt.ct != 0 && (pkt.ct_helper[0] != 0 || t.has_helper(pkt.ct))
        };
        match pkts.first().and_then(|p| self.tracker.lane(p.worker)) {
            Some(mut lane) => {
                let (t, _) = lane.parts();
                for (i, pkt) in pkts.iter().enumerate() {
                    steps |= (helper(t, pkt) as u64) << i;
                }
            }
            None => {
                let t = self.tracker();
                for (i, pkt) in pkts.iter().enumerate() {
                    steps |= (helper(&t, pkt) as u64) << i;
                }
            }
        }
        for (i, (pkt, v)) in pkts.iter_mut().zip(verdicts.iter_mut()).enumerate() {
            if steps & (1 << i) != 0 {
                *v = self.helper_step_locked(pkt);
            }
        }
        pkts.len()
    }

    /// Confirmation: a new connection enters the table; for one already in it, a mark
    /// or labels a plugin set on the packet are kept. A packet of a confirmed connection
    /// whose mark and labels are still what conntrack-in attached has nothing to
    /// confirm, and passes without the tracker's lock.
    fn confirm(&self, pkt: &mut PacketView) -> Verdict {
        if pkt.ct == 0 {
            return Verdict::Accept;
        }
        let unchanged = self.seen.get(pkt.worker as usize).is_some_and(|s| {
            s.confirmed.load(Ordering::Relaxed) == pkt.ct
                && s.mark.load(Ordering::Relaxed) == pkt.ct_mark
                && pkt.labels() == 0
        });
        if unchanged {
            return Verdict::Accept;
        }
        match self.tracker().confirm(pkt) {
            ConfirmVerdict::Accept => Verdict::Accept,
            ConfirmVerdict::DropInsertFailed => Verdict::Drop(reason::INSERT_FAILED),
        }
    }

    fn helper_step(&self, pkt: &mut PacketView) -> Verdict {
        if pkt.ct == 0 {
            return Verdict::Accept;
        }
        // A connection conntrack-in found without a helper, and no helper name on the
        // packet (neither a rule's request nor a master's): nothing to do, no lock.
        let plain = self
            .seen
            .get(pkt.worker as usize)
            .is_some_and(|s| s.no_helper.load(Ordering::Relaxed) == pkt.ct);
        if plain && pkt.ct_helper[0] == 0 {
            return Verdict::Accept;
        }
        self.helper_step_locked(pkt)
    }

    /// The helper step with the helper set's and the tracker's locks.
    fn helper_step_locked(&self, pkt: &mut PacketView) -> Verdict {
        let Some(mut set) = self.helper_set() else {
            return Verdict::Accept;
        };
        let v = helper::step(&self.tracker, pkt.worker, &mut set, pkt);
        let mut t = self.tracker();
        if !t.helpers.gone.is_empty() {
            helper::drain_gone(&mut t, &mut set);
        }
        drop(t);
        match v {
            helper::StepVerdict::Accept => Verdict::Accept,
            helper::StepVerdict::Drop => Verdict::Drop(reason::HELPER_DROP),
            helper::StepVerdict::DropFailed => Verdict::Drop(reason::HELPER_FAILED),
            helper::StepVerdict::DropMangle => Verdict::Drop(reason::HELPER_MANGLE),
            helper::StepVerdict::DropExpect => Verdict::Drop(reason::HELPER_EXPECT),
        }
    }

    /// The plugin's own requests of the control channel: `helpers` lists the helpers
    /// with their counters; `helper-reload` reads a helper's component again and swaps
    /// it in; `metrics` answers the metric families; `reconfigure` applies new
    /// tunables. `None` for the connection table's requests.
    fn plugin_control(&self, req: &Request) -> Option<Result<Vec<u8>, String>> {
        let reload = match req {
            Request::Reconfigure(r) => return Some(self.reconfigure(&r.config)),
            Request::Metrics(_) => return Some(self.metrics()),
            Request::Helpers(_) => None,
            Request::HelperReload(r) => Some(r.name.as_str()),
            _ => return None,
        };
        let t = self.tracker();
        let (expect_failed, unknown) = (t.helpers.expect_failed, t.helpers.unknown_requested);
        let (mangled, mangle_failed) = (t.helpers.mangled, t.helpers.mangle_failed);
        drop(t);
        let answer = |helpers| {
            serde_json::to_vec(&HelpersResponse {
                helpers,
                expect_failed,
                unknown_requested: unknown,
                mangled,
                mangle_failed,
            })
            .map_err(|e| format!("response: {e}"))
        };
        let Some(mut set) = self.helper_set() else {
            return Some(match reload {
                None => answer(Vec::new()),
                Some(_) => Err("no helpers are configured".into()),
            });
        };
        Some(match reload {
            None => answer(set.reports()),
            Some(name) => set.reload(name).and_then(|()| {
                self.host.log(2, &format!("helper {name} reloaded"));
                serde_json::to_vec(&HelperReloaded { reloaded: true })
                    .map_err(|e| format!("response: {e}"))
            }),
        })
    }

    /// The answer to `{"op":"metrics"}`: the table's and the helpers' metric families.
    fn metrics(&self) -> Result<Vec<u8>, String> {
        let mut families = metrics::tracker_families(&self.tracker());
        if let Some(mut set) = self.helper_set() {
            families.extend(metrics::helper_families(&set.reports()));
        }
        serde_json::to_vec(&brickwall_control_protocol::metrics::MetricsResponse { families })
            .map_err(|e| format!("response: {e}"))
    }

    /// The tracker, held exclusively (every lane waits: see [`lanes`]).
    pub fn tracker(&self) -> TrackerGuard<'_> {
        self.tracker.write()
    }

    fn defrag(&self, pkt: &mut PacketView) -> Verdict {
        let Some(d) = &self.defrag else {
            return Verdict::Accept;
        };
        if pkt.flags & brickwall_hooks::flags::FRAGMENT == 0 {
            return Verdict::Accept;
        }
        let zone = self.tracker().config().zone;
        let outcome = d
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_on_interface(pkt.ts_ns, pkt.l3(), zone, pkt.iif);
        match outcome {
            DefragOutcome::NotFragment => Verdict::Accept,
            DefragOutcome::Held => Verdict::Stolen,
            DefragOutcome::Complete(whole) => {
                if pkt.replace_datagram(&whole) {
                    Verdict::Accept
                } else {
                    self.host.log(1, "reassembled datagram refused by the host");
                    Verdict::Drop(reason::DEFRAG_INVALID)
                }
            }
            DefragOutcome::Invalid(_) => Verdict::Drop(reason::DEFRAG_INVALID),
        }
    }
}

use std::hash::BuildHasher;

impl Plugin for Conntrack {
    const INFO: PluginInfo = PluginInfo {
        name: "conntrack",
        version: env!("CARGO_PKG_VERSION"),
        failure_policy: FailurePolicy::FailOpen,
        hooks: &HOOKS,
        drop_reasons: &[
            "ct-table-full",
            "ct-insert-failed",
            "ct-defrag-invalid",
            "ct-helper-drop",
            "ct-helper-failed",
            "ct-helper-mangle-failed",
            "ct-helper-expect-failed",
        ],
    };

    const PREPARES_BATCH: bool = true;

    const EXPORTS: &'static [ServiceExport] = &[ServiceExport {
        name: brickwall_hooks::services::conntrack::NAME,
        version: brickwall_hooks::services::conntrack::VERSION,
    }];

    fn service(&self, index: u32) -> *const std::ffi::c_void {
        if index != 0 {
            return std::ptr::null();
        }
        self.service.get_or_init(|| service::table(self)) as *const _ as *const std::ffi::c_void
    }

    fn init(config: &str, host: Host) -> Result<Self, String> {
        Conntrack::with_helpers(CtConfig::parse(config)?, host)
    }

    fn prepare_batch(&self, pkts: &[&PacketView]) {
        match pkts.first().and_then(|p| self.tracker.lane(p.worker)) {
            Some(mut lane) => {
                let (t, state) = lane.parts();
                t.prefetch_lane(pkts.iter().copied(), state);
            }
            None => self.tracker().prefetch(pkts.iter().copied()),
        }
    }

    const BURSTS: bool = true;

    fn on_burst(&self, op: u32, pkts: &mut [&mut PacketView], verdicts: &mut [Verdict]) -> usize {
        match op {
            op::IN_PRE | op::IN_OUT => self.conntrack_in_burst(pkts, verdicts),
            op::HELPER_IN | op::HELPER_POST => self.helper_burst(pkts, verdicts),
            op::CONFIRM_IN | op::CONFIRM_POST => self.confirm_burst(pkts, verdicts),
            _ => brickwall_hooks::plugin::one_by_one(self, op, pkts, verdicts),
        }
    }

    fn on_packet(&self, op: u32, pkt: &mut PacketView) -> Verdict {
        match op {
            op::DEFRAG_PRE | op::DEFRAG_OUT => self.defrag(pkt),
            op::IN_PRE | op::IN_OUT => in_verdict(self.conntrack_in(pkt)),
            op::HELPER_IN | op::HELPER_POST => self.helper_step(pkt),
            op::CONFIRM_IN | op::CONFIRM_POST => self.confirm(pkt),
            _ => Verdict::Accept,
        }
    }

    fn control(&self, request: &[u8], response: &mut Vec<u8>) -> Result<(), String> {
        // Read before the lock: a large or malformed request stalls no packet.
        let req = control::parse(request)?;
        if let Some(out) = self.plugin_control(&req) {
            response.extend_from_slice(&out?);
            return Ok(());
        }
        if matches!(req, Request::Count(_)) {
            if let Some(mut lane) = self.tracker.lane(lanes::CONTROL_LANE) {
                response.extend_from_slice(&control::count(lane.parts().0)?);
                return Ok(());
            }
        }
        // A listing that zeroes the counters (`-z`) changes the table: it holds the
        // tracker exclusively, below.
        if let Request::List(r @ rq::List { zero: false, .. }) = &req {
            // On a lane of its own, beside the workers' lanes, a part at a time: a
            // listing stops no packet, and lets connections come and go between parts.
            let mut walk = control::ListWalk::new(r)?;
            loop {
                let Some(mut lane) = self.tracker.lane(lanes::CONTROL_LANE) else {
                    while !walk.step(&self.tracker(), control::LIST_STEP) {}
                    break;
                };
                let (t, state) = lane.parts();
                if walk.step_on_lane(t, state, control::LIST_STEP) {
                    break;
                }
            }
            response.extend_from_slice(&walk.answer()?);
            return Ok(());
        }
        let mut t = self.tracker();
        response.extend_from_slice(&control::handle_request(&mut t, req)?);
        let gone = !t.helpers.gone.is_empty();
        drop(t);
        if gone {
            // The helper set is locked before the tracker, as on the packet path.
            if let Some(mut set) = self.helper_set() {
                helper::drain_gone(&mut self.tracker(), &mut set);
            }
        }
        Ok(())
    }
}

/// A fingerprint of a tuple's flow, the same for the tuple and its inverse (its
/// addresses and protocol, combined symmetrically): a cheap first test before
/// comparing tuples.
#[inline]
fn flow_print(t: &Tuple) -> u64 {
    let a = u128::from_ne_bytes(t.src) ^ u128::from_ne_bytes(t.dst);
    (a as u64) ^ ((a >> 64) as u64) ^ u64::from(t.proto)
}

/// Fewest lookups a burst overlaps by prefetching: with fewer, the prefetch's own walk
/// of the heads costs about what it hides.
const PREFETCH_MIN_KEYS: usize = 4;

/// conntrack-in's verdict as the engine's.
fn in_verdict(v: InVerdict) -> Verdict {
    match v {
        InVerdict::Accept => Verdict::Accept,
        InVerdict::Repeat => Verdict::Repeat,
        InVerdict::DropTableFull => Verdict::Drop(reason::TABLE_FULL),
    }
}

declare_plugin!(Conntrack);

#[cfg(test)]
mod tests;
