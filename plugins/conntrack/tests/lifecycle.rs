//! The conntrack core driven directly with packet views: lifecycle (unconfirmed until
//! confirm), ctinfo per direction, expiry, garbage collection, early drop when full,
//! clash resolution, chain limits, ICMP errors, notrack.

use brickwall_conntrack::config::CtConfig;
use brickwall_conntrack::datagram::{icmp, ipv4, ipv6, tcp, udp, view};
use brickwall_conntrack::tracker::{ConfirmVerdict, InVerdict, Tracker};
use brickwall_hooks::{flags, CtInfo};

const SEC: u64 = 1_000_000_000;

/// Runs a datagram through conntrack-in and (if asked) confirm; returns its ctinfo,
/// connection id and conntrack-in verdict.
fn run(t: &mut Tracker, mut d: Vec<u8>, ts: u64, confirm: bool) -> (CtInfo, u64, InVerdict) {
    let mut v = view(&mut d, ts);
    let r = t.conntrack_in(&mut v);
    if confirm && r == InVerdict::Accept {
        assert_eq!(t.confirm(&mut v), ConfirmVerdict::Accept);
    }
    (v.ctinfo(), v.ct_id, r)
}

/// A tracker whose chain limit never interferes (the chain limit has its own test).
fn tracker(cfg: CtConfig) -> Tracker {
    Tracker::new(cfg, 10_000)
}

const A: [u8; 4] = [10, 0, 0, 1];
const B: [u8; 4] = [10, 0, 0, 2];
const R: [u8; 4] = [10, 9, 9, 9];

#[test]
fn udp_directions_and_confirmation() {
    let mut t = tracker(CtConfig {
        accounting: true,
        ..CtConfig::default()
    });
    // A new flow whose packet is dropped before confirmation never enters the table.
    let (info, _, _) = run(&mut t, ipv4(A, B, 17, &udp(1000, 53)), SEC, false);
    assert_eq!(info, CtInfo::New);
    assert_eq!(t.table().confirmed(), 0);
    let (i1, id, _) = run(&mut t, ipv4(A, B, 17, &udp(1000, 53)), SEC, true);
    assert_eq!(i1, CtInfo::New);
    assert_eq!(t.table().confirmed(), 1);
    let (i2, id2, _) = run(&mut t, ipv4(A, B, 17, &udp(1000, 53)), 2 * SEC, true);
    assert_eq!(
        (i2, id2),
        (CtInfo::New, id),
        "original direction before any reply is NEW"
    );
    let (i3, id3, _) = run(&mut t, ipv4(B, A, 17, &udp(53, 1000)), 3 * SEC, true);
    assert_eq!((i3, id3), (CtInfo::EstablishedReply, id));
    let (i4, _, _) = run(&mut t, ipv4(A, B, 17, &udp(1000, 53)), 4 * SEC, true);
    assert_eq!(i4, CtInfo::Established);
    let lines = brickwall_conntrack::list::list(&t, 4 * SEC);
    assert_eq!(lines.len(), 1);
    assert!(lines[0].starts_with("udp      17 "), "{}", lines[0]);
    assert!(lines[0].contains("src=10.0.0.1 dst=10.0.0.2 sport=1000 dport=53 packets=3 bytes=96 src=10.0.0.2 dst=10.0.0.1 sport=53 dport=1000 packets=1 bytes=32"), "{}", lines[0]);
    assert!(lines[0].ends_with("[ASSURED] mark=0 use=1"), "{}", lines[0]);
    assert_eq!(t.stats().insert, 1);
}

#[test]
fn expiry_on_lookup_and_garbage_collection() {
    let mut t = tracker(CtConfig {
        buckets: 64,
        gc_buckets: 64,
        ..CtConfig::default()
    });
    let (_, id1, _) = run(&mut t, ipv4(A, B, 17, &udp(1, 2)), SEC, true);
    // 31 s later the unreplied flow (30 s) has expired: the next packet starts a new one.
    let (info, id2, _) = run(&mut t, ipv4(A, B, 17, &udp(1, 2)), 32 * SEC, true);
    assert_eq!(info, CtInfo::New);
    assert_ne!(id1, id2);
    assert_eq!(t.table().confirmed(), 1);
    // The collector removes expired entries it visits, without a lookup for them.
    run(&mut t, ipv4(A, B, 17, &udp(7, 8)), 33 * SEC, true);
    assert_eq!(t.table().confirmed(), 2);
    run(&mut t, ipv4(R, B, 17, &udp(9, 9)), 100 * SEC, true);
    assert_eq!(
        t.table().confirmed(),
        1,
        "the collector (all buckets per run here) removed both"
    );
}

