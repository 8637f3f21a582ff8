//! The plugin's control entry point: the operations behind conntrack-tools' `-L`, `-G`,
//! `-D`, `-F`, `-C`, `-S`, `-U` and `-E`, the expectation table's `-L`, `-D`, `-F` and
//! `-I expect`, three views of the hash table (chain-length histogram, the chain
//! lengths of a window of buckets, one bucket's chain) and its resize (the
//! `nf_conntrack_buckets` sysctl's write). Mid-resize the views number the buckets of
//! both arrays, the old first (see [`crate::table`]), and `stats` and `buckets` say
//! how far the resize has come.
//!
//! Requests and answers are the control protocol's types
//! ([`brickwall_control_protocol::conntrack`]): [`parse`] reads a [`Request`] (its
//! errors name the field's path) without the tracker, [`handle_request`] runs it against
//! the tracker. The helper operations (`helpers`, `helper-reload`, `metrics`,
//! `reconfigure`) are the plugin's own and do not reach here.
//!
//! Connections expired at a request's `now_ns` are not listed, found, matched or
//! deleted by a filter (the collector removes them), and timeouts are printed relative
//! to it. `flush` removes every confirmed connection, expired or not, and `count`
//! counts them all, as Linux's `-F` and `-C`. Connections not yet confirmed (their
//! first packet is still on its way to the last hook) are not in the table and are left
//! alone.
//!
//! `list` walks the slots in order (stable while the table does not change): a page
//! whose matches do not all fit answers the `cursor` of the first match after it, so
//! that paging through a table of millions walks it once. `histogram` with
//! `offset`/`limit` counts those buckets only, so that a client can sweep a large
//! table in parts.

mod expect_create;
mod filter;
#[cfg(test)]
mod tests;
mod tuple;

use crate::conn::{Conn, DirCounters, Slot};
use crate::lanes::LaneState;
use crate::list::conntrack_line;
use crate::record::{conn_record, expect_record, family_of};
use crate::table::Table;
use crate::tracker::Tracker;
use crate::tuple::Tuple;
use brickwall_control_protocol::conntrack::record::{proto_name, Dir};
use brickwall_control_protocol::conntrack::request::{self as rq, Format, Request};
use brickwall_control_protocol::conntrack::response::*;
use filter::{matcher, Matcher};
use serde::Serialize;

/// The largest request the plugin reads (the control socket carries up to 16 MiB; no
/// request of this plugin needs a thousandth of that).
pub const MAX_REQUEST: usize = 1 << 20;

/// Reads a request without the tracker: its size checked and its JSON read into a
/// [`Request`], so a large or malformed request costs no one else the lock.
pub fn parse(request: &[u8]) -> Result<Request, String> {
    if request.len() > MAX_REQUEST {
        return Err(format!(
            "request: {} bytes, at most {MAX_REQUEST}",
            request.len()
        ));
    }
    Request::from_slice(request)
}

/// Handles one control request against the tracker; the response bytes or an error message.
pub fn handle(t: &mut Tracker, request: &[u8]) -> Result<Vec<u8>, String> {
    handle_request(t, parse(request)?)
}

fn json<T: Serialize>(v: &T) -> Result<Vec<u8>, String> {
    serde_json::to_vec(v).map_err(|e| format!("response: {e}"))
}

