//! The human-readable summary printed after a replay.

use brickwall_control_protocol::helpers::HelpersResponse;
use brickwall_core::engine::Engine;
use brickwall_core::replay::ReplaySummary;
use brickwall_hooks::Hook;
use std::fmt::Write;

/// `  helpers (connections/expectations): ftp 4/4  ...`: each helper that met a
/// connection, with the expectations it asked for, from the conntrack plugin's
/// `helpers` answer; `None` without conntrack or helpers.
fn helpers_line(engine: &Engine) -> Option<String> {
    let ct = engine.plugin("conntrack")?;
    let answer = ct.control(br#"{"op":"helpers"}"#).ok()?;
    let r: HelpersResponse = serde_json::from_slice(&answer).ok()?;
    let used: Vec<String> = r
        .helpers
        .iter()
        .filter(|h| h.stats.assigned > 0 || h.stats.expectations > 0)
        .map(|h| format!("{} {}/{}", h.name, h.stats.assigned, h.stats.expectations))
        .collect();
    (!used.is_empty()).then(|| format!("  helpers (connections/expectations): {}", used.join("  ")))
}

/// Renders the summary of a replay of `label`.
pub fn render(label: &str, s: &ReplaySummary, engine: &Engine) -> String {
    render_as("replayed", &format!("from {label}"), s, engine)
}

/// Renders a run's summary: `verb` says what was done with the frames, `place` where.
pub fn render_as(verb: &str, place: &str, s: &ReplaySummary, engine: &Engine) -> String {
    let c = &s.counters;
    let secs = s.elapsed.as_secs_f64().max(1e-9);
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{verb} {} frames {place} in {:.1} ms ({:.0} frames/s)",
        s.frames,
        secs * 1e3,
        s.frames as f64 / secs
    );
    if s.truncated {
        let _ = writeln!(o, "  note: the capture ends in a truncated record");
    }
    let _ = writeln!(
        o,
        "  sent on {}  delivered {}  dropped {}  stolen {}  queued {}  re-injected {}  non-IP {}  injected {}",
        c.forwarded, c.delivered, c.dropped, c.stolen, c.queued, c.reinjected, c.non_ip, c.injected
    );
    let _ = writeln!(
        o,
        "  {:<12} {:>9} {:>9} {:>8} {:>7} {:>7} {:>7}",
        "hook", "entered", "accepted", "dropped", "queued", "stolen", "repeat"
    );
    for h in Hook::ALL {
        let k = &c.hooks[h as usize];
        let _ = writeln!(
            o,
            "  {:<12} {:>9} {:>9} {:>8} {:>7} {:>7} {:>7}",
            h.name(),
            k.entered,
            k.accepted,
            k.dropped,
            k.queued,
            k.stolen,
            k.repeated
        );
    }
    if !s.ct_states.is_empty() {
        let states: Vec<String> = ["NEW", "ESTABLISHED", "RELATED", "INVALID", "UNTRACKED"]
            .iter()
            .map(|k| {
                format!(
                    "{} {}",
                    k.to_ascii_lowercase(),
                    s.ct_states.get(k).copied().unwrap_or(0)
                )
            })
            .collect();
        let _ = writeln!(o, "  conntrack: {}", states.join("  "));
    }
    if let Some(line) = helpers_line(engine) {
        let _ = writeln!(o, "{line}");
    }
    let mut drops: Vec<(String, u64)> = c
        .drops_by_reason
        .iter()
        .enumerate()
        .filter(|(_, n)| **n > 0)
        .map(|(id, n)| {
            let name = engine
                .registry()
                .reason_name(id as u32)
                .map(|s| s.to_string())
                .unwrap_or_else(|| format!("reason-{id}"));
            (name, *n)
        })
        .collect();
    drops.extend(c.parse_drops.iter().map(|(k, v)| (k.to_string(), *v)));
    if !drops.is_empty() {
        let _ = writeln!(o, "  drops by reason:");
        for (name, n) in drops {
            let _ = writeln!(o, "    {name:<28} {n}");
        }
    }
    for (plugin, n) in &c.panics {
        let _ = writeln!(o, "  plugin {plugin} panicked {n} times (contained)");
    }
    if s.output_skipped > 0 {
        let _ = writeln!(
            o,
            "  {} accepted packets could not be written to the output",
            s.output_skipped
        );
    }
    o
}
