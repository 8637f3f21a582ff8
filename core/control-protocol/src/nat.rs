//! The NAT plugin's part of the protocol (target [`TARGET`]): `stats` answers its
//! counters ([`NatStatsResponse`]).

use serde::{Deserialize, Serialize};

/// The NAT plugin's name on the control socket.
pub const TARGET: &str = "nat";

/// The NAT plugin's operations (each takes nothing but its name).
pub const OPS: [&str; 1] = ["stats"];

/// The answer to `stats`: what the NAT plugin did since it started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NatStatsResponse {
    /// Connections given a translation.
    pub bound: u64,
    /// Null bindings (no rule translated the connection at a hook).
    pub null_bindings: u64,
    /// Null bindings that moved the source port off a clash.
    pub clash_remaps: u64,
    /// Connections dropped: no free tuple.
    pub exhausted: u64,
    /// Connections dropped: no address for the family.
    pub no_address: u64,
    /// Packets rewritten.
    pub translated: u64,
    /// ICMP errors whose quoted datagram was rewritten.
    pub icmp_errors: u64,
}
