//! Reading requests: every accepted spelling, and errors that name the field's path;
//! event records and their `conntrack -E` lines.

use super::event::*;
use super::record::*;
use super::request::*;
use super::value::*;
use brickwall_wire::Family;
use serde_json::json;

fn read(v: serde_json::Value) -> Result<Request, String> {
    Request::from_value(v)
}

#[test]
fn errors_name_the_field_path() {
    for (req, want) in [
        (
            json!({"op": "list", "filter": {"src": "10.0.0.300"}}),
            "filter.src: not an address or network",
        ),
        (
            json!({"op": "list", "filter": {"bogus": 1}}),
            "filter.bogus: unknown field `bogus`",
        ),
        (
            json!({"op": "list", "bogus": 1}),
            "bogus: unknown field `bogus`",
        ),
        (
            json!({"op": "get", "tuple": {"proto": "tcp", "src": "10.0.0.1", "dst": "10.0.0.2", "sport": 70000}}),
            "tuple.sport: invalid value: integer `70000`",
        ),
        (json!({"op": "get"}), "tuple: missing"),
        (
            json!({"op": "update", "label_add": [1, 200]}),
            "label_add: label bit 200 is out of range",
        ),
        (
            json!({"op": "list", "filter": {"proto": "tcpx"}}),
            "filter.proto: unknown protocol \"tcpx\"",
        ),
        (
            json!({"op": "list", "filter": {"mark": "1/x"}}),
            "filter.mark: not a mark",
        ),
        (json!({"op": "nope"}), "op: unknown operation \"nope\""),
        (json!({"format": "text"}), "op: missing"),
        (json!([1]), "request: expected a JSON object"),
        (
            json!({"op": "flush", "tuple": {}}),
            "tuple: unknown field `tuple`",
        ),
        (json!({"op": "resize"}), "buckets: missing"),
        (
            json!({"op": "resize", "buckets": -2}),
            "buckets: invalid value: integer `-2`, expected u64",
        ),
        (
            json!({"op": "resize", "buckets": 8, "now_ns": 1}),
            "now_ns: unknown field `now_ns`, expected `buckets`",
        ),
    ] {
        let e = read(req.clone()).unwrap_err();
        assert!(e.starts_with(want), "{req}: {e}");
    }
}

#[test]
fn accepted_spellings() {
    let r = read(json!({"op": "list", "filter": {"proto": "ICMPv6", "src": "10.0.0.0/8", "state": "ESTABLISHED, SYN_SENT", "mark": "0x10/0xff", "status": ["ASSURED"]}})).unwrap();
    let Request::List(l) = r else { panic!() };
    let f = l.filter.unwrap();
    assert_eq!(f.proto, Some(Proto(58)));
    assert_eq!(f.src.unwrap().0.to_string(), "10.0.0.0/8");
    assert_eq!(f.state.unwrap().0, vec!["ESTABLISHED", "SYN_SENT"]);
    assert_eq!(
        f.mark,
        Some(Mark {
            value: 0x10,
            mask: 0xff
        })
    );
    assert!(l.total);
    let Request::Update(u) = read(
        json!({"op": "update", "filter": {}, "labels": "0x1f", "label_del": true, "label_add": 3}),
    )
    .unwrap() else {
        panic!()
    };
    assert_eq!(u.labels, Some(Labels(0x1f)));
    assert_eq!(u.label_del, Some(LabelBits(u128::MAX)));
    assert_eq!(u.label_add, Some(LabelBits(8)));
}

