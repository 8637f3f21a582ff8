//! Every world version loads and works: a helper built against the older world
//! `brickwall:helper@0.2.0` (`testing/old-world`) loads through the normal
//! [`HelperSet`] path, its expectation comes back (with no NAT, and its reserved
//! rewrites not applied), its log import works, it is re-instantiated after a trap and
//! served from the compiled-component cache; one built against
//! `brickwall:helper@0.3.0` (`testing/world-0.3`) loads, its expectation comes back
//! with its NAT and its rewrite, and it neither flushes nor sets a timeout; bundled
//! 0.4.0 helpers work beside both in the same set.

mod common;

use brickwall_helpers::{
    inspect, Budget, CallOutcome, HelperId, HelperPolicy, HelperSet, SandboxPolicy, WorldVersion,
};
use common::{call_on_1, conn, old_world, policy, tftp_read_request, v4, world_three};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::{Arc, Mutex};

fn old() -> HelperPolicy {
    policy("old", &old_world().display().to_string(), &["udp/7777"])
}

fn three() -> HelperPolicy {
    policy("three", &world_three().display().to_string(), &["udp/7778"])
}

/// Loads `helpers` with a cache at `cache` ("" for none); the log lines come in `log`.
fn load(helpers: &[HelperPolicy], cache: &str, log: &Arc<Mutex<Vec<String>>>) -> HelperSet {
    let sandbox = SandboxPolicy {
        budget: Budget::Fuel(100_000_000),
        cache_dir: Some(cache.to_owned()),
        log_per_second: None,
    };
    let l = log.clone();
    HelperSet::new(
        &sandbox,
        helpers,
        Path::new("/"),
        Arc::new(move |_, h, m| l.lock().unwrap().push(format!("{h}: {m}"))),
    )
    .unwrap_or_else(|e| panic!("loads: {e}"))
}

/// `payload` from the client on a fresh connection 10.0.0.1:40000 -> 10.0.0.2:7777
/// (udp) of helper `id`.
fn knock(s: &mut HelperSet, id: HelperId, payload: &[u8]) -> CallOutcome {
    let info = conn([10, 0, 0, 1], 40000, [10, 0, 0, 2], 7777, 17);
    let mut state = s.assigned(id, 1, &info).expect("assigned gives a state");
    assert_eq!(state.len(), 12, "the state is the reply tuple");
    let out = s.packet(id, &call_on_1(false, payload), &mut state);
    s.destroyed(id, 1, &state);
    out
}

/// The expectation `OPEN 5555` asks for: the server's TCP connection from any port back
/// to the client's port 5555, with the policy's timeout, and no NAT.
fn assert_expects_5555(out: &CallOutcome) {
    assert!(!out.failed && !out.drop, "{out:?}");
    assert_eq!(out.expects.len(), 1, "{out:?}");
    let e = &out.expects[0];
    assert_eq!(e.tuple.src, v4([10, 0, 0, 2]));
    assert_eq!(e.tuple.dst, v4([10, 0, 0, 1]));
    assert_eq!(
        (e.tuple.proto, e.tuple.src_port, e.tuple.dst_port),
        (6, 0, 5555)
    );
    assert!(e.any_src_port && !e.any_src_addr && !e.permanent);
    assert_eq!(e.timeout_s, 300, "0 takes the policy's timeout");
    assert_eq!(e.nat, None, "a 0.2.0 expectation has no NAT");
    assert!(
        out.rewrites.is_empty(),
        "0.2.0's rewrites were reserved, never applied: {out:?}"
    );
}

#[test]
fn the_check_tells_the_versions_apart() {
    let bytes = std::fs::read(old_world()).unwrap();
    let iface = inspect(&bytes).expect("compiles");
    assert_eq!(iface.validate(), Ok(WorldVersion::V0_2), "{iface:?}");
    assert!(iface
        .exports
        .contains(&"brickwall:helper/helper@0.2.0".to_owned()));
    let bytes = std::fs::read(world_three()).unwrap();
    let iface = inspect(&bytes).expect("compiles");
    assert_eq!(iface.validate(), Ok(WorldVersion::V0_3), "{iface:?}");
    let tftp = brickwall_helpers::builtin::bundled("tftp").expect("bundled");
    let iface = inspect(tftp).expect("compiles");
    assert_eq!(iface.validate(), Ok(WorldVersion::V0_4), "{iface:?}");
}

/// `OPEN 5555` to the 0.3.0 helper (assigned udp/7778): the expectation with its NAT,
/// the rewrite kept (0.3.0's rewrites are applied), nothing flushed, no timeout.
fn assert_three_answers(out: &CallOutcome) {
    assert!(!out.failed && !out.drop, "{out:?}");
    assert_eq!(out.expects.len(), 1, "{out:?}");
    let e = &out.expects[0];
    assert_eq!(
        (e.tuple.src, e.tuple.dst),
        (v4([10, 0, 0, 2]), v4([10, 0, 0, 1]))
    );
    assert_eq!((e.tuple.proto, e.tuple.dst_port), (6, 5555));
    assert_eq!(e.timeout_s, 300, "0 takes the policy's timeout");
    let nat = e.nat.expect("a 0.3.0 expectation keeps its NAT");
    assert!(nat.reply);
    assert_eq!((nat.to, nat.to_port), (v4([10, 0, 0, 1]), 6000));
    assert_eq!(out.rewrites.len(), 1, "{out:?}");
    assert_eq!(out.rewrites[0].data, b"SHUT");
    assert!(out.flush_classes.is_empty(), "0.3.0 cannot flush: {out:?}");
    assert_eq!(out.timeout_s, None, "0.3.0 cannot set the timeout");
}

