//! Frame time of the dashboard with a state derived from a table of 1 M connections:
//! the state holds what the dashboard would have fetched — one page of connections (a
//! screenful) with the whole table's count and per-state counts, the chain-length
//! histogram of 262,144 buckets holding 2 M nodes, the heat map's window of lengths, a
//! chain, and a full history of rates — and each iteration draws one frame of a view
//! into a 200 × 60 TestBackend (geometry, layout, widgets, ratatui's diff), as the
//! run loop does. Target: at most 50 ms per frame.
//!
//! `cargo bench -p brickwall-tui --bench frame`

use brickwall_tui::top::conns::SortKey;
use brickwall_tui::top::model::*;
use brickwall_tui::top::rates::HISTORY;
use brickwall_tui::top::state::{App, View};
use brickwall_tui::top::view;
use criterion::{criterion_group, criterion_main, Criterion};
use ratatui::backend::TestBackend;
use ratatui::layout::Rect;
use ratatui::Terminal;
use std::hint::black_box;
use std::time::Duration;

const CONNS: u64 = 1_000_000;
const BUCKETS: u64 = 262_144;
const W: u16 = 200;
const H: u16 = 60;
const NOW: u64 = 1_700_000_000_000_000_000;

/// A small deterministic generator (xorshift64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A Poisson-distributed chain length with mean `lambda` (inverse transform).
    fn poisson(&mut self, lambda: f64) -> u32 {
        let u = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        let (mut k, mut p) = (0u32, (-lambda).exp());
        let mut cdf = p;
        while u > cdf && k < 200 {
            k += 1;
            p *= lambda / k as f64;
            cdf += p;
        }
        k
    }
}

/// The dashboard's state for a 1 M connection table, as the fetch thread leaves it.
fn state_1m() -> App {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let lambda = 2.0 * CONNS as f64 / BUCKETS as f64;
    let mut app = App::new("/run/brickwall/control.sock");
    app.status = Some(StatusResponse {
        phase: Phase::Running,
        frames: 123_456_789,
        now_ns: NOW,
    });
    app.link = brickwall_tui::top::state::Link::Up;
    app.set_geometry(view::geometry(Rect::new(0, 0, W, H)));

    // The histogram of every bucket (max_len 16, as the dashboard asks).
    let mut counts = vec![0u64; 17];
    let mut longest = 0;
    for _ in 0..BUCKETS {
        let l = rng.poisson(lambda);
        longest = longest.max(l);
        counts[(l as usize).min(16)] += 1;
    }
    app.chains.hist = Some(HistogramResponse {
        buckets: BUCKETS,
        histogram: counts,
        longest: u64::from(longest),
        nodes: 2 * CONNS,
        load_factor: lambda,
        offset: None,
        limit: None,
    });
    app.chains.selected = 123_456;
    let (start, n) = app.chains.window_wanted();
    app.chains.window = Some(BucketsResponse {
        buckets: BUCKETS,
        offset: start,
        lengths: (0..n).map(|_| rng.poisson(lambda)).collect(),
        resize: None,
    });
    app.chains.chain = Some(ChainResponse {
        bucket: 123_456,
        nodes: (0..8)
            .map(|i| ChainNode {
                id: 1000 + i,
                dir: if i % 2 == 0 {
                    Dir::Original
                } else {
                    Dir::Reply
                },
                proto: "tcp".into(),
                tuple: format!(
                    "src=10.{}.{}.1 dst=192.0.2.1 sport={} dport=443",
                    i,
                    i,
                    40000 + i
                ),
            })
            .collect(),
    });

    // One page (the screen's rows) of the table, the whole table's counts.
    let rows = (0..app.conns.page_size as u64)
        .map(|i| {
            let src = format!("10.{}.{}.{}", i % 256, (i * 7) % 256, (i * 13) % 256);
            let dst = format!("2001:db8::{:x}", i * 31 + 1);
            ConnRow {
                id: 500_000 + i as u32,
                proto: ["tcp", "udp", "icmp"][(i % 3) as usize].into(),
                src: src.parse().unwrap(),
                dst: dst.parse().unwrap(),
                sport: Some(1024 + i as u16),
                dport: Some(443),
                state: (i % 3 == 0).then(|| "ESTABLISHED".to_string()),
                timeout_s: 431_000 - i,
                start_ns: Some(NOW - i * 1_000_000_000),
                packets: Some((i * 7919) % 10_000),
                bytes: Some((i * 104_729) % 10_000_000),
                mark: (i % 4) as u32,
                unreplied: i % 5 == 0,
                assured: i % 2 == 0,
                nat_src: None,
                nat_dst: None,
            }
        })
        .collect();
    app.conns.take_page(ConnPage {
        offset: 0,
        count: Some(CONNS),
        more: true,
        rows,
        states: Some(vec![
            ("ESTABLISHED".into(), 600_000),
            ("udp".into(), 250_000),
            ("TIME_WAIT".into(), 100_000),
            ("SYN_SENT".into(), 40_000),
            ("icmp".into(), 10_000),
        ]),
    });
    app.conns.sort = Some(SortKey::Bytes);

    // A full history of rates.
    let names: Vec<&str> = std::iter::once("entries")
        .chain(brickwall_control_protocol::conntrack_stats::SHOWN)
        .collect();
    for t in 0..=HISTORY as u64 {
        let values: Vec<(String, u64)> = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.to_string(), t * 1000 * (i as u64 + 1) + rng.next() % 500))
            .collect();
        app.ct_rates.push(Duration::from_millis(500 * t), &values);
    }
    app
}

fn frames(c: &mut Criterion) {
    let mut app = state_1m();
    for (name, v) in [
        ("frame/connections 1M (page) 200x60", View::Conns),
        (
            "frame/chains 1M (histogram, heat map, chain) 200x60",
            View::Chains,
        ),
        ("frame/counters 200x60", View::Counters),
    ] {
        app.view = v;
        let mut term = Terminal::new(TestBackend::new(W, H)).expect("terminal");
        c.bench_function(name, |b| {
            b.iter(|| {
                app.set_geometry(view::geometry(Rect::new(0, 0, W, H)));
                black_box(app.wants());
                term.draw(|f| view::draw(f, &app)).expect("draw");
                // A fresh frame each time: diffing against an identical buffer would
                // skip the backend's work.
                term.clear().expect("clear");
            })
        });
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).sample_size(50);
    targets = frames
}
criterion_main!(benches);
