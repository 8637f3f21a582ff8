//! brickwall's IPFIX plugin: a flow record (RFC 7011, with RFC 5102's information
//! elements, RFC 5103's reverse elements for the reply direction and RFC 8158's NAT
//! fields) for every connection conntrack tracks, sent over UDP to IPFIX collectors
//! such as nfdump's `nfcapd` and pmacct's `nfacctd`.
//!
//! It imports conntrack's service (`conntrack` 1.0; 1.2 for periodic records, the
//! export at stop and the count of lost events) and registers no hook: a thread of its
//! own takes DESTROY events, as a ctnetlink listener would, and walks the table for the
//! active timeout and at stop. Its control entry point answers `stats` and
//! `{"op":"metrics"}` (its counters as metric families, for `/metrics`), and takes a
//! new section in place (`{"op":"reconfigure","config":...}`, as a SIGHUP reload asks):
//! the exporter keeps its sequence and what it reported of live connections, so a
//! reload neither repeats nor loses a record.
//!
//! Files: [`config`] (the section), [`element`] (the information elements),
//! [`template`] (the four templates), [`record`] (a flow record from a connection),
//! [`message`] (messages, sets and sequence numbers), [`transport`] (UDP to the
//! collectors), [`active`] (what earlier records of live connections reported),
//! [`exporter`] (the thread), [`stats`] (the counters).

pub mod active;
pub mod config;
pub mod element;
pub mod exporter;
pub mod message;
pub mod record;
pub mod stats;
pub mod template;
pub mod transport;

use brickwall_hooks::services::conntrack::{self as ct, Conntrack};
use brickwall_hooks::services::ServiceImport;
use brickwall_hooks::{
    declare_plugin, FailurePolicy, Host, PacketView, Plugin, PluginInfo, Verdict,
};
use exporter::{Exporter, Shared};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use transport::Collector;

/// The plugin: the exporting thread and what it shares.
pub struct Ipfix {
    shared: Arc<Shared>,
    /// The event queue's capacity, fixed at start.
    queue: u32,
    thread: Option<JoinHandle<()>>,
}

/// Sockets to `addrs`, reusing (with their counters) those of `old` to the same address.
fn open_collectors(
    addrs: &[SocketAddr],
    old: &[Arc<Collector>],
) -> Result<Vec<Arc<Collector>>, String> {
    addrs
        .iter()
        .map(|a| match old.iter().find(|c| c.addr == *a) {
            Some(c) => Ok(c.clone()),
            None => Collector::open(*a).map(Arc::new),
        })
        .collect()
}

/// A control request beside `stats`.
#[derive(serde::Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case", deny_unknown_fields)]
enum Request {
    /// A new config section.
    Reconfigure { config: serde_json::Value },
    /// The counters as metric families.
    Metrics,
}

impl Plugin for Ipfix {
    const INFO: PluginInfo = PluginInfo {
        name: "ipfix",
        version: env!("CARGO_PKG_VERSION"),
        failure_policy: FailurePolicy::FailOpen,
        hooks: &[],
        drop_reasons: &[],
    };

    const IMPORTS: &'static [ServiceImport] = &[ct::IMPORT];

    fn init(config: &str, host: Host) -> Result<Self, String> {
        let settings = config::parse(config)?;
        let conntrack = Conntrack::import(&host)?;
        if !conntrack.has_walk() && (!settings.active_timeout.is_zero() || settings.flush_on_stop) {
            host.log(
                1,
                "conntrack's service is older than 1.2: no active timeout, no export at stop",
            );
        }
        let collectors = open_collectors(&settings.collectors, &[])?;
        let sub = conntrack
            .subscribe(ct::event::DESTROY, settings.queue)
            .ok_or("conntrack refused the subscription")?;
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            stats: stats::Stats::default(),
            collectors: Mutex::new(collectors),
            reconfig: Mutex::new(None),
        });
        let queue = settings.queue;
        let exporter = Exporter::new(settings, shared.clone(), conntrack);
        let thread = std::thread::Builder::new()
            .name("ipfix".into())
            .spawn(move || exporter.run(sub))
            .map_err(|e| format!("starting the exporting thread: {e}"))?;
        Ok(Ipfix {
            shared,
            queue,
            thread: Some(thread),
        })
    }

    fn on_packet(&self, _: u32, _: &mut PacketView) -> Verdict {
        Verdict::Accept
    }

    fn control(&self, request: &[u8], response: &mut Vec<u8>) -> Result<(), String> {
        if request.trim_ascii() == b"stats" {
            let v = self.shared.stats.json(&self.shared.collectors());
            response.extend_from_slice(v.to_string().as_bytes());
            return Ok(());
        }
        let config = match serde_json::from_slice(request) {
            Ok(Request::Reconfigure { config }) => config,
            Ok(Request::Metrics) => {
                let m = self.shared.stats.metrics(&self.shared.collectors());
                let v = serde_json::to_vec(&m).map_err(|e| format!("response: {e}"))?;
                response.extend_from_slice(&v);
                return Ok(());
            }
            Err(_) => {
                return Err(
                    "unknown request (ipfix answers `stats`, `metrics` and `reconfigure`)".into(),
                )
            }
        };
        let settings = config::parse(&config.to_string())?;
        let collectors = open_collectors(&settings.collectors, &self.shared.collectors())?;
        let needs_restart: Vec<&str> = if settings.queue != self.queue {
            vec!["queue"]
        } else {
            vec![]
        };
        *self
            .shared
            .reconfig
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some((settings, collectors));
        let v = serde_json::json!({"reconfigured": true, "needs_restart": needs_restart});
        response.extend_from_slice(v.to_string().as_bytes());
        Ok(())
    }
}

impl Drop for Ipfix {
    /// Stops the thread, which first exports what is left (the engine keeps conntrack,
    /// and so its table and the subscription, alive until then).
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

declare_plugin!(Ipfix);
