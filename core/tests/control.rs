//! The control socket end to end: `brickwall replay|demo --control --linger` serving the
//! real binary's `brickwall ct`, the engine's own requests, and the protocol's answers to
//! bad requests.

mod common;
mod control_common;

use common::pcaps_dir;
use control_common::{assert_code, field, raw_call, stderr, stdout, tuple_args, Engine};
use serde_json::{json, Value};
use std::io::{Read, Write};

const SUMMARY: &str = "brickwall ct (conntrack-tools 1.4.7 compatible):";

fn lines(s: &str) -> Vec<String> {
    s.lines().map(str::to_string).collect()
}

/// `ct -L` during the linger prints exactly what `--ct-list` printed for the same run;
/// `-C` counts them, `-p udp` keeps the UDP ones, `-o extended` prefixes the family.
#[test]
fn ct_list_is_the_replays_ct_list() {
    for cap in ["tcpdump/dns_tcp.pcap", "nDPI/iphone.pcap"] {
        let e = Engine::replay("ctl-list", &pcaps_dir().join(cap));
        let list = e.ct(&["-L"]);
        let ext = e.ct(&["-L", "-o", "extended"]);
        let count = e.ct(&["-C"]);
        let udp = e.ct(&["-L", "-p", "udp"]);
        let json_out = e.ct(&["-L", "-o", "json"]);
        let sock = e.sock.clone();
        let out = e.stop();
        assert_code(&out, 0);
        assert!(!sock.exists(), "{}: the socket outlived the engine", cap);
        for o in [&list, &ext, &count, &udp, &json_out] {
            assert_code(o, 0);
        }
        let want = lines(&stdout(&out));
        assert!(!want.is_empty(), "{cap}: --ct-list printed nothing");
        assert_eq!(lines(&stdout(&list)), want, "{cap}: ct -L vs --ct-list");
        assert_eq!(
            stderr(&list).trim(),
            format!("{SUMMARY} {} flow entries have been shown.", want.len()),
            "{cap}"
        );
        // -C counts every connection in the table, as Linux's counter does, including
        // ones that have expired and wait for the collector (not listed).
        let counted: usize = stdout(&count).trim().parse().expect("-C prints a number");
        assert!(
            counted >= want.len(),
            "{cap}: -C {counted} < {} listed",
            want.len()
        );
        if cap.contains("dns_tcp") {
            assert_eq!(counted, want.len(), "{cap}: -C");
        }
        let want_udp: Vec<String> = want
            .iter()
            .filter(|l| l.starts_with("udp "))
            .cloned()
            .collect();
        assert_eq!(lines(&stdout(&udp)), want_udp, "{cap}: -p udp");
        let ext_lines = lines(&stdout(&ext));
        assert_eq!(ext_lines.len(), want.len());
        for (x, l) in ext_lines.iter().zip(&want) {
            let v6 = field(l, "src").is_some_and(|a| a.contains(':'));
            let prefix = if v6 { "ipv6     10 " } else { "ipv4     2 " };
            assert_eq!(*x, format!("{prefix}{l}"), "{cap}: -o extended");
        }
        let objs: Vec<Value> = stdout(&json_out)
            .lines()
            .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
            .collect();
        assert_eq!(objs.len(), want.len());
        for (o, l) in objs.iter().zip(&want) {
            assert_eq!(o["orig"]["src"].as_str(), field(l, "src"), "{cap}: -o json");
            assert_eq!(o["proto"].as_str(), l.split_whitespace().next());
        }
    }
}

