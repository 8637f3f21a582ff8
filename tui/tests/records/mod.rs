//! Records the clients' tests answer with.

use brickwall_control_protocol::conntrack::value::FamilyName;
use brickwall_control_protocol::conntrack::{ExpectRecord, TupleRecord};
use brickwall_wire::Family;

/// An FTP data expectation with `timeout` seconds left.
pub fn ftp_expectation(id: u32, timeout: u64) -> ExpectRecord {
    let a = |s: &str| s.parse().unwrap();
    let ports = |t: TupleRecord, sport, dport| TupleRecord {
        sport: Some(sport),
        dport: Some(dport),
        ..t
    };
    ExpectRecord {
        id,
        timeout,
        protonum: 6,
        family: FamilyName(Family::Ipv4),
        tuple: ports(TupleRecord::new(a("10.0.0.1"), a("10.0.0.2")), 0, 20000),
        mask: ports(
            TupleRecord::new(a("255.255.255.255"), a("255.255.255.255")),
            0,
            65535,
        ),
        master: ports(TupleRecord::new(a("10.0.0.1"), a("10.0.0.2")), 40000, 21),
        flags: vec![],
        class: 0,
        helper: "ftp".into(),
        zone: 0,
    }
}
