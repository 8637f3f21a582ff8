//! The SNMP helper: the IPv4 addresses inside SNMP messages of a translated connection,
//! as Linux's `nf_nat_snmp_basic` ("basic" NAT: addresses, not ports). It expects
//! nothing; it rewrites. Assign it to udp/161 and udp/162 (Linux's `snmp` and
//! `snmp_trap` helpers).
//!
//! Read, as by Linux: every packet of a connection behind NAT, IPv4 only, except one
//! from udp/161 in the original direction (an agent's answers travel the reply
//! direction) and one to udp/162 in the reply direction (traps travel the original
//! direction). In each, every `IpAddress` equal to the connection's original source
//! (the host behind the source NAT) is replaced by the address the far side sees it as
//! (the reply's destination), in the message's own encoding, so the length stays and
//! only the checksum changes (which the host fixes). A message the walk cannot read
//! ([`ber`]: SNMPv3, a malformed one) is dropped, as Linux drops it.
//!
//! One known difference: Linux 6.18's `nf_nat_snmp_basic` drops net-snmp's SNMPv1
//! traps behind NAT (measured: `snmptrap -v 1` through a masquerading kernel never
//! arrives, without the masquerade it does; `-v 2c` traps arrive rewritten); this
//! helper rewrites v1 traps' agent addresses as the grammar says.
//!
//! Linux's conntrack side of SNMP (an expectation for the answers to a query a host
//! sends to a broadcast address) needs to know the route of the host's own packets,
//! which a helper is not told: it is not done.
//!
//! State, written when the connection is assigned: the original tuple, then the reply
//! tuple ([`Tuple::encode`]: 28 bytes); empty for IPv6.

pub mod ber;

use brickwall_helper_sdk::{
    export_helper, Addr, ConnInfo, Direction, Edit, Helper, Outcome, Packet, State, Tuple,
};

/// The agents' port.
pub const SNMP_PORT: u16 = 161;
/// The managers' trap port.
pub const TRAP_PORT: u16 = 162;

/// The helper.
pub struct Snmp;

/// The connection's two tuples, from the state.
fn decode(state: &[u8]) -> Option<(Tuple, Tuple)> {
    let (original, used) = Tuple::decode(state)?;
    let (reply, _) = Tuple::decode(state.get(used..)?)?;
    Some((original, reply))
}

/// The edits that make every address `from` in `msg` read `to`; `None` when the
/// message cannot be read.
pub fn translate(msg: &[u8], from: [u8; 4], to: [u8; 4]) -> Option<Vec<Edit>> {
    let at = ber::addresses(msg).ok()?;
    Some(
        at.into_iter()
            .filter(|&i| msg.get(i..i + 4) == Some(&from[..]))
            .map(|i| Edit::replace(i..i + 4, to.to_vec()))
            .collect(),
    )
}

impl Helper for Snmp {
    fn assigned(conn: &ConnInfo) -> Vec<u8> {
        if conn.original.src.is_v6() {
            return Vec::new();
        }
        let mut s = Vec::with_capacity(28);
        conn.original.encode(&mut s);
        conn.reply.encode(&mut s);
        s
    }

    fn packet(pkt: &Packet<'_>, state: &mut State) -> Outcome {
        let Some((original, reply)) = decode(state.get()) else {
            return Outcome::accept();
        };
        let (sport, dport) = match pkt.dir {
            Direction::Original => (original.src_port, original.dst_port),
            Direction::Reply => (reply.src_port, reply.dst_port),
        };
        // Neither an agent's packet in the original direction nor one to a manager's
        // trap port in the reply direction.
        if sport == SNMP_PORT && pkt.dir != Direction::Reply {
            return Outcome::accept();
        }
        if dport == TRAP_PORT && pkt.dir != Direction::Original {
            return Outcome::accept();
        }
        if reply == original.reversed() {
            return Outcome::accept();
        }
        let (Addr::V4(from), Addr::V4(to)) = (original.src, reply.dst) else {
            return Outcome::accept();
        };
        if from == to {
            return Outcome::accept();
        }
        match translate(pkt.payload, from, to) {
            Some(rewrites) => Outcome {
                rewrites,
                ..Outcome::accept()
            },
            None => Outcome::drop(),
        }
    }
}

export_helper!(Snmp);

#[cfg(test)]
mod tests {
    use super::ber::tests::{binding, response_v2c, tlv, trap_v1};
    use super::*;
    use brickwall_helper_sdk::{proto, CtState, Verdict};

