//! Resizing the table while packets flow: every connection keeps being found in both
//! directions at every step of a grow and a shrink, new connections and removals during
//! the resize, the automatic doubling as the table fills, a reconfigure's `buckets`, and
//! the `resize` control request with its errors.

use brickwall_conntrack::config::CtConfig;
use brickwall_conntrack::control;
use brickwall_conntrack::datagram::{ipv4, udp, view};
use brickwall_conntrack::tracker::{ConfirmVerdict, InVerdict, Tracker};
use brickwall_hooks::CtInfo;
use serde_json::{json, Value};

const SEC: u64 = 1_000_000_000;

/// Client address of flow `i`.
fn client(i: u32) -> [u8; 4] {
    [10, (i >> 16) as u8, (i >> 8) as u8, i as u8]
}

const SERVER: [u8; 4] = [192, 168, 0, 1];

/// Sends one UDP packet of flow `i` (`reply`: server to client) through conntrack-in
/// and confirm at `ts`; its ctinfo.
fn send(t: &mut Tracker, i: u32, reply: bool, ts: u64) -> CtInfo {
    let port = 1024 + (i % 60_000) as u16;
    let mut d = if reply {
        ipv4(SERVER, client(i), 17, &udp(53, port))
    } else {
        ipv4(client(i), SERVER, 17, &udp(port, 53))
    };
    let mut v = view(&mut d, ts);
    assert_eq!(t.conntrack_in(&mut v), InVerdict::Accept);
    assert_eq!(t.confirm(&mut v), ConfirmVerdict::Accept);
    v.ctinfo()
}

/// A tracker holding `n` UDP flows, each answered (both directions seen).
fn filled(buckets: usize, n: u32, auto_resize: bool) -> Tracker {
    let mut t = Tracker::new(
        CtConfig {
            buckets,
            max: 100_000,
            auto_resize,
            ..CtConfig::default()
        },
        10_000,
    );
    for i in 0..n {
        assert_eq!(send(&mut t, i, false, SEC), CtInfo::New);
        assert_eq!(send(&mut t, i, true, SEC), CtInfo::EstablishedReply);
    }
    assert_eq!(t.table().confirmed(), n as usize);
    t
}

fn ask(t: &mut Tracker, req: Value) -> Result<Value, String> {
    control::handle(t, req.to_string().as_bytes())
        .map(|b| serde_json::from_slice(&b).expect("a JSON answer"))
}

#[test]
fn packets_in_both_directions_find_their_connections_at_every_step() {
    for (from, to) in [(64, 1024), (1024, 128), (100, 333)] {
        let n = 1000;
        let mut t = filled(from, n, false);
        let r = ask(&mut t, json!({"op": "resize", "buckets": to})).unwrap();
        assert_eq!(r, json!({"old": from, "new": to, "already_running": false}));
        // Packets at the fill's time: the collector does not run, packets move the table.
        let mut packets = 0;
        let mut i = 0;
        while t.table().resizing() {
            // Each packet moves a step: both directions of a flow, round the table.
            assert_eq!(
                send(&mut t, i, false, SEC),
                CtInfo::Established,
                "{from}->{to}"
            );
            assert_eq!(send(&mut t, i, true, SEC), CtInfo::EstablishedReply);
            i = (i + 1) % n;
            packets += 2;
        }
        assert!(packets > 4, "{from} -> {to}: {packets} packets");
        assert_eq!(t.table().buckets(), to);
        assert_eq!(t.table().confirmed(), n as usize);
        for i in 0..n {
            assert_eq!(send(&mut t, i, true, 3 * SEC), CtInfo::EstablishedReply);
        }
        assert_eq!(t.stats().insert, n as u64, "no connection was made twice");
    }
}

