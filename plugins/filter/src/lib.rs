//! brickwall's stateful filter plugin: ordered rules per hook, in nftables' vocabulary,
//! on conntrack state and marks, family, protocol, addresses, ports, interfaces (by
//! index or by name), ICMP types and codes, TCP flags, TTL, DSCP, length and packet
//! type, with per-rule limits and quotas; verdicts accept, drop, queue, reject, jump,
//! goto and return to regular chains; effects mark_set, ct_mark_set, ct_helper_set,
//! ct_label_set, notrack and a rate-limited log. The rules come from YAML or from a
//! ruleset in nftables' own syntax ([`nft`]).
//!
//! It registers seven callbacks, all for both families: `raw-prerouting` and
//! `raw-output` at the raw priority (-300, before conntrack: where `notrack` is decided),
//! and `filter-prerouting`, `filter-input`, `filter-forward`, `filter-output`,
//! `filter-postrouting` at the filter priority (0). A hook with no configured chain
//! accepts at once.
//!
//! Its config section:
//!
//! ```yaml
//! config:
//!   rules_file: fw-rules.yaml   # optional, more `chains:` (relative to the working directory)
//!   ruleset: fw.nft             # optional, chains in nftables' syntax
//!   chains:
//!     - hook: forward           # prerouting | input | forward | output | postrouting
//!       type: filter            # filter (default) | raw (prerouting and output only)
//!       policy: drop            # accept (default) | drop
//!       rules:
//!         - match: {ct_state: [established, related]}
//!           action: accept
//!         - match: {proto: tcp, dport: [22, "8000-8100"], saddr: "!192.168.0.0/16"}
//!           action: [{log: {prefix: "ssh: "}}, accept]
//! ```
//!
//! A packet no conntrack has seen (`CtInfo::None`: conntrack not loaded, or a raw
//! chain) matches no `ct_state` at all, not even `invalid` or `untracked`.
//!
//! The control entry point answers `list` (chains, rules, text forms, counters, as JSON)
//! and `reset` (zeroes the counters).

#![warn(missing_docs)]

pub mod action;
pub mod chain;
pub mod compile;
pub mod config;
pub mod control;
pub mod limit;
pub mod load;
pub mod nft;
pub mod reject;
pub mod text;

use brickwall_control_protocol::filter::{FilterRequest, ResetResponse};
use brickwall_hooks::{
    priority, FailurePolicy, Hook, HookSpec, Host, PacketView, Plugin, PluginInfo, Verdict,
};

use crate::load::Loaded;

/// The plugin's registrations; a registration's `op` is its index here, which is also
/// the slot of its chain (see [`compile::slot`]).
pub const HOOKS: [HookSpec; compile::SLOTS] = [
    HookSpec::inet(Hook::PreRouting, priority::RAW, 0, "raw-prerouting"),
    HookSpec::inet(Hook::LocalOut, priority::RAW, 1, "raw-output"),
    HookSpec::inet(Hook::PreRouting, priority::FILTER, 2, "filter-prerouting"),
    HookSpec::inet(Hook::LocalIn, priority::FILTER, 3, "filter-input"),
    HookSpec::inet(Hook::Forward, priority::FILTER, 4, "filter-forward"),
    HookSpec::inet(Hook::LocalOut, priority::FILTER, 5, "filter-output"),
    HookSpec::inet(Hook::PostRouting, priority::FILTER, 6, "filter-postrouting"),
];

/// The drop reasons: index [`action::REASON_RULE_DROP`] for a rule's `drop`, index
/// [`action::REASON_POLICY_DROP`] for a chain's `drop` policy, index
/// [`action::REASON_REJECT`] for a rule's `reject`.
pub const DROP_REASONS: [&str; 3] = ["filter-rule-drop", "filter-policy-drop", "filter-reject"];

/// The filter plugin: compiled base chains by registration, and regular chains.
pub struct Filter {
    chains: Loaded,
    host: Host,
}

impl Filter {
    /// The base chains in registration order, then the regular chains.
    pub fn chains(&self) -> impl Iterator<Item = &chain::Chain> {
        self.chains
            .slots
            .iter()
            .flatten()
            .chain(&self.chains.regular)
    }
}

impl Plugin for Filter {
    const INFO: PluginInfo = PluginInfo {
        name: "filter",
        version: env!("CARGO_PKG_VERSION"),
        // A firewall that fails lets nothing through it did not mean to.
        failure_policy: FailurePolicy::FailClosed,
        hooks: &HOOKS,
        drop_reasons: &DROP_REASONS,
    };

    /// A rule's verdict depends only on its packet and on what the packets before it
    /// left (a `limit`'s tokens, a `quota`'s bytes); a burst is decided packet by
    /// packet in arrival order, uncut, so each packet meets exactly that.
    const BURSTS: bool = true;

    fn init(config: &str, host: Host) -> Result<Self, String> {
        Ok(Filter {
            chains: load::load(config)?,
            host,
        })
    }

    #[inline]
    fn on_packet(&self, op: u32, pkt: &mut PacketView) -> Verdict {
        match self.chains.slots.get(op as usize) {
            Some(Some(chain)) => chain.eval(&self.chains.regular, pkt, &self.host),
            _ => Verdict::Accept,
        }
    }

    fn control(&self, request: &[u8], response: &mut Vec<u8>) -> Result<(), String> {
        let answer = match FilterRequest::from_slice(request)? {
            FilterRequest::List => serde_json::to_vec(&control::list(self.chains())),
            FilterRequest::Reset => {
                let mut n = 0;
                for c in self.chains() {
                    c.reset();
                    n += 1;
                }
                serde_json::to_vec(&ResetResponse { reset: n })
            }
        };
        response.extend_from_slice(&answer.map_err(|e| format!("response: {e}"))?);
        Ok(())
    }
}

brickwall_hooks::declare_plugin!(Filter);