#[test]
fn table_full_early_drops_a_non_assured_entry() {
    let cfg = CtConfig {
        max: 100,
        buckets: 8,
        ..CtConfig::default()
    };
    let mut t = tracker(cfg);
    for p in 0..100u16 {
        run(&mut t, ipv4(A, B, 17, &udp(1000 + p, 53)), SEC, true);
    }
    assert_eq!(t.table().confirmed(), 100);
    let (info, _, r) = run(&mut t, ipv4(A, B, 17, &udp(5000, 53)), SEC, true);
    assert_eq!((info, r), (CtInfo::New, InVerdict::Accept));
    assert_eq!(t.table().confirmed(), 100);
    assert_eq!(t.stats().early_drop, 1);
}

#[test]
fn an_assured_flow_survives_a_flood_ten_times_the_maximum() {
    let cfg = CtConfig {
        max: 100,
        buckets: 8,
        ..CtConfig::default()
    };
    let mut t = tracker(cfg);
    // An assured UDP stream: reply seen, still active after two seconds.
    run(&mut t, ipv4(A, B, 17, &udp(4000, 4000)), SEC, true);
    run(&mut t, ipv4(B, A, 17, &udp(4000, 4000)), SEC, true);
    run(&mut t, ipv4(A, B, 17, &udp(4000, 4000)), 4 * SEC, true);
    let mut dropped = 0;
    for i in 0..1000u32 {
        let src = [172, 16, (i >> 8) as u8, i as u8];
        let (_, _, r) = run(&mut t, ipv4(src, B, 17, &udp(1234, 80)), 5 * SEC, true);
        if r == InVerdict::DropTableFull {
            dropped += 1;
        }
    }
    assert!(t.table().confirmed() <= 100);
    assert!(
        t.stats().early_drop >= 800,
        "early drops {}",
        t.stats().early_drop
    );
    assert_eq!(t.stats().drop, dropped);
    let (info, _, _) = run(&mut t, ipv4(B, A, 17, &udp(4000, 4000)), 6 * SEC, true);
    assert_eq!(
        info,
        CtInfo::EstablishedReply,
        "the assured flow was evicted"
    );
}

/// When the table is full and nothing near a new connection can be evicted (all
/// ASSURED), the packet is dropped and the collector's next pass also ends connections
/// that may go early (ASSURED TCP ones closing) while the table is at least 95 % full,
/// as Linux's `gc_worker_can_early_drop`; established ones stay.
#[test]
fn the_collector_ends_closing_connections_early_when_the_table_is_nearly_full() {
    let mut t = tracker(CtConfig {
        max: 200,
        buckets: 64,
        // Every collector run is a full pass, however the table grows.
        gc_buckets: 1 << 16,
        ..CtConfig::default()
    });
    for p in 0..200u16 {
        let port = 10_000 + p;
        run(
            &mut t,
            ipv4(A, B, 6, &tcp(port, 80, 100, 0, 0x02)),
            SEC,
            true,
        );
        run(
            &mut t,
            ipv4(B, A, 6, &tcp(80, port, 500, 101, 0x12)),
            SEC,
            true,
        );
        let (info, _, _) = run(
            &mut t,
            ipv4(A, B, 6, &tcp(port, 80, 101, 501, 0x10)),
            SEC,
            true,
        );
        assert_eq!(info, CtInfo::Established);
        if p % 2 == 1 {
            // FIN: FIN_WAIT, still ASSURED.
            run(
                &mut t,
                ipv4(A, B, 6, &tcp(port, 80, 101, 501, 0x11)),
                SEC,
                true,
            );
        }
    }
    assert_eq!(t.live(), 200);
    let (info, _, r) = run(&mut t, ipv4(R, B, 17, &udp(1, 53)), SEC, true);
    assert_eq!((info, r), (CtInfo::Invalid, InVerdict::DropTableFull));
    assert_eq!(t.stats().early_drop, 0, "nothing but ASSURED connections");
    // The collector's next run (a second later) ends closing ones down to 95 %.
    let (info, _, r) = run(&mut t, ipv4(R, B, 17, &udp(2, 53)), 3 * SEC, true);
    assert_eq!((info, r), (CtInfo::New, InVerdict::Accept));
    assert_eq!(
        t.stats().early_drop,
        11,
        "200 down to 189, then the new one"
    );
    let lines = brickwall_conntrack::list::list(&t, 3 * SEC);
    let established = lines.iter().filter(|l| l.contains(" ESTABLISHED ")).count();
    assert_eq!(established, 100, "established connections stay");
    // A full pass later the collector is back to expiry only.
    let before = t.stats().early_drop;
    let (_, _, r) = run(&mut t, ipv4(R, B, 17, &udp(3, 53)), 5 * SEC, true);
    assert_eq!(r, InVerdict::Accept, "room left at 190");
    let (_, _, _) = run(&mut t, ipv4(R, B, 17, &udp(4, 53)), 7 * SEC, true);
    assert_eq!(
        t.stats().early_drop,
        before,
        "no early drop without a full table"
    );
}

