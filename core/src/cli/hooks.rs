//! `brickwall hooks`: each family's hooks and their callbacks by priority.

use brickwall_hooks::{Family, Hook};
use std::path::PathBuf;

/// Prints the hook table of the engine a config builds.
pub fn run(config: Option<PathBuf>) -> Result<(), String> {
    let engine = super::build_engine(config.as_deref())?;
    print!("{}", render(&engine));
    Ok(())
}

/// The listing, in `nft list hooks` style.
pub fn render(engine: &brickwall_core::engine::Engine) -> String {
    let table = engine.registry().snapshot();
    let mut out = String::new();
    for family in [Family::Ipv4, Family::Ipv6] {
        let nft_family = if family == Family::Ipv4 { "ip" } else { "ip6" };
        out.push_str(&format!("family {nft_family} {{\n"));
        for hook in Hook::ALL {
            let chain = table.chain(family, hook);
            out.push_str(&format!("\thook {} {{\n", hook.name().to_ascii_lowercase()));
            for e in chain {
                let version = engine
                    .plugin(&e.owner.name)
                    .map(|p| format!(" {}", p.version))
                    .unwrap_or_default();
                out.push_str(&format!(
                    "\t\t{:+011} {} [{}{}]\n",
                    e.priority, e.name, e.owner.name, version
                ));
            }
            out.push_str("\t}\n");
        }
        out.push_str("}\n");
    }
    out
}
