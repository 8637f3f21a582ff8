//! The on-disk cache of precompiled components, so start-up does not recompile: one
//! file per (engine compatibility, component bytes) pair, named by their SHA-256.
//!
//! A precompiled component is native code that wasmtime maps and runs without checking
//! it, so the cache is trusted only where nobody but the engine's own user could have
//! written it:
//! - the directory is owned by the effective user and writable by nobody else, and
//!   every directory above it is owned by root or that user and writable by nobody
//!   else (a sticky directory such as `/tmp` is allowed above it: others cannot rename
//!   or remove what is not theirs there);
//! - a cached file is opened without following a symlink, and must be a regular file
//!   of that user, writable by nobody else, with no other hard link; its bytes are read
//!   into memory and checked and deserialised from there, so what was checked is what
//!   runs;
//! - a new file is written under a fresh name that must not exist (no planted link is
//!   followed) with mode 0600, then renamed into place.
//!
//! A cache that fails these checks is not read or written: components are compiled in
//! memory, and [`Origin::Untrusted`] says why.

use sha2::{Digest, Sha256};
use std::fs::{DirBuilder, File, Metadata, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use wasmtime::component::Component;
use wasmtime::Engine;

/// Mode of a directory the cache creates.
const DIR_MODE: u32 = 0o700;

/// Mode of a cached file.
const FILE_MODE: u32 = 0o600;

/// Group- and other-write permission bits.
const OTHERS_WRITE: u32 = 0o022;

/// The sticky bit.
const STICKY: u32 = 0o1000;

/// A cache directory (or none).
#[derive(Clone, Debug)]
pub struct Cache {
    dir: Option<PathBuf>,
}

/// Where a component came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Compiled now (and stored, if the cache is on).
    Compiled,
    /// Read from the cache.
    Cached,
    /// Compiled now, in memory only: the cache failed its checks (the reason).
    Untrusted(String),
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
        let dir = match trusted_dir(dir) {
            Ok(d) => d,
            Err(why) => {
                let origin = Origin::Untrusted(format!("{}: {why}", dir.display()));
                return Ok((Component::new(engine, wasm)?, origin));
            }
        };
        let file = dir.join(format!("{}.cwasm", key(engine, wasm)));
        if let Some(bytes) = read_trusted(&file) {
            // SAFETY: `bytes` were read from a regular file of this user, with no other
            // link, in a directory chain nobody else can write (checked above), whose
            // name carries this engine's compatibility hash: only this user's engine
            // can have written them, with `precompile_component`. wasmtime still checks
            // the header and the compatibility before using them.
            if let Ok(c) = unsafe { Component::deserialize(engine, &bytes) } {
                return Ok((c, Origin::Cached));
            }
        }
        let bytes = engine.precompile_component(wasm)?;
        store(&file, &bytes);
        // SAFETY: `bytes` was produced by this engine just now.
        let c = unsafe { Component::deserialize(engine, &bytes)? };
        Ok((c, Origin::Compiled))
    }
}

/// The file name: SHA-256 over the engine's compatibility hash and the component.
fn key(engine: &Engine, wasm: &[u8]) -> String {
    use std::hash::{Hash, Hasher};
    let mut compat = std::hash::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut compat);
    let mut h = Sha256::new();
    h.update(compat.finish().to_le_bytes());
    h.update((wasm.len() as u64).to_le_bytes());
    h.update(wasm);
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The cache's place from the environment: see [`dir_from`].
fn default_dir() -> Option<PathBuf> {
    let var = |k: &str| std::env::var_os(k).map(PathBuf::from);
    dir_from(var("CACHE_DIRECTORY"), var("XDG_CACHE_HOME"), var("HOME"))
}

/// `CACHE_DIRECTORY/helpers` under systemd's `CacheDirectory=` (the first of its
/// colon-separated list, if absolute), else `brickwall/helpers` under `XDG_CACHE_HOME`
/// or `HOME/.cache`.
fn dir_from(
    cache_directory: Option<PathBuf>,
    xdg_cache_home: Option<PathBuf>,
    home: Option<PathBuf>,
) -> Option<PathBuf> {
    let systemd = cache_directory
        .and_then(|d| {
            d.to_str()
                .and_then(|s| s.split(':').next())
                .map(PathBuf::from)
        })
        .filter(|d| d.is_absolute());
    if let Some(d) = systemd {
        return Some(d.join("helpers"));
    }
    let base = xdg_cache_home.or_else(|| home.map(|h| h.join(".cache")))?;
    Some(base.join("brickwall").join("helpers"))
}

