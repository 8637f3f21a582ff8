//! Expectations: a connection announced on a master becomes RELATED, inherits the
//! master's mark, consumes the expectation (unless permanent); per-master limits evict
//! the oldest; expectations expire, and die with their master.

use brickwall_conntrack::config::CtConfig;
use brickwall_conntrack::datagram::{ipv4, tcp, udp, view};
use brickwall_conntrack::expect::{ExpectError, ExpectSpec, Mask, PERMANENT};
use brickwall_conntrack::tracker::Tracker;
use brickwall_conntrack::tuple::Tuple;
use brickwall_hooks::CtInfo;

const SEC: u64 = 1_000_000_000;
const A: [u8; 4] = [10, 0, 0, 1];
const B: [u8; 4] = [10, 0, 0, 2];
const C: [u8; 4] = [10, 0, 0, 3];

/// A TCP segment (sequence number 100) or UDP datagram.
fn packet(src: [u8; 4], dst: [u8; 4], proto: u8, sport: u16, dport: u16, flags: u8) -> Vec<u8> {
    let l4 = if proto == 6 {
        tcp(sport, dport, 100, 0, flags)
    } else {
        udp(sport, dport)
    };
    ipv4(src, dst, proto, &l4)
}

/// Runs a datagram through conntrack-in and confirm with a `ct mark`; returns the view's
/// ctinfo, id, mark and reference.
fn run(t: &mut Tracker, mut d: Vec<u8>, ts: u64, mark: u32) -> (CtInfo, u64, u32, u64) {
    let mut v = view(&mut d, ts);
    t.conntrack_in(&mut v);
    if mark != 0 {
        v.ct_mark = mark;
    }
    t.confirm(&mut v);
    (v.ctinfo(), v.ct_id, v.ct_mark, v.ct)
}

fn v4(a: [u8; 4]) -> [u8; 16] {
    let mut x = [0; 16];
    x[..4].copy_from_slice(&a);
    x
}

fn spec(src: [u8; 4], dst: [u8; 4], dport: u16, mask: Mask, max: u32, flags: u32) -> ExpectSpec {
    ExpectSpec {
        tuple: Tuple {
            src: v4(src),
            dst: v4(dst),
            src_id: 0,
            dst_id: dport,
            proto: 6,
            family: 2,
            zone: 0,
        },
        mask,
        timeout_s: 300,
        helper: "ftp".into(),
        class: 0,
        max_expected: max,
        flags,
        nat: None,
    }
}

/// An established FTP-like control connection A:5555 -> B:21 with ct mark 7.
fn master(t: &mut Tracker) -> u64 {
    let (_, _, _, ct) = run(t, packet(A, B, 6, 5555, 21, 0x02), SEC, 7);
    ct
}

#[test]
fn an_expected_connection_is_related_and_inherits_the_mark() {
    let mut t = Tracker::new(CtConfig::default(), 60);
    let ct = master(&mut t);
    // Active FTP: the server connects from any port to the client's announced port.
    let id = t
        .expect_create(ct, spec(B, A, 40000, Mask::ANY_SRC_PORT, 1, 0), SEC)
        .unwrap();
    assert!(id > 0);
    let line = t.expects().all()[0].line(SEC);
    assert_eq!(
        line,
        "300 proto=6 src=10.0.0.2 dst=10.0.0.1 sport=0 dport=40000 mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 master-src=10.0.0.1 master-dst=10.0.0.2 sport=5555 dport=21 class=0 helper=ftp"
    );
    // Another source address does not match; the announced one does, from any port.
    let (info, _, _, _) = run(&mut t, packet(C, A, 6, 20, 40000, 0x02), 2 * SEC, 0);
    assert_eq!(info, CtInfo::New);
    let (info, _, mark, _) = run(&mut t, packet(B, A, 6, 20, 40000, 0x02), 2 * SEC, 0);
    assert_eq!((info, mark), (CtInfo::Related, 7));
    assert!(t.expects().is_empty(), "consumed");
    assert_eq!(
        (
            t.stats().expect_create,
            t.stats().expect_new,
            t.stats().expect_delete
        ),
        (1, 1, 1)
    );
    // A second connection to the same port is no longer related.
    let (info, _, _, _) = run(&mut t, packet(B, A, 6, 21, 40000, 0x02), 2 * SEC, 0);
    assert_eq!(info, CtInfo::New);
}

