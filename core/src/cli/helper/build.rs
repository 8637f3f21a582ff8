//! `brickwall helper build`: a helper's folder in Rust, C or Python, or a package of a
//! Cargo workspace, built into a component.

use super::{BuildArgs, Lang};
use std::path::{Path, PathBuf};

/// The language of the helper in `dir`, from its files.
fn lang_of(dir: &Path) -> Result<Lang, String> {
    if dir.join("Cargo.toml").is_file() {
        return Ok(Lang::Rust);
    }
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut exts = Vec::new();
    for e in entries.flatten() {
        let p = e.path();
        if let Some(ext) = p.extension().and_then(|x| x.to_str()) {
            exts.push(ext.to_string());
        }
    }
    match (
        exts.iter().any(|x| x == "c"),
        exts.iter().any(|x| x == "py"),
    ) {
        (true, false) => Ok(Lang::C),
        (false, true) => Ok(Lang::Python),
        (true, true) => Err(format!(
            "{} holds both C and Python files: say which with --lang",
            dir.display()
        )),
        (false, false) => Err(format!(
            "{} holds no helper: no Cargo.toml, no *.c, no *.py (`brickwall helper new` \
             writes one)",
            dir.display()
        )),
    }
}

/// The `[package]` name of the Cargo.toml at `manifest`.
fn package_name(manifest: &Path) -> Result<String, String> {
    let text =
        std::fs::read_to_string(manifest).map_err(|e| format!("{}: {e}", manifest.display()))?;
    let mut in_package = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_package = line == "[package]";
        } else if in_package {
            if let Some((key, value)) = line.split_once('=') {
                if key.trim() == "name" {
                    return Ok(value.trim().trim_matches('"').to_string());
                }
            }
        }
    }
    Err(format!("{}: no [package] name", manifest.display()))
}

/// The Python module of the helper in `dir`: `app`, or the only `*.py` file's stem.
fn python_module(dir: &Path) -> Result<String, String> {
    if dir.join("app.py").is_file() {
        return Ok("app".into());
    }
    let mut stems: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "py"))
        .filter_map(|p| p.file_stem().and_then(|s| s.to_str()).map(String::from))
        .collect();
    match stems.len() {
        1 => Ok(stems.remove(0)),
        _ => Err(format!(
            "{}: the helper's module is app.py, or the folder's only *.py file",
            dir.display()
        )),
    }
}

fn rust(manifest: PathBuf, package: String, target_dir: PathBuf) -> Result<Vec<u8>, String> {
    brickwall_helper_build::RustGuest {
        manifest,
        package,
        target_dir,
    }
    .build()
    .map_err(|e| e.to_string())
}

/// Runs `brickwall helper build`.
pub fn build(b: &BuildArgs) -> Result<(), String> {
    let bytes = match &b.package {
        Some(p) => rust(b.manifest_path.clone(), p.clone(), b.target_dir.clone())?,
        None => match b.lang.map_or_else(|| lang_of(&b.dir), Ok)? {
            Lang::Rust => {
                let manifest = b.dir.join("Cargo.toml");
                let package = package_name(&manifest)?;
                rust(manifest, package, b.target_dir.clone())?
            }
            Lang::C => brickwall_helper_build::build_c_guest(&b.dir, &b.target_dir.join("c"))
                .map_err(|e| e.to_string())?,
            Lang::Python => {
                let module = python_module(&b.dir)?;
                let work = b.target_dir.join("python");
                brickwall_helper_build::build_python_guest(&b.dir, &module, &work)
                    .map_err(|e| e.to_string())?
            }
        },
    };
    std::fs::write(&b.output, &bytes).map_err(|e| format!("{}: {e}", b.output.display()))?;
    println!("wrote {} ({} bytes)", b.output.display(), bytes.len());
    Ok(())
}
