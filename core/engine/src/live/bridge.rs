//! The live workers: threads (one or more per port) read frames, walk each IP packet
//! through the engine's pipeline (PREROUTING, FORWARD, POSTROUTING) and send what is
//! accepted on. As a bridge, out of the other ports; frames that are not IP (ARP, ...)
//! pass unhooked, as on a bridge without `br_netfilter` rules for them. As a router
//! ([`super::router`]), out of the port of the packet's route, to its next hop's link
//! address; the router answers ARP and neighbour discovery and ping itself. The
//! conntrack plugin's table is shared, so both directions of a connection meet the
//! same entry whichever port's worker sees them.

use super::datapath::{FrameRx, FrameTx, KernelStats, TxBatch};
use super::iface::Interface;
use super::router::{Routed, Sent, Taken};
use super::Port;
use crate::control::LiveStatus;
use crate::packet::Packet;
use crate::pipeline::counters::Counters;
use crate::pipeline::{Ingress, Outcome, Pipeline, Shared};
use crate::replay::ReplaySummary;
use crate::wire::{LinkType, ParseError};
use brickwall_hooks::{Family, HookTable};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Ethernet header plus one VLAN tag: what a frame may add to the MTU.
const L2_ALLOWANCE: usize = 18;

/// How often workers publish their counters and the main thread merges them.
const PUBLISH_EVERY: Duration = Duration::from_millis(100);

/// How often a router's worker looks at the neighbour table's timers.
const ROUTE_TICK: Duration = Duration::from_millis(200);

/// How a live run is steered.
pub struct BridgeOptions<'a> {
    /// Stop after this long (none: until `stop`).
    pub duration: Option<Duration>,
    /// Set by SIGINT/SIGTERM: drain and stop.
    pub stop: &'static AtomicBool,
    /// Where merged counters and the clock are published for the control socket.
    pub live: Option<Arc<LiveStatus>>,
    /// Called from the main thread every few tens of milliseconds while the workers run
    /// (the CLI reloads its config there on SIGHUP).
    pub tick: Option<&'a mut dyn FnMut()>,
}

/// What one port did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PortReport {
    /// The interface.
    pub name: String,
    /// Its index.
    pub index: u32,
    /// Frames read from it.
    pub rx_frames: u64,
    /// Bytes read from it.
    pub rx_bytes: u64,
    /// Frames sent out of it.
    pub tx_frames: u64,
    /// Bytes sent out of it.
    pub tx_bytes: u64,
    /// Sends the kernel refused (the frame is lost; counted here and logged once).
    pub tx_errors: u64,
    /// Workers reading it.
    pub workers: usize,
    /// Read errors other than timeouts.
    pub rx_errors: u64,
    /// What the kernel counted on the port's socket (drops: its buffer was full).
    pub kernel: KernelStats,
}

/// What a live run did.
#[derive(Debug)]
pub struct BridgeSummary {
    /// The merged pipeline counters, in the replay summary's shape.
    pub run: ReplaySummary,
    /// Per port.
    pub ports: Vec<PortReport>,
}

/// The reasons the live datapath drops for, beside the engine's and the plugins'.
#[derive(Clone, Copy, Debug)]
struct LiveReasons {
    /// The frame is larger than an outgoing port's MTU allows.
    too_big: u32,
    /// A packet without a link header (injected by a plugin) has no way out of a bridge.
    no_link_path: u32,
    /// Router mode: the neighbour never answered.
    neighbour_unreachable: u32,
    /// Router mode: too many packets wait for one neighbour already.
    neighbour_queue_full: u32,
    /// Router mode: a packet for the router itself that it does not answer (it
    /// answers ping only).
    no_local_stack: u32,
    /// Router mode: a frame addressed to another host's link address.
    other_host: u32,
}

impl LiveReasons {
    fn register(shared: &Shared) -> LiveReasons {
        let names = [
            "live-too-big",
            "live-no-link-path",
            "live-neighbour-unreachable",
            "live-neighbour-queue-full",
            "live-no-local-stack",
            "live-other-host",
        ];
        let b = shared.registry.add_reasons(&names.map(String::from));
        LiveReasons {
            too_big: b,
            no_link_path: b + 1,
            neighbour_unreachable: b + 2,
            neighbour_queue_full: b + 3,
            no_local_stack: b + 4,
            other_host: b + 5,
        }
    }
}