#[test]
fn limits_permanence_expiry_and_master_death() {
    let mut t = Tracker::new(
        CtConfig {
            expect_max: 3,
            ..CtConfig::default()
        },
        60,
    );
    let ct = master(&mut t);
    // max_expected 2: the third evicts the oldest.
    for port in [1000, 1001, 1002] {
        t.expect_create(ct, spec(B, A, port, Mask::ANY_SRC_PORT, 2, 0), SEC)
            .unwrap();
    }
    let ports: Vec<u16> = t.expects().all().iter().map(|e| e.tuple.dst_id).collect();
    assert_eq!(ports, [1001, 1002]);
    // The global limit.
    t.expect_create(ct, spec(B, A, 2000, Mask::ANY_SRC, 0, PERMANENT), SEC)
        .unwrap();
    assert_eq!(
        t.expect_create(ct, spec(B, A, 2001, Mask::ANY_SRC, 0, 0), SEC),
        Err(ExpectError::TableFull)
    );
    // Permanent: matches twice, from anywhere.
    assert_eq!(
        run(&mut t, packet(C, A, 6, 9, 2000, 0x02), 2 * SEC, 0).0,
        CtInfo::Related
    );
    assert_eq!(
        run(&mut t, packet(B, A, 6, 9, 2000, 0x02), 2 * SEC, 0).0,
        CtInfo::Related
    );
    assert_eq!(t.expects().len(), 3);
    // Expiry: 300 s later nothing matches.
    assert_eq!(
        run(&mut t, packet(B, A, 6, 9, 1001, 0x02), 400 * SEC, 0).0,
        CtInfo::New
    );
    // A master's end takes its expectations with it.
    let mut t = Tracker::new(CtConfig::default(), 60);
    let ct = master(&mut t);
    t.expect_create(ct, spec(B, A, 3000, Mask::ANY_SRC_PORT, 1, 0), SEC)
        .unwrap();
    assert_eq!(t.flush(), 1);
    assert!(t.expects().is_empty());
    assert_eq!(
        t.expect_create(ct, spec(B, A, 3000, Mask::ANY_SRC_PORT, 1, 0), SEC),
        Err(ExpectError::NoMaster)
    );
}

/// `use=` counts a master's confirmed RELATED children; `end_expected` (a helper's
/// teardown) ends its pending expectations and exactly those children — not a
/// connection that took over the slot of a child that had already gone.
#[test]
fn end_expected_ends_the_masters_children_and_nothing_else() {
    let mut t = Tracker::new(CtConfig::default(), 60);
    let ct = master(&mut t);
    let uses = |t: &Tracker| {
        let lines = brickwall_conntrack::list::list(t, 3 * SEC);
        let m = lines
            .iter()
            .find(|l| l.contains("sport=5555 dport=21"))
            .expect("the master is listed")
            .clone();
        (
            m.contains(" use=1"),
            m.contains(" use=2"),
            m.contains(" use=3"),
            lines.len(),
        )
    };
    let permanent = spec(B, A, 40000, Mask::ANY_SRC_PORT, 4, PERMANENT);
    t.expect_create(ct, permanent, SEC).unwrap();
    let (info, _, _, first) = run(&mut t, packet(B, A, 6, 20, 40000, 0x02), 2 * SEC, 0);
    assert_eq!(info, CtInfo::Related);
    let (info, _, _, _) = run(&mut t, packet(B, A, 6, 21, 40000, 0x02), 2 * SEC, 0);
    assert_eq!(info, CtInfo::Related);
    assert_eq!(uses(&t), (false, false, true, 3), "two children: use=3");
    // The first child goes by hand; an unrelated connection may take its slot.
    // (A packet reference is `generation << 32 | slot + 1`.)
    assert!(t.remove(((first & 0xffff_ffff) - 1) as u32));
    assert!(uses(&t).1, "one child left: use=2");
    run(&mut t, packet(C, A, 6, 99, 80, 0x02), 2 * SEC, 0);
    assert_eq!(t.end_expected(ct), 1, "only the remaining child");
    assert!(t.expects().is_empty(), "the permanent expectation went too");
    let (one, _, _, n) = uses(&t);
    assert!(one, "use=1 again");
    assert_eq!(n, 2, "the master and the unrelated connection stay");
}