/// Two packets of one new flow racing to confirmation: for the protocols Linux lets
/// clash (UDP, ICMP, GRE: `allow_clash`) the second joins the first entry; for TCP it is
/// dropped.
#[test]
fn clash_at_confirm_is_resolved_for_udp_icmp_and_gre() {
    let pptp_gre = [0x20, 0x01, 0x88, 0x0b, 0, 8, 0, 7];
    let cases: [(&str, Vec<u8>); 3] = [
        ("udp", ipv4(A, B, 17, &udp(1, 2))),
        ("icmp", ipv4(A, B, 1, &icmp(8, 0, &[0, 7, 0, 1]))),
        ("gre", ipv4(A, B, 47, &pptp_gre)),
    ];
    for (name, d) in cases {
        let mut t = tracker(CtConfig::default());
        let (mut d1, mut d2) = (d.clone(), d);
        let mut v1 = view(&mut d1, SEC);
        let mut v2 = view(&mut d2, SEC);
        t.conntrack_in(&mut v1);
        t.conntrack_in(&mut v2);
        assert_ne!(
            v1.ct_id, v2.ct_id,
            "{name}: two unconfirmed entries for one flow"
        );
        assert_eq!(t.confirm(&mut v1), ConfirmVerdict::Accept, "{name}");
        assert_eq!(t.confirm(&mut v2), ConfirmVerdict::Accept, "{name}");
        assert_eq!(
            v2.ct_id, v1.ct_id,
            "{name}: the second packet now belongs to the first entry"
        );
        assert_eq!(t.stats().clash_resolve, 1, "{name}");
        assert_eq!((t.table().confirmed(), t.live()), (1, 1), "{name}");
    }
    let mut t = tracker(CtConfig::default());
    let mut d1 = ipv4(A, B, 6, &tcp(1, 2, 100, 0, 0x02));
    let mut d2 = d1.clone();
    let mut v1 = view(&mut d1, SEC);
    let mut v2 = view(&mut d2, SEC);
    t.conntrack_in(&mut v1);
    t.conntrack_in(&mut v2);
    assert_eq!(t.confirm(&mut v1), ConfirmVerdict::Accept);
    assert_ne!(
        t.confirm(&mut v2),
        ConfirmVerdict::Accept,
        "tcp does not clash"
    );
}

#[test]
fn over_long_chains_refuse_inserts() {
    // One bucket that stays one (growing would spread the chain).
    let cfg = CtConfig {
        buckets: 1,
        auto_resize: false,
        ..CtConfig::default()
    };
    let mut t = Tracker::new(cfg, 10);
    let mut failed = 0;
    for p in 0..20u16 {
        let mut d = ipv4(A, B, 17, &udp(p, 9));
        let mut v = view(&mut d, SEC);
        t.conntrack_in(&mut v);
        if t.confirm(&mut v) == ConfirmVerdict::DropInsertFailed {
            failed += 1;
        }
    }
    // Each connection puts two nodes in the one chain: 5 fit under a limit of 10.
    assert_eq!(t.table().confirmed(), 5);
    assert_eq!(failed, 15);
    assert_eq!(t.stats().chaintoolong, 15);
    assert_eq!(t.stats().insert_failed, 15);
}

#[test]
fn icmp_errors_are_related_to_the_flow_they_quote_or_invalid() {
    let mut t = tracker(CtConfig::default());
    let sent = ipv4(A, B, 17, &udp(3333, 53));
    run(&mut t, sent.clone(), SEC, true);
    // Port unreachable from B about A's datagram: RELATED, reply direction.
    let mut rest = vec![0, 0, 0, 0];
    rest.extend_from_slice(&sent[..28]);
    let (info, _, _) = run(&mut t, ipv4(B, A, 1, &icmp(3, 3, &rest)), SEC, true);
    assert_eq!(info, CtInfo::RelatedReply);
    // One quoting only the UDP ports (4 bytes of its header) is too, as in Linux.
    let mut short = vec![0, 0, 0, 0];
    short.extend_from_slice(&sent[..24]);
    let (info, _, _) = run(&mut t, ipv4(B, A, 1, &icmp(3, 3, &short)), SEC, true);
    assert_eq!(info, CtInfo::RelatedReply);
    // The same error sent to someone else than the flow's source: INVALID.
    let (info, _, _) = run(&mut t, ipv4(B, R, 1, &icmp(3, 3, &rest)), SEC, true);
    assert_eq!(info, CtInfo::Invalid);
    // An error about a flow nobody saw: INVALID, counted as an ICMP error.
    let other = ipv4(A, R, 17, &udp(1, 1));
    let mut rest2 = vec![0, 0, 0, 0];
    rest2.extend_from_slice(&other[..28]);
    let (info, _, _) = run(&mut t, ipv4(R, A, 1, &icmp(3, 3, &rest2)), SEC, true);
    assert_eq!(info, CtInfo::Invalid);
    // An error about an error: INVALID.
    let err = ipv4(B, A, 1, &icmp(3, 3, &rest));
    let mut rest3 = vec![0, 0, 0, 0];
    rest3.extend_from_slice(&err[..28]);
    let (info, _, _) = run(&mut t, ipv4(R, B, 1, &icmp(11, 0, &rest3)), SEC, true);
    assert_eq!(info, CtInfo::Invalid);
    assert_eq!(t.stats().icmp_error, 3);
    // Echo: request NEW, reply ESTABLISHED (reply direction); a lone reply is INVALID.
    let (i, _, _) = run(&mut t, ipv4(A, B, 1, &icmp(8, 0, &[0, 7, 0, 1])), SEC, true);
    assert_eq!(i, CtInfo::New);
    let (i, _, _) = run(&mut t, ipv4(B, A, 1, &icmp(0, 0, &[0, 7, 0, 1])), SEC, true);
    assert_eq!(i, CtInfo::EstablishedReply);
    let (i, _, _) = run(&mut t, ipv4(B, A, 1, &icmp(0, 0, &[0, 8, 0, 1])), SEC, true);
    assert_eq!(i, CtInfo::Invalid);
}