/// A port's sending side with the counters every worker adds to.
struct Out {
    iface: Interface,
    /// The host's TAP device (not a bridge port).
    local: bool,
    tx: Box<dyn FrameTx>,
    frames: AtomicU64,
    bytes: AtomicU64,
    errors: AtomicU64,
    /// What the kernel counted on the port's receiving sockets.
    kernel: Mutex<KernelStats>,
}

impl Out {
    fn add_kernel(&self, k: KernelStats) {
        self.kernel.lock().unwrap_or_else(|e| e.into_inner()).add(k);
    }

    fn send(&self, batch: &TxBatch) {
        let s = self.tx.send_batch(batch);
        self.frames.fetch_add(s.frames, Ordering::Relaxed);
        self.bytes.fetch_add(s.bytes, Ordering::Relaxed);
        if s.errors > 0 && self.errors.fetch_add(s.errors, Ordering::Relaxed) == 0 {
            if let Some(e) = s.first_error {
                tracing::warn!("sending on {}: {e} (counted from now on)", self.iface.name);
            }
        }
    }
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// One worker: a receiving socket of a port, its own pipeline, counters and batches.
struct Worker<'a> {
    /// The port it reads.
    me: usize,
    outs: &'a [Out],
    /// Frames waiting to leave, per port.
    batches: Vec<TxBatch>,
    pipeline: Pipeline,
    reasons: LiveReasons,
    /// The batch being gathered: packets with their link headers, reused batch to batch.
    pool: Vec<(Packet, Vec<u8>)>,
    /// How each gathered frame parsed (its length: the batch's).
    parsed: Vec<Result<(), ParseError>>,
    /// The outcomes of the batch's IP packets, reused batch to batch.
    outcomes: Vec<Outcome>,
    /// The link header of the frame being processed, for re-framing a replaced datagram.
    l2: Vec<u8>,
    /// Largest frame the other ports take.
    max_frame: usize,
    /// Router mode's link layer (none: a bridge).
    routed: Option<&'a Routed>,
    /// A routed packet's frame, built here (reused).
    frame: Vec<u8>,
    rx_frames: u64,
    rx_bytes: u64,
    rx_errors: u64,
    ct_states: BTreeMap<&'static str, u64>,
}

