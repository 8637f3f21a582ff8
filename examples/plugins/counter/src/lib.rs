//! An example out-of-tree brickwall plugin: counts packets and bytes per hook.
//!
//! Build it with `cargo build -p brickwall-example-counter` and load the shared object
//! from a config:
//!
//! ```yaml
//! plugins:
//!   - path: target/debug/libbrickwall_example_counter.so
//!     config: { drop_every: 0 }
//! ```
//!
//! Its control entry point answers `stats` with the counts as JSON. For the engine's
//! tests it can also drop every Nth packet and panic on demand.

use brickwall_hooks::{
    declare_plugin, export_plugin, priority, FailurePolicy, FamilySel, Hook, HookSpec, PacketView,
    Plugin, PluginInfo, Verdict,
};
use std::sync::atomic::{AtomicU64, Ordering};

/// The plugin's config section.
#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Settings {
    /// Drop every Nth packet seen at PREROUTING (0: never).
    #[serde(default)]
    drop_every: u64,
    /// Panic on every Nth packet seen at PREROUTING (0: never).
    #[serde(default)]
    panic_every: u64,
}

/// Packets and bytes per hook.
pub struct Counter {
    settings: Settings,
    packets: [AtomicU64; Hook::COUNT],
    bytes: [AtomicU64; Hook::COUNT],
}

const HOOKS: [HookSpec; 5] = [
    spec(Hook::PreRouting, "count-prerouting"),
    spec(Hook::LocalIn, "count-input"),
    spec(Hook::Forward, "count-forward"),
    spec(Hook::LocalOut, "count-output"),
    spec(Hook::PostRouting, "count-postrouting"),
];

const fn spec(hook: Hook, name: &'static str) -> HookSpec {
    HookSpec {
        hook,
        family: FamilySel::Inet,
        // Just after the filter table, so it counts what the filter let through.
        priority: priority::FILTER + 10,
        op: hook as u32,
        name,
    }
}

impl Plugin for Counter {
    const INFO: PluginInfo = PluginInfo {
        name: "counter",
        version: env!("CARGO_PKG_VERSION"),
        failure_policy: FailurePolicy::FailOpen,
        hooks: &HOOKS,
        drop_reasons: &["counter-drop-every"],
    };

    fn init(config: &str, _host: brickwall_hooks::Host) -> Result<Self, String> {
        let settings: Settings = match config.trim() {
            "" | "null" => Settings::default(),
            text => serde_json::from_str(text).map_err(|e| format!("config: {e}"))?,
        };
        Ok(Counter {
            settings,
            packets: Default::default(),
            bytes: Default::default(),
        })
    }

    fn on_packet(&self, op: u32, pkt: &mut PacketView) -> Verdict {
        let i = (op as usize).min(Hook::COUNT - 1);
        let n = self.packets[i].fetch_add(1, Ordering::Relaxed) + 1;
        self.bytes[i].fetch_add(pkt.l3().len() as u64, Ordering::Relaxed);
        if op == Hook::PreRouting as u32 {
            if self.settings.panic_every > 0 && n.is_multiple_of(self.settings.panic_every) {
                panic!("counter: asked to panic on packet {n}");
            }
            if self.settings.drop_every > 0 && n.is_multiple_of(self.settings.drop_every) {
                return Verdict::Drop(0);
            }
        }
        Verdict::Accept
    }

    fn control(&self, request: &[u8], response: &mut Vec<u8>) -> Result<(), String> {
        match request {
            b"stats" => {
                let per_hook: serde_json::Map<String, serde_json::Value> = Hook::ALL
                    .iter()
                    .map(|h| {
                        let i = *h as usize;
                        (
                            h.name().to_string(),
                            serde_json::json!({
                                "packets": self.packets[i].load(Ordering::Relaxed),
                                "bytes": self.bytes[i].load(Ordering::Relaxed),
                            }),
                        )
                    })
                    .collect();
                serde_json::to_writer(response, &per_hook).map_err(|e| e.to_string())
            }
            other => Err(format!(
                "unknown request {:?}; try `stats`",
                String::from_utf8_lossy(other)
            )),
        }
    }
}

declare_plugin!(Counter);
export_plugin!(brickwall_descriptor);