/// An IPv6 address: `fe80::N` (link-local) or `2001:db8::N`.
fn v6(link_local: bool, n: u8) -> [u8; 16] {
    let mut a = [0u8; 16];
    if link_local {
        a[..2].copy_from_slice(&[0xfe, 0x80]);
    } else {
        a[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
    }
    a[15] = n;
    a
}

/// An ICMPv6 redirect from router `from` to `to` (hop limit `hl`), code `code`, with
/// `options` after its target and destination addresses.
fn redirect6(from: [u8; 16], to: [u8; 16], hl: u8, code: u8, options: &[u8]) -> Vec<u8> {
    let mut rest = vec![0u8; 4 + 32];
    rest.extend_from_slice(options);
    let mut d = ipv6(from, to, 58, &icmp(137, code, &rest));
    d[7] = hl;
    d
}

/// A redirected-header option quoting `quoted` (8-byte units, padded).
fn redirected_header(quoted: &[u8]) -> Vec<u8> {
    let len = (8 + quoted.len()).div_ceil(8);
    let mut o = vec![4, len as u8, 0, 0, 0, 0, 0, 0];
    o.extend_from_slice(quoted);
    o.resize(len * 8, 0);
    o
}

#[test]
fn icmpv6_untracked_types_and_redirects_as_linux() {
    let mut t = tracker(CtConfig::default());
    let (a, b, r) = (v6(false, 1), v6(false, 2), v6(true, 9));
    // Neighbour, router and multicast router discovery and MLD are untracked.
    for ty in [130u8, 131, 132, 133, 134, 135, 136, 143, 151, 152] {
        let (info, _, _) = run(&mut t, ipv6(r, a, 58, &icmp(ty, 0, &[0; 20])), SEC, true);
        assert_eq!(info, CtInfo::Untracked, "type {ty}");
    }
    assert_eq!(t.stats().invalid, 0);
    // A redirect is an error about the packet its redirected header quotes: RELATED
    // to A's flow when it comes from a link-local router with hop limit 255.
    let sent = ipv6(a, b, 17, &udp(3333, 53));
    run(&mut t, sent.clone(), SEC, true);
    let opt = redirected_header(&sent);
    let (info, _, _) = run(&mut t, redirect6(r, a, 255, 0, &opt), SEC, true);
    assert_eq!(info, CtInfo::RelatedReply);
    // Sent to another host than the quoted packet's source: INVALID, an error.
    let (info, _, _) = run(&mut t, redirect6(r, b, 255, 0, &opt), SEC, true);
    assert_eq!(info, CtInfo::Invalid);
    // Hop limit below 255, a global source, no options, a short message: INVALID
    // errors.
    let bad = [
        redirect6(r, a, 64, 0, &opt),
        redirect6(v6(false, 9), a, 255, 0, &opt),
        redirect6(r, a, 255, 0, &[]),
        redirect6(r, a, 255, 0, &[4, 0, 0, 0, 0, 0, 0, 0]),
        ipv6(r, a, 58, &icmp(137, 0, &[0; 20])),
    ];
    for d in bad {
        let (info, _, _) = run(&mut t, d, SEC, true);
        assert_eq!(info, CtInfo::Invalid);
    }
    assert_eq!(t.stats().icmp_error, 6);
    // Another code, or a first option other than the redirected header: INVALID, as
    // a message that cannot start a connection, not an error.
    let (info, _, _) = run(&mut t, redirect6(r, a, 255, 1, &opt), SEC, true);
    assert_eq!(info, CtInfo::Invalid);
    let lladdr = [2, 1, 0, 0, 0, 0, 0, 9];
    let (info, _, _) = run(&mut t, redirect6(r, a, 255, 0, &lladdr), SEC, true);
    assert_eq!(info, CtInfo::Invalid);
    assert_eq!(t.stats().icmp_error, 6);
    assert_eq!(t.table().confirmed(), 1);
}

#[test]
fn udp_lengths_beyond_the_segment_or_under_the_header_are_invalid() {
    let mut t = tracker(CtConfig::default());
    let with_len = |src, dst, sport, dport, len: u16| {
        let mut u = udp(sport, dport);
        u[4..6].copy_from_slice(&len.to_be_bytes());
        ipv4(src, dst, 17, &u)
    };
    // A first datagram claiming more than the segment, or less than a header: INVALID,
    // no connection.
    for len in [13, 7, 0] {
        let (info, _, _) = run(&mut t, with_len(A, B, 1000, 53, len), SEC, true);
        assert_eq!(info, CtInfo::Invalid, "length {len}");
    }
    assert_eq!((t.live(), t.stats().invalid), (0, 3));
    // A sound one starts the flow (a length short of the segment is fine: padding).
    let (info, _, _) = run(&mut t, with_len(A, B, 1000, 53, 8), SEC, true);
    assert_eq!(info, CtInfo::New);
    // A malformed reply is INVALID and does not make the connection replied.
    let (info, _, _) = run(&mut t, with_len(B, A, 53, 1000, 20), 2 * SEC, true);
    assert_eq!(info, CtInfo::Invalid);
    let (info, _, _) = run(&mut t, with_len(A, B, 1000, 53, 12), 3 * SEC, true);
    assert_eq!(info, CtInfo::New, "still unreplied");
    let (info, _, _) = run(&mut t, with_len(B, A, 53, 1000, 12), 4 * SEC, true);
    assert_eq!(info, CtInfo::EstablishedReply);
    // IPv6 too.
    let (a6, b6) = (v6(false, 1), v6(false, 2));
    let mut u = udp(5, 6);
    u[4..6].copy_from_slice(&40u16.to_be_bytes());
    let (info, _, _) = run(&mut t, ipv6(a6, b6, 17, &u), SEC, true);
    assert_eq!(info, CtInfo::Invalid);
    assert_eq!(t.stats().invalid, 5);
}

/// GRE as Linux's `gre_pkt_to_tuple` reads it: version 1 (PPTP) keyed by the call id
/// at offset 6, when it carries PPP; version 1 with another protocol is INVALID; other
/// versions and a version-1 header too short for its key are tracked without keys.
#[test]
fn gre_version_1_is_tracked_only_when_it_carries_ppp() {
    let mut t = tracker(CtConfig::default());
    let gre = |flags: u16, protocol: u16, key: &[u8]| {
        let mut g = flags.to_be_bytes().to_vec();
        g.extend_from_slice(&protocol.to_be_bytes());
        g.extend_from_slice(key);
        g
    };
    // Version 1 with IPv4 inside: no tuple.
    let (info, _, _) = run(
        &mut t,
        ipv4(A, B, 47, &gre(0x2001, 0x0800, &[0, 8, 0, 7])),
        SEC,
        true,
    );
    assert_eq!(info, CtInfo::Invalid);
    assert_eq!((t.live(), t.stats().invalid), (0, 1));
    // Version 1 with PPP: keyed by the call id.
    let (info, _, _) = run(
        &mut t,
        ipv4(A, B, 47, &gre(0x2001, 0x880b, &[0, 8, 0, 7])),
        SEC,
        true,
    );
    assert_eq!(info, CtInfo::New);
    // Version 0, and version 1 cut before its key: tracked, without keys.
    let (info, _, _) = run(&mut t, ipv4(A, R, 47, &gre(0x0000, 0x0800, &[])), SEC, true);
    assert_eq!(info, CtInfo::New);
    let (info, _, _) = run(
        &mut t,
        ipv4(B, R, 47, &gre(0x2001, 0x0800, &[0])),
        SEC,
        true,
    );
    assert_eq!(info, CtInfo::New);
    let lines = brickwall_conntrack::list::list(&t, SEC);
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("src=10.0.0.1 dst=10.0.0.2 srckey=0x0 dstkey=0x7")),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("src=10.0.0.2 dst=10.9.9.9 srckey=0x0 dstkey=0x0")),
        "{lines:?}"
    );
    assert_eq!(t.stats().invalid, 1);
}

