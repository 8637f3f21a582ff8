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

/// Whether an ICMPv6 type is one conntrack leaves untracked (neighbour discovery,
/// router discovery, MLD), as Linux does.
pub fn icmpv6_untracked(family: u8, icmp_type: u8) -> bool {
    family == FAMILY_V6 && matches!(icmp_type, 130..=137 | 143)
}

/// Whether `t` is the tuple of an ICMP error (not a query).
pub fn tuple_is_error(t: &Tuple) -> bool {
    t.is_icmp() && icmp_is_error(t.family, (t.dst_id >> 8) as u8)
}