/// `-G` finds a connection by either direction's tuple and prints its `-L` line; a
/// missing one is exit code 1. `-D` by tuple prints and removes it; `-D` with a filter
/// removes every match.
#[test]
fn get_and_delete() {
    let e = Engine::replay("ctl-gd", &pcaps_dir().join("nDPI/iphone.pcap"));
    let all = lines(&stdout(&e.ct(&["-L"])));
    let n = all.len();
    let counted: usize = stdout(&e.ct(&["-C"])).trim().parse().unwrap();
    let tcp = all.iter().find(|l| l.starts_with("tcp ")).unwrap().clone();
    let udp = all.iter().find(|l| l.starts_with("udp ")).unwrap().clone();
    let other = all
        .iter()
        .find(|l| l.starts_with("unknown "))
        .unwrap()
        .clone();
    for l in [&tcp, &udp, &other] {
        let args = tuple_args(l);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut a = vec!["-G"];
        a.extend(&args);
        let g = e.ct(&a);
        assert_code(&g, 0);
        assert_eq!(stdout(&g), format!("{l}\n"));
        assert_eq!(
            stderr(&g).trim(),
            format!("{SUMMARY} 1 flow entries have been shown.")
        );
    }
    // The reply direction's tuple finds the same connection.
    let w: Vec<&str> = tcp.split_whitespace().collect();
    let reply = |k: &str| {
        w.iter()
            .filter_map(|x| x.strip_prefix(&format!("{k}=")))
            .nth(1)
            .unwrap()
    };
    let g = e.ct(&[
        "-G",
        "-p",
        "tcp",
        "-s",
        reply("src"),
        "-d",
        reply("dst"),
        "--sport",
        reply("sport"),
        "--dport",
        reply("dport"),
    ]);
    assert_code(&g, 0);
    assert_eq!(stdout(&g), format!("{tcp}\n"));
    // A connection that does not exist.
    let missing = [
        "-G", "-p", "tcp", "-s", "10.9.9.9", "-d", "10.9.9.8", "--sport", "1", "--dport", "2",
    ];
    let g = e.ct(&missing);
    assert_code(&g, 1);
    assert!(stderr(&g).contains("no such connection"), "{}", stderr(&g));
    assert_eq!(stdout(&g), "");
    // -D by tuple.
    let args = tuple_args(&tcp);
    let mut a = vec!["-D"];
    a.extend(args.iter().map(String::as_str));
    let d = e.ct(&a);
    assert_code(&d, 0);
    assert_eq!(stdout(&d), format!("{tcp}\n"));
    assert_eq!(
        stderr(&d).trim(),
        format!("{SUMMARY} 1 flow entries have been deleted.")
    );
    let after = lines(&stdout(&e.ct(&["-L"])));
    assert_eq!(after.len(), n - 1);
    assert!(!after.contains(&tcp), "deleted, yet listed");
    assert_eq!(stdout(&e.ct(&["-C"])).trim(), (counted - 1).to_string());
    let mut a = vec!["-G"];
    a.extend(args.iter().map(String::as_str));
    assert_code(&e.ct(&a), 1);
    // -D with a filter: every UDP connection.
    let udp_lines: Vec<String> = after
        .iter()
        .filter(|l| l.starts_with("udp "))
        .cloned()
        .collect();
    let d = e.ct(&["-D", "-p", "udp"]);
    assert_code(&d, 0);
    assert_eq!(lines(&stdout(&d)), udp_lines);
    assert_eq!(
        stderr(&d).trim(),
        format!(
            "{SUMMARY} {} flow entries have been deleted.",
            udp_lines.len()
        )
    );
    assert_eq!(stdout(&e.ct(&["-L", "-p", "udp"])), "");
    // -F empties the table.
    let f = e.ct(&["-F"]);
    assert_code(&f, 0);
    assert_eq!(
        stderr(&f).trim(),
        format!("{SUMMARY} connection tracking table has been emptied.")
    );
    assert_eq!(stdout(&e.ct(&["-C"])).trim(), "0");
    assert_code(&e.stop(), 0);
}

