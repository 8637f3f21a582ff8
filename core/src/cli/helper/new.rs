//! `brickwall helper new`: a working helper to start from, in Rust, C or Python. Each
//! skeleton is the knock example of `examples/helpers` (`OPEN <port>` on a datagram
//! expects the server's TCP connection back to that port) under the new helper's name,
//! with what builds it: `brickwall helper build DIR -o FILE`.

use super::{Lang, NewArgs};
use std::path::Path;

/// The knock example in each language, as the skeletons' source.
const RUST_LIB: &str = include_str!("../../../../examples/helpers/rust/src/lib.rs");
const C_SOURCE: &str = include_str!("../../../../examples/helpers/c/knock.c");
const PYTHON_APP: &str = include_str!("../../../../examples/helpers/python/app.py");
/// The versions the SDK was built and tested with, so that a Rust skeleton builds with
/// the same ones (cargo drops what the skeleton does not use).
const WORKSPACE_LOCK: &str = include_str!("../../../../Cargo.lock");
/// Where this binary's source tree keeps the SDK, for a Rust skeleton's path
/// dependency when `--sdk` is not given.
const SDK_IN_SOURCE_TREE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../helpers-wasm/sdk");

/// Whether `name` can name a helper: lower-case ASCII letters, digits and `-`,
/// starting with a letter, at most 32 characters (it becomes a config's `name:`, a
/// crate's name and a file's).
fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && name.len() <= 32
}

/// `name` in upper camel case (`my-helper` → `MyHelper`), a Rust type's name.
fn camel(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut c = part.chars();
            c.next()
                .map(|first| first.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// The example's text under `name`.
fn renamed(text: &str, name: &str) -> String {
    text.replace("Knock", &camel(name)).replace("knock", name)
}

/// Writes the skeleton; returns the files written.
fn write_skeleton(a: &NewArgs, dir: &Path) -> Result<Vec<String>, String> {
    let name = &a.name;
    let mut files: Vec<(String, String)> = Vec::new();
    let note = format!(
        "Written by `brickwall helper new {name} --lang {}`: the knock example of\n\
         brickwall's examples/helpers under this helper's name. Replace its protocol with\n\
         yours; build with `brickwall helper build {} -o {name}.wasm`, try it on a capture\n\
         with `brickwall helper run {name}.wasm --pcap FILE`.",
        a.lang.word(),
        dir.display()
    );
    let comment =
        |prefix: &str| -> String { note.lines().map(|l| format!("{prefix}{l}\n")).collect() };
    match a.lang {
        Lang::Rust => {
            let sdk = match &a.sdk {
                Some(p) => p.clone(),
                None => Path::new(SDK_IN_SOURCE_TREE).to_path_buf(),
            };
            let sdk = sdk.canonicalize().map_err(|e| {
                format!(
                    "the helper SDK (brickwall-helper-sdk) is not at {}: {e}; give its folder \
                     with --sdk (helpers-wasm/sdk in brickwall's source tree)",
                    sdk.display()
                )
            })?;
            let manifest = format!(
                "[package]\n\
                 name = \"{name}\"\n\
                 version = \"0.1.0\"\n\
                 edition = \"2021\"\n\
                 publish = false\n\n\
                 [lib]\n\
                 crate-type = [\"cdylib\", \"rlib\"]\n\n\
                 [dependencies]\n\
                 brickwall-helper-sdk = {{ path = {:?} }}\n\n\
                 # A workspace of its own, whatever folder it sits in.\n\
                 [workspace]\n",
                sdk.display().to_string()
            );
            files.push(("Cargo.toml".into(), manifest));
            files.push(("Cargo.lock".into(), WORKSPACE_LOCK.to_string()));
            files.push((
                "src/lib.rs".into(),
                comment("//! ") + "//!\n" + &renamed(RUST_LIB, name),
            ));
        }
        Lang::C => {
            let mut text = String::from("/*\n");
            text += &comment(" * ");
            text += " */\n";
            files.push((format!("{name}.c"), text + &renamed(C_SOURCE, name)));
        }
        Lang::Python => {
            files.push(("app.py".into(), comment("# ") + &renamed(PYTHON_APP, name)));
        }
    }
    let mut written = Vec::new();
    for (rel, text) in files {
        let path = dir.join(&rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        written.push(path.display().to_string());
    }
    Ok(written)
}

/// Runs `brickwall helper new`.
pub fn new(a: &NewArgs) -> Result<(), String> {
    if !valid_name(&a.name) {
        return Err(format!(
            "{:?} is not a helper name: lower-case letters, digits and '-', starting with a \
             letter, at most 32 characters",
            a.name
        ));
    }
    let dir = a.dir.clone().unwrap_or_else(|| a.name.clone().into());
    if dir.exists()
        && std::fs::read_dir(&dir)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        return Err(format!(
            "{} exists and is not empty: give another --dir",
            dir.display()
        ));
    }
    for f in write_skeleton(a, &dir)? {
        println!("wrote {f}");
    }
    println!(
        "build it: brickwall helper build {} -o {}.wasm",
        dir.display(),
        a.name
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_their_camel_case() {
        assert!(valid_name("sip") && valid_name("my-helper2"));
        for bad in ["", "Sip", "2x", "a_b", "a b", "-x", &"x".repeat(33)] {
            assert!(!valid_name(bad), "{bad:?}");
        }
        assert_eq!(camel("my-helper2"), "MyHelper2");
        assert_eq!(camel("sip"), "Sip");
    }

    #[test]
    fn the_examples_are_renamed_throughout() {
        for text in [RUST_LIB, C_SOURCE, PYTHON_APP] {
            let r = renamed(text, "door-bell");
            assert!(!r.to_ascii_lowercase().contains("knock"), "{r}");
            assert!(r.contains("door-bell"));
        }
        assert!(renamed(RUST_LIB, "door-bell").contains("impl Helper for DoorBell"));
    }
}