/// Handles a request [`parse`] read.
pub fn handle_request(t: &mut Tracker, request: Request) -> Result<Vec<u8>, String> {
    match request {
        Request::List(r) => {
            let mut walk = ListWalk::new(&r)?;
            walk.step(t, u32::MAX);
            // `-z`: the counters of what was answered, zeroed in the same hold.
            for &i in &walk.listed {
                t.table.zero_counters(i);
            }
            walk.answer()
        }
        Request::Get(r) => {
            let tuple = tuple::tuple(&r.tuple, "tuple", t.config().zone)?;
            let (idx, dir) = find(t, &tuple, r.now_ns)?;
            let c = t.table.get(idx).ok_or("no such connection")?;
            let show = Show {
                labels: r.show_labels,
                id: r.show_id,
            };
            json(&GetResponse {
                entry: entry(&t.table, idx, c, r.now_ns, r.format, show),
                dir: dir_of(dir),
            })
        }
        Request::Delete(r) => {
            let deleted =
                match (&r.tuple, &r.filter) {
                    (Some(_), Some(_)) => {
                        return Err(
                            "delete: give either tuple (one connection) or filter (every \
                                match), not both"
                                .into(),
                        )
                    }
                    (None, None) => return Err(
                        "delete: needs tuple (one connection) or filter (every match; {} for all)"
                            .into(),
                    ),
                    (Some(spec), None) => {
                        let tuple = tuple::tuple(spec, "tuple", t.config().zone)?;
                        let (idx, _) = find(t, &tuple, r.now_ns)?;
                        u64::from(t.remove(idx))
                    }
                    (None, Some(f)) => {
                        let m = matcher(f)?;
                        let idxs = matching(t, &m, r.now_ns);
                        idxs.into_iter().filter(|&i| t.remove(i)).count() as u64
                    }
                };
            json(&Deleted { deleted })
        }
        Request::Update(r) => json(&Updated {
            updated: update(t, &r)?,
        }),
        Request::Flush(_) => {
            let idxs: Vec<u32> = t
                .table
                .slots()
                .filter(|(_, c)| c.slot == Slot::Confirmed)
                .map(|(i, _)| i)
                .collect();
            let deleted = idxs.into_iter().filter(|&i| t.remove(i)).count() as u64;
            json(&Deleted { deleted })
        }
        Request::Count(_) => count(t),
        Request::Stats(_) => {
            let counts = |fields: &[(&str, u64)]| {
                Counts(fields.iter().map(|&(k, v)| (k.to_string(), v)).collect())
            };
            json(&StatsResponse {
                entries: t.table.confirmed() as u64,
                totals: counts(&t.stats.fields()),
                buckets: t.table.buckets() as u64,
                workers: t.worker_stats.iter().map(|w| counts(&w.fields())).collect(),
                resize: resize_progress(&t.table),
            })
        }
        Request::Histogram(r) => {
            let max_len = match r.max_len {
                None => 16,
                Some(0) => return Err("max_len: must be at least 1 (1-1024)".into()),
                Some(n) if n > 1024 => {
                    return Err(format!("max_len: {n} is out of range (1-1024)"))
                }
                Some(n) => usize::from(n),
            };
            json(&if r.offset > 0 || r.limit.is_some() {
                histogram_range(t, max_len, r.offset, r.limit.unwrap_or(u64::MAX))
            } else {
                histogram(t, max_len)
            })
        }
        Request::Buckets(r) => {
            let limit = r.limit.unwrap_or(rq::Buckets::DEFAULT_LIMIT);
            if limit > rq::Buckets::MAX_LIMIT {
                return Err(format!(
                    "limit: {limit} is out of range (0-{})",
                    rq::Buckets::MAX_LIMIT
                ));
            }
            let buckets = t.table.buckets();
            let start = usize::try_from(r.offset).unwrap_or(usize::MAX).min(buckets);
            let end = start.saturating_add(limit as usize).min(buckets);
            json(&BucketsResponse {
                buckets: buckets as u64,
                offset: start as u64,
                lengths: (start..end).map(|b| t.table.chain_len(b) as u32).collect(),
                resize: resize_progress(&t.table),
            })
        }
        Request::Chain(r) => json(&chain(t, r.bucket)?),
        Request::Resize(r) => {
            let buckets = usize::try_from(r.buckets).unwrap_or(usize::MAX);
            let done = t.resize(buckets)?;
            json(&ResizeResponse {
                old: done.old as u64,
                new: done.new as u64,
                already_running: done.already_running,
            })
        }
        Request::Events(r) => {
            let mask = r.mask.unwrap_or(crate::events::class::ALL);
            let max = r.max.unwrap_or(1000).min(100_000) as usize;
            let Tracker {
                events, pollers, ..
            } = t;
            json(&pollers.poll(events, r.cursor, mask, max)?)
        }
        Request::ExpectList(r) => json(&ExpectListResponse {
            expectations: t
                .expects
                .all()
                .iter()
                .filter(|e| e.expires_ns > r.now_ns)
                .map(|e| expect_record(e, r.now_ns))
                .collect(),
        }),
        Request::ExpectDelete(r) => {
            t.expect_delete(r.id)
                .ok_or_else(|| format!("expect-delete: no expectation {}", r.id))?;
            json(&Deleted { deleted: 1 })
        }
        Request::ExpectFlush(_) => {
            let ids: Vec<u32> = t.expects.all().iter().map(|e| e.id).collect();
            let deleted = ids
                .iter()
                .filter(|id| t.expect_delete(**id).is_some())
                .count() as u64;
            json(&Deleted { deleted })
        }
        Request::ExpectCreate(r) => json(&expect_create::run(t, &r)?),
        other => Err(format!(
            "{}: not an operation of the connection table",
            other.op()
        )),
    }
}

