//! The dashboard's state logic without a screen: sorting, filtering, selection bounds,
//! paging, rates, key handling, and reading the engine's answers (bad ones included).

mod top_common;

use brickwall_control_protocol::conntrack::request::Filter as CtFilter;
use brickwall_control_protocol::conntrack::response::{
    BucketsResponse, ExpectListResponse, ListResponse,
};
use brickwall_control_protocol::conntrack::value::{Names, Net, Proto};
use brickwall_tui::client::decode;
use brickwall_tui::top::conns::{ConnsState, SortKey};
use brickwall_tui::top::derive;
use brickwall_tui::top::fetch::{Update, Wants};
use brickwall_tui::top::filter::Filter;
use brickwall_tui::top::keys::Key;
use brickwall_tui::top::model::*;
use brickwall_tui::top::rates::{rate, Rates, HISTORY};
use brickwall_tui::top::state::{Action, App, Geometry, View};
use serde_json::json;
use std::time::Duration;
use top_common::*;

fn ids(rows: &[&ConnRow]) -> Vec<u32> {
    rows.iter().map(|r| r.id).collect()
}

fn state_with(page: ConnPage) -> ConnsState {
    let mut c = ConnsState {
        page_size: 4,
        ..Default::default()
    };
    c.take_page(page);
    c
}

#[test]
fn sorting_orders_the_page() {
    let mut c = state_with(four_conns());
    let none = Filter::default();
    assert_eq!(ids(&c.visible(&none, NOW)), vec![2, 4, 1, 3], "table order");
    let cases = [
        (SortKey::Source, vec![1, 2, 3, 4]),
        // One destination address: by port, 22 < 53 < 80 < 443.
        (SortKey::Destination, vec![3, 4, 2, 1]),
        (SortKey::Protocol, vec![2, 1, 3, 4]),
        // "-" (no state) < ESTABLISHED < SYN_SENT UNREPLIED.
        (SortKey::State, vec![4, 2, 1, 3]),
        (SortKey::Age, vec![4, 3, 2, 1]), // oldest (started first) first
        (SortKey::Packets, vec![4, 3, 2, 1]),
        (SortKey::Bytes, vec![4, 3, 2, 1]),
    ];
    for (k, want) in cases {
        c.sort = Some(k);
        c.reverse = false;
        assert_eq!(ids(&c.visible(&none, NOW)), want, "{k:?}");
        c.reverse = true;
        let mut rev = want.clone();
        rev.reverse();
        if k != SortKey::Protocol && k != SortKey::State {
            assert_eq!(ids(&c.visible(&none, NOW)), rev, "{k:?} reversed");
        }
    }
}

#[test]
fn sort_key_cycles_through_every_column_then_table_order() {
    let mut c = ConnsState::default();
    let mut seen = Vec::new();
    for _ in 0..8 {
        c.cycle_sort();
        seen.push(c.sort);
    }
    let mut want: Vec<Option<SortKey>> = SortKey::ALL.iter().copied().map(Some).collect();
    want.push(None);
    assert_eq!(seen, want);
    c.toggle_reverse();
    assert!(c.reverse);
    c.cycle_sort();
    assert!(!c.reverse, "a new column starts in its natural order");
}

