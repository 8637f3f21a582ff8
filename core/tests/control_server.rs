//! The control server in process, with fake targets plugged into its router: the `-E`
//! client loop against it (lines in order, lost events, stop, engine gone, unsupported
//! operation), and the server's own rules (connection limit, panicking targets, idle
//! connections, stale and live sockets, cleanup).

mod common;

use brickwall_control_protocol::conntrack::event::what;
use brickwall_control_protocol::conntrack::record::proto_name;
use brickwall_control_protocol::conntrack::value::{FamilyName, Labels};
use brickwall_control_protocol::conntrack::{
    ConnEventRecord, ConnRecord, EventKind, EventRecord, EventsResponse, TupleRecord,
};
use brickwall_core::control::server::MAX_CONNECTIONS;
use brickwall_core::control::{ControlServer, ControlTarget, Targets};
use brickwall_tui::client::{Client, ClientError};
use brickwall_tui::ct::args::Table;
use brickwall_tui::ct::events::{event_loop, EventQuery};
use clap::Parser;
use common::TempDir;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

/// A conntrack plugin that hands out `events`, one per poll, in one event session; it
/// reports `lost` 2 from the third poll on, records every request, and when the events
/// are out sets `done` and says so on `tell`.
struct FakeEvents {
    events: Vec<EventRecord>,
    served: Mutex<usize>,
    requests: Mutex<Vec<Value>>,
    done: Arc<AtomicBool>,
    tell: Mutex<Option<mpsc::Sender<()>>>,
}

impl FakeEvents {
    fn new(events: &[EventRecord], tell: Option<mpsc::Sender<()>>) -> Arc<FakeEvents> {
        Arc::new(FakeEvents {
            events: events.to_vec(),
            served: Mutex::new(0),
            requests: Mutex::new(Vec::new()),
            done: Arc::new(AtomicBool::new(false)),
            tell: Mutex::new(tell),
        })
    }
}

impl ControlTarget for FakeEvents {
    fn control(&self, request: &[u8]) -> Result<Vec<u8>, String> {
        let v: Value = serde_json::from_slice(request).map_err(|e| e.to_string())?;
        self.requests.lock().unwrap().push(v.clone());
        if v["op"] != "events" {
            return Err("op: unknown operation".into());
        }
        let mut served = self.served.lock().unwrap();
        let batch: Vec<EventRecord> = self.events.iter().skip(*served).take(1).cloned().collect();
        *served += batch.len();
        if *served == self.events.len() {
            self.done.store(true, Ordering::SeqCst);
            if let Some(t) = self.tell.lock().unwrap().take() {
                let _ = t.send(());
            }
        }
        let lost = if self.requests.lock().unwrap().len() >= 3 {
            2
        } else {
            0
        };
        let answer = EventsResponse {
            cursor: 7,
            events: batch,
            lost,
        };
        Ok(serde_json::to_vec(&answer).unwrap())
    }
}

/// A conntrack plugin without the `events` operation (its real error message).
struct NoEvents;

impl ControlTarget for NoEvents {
    fn control(&self, _: &[u8]) -> Result<Vec<u8>, String> {
        Err("op: unknown operation \"events\" (list, get, delete, flush, count, stats, histogram, chain)".into())
    }
}

/// A target that panics.
struct Panics;

impl ControlTarget for Panics {
    fn control(&self, _: &[u8]) -> Result<Vec<u8>, String> {
        panic!("boom")
    }
}

/// A target that echoes its request.
struct Echo;

impl ControlTarget for Echo {
    fn control(&self, request: &[u8]) -> Result<Vec<u8>, String> {
        Ok(request.to_vec())
    }
}

fn serve(dir: &TempDir, name: &str, target: Arc<dyn ControlTarget>) -> ControlServer {
    let mut t = Targets::new();
    t.add(name, target);
    t.add("echo", Arc::new(Echo));
    ControlServer::start(&dir.join("ctl.sock"), t).expect("start the server")
}

