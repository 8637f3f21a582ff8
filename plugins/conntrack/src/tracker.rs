//! The tracking core: conntrack-in (lookup or create, protocol tracking, ctinfo),
//! confirmation at the last hook, timeouts with expiry on lookup and a bounded garbage
//! collector, early drop when the table is full, and ICMP errors related to the
//! connection they quote.

use crate::batch::{BurstGuard, Prepared};
use crate::checksum;
use crate::config::CtConfig;
use crate::conn::{status, Conn, ConnExt, Slot};
use crate::events::{class, what, ConnEvent, Event, EventBus, EventKind, ExpectEvent};
use crate::expect::{ExpectError, ExpectSpec, ExpectTable, Expectation};
use crate::extract::{declared_l4_len, generic_ids, quoted_tuple, read_packet_tuple, Layers};
use crate::hash::TupleHasher;
use crate::lanes::LaneState;
use crate::proto::{self, icmp, ProtoConfig, ProtoState, Track};
use crate::stats::Stats;
use crate::table::{self, Extensions, InsertError, ResizeStart, Table};
use crate::tuple::{proto as ipproto, Tuple, FAMILY_V6};
use brickwall_hooks::{flags, CtInfo, Hook, PacketView};
use std::collections::VecDeque;

/// Nanoseconds per second.
const NS: u64 = 1_000_000_000;
/// Below this remaining lifetime an invalid TCP FIN/RST does not cut the timeout.
const LOWER_TIMEOUT_MIN_REMAINING_NS: u64 =
    crate::proto::tcp::LOWER_TIMEOUT_MIN_REMAINING as u64 * NS;

/// The timeout of a new connection's protocol state, seconds.
fn state_timeout(state: &ProtoState, cfg: &ProtoConfig) -> u32 {
    match state {
        ProtoState::Tcp(c) => cfg.timeouts.tcp.for_state(c.state()),
        ProtoState::Udp(_) => cfg.timeouts.udp,
        ProtoState::Icmp => cfg.timeouts.icmp,
        ProtoState::Gre => cfg.timeouts.gre,
        ProtoState::Sctp(_) => cfg.timeouts.sctp.cookie_wait,
        ProtoState::Dccp(d) => cfg.timeouts.dccp.for_state(d.state()),
        ProtoState::Generic => cfg.timeouts.generic,
    }
}

/// Records (bytes) from which [`Tracker::prefetch`] prepares batches. Measured on the
/// project's machine (35.8 MiB of L3), per packet against one at a time: 28 % slower
/// at 10 k connections (1.2 MB of records), about the same at 100 k (12 MB), 18–30 %
/// faster at 300 k (38 MB) and 1 M (120 MB).
pub const PREFETCH_MIN_BYTES: usize = 24 << 20;

/// Most nodes a collector run moves to the new bucket array during a resize (so that
/// a quiet table's resize finishes too): 64 packets' worth.
const GC_MIGRATE_NODES: usize = 64 * table::STEP_NODES;

/// Linux's bound on buckets scanned for an early-drop victim.
const EVICTION_RANGE: usize = 8;
/// Unconfirmed connections older than this (packet time) belong to packets that were
/// dropped before confirmation and are reclaimed.
const UNCONFIRMED_TTL_NS: u64 = 30_000_000_000;

/// What conntrack-in decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InVerdict {
    /// Continue (the packet's ctinfo says what conntrack thinks of it).
    Accept,
    /// Drop: the table is full and nothing could be evicted.
    DropTableFull,
    /// Re-run the hook: an old connection was removed to make way for a new one.
    Repeat,
}

/// Why a NAT binding was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NatBindError {
    /// No such connection (a stale reference).
    NotFound,
    /// The connection is confirmed: its tuples are in the table.
    Confirmed,
    /// The tuple is of another protocol, family or zone.
    Invalid,
}

/// Most nodes per bucket, on average, a resize may leave (8 connections per bucket):
/// far below the chain-walk limit (50 or more), so that no chain outgrows it.
pub const RESIZE_MAX_LOAD: usize = 16;

/// What a resize request did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resized {
    /// The buckets before the request (mid-resize: the running resize's target).
    pub old: usize,
    /// The buckets asked for.
    pub new: usize,
    /// A resize was running: the new size follows it.
    pub already_running: bool,
}

/// What a lane made of a packet ([`Tracker::track_lane`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LaneOutcome {
    /// Decided (accepted): the packet's connection was found and moved on. `unlabelled`:
    /// the connection has no labels (confirmation then has nothing to store unless a
    /// plugin sets some).
    Done {
        /// The connection has no labels.
        unlabelled: bool,
    },
    /// The packet waits for the burst's earlier packets (see [`BurstGuard`]); untouched.
    Defer,
    /// The packet needs the tracker exclusively; untouched.
    Exclusive,
}

/// What confirmation decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfirmVerdict {
    /// Continue.
    Accept,
    /// Drop: the connection could not be inserted.
    DropInsertFailed,
}

/// The tracker's state (one lock's worth).
pub struct Tracker {
    /// The table.
    pub(crate) table: Table,
    /// The expectations.
    pub(crate) expects: ExpectTable,
    /// Where events go (subscribers of `conntrack -E`).
    pub(crate) events: EventBus,
    /// Event sessions of control-channel clients that poll.
    pub(crate) pollers: crate::events::Pollers,
    /// The latest packet time seen (the clock of events).
    clock_ns: u64,
    /// Counters.
    pub(crate) stats: Stats,
    /// The same counters per worker (index: the packet's `worker`), as Linux's per CPU.
    pub(crate) worker_stats: Vec<Stats>,
    /// The worker whose packet is being handled (set on entry from a packet).
    cur_worker: usize,
    /// Per worker, the batch [`prefetch`](Self::prefetch) prepared.
    prepared: Vec<Prepared>,
    cfg: CtConfig,
    proto_cfg: ProtoConfig,
    /// Unconfirmed connections whose packet's fate is known not to be confirmation
    /// (dropped, queued, stolen), oldest first: slot, id, creation time. Reaped once
    /// stale.
    unconfirmed: VecDeque<(u32, u32, u64)>,
    /// Per worker, the connections its latest packet (or burst) created, until the
    /// worker's next packet (or burst): by then those packets were confirmed or not,
    /// and only those that were not join `unconfirmed`. So `unconfirmed` holds the few
    /// connections whose packet never reached confirmation, not every connection
    /// created in its time to live.
    pending: Vec<Vec<(u32, u32, u64)>>,
    live: usize,
    next_id: u32,
    next_gc_ns: u64,
    gc_cursor: usize,
    /// The table was full with nothing to evict near a new connection: until its next
    /// full pass, the collector also ends connections that may go early while the
    /// table is over 95 % full (Linux's `gc_work->early_drop`).
    gc_early_drop: bool,
    /// Helper assignment, ended helper connections, GRE keys.
    pub(crate) helpers: crate::helper::HelperBook,
}

/// Encodes a slot and its generation (the connection's id) as the packet's conntrack
/// reference.
pub fn handle(idx: u32, generation: u32) -> u64 {
    (generation as u64) << 32 | (idx as u64 + 1)
}

fn unhandle(h: u64) -> Option<(u32, u32)> {
    let idx = (h & 0xffff_ffff) as u32;
    (idx != 0).then(|| (idx - 1, (h >> 32) as u32))
}

/// What the protocol trackers take from a config.
fn proto_config(cfg: &CtConfig) -> ProtoConfig {
    ProtoConfig {
        tcp: crate::proto::tcp::TcpConfig {
            loose: cfg.tcp_loose,
            be_liberal: cfg.tcp_be_liberal,
            max_retrans: cfg.tcp_max_retrans,
            timeouts: cfg.timeouts.tcp.clone(),
        },
        timeouts: cfg.timeouts.clone(),
        dccp_generic: cfg.dccp_generic,
    }
}

/// Whether `tuple` is TCP with a combination of flags no segment may carry.
fn bad_tcp_flags(tuple: &Tuple, layers: &Layers) -> bool {
    tuple.proto == ipproto::TCP
        && crate::proto::tcp::check_flags(layers.l4.get(13).copied().unwrap_or(0)).is_err()
}

/// A packet's IP length as the counters count it: its headers up to layer 4, and the
/// layer-4 length its IP header declares (`l4_len`).
fn ip_bytes(pkt: &PacketView, l4_len: usize) -> u64 {
    (l4_len + (pkt.l4_off - pkt.l3_off) as usize) as u64
}

