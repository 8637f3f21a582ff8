//! ICMP and ICMPv6 messages a router originates, as whole IP datagrams: errors about
//! a datagram it cannot deliver or forward ([`icmp4_error`], [`icmp6_error`]), with
//! the rules of RFC 1122, RFC 1812 and RFC 4443 on when none may be sent, and answers
//! to pings ([`echo_reply`]); and the type and code numbers they use.

use crate::checksum::{checksum, finish, pseudo_v6, sum};
use crate::ip_proto::{ICMP, ICMPV6};
use crate::{flags, parse_datagram, Ipv4Header, Ipv6Header, MAX_FRAME_LEN};
use alloc::vec::Vec;

/// ICMP type: echo reply.
pub const ECHO_REPLY: u8 = 0;
/// ICMP type: destination unreachable.
pub const DEST_UNREACH: u8 = 3;
/// Destination unreachable code: no route to the network.
pub const NET_UNREACH: u8 = 0;
/// Destination unreachable code: the host does not answer.
pub const HOST_UNREACH: u8 = 1;
/// Destination unreachable code: fragmentation needed but DF set (the next-hop MTU
/// goes in the low 16 bits of the rest of the header).
pub const FRAG_NEEDED: u8 = 4;
/// ICMP type: echo request.
pub const ECHO_REQUEST: u8 = 8;
/// ICMP type: time exceeded.
pub const TIME_EXCEEDED: u8 = 11;
/// Time exceeded code: the TTL reached zero in transit.
pub const TTL_EXCEEDED: u8 = 0;

/// ICMPv6 type: destination unreachable.
pub const V6_DEST_UNREACH: u8 = 1;
/// ICMPv6 destination unreachable code: no route to the destination.
pub const V6_NO_ROUTE: u8 = 0;
/// ICMPv6 destination unreachable code: the address could not be resolved.
pub const V6_ADDR_UNREACH: u8 = 3;
/// ICMPv6 type: packet too big (the MTU is the rest of the header).
pub const V6_PACKET_TOO_BIG: u8 = 2;
/// ICMPv6 type: time exceeded.
pub const V6_TIME_EXCEEDED: u8 = 3;
/// ICMPv6 time exceeded code: the hop limit reached zero in transit.
pub const V6_HOP_LIMIT_EXCEEDED: u8 = 0;
/// ICMPv6 type: parameter problem.
pub const V6_PARAM_PROBLEM: u8 = 4;
/// ICMPv6 parameter problem code: an unrecognised IPv6 option.
pub const V6_UNRECOGNIZED_OPTION: u8 = 2;
/// ICMPv6 type: echo request.
pub const V6_ECHO_REQUEST: u8 = 128;
/// ICMPv6 type: echo reply.
pub const V6_ECHO_REPLY: u8 = 129;

/// TTL (hop limit) of the datagrams built here.
pub const TTL: u8 = 64;
/// Largest ICMP error datagram over IPv4 (RFC 1812 4.3.2.3).
pub const MAX_ERROR_LEN_V4: usize = 576;
/// Largest ICMPv6 error datagram: the IPv6 minimum MTU (RFC 4443 2.4 (c)).
pub const MAX_ERROR_LEN_V6: usize = 1280;

/// Length of an ICMP or ICMPv6 header (type, code, checksum, 4 more bytes).
const HDR_LEN: usize = 8;
/// ICMP types of error messages, to which no error is sent.
const V4_ERROR_TYPES: [u8; 5] = [3, 4, 5, 11, 12];
/// ICMPv6 types from this one up are informational; those below are errors.
const V6_FIRST_INFO_TYPE: u8 = 128;

