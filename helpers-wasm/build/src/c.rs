//! Helpers written in C: C bindings generated from the WIT with the `wit-bindgen-c`
//! crate (used as a library, the same 0.63 the Rust SDK's wit-bindgen is), compiled
//! with clang and wasm-ld against wasi-libc as a reactor module, then turned into a
//! component by [`componentize`].
//!
//! The host refuses a component importing anything but the contract's `log`, so the
//! core module is checked before componentizing: a function of wasi-libc that needs
//! WASI (stdio, `exit`, clocks) shows up as a `wasi_snapshot_preview1` import, and the
//! build fails naming it.

use crate::{componentize, BuildError};
use std::path::{Path, PathBuf};
use std::process::Command;
use wit_bindgen_core::wit_parser::Resolve;

/// The world C helpers are generated for.
pub const WORLD: &str = "helper-world";

/// The clang target C helpers are compiled for (Debian's clang 14 knows `wasm32-wasi`,
/// not yet `wasm32-wasip1`; nothing of WASI is imported either way).
pub const C_TARGET: &str = "wasm32-wasi";

/// The contract's WIT directory (`helpers-wasm/wit`).
pub fn wit_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../wit")
}

/// The C side of the SDK (`helpers-wasm/sdk-c`: `brickwall_state.h`, the state
/// encoding), on every C helper's include path.
pub fn sdk_c_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../sdk-c")
}

/// Writes the C bindings of `world` in the WIT at `wit` into `out`: `<world>.h`,
/// `<world>.c` and `<world>_component_type.o` (`helper_world.*` for the contract).
/// Returns the files written.
pub fn c_bindings(wit: &Path, world: &str, out: &Path) -> Result<Vec<PathBuf>, BuildError> {
    let err = |e| wit_error(wit, e);
    let mut resolve = Resolve::default();
    let (pkg, _) = resolve.push_path(wit).map_err(err)?;
    let world = resolve.select_world(&[pkg], Some(world)).map_err(err)?;
    let mut files = wit_bindgen_core::Files::default();
    wit_bindgen_c::Opts::default()
        .build()
        .generate(&mut resolve, world, &mut files)
        .map_err(err)?;
    std::fs::create_dir_all(out).map_err(|e| BuildError(format!("{}: {e}", out.display())))?;
    let mut written = Vec::new();
    for (name, bytes) in files.iter() {
        let path = out.join(name);
        std::fs::write(&path, bytes).map_err(|e| BuildError(format!("{}: {e}", path.display())))?;
        written.push(path);
    }
    Ok(written)
}

/// A WIT or generator error (an `anyhow` error, shown with its causes).
fn wit_error(wit: &Path, e: impl std::fmt::Debug) -> BuildError {
    BuildError(format!("{}: {e:?}", wit.display()))
}

/// The wasi-libc sysroot: `$WASI_SYSROOT`, `/usr/share/wasi-sysroot` (wasi-sdk's
/// layout, `lib/wasm32-wasi/libc.a`) or `/usr` (Debian's `wasi-libc` package puts the
/// library in `/usr/lib/wasm32-wasi` and the headers in `/usr/include/wasm32-wasi`).
pub fn wasi_sysroot() -> Option<PathBuf> {
    let env = std::env::var_os("WASI_SYSROOT").map(PathBuf::from);
    env.into_iter()
        .chain(["/usr/share/wasi-sysroot", "/usr"].map(PathBuf::from))
        .find(|root| root.join("lib").join(C_TARGET).join("libc.a").is_file())
}

/// The clang to use: `$CLANG` or `clang`.
fn clang() -> PathBuf {
    std::env::var_os("CLANG").map_or_else(|| PathBuf::from("clang"), PathBuf::from)
}

/// What to install when the C toolchain is missing.
pub const C_TOOLCHAIN_HINT: &str =
    "install clang, wasm-ld, wasi-libc and the wasm32 compiler-rt: apt-get install clang lld wasi-libc libclang-rt-dev-wasm32";

