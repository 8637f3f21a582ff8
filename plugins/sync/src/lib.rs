//! brickwall's state synchronisation plugin: conntrackd's network protocol, as
//! conntrack-tools 1.4 speaks it, so that brickwall and Linux hosts running conntrackd
//! share their connections' states over a dedicated link.
//!
//! It imports conntrack's service (`conntrack` 1.0; 1.2 to answer a resync) and
//! registers no hook: a thread of its own takes conntrack's NEW, UPDATE and DESTROY
//! events, as conntrackd takes the kernel's, and sends them to the peer in NOTRACK or FTFW
//! mode;
//! another receives the peer's messages into an external cache (conntrackd's). Its
//! control entry point answers the requests of the control protocol's `sync` part:
//! `external` (the cache, as `conntrackd -e` lists it), `stats`, `request-resync`,
//! `send-bulk` and `flush-external` (`brickwall sync -e`, `-s`, `-n`, `-B`, `-f`).
//!
//! Files: [`wire`] (the messages, their header and attributes, as views over bytes that
//! never panic and as builders), [`config`] (the section), [`entry`] (a connection as a
//! sync entry), [`ftfw`] (the reliable mode's state and rules), [`link`] (the sockets), [`sender`] (the sending thread), [`stats`]
//! (its counters), [`receiver`] (the receiving thread and its counters), [`sequence`]
//! (the peer's sequence numbers), [`cache`] (the external cache), [`listing`] (its
//! lines).

pub mod cache;
pub mod config;
pub mod entry;
pub mod ftfw;
pub mod link;
pub mod listing;
pub mod receiver;
pub mod sender;
pub mod sequence;
pub mod stats;
pub mod wire;

use brickwall_control_protocol::sync::{ExternalResponse, SyncRequest};
use brickwall_hooks::services::conntrack::{self as ct, Conntrack};
use brickwall_hooks::services::ServiceImport;
use brickwall_hooks::{
    declare_plugin, FailurePolicy, Host, PacketView, Plugin, PluginInfo, Verdict,
};
use sender::{Sender, Shared};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

/// The plugin: its threads and what they share.
pub struct StateSync {
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
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
        let link = link::Link::open(&settings)?;
        let sub = conntrack
            .subscribe(ct::event::ALL, settings.queue)
            .ok_or("conntrack refused the subscription")?;
        let ftfw = (settings.mode == config::Mode::Ftfw)
            .then(|| ftfw::Ftfw::new(settings.ack_window_size, settings.resend_queue_size));
        let shared = Arc::new(Shared::new(settings.external_cache_max, ftfw));
        let peer = settings.peer();
        let receiver = receiver::Receiver::new(link.receiving()?, peer, shared.clone());
        let sender = Sender::new(link, conntrack, shared.clone());
        let spawn = |name: &str, f: Box<dyn FnOnce() + Send>| {
            std::thread::Builder::new()
                .name(name.into())
                .spawn(f)
                .map_err(|e| format!("starting the {name} thread: {e}"))
        };
        let threads = vec![
            spawn(
                "sync-send",
                Box::new(move || sender.run(sub, settings.startup_resync)),
            )?,
            spawn("sync-recv", Box::new(move || receiver.run()))?,
        ];
        Ok(StateSync { shared, threads })
    }

    fn on_packet(&self, _: u32, _: &mut PacketView) -> Verdict {
        Verdict::Accept
    }

    fn control(&self, request: &[u8], response: &mut Vec<u8>) -> Result<(), String> {
        let sh = &self.shared;
        let v = match SyncRequest::from_slice(request)? {
            SyncRequest::Stats => {
                let mut v = serde_json::json!({
                    "send": sh.stats.json(),
                    "receive": sh.recv.json(),
                });
                if let Some(f) = &sh.ftfw {
                    let f = f.lock().unwrap_or_else(|e| e.into_inner());
                    v["ftfw"] = serde_json::json!({
                        "hello_answered": f.hello_done(),
                        "peer_says_hello": f.peer_says_hello(),
                        "unacknowledged": f.unacknowledged(),
                        "acks_received": f.acks_received,
                        "nacks_received": f.nacks_received,
                        "resent": f.resent,
                        "nacks_sent": f.nacks_sent,
                        "resend_overflow": f.resend_overflow,
                    });
                }
                v
            }
            SyncRequest::External => {
                let cache = sh.cache.lock().unwrap_or_else(|e| e.into_inner());
                let now = Instant::now();
                let mut entries: Vec<String> =
                    cache.entries().map(|e| listing::line(e, now)).collect();
                entries.sort();
                let mut expectations: Vec<String> =
                    cache.expects().map(listing::expect_line).collect();
                expectations.sort();
                let r = ExternalResponse {
                    count: entries.len() as u64,
                    entries,
                    expectations,
                };
                serde_json::to_value(r).map_err(|e| e.to_string())?
            }
            SyncRequest::RequestResync => {
                sh.request_resync.store(true, Ordering::Release);
                serde_json::json!({"requested": true})
            }
            SyncRequest::SendBulk => {
                sh.resync.store(true, Ordering::Release);
                serde_json::json!({"requested": true})
            }
            SyncRequest::FlushExternal => {
                let mut cache = sh.cache.lock().unwrap_or_else(|e| e.into_inner());
                let n = cache.len();
                cache.clear();
                serde_json::json!({"flushed": n})
            }
        };
        response.extend_from_slice(v.to_string().as_bytes());
        Ok(())
    }
}

impl Drop for StateSync {
    /// Stops the threads; the sender first sends what it holds.
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

declare_plugin!(StateSync);
