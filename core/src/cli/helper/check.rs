//! `brickwall helper check`: a component's imports and exports, checked against the
//! helper world; says which version of the world (0.4.0, or the older 0.3.0 or 0.2.0) it
//! found, and what an older one cannot do.

use super::read_component;

/// `brickwall helper check FILE`: prints the imports and exports and the verdict, with
/// the world version the component implements; returns the exit code.
pub fn check(file: &str) -> i32 {
    let bytes = match read_component(file) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: {e}");
            return 1;
        }
    };
    let iface = match brickwall_helpers::inspect(&bytes) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("error: {file}: {e}");
            return 1;
        }
    };
    for i in &iface.imports {
        println!("import {i}");
    }
    for e in &iface.exports {
        println!("export {e}");
    }
    match iface.validate() {
        Ok(version) => {
            println!(
                "ok: {file} is a brickwall helper (world {})",
                version.world()
            );
            if let Some(lacks) = older_world_lacks(version) {
                println!(
                    "note: world {version} is older than the current {}: the helper loads, \
                     but {lacks}",
                    brickwall_helpers::WorldVersion::CURRENT
                );
            }
            0
        }
        Err(e) => {
            eprintln!("error: {file}: {e}");
            1
        }
    }
}

/// What a helper of an older world `version` cannot do; `None` for the current world.
fn older_world_lacks(version: brickwall_helpers::WorldVersion) -> Option<&'static str> {
    use brickwall_helpers::WorldVersion;
    match version {
        WorldVersion::V0_4 => None,
        WorldVersion::V0_3 => {
            Some("it cannot flush expectations by class or set its connection's timeout")
        }
        WorldVersion::V0_2 => Some(
            "its expectations get no NAT, its rewrites are not applied, and it cannot flush \
             expectations by class or set its connection's timeout",
        ),
    }
}