/// The conntrack information of a packet in direction `dir` of the found connection `c`.
fn found_ctinfo(c: &Conn, dir: u8) -> CtInfo {
    if dir == 1 {
        CtInfo::EstablishedReply
    } else if c.has(status::SEEN_REPLY) {
        CtInfo::Established
    } else if c.has(status::EXPECTED) {
        CtInfo::Related
    } else {
        CtInfo::New
    }
}

/// The zone a packet is tracked in: one an earlier plugin set on it wins over the
/// configured one.
fn packet_zone(pkt: &PacketView, configured: u16) -> u16 {
    if pkt.zone != 0 {
        pkt.zone
    } else {
        configured
    }
}

/// Computes packets' tuples and hashes as conntrack-in does, without the tracker: a
/// burst's keys are computed before the tracker's lock is taken. GRE packets get none
/// (their keys go through the PPTP helpers' map, which lives in the tracker).
#[derive(Clone, Debug)]
pub struct Keyer {
    hasher: TupleHasher,
    zone: u16,
    dccp_generic: bool,
}

impl Keyer {
    /// The tuple conntrack-in would look up for `pkt`, and its hash; `None` where
    /// conntrack-in must see the packet itself (already tracked, untracked, not a
    /// tuple, GRE).
    pub fn key(&self, pkt: &PacketView) -> Option<(Tuple, u32)> {
        if pkt.ct != 0 || pkt.flags & flags::NOTRACK != 0 {
            return None;
        }
        let mut t = Tuple::default();
        read_packet_tuple(pkt, &Layers::of(pkt), packet_zone(pkt, self.zone), &mut t).ok()?;
        generic_ids(&mut t, self.dccp_generic);
        (t.proto != ipproto::GRE).then(|| (t, self.hasher.hash(&t)))
    }
}

impl Tracker {
    /// A tracker with `cfg`'s table size, limits, hash and timeouts.
    pub fn new(cfg: CtConfig, chain_limit: usize) -> Tracker {
        let hasher = TupleHasher::new(cfg.hash);
        Tracker::with_hasher(cfg, chain_limit, hasher)
    }

    /// A tracker as [`Tracker::new`] makes it, hashing with `hasher` (one whose keys
    /// are known, in the adversarial tests) instead of fresh random keys.
    pub fn with_hasher(cfg: CtConfig, chain_limit: usize, hasher: TupleHasher) -> Tracker {
        // Reserve the slab up to the maximum (address space only until used), capped so a
        // huge `max` does not reserve more than 1 M entries up front.
        let mut table = Table::new(cfg.buckets, hasher, chain_limit, cfg.max.min(1 << 20));
        table.set_extensions(Extensions {
            acct: cfg.accounting,
            tstamp: cfg.timestamp,
        });
        let proto_cfg = proto_config(&cfg);
        Tracker {
            table,
            expects: ExpectTable::new(cfg.expect_max),
            events: EventBus::new(),
            pollers: crate::events::Pollers::default(),
            clock_ns: 0,
            stats: Stats::default(),
            worker_stats: vec![Stats::default()],
            cur_worker: 0,
            prepared: vec![Prepared::default()],
            cfg,
            proto_cfg,
            unconfirmed: VecDeque::new(),
            pending: vec![Vec::new()],
            live: 0,
            next_id: 1,
            next_gc_ns: 0,
            gc_cursor: 0,
            gc_early_drop: false,
            helpers: Default::default(),
        }
    }

    /// Counts into the totals and into the current worker's statistics.
    #[inline]
    fn bump(&mut self, f: impl Fn(&mut Stats)) {
        f(&mut self.stats);
        if let Some(w) = self.worker_stats.get_mut(self.cur_worker) {
            f(w);
        }
    }

    /// Says which worker's packet the tracker handles next (its statistics count there).
    #[inline]
    pub fn set_worker(&mut self, worker: u32) {
        let w = (worker as usize).min(Self::MAX_WORKERS - 1);
        if w >= self.worker_stats.len() {
            self.worker_stats.resize(w + 1, Stats::default());
            self.prepared.resize_with(w + 1, Prepared::default);
            self.pending.resize(w + 1, Vec::new());
        }
        self.cur_worker = w;
    }

    /// Most workers with statistics of their own (later ones share the last).
    pub const MAX_WORKERS: usize = 1024;

    /// The config.
    pub fn config(&self) -> &CtConfig {
        &self.cfg
    }

