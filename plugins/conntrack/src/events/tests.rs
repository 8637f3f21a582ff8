//! Tests of the events: their records' lines against conntrack-tools' output, the bus,
//! polling.

use super::*;
use crate::conn::{status, Conn, DirCounters};
use crate::conn::{ConnExt, Slot};
use crate::proto::tcp::{self, Dir, Segment, TcpConfig, TcpVerdict, TCP_ACK, TCP_FIN, TCP_SYN};
use crate::proto::ProtoState;
use crate::tuple::{proto, Tuple, FAMILY_V4, FAMILY_V6};
use brickwall_control_protocol::conntrack::{ExpectRecord, TupleRecord};
use std::collections::HashSet;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

const SEC: u64 = 1_000_000_000;

/// The `conntrack -E` line of an event, as its protocol record prints it.
trait Line {
    fn line(&self, timestamp: bool) -> String;
}

impl Line for Event {
    fn line(&self, timestamp: bool) -> String {
        self.record().line(timestamp)
    }
}

impl Line for ConnEvent {
    fn line(&self, timestamp: bool) -> String {
        self.record().line(timestamp)
    }
}

impl Line for ExpectEvent {
    fn line(&self, timestamp: bool) -> String {
        self.record().line(timestamp)
    }
}

/// The expectation a `conntrack -L expect` line describes (`300 proto=6 src=… dst=…
/// sport=… dport=… mask-src=… … master-src=… … class=0 helper=ftp`).
fn expect_of(body: &str) -> ExpectRecord {
    let mut words = body.split_whitespace();
    let timeout = words.next().unwrap().parse().unwrap();
    let mut pairs = words.map(|w| w.split_once('=').unwrap());
    let mut val = |key: &str| {
        let (k, v) = pairs.next().unwrap();
        assert_eq!(k, key, "in {body}");
        v.to_owned()
    };
    let protonum: u8 = val("proto").parse().unwrap();
    let mut tuple = |prefix: &str| {
        let mut t = TupleRecord::new(
            val(&format!("{prefix}src")).parse().unwrap(),
            val(&format!("{prefix}dst")).parse().unwrap(),
        );
        t.sport = Some(val("sport").parse().unwrap());
        t.dport = Some(val("dport").parse().unwrap());
        t
    };
    let (tuple, mask, master) = (tuple(""), tuple("mask-"), tuple("master-"));
    let family = if tuple.src.is_ipv6() {
        brickwall_wire::Family::Ipv6
    } else {
        brickwall_wire::Family::Ipv4
    };
    ExpectRecord {
        id: 1,
        timeout,
        protonum,
        family: brickwall_control_protocol::conntrack::value::FamilyName(family),
        tuple,
        mask,
        master,
        flags: Vec::new(),
        class: val("class").parse().unwrap(),
        helper: val("helper"),
        zone: 0,
    }
}

/// The FTP expectation of the kernel sample.
const FTP_EXPECT: &str = "300 proto=6 src=10.77.0.1 dst=10.77.1.2 sport=0 dport=30076 mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 master-src=10.77.0.1 master-dst=10.77.1.2 sport=45604 dport=21 class=0 helper=ftp";

fn v4(a: &str) -> [u8; 16] {
    let mut x = [0; 16];
    x[..4].copy_from_slice(&a.parse::<Ipv4Addr>().unwrap().octets());
    x
}

fn v6(a: &str) -> [u8; 16] {
    a.parse::<Ipv6Addr>().unwrap().octets()
}

fn tuple(src: [u8; 16], dst: [u8; 16], l4: u8, src_id: u16, dst_id: u16) -> Tuple {
    let family = if src[4..].iter().any(|b| *b != 0) || dst[4..].iter().any(|b| *b != 0) {
        FAMILY_V6
    } else {
        FAMILY_V4
    };
    Tuple {
        src,
        dst,
        src_id,
        dst_id,
        proto: l4,
        family,
        zone: 0,
    }
}

