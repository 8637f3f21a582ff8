//! brickwall's operator side, kept free of the engine: a client of an engine's control
//! socket ([`client`]), `brickwall ct`, the conntrack-tools compatible command ([`ct`]),
//! `brickwall filter`, the filter's chains as an nftables ruleset ([`filter`]),
//! `brickwall sync`, the sync plugin's caches and requests as conntrackd's options
//! ([`sync`]), and
//! `brickwall top`, the dashboard ([`top`]). Both ends take the control protocol
//! from `brickwall-control-protocol` ([`protocol`] is its envelope); the engine
//! (`brickwall-engine`) never depends on this crate, and only the `brickwall` binary
//! links both.

#![warn(missing_docs)]

pub mod client;
pub mod ct;
pub mod filter;
pub mod sync;
pub use brickwall_control_protocol::envelope as protocol;
pub mod top;