#[test]
fn new_connections_and_removals_during_a_resize() {
    let mut t = filled(32, 500, false);
    ask(&mut t, json!({"op": "resize", "buckets": 512})).unwrap();
    // Packets at the fill's time: the collector does not run, packets move the table.
    let mut next = 500;
    let mut gone = 0;
    while t.table().resizing() {
        // A new flow, answered; and an old one deleted by its reply tuple.
        assert_eq!(send(&mut t, next, false, SEC), CtInfo::New);
        assert_eq!(send(&mut t, next, true, SEC), CtInfo::EstablishedReply);
        next += 1;
        let port = 1024 + (gone % 60_000) as u16;
        let c = client(gone);
        let tuple = json!({"proto": "udp", "src": "192.168.0.1",
            "dst": format!("{}.{}.{}.{}", c[0], c[1], c[2], c[3]), "sport": 53, "dport": port});
        let r = ask(
            &mut t,
            json!({"op": "delete", "tuple": tuple, "now_ns": SEC}),
        )
        .unwrap();
        assert_eq!(r["deleted"], 1);
        gone += 1;
    }
    assert!(gone > 2, "the resize took {gone} rounds");
    assert_eq!(t.table().confirmed(), (next - gone) as usize);
    for i in 0..next {
        let want = if i < gone {
            CtInfo::New
        } else {
            CtInfo::Established
        };
        assert_eq!(send(&mut t, i, false, 3 * SEC), want, "flow {i}");
    }
}

#[test]
fn the_table_doubles_as_it_fills_up_to_its_bound() {
    let mut t = Tracker::new(
        CtConfig {
            buckets: 16,
            max: 200,
            ..CtConfig::default()
        },
        10_000,
    );
    assert!(t.config().auto_resize, "on by default");
    for i in 0..200 {
        send(&mut t, i, false, SEC);
        send(&mut t, i, true, SEC);
    }
    // Every packet moved a step: 16 -> 32 -> 64 -> 128 -> 256 (max rounded up).
    for i in 0..200 {
        assert_eq!(send(&mut t, i, true, SEC), CtInfo::EstablishedReply);
    }
    while t.table().resizing() {
        send(&mut t, 0, false, SEC);
    }
    assert_eq!(t.table().buckets(), 256);
    // Off, or at the bound, nothing grows.
    let t = filled(16, 200, false);
    assert_eq!((t.table().buckets(), t.table().resizing()), (16, false));
    let mut t = Tracker::new(
        CtConfig {
            buckets: 16,
            max: 200,
            max_buckets: 40,
            ..CtConfig::default()
        },
        10_000,
    );
    for i in 0..200 {
        send(&mut t, i, false, SEC);
        send(&mut t, i, true, SEC);
    }
    while t.table().resizing() {
        send(&mut t, 0, false, SEC);
    }
    assert_eq!(t.table().buckets(), 40);
}

#[test]
fn a_quiet_table_finishes_its_resize_through_the_collector() {
    let mut t = filled(64, 2000, false);
    t.resize(4096).unwrap();
    // One packet a second: the collector's runs carry the migration.
    let mut s = 2;
    while t.table().resizing() {
        send(&mut t, 0, false, s * SEC);
        s += 1;
        assert!(s < 40, "the resize does not finish");
    }
    assert_eq!(t.table().buckets(), 4096);
}

