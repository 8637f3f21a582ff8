//! brickwall's operator side, kept free of the engine: the control protocol both ends
//! speak ([`protocol`]), a client of an engine's control socket ([`client`]),
//! `brickwall ct`, the conntrack-tools compatible command ([`ct`]), and `brickwall top`,
//! the dashboard ([`top`]). The engine (`brickwall-core`) depends on this crate for the
//! protocol and the CLI, never the other way round.

#![warn(missing_docs)]

pub mod client;
pub mod ct;
pub mod protocol;
pub mod top;
