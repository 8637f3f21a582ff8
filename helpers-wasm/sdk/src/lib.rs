//! The guest side of brickwall's helper contract (`helpers-wasm/wit/helper.wit`).
//!
//! A helper implements [`Helper`] on a unit type and exports it with
//! [`export_helper!`]; built for `wasm32-unknown-unknown` and turned into a component
//! (brickwall's build does both), it is loaded by the engine. Natively the same code is
//! plain Rust: call the trait's functions from tests and benchmarks.
//!
//! ```
//! use brickwall_helper_sdk::{export_helper, ConnInfo, Helper, Outcome, Packet, State};
//! struct Hello;
//! impl Helper for Hello {
//!     fn assigned(_: &ConnInfo) -> Vec<u8> { Vec::new() }
//!     fn packet(pkt: &Packet<'_>, _: &mut State) -> Outcome {
//!         if pkt.payload.starts_with(b"hello") { Outcome::drop() } else { Outcome::accept() }
//!     }
//! }
//! export_helper!(Hello);
//! ```

#![no_std]

extern crate alloc;

mod types;

pub use types::*;

#[cfg(target_arch = "wasm32")]
#[doc(hidden)]
pub mod bindings;

/// What a helper does. The host keeps each connection's state (bounded in size by the
/// helper's policy) and hands it back on every packet.
pub trait Helper {
    /// A connection was assigned to the helper: returns its initial state (keep in it
    /// whatever of `conn` later packets need).
    fn assigned(conn: &ConnInfo) -> alloc::vec::Vec<u8>;

    /// A packet with payload.
    fn packet(pkt: &Packet<'_>, state: &mut State) -> Outcome;

    /// The connection is gone.
    fn destroyed(_state: &[u8]) {}
}

/// Writes a line to the engine's log (rate-limited by the host; a no-op natively).
pub fn log(level: LogLevel, message: &str) {
    #[cfg(target_arch = "wasm32")]
    bindings::log(level, message);
    #[cfg(not(target_arch = "wasm32"))]
    let _ = (level, message);
}

/// Exports a [`Helper`] implementation as the component's `helper` interface.
#[macro_export]
macro_rules! export_helper {
    ($ty:ident) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            struct __BrickwallExport;
            impl $crate::bindings::Guest for __BrickwallExport {
                fn assigned(
                    conn: u32,
                    info: $crate::bindings::ConnInfo,
                ) -> $crate::bindings::Bytes {
                    $crate::bindings::assigned::<$ty>(conn, info)
                }
                fn on_packet(
                    conn: u32,
                    dir: $crate::bindings::Direction,
                    ct: $crate::bindings::CtState,
                    seq: u32,
                    tcp_flags: u8,
                    state: $crate::bindings::Bytes,
                    payload: $crate::bindings::Bytes,
                ) -> $crate::bindings::PacketResult {
                    $crate::bindings::on_packet::<$ty>(conn, dir, ct, seq, tcp_flags, state, payload)
                }
                fn destroyed(conn: u32, state: $crate::bindings::Bytes) {
                    $crate::bindings::destroyed::<$ty>(conn, state)
                }
            }
            $crate::bindings::generated::__export_bindings!(__BrickwallExport with_types_in $crate::bindings::generated);
        };
    };
}
