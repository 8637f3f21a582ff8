//! `brickwall ct` without an engine: option checking (exit code 2), the requests each
//! command sends, and what it prints, against a fake engine speaking the protocol.

mod fake_engine;
mod records;

use brickwall_control_protocol::conntrack::request::*;
use brickwall_control_protocol::conntrack::response::*;
use brickwall_control_protocol::conntrack::value::*;
use brickwall_control_protocol::conntrack::{ConnRecord, Dir, TupleRecord};
use brickwall_control_protocol::engine::{EngineRequest, Phase, StatusResponse};
use brickwall_tui::ct::args::CtCli;
use brickwall_tui::ct::commands::stats_line;
use brickwall_tui::ct::{query, run_with, CtArgs};
use brickwall_tui::protocol::{self, Response};
use brickwall_wire::Family;
use clap::Parser;
use fake_engine::FakeEngine;
use serde::Serialize;
use serde_json::{json, Value};
use std::path::PathBuf;

fn parse(args: &[&str]) -> Result<CtArgs, clap::Error> {
    CtCli::try_parse_from(std::iter::once("brickwall ct").chain(args.iter().copied()))
        .map(|c| c.args)
}

#[test]
fn bad_parameters_are_usage_errors_with_exit_code_2() {
    for bad in [
        &["-L", "--sport", "notaport"][..],
        &["-L", "--dport", "70000"],
        &["-L", "-p", "bogus"],
        &["-L", "-s", "1.2.3"],
        &["-L", "-d", "::1/129"],
        &["-L", "--mark", "0xZZ"],
        &["-L", "--state", "OPENED"],
        &["-L", "--status", "ASSURED,NOPE"],
        &["-L", "-C"],
        &["-G", "-D"],
        &["-D", "dying"],
        &["-E", "-e", "CHANGE"],
        &["-L", "-r", "10.0.0.0/8"],
        &["-L", "-o", "ktv"],
        &["-L", "--zone", "-1"],
    ] {
        let e = parse(bad).expect_err(&format!("{bad:?} should not parse"));
        assert_eq!(e.exit_code(), 2, "{bad:?}: {e}");
    }
    assert_eq!(parse(&["--help"]).unwrap_err().exit_code(), 0);
}

#[test]
fn options_parse_as_conntrack_spells_them() {
    use brickwall_tui::ct::args::ListTable as Table;
    let a = parse(&["-L"]).unwrap();
    assert_eq!(a.dump, Some(Table::Conntrack));
    assert_eq!(a.socket, PathBuf::from(protocol::DEFAULT_SOCKET));
    assert_eq!(parse(&["-L", "expect"]).unwrap().dump, Some(Table::Expect));
    assert_eq!(
        parse(&["--dump", "conntrack"]).unwrap().dump,
        Some(Table::Conntrack)
    );
    let a = parse(&[
        "-D",
        "--orig-src",
        "10.0.0.0/8",
        "--orig-port-dst",
        "53",
        "-p",
        "UDP",
        "--state",
        "established,time_wait",
        "-u",
        "assured",
        "-m",
        "0x10/0xf0",
        "-w",
        "3",
    ])
    .unwrap();
    assert_eq!(a.delete, Some(brickwall_tui::ct::args::Table::Conntrack));
    assert_eq!(a.proto, Some(17));
    assert_eq!(a.state.as_deref(), Some("ESTABLISHED,TIME_WAIT"));
    let f = query::filter(&a, "-D").unwrap().expect("a filter");
    assert_eq!(
        f,
        Filter {
            proto: Some(Proto(17)),
            src: Some(Net("10.0.0.0/8".parse().unwrap())),
            dport: Some(53),
            state: Some(Names(vec!["ESTABLISHED".into(), "TIME_WAIT".into()])),
            mark: Some(Mark {
                value: 0x10,
                mask: 0xf0
            }),
            zone: Some(3),
            status: Some(Names(vec!["ASSURED".into()])),
            ..Filter::default()
        }
    );
    // As it goes on the wire.
    assert_eq!(
        serde_json::to_value(&f).unwrap(),
        json!({"proto": "udp", "src": "10.0.0.0/8", "dport": 53, "state": ["ESTABLISHED", "TIME_WAIT"],
                "mark": "0x10/0xf0", "zone": 3, "status": ["ASSURED"]})
    );
    assert!(!query::is_full_tuple(&a));
    assert_eq!(query::filter(&parse(&["-L"]).unwrap(), "-L").unwrap(), None);
    let a = parse(&["-L", "-f", "ipv6", "-d", "fd00::/8"]).unwrap();
    assert_eq!(
        query::filter(&a, "-L").unwrap(),
        Some(Filter {
            family: Some(FamilyName(Family::Ipv6)),
            dst: Some(Net("fd00::/8".parse().unwrap())),
            ..Filter::default()
        })
    );
}

