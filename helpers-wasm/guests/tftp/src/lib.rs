//! The TFTP helper: a read or write request to udp/69 expects the server's answer from
//! a new port of its own back to the client's port (RFC 1350: the server picks a
//! fresh transfer id), as Linux's `nf_conntrack_tftp`.
//!
//! Behind NAT it does what Linux's `nf_nat_tftp` does: the payload is left alone, and
//! the expectation, which already names the client as the server sees it (the reply
//! tuple's destination), carries the translation that follows the master: the
//! server's answer goes on to the client's real address and port, its source
//! becoming the address the client sent its request to.
//!
//! State, written once when the connection is assigned: the reply tuple
//! ([`Tuple::encode`], 14 or 38 bytes); for a translated connection, then the
//! client's real address and port (the original source: 6 or 18 bytes more).

use brickwall_helper_sdk::{
    export_helper, proto, Addr, ConnInfo, Direction, Expect, ExpectNat, Helper, Outcome, Packet,
    State, Tuple,
};

/// Opcodes that open a transfer: read request, write request.
const RRQ: u16 = 1;
const WRQ: u16 = 2;

/// The helper.
pub struct Tftp;

/// The state: the reply tuple, and where the client really is if translated.
fn decode(state: &[u8]) -> Option<(Tuple, Option<(Addr, u16)>)> {
    let (reply, used) = Tuple::decode(state)?;
    let rest = state.get(used..)?;
    if rest.is_empty() {
        return Some((reply, None));
    }
    let alen = reply.src.octets().len();
    if rest.len() != alen + 2 {
        return None;
    }
    let (addr, port) = rest.split_at_checked(alen)?;
    let port = u16::from_be_bytes(port.try_into().ok()?);
    Some((reply, Some((Addr::from_octets(addr)?, port))))
}

impl Helper for Tftp {
    fn assigned(conn: &ConnInfo) -> Vec<u8> {
        // The reply tuple is the expected connection's shape: from the server's address
        // to the client's address and port, as the server sees them.
        let mut s = Vec::with_capacity(38 + 18);
        conn.reply.encode(&mut s);
        if conn.is_translated() {
            s.extend_from_slice(conn.original.src.octets());
            s.extend_from_slice(&conn.original.src_port.to_be_bytes());
        }
        s
    }

    fn packet(pkt: &Packet<'_>, state: &mut State) -> Outcome {
        let Some((reply, client)) = decode(state.get()) else {
            return Outcome::accept();
        };
        let Some(op) = pkt.payload.get(..2) else {
            return Outcome::accept();
        };
        match u16::from_be_bytes([op[0], op[1]]) {
            RRQ | WRQ => {
                let mut e = Expect::any_src_port(Tuple {
                    protocol: proto::UDP,
                    ..reply
                });
                // The answer travels the master's reply direction, on to the client.
                e.nat = client.map(|(to, to_port)| ExpectNat {
                    dir: Direction::Reply,
                    to,
                    to_port,
                });
                Outcome::expect(e)
            }
            _ => Outcome::accept(),
        }
    }
}

export_helper!(Tftp);

