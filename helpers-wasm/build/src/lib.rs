//! The project's own build step for helpers: compiles a Rust helper crate for
//! `wasm32-unknown-unknown` with cargo and turns the core module into a component with
//! the wit-component crate (the type information wit-bindgen embedded in the module
//! says what the component imports and exports). Used by `brickwall-helpers`' build
//! script for the eight bundled helpers and by tests for their own guests. Helpers in
//! C ([`c`]) and Python ([`python`]) are built here too.

pub mod c;
pub mod python;

pub use c::build_c_guest;
pub use python::build_python_guest;

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The compilation target helpers are built for.
pub const TARGET: &str = "wasm32-unknown-unknown";

/// Why a helper could not be built.
#[derive(Debug)]
pub struct BuildError(pub String);

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BuildError {}

/// A Rust helper crate to build.
#[derive(Clone, Debug)]
pub struct RustGuest {
    /// `Cargo.toml` of the workspace (or crate) holding the helper.
    pub manifest: PathBuf,
    /// The helper's package name.
    pub package: String,
    /// Cargo target directory for the WebAssembly build.
    pub target_dir: PathBuf,
}

impl RustGuest {
    /// Builds the crate and returns the component's bytes.
    pub fn build(&self) -> Result<Vec<u8>, BuildError> {
        let core = self.build_core()?;
        let bytes =
            std::fs::read(&core).map_err(|e| BuildError(format!("{}: {e}", core.display())))?;
        componentize(&bytes).map_err(|e| BuildError(format!("{}: {e}", core.display())))
    }

    /// Runs cargo for the WebAssembly target; returns the core module's path.
    pub fn build_core(&self) -> Result<PathBuf, BuildError> {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.args([
            "build",
            "--release",
            "--target",
            TARGET,
            "-p",
            &self.package,
        ])
        .arg("--manifest-path")
        .arg(&self.manifest)
        .arg("--target-dir")
        .arg(&self.target_dir);
        // Settings of an outer cargo (a build script's, clippy's) must not leak into
        // the WebAssembly build.
        for var in [
            "RUSTFLAGS",
            "CARGO_ENCODED_RUSTFLAGS",
            "RUSTC_WORKSPACE_WRAPPER",
            "CARGO_BUILD_TARGET",
            "CARGO_TARGET_DIR",
            "CARGO_BUILD_RUSTFLAGS",
        ] {
            cmd.env_remove(var);
        }
        // Small, fast modules: no debug info, whole-program optimisation.
        cmd.env("CARGO_PROFILE_RELEASE_DEBUG", "0")
            .env("CARGO_PROFILE_RELEASE_LTO", "true")
            .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "1")
            .env("CARGO_PROFILE_RELEASE_PANIC", "abort")
            .env("CARGO_PROFILE_RELEASE_STRIP", "debuginfo");
        let out = cmd
            .output()
            .map_err(|e| BuildError(format!("cannot run cargo: {e}")))?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            let hint = if err.contains("target may not be installed")
                || err.contains("can't find crate for `core`")
            {
                format!("\nhint: rustup target add {TARGET}")
            } else {
                String::new()
            };
            return Err(BuildError(format!(
                "building helper {} for {TARGET} failed:\n{err}{hint}",
                self.package
            )));
        }
        Ok(self
            .target_dir
            .join(TARGET)
            .join("release")
            .join(format!("{}.wasm", self.package.replace('-', "_"))))
    }
}

/// Turns a core module built with wit-bindgen into a component (validated).
pub fn componentize(core: &[u8]) -> Result<Vec<u8>, String> {
    wit_component::ComponentEncoder::default()
        .validate(true)
        .module(core)
        .map_err(|e| format!("not a helper module: {e:#}"))?
        .encode()
        .map_err(|e| format!("cannot make a component: {e:#}"))
}

/// The cargo target directory a build script's `OUT_DIR` lies in
/// (`<target>/<profile>/build/<crate>-<hash>/out`).
pub fn target_dir_of_out_dir(out_dir: &Path) -> Option<PathBuf> {
    out_dir.ancestors().nth(4).map(Path::to_path_buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn junk_is_refused_and_a_plain_module_becomes_an_empty_component() {
        assert!(componentize(b"junk")
            .unwrap_err()
            .contains("not a helper module"));
        // The smallest valid core module: no wit-bindgen section, so a component that
        // imports and exports nothing (the engine refuses it for lacking the export).
        let c = componentize(b"\0asm\x01\0\0\0").expect("componentizes");
        assert!(wasmparser::Parser::is_component(&c));
    }

    #[test]
    fn out_dirs_map_to_their_target_dir() {
        let out = Path::new("/t/debug/build/brickwall-helpers-0123/out");
        assert_eq!(target_dir_of_out_dir(out), Some(PathBuf::from("/t")));
    }
}
