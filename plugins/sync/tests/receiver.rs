//! The receiving side: the peer's messages into the external cache; malformed and
//! hostile datagrams counted, never a panic, never an entry from another address;
//! sequence gaps and replays counted; a RESYNC passed to the sender.

use brickwall_sync::cache::Cache;
use brickwall_sync::receiver::Receiver;
use brickwall_sync::sender::Shared;
use brickwall_sync::wire::conntrack::{Addrs, Conntrack};
use brickwall_sync::wire::message::{Action, Body, Control, Message};
use proptest::prelude::*;
use std::net::{Ipv4Addr, UdpSocket};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn conn(sport: u16) -> Conntrack {
    Conntrack {
        addrs: Some(Addrs::V4 {
            src: Ipv4Addr::new(10, 0, 0, 1),
            dst: Ipv4Addr::new(10, 0, 0, 2),
        }),
        l4proto: Some(6),
        ports: Some((sport, 443)),
        tcp_state: Some(3),
        status: Some(0xe),
        timeout: Some(300),
        mark: Some(7),
        ..Conntrack::default()
    }
}

fn msg(seq: u32, action: Action, c: Conntrack) -> Vec<u8> {
    Message {
        seq,
        hello: false,
        hello_back: false,
        body: Body::Conntrack(action, c),
    }
    .to_bytes()
}

fn g(c: &AtomicU64) -> u64 {
    c.load(Ordering::Relaxed)
}

/// A receiver whose socket is never read (its datagrams are handed in).
fn receiver(shared: &Arc<Shared>) -> Receiver {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    Receiver::new(s, "127.0.0.2".parse().unwrap(), shared.clone())
}

#[test]
fn entries_come_change_and_go() {
    let shared = Arc::new(Shared::new(2, None));
    let mut r = receiver(&shared);
    let mut cache = Cache::new(2);
    let now = Instant::now();
    let mut d = msg(1, Action::New, conn(1000));
    d.extend(msg(2, Action::Update, conn(1001))); // an UPDATE of an unknown entry adds it
    d.extend(msg(3, Action::New, conn(1002))); // past the limit
    r.datagram(&d, &mut cache, now);
    assert_eq!(cache.len(), 2);
    assert_eq!(g(&shared.recv.cache_full), 1);
    let mut changed = conn(1000);
    changed.tcp_state = Some(7);
    r.datagram(&msg(4, Action::Update, changed.clone()), &mut cache, now);
    assert!(cache.entries().any(|e| e.ct == changed));
    r.datagram(&msg(5, Action::Destroy, conn(1001)), &mut cache, now);
    r.datagram(&msg(6, Action::Destroy, conn(1001)), &mut cache, now);
    assert_eq!(cache.len(), 1);
    assert_eq!(g(&shared.recv.unknown_destroy), 1);
    assert_eq!(g(&shared.recv.conntracks), 6);
    assert_eq!(g(&shared.recv.lost), 0);
}

#[test]
fn sequence_gaps_and_replays_are_counted_and_hello_starts_again() {
    let shared = Arc::new(Shared::new(100, None));
    let mut r = receiver(&shared);
    let mut cache = Cache::new(100);
    let now = Instant::now();
    for seq in [u32::MAX - 1, u32::MAX, 0, 4] {
        r.datagram(&msg(seq, Action::New, conn(1)), &mut cache, now);
    }
    assert_eq!(g(&shared.recv.lost), 3, "1, 2 and 3 lost across the wrap");
    r.datagram(&msg(2, Action::New, conn(1)), &mut cache, now);
    assert_eq!(g(&shared.recv.before), 1);
    let hello = Message {
        seq: 1000,
        hello: true,
        hello_back: false,
        body: Body::Control(Control::Alive),
    };
    r.datagram(&hello.to_bytes(), &mut cache, now);
    assert_eq!(g(&shared.recv.lost), 3, "a HELLO restarts the numbers");
    assert_eq!(g(&shared.recv.control), 1);
}

#[test]
fn malformed_messages_are_counted_by_reason_and_the_rest_applied() {
    let shared = Arc::new(Shared::new(100, None));
    let mut r = receiver(&shared);
    let mut cache = Cache::new(100);
    let now = Instant::now();
    let mut bad_version = msg(1, Action::New, conn(1));
    bad_version[0] = 0x20;
    let mut bad_attr = msg(2, Action::New, conn(2));
    bad_attr[8 + 3] = 99;
    let mut bad_type = msg(3, Action::New, conn(3));
    bad_type[0] = 0x18;
    let good = msg(4, Action::New, conn(4));
    let mut d = Vec::new();
    for m in [&bad_version, &bad_attr, &bad_type, &good] {
        d.extend_from_slice(m);
    }
    d.extend_from_slice(&[0x10, 0, 0xff, 0xff, 0, 0]); // a header cut short
    r.datagram(&d, &mut cache, now);
    let s = &shared.recv;
    assert_eq!(
        (
            g(&s.bad_version),
            g(&s.bad_payload),
            g(&s.bad_type),
            g(&s.bad_header)
        ),
        (1, 1, 1, 1)
    );
    assert_eq!(cache.len(), 1);
    assert_eq!(cache.entries().next().unwrap().ct, conn(4));
}

