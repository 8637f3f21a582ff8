//! The fetch thread: the only code of the dashboard that talks to the engine. It owns
//! the [`Client`], polls every interval (the engine's status, the conntrack statistics
//! and the pipeline's counters, and what the current view shows; the plugins and the
//! conntrack plugin's application helpers every [`PLUGINS_EVERY`], and on every poll
//! while the plugins view shows them — the helpers also while the counters view
//! does — since their counters change), reads the answers into [`super::model`]
//! types and sends them to the UI thread as [`Update`]s over a channel. Its requests
//! are the control protocol's, [`EngineRequest`]s to the engine and [`Request`]s to the
//! conntrack plugin, and each answer is read as the request's response type; an answer
//! that does not fit is an error the dashboard shows, as a refusal is (but a refused
//! `helpers` means no helpers). The UI thread tells it what to fetch with
//! [`Wants`]; a change (a key that moves the selection, another view) is fetched at
//! once, without waiting for the next poll. The UI thread never waits for the engine.
//!
//! When the engine goes away the thread says so ([`Update::Disconnected`]) and tries to
//! connect again every [`RETRY`]; it ends when the UI thread drops its [`Fetcher`].
//!
//! What the engine pays: every request holds the conntrack plugin's table (its lock)
//! while it is answered, and packets wait meanwhile. So the expensive answers are asked
//! for in small pieces or seldom. The histogram walks every chain: a large table's is
//! asked for in ranges of buckets holding about [`HIST_NODES`] nodes, one range per
//! poll, and the UI adds the latest of each range up. Counting every connection (and
//! counting them by state) walks the whole table: a page is asked for without counting
//! (the walk stops after the page), and counted only every [`COUNT_EVERY`] or when the
//! filter changes.

use super::derive;
use super::model::*;
use super::state::View;
use crate::client::{self, Client, ClientError};
use crate::protocol::ENGINE_TARGET as ENGINE;
use brickwall_control_protocol::conntrack::request::{
    self as ct, At, Buckets, Filter as CtFilter, List, Nothing,
};
use brickwall_control_protocol::conntrack::response::{ExpectListResponse, ListResponse};
use brickwall_control_protocol::conntrack::{Request, TARGET as CONNTRACK};
use brickwall_control_protocol::engine::EngineRequest;
use crossbeam_channel::{bounded, unbounded, Receiver, RecvTimeoutError, Sender};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Wait between two attempts to reach a missing engine.
pub const RETRY: Duration = Duration::from_secs(1);

/// How long one request may take before the engine counts as gone.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// How often the plugin list and the helpers are asked for again when no view shows
/// them (the list changes rarely).
pub const PLUGINS_EVERY: Duration = Duration::from_secs(10);

/// Nodes one histogram request should walk at most (a range of buckets that holds
/// about as many, at the table's load factor).
pub const HIST_NODES: u64 = 65_536;

/// How often the connections view counts every match (and counts them by state).
pub const COUNT_EVERY: Duration = Duration::from_secs(5);

/// The range of buckets the next histogram request covers: from `next`, enough buckets
/// to hold about [`HIST_NODES`] nodes when the table has `nodes` in `buckets` (at least
/// 1024 buckets, at most the rest of the table).
pub fn hist_range(next: u64, buckets: u64, nodes: u64) -> (u64, u64) {
    if buckets == 0 {
        return (0, 0);
    }
    let start = if next >= buckets { 0 } else { next };
    let span = if nodes <= HIST_NODES {
        buckets
    } else {
        (u128::from(buckets) * u128::from(HIST_NODES) / u128::from(nodes)) as u64
    };
    let span = span.max(1024).min(buckets - start);
    (start, span)
}

/// What the UI wants fetched besides what every poll fetches.
#[derive(Clone, Debug, PartialEq)]
pub struct Wants {
    /// The view on screen.
    pub view: View,
    /// Connections view: first match of the page.
    pub conns_offset: u64,
    /// Connections view: rows of the page.
    pub conns_limit: usize,
    /// Connections view: the plugin's filter (`None`: every connection), or why the
    /// filter typed cannot be one.
    pub conns_filter: Result<Option<CtFilter>, String>,
    /// Chains view: first bucket of the heat map's window and its size.
    pub window: (u64, u64),
    /// Chains view: the selected bucket.
    pub bucket: u64,
}