#[test]
fn filter_splits_server_and_page_words() {
    let f = Filter::parse("tcp established dport=443 src=10.0.0.0/8 foo State=time_wait");
    assert_eq!(
        f.server,
        Some(CtFilter {
            proto: Some(Proto(6)),
            dport: Some(443),
            src: Some(Net("10.0.0.0/8".parse().unwrap())),
            state: Some(Names(vec!["ESTABLISHED".into(), "TIME_WAIT".into()])),
            ..CtFilter::default()
        })
    );
    assert_eq!(f.error, None);
    assert_eq!(f.local, vec!["foo"]);
    assert!(f.matches_local("a FOO b"));
    assert!(!f.matches_local("bar"));
    let f = Filter::parse("  ");
    assert!(f.is_empty() && f.server.is_none());
    let f = Filter::parse("10.0.0.3");
    assert_eq!(f.server, None);
    assert_eq!(f.local, vec!["10.0.0.3"]);
    // A second protocol word is a page word (the filter has one protocol).
    let f = Filter::parse("tcp udp");
    assert_eq!(
        f.server,
        Some(CtFilter {
            proto: Some(Proto(6)),
            ..CtFilter::default()
        })
    );
    assert_eq!(f.local, vec!["udp"]);
    // A value the protocol does not read is the filter's error: nothing goes to the
    // server, and the filter is not empty.
    for (text, want) in [
        ("src=10.0.0.300", "src: not an address or network"),
        ("sport=http", "sport: invalid type"),
        ("mark=0xZZ", "mark: not a mark"),
        ("family=ipx", "family: unknown family"),
    ] {
        let f = Filter::parse(text);
        let e = f.request().unwrap_err();
        assert!(e.starts_with(want), "{text}: {e}");
        assert_eq!(f.server, None);
        assert!(!f.is_empty());
    }
    assert_eq!(Filter::parse("foo").request(), Ok(None));
}

#[test]
fn filter_hides_rows_of_the_page() {
    let c = state_with(four_conns());
    let f = Filter::parse("udp");
    // "udp" goes to the server; the page (as fetched) is shown whole.
    assert_eq!(c.visible(&f, NOW).len(), 4);
    let f = Filter::parse("10.0.0.4");
    assert_eq!(ids(&c.visible(&f, NOW)), vec![4]);
    let f = Filter::parse(":443");
    assert_eq!(ids(&c.visible(&f, NOW)), vec![1]);
    let f = Filter::parse("unreplied");
    assert_eq!(ids(&c.visible(&f, NOW)), vec![3]);
}

#[test]
fn connection_selection_stays_in_bounds_and_pages() {
    let mut page = four_conns();
    page.count = Some(10);
    let mut c = state_with(page);
    c.move_by(-1, 4);
    assert_eq!((c.offset, c.row), (0, 0), "no row above the first");
    for _ in 0..3 {
        c.move_by(1, 4);
    }
    assert_eq!((c.offset, c.row), (0, 3));
    c.move_by(1, 4);
    assert_eq!((c.offset, c.row), (4, 0), "past the page: the next page");
    c.move_by(-1, 4);
    assert_eq!((c.offset, c.row), (0, 3), "and back");
    c.end();
    assert_eq!(c.offset, 8, "the last page of 10 in pages of 4");
    c.page_down();
    assert_eq!(c.offset, 8, "nothing after the last page");
    c.home();
    assert_eq!((c.offset, c.row), (0, 0));
    c.page_up();
    assert_eq!(c.offset, 0);
    // An answer for another page than the one wanted is dropped.
    c.offset = 4;
    c.take_page(four_conns());
    assert_eq!(c.count, 10, "stale page kept out");
    // A page smaller than the selection clamps it.
    c.offset = 0;
    c.row = 3;
    let mut short = four_conns();
    short.rows.truncate(2);
    c.take_page(short);
    assert_eq!(c.row, 1);
    // A table that shrank below the offset sends the view to its last page.
    c.offset = 8;
    c.take_page(ConnPage {
        offset: 8,
        count: Some(5),
        ..Default::default()
    });
    assert_eq!(c.offset, 4);
    // A page without counts keeps the last ones; an empty one steps back a page.
    c.take_page(ConnPage {
        offset: 4,
        count: None,
        more: false,
        rows: vec![],
        states: None,
    });
    assert_eq!(c.count, 5);
    assert_eq!(c.offset, 0);
}

#[test]
fn page_size_change_keeps_the_selected_match() {
    let mut page = four_conns();
    page.count = Some(100);
    let mut c = state_with(page);
    c.page_size = 10;
    c.offset = 20;
    c.row = 7; // match 27
    c.set_page_size(8);
    assert_eq!(c.offset + c.row as u64, 27);
    assert_eq!(c.offset % 8, 0);
}

