//! What each verdict means on the packet path, and the three paths themselves.

mod common;

use brickwall_core::pipeline::queue::QueueVerdict;
use brickwall_core::pipeline::{DropReason, Outcome};
use brickwall_hooks::{priority, FailurePolicy, FamilySel, Hook, Verdict};
use common::{engine, packet, tcp6_syn, udp4};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

const A: [u8; 4] = [10, 0, 0, 1];
const B: [u8; 4] = [10, 1, 0, 9];
const LOCAL: [u8; 4] = [192, 168, 7, 1];

fn trace_cb(
    log: &Arc<Mutex<Vec<String>>>,
    tag: &str,
    v: Verdict,
) -> impl Fn(&mut brickwall_hooks::PacketView) -> Verdict {
    let log = log.clone();
    let tag = tag.to_string();
    move |p| {
        log.lock()
            .unwrap()
            .push(format!("{}:{tag}", p.hook().unwrap().name()));
        v
    }
}

#[test]
fn callbacks_run_in_priority_order_and_paths_follow_the_routing_decision() {
    let e = engine("local_addresses: [192.168.7.1]\n");
    let log = Arc::new(Mutex::new(Vec::new()));
    let r = e.registry();
    for hook in Hook::ALL {
        r.register_fn(
            "late",
            hook,
            FamilySel::Inet,
            priority::FILTER,
            trace_cb(&log, "filter", Verdict::Accept),
        );
        r.register_fn(
            "early",
            hook,
            FamilySel::Inet,
            priority::CONNTRACK,
            trace_cb(&log, "ct", Verdict::Accept),
        );
        r.register_fn(
            "last",
            hook,
            FamilySel::Inet,
            priority::CONFIRM,
            trace_cb(&log, "confirm", Verdict::Accept),
        );
    }
    let mut pl = e.pipeline();
    let t = r.snapshot();

    let mut fwd = packet(&udp4(A, B, 1000, 53, b"q"));
    assert_eq!(pl.process(&t, &mut fwd), Outcome::Forwarded);
    let mut inbound = packet(&udp4(A, LOCAL, 1000, 53, b"q"));
    assert_eq!(pl.process(&t, &mut inbound), Outcome::Delivered);
    let mut outbound = packet(&udp4(LOCAL, A, 53, 1000, b"r"));
    assert_eq!(pl.process_captured(&t, &mut outbound), Outcome::Forwarded);

    let got = log.lock().unwrap().clone();
    let expect: Vec<String> = [
        ("PREROUTING", 3),
        ("FORWARD", 3),
        ("POSTROUTING", 3),
        ("PREROUTING", 3),
        ("INPUT", 3),
        ("OUTPUT", 3),
        ("POSTROUTING", 3),
    ]
    .iter()
    .flat_map(|(h, _)| {
        ["ct", "filter", "confirm"]
            .iter()
            .map(move |t| format!("{h}:{t}"))
    })
    .collect();
    assert_eq!(got, expect);
    let names = |p: &brickwall_core::packet::Packet| p.path().map(|h| h.name()).collect::<Vec<_>>();
    assert_eq!(names(&fwd), ["PREROUTING", "FORWARD", "POSTROUTING"]);
    assert_eq!(names(&inbound), ["PREROUTING", "INPUT"]);
    assert_eq!(names(&outbound), ["OUTPUT", "POSTROUTING"]);
    assert_eq!(pl.counters.delivered, 1);
    assert_eq!(pl.counters.forwarded, 2);
}