/// Exit codes: 2 for bad parameters (clap's usage errors and options a command cannot
/// use), 1 for failures, 0 otherwise; `-S` prints conntrack's per-worker line.
#[test]
fn exit_codes_and_stats_format() {
    let e = Engine::replay("ctl-codes", &pcaps_dir().join("tcpdump/dns_tcp.pcap"));
    for bad in [
        &["-L", "--sport", "notaport"][..],
        &["-L", "-p", "nosuchproto"],
        &["-L", "-s", "10.0.0.300"],
        &["-L", "-s", "10.0.0.0/33"],
        &["-L", "--mark", "red"],
        &["-L", "--state", "BOGUS"],
        &["-L", "--status", "NOPE"],
        &["-L", "-C"],
        &["-p", "tcp"],
        &["-L", "bogus"],
        &["-G", "-p", "tcp", "-s", "1.2.3.4"],
        &[
            "-G",
            "-p",
            "tcp",
            "-s",
            "1.2.3.0/24",
            "-d",
            "1.2.3.5",
            "--sport",
            "1",
            "--dport",
            "2",
        ],
        &["-L", "--icmp-type", "8"],
        &["-S", "-p", "tcp"],
        &["-D", "expect"],
        &["-L", "--id", "3"],
        &["-L", "-o", "timestamp"],
        &["-I", "expect"],
    ] {
        let o = e.ct(bad);
        assert_code(&o, 2);
        assert_eq!(stdout(&o), "", "{bad:?}");
    }
    // No command at all: the usage on standard output, as conntrack's (exit code 0).
    let o = e.ct(&[]);
    assert_code(&o, 0);
    assert!(stdout(&o).contains("Usage: brickwall ct"), "{}", stdout(&o));
    for failing in [&["-I"][..], &["-D", "expect", "--id", "12345"]] {
        assert_code(&e.ct(failing), 1);
    }
    let o = e.ct(&["-I"]);
    assert!(stderr(&o).contains("not available"), "{}", stderr(&o));
    let s = e.ct(&["-S"]);
    assert_code(&s, 0);
    let line = stdout(&s);
    assert_eq!(
        control_common::numbers_as_n(&line),
        "cpu=N   \tfound=N invalid=N insert=N insert_failed=N drop=N early_drop=N error=N search_restart=N clash_resolve=N chaintoolong=N \n"
    );
    assert!(line.contains("insert=1 "), "{line}");
    let x = e.ct(&["-L", "expect"]);
    assert_code(&x, 0);
    assert_eq!(stdout(&x), "");
    assert_eq!(
        stderr(&x).trim(),
        format!("{SUMMARY} 0 expectations have been shown.")
    );
    assert_eq!(stdout(&e.ct(&["-C", "expect"])).trim(), "0");
    let f = e.ct(&["-F", "expect"]);
    assert_code(&f, 0);
    assert!(stderr(&f).contains("expectation table has been emptied."));
    let sock = e.sock.clone();
    assert_code(&e.stop(), 0);
    // No engine: exit code 1 and a message naming the socket.
    let o = std::process::Command::new(control_common::bin())
        .args(["ct", "-L", "--socket"])
        .arg(&sock)
        .output()
        .unwrap();
    assert_code(&o, 1);
    assert!(stderr(&o).contains("cannot connect to"), "{}", stderr(&o));
}

/// Another protocol version gets the version error; malformed frames get an error and
/// the connection keeps working; an absurd length gets an error and a close; the engine
/// keeps serving throughout.
#[test]
fn bad_requests_get_errors_and_the_engine_keeps_running() {
    let e = Engine::replay("ctl-bad", &pcaps_dir().join("tcpdump/dns_tcp.pcap"));
    let mut s = e.raw();
    assert_eq!(
        raw_call(
            &mut s,
            br#"{"v":2,"target":"conntrack","request":{"op":"count"}}"#
        ),
        json!({"v": 1, "ok": false, "error": "protocol version 2 not supported (this engine speaks 1)"})
    );
    for body in [&b"{not json"[..], b"", b"[]", br#"{"v":1,"request":1}"#] {
        let v = raw_call(&mut s, body);
        assert_eq!(v["ok"], false, "{v}");
        assert!(
            v["error"]
                .as_str()
                .unwrap()
                .starts_with("malformed request"),
            "{v}"
        );
    }
    let v = raw_call(&mut s, br#"{"v":1,"target":"nosuch","request":"x"}"#);
    assert_eq!(
        v["error"],
        "unknown target \"nosuch\" (this engine has: conntrack, engine, filter)"
    );
    let v = raw_call(
        &mut s,
        br#"{"v":1,"target":"conntrack","request":{"op":"nope"}}"#,
    );
    assert_eq!(v["ok"], false);
    // The same connection still answers, also a frame that arrives in pieces.
    let body = br#"{"v":1,"target":"conntrack","request":{"op":"count"}}"#;
    let mut frame = (body.len() as u32).to_be_bytes().to_vec();
    frame.extend_from_slice(body);
    for chunk in frame.chunks(5) {
        s.write_all(chunk).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(30));
    }
    let v: Value =
        serde_json::from_slice(&brickwall_tui::protocol::read_frame(&mut s).unwrap()).unwrap();
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["response"]["count"], 1);
    // A text request reaches the plugin as text (the filter's `reset`), and its JSON
    // answer comes back parsed.
    let v = raw_call(&mut s, br#"{"v":1,"target":"filter","request":"reset"}"#);
    assert_eq!(v["ok"], true, "{v}");
    assert!(v["response"]["reset"].is_u64(), "{v}");
    // An absurd length: an error, then the connection is closed.
    let mut s2 = e.raw();
    s2.write_all(&[0xff, 0xff, 0xff, 0xff]).unwrap();
    let v: Value =
        serde_json::from_slice(&brickwall_tui::protocol::read_frame(&mut s2).unwrap()).unwrap();
    assert!(
        v["error"].as_str().unwrap().contains("exceeds the limit"),
        "{v}"
    );
    let mut rest = Vec::new();
    assert_eq!(
        s2.read_to_end(&mut rest).unwrap(),
        0,
        "closed after the error"
    );
    // The engine is still there.
    assert_code(&e.ct(&["-C"]), 0);
    let v = raw_call(
        &mut s,
        br#"{"v":1,"target":"engine","request":{"op":"status"}}"#,
    );
    assert_eq!(v["response"]["phase"], "finished");
    assert_code(&e.stop(), 0);
}