#[test]
fn bucket_selection_stays_in_the_table() {
    let mut app = chains_app();
    app.set_geometry(Geometry {
        heat_cols: 10,
        heat_rows: 3,
        conn_rows: 10,
    });
    let c = &mut app.chains;
    c.select(0);
    c.move_by(-1);
    assert_eq!(c.selected, 0);
    c.move_rows(1);
    assert_eq!(c.selected, 10);
    c.move_pages(1);
    assert_eq!(c.selected, 40);
    assert_eq!(c.window_start(), 30);
    assert_eq!(c.window_wanted(), (30, 30));
    c.move_pages(5);
    assert_eq!(c.selected, 63, "the last bucket");
    c.move_by(1);
    assert_eq!(c.selected, 63);
    c.select(u64::MAX);
    assert_eq!(c.selected, 63);
    // n / N: the next and previous bucket with a chain in the loaded window (0-63).
    c.select(0);
    c.seek_nonempty(true);
    assert_eq!(c.selected, 5);
    c.seek_nonempty(true);
    assert_eq!(c.selected, 9);
    c.seek_nonempty(true);
    assert_eq!(c.selected, 40);
    c.seek_nonempty(false);
    assert_eq!(c.selected, 9);
}

#[test]
fn rates_from_two_samples() {
    assert_eq!(rate(100, 300, Duration::from_secs(2)), 100.0);
    assert_eq!(rate(100, 100, Duration::from_millis(500)), 0.0);
    assert_eq!(rate(300, 100, Duration::from_secs(1)), 0.0, "a reset is 0");
    assert_eq!(rate(0, 10, Duration::ZERO), 0.0, "no time, no rate");
    let mut r = Rates::default();
    r.push(Duration::from_millis(0), &[("found".into(), 1000)]);
    assert_eq!(r.get("found").and_then(|s| s.rate()), None, "one sample");
    r.push(Duration::from_millis(500), &[("found".into(), 1250)]);
    let s = r.get("found").unwrap();
    assert_eq!(s.rate(), Some(500.0));
    assert_eq!(s.total, 1250);
    for i in 0..(HISTORY as u64 + 10) {
        r.push(
            Duration::from_millis(1000 + 500 * i),
            &[("found".into(), 2000 + i)],
        );
    }
    assert_eq!(r.get("found").unwrap().rates.len(), HISTORY);
    r.clear();
    assert!(r.series.is_empty());
}

#[test]
fn keys_switch_views_filter_and_quit() {
    let mut app = App::new("s");
    assert_eq!(app.view, View::Chains);
    app.on_key(Key::Tab);
    assert_eq!(app.view, View::Conns);
    app.on_key(Key::BackTab);
    app.on_key(Key::BackTab);
    assert_eq!(app.view, View::Plugins);
    app.on_key(Key::Char('2'));
    assert_eq!(app.view, View::Conns);
    for k in "/tcp x".chars() {
        app.on_key(Key::Char(k));
    }
    app.on_key(Key::Backspace);
    app.on_key(Key::Char('q')); // typed, not quit
    assert_eq!(app.editing.as_deref(), Some("tcp q"));
    app.on_key(Key::Enter);
    assert_eq!(app.filter.text, "tcp q");
    let w: Wants = app.wants();
    assert_eq!(w.view, View::Conns);
    assert_eq!(
        w.conns_filter,
        Ok(Some(CtFilter {
            proto: Some(Proto(6)),
            ..CtFilter::default()
        }))
    );
    assert_eq!(app.on_key(Key::Char('?')), Action::Continue);
    assert!(app.help);
    assert_eq!(app.on_key(Key::Char('q')), Action::Quit);
    let mut app = App::new("s");
    assert_eq!(app.on_key(Key::Interrupt), Action::Quit);
}