#[test]
fn a_resync_request_reaches_the_sender() {
    let shared = Arc::new(Shared::new(100, None));
    let mut r = receiver(&shared);
    let mut cache = Cache::new(100);
    let m = Message {
        seq: 1,
        hello: false,
        hello_back: false,
        body: Body::Control(Control::Resync),
    };
    r.datagram(&m.to_bytes(), &mut cache, Instant::now());
    assert!(shared.resync.load(Ordering::Acquire));
    assert_eq!(g(&shared.recv.resync_requests), 1);
}

/// Over real sockets: what another address sends is dropped unread, what the peer
/// sends is kept.
#[test]
fn only_the_configured_peer_adds_entries() {
    let shared = Arc::new(Shared::new(100, None));
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let at = sock.local_addr().unwrap();
    let r = Receiver::new(sock, "127.0.0.2".parse().unwrap(), shared.clone());
    let t = std::thread::spawn(move || r.run());
    let stranger = UdpSocket::bind("127.0.0.3:0").unwrap();
    stranger.send_to(&msg(1, Action::New, conn(1)), at).unwrap();
    let peer = UdpSocket::bind("127.0.0.2:0").unwrap();
    peer.send_to(&msg(1, Action::New, conn(2)), at).unwrap();
    let end = Instant::now() + Duration::from_secs(5);
    while g(&shared.recv.datagrams) < 1 || g(&shared.recv.foreign) < 1 {
        assert!(Instant::now() < end, "datagrams not received");
        std::thread::sleep(Duration::from_millis(10));
    }
    shared.stop.store(true, Ordering::Release);
    t.join().unwrap();
    let cache = shared.cache.lock().unwrap();
    let kept: Vec<_> = cache.entries().map(|e| e.ct.clone()).collect();
    assert_eq!(kept, vec![conn(2)]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Garbled datagrams: counted, never a panic, and every entry kept is one a
    /// well-formed message described (it parses back from its own bytes).
    #[test]
    fn garbled_datagrams_are_counted_never_panic(
        flips in proptest::collection::vec((0usize..512, any::<u8>()), 0..10),
        n in 1usize..6,
    ) {
        let shared = Arc::new(Shared::new(100, None));
        let mut r = receiver(&shared);
        let mut cache = Cache::new(100);
        let mut d = Vec::new();
        for i in 0..n {
            d.extend(msg(i as u32, Action::New, conn(i as u16)));
        }
        for (at, b) in flips {
            let i = at % d.len();
            d[i] = b;
        }
        r.datagram(&d, &mut cache, Instant::now());
        for e in cache.entries() {
            let m = Message { seq: 0, hello: false, hello_back: false,
                body: Body::Conntrack(Action::New, e.ct.clone()) };
            prop_assert_eq!(Message::parse(&m.to_bytes()).ok(), Some(m));
        }
    }
}

#[test]
fn expectations_come_and_go() {
    use brickwall_sync::wire::expect::{Expect, Tuple};
    let shared = Arc::new(Shared::new(100, None));
    let mut r = receiver(&shared);
    let mut cache = Cache::new(100);
    let tuple = |p: u16| Tuple {
        addrs: Some(Addrs::V4 {
            src: Ipv4Addr::new(10, 0, 0, 1),
            dst: Ipv4Addr::new(10, 0, 0, 2),
        }),
        l4proto: Some(6),
        ports: Some((0, p)),
    };
    let e = Expect {
        master: tuple(21),
        expected: tuple(40000),
        timeout: Some(300),
        helper: Some("ftp".into()),
        ..Expect::default()
    };
    let m = |seq, a| {
        Message {
            seq,
            hello: false,
            hello_back: false,
            body: Body::Expect(a, e.clone()),
        }
        .to_bytes()
    };
    r.datagram(&m(1, Action::New), &mut cache, Instant::now());
    assert_eq!(cache.expects().count(), 1);
    let line = brickwall_sync::listing::expect_line(cache.expects().next().unwrap());
    assert_eq!(
        line,
        "300 proto=6 src=10.0.0.1 dst=10.0.0.2 sport=0 dport=40000 \
         master-src=10.0.0.1 master-dst=10.0.0.2 sport=0 dport=21 helper=ftp"
    );
    r.datagram(&m(2, Action::Destroy), &mut cache, Instant::now());
    assert_eq!(cache.expects().count(), 0);
    assert_eq!(g(&shared.recv.expectations), 2);
}
