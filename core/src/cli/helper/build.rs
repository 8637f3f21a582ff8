//! `brickwall helper build`: a Rust helper crate built into a component.

use super::BuildArgs;

pub fn build(b: &BuildArgs) -> Result<(), String> {
    let guest = brickwall_helper_build::RustGuest {
        manifest: b.manifest_path.clone(),
        package: b.package.clone(),
        target_dir: b.target_dir.clone(),
    };
    let bytes = guest.build().map_err(|e| e.to_string())?;
    std::fs::write(&b.output, &bytes).map_err(|e| format!("{}: {e}", b.output.display()))?;
    println!("wrote {} ({} bytes)", b.output.display(), bytes.len());
    Ok(())
}
