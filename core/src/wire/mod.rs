//! Link, network and transport headers: parsing frames into offsets.
//!
//! [`parse_frame`] walks a captured frame from its link-layer header down to the
//! transport header and returns a [`Parsed`] summary: where the IP header, the
//! transport header and the payload start, the family, the L4 protocol, fragment
//! information and the transport fields conntrack needs. [`parse_datagram`] does the
//! same for a bare IP datagram (injected packets, the datagram quoted in an ICMP error).
//!
//! Layer 3 problems are errors ([`ParseError`]); layer 4 problems are not: they set
//! [`brickwall_hooks::flags::L4_MALFORMED`] on an otherwise valid result, as the kernel
//! lets such packets reach conntrack, which then calls them invalid.
//!
//! Nothing here verifies checksums. No input makes these functions panic.

mod bytes;
mod error;
mod gre;
mod ip;
mod ipv6_ext;
mod link;
mod link_type;
mod parsed;
mod sctp;
mod transport;

#[cfg(test)]
mod tests;

pub use error::ParseError;
pub use link_type::LinkType;
pub use parsed::{FragInfo, Parsed, L4};

/// Largest frame (and datagram) these parsers accept: offsets are `u16`.
pub const MAX_FRAME_LEN: usize = u16::MAX as usize;

/// Parses a frame of the given link type.
///
/// Non-IP frames (ARP, LLDP, ...) give [`ParseError::NotIp`]. Errors in the link or IP layer are
/// `Err`; errors in the transport header are not: they set
/// [`brickwall_hooks::flags::L4_MALFORMED`] (see [`L4`] for what is still filled in).
pub fn parse_frame(link: LinkType, frame: &[u8]) -> Result<Parsed, ParseError> {
    check_len(frame)?;
    let start = link::locate_l3(link, frame)?;
    let mut parsed = ip::parse_ip(frame, start.offset, start.expect)?;
    parsed.vlan = start.vlan;
    Ok(parsed)
}

/// Parses a bare IP datagram (it starts with the IP header; the version comes from the
/// first nibble).
///
/// A datagram cut short (as the one quoted in an ICMP error) still parses: the IP total
/// length is clipped to the bytes present and the transport header is reported as far
/// as it goes (see [`L4`]).
pub fn parse_datagram(data: &[u8]) -> Result<Parsed, ParseError> {
    check_len(data)?;
    ip::parse_ip(data, 0, ip::Expect::Any)
}

/// Rejects inputs whose offsets would not fit in `u16`.
fn check_len(data: &[u8]) -> Result<(), ParseError> {
    if data.len() > MAX_FRAME_LEN {
        return Err(ParseError::FrameTooLong { len: data.len() });
    }
    Ok(())
}