#[test]
fn expectations_a_connection_could_match_twice_clash() {
    let mut t = Tracker::new(CtConfig::default(), 60);
    let one = master(&mut t);
    let (_, _, _, two) = run(&mut t, packet(C, B, 6, 6666, 21, 0x02), SEC, 0);
    assert_ne!(one, two);
    t.expect_create(one, spec(B, A, 40000, Mask::ANY_SRC_PORT, 4, 0), SEC)
        .unwrap();
    // Another master's expectation of any source to the same port overlaps it: a
    // connection from B could match both.
    assert_eq!(
        t.expect_create(two, spec(C, A, 40000, Mask::ANY_SRC, 4, 0), SEC),
        Err(ExpectError::Clash)
    );
    // So does the same master's with another mask, or the same one of another class.
    assert_eq!(
        t.expect_create(one, spec(B, A, 40000, Mask::EXACT, 4, 0), SEC)
            .map(|_| ()),
        Err(ExpectError::Clash)
    );
    let other_class = ExpectSpec {
        class: 1,
        ..spec(B, A, 40000, Mask::ANY_SRC_PORT, 4, 0)
    };
    assert_eq!(
        t.expect_create(one, other_class, SEC),
        Err(ExpectError::Clash)
    );
    // Different sources under both masks do not clash; an identical one of the same
    // master and class replaces the first.
    t.expect_create(two, spec(C, A, 40000, Mask::ANY_SRC_PORT, 4, 0), SEC)
        .unwrap();
    t.expect_create(one, spec(B, A, 40000, Mask::ANY_SRC_PORT, 4, 0), SEC)
        .unwrap();
    assert_eq!(t.expects().len(), 2);
    assert_eq!(t.stats().expect_create, 3);
    // Each connection finds its own.
    let (info, _, mark, _) = run(&mut t, packet(B, A, 6, 20, 40000, 0x02), 2 * SEC, 0);
    assert_eq!((info, mark), (CtInfo::Related, 7));
    let (info, _, mark, _) = run(&mut t, packet(C, A, 6, 20, 40000, 0x02), 2 * SEC, 0);
    assert_eq!((info, mark), (CtInfo::Related, 0));
}

/// A PPTP GRE packet (version 1, key: the receiver's call id).
fn gre(src: [u8; 4], dst: [u8; 4], call_id: u16) -> Vec<u8> {
    let [hi, lo] = call_id.to_be_bytes();
    ipv4(src, dst, 47, &[0x20, 0x01, 0x88, 0x0b, 0, 0, hi, lo])
}

/// The GRE expectation of a PPTP call from `src` (call id `src_key`) to `dst`
/// (`dst_key`).
fn gre_spec(src: [u8; 4], dst: [u8; 4], src_key: u16, dst_key: u16) -> ExpectSpec {
    ExpectSpec {
        tuple: Tuple {
            src: v4(src),
            dst: v4(dst),
            src_id: src_key,
            dst_id: dst_key,
            proto: 47,
            family: 2,
            zone: 0,
        },
        helper: "pptp".into(),
        ..spec(src, dst, 0, Mask::EXACT, 2, 0)
    }
}