const LINES: [&str; 3] = [
    "    [NEW] tcp      6 120 SYN_SENT src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2 [UNREPLIED] src=10.0.0.2 dst=10.0.0.1 sport=2 dport=1",
    " [UPDATE] tcp      6 60 SYN_RECV src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2 src=10.0.0.2 dst=10.0.0.1 sport=2 dport=1",
    "[DESTROY] tcp      6 src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2 src=10.0.0.2 dst=10.0.0.1 sport=2 dport=1",
];

/// An IPv4 connection event from 10.0.0.1:`sport` to `dst`:`dport`, replied to when
/// `status` says so.
fn event(
    (kind, what): (EventKind, u16),
    (proto, timeout, state): (u8, u64, Option<&str>),
    (sport, dst, dport): (u16, &str, u16),
    status: &[&str],
) -> EventRecord {
    let tuple = |src: &str, dst: &str, sport, dport| {
        let mut t = TupleRecord::new(src.parse().unwrap(), dst.parse().unwrap());
        (t.sport, t.dport) = (Some(sport), Some(dport));
        t
    };
    EventRecord::Conn(ConnEventRecord {
        kind,
        what,
        ts_ns: 0,
        conn: ConnRecord {
            id: 1,
            family: FamilyName(brickwall_core::wire::Family::Ipv4),
            proto: proto_name(proto).to_string(),
            protonum: proto,
            state: state.map(str::to_string),
            timeout,
            status: status.iter().map(|s| s.to_string()).collect(),
            orig: tuple("10.0.0.1", dst, sport, dport),
            reply: tuple(dst, "10.0.0.1", dport, sport),
            mark: 0,
            zone: 0,
            labels: Labels(0),
            helper: None,
            uses: 1,
            start_ns: None,
        },
    })
}

/// The events whose lines are [`LINES`].
fn events() -> [EventRecord; 3] {
    let tcp = (1, "10.0.0.2", 2);
    let e = [
        event(
            (EventKind::New, what::NEW | what::PROTOINFO),
            (6, 120, Some("SYN_SENT")),
            tcp,
            &[],
        ),
        event(
            (EventKind::Update, what::REPLY | what::PROTOINFO),
            (6, 60, Some("SYN_RECV")),
            tcp,
            &["SEEN_REPLY"],
        ),
        event(
            (EventKind::Destroy, what::DESTROY),
            (6, 0, None),
            tcp,
            &["SEEN_REPLY"],
        ),
    ];
    for (e, l) in e.iter().zip(LINES) {
        assert_eq!(e.line(false), l);
    }
    e
}

const CONNTRACK: EventQuery = EventQuery {
    mask: 7,
    timestamps: false,
    table: Table::Conntrack,
    filter: None,
};

#[test]
fn events_print_in_order_until_stopped() {
    let dir = TempDir::new("srv-events");
    let fake = FakeEvents::new(&events(), None);
    let server = serve(&dir, "conntrack", fake.clone());
    let mut c = Client::connect(server.path()).unwrap();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = event_loop(
        &mut c,
        CONNTRACK,
        &mut out,
        &mut err,
        &fake.done,
        Duration::from_millis(5),
    );
    assert_eq!(code, 0);
    assert_eq!(String::from_utf8(out).unwrap(), LINES.join("\n") + "\n");
    let err = String::from_utf8(err).unwrap();
    assert_eq!(
        err,
        "WARNING: 2 events were lost (this reader polled too slowly)\n\
         brickwall ct (conntrack-tools 1.4.7 compatible): 3 flow events have been shown.\n"
    );
    let reqs = fake.requests.lock().unwrap();
    assert_eq!(
        reqs[0],
        json!({"op": "events", "cursor": 0, "max": 1024, "mask": 7})
    );
    assert_eq!(reqs[1]["cursor"], 7, "the answer's cursor is sent back");
}

