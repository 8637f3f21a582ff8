//! brickwall's operator side, kept free of the engine: the control protocol both ends
//! speak ([`protocol`]), a client of an engine's control socket ([`client`]), and
//! `brickwall ct`, the conntrack-tools compatible command ([`ct`]). The engine
//! (`brickwall-core`) depends on this crate for the protocol and the CLI, never the
//! other way round.

pub mod client;
pub mod ct;
pub mod protocol;
