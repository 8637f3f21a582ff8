//! The plugin's entries as the control protocol's records: a connection
//! ([`conn_record`]), one of its tuples ([`tuple_record`]), an expectation
//! ([`expect_record`]) and a connection event's snapshot ([`conn_event_record`]).
//! Listings, `get` and events all answer these.

use crate::conn::{status, Conn, DirCounters};
use crate::events::ConnEvent;
use crate::expect::{Expectation, INACTIVE, PERMANENT, USERSPACE};
use crate::tuple::{proto, Tuple, FAMILY_V6};
use brickwall_control_protocol::conntrack::record::proto_name;
use brickwall_control_protocol::conntrack::value::{FamilyName, Labels};
use brickwall_control_protocol::conntrack::{
    ConnEventRecord, ConnRecord, ExpectRecord, TupleRecord,
};
use brickwall_wire::Family;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// An address of a tuple of family `family` (IPv4 in the first four bytes).
pub fn ip_of(family: u8, a: &[u8; 16]) -> IpAddr {
    if family == FAMILY_V6 {
        IpAddr::V6(Ipv6Addr::from(*a))
    } else {
        IpAddr::V4(Ipv4Addr::new(a[0], a[1], a[2], a[3]))
    }
}

/// The family of a tuple.
pub fn family_of(t: &Tuple) -> FamilyName {
    FamilyName(if t.family == FAMILY_V6 {
        Family::Ipv6
    } else {
        Family::Ipv4
    })
}

/// A tuple with its protocol's identifiers, and its counters when given.
pub fn tuple_record(t: &Tuple, counters: Option<DirCounters>) -> TupleRecord {
    let mut r = TupleRecord::new(ip_of(t.family, &t.src), ip_of(t.family, &t.dst));
    match t.proto {
        proto::TCP | proto::UDP | proto::UDPLITE | proto::SCTP | proto::DCCP => {
            r.sport = Some(t.src_id);
            r.dport = Some(t.dst_id);
        }
        proto::ICMP | proto::ICMPV6 if t.is_icmp() => {
            r.icmp_type = Some((t.dst_id >> 8) as u8);
            r.code = Some((t.dst_id & 0xff) as u8);
            r.id = Some(t.src_id);
        }
        proto::GRE => {
            r.srckey = Some(t.src_id);
            r.dstkey = Some(t.dst_id);
        }
        _ => {}
    }
    if let Some(n) = counters {
        r.packets = Some(n.packets);
        r.bytes = Some(n.bytes);
    }
    r
}

/// The names of the status bits set in `bits`.
pub fn status_names(bits: u16) -> Vec<String> {
    status::NAMES
        .iter()
        .filter(|(bit, _)| bits & bit != 0)
        .map(|(_, n)| (*n).to_string())
        .collect()
}

/// Connection `c` at `now` with its counters and start time (kept by the table's
/// extensions, when on).
pub fn conn_record(
    c: &Conn,
    counters: Option<[DirCounters; 2]>,
    start_ns: Option<u64>,
    now: u64,
) -> ConnRecord {
    let t0 = &c.orig;
    ConnRecord {
        id: c.id,
        family: family_of(t0),
        proto: proto_name(t0.proto).to_string(),
        protonum: t0.proto,
        state: c.proto.state_name().map(str::to_string),
        timeout: c.secs_left(now),
        status: status_names(c.status),
        orig: tuple_record(t0, counters.map(|n| n[0])),
        reply: tuple_record(&c.reply(), counters.map(|n| n[1])),
        mark: c.mark,
        zone: t0.zone,
        labels: Labels(c.labels()),
        helper: c.helper().map(str::to_string),
        uses: c.uses(),
        start_ns,
    }
}

/// Connection event `e`: the connection as its snapshot holds it, at the event's time.
pub fn conn_event_record(e: &ConnEvent) -> ConnEventRecord {
    let [t0, t1] = &e.tuple;
    ConnEventRecord {
        kind: e.kind,
        what: e.what,
        ts_ns: e.ts_ns,
        conn: ConnRecord {
            id: e.id,
            family: family_of(t0),
            proto: proto_name(t0.proto).to_string(),
            protonum: t0.proto,
            state: e.state.map(str::to_string),
            timeout: e.timeout_s,
            status: status_names(e.status),
            orig: tuple_record(t0, e.counters.map(|n| n[0])),
            reply: tuple_record(t1, e.counters.map(|n| n[1])),
            mark: e.mark,
            zone: t0.zone,
            labels: Labels(e.labels),
            helper: e.helper.clone(),
            uses: e.uses,
            start_ns: e.start_ns,
        },
    }
}

/// The identifiers an expectation's tuple shows: GRE keys, or ports for any other
/// protocol.
fn expect_tuple(t: &Tuple, src: [u8; 16], src_id: u16, dst: [u8; 16], dst_id: u16) -> TupleRecord {
    let mut r = TupleRecord::new(ip_of(t.family, &src), ip_of(t.family, &dst));
    if t.proto == proto::GRE {
        r.srckey = Some(src_id);
        r.dstkey = Some(dst_id);
    } else {
        r.sport = Some(src_id);
        r.dport = Some(dst_id);
    }
    r
}

/// Expectation `e` at `now_ns`.
pub fn expect_record(e: &Expectation, now_ns: u64) -> ExpectRecord {
    let t = &e.tuple;
    let mt = &e.master_tuple;
    let flags = [
        (PERMANENT, "PERMANENT"),
        (INACTIVE, "INACTIVE"),
        (USERSPACE, "USERSPACE"),
    ]
    .iter()
    .filter(|(bit, _)| e.flags & bit != 0)
    .map(|(_, n)| (*n).to_string())
    .collect();
    ExpectRecord {
        id: e.id,
        timeout: e.expires_ns.saturating_sub(now_ns) / 1_000_000_000,
        protonum: t.proto,
        family: family_of(t),
        tuple: expect_tuple(t, t.src, t.src_id, t.dst, t.dst_id),
        mask: expect_tuple(t, e.mask.src, e.mask.src_id, [0xff; 16], 0xffff),
        master: expect_tuple(mt, mt.src, mt.src_id, mt.dst, mt.dst_id),
        flags,
        class: u32::from(e.class),
        helper: e.helper.clone(),
        zone: t.zone,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_names_include_the_translation_bits() {
        let bits = status::SEEN_REPLY
            | status::ASSURED
            | status::CONFIRMED
            | status::SRC_NAT
            | status::SRC_NAT_DONE;
        assert_eq!(
            status_names(bits),
            [
                "SEEN_REPLY",
                "ASSURED",
                "CONFIRMED",
                "SRC_NAT",
                "SRC_NAT_DONE"
            ]
        );
        assert_eq!(
            status_names(status::DST_NAT | status::DST_NAT_DONE | status::SEQ_ADJUST),
            ["DST_NAT", "SEQ_ADJUST", "DST_NAT_DONE"]
        );
    }
}