/// `-E` with filters prints only the events whose original tuple meets them, and counts
/// only those in its summary.
#[test]
fn filtered_events_show_only_what_matches() {
    let dir = TempDir::new("srv-events-filter");
    let [new, update, _] = events();
    let udp = event(
        (EventKind::New, what::NEW),
        (17, 30, None),
        (5, "10.0.0.9", 53),
        &[],
    );
    assert_eq!(
        udp.line(false),
        "    [NEW] udp      17 30 src=10.0.0.1 dst=10.0.0.9 sport=5 dport=53 [UNREPLIED] src=10.0.0.9 dst=10.0.0.1 sport=53 dport=5"
    );
    let fake = FakeEvents::new(&[new, udp, update], None);
    let server = serve(&dir, "conntrack", fake.clone());
    let mut c = Client::connect(server.path()).unwrap();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let args = brickwall_tui::ct::args::CtCli::parse_from([
        "ct", "-E", "-p", "tcp", "--state", "SYN_RECV",
    ])
    .args;
    let q = EventQuery {
        filter: brickwall_tui::ct::event_filter::EventFilter::from_args(&args).unwrap(),
        ..CONNTRACK
    };
    let code = event_loop(
        &mut c,
        q,
        &mut out,
        &mut err,
        &fake.done,
        Duration::from_millis(5),
    );
    assert_eq!(code, 0);
    assert_eq!(String::from_utf8(out).unwrap(), format!("{}\n", LINES[1]));
    assert!(String::from_utf8(err)
        .unwrap()
        .contains(": 1 flow events have been shown."));
}

#[test]
fn events_end_with_0_when_the_engine_goes_away() {
    let dir = TempDir::new("srv-gone");
    let (tx, rx) = mpsc::channel();
    let fake = FakeEvents::new(&events()[..2], Some(tx));
    let server = serve(&dir, "conntrack", fake);
    let path = server.path().to_path_buf();
    let looping = std::thread::spawn(move || {
        let mut c = Client::connect(&path).unwrap();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let never = AtomicBool::new(false);
        let code = event_loop(
            &mut c,
            CONNTRACK,
            &mut out,
            &mut err,
            &never,
            Duration::from_millis(5),
        );
        (code, out, err)
    });
    rx.recv_timeout(Duration::from_secs(10))
        .expect("the lines were served");
    let sock = server.path().to_path_buf();
    server.shutdown();
    assert!(!sock.exists(), "shutdown removes the socket file");
    let (code, out, err) = looping.join().unwrap();
    assert_eq!(code, 0);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        LINES[..2].join("\n") + "\n"
    );
    let err = String::from_utf8(err).unwrap();
    let last = err.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("brickwall ct: the engine went away (")
            && last.ends_with("; 2 flow events have been shown."),
        "{err}"
    );
}

#[test]
fn events_end_with_1_when_unsupported() {
    let dir = TempDir::new("srv-noev");
    let server = serve(&dir, "conntrack", Arc::new(NoEvents));
    let mut c = Client::connect(server.path()).unwrap();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let never = AtomicBool::new(false);
    let q = EventQuery {
        mask: 24,
        timestamps: true,
        table: Table::Expect,
        filter: None,
    };
    let code = event_loop(
        &mut c,
        q,
        &mut out,
        &mut err,
        &never,
        Duration::from_millis(5),
    );
    assert_eq!(code, 1);
    assert!(out.is_empty());
    assert_eq!(
        String::from_utf8(err).unwrap(),
        "brickwall ct: -E: op: unknown operation \"events\" (list, get, delete, flush, count, stats, histogram, chain)\n"
    );
}

#[test]
fn a_panicking_target_gets_an_error_and_the_connection_lives() {
    let dir = TempDir::new("srv-panic");
    let server = serve(&dir, "boom", Arc::new(Panics));
    let mut c = Client::connect(server.path()).unwrap();
    match c.call("boom", &json!({})) {
        Err(ClientError::Remote(m)) => assert_eq!(m, "target \"boom\" panicked on this request"),
        other => panic!("{other:?}"),
    }
    assert_eq!(c.call("echo", &json!({"a": 1})).unwrap(), json!({"a": 1}));
    assert_eq!(
        c.call("echo", &json!("plain words")).unwrap(),
        json!("plain words")
    );
}

