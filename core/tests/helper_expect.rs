//! What a helper's expectation that cannot be created does to its packet, through an
//! engine with conntrack and the bundled helpers: as Linux's FTP, IRC and TFTP helpers
//! ("cannot add expectation", NF_DROP) the packet is dropped; a policy saying
//! `on_expect_failure: accept` lets it pass, as Linux's PPTP helper does.

mod common;

use brickwall_core::engine::Engine;
use brickwall_core::pipeline::{DropReason, Outcome};
use common::{engine, run_frames, tcp4_segment};

const CLIENT: [u8; 4] = [10, 0, 0, 1];
const SERVER: [u8; 4] = [198, 51, 100, 2];

/// An FTP control connection from the client's port `sport`, logged in, then its
/// `PORT` command announcing the client's port 40001 (the same for every control
/// connection, so a second one's expectation clashes with the first's).
fn control(sport: u16) -> Vec<Vec<u8>> {
    vec![
        tcp4_segment(CLIENT, SERVER, sport, 21, 1000, 0, "S", b""),
        tcp4_segment(SERVER, CLIENT, 21, sport, 5000, 1001, "SA", b""),
        tcp4_segment(CLIENT, SERVER, sport, 21, 1001, 5001, "A", b""),
        tcp4_segment(SERVER, CLIENT, 21, sport, 5001, 1001, "A", b"220 hi\r\n"),
        tcp4_segment(CLIENT, SERVER, sport, 21, 1001, 5009, "A", b"USER a\r\n"),
        tcp4_segment(SERVER, CLIENT, 21, sport, 5009, 1009, "A", b"331 ok\r\n"),
        tcp4_segment(
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
    run_frames(e, frames).into_iter().map(|(_, o)| o).collect()
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