#[test]
fn connections_of_dropped_packets_are_reclaimed_after_30_s() {
    let mut t = tracker(CtConfig {
        buckets: 64,
        gc_buckets: 64,
        ..CtConfig::default()
    });
    // Worker 0's packet is dropped before confirmation; so is worker 1's, after which
    // worker 1 sends nothing more.
    run(&mut t, ipv4(A, B, 17, &udp(1, 2)), SEC, false);
    let mut d = ipv4(A, R, 17, &udp(3, 4));
    let mut v = view(&mut d, SEC);
    v.worker = 1;
    t.conntrack_in(&mut v);
    // Worker 0 goes on with a flow that is confirmed.
    run(&mut t, ipv4(A, B, 17, &udp(5, 6)), 2 * SEC, true);
    assert_eq!((t.live(), t.table().confirmed()), (3, 1));
    // Before 30 s nothing is reclaimed; after, both are, and the confirmed flow stays.
    run(&mut t, ipv4(A, B, 17, &udp(5, 6)), 20 * SEC, true);
    assert_eq!(t.live(), 3);
    run(&mut t, ipv4(A, B, 17, &udp(5, 6)), 32 * SEC, true);
    assert_eq!((t.live(), t.table().confirmed()), (1, 1));
}

#[test]
fn notrack_and_malformed_packets() {
    let mut t = tracker(CtConfig::default());
    let mut d = ipv4(A, B, 17, &udp(1, 2));
    let mut v = view(&mut d, SEC);
    v.flags |= flags::NOTRACK;
    t.conntrack_in(&mut v);
    assert_eq!(v.ctinfo(), CtInfo::Untracked);
    let mut d = ipv4(A, B, 17, &udp(1, 2));
    let mut v = view(&mut d, SEC);
    v.flags |= flags::L4_MALFORMED;
    t.conntrack_in(&mut v);
    assert_eq!(v.ctinfo(), CtInfo::Invalid);
    assert_eq!(t.stats().invalid, 1);
    assert_eq!(t.live(), 0);
}