#[test]
fn at_most_32_connections_at_once() {
    let dir = TempDir::new("srv-limit");
    let server = serve(&dir, "x", Arc::new(Echo));
    let mut clients: Vec<Client> = (0..MAX_CONNECTIONS)
        .map(|_| Client::connect(server.path()).unwrap())
        .collect();
    for c in &mut clients {
        assert_eq!(c.call("echo", &json!(1)).unwrap(), json!(1));
    }
    assert_eq!(server.active_connections(), MAX_CONNECTIONS);
    let mut extra = Client::connect(server.path()).unwrap();
    match extra.call("echo", &json!(1)) {
        Err(ClientError::Remote(m)) => {
            assert_eq!(
                m,
                "too many control connections (at most 32); try again later"
            )
        }
        other => panic!("{other:?}"),
    }
    drop(clients.pop());
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while server.active_connections() >= MAX_CONNECTIONS {
        assert!(
            std::time::Instant::now() < deadline,
            "a slot never freed up"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut again = Client::connect(server.path()).unwrap();
    assert_eq!(again.call("echo", &json!(2)).unwrap(), json!(2));
}

/// Threads of this process with a name starting `prefix`.
fn threads_named(prefix: &str) -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|n| n.trim_end().starts_with(prefix))
        .count()
}

/// Connections past the limit are refused by one thread, not one thread each: 200 of
/// them leave the server's one refusing thread, every one that fits its queue gets the
/// message, and the rest are closed and counted.
#[test]
fn refusals_take_one_thread_however_many_come() {
    let dir = TempDir::new("srv-refuse");
    let server = serve(&dir, "x", Arc::new(Echo));
    let _held: Vec<Client> = (0..MAX_CONNECTIONS)
        .map(|_| {
            let mut c = Client::connect(server.path()).unwrap();
            assert_eq!(c.call("echo", &json!(1)).unwrap(), json!(1));
            c
        })
        .collect();
    let extra: Vec<std::os::unix::net::UnixStream> = (0..200)
        .filter_map(|_| std::os::unix::net::UnixStream::connect(server.path()).ok())
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    // One refusing thread per server (other tests of this file run servers of their
    // own beside this one); a thread per refusal would be 200 here.
    let refusing = threads_named("control-refuse");
    assert!(refusing <= 4, "{refusing} refusing threads");
    drop(extra);
    // A well-behaved client still reads why it was refused.
    let mut late = Client::connect(server.path()).unwrap();
    match late.call("echo", &json!(1)) {
        Err(ClientError::Remote(m)) => assert!(m.starts_with("too many control connections")),
        Err(ClientError::Gone(_)) => assert!(server.dropped_connections() > 0),
        other => panic!("{other:?}"),
    }
}