/// The engine's own target: status, counters, hooks (the `brickwall hooks` text) and the
/// plugins with their hooks and priorities.
#[test]
fn engine_target_answers() {
    let e = Engine::replay("ctl-engine", &pcaps_dir().join("tcpdump/dns_tcp.pcap"));
    let mut c = e.client();
    let st = c.call("engine", &json!({"op": "status"})).unwrap();
    assert_eq!(st["phase"], "finished");
    assert_eq!(st["frames"], 11);
    assert!(st["now_ns"].as_u64().unwrap() > 1_500_000_000_000_000_000);
    let k = c.call("engine", &json!({"op": "counters"})).unwrap();
    assert_eq!(k["received"], 11);
    assert_eq!(k["hooks"]["PREROUTING"]["entered"], 11);
    assert_eq!(k["hooks"]["FORWARD"]["accepted"], 11);
    let hooks = c.call("engine", &json!({"op": "hooks"})).unwrap();
    let cli = std::process::Command::new(control_common::bin())
        .arg("hooks")
        .output()
        .unwrap();
    assert_eq!(hooks.as_str().unwrap(), stdout(&cli));
    assert_eq!(c.call("engine", &json!("hooks")).unwrap(), hooks);
    let p = c.call("engine", &json!({"op": "plugins"})).unwrap();
    let names: Vec<&str> = p
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["conntrack", "filter"]);
    assert_eq!(p[0]["origin"], "static");
    let ct_in = p[0]["hooks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["name"] == "conntrack-in")
        .unwrap();
    assert_eq!(
        *ct_in,
        json!({"hook": "PREROUTING", "families": ["ipv4", "ipv6"], "priority": -200, "name": "conntrack-in"})
    );
    let err = c.call("engine", &json!({"op": "nope"})).unwrap_err();
    assert!(err.to_string().contains("unknown op"), "{err}");
    assert_code(&e.stop(), 0);
}

/// `brickwall demo --control` serves the socket too; ICMP connections are found by
/// type, code and id.
#[test]
fn demo_serves_the_socket() {
    let e = Engine::start(
        "ctl-demo",
        &["demo", "--tcp", "20", "--udp", "10", "--icmp", "5"],
    );
    let all = lines(&stdout(&e.ct(&["-L"])));
    assert!(all.len() >= 20, "{all:?}");
    let icmp = all
        .iter()
        .find(|l| l.starts_with("icmp "))
        .expect("an ICMP connection");
    let mut a = vec!["-G".to_string()];
    a.extend(tuple_args(icmp));
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    let g = e.ct(&a);
    assert_code(&g, 0);
    assert_eq!(stdout(&g), format!("{icmp}\n"));
    let k = e
        .client()
        .call("engine", &json!({"op": "counters"}))
        .unwrap();
    assert!(k["received"].as_u64().unwrap() > 100);
    assert_code(&e.stop(), 0);
}

