//! The dashboard's fetch thread against a fake engine: every request to the engine and
//! to the conntrack plugin is one the protocol reads (`EngineRequest::from_slice`,
//! `Request::from_value`), every answer is read as its response type, and what cannot
//! be a request (a bad filter) or does not fit (a malformed answer) becomes an update
//! the view shows.

mod fake_engine;

use brickwall_control_protocol::conntrack::request::{self as ct, At, Filter as CtFilter};
use brickwall_control_protocol::conntrack::response::*;
use brickwall_control_protocol::conntrack::value::{FamilyName, Labels, Proto};
use brickwall_control_protocol::conntrack::{ConnRecord, ExpectRecord, Request, TupleRecord};
use brickwall_control_protocol::engine::{
    CountersResponse, EngineRequest, HookCounts, HookInfo, Phase, PluginInfo, StatusResponse,
};
use brickwall_control_protocol::helpers::HelpersResponse;
use brickwall_tui::protocol::Response;
use brickwall_tui::top::fetch::{Fetcher, Update, Wants};
use brickwall_tui::top::state::View;
use brickwall_wire::Family;
use fake_engine::FakeEngine;
use serde::Serialize;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn ok(r: impl Serialize) -> Response {
    Response::Ok(serde_json::to_value(r).unwrap())
}

fn tuple(src: &str, dst: &str, sport: u16, dport: u16) -> TupleRecord {
    TupleRecord {
        sport: Some(sport),
        dport: Some(dport),
        ..TupleRecord::new(src.parse().unwrap(), dst.parse().unwrap())
    }
}

fn record() -> ConnRecord {
    ConnRecord {
        id: 9,
        family: FamilyName(Family::Ipv4),
        proto: "tcp".into(),
        protonum: 6,
        state: Some("ESTABLISHED".into()),
        timeout: 100,
        status: vec!["SEEN_REPLY".into(), "ASSURED".into()],
        orig: tuple("10.0.0.1", "10.0.0.2", 1000, 80),
        reply: tuple("10.0.0.2", "10.0.0.1", 80, 1000),
        mark: 3,
        zone: 0,
        labels: Labels(0),
        helper: None,
        uses: 1,
        start_ns: None,
    }
}

fn expectation() -> ExpectRecord {
    ExpectRecord {
        id: 1,
        timeout: 295,
        protonum: 6,
        family: FamilyName(Family::Ipv4),
        tuple: tuple("10.0.0.1", "10.0.0.2", 0, 20000),
        mask: tuple("255.255.255.255", "255.255.255.255", 0, 65535),
        master: tuple("10.0.0.1", "10.0.0.2", 40000, 21),
        flags: vec![],
        class: 0,
        helper: "ftp".into(),
        zone: 0,
    }
}

fn status() -> StatusResponse {
    StatusResponse {
        phase: Phase::Running,
        frames: 1,
        now_ns: 42,
    }
}

fn counters() -> CountersResponse {
    CountersResponse {
        received: 5,
        forwarded: 4,
        dropped: 1,
        hooks: [(
            "FORWARD".to_string(),
            HookCounts {
                entered: 5,
                accepted: 4,
                dropped: 1,
                ..HookCounts::default()
            },
        )]
        .into(),
        drops_by_reason: Counts(vec![("policy".into(), 1)]),
        ..CountersResponse::default()
    }
}

fn plugins() -> Vec<PluginInfo> {
    vec![PluginInfo {
        name: "conntrack".into(),
        version: "0.1.0".into(),
        origin: "builtin".into(),
        hooks: vec![HookInfo {
            hook: "PREROUTING".into(),
            families: vec!["ipv4".into(), "ipv6".into()],
            priority: -200,
            name: "conntrack-in".into(),
        }],
    }]
}

