//! `brickwall helper check`: a component's imports and exports, checked against the
//! helper world.

use super::read_component;
use brickwall_helpers::check::REQUIRED_EXPORT;

/// The world a helper implements, from the export it must have
/// (`brickwall:helper/helper@0.2.0` → `brickwall:helper/helper-world@0.2.0`).
fn world() -> String {
    match REQUIRED_EXPORT.split_once('/') {
        Some((package, rest)) => match rest.split_once('@') {
            Some((_, version)) => format!("{package}/helper-world@{version}"),
            None => format!("{package}/helper-world"),
        },
        None => REQUIRED_EXPORT.to_owned(),
    }
}

/// `brickwall helper check FILE`: prints the imports and exports and the verdict;
/// returns the exit code.
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
        Ok(()) => {
            println!("ok: {file} is a brickwall helper (world {})", world());
            0
        }
        Err(e) => {
            eprintln!("error: {file}: {e}");
            1
        }
    }
}