#[test]
fn tcp_handshake_and_reopen_on_time_wait() {
    let mut t = tracker(CtConfig::default());
    let syn = || ipv4(A, B, 6, &tcp(5555, 80, 100, 0, 0x02));
    let (i, id, _) = run(&mut t, syn(), SEC, true);
    assert_eq!(i, CtInfo::New);
    let (i, _, _) = run(
        &mut t,
        ipv4(B, A, 6, &tcp(80, 5555, 900, 101, 0x12)),
        SEC,
        true,
    );
    assert_eq!(i, CtInfo::EstablishedReply);
    let (i, _, _) = run(
        &mut t,
        ipv4(A, B, 6, &tcp(5555, 80, 101, 901, 0x10)),
        SEC,
        true,
    );
    assert_eq!(i, CtInfo::Established);
    let line = &brickwall_conntrack::list::list(&t, SEC)[0];
    assert!(
        line.starts_with("tcp      6 432000 ESTABLISHED src=10.0.0.1"),
        "{line}"
    );
    // Close: FIN from A, ACK+FIN from B, last ACK from A: TIME_WAIT.
    run(
        &mut t,
        ipv4(A, B, 6, &tcp(5555, 80, 101, 901, 0x11)),
        SEC,
        true,
    );
    run(
        &mut t,
        ipv4(B, A, 6, &tcp(80, 5555, 901, 102, 0x11)),
        SEC,
        true,
    );
    run(
        &mut t,
        ipv4(A, B, 6, &tcp(5555, 80, 102, 902, 0x10)),
        SEC,
        true,
    );
    let line = &brickwall_conntrack::list::list(&t, SEC)[0];
    assert!(line.contains(" TIME_WAIT "), "{line}");
    // A new SYN on the same tuple removes the old entry and asks for REPEAT.
    let (_, _, r) = run(
        &mut t,
        ipv4(A, B, 6, &tcp(5555, 80, 50_000, 0, 0x02)),
        2 * SEC,
        false,
    );
    assert_eq!(r, InVerdict::Repeat);
    let (i, id2, _) = run(
        &mut t,
        ipv4(A, B, 6, &tcp(5555, 80, 50_000, 0, 0x02)),
        2 * SEC,
        true,
    );
    assert_eq!(i, CtInfo::New);
    assert_ne!(id, id2);
    // A lone RST or a NULL scan is INVALID.
    let (i, _, _) = run(&mut t, ipv4(R, B, 6, &tcp(1, 2, 3, 0, 0x04)), SEC, true);
    assert_eq!(i, CtInfo::Invalid);
    let (i, _, _) = run(&mut t, ipv4(R, B, 6, &tcp(1, 3, 3, 0, 0x00)), SEC, true);
    assert_eq!(i, CtInfo::Invalid);
}