/// The ICMP error of `icmp_type` and `code` about the IPv4 datagram `offending`, from
/// `src` to the offending datagram's source; `rest` fills bytes 4..8 of the ICMP
/// header (big-endian). As much of the offending datagram is quoted as keeps the
/// error within [`MAX_ERROR_LEN_V4`].
///
/// None where no error may be sent: `offending` does not hold an IPv4 header, is a
/// fragment other than the first, is an ICMP error (types 3, 4, 5, 11, 12, or an
/// ICMP message with no type byte), comes from 0.0.0.0, 255.255.255.255, a multicast
/// or a loopback address, or went to a multicast address or 255.255.255.255.
pub fn icmp4_error(
    src: [u8; 4],
    offending: &[u8],
    icmp_type: u8,
    code: u8,
    rest: u32,
) -> Option<Vec<u8>> {
    let h = Ipv4Header::new(offending)?;
    let hlen = h.header_len();
    if h.version() != 4 || hlen < Ipv4Header::MIN_LEN || offending.len() < hlen {
        return None;
    }
    let (from, to) = (h.src(), h.dst());
    let from_ok = from != [0; 4] && from != [255; 4] && !multicast4(from) && from[0] != 127;
    let to_ok = to != [255; 4] && !multicast4(to);
    if h.frag_offset() != 0 || !from_ok || !to_ok {
        return None;
    }
    // The datagram ends at its total length, or where the bytes do.
    let end = usize::from(h.total_len()).max(hlen).min(offending.len());
    if h.protocol() == ICMP {
        let kind = offending.get(hlen).filter(|_| hlen < end)?;
        if V4_ERROR_TYPES.contains(kind) {
            return None;
        }
    }
    let room = MAX_ERROR_LEN_V4 - Ipv4Header::MIN_LEN - HDR_LEN;
    let quote = offending.get(..end.min(room))?;
    let msg = icmp_message(icmp_type, code, rest, quote);
    Some(icmp4_datagram(src, from, &msg))
}

/// The ICMPv6 error of `icmp_type` and `code` about the IPv6 datagram `offending`,
/// from `src` to the offending datagram's source; `rest` fills bytes 4..8 of the
/// ICMPv6 header (big-endian: the MTU of a packet too big). As much of the offending
/// datagram is quoted as keeps the error within [`MAX_ERROR_LEN_V6`].
///
/// None where RFC 4443 2.4 (e) forbids an error: `offending` does not hold an IPv6
/// header, is an ICMPv6 error (a type below 128 after the extension headers, or an
/// ICMPv6 message with no type byte, unless a later fragment), comes from the
/// unspecified or a multicast address, or went to a multicast address (allowed for
/// packet too big and for a parameter problem about an unrecognised option).
pub fn icmp6_error(
    src: &[u8; 16],
    offending: &[u8],
    icmp_type: u8,
    code: u8,
    rest: u32,
) -> Option<Vec<u8>> {
    let h = Ipv6Header::new(offending)?;
    let (from, to) = (h.src(), h.dst());
    let to_multicast_ok = icmp_type == V6_PACKET_TOO_BIG
        || (icmp_type == V6_PARAM_PROBLEM && code == V6_UNRECOGNIZED_OPTION);
    if h.version() != 6 || from == [0; 16] || from[0] == 0xff {
        return None;
    }
    if to[0] == 0xff && !to_multicast_ok {
        return None;
    }
    let end = (Ipv6Header::LEN + usize::from(h.payload_len())).min(offending.len());
    let datagram = offending.get(..end.min(MAX_FRAME_LEN))?;
    if is_icmp6_error(datagram) {
        return None;
    }
    let room = MAX_ERROR_LEN_V6 - Ipv6Header::LEN - HDR_LEN;
    let quote = offending.get(..end.min(room))?;
    let msg = icmp_message(icmp_type, code, rest, quote);
    Some(icmp6_datagram(src, &from, TTL, &msg))
}

/// The echo reply to an IPv4 ICMP or IPv6 ICMPv6 echo request datagram: addresses
/// swapped, TTL (hop limit) [`TTL`], the identifier, sequence number and data of the
/// request. IPv4 options are dropped; IPv6 extension headers are not looked through.
///
/// None if `request` is no echo request, is a fragment, or is shorter than its IP
/// header says.
pub fn echo_reply(request: &[u8]) -> Option<Vec<u8>> {
    match request.first()? >> 4 {
        4 => echo_reply_v4(request),
        6 => echo_reply_v6(request),
        _ => None,
    }
}

/// [`echo_reply`] for IPv4.
fn echo_reply_v4(request: &[u8]) -> Option<Vec<u8>> {
    let h = Ipv4Header::new(request)?;
    let hlen = h.header_len();
    let total = usize::from(h.total_len());
    if hlen < Ipv4Header::MIN_LEN || h.protocol() != ICMP || h.is_fragment() {
        return None;
    }
    let icmp = request.get(hlen..total).filter(|m| m.len() >= HDR_LEN)?;
    if icmp.first() != Some(&ECHO_REQUEST) {
        return None;
    }
    let msg = reply_message(ECHO_REPLY, icmp)?;
    Some(icmp4_datagram(h.dst(), h.src(), &msg))
}

/// [`echo_reply`] for IPv6.
fn echo_reply_v6(request: &[u8]) -> Option<Vec<u8>> {
    let h = Ipv6Header::new(request)?;
    if h.next_header() != ICMPV6 {
        return None;
    }
    let end = Ipv6Header::LEN + usize::from(h.payload_len());
    let icmp = request
        .get(Ipv6Header::LEN..end)
        .filter(|m| m.len() >= HDR_LEN)?;
    if icmp.first() != Some(&V6_ECHO_REQUEST) {
        return None;
    }
    let msg = reply_message(V6_ECHO_REPLY, icmp)?;
    Some(icmp6_datagram(&h.dst(), &h.src(), TTL, &msg))
}

