//! A connection of conntrack's service as a sync entry: what conntrackd would put in a
//! message for the same connection of the kernel's.
//!
//! The service's snapshot has no TCP window scales, SCTP verification tags, DCCP role
//! or master tuple: those attributes are left out.

use crate::wire::conntrack::{Addrs, Conntrack};
use brickwall_control_protocol::conntrack::states;
use brickwall_hooks::services::conntrack::{CtConn, CtTuple, FAMILY_V6};
use std::net::{Ipv4Addr, Ipv6Addr};

const TCP: u8 = 6;
const UDP: u8 = 17;
const DCCP: u8 = 33;
const SCTP: u8 = 132;
const ICMP: u8 = 1;
const ICMPV6: u8 = 58;

/// The number of `conn`'s protocol state, as the sync messages carry it.
fn state(conn: &CtConn) -> Option<u8> {
    states::number(conn.orig.proto, conn.state_name()?)
}

fn addrs(t: &CtTuple) -> Addrs {
    if t.family == FAMILY_V6 {
        Addrs::V6 {
            src: Ipv6Addr::from(t.src),
            dst: Ipv6Addr::from(t.dst),
        }
    } else {
        Addrs::V4 {
            src: Ipv4Addr::new(t.src[0], t.src[1], t.src[2], t.src[3]),
            dst: Ipv4Addr::new(t.dst[0], t.dst[1], t.dst[2], t.dst[3]),
        }
    }
}

/// The entry for `conn`.
pub fn from_conn(conn: &CtConn) -> Conntrack {
    let (o, r) = (&conn.orig, &conn.reply);
    let mut c = Conntrack {
        addrs: Some(addrs(o)),
        l4proto: Some(o.proto),
        status: Some(conn.status),
        timeout: Some(conn.timeout_s.min(u32::MAX as u64) as u32),
        mark: (conn.mark != 0).then_some(conn.mark),
        helper: conn.helper_name().map(str::to_owned),
        ..Conntrack::default()
    };
    let ported = matches!(o.proto, TCP | UDP | DCCP | SCTP);
    match o.proto {
        TCP => c.tcp_state = state(conn),
        SCTP => c.sctp_state = state(conn),
        DCCP => c.dccp_state = state(conn),
        ICMP | ICMPV6 => {
            c.icmp_type = Some((o.dst_id >> 8) as u8);
            c.icmp_code = Some(o.dst_id as u8);
            c.icmp_id = Some(o.src_id);
        }
        _ => {}
    }
    if ported {
        c.ports = Some((o.src_id, o.dst_id));
        if r.dst_id != o.src_id {
            c.spat_port = Some(r.dst_id);
        }
        if r.src_id != o.dst_id {
            c.dpat_port = Some(r.src_id);
        }
    }
    if r.dst != o.src {
        match addrs(r) {
            Addrs::V4 { dst, .. } => c.snat_v4 = Some(dst),
            Addrs::V6 { dst, .. } => c.snat_v6 = Some(dst),
        }
    }
    if r.src != o.dst {
        match addrs(r) {
            Addrs::V4 { src, .. } => c.dnat_v4 = Some(src),
            Addrs::V6 { src, .. } => c.dnat_v6 = Some(src),
        }
    }
    let labels = conn.labels();
    if labels != 0 {
        c.labels = Some((0..4).map(|i| (labels >> (32 * i)) as u32).collect());
    }
    c
}