/// The stored protocol state of a TCP connection whose window data is `c`.
fn tcp_proto(c: &tcp::TcpConn) -> ProtoState {
    ProtoState::Tcp(c.clone())
}

/// A UDP connection's protocol state.
fn udp() -> ProtoState {
    ProtoState::Udp(crate::proto::udp::UdpState::new(0))
}

/// A confirmed connection with `t` as its original tuple.
fn conn(t: Tuple, p: ProtoState, status: u16, expires_ns: u64, helper: Option<&str>) -> Conn {
    Conn {
        orig: t,
        expires_ns,
        proto: p,
        id: 7,
        mark: 0,
        status: status | status::CONFIRMED,
        slot: Slot::Confirmed,
        lock: Default::default(),
        ext: helper.map(|h| {
            Box::new(ConnExt {
                helper: Some(h.to_owned()),
                ..ConnExt::default()
            })
        }),
    }
}

fn seg(seq: u32, ack: u32, flags: u8) -> Segment<'static> {
    Segment {
        seq,
        ack,
        flags,
        window: 64240,
        payload_len: 0,
        options: &[],
        ack_offset: 0,
    }
}

/// A TCP record after the SYN (SYN_SENT), after SYN/ACK (SYN_RECV) and after the
/// third ACK (ESTABLISHED).
fn tcp_handshake() -> [tcp::TcpConn; 3] {
    let cfg = TcpConfig::default();
    let (mut c, v) = tcp::tcp_start(&seg(1000, 0, TCP_SYN), &cfg).unwrap();
    assert!(matches!(v, TcpVerdict::Accept { timeout: 120, .. }));
    let syn_sent = c.clone();
    let v = tcp::tcp_packet(
        &mut c,
        Dir::Reply,
        &seg(5000, 1001, TCP_SYN | TCP_ACK),
        &cfg,
        false,
        false,
    );
    assert!(matches!(v, TcpVerdict::Accept { timeout: 60, .. }), "{v:?}");
    let syn_recv = c.clone();
    let v = tcp::tcp_packet(
        &mut c,
        Dir::Original,
        &seg(1001, 5001, TCP_ACK),
        &cfg,
        true,
        false,
    );
    assert!(
        matches!(
            v,
            TcpVerdict::Accept {
                timeout: 432000,
                set_assured: true
            }
        ),
        "{v:?}"
    );
    [syn_sent, syn_recv, c]
}

/// Sample lines (`conntrack_events.txt`) split into the timestamp in ns and the line.
fn sample(line: &str) -> (u64, &str) {
    let (ts, _) = line[1..].split_once(']').unwrap();
    let (s, us) = ts.split_once('.').unwrap();
    let ns = s.parse::<u64>().unwrap() * SEC + us.trim().parse::<u64>().unwrap() * 1000;
    // Some nanoseconds below the microsecond, which the line must not show.
    (ns + 789, line)
}

fn ftp_tuple(sport: u16) -> Tuple {
    tuple(v4("10.77.0.1"), v4("10.77.1.2"), proto::TCP, sport, 21)
}