/// `payload` from the client on a fresh connection 10.0.0.1:40000 -> 10.0.0.2:7778.
fn knock_three(s: &mut HelperSet, id: HelperId, payload: &[u8]) -> CallOutcome {
    let info = conn([10, 0, 0, 1], 40000, [10, 0, 0, 2], 7778, 17);
    let mut state = s.assigned(id, 2, &info).expect("assigned gives a state");
    let out = s.packet(id, &call_on_1(false, payload), &mut state);
    s.destroyed(id, 2, &state);
    out
}

#[test]
fn a_0_3_helper_loads_and_its_answers_mean_what_they_meant() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut s = load(&[three()], "", &log);
    let id = s.id_for_port(17, 7778).expect("assigned by port");
    assert_three_answers(&knock_three(&mut s, id, b"OPEN 5555\n"));
    assert!(
        log.lock()
            .unwrap()
            .contains(&"three: expecting port 5555".to_owned()),
        "the 0.3.0 log import works: {:?}",
        log.lock().unwrap()
    );
    // A trap, then the helper is made again.
    assert!(knock_three(&mut s, id, b"trap").failed);
    assert_three_answers(&knock_three(&mut s, id, b"OPEN 5555"));
    let stats = s.reports()[0].stats.clone();
    assert_eq!((stats.traps, stats.reinstantiations), (1, 1), "{stats:?}");
}

#[test]
fn a_0_2_helper_loads_and_its_expectation_comes_back() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut s = load(&[old()], "", &log);
    let id = s.id_for_port(17, 7777).expect("assigned by port");
    assert_expects_5555(&knock(&mut s, id, b"OPEN 5555\n"));
    assert!(
        log.lock()
            .unwrap()
            .contains(&"old: expecting port 5555".to_owned()),
        "the 0.2.0 log import works: {:?}",
        log.lock().unwrap()
    );
    // Anything else expects nothing.
    let out = knock(&mut s, id, b"HELLO");
    assert!(out.expects.is_empty() && !out.failed, "{out:?}");
    let stats = s.reports()[0].stats.clone();
    assert_eq!((stats.calls, stats.expectations, stats.traps), (2, 1, 0));
}

#[test]
fn a_0_2_helper_is_made_again_after_a_trap() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut s = load(&[old()], "", &log);
    let out = knock(&mut s, 0, b"trap");
    assert!(out.failed, "{out:?}");
    assert_expects_5555(&knock(&mut s, 0, b"OPEN 5555"));
    let stats = s.reports()[0].stats.clone();
    assert_eq!((stats.traps, stats.reinstantiations), (1, 1), "{stats:?}");
    assert!(!stats.disabled);
}

#[test]
fn every_version_serves_side_by_side_in_one_set() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut s = load(
        &[old(), three(), policy("tftp", "builtin:tftp", &["udp/69"])],
        "",
        &log,
    );
    let (old_id, tftp_id) = (s.id_by_name("old").unwrap(), s.id_by_name("tftp").unwrap());
    let three_id = s.id_by_name("three").unwrap();
    assert_expects_5555(&knock(&mut s, old_id, b"OPEN 5555"));
    assert_three_answers(&knock_three(&mut s, three_id, b"OPEN 5555"));
    // The bundled TFTP helper (world 0.4.0): the server's answer from any port to the
    // client's.
    let out = tftp_read_request(&mut s, tftp_id);
    assert!(!out.failed, "{out:?}");
    assert_eq!(out.expects.len(), 1, "{out:?}");
    let e = &out.expects[0];
    assert_eq!(e.tuple.src, v4([192, 168, 1, 1]));
    assert_eq!(e.tuple.dst, v4([192, 168, 1, 2]));
    assert_eq!((e.tuple.proto, e.tuple.dst_port), (17, 44935));
    assert!(e.any_src_port);
    // And the older ones again, after the other was called.
    assert_expects_5555(&knock(&mut s, old_id, b"OPEN 5555"));
    assert_three_answers(&knock_three(&mut s, three_id, b"OPEN 5555"));
}

#[test]
fn a_0_2_helper_is_served_from_the_cache_and_reloads() {
    let dir = std::env::temp_dir().join(format!("brickwall-old-world-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    let cache = dir.display().to_string();
    let log = Arc::new(Mutex::new(Vec::new()));
    let first = load(&[old()], &cache, &log).reports()[0].cached;
    let mut s = load(&[old()], &cache, &log);
    assert!(
        s.reports()[0].cached,
        "the second load is cached (first: {first})"
    );
    assert_expects_5555(&knock(&mut s, 0, b"OPEN 5555"));
    s.reload("old").expect("reloads");
    assert_expects_5555(&knock(&mut s, 0, b"OPEN 5555"));
    assert!(
        !log.lock()
            .unwrap()
            .iter()
            .any(|l| l.contains("not trusted")),
        "{:?}",
        log.lock().unwrap()
    );
    std::fs::remove_dir_all(&dir).ok();
}
