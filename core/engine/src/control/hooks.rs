//! The hook table as `brickwall hooks` prints it (in `nft list hooks` style): shared by
//! the CLI and the control socket's `{"op":"hooks"}`.

use brickwall_hooks::{Family, Hook, HookTable};
use std::fmt::Write;

/// Renders each family's hooks and their callbacks by priority; `version_of` gives a
/// plugin's version by name (printed after it when known).
pub fn render(table: &HookTable, version_of: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::new();
    for family in [Family::Ipv4, Family::Ipv6] {
        let nft_family = if family == Family::Ipv4 { "ip" } else { "ip6" };
        let _ = writeln!(out, "family {nft_family} {{");
        for hook in Hook::ALL {
            let _ = writeln!(out, "\thook {} {{", hook.name().to_ascii_lowercase());
            for e in table.chain(family, hook) {
                let version = version_of(&e.owner.name)
                    .map(|v| format!(" {v}"))
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "\t\t{:+011} {} [{}{}]",
                    e.priority, e.name, e.owner.name, version
                );
            }
            out.push_str("\t}\n");
        }
        out.push_str("}\n");
    }
    out
}