/// What the fetch thread tells the UI.
#[derive(Clone, Debug, PartialEq)]
pub enum Update {
    /// The engine cannot be reached (or went away): why. Retrying.
    Disconnected(String),
    /// The engine's status.
    Status(StatusResponse),
    /// The conntrack statistics, taken `at` (time since the thread started).
    CtStats {
        /// The counters, in `conntrack -S` order.
        stats: StatsResponse,
        /// When they were read.
        at: Duration,
    },
    /// The pipeline's counters, taken `at`.
    Counters {
        /// The counters.
        counters: CountersResponse,
        /// When they were read.
        at: Duration,
    },
    /// The loaded plugins.
    Plugins(Vec<PluginInfo>),
    /// The conntrack plugin's application helpers (empty when the engine has none).
    Helpers(Helpers),
    /// The chain-length histogram (of the table or of a range of its buckets).
    Histogram(HistogramResponse),
    /// The heat map's window.
    Window(BucketsResponse),
    /// The selected bucket's chain.
    Chain(ChainResponse),
    /// A page of connections, or why there is none (a bad filter, a refusal, an answer
    /// that did not fit), as the view shows it.
    Conns(Result<ConnPage, String>),
    /// The expectations, or why they could not be read.
    Expects(Result<Vec<ExpectRecord>, String>),
    /// A request was refused (the rest of the poll went on): the message.
    Error(String),
    /// A poll completed.
    Refreshed,
}

/// The UI's end of the fetch thread.
#[derive(Debug)]
pub struct Fetcher {
    wants: Sender<Wants>,
    updates: Receiver<Update>,
}

impl Fetcher {
    /// Starts the thread for the engine at `socket`, polling every `interval`. It
    /// starts fetching once it has the first [`Wants`].
    pub fn spawn(socket: PathBuf, interval: Duration) -> Fetcher {
        let (wants_tx, wants_rx) = unbounded();
        let (tx, updates) = bounded(1024);
        let _ = std::thread::Builder::new()
            .name("brickwall-top-fetch".into())
            .spawn(move || Worker::new(socket, interval, wants_rx, tx).run());
        Fetcher {
            wants: wants_tx,
            updates,
        }
    }

    /// Tells the thread what the UI shows now.
    pub fn want(&self, w: Wants) {
        let _ = self.wants.send(w);
    }

    /// The next update, if one is waiting.
    pub fn try_recv(&self) -> Option<Update> {
        self.updates.try_recv().ok()
    }
}

/// Why a poll stopped early.
enum Stop {
    /// The connection failed: the message; reconnect.
    Gone(String),
    /// The UI is gone: end the thread.
    Quit,
}

/// The thread's state.
struct Worker {
    socket: PathBuf,
    interval: Duration,
    wants_rx: Receiver<Wants>,
    tx: Sender<Update>,
    start: Instant,
    client: Option<Client>,
    now_ns: u64,
    plugins_at: Option<Instant>,
    /// Buckets and nodes of the table, from the last statistics.
    table: (u64, u64),
    /// The first bucket of the histogram's next range.
    hist_next: u64,
    /// When the connections were last counted, and with which filter.
    counted: Option<(Instant, Option<CtFilter>)>,
}

impl Worker {
    fn new(
        socket: PathBuf,
        interval: Duration,
        wants_rx: Receiver<Wants>,
        tx: Sender<Update>,
    ) -> Worker {
        Worker {
            socket,
            interval,
            wants_rx,
            tx,
            start: Instant::now(),
            client: None,
            now_ns: 0,
            plugins_at: None,
            table: (0, 0),
            hist_next: 0,
            counted: None,
        }
    }