/// While every slot is taken, a client silent for the crowded timeout is closed, so
/// idle clients cannot keep the others out for the whole idle timeout.
#[test]
fn idle_clients_make_room_when_the_server_is_full() {
    let dir = TempDir::new("srv-crowded");
    let mut t = Targets::new();
    t.add("echo", Arc::new(Echo));
    let server = brickwall_core::control::BoundControl::bind(&dir.join("ctl.sock"))
        .unwrap()
        .serve_with_limits(t, Duration::from_secs(600), Duration::from_millis(600))
        .unwrap();
    let mut held: Vec<Client> = (0..MAX_CONNECTIONS)
        .map(|_| Client::connect(server.path()).unwrap())
        .collect();
    for c in &mut held {
        assert_eq!(c.call("echo", &json!(1)).unwrap(), json!(1));
    }
    let mut refused = Client::connect(server.path()).unwrap();
    assert!(matches!(
        refused.call("echo", &json!(1)),
        Err(ClientError::Remote(_))
    ));
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while server.active_connections() >= MAX_CONNECTIONS {
        assert!(
            std::time::Instant::now() < deadline,
            "no idle client was closed"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut next = Client::connect(server.path()).unwrap();
    assert_eq!(next.call("echo", &json!(2)).unwrap(), json!(2));
}

#[test]
fn silent_connections_are_closed_after_the_idle_timeout() {
    let dir = TempDir::new("srv-idle");
    let mut t = Targets::new();
    t.add("echo", Arc::new(Echo));
    let server =
        ControlServer::start_with(&dir.join("ctl.sock"), t, Duration::from_millis(300)).unwrap();
    let mut c = Client::connect(server.path()).unwrap();
    assert_eq!(c.call("echo", &json!(1)).unwrap(), json!(1));
    std::thread::sleep(Duration::from_millis(900));
    assert!(matches!(
        c.call("echo", &json!(1)),
        Err(ClientError::Gone(_))
    ));
}

#[test]
fn stale_sockets_are_replaced_and_live_ones_kept() {
    let dir = TempDir::new("srv-stale");
    let path = dir.join("sub/dir/ctl.sock");
    // A socket file nobody listens on (a crashed engine's) is replaced.
    drop(std::os::unix::net::UnixListener::bind(dir.join("stale.sock")).unwrap());
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::rename(dir.join("stale.sock"), &path).unwrap();
    let server = ControlServer::start(&path, Targets::new()).expect("replaces a stale socket");
    // A second engine on the same path is refused while the first one lives.
    let e = ControlServer::start(&path, Targets::new()).unwrap_err();
    assert!(
        e.to_string()
            .contains("another engine is serving this socket"),
        "{e}"
    );
    drop(server);
    assert!(!path.exists());
    // A path that is not a socket is never removed.
    std::fs::write(&path, b"precious").unwrap();
    let e = ControlServer::start(&path, Targets::new()).unwrap_err();
    assert!(e.to_string().contains("exists and is not a socket"), "{e}");
    assert_eq!(std::fs::read(&path).unwrap(), b"precious");
}

/// A target with one metric family.
struct OneMetric;

impl ControlTarget for OneMetric {
    fn control(&self, request: &[u8]) -> Result<Vec<u8>, String> {
        assert_eq!(request, br#"{"op":"metrics"}"#);
        Ok(br#"{"families":[{"name":"x_total","type":"counter","help":"X.","samples":[{"value":7}]}]}"#.to_vec())
    }
}

/// `/metrics` with a slow client beside a normal one: a client trickling its request a
/// byte at a time holds up no other scrape, and is cut off at the request deadline.
#[test]
fn a_slow_metrics_client_blocks_no_scrape() {
    use brickwall_core::control::metrics::{MetricsServer, REQUEST_DEADLINE};
    use std::io::{Read, Write};
    let mut t = Targets::new();
    t.add("x", Arc::new(OneMetric));
    let server = MetricsServer::start(
        "127.0.0.1:0".parse().unwrap(),
        Arc::new(std::sync::RwLock::new(t)),
    )
    .unwrap();
    let addr = server.addr();
    let slow = std::thread::spawn(move || {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        let started = std::time::Instant::now();
        for b in b"GET /metrics HTTP/1.1\r\n" {
            if s.write_all(&[*b]).is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(300));
            if started.elapsed() > Duration::from_secs(5) {
                break;
            }
        }
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest);
        started.elapsed()
    });
    std::thread::sleep(Duration::from_millis(200));
    let started = std::time::Instant::now();
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut page = String::new();
    s.read_to_string(&mut page).unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert!(page.contains("\nx_total 7\n"), "{page}");
    let slow_took = slow.join().unwrap();
    assert!(
        slow_took < REQUEST_DEADLINE + Duration::from_millis(1500),
        "the trickling client was held {slow_took:?}"
    );
}
