//! The eight helpers that ship inside brickwall, built from `helpers-wasm/guests` by the
//! crate's build script and embedded as component bytes (the build script names them).

include!(concat!(env!("OUT_DIR"), "/bundled.rs"));

/// The bundled component called `name` (`builtin:NAME` in configs).
pub fn bundled(name: &str) -> Option<&'static [u8]> {
    BUNDLED.iter().find(|(n, _)| *n == name).map(|(_, b)| *b)
}