/// The fake engine's answers: the protocol's response types, the engine's requests
/// read as the engine reads them; a malformed `chain` answer.
fn answer(target: &str, req: &Value) -> Response {
    if target == "engine" {
        return match EngineRequest::from_slice(req.to_string().as_bytes()) {
            Ok(EngineRequest::Status) => ok(status()),
            Ok(EngineRequest::Counters) => ok(counters()),
            Ok(EngineRequest::Plugins) => ok(plugins()),
            Ok(_) => Response::Err("unsupported".into()),
            Err(e) => Response::Err(format!("engine: {e}")),
        };
    }
    let req = match Request::from_value(req.clone()) {
        Ok(r) => r,
        Err(e) => return Response::Err(format!("bad request: {e}")),
    };
    match req {
        Request::Stats(_) => ok(StatsResponse {
            entries: 1,
            totals: Counts(vec![("found".into(), 2)]),
            buckets: 64,
            workers: vec![],
            resize: None,
        }),
        Request::Helpers(_) => ok(HelpersResponse::default()),
        Request::ExpectList(_) => ok(ExpectListResponse {
            expectations: vec![expectation()],
        }),
        Request::List(_) => ok(ListResponse {
            entries: vec![Entry::Record(Box::new(record()))],
            count: Some(1),
            offset: Some(0),
            limit: Some(10),
            states: Some(Counts(vec![("ESTABLISHED".into(), 1)])),
            ..ListResponse::default()
        }),
        Request::Histogram(_) => ok(HistogramResponse {
            buckets: 64,
            histogram: vec![63, 1],
            longest: 1,
            nodes: 2,
            load_factor: 2.0 / 64.0,
            ..HistogramResponse::default()
        }),
        Request::Buckets(b) => ok(BucketsResponse {
            buckets: 64,
            offset: b.offset,
            lengths: vec![0; 64],
            resize: None,
        }),
        Request::Chain(_) => Response::Ok(json!({"bucket": 0, "nodes": [{"id": "x"}]})),
        _ => Response::Err("unsupported".into()),
    }
}

/// The fake engine the fetch thread talks to.
struct Fake(FakeEngine);

impl Fake {
    /// A fake engine answering as [`answer`] does.
    fn start() -> Fake {
        Fake::answering(answer)
    }

    /// A fake engine whose answers are `answer`'s.
    fn answering(answer: fn(&str, &Value) -> Response) -> Fake {
        Fake(FakeEngine::start("top-fetch", answer))
    }

    /// Its socket.
    fn path(&self) -> PathBuf {
        self.0.path.clone()
    }

    /// The conntrack requests so far, as the plugin reads them.
    fn conntrack(&self) -> Vec<Request> {
        self.0
            .requests()
            .into_iter()
            .filter(|(t, _)| t == "conntrack")
            .map(|(_, v)| Request::from_value(v).unwrap())
            .collect()
    }
}

/// Updates until one `want` accepts (or 5 s pass); every update seen.
fn until(f: &Fetcher, want: impl Fn(&Update) -> bool) -> Vec<Update> {
    let end = Instant::now() + Duration::from_secs(5);
    let mut seen = Vec::new();
    while Instant::now() < end {
        match f.try_recv() {
            Some(u) => {
                let done = want(&u);
                seen.push(u);
                if done {
                    return seen;
                }
            }
            None => std::thread::sleep(Duration::from_millis(5)),
        }
    }
    panic!("no such update in 5 s: {seen:?}");
}

fn wants(view: View, conns_filter: Result<Option<CtFilter>, String>) -> Wants {
    Wants {
        view,
        conns_offset: 0,
        conns_limit: 10,
        conns_filter,
        window: (0, 64),
        bucket: 0,
    }
}