#[test]
fn tuples_need_every_field_of_their_protocol() {
    let a = parse(&[
        "-G",
        "-p",
        "icmp",
        "-s",
        "10.0.0.1",
        "-d",
        "10.0.0.2",
        "--icmp-type",
        "8",
        "--icmp-id",
        "7",
    ])
    .unwrap();
    assert!(query::is_full_tuple(&a));
    let t = query::tuple(&a, "-G").unwrap();
    assert_eq!(
        t,
        TupleSpec {
            icmp_type: Some(8),
            code: Some(0),
            id: Some(7),
            ..TupleSpec::new(1, "10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap())
        }
    );
    assert_eq!(
        serde_json::to_value(&t).unwrap(),
        json!({"proto": "icmp", "src": "10.0.0.1", "dst": "10.0.0.2", "type": 8, "code": 0, "id": 7})
    );
    let a = parse(&[
        "-G", "-p", "tcp", "-s", "10.0.0.1", "-d", "10.0.0.2", "--sport", "1",
    ])
    .unwrap();
    assert!(!query::is_full_tuple(&a));
    let e = query::tuple(&a, "-G").unwrap_err();
    assert_eq!(e.code, 2);
    assert!(e.msg.contains("missing --dport"), "{}", e.msg);
    let a = parse(&[
        "-G", "-p", "icmp", "-s", "1.1.1.1", "-d", "2.2.2.2", "--sport", "1",
    ])
    .unwrap();
    assert_eq!(query::tuple(&a, "-G").unwrap_err().code, 2);
    let a = parse(&["-G", "-p", "gre", "-s", "1.1.1.1", "-d", "2.2.2.2"]).unwrap();
    assert_eq!(
        query::tuple(&a, "-G").unwrap(),
        TupleSpec::new(47, "1.1.1.1".parse().unwrap(), "2.2.2.2".parse().unwrap())
    );
    let a = parse(&[
        "-G", "-p", "udp", "-s", "fd00::1", "-d", "fd00::2", "--sport", "5", "--dport", "6", "-f",
        "ipv6", "-w", "4",
    ])
    .unwrap();
    assert_eq!(
        query::tuple(&a, "-G").unwrap(),
        TupleSpec {
            family: Some(FamilyName(Family::Ipv6)),
            sport: Some(5),
            dport: Some(6),
            zone: Some(4),
            ..TupleSpec::new(17, "fd00::1".parse().unwrap(), "fd00::2".parse().unwrap())
        }
    );
}

#[test]
fn stats_lines_are_conntracks() {
    let v = Counts(
        [
            ("found", 3),
            ("invalid", 1),
            ("insert", 2),
            ("chaintoolong", 9),
            ("expect_new", 5),
        ]
        .map(|(k, n)| (k.to_string(), n))
        .to_vec(),
    );
    assert_eq!(
        stats_line(0, &v),
        "cpu=0   \tfound=3 invalid=1 insert=2 insert_failed=0 drop=0 early_drop=0 error=0 search_restart=0 clash_resolve=0 chaintoolong=9 "
    );
}

/// A fake engine: answers each request with `answer(target, request)` and records them.
/// The fake engine, and `brickwall ct` run against it.
struct Fake(FakeEngine);

impl Fake {
    fn start(name: &str, answer: fn(&str, &Value) -> Response) -> Fake {
        Fake(FakeEngine::start(name, answer))
    }

    fn run(&self, args: &[&str]) -> (i32, String, String) {
        let mut a = parse(args).unwrap();
        a.socket = self.0.path.clone();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = run_with(&a, &mut out, &mut err);
        (
            code,
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    }

    fn requests(&self) -> Vec<(String, Value)> {
        self.0.requests()
    }
}

const LINE: &str = "tcp      6 431999 ESTABLISHED src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2 src=10.0.0.2 dst=10.0.0.1 sport=2 dport=1 [ASSURED] mark=0 use=1";

/// A line of `-L expect`: `records::ftp_expectation(_, timeout)` as conntrack prints it.
fn expect_line(timeout: u64) -> String {
    format!(
        "{timeout} proto=6 src=10.0.0.1 dst=10.0.0.2 sport=0 dport=20000 \
         mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 \
         master-src=10.0.0.1 master-dst=10.0.0.2 sport=40000 dport=21 class=0 helper=ftp"
    )
}

/// An answer serialized from the protocol's response type, as the plugin writes it.
fn ok(r: impl Serialize) -> Response {
    Response::Ok(serde_json::to_value(r).unwrap())
}

fn line(l: &str) -> Vec<Entry> {
    vec![Entry::Line(l.into())]
}

/// The engine's status at clock `now_ns`, as the engine answers it.
fn status(now_ns: u64) -> Response {
    ok(StatusResponse {
        phase: Phase::Finished,
        frames: 3,
        now_ns,
    })
}

/// The engine's request `req`, read as the engine reads it.
fn engine_request(req: &Value) -> Result<EngineRequest, String> {
    EngineRequest::from_slice(req.to_string().as_bytes())
}

fn engine(target: &str, req: &Value) -> Response {
    if target == "engine" {
        return match engine_request(req) {
            Ok(EngineRequest::Status) => status(77),
            _ => Response::Err("unsupported".into()),
        };
    }
    // The plugin reads every request as the protocol's type.
    let req = match Request::from_value(req.clone()) {
        Ok(r) => r,
        Err(e) => return Response::Err(format!("bad request: {e}")),
    };
    match req {
        Request::List(l) if l.filter.as_ref().and_then(|f| f.proto) == Some(Proto(17)) => {
            match l.cursor {
                None => ok(ListResponse {
                    entries: line(LINE),
                    more: Some(true),
                    cursor: Some(5),
                    ..ListResponse::default()
                }),
                Some(_) => ok(ListResponse {
                    entries: line(LINE),
                    more: Some(false),
                    ..ListResponse::default()
                }),
            }
        }
        Request::List(_) => ok(ListResponse {
            entries: line(LINE),
            count: Some(1),
            ..ListResponse::default()
        }),
        Request::Get(g) if g.tuple.sport == Some(1) => ok(GetResponse {
            entry: Entry::Line(LINE.into()),
            dir: Dir::Original,
        }),
        Request::Get(_) => Response::Err("no such connection: tcp src=...".into()),
        Request::Delete(_) => ok(Deleted { deleted: 1 }),
        Request::Update(_) => ok(Updated { updated: 1 }),
        Request::Flush(_) | Request::ExpectFlush(_) => ok(Deleted { deleted: 3 }),
        Request::Count(_) => ok(CountResponse {
            count: 12,
            max: 100,
        }),
        Request::ExpectList(_) => ok(ExpectListResponse {
            expectations: vec![
                records::ftp_expectation(1, 300),
                records::ftp_expectation(2, 299),
            ],
        }),
        Request::ExpectDelete(ExpectDelete { id: 1 }) => ok(Deleted { deleted: 1 }),
        Request::ExpectDelete(_) => Response::Err("no such expectation".into()),
        Request::ExpectCreate(_) => ok(ExpectCreated { id: 3 }),
        Request::Stats(_) => {
            let counts = |found| Counts(vec![("found".into(), found), ("drop".into(), 1)]);
            ok(StatsResponse {
                entries: 4,
                totals: counts(9),
                buckets: 64,
                workers: vec![counts(4), counts(5)],
                resize: None,
            })
        }
        _ => Response::Err("unsupported".into()),
    }
}

/// The conntrack requests among `reqs`, read as the plugin reads them.
fn conntrack(reqs: &[(String, Value)]) -> Vec<Request> {
    reqs.iter()
        .filter(|(t, _)| t == "conntrack")
        .map(|(_, v)| Request::from_value(v.clone()).unwrap())
        .collect()
}

#[test]
fn commands_send_their_requests_at_the_engines_clock_and_print_the_answers() {
    let f = Fake::start("cmds", engine);
    let (code, out, err) = f.run(&["-L", "-p", "tcp", "-o", "extended"]);
    assert_eq!((code, out.as_str()), (0, format!("{LINE}\n").as_str()));
    assert_eq!(
        err,
        "brickwall ct (conntrack-tools 1.4.7 compatible): 1 flow entries have been shown.\n"
    );
    assert_eq!(
        f.requests(),
        vec![
            ("engine".to_string(), json!({"op": "status"})),
            (
                "conntrack".to_string(),
                json!({"op": "list", "format": "extended", "filter": {"proto": "tcp"}, "now_ns": 77,
                       "limit": 10000, "total": false})
            ),
        ]
    );
    // A list that does not fit one answer comes in pages: each request starts at the
    // previous answer's cursor, until an answer has no more.
    let (code, out, err) = f.run(&["-L", "-p", "udp"]);
    assert_eq!(
        (code, out.as_str()),
        (0, format!("{LINE}\n{LINE}\n").as_str())
    );
    assert!(err.ends_with(" 2 flow entries have been shown.\n"), "{err}");
    let reqs = conntrack(&f.requests());
    let page = |cursor| {
        Request::List(List {
            now_ns: 77,
            filter: Some(Filter {
                proto: Some(Proto(17)),
                ..Filter::default()
            }),
            limit: Some(10_000),
            total: false,
            cursor,
            ..List::default()
        })
    };
    assert_eq!(reqs, vec![page(None), page(Some(5))]);
    let g = [
        "-G", "-p", "tcp", "-s", "10.0.0.1", "-d", "10.0.0.2", "--sport", "1", "--dport", "2",
    ];
    let tuple = TupleSpec {
        sport: Some(1),
        dport: Some(2),
        ..TupleSpec::new(6, "10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap())
    };
    let (code, out, err) = f.run(&g);
    assert_eq!((code, out.as_str()), (0, format!("{LINE}\n").as_str()));
    assert!(err.ends_with(" 1 flow entries have been shown.\n"), "{err}");
    let get = Request::Get(Get {
        now_ns: 77,
        tuple: tuple.clone(),
        format: Format::Text,
        show_labels: false,
        show_id: false,
    });
    assert_eq!(conntrack(&f.requests()), vec![get.clone()]);
    let (code, out, err) = f.run(&[
        "-G", "-p", "tcp", "-s", "10.0.0.1", "-d", "10.0.0.2", "--sport", "9", "--dport", "2",
    ]);
    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(err, "brickwall ct: no such connection: tcp src=...\n");
    f.requests();
    let mut d = vec!["-D"];
    d.extend(&g[1..]);
    let (code, out, err) = f.run(&d);
    assert_eq!((code, out.as_str()), (0, format!("{LINE}\n").as_str()));
    assert!(
        err.ends_with("1 flow entries have been deleted.\n"),
        "{err}"
    );
    assert_eq!(
        conntrack(&f.requests()),
        vec![
            get,
            Request::Delete(Delete {
                now_ns: 77,
                tuple: Some(tuple.clone()),
                filter: None,
            })
        ]
    );
    // -D without a full tuple deletes by filter; without filters, everything.
    f.run(&["-D"]);
    let reqs = f.requests();
    assert_eq!(
        reqs[2].1,
        json!({"op": "delete", "now_ns": 77, "filter": {}})
    );
    assert_eq!(
        conntrack(&reqs)[0],
        Request::List(List {
            now_ns: 77,
            filter: Some(Filter::default()),
            limit: Some(10_000),
            total: false,
            ..List::default()
        })
    );
    // -U: the change by tuple, then the connection as it is now.
    let mut u = vec!["-U", "-m", "0x10/0xf0", "--label-add", "1,3", "--label-del"];
    u.extend(&g[1..]);
    let (code, out, err) = f.run(&u);
    assert_eq!((code, out.as_str()), (0, format!("{LINE}\n").as_str()));
    assert!(
        err.ends_with("1 flow entries have been updated.\n"),
        "{err}"
    );
    let reqs = conntrack(&f.requests());
    assert_eq!(
        reqs[0],
        Request::Update(Update {
            now_ns: 77,
            tuple: Some(tuple.clone()),
            mark: Some(0x10),
            mark_mask: Some(0xf0),
            label_add: Some(LabelBits(0b1010)),
            label_del: Some(LabelBits(u128::MAX)),
            ..Update::default()
        })
    );
    assert!(
        matches!(&reqs[1], Request::Get(g) if g.tuple == tuple),
        "{reqs:?}"
    );
    assert_eq!(f.run(&["-C"]), (0, "12\n".into(), String::new()));
    assert_eq!(f.run(&["-C", "expect"]), (0, "2\n".into(), String::new()));
    f.requests();
    let (code, out, err) = f.run(&["-L", "expect"]);
    assert_eq!(
        (code, out),
        (0, format!("{}\n{}\n", expect_line(300), expect_line(299)))
    );
    assert!(err.ends_with("2 expectations have been shown.\n"));
    assert_eq!(
        conntrack(&f.requests()),
        vec![Request::ExpectList(At { now_ns: 77 })]
    );
    let (code, _, err) = f.run(&["-D", "expect", "--id", "1"]);
    assert_eq!(code, 0);
    assert!(
        err.ends_with(" 1 expectations have been deleted.\n"),
        "{err}"
    );
    assert_eq!(
        conntrack(&f.requests()),
        vec![Request::ExpectDelete(ExpectDelete { id: 1 })]
    );
    let (code, _, err) = f.run(&["-F"]);
    assert_eq!(code, 0);
    assert!(
        err.ends_with(" connection tracking table has been emptied.\n"),
        "{err}"
    );
    let (code, _, err) = f.run(&["-F", "expect"]);
    assert_eq!(code, 0);
    assert!(
        err.ends_with(" expectation table has been emptied.\n"),
        "{err}"
    );
    assert_eq!(
        conntrack(&f.requests()),
        vec![
            Request::Flush(At::default()),
            Request::ExpectFlush(At::default())
        ]
    );
    // -I expect: the master as -G names it, the expected tuple and its mask.
    let mut i = vec![
        "-I",
        "expect",
        "--tuple-src",
        "10.0.0.1",
        "--tuple-dst",
        "10.0.0.2",
        "--tuple-port-dst",
        "20000",
        "--mask-src",
        "0.0.0.0",
        "--mask-port-src",
        "0",
        "-t",
        "60",
        "--helper",
        "ftp",
    ];
    i.extend(&g[1..]);
    let (code, _, err) = f.run(&i);
    assert_eq!(code, 0);
    assert!(err.ends_with(" 1 expectation has been created.\n"), "{err}");
    assert_eq!(
        conntrack(&f.requests()),
        vec![Request::ExpectCreate(ExpectCreate {
            now_ns: 77,
            master: tuple,
            expect: TupleSpec {
                dport: Some(20000),
                ..TupleSpec::new(6, "10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap())
            },
            mask: Some(ExpectMask {
                src: Some("0.0.0.0".parse().unwrap()),
                sport: Some(0),
            }),
            timeout: Some(60),
            helper: Some("ftp".into()),
        })]
    );
    // -S: a line per worker.
    let (code, out, _) = f.run(&["-S"]);
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "cpu=0   \tfound=4 invalid=0 insert=0 insert_failed=0 drop=1 early_drop=0 error=0 search_restart=0 clash_resolve=0 chaintoolong=0 \n\
         cpu=1   \tfound=5 invalid=0 insert=0 insert_failed=0 drop=1 early_drop=0 error=0 search_restart=0 clash_resolve=0 chaintoolong=0 \n"
    );
    // The engine refusing a request is exit code 1.
    let (code, _, err) = f.run(&["-D", "expect", "--id", "9"]);
    assert_eq!(
        (code, err.as_str()),
        (1, "brickwall ct: no such expectation\n")
    );
}

/// `-o json` prints each record on a line of JSON, as the plugin wrote it.
#[test]
fn json_records_print_as_one_line_each() {
    fn records(target: &str, req: &Value) -> Response {
        if target == "engine" {
            return Response::Err("unknown target engine".into());
        }
        let Ok(Request::List(l)) = Request::from_value(req.clone()) else {
            return Response::Err("unsupported".into());
        };
        assert_eq!(l.format, Format::Json);
        let a = |s: &str| s.parse().unwrap();
        let rec = ConnRecord {
            id: 7,
            family: FamilyName(Family::Ipv4),
            proto: "udp".into(),
            protonum: 17,
            state: None,
            timeout: 29,
            status: vec!["CONFIRMED".into()],
            orig: TupleRecord {
                sport: Some(1000),
                dport: Some(53),
                ..TupleRecord::new(a("10.0.0.1"), a("10.1.0.1"))
            },
            reply: TupleRecord {
                sport: Some(53),
                dport: Some(1000),
                ..TupleRecord::new(a("10.1.0.1"), a("10.0.0.1"))
            },
            mark: 0,
            zone: 0,
            labels: Labels(0),
            helper: None,
            uses: 1,
            start_ns: None,
        };
        ok(ListResponse {
            entries: vec![Entry::Record(Box::new(rec))],
            ..ListResponse::default()
        })
    }
    let f = Fake::start("json", records);
    let (code, out, err) = f.run(&["-L", "-o", "json"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "{\"family\":\"ipv4\",\"helper\":null,\"id\":7,\"labels\":\"0x0\",\"mark\":0,\
         \"orig\":{\"dport\":53,\"dst\":\"10.1.0.1\",\"sport\":1000,\"src\":\"10.0.0.1\"},\
         \"proto\":\"udp\",\"protonum\":17,\
         \"reply\":{\"dport\":1000,\"dst\":\"10.0.0.1\",\"sport\":53,\"src\":\"10.1.0.1\"},\
         \"state\":null,\"status\":[\"CONFIRMED\"],\"timeout\":29,\"use\":1,\"zone\":0}\n"
    );
}

/// An answer that is not the request's response type is a failure (exit code 1) with
/// a message, for every command that reads one.
#[test]
fn answers_of_the_wrong_shape_are_failures() {
    fn junk(target: &str, _req: &Value) -> Response {
        match target {
            "engine" => status(5),
            _ => Response::Ok(json!({"entries": "x", "count": -1, "expectations": 3})),
        }
    }
    let f = Fake::start("junk", junk);
    for args in [
        &["-L"][..],
        &["-L", "expect"],
        &[
            "-G", "-p", "tcp", "-s", "10.0.0.1", "-d", "10.0.0.2", "--sport", "1", "--dport", "2",
        ],
        &["-D"],
        &["-U", "-m", "1"],
        &["-F"],
        &["-F", "expect"],
        &["-C"],
        &["-C", "expect"],
        &["-S"],
        &["-D", "expect", "--id", "1"],
        &[
            "-I",
            "expect",
            "-p",
            "tcp",
            "-s",
            "10.0.0.1",
            "-d",
            "10.0.0.2",
            "--sport",
            "1",
            "--dport",
            "2",
            "--tuple-src",
            "10.0.0.1",
            "--tuple-dst",
            "10.0.0.2",
        ],
    ] {
        let (code, out, err) = f.run(args);
        assert_eq!((code, out.as_str()), (1, ""), "{args:?}");
        assert!(
            err.starts_with(
                "brickwall ct: unexpected answer from the conntrack plugin: the answer to "
            ),
            "{args:?}: {err}"
        );
    }
}

/// The engine's status is read as its type too: one that does not fit is a failure
/// (exit code 1) before any request to the plugin.
#[test]
fn a_status_of_the_wrong_shape_is_a_failure() {
    fn junk(target: &str, req: &Value) -> Response {
        match target {
            "engine" => Response::Ok(json!({"now_ns": 5})),
            _ => engine(target, req),
        }
    }
    let f = Fake::start("badstatus", junk);
    let (code, out, err) = f.run(&["-L"]);
    assert_eq!((code, out.as_str()), (1, ""));
    assert!(
        err.starts_with(
            "brickwall ct: unexpected answer from the engine: the answer to status does not fit: "
        ),
        "{err}"
    );
    let reqs = f.requests();
    assert_eq!(reqs.len(), 1, "{reqs:?}");
    assert_eq!(engine_request(&reqs[0].1), Ok(EngineRequest::Status));
}

#[test]
fn options_a_command_cannot_use_are_exit_code_2_before_any_request() {
    let f = Fake::start("refuse", engine);
    for args in [
        &["-S", "-p", "tcp"][..],
        &["-C", "-s", "1.2.3.4"],
        &["-F", "-o", "json"],
        &["-L", "expect", "-p", "tcp"],
        &["-D", "expect"],
        &["-L", "--id", "1"],
        &["-L", "-e", "NEW"],
        &["-L", "-o", "timestamp"],
        &["-L", "--icmp-type", "8"],
        &["-E", "-u", "ASSURED"],
        &["-E", "expect", "-p", "tcp"],
        &["-E", "-o", "json"],
        &["-E", "expect", "-e", "UPDATE"],
        &["-U", "-p", "tcp"],
        &["-U", "--label-add", "200"],
        &[
            "-I",
            "expect",
            "-p",
            "tcp",
            "-s",
            "1.1.1.1",
            "-d",
            "2.2.2.2",
            "--sport",
            "1",
            "--dport",
            "2",
            "--tuple-src",
            "1.1.1.x",
            "--tuple-dst",
            "2.2.2.2",
        ],
        &[
            "-G",
            "-p",
            "tcp",
            "-s",
            "10.0.0.0/8",
            "-d",
            "1.1.1.1",
            "--sport",
            "1",
            "--dport",
            "2",
        ],
        &[
            "-G", "-p", "tcp", "-s", "1.1.1.1", "-d", "2.2.2.2", "--sport", "1", "--dport", "2",
            "--state", "CLOSE",
        ],
    ] {
        let (code, out, _) = f.run(args);
        assert_eq!((code, out.as_str()), (2, ""), "{args:?}");
    }
    assert_eq!(f.requests(), vec![], "nothing was sent");
}

#[test]
fn buckets_shows_the_size_and_resizes_as_the_sysctl_does() {
    fn answer(target: &str, req: &Value) -> Response {
        if target == "engine" {
            return status(77);
        }
        match Request::from_value(req.clone()) {
            Ok(Request::Stats(_)) => ok(StatsResponse {
                entries: 4,
                buckets: 96,
                resize: Some(ResizeProgress {
                    from: 32,
                    to: 64,
                    migrated: 10,
                }),
                ..StatsResponse::default()
            }),
            Ok(Request::Resize(r)) if r.buckets == 3 => {
                Response::Err("buckets: 3 is too few for 100 connections".into())
            }
            Ok(Request::Resize(r)) => ok(ResizeResponse {
                old: 64,
                new: r.buckets,
                already_running: r.buckets == 256,
            }),
            Ok(_) => Response::Err("unsupported".into()),
            Err(e) => Response::Err(format!("bad request: {e}")),
        }
    }
    assert_eq!(parse(&["--buckets"]).unwrap().buckets, Some(None));
    assert_eq!(
        parse(&["--buckets", "1000"]).unwrap().buckets,
        Some(Some(1000))
    );
    for bad in [
        &["--buckets", "0"][..],
        &["--buckets", "-4"],
        &["--buckets", "many"],
        &["--buckets", "8", "-L"],
    ] {
        let e = parse(bad).expect_err(&format!("{bad:?} should not parse"));
        assert_eq!(e.exit_code(), 2, "{bad:?}: {e}");
    }
    let f = Fake::start("buckets", answer);
    // Mid-resize: the old and new sizes and how far the move has come.
    assert_eq!(
        f.run(&["--buckets"]),
        (
            0,
            "32 -> 64 (10 of 32 buckets moved)\n".into(),
            String::new()
        )
    );
    assert_eq!(
        conntrack(&f.requests()),
        vec![Request::Stats(At::default())]
    );
    let (code, out, err) = f.run(&["--buckets", "1024"]);
    assert_eq!((code, out.as_str()), (0, ""));
    assert_eq!(
        err,
        "brickwall ct (conntrack-tools 1.4.7 compatible): the hash table is being resized \
         from 64 to 1024 buckets.\n"
    );
    let reqs = f.requests();
    assert_eq!(
        reqs,
        vec![(
            "conntrack".to_string(),
            json!({"op": "resize", "buckets": 1024})
        )]
    );
    let (code, _, err) = f.run(&["--buckets", "256"]);
    assert_eq!(code, 0);
    assert!(
        err.ends_with(": a resize is running; resizing to 256 buckets follows it.\n"),
        "{err}"
    );
    let (code, _, err) = f.run(&["--buckets", "64"]);
    assert_eq!(code, 0);
    assert!(
        err.ends_with(": the hash table has 64 buckets already.\n"),
        "{err}"
    );
    // The plugin's refusal is the command's failure.
    let (code, out, err) = f.run(&["--buckets", "3"]);
    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(
        err,
        "brickwall ct: buckets: 3 is too few for 100 connections\n"
    );
    // --buckets takes no filters or formats.
    f.requests();
    assert_eq!(f.run(&["--buckets", "-p", "tcp"]).0, 2);
    assert_eq!(f.run(&["--buckets", "9", "-o", "json"]).0, 2);
    assert!(f.requests().is_empty());
}
