//! Bursts: a batch of packets walks the hooks together, each callback deciding the
//! packets at its place in one call (`Callback::call_burst`), so that a plugin pays its
//! fixed costs (a lock, a cache warm-up) once per burst instead of once per packet.
//!
//! Each packet's verdicts and path are those it would have had one at a time, in
//! arrival order. The walk keeps that in three ways:
//! - a burst walks together only through tables whose every callback decides bursts
//!   (`HookTable::walks_bursts`); any other table runs the packets one at a time;
//! - only consecutive packets at the same hook of the same family go on together: where
//!   arrival order mixes routes or families, the packets go on in runs, each run to the
//!   end of its walk before the next;
//! - a callback that decides fewer packets than it was handed (it cut the burst, as
//!   conntrack does before a second packet of a connection) sees the rest again only
//!   after the packets it decided have finished their whole walk.

use super::route::Route;
use super::{At, Outcome, Pipeline, Step};
use crate::packet::Packet;
use brickwall_hooks::abi::MAX_BURST;
use brickwall_hooks::{Family, Hook, HookTable, PacketView, RawVerdict};

/// Where the packets of a burst enter the path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ingress {
    /// Received from a wire: PREROUTING first ([`Pipeline::process`]).
    Received,
    /// Read from a capture: the local side's own at OUTPUT, others at PREROUTING
    /// ([`Pipeline::process_captured`]).
    Captured,
    /// Sent by the local side: OUTPUT first ([`Pipeline::process_local`]).
    Local,
}

/// Some of a burst's packets, by position, in arrival order.
#[derive(Clone, Copy)]
struct Ids {
    at: [u8; MAX_BURST],
    n: usize,
}

impl Ids {
    const EMPTY: Ids = Ids {
        at: [0; MAX_BURST],
        n: 0,
    };

    fn push(&mut self, i: usize) {
        self.at[self.n] = i as u8;
        self.n += 1;
    }

    fn as_slice(&self) -> &[u8] {
        &self.at[..self.n]
    }

    fn is_empty(&self) -> bool {
        self.n == 0
    }
}

/// A packet's place in its walk.
#[derive(Clone, Copy)]
struct Lane {
    family: Family,
    route: Route,
    /// Position of its current hook on the route.
    hook_pos: u8,
    /// REPEAT verdicts within the current hook.
    repeats: u32,
}

impl Lane {
    /// A lane before its packet is looked at.
    const UNSET: Lane = Lane {
        family: Family::Ipv4,
        route: Route::Forward,
        hook_pos: 0,
        repeats: 0,
    };

    fn hook(&self) -> Option<Hook> {
        self.route.hooks().get(self.hook_pos as usize).copied()
    }
}

/// A burst on its walk: its packets, their places and their outcomes, and the
/// buffers of the callback being called (rebuilt for each call that needs them, so
/// nested walks may share them).
struct Walk<'w, 'p> {
    table: &'w HookTable,
    pkts: &'w mut [&'p mut Packet],
    lanes: [Lane; MAX_BURST],
    outcomes: &'w mut [Outcome],
    views: [*mut PacketView; MAX_BURST],
    verdicts: [RawVerdict; MAX_BURST],
}

impl Pipeline {
    /// Runs a burst of packets, writing each one's outcome to `outcomes` (as long as
    /// `pkts`). Bursts longer than [`MAX_BURST`] go in pieces. Where the table does not
    /// walk bursts, each packet in turn, exactly as the one-packet entry points do.
    pub fn process_burst(
        &mut self,
        table: &HookTable,
        pkts: &mut [&mut Packet],
        ingress: Ingress,
        outcomes: &mut [Outcome],
    ) {
        let n = pkts.len().min(outcomes.len());
        if !table.walks_bursts() {
            for (pkt, out) in pkts[..n].iter_mut().zip(outcomes.iter_mut()) {
                *out = match ingress {
                    Ingress::Received => self.process(table, pkt),
                    Ingress::Captured => self.process_captured(table, pkt),
                    Ingress::Local => self.process_local(table, pkt),
                };
            }
            return;
        }
        for (pkts, outcomes) in pkts[..n]
            .chunks_mut(MAX_BURST)
            .zip(outcomes.chunks_mut(MAX_BURST))
        {
            let mut walk = Walk {
                table,
                pkts,
                lanes: [Lane::UNSET; MAX_BURST],
                outcomes,
                views: [std::ptr::null_mut(); MAX_BURST],
                verdicts: [RawVerdict::ACCEPT; MAX_BURST],
            };
            self.burst(&mut walk, ingress);
        }
    }