    /// An agent at 10.0.0.2 (behind a source NAT to 192.0.2.1) sends a trap to a
    /// manager at 198.51.100.7.
    fn trap_conn() -> ConnInfo {
        let mut c = ConnInfo::of(Tuple {
            src: Addr::V4([10, 0, 0, 2]),
            dst: Addr::V4([198, 51, 100, 7]),
            protocol: proto::UDP,
            src_port: 40000,
            dst_port: TRAP_PORT,
        });
        c.reply.dst = Addr::V4([192, 0, 2, 1]);
        c.reply.dst_port = 61000;
        c
    }

    fn run(c: &ConnInfo, dir: Direction, payload: &[u8]) -> Outcome {
        let mut st = State::new(Snmp::assigned(c));
        let pkt = Packet {
            conn: 1,
            dir,
            ct: CtState::New,
            seq: 0,
            tcp_flags: 0,
            payload,
        };
        Snmp::packet(&pkt, &mut st)
    }

    #[test]
    fn a_trap_from_behind_a_source_nat_names_the_public_address() {
        let m = trap_v1(
            [10, 0, 0, 2],
            &[
                binding(tlv(0x40, &[10, 0, 0, 2])),
                binding(tlv(0x40, &[10, 0, 0, 3])),
            ],
        );
        let out = run(&trap_conn(), Direction::Original, &m);
        assert_eq!(out.verdict, None);
        assert_eq!(out.rewrites.len(), 2, "the agent address and one binding");
        let mut edited = m.clone();
        for e in &out.rewrites {
            let at = e.offset as usize;
            assert_eq!(e.length, 4);
            edited[at..at + 4].copy_from_slice(&e.data);
        }
        let at = ber::addresses(&edited).unwrap();
        let values: Vec<&[u8]> = at.iter().map(|&i| &edited[i..i + 4]).collect();
        assert_eq!(
            values,
            [&[192, 0, 2, 1][..], &[192, 0, 2, 1], &[10, 0, 0, 3]]
        );
    }

    /// A connection from `src`:`sport` behind a source NAT to 192.0.2.1.
    fn snat(src: [u8; 4], sport: u16, dport: u16) -> ConnInfo {
        let mut c = ConnInfo::of(Tuple {
            src: Addr::V4(src),
            dst: Addr::V4([198, 51, 100, 9]),
            protocol: proto::UDP,
            src_port: sport,
            dst_port: dport,
        });
        c.reply.dst = Addr::V4([192, 0, 2, 1]);
        c
    }

    #[test]
    fn translated_connections_are_read_but_for_linuxs_two_exceptions() {
        let m = trap_v1([10, 0, 0, 2], &[]);
        // Not translated.
        let plain = ConnInfo::of(trap_conn().original);
        assert!(run(&plain, Direction::Original, &m).rewrites.is_empty());
        // A manager behind the NAT queries an agent: its query and the agent's answer
        // are both read.
        let q = snat([10, 0, 0, 5], 50000, SNMP_PORT);
        let naming = response_v2c(&[binding(tlv(0x40, &[10, 0, 0, 5]))]);
        assert_eq!(run(&q, Direction::Reply, &naming).rewrites.len(), 1);
        assert_eq!(run(&q, Direction::Original, &naming).rewrites.len(), 1);
        // An agent's packet from udp/161 in the original direction is not.
        let from_agent = snat([10, 0, 0, 5], SNMP_PORT, 9999);
        assert!(run(&from_agent, Direction::Original, &naming)
            .rewrites
            .is_empty());
        assert_eq!(
            run(&from_agent, Direction::Reply, &naming).rewrites.len(),
            1
        );
        // Nor one to udp/162 in the reply direction.
        let from_trap_port = snat([10, 0, 0, 5], TRAP_PORT, 9999);
        let mut back = from_trap_port;
        back.reply.dst_port = TRAP_PORT;
        assert!(run(&back, Direction::Reply, &naming).rewrites.is_empty());
        assert_eq!(run(&back, Direction::Original, &naming).rewrites.len(), 1);
    }

    #[test]
    fn an_unreadable_message_of_a_translated_connection_is_dropped() {
        let out = run(&trap_conn(), Direction::Original, b"\x30\x03\x02\x01\x03");
        assert_eq!(out.verdict, Some(Verdict::Drop));
        // IPv6 connections are not looked at.
        let v6 = ConnInfo::of(Tuple {
            src: Addr::V6([0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
            dst: Addr::V6([0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]),
            protocol: proto::UDP,
            src_port: 40000,
            dst_port: TRAP_PORT,
        });
        assert!(Snmp::assigned(&v6).is_empty());
        assert_eq!(run(&v6, Direction::Original, b"junk").verdict, None);
    }
}
