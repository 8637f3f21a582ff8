//! Helpers written in Python: built with componentize-py (a Python package, run as a
//! program), whose `--stub-wasi` replaces every WASI import by a trapping stub so the
//! component imports only the contract's `log` and `types`.
//!
//! componentize-py bakes a fresh random seed into every build, so two builds of the
//! same source differ and each one misses the host's cache of compiled components
//! (compiling the 18 MB component is the slow part). [`build_python_guest`] therefore
//! keeps its output and reuses it while it is newer than the sources and the WIT.

use crate::c::{wit_dir, WORLD};
use crate::BuildError;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

/// The componentize-py version the helpers are built and tested with.
pub const COMPONENTIZE_PY_VERSION: &str = "0.25.1";

/// What to install when componentize-py is missing or another version.
pub const PYTHON_TOOLCHAIN_HINT: &str =
    "install it with `pip install componentize-py==0.25.1` (scripts/test.sh does), or point $COMPONENTIZE_PY at it";

/// The Python side of the SDK (`helpers-wasm/sdk-python`: `brickwall_state.py`, the
/// state encoding), copied beside every Python helper's sources (a file of the same
/// name in the helper's folder wins).
pub fn sdk_python_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../sdk-python")
}

/// The componentize-py to run: `$COMPONENTIZE_PY` or `componentize-py`.
fn componentize_py() -> PathBuf {
    std::env::var_os("COMPONENTIZE_PY")
        .map_or_else(|| PathBuf::from("componentize-py"), PathBuf::from)
}

/// Checks that componentize-py runs and is [`COMPONENTIZE_PY_VERSION`].
pub fn check_componentize_py() -> Result<(), BuildError> {
    let prog = componentize_py();
    let out = Command::new(&prog).arg("--version").output().map_err(|e| {
        BuildError(format!(
            "cannot run {}: {e}; {PYTHON_TOOLCHAIN_HINT}",
            prog.display()
        ))
    })?;
    let version = String::from_utf8_lossy(&out.stdout);
    let version = version.trim();
    if version != format!("componentize-py {COMPONENTIZE_PY_VERSION}") {
        return Err(BuildError(format!(
            "{} --version says `{version}`, not componentize-py {COMPONENTIZE_PY_VERSION}; \
             {PYTHON_TOOLCHAIN_HINT}",
            prog.display()
        )));
    }
    Ok(())
}

/// Builds the Python helper in `dir` (its module `module`, e.g. `app` for `app.py`,
/// subclassing `wit_world.exports.Helper`) into a component; `out` is a work directory
/// holding a copy of the SDK's modules and the sources (componentize-py writes
/// `__pycache__` beside them) and the component (`<out>/helper.wasm`), which is reused
/// while it is newer than every file in `dir`, the SDK and the WIT. Returns the
/// component.
pub fn build_python_guest(dir: &Path, module: &str, out: &Path) -> Result<Vec<u8>, BuildError> {
    let io = |p: &Path, e: std::io::Error| BuildError(format!("{}: {e}", p.display()));
    let wit = wit_dir();
    let component = out.join("helper.wasm");
    let sdk = sdk_python_dir();
    let newest_input = [newest(dir)?, newest(&sdk)?, newest(&wit)?]
        .into_iter()
        .max()
        .flatten();
    let built = std::fs::metadata(&component)
        .and_then(|m| m.modified())
        .ok();
    if let (Some(built), Some(input)) = (built, newest_input) {
        if built > input {
            return std::fs::read(&component).map_err(|e| io(&component, e));
        }
    }
    check_componentize_py()?;
    let src = out.join("src");
    if src.exists() {
        std::fs::remove_dir_all(&src).map_err(|e| io(&src, e))?;
    }
    copy_sources(&sdk, &src)?;
    copy_sources(dir, &src)?;
    let tmp = out.join("helper.wasm.tmp");
    let res = Command::new(componentize_py())
        .arg("-d")
        .arg(&wit)
        .args(["-w", WORLD, "componentize", "--stub-wasi", "-p"])
        .arg(&src)
        .arg(module)
        .arg("-o")
        .arg(&tmp)
        .output()
        .map_err(|e| {
            BuildError(format!(
                "cannot run componentize-py: {e}; {PYTHON_TOOLCHAIN_HINT}"
            ))
        })?;
    if !res.status.success() {
        return Err(BuildError(format!(
            "componentize-py failed on {} (module `{module}`):\n{}{}",
            dir.display(),
            String::from_utf8_lossy(&res.stdout),
            String::from_utf8_lossy(&res.stderr)
        )));
    }
    std::fs::rename(&tmp, &component).map_err(|e| io(&component, e))?;
    std::fs::read(&component).map_err(|e| io(&component, e))
}

/// The latest modification time of the files under `dir` (`__pycache__` left out).
fn newest(dir: &Path) -> Result<Option<SystemTime>, BuildError> {
    let mut latest = None;
    let entries =
        std::fs::read_dir(dir).map_err(|e| BuildError(format!("{}: {e}", dir.display())))?;
    for entry in entries.flatten() {
        let path = entry.path();
        let t = if path.is_dir() {
            if entry.file_name() == "__pycache__" {
                continue;
            }
            newest(&path)?
        } else {
            entry.metadata().and_then(|m| m.modified()).ok()
        };
        latest = latest.max(t);
    }
    Ok(latest)
}

/// Copies the files under `from` to `to` (`__pycache__` left out).
fn copy_sources(from: &Path, to: &Path) -> Result<(), BuildError> {
    let err = |p: &Path, e: std::io::Error| BuildError(format!("{}: {e}", p.display()));
    std::fs::create_dir_all(to).map_err(|e| err(to, e))?;
    for entry in std::fs::read_dir(from).map_err(|e| err(from, e))?.flatten() {
        let (path, name) = (entry.path(), entry.file_name());
        if path.is_dir() {
            if name != "__pycache__" {
                copy_sources(&path, &to.join(&name))?;
            }
        } else {
            std::fs::copy(&path, to.join(&name)).map_err(|e| err(&path, e))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_file_counts_and_pycache_does_not() {
        let dir = std::env::temp_dir().join(format!("bw-py-newest-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("__pycache__")).unwrap();
        std::fs::write(dir.join("app.py"), "x = 1\n").unwrap();
        let before = newest(&dir).unwrap().expect("a file");
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(dir.join("__pycache__/app.pyc"), "").unwrap();
        assert_eq!(newest(&dir).unwrap(), Some(before));
        let copy = dir.with_extension("copy");
        copy_sources(&dir, &copy).unwrap();
        assert!(copy.join("app.py").is_file() && !copy.join("__pycache__").exists());
        let _ = std::fs::remove_dir_all(&dir);
        let _ = std::fs::remove_dir_all(&copy);
    }
}
