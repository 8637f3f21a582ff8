//! Compiled chains and rules, their counters, and the per-packet walk: rules in order,
//! non-terminal effects applied as they match, the first terminal verdict wins, else
//! the chain's policy.

use brickwall_hooks::{Host, PacketView, Verdict};
use brickwall_rules::config::HookName;
use brickwall_rules::matcher::{Facts, Matcher};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::action::{now_of, Effect, Terminal, REASON_POLICY_DROP};
use crate::config::{ChainType, PolicyName};
use crate::limit::{Limit, Quota};

/// Packets and bytes (IP datagram length) counted together.
#[derive(Debug, Default)]
pub struct Counter {
    /// Packets.
    pub packets: AtomicU64,
    /// Bytes of the IP datagrams.
    pub bytes: AtomicU64,
}

impl Counter {
    /// Counts one packet of `bytes` bytes.
    #[inline]
    pub fn add(&self, bytes: u64) {
        self.packets.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// `(packets, bytes)`.
    pub fn get(&self) -> (u64, u64) {
        (
            self.packets.load(Ordering::Relaxed),
            self.bytes.load(Ordering::Relaxed),
        )
    }

    /// Zeroes both.
    pub fn reset(&self) {
        self.packets.store(0, Ordering::Relaxed);
        self.bytes.store(0, Ordering::Relaxed);
    }
}

/// A compiled rule.
#[derive(Debug)]
pub struct Rule {
    /// The conditions.
    pub matcher: Matcher,
    /// Non-terminal actions, in order.
    pub effects: Box<[Effect]>,
    /// The terminal action, if any.
    pub terminal: Option<Terminal>,
    /// Packets and bytes that matched.
    pub counter: Counter,
    /// The nftables-like text form.
    pub text: String,
    /// The rule's comment.
    pub comment: Option<String>,
    /// Its `limit`, checked after the matches.
    pub limit: Option<Limit>,
    /// Its `quota`, checked after the matches and the limit.
    pub quota: Option<Quota>,
}

/// Most chains deep a packet may be sent by `jump` (nft's limit); deeper is refused
/// when the rules load.
pub const MAX_DEPTH: usize = 16;

/// A compiled chain: a base chain on a hook, or a regular chain rules jump to.
#[derive(Debug)]
pub struct Chain {
    /// Name for listings.
    pub name: String,
    /// The hook; `None` for a regular chain.
    pub hook: Option<HookName>,
    /// The type.
    pub kind: ChainType,
    /// The policy.
    pub policy: PolicyName,
    /// The rules.
    pub rules: Box<[Rule]>,
    /// Packets and bytes the policy decided.
    pub policy_counter: Counter,
    /// Where the chain was defined: `config` or the rules file's name.
    pub source: String,
}

impl Chain {
    /// Runs the base chain over a packet; `regular` are the chains its rules may jump to.
    #[inline]
    pub fn eval(&self, regular: &[Chain], pkt: &mut PacketView, host: &Host) -> Verdict {
        let facts = Facts::of(pkt);
        let bytes = pkt.l3().len() as u64;
        if let Some(v) = self.walk(regular, pkt, host, &facts, bytes, 0) {
            return v;
        }
        self.policy_counter.add(bytes);
        match self.policy {
            PolicyName::Accept => Verdict::Accept,
            PolicyName::Drop => Verdict::Drop(REASON_POLICY_DROP),
        }
    }

    /// The rules in order: a verdict, or `None` when the chain ends undecided (its
    /// end, or `return`). `depth` chains called this one.
    fn walk(
        &self,
        regular: &[Chain],
        pkt: &mut PacketView,
        host: &Host,
        facts: &Facts,
        bytes: u64,
        depth: usize,
    ) -> Option<Verdict> {
        for rule in self.rules.iter() {
            if !rule.matcher.matches(facts, pkt) {
                continue;
            }
            if let Some(l) = &rule.limit {
                if !l.pass(now_of(pkt)) {
                    continue;
                }
            }
            if let Some(q) = &rule.quota {
                if !q.pass(bytes) {
                    continue;
                }
            }
            rule.counter.add(bytes);
            for effect in rule.effects.iter() {
                effect.apply(pkt, facts, host);
            }
            let Some(t) = rule.terminal else {
                continue;
            };
            // Loops and depths beyond MAX_DEPTH are refused at load; the depth check
            // keeps a bad table from recursing without end all the same.
            let mut call = |n: u32| {
                regular
                    .get(n as usize)
                    .filter(|_| depth < MAX_DEPTH)
                    .and_then(|c| c.walk(regular, pkt, host, facts, bytes, depth + 1))
            };
            match t {
                Terminal::Jump(n) => {
                    if let Some(v) = call(n) {
                        return Some(v);
                    }
                }
                Terminal::Goto(n) => return call(n),
                Terminal::Return => return None,
                Terminal::Reject(with) => {
                    crate::reject::send(with, pkt);
                    return t.verdict();
                }
                decided => return decided.verdict(),
            }
        }
        None
    }

    /// Zeroes every counter of the chain and its rules (and log suppression counts).
    pub fn reset(&self) {
        self.policy_counter.reset();
        for rule in self.rules.iter() {
            rule.counter.reset();
            if let Some(l) = &rule.limit {
                l.reset();
            }
            if let Some(q) = &rule.quota {
                q.reset();
            }
            for effect in rule.effects.iter() {
                if let Effect::Log(log) = effect {
                    log.reset();
                }
            }
        }
    }
}