#[test]
fn drop_stops_later_callbacks_and_is_counted_with_its_reason() {
    let e = engine("{}");
    let r = e.registry();
    let later = Arc::new(AtomicU32::new(0));
    let l2 = later.clone();
    r.register_fn_with(
        "dropper",
        FailurePolicy::FailOpen,
        &["no-entry", "too-big"],
        Hook::PreRouting,
        FamilySel::Ipv4,
        priority::FILTER,
        |_| Verdict::Drop(1),
    );
    r.register_fn(
        "after",
        Hook::PreRouting,
        FamilySel::Inet,
        priority::FILTER + 1,
        move |_| {
            l2.fetch_add(1, Ordering::Relaxed);
            Verdict::Accept
        },
    );
    r.register_fn_with(
        "liar",
        FailurePolicy::FailOpen,
        &[],
        Hook::PreRouting,
        FamilySel::Ipv6,
        priority::FILTER,
        |_| Verdict::Drop(5),
    );
    let mut pl = e.pipeline();
    let t = r.snapshot();
    let mut p = packet(&udp4(A, B, 1, 2, b""));
    let o = pl.process(&t, &mut p);
    let Outcome::Dropped(DropReason::Id(id)) = o else {
        panic!("{o:?}")
    };
    assert_eq!(r.reason_name(id).as_deref(), Some("too-big"));
    assert_eq!(
        later.load(Ordering::Relaxed),
        0,
        "a callback after DROP ran"
    );
    assert_eq!(pl.counters.hooks[Hook::PreRouting as usize].dropped, 1);
    assert_eq!(pl.counters.drops_by_reason[id as usize], 1);
    // A reason index the plugin never declared is still counted, under the engine's name for it.
    let mut p6 = packet(&tcp6_syn([0xfd; 16], [0xfe; 16], 1, 2));
    let Outcome::Dropped(DropReason::Id(id6)) = pl.process(&t, &mut p6) else {
        panic!()
    };
    assert_eq!(
        r.reason_name(id6).as_deref(),
        Some("plugin-undeclared-reason")
    );
    assert_eq!(pl.counters.dropped, 2);
}

#[test]
fn stolen_packets_leave_the_path() {
    let e = engine("{}");
    let r = e.registry();
    let after = Arc::new(AtomicU32::new(0));
    let a2 = after.clone();
    r.register_fn(
        "defrag",
        Hook::PreRouting,
        FamilySel::Inet,
        priority::DEFRAG,
        |p| {
            if p.payload() == b"frag" {
                Verdict::Stolen
            } else {
                Verdict::Accept
            }
        },
    );
    r.register_fn(
        "after",
        Hook::PreRouting,
        FamilySel::Inet,
        priority::CONNTRACK,
        move |_| {
            a2.fetch_add(1, Ordering::Relaxed);
            Verdict::Accept
        },
    );
    let mut pl = e.pipeline();
    let t = r.snapshot();
    assert_eq!(
        pl.process(&t, &mut packet(&udp4(A, B, 1, 2, b"frag"))),
        Outcome::Stolen
    );
    assert_eq!(
        pl.process(&t, &mut packet(&udp4(A, B, 1, 2, b"whole"))),
        Outcome::Forwarded
    );
    assert_eq!(after.load(Ordering::Relaxed), 1);
    assert_eq!(pl.counters.stolen, 1);
    assert_eq!(pl.counters.hooks[0].stolen, 1);
}

#[test]
fn repeat_reenters_the_hook_and_is_bounded() {
    let e = engine("repeat_limit: 3\n");
    let r = e.registry();
    // Repeats twice, then accepts: the first callback runs three times.
    let first_runs = Arc::new(AtomicU32::new(0));
    let f2 = first_runs.clone();
    r.register_fn("first", Hook::Forward, FamilySel::Ipv4, -10, move |_| {
        f2.fetch_add(1, Ordering::Relaxed);
        Verdict::Accept
    });
    let n = Arc::new(AtomicU32::new(0));
    let n2 = n.clone();
    r.register_fn(
        "repeat-twice",
        Hook::Forward,
        FamilySel::Ipv4,
        0,
        move |p| {
            if p.payload() == b"loop" {
                return Verdict::Repeat;
            }
            if n2.fetch_add(1, Ordering::Relaxed) % 3 < 2 {
                Verdict::Repeat
            } else {
                Verdict::Accept
            }
        },
    );
    let mut pl = e.pipeline();
    let t = r.snapshot();
    assert_eq!(
        pl.process(&t, &mut packet(&udp4(A, B, 1, 2, b"x"))),
        Outcome::Forwarded
    );
    assert_eq!(first_runs.load(Ordering::Relaxed), 3);
    // Always REPEAT: dropped after the limit, with the engine's reason.
    let o = pl.process(&t, &mut packet(&udp4(A, B, 1, 2, b"loop")));
    let Outcome::Dropped(DropReason::Id(id)) = o else {
        panic!("{o:?}")
    };
    assert_eq!(r.reason_name(id).as_deref(), Some("repeat-limit"));
    assert_eq!(
        first_runs.load(Ordering::Relaxed),
        3 + 4,
        "limit 3 allows 3 re-entries"
    );
}