#[test]
fn stats_and_buckets_show_the_resize_and_views_cover_both_arrays() {
    let mut t = filled(64, 300, false);
    let r = ask(&mut t, json!({"op": "resize", "buckets": 256})).unwrap();
    assert_eq!(r["already_running"], false);
    send(&mut t, 0, false, SEC);
    let s = ask(&mut t, json!({"op": "stats"})).unwrap();
    assert_eq!(s["buckets"], 64 + 256);
    let moved = s["resize"]["migrated"].as_u64().unwrap();
    assert!(moved > 0 && moved < 64, "{s}");
    assert_eq!(
        s["resize"],
        json!({"from": 64, "to": 256, "migrated": moved})
    );
    let b = ask(&mut t, json!({"op": "buckets", "limit": 65536})).unwrap();
    assert_eq!(b["buckets"], 320);
    assert_eq!(b["resize"]["to"], 256);
    let lengths: Vec<u64> = b["lengths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(lengths.len(), 320);
    assert_eq!(lengths.iter().sum::<u64>(), 600, "every node in one chain");
    assert!(
        lengths[..moved as usize].iter().all(|&l| l == 0),
        "moved away"
    );
    let h = ask(&mut t, json!({"op": "histogram"})).unwrap();
    assert_eq!(
        (h["buckets"].as_u64(), h["nodes"].as_u64()),
        (Some(320), Some(600))
    );
    // A chain of the new array names its nodes.
    let full = lengths.iter().rposition(|&l| l > 0).unwrap();
    assert!(full >= 64);
    let c = ask(&mut t, json!({"op": "chain", "bucket": full})).unwrap();
    assert_eq!(c["nodes"].as_array().unwrap().len() as u64, lengths[full]);
    // A second request follows the first.
    let r = ask(&mut t, json!({"op": "resize", "buckets": 128})).unwrap();
    assert_eq!(r, json!({"old": 256, "new": 128, "already_running": true}));
    while t.table().resizing() {
        send(&mut t, 1, true, SEC);
    }
    assert_eq!(t.table().buckets(), 128);
    let s = ask(&mut t, json!({"op": "stats"})).unwrap();
    assert_eq!((s["buckets"].as_u64(), s.get("resize")), (Some(128), None));
    let r = ask(&mut t, json!({"op": "resize", "buckets": 128})).unwrap();
    assert_eq!(r, json!({"old": 128, "new": 128, "already_running": false}));
    assert!(!t.table().resizing());
}

#[test]
fn resize_requests_that_do_not_fit_are_refused_naming_the_field() {
    let mut t = filled(64, 300, false);
    for (req, err) in [
        (
            json!({"op": "resize", "buckets": 0}),
            "buckets: must be at least 1",
        ),
        (
            json!({"op": "resize", "buckets": 67108865u64}),
            "buckets: 67108865 is more than 67108864",
        ),
        (
            json!({"op": "resize", "buckets": 37}),
            "buckets: 37 is too few for 300 connections (at least 38 for 8 connections per \
             bucket on average)",
        ),
        (
            json!({"op": "resize", "buckets": -1}),
            "buckets: invalid value: integer `-1`, expected u64",
        ),
        (
            json!({"op": "resize", "buckets": "many"}),
            "buckets: invalid type: string \"many\", expected u64",
        ),
        (json!({"op": "resize"}), "buckets: missing"),
        (
            json!({"op": "resize", "buckets": 8, "now": 1}),
            "now: unknown field `now`, expected `buckets`",
        ),
    ] {
        let e = ask(&mut t, req.clone()).unwrap_err();
        assert!(e.starts_with(err), "{req}: {e}");
    }
    assert!(!t.table().resizing());
    assert!(ask(&mut t, json!({"op": "resize", "buckets": 38})).is_ok());
}

#[test]
fn a_retune_with_other_buckets_resizes() {
    let mut t = filled(64, 300, false);
    let cfg = CtConfig {
        buckets: 1024,
        max: 100_000,
        auto_resize: false,
        ..CtConfig::default()
    };
    assert!(t.retune(&cfg).is_empty());
    assert_eq!(t.table().target_buckets(), 1024);
    assert!(t.table().resizing());
    // Too few for the table: the size stays, and takes effect only at a restart.
    let fixed = t.retune(&CtConfig {
        buckets: 2,
        expect_max: 7,
        ..cfg.clone()
    });
    assert_eq!(fixed, ["buckets"]);
    assert_eq!(t.table().target_buckets(), 1024);
    assert_eq!((t.config().buckets, t.config().expect_max), (1024, 7));
}
