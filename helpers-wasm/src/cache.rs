//! The on-disk cache of precompiled components, so start-up does not recompile: one
//! file per (engine compatibility, component bytes) pair.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use wasmtime::component::Component;
use wasmtime::Engine;

/// A cache directory (or none).
#[derive(Clone, Debug)]
pub struct Cache {
    dir: Option<PathBuf>,
}

/// Where a component came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Compiled now (and stored, if the cache is on).
    Compiled,
    /// Read from the cache.
    Cached,
}

impl Cache {
    /// The cache at `dir`; `Some("")` turns it off; `None` takes the default location.
    pub fn new(dir: Option<&str>) -> Cache {
        let dir = match dir {
            Some("") => None,
            Some(d) => Some(PathBuf::from(d)),
            None => default_dir(),
        };
        Cache { dir }
    }

    /// The directory in use.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// Compiles `wasm`, or loads it precompiled from the cache.
    pub fn component(&self, engine: &Engine, wasm: &[u8]) -> wasmtime::Result<(Component, Origin)> {
        let Some(dir) = &self.dir else {
            return Ok((Component::new(engine, wasm)?, Origin::Compiled));
        };
        let file = dir.join(format!("{}.cwasm", key(engine, wasm)));
        if file.is_file() {
            // SAFETY: the file was written by `precompile_component` of an engine with
            // the same compatibility hash (it is in the name), into a directory only
            // this user can write.
            if let Ok(c) = unsafe { Component::deserialize_file(engine, &file) } {
                return Ok((c, Origin::Cached));
            }
        }
        let bytes = engine.precompile_component(wasm)?;
        if std::fs::create_dir_all(dir).is_ok() {
            restrict(dir);
            let tmp = file.with_extension(format!("tmp{}", std::process::id()));
            if std::fs::write(&tmp, &bytes).is_ok() {
                let _ = std::fs::rename(&tmp, &file);
            }
        }
        // SAFETY: `bytes` was produced by this engine just now.
        let c = unsafe { Component::deserialize(engine, &bytes)? };
        Ok((c, Origin::Compiled))
    }
}

fn key(engine: &Engine, wasm: &[u8]) -> String {
    let mut parts = [0u64; 2];
    for (i, p) in parts.iter_mut().enumerate() {
        let mut h = std::hash::DefaultHasher::new();
        i.hash(&mut h);
        engine.precompile_compatibility_hash().hash(&mut h);
        wasm.hash(&mut h);
        *p = h.finish();
    }
    format!("{:016x}{:016x}", parts[0], parts[1])
}

fn default_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("brickwall").join("helpers"))
}

fn restrict(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
}