#[test]
fn tcp_new_update_lines_match_the_kernel_sample() {
    let [syn_sent, syn_recv, est] = tcp_handshake();
    let t = ftp_tuple(45604);

    let (ts, want) = sample("[1795760642.641882]\t    [NEW] tcp      6 120 SYN_SENT src=10.77.0.1 dst=10.77.1.2 sport=45604 dport=21 [UNREPLIED] src=10.77.1.2 dst=10.77.0.1 sport=21 dport=45604 helper=ftp");
    let c = conn(t, tcp_proto(&syn_sent), 0, ts + 120 * SEC, Some("ftp"));
    let ev = ConnEvent::from_conn(EventKind::New, what::NEW | what::PROTOINFO, &c, ts);
    assert_eq!(ev.line(true), want);
    assert_eq!(ev.line(false), want.split_once('\t').unwrap().1);
    assert_eq!((ev.id, ev.timeout_s, ev.state), (7, 120, Some("SYN_SENT")));

    let (ts, want) = sample("[1795760642.641953]\t [UPDATE] tcp      6 60 SYN_RECV src=10.77.0.1 dst=10.77.1.2 sport=45604 dport=21 src=10.77.1.2 dst=10.77.0.1 sport=21 dport=45604 helper=ftp");
    let c = conn(
        t,
        tcp_proto(&syn_recv),
        status::SEEN_REPLY,
        ts + 60 * SEC,
        Some("ftp"),
    );
    let ev = ConnEvent::from_conn(EventKind::Update, what::REPLY | what::PROTOINFO, &c, ts);
    assert_eq!(ev.line(true), want);

    let (ts, want) = sample("[1795760642.641965]\t [UPDATE] tcp      6 432000 ESTABLISHED src=10.77.0.1 dst=10.77.1.2 sport=45604 dport=21 src=10.77.1.2 dst=10.77.0.1 sport=21 dport=45604 [ASSURED] helper=ftp");
    let c = conn(
        t,
        tcp_proto(&est),
        status::SEEN_REPLY | status::ASSURED,
        ts + 432000 * SEC,
        Some("ftp"),
    );
    let ev = ConnEvent::from_conn(EventKind::Update, what::ASSURED | what::PROTOINFO, &c, ts);
    assert_eq!(ev.line(true), want);

    // Without a helper (the data connection of the sample).
    let (ts, want) = sample("[1795760644.651175]\t [UPDATE] tcp      6 432000 ESTABLISHED src=10.77.0.1 dst=10.77.1.2 sport=42184 dport=30076 src=10.77.1.2 dst=10.77.0.1 sport=30076 dport=42184 [ASSURED]");
    let t2 = tuple(v4("10.77.0.1"), v4("10.77.1.2"), proto::TCP, 42184, 30076);
    let c = conn(
        t2,
        tcp_proto(&est),
        status::SEEN_REPLY | status::ASSURED,
        ts + 432000 * SEC,
        None,
    );
    assert_eq!(
        ConnEvent::from_conn(EventKind::Update, what::ASSURED | what::PROTOINFO, &c, ts).line(true),
        want
    );

    // An UPDATE that did not change the state (a mark set) shows no state, and
    // mark= even for mark 0 because the event is about the mark.
    let ev = ConnEvent::from_conn(EventKind::Update, what::MARK, &c, ts);
    assert_eq!(ev.line(false), " [UPDATE] tcp      6 432000 src=10.77.0.1 dst=10.77.1.2 sport=42184 dport=30076 src=10.77.1.2 dst=10.77.0.1 sport=30076 dport=42184 [ASSURED] mark=0");
}

