//! Builds the eight bundled helpers (FTP, IRC, TFTP, PPTP, SANE, Amanda, SNMP, SIP) into components that the
//! crate embeds, with the project's own build step (`brickwall-helper-build`), and
//! writes the list the crate embeds them by (`bundled.rs`): [`BUNDLED`] below is the
//! one place the bundled helpers are named.

use brickwall_helper_build::{target_dir_of_out_dir, RustGuest};
use std::path::PathBuf;

/// The bundled helpers, each built from `guests/NAME` (package `brickwall-helper-NAME`).
const BUNDLED: [&str; 8] = [
    "ftp", "irc", "tftp", "pptp", "sane", "amanda", "snmp", "sip",
];

fn main() {
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo"));
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo"));
    let workspace = manifest_dir
        .parent()
        .expect("helpers-wasm has a parent")
        .to_path_buf();
    for p in ["wit", "sdk/src", "sdk/Cargo.toml"] {
        println!("cargo:rerun-if-changed={}", manifest_dir.join(p).display());
    }
    // The SDK's own dependency.
    for p in ["core/wire/src", "core/wire/Cargo.toml"] {
        println!("cargo:rerun-if-changed={}", workspace.join(p).display());
    }
    for name in BUNDLED {
        let dir = manifest_dir.join("guests").join(name);
        println!("cargo:rerun-if-changed={}", dir.join("src").display());
        println!(
            "cargo:rerun-if-changed={}",
            dir.join("Cargo.toml").display()
        );
    }
    println!(
        "cargo:rerun-if-changed={}",
        workspace.join("Cargo.lock").display()
    );
    let target_dir = target_dir_of_out_dir(&out)
        .unwrap_or_else(|| out.clone())
        .join("wasm-guests");
    let mut list = format!(
        "/// `(name, component)` of each bundled helper.\npub const BUNDLED: [(&str, &[u8]); {}] = [\n",
        BUNDLED.len()
    );
    for name in BUNDLED {
        list.push_str(&format!(
            "    ({name:?}, include_bytes!(concat!(env!(\"OUT_DIR\"), \"/{name}.wasm\"))),\n"
        ));
    }
    list.push_str("];\n");
    std::fs::write(out.join("bundled.rs"), list).expect("write bundled.rs to OUT_DIR");
    for name in BUNDLED {
        let guest = RustGuest {
            manifest: workspace.join("Cargo.toml"),
            package: format!("brickwall-helper-{name}"),
            target_dir: target_dir.clone(),
        };
        match guest.build() {
            Ok(bytes) => std::fs::write(out.join(format!("{name}.wasm")), bytes)
                .expect("write the component to OUT_DIR"),
            Err(e) => panic!("{e}"),
        }
    }
}
