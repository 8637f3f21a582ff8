//! ICMP and ICMPv6: queries (echo, timestamp, information) are connections keyed by
//! their id; errors carry the start of the packet they are about, which is turned into
//! the tuple to look up (the error is RELATED to that connection, or INVALID).

use crate::tuple::{icmp_is_error, icmp_reply_type, icmp_request_type, Tuple, FAMILY_V6};

/// What kind of ICMP message a packet is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IcmpKind {
    /// A query that may start a connection (echo request, ...).
    Request,
    /// The reply to a query.
    Reply,
    /// An error about another packet.
    Error,
    /// Anything else (router advertisements, neighbour discovery, ...): not tracked.
    Other,
}

/// Classifies an ICMP type of a family.
pub fn kind(family: u8, icmp_type: u8) -> IcmpKind {
    if icmp_reply_type(family, icmp_type).is_some() {
        IcmpKind::Request
    } else if icmp_request_type(family, icmp_type).is_some() {
        IcmpKind::Reply
    } else if icmp_is_error(family, icmp_type) {
        IcmpKind::Error
    } else {
        IcmpKind::Other
    }
}

/// The ICMP type and code of an L4 header, if present.
pub fn type_code(l4: &[u8]) -> Option<(u8, u8)> {
    Some((*l4.first()?, *l4.get(1)?))
}

/// Whether an ICMPv6 type is one conntrack leaves untracked, as Linux's
/// `noct_valid_new`: MLD (130–132, 143), router and neighbour discovery (133–136) and
/// multicast router discovery (151, 152). A redirect (137) is not among them: it is
/// handled as an error ([`REDIRECT`]).
pub fn icmpv6_untracked(family: u8, icmp_type: u8) -> bool {
    family == FAMILY_V6 && matches!(icmp_type, 130..=136 | 143 | 151 | 152)
}

/// ICMPv6 redirect (neighbour discovery's type 137).
pub const REDIRECT: u8 = 137;

/// The fixed part of a redirect: the ICMPv6 header, target and destination addresses.
const REDIRECT_FIXED: usize = 8 + 16 + 16;

/// Neighbour discovery's redirected-header option.
const ND_OPT_REDIRECT_HDR: u8 = 4;

/// What an ICMPv6 redirect is to conntrack (Linux's `nf_conntrack_icmpv6_redirect`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Redirect {
    /// Malformed (short, not from a link-local address with hop limit 255, no
    /// options): INVALID, counted as an error.
    Error,
    /// A code other than 0, or a first option other than the redirected header: not
    /// an error; it goes on as any other ICMPv6 message that cannot start a
    /// connection (INVALID).
    Other,
    /// The redirected header's quoted packet starts at this offset of the ICMPv6
    /// message: handled as an error about that packet (RELATED or INVALID).
    Quote(usize),
}

/// Classifies an ICMPv6 redirect: `l4` is the ICMPv6 message, `hop_limit` and `src`
/// its IPv6 header's.
pub fn redirect(l4: &[u8], hop_limit: u8, src: &[u8; 16]) -> Redirect {
    if l4.len() < REDIRECT_FIXED {
        return Redirect::Error;
    }
    if l4[1] != 0 {
        return Redirect::Other;
    }
    let link_local = src[0] == 0xfe && src[1] & 0xc0 == 0x80;
    if hop_limit != 255 || !link_local {
        return Redirect::Error;
    }
    match l4.get(REDIRECT_FIXED..REDIRECT_FIXED + 2) {
        None | Some([_, 0]) => Redirect::Error,
        Some([ND_OPT_REDIRECT_HDR, _]) => Redirect::Quote(REDIRECT_FIXED + 8),
        Some(_) => Redirect::Other,
    }
}

/// Whether `t` is the tuple of an ICMP error (not a query).
pub fn tuple_is_error(t: &Tuple) -> bool {
    t.is_icmp() && icmp_is_error(t.family, (t.dst_id >> 8) as u8)
}