/// Builds the C helper in `dir` (every `*.c` file there, which include
/// `helper_world.h` and may include the SDK's `brickwall_state.h`) into a component; `out` is a work directory for the generated
/// bindings and the core module (`<out>/helper.core.wasm`). Returns the component.
pub fn build_c_guest(dir: &Path, out: &Path) -> Result<Vec<u8>, BuildError> {
    let sysroot = wasi_sysroot().ok_or_else(|| {
        BuildError(format!(
            "no wasi-libc sysroot (looked in $WASI_SYSROOT, /usr/share/wasi-sysroot, /usr); \
             {C_TOOLCHAIN_HINT}"
        ))
    })?;
    let gen = out.join("bindings");
    let generated = c_bindings(&wit_dir(), WORLD, &gen)?;
    let mut sources: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| BuildError(format!("{}: {e}", dir.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "c"))
        .collect();
    if sources.is_empty() {
        return Err(BuildError(format!("{}: no .c files", dir.display())));
    }
    sources.sort();
    // The generated C file and the object holding the component type go in too.
    sources.extend(
        generated
            .into_iter()
            .filter(|p| p.extension().is_some_and(|x| x == "c" || x == "o")),
    );
    let core = out.join("helper.core.wasm");
    let mut cmd = Command::new(clang());
    cmd.arg(format!("--target={C_TARGET}"))
        .arg(format!("--sysroot={}", sysroot.display()))
        // A reactor: no `main`, no `_start`; the exports are the contract's functions.
        .args(["-mexec-model=reactor", "-O2", "-Wall", "-Werror"])
        .arg("-I")
        .arg(&gen)
        .arg("-I")
        .arg(sdk_c_dir())
        .arg("-I")
        .arg(dir)
        .args(&sources)
        .args(["-Wl,--strip-debug", "-o"])
        .arg(&core);
    let res = cmd.output().map_err(|e| {
        BuildError(format!(
            "cannot run {}: {e}; {C_TOOLCHAIN_HINT}",
            clang().display()
        ))
    })?;
    if !res.status.success() {
        let err = String::from_utf8_lossy(&res.stderr);
        let missing = ["libclang_rt", "wasm-ld", "stdlib.h", "crt1-reactor"];
        let hint = if missing.iter().any(|m| err.contains(m)) {
            format!("\nhint: {C_TOOLCHAIN_HINT}")
        } else {
            String::new()
        };
        return Err(BuildError(format!(
            "compiling the C helper in {} failed:\n{err}{hint}",
            dir.display()
        )));
    }
    let bytes = std::fs::read(&core).map_err(|e| BuildError(format!("{}: {e}", core.display())))?;
    let foreign = foreign_imports(&bytes)?;
    if !foreign.is_empty() {
        return Err(BuildError(format!(
            "the C helper in {} imports {} (the host allows only brickwall:helper/log): \
             avoid the libc functions that need WASI (stdio, exit, clocks, ...) or define \
             them yourself",
            dir.display(),
            foreign.join(", ")
        )));
    }
    componentize(&bytes).map_err(|e| BuildError(format!("{}: {e}", core.display())))
}

/// A core module's imports from other modules than the contract's
/// (`brickwall:helper/...`), as `module::name`.
pub fn foreign_imports(core: &[u8]) -> Result<Vec<String>, BuildError> {
    let mut out = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(core) {
        let payload = payload.map_err(|e| BuildError(format!("not a core module: {e}")))?;
        if let wasmparser::Payload::ImportSection(imports) = payload {
            for import in imports.into_imports() {
                let import = import.map_err(|e| BuildError(format!("bad import section: {e}")))?;
                if !import.module.starts_with("brickwall:helper/") {
                    out.push(format!("{}::{}", import.module, import.name));
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_contract_gets_a_header_a_source_and_a_type_object() {
        let dir = std::env::temp_dir().join(format!("brickwall-c-bindings-{}", std::process::id()));
        let files = c_bindings(&wit_dir(), WORLD, &dir).expect("generates");
        let names: Vec<_> = files
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        for want in [
            "helper_world.h",
            "helper_world.c",
            "helper_world_component_type.o",
        ] {
            assert!(names.iter().any(|n| n == want), "{want} in {names:?}");
        }
        let h = std::fs::read_to_string(dir.join("helper_world.h")).unwrap();
        assert!(
            h.contains("exports_brickwall_helper_helper_on_packet"),
            "{h}"
        );
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn a_module_without_imports_has_no_foreign_ones() {
        assert!(foreign_imports(b"\0asm\x01\0\0\0").unwrap().is_empty());
        assert!(foreign_imports(b"junk").is_err());
    }
}
