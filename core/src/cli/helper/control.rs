//! `brickwall helper list` and `brickwall helper reload`: a running engine's helpers,
//! over its control socket (the conntrack plugin's `helpers` and `helper-reload`).

use brickwall_control_protocol::conntrack::request::{HelperReload, Nothing, Request};
use brickwall_control_protocol::conntrack::response::HelperReloaded;
use brickwall_control_protocol::conntrack::TARGET;
use brickwall_control_protocol::helpers::HelpersResponse;
use brickwall_tui::client::{decode, Client};
use std::path::Path;

/// Sends `request` to the conntrack plugin behind `socket`.
fn call(socket: &Path, request: &Request) -> Result<serde_json::Value, String> {
    let mut c = Client::connect(socket).map_err(|e| e.to_string())?;
    c.call(TARGET, &request.to_value())
        .map_err(|e| e.to_string())
}

/// Prints each helper with its component, ports and counters, one line each.
pub fn list(socket: &Path) -> Result<(), String> {
    let answer = call(socket, &Request::Helpers(Nothing::default()))?;
    let r: HelpersResponse = decode("helpers", answer)?;
    for h in &r.helpers {
        let s = &h.stats;
        println!(
            "{} {} ports={} assigned={} calls={} expectations={} drops={} traps={} \
             budget_exhausted={} reloads={}{}",
            h.name,
            h.wasm,
            if h.ports.is_empty() {
                "-".to_string()
            } else {
                h.ports.join(",")
            },
            s.assigned,
            s.calls,
            s.expectations,
            s.drops,
            s.traps,
            s.budget_exhausted,
            s.reloads,
            if s.disabled { " [DISABLED]" } else { "" }
        );
    }
    Ok(())
}

/// Reads helper `name`'s component again and swaps it in (a disabled helper is
/// enabled again).
pub fn reload(socket: &Path, name: &str) -> Result<(), String> {
    let request = Request::HelperReload(HelperReload { name: name.into() });
    let answer: HelperReloaded = decode("helper-reload", call(socket, &request)?)?;
    if !answer.reloaded {
        return Err(format!("{name}: the engine did not reload it"));
    }
    println!("reloaded {name}");
    Ok(())
}
