//! `brickwall helper run`: one helper over a capture, through the helper crate's
//! stand-alone driver; prints what it asked for, packet by packet, and a summary.

use super::{read_component, RunArgs, RUN_FUEL};
use brickwall_core::pcap::{CaptureError, CaptureReader};
use brickwall_core::wire;
use brickwall_helpers::bindings::LogSink;
use brickwall_helpers::policy::PortSpec;
use brickwall_helpers::standalone::{segment, Driver, Note};
use brickwall_helpers::{
    Budget, ExpectRequest, HelperPolicy, HelperSet, HelperStats, SandboxPolicy,
};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

/// The helper's default name: the builtin's name, or the file's stem.
fn default_name(file: &str) -> String {
    if let Some(n) = file.strip_prefix("builtin:") {
        return n.to_owned();
    }
    Path::new(file)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "helper".to_owned())
}

/// The ports of `--ports`, without repeats.
fn distinct_ports(ports: &[String]) -> Vec<String> {
    let mut seen: Vec<PortSpec> = Vec::new();
    let mut out = Vec::new();
    for p in ports {
        if let Ok(spec) = PortSpec::parse(p) {
            if !seen.contains(&spec) {
                seen.push(spec);
                out.push(p.clone());
            }
        }
    }
    out
}

/// Loads the one helper of `helper run`.
fn load(a: &RunArgs, name: &str) -> Result<HelperSet, String> {
    read_component(&a.file)?;
    let mut policy = serde_json::json!({
        "name": name,
        "wasm": a.file,
        "ports": distinct_ports(&a.ports),
    });
    if let Some(m) = a.max_memory {
        policy["max_memory_bytes"] = m.into();
    }
    let policy: HelperPolicy =
        serde_json::from_value(policy).map_err(|e| format!("{}: helper policy: {e}", a.file))?;
    let sandbox = SandboxPolicy {
        budget: Budget::Fuel(RUN_FUEL),
        cache_dir: a.no_cache.then(String::new),
        ..SandboxPolicy::default()
    };
    let log: LogSink = Arc::new(|level, helper, msg| {
        let level = match level {
            0 => "error",
            1 => "warn",
            2 => "info",
            _ => "debug",
        };
        eprintln!("helper {helper} {level}: {msg}");
    });
    HelperSet::new(&sandbox, &[policy], Path::new(""), log).map_err(|e| {
        // The set names the helper as a config would (`helpers[0] (...)`); name the file.
        let prefix = format!("helpers[0] (`{name}`, {}): ", a.file);
        let reason = e.strip_prefix(&prefix).unwrap_or(&e);
        format!("{}: {reason}", a.file)
    })
}

/// An address (`*` when it is a wildcard; IPv6 in brackets).
fn addr(a: &[u8; 16], v6: bool, any: bool) -> String {
    if any {
        "*".into()
    } else if v6 {
        format!("[{}]", std::net::Ipv6Addr::from(*a))
    } else {
        std::net::Ipv4Addr::new(a[0], a[1], a[2], a[3]).to_string()
    }
}

/// An expectation's tuple, as `tcp 172.23.0.2:* -> 172.23.0.3:44671`.
pub fn expect_tuple(e: &ExpectRequest) -> String {
    let t = &e.tuple;
    let sport = if e.any_src_port {
        "*".to_owned()
    } else {
        t.src_port.to_string()
    };
    format!(
        "{} {}:{sport} -> {}:{}",
        wire::ip_proto::Label(t.proto),
        addr(&t.src, t.v6, e.any_src_addr),
        addr(&t.dst, t.v6, false),
        t.dst_port
    )
}

/// An expectation's flags, timeout and class, as `any-src-port, timeout 300s`.
fn expect_flags(e: &ExpectRequest) -> String {
    let mut parts: Vec<String> = Vec::new();
    if e.any_src_addr {
        parts.push("any-src-addr".into());
    }
    if e.any_src_port {
        parts.push("any-src-port".into());
    }
    if e.permanent {
        parts.push("permanent".into());
    }
    parts.push(format!("timeout {}s", e.timeout_s));
    if e.class != 0 {
        parts.push(format!("class {}", e.class));
    }
    parts.join(", ")
}

