//! The four helpers that ship inside brickwall, built from `helpers-wasm/guests` by the
//! crate's build script and embedded as component bytes.

/// `(name, component)` of each bundled helper.
pub const BUNDLED: [(&str, &[u8]); 4] = [
    ("ftp", include_bytes!(concat!(env!("OUT_DIR"), "/ftp.wasm"))),
    ("irc", include_bytes!(concat!(env!("OUT_DIR"), "/irc.wasm"))),
    (
        "tftp",
        include_bytes!(concat!(env!("OUT_DIR"), "/tftp.wasm")),
    ),
    (
        "pptp",
        include_bytes!(concat!(env!("OUT_DIR"), "/pptp.wasm")),
    ),
];

/// The bundled component called `name` (`builtin:NAME` in configs).
pub fn bundled(name: &str) -> Option<&'static [u8]> {
    BUNDLED.iter().find(|(n, _)| *n == name).map(|(_, b)| *b)
}