#[test]
fn updates_feed_the_state() {
    let mut app = App::new("s");
    let stats = |entries, found| StatsResponse {
        entries,
        buckets: 64,
        totals: Counts(vec![("found".into(), found)]),
        workers: vec![],
        resize: None,
    };
    app.apply(Update::CtStats {
        stats: stats(5, 10),
        at: Duration::from_secs(1),
    });
    app.apply(Update::CtStats {
        stats: stats(7, 30),
        at: Duration::from_secs(3),
    });
    assert_eq!(app.ct_rates.get("found").unwrap().rate(), Some(10.0));
    assert_eq!(app.ct_rates.get("entries").unwrap().rate(), Some(1.0));
    app.apply(Update::Disconnected("gone".into()));
    app.apply(Update::Status(StatusResponse::default()));
    assert!(
        app.ct_rates.series.is_empty(),
        "a reconnect starts the rates anew"
    );
}

/// A `list` page as the plugin answers it.
fn page(v: serde_json::Value) -> Result<ConnPage, String> {
    decode::<ListResponse>("list", v).and_then(derive::conn_page)
}

#[test]
fn parsing_real_answers() {
    let v = json!({"count": 638, "offset": 0, "limit": 2, "states": {"udp": 138, "TIME_WAIT": 400},
        "entries": [{"family": "ipv4", "helper": null, "id": 2, "mark": 0, "proto": "tcp",
        "protonum": 6, "zone": 0, "labels": "0x0", "use": 1,
        "orig": {"bytes": 484, "dport": 80, "dst": "10.1.0.41", "packets": 7, "sport": 10000, "src": "10.0.0.2"},
        "reply": {"bytes": 404, "dport": 10000, "dst": "10.0.0.2", "packets": 5, "sport": 80, "src": "10.1.0.41"},
        "start_ns": 1700000000000648368u64, "state": "TIME_WAIT",
        "status": ["SEEN_REPLY", "ASSURED", "CONFIRMED"], "timeout": 119}]});
    let p = page(v).unwrap();
    assert_eq!(p.count, Some(638));
    assert_eq!(
        p.states,
        Some(vec![("TIME_WAIT".into(), 400), ("udp".into(), 138)]),
        "largest first"
    );
    let r = &p.rows[0];
    assert_eq!(r.source(), "10.0.0.2:10000");
    assert_eq!(r.destination(), "10.1.0.41:80");
    assert_eq!((r.packets, r.bytes), (Some(12), Some(888)));
    assert_eq!(r.age_s(1_700_000_002_000_000_000), Some(1));
    assert_eq!(r.state_text(), "TIME_WAIT");
    assert!(!r.unreplied && r.assured);
    // Conntrack with Linux's defaults (no accounting, no timestamps) lists neither:
    // the row has none rather than zeros.
    let v = json!({"count": 1, "entries": [{"family": "ipv6", "id": 3, "mark": 0,
        "proto": "udp", "protonum": 17, "zone": 0, "labels": "0x0", "use": 1,
        "orig": {"dport": 53, "dst": "fd00::1", "sport": 1000, "src": "fd00::2"},
        "reply": {"dport": 1000, "dst": "fd00::2", "sport": 53, "src": "fd00::1"},
        "state": null, "status": ["CONFIRMED"], "timeout": 29}]});
    let bare = &page(v).unwrap().rows[0];
    assert_eq!(
        (bare.packets, bare.bytes, bare.start_ns),
        (None, None, None)
    );
    assert_eq!(bare.age_s(1), None);
    assert_eq!(bare.source(), "[fd00::2]:1000");
    assert_eq!(bare.state_text(), "UNREPLIED");
    // A translated connection shows where it goes: masqueraded, the source as the
    // server sees it; port-forwarded, the destination it really reaches.
    let v = json!({"count": 2, "entries": [{"family": "ipv4", "id": 5, "mark": 0,
        "proto": "tcp", "protonum": 6, "zone": 0, "labels": "0x0", "use": 1,
        "orig": {"dport": 21, "dst": "10.78.2.2", "sport": 40000, "src": "10.78.1.2"},
        "reply": {"dport": 1024, "dst": "10.78.2.1", "sport": 21, "src": "10.78.2.2"},
        "state": "ESTABLISHED", "status": ["SEEN_REPLY", "SRC_NAT", "SRC_NAT_DONE", "DST_NAT_DONE"], "timeout": 9},
        {"family": "ipv4", "id": 6, "mark": 0,
        "proto": "tcp", "protonum": 6, "zone": 0, "labels": "0x0", "use": 1,
        "orig": {"dport": 2121, "dst": "10.78.2.1", "sport": 5000, "src": "10.78.2.2"},
        "reply": {"dport": 5000, "dst": "10.78.2.2", "sport": 21, "src": "10.78.1.2"},
        "state": "ESTABLISHED", "status": ["SEEN_REPLY", "DST_NAT", "SRC_NAT_DONE", "DST_NAT_DONE"], "timeout": 9}]});
    let rows = page(v).unwrap().rows;
    assert_eq!(rows[0].source(), "10.78.1.2:40000→10.78.2.1:1024");
    assert_eq!(rows[0].destination(), "10.78.2.2:21");
    assert_eq!(rows[1].source(), "10.78.2.2:5000");
    assert_eq!(rows[1].destination(), "10.78.2.1:2121→10.78.1.2:21");
    // The expectations come as records; the view shows their tuples in conntrack's words.
    let v = json!({"expectations": [{"id": 4, "timeout": 295, "protonum": 6, "family": "ipv4",
        "tuple": {"src": "10.0.0.1", "dst": "10.0.0.2", "sport": 0, "dport": 20000},
        "mask": {"src": "255.255.255.255", "dst": "255.255.255.255", "sport": 0, "dport": 65535},
        "master": {"src": "10.0.0.1", "dst": "10.0.0.2", "sport": 40000, "dport": 21},
        "flags": ["PERMANENT"], "class": 0, "helper": "ftp", "zone": 0}]});
    let e = &decode::<ExpectListResponse>("expect-list", v)
        .unwrap()
        .expectations[0];
    assert_eq!(e.timeout, 295);
    assert_eq!(e.protonum, 6);
    assert_eq!(
        e.tuple.words(),
        "src=10.0.0.1 dst=10.0.0.2 sport=0 dport=20000"
    );
    assert_eq!(
        e.master.words(),
        "src=10.0.0.1 dst=10.0.0.2 sport=40000 dport=21"
    );
    assert_eq!(e.helper, "ftp");
    assert_eq!(e.flags, vec!["PERMANENT"]);
    let s = derive::ct_stats(
        decode(
            "stats",
            json!({"entries": 3, "buckets": 64, "insert": 3, "found": 9,
            "chaintoolong": 1, "workers": [{"found": 9}]}),
        )
        .unwrap(),
    );
    let names: Vec<&str> = s.totals.0.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        vec!["found", "insert", "chaintoolong"],
        "conntrack -S order"
    );
    assert_eq!((s.entries, s.buckets), (3, 64));
}