#[test]
fn destroy_lines() {
    // UDP, expired: no timeout, no helper.
    let t = tuple(v4("10.77.1.2"), v4("10.77.0.1"), proto::UDP, 54983, 54630);
    let c = conn(t, udp(), status::SEEN_REPLY, 30 * SEC, Some("tftp"));
    let ev = ConnEvent::from_conn(EventKind::Destroy, what::DESTROY, &c, 31 * SEC);
    assert_eq!(ev.state, None);
    assert_eq!(ev.line(false), "[DESTROY] udp      17 src=10.77.1.2 dst=10.77.0.1 sport=54983 dport=54630 src=10.77.0.1 dst=10.77.1.2 sport=54630 dport=54983");
    // Never replied.
    let c = conn(t, udp(), 0, 30 * SEC, None);
    assert_eq!(
        ConnEvent::from_conn(EventKind::Destroy, what::DESTROY, &c, 30 * SEC).line(false),
        "[DESTROY] udp      17 src=10.77.1.2 dst=10.77.0.1 sport=54983 dport=54630 [UNREPLIED] src=10.77.0.1 dst=10.77.1.2 sport=54630 dport=54983"
    );

    // Killed before its time (the sample's GRE): the timeout left is shown.
    let (ts, want) = sample("[1795760665.996805]\t[DESTROY] gre      47 178 src=10.77.0.1 dst=10.77.1.2 srckey=0x1234 dstkey=0x4321 src=10.77.1.2 dst=10.77.0.1 srckey=0x4321 dstkey=0x1234 [ASSURED]");
    let g = tuple(v4("10.77.0.1"), v4("10.77.1.2"), proto::GRE, 0x1234, 0x4321);
    let c = conn(
        g,
        ProtoState::Gre,
        status::SEEN_REPLY | status::ASSURED,
        ts + 178 * SEC + 500_000_000,
        None,
    );
    assert_eq!(
        ConnEvent::from_conn(EventKind::Destroy, what::DESTROY, &c, ts).line(true),
        want
    );

    // TCP: the state is shown on DESTROY; counters with accounting on; a non-zero
    // mark always.
    let [_, _, mut est] = tcp_handshake();
    let cfg = TcpConfig::default();
    let _ = tcp::tcp_packet(
        &mut est,
        Dir::Original,
        &seg(1001, 5001, TCP_FIN | TCP_ACK),
        &cfg,
        true,
        true,
    );
    let mut c = conn(
        ftp_tuple(45604),
        tcp_proto(&est),
        status::SEEN_REPLY | status::ASSURED,
        100 * SEC,
        Some("ftp"),
    );
    c.mark = 5;
    let counters = [
        DirCounters {
            packets: 12,
            bytes: 900,
        },
        DirCounters {
            packets: 10,
            bytes: 1400,
        },
    ];
    let ev = ConnEvent::from_conn(EventKind::Destroy, what::DESTROY, &c, 100 * SEC);
    assert_eq!(ev.line(false), "[DESTROY] tcp      6 FIN_WAIT src=10.77.0.1 dst=10.77.1.2 sport=45604 dport=21 src=10.77.1.2 dst=10.77.0.1 sport=21 dport=45604 [ASSURED] mark=5");
    let ev = ev.with_counters(Some(counters));
    assert_eq!(ev.line(false), "[DESTROY] tcp      6 FIN_WAIT src=10.77.0.1 dst=10.77.1.2 sport=45604 dport=21 packets=12 bytes=900 src=10.77.1.2 dst=10.77.0.1 sport=21 dport=45604 packets=10 bytes=1400 [ASSURED] mark=5");
    // Counters are for DESTROY only.
    let up = ConnEvent::from_conn(EventKind::Update, what::PROTOINFO, &c, 40 * SEC)
        .with_counters(Some(counters));
    assert_eq!(up.line(false), " [UPDATE] tcp      6 60 FIN_WAIT src=10.77.0.1 dst=10.77.1.2 sport=45604 dport=21 src=10.77.1.2 dst=10.77.0.1 sport=21 dport=45604 [ASSURED] mark=5 helper=ftp");
}

