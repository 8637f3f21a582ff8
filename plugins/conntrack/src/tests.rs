//! The plugin as the engine drives it, registration by registration: what conntrack-in
//! and confirm leave on the connection when other plugins change the packet's mark and
//! labels in between, or the control channel changes the connection.

use super::{op, Conntrack};
use crate::datagram::{ipv4, view};
use brickwall_hooks::{CtInfo, Host, PacketView, Plugin, Verdict};
use serde_json::{json, Value};

/// A UDP datagram 10.0.0.1:1000 → 10.0.0.2:53, or its reply.
fn udp(reply: bool) -> Vec<u8> {
    let (a, b) = ([10, 0, 0, 1], [10, 0, 0, 2]);
    if reply {
        ipv4(b, a, 17, &crate::datagram::udp(53, 1000))
    } else {
        ipv4(a, b, 17, &crate::datagram::udp(1000, 53))
    }
}

fn plugin() -> Conntrack {
    Conntrack::init("null", Host::new(std::ptr::null(), "conntrack")).expect("defaults")
}

fn ask(p: &Conntrack, req: Value) -> Value {
    let mut out = Vec::new();
    p.control(req.to_string().as_bytes(), &mut out)
        .expect("request");
    serde_json::from_slice(&out).expect("json")
}

/// The connection's mark, as the control channel lists it.
fn mark(p: &Conntrack) -> u64 {
    let r = ask(p, json!({"op": "list", "format": "json", "now_ns": 1}));
    r["entries"][0]["mark"].as_u64().expect("one connection")
}

/// One packet through conntrack-in, then `between` (what later plugins do to it), then
/// confirm; its ctinfo.
fn pass(p: &Conntrack, reply: bool, between: impl FnOnce(&mut PacketView)) -> CtInfo {
    let mut d = udp(reply);
    let mut v = view(&mut d, 1_000_000_000);
    assert_eq!(p.on_packet(op::IN_PRE, &mut v), Verdict::Accept);
    between(&mut v);
    assert_eq!(p.on_packet(op::CONFIRM_POST, &mut v), Verdict::Accept);
    v.ctinfo()
}

#[test]
fn confirm_keeps_what_plugins_set_and_reverts_nothing_else() {
    let p = plugin();
    assert_eq!(pass(&p, false, |_| {}), CtInfo::New);
    assert_eq!(pass(&p, true, |_| {}), CtInfo::EstablishedReply);
    // A plugin sets the mark of an established packet: the connection takes it.
    assert_eq!(pass(&p, false, |v| v.ct_mark = 9), CtInfo::Established);
    assert_eq!(mark(&p), 9);
    // The control channel changes the mark while a packet is between conntrack-in
    // (which attached 9) and confirm, and no plugin touched the packet: the change
    // stands (confirm has nothing to keep, and passes the packet without a lock).
    pass(&p, false, |_| {
        let r = ask(&p, json!({"op": "update", "filter": {}, "mark": 11}));
        assert_eq!(r["updated"], 1);
    });
    assert_eq!(mark(&p), 11);
    // The next packet carries 11; a plugin setting labels on it is kept.
    pass(&p, true, |v| {
        assert_eq!(v.ct_mark, 11);
        v.set_labels(1 << 3);
    });
    let r = ask(&p, json!({"op": "list", "format": "json", "now_ns": 1}));
    assert_eq!(r["entries"][0]["labels"], "0x8");
    // A connection with labels always goes through confirm's locked path; an unchanged
    // packet keeps them.
    pass(&p, false, |v| assert_eq!(v.labels(), 1 << 3));
    let r = ask(&p, json!({"op": "list", "format": "json", "now_ns": 1}));
    assert_eq!(
        (r["entries"][0]["labels"].as_str(), mark(&p)),
        (Some("0x8"), 11)
    );
}