/// A `helpers` answer as the fetch thread reads it (the protocol's `HelpersResponse`).
fn helpers(v: serde_json::Value) -> Result<Helpers, String> {
    derive::helpers_reply(Ok(v))
}

/// `{"op":"helpers"}` as the conntrack plugin answers it; with no helpers configured;
/// and refused (an engine older than helpers), which means no helpers, not an error.
#[test]
fn parsing_helpers() {
    let v = json!({"helpers": [{"name": "ftp", "wasm": "builtin:ftp", "ports": ["tcp/21"],
        "cached": true, "stats": {"assigned": 3, "calls": 120, "expectations": 2, "drops": 0,
        "traps": 0, "budget_exhausted": 0, "memory_exceeded": 0, "state_oversize": 0,
        "failure_drops": 0, "reinstantiations": 0, "log_dropped": 0, "state_bytes": 138,
        "reloads": 0, "disabled": false}}], "expect_failed": 0, "unknown_requested": 0});
    let h = helpers(v).unwrap();
    assert_eq!(
        h,
        Helpers {
            list: vec![HelperInfo {
                name: "ftp".into(),
                wasm: "builtin:ftp".into(),
                ports: vec!["tcp/21".into()],
                cached: true,
                stats: HelperStats {
                    assigned: 3,
                    calls: 120,
                    expectations: 2,
                    state_bytes: 138,
                    ..Default::default()
                },
            }],
            expect_failed: 0,
            unknown_requested: 0,
        }
    );
    assert_eq!(h.list[0].stats.failures(), 0);
    assert_eq!(h.list[0].stats.failure_kinds(), "-");
    let v = json!({"helpers": [{"name": "x", "stats": {"traps": 2, "budget_exhausted": 1,
        "memory_exceeded": 4, "state_oversize": 1, "disabled": true}}],
        "expect_failed": 7, "unknown_requested": 9});
    let h = helpers(v).unwrap();
    let st = &h.list[0].stats;
    assert_eq!(st.failures(), 8);
    assert_eq!(
        st.failure_kinds(),
        "traps 2, budget 1, memory 4, oversize 1"
    );
    assert!(st.disabled);
    assert_eq!(
        (h.expect_failed, h.unknown_requested, h.disabled()),
        (7, 9, 1)
    );
    assert_eq!(h.total(|s| s.traps), 2);
    let none = json!({"helpers": [], "expect_failed": 0, "unknown_requested": 0});
    assert_eq!(helpers(none.clone()).unwrap(), Helpers::default());
    assert_eq!(
        derive::helpers_reply(Err("unknown request; try: list [NOW_NS], ...".into())),
        Ok(Helpers::default()),
        "a refusal is no helpers"
    );
    assert_eq!(derive::helpers_reply(Ok(none)), Ok(Helpers::default()));
    assert!(derive::helpers_reply(Ok(json!("text"))).is_err());
    assert!(helpers(json!({"expect_failed": 0})).is_err());
    let mut app = App::new("x");
    app.apply(Update::Helpers(h.clone()));
    assert_eq!(app.helpers, h);
}

