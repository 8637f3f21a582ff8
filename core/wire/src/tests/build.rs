//! Builders of test frames, byte by byte (no checksums: the parsers ignore them).

pub use crate::ethernet::{ETHERTYPE_IPV4 as ETH_IPV4, ETHERTYPE_IPV6 as ETH_IPV6};

/// An Ethernet II frame.
pub fn eth(ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2];
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// A VLAN tag (TCI with priority 0) followed by `payload` of `ethertype`.
pub fn vlan(id: u16, ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = id.to_be_bytes().to_vec();
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// A Linux SLL header with the given ARPHRD type and protocol.
pub fn sll(arphrd: u16, proto: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0, 0]; // packet type: to us
    f.extend_from_slice(&arphrd.to_be_bytes());
    f.extend_from_slice(&6u16.to_be_bytes());
    f.extend_from_slice(&[0x02, 0, 0, 0, 0, 1, 0, 0]);
    f.extend_from_slice(&proto.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// A Linux SLL2 header with the given protocol.
pub fn sll2(proto: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = proto.to_be_bytes().to_vec();
    f.extend_from_slice(&[0, 0]); // reserved
    f.extend_from_slice(&3u32.to_be_bytes()); // interface index
    f.extend_from_slice(&1u16.to_be_bytes()); // ARPHRD_ETHER
    f.push(0); // packet type
    f.push(6); // address length
    f.extend_from_slice(&[0x02, 0, 0, 0, 0, 1, 0, 0]);
    f.extend_from_slice(payload);
    f
}

/// Fields of an IPv4 header that tests vary.
#[derive(Clone, Copy)]
pub struct V4 {
    /// Protocol.
    pub proto: u8,
    /// Identification.
    pub id: u16,
    /// Fragment offset in 8-byte units.
    pub frag_units: u16,
    /// More fragments.
    pub mf: bool,
}

impl V4 {
    /// An unfragmented datagram of `proto`.
    pub fn proto(proto: u8) -> V4 {
        V4 {
            proto,
            id: 0x1234,
            frag_units: 0,
            mf: false,
        }
    }
}

/// An IPv4 datagram with `options` (a multiple of 4 bytes) and a correct total length.
pub fn ipv4(h: V4, options: &[u8], payload: &[u8]) -> Vec<u8> {
    let hlen = 20 + options.len();
    let total = (hlen + payload.len()) as u16;
    let frag = h.frag_units | if h.mf { 0x2000 } else { 0 };
    let mut d = vec![0x40 | (hlen / 4) as u8, 0];
    d.extend_from_slice(&total.to_be_bytes());
    d.extend_from_slice(&h.id.to_be_bytes());
    d.extend_from_slice(&frag.to_be_bytes());
    d.extend_from_slice(&[64, h.proto, 0, 0]);
    d.extend_from_slice(&[10, 0, 0, 1, 10, 0, 0, 2]);
    d.extend_from_slice(options);
    d.extend_from_slice(payload);
    d
}

/// An IPv4 datagram without options.
pub fn ip4(proto: u8, payload: &[u8]) -> Vec<u8> {
    ipv4(V4::proto(proto), &[], payload)
}

/// An IPv6 datagram whose `payload` starts with a header of type `next`.
pub fn ipv6(next: u8, payload: &[u8]) -> Vec<u8> {
    let mut d = vec![0x60, 0, 0, 0];
    d.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    d.extend_from_slice(&[next, 64]);
    d.extend_from_slice(&[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    d.extend_from_slice(&[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
    d.extend_from_slice(payload);
    d
}

/// An 8-byte IPv6 option header (hop-by-hop, destination) with PadN, then `rest`.
pub fn opts_ext(next: u8, rest: &[u8]) -> Vec<u8> {
    let mut d = vec![next, 0, 1, 4, 0, 0, 0, 0];
    d.extend_from_slice(rest);
    d
}

/// An IPv6 fragment header, then `rest`.
pub fn frag_ext(next: u8, id: u32, offset_units: u16, more: bool, rest: &[u8]) -> Vec<u8> {
    let mut d = vec![next, 0];
    d.extend_from_slice(&((offset_units << 3) | u16::from(more)).to_be_bytes());
    d.extend_from_slice(&id.to_be_bytes());
    d.extend_from_slice(rest);
    d
}

/// A TCP segment with `flags`, `options` (a multiple of 4 bytes) and `payload`.
pub fn tcp(sport: u16, dport: u16, flags: u8, options: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut d = sport.to_be_bytes().to_vec();
    d.extend_from_slice(&dport.to_be_bytes());
    d.extend_from_slice(&1000u32.to_be_bytes());
    d.extend_from_slice(&2000u32.to_be_bytes());
    d.push((((20 + options.len()) / 4) as u8) << 4);
    d.push(flags);
    d.extend_from_slice(&0xfaf0u16.to_be_bytes());
    d.extend_from_slice(&[0, 0, 0, 0]);
    d.extend_from_slice(options);
    d.extend_from_slice(payload);
    d
}

/// A UDP datagram.
pub fn udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut d = sport.to_be_bytes().to_vec();
    d.extend_from_slice(&dport.to_be_bytes());
    d.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    d.extend_from_slice(&[0, 0]);
    d.extend_from_slice(payload);
    d
}

/// A TCP SYN in IPv4 in Ethernet, with MSS and SACK-permitted options and 4 payload bytes.
pub fn tcp_frame() -> Vec<u8> {
    let seg = tcp(40000, 80, 0x02, &[2, 4, 5, 0xb4, 4, 2, 1, 1], b"data");
    eth(ETH_IPV4, &ip4(6, &seg))
}
