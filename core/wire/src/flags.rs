//! The bits the parsers set in [`Parsed::flags`](crate::Parsed::flags). The engine
//! hands them on to plugins unchanged: `brickwall_hooks::flags` re-exports them beside
//! its own bits.

/// The packet is an IP fragment (IPv4 MF/offset, or an IPv6 fragment header).
pub const FRAGMENT: u16 = 1 << 0;
/// The fragment is not the first one: no L4 header in it.
pub const LATER_FRAGMENT: u16 = 1 << 1;
/// The L4 header is missing or malformed; `l4_off` and `payload_off` are not valid.
pub const L4_MALFORMED: u16 = 1 << 2;
