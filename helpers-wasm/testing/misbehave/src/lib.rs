//! A helper for the sandbox tests: the payload says how to misbehave — `loop` never
//! returns, `alloc` grows memory without end, `trap` panics (a trap), `big-state`
//! returns an oversized state, `log` writes a hundred log lines, `drop` drops, and
//! `expect` asks for an expectation like TFTP's. Anything else is accepted.

use brickwall_helper_sdk::{log, ConnInfo, Expect, Helper, LogLevel, Outcome, Packet, State};
use std::hint::black_box;

/// The helper.
pub struct Misbehave;

impl Helper for Misbehave {
    fn assigned(conn: &ConnInfo) -> Vec<u8> {
        let mut s = Vec::new();
        conn.reply.encode(&mut s);
        s
    }

    fn packet(pkt: &Packet<'_>, state: &mut State) -> Outcome {
        match pkt.payload {
            b"loop" => {
                let mut n = 0u64;
                loop {
                    n = black_box(n.wrapping_add(1));
                }
            }
            b"alloc" => {
                let mut keep = Vec::new();
                loop {
                    keep.push(black_box(vec![1u8; 1 << 20]));
                }
            }
            b"trap" => panic!("asked to trap"),
            b"big-state" => {
                state.set(vec![0; 100_000]);
                Outcome::accept()
            }
            b"log" => {
                for i in 0..100 {
                    log(LogLevel::Info, &format!("line {i}"));
                }
                Outcome::accept()
            }
            b"drop" => Outcome::drop(),
            b"expect" => match brickwall_helper_sdk::Tuple::decode(state.get()) {
                Some((reply, _)) => Outcome::expect(Expect::any_src_port(reply)),
                None => Outcome::accept(),
            },
            _ => Outcome::accept(),
        }
    }
}

brickwall_helper_sdk::export_helper!(Misbehave);
