//! The SANE helper: a scanner's data connection, as Linux's `nf_conntrack_sane`. A
//! client on the control connection (tcp/6566) asks `saned` to start a scan; the
//! daemon answers with the port it will send the image from, and the client connects
//! to it: from the client, any source port, to the daemon's address and that port.
//!
//! Only packets of an established connection are read, each segment on its own
//! ([`msg`]): a client segment that is exactly a start request arms the helper, any
//! other two-word request disarms it, and the daemon's next segment, when armed, is
//! read as the answer (good status: expected).
//!
//! Behind NAT the expectation is the same (the original tuple's addresses): Linux has
//! no NAT side for SANE, so the data connection meets the NAT rules as a new
//! connection of its own.
//!
//! State: a phase byte (0 idle, 1 start requested), then the original tuple
//! ([`Tuple::encode`]): 15 or 39 bytes.

pub mod msg;

use brickwall_helper_sdk::{
    export_helper, proto, ConnInfo, CtState, Direction, Expect, Helper, Outcome, Packet, State,
    Tuple,
};
use msg::Request;

/// The phase byte when a start request is waiting for its answer.
const START_REQUESTED: u8 = 1;
/// The phase byte otherwise.
const IDLE: u8 = 0;

/// The helper.
pub struct Sane;

impl Helper for Sane {
    fn assigned(conn: &ConnInfo) -> Vec<u8> {
        let mut s = Vec::with_capacity(39);
        s.push(IDLE);
        conn.original.encode(&mut s);
        s
    }

    fn packet(pkt: &Packet<'_>, state: &mut State) -> Outcome {
        if pkt.ct != CtState::Established {
            return Outcome::accept();
        }
        let Some((&phase, tuple)) = state.get().split_first() else {
            return Outcome::accept();
        };
        let Some((original, _)) = Tuple::decode(tuple) else {
            return Outcome::accept();
        };
        let set_phase = |state: &mut State, to: u8| {
            if phase != to {
                state.get_mut()[0] = to;
            }
        };
        match pkt.dir {
            Direction::Original => {
                match msg::request(pkt.payload) {
                    Request::Start => set_phase(state, START_REQUESTED),
                    Request::Other => set_phase(state, IDLE),
                    Request::Unread => {}
                }
                Outcome::accept()
            }
            Direction::Reply => {
                if phase != START_REQUESTED {
                    return Outcome::accept();
                }
                set_phase(state, IDLE);
                match msg::start_reply(pkt.payload) {
                    Some(port) => Outcome::expect(Expect::any_src_port(Tuple {
                        protocol: proto::TCP,
                        src_port: 0,
                        dst_port: port,
                        ..original
                    })),
                    None => Outcome::accept(),
                }
            }
        }
    }
}

export_helper!(Sane);

#[cfg(test)]
mod tests {
    use super::*;
    use brickwall_helper_sdk::Addr;

    fn conn() -> ConnInfo {
        ConnInfo::of(Tuple {
            src: Addr::V4([10, 0, 0, 1]),
            dst: Addr::V4([10, 0, 0, 2]),
            protocol: proto::TCP,
            src_port: 51000,
            dst_port: 6566,
        })
    }

    fn packet(st: &mut State, dir: Direction, ct: CtState, payload: &[u8]) -> Outcome {
        let pkt = Packet {
            conn: 1,
            dir,
            ct,
            seq: 0,
            tcp_flags: 0x18,
            payload,
        };
        Sane::packet(&pkt, st)
    }

    const START: &[u8] = &[0, 0, 0, 7, 0, 0, 0, 0];
    const GOOD: &[u8] = &[0, 0, 0, 0, 0, 0, 0x9c, 0x41, 0, 0, 0x12, 0x34, 0, 0, 0, 0];

    #[test]
    fn a_start_answer_expects_the_client_at_the_data_port() {
        let mut st = State::new(Sane::assigned(&conn()));
        let e = Direction::Original;
        assert!(packet(&mut st, e, CtState::Established, START)
            .expects
            .is_empty());
        assert_eq!(st.get()[0], START_REQUESTED);
        let out = packet(&mut st, Direction::Reply, CtState::Established, GOOD);
        assert_eq!(out.expects.len(), 1);
        let x = out.expects[0];
        assert_eq!(
            x.tuple,
            Tuple {
                src: Addr::V4([10, 0, 0, 1]),
                dst: Addr::V4([10, 0, 0, 2]),
                protocol: proto::TCP,
                src_port: 0,
                dst_port: 40001,
            }
        );
        assert!(x.any_src_port && !x.any_src_addr && !x.permanent);
        assert_eq!(x.nat, None);
        // The answer is read once: a second one expects nothing.
        assert_eq!(st.get()[0], IDLE);
        assert!(
            packet(&mut st, Direction::Reply, CtState::Established, GOOD)
                .expects
                .is_empty()
        );
    }

    #[test]
    fn other_requests_and_failed_answers_expect_nothing() {
        let mut st = State::new(Sane::assigned(&conn()));
        let (o, r, est) = (Direction::Original, Direction::Reply, CtState::Established);
        // Another procedure disarms; a request with arguments leaves the phase alone.
        packet(&mut st, o, est, START);
        packet(&mut st, o, est, &[0, 0, 0, 3, 0, 0, 0, 0]);
        assert!(packet(&mut st, r, est, GOOD).expects.is_empty());
        packet(&mut st, o, est, START);
        packet(&mut st, o, est, &[0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 1]);
        assert_eq!(packet(&mut st, r, est, GOOD).expects.len(), 1);
        // A refused start.
        packet(&mut st, o, est, START);
        let mut refused = GOOD.to_vec();
        refused[3] = 11; // SANE_STATUS_ACCESS_DENIED
        assert!(packet(&mut st, r, est, &refused).expects.is_empty());
        assert_eq!(st.get()[0], IDLE, "a refused answer still disarms");
        // Before the connection is established nothing is read.
        packet(&mut st, o, CtState::New, START);
        assert_eq!(st.get()[0], IDLE);
        // State the host never wrote.
        let mut junk = State::new(vec![1, 2]);
        assert!(packet(&mut junk, r, est, GOOD).expects.is_empty());
    }

    #[test]
    fn state_is_a_phase_byte_and_the_tuple() {
        assert_eq!(Sane::assigned(&conn()).len(), 15);
    }
}
