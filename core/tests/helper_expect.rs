//! What a helper's expectation that cannot be created does to its packet, through an
//! engine with conntrack and the bundled helpers: as Linux's FTP, IRC and TFTP helpers
//! ("cannot add expectation", NF_DROP) the packet is dropped; a policy saying
//! `on_expect_failure: accept` lets it pass, as Linux's PPTP helper does.

mod common;

use brickwall_core::engine::Engine;
use brickwall_core::pipeline::{DropReason, Outcome};
use common::{engine, packet};

const CLIENT: [u8; 4] = [10, 0, 0, 1];
const SERVER: [u8; 4] = [198, 51, 100, 2];

/// A TCP segment; `flags`: "S" SYN, "SA" SYN/ACK, "A" ACK (PSH with data).
#[allow(clippy::too_many_arguments)]
fn seg(
    src: [u8; 4],
    dst: [u8; 4],
    sport: u16,
    dport: u16,
    seq: u32,
    ack: u32,
    flags: &str,
    data: &[u8],
) -> Vec<u8> {
    let b = etherparse::PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
        .ipv4(src, dst, 64)
        .tcp(sport, dport, seq, 64240);
    let b = match flags {
        "S" => b.syn(),
        "SA" => b.syn().ack(ack),
        _ if data.is_empty() => b.ack(ack),
        _ => b.ack(ack).psh(),
    };
    let mut out = Vec::new();
    b.write(&mut out, data).unwrap();
    out
}

/// An FTP control connection from the client's port `sport`, logged in, then its
/// `PORT` command announcing the client's port 40001 (the same for every control
/// connection, so a second one's expectation clashes with the first's).
fn control(sport: u16) -> Vec<Vec<u8>> {
    vec![
        seg(CLIENT, SERVER, sport, 21, 1000, 0, "S", b""),
        seg(SERVER, CLIENT, 21, sport, 5000, 1001, "SA", b""),
        seg(CLIENT, SERVER, sport, 21, 1001, 5001, "A", b""),
        seg(SERVER, CLIENT, 21, sport, 5001, 1001, "A", b"220 hi\r\n"),
        seg(CLIENT, SERVER, sport, 21, 1001, 5009, "A", b"USER a\r\n"),
        seg(SERVER, CLIENT, 21, sport, 5009, 1009, "A", b"331 ok\r\n"),
        seg(
            CLIENT,
            SERVER,
            sport,
            21,
            1009,
            5017,
            "A",
            b"PORT 10,0,0,1,156,65\r\n",
        ),
    ]
}

fn ftp_engine(policy: &str) -> Engine {
    engine(&format!(
        "plugins:\n  - builtin: conntrack\n    config:\n      helpers: [{{name: ftp, wasm: 'builtin:ftp', ports: [tcp/21]{policy}}}]\n"
    ))
}

fn run(e: &Engine, frames: &[Vec<u8>]) -> Vec<Outcome> {
    let mut pl = e.pipeline();
    let t = e.registry().snapshot();
    frames
        .iter()
        .map(|f| pl.process(&t, &mut packet(f)))
        .collect()
}

fn helpers(e: &Engine) -> serde_json::Value {
    let answer = e
        .plugin("conntrack")
        .unwrap()
        .control(br#"{"op":"helpers"}"#)
        .unwrap();
    serde_json::from_slice(&answer).unwrap()
}

#[test]
fn an_ftp_command_whose_expectation_clashes_is_dropped() {
    let e = ftp_engine("");
    let mut frames = control(40000);
    frames.extend(control(40010));
    let got = run(&e, &frames);
    let (first, second) = got.split_at(7);
    assert!(first.iter().all(|o| *o == Outcome::Forwarded), "{first:?}");
    assert!(
        second[..6].iter().all(|o| *o == Outcome::Forwarded),
        "{second:?}"
    );
    // The second connection's PORT expects what the first's does: it clashes, and
    // the command goes no further.
    let Outcome::Dropped(DropReason::Id(id)) = second[6] else {
        panic!("the clashing PORT passed: {:?}", second[6]);
    };
    let reason = e.registry().reason_name(id).unwrap().to_string();
    assert!(reason.ends_with("ct-helper-expect-failed"), "{reason}");
    assert_eq!(helpers(&e)["expect_failed"], 1);
    assert_eq!(common::ct_expectations(&e, 0).lines().count(), 1);
}

#[test]
fn a_policy_may_let_it_pass() {
    let e = ftp_engine(", on_expect_failure: accept");
    let mut frames = control(40000);
    frames.extend(control(40010));
    let got = run(&e, &frames);
    assert!(got.iter().all(|o| *o == Outcome::Forwarded), "{got:?}");
    assert_eq!(helpers(&e)["expect_failed"], 1);
}
