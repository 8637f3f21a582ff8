//! `brickwall ct` without an engine: option checking (exit code 2), the requests each
//! command sends, and what it prints, against a fake engine speaking the protocol.

use brickwall_tui::ct::args::CtCli;
use brickwall_tui::ct::commands::stats_line;
use brickwall_tui::ct::{query, run_with, CtArgs};
use brickwall_tui::protocol::{self, Response};
use clap::Parser;
use serde_json::{json, Value};
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

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
        &["-L", "--state", "OPEN"],
        &["-L", "--status", "ASSURED,NOPE"],
        &["-L", "-C"],
        &["-G", "-D"],
        &[],
        &["-L", "dying"],
        &["-E", "-e", "CHANGE"],
        &["-L", "-o", "xml"],
        &["-L", "--zone", "-1"],
    ] {
        let e = parse(bad).expect_err(&format!("{bad:?} should not parse"));
        assert_eq!(e.exit_code(), 2, "{bad:?}: {e}");
    }
    assert_eq!(parse(&["--help"]).unwrap_err().exit_code(), 0);
}

#[test]
fn options_parse_as_conntrack_spells_them() {
    use brickwall_tui::ct::args::Table;
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
    assert_eq!(a.delete, Some(Table::Conntrack));
    assert_eq!(a.proto, Some(17));
    assert_eq!(a.state.as_deref(), Some("ESTABLISHED,TIME_WAIT"));
    assert_eq!(
        query::filter(&a, "-D").unwrap(),
        Some(
            json!({"proto": 17, "src": "10.0.0.0/8", "dport": 53, "state": "ESTABLISHED,TIME_WAIT",
                    "mark": "0x10/0xf0", "zone": 3, "status": "ASSURED"})
        )
    );
    assert!(!query::is_full_tuple(&a));
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
    assert_eq!(
        query::tuple(&a, "-G").unwrap(),
        json!({"proto": 1, "src": "10.0.0.1", "dst": "10.0.0.2", "type": 8, "code": 0, "id": 7})
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
        json!({"proto": 47, "src": "1.1.1.1", "dst": "2.2.2.2"})
    );
}

#[test]
fn stats_lines_are_conntracks() {
    let v = json!({"found": 3, "invalid": 1, "insert": 2, "chaintoolong": 9, "expect_new": 5});
    assert_eq!(
        stats_line(0, &v),
        "cpu=0   \tfound=3 invalid=1 insert=2 insert_failed=0 drop=0 early_drop=0 error=0 search_restart=0 clash_resolve=0 chaintoolong=9 "
    );
}

/// A fake engine: answers each request with `answer(target, request)` and records them.
struct Fake {
    path: PathBuf,
    seen: Arc<Mutex<Vec<(String, Value)>>>,
}

impl Fake {
    fn start(name: &str, answer: fn(&str, &Value) -> Response) -> Fake {
        let dir = std::env::temp_dir().join(format!(
            "brickwall-tui-{}-{name}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("ctl.sock");
        let l = UnixListener::bind(&path).unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let rec = seen.clone();
        std::thread::spawn(move || {
            for s in l.incoming() {
                let Ok(mut s) = s else { return };
                while let Ok(body) = protocol::read_frame(&mut s) {
                    let req = protocol::parse_request(&body).unwrap();
                    rec.lock()
                        .unwrap()
                        .push((req.target.clone(), req.request.clone()));
                    let r = answer(&req.target, &req.request);
                    if protocol::write_frame(&mut s, &r.encode()).is_err() {
                        break;
                    }
                }
            }
        });
        Fake { path, seen }
    }

    fn run(&self, args: &[&str]) -> (i32, String, String) {
        let mut a = parse(args).unwrap();
        a.socket = self.path.clone();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = run_with(&a, &mut out, &mut err);
        (
            code,
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    }

    fn requests(&self) -> Vec<(String, Value)> {
        std::mem::take(&mut self.seen.lock().unwrap())
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(self.path.parent().unwrap());
    }
}

const LINE: &str = "tcp      6 431999 ESTABLISHED src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2 src=10.0.0.2 dst=10.0.0.1 sport=2 dport=1 [ASSURED] mark=0 use=1";

fn engine(target: &str, req: &Value) -> Response {
    match (target, req["op"].as_str(), req.as_str()) {
        ("engine", Some("status"), _) => {
            Response::Ok(json!({"phase": "finished", "frames": 3, "now_ns": 77}))
        }
        ("conntrack", Some("list"), _) if req["filter"]["proto"] == 17 => {
            match req["cursor"].as_u64() {
                None => Response::Ok(json!({"entries": [LINE], "more": true, "cursor": 5})),
                Some(_) => Response::Ok(json!({"entries": [LINE], "more": false})),
            }
        }
        ("conntrack", Some("list"), _) => Response::Ok(json!({"entries": [LINE], "count": 1})),
        ("conntrack", Some("get"), _) if req["tuple"]["sport"] == 1 => {
            Response::Ok(json!({"entry": LINE, "dir": "original"}))
        }
        ("conntrack", Some("get"), _) => Response::Err("no such connection: tcp src=...".into()),
        ("conntrack", Some("delete"), _) => Response::Ok(json!({"deleted": 1})),
        ("conntrack", Some("count"), _) => Response::Ok(json!({"count": 12, "max": 100})),
        ("conntrack", _, Some(t)) if t.starts_with("expect-list") => {
            Response::Ok(json!("300 proto=6 a\n299 proto=6 b\n"))
        }
        _ => Response::Err("unsupported".into()),
    }
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
                json!({"op": "list", "format": "extended", "filter": {"proto": 6}, "now_ns": 77,
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
    let reqs = f.requests();
    assert_eq!(reqs[1].1.get("cursor"), None);
    assert_eq!(reqs[2].1["cursor"], 5);
    let g = [
        "-G", "-p", "tcp", "-s", "10.0.0.1", "-d", "10.0.0.2", "--sport", "1", "--dport", "2",
    ];
    assert_eq!(f.run(&g).0, 0);
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
    let reqs = f.requests();
    assert_eq!(reqs[1].1["op"], "get");
    assert_eq!(
        reqs[2].1,
        json!({"op": "delete", "now_ns": 77, "tuple": {"proto": 6, "src": "10.0.0.1", "dst": "10.0.0.2", "sport": 1, "dport": 2}})
    );
    // -D without a full tuple deletes by filter; without filters, everything.
    f.run(&["-D"]);
    assert_eq!(
        f.requests()[2].1,
        json!({"op": "delete", "now_ns": 77, "filter": {}})
    );
    assert_eq!(f.run(&["-C"]), (0, "12\n".into(), String::new()));
    assert_eq!(f.run(&["-C", "expect"]), (0, "2\n".into(), String::new()));
    f.requests();
    let (code, out, err) = f.run(&["-L", "expect"]);
    assert_eq!((code, out.as_str()), (0, "300 proto=6 a\n299 proto=6 b\n"));
    assert!(err.ends_with("2 expectations have been shown.\n"));
    assert_eq!(f.requests()[1].1, json!("expect-list 77"));
    // The engine refusing a request is exit code 1.
    let (code, _, err) = f.run(&["-S"]);
    assert_eq!((code, err.as_str()), (1, "brickwall ct: unsupported\n"));
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