#[test]
fn requests_read_back_what_they_write() {
    let reqs = [
        Request::list_at(5),
        Request::Get(Get {
            now_ns: 1,
            tuple: TupleSpec::new(6, "10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap()),
            format: Format::Json,
            show_labels: true,
            show_id: true,
        }),
        Request::ExpectDelete(ExpectDelete { id: 7 }),
        Request::Helpers(Nothing {}),
        Request::Resize(Resize { buckets: 1 << 20 }),
        Request::List(List {
            filter: Some(Filter {
                src_nat: Some(NatFilter::default()),
                dst_nat: Some(NatFilter {
                    addr: Some("10.0.0.5".parse().unwrap()),
                    port: Some(80),
                }),
                any_nat: Some(NatFilter {
                    addr: None,
                    port: Some(8080),
                }),
                reply_src: Some(Net("10.0.0.9".parse().unwrap())),
                reply_dport: Some(53),
                ..Filter::default()
            }),
            show_id: true,
            zero: true,
            ..List::default()
        }),
        Request::Update(Update {
            filter: Some(Filter {
                mark: Some(Mark { value: 1, mask: 3 }),
                ..Filter::default()
            }),
            label_add: Some(LabelBits(6)),
            ..Update::default()
        }),
    ];
    for r in reqs {
        assert_eq!(
            Request::from_slice(&r.to_vec()).unwrap(),
            r,
            "{}",
            r.to_value()
        );
    }
}

#[test]
fn nat_filters_judge_the_translated_side() {
    let t = |src: &str, sport: u16, dst: &str, dport: u16| {
        let mut r = TupleRecord::new(src.parse().unwrap(), dst.parse().unwrap());
        r.sport = Some(sport);
        r.dport = Some(dport);
        r
    };
    // 10.0.0.1:40000 -> 203.0.113.9:8080, source-translated to 192.0.2.1:61000 and
    // destination-translated to 10.0.0.5:80.
    let orig = t("10.0.0.1", 40000, "203.0.113.9", 8080);
    let reply = t("10.0.0.5", 80, "192.0.2.1", 61000);
    let f = |addr: Option<&str>, port: Option<u16>| NatFilter {
        addr: addr.map(|a| a.parse().unwrap()),
        port,
    };
    let any = NatFilter::default();
    assert!(any.holds(NatSide::Src, true, &orig, &reply));
    assert!(!any.holds(NatSide::Src, false, &orig, &reply));
    assert!(f(Some("192.0.2.1"), None).holds(NatSide::Src, true, &orig, &reply));
    assert!(!f(Some("10.0.0.5"), None).holds(NatSide::Src, true, &orig, &reply));
    assert!(f(Some("10.0.0.5"), Some(80)).holds(NatSide::Dst, true, &orig, &reply));
    assert!(f(None, Some(61000)).holds(NatSide::Src, true, &orig, &reply));
    assert!(!f(Some("192.0.2.1"), Some(80)).holds(NatSide::Src, true, &orig, &reply));
    // Not translated: the address of the reply is the original's.
    let plain = t("203.0.113.9", 8080, "10.0.0.1", 40000);
    assert!(!f(Some("10.0.0.1"), None).holds(NatSide::Src, true, &orig, &plain));
    assert!(!f(None, Some(40000)).holds(NatSide::Src, true, &orig, &plain));
    // Read as a filter's fields.
    let r = read(json!({"op": "list", "filter": {"src_nat": {}, "dst_nat": {"addr": "10.0.0.5", "port": 80}}}))
        .unwrap();
    let Request::List(l) = r else { panic!("{r:?}") };
    let filter = l.filter.unwrap();
    assert_eq!(filter.src_nat, Some(any));
    assert_eq!(filter.dst_nat, Some(f(Some("10.0.0.5"), Some(80))));
    assert!(
        read(json!({"op": "list", "filter": {"src_nat": {"ip": "1.2.3.4"}}}))
            .unwrap_err()
            .starts_with("filter.src_nat.ip: unknown field `ip`")
    );
}

const SEC: u64 = 1_000_000_000;

/// A tuple with ports.
fn ports(src: &str, dst: &str, sport: u16, dport: u16) -> TupleRecord {
    let mut t = TupleRecord::new(src.parse().unwrap(), dst.parse().unwrap());
    t.sport = Some(sport);
    t.dport = Some(dport);
    t
}

/// An IPv4 TCP connection from 10.77.0.1:`sport` to 10.77.1.2:21.
fn ftp(sport: u16, state: &str, timeout: u64, status: &[&str]) -> ConnRecord {
    let orig = ports("10.77.0.1", "10.77.1.2", sport, 21);
    let reply = ports("10.77.1.2", "10.77.0.1", 21, sport);
    ConnRecord {
        id: 7,
        family: FamilyName(Family::Ipv4),
        proto: proto_name(6).to_string(),
        protonum: 6,
        state: Some(state.to_string()),
        timeout,
        status: status.iter().map(|s| s.to_string()).collect(),
        orig,
        reply,
        mark: 0,
        zone: 0,
        labels: Labels(0),
        helper: Some("ftp".to_string()),
        uses: 1,
        start_ns: None,
    }
}

fn conn_event(kind: EventKind, what: u16, ts_ns: u64, conn: ConnRecord) -> EventRecord {
    EventRecord::Conn(ConnEventRecord {
        kind,
        what,
        ts_ns,
        conn,
    })
}

#[test]
fn conn_event_lines_are_conntracks() {
    // The kernel sample's FTP control connection.
    let ts = 1_795_760_642 * SEC + 641_882_789;
    let new = conn_event(
        EventKind::New,
        what::NEW | what::PROTOINFO,
        ts,
        ftp(45604, "SYN_SENT", 120, &["CONFIRMED"]),
    );
    assert_eq!(new.line(true), "[1795760642.641882]\t    [NEW] tcp      6 120 SYN_SENT src=10.77.0.1 dst=10.77.1.2 sport=45604 dport=21 [UNREPLIED] src=10.77.1.2 dst=10.77.0.1 sport=21 dport=45604 helper=ftp");
    assert_eq!(new.class(), class::NEW);
    let est = ftp(45604, "ESTABLISHED", 432000, &["SEEN_REPLY", "ASSURED"]);
    let up = conn_event(
        EventKind::Update,
        what::ASSURED | what::PROTOINFO,
        ts,
        est.clone(),
    );
    assert_eq!(up.line(false), " [UPDATE] tcp      6 432000 ESTABLISHED src=10.77.0.1 dst=10.77.1.2 sport=45604 dport=21 src=10.77.1.2 dst=10.77.0.1 sport=21 dport=45604 [ASSURED] helper=ftp");
    // An UPDATE without PROTOINFO hides the state; MARK shows mark=0.
    let up = conn_event(EventKind::Update, what::MARK, ts, est.clone());
    assert_eq!(up.line(false), " [UPDATE] tcp      6 432000 src=10.77.0.1 dst=10.77.1.2 sport=45604 dport=21 src=10.77.1.2 dst=10.77.0.1 sport=21 dport=45604 [ASSURED] mark=0 helper=ftp");
    // DESTROY: no zero timeout, the state, counters, a mark and a zone; no helper.
    let mut gone = est;
    gone.timeout = 0;
    gone.state = Some("FIN_WAIT".into());
    gone.mark = 5;
    gone.zone = 3;
    (gone.orig.packets, gone.orig.bytes) = (Some(12), Some(900));
    (gone.reply.packets, gone.reply.bytes) = (Some(10), Some(1400));
    let d = conn_event(
        EventKind::Destroy,
        what::DESTROY,
        12 * SEC + 5_000,
        gone.clone(),
    );
    assert_eq!(d.line(true), "[12      .000005]\t[DESTROY] tcp      6 FIN_WAIT src=10.77.0.1 dst=10.77.1.2 sport=45604 dport=21 packets=12 bytes=900 src=10.77.1.2 dst=10.77.0.1 sport=21 dport=45604 packets=10 bytes=1400 [ASSURED] mark=5 zone=3");
    // Counters only on DESTROY.
    let up = conn_event(EventKind::Update, what::PROTOINFO, 0, gone);
    assert_eq!(up.line(false), " [UPDATE] tcp      6 0 FIN_WAIT src=10.77.0.1 dst=10.77.1.2 sport=45604 dport=21 src=10.77.1.2 dst=10.77.0.1 sport=21 dport=45604 [ASSURED] mark=5 zone=3 helper=ftp");
}

#[test]
fn expect_event_lines_are_conntracks() {
    let mut mask = TupleRecord::new(
        "255.255.255.255".parse().unwrap(),
        "255.255.255.255".parse().unwrap(),
    );
    (mask.sport, mask.dport) = (Some(0), Some(65535));
    let ev = EventRecord::Expect(ExpectEventRecord {
        kind: EventKind::New,
        ts_ns: 1_795_760_642 * SEC + 649_978_123,
        expect: ExpectRecord {
            id: 1,
            timeout: 300,
            protonum: 6,
            family: FamilyName(Family::Ipv4),
            tuple: ports("10.77.0.1", "10.77.1.2", 0, 30076),
            mask,
            master: ports("10.77.0.1", "10.77.1.2", 45604, 21),
            flags: vec![],
            class: 0,
            helper: "ftp".into(),
            zone: 0,
        },
    });
    assert_eq!(ev.line(true), "[1795760642.649978]\t    [NEW] 300 proto=6 src=10.77.0.1 dst=10.77.1.2 sport=0 dport=30076 mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 master-src=10.77.0.1 master-dst=10.77.1.2 sport=45604 dport=21 class=0 helper=ftp");
    assert_eq!(ev.class(), class::EXPECT_NEW);
    // Expectation events space-pad the microseconds on the right.
    let EventRecord::Expect(mut x) = ev else {
        unreachable!()
    };
    x.kind = EventKind::Destroy;
    x.ts_ns = 1_795_760_653 * SEC + 39_567_999;
    assert!(x
        .line(true)
        .starts_with("[1795760653.39567 ]\t[DESTROY] 300 proto=6 "));
    x.ts_ns = 1_795_760_653 * SEC;
    assert!(x
        .line(true)
        .starts_with("[1795760653.0     ]\t[DESTROY] 300 "));
}

#[test]
fn events_read_back_what_they_write() {
    let r = EventsResponse {
        cursor: 3,
        events: vec![conn_event(
            EventKind::Update,
            what::REPLY,
            5,
            ftp(1, "SYN_RECV", 60, &["SEEN_REPLY"]),
        )],
        lost: 2,
    };
    let v = serde_json::to_value(&r).unwrap();
    assert_eq!(v["events"][0]["type"], "conn");
    assert_eq!(v["events"][0]["kind"], "update");
    assert_eq!(serde_json::from_value::<EventsResponse>(v).unwrap(), r);
    assert_eq!(
        Request::Events(Events {
            cursor: 0,
            max: Some(10),
            mask: Some(class::ALL),
        })
        .to_value(),
        json!({"op": "events", "cursor": 0, "max": 10, "mask": 31})
    );
}

#[test]
fn kinds_from_what_and_summaries() {
    assert_eq!(
        EventKind::from_what(what::NEW | what::PROTOINFO),
        EventKind::New
    );
    assert_eq!(EventKind::from_what(what::RELATED), EventKind::New);
    assert_eq!(
        EventKind::from_what(what::REPLY | what::PROTOINFO),
        EventKind::Update
    );
    assert_eq!(
        EventKind::from_what(what::DESTROY | what::MARK),
        EventKind::Destroy
    );
    assert_eq!(
        summary_line(124, false),
        "conntrack v1.4.7 (conntrack-tools): 124 flow events have been shown."
    );
    assert_eq!(
        summary_line(24, true),
        "conntrack v1.4.7 (conntrack-tools): 24 expectation events have been shown."
    );
}