#[test]
fn queue_round_trip_resumes_after_the_queueing_callback() {
    let e = engine("queues: [{num: 7, capacity: 2}]\n");
    let r = e.registry();
    let after = Arc::new(Mutex::new(Vec::new()));
    let a2 = after.clone();
    r.register_fn("to-userspace", Hook::Forward, FamilySel::Inet, 0, |_| {
        Verdict::Queue {
            num: 7,
            bypass: false,
        }
    });
    r.register_fn("after", Hook::Forward, FamilySel::Inet, 10, move |p| {
        a2.lock().unwrap().push(p.mark);
        Verdict::Accept
    });
    let consumer = e.shared.queues.bind(7, 0);
    let worker = std::thread::spawn(move || {
        let mut n = 0;
        while let Some(mut q) = consumer.recv_timeout(std::time::Duration::from_secs(5)) {
            n += 1;
            q.packet.view.mark = 0x42;
            let v = if q.packet.view.payload() == b"bad" {
                QueueVerdict::Drop
            } else {
                QueueVerdict::Accept
            };
            consumer.verdict(q, v);
            if n == 2 {
                break;
            }
        }
    });
    let mut pl = e.pipeline();
    let t = r.snapshot();
    let mut good = packet(&udp4(A, B, 1, 2, b"good"));
    assert_eq!(pl.process(&t, &mut good), Outcome::Queued);
    assert_eq!(
        pl.process(&t, &mut packet(&udp4(A, B, 1, 2, b"bad"))),
        Outcome::Queued
    );
    worker.join().unwrap();
    let mut outcomes = Vec::new();
    while let Some((qp, v)) = e
        .shared
        .queues
        .returned_timeout(std::time::Duration::from_secs(5))
    {
        let (p, o) = pl.resume(&t, qp, v);
        outcomes.push((
            p.view.payload().to_vec(),
            o,
            p.path().map(|h| h.name()).collect::<Vec<_>>(),
        ));
        if outcomes.len() == 2 {
            break;
        }
    }
    assert_eq!(outcomes[0].0, b"good");
    assert_eq!(outcomes[0].1, Outcome::Forwarded);
    assert_eq!(outcomes[0].2, ["PREROUTING", "FORWARD", "POSTROUTING"]);
    assert!(matches!(outcomes[1].1, Outcome::Dropped(_)));
    // The callback after the queue ran once (for the accepted packet), seeing the consumer's mark.
    assert_eq!(*after.lock().unwrap(), [0x42]);
    assert_eq!(pl.counters.reinjected, 2);
}

