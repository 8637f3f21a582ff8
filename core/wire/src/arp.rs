//! ARP for Ethernet and IPv4 (RFC 826): [`ArpPacket`], a view of a received ARP
//! packet, and [`arp_frame`], which builds a request or a reply as a whole Ethernet
//! frame.

use crate::bytes::{array, be16};
use crate::ethernet::{ethernet_header, ETHERTYPE_IPV4, MIN_FRAME_LEN};
use alloc::vec::Vec;

pub use crate::ethernet::ETHERTYPE_ARP;

/// Operation of a request ("who has the target IP?").
pub const OP_REQUEST: u16 = 1;
/// Operation of a reply ("the sender IP is at the sender MAC").
pub const OP_REPLY: u16 = 2;

/// Hardware type of Ethernet.
const HTYPE_ETHERNET: u16 = 1;
/// Length of a MAC address.
const HLEN: u8 = 6;
/// Length of an IPv4 address.
const PLEN: u8 = 4;

/// A view of an ARP packet for Ethernet and IPv4 (the body after the Ethernet header).
///
/// [`ArpPacket::new`] checks the length and the address types and lengths; no accessor
/// panics.
#[derive(Clone, Copy, Debug)]
pub struct ArpPacket<'a> {
    /// The bytes from the start of the packet (at least [`ArpPacket::LEN`]).
    b: &'a [u8],
}

impl<'a> ArpPacket<'a> {
    /// Length of an ARP packet for Ethernet and IPv4.
    pub const LEN: usize = 28;

    /// The packet at the start of `b`, if it is ARP for Ethernet (hardware type 1,
    /// 6-byte addresses) and IPv4 (protocol type 0x0800, 4-byte addresses), whole.
    pub fn new(b: &'a [u8]) -> Option<ArpPacket<'a>> {
        let ok = b.len() >= Self::LEN
            && be16(b, 0) == Some(HTYPE_ETHERNET)
            && be16(b, 2) == Some(ETHERTYPE_IPV4)
            && b.get(4) == Some(&HLEN)
            && b.get(5) == Some(&PLEN);
        ok.then_some(ArpPacket { b })
    }

    /// The bytes the view was made from (the packet and whatever follows).
    #[inline]
    pub fn bytes(&self) -> &'a [u8] {
        self.b
    }

    /// The operation ([`OP_REQUEST`], [`OP_REPLY`], or another value).
    #[inline]
    pub fn op(&self) -> u16 {
        be16(self.b, 6).unwrap_or_default()
    }

    /// The sender's MAC address.
    #[inline]
    pub fn sender_mac(&self) -> [u8; 6] {
        array(self.b, 8).unwrap_or_default()
    }

    /// The sender's IPv4 address.
    #[inline]
    pub fn sender_ip(&self) -> [u8; 4] {
        array(self.b, 14).unwrap_or_default()
    }

    /// The target's MAC address (zeros in a request).
    #[inline]
    pub fn target_mac(&self) -> [u8; 6] {
        array(self.b, 18).unwrap_or_default()
    }

    /// The target's IPv4 address.
    #[inline]
    pub fn target_ip(&self) -> [u8; 4] {
        array(self.b, 24).unwrap_or_default()
    }
}

/// An Ethernet frame to `eth_dst` from `sender_mac` carrying an ARP packet of `op`,
/// padded with zeros to the 60-byte Ethernet minimum.
pub fn arp_frame(
    op: u16,
    sender_mac: [u8; 6],
    sender_ip: [u8; 4],
    target_mac: [u8; 6],
    target_ip: [u8; 4],
    eth_dst: [u8; 6],
) -> Vec<u8> {
    let mut f = Vec::with_capacity(MIN_FRAME_LEN);
    f.extend_from_slice(&ethernet_header(eth_dst, sender_mac, ETHERTYPE_ARP));
    f.extend_from_slice(&HTYPE_ETHERNET.to_be_bytes());
    f.extend_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
    f.extend_from_slice(&[HLEN, PLEN]);
    f.extend_from_slice(&op.to_be_bytes());
    f.extend_from_slice(&sender_mac);
    f.extend_from_slice(&sender_ip);
    f.extend_from_slice(&target_mac);
    f.extend_from_slice(&target_ip);
    f.resize(MIN_FRAME_LEN, 0);
    f
}
