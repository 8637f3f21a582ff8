//! The packet path: PREROUTING, the routing decision, then INPUT, or FORWARD and
//! POSTROUTING; OUTPUT and POSTROUTING for what the local side sends. Each hook runs its
//! chain of callbacks in priority order and applies their verdicts.

mod burst;
pub mod counters;
pub mod fib;
pub mod forward;
pub mod queue;
pub mod route;

use crate::host::HostShared;
use crate::packet::Packet;
use brickwall_hooks::{
    FailurePolicy, Family, Hook, HookRegistry, HookTable, PacketView, RawVerdict,
};
use counters::Counters;
use forward::{IcmpLimiter, Refusal, RouteReasons};
use queue::{QueueHub, QueueRefusal, QueueVerdict, QueuedPacket, ResumePoint};
use route::{Route, Router};
use std::sync::Arc;

pub use burst::Ingress;

/// The engine's own drop reasons, registered first in every registry.
#[derive(Clone, Copy, Debug)]
pub struct EngineReasons {
    /// REPEAT returned more often than the limit within one hook.
    pub repeat_limit: u32,
    /// The queue was full.
    pub queue_full: u32,
    /// Nobody listens on the queue.
    pub queue_no_listener: u32,
    /// The queue's consumer said DROP.
    pub queue_verdict: u32,
    /// The queue's consumer never answered.
    pub queue_timeout: u32,
    /// A fail-closed plugin panicked.
    pub plugin_panic: u32,
    /// A plugin dropped with a reason it never declared.
    pub plugin_undeclared_reason: u32,
    /// A plugin returned a verdict code that does not exist.
    pub plugin_bad_verdict: u32,
}

impl EngineReasons {
    /// The reasons' names, in id order.
    pub const NAMES: [&'static str; 8] = [
        "repeat-limit",
        "queue-full",
        "queue-no-listener",
        "queue-verdict-drop",
        "queue-timeout",
        "plugin-panic",
        "plugin-undeclared-reason",
        "plugin-bad-verdict",
    ];

    /// Declares the engine's reasons in `registry`.
    pub fn register(registry: &HookRegistry) -> EngineReasons {
        let names: Vec<String> = Self::NAMES.iter().map(|s| s.to_string()).collect();
        let b = registry.add_reasons(&names);
        EngineReasons {
            repeat_limit: b,
            queue_full: b + 1,
            queue_no_listener: b + 2,
            queue_verdict: b + 3,
            queue_timeout: b + 4,
            plugin_panic: b + 5,
            plugin_undeclared_reason: b + 6,
            plugin_bad_verdict: b + 7,
        }
    }
}

/// State every worker's pipeline shares.
pub struct Shared {
    /// The registered callbacks.
    pub registry: Arc<HookRegistry>,
    /// The routing decision.
    pub router: Router,
    /// The queues.
    pub queues: Arc<QueueHub>,
    /// The host table plugins call back into.
    pub host: Arc<HostShared>,
    /// Ids of the engine's drop reasons.
    pub reasons: EngineReasons,
    /// Most REPEAT verdicts within one traversal of a hook.
    pub repeat_limit: u32,
    /// Router mode: the forwarding step's drop reasons.
    pub route_reasons: Option<RouteReasons>,
    /// Router mode: the rate of the ICMP errors it sends.
    pub icmp_limiter: IcmpLimiter,
}

impl Shared {
    /// Shared state over a registry (the engine's reasons are declared in it).
    pub fn new(registry: Arc<HookRegistry>, router: Router, repeat_limit: u32) -> Arc<Shared> {
        let reasons = EngineReasons::register(&registry);
        let route_reasons = router.fib().map(|_| RouteReasons::register(&registry));
        let host = HostShared::with_fib(router.fib_arc());
        Arc::new(Shared {
            registry,
            router,
            queues: Arc::new(QueueHub::default()),
            host,
            reasons,
            repeat_limit,
            route_reasons,
            icmp_limiter: IcmpLimiter::default(),
        })
    }
}

/// Why a packet was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropReason {
    /// A registered reason (the registry names it).
    Id(u32),
    /// The packet's headers could not be parsed.
    Parse(&'static str),
}

/// What became of a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Passed POSTROUTING: sent on.
    Forwarded,
    /// Passed INPUT: delivered to the local side.
    Delivered,
    /// Dropped.
    Dropped(DropReason),
    /// Handed to a queue; it comes back through [`Pipeline::resume`].
    Queued,
    /// A callback took it.
    Stolen,
}

