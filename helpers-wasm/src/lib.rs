//! brickwall's application helpers: WebAssembly components (the world in
//! `helpers-wasm/wit`) run by wasmtime in a sandbox — no imports but a rate-limited
//! log, a memory limit and a run-time budget per call, re-instantiation after a trap,
//! disabling after repeated failures — and the eight bundled ones (FTP, IRC, TFTP,
//! PPTP, SANE, Amanda, SNMP, SIP). The conntrack plugin drives a [`HelperSet`]: it assigns connections, hands
//! over each packet with payload and creates the expectations that come back.
//!
//! The host loads components of the current world, `brickwall:helper@0.4.0`, and of
//! the older `brickwall:helper@0.3.0` (which cannot flush expectations or set its
//! connection's timeout) and `brickwall:helper@0.2.0` (which has no NAT for
//! expectations either, and whose rewrites are never applied); each is called through
//! its own version's bindings.
//!
//! Files: [`policy`] (config), [`engine`] (wasmtime engine and epoch ticker),
//! [`cache`] (precompiled components on disk), [`check`] (the world version a
//! component implements, its imports and exports), [`bindings`] (the generated host
//! side of every version, the log import), [`world`] (calls dispatched to a
//! component's version), `convert` (host values to and from each version's types),
//! [`instance`] (one sandboxed instance and its failures), [`set`] (the helpers
//! conntrack calls), [`conn`] (the values exchanged), [`stats`], [`builtin`] (the
//! bundled components), [`standalone`] (one helper over captured packets with a
//! connection map of its own, for `brickwall helper run`).

pub mod bindings;
pub mod builtin;
pub mod cache;
pub mod check;
pub mod conn;
mod convert;
pub mod engine;
pub mod instance;
pub mod policy;
pub mod set;
pub mod standalone;
pub mod stats;
pub mod world;

pub use check::WorldVersion;
pub use conn::{
    CallOutcome, Edit, ExpectNat, ExpectRequest, HConnInfo, HCtState, HTuple, PacketCall,
};
pub use policy::{Budget, HelperPolicy, OnExpectFailure, OnFailure, SandboxPolicy};
pub use set::{HelperId, HelperReport, HelperSet};
pub use stats::HelperStats;

/// Compiles `wasm` with a default engine and reports its imports and exports, to be
/// checked against the helper world with [`check::Interface::validate`] (`brickwall
/// helper check`).
pub fn inspect(wasm: &[u8]) -> Result<check::Interface, String> {
    if !check::is_component(wasm) {
        return Err("not a WebAssembly component".into());
    }
    let engine = wasmtime::Engine::default();
    let c = wasmtime::component::Component::new(&engine, wasm)
        .map_err(|e| format!("does not compile: {e:#}"))?;
    Ok(check::Interface::of(&engine, &c))
}
