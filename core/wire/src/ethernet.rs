//! Ethernet II: the ethertypes brickwall knows and [`ethernet_header`], which builds
//! the 14-byte header a router puts in front of what it sends.

/// Ethertype of IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// Ethertype of ARP.
pub const ETHERTYPE_ARP: u16 = 0x0806;
/// Ethertype of IPv6.
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
/// Length of an Ethernet II header (destination, source, ethertype).
pub const HEADER_LEN: usize = 14;
/// The least length of an Ethernet frame without its FCS; shorter frames are padded.
pub const MIN_FRAME_LEN: usize = 60;

/// The Ethernet II header of a frame from `src` to `dst` carrying `ethertype`.
#[inline]
pub fn ethernet_header(dst: [u8; 6], src: [u8; 6], ethertype: u16) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[..6].copy_from_slice(&dst);
    h[6..12].copy_from_slice(&src);
    h[12..].copy_from_slice(&ethertype.to_be_bytes());
    h
}