/// A control request is read before the tracker is locked: a malformed one is answered
/// while a packet holds the lock, and one past the size limit is refused by its size.
#[test]
fn requests_are_read_without_the_tracker_lock_and_bounded() {
    let p = plugin();
    let (held, release) = std::sync::mpsc::channel::<()>();
    let guard_taken = std::sync::Barrier::new(2);
    std::thread::scope(|s| {
        let (p, guard_taken_ref) = (&p, &guard_taken);
        s.spawn(move || {
            let _t = p.tracker();
            guard_taken_ref.wait();
            let _ = release.recv_timeout(std::time::Duration::from_secs(10));
        });
        guard_taken.wait();
        let started = std::time::Instant::now();
        let mut out = Vec::new();
        let e = p.control(b"{\"op\": \"list\", oops", &mut out).unwrap_err();
        assert!(e.contains("malformed JSON"), "{e}");
        let big = format!("{{\"op\":\"list\",\"pad\":\"{}\"}}", "x".repeat(2 << 20));
        let e = p.control(big.as_bytes(), &mut out).unwrap_err();
        assert!(e.contains("bytes, at most 1048576"), "{e}");
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        held.send(()).unwrap();
    });
}

/// Event sessions of polling clients are bounded: the 17th is refused with the limit
/// named, and a session's polls go on.
#[test]
fn event_sessions_are_bounded() {
    let p = plugin();
    let mut cursors = Vec::new();
    for _ in 0..crate::events::Pollers::MAX_SESSIONS {
        let r = ask(&p, json!({"op": "events", "cursor": 0}));
        cursors.push(r["cursor"].as_u64().unwrap());
    }
    let mut out = Vec::new();
    let e = p
        .control(
            json!({"op": "events", "cursor": 0}).to_string().as_bytes(),
            &mut out,
        )
        .unwrap_err();
    assert!(e.contains("too many event sessions (at most 16"), "{e}");
    let r = ask(&p, json!({"op": "events", "cursor": cursors[3]}));
    assert_eq!(r["cursor"].as_u64(), Some(cursors[3]));
}

/// A received packet of a confirmed connection whose checksum is wrong is INVALID, on
/// a lane as on the exclusive path, and refreshes nothing.
#[test]
fn a_bad_checksum_is_invalid_for_an_established_connection_too() {
    let p = plugin();
    let through = |reply: bool, corrupt: bool| {
        let mut d = udp(reply);
        if corrupt {
            let n = d.len();
            d[n - 1] ^= 1;
        }
        let mut v = view(&mut d, 1_000_000_000);
        v.hook = brickwall_hooks::Hook::PreRouting as u8;
        p.on_packet(op::IN_PRE, &mut v);
        p.on_packet(op::CONFIRM_POST, &mut v);
        v.ctinfo()
    };
    assert_eq!(through(false, false), CtInfo::New);
    assert_eq!(through(true, false), CtInfo::EstablishedReply);
    assert_eq!(through(false, true), CtInfo::Invalid);
    assert_eq!(through(true, true), CtInfo::Invalid);
    assert_eq!(through(false, false), CtInfo::Established);
}

/// A connection whose timeout is fixed keeps it when a helper asks for another.
#[test]
fn a_fixed_timeout_outlasts_a_helpers_refresh() {
    use crate::config::CtConfig;
    use crate::conn::status::FIXED_TIMEOUT;
    use crate::tracker::Tracker;
    let mut t = Tracker::new(CtConfig::default(), 60);
    let mut d = udp(false);
    let mut v = view(&mut d, 1_000_000_000);
    t.conntrack_in(&mut v);
    t.confirm(&mut v);
    let (idx, c) = t.conn_of(v.ct).expect("tracked");
    let expires = c.expires_ns;
    t.table.get_mut(idx).expect("in the table").status |= FIXED_TIMEOUT;
    t.refresh(v.ct, 2_000_000_000, 300);
    assert_eq!(t.conn_of(v.ct).unwrap().1.expires_ns, expires);
    t.table.get_mut(idx).unwrap().status &= !FIXED_TIMEOUT;
    t.refresh(v.ct, 2_000_000_000, 300);
    assert_eq!(t.conn_of(v.ct).unwrap().1.expires_ns, 302_000_000_000);
}