    fn run(mut self) {
        let Ok(mut wants) = self.wants_rx.recv() else {
            return;
        };
        let mut fetched: Option<Wants> = None;
        let mut next_poll = Instant::now();
        loop {
            let now = Instant::now();
            let mut full = now >= next_poll;
            if !full {
                match self.wants_rx.recv_timeout(next_poll - now) {
                    Ok(w) => wants = w,
                    Err(RecvTimeoutError::Timeout) => full = true,
                    Err(RecvTimeoutError::Disconnected) => return,
                }
            }
            while let Ok(w) = self.wants_rx.try_recv() {
                wants = w;
            }
            if !full && fetched.as_ref() == Some(&wants) {
                continue;
            }
            if self.client.is_none() && !full {
                continue; // wait for the next attempt to connect
            }
            let prev = if full { None } else { fetched.as_ref() };
            let r = self.poll(&wants, prev, full);
            match r {
                Ok(()) => fetched = Some(wants.clone()),
                Err(Stop::Quit) => return,
                Err(Stop::Gone(why)) => {
                    self.client = None;
                    fetched = None;
                    if self.tx.send(Update::Disconnected(why)).is_err() {
                        return;
                    }
                    next_poll = Instant::now() + RETRY;
                    continue;
                }
            }
            if full {
                next_poll = Instant::now() + self.interval;
                if self.tx.send(Update::Refreshed).is_err() {
                    return;
                }
            }
        }
    }

    fn send(&self, u: Update) -> Result<(), Stop> {
        self.tx.send(u).map_err(|_| Stop::Quit)
    }

    /// One request: the answer, `Ok(Err(msg))` if the target refused it, `Err` if the
    /// connection failed.
    fn call(&mut self, target: &str, req: &Value) -> Result<Result<Value, String>, Stop> {
        if self.client.is_none() {
            let c = Client::connect(&self.socket).map_err(|e| Stop::Gone(e.to_string()))?;
            c.set_timeout(Some(REQUEST_TIMEOUT));
            self.client = Some(c);
            self.plugins_at = None;
            self.counted = None;
            self.hist_next = 0;
        }
        let Some(c) = self.client.as_mut() else {
            return Err(Stop::Gone("not connected".into()));
        };
        match c.call(target, req) {
            Ok(v) => Ok(Ok(v)),
            Err(ClientError::Remote(m)) => Ok(Err(m)),
            Err(e) => Err(Stop::Gone(e.to_string())),
        }
    }

    /// A request to the conntrack plugin, its answer read as `T` (the request's
    /// response type): `Ok(Err(msg))` if the plugin refused it or the answer does not
    /// fit, `Err` if the connection failed.
    fn ask<T: DeserializeOwned>(&mut self, req: &Request) -> Result<Result<T, String>, Stop> {
        Ok(self
            .call(CONNTRACK, &req.to_value())?
            .and_then(|v| client::decode(req.op(), v)))
    }

    /// A request to the engine, its answer read as `T` (the request's response type),
    /// as [`Self::ask`].
    fn ask_engine<T: DeserializeOwned>(
        &mut self,
        req: EngineRequest,
    ) -> Result<Result<T, String>, Stop> {
        Ok(self
            .call(ENGINE, &req.to_value())?
            .and_then(|v| client::decode(req.op(), v)))
    }

    /// An answer of `target` sent on as an update; a refusal or an answer that does
    /// not fit becomes [`Update::Error`].
    fn deliver<T>(
        &self,
        target: &str,
        answer: Result<T, String>,
        wrap: impl FnOnce(T) -> Update,
    ) -> Result<(), Stop> {
        match answer {
            Ok(t) => self.send(wrap(t)),
            Err(e) => self.send(Update::Error(format!("{target}: {e}"))),
        }
    }

    /// A conntrack request whose answer, read as `T`, is sent on as an update
    /// ([`Self::deliver`]).
    fn fetch_ct<T: DeserializeOwned>(
        &mut self,
        req: Request,
        wrap: impl FnOnce(T) -> Update,
    ) -> Result<(), Stop> {
        let answer = self.ask(&req)?;
        self.deliver(CONNTRACK, answer, wrap)
    }

    /// An engine request whose answer, read as `T`, is sent on as an update
    /// ([`Self::deliver`]).
    fn fetch_engine<T: DeserializeOwned>(
        &mut self,
        req: EngineRequest,
        wrap: impl FnOnce(T) -> Update,
    ) -> Result<(), Stop> {
        let answer = self.ask_engine(req)?;
        self.deliver(ENGINE, answer, wrap)
    }