fn euid() -> u32 {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() }
}

/// Creates `dir` (mode 0700) if it is missing and checks that it and the directories
/// above it can be trusted; the directory's canonical path, or why not.
fn trusted_dir(dir: &Path) -> Result<PathBuf, String> {
    if std::fs::symlink_metadata(dir).is_err() {
        DirBuilder::new()
            .recursive(true)
            .mode(DIR_MODE)
            .create(dir)
            .map_err(|e| format!("cannot create it: {e}"))?;
    }
    let real = dir.canonicalize().map_err(|e| e.to_string())?;
    let me = euid();
    let m = std::fs::symlink_metadata(&real).map_err(|e| e.to_string())?;
    if !m.is_dir() {
        return Err("not a directory".into());
    }
    if m.uid() != me {
        return Err(format!(
            "owned by uid {}, not by the engine's user (uid {me})",
            m.uid()
        ));
    }
    if m.mode() & OTHERS_WRITE != 0 {
        return Err(format!(
            "writable by others (mode {:o}; chmod go-w it)",
            m.mode() & 0o7777
        ));
    }
    for above in real.ancestors().skip(1) {
        let m =
            std::fs::symlink_metadata(above).map_err(|e| format!("{}: {e}", above.display()))?;
        if m.uid() != 0 && m.uid() != me {
            return Err(format!(
                "{} above it is owned by uid {}, neither root nor the engine's user",
                above.display(),
                m.uid()
            ));
        }
        if m.mode() & OTHERS_WRITE != 0 && m.mode() & STICKY == 0 {
            return Err(format!(
                "{} above it is writable by others (mode {:o})",
                above.display(),
                m.mode() & 0o7777
            ));
        }
    }
    Ok(real)
}

/// Whether a cached file's metadata makes it this user's own: a regular file of the
/// effective user, writable by nobody else, with one link.
fn own_file(m: &Metadata) -> bool {
    m.is_file() && m.uid() == euid() && m.mode() & OTHERS_WRITE == 0 && m.nlink() == 1
}

/// The bytes of `file` if it exists and is this user's own (not followed if a link).
fn read_trusted(file: &Path) -> Option<Vec<u8>> {
    let mut f = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(file)
        .ok()?;
    if !own_file(&f.metadata().ok()?) {
        return None;
    }
    let mut bytes = Vec::new();
    f.read_to_end(&mut bytes).ok()?;
    Some(bytes)
}

/// Writes `bytes` as `file`: to a fresh file beside it (created, never followed) and
/// then renamed over it. Failures leave the cache as it was.
fn store(file: &Path, bytes: &[u8]) {
    let tmp = file.with_extension(format!("tmp-{}-{:x}", std::process::id(), rand_suffix()));
    let written = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(FILE_MODE)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&tmp)
        .and_then(|mut f: File| {
            f.write_all(bytes)?;
            f.sync_all()
        });
    if written.is_err() || std::fs::rename(&tmp, file).is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
}

/// A per-call suffix for temporary names (time and a counter; not a secret: the name
/// only has to be new, and `create_new` refuses an existing one).
fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    t ^ N.fetch_add(1, Ordering::Relaxed).rotate_left(48)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_differ_by_content_and_are_hex_sha256() {
        let e = Engine::default();
        let a = key(&e, b"one");
        let b = key(&e, b"two");
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
    }

    #[test]
    fn the_place_follows_systemd_then_xdg_then_home() {
        let p = |s: &str| Some(PathBuf::from(s));
        assert_eq!(
            dir_from(p("/var/cache/brickwall:/x"), p("/xdg"), p("/home/u")),
            p("/var/cache/brickwall/helpers")
        );
        assert_eq!(
            dir_from(p("relative"), p("/xdg"), None),
            p("/xdg/brickwall/helpers")
        );
        assert_eq!(
            dir_from(None, None, p("/home/u")),
            p("/home/u/.cache/brickwall/helpers")
        );
        assert_eq!(dir_from(None, None, None), None);
    }
}
