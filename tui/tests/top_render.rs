//! The dashboard's views rendered into ratatui's TestBackend from hand-built states,
//! asserted on the buffer.

mod top_common;

mod records;
use brickwall_tui::top::conns::SortKey;
use brickwall_tui::top::keys::Key;
use brickwall_tui::top::model::*;
use brickwall_tui::top::rates::Rates;
use brickwall_tui::top::state::{App, Link, View};
use ratatui::style::Color;
use std::time::Duration;
use top_common::*;

/// The chain panel of bucket 5 lists its three nodes in chain order, with direction
/// and connection; the heat map shows the bucket's length; the summary its numbers.
#[test]
fn chain_panel_shows_the_selected_buckets_nodes_in_order() {
    let mut app = chains_app();
    let b = render(&mut app, 160, 48);
    let s = screen(&b);
    let tuples = [
        "tcp src=10.0.0.1 dst=10.0.0.2 sport=1111 dport=80",
        "udp src=10.9.9.9 dst=10.0.0.7 sport=53 dport=2222",
        "tcp src=2001:db8::1 dst=2001:db8::2 sport=3333 dport=443",
    ];
    let rows: Vec<usize> = tuples
        .iter()
        .map(|t| row_of(&b, t).unwrap_or_else(|| panic!("{t} not on screen:\n{s}")))
        .collect();
    assert!(
        rows[0] < rows[1] && rows[1] < rows[2],
        "chain order: {rows:?}\n{s}"
    );
    let l = lines(&b);
    assert!(l[rows[0]].contains("original") && l[rows[0]].contains("#11"));
    assert!(l[rows[1]].contains("reply") && l[rows[1]].contains("#22"));
    assert!(l[rows[2]].contains("#33"));
    assert!(s.contains("Chain of bucket 5 (3 nodes"), "{s}");
    assert!(s.contains("Hash chains"), "{s}");
    assert!(s.contains("load factor 0.250"), "{s}");
    assert!(s.contains("longest chain 12"), "{s}");
    assert!(s.contains("chaintoolong 7"), "{s}");
    // The heat map's first row: buckets 0.. with 3 at 5, 1 at 9, '+' at 40.
    let heat = l
        .iter()
        .find(|l| l.contains("         0 "))
        .expect("heat map row 0");
    let cells: String = heat
        .split("         0 ")
        .nth(1)
        .expect("cells")
        .chars()
        .take(41)
        .collect();
    assert_eq!(cells, "·····3···1······························+", "{heat}");
}

/// A resize under way shows in the summary: from and to, and how far it has come.
#[test]
fn the_summary_shows_a_resize_under_way() {
    let mut app = chains_app();
    let s = screen(&render(&mut app, 160, 48));
    assert!(!s.contains("resizing"), "{s}");
    if let Some(st) = app.stats.as_mut() {
        st.resize = Some(
            brickwall_control_protocol::conntrack::response::ResizeProgress {
                from: 64,
                to: 128,
                migrated: 40,
            },
        );
    }
    let s = screen(&render(&mut app, 160, 48));
    assert!(s.contains("resizing 64 → 128 (40 of 64 moved)"), "{s}");
}

/// The selected heat-map cell is highlighted (reversed); cells are coloured by length.
#[test]
fn heat_map_colours_and_selection() {
    let mut app = chains_app();
    let b = render(&mut app, 160, 48);
    let l = lines(&b);
    let y = l.iter().position(|l| l.contains("         0 ")).unwrap();
    let x0 = l[y].find("         0 ").unwrap() + 11;
    // `find` counts bytes: the row up to the label has only ASCII and box characters
    // of one column each; count columns instead.
    let x0 = l[y][..x0].chars().count() as u16;
    let cell5 = &b[(x0 + 5, y as u16)];
    assert_eq!(cell5.symbol(), "3");
    assert!(cell5.modifier.contains(ratatui::style::Modifier::REVERSED));
    assert_eq!(b[(x0 + 9, y as u16)].fg, Color::Green);
    assert_eq!(b[(x0 + 5, y as u16)].fg, Color::Yellow);
}