impl Worker<'_> {
    /// Takes a received frame into the batch (parsed, not yet processed).
    fn gather(&mut self, frame: &[u8], now: u64) {
        self.rx_frames += 1;
        self.rx_bytes += frame.len() as u64;
        if let Some(r) = self.routed {
            let me = self.me;
            match r.intercept(me, frame, &mut |j, f| self.emit(f, |k, _| k == j)) {
                Taken::Pass => {}
                Taken::Handled => return,
                Taken::OtherHost => {
                    self.pipeline.counters.received += 1;
                    self.pipeline.counters.drop_reason(self.reasons.other_host);
                    return;
                }
            }
        }
        if frame.len() > self.max_frame {
            self.pipeline.counters.received += 1;
            self.pipeline.counters.drop_reason(self.reasons.too_big);
            return;
        }
        let k = self.parsed.len();
        if k == self.pool.len() {
            self.pool.push((Packet::default(), Vec::with_capacity(32)));
        }
        let iif = (!self.outs[self.me].local).then(|| self.outs[self.me].iface.index);
        let oif = self
            .only_other_bridge_port()
            .filter(|_| self.routed.is_none())
            .map(|other| self.outs[other].iface.index);
        let (pkt, l2) = &mut self.pool[k];
        let parsed = pkt.reset(LinkType::Ethernet, frame, now);
        pkt.index = self.rx_frames;
        if let Some(i) = iif {
            pkt.view.iif = i;
        }
        if let Some(o) = oif {
            pkt.view.oif = o;
        }
        l2.clear();
        let l3 = (pkt.view.l3_off as usize).min(frame.len());
        l2.extend_from_slice(&frame[..l3]);
        self.parsed.push(parsed);
    }

    /// Processes the gathered batch, after letting plugins prepare for it: its IP
    /// packets walk the hooks as a burst, then each frame goes on its way, in order.
    fn process_batch(&mut self, table: &HookTable) {
        let n = self.parsed.len();
        self.pipeline.prepare(
            table,
            self.pool[..n]
                .iter_mut()
                .zip(&self.parsed)
                .filter(|(_, r)| r.is_ok())
                .map(|(p, _)| &mut p.0),
        );
        // The host's own packets start at OUTPUT; the wire's at PREROUTING, where the
        // routing decision sends those for a local address to INPUT.
        let ingress = if self.outs[self.me].local {
            Ingress::Local
        } else {
            Ingress::Received
        };
        let mut outcomes = std::mem::take(&mut self.outcomes);
        let mut walking: Vec<&mut Packet> = self.pool[..n]
            .iter_mut()
            .zip(&self.parsed)
            .filter(|(_, r)| r.is_ok())
            .map(|(p, _)| &mut p.0)
            .collect();
        outcomes.clear();
        outcomes.resize(walking.len(), Outcome::Stolen);
        self.pipeline
            .process_burst(table, &mut walking, ingress, &mut outcomes);
        drop(walking);
        let parsed = std::mem::take(&mut self.parsed);
        let mut walked = outcomes.iter();
        for (k, r) in parsed.iter().enumerate() {
            let outcome = match r {
                Ok(()) => walked.next().copied(),
                Err(_) => None,
            };
            // The packet and its link header leave the pool while they go on.
            let (mut pkt, mut l2) = std::mem::take(&mut self.pool[k]);
            std::mem::swap(&mut self.l2, &mut l2);
            self.packet(&mut pkt, r, outcome);
            std::mem::swap(&mut self.l2, &mut l2);
            self.pool[k] = (pkt, l2);
        }
        self.parsed = parsed;
        self.parsed.clear();
        self.outcomes = outcomes;
    }

    /// Sends one gathered packet on its way (its link header in `self.l2`), with the
    /// outcome of its walk if it was an IP packet.
    fn packet(
        &mut self,
        pkt: &mut Packet,
        parsed: &Result<(), ParseError>,
        outcome: Option<Outcome>,
    ) {
        match parsed {
            Ok(()) => {
                let outcome = outcome.unwrap_or(Outcome::Stolen);
                if let Some(s) = pkt.ctinfo().state_name() {
                    *self.ct_states.entry(s).or_default() += 1;
                }
                if matches!(outcome, Outcome::Forwarded | Outcome::Delivered) {
                    self.send_out(pkt, self.me, outcome);
                }
            }
            Err(ParseError::NotIp { .. }) if self.routed.is_some() => {
                // Not IP, not ARP: a router does not pass it on.
                self.pipeline.counters.received += 1;
                self.pipeline.counters.non_ip += 1;
            }
            Err(ParseError::NotIp { .. }) => {
                // ARP and the like: everywhere but where it came from, the host included.
                self.pipeline.counters.received += 1;
                self.pipeline.counters.non_ip += 1;
                let me = self.me;
                let frame = std::mem::take(pkt);
                self.emit(frame.bytes(), |j, _| j != me);
                *pkt = frame;
            }
            Err(e) => {
                self.pipeline.counters.received += 1;
                self.pipeline.counters.dropped += 1;
                *self
                    .pipeline
                    .counters
                    .parse_drops
                    .entry(e.reason())
                    .or_default() += 1;
            }
        }
    }

    /// With exactly two bridge ports, the one that is not this worker's.
    fn only_other_bridge_port(&self) -> Option<usize> {
        let mut others = (0..self.outs.len()).filter(|&j| j != self.me && !self.outs[j].local);
        let first = others.next()?;
        others.next().is_none().then_some(first)
    }

    /// The port a packet came in by (from its input interface index; the host's
    /// packets have none).
    fn port_of(&self, iif: u32) -> usize {
        if iif == 0 {
            return self.outs.iter().position(|o| o.local).unwrap_or(self.me);
        }
        self.outs
            .iter()
            .position(|o| o.iface.index == iif)
            .unwrap_or(self.me)
    }

    /// Sends a packet the pipeline let through: delivered ones to the host's TAP;
    /// forwarded ones out of every bridge port but `from`, and to the host as well when
    /// they are addressed to a group (broadcast, multicast: ARP's and neighbour
    /// discovery's destinations), as a Linux bridge delivers those to itself.
    fn send_out(&mut self, pkt: &Packet, from: usize, outcome: Outcome) {
        if let Some(r) = self.routed {
            self.route_out(r, pkt, outcome);
            return;
        }
        let frame: &[u8] = if pkt.link == LinkType::Ethernet {
            pkt.bytes()
        } else if pkt.link == LinkType::Raw && self.l2.len() >= 14 {
            // A plugin replaced the datagram: put the frame's own link header back on.
            let n = self.l2.len();
            let ethertype: u16 = if pkt.view.family == Family::Ipv6 as u8 {
                0x86dd
            } else {
                0x0800
            };
            self.l2[n - 2..].copy_from_slice(&ethertype.to_be_bytes());
            self.l2.extend_from_slice(pkt.bytes());
            &[]
        } else {
            self.pipeline
                .counters
                .drop_reason(self.reasons.no_link_path);
            return;
        };
        let reframed = frame.is_empty();
        let bytes = if reframed {
            std::mem::take(&mut self.l2)
        } else {
            Vec::new()
        };
        let frame = if reframed { &bytes[..] } else { frame };
        let group = frame.first().is_some_and(|b| b & 1 != 0);
        let outs = self.outs;
        if outcome == Outcome::Delivered {
            if outs.iter().any(|o| o.local) {
                self.emit(frame, |_, o| o.local);
            } else {
                self.pipeline
                    .counters
                    .drop_reason(self.reasons.no_link_path);
            }
        } else {
            let from_local = outs[from].local;
            self.emit(frame, |j, o| {
                j != from && (!o.local || (group && !from_local))
            });
        }
        if reframed {
            self.l2 = bytes;
            self.l2.clear();
        }
    }

    /// Router mode: sends a forwarded packet to its next hop; hands one for the router
    /// to the host's TAP or, without one, answers a ping itself (the answer starts at
    /// OUTPUT as the router's own packet).
    fn route_out(&mut self, r: &Routed, pkt: &Packet, outcome: Outcome) {
        if outcome == Outcome::Delivered {
            if r.deliver(pkt.datagram(), &mut |j, f| self.emit(f, |k, _| k == j)) {
                return;
            }
            match brickwall_wire::icmp::echo_reply(pkt.datagram()) {
                Some(reply) => {
                    self.pipeline.shared().host.injector.push(reply);
                }
                None => self
                    .pipeline
                    .counters
                    .drop_reason(self.reasons.no_local_stack),
            }
            return;
        }
        let Some(nh) = pkt.next_hop else {
            self.pipeline
                .counters
                .drop_reason(self.reasons.no_link_path);
            return;
        };
        let mut scratch = std::mem::take(&mut self.frame);
        let sent = r.send(
            nh,
            pkt.datagram(),
            Instant::now(),
            &mut scratch,
            &mut |j, f| self.emit(f, |k, _| k == j),
        );
        self.frame = scratch;
        let reason = match sent {
            Sent::Out => return,
            Sent::QueueFull => self.reasons.neighbour_queue_full,
            Sent::TooBig => self.reasons.too_big,
            Sent::NoPort => self.reasons.no_link_path,
        };
        self.pipeline.counters.drop_reason(reason);
    }

    /// Router mode's timers: probes sent again, packets whose neighbour never answered
    /// dropped, their senders told.
    fn route_tick(&mut self, r: &Routed) {
        let shared = self.pipeline.shared().clone();
        let lost = r.tick(
            Instant::now(),
            &mut |j, f| self.emit(f, |k, _| k == j),
            &mut |e| {
                if shared.icmp_limiter.allow() {
                    shared.host.injector.push(e);
                }
            },
        );
        for _ in 0..lost {
            self.pipeline
                .counters
                .drop_reason(self.reasons.neighbour_unreachable);
        }
    }

    /// Queues a frame for every port `to` accepts, sending a batch once it is full.
    fn emit(&mut self, frame: &[u8], to: impl Fn(usize, &Out) -> bool) {
        for j in 0..self.outs.len() {
            if to(j, &self.outs[j]) {
                self.batches[j].push(frame);
                if self.batches[j].len() >= TxBatch::MAX {
                    self.flush_one(j);
                }
            }
        }
    }

    fn flush_one(&mut self, j: usize) {
        if !self.batches[j].is_empty() {
            self.outs[j].send(&self.batches[j]);
            self.batches[j].clear();
        }
    }

    fn flush(&mut self) {
        for j in 0..self.outs.len() {
            self.flush_one(j);
        }
    }

    /// Packets back from queues and packets plugins injected.
    fn side_traffic(&mut self, table: &HookTable) {
        while let Some((qp, v)) = self.pipeline.shared().queues.try_returned() {
            let (pkt, outcome) = self.pipeline.resume(table, qp, v);
            if matches!(outcome, Outcome::Forwarded | Outcome::Delivered) {
                self.l2.clear();
                let from = self.port_of(pkt.view.iif);
                self.send_out(&pkt, from, outcome);
            }
        }
        for d in self.pipeline.shared().host.injector.take() {
            if let Ok(mut pkt) = Packet::from_datagram(&d, now_ns()) {
                let outcome = self.pipeline.process_local(table, &mut pkt);
                if let (Some(r), Outcome::Forwarded) = (self.routed, outcome) {
                    self.route_out(r, &pkt, outcome);
                } else if outcome == Outcome::Forwarded {
                    // No neighbour table yet: an injected datagram has no link header.
                    self.pipeline.counters.forwarded =
                        self.pipeline.counters.forwarded.saturating_sub(1);
                    self.pipeline
                        .counters
                        .drop_reason(self.reasons.no_link_path);
                }
            }
        }
        for r in self.pipeline.shared().host.injector.take_replies() {
            let Ok(mut pkt) = Packet::from_datagram(&r.datagram, now_ns()) else {
                continue;
            };
            let outcome = self.pipeline.process_local(table, &mut pkt);
            if !matches!(outcome, Outcome::Forwarded | Outcome::Delivered) {
                continue;
            }
            if let Some(rt) = self.routed {
                self.route_out(rt, &pkt, outcome);
            } else if r.link.len() >= 14 {
                // Back out of the port the answered packet came in on, its link header
                // turned around.
                let back = self.port_of(r.iif);
                let mut frame = r.link;
                frame.extend_from_slice(pkt.datagram());
                self.emit(&frame, |j, _| j == back);
            } else {
                self.pipeline.counters.forwarded =
                    self.pipeline.counters.forwarded.saturating_sub(1);
                self.pipeline
                    .counters
                    .drop_reason(self.reasons.no_link_path);
            }
        }
    }

    fn run(mut self, mut rx: Box<dyn FrameRx>, quit: &AtomicBool, slot: &Mutex<Counters>) -> Self {
        let mut last_publish = Instant::now();
        let mut last_tick = Instant::now();
        while !quit.load(Ordering::Relaxed) {
            let table = self.pipeline.shared().registry.snapshot();
            // One clock reading per batch: the frames of a batch arrived together.
            let now = now_ns();
            let r = rx.recv_batch(&mut |frame| self.gather(frame, now));
            self.process_batch(&table);
            if let Err(e) = r {
                if self.rx_errors == 0 {
                    tracing::error!("reading {}: {e}", self.outs[self.me].iface.name);
                }
                self.rx_errors += 1;
                std::thread::sleep(Duration::from_millis(10));
            }
            if let Some(r) = self.routed.filter(|_| last_tick.elapsed() >= ROUTE_TICK) {
                self.route_tick(r);
                last_tick = Instant::now();
            }
            self.side_traffic(&table);
            self.flush();
            if last_publish.elapsed() >= PUBLISH_EVERY {
                slot.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .clone_from(&self.pipeline.counters);
                self.outs[self.me].add_kernel(rx.kernel_stats());
                last_publish = Instant::now();
            }
        }
        self.outs[self.me].add_kernel(rx.kernel_stats());
        self
    }
}