#[test]
fn a_pptp_control_connection_that_ends_takes_its_gre_calls_with_it() {
    let mut t = Tracker::new(CtConfig::default(), 60);
    // A PPTP control connection A -> B:1723 sets up a call (A's call id 7, B's 9).
    let (_, _, _, pptp) = run(&mut t, packet(A, B, 6, 5000, 1723, 0x02), SEC, 0);
    t.expect_create(pptp, gre_spec(A, B, 7, 9), SEC).unwrap();
    t.expect_create(pptp, gre_spec(B, A, 9, 7), SEC).unwrap();
    let (info, _, _, _) = run(&mut t, gre(A, B, 9), 2 * SEC, 0);
    assert_eq!(info, CtInfo::Related);
    let (info, _, _, _) = run(&mut t, gre(B, A, 7), 2 * SEC, 0);
    assert_eq!(info, CtInfo::EstablishedReply);
    // An FTP-like control connection and its data connection beside it.
    let ftp = master(&mut t);
    t.expect_create(ftp, spec(B, A, 40000, Mask::ANY_SRC_PORT, 1, 0), SEC)
        .unwrap();
    let (info, _, _, _) = run(&mut t, packet(B, A, 6, 20, 40000, 0x02), 2 * SEC, 0);
    assert_eq!(info, CtInfo::Related);
    assert_eq!(brickwall_conntrack::list::list(&t, 2 * SEC).len(), 4);
    // The PPTP control connection goes: its GRE call goes with it (Linux's pptp
    // helper destroys its siblings).
    assert!(t.remove(((pptp & 0xffff_ffff) - 1) as u32));
    let lines = brickwall_conntrack::list::list(&t, 2 * SEC);
    assert!(lines.iter().all(|l| !l.starts_with("gre")), "{lines:#?}");
    assert_eq!(lines.len(), 2, "{lines:#?}");
    // An FTP control connection's data connection outlives it, as in Linux.
    assert!(t.remove(((ftp & 0xffff_ffff) - 1) as u32));
    let lines = brickwall_conntrack::list::list(&t, 2 * SEC);
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(lines[0].contains("sport=20 dport=40000"), "{lines:#?}");
}

/// A helper's flush (`flush_expected`) removes the master's pending expectations of
/// the classes named, counted and with nothing else: another class, another master's
/// and the connections already made stay.
#[test]
fn flushing_classes_removes_only_those_pending_expectations() {
    let mut t = Tracker::new(CtConfig::default(), 60);
    let ct = master(&mut t);
    let (_, _, _, other) = run(&mut t, packet(A, B, 6, 5556, 21, 0x02), SEC, 0);
    let of_class = |port: u16, class: u8| ExpectSpec {
        class,
        ..spec(B, A, port, Mask::ANY_SRC_PORT, 4, 0)
    };
    for (port, class) in [(4000, 1), (4001, 1), (4002, 2), (4003, 1)] {
        t.expect_create(ct, of_class(port, class), SEC).unwrap();
    }
    t.expect_create(other, of_class(4010, 1), SEC).unwrap();
    // The first of class 1 is used: a connection.
    let (info, _, _, _) = run(&mut t, packet(B, A, 6, 9, 4000, 0x02), 2 * SEC, 0);
    assert_eq!(info, CtInfo::Related);
    let deleted = t.stats().expect_delete;
    assert_eq!(t.flush_expected(ct, &[1, 3]), 2);
    assert_eq!(t.stats().expect_delete, deleted + 2);
    let mut left: Vec<u16> = t.expects().all().iter().map(|e| e.tuple.dst_id).collect();
    left.sort();
    assert_eq!(left, [4002, 4010]);
    let lines = brickwall_conntrack::list::list(&t, 3 * SEC);
    assert!(
        lines.iter().any(|l| l.contains("dport=4000")),
        "the connection made lives on: {lines:?}"
    );
    assert_eq!(t.flush_expected(ct, &[]), 0);
}

/// A helper's timeout (`refresh`) sets the connection's expiry from now, longer or
/// shorter than its protocol's.
#[test]
fn a_helpers_timeout_sets_the_connections_expiry() {
    let mut t = Tracker::new(CtConfig::default(), 60);
    let (_, _, _, ct) = run(&mut t, packet(A, B, 17, 850, 10080, 0), SEC, 0);
    let left = |t: &Tracker, now: u64| {
        let lines = brickwall_conntrack::list::list(t, now);
        lines[0].split_whitespace().nth(2).unwrap().to_owned()
    };
    assert_eq!(left(&t, SEC), "30");
    t.refresh(ct, 2 * SEC, 300);
    assert_eq!(left(&t, 2 * SEC), "300");
    t.refresh(ct, 3 * SEC, 5);
    assert_eq!(left(&t, 3 * SEC), "5");
}