/// `--metrics`: a scrape of `GET /metrics` during the linger has node_exporter's
/// conntrack names with the table's real numbers, brickwall's verdicts per hook and
/// drops by reason, and the helpers' calls; other paths are 404.
#[test]
fn metrics_are_served_in_prometheus_text_format() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let addr = format!("127.0.0.1:{port}");
    let cap = pcaps_dir().join("zeek/ftp/retr.pcap");
    let e = Engine::start(
        "ctl-metrics",
        &["replay", cap.to_str().unwrap(), "-q", "--metrics", &addr],
    );
    let fetch = |path: &str| {
        let mut s = std::net::TcpStream::connect(&addr).expect("connect to the metrics port");
        write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    };
    let page = fetch("/metrics");
    assert!(page.starts_with("HTTP/1.1 200 OK\r\n"), "{page}");
    assert!(
        page.contains("Content-Type: text/plain; version=0.0.4"),
        "{page}"
    );
    let value = |name: &str| -> u64 {
        page.lines()
            .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in:\n{page}"))
    };
    let listed = stdout(&e.ct(&["-L"])).lines().count() as u64;
    assert!(listed > 0);
    assert_eq!(value("node_nf_conntrack_entries"), listed);
    assert_eq!(value("node_nf_conntrack_entries_limit"), 262_144);
    assert!(value("node_nf_conntrack_stat_insert") >= listed);
    assert!(value("node_nf_conntrack_stat_found") > 0);
    assert!(
        value("brickwall_conntrack_expect_create_total") >= 1,
        "{page}"
    );
    assert!(
        page.contains("# TYPE node_nf_conntrack_entries gauge"),
        "{page}"
    );
    assert!(
        page.lines().any(|l| l.starts_with(
            "brickwall_hook_verdicts_total{hook=\"PREROUTING\",verdict=\"accepted\"} "
        ) && !l.ends_with(" 0")),
        "{page}"
    );
    // The helpers' numbers are those the control API (and so `top`) shows.
    let helpers = e
        .client()
        .call("conntrack", &json!({"op": "helpers"}))
        .unwrap();
    let ftp = helpers["helpers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["name"] == "ftp")
        .expect("the ftp helper");
    let calls = ftp["stats"]["calls"].as_u64().unwrap();
    assert!(calls > 0, "{helpers}");
    assert_eq!(value("brickwall_helper_calls_total{helper=\"ftp\"}"), calls);
    assert_eq!(
        value("brickwall_helper_expectations_total{helper=\"ftp\"}"),
        ftp["stats"]["expectations"].as_u64().unwrap()
    );
    assert_eq!(
        value("brickwall_helper_failures_total{helper=\"ftp\",kind=\"trap\"}"),
        0
    );
    let expectations = stdout(&e.ct(&["-L", "expect"])).lines().count() as u64;
    assert_eq!(value("brickwall_expectations"), expectations);
    assert!(
        page.contains("brickwall_packets_total{outcome=\"received\"} "),
        "{page}"
    );
    assert!(fetch("/other").starts_with("HTTP/1.1 404"));
    e.stop();
}