#[test]
fn events_follow_the_connection_as_conntrack_e_shows_them() {
    use brickwall_conntrack::events::class;
    let mut t = tracker(CtConfig::default());
    let sub = t.events().subscribe(class::ALL, 100);
    let slow = t.events().subscribe(class::CONNTRACK, 1);
    run(
        &mut t,
        ipv4(A, B, 6, &tcp(5555, 80, 100, 0, 0x02)),
        SEC,
        true,
    );
    run(
        &mut t,
        ipv4(B, A, 6, &tcp(80, 5555, 900, 101, 0x12)),
        SEC,
        true,
    );
    run(
        &mut t,
        ipv4(A, B, 6, &tcp(5555, 80, 101, 901, 0x10)),
        SEC,
        true,
    );
    t.flush();
    let lines: Vec<String> = std::iter::from_fn(|| sub.try_recv())
        .map(|e| e.record().line(false))
        .collect();
    assert_eq!(lines.len(), 4, "{lines:#?}");
    assert_eq!(
        lines[0],
        "    [NEW] tcp      6 120 SYN_SENT src=10.0.0.1 dst=10.0.0.2 sport=5555 dport=80 [UNREPLIED] src=10.0.0.2 dst=10.0.0.1 sport=80 dport=5555"
    );
    assert!(
        lines[1].starts_with(" [UPDATE] tcp      6 60 SYN_RECV src=10.0.0.1"),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].starts_with(" [UPDATE] tcp      6 432000 ESTABLISHED src="),
        "{}",
        lines[2]
    );
    assert!(lines[2].ends_with("[ASSURED]"), "{}", lines[2]);
    assert!(
        lines[3].starts_with("[DESTROY] tcp      6 "),
        "{}",
        lines[3]
    );
    assert!(!lines[3].contains("packets="), "{}", lines[3]);
    // The slow subscriber kept one event and lost the rest; traffic did not wait for it.
    assert_eq!(slow.lost(), 3);

    // With accounting on, a DESTROY line carries each direction's counters, as
    // `conntrack -E` shows with `nf_conntrack_acct=1`; other lines do not.
    let mut t = tracker(CtConfig {
        accounting: true,
        ..CtConfig::default()
    });
    let sub = t.events().subscribe(class::ALL, 100);
    run(&mut t, ipv4(A, B, 17, &udp(7, 53)), SEC, true);
    run(&mut t, ipv4(A, B, 17, &udp(7, 53)), SEC, true);
    run(&mut t, ipv4(B, A, 17, &udp(53, 7)), SEC, true);
    t.flush();
    let lines: Vec<String> = std::iter::from_fn(|| sub.try_recv())
        .map(|e| e.record().line(false))
        .collect();
    let destroy = lines.last().expect("events");
    assert!(
        destroy.starts_with(
            "[DESTROY] udp      17 30 src=10.0.0.1 dst=10.0.0.2 sport=7 dport=53 \
             packets=2 bytes=64 src=10.0.0.2 dst=10.0.0.1 sport=53 dport=7 packets=1 bytes=32"
        ),
        "{lines:#?}"
    );
    assert!(
        lines[..lines.len() - 1]
            .iter()
            .all(|l| !l.contains("packets=")),
        "{lines:#?}"
    );
}

