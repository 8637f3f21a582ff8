//! ICMP and ICMPv6 errors about a translated connection (Linux's
//! `nf_nat_icmp_reply_translation`): the datagram the error quotes travelled the
//! other way, so it is rewritten with the other manip towards the tuple of its own
//! direction, and the outer header as any packet of the error's direction. The
//! quoted headers' checksums (IPv4 header, transport) and the error's own checksum
//! follow incrementally; ICMPv6's also covers the outer addresses.

use brickwall_hooks::services::conntrack::CtConn;
use brickwall_hooks::{Family, PacketView};
use brickwall_wire::checksum::update;
use brickwall_wire::{ip_proto, parse_datagram};

use crate::rewrite::{icmp_is_error, manip, Target};
use crate::tuple::{Flow, Manip};

/// Length of the ICMP header before the quoted datagram.
const ICMP_HDR: usize = 8;
/// How far into the quoted transport header a rewrite reaches (TCP's checksum ends at
/// 18).
const QUOTED_L4_REACH: usize = 18;

/// Whether the packet is an ICMP or ICMPv6 error.
pub fn is_error(pkt: &PacketView) -> bool {
    let Some(family) = pkt.family() else {
        return false;
    };
    let icmp = matches!(
        (family, pkt.l4proto),
        (Family::Ipv4, ip_proto::ICMP) | (Family::Ipv6, ip_proto::ICMPV6)
    );
    icmp && pkt.l4().first().is_some_and(|&t| icmp_is_error(family, t))
}

/// Translates an error of direction `reply` at manip `m` about connection `conn`,
/// when the connection has a translation this manip undoes or applies; whether
/// anything changed.
pub fn translate(pkt: &mut PacketView, conn: &CtConn, reply: bool, m: Manip) -> bool {
    if conn.status & m.status_bit(reply) == 0 || !pkt.has_l4() {
        return false;
    }
    let Some(family) = pkt.family() else {
        return false;
    };
    let proto = pkt.l4proto;
    let l3 = pkt.l3_off as usize;
    let l3_end = l3 + pkt.l3().len();
    let l4 = (pkt.l4_off as usize).saturating_sub(l3);
    let Some(d) = pkt.frame_mut().get_mut(l3..l3_end) else {
        return false;
    };
    let q = l4 + ICMP_HDR;
    if d.len() <= q {
        return false;
    }
    // The quoted datagram: its family must be the error's.
    let Ok(inner) = parse_datagram(&d[q..]) else {
        return false;
    };
    if inner.family != family {
        return false;
    }
    let inner_l4 = inner.l4_off as usize;
    let inner_l4 = (inner_l4 < d.len() - q).then_some(inner_l4);
    // The quoted packet travelled the other direction: it becomes that direction's
    // tuple at the other manip.
    let other = if reply { &conn.orig } else { &conn.reply };
    let quoted_target = Flow::of(other);
    let im = m.flip();
    let inner_target = Target {
        addr: quoted_target.addr(im),
        key: quoted_target.key(im),
    };
    let reach = (inner_l4.unwrap_or(0) + QUOTED_L4_REACH).min(d.len() - q);
    let before = d[q..q + reach].to_vec();
    let inner_changed = manip(
        &mut d[q..],
        family,
        inner.l4proto,
        inner_l4,
        im,
        &inner_target,
    );
    if inner_changed {
        let c = u16::from_be_bytes([d[l4 + 2], d[l4 + 3]]);
        let n = update(c, &before, &d[q..q + reach]);
        d[l4 + 2..l4 + 4].copy_from_slice(&n.to_be_bytes());
    }
    // The outer header: as any packet of this direction (the error's own type and
    // its unused field stay).
    let outer = Flow::inverse_of(other);
    let outer_changed = manip(
        d,
        family,
        proto,
        Some(l4),
        m,
        &Target {
            addr: outer.addr(m),
            key: None,
        },
    );
    inner_changed || outer_changed
}