/// `-I expect` creates an expectation by hand on a live master, as `conntrack -I expect`
/// does; `-L expect` lists it with its helper and wildcard; a master that is not in the
/// table is an error (exit 1), a missing expected tuple bad parameters (exit 2).
#[test]
fn expectations_are_created_by_hand() {
    let cap = pcaps_dir().join("zeek/ftp/retr.pcap");
    let e = Engine::replay("ctl-expect-i", &cap);
    let list = stdout(&e.ct(&["-L", "-p", "tcp", "--dport", "21"]));
    let master = list
        .lines()
        .next()
        .expect("the FTP control connection")
        .to_string();
    let (client, server) = (
        field(&master, "src").unwrap(),
        field(&master, "dst").unwrap(),
    );
    let mut args: Vec<String> = vec!["-I".into(), "expect".into()];
    args.extend(tuple_args(&master));
    args.extend(
        [
            "--tuple-src",
            server,
            "--tuple-dst",
            client,
            "--tuple-port-src",
            "0",
            "--tuple-port-dst",
            "50123",
            "--mask-src",
            "255.255.255.255",
            "--mask-port-src",
            "0",
            "-t",
            "120",
            "--helper",
            "ftp",
        ]
        .map(String::from),
    );
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = e.ct(&refs);
    assert_code(&o, 0);
    assert!(
        stderr(&o).contains("1 expectation has been created"),
        "{}",
        stderr(&o)
    );
    let expects = stdout(&e.ct(&["-L", "expect"]));
    let line = expects
        .lines()
        .find(|l| l.contains("dport=50123"))
        .unwrap_or_else(|| panic!("no new expectation in:\n{expects}"));
    assert!(
        line.starts_with("120 proto=6 ") || line.starts_with("119 proto=6 "),
        "{line}"
    );
    assert!(
        line.contains(&format!("src={server} dst={client} sport=0 dport=50123")),
        "{line}"
    );
    assert!(line.contains("mask-src=255.255.255.255"), "{line}");
    assert!(line.contains("helper=ftp"), "{line}");

    // A master the table does not hold, and a missing expected tuple.
    let mut bad = refs.clone();
    let at = bad.iter().position(|a| *a == "--sport").unwrap() + 1;
    bad[at] = "1";
    let o = e.ct(&bad);
    assert_code(&o, 1);
    assert!(stderr(&o).contains("no such connection"), "{}", stderr(&o));
    let o = e.ct(&refs[..refs.iter().position(|a| *a == "--tuple-src").unwrap()]);
    assert_code(&o, 2);
    e.stop();
}

