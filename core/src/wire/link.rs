//! Link-layer headers: Ethernet with 802.1Q/802.1ad tags, Linux SLL and SLL2, BSD
//! loopback and raw IP, down to where the IP header starts.

use super::bytes::{be16, be32};
use super::ip::Expect;
use super::{LinkType, ParseError};
use etherparse::{
    err::linux_sll::HeaderSliceError as SllError, Ethernet2HeaderSlice, LinuxSllHeaderSlice,
    LinuxSllProtocolType, SingleVlanHeaderSlice,
};

/// Ethertype of IPv4.
const ETH_IPV4: u16 = 0x0800;
/// Ethertype of IPv6.
const ETH_IPV6: u16 = 0x86dd;
/// Ethertypes of VLAN tags: 802.1Q, 802.1ad, and the old pre-standard QinQ value.
const ETH_VLAN: [u16; 3] = [0x8100, 0x88a8, 0x9100];
/// Length of a Linux SLL2 header.
const SLL2_LEN: usize = 20;
/// Length of a Linux SLL header.
const SLL_LEN: usize = 16;
/// Length of the BSD loopback header.
const NULL_LEN: usize = 4;

/// Where the IP header starts and what the link layer says about it.
#[derive(Debug)]
pub(super) struct L3Start {
    /// Offset of the IP header.
    pub offset: usize,
    /// Which IP version the link layer announced.
    pub expect: Expect,
    /// Outermost VLAN id.
    pub vlan: Option<u16>,
}

/// Skips the link-layer headers of `frame`.
pub(super) fn locate_l3(link: LinkType, frame: &[u8]) -> Result<L3Start, ParseError> {
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
    let eth = Ethernet2HeaderSlice::from_slice(frame)
        .map_err(|e| truncated("ethernet", e.required_len, e.len))?;
    after_ethertype(frame, eth.slice().len(), eth.ether_type().0)
}

/// Follows VLAN tags from `offset`, where a payload of `ethertype` starts.
fn after_ethertype(
    frame: &[u8],
    mut offset: usize,
    mut ethertype: u16,
) -> Result<L3Start, ParseError> {
    let mut vlan = None;
    while ETH_VLAN.contains(&ethertype) {
        let rest = frame.get(offset..).unwrap_or_default();
        let tag = SingleVlanHeaderSlice::from_slice(rest)
            .map_err(|e| truncated("vlan", e.required_len, e.len))?;
        vlan = vlan.or(Some(tag.vlan_identifier().value()));
        ethertype = tag.ether_type().0;
        offset += tag.slice().len();
    }
    let expect = match ethertype {
        ETH_IPV4 => Expect::V4,
        ETH_IPV6 => Expect::V6,
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
/// etherparse interprets the protocol by the ARPHRD type and refuses types it does not
/// know (loopback, tunnels, ...); for those the protocol is an ethertype, as libpcap
/// reads it.
fn sll(frame: &[u8]) -> Result<L3Start, ParseError> {
    let ethertype = match LinuxSllHeaderSlice::from_slice(frame) {
        Ok(h) => match h.protocol_type() {
            LinuxSllProtocolType::EtherType(e) => e.0,
            LinuxSllProtocolType::GenericRoutingEncapsulationProtocolType(e) => e,
            other => {
                return Err(ParseError::NotIp {
                    ethertype: u16::from(other),
                })
            }
        },
        Err(SllError::Len(e)) => return Err(truncated("linux-sll", e.required_len, e.len)),
        Err(SllError::Content(_)) => {
            be16(frame, 14).ok_or_else(|| truncated("linux-sll", SLL_LEN, frame.len()))?
        }
    };
    after_ethertype(frame, SLL_LEN, ethertype)
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