    /// One burst of at most [`MAX_BURST`] packets.
    fn burst(&mut self, w: &mut Walk, ingress: Ingress) {
        let mut all = Ids::EMPTY;
        for i in 0..w.pkts.len() {
            if ingress == Ingress::Local {
                self.counters.injected += 1;
            } else {
                self.counters.received += 1;
            }
            let pkt = &mut *w.pkts[i];
            let Some(family) = pkt.view.family() else {
                w.outcomes[i] =
                    self.drop_with(Hook::PreRouting, self.shared.reasons.plugin_bad_verdict);
                continue;
            };
            let route = match ingress {
                Ingress::Local => Route::LocalOut,
                Ingress::Captured if self.shared.router.sent_locally(&pkt.view) => Route::LocalOut,
                Ingress::Received | Ingress::Captured => Route::Forward,
            };
            pkt.view.worker = self.worker;
            let ctx = pkt as *mut Packet as *mut std::ffi::c_void;
            // SAFETY: the host's API lives as long as the pipeline, and its functions
            // take this packet, which stays in place until the burst is over, as their
            // context.
            unsafe { pkt.view.set_host(self.shared.host.api(), ctx) };
            w.lanes[i].family = family;
            w.lanes[i].route = route;
            all.push(i);
        }
        self.enter_runs(w, all);
    }

    /// Takes the packets `ids` into their current hooks (or to the end of their walk),
    /// run by run: consecutive packets at the same hook of the same family go on
    /// together, each run to the end of its walk before the next.
    fn enter_runs(&mut self, w: &mut Walk, ids: Ids) {
        if ids.is_empty() {
            return;
        }
        let key = |l: &Lane| (l.family, l.hook());
        let first = key(&w.lanes[ids.at[0] as usize]);
        if ids
            .as_slice()
            .iter()
            .all(|&i| key(&w.lanes[i as usize]) == first)
        {
            self.enter(w, ids);
            return;
        }
        let mut run = Ids::EMPTY;
        let mut at = first;
        for &i in ids.as_slice() {
            let k = key(&w.lanes[i as usize]);
            if k != at {
                self.enter(w, run);
                run = Ids::EMPTY;
                at = k;
            }
            run.push(i as usize);
        }
        self.enter(w, run);
    }

    /// A run of packets at one hook of one family enters it, or, past the route's last
    /// hook, ends its walk.
    fn enter(&mut self, w: &mut Walk, run: Ids) {
        let first = w.lanes[run.at[0] as usize];
        let Some(hook) = first.hook() else {
            for &i in run.as_slice() {
                w.outcomes[i as usize] = if w.lanes[i as usize].route == Route::LocalIn {
                    self.counters.delivered += 1;
                    Outcome::Delivered
                } else {
                    self.counters.forwarded += 1;
                    Outcome::Forwarded
                };
            }
            return;
        };
        for &i in run.as_slice() {
            w.pkts[i as usize].enter(hook);
            w.lanes[i as usize].repeats = 0;
        }
        self.counters.hooks[hook as usize].entered += run.n as u64;
        self.run_hook_burst(w, run, first.family, hook, 0);
    }