/// Enter opens the selected bucket's whole chain over the view.
#[test]
fn enter_opens_the_chain() {
    let mut app = chains_app();
    app.on_key(Key::Enter);
    let b = render(&mut app, 160, 48);
    let s = screen(&b);
    assert!(s.contains("Bucket 5: 3 nodes, head first"), "{s}");
    app.on_key(Key::Esc);
    let s = screen(&render(&mut app, 160, 48));
    assert!(!s.contains("head first"), "{s}");
}

/// A chain that belongs to another bucket than the selected one is not shown as its.
#[test]
fn a_stale_chain_is_not_shown() {
    let mut app = chains_app();
    app.on_key(Key::Right);
    assert_eq!(app.chains.selected, 6);
    let s = screen(&render(&mut app, 160, 48));
    assert!(s.contains("Chain of bucket 6"), "{s}");
    assert!(s.contains("loading…"), "{s}");
    assert!(!s.contains("sport=1111"), "{s}");
}

/// The histogram labels each length, the last one with `+`, and shows the counts.
#[test]
fn histogram_bar_labels() {
    let mut app = chains_app();
    let b = render(&mut app, 160, 48);
    let l = lines(&b);
    let labels = l
        .iter()
        .rev()
        .find(|l| l.contains(" 0 ") && l.contains(" 1 "))
        .unwrap_or_else(|| panic!("no label row:\n{}", screen(&b)));
    let words: Vec<&str> = labels
        .trim_matches(|c: char| c == '│' || c.is_whitespace())
        .split_whitespace()
        .collect();
    assert_eq!(words, vec!["0", "1", "2", "3", "4+"], "{labels}");
    let s = screen(&b);
    assert!(s.contains("61"), "count of empty buckets:\n{s}");
    assert!(s.contains("Chain lengths"), "{s}");
}

fn conns_app() -> App {
    let mut app = App::new("/tmp/test.sock");
    app.view = View::Conns;
    app.status = Some(StatusResponse {
        phase: Phase::Running,
        frames: 5,
        now_ns: NOW,
    });
    app.conns.take_page(four_conns());
    app
}

/// Sorted by bytes, the rows come largest first, and the title says the sort orders
/// this page only.
#[test]
fn connections_sorted_by_bytes() {
    let mut app = conns_app();
    while app.conns.sort != Some(SortKey::Bytes) {
        app.on_key(Key::Char('s'));
    }
    let b = render(&mut app, 160, 48);
    let s = screen(&b);
    let order: Vec<usize> = [
        "10.0.0.4:4000",
        "10.0.0.3:3000",
        "10.0.0.2:2000",
        "10.0.0.1:1000",
    ]
    .iter()
    .map(|a| row_of(&b, a).unwrap_or_else(|| panic!("{a}:\n{s}")))
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}\n{s}");
    assert!(s.contains("sorted by bytes ▼ within this page"), "{s}");
    assert!(s.contains("Connections 1-"), "{s}");
    assert!(s.contains("of 1,000"), "{s}");
    // S reverses.
    app.on_key(Key::Char('S'));
    let b = render(&mut app, 160, 48);
    assert!(row_of(&b, "10.0.0.1:1000") < row_of(&b, "10.0.0.4:4000"));
    assert!(screen(&b).contains("bytes ▲"));
}

/// A translated connection's row shows its translation beside the original.
#[test]
fn translated_connections_show_their_translation() {
    let mut app = conns_app();
    let mut page = four_conns();
    page.rows[0].nat_src = Some(("203.0.113.2".parse().unwrap(), Some(61000)));
    page.rows[1].nat_dst = Some(("10.9.0.5".parse().unwrap(), Some(5353)));
    app.conns.take_page(page);
    let b = render(&mut app, 160, 48);
    let s = screen(&b);
    assert!(s.contains("10.0.0.2:2000→203.0.113.2:61000"), "{s}");
    assert!(s.contains("192.0.2.1:53→10.9.0.5:5353"), "{s}");
}

/// With `NO_COLOR` (the app's `monochrome`) no cell has a colour; the selection and
/// headers keep their reverse and bold.
#[test]
fn monochrome_draws_no_colour() {
    use ratatui::style::{Color, Modifier};
    let coloured = |b: &ratatui::buffer::Buffer| {
        b.content
            .iter()
            .filter(|c| c.fg != Color::Reset || c.bg != Color::Reset)
            .count()
    };
    let mut app = conns_app();
    let b = render(&mut app, 160, 48);
    assert!(coloured(&b) > 0, "the states are coloured");
    app.monochrome = true;
    let b = render(&mut app, 160, 48);
    assert_eq!(coloured(&b), 0);
    assert!(b
        .content
        .iter()
        .any(|c| c.modifier.contains(Modifier::BOLD)));
}

