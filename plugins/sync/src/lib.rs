//! brickwall's state synchronisation plugin: conntrackd's network protocol, as
//! conntrack-tools 1.4 speaks it, so that brickwall and Linux hosts running conntrackd
//! share their connections' states over a dedicated link.
//!
//! It imports conntrack's service (`conntrack` 1.0) and registers no hook: a thread of
//! its own takes conntrack's NEW, UPDATE and DESTROY events, as conntrackd takes the
//! kernel's, and sends them to the peer in NOTRACK mode. Its control entry point
//! answers `stats`.
//!
//! Files: [`wire`] (the messages, their header and attributes, as views over bytes that
//! never panic and as builders), [`config`] (the section), [`entry`] (a connection as a
//! sync entry), [`link`] (the UDP socket), [`sender`] (the thread), [`stats`] (the
//! counters).

pub mod config;
pub mod entry;
pub mod link;
pub mod sender;
pub mod stats;
pub mod wire;

use brickwall_hooks::services::conntrack::{self as ct, Conntrack};
use brickwall_hooks::services::ServiceImport;
use brickwall_hooks::{
    declare_plugin, FailurePolicy, Host, PacketView, Plugin, PluginInfo, Verdict,
};
use sender::{Sender, Shared};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;

/// The plugin: the sending thread and what it shares.
pub struct StateSync {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Plugin for StateSync {
    const INFO: PluginInfo = PluginInfo {
        name: "sync",
        version: env!("CARGO_PKG_VERSION"),
        failure_policy: FailurePolicy::FailOpen,
        hooks: &[],
        drop_reasons: &[],
    };

    const IMPORTS: &'static [ServiceImport] = &[ct::IMPORT];

    fn init(config: &str, host: Host) -> Result<Self, String> {
        let settings = config::parse(config)?;
        let conntrack = Conntrack::import(&host)?;
        let link = link::Link::open(&settings.udp).map_err(|e| format!("config: udp: {e}"))?;
        let sub = conntrack
            .subscribe(ct::event::ALL, settings.queue)
            .ok_or("conntrack refused the subscription")?;
        let shared = Arc::new(Shared::default());
        let sender = Sender::new(link, shared.clone());
        let thread = std::thread::Builder::new()
            .name("sync".into())
            .spawn(move || {
                // Holding the import keeps the service's table alive for the thread.
                let _conntrack = conntrack;
                sender.run(sub)
            })
            .map_err(|e| format!("starting the sending thread: {e}"))?;
        Ok(StateSync {
            shared,
            thread: Some(thread),
        })
    }

    fn on_packet(&self, _: u32, _: &mut PacketView) -> Verdict {
        Verdict::Accept
    }

    fn control(&self, request: &[u8], response: &mut Vec<u8>) -> Result<(), String> {
        if request.trim_ascii() == b"stats" {
            response.extend_from_slice(self.shared.stats.json().to_string().as_bytes());
            return Ok(());
        }
        Err("unknown request (sync answers `stats`)".into())
    }
}

impl Drop for StateSync {
    /// Stops the thread, which first sends what it holds.
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

declare_plugin!(StateSync);