#[cfg(test)]
mod tests {
    use super::*;
    use brickwall_helper_sdk::CtState;

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
        run_on(&conn(), payload)
    }

    fn run_on(c: &ConnInfo, payload: &[u8]) -> Outcome {
        with_state(Tftp::assigned(c), payload)
    }

    /// `payload` from the client with `state` as the host handed it back.
    fn with_state(state: Vec<u8>, payload: &[u8]) -> Outcome {
        let mut st = State::new(state);
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
        assert_eq!(e.nat, None);
        assert_eq!(run(b"\x00\x02f\x00octet\x00").expects.len(), 1);
        assert_eq!(Tftp::assigned(&conn()).len(), 14);
    }

    const RRQ_PAYLOAD: &[u8] = b"\x00\x01rfc1350.txt\x00octet\x00";

    /// The client 10.0.0.2:40000 asks 198.51.100.7:69.
    fn client_conn() -> ConnInfo {
        ConnInfo::of(Tuple {
            src: Addr::V4([10, 0, 0, 2]),
            dst: Addr::V4([198, 51, 100, 7]),
            protocol: proto::UDP,
            src_port: 40000,
            dst_port: 69,
        })
    }

    #[test]
    fn snat_expects_the_answer_at_the_public_address_and_sends_it_on() {
        // The server sees the client as 192.0.2.1:61000 and answers there.
        let mut c = client_conn();
        c.reply.dst = Addr::V4([192, 0, 2, 1]);
        c.reply.dst_port = 61000;
        let out = run_on(&c, RRQ_PAYLOAD);
        assert!(out.rewrites.is_empty(), "no payload edit");
        assert_eq!(out.expects.len(), 1);
        let e = out.expects[0];
        assert_eq!(
            e.tuple,
            Tuple {
                src: Addr::V4([198, 51, 100, 7]),
                dst: Addr::V4([192, 0, 2, 1]),
                protocol: proto::UDP,
                src_port: 69,
                dst_port: 61000,
            }
        );
        assert!(e.any_src_port && !e.any_src_addr);
        assert_eq!(
            e.nat,
            Some(ExpectNat {
                dir: Direction::Reply,
                to: Addr::V4([10, 0, 0, 2]),
                to_port: 40000,
            })
        );
        assert_eq!(Tftp::assigned(&c).len(), 14 + 6);
    }

    #[test]
    fn dnat_expects_the_real_server_and_sends_the_answer_on() {
        // The client asks 192.0.2.1:69, which is 10.0.0.69.
        let mut c = ConnInfo::of(Tuple {
            src: Addr::V4([203, 0, 113, 9]),
            dst: Addr::V4([192, 0, 2, 1]),
            protocol: proto::UDP,
            src_port: 50000,
            dst_port: 69,
        });
        c.reply.src = Addr::V4([10, 0, 0, 69]);
        let e = run_on(&c, RRQ_PAYLOAD).expects[0];
        assert_eq!(
            (e.tuple.src, e.tuple.dst, e.tuple.dst_port),
            (Addr::V4([10, 0, 0, 69]), Addr::V4([203, 0, 113, 9]), 50000)
        );
        assert_eq!(
            e.nat,
            Some(ExpectNat {
                dir: Direction::Reply,
                to: Addr::V4([203, 0, 113, 9]),
                to_port: 50000,
            })
        );
    }

    #[test]
    fn ipv6_snat() {
        let v6 = |s: &str| Addr::V6(s.parse::<std::net::Ipv6Addr>().expect("v6").octets());
        let mut c = ConnInfo::of(Tuple {
            src: v6("fd00::2"),
            dst: v6("2001:db8::7"),
            protocol: proto::UDP,
            src_port: 40000,
            dst_port: 69,
        });
        c.reply.dst = v6("2001:db8:1::1");
        c.reply.dst_port = 61000;
        assert_eq!(Tftp::assigned(&c).len(), 38 + 18);
        let e = run_on(&c, b"\x00\x02f\x00octet\x00").expects[0];
        assert_eq!(
            (e.tuple.dst, e.tuple.dst_port),
            (v6("2001:db8:1::1"), 61000)
        );
        assert_eq!(
            e.nat,
            Some(ExpectNat {
                dir: Direction::Reply,
                to: v6("fd00::2"),
                to_port: 40000,
            })
        );
    }

    #[test]
    fn bad_state_accepts() {
        let mut c = client_conn();
        c.reply.dst_port = 61000;
        let good = Tftp::assigned(&c);
        for n in 0..good.len() + 3 {
            let mut st = good.clone();
            st.resize(n, 0);
            let out = with_state(st, RRQ_PAYLOAD);
            let readable = n == 14 || n == good.len();
            assert_eq!(out.expects.len(), usize::from(readable), "{n} bytes");
        }
    }

    #[test]
    fn other_opcodes_and_short_payloads_expect_nothing() {
        assert!(run(b"\x00\x03\x00\x01data").expects.is_empty());
        assert!(run(b"\x00").expects.is_empty());
        assert_eq!(run(b"\x00\x05\x00\x01").verdict, None);
    }
}