    /// Takes a new config's tunables — TCP switches, timeouts, the connection and
    /// expectation limits, garbage collection, helpers, and `buckets` (a resize while
    /// traffic flows) — keeping the table. Returns the fields that only take effect at
    /// start (hash, defragmentation, zone, the accounting and timestamp extensions,
    /// `dccp_generic`)
    /// and that `new` would change, and `buckets` if [`resize`](Self::resize) refuses
    /// the new size (too few for the connections in the table: it stays as it is).
    pub fn retune(&mut self, new: &CtConfig) -> Vec<&'static str> {
        let mut fixed = Vec::new();
        let mut buckets = new.buckets;
        if new.buckets != self.cfg.buckets && self.resize(new.buckets).is_err() {
            fixed.push("buckets");
            buckets = self.cfg.buckets;
        }
        let old = &self.cfg;
        if new.hash != old.hash {
            fixed.push("hash");
        }
        if new.defrag != old.defrag {
            fixed.push("defrag");
        }
        if new.zone != old.zone {
            fixed.push("zone");
        }
        // Existing connections would have no counters or start time to show.
        if new.accounting != old.accounting {
            fixed.push("accounting");
        }
        if new.timestamp != old.timestamp {
            fixed.push("timestamp");
        }
        // Existing DCCP connections' tuples and states are of the other kind.
        if new.dccp_generic != old.dccp_generic {
            fixed.push("dccp_generic");
        }
        let mut cfg = new.clone();
        cfg.buckets = buckets;
        cfg.hash = old.hash;
        cfg.defrag = old.defrag;
        cfg.zone = old.zone;
        cfg.accounting = old.accounting;
        cfg.timestamp = old.timestamp;
        cfg.dccp_generic = old.dccp_generic;
        self.proto_cfg = proto_config(&cfg);
        self.expects.max = cfg.expect_max;
        self.cfg = cfg;
        fixed
    }

    /// Why the table may not be resized to `buckets`, if it may not: none, more than
    /// [`MAX_BUCKETS`](crate::config::MAX_BUCKETS), or too few for the connections in
    /// it (more than [`RESIZE_MAX_LOAD`] nodes per bucket).
    pub fn check_resize(&self, buckets: usize) -> Result<(), String> {
        use crate::config::MAX_BUCKETS;
        if buckets == 0 {
            return Err("buckets: must be at least 1".into());
        }
        if buckets > MAX_BUCKETS {
            return Err(format!("buckets: {buckets} is more than {MAX_BUCKETS}"));
        }
        let n = self.table.confirmed();
        if 2 * n > RESIZE_MAX_LOAD * buckets {
            return Err(format!(
                "buckets: {buckets} is too few for {n} connections (at least {} for {} \
                 connections per bucket on average)",
                (2 * n).div_ceil(RESIZE_MAX_LOAD),
                RESIZE_MAX_LOAD / 2
            ));
        }
        Ok(())
    }

    /// Resizes the table to `buckets` while traffic flows (the control channel's
    /// `resize`; Linux's write to `nf_conntrack_buckets`): each packet through
    /// conntrack-in and each collector run moves a few buckets. A request while a
    /// resize runs follows it. Refused as [`check_resize`](Self::check_resize) says.
    pub fn resize(&mut self, buckets: usize) -> Result<Resized, String> {
        self.check_resize(buckets)?;
        let old = self.table.target_buckets();
        let started = self.table.start_resize(buckets);
        Ok(Resized {
            old,
            new: buckets,
            already_running: started == ResizeStart::Queued,
        })
    }

    /// Resizes the table in one go, every connection rehashed before this returns: the
    /// stop-the-world rehash that [`resize`](Self::resize) avoids (the benchmarks
    /// compare the two).
    pub fn resize_now(&mut self, buckets: usize) -> Result<(), String> {
        self.check_resize(buckets)?;
        self.table.resize_now(buckets);
        Ok(())
    }

    /// Doubles the buckets when the connections outnumber them (`auto_resize`), up to
    /// the config's limit, unless a resize runs.
    #[cold]
    fn grow(&mut self) {
        if !self.cfg.auto_resize || self.table.resizing() {
            return;
        }
        let now = self.table.buckets();
        let to = now.saturating_mul(2).min(self.cfg.auto_resize_limit());
        if to > now {
            self.table.start_resize(to);
        }
    }

    /// After the helper set changed: points each connection's helper at its new index
    /// by name (`id_of`), and takes the helper off connections whose helper is gone (as
    /// Linux does when a helper is unregistered). Returns how many lost theirs.
    pub fn remap_helpers(&mut self, id_of: impl Fn(&str) -> Option<u16>) -> usize {
        let with_helper: Vec<u32> = self
            .table
            .slots()
            .filter(|(_, c)| c.helper().is_some())
            .map(|(i, _)| i)
            .collect();
        let mut lost = 0;
        for idx in with_helper {
            let Some(ext) = self.table.get_mut(idx).and_then(|c| c.ext.as_mut()) else {
                continue;
            };
            match ext.helper.as_deref().and_then(&id_of) {
                Some(id) => ext.helper_id = id,
                None => {
                    ext.helper = None;
                    ext.helper_state = None;
                    lost += 1;
                }
            }
        }
        lost
    }

    /// The table.
    pub fn table(&self) -> &Table {
        &self.table
    }

    /// The expectations.
    pub fn expects(&self) -> &ExpectTable {
        &self.expects
    }

    /// The event bus (subscribe to it for `conntrack -E`'s events).
    pub fn events(&self) -> &EventBus {
        &self.events
    }

    /// The counters, all workers together.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The counters per worker.
    pub fn worker_stats(&self) -> &[Stats] {
        &self.worker_stats
    }

    /// Helper assignment, ended helper connections, GRE keys.
    pub fn helpers(&self) -> &crate::helper::HelperBook {
        &self.helpers
    }

    /// The latest packet time seen: the clock of events and of timeouts shown.
    pub fn clock_ns(&self) -> u64 {
        self.clock_ns
    }

    /// Binds the reply tuple NAT chose for the connection that packet reference `ct`
    /// names, before it is confirmed (Linux's `nf_conntrack_alter_reply`): the tuple
    /// must be of the connection's protocol, family and zone; the original inverted
    /// clears a binding. Confirmation then hashes the connection under this reply.
    pub fn bind_nat_reply(&mut self, ct: u64, reply: Tuple) -> Result<(), NatBindError> {
        let (idx, gen) = unhandle(ct).ok_or(NatBindError::NotFound)?;
        let c = self
            .table
            .get_mut(idx)
            .filter(|c| c.id == gen)
            .ok_or(NatBindError::NotFound)?;
        if c.slot == Slot::Confirmed {
            return Err(NatBindError::Confirmed);
        }
        let o = &c.orig;
        if (reply.proto, reply.family, reply.zone) != (o.proto, o.family, o.zone) {
            return Err(NatBindError::Invalid);
        }
        c.bind_nat_reply(reply);
        // The helper follows the port the connection really goes to (Linux's
        // `nf_conntrack_alter_reply` assigns helpers again from the new reply tuple):
        // a port forward to tcp/21 gets the FTP helper. A connection with a master, or
        // whose helper already learnt of it, keeps what it has.
        let free = !c.has(status::HELPER)
            && c.ext
                .as_ref()
                .is_none_or(|e| e.master.is_none() && e.helper_state.is_none());
        if free {
            let real = Tuple {
                dst: reply.src,
                dst_id: reply.src_id,
                ..c.orig
            };
            match (self.helpers.for_tuple(&real), c.ext.as_mut()) {
                (Some((id, name)), _) => {
                    let ext = c.ext.get_or_insert_with(Default::default);
                    ext.helper = Some(name.to_owned());
                    ext.helper_id = id;
                }
                (None, Some(ext)) => ext.helper = None,
                (None, None) => {}
            }
        }
        Ok(())
    }

    /// Connections alive (confirmed and unconfirmed).
    pub fn live(&self) -> usize {
        self.live
    }

    /// The connection a packet refers to, if the reference is current.
    pub fn conn_of(&self, ct: u64) -> Option<(u32, &Conn)> {
        let (idx, gen) = unhandle(ct)?;
        self.table
            .get(idx)
            .filter(|c| c.id == gen)
            .map(|c| (idx, c))
    }

    /// Publishes a connection event if anyone listens for its class.
    fn conn_event(&self, idx: u32, bits: u16) {
        let kind = EventKind::from_what(bits);
        let cls = match kind {
            EventKind::New => class::NEW,
            EventKind::Update => class::UPDATE,
            EventKind::Destroy => class::DESTROY,
        };
        if !self.events.wants(cls) {
            return;
        }
        if let Some(c) = self.table.get(idx) {
            let ev = ConnEvent::from_conn(kind, bits, c, self.clock_ns);
            let ev = ev
                .with_counters(self.table.counters(idx))
                .with_start(self.table.start_ns(idx));
            self.events.publish(Event::Conn(ev));
        }
    }

    /// A new connection `orig` claimed a translated expectation of master `master`
    /// (slot, generation) and was given the reply tuple `reply`: the expectation of
    /// that reply direction goes too, as the claim took its mirror image untranslated
    /// (PPTP's GRE pair behind NAT, Linux's `pptp_nat_expected`: the other
    /// expectation names the far side's view of the addresses, not the claimed
    /// tuple inverted). Only when the claimed expectation went (not a permanent one).
    fn unexpect_translated_mirror(
        &mut self,
        orig: &Tuple,
        reply: &Tuple,
        claimed: &[Expectation],
        master: (u32, u32),
    ) {
        let gone = claimed
            .iter()
            .any(|e| (e.master, e.master_generation) == master && e.matches(orig));
        if !gone || orig.invert().as_ref() == Some(reply) {
            return;
        }
        let removed = self.expects.remove_mirror(master, reply);
        self.expect_gone(&removed);
    }

    /// Publishes expectation events for expectations that went away.
    fn expect_gone(&mut self, gone: &[Expectation]) {
        self.bump(|s| s.expect_delete += gone.len() as u64);
        if gone.is_empty() || !self.events.wants(class::EXPECT_DESTROY) {
            return;
        }
        for e in gone {
            self.events.publish(Event::Expect(ExpectEvent {
                kind: EventKind::Destroy,
                ts_ns: self.clock_ns,
                expect: crate::record::expect_record(e, self.clock_ns),
            }));
        }
    }

    fn destroy(&mut self, idx: u32) {
        let Some((gen, confirmed)) = self
            .table
            .get(idx)
            .map(|c| (c.id, c.slot == Slot::Confirmed))
        else {
            return;
        };
        // A PPTP control connection takes its calls' GRE connections with it, as
        // Linux's pptp helper's destroy (`pptp_destroy_siblings`) does.
        if self.helpers.master_gone(idx, gen) && confirmed {
            self.end_children(idx, gen);
        }
        if !self.expects.is_empty() {
            let gone = self.expects.remove_master(idx, gen);
            self.expect_gone(&gone);
        }
        if let Some(c) = self.table.get_mut(idx) {
            if let Some(ext) = c.ext.as_mut() {
                if let (Some(_), Some(state)) = (&ext.helper, ext.helper_state.take()) {
                    self.helpers.gone.push((ext.helper_id, idx, state));
                }
            }
        }
        if confirmed {
            self.conn_event(idx, what::DESTROY);
            // A confirmed child releases its master's reference.
            if let Some(c) = self.table.get(idx) {
                if let Some(master) = c.master_ref() {
                    self.master_refs(master, (idx, c.id), false);
                }
            }
        }
        self.table.release(idx);
        self.live = self.live.saturating_sub(1);
    }

    /// Creates an expectation whose master is the connection the packet reference `ct`
    /// names; returns its id. Counted in `expect_create`; what it replaced or evicted
    /// (the master's oldest beyond `max_expected`) in `expect_delete`.
    pub fn expect_create(
        &mut self,
        ct: u64,
        spec: ExpectSpec,
        now_ns: u64,
    ) -> Result<u32, ExpectError> {
        let (idx, gen) = unhandle(ct).ok_or(ExpectError::NoMaster)?;
        let master_tuple = self
            .table
            .get(idx)
            .filter(|c| c.id == gen)
            .map(|c| c.orig)
            .ok_or(ExpectError::NoMaster)?;
        if spec.tuple.proto == ipproto::GRE {
            self.helpers.add_gre_key(&spec.tuple, idx, gen);
        }
        let (id, removed) = self.expects.insert(spec, idx, gen, master_tuple, now_ns)?;
        self.bump(|s| s.expect_create += 1);
        self.bump(|s| s.expect_delete += removed.len() as u64);
        if self.events.wants(class::EXPECT_NEW) {
            if let Some(e) = self.expects.get(id) {
                self.events.publish(Event::Expect(ExpectEvent {
                    kind: EventKind::New,
                    ts_ns: now_ns,
                    expect: crate::record::expect_record(e, now_ns),
                }));
            }
        }
        Ok(id)
    }

    /// The packet reference of the confirmed connection with tuple `t` (either direction).
    pub fn handle_of(&self, t: &Tuple) -> Option<u64> {
        let (idx, _) = self.table.find(t).0?;
        self.table.get(idx).map(|c| handle(idx, c.id))
    }

    /// Adds (or, without `add`, removes) `child` to its master's list of confirmed
    /// RELATED children (each shows in the master's `use=`, as in Linux, where a child
    /// holds a reference on its master; an expectation does not).
    fn master_refs(&mut self, master: (u32, u32), child: (u32, u32), add: bool) {
        let (idx, gen) = master;
        if let Some(c) = self.table.get_mut(idx).filter(|c| c.id == gen) {
            let ext = c.ext.get_or_insert_with(Default::default);
            if add {
                ext.children.push(child);
            } else if let Some(i) = ext.children.iter().position(|&k| k == child) {
                ext.children.swap_remove(i);
            }
        }
    }

    /// Gives slot `idx`'s connection helper `id` called `name` (a rule's request), with
    /// status `HELPER` as Linux marks a helper a rule set (no later lookup by port
    /// replaces it).
    pub fn assign_helper(&mut self, idx: u32, id: u16, name: &str) {
        if let Some(c) = self.table.get_mut(idx) {
            c.status |= status::HELPER;
            let ext = c.ext.get_or_insert_with(Default::default);
            ext.helper = Some(name.to_owned());
            ext.helper_id = id;
        }
    }

    /// Takes slot `idx`'s helper state out (to hand it to the helper).
    pub fn take_helper_state(&mut self, idx: u32) -> Option<Vec<u8>> {
        self.table.get_mut(idx)?.ext.as_mut()?.helper_state.take()
    }

    /// Records that a helper changed the payload of connection `ct`'s segment at `seq`
    /// in direction `dir` by `delta` bytes: the connection's later segments are
    /// adjusted (status `SEQ_ADJUST`).
    pub fn record_seqadj(&mut self, ct: u64, dir: usize, seq: u32, delta: i32) {
        let Some((idx, _)) = self.conn_of(ct) else {
            return;
        };
        let Some(c) = self.table.get_mut(idx) else {
            return;
        };
        c.status |= status::SEQ_ADJUST;
        let ext = c.ext.get_or_insert_with(Default::default);
        ext.seqadj.get_or_insert_with(Default::default)[dir & 1].record(seq, delta);
    }

    /// Connection `ct`'s sequence adjustments, if a helper changed a payload's length.
    pub fn seqadj_of(&self, ct: u64) -> Option<crate::seqadj::SeqAdjPair> {
        self.conn_of(ct)?.1.ext.as_ref()?.seqadj
    }

    /// Puts slot `idx`'s helper state back.
    pub fn put_helper_state(&mut self, idx: u32, state: Vec<u8>) {
        if let Some(ext) = self.table.get_mut(idx).and_then(|c| c.ext.as_mut()) {
            ext.helper_state = Some(state);
        }
    }

    /// Sets a connection's mark and 128 labels (the control channel's `update`); one
    /// event reports what changed. Labels live in the connection's extension, which is
    /// only allocated when a label is set.
    pub fn set_mark_and_labels(&mut self, idx: u32, mark: u32, labels: u128) -> bool {
        let Some(c) = self.table.get_mut(idx) else {
            return false;
        };
        let mut changed = 0;
        if c.mark != mark {
            c.mark = mark;
            changed |= what::MARK;
        }
        if c.labels() != labels {
            c.ext.get_or_insert_with(Default::default).labels = labels;
            changed |= what::LABEL;
        }
        if changed != 0 {
            self.conn_event(idx, changed);
        }
        true
    }

    /// Sets a connection to expire `secs` seconds after `now` (`conntrack -U -t`), as
    /// Linux's ctnetlink does: whatever its protocol's timeout, until its next packet
    /// sets it again (or for good, with FIXED_TIMEOUT).
    pub fn set_timeout(&mut self, idx: u32, now: u64, secs: u32) {
        if let Some(c) = self.table.get_mut(idx) {
            c.expires_ns = now.saturating_add(u64::from(secs) * NS);
        }
    }

    /// Deletes an expectation by id.
    pub fn expect_delete(&mut self, id: u32) -> Option<Expectation> {
        let e = self.expects.remove(id)?;
        self.expect_gone(std::slice::from_ref(&e));
        Some(e)
    }

    fn expired(&self, idx: u32, now: u64) -> bool {
        self.table.get(idx).is_some_and(|c| c.expires_ns <= now)
    }

    /// Looks a tuple up, removing what it finds if it has expired.
    fn lookup(&mut self, t: &Tuple, now: u64) -> Option<(u32, u8)> {
        let h = self.table.hash(t);
        self.lookup_hashed(t, h, now)
    }

    /// As [`lookup`](Self::lookup), for a tuple whose hash is known.
    #[inline]
    fn lookup_hashed(&mut self, t: &Tuple, h: u32, now: u64) -> Option<(u32, u8)> {
        let (hit, _) = self.table.find_hashed(t, h);
        let (idx, dir) = hit?;
        if self.expired(idx, now) {
            self.destroy(idx);
            return None;
        }
        Some((idx, dir))
    }

    /// Runs the garbage collector if it is due.
    #[inline]
    fn maybe_gc(&mut self, now: u64) {
        if now >= self.next_gc_ns {
            self.gc(now);
        }
    }

    /// A garbage-collection run: a bounded number of buckets.
    #[cold]
    fn gc(&mut self, now: u64) {
        self.next_gc_ns = now.saturating_add(self.cfg.gc_interval_ms * 1_000_000);
        let n = self.cfg.gc_buckets.min(self.table.buckets());
        let max95 = self.cfg.max / 100 * 95;
        for idx in self.table.scan(self.gc_cursor, n) {
            if self.expired(idx, now) {
                self.destroy(idx);
            } else if self.gc_early_drop
                && max95 > 0
                && self.live >= max95
                && self.can_early_drop(idx)
            {
                self.destroy(idx);
                self.bump(|s| s.early_drop += 1);
            }
        }
        let next = self.gc_cursor + n;
        if next >= self.table.buckets() {
            // A full pass is over.
            self.gc_early_drop = false;
        }
        self.gc_cursor = next % self.table.buckets();
        if self.table.resizing() {
            self.table.migrate(GC_MIGRATE_NODES, self.cfg.gc_buckets);
        }
        self.reap_unconfirmed(now, false);
        if !self.expects.is_empty() {
            let gone = self.expects.expire(now);
            self.expect_gone(&gone);
        }
    }

    /// Moves the connections the current worker's previous packet (or burst) created
    /// to the unconfirmed queue if their packets did not confirm them.
    #[inline]
    fn settle_pending(&mut self) {
        if self.pending[self.cur_worker].is_empty() {
            return;
        }
        let pending = std::mem::take(&mut self.pending[self.cur_worker]);
        for &(idx, id, born) in &pending {
            if self
                .table
                .get(idx)
                .is_some_and(|c| c.id == id && c.slot == Slot::Unconfirmed)
            {
                self.unconfirmed.push_back((idx, id, born));
            }
        }
        // The allocation is kept for the worker's next burst.
        let mut pending = pending;
        pending.clear();
        self.pending[self.cur_worker] = pending;
    }

    /// Frees unconfirmed connections whose packets never reached confirmation. Every
    /// worker's pending connection that is stale by now joins the queue first, at its
    /// front (a worker that went quiet after a dropped packet never settles its own).
    fn reap_unconfirmed(&mut self, now: u64, all_stale: bool) {
        for p in self.pending.iter_mut() {
            let (stale, fresh): (Vec<_>, Vec<_>) = p
                .drain(..)
                .partition(|e| now.saturating_sub(e.2) >= UNCONFIRMED_TTL_NS);
            *p = fresh;
            for e in stale {
                self.unconfirmed.push_front(e);
            }
        }
        while let Some(&(idx, gen, born)) = self.unconfirmed.front() {
            let stale = now.saturating_sub(born) >= UNCONFIRMED_TTL_NS;
            if !stale && !all_stale {
                break;
            }
            if !stale && self.unconfirmed.len() < 2 {
                break;
            }
            self.unconfirmed.pop_front();
            if let Some(c) = self.table.get(idx) {
                if c.id == gen && c.slot == Slot::Unconfirmed {
                    self.destroy(idx);
                }
            }
        }
    }

    /// Whether the collector may end slot `idx`'s connection early while the table is
    /// nearly full: not ASSURED, or in a state its protocol lets go early (Linux's
    /// `gc_worker_can_early_drop`).
    fn can_early_drop(&self, idx: u32) -> bool {
        self.table
            .get(idx)
            .is_some_and(|c| !c.has(status::ASSURED) || c.proto.can_early_drop())
    }

    /// Evicts one confirmed, non-ASSURED connection near `t`'s bucket; false if none.
    fn early_drop(&mut self, t: &Tuple) -> bool {
        let start = self.table.bucket_of(t);
        let victim = self
            .table
            .scan(start, EVICTION_RANGE)
            .into_iter()
            .find(|&i| self.table.get(i).is_some_and(|c| !c.has(status::ASSURED)));
        match victim {
            Some(i) => {
                self.destroy(i);
                self.bump(|s| s.early_drop += 1);
                true
            }
            None => false,
        }
    }

    fn set_invalid(&mut self, pkt: &mut PacketView) -> InVerdict {
        self.bump(|s| s.invalid += 1);
        pkt.set_ctinfo(CtInfo::Invalid);
        pkt.ct = 0;
        pkt.ct_id = 0;
        pkt.ct_status = 0;
        InVerdict::Accept
    }

    fn attach(pkt: &mut PacketView, idx: u32, c: &Conn, info: CtInfo) {
        pkt.ct = handle(idx, c.id);
        pkt.ct_status = c.status as u32;
        pkt.ct_id = c.id as u64;
        pkt.ct_mark = c.mark;
        pkt.set_labels(c.labels());
        pkt.set_ctinfo(info);
    }

    /// The tuple conntrack-in looks up for a packet, written into `t`: its own, in the
    /// packet's zone (one an earlier plugin set wins over the configured one), GRE
    /// keys mapped as PPTP helpers arranged.
    #[inline(always)]
    fn tuple_of(
        &self,
        pkt: &PacketView,
        layers: &Layers,
        t: &mut Tuple,
    ) -> Result<(), crate::extract::NoTuple> {
        read_packet_tuple(pkt, layers, packet_zone(pkt, self.cfg.zone), t)?;
        generic_ids(t, self.cfg.dccp_generic);
        self.helpers.gre_source_key(t);
        Ok(())
    }

    /// What computes a packet's tuple and hash without the tracker (see [`Keyer`]).
    pub fn keyer(&self) -> Keyer {
        Keyer {
            hasher: self.table.hasher().clone(),
            zone: self.cfg.zone,
            dccp_generic: self.cfg.dccp_generic,
        }
    }

    /// Warms the cache for the lookups of these hashes (bucket heads, chain links, the
    /// records), from the table size where that pays (see [`prefetch`](Self::prefetch)).
    pub fn prefetch_hashes(&self, hashes: &[u32]) {
        if !hashes.is_empty() && self.table.record_bytes() >= self.cfg.batch_prefetch_min_bytes {
            self.table.prefetch(hashes);
        }
    }

    /// Prepares a batch of packets that conntrack-in will see next, in this order:
    /// hashes their tuples and warms the cache for their lookups (bucket heads, chain
    /// links, the records), so that the batch's misses overlap. Changes nothing a
    /// packet's tracking depends on: a packet whose tuple changed in between, or that
    /// never comes, is simply hashed again or passed over.
    ///
    /// Below the config's `batch_prefetch_min_bytes` of records (by default
    /// [`PREFETCH_MIN_BYTES`]) it does nothing: the table then sits in the last-level
    /// cache, and preparing costs more than the misses it hides.
    pub fn prefetch<'p>(&mut self, pkts: impl IntoIterator<Item = &'p PacketView>) {
        let mut pkts = pkts.into_iter().peekable();
        let Some(first) = pkts.peek() else { return };
        let worker = first.worker;
        self.set_worker(worker);
        let mut prepared = std::mem::take(&mut self.prepared[self.cur_worker]);
        prepared.clear();
        if self.table.record_bytes() < self.cfg.batch_prefetch_min_bytes {
            // Nothing prepared: conntrack-in hashes each packet itself.
            self.prepared[self.cur_worker] = prepared;
            return;
        }
        self.prepare_into(pkts, worker, &mut prepared);
        self.prepared[self.cur_worker] = prepared;
    }

    /// [`prefetch`](Self::prefetch) on a lane: the batch goes into the lane's state.
    pub fn prefetch_lane<'p>(
        &self,
        pkts: impl IntoIterator<Item = &'p PacketView>,
        lane: &mut LaneState,
    ) {
        let mut pkts = pkts.into_iter().peekable();
        let Some(first) = pkts.peek() else { return };
        let worker = first.worker;
        lane.prepared.clear();
        if self.table.record_bytes() >= self.cfg.batch_prefetch_min_bytes {
            self.prepare_into(pkts, worker, &mut lane.prepared);
        }
    }

    /// Hashes the tuples of `worker`'s packets among `pkts` into `prepared` and warms
    /// the cache for their lookups.
    fn prepare_into<'p>(
        &self,
        pkts: impl Iterator<Item = &'p PacketView>,
        worker: u32,
        prepared: &mut Prepared,
    ) {
        for pkt in pkts {
            if pkt.ct != 0 || pkt.flags & flags::NOTRACK != 0 || pkt.worker != worker {
                continue;
            }
            let mut t = Tuple::default();
            if self.tuple_of(pkt, &Layers::of(pkt), &mut t).is_ok() {
                prepared.push(t, self.table.hash(&t));
            }
        }
        self.table.prefetch(prepared.hashes());
    }

    /// Sets the size of table (bytes of records) from which [`prefetch`](Self::prefetch)
    /// prepares batches; 0 prepares every batch (tests, benchmarks).
    pub fn set_prefetch_min_bytes(&mut self, bytes: usize) {
        self.cfg.batch_prefetch_min_bytes = bytes;
    }

    /// Gives the packet, in `ct_helper`, the name of the helper of its connection's
    /// master `master` (slot and generation), if it has one: what nftables' `ct helper`
    /// reads (the FTP data connection's packets are `ct helper "ftp"`; the control
    /// connection's are not). A connection with a master never takes a helper from a
    /// rule (only a new connection does), so the field cannot be misread as a request.
    fn note_master_helper(&self, pkt: &mut PacketView, master: Option<(u32, u32)>) {
        let Some((m, g)) = master else { return };
        let name = self
            .table
            .get(m)
            .filter(|c| c.id == g)
            .and_then(|c| c.helper());
        if let Some(name) = name {
            pkt.set_ct_helper(name);
        }
    }

    /// Takes in what lane `worker` counted on its own (see [`crate::lanes`]): packets
    /// whose connection it found, and its latest packet time.
    pub(crate) fn fold_lane(&mut self, worker: usize, found: u64, clock_ns: u64) {
        self.stats.found += found;
        if let Some(w) = self.worker_stats.get_mut(worker) {
            w.found += found;
        }
        self.clock_ns = self.clock_ns.max(clock_ns);
    }

    /// conntrack-in on a lane, for a packet of a confirmed connection that it only moves
    /// on (see [`crate::lanes`]): the connection is found, its protocol state and
    /// expiry advance and the packet is counted, under the connection's own lock. Any
    /// packet for which conntrack-in would do more (create, expire, reopen or end a
    /// connection, call a packet INVALID for its checksum, change its status or state
    /// name and so raise an event, run a helper, handle ICMP, collect garbage, migrate
    /// a resize, settle the worker's new connection) is left untouched for the exclusive path:
    /// [`LaneOutcome::Exclusive`]. The protocol tracker runs on a copy of the state,
    /// stored only when the packet is decided here, so the exclusive path sees the
    /// packet as if the lane had never looked.
    pub fn track_lane(
        &self,
        pkt: &mut PacketView,
        guard: Option<&mut BurstGuard>,
        key: Option<(Tuple, u32)>,
        lane: &mut LaneState,
    ) -> LaneOutcome {
        use LaneOutcome::Exclusive;
        if pkt.ct != 0 || pkt.flags & flags::NOTRACK != 0 || pkt.ct_helper[0] != 0 {
            return Exclusive;
        }
        let now = pkt.ts_ns;
        let settled = self
            .pending
            .get(pkt.worker as usize)
            .is_some_and(|p| p.is_empty());
        if !settled || now >= self.next_gc_ns || self.table.resizing() {
            return Exclusive;
        }
        let layers = Layers::of(pkt);
        let (tuple, hash) = match key {
            Some(k) => k,
            None => {
                let mut t = Tuple::default();
                if self.tuple_of(pkt, &layers, &mut t).is_err() {
                    return Exclusive;
                }
                let h = lane
                    .prepared
                    .take(&t)
                    .unwrap_or_else(|| self.table.hash(&t));
                (t, h)
            }
        };
        if tuple.is_icmp() || tuple.proto == ipproto::GRE {
            return Exclusive;
        }
        if bad_tcp_flags(&tuple, &layers) {
            return Exclusive;
        }
        // A bad checksum makes the packet INVALID, which the exclusive path decides.
        if self.cfg.checksum
            && pkt.hook == Hook::PreRouting as u8
            && !checksum::l4_ok(pkt, !self.cfg.dccp_generic)
        {
            return Exclusive;
        }
        let (Some((idx, dir)), _) = self.table.find_hashed(&tuple, hash) else {
            return Exclusive;
        };
        let Some(mut slot) = self.table.lock_slot(idx, lane.alone) else {
            return Exclusive;
        };
        let c = slot.conn();
        let plain = c
            .ext
            .as_ref()
            .is_none_or(|e| e.helper.is_none() && e.master.is_none());
        if c.slot != Slot::Confirmed
            || c.expires_ns <= now
            || c.has(status::HELPER)
            || !plain
            || (dir == 1 && !c.has(status::SEEN_REPLY))
        {
            return Exclusive;
        }
        let l4_len = declared_l4_len(pkt, &layers);
        let bytes = ip_bytes(pkt, l4_len);
        let info = found_ctinfo(c, dir);
        let mut state = c.proto.clone();
        let key_before = state.state_key();
        let verdict = proto::track(
            state.tracked(),
            dir,
            layers.l4,
            l4_len,
            now,
            c.status,
            &self.proto_cfg,
            None,
        );
        let Track::Accept {
            timeout,
            set_assured,
        } = verdict
        else {
            return Exclusive;
        };
        if (set_assured && !c.has(status::ASSURED)) || state.state_key() != key_before {
            return Exclusive;
        }
        if let Some(g) = guard {
            if !g.claim(idx) {
                return LaneOutcome::Defer;
            }
        }
        let expires = if c.has(status::FIXED_TIMEOUT) {
            c.expires_ns
        } else {
            now.saturating_add(timeout as u64 * NS)
        };
        Self::attach(pkt, idx, c, info);
        let unlabelled = c.labels() == 0;
        slot.store(state, expires);
        slot.account(dir, bytes);
        lane.found += 1;
        lane.clock_ns = lane.clock_ns.max(now);
        LaneOutcome::Done { unlabelled }
    }

    /// Whether confirmation has nothing to do for `pkt` (a lane's read, without the
    /// record's lock: these fields only the exclusive holder writes): no connection, or
    /// a confirmed one whose mark and labels are those the packet carries.
    pub fn confirm_is_noop(&self, pkt: &PacketView) -> bool {
        let Some((idx, gen)) = unhandle(pkt.ct) else {
            return true;
        };
        let Some(c) = self.table.fixed(idx) else {
            return false;
        };
        c.id == gen
            && c.slot == Slot::Confirmed
            && c.mark == pkt.ct_mark
            && c.labels() == pkt.labels()
    }

    /// Calls `f` with the connection packet reference `ct` names (its slot, the record
    /// and its counters, with accounting on), under the record's lock: a lane's read.
    pub fn on_lane<R>(
        &self,
        ct: u64,
        lane: &LaneState,
        f: impl FnOnce(u32, &Conn, Option<[crate::conn::DirCounters; 2]>) -> R,
    ) -> Option<R> {
        let (idx, gen) = unhandle(ct)?;
        let slot = self.table.lock_slot(idx, lane.alone)?;
        let c = slot.conn();
        (c.id == gen && c.slot != Slot::Free).then(|| f(idx, c, slot.counters()))
    }

    /// Whether the connection packet reference `ct` names has a helper (a lane's read).
    pub fn has_helper(&self, ct: u64) -> bool {
        let Some((idx, gen)) = unhandle(ct) else {
            return false;
        };
        self.table.fixed(idx).is_some_and(|c| {
            c.id == gen
                && c.slot != Slot::Free
                && c.ext.as_ref().is_some_and(|e| e.helper.is_some())
        })
    }

    /// conntrack-in: attaches a connection and a ctinfo to the packet.
    pub fn conntrack_in(&mut self, pkt: &mut PacketView) -> InVerdict {
        self.track(pkt, None, None)
    }

    /// conntrack-in for a packet of a burst, in order after the burst's earlier
    /// packets, which `guard` remembers. `None` (the packet untouched) when the packet
    /// must wait until the earlier ones have finished their walk: its connection is one
    /// an earlier packet of the burst already carries. After `Some`, [`BurstGuard::cut`]
    /// says whether the next packets must wait for this one (see [`BurstGuard`]).
    /// `key`: the packet's tuple and hash from [`Keyer::key`], if it gave them.
    pub fn conntrack_in_burst(
        &mut self,
        pkt: &mut PacketView,
        guard: &mut BurstGuard,
        key: Option<(Tuple, u32)>,
    ) -> Option<InVerdict> {
        let v = self.track(pkt, Some(guard), key);
        if guard.deferred {
            guard.deferred = false;
            return None;
        }
        if v == InVerdict::Repeat {
            guard.cut = true;
        }
        Some(v)
    }

    fn track(
        &mut self,
        pkt: &mut PacketView,
        mut guard: Option<&mut BurstGuard>,
        key: Option<(Tuple, u32)>,
    ) -> InVerdict {
        self.set_worker(pkt.worker);
        // A burst's packets settle the worker's earlier connections once, at its first
        // packet: the connections its own packets create are confirmed after them.
        match guard.as_deref_mut() {
            None => self.settle_pending(),
            Some(g) if !g.settled => {
                g.settled = true;
                self.settle_pending();
            }
            Some(_) => {}
        }
        if pkt.ct != 0 {
            return InVerdict::Accept;
        }
        if pkt.flags & flags::NOTRACK != 0 {
            pkt.set_ctinfo(CtInfo::Untracked);
            return InVerdict::Accept;
        }
        let now = pkt.ts_ns;
        self.clock_ns = self.clock_ns.max(now);
        self.maybe_gc(now);
        if self.table.resizing() {
            self.table.migrate(table::STEP_NODES, table::STEP_BUCKETS);
        }
        let layers = Layers::of(pkt);
        let mut tuple = Tuple::default();
        let mut hash = None;
        // A burst's keys say its later packets are of other flows (see `track`'s new
        // connections below).
        let keyed = key.is_some();
        match key {
            Some((t, h)) => (tuple, hash) = (t, Some(h)),
            None => {
                if self.tuple_of(pkt, &layers, &mut tuple).is_err() {
                    return self.set_invalid(pkt);
                }
            }
        }
        if self.cfg.checksum
            && pkt.hook == Hook::PreRouting as u8
            && !checksum::l4_ok(pkt, !self.cfg.dccp_generic)
        {
            return self.bad_checksum(pkt, &tuple);
        }
        if tuple.is_icmp() {
            let ty = (tuple.dst_id >> 8) as u8;
            if icmp::icmpv6_untracked(tuple.family, ty) {
                pkt.set_ctinfo(CtInfo::Untracked);
                return InVerdict::Accept;
            }
            if tuple.family == FAMILY_V6 && ty == icmp::REDIRECT {
                return self.icmpv6_redirect(pkt, &tuple);
            }
            match icmp::kind(tuple.family, ty) {
                icmp::IcmpKind::Error => return self.icmp_error(pkt, &tuple, 8),
                icmp::IcmpKind::Other => return self.set_invalid(pkt),
                _ => {}
            }
        }
        if bad_tcp_flags(&tuple, &layers) {
            return self.set_invalid(pkt);
        }
        let l4 = layers.l4;
        let l4_len = declared_l4_len(pkt, &layers);
        let bytes = ip_bytes(pkt, l4_len);
        let hash = match hash.or_else(|| self.prepared[self.cur_worker].take(&tuple)) {
            Some(h) => h,
            None => self.table.hash(&tuple),
        };
        let Some((idx, dir)) = self.lookup_hashed(&tuple, hash, now) else {
            let v = self.new_conn(pkt, tuple, now, bytes);
            if let Some(g) = guard {
                // The burst goes on past a new connection when none of its later
                // packets is of the same flow (the burst's keys stop before such a
                // packet), no later hook can change what the connection means to them
                // (`late_changes`: a helper's expectations, a NAT binding), the
                // connection is plain (no master) and the table has room (no early
                // drop whose victim would depend on this one's confirmation).
                let plain = v == InVerdict::Accept
                    && self.conn_of(pkt.ct).is_some_and(|(_, c)| c.ext.is_none());
                let room = self.live + brickwall_hooks::abi::MAX_BURST < self.cfg.max;
                g.cut |= !(keyed && plain && room && !g.late_changes);
            }
            return v;
        };
        if let Some(g) = guard.as_deref_mut() {
            if !g.claim(idx) {
                g.deferred = true;
                return InVerdict::Accept;
            }
        }
        self.bump(|s| s.found += 1);
        let cfg = &self.proto_cfg;
        let Some(c) = self.table.get_mut(idx) else {
            return self.set_invalid(pkt);
        };
        let info = found_ctinfo(c, dir);
        // The state before, to tell what changed (the state key changes exactly when
        // the state's name does).
        let before = (c.status, c.proto.state_key());
        let receiver_adj = c
            .ext
            .as_ref()
            .and_then(|e| e.seqadj)
            .map(|a| a[usize::from(dir ^ 1) & 1]);
        let verdict = proto::track(
            c.proto.tracked(),
            dir,
            l4,
            l4_len,
            now,
            before.0,
            cfg,
            receiver_adj.as_ref(),
        );
        let (timeout, set_assured) = match verdict {
            Track::Accept {
                timeout,
                set_assured,
            } => (Some(timeout), set_assured),
            Track::Ignore | Track::Kill => (None, false),
            Track::InvalidLowerTimeout(_, timeout) => {
                let left = c.expires_ns.saturating_sub(now);
                let cap = timeout as u64 * NS;
                if !c.has(status::FIXED_TIMEOUT)
                    && left >= LOWER_TIMEOUT_MIN_REMAINING_NS
                    && left > cap
                {
                    c.expires_ns = now.saturating_add(cap);
                }
                return self.set_invalid(pkt);
            }
            Track::Invalid(_) => return self.set_invalid(pkt),
            Track::Reopen => {
                self.destroy(idx);
                pkt.ct = 0;
                return InVerdict::Repeat;
            }
        };
        if let Some(timeout) = timeout.filter(|_| !c.has(status::FIXED_TIMEOUT)) {
            c.expires_ns = now.saturating_add(timeout as u64 * NS);
        }
        if dir == 1 {
            c.status |= status::SEEN_REPLY;
        }
        if set_assured {
            c.status |= status::ASSURED;
        }
        let c = &*c;
        Self::attach(pkt, idx, c, info);
        let master = c.master_ref();
        let mut bits = 0;
        if c.slot == Slot::Confirmed {
            if c.status & !before.0 & status::SEEN_REPLY != 0 {
                bits |= what::REPLY;
            }
            if c.status & !before.0 & status::ASSURED != 0 {
                bits |= what::ASSURED;
            }
            if c.proto.state_key() != before.1 {
                bits |= what::PROTOINFO;
            }
        }
        // A packet its tracker ignores (a TCP segment out of step, a retransmitted
        // SCTP INIT) refreshes nothing and is not counted, as in Linux.
        if verdict != Track::Ignore {
            self.table.account(idx, dir, bytes);
        }
        if bits != 0 {
            self.conn_event(idx, bits);
        }
        self.note_master_helper(pkt, master);
        if let Some(g) = guard {
            // A helper's step may expect connections the next packets open; a
            // connection that ends may be opened again by them.
            let helper = self.table.get(idx).is_some_and(|c| c.helper().is_some());
            g.cut |= helper || pkt.ct_helper[0] != 0 || verdict == Track::Kill;
        }
        if verdict == Track::Kill {
            // The packet passes with its ctinfo; the connection ends here.
            self.destroy(idx);
            pkt.ct = 0;
        }
        InVerdict::Accept
    }

    /// A packet with no connection: a new one, unconfirmed, attached to it (`bytes`:
    /// its IP length, for the counters).
    fn new_conn(&mut self, pkt: &mut PacketView, tuple: Tuple, now: u64, bytes: u64) -> InVerdict {
        if tuple.is_icmp()
            && icmp::kind(tuple.family, (tuple.dst_id >> 8) as u8) != icmp::IcmpKind::Request
        {
            return self.set_invalid(pkt);
        }
        if tuple.invert().is_none() {
            return self.set_invalid(pkt);
        }
        let layers = Layers::of(pkt);
        let (l4, l4_len) = (layers.l4, declared_l4_len(pkt, &layers));
        let mut state = match proto::new_state(tuple.proto, l4, l4_len, now, &self.proto_cfg) {
            Ok(s) => s,
            Err(_) => return self.set_invalid(pkt),
        };
        let tracked = state.tracked();
        let timeout = match proto::track(tracked, 0, l4, l4_len, now, 0, &self.proto_cfg, None) {
            Track::Accept { timeout, .. } => timeout,
            Track::Ignore => state_timeout(&state, &self.proto_cfg),
            Track::Kill | Track::Invalid(_) | Track::InvalidLowerTimeout(..) | Track::Reopen => {
                return self.set_invalid(pkt)
            }
        };
        if self.live >= self.cfg.max {
            self.reap_unconfirmed(now, true);
        }
        if self.live >= self.cfg.max && !self.early_drop(&tuple) {
            self.gc_early_drop = true;
            self.bump(|s| s.drop += 1);
            pkt.set_ctinfo(CtInfo::Invalid);
            return InVerdict::DropTableFull;
        }
        // A connection someone announced is RELATED to its master.
        let mut related: Option<(u32, u32, u32)> = None;
        let mut follow: Option<Tuple> = None;
        if !self.expects.is_empty() {
            let claim = self.expects.claim(&tuple, now);
            if let Some((m, g)) = claim.master {
                if let Some(mc) = self.table.get(m).filter(|c| c.id == g) {
                    related = Some((m, mc.mark, g));
                    follow = claim.nat.map(|n| follow_master(mc, &tuple, &n));
                    self.bump(|s| s.expect_new += 1);
                }
            }
            self.expect_gone(&claim.gone);
            if let (Some(reply), Some((m, _, g))) = (follow, related) {
                self.unexpect_translated_mirror(&tuple, &reply, &claim.gone, (m, g));
            }
        }
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1).max(1);
        let conn = Conn {
            orig: tuple,
            expires_ns: now.saturating_add(timeout as u64 * 1_000_000_000),
            proto: state,
            id,
            mark: related.map_or(pkt.ct_mark, |r| r.1),
            status: if related.is_some() {
                status::EXPECTED
            } else {
                0
            },
            slot: Slot::Unconfirmed,
            lock: Default::default(),
            // Connections a helper expected get none themselves (no helper in an
            // expectation yet) but a link to their master; others get the helper
            // assigned to their port.
            ext: match related {
                None => self.helpers.for_tuple(&tuple).map(|(id, name)| {
                    Box::new(ConnExt {
                        helper: Some(name.to_owned()),
                        helper_id: id,
                        ..ConnExt::default()
                    })
                }),
                Some((m, _, g)) => Some(Box::new(ConnExt {
                    master: Some((m, g)),
                    ..ConnExt::default()
                })),
            },
        };
        let mut conn = conn;
        if let Some(reply) = follow {
            // Translated as its master's helper said, before any NAT rule could: both
            // manips are set up.
            conn.bind_nat_reply(reply);
            conn.status |= status::SRC_NAT_DONE | status::DST_NAT_DONE;
        }
        let idx = self.table.alloc(conn, now);
        self.table.account(idx, 0, bytes);
        self.live += 1;
        let Some(c) = self.table.get(idx) else {
            return self.set_invalid(pkt);
        };
        self.pending[self.cur_worker].push((idx, c.id, now));
        let info = if related.is_some() {
            CtInfo::Related
        } else {
            CtInfo::New
        };
        Self::attach(pkt, idx, c, info);
        self.note_master_helper(pkt, related.map(|(m, _, g)| (m, g)));
        InVerdict::Accept
    }

    /// An ICMPv6 redirect, as Linux's `nf_conntrack_icmpv6_redirect`: a well-formed one
    /// (code 0, from a link-local address with hop limit 255) whose first option is the
    /// redirected header is an error about the packet that header quotes; a malformed
    /// one is an error, INVALID; any other is INVALID as a message that cannot start a
    /// connection.
    #[cold]
    fn icmpv6_redirect(&mut self, pkt: &mut PacketView, outer: &Tuple) -> InVerdict {
        let l3 = pkt.l3();
        let (hop_limit, mut src) = (l3.get(7).copied().unwrap_or(0), [0u8; 16]);
        if let Some(s) = l3.get(8..24) {
            src.copy_from_slice(s);
        }
        match icmp::redirect(pkt.l4(), hop_limit, &src) {
            icmp::Redirect::Quote(at) => self.icmp_error(pkt, outer, at),
            icmp::Redirect::Other => self.set_invalid(pkt),
            icmp::Redirect::Error => {
                self.bump(|s| s.icmp_error += 1);
                self.set_invalid(pkt)
            }
        }
    }

    /// A packet whose checksum is wrong: INVALID, counted as an ICMP error too for ICMP,
    /// as Linux's ICMP error handler counts it.
    #[cold]
    fn bad_checksum(&mut self, pkt: &mut PacketView, tuple: &Tuple) -> InVerdict {
        if tuple.is_icmp() {
            self.bump(|s| s.icmp_error += 1);
        }
        self.set_invalid(pkt)
    }

    /// An ICMP error whose quoted packet starts at byte `quote` of its ICMP message:
    /// RELATED to the connection of the packet it quotes, else INVALID.
    fn icmp_error(&mut self, pkt: &mut PacketView, outer: &Tuple, quote: usize) -> InVerdict {
        let fail = |s: &mut Self, pkt: &mut PacketView| {
            s.bump(|s| s.icmp_error += 1);
            s.set_invalid(pkt)
        };
        let quoted = pkt.l4().get(quote..).unwrap_or(&[]);
        let inner = match quoted_tuple(quoted, outer.family, outer.zone) {
            Ok(mut t) => {
                generic_ids(&mut t, self.cfg.dccp_generic);
                t
            }
            Err(_) => return fail(self, pkt),
        };
        // Errors about errors are never related to anything.
        if icmp::tuple_is_error(&inner) {
            return fail(self, pkt);
        }
        let Some(target) = inner.invert() else {
            return fail(self, pkt);
        };
        let now = pkt.ts_ns;
        let Some((idx, dir)) = self.lookup(&target, now) else {
            return fail(self, pkt);
        };
        let Some(c) = self.table.get(idx) else {
            return fail(self, pkt);
        };
        // The error must travel to the host that sent the quoted packet.
        if c.tuple(dir).dst != outer.dst {
            return fail(self, pkt);
        }
        let info = if dir == 1 {
            CtInfo::RelatedReply
        } else {
            CtInfo::Related
        };
        Self::attach(pkt, idx, c, info);
        self.note_master_helper(pkt, c.master_ref());
        InVerdict::Accept
    }

    /// Confirmation: puts the packet's new connection into the table, and carries a
    /// `ct mark` or labels another plugin set on the packet into the connection.
    pub fn confirm(&mut self, pkt: &mut PacketView) -> ConfirmVerdict {
        self.set_worker(pkt.worker);
        let Some((idx, gen)) = unhandle(pkt.ct) else {
            return ConfirmVerdict::Accept;
        };
        let Some(c) = self.table.get_mut(idx).filter(|c| c.id == gen) else {
            return ConfirmVerdict::Accept;
        };
        let mut changed = 0;
        if c.mark != pkt.ct_mark {
            c.mark = pkt.ct_mark;
            changed |= what::MARK;
        }
        let labels = pkt.labels();
        if c.labels() != labels {
            c.ext.get_or_insert_with(Default::default).labels = labels;
            changed |= what::LABEL;
        }
        if c.slot == Slot::Confirmed {
            if changed != 0 {
                self.conn_event(idx, changed);
            }
            return ConfirmVerdict::Accept;
        }
        let proto = c.orig.proto;
        match self.table.insert(idx) {
            Ok(()) => {
                let mut bits = what::NEW | what::PROTOINFO;
                let mut master = None;
                if let Some(c) = self.table.get_mut(idx) {
                    c.status |= status::CONFIRMED;
                    if c.has(status::EXPECTED) {
                        bits |= what::RELATED;
                        master = c.master_ref().map(|m| (m, c.id));
                    }
                }
                // A confirmed child holds a reference on its master, as in Linux.
                if let Some((m, gen)) = master {
                    self.master_refs(m, (idx, gen), true);
                }
                self.bump(|s| s.insert += 1);
                if self.table.confirmed() > self.table.buckets() {
                    self.grow();
                }
                self.clock_ns = self.clock_ns.max(pkt.ts_ns);
                self.conn_event(idx, bits);
                ConfirmVerdict::Accept
            }
            Err(InsertError::Clash(other, d))
                if d == 0
                    && matches!(
                        proto,
                        ipproto::UDP
                            | ipproto::UDPLITE
                            | ipproto::ICMP
                            | ipproto::ICMPV6
                            | ipproto::GRE
                    ) =>
            {
                // Two packets of one new flow raced to confirmation: keep the first entry
                // (the protocols whose Linux trackers set `allow_clash`).
                self.destroy(idx);
                self.bump(|s| s.clash_resolve += 1);
                if let Some(o) = self.table.get(other) {
                    let info = pkt.ctinfo();
                    Self::attach(pkt, other, o, info);
                    self.note_master_helper(pkt, o.master_ref());
                }
                ConfirmVerdict::Accept
            }
            Err(e) => {
                if e == InsertError::ChainTooLong {
                    self.bump(|s| s.chaintoolong += 1);
                }
                self.bump(|s| s.insert_failed += 1);
                self.bump(|s| s.drop += 1);
                self.destroy(idx);
                pkt.ct = 0;
                ConfirmVerdict::DropInsertFailed
            }
        }
    }

    /// Removes every connection (`conntrack -F`); returns how many.
    pub fn flush(&mut self) -> usize {
        let idxs: Vec<u32> = self.table.slots().map(|(i, _)| i).collect();
        let n = idxs.len();
        for i in idxs {
            self.destroy(i);
        }
        n
    }

    /// Removes one connection by slot.
    pub fn remove(&mut self, idx: u32) -> bool {
        let ok = self.table.get(idx).is_some();
        self.destroy(idx);
        ok
    }

    /// Ends what the connection the packet reference `ct` names set up: its pending
    /// expectations and the confirmed connections they created (its RELATED children),
    /// as Linux's PPTP helper does when a call is torn down. Returns how many
    /// connections went. The master keeps its children's slots, so this costs the
    /// number of children, not a walk of the table.
    pub fn end_expected(&mut self, ct: u64) -> usize {
        let Some((idx, gen)) = unhandle(ct) else {
            return 0;
        };
        let gone = self.expects.remove_master(idx, gen);
        self.expect_gone(&gone);
        self.end_children(idx, gen)
    }

    /// Removes connection `ct`'s pending expectations of the classes in `classes` (a
    /// helper's flush: Linux's SIP helper on a BYE); the connections they created stay.
    /// Returns how many went.
    pub fn flush_expected(&mut self, ct: u64, classes: &[u8]) -> usize {
        let Some((idx, gen)) = unhandle(ct) else {
            return 0;
        };
        if classes.is_empty() {
            return 0;
        }
        let gone = self.expects.remove_classes(idx, gen, classes);
        self.expect_gone(&gone);
        gone.len()
    }

    /// Sets connection `ct` to expire `secs` seconds after `now`, as a helper asks
    /// (Linux's `nf_ct_refresh`): a connection with FIXED_TIMEOUT keeps its expiry.
    pub fn refresh(&mut self, ct: u64, now: u64, secs: u32) {
        let Some((idx, c)) = self.conn_of(ct) else {
            return;
        };
        if !c.has(status::FIXED_TIMEOUT) {
            self.set_timeout(idx, now, secs);
        }
    }

    /// Ends the confirmed RELATED children of master `idx`/`gen`; returns how many.
    fn end_children(&mut self, idx: u32, gen: u32) -> usize {
        let children: Vec<(u32, u32)> = self
            .table
            .get(idx)
            .filter(|c| c.id == gen)
            .and_then(|c| c.ext.as_ref())
            .map(|e| e.children.clone())
            .unwrap_or_default();
        let mut ended = 0;
        for (i, g) in children {
            let alive = self.table.get(i).is_some_and(|c| {
                c.id == g && c.slot == Slot::Confirmed && c.master_ref() == Some((idx, gen))
            });
            if alive && self.remove(i) {
                ended += 1;
            }
        }
        ended
    }
}

/// The reply tuple of a connection expected behind NAT (Linux's `nf_nat_follow_master`):
/// its destination goes where the helper said the payload pointed; its source becomes
/// the address the master's far side has in the direction the connection travels in,
/// its port kept. GRE in the master's original direction (PPTP's PNS → PAC) is answered
/// on the master's translated source port instead, the call id the PPTP helper wrote
/// in the PNS's place (Linux's `nf_nat_pptp`), so that callers behind one address stay
/// apart.
fn follow_master(master: &Conn, orig: &Tuple, nat: &crate::expect::FollowNat) -> Tuple {
    let other = if nat.reply {
        master.orig
    } else {
        master.reply()
    };
    let dst_id = if orig.proto == ipproto::GRE && !nat.reply {
        other.dst_id
    } else {
        orig.src_id
    };
    Tuple {
        src: nat.to,
        dst: other.dst,
        src_id: nat.to_port,
        dst_id,
        ..*orig
    }
}