    /// Walks the packets `ids`, all at `hook` of `family`, from its callback `cb` to
    /// the end of their walk.
    fn run_hook_burst(
        &mut self,
        w: &mut Walk,
        mut ids: Ids,
        family: Family,
        hook: Hook,
        mut cb: usize,
    ) {
        let calls = w.table.calls(family, hook);
        // Whether `w.views` holds the views of `ids` (a nested walk overwrites them).
        let mut viewed = false;
        while !ids.is_empty() {
            let Some(call) = calls.get(cb) else {
                self.pass_hook(w, ids, hook);
                return;
            };
            if !viewed {
                let base = w.pkts.as_mut_ptr();
                for (v, &i) in w.views.iter_mut().zip(ids.as_slice()) {
                    // SAFETY: `i` is in bounds and the ids are distinct, so every view
                    // is a different packet's.
                    *v = unsafe { &mut (*base.add(i as usize)).view as *mut PacketView };
                }
                viewed = true;
            }
            // SAFETY: the first `ids.n` pointers are valid and distinct (above), and
            // nothing else touches the packets during the call; `*mut PacketView` has
            // the layout of `&mut PacketView`.
            let k = call.call_burst(
                unsafe {
                    std::slice::from_raw_parts_mut(
                        w.views.as_mut_ptr() as *mut &mut PacketView,
                        ids.n,
                    )
                },
                &mut w.verdicts[..ids.n],
            );
            if k == ids.n
                && w.verdicts[..k]
                    .iter()
                    .all(|v| v.code == RawVerdict::CODE_ACCEPT)
            {
                cb += 1;
                continue;
            }
            let mut pass = Ids::EMPTY;
            let mut again = Ids::EMPTY;
            for j in 0..k {
                let (i, v) = (ids.at[j] as usize, w.verdicts[j]);
                if v.code == RawVerdict::CODE_ACCEPT {
                    pass.push(i);
                    continue;
                }
                let lane = w.lanes[i];
                let at = At {
                    family,
                    hook,
                    route: lane.route,
                    hook_pos: lane.hook_pos as usize,
                    callback: cb,
                };
                let mut repeats = lane.repeats;
                let step = self.apply(w.table, at, v, w.pkts[i], &mut repeats);
                w.lanes[i].repeats = repeats;
                match step {
                    Step::Next => pass.push(i),
                    Step::Restart => again.push(i),
                    Step::Done(o) => w.outcomes[i] = o,
                }
            }
            let mut rest = Ids::EMPTY;
            for &i in &ids.as_slice()[k..] {
                rest.push(i as usize);
            }
            viewed = false;
            if rest.is_empty() && again.is_empty() {
                ids = pass;
                cb += 1;
                continue;
            }
            // The decided packets finish first: those passed on, then those that
            // start the hook again; the rest meet this callback after them. A lone
            // packet finishes on the one-packet walk (a burst cut after every packet,
            // as one connection's packets are, costs little more than one at a time).
            // `None`: the hook again from its first callback.
            for (part, next) in [(pass, Some(cb + 1)), (again, None)] {
                match part.n {
                    0 => {}
                    1 => {
                        let i = part.at[0] as usize;
                        let lane = w.lanes[i];
                        w.outcomes[i] = self.walk(
                            w.table,
                            w.pkts[i],
                            lane.route,
                            lane.hook_pos as usize,
                            next.unwrap_or(usize::MAX),
                            lane.repeats,
                        );
                    }
                    _ => self.run_hook_burst(w, part, family, hook, next.unwrap_or(0)),
                }
            }
            ids = rest;
        }
    }

    /// The packets `ids` passed every callback of `hook`: each goes on to its next hook.
    fn pass_hook(&mut self, w: &mut Walk, ids: Ids, hook: Hook) {
        self.counters.hooks[hook as usize].accepted += ids.n as u64;
        let mut going = Ids::EMPTY;
        for &i in ids.as_slice() {
            let i = i as usize;
            let mut route = w.lanes[i].route;
            match self.route_after(hook, &mut route, w.pkts[i]) {
                Ok(()) => {
                    w.lanes[i].route = route;
                    w.lanes[i].hook_pos += 1;
                    going.push(i);
                }
                Err(o) => w.outcomes[i] = o,
            }
        }
        self.enter_runs(w, going);
    }
}