/// Without a sort, rows keep the table's (slot) order.
#[test]
fn connections_in_table_order() {
    let mut app = conns_app();
    let b = render(&mut app, 160, 48);
    let order: Vec<Option<usize>> = ["10.0.0.2:2000", "10.0.0.4:4000", "10.0.0.1:1000"]
        .iter()
        .map(|a| row_of(&b, a))
        .collect();
    assert!(order[0] < order[1] && order[1] < order[2], "{}", screen(&b));
    assert!(screen(&b).contains("table order"));
}

/// The filter's words that the engine cannot judge hide rows of the page; the title
/// says so.
#[test]
fn filter_hides_rows() {
    let mut app = conns_app();
    for k in "/10.0.0.3".chars() {
        app.on_key(Key::Char(k));
    }
    // While typing, the status bar is the prompt; nothing is filtered yet.
    let s = screen(&render(&mut app, 160, 48));
    assert!(s.contains("filter: /10.0.0.3"), "{s}");
    assert!(s.contains("10.0.0.1:1000"), "{s}");
    app.on_key(Key::Enter);
    let b = render(&mut app, 160, 48);
    let s = screen(&b);
    assert!(s.contains("10.0.0.3:3000"), "{s}");
    for hidden in ["10.0.0.1:1000", "10.0.0.2:2000", "10.0.0.4:4000"] {
        assert!(!s.contains(hidden), "{hidden} shown:\n{s}");
    }
    assert!(s.contains("on this page only"), "{s}");
    // Esc clears the filter.
    app.on_key(Key::Esc);
    assert!(screen(&render(&mut app, 160, 48)).contains("10.0.0.1:1000"));
}

/// Counts per state at the top; rows coloured by state, UNREPLIED highlighted.
#[test]
fn connection_states_counted_and_coloured() {
    let mut app = conns_app();
    let b = render(&mut app, 160, 48);
    let s = screen(&b);
    assert!(s.contains("matches 1,000"), "{s}");
    assert!(s.contains("ESTABLISHED 700"), "{s}");
    assert!(s.contains("SYN_SENT 100"), "{s}");
    let y = row_of(&b, "10.0.0.2:2000").unwrap() as u16;
    let x = lines(&b)[y as usize].find("tcp").unwrap() as u16;
    assert_eq!(b[(x, y)].fg, Color::Green, "ESTABLISHED is green");
    let y = row_of(&b, "10.0.0.3:3000").unwrap() as u16;
    assert!(lines(&b)[y as usize].contains("SYN_SENT UNREPLIED"));
    assert_eq!(
        b[(x, y)].fg,
        Color::LightMagenta,
        "UNREPLIED is highlighted"
    );
}

/// A refused request is shown in the view, not a crash.
#[test]
fn connections_error_is_shown() {
    let mut app = conns_app();
    app.conns.error = Some("the engine refused: filter.src: not an address".into());
    let s = screen(&render(&mut app, 160, 48));
    assert!(
        s.contains("the engine refused: filter.src: not an address"),
        "{s}"
    );
}

/// `?` opens the help overlay; any key closes it.
#[test]
fn help_overlay() {
    let mut app = chains_app();
    app.on_key(Key::Char('?'));
    let s = screen(&render(&mut app, 160, 48));
    assert!(s.contains("Help: brickwall top"), "{s}");
    assert!(s.contains("next / previous view"), "{s}");
    assert!(s.contains("quit"), "{s}");
    app.on_key(Key::Char('x'));
    assert!(!screen(&render(&mut app, 160, 48)).contains("Help: brickwall top"));
}