/// A reply of `kind` (code 0, checksum 0) carrying the rest of `request` after its
/// type, code and checksum.
fn reply_message(kind: u8, request: &[u8]) -> Option<Vec<u8>> {
    let mut msg = Vec::with_capacity(request.len());
    msg.extend_from_slice(&[kind, 0, 0, 0]);
    msg.extend_from_slice(request.get(4..)?);
    Some(msg)
}

/// An ICMP or ICMPv6 message (checksum 0): the header, then `quote`.
fn icmp_message(kind: u8, code: u8, rest: u32, quote: &[u8]) -> Vec<u8> {
    let mut msg = Vec::with_capacity(HDR_LEN + quote.len());
    msg.extend_from_slice(&[kind, code, 0, 0]);
    msg.extend_from_slice(&rest.to_be_bytes());
    msg.extend_from_slice(quote);
    msg
}

/// Whether the IPv6 `datagram` (cut at its payload length) carries an ICMPv6 error,
/// after its extension headers. A chain that cannot be walked, and a later fragment,
/// are not errors; an ICMPv6 message with no type byte is one.
fn is_icmp6_error(datagram: &[u8]) -> bool {
    let Ok(p) = parse_datagram(datagram) else {
        return false;
    };
    if p.l4proto != ICMPV6 || p.has(flags::LATER_FRAGMENT) {
        return false;
    }
    datagram
        .get(usize::from(p.l4_off))
        .is_none_or(|&kind| kind < V6_FIRST_INFO_TYPE)
}

/// Whether `a` is an IPv4 multicast address (224.0.0.0/4).
#[inline]
fn multicast4(a: [u8; 4]) -> bool {
    a[0] & 0xf0 == 0xe0
}

/// `len` as a 16-bit length field; the callers keep their datagrams within it.
#[inline]
fn len16(len: usize) -> u16 {
    debug_assert!(len <= usize::from(u16::MAX));
    u16::try_from(len).unwrap_or(u16::MAX)
}

/// An IPv4 datagram from `src` to `dst` carrying the ICMP message `msg` (whose
/// checksum bytes are 0), both checksums filled in: TTL [`TTL`], no options, DF
/// clear, identification 0.
pub(crate) fn icmp4_datagram(src: [u8; 4], dst: [u8; 4], msg: &[u8]) -> Vec<u8> {
    let mut h = [0u8; Ipv4Header::MIN_LEN];
    h[0] = 0x45;
    h[2..4].copy_from_slice(&len16(Ipv4Header::MIN_LEN + msg.len()).to_be_bytes());
    h[8] = TTL;
    h[9] = ICMP;
    h[12..16].copy_from_slice(&src);
    h[16..20].copy_from_slice(&dst);
    let c = checksum(&h);
    h[10..12].copy_from_slice(&c.to_be_bytes());
    let mut d = Vec::with_capacity(h.len() + msg.len());
    d.extend_from_slice(&h);
    d.extend_from_slice(msg);
    let c = checksum(msg);
    if let Some(field) = d.get_mut(Ipv4Header::MIN_LEN + 2..Ipv4Header::MIN_LEN + 4) {
        field.copy_from_slice(&c.to_be_bytes());
    }
    d
}

/// An IPv6 datagram from `src` to `dst` with `hop_limit` carrying the ICMPv6 message
/// `msg` (whose checksum bytes are 0), its checksum filled in.
pub(crate) fn icmp6_datagram(src: &[u8; 16], dst: &[u8; 16], hop_limit: u8, msg: &[u8]) -> Vec<u8> {
    let len = len16(msg.len());
    let mut d = Vec::with_capacity(Ipv6Header::LEN + msg.len());
    d.extend_from_slice(&[0x60, 0, 0, 0]);
    d.extend_from_slice(&len.to_be_bytes());
    d.extend_from_slice(&[ICMPV6, hop_limit]);
    d.extend_from_slice(src);
    d.extend_from_slice(dst);
    d.extend_from_slice(msg);
    let c = finish(sum(pseudo_v6(src, dst, ICMPV6, u32::from(len)), msg));
    if let Some(field) = d.get_mut(Ipv6Header::LEN + 2..Ipv6Header::LEN + 4) {
        field.copy_from_slice(&c.to_be_bytes());
    }
    d
}