/// The failure counters as `failures 2 (trap 1, budget exhausted 1)`.
fn failure_summary(s: &HelperStats) -> String {
    let parts: Vec<String> = s
        .failure_counts()
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(k, n)| format!("{k} {n}"))
        .collect();
    if parts.is_empty() {
        format!("failures {}", s.failures())
    } else {
        format!("failures {} ({})", s.failures(), parts.join(", "))
    }
}

/// Writes a line to standard output, naming it in errors.
macro_rules! out {
    ($w:expr, $($arg:tt)*) => {
        writeln!($w, $($arg)*).map_err(|e| format!("standard output: {e}"))
    };
}

/// `brickwall helper run`: the helper over a capture.
pub fn run(a: &RunArgs) -> Result<(), String> {
    let label = a.pcap.display().to_string();
    let mut reader = CaptureReader::open(&a.pcap).map_err(|e| format!("{label}: {e}"))?;
    let name = a.name.clone().unwrap_or_else(|| default_name(&a.file));
    let set = load(a, &name)?;
    let id = set
        .id_by_name(&name)
        .ok_or_else(|| format!("{}: the helper did not load", a.file))?;
    let mut d = Driver::new(set, id, !a.ports.is_empty());
    let stdout = std::io::stdout();
    let mut w = stdout.lock();
    let (mut frames, mut skipped) = (0u64, 0u64);
    let mut truncated = false;
    let mut buf = Vec::new();
    loop {
        let meta = match reader.next_frame(&mut buf) {
            Ok(Some(m)) => m,
            Ok(None) => break,
            Err(CaptureError::Truncated { .. }) => {
                truncated = true;
                break;
            }
            Err(e) => return Err(format!("{label}: frame {frames}: {e}")),
        };
        let n = frames;
        frames += 1;
        let Some(pkt) = segment(meta.link, &buf) else {
            skipped += 1;
            continue;
        };
        for note in d.packet(&pkt) {
            match note {
                Note::AssignFailed { conn, kinds } => out!(
                    w,
                    "packet {n} conn {conn} original: failed (assigned: {})",
                    kinds.join(", ")
                )?,
                Note::Called {
                    conn,
                    reply,
                    outcome,
                    kinds,
                } => {
                    let head = format!(
                        "packet {n} conn {conn} {}",
                        if reply { "reply" } else { "original" }
                    );
                    for e in &outcome.expects {
                        out!(
                            w,
                            "{head}: expect {} ({})",
                            expect_tuple(e),
                            expect_flags(e)
                        )?;
                    }
                    if !outcome.flush_classes.is_empty() {
                        let classes: Vec<String> =
                            outcome.flush_classes.iter().map(u8::to_string).collect();
                        out!(w, "{head}: flush expected classes {}", classes.join(" "))?;
                    }
                    let kinds = kinds.join(", ");
                    if outcome.failed && outcome.drop {
                        out!(w, "{head}: failed ({kinds}), dropped (fail-closed)")?;
                    } else if outcome.failed {
                        out!(w, "{head}: failed ({kinds})")?;
                    } else if outcome.drop {
                        out!(w, "{head}: drop")?;
                    }
                }
            }
        }
    }
    let summary = d.finish();
    if truncated {
        eprintln!("brickwall: note: {label} ends in a truncated record");
    }
    let s = &summary.stats;
    out!(
        w,
        "summary: frames {frames} (not TCP/UDP {skipped}), connections {} (to helper {name} {}), calls {}, expectations {}, drops {}, {}{}",
        summary.connections,
        summary.handed,
        s.calls,
        s.expectations,
        s.drops,
        failure_summary(s),
        if s.disabled { ", helper disabled" } else { "" }
    )?;
    w.flush().map_err(|e| format!("standard output: {e}"))?;
    Ok(())
}