#[test]
fn bad_answers_do_not_panic() {
    let junk = [
        json!(null),
        json!(5),
        json!("text"),
        json!([1, "x", null]),
        json!({"entries": [1, "x", {"orig": 5, "status": 3}], "states": [1]}),
        json!({"histogram": ["a", -1, 1e300], "buckets": "many"}),
        json!({"lengths": [-1, 1e20, 99999999999u64], "offset": -5}),
        json!({"nodes": [{"id": "x"}, 7]}),
        json!({"hooks": {"X": 5, "FORWARD": {"entered": "a"}}, "drops_by_reason": []}),
        json!([{"hooks": [5, {"priority": "high"}]}, 7]),
        json!({"expectations": [{"id": 1}], "entries": 3, "found": "x"}),
    ];
    for v in &junk {
        // The counters default every field an answer lacks: some of these fit.
        let _ = decode::<CountersResponse>("counters", v.clone());
        let _ = helpers(v.clone());
        // The other answers: none of these fits its type, and each is an error naming
        // the operation.
        for e in [
            decode::<StatusResponse>("status", v.clone()).err(),
            decode::<Vec<PluginInfo>>("plugins", v.clone()).err(),
            decode::<HistogramResponse>("histogram", v.clone()).err(),
            decode::<BucketsResponse>("buckets", v.clone()).err(),
            decode::<ChainResponse>("chain", v.clone()).err(),
            page(v.clone()).err(),
            decode::<ExpectListResponse>("expect-list", v.clone()).err(),
            decode::<StatsResponse>("stats", v.clone()).err(),
        ] {
            let e = e.unwrap_or_else(|| panic!("{v} read as an answer"));
            assert!(e.starts_with("the answer to "), "{e}");
        }
    }
    // A helpers answer of the wrong shape is an error naming what is wrong (the
    // protocol's types read it), not a guess.
    let e = helpers(json!({"helpers": [5, {"ports": [1, "tcp/21"], "stats": 3,
        "name": 7}]}))
    .unwrap_err();
    assert!(e.contains("invalid type"), "{e}");
    let h = helpers(json!({"helpers": [{"name": "x"},
        {"stats": {"traps": u64::MAX, "budget_exhausted": u64::MAX}}]}))
    .unwrap();
    assert_eq!(h.list.len(), 2);
    assert_eq!(h.list[1].stats.failures(), u64::MAX, "saturates");
    assert_eq!(h.total(|s| s.failures()), u64::MAX);
    // So are the engine's: a hook's mistyped counts, drops by reason not counts, a
    // phase no engine has.
    let e = decode::<CountersResponse>(
        "counters",
        json!({"received": 3, "hooks": {"FORWARD": {"entered": "a"}}}),
    )
    .unwrap_err();
    assert!(e.starts_with("the answer to counters does not fit"), "{e}");
    assert!(decode::<CountersResponse>("counters", json!({"drops_by_reason": []})).is_err());
    let e = decode::<StatusResponse>("status", json!({"phase": "x", "frames": 1, "now_ns": 2}))
        .unwrap_err();
    assert!(e.contains("unknown variant"), "{e}");
    // A text line where the json format's records were asked for is an error too.
    let e = page(json!({"entries": ["tcp 6 ..."], "more": false})).unwrap_err();
    assert!(e.starts_with("list: a text line"), "{e}");
    let e = decode::<BucketsResponse>(
        "buckets",
        json!({"buckets": 10, "offset": 0, "lengths": [1e20, -1, 3]}),
    )
    .unwrap_err();
    assert!(e.contains("invalid type"), "{e}");
}