enum HookEnd {
    Passed,
    Done(Outcome),
}

/// One worker's pipeline.
pub struct Pipeline {
    shared: Arc<Shared>,
    /// This worker's counters.
    pub counters: Counters,
    /// The worker's number, given to callbacks in the packet view (`worker`).
    worker: u32,
}

impl Pipeline {
    /// A pipeline over shared state.
    pub fn new(shared: Arc<Shared>) -> Pipeline {
        Pipeline {
            shared,
            counters: Counters::default(),
            worker: 0,
        }
    }

    /// The same pipeline as worker number `worker` (per-worker statistics key on it).
    pub fn with_worker(mut self, worker: u32) -> Pipeline {
        self.worker = worker;
        self
    }

    /// The shared state.
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Lets the plugins that ask for it prepare for a batch of packets that will be
    /// processed next, in this order (see `Plugin::prepare_batch`: conntrack hashes
    /// them and prefetches their table entries, so the batch's cache misses overlap).
    /// Nothing for a table that walks bursts: its plugins prepare in their burst calls.
    pub fn prepare<'a>(&self, table: &HookTable, pkts: impl Iterator<Item = &'a mut Packet>) {
        let preparers = table.preparers();
        if preparers.is_empty() || table.walks_bursts() {
            return;
        }
        let views: Vec<*const PacketView> = pkts
            .map(|pkt| {
                pkt.view.worker = self.worker;
                &pkt.view as *const PacketView
            })
            .collect();
        if views.is_empty() {
            return;
        }
        for p in preparers {
            p.call(&views);
        }
    }

    /// Runs a received packet: PREROUTING, the routing decision, and the rest of its path.
    #[inline]
    pub fn process(&mut self, table: &HookTable, pkt: &mut Packet) -> Outcome {
        self.counters.received += 1;
        self.walk(table, pkt, Route::Forward, 0, 0, 0)
    }

    /// Runs a captured packet: one whose source is a local address was sent by the local
    /// side (OUTPUT, POSTROUTING); any other was received (PREROUTING first).
    #[inline]
    pub fn process_captured(&mut self, table: &HookTable, pkt: &mut Packet) -> Outcome {
        self.counters.received += 1;
        let route = if self.shared.router.sent_locally(&pkt.view) {
            Route::LocalOut
        } else {
            Route::Forward
        };
        self.walk(table, pkt, route, 0, 0, 0)
    }

    /// Runs a packet the local side sends: OUTPUT, then POSTROUTING.
    pub fn process_local(&mut self, table: &HookTable, pkt: &mut Packet) -> Outcome {
        self.counters.injected += 1;
        self.walk(table, pkt, Route::LocalOut, 0, 0, 0)
    }

    /// Continues a packet that came back from a queue with the consumer's verdict.
    pub fn resume(
        &mut self,
        table: &HookTable,
        qp: QueuedPacket,
        verdict: QueueVerdict,
    ) -> (Box<Packet>, Outcome) {
        let QueuedPacket {
            mut packet, resume, ..
        } = qp;
        self.counters.reinjected += 1;
        self.counters.queued = self.counters.queued.saturating_sub(1);
        let outcome = match verdict {
            QueueVerdict::Drop => {
                self.drop_with(resume_hook(resume), self.shared.reasons.queue_verdict)
            }
            QueueVerdict::Accept => self.walk(
                table,
                &mut packet,
                resume.route,
                resume.hook_pos,
                resume.next,
                0,
            ),
            QueueVerdict::Repeat => self.walk(
                table,
                &mut packet,
                resume.route,
                resume.hook_pos,
                usize::MAX,
                0,
            ),
        };
        (packet, outcome)
    }

    /// Counts a packet that a queue never gave back as dropped.
    pub fn expire_queued(&mut self) -> Outcome {
        self.counters.queued = self.counters.queued.saturating_sub(1);
        let id = self.shared.reasons.queue_timeout;
        self.counters.drop_reason(id);
        Outcome::Dropped(DropReason::Id(id))
    }

    /// After `hook` passed: the routing decision after PREROUTING and, in router mode,
    /// the forwarding step; the next hop of what the engine sends after OUTPUT. An
    /// error ends the packet's walk: it is dropped, its sender told by an ICMP error
    /// (queued for OUTPUT, as the router's own packet).
    #[inline]
    fn route_after(
        &mut self,
        hook: Hook,
        route: &mut Route,
        pkt: &mut Packet,
    ) -> Result<(), Outcome> {
        let r = match hook {
            Hook::PreRouting => {
                *route = self.shared.router.after_prerouting(&pkt.view);
                match self.shared.router.fib() {
                    Some(fib) if *route == Route::Forward => forward::forward(fib, pkt),
                    _ => Ok(()),
                }
            }
            Hook::LocalOut => match self.shared.router.fib() {
                Some(fib) => forward::route_local(fib, pkt).map(|_| ()),
                None => Ok(()),
            },
            _ => Ok(()),
        };
        r.map_err(|why| self.refuse(hook, why, pkt))
    }

    /// Drops a packet the router would not forward, and queues the ICMP error that
    /// says why (none for the engine's own packets, nor beyond the rate limit).
    #[cold]
    fn refuse(&mut self, hook: Hook, why: Refusal, pkt: &Packet) -> Outcome {
        let shared = self.shared.clone();
        if let (Some(fib), Hook::PreRouting) = (shared.router.fib(), hook) {
            if let Some(e) = forward::icmp_error(fib, why, pkt.datagram(), pkt.view.iif) {
                if shared.icmp_limiter.allow() {
                    shared.host.injector.push(e);
                }
            }
        }
        let id = shared
            .route_reasons
            .map_or(shared.reasons.plugin_bad_verdict, |r| r.of(why));
        self.counters.drop_reason(id);
        Outcome::Dropped(DropReason::Id(id))
    }

    fn drop_with(&mut self, hook: Hook, id: u32) -> Outcome {
        self.counters.hooks[hook as usize].dropped += 1;
        self.counters.drop_reason(id);
        Outcome::Dropped(DropReason::Id(id))
    }

    /// Walks `route` from hook `hook_pos`, callback `start`. `start == usize::MAX` re-enters
    /// the hook from its first callback without counting a new entry. `repeats`: the
    /// REPEAT verdicts the packet already had in that hook.
    fn walk(
        &mut self,
        table: &HookTable,
        pkt: &mut Packet,
        mut route: Route,
        mut hook_pos: usize,
        start: usize,
        mut repeats: u32,
    ) -> Outcome {
        let Some(family) = pkt.view.family() else {
            return self.drop_with(Hook::PreRouting, self.shared.reasons.plugin_bad_verdict);
        };
        pkt.view.worker = self.worker;
        let ctx = pkt as *mut Packet as *mut std::ffi::c_void;
        // SAFETY: the host's API lives as long as the pipeline, and its functions take
        // this packet (which outlives every callback of this walk) as their context.
        unsafe { pkt.view.set_host(self.shared.host.api(), ctx) };
        let mut start = start;
        loop {
            let hooks = route.hooks();
            let Some(&hook) = hooks.get(hook_pos) else {
                break;
            };
            let first = if start == usize::MAX { 0 } else { start };
            if start == 0 {
                pkt.enter(hook);
                self.counters.hooks[hook as usize].entered += 1;
            } else {
                pkt.view.hook = hook as u8;
            }
            match self.run_hook(table, family, hook, pkt, route, hook_pos, first, repeats) {
                HookEnd::Passed => self.counters.hooks[hook as usize].accepted += 1,
                HookEnd::Done(o) => return o,
            }
            repeats = 0;
            if let Err(o) = self.route_after(hook, &mut route, pkt) {
                return o;
            }
            hook_pos += 1;
            start = 0;
        }
        if route == Route::LocalIn {
            self.counters.delivered += 1;
            Outcome::Delivered
        } else {
            self.counters.forwarded += 1;
            Outcome::Forwarded
        }
    }

    #[allow(clippy::too_many_arguments)]
    #[inline]
    fn run_hook(
        &mut self,
        table: &HookTable,
        family: Family,
        hook: Hook,
        pkt: &mut Packet,
        route: Route,
        hook_pos: usize,
        start: usize,
        mut repeats: u32,
    ) -> HookEnd {
        let calls = table.calls(family, hook);
        let mut i = start;
        while let Some(cb) = calls.get(i) {
            let v = cb.call(&mut pkt.view);
            if v.code == RawVerdict::CODE_ACCEPT {
                i += 1;
                continue;
            }
            let at = At {
                family,
                hook,
                route,
                hook_pos,
                callback: i,
            };
            match self.apply(table, at, v, pkt, &mut repeats) {
                Step::Next => i += 1,
                Step::Restart => i = 0,
                Step::Done(o) => return HookEnd::Done(o),
            }
        }
        HookEnd::Passed
    }

    /// Applies a verdict other than a plain ACCEPT that the callback at `at` gave
    /// `pkt`; `repeats` counts the REPEATs of this traversal of the hook.
    fn apply(
        &mut self,
        table: &HookTable,
        at: At,
        v: RawVerdict,
        pkt: &mut Packet,
        repeats: &mut u32,
    ) -> Step {
        let hook = at.hook;
        let entry = &table.chain(at.family, hook)[at.callback];
        match v.code {
            RawVerdict::CODE_ACCEPT => Step::Next,
            RawVerdict::CODE_DROP => {
                let id = entry
                    .reason_id(v.arg)
                    .unwrap_or(self.shared.reasons.plugin_undeclared_reason);
                Step::Done(self.drop_with(hook, id))
            }
            RawVerdict::CODE_STOLEN => {
                self.counters.hooks[hook as usize].stolen += 1;
                self.counters.stolen += 1;
                Step::Done(Outcome::Stolen)
            }
            RawVerdict::CODE_QUEUE => {
                let num = (v.arg & 0xffff) as u16;
                let bypass =
                    v.arg & RawVerdict::QUEUE_BYPASS != 0 || self.shared.queues.bypass(num);
                let shadow = pkt.shadow();
                let qp = QueuedPacket {
                    packet: Box::new(std::mem::replace(pkt, shadow)),
                    queue: num,
                    resume: ResumePoint {
                        route: at.route,
                        hook_pos: at.hook_pos,
                        next: at.callback + 1,
                    },
                };
                match self.shared.queues.enqueue(qp) {
                    Ok(()) => {
                        self.counters.hooks[hook as usize].queued += 1;
                        self.counters.queued += 1;
                        Step::Done(Outcome::Queued)
                    }
                    Err((qp, refusal)) => {
                        *pkt = *qp.packet;
                        let ctx = pkt as *mut Packet as *mut std::ffi::c_void;
                        // SAFETY: as at the walk's start: the packet is back in its
                        // place, which the context names again.
                        unsafe { pkt.view.set_host(self.shared.host.api(), ctx) };
                        if bypass {
                            return Step::Next;
                        }
                        let id = match refusal {
                            QueueRefusal::Full => self.shared.reasons.queue_full,
                            QueueRefusal::NoListener => self.shared.reasons.queue_no_listener,
                        };
                        Step::Done(self.drop_with(hook, id))
                    }
                }
            }
            RawVerdict::CODE_REPEAT => {
                self.counters.hooks[hook as usize].repeated += 1;
                *repeats += 1;
                if *repeats > self.shared.repeat_limit {
                    return Step::Done(self.drop_with(hook, self.shared.reasons.repeat_limit));
                }
                Step::Restart
            }
            RawVerdict::CODE_PANICKED => {
                *self
                    .counters
                    .panics
                    .entry(entry.owner.name.to_string())
                    .or_default() += 1;
                match entry.owner.failure_policy {
                    FailurePolicy::FailOpen => Step::Next,
                    FailurePolicy::FailClosed => {
                        Step::Done(self.drop_with(hook, self.shared.reasons.plugin_panic))
                    }
                }
            }
            _ => Step::Done(self.drop_with(hook, self.shared.reasons.plugin_bad_verdict)),
        }
    }
}

/// Where in the path a callback ran.
#[derive(Clone, Copy, Debug)]
struct At {
    family: Family,
    hook: Hook,
    route: Route,
    /// The hook's position on the route.
    hook_pos: usize,
    /// The callback's position in the hook's chain.
    callback: usize,
}

/// What a verdict does to a packet's walk through a hook.
enum Step {
    /// On to the next callback.
    Next,
    /// The hook again from its first callback (REPEAT).
    Restart,
    /// The walk ends.
    Done(Outcome),
}

fn resume_hook(r: ResumePoint) -> Hook {
    r.route
        .hooks()
        .get(r.hook_pos)
        .copied()
        .unwrap_or(Hook::PreRouting)
}