#[test]
fn icmp_ipv6_zone_lines() {
    let t = tuple(v4("10.0.0.1"), v4("10.0.0.2"), proto::ICMP, 77, 8 << 8);
    let c = conn(t, ProtoState::Icmp, 0, 30 * SEC, None);
    assert_eq!(
        ConnEvent::from_conn(EventKind::New, what::NEW, &c, 0).line(false),
        "    [NEW] icmp     1 30 src=10.0.0.1 dst=10.0.0.2 type=8 code=0 id=77 [UNREPLIED] src=10.0.0.2 dst=10.0.0.1 type=0 code=0 id=77"
    );

    let t = tuple(v6("fd77::1"), v6("fd77:1::2"), proto::ICMPV6, 5, 128 << 8);
    let c = conn(t, ProtoState::Icmp, status::SEEN_REPLY, 30 * SEC, None);
    assert_eq!(
        ConnEvent::from_conn(EventKind::Update, what::REPLY, &c, 0).line(false),
        " [UPDATE] icmpv6   58 30 src=fd77::1 dst=fd77:1::2 type=128 code=0 id=5 src=fd77:1::2 dst=fd77::1 type=129 code=0 id=5"
    );

    let [syn_sent, ..] = tcp_handshake();
    let (ts, want) = sample("[1795760650.973600]\t    [NEW] tcp      6 120 SYN_SENT src=fd77::1 dst=fd77:1::2 sport=37128 dport=21 [UNREPLIED] src=fd77:1::2 dst=fd77::1 sport=21 dport=37128 helper=ftp");
    let t = tuple(v6("fd77::1"), v6("fd77:1::2"), proto::TCP, 37128, 21);
    let c = conn(t, tcp_proto(&syn_sent), 0, ts + 120 * SEC, Some("ftp"));
    assert_eq!(
        ConnEvent::from_conn(EventKind::New, what::NEW | what::PROTOINFO, &c, ts).line(true),
        want
    );

    // A zone is shown after the mark.
    let mut t = tuple(v4("10.0.0.1"), v4("10.0.0.2"), proto::UDP, 1000, 53);
    t.zone = 4;
    let mut c = conn(t, udp(), 0, 30 * SEC, None);
    c.mark = 0x10;
    assert_eq!(
        ConnEvent::from_conn(EventKind::New, what::NEW, &c, 0).line(false),
        "    [NEW] udp      17 30 src=10.0.0.1 dst=10.0.0.2 sport=1000 dport=53 [UNREPLIED] src=10.0.0.2 dst=10.0.0.1 sport=53 dport=1000 mark=16 zone=4"
    );
}

#[test]
fn timestamps_pad_micros_as_conntrack_does() {
    let t = tuple(v4("10.0.0.1"), v4("10.0.0.2"), proto::UDP, 1000, 53);
    let c = conn(t, udp(), 0, 0, None);
    // Connection events: six digits, zero-padded (the sample's
    // `[1795760653.034351]`); nanoseconds are cut, not rounded.
    let mut ev = ConnEvent::from_conn(
        EventKind::Destroy,
        what::DESTROY,
        &c,
        1_795_760_653_034_351_999,
    );
    assert!(ev
        .line(true)
        .starts_with("[1795760653.034351]\t[DESTROY] udp"));
    ev.ts_ns = 12 * SEC + 5_000;
    assert!(ev.line(true).starts_with("[12      .000005]\t"));
    // Expectation events: space-padded on the right (the sample's
    // `[1795760653.39567 ]`).
    let mut ex = ExpectEvent {
        kind: EventKind::New,
        ts_ns: 1_795_760_653_039_567_999,
        expect: expect_of(FTP_EXPECT),
    };
    assert_eq!(
        ex.line(true),
        format!("[1795760653.39567 ]\t    [NEW] {FTP_EXPECT}")
    );
    ex.ts_ns = 1_795_760_653_000_000_000;
    assert_eq!(
        ex.line(true),
        format!("[1795760653.0     ]\t    [NEW] {FTP_EXPECT}")
    );
}

#[test]
fn expect_lines_match_the_kernel_sample() {
    let samples = [
        "[1795760642.649978]\t    [NEW] 300 proto=6 src=10.77.0.1 dst=10.77.1.2 sport=0 dport=30076 mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 master-src=10.77.0.1 master-dst=10.77.1.2 sport=45604 dport=21 class=0 helper=ftp",
        "[1795760644.651364]\t[DESTROY] 298 proto=6 src=10.77.0.1 dst=10.77.1.2 sport=0 dport=30076 mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 master-src=10.77.0.1 master-dst=10.77.1.2 sport=45604 dport=21 class=0 helper=ftp",
        "[1795760653.39567 ]\t    [NEW] 300 proto=6 src=fd77:1::2 dst=fd77::1 sport=0 dport=46657 mask-src=ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff mask-dst=ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff sport=0 dport=65535 master-src=fd77::1 master-dst=fd77:1::2 sport=37134 dport=21 class=0 helper=ftp",
    ];
    for line in samples {
        let (ts, _) = sample(line);
        let (_, rest) = line.split_once('\t').unwrap();
        let kind = if rest.trim_start().starts_with("[NEW]") {
            EventKind::New
        } else {
            EventKind::Destroy
        };
        let ev = ExpectEvent {
            kind,
            ts_ns: ts,
            expect: expect_of(&rest[10..]),
        };
        assert_eq!(ev.line(true), line);
        assert_eq!(ev.line(false), rest);
        let ev = Event::Expect(ev);
        assert_eq!(ev.line(true), line);
        assert_eq!(
            ev.class(),
            if kind == EventKind::New {
                class::EXPECT_NEW
            } else {
                class::EXPECT_DESTROY
            }
        );
    }
}