/// Bridges `ports` through the engine until `opts.stop` is set or `opts.duration` ends.
pub fn run(shared: &Arc<Shared>, ports: Vec<Port>, mut opts: BridgeOptions<'_>) -> BridgeSummary {
    let started = Instant::now();
    let reasons = LiveReasons::register(shared);
    let mut rxs: Vec<(usize, Box<dyn FrameRx>)> = Vec::new();
    let mut outs: Vec<Out> = Vec::new();
    for (i, p) in ports.into_iter().enumerate() {
        rxs.extend(p.rx.into_iter().map(|r| (i, r)));
        outs.push(Out {
            iface: p.iface,
            local: p.local,
            tx: p.tx,
            frames: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            kernel: Mutex::new(KernelStats::default()),
        });
    }
    let routed = shared.router.fib_arc().map(|fib| {
        let ports: Vec<(&Interface, bool)> = outs.iter().map(|o| (&o.iface, o.local)).collect();
        Routed::new(fib, &ports)
    });
    let workers_of: Vec<usize> = (0..outs.len())
        .map(|i| rxs.iter().filter(|(p, _)| *p == i).count())
        .collect();
    let slots: Vec<Mutex<Counters>> = rxs
        .iter()
        .map(|_| Mutex::new(Counters::default()))
        .collect();
    let quit = AtomicBool::new(false);
    let deadline = opts.duration.map(|d| started + d);
    let merged = |slots: &[Mutex<Counters>]| {
        let mut m = Counters::default();
        for s in slots {
            m.merge(&s.lock().unwrap_or_else(|e| e.into_inner()));
        }
        m
    };
    let workers: Vec<Worker<'_>> = std::thread::scope(|scope| {
        let handles: Vec<_> = rxs
            .into_iter()
            .enumerate()
            .map(|(w, (me, rx))| {
                // A router checks each packet against its route's MTU instead.
                let max_frame = outs
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != me && routed.is_none())
                    .map(|(_, o)| o.iface.mtu as usize + L2_ALLOWANCE)
                    .min()
                    .unwrap_or(usize::MAX);
                let worker = Worker {
                    me,
                    outs: &outs,
                    batches: outs.iter().map(|_| TxBatch::default()).collect(),
                    pipeline: Pipeline::new(shared.clone()).with_worker(w as u32),
                    reasons,
                    pool: Vec::new(),
                    parsed: Vec::new(),
                    outcomes: Vec::new(),
                    l2: Vec::with_capacity(32),
                    max_frame,
                    routed: routed.as_ref(),
                    frame: Vec::new(),
                    rx_frames: 0,
                    rx_bytes: 0,
                    rx_errors: 0,
                    ct_states: BTreeMap::new(),
                };
                let (quit, slot) = (&quit, &slots[w]);
                std::thread::Builder::new()
                    .name(format!("bw-{}-{w}", outs[me].iface.name))
                    .spawn_scoped(scope, move || worker.run(rx, quit, slot))
                    .expect("spawning a worker thread")
            })
            .collect();
        loop {
            std::thread::sleep(PUBLISH_EVERY / 2);
            let stop =
                opts.stop.load(Ordering::SeqCst) || deadline.is_some_and(|d| Instant::now() >= d);
            if let Some(live) = &opts.live {
                let m = merged(&slots);
                live.publish(&m, m.received, now_ns());
            }
            if let Some(tick) = opts.tick.as_mut() {
                tick();
            }
            if stop || handles.iter().any(|h| h.is_finished()) {
                break;
            }
        }
        quit.store(true, Ordering::Relaxed);
        handles
            .into_iter()
            .map(|h| h.join().expect("a worker panicked"))
            .collect()
    });
    let mut counters = Counters::default();
    let mut ct_states = BTreeMap::new();
    let mut reports: Vec<PortReport> = outs
        .iter()
        .zip(&workers_of)
        .map(|(o, &n)| PortReport {
            name: o.iface.name.clone(),
            index: o.iface.index,
            tx_frames: o.frames.load(Ordering::Relaxed),
            tx_bytes: o.bytes.load(Ordering::Relaxed),
            tx_errors: o.errors.load(Ordering::Relaxed),
            workers: n,
            kernel: *o.kernel.lock().unwrap_or_else(|e| e.into_inner()),
            ..PortReport::default()
        })
        .collect();
    for w in &workers {
        counters.merge(&w.pipeline.counters);
        for (k, v) in &w.ct_states {
            *ct_states.entry(*k).or_default() += v;
        }
        let r = &mut reports[w.me];
        r.rx_frames += w.rx_frames;
        r.rx_bytes += w.rx_bytes;
        r.rx_errors += w.rx_errors;
    }
    let frames = reports.iter().map(|r| r.rx_frames).sum();
    let now = now_ns();
    if let Some(live) = &opts.live {
        live.finish(&counters, frames, now);
    }
    BridgeSummary {
        run: ReplaySummary {
            frames,
            counters,
            elapsed: started.elapsed(),
            output_skipped: 0,
            truncated: false,
            last_ts_ns: now,
            ct_states,
            interrupted: opts.stop.load(Ordering::SeqCst),
        },
        ports: reports,
    }
}