/// The engine's counters as the counters view shows them: the hooks in packet order
/// (whatever order they come in, other names last), the pipeline's totals (every
/// number of the answer, by name); and their rates, by the same names.
#[test]
fn engine_counters_in_the_views_order() {
    let k = |entered| HookCounts {
        entered,
        ..HookCounts::default()
    };
    let counters = |n: u64| CountersResponse {
        received: 10 * n,
        forwarded: 7 * n,
        dropped: n,
        hooks: [
            ("POSTROUTING", k(7 * n)),
            ("X", k(1)),
            ("FORWARD", k(8 * n)),
            ("PREROUTING", k(10 * n)),
            ("INPUT", k(0)),
            ("OUTPUT", k(0)),
        ]
        .map(|(h, k)| (h.to_string(), k))
        .into(),
        drops_by_reason: Counts(vec![("policy".into(), n)]),
        ..CountersResponse::default()
    };
    let c = counters(1);
    let hooks: Vec<&str> = derive::hooks_in_order(&c).iter().map(|(h, _)| *h).collect();
    assert_eq!(
        hooks,
        [
            "PREROUTING",
            "INPUT",
            "FORWARD",
            "OUTPUT",
            "POSTROUTING",
            "X"
        ]
    );
    assert_eq!(derive::hooks_in_order(&c)[0].1.entered, 10);
    // The totals are what a JSON object of the answer holds as numbers, in its order.
    let wire = serde_json::to_value(&c).unwrap();
    let numbers: Vec<(&str, u64)> = wire
        .as_object()
        .unwrap()
        .iter()
        .filter_map(|(k, v)| v.as_u64().map(|n| (k.as_str(), n)))
        .collect();
    assert_eq!(derive::pipeline_totals(&c).to_vec(), numbers);
    assert_eq!(decode::<CountersResponse>("counters", wire), Ok(c.clone()));
    let mut app = App::new("s");
    app.apply(Update::Counters {
        counters: c,
        at: Duration::from_secs(1),
    });
    app.apply(Update::Counters {
        counters: counters(3),
        at: Duration::from_secs(3),
    });
    let rate = |name| app.engine_rates.get(name).and_then(|s| s.rate());
    assert_eq!(rate("PREROUTING"), Some(10.0));
    assert_eq!(rate("FORWARD"), Some(8.0));
    assert_eq!(rate("received"), Some(10.0));
    assert_eq!(rate("dropped"), Some(1.0));
    let names: Vec<&str> = app
        .engine_rates
        .series
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(
        names[..7],
        [
            "PREROUTING",
            "INPUT",
            "FORWARD",
            "OUTPUT",
            "POSTROUTING",
            "X",
            "delivered"
        ]
    );
    assert_eq!(app.counters, Some(counters(3)));
}