/// A small connection event numbered `n` (in its id).
fn numbered(kind: EventKind, n: u32) -> Event {
    let t = tuple(v4("10.0.0.1"), v4("10.0.0.2"), proto::UDP, 1000, 53);
    let mut c = conn(t, udp(), 0, 30 * SEC, None);
    c.id = n;
    let w = match kind {
        EventKind::New => what::NEW,
        EventKind::Update => what::REPLY,
        EventKind::Destroy => what::DESTROY,
    };
    Event::Conn(ConnEvent::from_conn(kind, w, &c, 0))
}

fn id_of(ev: &Event) -> u32 {
    match ev {
        Event::Conn(c) => c.id,
        Event::Expect(_) => u32::MAX,
    }
}

#[test]
fn bus_is_send_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<EventBus>();
    send_sync::<Event>();
    send_sync::<Subscription>();
}

#[test]
fn a_slow_subscriber_loses_what_does_not_fit() {
    let bus = EventBus::new();
    let slow = bus.subscribe(class::ALL, 2);
    let fast = bus.subscribe(class::ALL, 64);
    for n in 0..10 {
        bus.publish(numbered(EventKind::New, n));
    }
    assert_eq!((slow.lost(), fast.lost()), (8, 0));
    let got: Vec<u32> = std::iter::from_fn(|| slow.try_recv())
        .map(|e| id_of(&e))
        .collect();
    assert_eq!(got, [0, 1]);
    let got: Vec<u32> = std::iter::from_fn(|| fast.try_recv())
        .map(|e| id_of(&e))
        .collect();
    assert_eq!(got, (0..10).collect::<Vec<_>>());
    assert_eq!(
        bus.counters(),
        EventCounters {
            published: 10,
            delivered: 12,
            lost: 8,
            subscribers: 2
        }
    );
    // Room again: the next event gets through.
    bus.publish(numbered(EventKind::Update, 10));
    assert_eq!(slow.try_recv().map(|e| id_of(&e)), Some(10));
    assert_eq!(slow.lost(), 8);
    assert_eq!(slow.recv_timeout(Duration::from_millis(10)), None);
}

#[test]
fn masks_filter_classes() {
    let bus = EventBus::new();
    let news = bus.subscribe(class::NEW, 16);
    let ends = bus.subscribe(class::DESTROY | class::EXPECT_NEW, 16);
    assert!(bus.wants(class::NEW) && bus.wants(class::DESTROY) && bus.wants(class::EXPECT_NEW));
    assert!(!bus.wants(class::UPDATE) && !bus.wants(class::EXPECT_DESTROY));
    assert!(bus.wants(class::UPDATE | class::NEW));
    bus.publish(numbered(EventKind::New, 1));
    bus.publish(numbered(EventKind::Update, 2));
    bus.publish(numbered(EventKind::Destroy, 3));
    let exp = |kind| {
        Event::Expect(ExpectEvent {
            kind,
            ts_ns: 0,
            expect: expect_of(FTP_EXPECT),
        })
    };
    bus.publish(exp(EventKind::New));
    bus.publish(exp(EventKind::Destroy));
    let got: Vec<(EventKind, u8)> = std::iter::from_fn(|| news.try_recv())
        .map(|e| (e.kind(), e.class()))
        .collect();
    assert_eq!(got, [(EventKind::New, class::NEW)]);
    let got: Vec<(EventKind, u8)> = std::iter::from_fn(|| ends.try_recv())
        .map(|e| (e.kind(), e.class()))
        .collect();
    assert_eq!(
        got,
        [
            (EventKind::Destroy, class::DESTROY),
            (EventKind::New, class::EXPECT_NEW)
        ]
    );
    let c = bus.counters();
    assert_eq!((c.published, c.delivered, c.lost), (5, 3, 0));
}