/// The direction of tuple index `dir`.
fn dir_of(dir: u8) -> Dir {
    if dir == 1 {
        Dir::Reply
    } else {
        Dir::Original
    }
}

/// Whether a connection is in the table and alive at `now`.
fn alive(c: &Conn, now: u64) -> bool {
    c.slot == Slot::Confirmed && c.expires_ns > now
}

/// The slots of the live connections `m` matches.
fn matching(t: &Tracker, m: &Matcher, now: u64) -> Vec<u32> {
    t.table
        .slots()
        .filter(|(_, c)| alive(c, now) && m.matches(c))
        .map(|(i, _)| i)
        .collect()
}

/// `update`: the connections changed.
fn update(t: &mut Tracker, r: &rq::Update) -> Result<u64, String> {
    let set_labels = r.labels.map(|l| l.0);
    let add = r.label_add.map_or(0, |b| b.0);
    let del = r.label_del.map_or(0, |b| b.0);
    if r.mark.is_none() && set_labels.is_none() && add == 0 && del == 0 && r.timeout.is_none() {
        return Err(
            "update: nothing to change (mark, labels, label_add, label_del or timeout)".into(),
        );
    }
    let idxs = match (&r.tuple, &r.filter) {
        (Some(spec), None) => {
            let tuple = tuple::tuple(spec, "tuple", t.config().zone)?;
            vec![find(t, &tuple, r.now_ns)?.0]
        }
        (None, Some(f)) => matching(t, &matcher(f)?, r.now_ns),
        _ => {
            return Err("update: give either tuple (one connection) or filter (every match)".into())
        }
    };
    let mask = r.mark_mask.unwrap_or(u32::MAX);
    let updated = idxs
        .into_iter()
        .filter(|&i| {
            let Some(c) = t.table.get(i) else {
                return false;
            };
            let mark = r.mark.map_or(c.mark, |m| (c.mark & !mask) | (m & mask));
            let labels = (set_labels.unwrap_or(c.labels()) | add) & !del;
            if let Some(secs) = r.timeout {
                t.set_timeout(i, r.now_ns, secs);
            }
            t.set_mark_and_labels(i, mark, labels)
        })
        .count();
    Ok(updated as u64)
}

/// The answer to `count` (`conntrack -C`): read-only, so it may run on a lane.
pub fn count(t: &Tracker) -> Result<Vec<u8>, String> {
    json(&CountResponse {
        count: t.table.confirmed() as u64,
        max: t.config().max as u64,
    })
}

/// Slots a `list` walks per hold of the tracker (see [`ListWalk`]).
pub const LIST_STEP: u32 = 1024;

/// A `list` answer, built a part at a time: the page of matches `offset..offset+limit`
/// in slot order, every match counted, and (with `states`) counted by state, in one
/// pass over the slots; without `total`, the pass stops at the first match after the
/// page. The caller holds the tracker for one [`step`](Self::step) at a time, so that
/// a large table's listing does not stop the lanes for its whole length (as Linux's
/// dump, it is not one snapshot: connections that come or go meanwhile may or may not
/// be listed).
pub struct ListWalk<'r> {
    req: &'r rq::List,
    matcher: Option<Matcher>,
    limit: usize,
    end: u64,
    /// The next slot to visit.
    at: u32,
    entries: Vec<Entry>,
    count: u64,
    more: bool,
    next: Option<u32>,
    states: Vec<(&'static str, u64)>,
    /// The slots answered, with `zero` (their counters to be zeroed).
    listed: Vec<u32>,
}