#[test]
fn the_fetch_thread_speaks_the_typed_protocol() {
    let fake = Fake::start();
    let f = Fetcher::spawn(fake.path(), Duration::from_secs(60));
    // The first poll: statistics, helpers, then the expectations view's records.
    f.want(wants(View::Expect, Ok(None)));
    let seen = until(&f, |u| matches!(u, Update::Expects(_)));
    assert!(
        !seen.iter().any(|u| matches!(u, Update::Error(_))),
        "{seen:?}"
    );
    let stats = seen.iter().find_map(|u| match u {
        Update::CtStats { stats, .. } => Some(stats),
        _ => None,
    });
    assert_eq!(stats.map(|s| s.totals.get("found")), Some(Some(2)));
    // The engine's answers arrive as its types.
    assert!(seen.contains(&Update::Status(status())), "{seen:?}");
    assert!(
        seen.iter()
            .any(|u| matches!(u, Update::Counters { counters: c, .. } if *c == counters())),
        "{seen:?}"
    );
    assert!(seen.contains(&Update::Plugins(plugins())), "{seen:?}");
    assert_eq!(seen.last(), Some(&Update::Expects(Ok(vec![expectation()]))));
    let reqs = fake.conntrack();
    assert!(reqs.contains(&Request::Stats(At::default())), "{reqs:?}");
    assert_eq!(
        reqs.last(),
        Some(&Request::ExpectList(At { now_ns: 42 })),
        "at the engine's clock"
    );

    // A filter that cannot be one is shown, and nothing is asked for.
    f.want(wants(View::Conns, Err("src: not an address".into())));
    let seen = until(&f, |u| matches!(u, Update::Conns(_)));
    assert_eq!(
        seen.last(),
        Some(&Update::Conns(
            Err("bad filter: src: not an address".into())
        ))
    );
    assert_eq!(fake.conntrack(), vec![]);

    // A page: the json format's records become rows.
    let filter = CtFilter {
        proto: Some(Proto(6)),
        ..CtFilter::default()
    };
    f.want(wants(View::Conns, Ok(Some(filter.clone()))));
    let seen = until(&f, |u| matches!(u, Update::Conns(_)));
    let Some(Update::Conns(Ok(page))) = seen.last() else {
        panic!("{seen:?}")
    };
    assert_eq!((page.count, page.rows.len()), (Some(1), 1));
    assert_eq!(page.rows[0].source(), "10.0.0.1:1000");
    assert_eq!(page.rows[0].mark, 3);
    assert_eq!(page.states, Some(vec![("ESTABLISHED".into(), 1)]));
    assert_eq!(
        fake.conntrack(),
        vec![Request::List(ct::List {
            now_ns: 42,
            filter: Some(filter),
            format: ct::Format::Json,
            limit: Some(10),
            states: true,
            total: true,
            ..ct::List::default()
        })]
    );

    // The chains view: the histogram and window arrive; the malformed chain answer is
    // an error, not a crash.
    f.want(wants(View::Chains, Ok(None)));
    let seen = until(&f, |u| matches!(u, Update::Error(_)));
    assert!(
        seen.iter()
            .any(|u| matches!(u, Update::Histogram(h) if h.histogram == vec![63, 1])),
        "{seen:?}"
    );
    assert!(
        seen.iter()
            .any(|u| matches!(u, Update::Window(w) if w.lengths.len() == 64)),
        "{seen:?}"
    );
    let Some(Update::Error(e)) = seen.last() else {
        unreachable!()
    };
    assert!(
        e.starts_with("conntrack: the answer to chain does not fit"),
        "{e}"
    );
    assert_eq!(
        fake.conntrack(),
        vec![
            Request::Histogram(ct::Histogram::default()),
            Request::Buckets(ct::Buckets {
                limit: Some(64),
                ..ct::Buckets::default()
            }),
            Request::Chain(ct::Chain::default()),
        ]
    );
}

/// The engine's answers that do not fit their types are errors the dashboard shows
/// (and a status that does not fit is no status); the rest of the poll goes on.
#[test]
fn malformed_engine_answers_are_shown() {
    fn junk(target: &str, req: &Value) -> Response {
        if target == "engine" {
            return match EngineRequest::from_slice(req.to_string().as_bytes()) {
                Ok(EngineRequest::Status) => Response::Ok(json!({"phase": "x", "now_ns": 5})),
                Ok(EngineRequest::Counters) => Response::Ok(json!({"hooks": {"FORWARD": 5}})),
                Ok(EngineRequest::Plugins) => Response::Ok(json!({"plugins": []})),
                _ => Response::Err("unsupported".into()),
            };
        }
        answer(target, req)
    }
    let fake = Fake::answering(junk);
    let f = Fetcher::spawn(fake.path(), Duration::from_secs(60));
    f.want(wants(View::Expect, Ok(None)));
    let seen = until(&f, |u| matches!(u, Update::Expects(_)));
    let errors: Vec<&str> = seen
        .iter()
        .filter_map(|u| match u {
            Update::Error(e) => Some(e.as_str()),
            _ => None,
        })
        .collect();
    for op in ["status", "counters", "plugins"] {
        let want = format!("engine: the answer to {op} does not fit: ");
        assert!(
            errors.iter().any(|e| e.starts_with(&want)),
            "{want}: {errors:?}"
        );
    }
    assert!(
        !seen.iter().any(|u| matches!(
            u,
            Update::Status(_) | Update::Counters { .. } | Update::Plugins(_)
        )),
        "{seen:?}"
    );
    // The conntrack answers still came, asked at the clock of no status (0).
    assert!(
        seen.iter().any(|u| matches!(u, Update::CtStats { .. })),
        "{seen:?}"
    );
    assert_eq!(seen.last(), Some(&Update::Expects(Ok(vec![expectation()]))));
    assert_eq!(
        fake.conntrack().last(),
        Some(&Request::ExpectList(At { now_ns: 0 }))
    );
}