#[test]
fn wants_nothing_without_subscribers() {
    let bus = EventBus::new();
    assert!(!bus.wants(class::ALL));
    let sub = bus.subscribe(class::UPDATE, 4);
    let other = bus.subscribe(class::NEW, 4);
    assert!(bus.wants(class::UPDATE));
    drop(sub);
    bus.publish(numbered(EventKind::Update, 1));
    assert!(!bus.wants(class::UPDATE) && bus.wants(class::NEW));
    drop(other);
    bus.publish(numbered(EventKind::New, 2));
    assert!(!bus.wants(class::ALL));
    assert_eq!(bus.counters().subscribers, 0);
    assert_eq!(bus.counters().delivered, 0);
    // A clone of the receiver does not keep the subscription alive.
    let sub = bus.subscribe(class::NEW, 4);
    let rx = sub.receiver().clone();
    drop(sub);
    bus.publish(numbered(EventKind::New, 3));
    assert!(rx.try_recv().is_err());
    assert!(!bus.wants(class::ALL));
    // A subscriber outliving its bus sees the end.
    let bus2 = EventBus::new();
    let sub = bus2.subscribe(class::ALL, 4);
    bus2.publish(numbered(EventKind::New, 4));
    drop(bus2);
    assert_eq!(sub.recv().map(|e| id_of(&e)), Some(4));
    assert_eq!(sub.recv(), None);
}

#[test]
fn concurrent_publishers_reach_a_large_subscriber_complete() {
    let bus = EventBus::new();
    let sub = bus.subscribe(class::CONNTRACK, 10_000);
    std::thread::scope(|s| {
        for t in 0..4u32 {
            let bus = &bus;
            s.spawn(move || {
                for i in 0..250 {
                    let kind =
                        [EventKind::New, EventKind::Update, EventKind::Destroy][i as usize % 3];
                    bus.publish(numbered(kind, t * 1000 + i));
                }
            });
        }
    });
    let mut seen = HashSet::new();
    while let Some(ev) = sub.recv_timeout(Duration::from_millis(50)) {
        assert!(seen.insert(id_of(&ev)));
    }
    assert_eq!(seen.len(), 1000);
    assert_eq!(
        seen,
        (0..4)
            .flat_map(|t| (0..250).map(move |i| t * 1000 + i))
            .collect()
    );
    assert_eq!(sub.lost(), 0);
    let c = bus.counters();
    assert_eq!((c.published, c.delivered, c.lost), (1000, 1000, 0));
}

#[test]
fn concurrent_publishers_with_a_reader_and_a_slow_subscriber() {
    let bus = EventBus::new();
    let reader = bus.subscribe(class::ALL, 8);
    let slow = bus.subscribe(class::ALL, 1);
    let got = std::thread::scope(|s| {
        let r = s.spawn(|| {
            let mut n = 0u64;
            while reader.recv_timeout(Duration::from_millis(200)).is_some() {
                n += 1;
            }
            n
        });
        for t in 0..4u32 {
            let bus = &bus;
            s.spawn(move || {
                for i in 0..250 {
                    bus.publish(numbered(EventKind::New, t * 1000 + i));
                }
            });
        }
        r.join().unwrap()
    });
    // Every event reached the reader, waits in its queue or was counted lost for it.
    assert_eq!(got + reader.pending() as u64 + reader.lost(), 1000);
    assert_eq!(slow.pending() as u64 + slow.lost(), 1000);
    let c = bus.counters();
    assert_eq!(c.delivered + c.lost, 2000);
}

/// The shared folder beside the repository (`$BRICKWALL_SHARED` when set).
fn shared_dir() -> std::path::PathBuf {
    if let Some(p) = std::env::var_os("BRICKWALL_SHARED") {
        return p.into();
    }
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared");
    assert!(
        p.is_dir(),
        "shared test data not found at {} (set BRICKWALL_SHARED)",
        p.display()
    );
    p
}

