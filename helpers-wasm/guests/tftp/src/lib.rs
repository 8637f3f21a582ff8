//! The TFTP helper: a read or write request to udp/69 expects the server's answer from
//! a new port of its own back to the client's port (RFC 1350: the server picks a
//! fresh transfer id), as Linux's `nf_conntrack_tftp`.

use brickwall_helper_sdk::{
    export_helper, proto, ConnInfo, Expect, Helper, Outcome, Packet, State, Tuple,
};

/// Opcodes that open a transfer: read request, write request.
const RRQ: u16 = 1;
const WRQ: u16 = 2;

/// The helper.
pub struct Tftp;

impl Helper for Tftp {
    fn assigned(conn: &ConnInfo) -> Vec<u8> {
        // The reply tuple is the expected connection's shape: from the server's address
        // to the client's address and port.
        let mut s = Vec::with_capacity(38);
        conn.reply.encode(&mut s);
        s
    }

    fn packet(pkt: &Packet<'_>, state: &mut State) -> Outcome {
        let Some((reply, _)) = Tuple::decode(state.get()) else {
            return Outcome::accept();
        };
        let Some(op) = pkt.payload.get(..2) else {
            return Outcome::accept();
        };
        match u16::from_be_bytes([op[0], op[1]]) {
            RRQ | WRQ => Outcome::expect(Expect::any_src_port(Tuple {
                protocol: proto::UDP,
                ..reply
            })),
            _ => Outcome::accept(),
        }
    }
}

export_helper!(Tftp);

#[cfg(test)]
mod tests {
    use super::*;
    use brickwall_helper_sdk::{Addr, CtState, Direction};

    fn conn() -> ConnInfo {
        let original = Tuple {
            src: Addr::V4([192, 168, 1, 2]),
            dst: Addr::V4([192, 168, 1, 1]),
            protocol: proto::UDP,
            src_port: 44935,
            dst_port: 69,
        };
        ConnInfo::of(original)
    }

    fn run(payload: &[u8]) -> Outcome {
        let mut st = State::new(Tftp::assigned(&conn()));
        let pkt = Packet {
            conn: 1,
            dir: Direction::Original,
            ct: CtState::New,
            seq: 0,
            tcp_flags: 0,
            payload,
        };
        Tftp::packet(&pkt, &mut st)
    }

    #[test]
    fn a_read_request_expects_the_server_from_any_port_to_the_client_port() {
        let out = run(b"\x00\x01rfc1350.txt\x00octet\x00");
        assert_eq!(out.expects.len(), 1);
        let e = out.expects[0];
        assert_eq!(e.tuple.src, Addr::V4([192, 168, 1, 1]));
        assert_eq!(e.tuple.dst, Addr::V4([192, 168, 1, 2]));
        assert_eq!(e.tuple.dst_port, 44935);
        assert!(e.any_src_port && !e.any_src_addr);
        assert_eq!(run(b"\x00\x02f\x00octet\x00").expects.len(), 1);
    }

    #[test]
    fn other_opcodes_and_short_payloads_expect_nothing() {
        assert!(run(b"\x00\x03\x00\x01data").expects.is_empty());
        assert!(run(b"\x00").expects.is_empty());
        assert_eq!(run(b"\x00\x05\x00\x01").verdict, None);
    }
}