/// The expectations view shows tuple, master, helper and time left.
#[test]
fn expectations_view() {
    let mut app = App::new("/tmp/test.sock");
    app.view = View::Expect;
    app.expects = vec![ExpectRecord {
        flags: vec!["PERMANENT".into()],
        ..records::ftp_expectation(1, 295)
    }];
    let s = screen(&render(&mut app, 160, 48));
    for want in [
        "Expectations: 1",
        "4m55s",
        "tcp",
        "src=10.0.0.1 dst=10.0.0.2 sport=0 dport=20000",
        "src=10.0.0.1 dst=10.0.0.2 sport=40000 dport=21",
        "ftp",
        "PERMANENT",
        "time left ",
    ] {
        assert!(s.contains(want), "{want}:\n{s}");
    }
    // The filter matches the words of the record's row.
    app.set_filter("dport=20000 ftp");
    assert_eq!(app.visible_expects().len(), 1);
    app.set_filter("irc");
    assert_eq!(app.visible_expects().len(), 0);
    app.set_filter("");
    app.expects.clear();
    let s = screen(&render(&mut app, 160, 48));
    assert!(s.contains("no expectations"), "{s}");
}

/// The counters view: totals and rates with sparklines, verdicts per hook, drops by
/// reason, and the helpers' section.
#[test]
fn counters_view() {
    let mut app = App::new("/tmp/test.sock");
    app.view = View::Counters;
    let mut r = Rates::default();
    r.push(Duration::from_secs(0), &[("found".into(), 100)]);
    r.push(Duration::from_secs(2), &[("found".into(), 300)]);
    r.push(Duration::from_secs(3), &[("found".into(), 350)]);
    app.ct_rates = r;
    app.counters = Some(CountersResponse {
        received: 7800,
        forwarded: 6834,
        dropped: 778,
        hooks: [
            (
                "FORWARD".to_string(),
                HookCounts {
                    entered: 7578,
                    accepted: 6834,
                    dropped: 744,
                    ..Default::default()
                },
            ),
            (
                "PREROUTING".to_string(),
                HookCounts {
                    entered: 7800,
                    accepted: 7766,
                    dropped: 34,
                    ..Default::default()
                },
            ),
        ]
        .into(),
        drops_by_reason: Counts(vec![("filter-policy-drop".into(), 778)]),
        ..Default::default()
    });
    let b = render(&mut app, 160, 48);
    let s = screen(&b);
    for want in [
        "found",
        "350",
        "50.0/s",
        "FORWARD",
        "7578",
        "744",
        "filter-policy-drop",
        "received 7,800",
        "no application helpers configured",
    ] {
        assert!(s.contains(want), "{want}:\n{s}");
    }
    // The hooks in packet order (the answer's map holds them by name).
    assert!(row_of(&b, "PREROUTING").unwrap() < row_of(&b, "FORWARD").unwrap());
    // The pipeline's totals: every one, by name.
    let row = &lines(&b)[row_of(&b, "delivered 0").unwrap()];
    assert!(
        row.contains("delivered 0  dropped 778  forwarded 6,834  injected 0  non_ip 0  queued 0"),
        "{row}"
    );
    let row = &lines(&b)[row_of(&b, "received 7,800").unwrap()];
    assert!(
        row.contains("received 7,800  reinjected 0  stolen 0"),
        "{row}"
    );
    // The sparkline: two bars (100/s, then 50/s) after the rate.
    let row = &lines(&b)[row_of(&b, "50.0/s").unwrap()];
    assert!(row.contains('█'), "{row}");
}

/// The plugins view: each registration with its hook, priority and Linux's name.
#[test]
fn plugins_view() {
    let mut app = App::new("/tmp/test.sock");
    app.view = View::Plugins;
    app.plugins = vec![PluginInfo {
        name: "conntrack".into(),
        version: "0.1.0".into(),
        origin: "static".into(),
        hooks: vec![
            HookInfo {
                hook: "PREROUTING".into(),
                families: vec!["ipv4".into(), "ipv6".into()],
                priority: -200,
                name: "conntrack-in".into(),
            },
            HookInfo {
                hook: "POSTROUTING".into(),
                families: vec!["ipv4".into()],
                priority: i32::MAX,
                name: "confirm-postrouting".into(),
            },
            HookInfo {
                hook: "FORWARD".into(),
                families: vec!["ipv4".into()],
                priority: 10,
                name: "filter-forward".into(),
            },
        ],
    }];
    let b = render(&mut app, 160, 48);
    let s = screen(&b);
    let l = lines(&b);
    let row = &l[row_of(&b, "conntrack-in").unwrap()];
    assert!(row.contains("PREROUTING") && row.contains("-200") && row.contains("conntrack"));
    let row = &l[row_of(&b, "confirm-postrouting").unwrap()];
    assert!(
        row.contains("confirm") && row.contains("2147483647"),
        "{row}"
    );
    let row = &l[row_of(&b, "filter-forward").unwrap()];
    assert!(row.contains("filter+10"), "{row}");
    assert!(s.contains("1 loaded, 3 registrations"), "{s}");
    assert!(s.contains("no application helpers configured"), "{s}");
    assert!(s.contains("Application helpers: 0 configured"), "{s}");
}

