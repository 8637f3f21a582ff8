//! `brickwall hooks`: each family's hooks and their callbacks by priority.

use std::path::PathBuf;

/// Prints the hook table of the engine a config builds.
pub fn run(config: Option<PathBuf>) -> Result<(), String> {
    let engine = super::build_engine(config.as_deref())?;
    print!("{}", render(&engine));
    Ok(())
}

/// The listing, in `nft list hooks` style.
pub fn render(engine: &brickwall_core::engine::Engine) -> String {
    brickwall_core::control::hooks::render(&engine.registry().snapshot(), &|name| {
        engine.plugin(name).map(|p| p.version.clone())
    })
}