impl<'r> ListWalk<'r> {
    /// A walk for request `req`, checked.
    pub fn new(req: &'r rq::List) -> Result<ListWalk<'r>, String> {
        let matcher = req.filter.as_ref().map(matcher).transpose()?;
        if req.limit.is_some_and(|l| l > rq::List::MAX_LIMIT) {
            return Err(format!(
                "limit: {} is out of range (0-{})",
                req.limit.unwrap_or(0),
                rq::List::MAX_LIMIT
            ));
        }
        if req.states && !req.total {
            return Err("states: counting by state needs total (every match counted)".into());
        }
        let limit = req.limit.map_or(usize::MAX, |l| l as usize);
        Ok(ListWalk {
            req,
            matcher,
            limit,
            end: req.offset.saturating_add(limit as u64),
            at: req.cursor.unwrap_or(0),
            entries: Vec::new(),
            count: 0,
            more: false,
            next: None,
            states: Vec::new(),
            listed: Vec::new(),
        })
    }

    /// Walks up to `slots` more slots of `t`, held exclusively; true when the answer is
    /// complete.
    pub fn step(&mut self, t: &Tracker, slots: u32) -> bool {
        let stop = self.at.saturating_add(slots);
        for (i, c) in t.table.slots_from(self.at) {
            if i >= stop {
                self.at = i;
                return false;
            }
            let extensions = (t.table.counters(i), t.table.start_ns(i));
            if self.visit(i, c, extensions) {
                return true;
            }
        }
        true
    }

    /// [`step`](Self::step) on a lane (the tracker shared with the workers' lanes):
    /// each record is read under its own lock.
    pub fn step_on_lane(&mut self, t: &Tracker, lane: &LaneState, slots: u32) -> bool {
        let end = t.table.slot_count();
        let stop = self.at.saturating_add(slots).min(end);
        while self.at < stop {
            let i = self.at;
            self.at += 1;
            let Some(slot) = t.table.lock_slot(i, lane.alone) else {
                continue;
            };
            let c = slot.conn();
            if c.slot == Slot::Free {
                continue;
            }
            if self.visit(i, c, (slot.counters(), t.table.start_of(i))) {
                return true;
            }
        }
        self.at >= end
    }

    /// Takes in the connection in slot `i`; true when the answer is complete.
    fn visit(
        &mut self,
        i: u32,
        c: &Conn,
        extensions: (Option<[DirCounters; 2]>, Option<u64>),
    ) -> bool {
        let (req, now) = (self.req, self.req.now_ns);
        if !alive(c, now) || self.matcher.as_ref().is_some_and(|m| !m.matches(c)) {
            return false;
        }
        if self.count >= self.end && self.next.is_none() {
            self.next = Some(i);
            if !req.total {
                self.more = true;
                return true;
            }
        }
        if self.count >= req.offset && self.entries.len() < self.limit {
            let show = Show {
                labels: req.show_labels,
                id: req.show_id,
            };
            let e = entry_with(c, extensions, now, req.format, show);
            self.entries.push(e);
            if req.zero {
                self.listed.push(i);
            }
        }
        if req.states {
            let name = c
                .proto
                .state_name()
                .unwrap_or_else(|| proto_name(c.orig.proto));
            match self.states.iter_mut().find(|(n, _)| *n == name) {
                Some((_, k)) => *k += 1,
                None => self.states.push((name, 1)),
            }
        }
        self.count += 1;
        false
    }

    /// The answer, once [`step`](Self::step) said it is complete.
    pub fn answer(self) -> Result<Vec<u8>, String> {
        let req = self.req;
        let paged = req.offset > 0 || req.limit.is_some();
        let mut states = self.states;
        json(&ListResponse {
            entries: self.entries,
            count: req.total.then_some(self.count),
            offset: paged.then_some(req.offset),
            limit: if paged { req.limit } else { None },
            more: (!req.total).then_some(self.more),
            cursor: self.next,
            states: req.states.then(|| {
                states.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
                Counts(
                    states
                        .into_iter()
                        .map(|(n, k)| (n.to_string(), k))
                        .collect(),
                )
            }),
        })
    }
}

/// The connection `tuple` names, alive at `now`: slot and direction.
fn find(t: &Tracker, tuple: &Tuple, now: u64) -> Result<(u32, u8), String> {
    match t.table.find(tuple) {
        (Some((idx, dir)), _) if t.table.get(idx).is_some_and(|c| alive(c, now)) => Ok((idx, dir)),
        _ => Err(format!("no such connection: {}", describe(tuple))),
    }
}

/// A tuple in words, for messages: protocol, `conntrack -L` words, zone if not 0.
fn describe(t: &Tuple) -> String {
    let mut s = match proto_name(t.proto) {
        "unknown" => format!("proto {} {}", t.proto, t.conntrack_words()),
        name => format!("{name} {}", t.conntrack_words()),
    };
    if t.zone != 0 {
        s.push_str(&format!(" zone={}", t.zone));
    }
    s
}

/// What text lines end in: the connection's id (`id=N`) and its label bits.
#[derive(Clone, Copy, Debug, Default)]
struct Show {
    labels: bool,
    id: bool,
}

/// One connection in the requested format (text lines ending in its id and label bits
/// as `show` asks, the labels when it has any). Counters and start time come from the
/// table's extensions, when on.
fn entry(table: &Table, idx: u32, c: &Conn, now: u64, format: Format, show: Show) -> Entry {
    let extensions = (table.counters(idx), table.start_ns(idx));
    entry_with(c, extensions, now, format, show)
}

/// [`entry`], with the connection's counters and start time given (`extensions`).
fn entry_with(
    c: &Conn,
    extensions: (Option<[DirCounters; 2]>, Option<u64>),
    now: u64,
    format: Format,
    show: Show,
) -> Entry {
    let (counters, start) = extensions;
    let mut line = match format {
        Format::Text => conntrack_line(c, counters, now),
        Format::Extended => {
            let f = &c.orig;
            format!(
                "{:<8} {} {}",
                family_of(f).0.name(),
                f.family,
                conntrack_line(c, counters, now)
            )
        }
        Format::Json => return Entry::Record(Box::new(conn_record(c, counters, start, now))),
    };
    if show.id {
        line.push_str(&format!(" id={}", c.id));
    }
    let labels = c.labels();
    if show.labels && labels != 0 {
        let bits: Vec<String> = (0..128)
            .filter(|b| labels >> b & 1 == 1)
            .map(|b| b.to_string())
            .collect();
        line.push_str(" labels=");
        line.push_str(&bits.join(","));
    }
    Entry::Line(line)
}

/// The running resize's progress, as the protocol has it.
fn resize_progress(table: &Table) -> Option<ResizeProgress> {
    table.resize_progress().map(|p| ResizeProgress {
        from: p.from as u64,
        to: p.to as u64,
        migrated: p.migrated as u64,
    })
}

/// The nodes of bucket `b`'s chain.
fn chain(t: &Tracker, b: u64) -> Result<ChainResponse, String> {
    let buckets = t.table.buckets();
    let b = usize::try_from(b)
        .ok()
        .filter(|&b| b < buckets)
        .ok_or_else(|| {
            format!(
                "bucket: {b} is out of range (the table has {buckets} buckets, 0-{})",
                buckets - 1
            )
        })?;
    let nodes = t
        .table
        .chain(b)
        .into_iter()
        .filter_map(|(idx, dir)| {
            let c = t.table.get(idx)?;
            let tuple = c.tuple(dir);
            Some(ChainNode {
                id: c.id,
                dir: dir_of(dir),
                proto: proto_name(tuple.proto).to_string(),
                tuple: tuple.conntrack_words(),
            })
        })
        .collect();
    Ok(ChainResponse {
        bucket: b as u64,
        nodes,
    })
}

/// Chain lengths: how many buckets have each length (the last entry counts every longer
/// chain), the longest, the nodes (two per connection) and their mean per bucket.
///
/// One walk of every chain, without allocating per bucket: the table's own histogram
/// with room for chains far longer than any walk follows, folded to `max_len` after.
fn histogram(t: &Tracker, max_len: usize) -> HistogramResponse {
    const WIDE: usize = 4096;
    let buckets = t.table.buckets();
    let wide = t.table.chain_histogram(WIDE);
    let (mut nodes, mut longest) = (0usize, 0usize);
    if wide.get(WIDE).copied().unwrap_or(0) == 0 {
        for (len, &n) in wide.iter().enumerate() {
            nodes += len * n as usize;
            if n > 0 {
                longest = len;
            }
        }
    } else {
        // Some chain is longer still: count exactly, bucket by bucket.
        for b in 0..buckets {
            let len = t.table.chain_len(b);
            nodes += len;
            longest = longest.max(len);
        }
    }
    let mut hist = vec![0u64; max_len + 1];
    for (len, n) in wide.into_iter().enumerate() {
        hist[len.min(max_len)] += n;
    }
    HistogramResponse {
        buckets: buckets as u64,
        histogram: hist,
        longest: longest as u64,
        nodes: nodes as u64,
        load_factor: nodes as f64 / buckets.max(1) as f64,
        offset: None,
        limit: None,
    }
}

/// The histogram of buckets `offset..offset+limit` (clipped to the table), walking each
/// of their chains.
fn histogram_range(t: &Tracker, max_len: usize, offset: u64, limit: u64) -> HistogramResponse {
    let buckets = t.table.buckets();
    let start = usize::try_from(offset).unwrap_or(usize::MAX).min(buckets);
    let end = start
        .saturating_add(usize::try_from(limit).unwrap_or(usize::MAX))
        .min(buckets);
    let mut hist = vec![0u64; max_len + 1];
    let (mut nodes, mut longest) = (0usize, 0usize);
    for b in start..end {
        let len = t.table.chain_len(b);
        hist[len.min(max_len)] += 1;
        nodes += len;
        longest = longest.max(len);
    }
    HistogramResponse {
        buckets: buckets as u64,
        histogram: hist,
        longest: longest as u64,
        nodes: nodes as u64,
        load_factor: nodes as f64 / (end - start).max(1) as f64,
        offset: Some(start as u64),
        limit: Some((end - start) as u64),
    }
}