/// Parses one tuple's words (`src=… dst=…` and the protocol's ids) from `words`.
fn parse_tuple<'a>(words: &mut impl Iterator<Item = &'a str>, l4: u8) -> Tuple {
    let mut val = |key: &str| {
        let w = words.next().unwrap();
        let (k, v) = w.split_once('=').unwrap();
        assert_eq!(k, key, "in {w}");
        v
    };
    let addr = |a: &str| if a.contains(':') { v6(a) } else { v4(a) };
    let (src, dst) = (addr(val("src")), addr(val("dst")));
    let (src_id, dst_id) = match l4 {
        proto::GRE => {
            let hex = |v: &str| u16::from_str_radix(v.trim_start_matches("0x"), 16).unwrap();
            (hex(val("srckey")), hex(val("dstkey")))
        }
        proto::ICMP | proto::ICMPV6 => {
            let ty: u16 = val("type").parse().unwrap();
            let code: u16 = val("code").parse().unwrap();
            (val("id").parse().unwrap(), ty << 8 | code)
        }
        _ => (val("sport").parse().unwrap(), val("dport").parse().unwrap()),
    };
    tuple(src, dst, l4, src_id, dst_id)
}

/// Every line of the kernel's `conntrack -E -o timestamp` sample, parsed into an
/// event and formatted back, comes out byte for byte.
#[test]
fn every_sample_line_round_trips() {
    let text =
        std::fs::read_to_string(shared_dir().join("kernel-samples/conntrack_events.txt")).unwrap();
    let state_name = |w: &str| {
        (0..=20u8)
            .filter_map(crate::proto::tcp::TcpState::from_u8)
            .map(|s| s.name())
            .find(|n| *n == w)
    };
    let mut n = 0;
    for line in text.lines().filter(|l| l.starts_with('[')) {
        let (ts, _) = sample(line);
        let rest = line.split_once('\t').unwrap().1;
        let kind = match rest[..9].trim_start() {
            "[NEW]" => EventKind::New,
            "[UPDATE]" => EventKind::Update,
            "[DESTROY]" => EventKind::Destroy,
            other => panic!("{other}"),
        };
        let mut words = rest[10..].split_whitespace().peekable();
        let _name = words.next().unwrap();
        let l4: u8 = words.next().unwrap().parse().unwrap();
        let timeout_s = match words.peek().and_then(|w| w.parse::<u64>().ok()) {
            Some(t) => {
                words.next();
                t
            }
            None => 0,
        };
        let state = match words.peek().copied().and_then(state_name) {
            Some(st) => {
                words.next();
                Some(st)
            }
            None => None,
        };
        let orig = parse_tuple(&mut words, l4);
        let mut st = status::CONFIRMED | status::SEEN_REPLY;
        if words.peek() == Some(&"[UNREPLIED]") {
            words.next();
            st &= !status::SEEN_REPLY;
        }
        let reply = parse_tuple(&mut words, l4);
        let mut helper = None;
        for w in words {
            match w {
                "[ASSURED]" => st |= status::ASSURED,
                _ => helper = Some(w.strip_prefix("helper=").unwrap().to_owned()),
            }
        }
        let what = match kind {
            EventKind::New => what::NEW | what::PROTOINFO,
            EventKind::Update if state.is_some() => what::PROTOINFO,
            EventKind::Update => what::REPLY,
            EventKind::Destroy => what::DESTROY,
        };
        let ev = ConnEvent {
            kind,
            what,
            ts_ns: ts,
            id: 1,
            tuple: [orig, reply],
            state,
            timeout_s,
            status: st,
            mark: 0,
            helper,
            counters: None,
            labels: 0,
            uses: 1,
            start_ns: None,
        };
        assert_eq!(ev.line(true), line);
        n += 1;
    }
    assert_eq!(n, 124);
}
