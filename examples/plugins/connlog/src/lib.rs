//! An example plugin that builds on another: it imports the conntrack plugin's service
//! (`conntrack` 1.0), subscribes to its DESTROY events, and writes one line per
//! connection that ends, with both directions' tuples and counters, in the words of
//! `conntrack -L`:
//!
//! ```text
//! ended id=7 tcp CLOSE src=10.0.0.1 dst=10.0.0.2 sport=40312 dport=21 packets=12 bytes=840 src=10.0.0.2 dst=10.0.0.1 sport=21 dport=40312 packets=10 bytes=1034
//! ```
//!
//! Counters are there when conntrack's `accounting` is on. Build it with
//! `cargo build -p brickwall-example-connlog` and load it beside conntrack (the engine
//! loads conntrack first, whatever the order):
//!
//! ```yaml
//! plugins:
//!   - path: target/debug/libbrickwall_example_connlog.so
//!     config: {output: /var/log/brickwall/ended.log}
//!   - builtin: conntrack
//!     config: {accounting: true}
//! ```
//!
//! It registers no hook: a thread of its own waits for events, as a ctnetlink listener
//! would. Its control entry point answers `stats` with the lines written and the events
//! lost to a full queue.

use brickwall_hooks::services::conntrack::{self as ct, Conntrack, CtConn, CtEvent, CtTuple};
use brickwall_hooks::services::ServiceImport;
use brickwall_hooks::{
    declare_plugin, export_plugin, FailurePolicy, Host, PacketView, Plugin, PluginInfo, Verdict,
};
use brickwall_wire::ip_proto;
use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// The plugin's config section.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    /// The file lines are appended to.
    output: String,
    /// Events queued at most before the newest are lost.
    #[serde(default = "default_queue")]
    queue: u32,
}

fn default_queue() -> u32 {
    65_536
}

/// What the logging thread and the control entry point share.
#[derive(Default)]
struct Shared {
    stop: AtomicBool,
    written: AtomicU64,
}

/// The plugin: the logging thread and what it shares.
pub struct ConnLog {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// The words of one direction, as `conntrack -L` prints them.
fn tuple_words(out: &mut String, t: &CtTuple) {
    let _ = write!(out, "src={} dst={}", t.src_addr(), t.dst_addr());
    match t.proto {
        ip_proto::TCP | ip_proto::UDP | ip_proto::SCTP | ip_proto::UDPLITE | ip_proto::DCCP => {
            let _ = write!(out, " sport={} dport={}", t.src_id, t.dst_id);
        }
        ip_proto::ICMP | ip_proto::ICMPV6 => {
            let _ = write!(
                out,
                " type={} code={} id={}",
                t.dst_id >> 8,
                t.dst_id & 0xff,
                t.src_id
            );
        }
        ip_proto::GRE => {
            let _ = write!(out, " srckey=0x{:x} dstkey=0x{:x}", t.src_id, t.dst_id);
        }
        _ => {}
    }
}

/// The line for a connection that ended.
pub fn line(c: &CtConn) -> String {
    let mut s = format!("ended id={} ", c.id);
    match ip_proto::name(c.orig.proto) {
        Some(n) => s.push_str(n),
        None => {
            let _ = write!(s, "unknown {}", c.orig.proto);
        }
    }
    if let Some(state) = c.state_name() {
        let _ = write!(s, " {state}");
    }
    let counters = c.counters();
    for (dir, t) in [c.orig, c.reply].iter().enumerate() {
        s.push(' ');
        tuple_words(&mut s, t);
        if let Some(k) = counters {
            let _ = write!(s, " packets={} bytes={}", k[dir].packets, k[dir].bytes);
        }
    }
    s
}

/// Waits for events until told to stop, appending a line per DESTROY.
fn run(mut sub: ct::Subscription, mut file: std::fs::File, shared: Arc<Shared>) {
    while !shared.stop.load(Ordering::Relaxed) {
        let Some(CtEvent { kind, conn, .. }) = sub.next(Duration::from_millis(100)) else {
            continue;
        };
        if kind != ct::event::DESTROY {
            continue;
        }
        if writeln!(file, "{}", line(&conn)).is_ok() {
            shared.written.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl Plugin for ConnLog {
    const INFO: PluginInfo = PluginInfo {
        name: "connlog",
        version: env!("CARGO_PKG_VERSION"),
        failure_policy: FailurePolicy::FailOpen,
        hooks: &[],
        drop_reasons: &[],
    };

    const IMPORTS: &'static [ServiceImport] = &[ct::IMPORT];

    fn init(config: &str, host: Host) -> Result<Self, String> {
        let settings: Settings =
            serde_json::from_str(config).map_err(|e| format!("config: {e}"))?;
        let conntrack = Conntrack::import(&host)?;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&settings.output)
            .map_err(|e| format!("output: {}: {e}", settings.output))?;
        let sub = conntrack
            .subscribe(ct::event::DESTROY, settings.queue.max(1))
            .ok_or("conntrack refused the subscription")?;
        let shared = Arc::new(Shared::default());
        let s = shared.clone();
        let thread = std::thread::Builder::new()
            .name("connlog".into())
            .spawn(move || run(sub, file, s))
            .map_err(|e| format!("starting the logging thread: {e}"))?;
        Ok(ConnLog {
            shared,
            thread: Some(thread),
        })
    }

    fn on_packet(&self, _: u32, _: &mut PacketView) -> Verdict {
        Verdict::Accept
    }

    fn control(&self, request: &[u8], response: &mut Vec<u8>) -> Result<(), String> {
        if request.trim_ascii() != b"stats" {
            return Err("unknown request (connlog answers `stats`)".into());
        }
        let v = serde_json::json!({"written": self.shared.written.load(Ordering::Relaxed)});
        response.extend_from_slice(v.to_string().as_bytes());
        Ok(())
    }
}

impl Drop for ConnLog {
    /// Stops the thread before the plugin goes (the engine keeps conntrack, and so the
    /// subscription's table, alive until then).
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

declare_plugin!(ConnLog);
export_plugin!(brickwall_descriptor);