fn part(offset: u64, span: u64, counts: Vec<u64>, nodes: u64, longest: u64) -> HistogramResponse {
    HistogramResponse {
        buckets: 100,
        offset: Some(offset),
        limit: Some(span),
        histogram: counts,
        longest,
        nodes,
        load_factor: 0.0,
    }
}

/// The parts of a sweep add up; a newer part of the same range replaces the older; a
/// whole-table histogram replaces every part; a resized table starts over.
#[test]
fn histogram_parts_add_up() {
    let mut c = brickwall_tui::top::chains::ChainsState::default();
    c.take_hist(part(0, 40, vec![30, 10], 10, 1));
    assert_eq!(c.coverage(), (40, 100));
    c.take_hist(part(40, 60, vec![50, 5, 5], 15, 2));
    let h = c.hist.clone().unwrap();
    assert_eq!(h.histogram, vec![80, 15, 5]);
    assert_eq!((h.nodes, h.longest, h.span()), (25, 2, 100));
    assert_eq!(h.load_factor, 0.25);
    c.take_hist(part(0, 40, vec![40], 0, 0));
    let h = c.hist.clone().unwrap();
    assert_eq!(h.histogram, vec![90, 5, 5]);
    assert_eq!(h.nodes, 15);
    c.take_hist(part(0, 100, vec![100], 0, 0));
    assert_eq!(c.parts.len(), 1);
    assert_eq!(c.hist.clone().unwrap().histogram, vec![100]);
    let mut bigger = part(0, 50, vec![50], 0, 0);
    bigger.buckets = 200;
    c.take_hist(bigger);
    assert_eq!(c.coverage(), (50, 200));
    // A whole-table answer has no range: it covers every bucket from 0.
    c.take_hist(HistogramResponse {
        buckets: 200,
        histogram: vec![150, 50],
        nodes: 50,
        ..HistogramResponse::default()
    });
    assert_eq!(c.coverage(), (200, 200));
    assert_eq!(c.parts.len(), 1);
    assert_eq!(c.hist.clone().unwrap().load_factor, 0.25);
}

/// The sweep's ranges: the whole table when it is small, about HIST_NODES nodes per
/// range when large, wrapping at the end.
#[test]
fn histogram_sweep_ranges() {
    use brickwall_tui::top::fetch::{hist_range, HIST_NODES};
    assert_eq!(hist_range(0, 262_144, 1276), (0, 262_144));
    assert_eq!(hist_range(5, 262_144, 1276), (5, 262_139), "to the end");
    assert_eq!(hist_range(0, 0, 0), (0, 0));
    let (start, span) = hist_range(0, 262_144, 2_000_000);
    assert_eq!(start, 0);
    assert_eq!(span, 262_144 * HIST_NODES / 2_000_000);
    let (start, span) = hist_range(262_000, 262_144, 2_000_000);
    assert_eq!((start, span), (262_000, 144), "the last range is short");
    assert_eq!(hist_range(262_144, 262_144, 2_000_000).0, 0, "wraps");
    assert_eq!(
        hist_range(0, 1_000_000, u64::MAX).1,
        1024,
        "at least 1024 buckets"
    );
}