#[test]
fn full_or_unbound_queue_drops_or_bypasses() {
    let e = engine("queues: [{num: 1, capacity: 1}, {num: 2, bypass: true}]\n");
    let r = e.registry();
    r.register_fn("q", Hook::PreRouting, FamilySel::Inet, 0, |p| {
        let num = if p.payload() == b"two" { 2 } else { 1 };
        Verdict::Queue { num, bypass: false }
    });
    let mut pl = e.pipeline();
    let t = r.snapshot();
    // Nobody listens on queue 1: dropped. Queue 2 is configured to bypass: continues.
    let o = pl.process(&t, &mut packet(&udp4(A, B, 1, 2, b"one")));
    let Outcome::Dropped(DropReason::Id(id)) = o else {
        panic!("{o:?}")
    };
    assert_eq!(r.reason_name(id).as_deref(), Some("queue-no-listener"));
    assert_eq!(
        pl.process(&t, &mut packet(&udp4(A, B, 1, 2, b"two"))),
        Outcome::Forwarded
    );
    // Bound with room for one: the second packet finds it full.
    let _c = e.shared.queues.bind(1, 0);
    assert_eq!(
        pl.process(&t, &mut packet(&udp4(A, B, 1, 2, b"one"))),
        Outcome::Queued
    );
    let o = pl.process(&t, &mut packet(&udp4(A, B, 1, 2, b"one")));
    let Outcome::Dropped(DropReason::Id(id)) = o else {
        panic!("{o:?}")
    };
    assert_eq!(r.reason_name(id).as_deref(), Some("queue-full"));
}

#[test]
fn panicking_callbacks_are_contained_by_policy() {
    let e = engine("{}");
    let r = e.registry();
    r.register_fn_with(
        "open",
        FailurePolicy::FailOpen,
        &[],
        Hook::PreRouting,
        FamilySel::Ipv4,
        0,
        |_| panic!("boom"),
    );
    r.register_fn_with(
        "closed",
        FailurePolicy::FailClosed,
        &[],
        Hook::PreRouting,
        FamilySel::Ipv6,
        0,
        |_| panic!("boom"),
    );
    let mut pl = e.pipeline();
    let t = r.snapshot();
    assert_eq!(
        pl.process(&t, &mut packet(&udp4(A, B, 1, 2, b""))),
        Outcome::Forwarded
    );
    let o = pl.process(&t, &mut packet(&tcp6_syn([0xfd; 16], [0xfe; 16], 1, 2)));
    let Outcome::Dropped(DropReason::Id(id)) = o else {
        panic!("{o:?}")
    };
    assert_eq!(r.reason_name(id).as_deref(), Some("plugin-panic"));
    assert_eq!(pl.counters.panics.get("open"), Some(&1));
    assert_eq!(pl.counters.panics.get("closed"), Some(&1));
}

#[test]
fn registering_and_unregistering_while_traffic_flows() {
    let e = engine("{}");
    let r = e.registry().clone();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let s2 = stop.clone();
    let r2 = r.clone();
    let swapped = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let swapped2 = swapped.clone();
    let churn = std::thread::spawn(move || {
        let mut n = 0u32;
        while !s2.load(Ordering::Relaxed) {
            let o = r2.register_fn(
                "churn",
                Hook::Forward,
                FamilySel::Inet,
                (n % 7) as i32,
                |_| Verdict::Accept,
            );
            r2.unregister_owner(&o);
            n += 1;
            swapped2.store(n, Ordering::Relaxed);
        }
        n
    });
    let shared = e.shared.clone();
    let mut pl = brickwall_core::pipeline::Pipeline::new(shared);
    let frame = udp4(A, B, 1, 2, b"x");
    let mut p = packet(&frame);
    // At least 20 000 packets, and on until the churn has swapped tables a while (a
    // loaded machine may start its thread late).
    let mut runs = 0u64;
    while runs < 20_000 || (swapped.load(Ordering::Relaxed) < 100 && runs < 100_000_000) {
        let t = r.snapshot();
        assert_eq!(pl.process(&t, &mut p), Outcome::Forwarded);
        runs += 1;
    }
    stop.store(true, Ordering::Relaxed);
    let swaps = churn.join().unwrap();
    assert!(swaps > 0);
    assert!(r
        .snapshot()
        .chain(brickwall_hooks::Family::Ipv4, Hook::Forward)
        .is_empty());
}
