//! brickwall's connection tracking plugin: Linux's nf_conntrack in userspace.
//!
//! It registers as Linux's does: defragmentation at DEFRAG (-400) and conntrack-in at
//! CONNTRACK (-200) on PREROUTING and OUTPUT, confirmation last on INPUT and
//! POSTROUTING. It writes its verdict on each packet into the packet's metadata
//! (`ctinfo`, the connection reference and id, `ct mark`) for the plugins after it.
//!
//! Files, as Linux's `net/netfilter`: [`core`] (conntrack-in, confirm, timeouts, early
//! drop, ICMP errors), [`table`] and [`hash`] (the hash table of chains), [`tuple`] and
//! [`extract`] (tuples and reading them from packets), [`conn`] (a connection),
//! [`proto`] (one tracker per protocol), [`defrag`], [`stats`], [`list`]
//! (`conntrack -L` lines), [`config`].

pub mod config;
pub mod conn;
pub mod control;
pub mod core;
pub mod defrag;
pub mod events;
pub mod expect;
pub mod extract;
pub mod hash;
pub mod list;
pub mod proto;
pub mod stats;
pub mod table;
pub mod tuple;

use crate::core::{ConfirmVerdict, InVerdict, Tracker};
use brickwall_hooks::{
    declare_plugin, priority, FailurePolicy, FamilySel, Hook, HookSpec, Host, PacketView, Plugin,
    PluginInfo, Verdict,
};
use config::CtConfig;
use defrag::{Defrag, DefragConfig, DefragOutcome};
use std::sync::{Mutex, MutexGuard};

/// Registration ids.
mod op {
    pub const DEFRAG_PRE: u32 = 0;
    pub const DEFRAG_OUT: u32 = 1;
    pub const IN_PRE: u32 = 2;
    pub const IN_OUT: u32 = 3;
    pub const CONFIRM_IN: u32 = 4;
    pub const CONFIRM_POST: u32 = 5;
}

/// Drop reasons, by index.
mod reason {
    pub const TABLE_FULL: u32 = 0;
    pub const INSERT_FAILED: u32 = 1;
    pub const DEFRAG_INVALID: u32 = 2;
}

const HOOKS: [HookSpec; 6] = [
    spec(
        Hook::PreRouting,
        priority::DEFRAG,
        op::DEFRAG_PRE,
        "defrag-prerouting",
    ),
    spec(
        Hook::LocalOut,
        priority::DEFRAG,
        op::DEFRAG_OUT,
        "defrag-output",
    ),
    spec(
        Hook::PreRouting,
        priority::CONNTRACK,
        op::IN_PRE,
        "conntrack-in",
    ),
    spec(
        Hook::LocalOut,
        priority::CONNTRACK,
        op::IN_OUT,
        "conntrack-local",
    ),
    spec(
        Hook::LocalIn,
        priority::CONFIRM,
        op::CONFIRM_IN,
        "confirm-input",
    ),
    spec(
        Hook::PostRouting,
        priority::CONFIRM,
        op::CONFIRM_POST,
        "confirm-postrouting",
    ),
];

const fn spec(hook: Hook, priority: i32, op: u32, name: &'static str) -> HookSpec {
    HookSpec {
        hook,
        family: FamilySel::Inet,
        priority,
        op,
        name,
    }
}

/// The conntrack plugin.
pub struct Conntrack {
    tracker: Mutex<Tracker>,
    defrag: Option<Mutex<Defrag>>,
    host: Host,
}

impl Conntrack {
    /// A plugin from a config (for tests and embedding).
    pub fn with_config(cfg: CtConfig, host: Host) -> Conntrack {
        // Linux bounds chain walks at 50 plus a random 0-29.
        let chain_limit =
            50 + (std::collections::hash_map::RandomState::new().hash_one(0u8) as usize % 30);
        let defrag = cfg
            .defrag
            .then(|| Mutex::new(Defrag::new(DefragConfig::default())));
        Conntrack {
            tracker: Mutex::new(Tracker::new(cfg, chain_limit)),
            defrag,
            host,
        }
    }

    /// The tracker, locked.
    pub fn tracker(&self) -> MutexGuard<'_, Tracker> {
        self.tracker.lock().unwrap_or_else(|e| e.into_inner())
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
        drop_reasons: &["ct-table-full", "ct-insert-failed", "ct-defrag-invalid"],
    };

    fn init(config: &str, host: Host) -> Result<Self, String> {
        Ok(Conntrack::with_config(CtConfig::parse(config)?, host))
    }

    fn on_packet(&self, op: u32, pkt: &mut PacketView) -> Verdict {
        match op {
            op::DEFRAG_PRE | op::DEFRAG_OUT => self.defrag(pkt),
            op::IN_PRE | op::IN_OUT => match self.tracker().conntrack_in(pkt) {
                InVerdict::Accept => Verdict::Accept,
                InVerdict::Repeat => Verdict::Repeat,
                InVerdict::DropTableFull => Verdict::Drop(reason::TABLE_FULL),
            },
            op::CONFIRM_IN | op::CONFIRM_POST => {
                if pkt.ct == 0 {
                    return Verdict::Accept;
                }
                match self.tracker().confirm(pkt) {
                    ConfirmVerdict::Accept => Verdict::Accept,
                    ConfirmVerdict::DropInsertFailed => Verdict::Drop(reason::INSERT_FAILED),
                }
            }
            _ => Verdict::Accept,
        }
    }

    fn control(&self, request: &[u8], response: &mut Vec<u8>) -> Result<(), String> {
        let mut t = self.tracker();
        response.extend_from_slice(&control::handle(&mut t, request)?);
        Ok(())
    }
}

declare_plugin!(Conntrack);