    /// The page of connections `w` wants, of the matches of `filter`; counted (every
    /// match, and by state) every [`COUNT_EVERY`] and when the filter changes.
    fn conns(
        &mut self,
        w: &Wants,
        filter: Option<CtFilter>,
    ) -> Result<Result<ConnPage, String>, Stop> {
        let count = self
            .counted
            .as_ref()
            .is_none_or(|(at, f)| at.elapsed() >= COUNT_EVERY || *f != filter);
        if count {
            self.counted = Some((Instant::now(), filter.clone()));
        }
        let req = Request::List(List {
            now_ns: self.now_ns,
            filter,
            format: ct::Format::Json,
            offset: w.conns_offset,
            limit: Some((w.conns_limit as u64).min(List::MAX_LIMIT)),
            states: count,
            total: count,
            ..List::default()
        });
        Ok(match self.call(CONNTRACK, &req.to_value())? {
            Err(refused) => Err(format!("the engine refused: {refused}")),
            Ok(v) => client::decode::<ListResponse>(req.op(), v)
                .and_then(derive::conn_page)
                .map_err(|e| format!("{CONNTRACK}: {e}")),
        })
    }

    /// A full poll (`prev` = `None`), or what changed from `prev` to `w`.
    fn poll(&mut self, w: &Wants, prev: Option<&Wants>, full: bool) -> Result<(), Stop> {
        if full {
            let status = self.ask_engine::<StatusResponse>(EngineRequest::Status)?;
            if let Ok(st) = &status {
                self.now_ns = st.now_ns;
            }
            self.deliver(ENGINE, status, Update::Status)?;
            let at = self.start.elapsed();
            match self
                .ask(&Request::Stats(At::default()))?
                .map(derive::ct_stats)
            {
                Ok(stats) => {
                    self.table = (stats.buckets, stats.entries.saturating_mul(2));
                    self.send(Update::CtStats { stats, at })?;
                }
                Err(e) => self.send(Update::Error(format!("{CONNTRACK}: {e}")))?,
            }
            let at = self.start.elapsed();
            self.fetch_engine(EngineRequest::Counters, |counters| Update::Counters {
                counters,
                at,
            })?;
            let plugins_due = self
                .plugins_at
                .is_none_or(|t| t.elapsed() >= PLUGINS_EVERY || w.view == View::Plugins);
            if plugins_due {
                self.plugins_at = Some(Instant::now());
                self.fetch_engine(EngineRequest::Plugins, Update::Plugins)?;
            }
            // The helpers with the plugins, and on every poll while a view shows their
            // counters.
            if plugins_due || w.view == View::Counters {
                let reply = self.call(CONNTRACK, &Request::Helpers(Nothing {}).to_value())?;
                self.deliver(CONNTRACK, derive::helpers_reply(reply), Update::Helpers)?;
            }
        }
        let prev = prev.filter(|p| p.view == w.view);
        match w.view {
            View::Chains => {
                if prev.is_none() {
                    let (buckets, nodes) = self.table;
                    let (start, span) = hist_range(self.hist_next, buckets, nodes);
                    let range = if start == 0 && span == buckets {
                        ct::Histogram::default()
                    } else {
                        ct::Histogram {
                            offset: start,
                            limit: Some(span),
                            ..ct::Histogram::default()
                        }
                    };
                    self.hist_next = start.saturating_add(span);
                    self.fetch_ct(Request::Histogram(range), Update::Histogram)?;
                }
                if prev.is_none_or(|p| p.window != w.window) {
                    let (offset, n) = w.window;
                    let req = Request::Buckets(Buckets {
                        offset,
                        limit: Some(n),
                        ..Buckets::default()
                    });
                    self.fetch_ct(req, Update::Window)?;
                }
                if prev.is_none_or(|p| p.bucket != w.bucket) {
                    let req = Request::Chain(ct::Chain {
                        bucket: w.bucket,
                        ..ct::Chain::default()
                    });
                    self.fetch_ct(req, Update::Chain)?;
                }
            }
            View::Conns => {
                let page = match &w.conns_filter {
                    Err(e) => Err(format!("bad filter: {e}")),
                    Ok(filter) => self.conns(w, filter.clone())?,
                };
                self.send(Update::Conns(page))?;
            }
            View::Expect => {
                let req = Request::ExpectList(At {
                    now_ns: self.now_ns,
                });
                let rows = self
                    .ask::<ExpectListResponse>(&req)?
                    .map(|r| r.expectations);
                self.send(Update::Expects(rows))?;
            }
            View::Counters | View::Plugins => {}
        }
        Ok(())
    }
}
