//! The Amanda helper: the backup streams of an Amanda client, as Linux's
//! `nf_conntrack_amanda`. The server asks the client's `amandad` on udp/10080 for a
//! backup; the client answers with a `CONNECT` line naming the TCP ports of its data,
//! message, index and state streams ([`connect`]), and the server connects to each:
//! from the server, any source port, to the client's address and that port.
//!
//! Only the client's answers (the reply direction) are read, every datagram. Each
//! answer sets the master connection's timeout to [`MASTER_TIMEOUT_S`] (Linux's
//! `master_timeout`), since the client's answers to the server can come late. Linux
//! stretches it on an answer without payload too; the host calls the helper only for
//! packets with payload, so an empty answer keeps UDP's timeout.
//!
//! Behind NAT (Linux's `nf_nat_amanda`) the ports are kept, so the payload is left
//! alone, and each expectation follows the master: the server's connection goes on
//! to the client's real address (the reply's source) on the same port.
//!
//! State, written when the connection is assigned: the original tuple, then the reply
//! tuple ([`Tuple::encode`]): 28 or 76 bytes.

pub mod connect;

use brickwall_helper_sdk::{
    export_helper, proto, ConnInfo, Direction, Expect, ExpectNat, Helper, Outcome, Packet, State,
    Tuple,
};

/// The master connection's timeout after each of the client's answers, seconds
/// (Linux's `master_timeout` default).
pub const MASTER_TIMEOUT_S: u32 = 300;

/// The helper.
pub struct Amanda;

/// The state's two tuples.
fn decode(state: &[u8]) -> Option<ConnInfo> {
    let (original, used) = Tuple::decode(state)?;
    let (reply, _) = Tuple::decode(state.get(used..)?)?;
    Some(ConnInfo {
        reply,
        ..ConnInfo::of(original)
    })
}

impl Helper for Amanda {
    fn assigned(conn: &ConnInfo) -> Vec<u8> {
        let mut s = Vec::with_capacity(76);
        conn.original.encode(&mut s);
        conn.reply.encode(&mut s);
        s
    }

    fn packet(pkt: &Packet<'_>, state: &mut State) -> Outcome {
        if pkt.dir != Direction::Reply {
            return Outcome::accept();
        }
        let mut out = Outcome {
            timeout_s: Some(MASTER_TIMEOUT_S),
            ..Outcome::accept()
        };
        let Some(conn) = decode(state.get()) else {
            return out;
        };
        for port in connect::ports(pkt.payload) {
            let mut e = Expect::any_src_port(Tuple {
                protocol: proto::TCP,
                src_port: 0,
                dst_port: port,
                ..conn.original
            });
            if conn.is_translated() {
                e.nat = Some(ExpectNat {
                    dir: Direction::Original,
                    to: conn.reply.src,
                    to_port: port,
                });
            }
            out.expects.push(e);
        }
        out
    }
}

export_helper!(Amanda);

#[cfg(test)]
mod tests {
    use super::*;
    use brickwall_helper_sdk::{Addr, CtState};

    /// The server 10.0.0.1 asks the client 10.0.0.2.
    fn conn() -> ConnInfo {
        ConnInfo::of(Tuple {
            src: Addr::V4([10, 0, 0, 1]),
            dst: Addr::V4([10, 0, 0, 2]),
            protocol: proto::UDP,
            src_port: 850,
            dst_port: 10080,
        })
    }

    fn run(c: &ConnInfo, dir: Direction, payload: &[u8]) -> Outcome {
        let mut st = State::new(Amanda::assigned(c));
        let pkt = Packet {
            conn: 1,
            dir,
            ct: CtState::Established,
            seq: 0,
            tcp_flags: 0,
            payload,
        };
        let out = Amanda::packet(&pkt, &mut st);
        assert!(!st.changed(), "state is written once");
        out
    }

    const REP: &[u8] = b"Amanda 3.5 REP HANDLE 000-00000000 SEQ 1\n\
        CONNECT DATA 40001 MESG 40002 INDEX 40003 STATE 40004\nOPTIONS features=ffff;\n";

    #[test]
    fn the_answer_expects_the_server_at_each_stream() {
        let out = run(&conn(), Direction::Reply, REP);
        let ports: Vec<u16> = out.expects.iter().map(|e| e.tuple.dst_port).collect();
        assert_eq!(ports, [40001, 40002, 40003, 40004]);
        for e in &out.expects {
            assert_eq!(e.tuple.src, Addr::V4([10, 0, 0, 1]));
            assert_eq!(e.tuple.dst, Addr::V4([10, 0, 0, 2]));
            assert_eq!(e.tuple.protocol, proto::TCP);
            assert!(e.any_src_port && !e.any_src_addr && !e.permanent);
            assert_eq!(e.nat, None);
        }
        assert!(out.rewrites.is_empty());
        // The server's own datagrams are not read.
        assert!(run(&conn(), Direction::Original, REP).expects.is_empty());
        assert_eq!(Amanda::assigned(&conn()).len(), 28);
    }

    #[test]
    fn each_answer_stretches_the_master_to_300_s() {
        assert_eq!(run(&conn(), Direction::Reply, REP).timeout_s, Some(300));
        // An answer without a CONNECT line too.
        let out = run(
            &conn(),
            Direction::Reply,
            b"Amanda 3.5 ACK HANDLE 000 SEQ 1\n",
        );
        assert!(out.expects.is_empty());
        assert_eq!(out.timeout_s, Some(300));
        // The server's requests leave the timeout alone.
        assert_eq!(run(&conn(), Direction::Original, REP).timeout_s, None);
    }

    #[test]
    fn behind_a_port_forward_the_streams_follow_the_master() {
        // The server asks 192.0.2.1, which is the client 10.0.0.2 inside.
        let mut c = ConnInfo::of(Tuple {
            src: Addr::V4([203, 0, 113, 9]),
            dst: Addr::V4([192, 0, 2, 1]),
            protocol: proto::UDP,
            src_port: 850,
            dst_port: 10080,
        });
        c.reply.src = Addr::V4([10, 0, 0, 2]);
        let out = run(&c, Direction::Reply, REP);
        assert_eq!(out.expects.len(), 4);
        let e = out.expects[1];
        assert_eq!(e.tuple.dst, Addr::V4([192, 0, 2, 1]));
        assert_eq!(
            e.nat,
            Some(ExpectNat {
                dir: Direction::Original,
                to: Addr::V4([10, 0, 0, 2]),
                to_port: 40002,
            })
        );
        assert!(out.rewrites.is_empty());
    }

    #[test]
    fn state_the_host_never_wrote_expects_nothing() {
        let mut st = State::new(vec![4, 1, 2]);
        let pkt = Packet {
            conn: 1,
            dir: Direction::Reply,
            ct: CtState::Established,
            seq: 0,
            tcp_flags: 0,
            payload: REP,
        };
        assert!(Amanda::packet(&pkt, &mut st).expects.is_empty());
    }
}
