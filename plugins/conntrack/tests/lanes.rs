//! Lanes under load (`lanes.rs`): many workers creating, using and ending connections
//! at once, both directions of a connection on different workers, while a control
//! client lists, deletes and flushes; afterwards the table must be whole (every chain
//! node a live confirmed connection, both its tuples found), the counters must add up,
//! and no packet's update may be lost.

use brickwall_conntrack::datagram::{ipv4, tcp, udp, view};
use brickwall_conntrack::{op, Conntrack};
use brickwall_hooks::{CtInfo, Host, PacketView, Plugin, Verdict};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

const SEC: u64 = 1_000_000_000;

fn plugin(config: &str) -> Conntrack {
    Conntrack::init(config, Host::new(std::ptr::null(), "conntrack")).expect("config")
}

/// Runs datagrams through conntrack-in and confirm as a burst from `worker`, the way
/// the engine does (the part conntrack-in leaves undecided goes again, until all are
/// decided); returns their ctinfos.
fn burst(ct: &Conntrack, ds: &mut [Vec<u8>], worker: u32, ts: u64) -> Vec<CtInfo> {
    let mut views: Vec<_> = ds.iter_mut().map(|d| view(d, ts)).collect();
    let mut refs: Vec<&mut PacketView> = views.iter_mut().map(|v| &mut **v).collect();
    for r in refs.iter_mut() {
        r.worker = worker;
    }
    let mut at = 0;
    while at < refs.len() {
        let mut ins = vec![Verdict::Accept; refs.len() - at];
        let k = ct.on_burst(op::IN_PRE, &mut refs[at..], &mut ins);
        assert!(k > 0, "conntrack-in decides at least one packet");
        let mut outs = vec![Verdict::Accept; k];
        let c = ct.on_burst(op::CONFIRM_POST, &mut refs[at..at + k], &mut outs);
        assert_eq!(c, k);
        at += k;
    }
    refs.iter().map(|v| v.ctinfo()).collect()
}

/// One packet from `worker`, through conntrack-in and confirm.
fn one(ct: &Conntrack, d: &mut [u8], worker: u32, ts: u64) -> CtInfo {
    let mut v = view(d, ts);
    v.worker = worker;
    ct.on_packet(op::IN_PRE, &mut v);
    ct.on_packet(op::CONFIRM_POST, &mut v);
    v.ctinfo()
}

fn ask(ct: &Conntrack, req: serde_json::Value) -> serde_json::Value {
    let mut out = Vec::new();
    ct.control(req.to_string().as_bytes(), &mut out)
        .expect("control request");
    serde_json::from_slice(&out).expect("json answer")
}

/// Client `c`'s address.
fn client(c: u32) -> [u8; 4] {
    [10, 1, (c >> 8) as u8, c as u8]
}

const SERVER: [u8; 4] = [192, 0, 2, 1];

/// Checks the table is whole: every node of every chain is a live, confirmed
/// connection, found again by both its tuples; the nodes are twice the confirmed.
fn assert_whole(ct: &Conntrack) {
    let t = ct.tracker();
    let table = t.table();
    let mut nodes = 0;
    for b in 0..table.buckets() {
        for (idx, dir) in table.chain(b) {
            nodes += 1;
            let c = table.get(idx).expect("a chain node is a live slot");
            assert_eq!(c.slot, brickwall_conntrack::conn::Slot::Confirmed);
            assert_eq!(table.find(&c.tuple(dir)).0, Some((idx, dir)));
        }
    }
    assert_eq!(nodes, 2 * table.confirmed());
    let found: u64 = t.worker_stats().iter().map(|s| s.found).sum();
    assert_eq!(found, t.stats().found, "the workers' counts add up");
}