/// The plugins view's helpers table: a row per helper with its component, ports and
/// counters; a disabled helper's status cell says `disabled` in the error style, a
/// working one's `ok`; the failures are summed with their kinds named.
#[test]
fn plugins_view_helpers_table() {
    let mut app = App::new("/tmp/test.sock");
    app.view = View::Plugins;
    app.helpers = two_helpers();
    let b = render(&mut app, 160, 48);
    let s = screen(&b);
    let l = lines(&b);
    assert!(
        s.contains("Application helpers: 2 configured, 1 disabled"),
        "{s}"
    );
    assert!(s.contains("expectations refused 1"), "{s}");
    let header = &l[row_of(&b, "failure kinds").expect("header")];
    for col in ["helper", "component", "ports", "calls", "re-inst", "status"] {
        assert!(header.contains(col), "{col}: {header}");
    }
    let y = row_of(&b, "helpers/broken.wasm").unwrap_or_else(|| panic!("{s}"));
    let row = &l[y];
    for want in [
        "broken",
        "tcp/9999,udp/9999",
        " 7 ",
        " 4 ",
        " 6 ",
        "traps 3, budget 2, memory 1; fail-closed drops 5",
        "disabled",
    ] {
        assert!(row.contains(want), "{want}: {row}");
    }
    // The cell's column: `find` counts bytes, the border is one column of three.
    let x = row[..row.find("disabled").unwrap()].chars().count() as u16;
    assert_eq!(
        b[(x, y as u16)].bg,
        Color::Red,
        "disabled in the error style"
    );
    let row = &l[row_of(&b, "builtin:ftp").unwrap()];
    for want in ["ftp", "tcp/21", "120", "138", " ok"] {
        assert!(row.contains(want), "{want}: {row}");
    }
    assert!(!row.contains("disabled"), "{row}");
    // The area fits the two helpers: borders, header and two rows.
    let top = row_of(&b, "Application helpers:").unwrap();
    assert_eq!(row_of(&b, "builtin:ftp"), Some(top + 2), "{s}");
    assert!(l[top + 4].starts_with('└'), "{s}");
}

/// The helpers' area grows with their number up to a third of the view, and says how
/// many rows it shows when they do not all fit.
#[test]
fn helpers_area_is_sized_to_the_helpers() {
    use brickwall_tui::top::view_plugins::helpers_height;
    assert_eq!(helpers_height(0, 46), 3);
    assert_eq!(helpers_height(1, 46), 4);
    assert_eq!(helpers_height(100, 46), 15);
    assert_eq!(helpers_height(5, 6), 3, "at least 3 lines");
    let mut app = App::new("/tmp/test.sock");
    app.view = View::Plugins;
    let one = two_helpers().list[0].clone();
    app.helpers.list = (0..30)
        .map(|i| HelperInfo {
            name: format!("h{i}"),
            ..one.clone()
        })
        .collect();
    let s = screen(&render(&mut app, 160, 48));
    assert!(s.contains("30 configured · first 12 shown"), "{s}");
    assert!(s.contains("h11 ") && !s.contains("h12 "), "{s}");
}

/// The counters view sums the helpers' failures, names their kinds and the disabled
/// helpers, and their drops.
#[test]
fn counters_view_helper_failures() {
    let mut app = App::new("/tmp/test.sock");
    app.view = View::Counters;
    app.helpers = two_helpers();
    let b = render(&mut app, 160, 48);
    let s = screen(&b);
    let y = row_of(&b, "helper failures").unwrap_or_else(|| panic!("{s}"));
    let row = &lines(&b)[y];
    assert!(
        row.contains("helper failures 6 (traps 3, budget 2, memory 1, oversize 0) · disabled 1"),
        "{row}"
    );
    let row = &lines(&b)[y + 1];
    assert!(
        row.contains("helper drops 4 · fail-closed 5 · re-instantiations 6"),
        "{row}"
    );
    let row = &lines(&b)[y + 2];
    assert!(row.contains("expectations 2 · refused 1"), "{row}");
    assert!(s.contains("Application helpers: 2 configured"), "{s}");
    assert!(!s.contains("no application helpers configured"), "{s}");
}