/// A table whose listing exceeds one answer's 16 MiB: one `list` of it all is refused
/// with the engine's "narrow the request" error, while `ct -L -o json` pages through it
/// (by `cursor`) and prints every connection once, as many as `-C` counts.
#[test]
fn a_table_too_large_for_one_answer_is_listed_in_pages() {
    let cfg = common::TempDir::new("ctl-pages-cfg");
    let yaml = cfg.join("ct-only.yaml");
    // Counters and start times on: each entry is then about 360 bytes of JSON.
    std::fs::write(
        &yaml,
        "plugins:\n  - builtin: conntrack\n    config: {accounting: true, timestamp: true}\n",
    )
    .unwrap();
    let e = Engine::start(
        "ctl-pages",
        &[
            "demo",
            "--tcp",
            "0",
            "--udp",
            "50000",
            "--icmp",
            "0",
            "--helper-sessions",
            "0",
            "--config",
            yaml.to_str().unwrap(),
        ],
    );
    let whole = e
        .client()
        .call("conntrack", &json!({"op": "list", "format": "json"}));
    let err = whole.expect_err("one answer of 50 000 JSON entries is over 16 MiB");
    assert!(err.to_string().contains("narrow the request"), "{err}");

    let count = stdout(&e.ct(&["-C"])).trim().parse::<usize>().unwrap();
    assert_eq!(count, 50_000);
    let out = e.ct(&["-L", "-o", "json"]);
    assert_code(&out, 0);
    let text = stdout(&out);
    assert!(text.len() > 16 << 20, "{} bytes listed", text.len());
    let ids: std::collections::BTreeSet<u64> = text
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["id"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(text.lines().count(), count, "every connection once");
    assert_eq!(ids.len(), count);
    assert!(stderr(&out).contains("50000 flow entries have been shown"));
    assert_code(&e.stop(), 0);
}

/// `-U` sets the mark of every match (`-m MARK/MASK` keeps the bits outside MASK) or of
/// one connection by its full tuple, prints what it updated, and adds and deletes
/// labels; `-L -m` then finds them by mark. Usage errors exit 2, a missing connection 1.
#[test]
fn update_sets_marks_and_labels() {
    let e = Engine::replay("ctl-upd", &pcaps_dir().join("nDPI/iphone.pcap"));
    let tcp_n = lines(&stdout(&e.ct(&["-L", "-p", "tcp"]))).len();
    assert!(tcp_n > 1);
    let u = e.ct(&["-U", "-p", "tcp", "-m", "0x12"]);
    assert_code(&u, 0);
    assert_eq!(lines(&stdout(&u)).len(), tcp_n);
    assert!(
        stdout(&u).lines().all(|l| l.contains(" mark=18 ")),
        "{}",
        stdout(&u)
    );
    assert_eq!(
        stderr(&u).trim(),
        format!("{SUMMARY} {tcp_n} flow entries have been updated.")
    );
    assert_eq!(lines(&stdout(&e.ct(&["-L", "-m", "18"]))).len(), tcp_n);
    // Only the bits of the mask change: 0x12 & ~0xf0 | 0x30 = 0x32.
    assert_code(&e.ct(&["-U", "-p", "tcp", "-m", "0x30/0xf0"]), 0);
    assert_eq!(lines(&stdout(&e.ct(&["-L", "-m", "0x32"]))).len(), tcp_n);
    // One connection by its tuple.
    let one = lines(&stdout(&e.ct(&["-L", "-p", "udp"])))[0].clone();
    let mut a = vec![
        "-U".to_string(),
        "-m".into(),
        "7".into(),
        "--label-add".into(),
        "0,5".into(),
    ];
    a.extend(tuple_args(&one));
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    let u = e.ct(&a);
    assert_code(&u, 0);
    assert_eq!(lines(&stdout(&u)).len(), 1);
    assert!(stdout(&u).contains(" mark=7 "), "{}", stdout(&u));
    let json = stdout(&e.ct(&["-L", "-m", "7", "-o", "json"]));
    let v: Value = serde_json::from_str(json.trim()).unwrap();
    assert_eq!(v["labels"], "0x21");
    // `-o extended,labels`, a list as conntrack takes it: the extended line, and no
    // `labels=` while no map names bits 0 and 5 (conntrack prints names only).
    let ext = stdout(&e.ct(&["-L", "-m", "7", "-o", "extended,labels"]));
    assert!(ext.starts_with("ipv4     2 udp "), "{ext}");
    if !std::path::Path::new(brickwall_hooks::connlabel::CONNLABEL_CONF).exists() {
        assert!(!ext.contains("labels="), "{ext}");
    }
    let mut d: Vec<&str> = vec!["-U", "--label-del"];
    d.extend(&a[5..]);
    assert_code(&e.ct(&d), 0);
    let json = stdout(&e.ct(&["-L", "-m", "7", "-o", "json"]));
    let v: Value = serde_json::from_str(json.trim()).unwrap();
    assert_eq!(v["labels"], "0x0");
    // Usage errors and a connection that is not there.
    assert_code(&e.ct(&["-U", "-p", "tcp"]), 2);
    assert_code(&e.ct(&["-L", "--label-add", "1"]), 2);
    assert_code(&e.ct(&["-U", "--label-add", "nosuchname"]), 2);
    assert_code(
        &e.ct(&[
            "-U",
            "-m",
            "1",
            "-p",
            "tcp",
            "-s",
            "192.0.2.1",
            "-d",
            "192.0.2.2",
            "--sport",
            "1",
            "--dport",
            "2",
        ]),
        1,
    );
    assert_code(&e.stop(), 0);
}

/// `brickwall helper list` prints each helper of the running engine with its counters;
/// `brickwall helper reload NAME` swaps a helper's component in again, which the list
/// then counts; an unknown name is an error naming it.
#[test]
fn helper_list_and_reload_over_the_socket() {
    let e = Engine::replay("ctl-helpers", &pcaps_dir().join("zeek/ftp/retr.pcap"));
    let sock = e.sock.to_str().expect("UTF-8 path").to_string();
    let helper = |args: &[&str]| {
        std::process::Command::new(control_common::bin())
            .arg("helper")
            .args(args)
            .args(["--socket", &sock])
            .output()
            .expect("run brickwall helper")
    };
    let list = helper(&["list"]);
    assert_code(&list, 0);
    let text = stdout(&list);
    let names: Vec<&str> = text.lines().filter_map(|l| l.split(' ').next()).collect();
    assert_eq!(
        names,
        ["ftp", "irc", "tftp", "pptp", "sane", "amanda", "snmp", "sip"],
        "{text}"
    );
    let ftp = text.lines().next().unwrap_or_default();
    assert!(
        ftp.starts_with("ftp builtin:ftp ports=tcp/21 ") && ftp.contains(" reloads=0"),
        "{ftp}"
    );
    let calls: u64 = field(ftp, "calls")
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(
        calls > 0,
        "the capture's control connection went through the helper: {ftp}"
    );
    let reload = helper(&["reload", "ftp"]);
    assert_code(&reload, 0);
    assert_eq!(stdout(&reload).trim(), "reloaded ftp");
    let after = stdout(&helper(&["list"]));
    assert!(
        after
            .lines()
            .next()
            .unwrap_or_default()
            .contains(" reloads=1"),
        "{after}"
    );
    let unknown = helper(&["reload", "nope"]);
    assert_code(&unknown, 1);
    assert!(stderr(&unknown).contains("nope"), "{}", stderr(&unknown));
    assert_code(&e.stop(), 0);
}

/// `brickwall filter list` prints the filter's chains as `nft list ruleset` would, each
/// rule with the counts the `list` request answers; the real `nft -c` accepts the text,
/// and brickwall reads it back (`--ruleset`) to the same rules. `filter reset` zeroes
/// the counts.
#[test]
fn filter_list_is_an_nft_ruleset_with_counters() {
    let cap = pcaps_dir().join("tcpdump/dns_tcp.pcap");
    let e = Engine::replay("ctl-filter", &cap);
    let filter = |e: &Engine, cmd: &str| {
        std::process::Command::new(control_common::bin())
            .args(["filter", cmd, "--socket"])
            .arg(&e.sock)
            .output()
            .unwrap()
    };
    let o = filter(&e, "list");
    assert_code(&o, 0);
    let text = stdout(&o);
    let listed = e.client().call("filter", &json!({"op": "list"})).unwrap();
    let chains = listed["chains"].as_array().unwrap();
    let forward = &chains[0];
    let mut want = format!(
        "table inet brickwall {{\n\tchain {} {{\n\t\t{}\n",
        forward["name"].as_str().unwrap(),
        forward["text"].as_str().unwrap()
    );
    let mut total = 0;
    for r in forward["rules"].as_array().unwrap() {
        let (p, b) = (r["packets"].as_u64().unwrap(), r["bytes"].as_u64().unwrap());
        total += p;
        let t = r["text"].as_str().unwrap();
        let (body, comment) = t.split_once(" comment ").unwrap();
        want += &format!("\t\t{body} counter packets {p} bytes {b} comment {comment}\n");
    }
    assert_eq!(total, 11, "{listed}");
    assert!(text.starts_with(&want), "{text}\nwanted:\n{want}");
    assert!(text.ends_with("\t}\n}\n"), "{text}");
    // The real nft reads it.
    let scratch = common::TempDir::new("ctl-filter-files");
    let file = scratch.join("listed.nft");
    std::fs::write(&file, &text).unwrap();
    common::nft_check(&file);
    // Zeroed counts.
    assert_code(&filter(&e, "reset"), 0);
    let zeroed = stdout(&filter(&e, "list"));
    assert!(
        !zeroed.contains("packets 1") && zeroed.contains("counter packets 0 bytes 0"),
        "{zeroed}"
    );
    assert_code(&e.stop(), 0);
    // brickwall reads the listing back: the same rules, with a config of no filter.
    let bare = scratch.join("bare.yaml");
    std::fs::write(&bare, "plugins:\n  - builtin: conntrack\n").unwrap();
    let again = Engine::start(
        "ctl-filter-again",
        &[
            "replay",
            cap.to_str().unwrap(),
            "-q",
            "--config",
            bare.to_str().unwrap(),
            "--ruleset",
            file.to_str().unwrap(),
        ],
    );
    let relisted = again
        .client()
        .call("filter", &json!({"op": "list"}))
        .unwrap();
    let texts = |v: &Value| -> Vec<String> {
        v["chains"][0]["rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["text"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        texts(&relisted),
        texts(&listed)
            .iter()
            .map(|t| t.replacen(" comment", " counter comment", 1))
            .collect::<Vec<_>>()
    );
    assert_code(&again.stop(), 0);
}