#[test]
fn both_directions_on_different_workers_lose_no_update() {
    // A UDP flow seen both ways, then both directions hammered from two workers at
    // once: with accounting on, every packet is counted, in its direction.
    let ct = Arc::new(plugin(r#"{"accounting": true}"#));
    let mut o = ipv4(client(1), SERVER, 17, &udp(4000, 53));
    let mut r = ipv4(SERVER, client(1), 17, &udp(53, 4000));
    one(&ct, &mut o, 0, SEC);
    one(&ct, &mut r, 1, SEC);
    one(&ct, &mut o, 0, SEC);
    const EACH: u64 = 20_000;
    let start = Arc::new(Barrier::new(2));
    let run = |worker: u32| {
        let (ct, start) = (ct.clone(), start.clone());
        let (o, r) = (o.clone(), r.clone());
        std::thread::spawn(move || {
            start.wait();
            let mut sent = 0;
            while sent < EACH {
                for d in [&o, &r] {
                    let info = one(&ct, &mut d.clone(), worker, 2 * SEC);
                    assert!(matches!(
                        info,
                        CtInfo::Established | CtInfo::EstablishedReply
                    ));
                }
                sent += 1;
            }
        })
    };
    let a = run(0);
    let b = run(1);
    a.join().expect("worker 0");
    b.join().expect("worker 1");
    let list = ask(&ct, serde_json::json!({"op": "list", "now_ns": 2 * SEC}));
    let line = list.to_string();
    // Three packets before (two original, one reply), then EACH more each way from each.
    let want_orig = format!("packets={}", 2 * EACH + 2);
    let want_reply = format!("packets={}", 2 * EACH + 1);
    assert!(line.contains(&want_orig), "{line}");
    assert!(line.contains(&want_reply), "{line}");
    assert_whole(&ct);
    let t = ct.tracker();
    assert_eq!(t.stats().found, 4 * EACH + 2);
}

/// A worker's traffic: TCP connections opened, used both ways (each direction from a
/// different worker than the one that opened it, half the time), closed with RST; UDP
/// flows; the packets of its burst spread over many connections.
fn traffic(ct: &Conntrack, worker: u32, workers: u32, stop: &AtomicBool, ts: &AtomicU64) -> u64 {
    let mut packets = 0u64;
    let mut round = 0u32;
    while !stop.load(Ordering::Relaxed) {
        let now = ts.fetch_add(1_000, Ordering::Relaxed);
        // Connections of this round: 8 TCP, 8 UDP, numbered apart from other workers'.
        let base = (round % 64) * 16;
        let port = |i: u32| 10_000 + (worker * 1024 + base + i) as u16;
        let peer = worker.wrapping_add(1 + round) % workers;
        let mut opens = Vec::new();
        let mut acks = Vec::new();
        let mut data = Vec::new();
        let mut replies = Vec::new();
        let mut closes = Vec::new();
        for i in 0..8 {
            let (c, s) = (client(worker), SERVER);
            opens.push(ipv4(c, s, 6, &tcp(port(i), 80, 1000, 0, 0x02)));
            acks.push(ipv4(s, c, 6, &tcp(80, port(i), 5000, 1001, 0x12)));
            data.push(ipv4(c, s, 6, &tcp(port(i), 80, 1001, 5001, 0x10)));
            replies.push(ipv4(s, c, 6, &tcp(80, port(i), 5001, 1001, 0x10)));
            closes.push(ipv4(c, s, 6, &tcp(port(i), 80, 1001, 5001, 0x04)));
        }
        for i in 8..16 {
            let (c, s) = (client(worker), SERVER);
            opens.push(ipv4(c, s, 17, &udp(port(i), 53)));
            acks.push(ipv4(s, c, 17, &udp(53, port(i))));
            data.push(ipv4(c, s, 17, &udp(port(i), 53)));
            replies.push(ipv4(s, c, 17, &udp(53, port(i))));
        }
        burst(ct, &mut opens, worker, now);
        // The answers come in on another worker, while this one goes on.
        burst(ct, &mut acks, peer, now);
        for _ in 0..4 {
            burst(ct, &mut data, worker, now);
            burst(ct, &mut replies, peer, now);
        }
        burst(
            ct,
            &mut closes,
            if round.is_multiple_of(2) {
                worker
            } else {
                peer
            },
            now,
        );
        packets +=
            (opens.len() + acks.len() + 4 * (data.len() + replies.len()) + closes.len()) as u64;
        round += 1;
    }
    packets
}

#[test]
fn many_workers_and_a_control_client_keep_the_table_whole() {
    // Small: chains are long and the table resizes as it grows.
    let ct = Arc::new(plugin(r#"{"buckets": 64, "max": 100000}"#));
    const WORKERS: u32 = 4;
    let stop = Arc::new(AtomicBool::new(false));
    let ts = Arc::new(AtomicU64::new(SEC));
    let workers: Vec<_> = (0..WORKERS)
        .map(|w| {
            let (ct, stop, ts) = (ct.clone(), stop.clone(), ts.clone());
            std::thread::spawn(move || traffic(&ct, w, WORKERS, &stop, &ts))
        })
        .collect();
    // The control client: lists, deletes by filter and flushes while packets flow.
    let started = Instant::now();
    let mut requests = 0;
    while started.elapsed() < Duration::from_millis(1500) {
        let now = ts.load(Ordering::Relaxed);
        match requests % 4 {
            0 | 1 => {
                let r = ask(&ct, serde_json::json!({"op": "count"}));
                assert!(r["count"].as_u64().is_some(), "{r}");
            }
            2 => {
                let r = ask(
                    &ct,
                    serde_json::json!({"op": "delete", "filter": {"proto": "udp"}, "now_ns": now}),
                );
                assert!(r["deleted"].as_u64().is_some(), "{r}");
            }
            _ => {
                let r = ask(&ct, serde_json::json!({"op": "flush", "now_ns": now}));
                assert!(r.is_object(), "{r}");
            }
        }
        let r = ask(
            &ct,
            serde_json::json!({"op": "list", "now_ns": now, "limit": 50}),
        );
        assert!(r.is_object(), "{r}");
        requests += 1;
        std::thread::sleep(Duration::from_millis(5));
    }
    stop.store(true, Ordering::Relaxed);
    let mut packets = 0;
    for w in workers {
        packets += w.join().expect("a worker panicked");
    }
    assert!(
        packets > 0 && requests > 10,
        "{packets} packets, {requests} requests"
    );
    assert_whole(&ct);
    // Every worker's lane counted its own finds, folded into the totals.
    let t = ct.tracker();
    let busy = t.worker_stats().iter().filter(|s| s.found > 0).count();
    assert_eq!(busy, WORKERS as usize, "{:?}", t.worker_stats().len());
    drop(t);
    // What is left still tracks: a flushed table takes new connections again.
    ask(&ct, serde_json::json!({"op": "flush"}));
    let mut o = ipv4(client(9), SERVER, 17, &udp(9, 53));
    assert_eq!(one(&ct, &mut o, 0, 100 * SEC), CtInfo::New);
    let mut r = ipv4(SERVER, client(9), 17, &udp(53, 9));
    assert_eq!(one(&ct, &mut r, 3, 100 * SEC), CtInfo::EstablishedReply);
    assert_eq!(ct.tracker().table().confirmed(), 1);
}

#[test]
fn packets_carry_their_connections_status_on_and_off_the_lane() {
    use brickwall_hooks::services::conntrack::status;
    let ct = plugin("{}");
    let status_of = |d: &mut [u8], worker: u32| {
        let mut v = view(d, SEC);
        v.worker = worker;
        ct.on_packet(op::IN_PRE, &mut v);
        let s = v.ct_status;
        ct.on_packet(op::CONFIRM_POST, &mut v);
        s
    };
    let mut o = ipv4(client(2), SERVER, 17, &udp(5000, 53));
    let mut r = ipv4(SERVER, client(2), 17, &udp(53, 5000));
    // The first packet's connection is not confirmed yet when conntrack-in attaches it.
    assert_eq!(status_of(&mut o, 0), 0);
    // The reply's (the exclusive path: it sets SEEN_REPLY, which the packet carries).
    assert_eq!(status_of(&mut r, 1), status::CONFIRMED | status::SEEN_REPLY);
    // Then on the lane: confirmed, reply seen.
    let s = status_of(&mut o, 0);
    assert_eq!(
        s & (status::CONFIRMED | status::SEEN_REPLY),
        status::CONFIRMED | status::SEEN_REPLY
    );
    assert_eq!(s & (status::SRC_NAT | status::DST_NAT), 0);
    // An invalid packet carries none.
    let mut bad = ipv4(client(2), SERVER, 6, &tcp(1, 2, 0, 0, 0x03));
    assert_eq!(status_of(&mut bad, 0), 0);
}

#[test]
fn a_list_walked_a_part_at_a_time_answers_as_one_walk_does() {
    // More connections than one part of the walk holds the tracker for.
    let ct = plugin("{}");
    let n = 3 * brickwall_conntrack::control::LIST_STEP as u16 + 17;
    for i in 0..n {
        let mut o = ipv4(client(u32::from(i)), SERVER, 17, &udp(1000 + i, 53));
        one(&ct, &mut o, 0, SEC);
    }
    for req in [
        serde_json::json!({"op": "list", "now_ns": SEC, "limit": 10000, "total": true}),
        serde_json::json!({"op": "list", "now_ns": SEC, "offset": 1500, "limit": 700}),
        serde_json::json!({"op": "list", "now_ns": SEC, "filter": {"sport": 2000},
            "total": true, "states": true}),
    ] {
        let parts = ask(&ct, req.clone());
        let parsed =
            brickwall_conntrack::control::parse(req.to_string().as_bytes()).expect("a request");
        let whole = brickwall_conntrack::control::handle_request(&mut ct.tracker(), parsed)
            .expect("one walk");
        let whole: serde_json::Value = serde_json::from_slice(&whole).expect("json");
        assert_eq!(parts, whole, "{req}");
    }
    let all = ask(
        &ct,
        serde_json::json!({"op": "list", "now_ns": SEC, "limit": 10000, "total": true}),
    );
    assert_eq!(all["count"], u64::from(n));
    assert_eq!(
        all["entries"].as_array().map(Vec::len),
        Some(usize::from(n))
    );
}

#[test]
fn a_control_client_listing_in_a_loop_does_not_stop_the_packets() {
    // 5 000 connections seen both ways, then a worker sending established packets
    // while another thread lists the whole table without pause. The worker must keep
    // going (a listing that held the tracker exclusively, taken back at once, left it
    // no progress at all).
    let ct = Arc::new(plugin("{}"));
    let flows: Vec<(Vec<u8>, Vec<u8>)> = (0..5000u32)
        .map(|i| {
            let port = 1000 + (i % 60_000) as u16;
            (
                ipv4(client(i), SERVER, 17, &udp(port, 53)),
                ipv4(SERVER, client(i), 17, &udp(53, port)),
            )
        })
        .collect();
    for (o, r) in &flows {
        one(&ct, &mut o.clone(), 0, SEC);
        one(&ct, &mut r.clone(), 0, SEC);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let lister = {
        let (ct, stop) = (ct.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut lists = 0u32;
            while !stop.load(Ordering::Relaxed) {
                let r = ask(
                    &ct,
                    serde_json::json!({"op": "list", "now_ns": SEC, "limit": 10000}),
                );
                assert_eq!(r["entries"].as_array().map(Vec::len), Some(5000));
                lists += 1;
            }
            lists
        })
    };
    let started = Instant::now();
    let mut sent = 0;
    for chunk in flows.chunks(32).cycle().take(300) {
        let mut ds: Vec<Vec<u8>> = chunk.iter().map(|(o, _)| o.clone()).collect();
        for info in burst(&ct, &mut ds, 0, 2 * SEC) {
            assert_eq!(info, CtInfo::Established);
        }
        sent += ds.len();
    }
    let took = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let lists = lister.join().expect("lister");
    assert!(
        took < Duration::from_secs(30),
        "{sent} packets took {took:?} beside {lists} listings"
    );
    assert!(lists > 0);
}
