//! The knock example helper, in Rust with brickwall's SDK.
//!
//! A made-up protocol on udp/7777: a datagram from the client (the Original direction)
//! whose payload is ASCII `OPEN <port>` (optionally followed by `"\n"`; the port decimal,
//! 1..=65535) asks the server to connect back. The helper expects a TCP connection from
//! the server's address (the reply tuple's source), any source port, to the client's
//! address (the reply tuple's destination) and that port. Anything else is accepted and
//! expects nothing. The per-connection state is the reply tuple, as
//! [`Tuple::encode`] writes it.
//!
//! The same helper is written in C (`examples/helpers/c`) and Python
//! (`examples/helpers/python`); the three behave alike.

use brickwall_helper_sdk::{
    export_helper, proto, ConnInfo, Direction, Expect, Helper, Outcome, Packet, State, Tuple,
};

/// The helper.
pub struct Knock;

/// The port of an `OPEN <port>` request (optionally ending in a newline), if `payload`
/// is one.
pub fn parse_open(payload: &[u8]) -> Option<u16> {
    let line = payload.strip_suffix(b"\n").unwrap_or(payload);
    let digits = line.strip_prefix(b"OPEN ")?;
    if digits.is_empty() || digits.len() > 5 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let port = digits
        .iter()
        .fold(0u32, |n, d| n * 10 + u32::from(d - b'0'));
    u16::try_from(port).ok().filter(|&p| p != 0)
}

impl Helper for Knock {
    fn assigned(conn: &ConnInfo) -> Vec<u8> {
        let mut s = Vec::with_capacity(38);
        conn.reply.encode(&mut s);
        s
    }

    fn packet(pkt: &Packet<'_>, state: &mut State) -> Outcome {
        if pkt.dir != Direction::Original {
            return Outcome::accept();
        }
        let (Some(port), Some((reply, _))) = (parse_open(pkt.payload), Tuple::decode(state.get()))
        else {
            return Outcome::accept();
        };
        // From the server (the reply's source), any port, to the client (the reply's
        // destination) at the port asked for.
        Outcome::expect(Expect::any_src_port(Tuple {
            src: reply.src,
            dst: reply.dst,
            protocol: proto::TCP,
            src_port: 0,
            dst_port: port,
        }))
    }
}

export_helper!(Knock);

#[cfg(test)]
mod tests {
    use super::*;
    use brickwall_helper_sdk::{Addr, CtState};

    fn conn() -> ConnInfo {
        let original = Tuple {
            src: Addr::V4([10, 0, 0, 1]),
            dst: Addr::V4([10, 0, 0, 2]),
            protocol: proto::UDP,
            src_port: 40000,
            dst_port: 7777,
        };
        ConnInfo::of(original)
    }

    fn run(dir: Direction, payload: &[u8]) -> Outcome {
        let mut st = State::new(Knock::assigned(&conn()));
        let pkt = Packet {
            conn: 1,
            dir,
            ct: CtState::New,
            seq: 0,
            tcp_flags: 0,
            payload,
        };
        let out = Knock::packet(&pkt, &mut st);
        assert!(!st.changed(), "the state is only read");
        out
    }

    #[test]
    fn open_expects_the_server_from_any_port_to_the_client_port() {
        for payload in [&b"OPEN 5555"[..], b"OPEN 5555\n"] {
            let out = run(Direction::Original, payload);
            assert_eq!(out.verdict, None);
            assert_eq!(out.expects.len(), 1, "{payload:?}");
            let e = out.expects[0];
            assert_eq!(e.tuple.src, Addr::V4([10, 0, 0, 2]));
            assert_eq!(e.tuple.dst, Addr::V4([10, 0, 0, 1]));
            assert_eq!((e.tuple.protocol, e.tuple.dst_port), (proto::TCP, 5555));
            assert!(e.any_src_port && !e.any_src_addr && !e.permanent);
            assert_eq!((e.timeout_s, e.class), (0, 0));
        }
    }

    #[test]
    fn anything_else_is_accepted_and_expects_nothing() {
        for payload in [
            &b"HELLO"[..],
            b"",
            b"OPEN",
            b"OPEN ",
            b"OPEN 0",
            b"OPEN 65536",
            b"OPEN 123456",
            b"OPEN 55x5",
            b"OPEN -1",
            b"OPEN 5555\n\n",
            b"OPEN 5555\r\n",
            b"open 5555",
            b" OPEN 5555",
        ] {
            assert_eq!(
                run(Direction::Original, payload),
                Outcome::accept(),
                "{payload:?}"
            );
        }
        assert_eq!(run(Direction::Reply, b"OPEN 5555"), Outcome::accept());
    }

    #[test]
    fn ports_parse_across_the_whole_range() {
        assert_eq!(parse_open(b"OPEN 1"), Some(1));
        assert_eq!(parse_open(b"OPEN 65535\n"), Some(65535));
        assert_eq!(parse_open(b"OPEN 00080"), Some(80));
    }

    #[test]
    fn a_state_that_is_not_a_tuple_expects_nothing() {
        let pkt = Packet {
            conn: 1,
            dir: Direction::Original,
            ct: CtState::New,
            seq: 0,
            tcp_flags: 0,
            payload: b"OPEN 5555",
        };
        assert_eq!(
            Knock::packet(&pkt, &mut State::new(vec![9, 9])),
            Outcome::accept()
        );
    }
}