/// The status bar: phase, frames, clock, socket; "disconnected, retrying" when the
/// engine is away.
#[test]
fn status_bar() {
    let mut app = chains_app();
    app.link = Link::Up;
    app.status = Some(StatusResponse {
        phase: Phase::Running,
        frames: 123_456,
        now_ns: 1_700_000_000_391_741_989,
    });
    let b = render(&mut app, 160, 48);
    let last = lines(&b).pop().unwrap();
    for want in [
        "running",
        "frames 123,456",
        "2023-11-14 22:13:20.391",
        "/tmp/test.sock",
    ] {
        assert!(last.contains(want), "{want}: {last}");
    }
    app.apply(brickwall_tui::top::fetch::Update::Disconnected(
        "cannot connect".into(),
    ));
    let last = lines(&render(&mut app, 160, 48)).pop().unwrap();
    assert!(
        last.contains("disconnected, retrying: cannot connect"),
        "{last}"
    );
}

/// Every view renders on tiny and empty screens without panicking.
#[test]
fn tiny_screens_do_not_panic() {
    for v in View::ALL {
        for (w, h) in [(0, 0), (1, 1), (10, 5), (40, 12), (80, 24)] {
            let mut app = chains_app();
            app.conns.take_page(four_conns());
            app.view = v;
            app.help = w == 40;
            app.chains.open = h == 24;
            render(&mut app, w, h);
            let mut empty = App::new("x");
            empty.view = v;
            render(&mut empty, w, h);
        }
    }
}

/// Extreme answers (huge counts and offsets, empty histograms, long chains) and long
/// key sequences neither panic the state nor the views.
#[test]
fn hostile_data_and_key_storms_do_not_panic() {
    let mut app = chains_app();
    app.chains.hist = Some(HistogramResponse {
        buckets: u64::MAX,
        offset: Some(3),
        limit: Some(u64::MAX),
        histogram: vec![],
        longest: u64::MAX,
        nodes: u64::MAX,
        load_factor: f64::NAN,
    });
    app.chains.window = Some(BucketsResponse {
        buckets: u64::MAX,
        offset: u64::MAX - 3,
        lengths: vec![u32::MAX; 10],
        resize: None,
    });
    app.chains.chain = Some(ChainResponse {
        bucket: 5,
        nodes: vec![
            ChainNode {
                id: u32::MAX,
                dir: Dir::Reply,
                proto: String::new(),
                tuple: String::new(),
            };
            10_000
        ],
    });
    let mut page = four_conns();
    page.count = Some(u64::MAX);
    page.offset = 0;
    page.rows[0].start_ns = Some(u64::MAX);
    page.rows[0].bytes = Some(u64::MAX);
    app.conns.take_page(page);
    let mut r = Rates::default();
    r.push(Duration::from_nanos(0), &[("found".into(), 0)]);
    r.push(Duration::from_nanos(1), &[("found".into(), u64::MAX)]);
    app.ct_rates = r;
    app.status = Some(StatusResponse {
        phase: Phase::Finished,
        frames: u64::MAX,
        now_ns: u64::MAX,
    });
    let keys = [
        Key::Right,
        Key::Down,
        Key::PageDown,
        Key::End,
        Key::Char('n'),
        Key::Char('N'),
        Key::Enter,
        Key::Down,
        Key::PageDown,
        Key::Esc,
        Key::Tab,
        Key::Char('G'),
        Key::Char('s'),
        Key::Char('S'),
        Key::PageUp,
        Key::Up,
        Key::Left,
        Key::Home,
        Key::BackTab,
        Key::Char('/'),
        Key::Char('x'),
        Key::Enter,
        Key::Char('?'),
        Key::Char('a'),
    ];
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    for _ in 0..200 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let k = keys[(x % keys.len() as u64) as usize];
        app.on_key(k);
        if x.is_multiple_of(7) {
            app.on_key(Key::Tab);
        }
        render(&mut app, 120, 40);
    }
}
