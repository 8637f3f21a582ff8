//! brickwall's packet formats, below everything else in the workspace: it depends on
//! nothing but `core` and `alloc`, so the engine, the plugins, the dashboard and the
//! `no_std` helper SDK (built for WebAssembly) all share one definition of each.
//!
//! - Parsing frames into offsets: [`parse_frame`] walks a captured frame from its
//!   link-layer header down to the transport header and returns a [`Parsed`] summary:
//!   where the IP header, the transport header and the payload start, the family, the
//!   L4 protocol, fragment information and the transport fields conntrack needs.
//!   [`parse_datagram`] does the same for a bare IP datagram (injected packets, the
//!   datagram quoted in an ICMP error).
//! - Header views over bytes: [`Ipv4Header`], [`Ipv6Header`], [`TcpHeader`],
//!   [`DccpHeader`] (with the [`dccp`] packet types); their
//!   constructors check the length, their accessors never panic. [`ipv6_ext_len`]
//!   reads an IPv6 extension header's length.
//! - [`ip_proto`]: IP protocol numbers and their names.
//! - [`checksum`]: the Internet checksum, its incremental update and pseudo-headers.
//! - [`Cidr`]: an address with a prefix length.
//! - What a software router sends and answers: [`ethernet`] headers and ethertypes,
//!   [`arp`] (the [`ArpPacket`] view, [`arp_frame`]), IPv6 neighbour discovery
//!   ([`ndisc`]: the [`NdMessage`] view, [`neighbour_solicitation`],
//!   [`neighbour_advertisement`], [`solicited_node`], [`multicast_mac`]) and the
//!   [`icmp`] messages it originates ([`icmp4_error`], [`icmp6_error`],
//!   [`echo_reply`]), built as whole frames or datagrams with their checksums; and
//!   IPv4 [`fragment`]ation on the way out.
//!
//! Layer 3 problems are errors ([`ParseError`]); layer 4 problems are not: they set
//! [`flags::L4_MALFORMED`] on an otherwise valid result, as the kernel lets such
//! packets reach conntrack, which then calls them invalid.
//!
//! The parsers verify no checksums. No input makes anything here panic.

#![cfg_attr(not(test), no_std)]

extern crate alloc;

pub mod arp;
pub mod checksum;
pub mod crc32c;
pub mod dccp;
pub mod ethernet;
pub mod flags;
pub mod fragment;
pub mod icmp;
pub mod ip_proto;
pub mod ndisc;
pub mod reset;
pub mod tcp_flags;

mod bytes;
mod cidr;
mod error;
mod family;
mod gre;
mod ip;
mod ipv4;
mod ipv6;
mod ipv6_ext;
mod link;
mod link_type;
mod parsed;
mod sctp;
mod tcp;
mod transport;

#[cfg(test)]
mod tests;

pub use arp::{arp_frame, ArpPacket};
pub use cidr::{Cidr, CidrError};
pub use dccp::DccpHeader;
pub use error::ParseError;
pub use ethernet::ethernet_header;
pub use family::Family;
pub use icmp::{echo_reply, icmp4_error, icmp6_error};
pub use ipv4::Ipv4Header;
pub use ipv6::Ipv6Header;
pub use ipv6_ext::ipv6_ext_len;
pub use link_type::LinkType;
pub use ndisc::{
    multicast_mac, neighbour_advertisement, neighbour_solicitation, solicited_node, NdMessage,
};
pub use parsed::{FragInfo, Parsed, L4};
pub use reset::tcp_reset;
pub use tcp::TcpHeader;

/// Largest frame (and datagram) these parsers accept: offsets are `u16`.
pub const MAX_FRAME_LEN: usize = u16::MAX as usize;

/// Parses a frame of the given link type.
///
/// Non-IP frames (ARP, LLDP, ...) give [`ParseError::NotIp`]. Errors in the link or IP
/// layer are `Err`; errors in the transport header are not: they set
/// [`flags::L4_MALFORMED`] (see [`L4`] for what is still filled in).
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
