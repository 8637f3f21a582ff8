//! Link-layer headers: Ethernet with 802.1Q/802.1ad tags, Linux SLL and SLL2, BSD
//! loopback and raw IP, down to where the IP header starts.

use crate::bytes::{be16, be32};
use crate::ethernet::{ETHERTYPE_IPV4, ETHERTYPE_IPV6, HEADER_LEN as ETH_LEN};
use crate::ip::Expect;
use crate::{LinkType, ParseError};

/// Ethertypes of VLAN tags: 802.1Q, 802.1ad, and the old pre-standard QinQ value.
const ETH_VLAN: [u16; 3] = [0x8100, 0x88a8, 0x9100];
/// Length of a VLAN tag (TCI and the inner ethertype).
const VLAN_LEN: usize = 4;
/// The VLAN id bits of a TCI.
const VLAN_ID_MASK: u16 = 0x0fff;
/// Length of a Linux SLL2 header.
const SLL2_LEN: usize = 20;
/// Length of a Linux SLL header.
const SLL_LEN: usize = 16;
/// Highest SLL packet type Linux defines (`PACKET_KERNEL`).
const SLL_LAST_PACKET_TYPE: u16 = 7;
/// ARPHRD types whose SLL protocol field is not an ethertype: Frame Relay access
/// (770), 802.11 with radiotap (803), netlink (824).
const SLL_NOT_ETHERTYPE: [u16; 3] = [770, 803, 824];
/// Length of the BSD loopback header.
const NULL_LEN: usize = 4;

/// Where the IP header starts and what the link layer says about it.
#[derive(Debug)]
pub(crate) struct L3Start {
    /// Offset of the IP header.
    pub offset: usize,
    /// Which IP version the link layer announced.
    pub expect: Expect,
    /// Outermost VLAN id.
    pub vlan: Option<u16>,
}

/// Skips the link-layer headers of `frame`.
pub(crate) fn locate_l3(link: LinkType, frame: &[u8]) -> Result<L3Start, ParseError> {
    match link {
        LinkType::Ethernet => ethernet(frame),
        LinkType::LinuxSll => sll(frame),
        LinkType::LinuxSll2 => sll2(frame),
        LinkType::Null => null(frame),
        LinkType::Raw => Ok(at(0, Expect::Any)),
        LinkType::Ipv4 => Ok(at(0, Expect::V4)),
        LinkType::Ipv6 => Ok(at(0, Expect::V6)),
        LinkType::Other(v) => Err(ParseError::UnsupportedLink(v)),
    }
}

/// An untagged start at `offset`.
fn at(offset: usize, expect: Expect) -> L3Start {
    L3Start {
        offset,
        expect,
        vlan: None,
    }
}

/// Error for a link-layer header shorter than `need`.
fn truncated(layer: &'static str, need: usize, have: usize) -> ParseError {
    ParseError::Truncated { layer, need, have }
}

/// Ethernet II, then any VLAN tags.
fn ethernet(frame: &[u8]) -> Result<L3Start, ParseError> {
    if frame.len() < ETH_LEN {
        return Err(truncated("ethernet", ETH_LEN, frame.len()));
    }
    let ethertype = be16(frame, 12).unwrap_or_default();
    after_ethertype(frame, ETH_LEN, ethertype)
}

/// Follows VLAN tags from `offset`, where a payload of `ethertype` starts.
fn after_ethertype(
    frame: &[u8],
    mut offset: usize,
    mut ethertype: u16,
) -> Result<L3Start, ParseError> {
    let mut vlan = None;
    while ETH_VLAN.contains(&ethertype) {
        let tag = frame.get(offset..).unwrap_or_default();
        let (Some(tci), Some(inner)) = (be16(tag, 0), be16(tag, 2)) else {
            return Err(truncated("vlan", VLAN_LEN, tag.len()));
        };
        vlan = vlan.or(Some(tci & VLAN_ID_MASK));
        ethertype = inner;
        offset += VLAN_LEN;
    }
    let expect = match ethertype {
        ETHERTYPE_IPV4 => Expect::V4,
        ETHERTYPE_IPV6 => Expect::V6,
        other => return Err(ParseError::NotIp { ethertype: other }),
    };
    Ok(L3Start {
        offset,
        expect,
        vlan,
    })
}

/// Linux cooked capture v1: the protocol is at bytes 14..16.
///
/// For most ARPHRD types (Ethernet, GRE tunnels, loopback, ...) the protocol is an
/// ethertype, as libpcap reads it; for Frame Relay, radiotap and netlink devices it
/// is something else, and the frame is not IP.
fn sll(frame: &[u8]) -> Result<L3Start, ParseError> {
    let (Some(packet_type), Some(arphrd), Some(protocol)) =
        (be16(frame, 0), be16(frame, 2), be16(frame, 14))
    else {
        return Err(truncated("linux-sll", SLL_LEN, frame.len()));
    };
    if packet_type <= SLL_LAST_PACKET_TYPE && SLL_NOT_ETHERTYPE.contains(&arphrd) {
        return Err(ParseError::NotIp {
            ethertype: protocol,
        });
    }
    after_ethertype(frame, SLL_LEN, protocol)
}

/// Linux cooked capture v2: the protocol is at bytes 0..2 of a 20-byte header.
fn sll2(frame: &[u8]) -> Result<L3Start, ParseError> {
    if frame.len() < SLL2_LEN {
        return Err(truncated("linux-sll2", SLL2_LEN, frame.len()));
    }
    let ethertype = be16(frame, 0).unwrap_or_default();
    after_ethertype(frame, SLL2_LEN, ethertype)
}

/// BSD loopback: a 4-byte address family in the byte order of the capturing host.
fn null(frame: &[u8]) -> Result<L3Start, ParseError> {
    let raw = be32(frame, 0).ok_or_else(|| truncated("null", NULL_LEN, frame.len()))?;
    // Families are small numbers: if the low half of the big-endian reading is zero,
    // the host was little-endian.
    let family = if raw & 0xffff == 0 {
        raw.swap_bytes()
    } else {
        raw
    };
    let expect = match family {
        2 => Expect::V4,
        // AF_INET6 on Linux, NetBSD/OpenBSD, FreeBSD and Darwin.
        10 | 24 | 28 | 30 => Expect::V6,
        other => {
            return Err(ParseError::NotIp {
                ethertype: u16::try_from(other).unwrap_or(u16::MAX),
            })
        }
    };
    Ok(at(NULL_LEN, expect))
}