#[test]
fn events_can_be_polled_over_the_control_channel() {
    use brickwall_conntrack::control::handle;
    let mut t = tracker(CtConfig::default());
    let first: serde_json::Value =
        serde_json::from_slice(&handle(&mut t, br#"{"op":"events"}"#).unwrap()).unwrap();
    let cursor = first["cursor"].as_u64().unwrap();
    assert!(cursor > 0);
    assert_eq!(first["events"].as_array().unwrap().len(), 0);
    run(&mut t, ipv4(A, B, 17, &udp(1, 2)), SEC, true);
    run(&mut t, ipv4(B, A, 17, &udp(2, 1)), SEC, true);
    let req = format!(r#"{{"op":"events","cursor":{cursor},"max":10}}"#);
    let next: brickwall_control_protocol::conntrack::EventsResponse =
        serde_json::from_slice(&handle(&mut t, req.as_bytes()).unwrap()).unwrap();
    let lines: Vec<String> = next.events.iter().map(|e| e.line(false)).collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines[0].starts_with("    [NEW] udp      17 30 src=10.0.0.1"),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].starts_with(" [UPDATE] udp      17 "),
        "{}",
        lines[1]
    );
    assert_eq!((next.cursor, next.lost), (cursor, 0));
    assert!(handle(&mut t, br#"{"op":"events","cursor":999}"#)
        .unwrap_err()
        .contains("no event session"));
    assert!(handle(&mut t, br#"{"op":"events","bogus":1}"#)
        .unwrap_err()
        .contains("bogus"));
}

#[test]
fn zones_keep_identical_tuples_apart() {
    let mut t = tracker(CtConfig::default());
    for zone in [0u16, 7] {
        let mut d = ipv4(A, B, 17, &udp(1, 2));
        let mut v = view(&mut d, SEC);
        v.zone = zone;
        t.conntrack_in(&mut v);
        t.confirm(&mut v);
        assert_eq!(
            v.ctinfo(),
            CtInfo::New,
            "zone {zone}: a separate connection"
        );
    }
    assert_eq!(t.table().confirmed(), 2);
    let lines = brickwall_conntrack::list::list(&t, SEC);
    assert_eq!(
        lines.iter().filter(|l| l.contains(" zone=7 ")).count(),
        1,
        "{lines:?}"
    );
}

#[test]
fn a_connection_takes_128_bytes_whatever_its_protocol() {
    // The record holds TCP's window data; counters and start times are extensions,
    // off by default as in Linux, each an array beside the records when on.
    let mut t = tracker(CtConfig::default());
    run(
        &mut t,
        ipv4(A, B, 6, &tcp(4000, 80, 100, 0, 0x02)),
        SEC,
        true,
    );
    run(
        &mut t,
        ipv4(B, A, 6, &tcp(80, 4000, 500, 101, 0x12)),
        SEC,
        true,
    );
    run(&mut t, ipv4(A, B, 17, &udp(1, 2)), SEC, true);
    assert_eq!(t.table().confirmed(), 2);
    let lines = brickwall_conntrack::list::list(&t, SEC);
    assert!(lines.iter().any(|l| l.contains(" SYN_RECV ")), "{lines:?}");
    assert!(lines.iter().all(|l| !l.contains("packets=")), "{lines:?}");
    assert_eq!(t.table().bytes_per_conn(), 128);
    assert_eq!(
        t.table().record_bytes(),
        2 * std::mem::size_of::<brickwall_conntrack::conn::Conn>()
    );
    let on = tracker(CtConfig {
        accounting: true,
        timestamp: true,
        ..CtConfig::default()
    });
    assert_eq!(on.table().bytes_per_conn(), 128 + 32 + 8);
}

#[test]
fn marks_are_set_through_the_control_channel() {
    use brickwall_conntrack::control::handle;
    let mut t = tracker(CtConfig::default());
    run(&mut t, ipv4(A, B, 17, &udp(1, 2)), SEC, true);
    run(&mut t, ipv4(A, R, 17, &udp(3, 4)), SEC, true);
    let r = handle(
        &mut t,
        br#"{"op":"update","filter":{"dst":"10.9.9.9"},"mark":42}"#,
    )
    .unwrap();
    assert_eq!(String::from_utf8(r).unwrap(), r#"{"updated":1}"#);
    let lines = brickwall_conntrack::list::list(&t, SEC);
    assert_eq!(
        lines.iter().filter(|l| l.contains(" mark=42 ")).count(),
        1,
        "{lines:?}"
    );
    // The next packet of that connection carries the mark for the plugins after conntrack.
    let mut d = ipv4(A, R, 17, &udp(3, 4));
    let mut v = view(&mut d, 2 * SEC);
    t.conntrack_in(&mut v);
    assert_eq!(v.ct_mark, 42);
    let by_tuple = br#"{"op":"update","tuple":{"proto":"udp","src":"10.0.0.1","dst":"10.0.0.2","sport":1,"dport":2},"mark":7}"#;
    assert_eq!(handle(&mut t, by_tuple).unwrap(), br#"{"updated":1}"#);
    assert!(handle(&mut t, br#"{"op":"update","mark":1}"#)
        .unwrap_err()
        .contains("either tuple"));
    assert!(handle(&mut t, br#"{"op":"update","filter":{}}"#)
        .unwrap_err()
        .contains("nothing to change"));
}

#[test]
fn a_plugins_labels_reach_the_connection_at_confirmation_and_come_back() {
    use brickwall_conntrack::events::{class, what, Event};
    let mut t = tracker(CtConfig::default());
    run(&mut t, ipv4(A, B, 17, &udp(1, 2)), SEC, true);
    let sub = t.events().subscribe(class::ALL, 10);
    // A later plugin (a filter rule's ct_label_set) sets bits 2 and 100 on the packet.
    let mut d = ipv4(A, B, 17, &udp(1, 2));
    let mut v = view(&mut d, 2 * SEC);
    t.conntrack_in(&mut v);
    assert_eq!(v.labels(), 0);
    v.set_labels(1 << 2 | 1 << 100);
    t.confirm(&mut v);
    let changes: Vec<u16> = std::iter::from_fn(|| sub.try_recv())
        .filter_map(|e| match e {
            Event::Conn(c) => Some(c.what),
            _ => None,
        })
        .collect();
    assert_eq!(changes, [what::LABEL]);
    // The connection's next packet carries them to the plugins after conntrack.
    let mut d = ipv4(B, A, 17, &udp(2, 1));
    let mut v = view(&mut d, 3 * SEC);
    t.conntrack_in(&mut v);
    assert_eq!(v.labels(), 1 << 2 | 1 << 100);
    assert_eq!(v.ct_labels, [1 << 2, 1 << 36]);
}

#[test]
fn a_retune_keeps_what_only_applies_at_start() {
    let mut t = tracker(CtConfig::default());
    let fixed = t.retune(&CtConfig {
        buckets: 1024,
        accounting: true,
        timestamp: true,
        expect_max: 7,
        ..CtConfig::default()
    });
    assert_eq!(fixed, ["accounting", "timestamp"]);
    // The rest applies (the buckets by a resize); the extensions stay as they were,
    // config and table alike.
    assert_eq!(t.config().expect_max, 7);
    assert_eq!(t.table().target_buckets(), 1024);
    assert!(!t.config().accounting && !t.config().timestamp);
    assert_eq!(t.table().extensions(), Default::default());
}
