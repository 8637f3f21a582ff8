//! A helper's answer sets its connection's timeout, through an engine with conntrack
//! and the bundled Amanda helper: as Linux's `nf_conntrack_amanda` (`master_timeout`),
//! each of the client's answers gives the master connection 300 s from then, where
//! UDP alone would give it 30 s; the server's requests leave UDP's timeout.

mod common;

use common::{ct_records, engine, run_frames, udp4};

const SERVER: [u8; 4] = [10, 0, 0, 1];
const CLIENT: [u8; 4] = [198, 51, 100, 2];

/// The master connection's seconds left, as the control channel lists them.
fn master_timeout(e: &brickwall_core::engine::Engine) -> u64 {
    let records = ct_records(e, 1_000);
    let master = records
        .iter()
        .find(|r| r.orig.dport == Some(10080))
        .expect("the master is listed");
    master.timeout
}

#[test]
fn an_amanda_answer_gives_the_master_300_s() {
    let e = engine(
        "plugins:\n  - builtin: conntrack\n    config:\n      \
         helpers: [{name: amanda, wasm: 'builtin:amanda', ports: [udp/10080]}]\n",
    );
    let request = udp4(
        SERVER,
        CLIENT,
        850,
        10080,
        b"Amanda 3.5 REQ HANDLE 000 SEQ 1\n",
    );
    run_frames(&e, std::slice::from_ref(&request));
    assert_eq!(master_timeout(&e), 30, "UDP's timeout, unreplied");
    let answer = udp4(
        CLIENT,
        SERVER,
        10080,
        850,
        b"Amanda 3.5 REP HANDLE 000 SEQ 1\nCONNECT DATA 50000 MESG 50001 INDEX 50002\n",
    );
    run_frames(&e, &[answer]);
    assert_eq!(master_timeout(&e), 300, "the helper's master_timeout");
    // The server's next request: UDP's timeout again (Linux too: only answers stretch).
    run_frames(&e, &[request]);
    assert!(master_timeout(&e) < 300);
}
