//! Hand-built dashboard states and a TestBackend renderer, shared by the dashboard's
//! tests.
#![allow(dead_code)]

use brickwall_tui::top::model::*;
use brickwall_tui::top::state::App;
use brickwall_tui::top::view;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::Terminal;

/// Renders `app` on a `w` × `h` screen (after giving it the screen's geometry, as the
/// run loop does); the buffer.
pub fn render(app: &mut App, w: u16, h: u16) -> Buffer {
    let mut t = Terminal::new(TestBackend::new(w, h)).expect("test terminal");
    app.set_geometry(view::geometry(Rect::new(0, 0, w, h)));
    t.draw(|f| view::draw(f, app)).expect("draw");
    t.backend().buffer().clone()
}

/// The buffer's rows as text.
pub fn lines(b: &Buffer) -> Vec<String> {
    let a = b.area;
    (a.y..a.y + a.height)
        .map(|y| (a.x..a.x + a.width).map(|x| b[(x, y)].symbol()).collect())
        .collect()
}

/// The whole screen as one string (rows joined by newlines), for messages.
pub fn screen(b: &Buffer) -> String {
    lines(b).join("\n")
}

/// The index of the first row containing `needle`.
pub fn row_of(b: &Buffer, needle: &str) -> Option<usize> {
    lines(b).iter().position(|l| l.contains(needle))
}

/// The engine clock of the hand-built states: 1000 s.
pub const NOW: u64 = 1_000 * 1_000_000_000;

/// A connection row.
pub fn conn(id: u32, proto: &str, src: &str, sport: u16, dst: &str, dport: u16) -> ConnRow {
    let n = u64::from(id);
    ConnRow {
        id,
        proto: proto.into(),
        src: src.parse().unwrap(),
        dst: dst.parse().unwrap(),
        sport: Some(sport),
        dport: Some(dport),
        state: (proto == "tcp").then(|| "ESTABLISHED".to_string()),
        timeout_s: 431_999,
        start_ns: Some(NOW - n * 1_000_000_000),
        packets: Some(10 * n),
        bytes: Some(1000 * n),
        mark: 0,
        unreplied: false,
        assured: true,
        nat_src: None,
        nat_dst: None,
    }
}

/// A page of four connections with distinct byte counts (not in byte order), of a
/// table of 1000 matches.
pub fn four_conns() -> ConnPage {
    let mut rows = vec![
        conn(2, "tcp", "10.0.0.2", 2000, "192.0.2.1", 80),
        conn(4, "udp", "10.0.0.4", 4000, "192.0.2.1", 53),
        conn(1, "tcp", "10.0.0.1", 1000, "192.0.2.1", 443),
        conn(3, "tcp", "10.0.0.3", 3000, "192.0.2.1", 22),
    ];
    rows[3].state = Some("SYN_SENT".into());
    rows[3].unreplied = true;
    ConnPage {
        offset: 0,
        count: Some(1000),
        more: false,
        rows,
        states: Some(vec![
            ("ESTABLISHED".into(), 700),
            ("udp".into(), 200),
            ("SYN_SENT".into(), 100),
        ]),
    }
}

/// A chain of three nodes in bucket 5.
pub fn chain5() -> ChainResponse {
    ChainResponse {
        bucket: 5,
        nodes: vec![
            ChainNode {
                id: 11,
                dir: Dir::Original,
                proto: "tcp".into(),
                tuple: "src=10.0.0.1 dst=10.0.0.2 sport=1111 dport=80".into(),
            },
            ChainNode {
                id: 22,
                dir: Dir::Reply,
                proto: "udp".into(),
                tuple: "src=10.9.9.9 dst=10.0.0.7 sport=53 dport=2222".into(),
            },
            ChainNode {
                id: 33,
                dir: Dir::Original,
                proto: "tcp".into(),
                tuple: "src=2001:db8::1 dst=2001:db8::2 sport=3333 dport=443".into(),
            },
        ],
    }
}

/// A dashboard on the chains view: 64 buckets, bucket 5 selected with a chain of 3.
pub fn chains_app() -> App {
    let mut app = App::new("/tmp/test.sock");
    let mut lengths = vec![0u32; 64];
    lengths[5] = 3;
    lengths[9] = 1;
    lengths[40] = 12;
    app.chains.hist = Some(HistogramResponse {
        buckets: 64,
        histogram: vec![61, 1, 0, 1, 1],
        longest: 12,
        nodes: 16,
        load_factor: 0.25,
        offset: None,
        limit: None,
    });
    app.chains.window = Some(BucketsResponse {
        buckets: 64,
        offset: 0,
        lengths,
        resize: None,
    });
    app.chains.selected = 5;
    app.chains.chain = Some(chain5());
    app.stats = Some(StatsResponse {
        entries: 8,
        buckets: 64,
        totals: Counts(vec![("chaintoolong".into(), 7), ("found".into(), 100)]),
        workers: vec![],
        resize: None,
    });
    app
}

/// Two application helpers: `ftp`, working (3 assigned, 120 calls, 2 expectations),
/// and `broken`, disabled after 3 traps, 2 exhausted budgets and a memory overrun.
pub fn two_helpers() -> Helpers {
    Helpers {
        list: vec![
            HelperInfo {
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
            },
            HelperInfo {
                name: "broken".into(),
                wasm: "helpers/broken.wasm".into(),
                ports: vec!["tcp/9999".into(), "udp/9999".into()],
                cached: false,
                stats: HelperStats {
                    assigned: 1,
                    calls: 7,
                    drops: 4,
                    traps: 3,
                    budget_exhausted: 2,
                    memory_exceeded: 1,
                    failure_drops: 5,
                    reinstantiations: 6,
                    disabled: true,
                    ..Default::default()
                },
            },
        ],
        expect_failed: 1,
        unknown_requested: 0,
    }
}
