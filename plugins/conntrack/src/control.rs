//! The plugin's control entry point: the operations behind conntrack-tools' `-L`, `-G`,
//! `-D`, `-F`, `-C` and `-S`, and three views of the hash table (chain-length histogram,
//! the chain lengths of a window of buckets, one bucket's chain).
//!
//! Requests and responses are JSON objects:
//!
//! | `op` | takes | answers |
//! |---|---|---|
//! | `list` | `filter`, `format`, `show_labels` (text lines end in `labels=BIT,...`), `offset`, `limit`, `states`, `total`, `cursor` | `{"entries": [...], "count": N}` (+ `"offset"`, `"limit"` when paged, `"cursor"` when a match follows the page, `"states"` when asked) |
//! | `get` | `tuple`, `format`, `show_labels` | `{"entry": ..., "dir": "original"\|"reply"}` |
//! | `delete` | `tuple` or `filter` | `{"deleted": N}` |
//! | `flush` | | `{"deleted": N}` |
//! | `count` | | `{"count": N, "max": M}` |
//! | `stats` | | `{"entries": N, <conntrack -S counters>..., "buckets": B}` |
//! | `histogram` | `max_len` (default 16), `offset`, `limit` | `{"buckets", "histogram", "longest", "nodes", "load_factor"}` (+ `"offset"`, `"limit"` for a range) |
//! | `chain` | `bucket` | `{"bucket": b, "nodes": [{"id", "dir", "proto", "tuple"}]}` |
//! | `update` | `mark` (with `mark_mask`: only those bits), `labels` (all 128, `"0x..."`), `label_add`, `label_del` (bit numbers, or `true` for all), and `tuple` or `filter` | `{"updated": N}` (`conntrack -U --mark`, `--label-add`, `--label-del`) |
//! | `buckets` | `offset` (first bucket, default 0), `limit` (default 1024, at most 65536) | `{"buckets": B, "offset": S, "lengths": [...]}` |
//!
//! `list` pages: `offset` skips that many matches and `limit` (at most 10000) caps the
//! entries answered, in slot order (stable while the table does not change; a slot
//! freed and reused moves its new connection to the old place). `count` is then every
//! match, not the page's length, so a client can show "rows 101-150 of 1000000"
//! without copying the table. `"states": true` adds `{"states": {NAME: N, ...}}`, every
//! match counted by protocol state (TCP, SCTP), or by protocol name for protocols
//! without states, in one pass with the page. `"total": false` skips the counting: the
//! walk stops after the page, and the answer has `"more": true|false` (whether a match
//! follows the page) instead of `count` — a page near the start of a table of millions
//! then costs next to nothing, where counting walks every slot.
//!
//! A page whose matches do not all fit answers `"cursor": S`, the slot of the first
//! match after it; the same request with that `cursor` (and `offset` 0) answers the
//! next page, starting its walk there, so that paging through a table of millions
//! walks it once rather than skipping the pages before each one (`offset` and `count`
//! then count from the cursor on). That is how `brickwall ct -L` lists a table too
//! large for one answer (16 MiB).
//!
//! `histogram` with `offset`/`limit` counts the buckets `offset..offset+limit` only
//! (its `load_factor` is theirs), so that a client can sweep a large table in parts
//! instead of holding the table for one walk of every chain; `buckets` stays the
//! table's.
//!
//! Every request may carry `now_ns`, the engine's clock (packet time in replays;
//! default 0): connections expired at that time are not listed, found, matched or
//! deleted by a filter (the collector removes them), and timeouts are printed relative
//! to it. `flush` removes every confirmed connection, expired or not, and `count` counts
//! them all, as Linux's `-F` and `-C`. Connections not yet confirmed (their first packet
//! is still on its way to the last hook) are not in the table and are left alone.
//!
//! A filter's `src`, `dst`, `sport`, `dport` and `zone` are those of the original tuple
//! (conntrack's `-s`, `-d`, `--sport`, `--dport`, `--zone`); `src`/`dst` may be networks
//! (`10.0.0.0/8`); `state` is a TCP or SCTP state name (or a list, any of which
//! matches); `mark` is `MARK` or `MARK/MASK`; `status` names bits that must all be set.
//! A `tuple` is either direction's (as `conntrack -G`/`-D` find it): `proto`, `src`,
//! `dst`, then `sport`/`dport` (TCP, UDP, UDP-Lite, SCTP), `type`/`code`/`id` (ICMP,
//! ICMPv6) or `srckey`/`dstkey` (GRE); `zone` defaults to the tracker's zone.
//!
//! The plain-text requests of earlier versions (`list [NOW_NS]`, `stats`, `count`,
//! `flush`) are still answered as before: any request whose first non-blank byte is not
//! `{` or `[` is read as those words.

mod expect_create;
mod request;
#[cfg(test)]
mod tests;

use crate::conn::{status, Conn, DirCounters, Slot};
use crate::list::{conntrack_line, list};
use crate::table::Table;
use crate::tracker::Tracker;
use crate::tuple::{proto, proto_name, Tuple};
use request::{family_name, Format, Op, Request};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

/// The largest request the plugin reads (the control socket carries up to 16 MiB; no
/// request of this plugin needs a thousandth of that).
pub const MAX_REQUEST: usize = 1 << 20;

/// A request read, before the tracker is locked.
pub enum Parsed<'a> {
    /// A JSON request.
    Json(serde_json::Value),
    /// The plain words of earlier versions.
    Words(&'a [u8]),
}

/// Reads a request without the tracker: its size checked and its JSON parsed, so a
/// large or malformed request costs no one else the lock.
pub fn parse(request: &[u8]) -> Result<Parsed<'_>, String> {
    if request.len() > MAX_REQUEST {
        return Err(format!(
            "request: {} bytes, at most {MAX_REQUEST}",
            request.len()
        ));
    }
    match request.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') | Some(b'[') => serde_json::from_slice(request)
            .map(Parsed::Json)
            .map_err(|e| format!("request: malformed JSON: {e}")),
        _ => Ok(Parsed::Words(request)),
    }
}

/// Handles one control request against the tracker; the response bytes or an error message.
pub fn handle(t: &mut Tracker, request: &[u8]) -> Result<Vec<u8>, String> {
    handle_parsed(t, parse(request)?)
}

/// Handles a request [`parse`] read.
pub fn handle_parsed(t: &mut Tracker, request: Parsed<'_>) -> Result<Vec<u8>, String> {
    match request {
        Parsed::Json(v) => {
            if let Some(poll) = events_request(&v) {
                let (cursor, mask, max, _) = poll?;
                let Tracker {
                    events, pollers, ..
                } = t;
                let out = pollers.poll(events, cursor, mask, max)?;
                return serde_json::to_vec(&out).map_err(|e| format!("response: {e}"));
            }
            if expect_create::is_request(&v) {
                let now = v.get("now_ns").and_then(|n| n.as_u64()).unwrap_or(0);
                return expect_create::run(t, &v, now);
            }
            let req = request::parse_value(&v, t.config().zone)?;
            let out = run(t, &req)?;
            serde_json::to_vec(&out).map_err(|e| format!("response: {e}"))
        }
        Parsed::Words(words) => legacy(t, words),
    }
}

/// An `events` request: `{"op": "events", "cursor": C, "max": N, "mask": M,
/// "timestamps": bool}` takes the events of session `C` (0 starts one, of the event
/// classes in `mask`, default all) and answers `{"cursor", "events", "lost"}`.
#[allow(clippy::type_complexity)]
fn events_request(v: &serde_json::Value) -> Option<Result<(u64, u8, usize, bool), String>> {
    if v.get("op")?.as_str()? != "events" {
        return None;
    }
    let num = |k: &str, d: u64| -> Result<u64, String> {
        match v.get(k) {
            None | Some(serde_json::Value::Null) => Ok(d),
            Some(x) => x.as_u64().ok_or_else(|| format!("{k}: not a number")),
        }
    };
    Some((|| {
        if let Some(o) = v.as_object() {
            if let Some(k) = o.keys().find(|k| {
                !["op", "cursor", "max", "mask", "timestamps", "now_ns"].contains(&k.as_str())
            }) {
                return Err(format!(
                    "{k}: not used by events (it takes cursor, max, mask, timestamps)"
                ));
            }
        }
        let mask = u8::try_from(num("mask", crate::events::class::ALL as u64)?)
            .map_err(|_| "mask: at most 255".to_string())?;
        let ts = v
            .get("timestamps")
            .and_then(|x| x.as_bool())
            .unwrap_or(false);
        Ok((
            num("cursor", 0)?,
            mask,
            num("max", 1000)?.min(100_000) as usize,
            ts,
        ))
    })())
}

/// The plain-text requests: `list [NOW_NS]`, `stats`, `count`, `flush`, and for the
/// expectation table `expect-list [NOW_NS]`, `expect-delete ID`, `expect-flush`.
fn legacy(t: &mut Tracker, request: &[u8]) -> Result<Vec<u8>, String> {
    let req = String::from_utf8_lossy(request);
    let mut words = req.split_whitespace();
    let mut response = Vec::new();
    match words.next() {
        Some("list") => {
            // `list [NOW_NS]`: timeouts are shown relative to NOW (packet time in replays).
            let now = words.next().and_then(|w| w.parse().ok()).unwrap_or(0);
            for line in list(t, now) {
                response.extend_from_slice(line.as_bytes());
                response.push(b'\n');
            }
        }
        Some("stats") => {
            serde_json::to_writer(&mut response, &t.stats).map_err(|e| e.to_string())?;
        }
        Some("count") => response.extend_from_slice(t.table.confirmed().to_string().as_bytes()),
        Some("flush") => response.extend_from_slice(t.flush().to_string().as_bytes()),
        Some("expect-list") => {
            let now = words.next().and_then(|w| w.parse().ok()).unwrap_or(0);
            for e in t.expects.all() {
                if e.expires_ns > now {
                    response.extend_from_slice(e.line(now).as_bytes());
                    response.push(b'\n');
                }
            }
        }
        Some("expect-delete") => {
            let id: u32 = words
                .next()
                .and_then(|w| w.parse().ok())
                .ok_or("expect-delete: give the expectation's id")?;
            t.expect_delete(id)
                .ok_or_else(|| format!("expect-delete: no expectation {id}"))?;
            response.extend_from_slice(b"1");
        }
        Some("expect-flush") => {
            let ids: Vec<u32> = t.expects.all().iter().map(|e| e.id).collect();
            let n = ids
                .iter()
                .filter(|id| t.expect_delete(**id).is_some())
                .count();
            response.extend_from_slice(n.to_string().as_bytes());
        }
        _ => {
            return Err(
                "unknown request; try: list [NOW_NS], stats, count, flush, expect-list [NOW_NS], \
                 expect-delete ID, expect-flush, or a JSON request such as {\"op\": \"list\"}"
                    .to_string(),
            )
        }
    }
    Ok(response)
}

/// A JSON value whose objects keep their fields in the order written (serde_json's own
/// maps sort them).
#[derive(Clone, Debug, PartialEq)]
enum Out {
    /// `null`.
    Null,
    /// An unsigned integer.
    U(u64),
    /// A float.
    F(f64),
    /// A boolean.
    B(bool),
    /// A string.
    S(String),
    /// An array.
    A(Vec<Out>),
    /// An object, fields in order.
    O(Vec<(&'static str, Out)>),
}

impl Serialize for Out {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Out::Null => s.serialize_unit(),
            Out::U(n) => s.serialize_u64(*n),
            Out::F(f) => s.serialize_f64(*f),
            Out::B(b) => s.serialize_bool(*b),
            Out::S(v) => s.serialize_str(v),
            Out::A(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for i in items {
                    seq.serialize_element(i)?;
                }
                seq.end()
            }
            Out::O(fields) => {
                let mut map = s.serialize_map(Some(fields.len()))?;
                for (k, v) in fields {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

impl From<u64> for Out {
    fn from(n: u64) -> Out {
        Out::U(n)
    }
}

impl From<usize> for Out {
    fn from(n: usize) -> Out {
        Out::U(n as u64)
    }
}

impl From<&str> for Out {
    fn from(s: &str) -> Out {
        Out::S(s.to_string())
    }
}

impl From<String> for Out {
    fn from(s: String) -> Out {
        Out::S(s)
    }
}

impl<T: Into<Out>> From<Option<T>> for Out {
    fn from(v: Option<T>) -> Out {
        v.map_or(Out::Null, Into::into)
    }
}

/// The name of a direction.
fn dir_name(dir: u8) -> &'static str {
    if dir == 1 {
        "reply"
    } else {
        "original"
    }
}

/// Whether a connection is in the table and alive at `now`.
fn alive(c: &Conn, now: u64) -> bool {
    c.slot == Slot::Confirmed && c.expires_ns > now
}

/// Runs a checked request.
fn run(t: &mut Tracker, req: &Request) -> Result<Out, String> {
    let now = req.now_ns;
    Ok(match req.op {
        Op::List => list_page(t, req),
        Op::Get => {
            let (idx, dir) = find(t, req)?;
            let c = t.table.get(idx).ok_or("no such connection")?;
            Out::O(vec![
                (
                    "entry",
                    entry(&t.table, idx, c, now, req.format, req.show_labels),
                ),
                ("dir", dir_name(dir).into()),
            ])
        }
        Op::Delete => {
            let deleted = if req.tuple.is_some() {
                let (idx, _) = find(t, req)?;
                usize::from(t.remove(idx))
            } else {
                let idxs: Vec<u32> = t
                    .table
                    .slots()
                    .filter(|(_, c)| alive(c, now))
                    .filter(|(_, c)| req.filter.as_ref().is_none_or(|f| f.matches(c)))
                    .map(|(i, _)| i)
                    .collect();
                idxs.into_iter().filter(|&i| t.remove(i)).count()
            };
            Out::O(vec![("deleted", deleted.into())])
        }
        Op::Update => {
            let idxs: Vec<u32> = if req.tuple.is_some() {
                vec![find(t, req)?.0]
            } else {
                t.table
                    .slots()
                    .filter(|(_, c)| c.slot == Slot::Confirmed && alive(c, now))
                    .filter(|(_, c)| req.filter.as_ref().is_none_or(|f| f.matches(c)))
                    .map(|(i, _)| i)
                    .collect()
            };
            let updated = idxs
                .into_iter()
                .filter(|&i| {
                    let Some(c) = t.table.get(i) else {
                        return false;
                    };
                    let mark = req
                        .mark
                        .map_or(c.mark, |m| (c.mark & !req.mark_mask) | (m & req.mark_mask));
                    let labels = req.labels.apply(c.labels());
                    t.set_mark_and_labels(i, mark, labels)
                })
                .count();
            Out::O(vec![("updated", updated.into())])
        }
        Op::Flush => {
            let idxs: Vec<u32> = t
                .table
                .slots()
                .filter(|(_, c)| c.slot == Slot::Confirmed)
                .map(|(i, _)| i)
                .collect();
            let deleted = idxs.into_iter().filter(|&i| t.remove(i)).count();
            Out::O(vec![("deleted", deleted.into())])
        }
        Op::Count => Out::O(vec![
            ("count", t.table.confirmed().into()),
            ("max", t.config().max.into()),
        ]),
        Op::Stats => {
            let mut fields = vec![("entries", t.table.confirmed().into())];
            fields.extend(t.stats.fields().iter().map(|&(k, v)| (k, Out::U(v))));
            fields.push(("buckets", t.table.buckets().into()));
            // One object per worker, as `conntrack -S` prints one line per CPU.
            let workers: Vec<Out> = t
                .worker_stats
                .iter()
                .map(|w| Out::O(w.fields().iter().map(|&(k, v)| (k, Out::U(v))).collect()))
                .collect();
            fields.push(("workers", Out::A(workers)));
            Out::O(fields)
        }
        Op::Histogram if req.offset > 0 || req.limit.is_some() => {
            histogram_range(t, req.max_len, req.offset, req.limit.unwrap_or(usize::MAX))
        }
        Op::Histogram => histogram(t, req.max_len),
        Op::Buckets => {
            let buckets = t.table.buckets();
            let start = usize::try_from(req.offset)
                .unwrap_or(usize::MAX)
                .min(buckets);
            let end = start.saturating_add(req.limit.unwrap_or(0)).min(buckets);
            let lengths = (start..end)
                .map(|b| Out::U(t.table.chain_len(b) as u64))
                .collect();
            Out::O(vec![
                ("buckets", buckets.into()),
                ("offset", start.into()),
                ("lengths", Out::A(lengths)),
            ])
        }
        Op::Chain => {
            let buckets = t.table.buckets();
            let b = req.bucket.unwrap_or(0);
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
                    Some(Out::O(vec![
                        ("id", u64::from(c.id).into()),
                        ("dir", dir_name(dir).into()),
                        ("proto", proto_name(tuple.proto).into()),
                        ("tuple", tuple.conntrack_words().into()),
                    ]))
                })
                .collect();
            Out::O(vec![("bucket", b.into()), ("nodes", Out::A(nodes))])
        }
    })
}

/// A `list` answer: the page of matches `offset..offset+limit` in slot order, every
/// match counted, and (with `states`) counted by state, in one pass over the slots;
/// without `total`, the pass stops at the first match after the page.
fn list_page(t: &Tracker, req: &Request) -> Out {
    let now = req.now_ns;
    let limit = req.limit.unwrap_or(usize::MAX);
    let end = req.offset.saturating_add(limit as u64);
    let mut entries = Vec::new();
    let mut count = 0u64;
    let mut more = false;
    let mut next = None;
    let mut states: Vec<(&'static str, u64)> = Vec::new();
    let first = req.cursor.map_or(0, |c| c as u32);
    for (i, c) in t
        .table
        .slots_from(first)
        .filter(|(_, c)| alive(c, now))
        .filter(|(_, c)| req.filter.as_ref().is_none_or(|f| f.matches(c)))
    {
        if count >= end && next.is_none() {
            next = Some(i);
            if !req.total {
                more = true;
                break;
            }
        }
        if count >= req.offset && entries.len() < limit {
            entries.push(entry(&t.table, i, c, now, req.format, req.show_labels));
        }
        if req.states {
            let name = c
                .proto
                .state_name()
                .unwrap_or_else(|| proto_name(c.orig.proto));
            match states.iter_mut().find(|(n, _)| *n == name) {
                Some((_, k)) => *k += 1,
                None => states.push((name, 1)),
            }
        }
        count += 1;
    }
    let mut fields = vec![("entries", Out::A(entries))];
    if req.total {
        fields.push(("count", count.into()));
    }
    if req.offset > 0 || req.limit.is_some() {
        fields.push(("offset", req.offset.into()));
        fields.push(("limit", req.limit.into()));
    }
    if !req.total {
        fields.push(("more", Out::B(more)));
    }
    if let Some(i) = next {
        fields.push(("cursor", u64::from(i).into()));
    }
    if req.states {
        states.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        fields.push((
            "states",
            Out::O(states.into_iter().map(|(n, k)| (n, Out::U(k))).collect()),
        ));
    }
    Out::O(fields)
}

/// The connection a request's tuple names, alive at its `now_ns`: slot and direction.
fn find(t: &Tracker, req: &Request) -> Result<(u32, u8), String> {
    let tuple = req.tuple.as_ref().ok_or("tuple: missing")?;
    match t.table.find(tuple) {
        (Some((idx, dir)), _) if t.table.get(idx).is_some_and(|c| alive(c, req.now_ns)) => {
            Ok((idx, dir))
        }
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

/// One connection in the requested format (text lines ending in its label bits when
/// `show_labels` is set and it has any).
/// Counters and start time come from the table's extensions, when on.
fn entry(table: &Table, idx: u32, c: &Conn, now: u64, format: Format, show_labels: bool) -> Out {
    let counters = table.counters(idx);
    let mut line = match format {
        Format::Text => conntrack_line(c, counters, now),
        Format::Extended => {
            let f = c.orig.family;
            format!(
                "{:<8} {} {}",
                family_name(f),
                f,
                conntrack_line(c, counters, now)
            )
        }
        Format::Json => return entry_json(c, counters, table.start_ns(idx), now),
    };
    let labels = c.labels();
    if show_labels && labels != 0 {
        let bits: Vec<String> = (0..128)
            .filter(|b| labels >> b & 1 == 1)
            .map(|b| b.to_string())
            .collect();
        line.push_str(" labels=");
        line.push_str(&bits.join(","));
    }
    Out::S(line)
}

/// One connection as an object with every field (`packets`, `bytes` and `start_ns`
/// only with the extensions that keep them, as Linux leaves out their attributes).
fn entry_json(
    c: &Conn,
    counters: Option<[DirCounters; 2]>,
    start_ns: Option<u64>,
    now: u64,
) -> Out {
    let t0 = &c.orig;
    let statuses = status::NAMES
        .iter()
        .filter(|(bit, _)| c.has(*bit))
        .map(|(_, n)| Out::from(*n))
        .collect();
    let mut f = vec![
        ("id", u64::from(c.id).into()),
        ("family", family_name(t0.family).into()),
        ("proto", proto_name(t0.proto).into()),
        ("protonum", u64::from(t0.proto).into()),
        ("state", c.proto.state_name().into()),
        ("timeout", c.secs_left(now).into()),
        ("status", Out::A(statuses)),
        ("orig", tuple_json(c, counters, 0)),
        ("reply", tuple_json(c, counters, 1)),
        ("mark", u64::from(c.mark).into()),
        ("zone", u64::from(t0.zone).into()),
        ("labels", format!("0x{:x}", c.labels()).into()),
        ("helper", c.helper().into()),
        ("use", (c.uses() as u64).into()),
    ];
    if let Some(start) = start_ns {
        f.push(("start_ns", start.into()));
    }
    Out::O(f)
}

/// One direction's tuple and counters (when kept) as an object.
fn tuple_json(c: &Conn, counters: Option<[DirCounters; 2]>, dir: usize) -> Out {
    let t = &c.tuple(dir as u8);
    let mut f = vec![
        ("src", t.fmt_addr(&t.src).into()),
        ("dst", t.fmt_addr(&t.dst).into()),
    ];
    match t.proto {
        proto::TCP | proto::UDP | proto::UDPLITE | proto::SCTP => {
            f.push(("sport", u64::from(t.src_id).into()));
            f.push(("dport", u64::from(t.dst_id).into()));
        }
        proto::ICMP | proto::ICMPV6 if t.is_icmp() => {
            f.push(("type", u64::from(t.dst_id >> 8).into()));
            f.push(("code", u64::from(t.dst_id & 0xff).into()));
            f.push(("id", u64::from(t.src_id).into()));
        }
        proto::GRE => {
            f.push(("srckey", u64::from(t.src_id).into()));
            f.push(("dstkey", u64::from(t.dst_id).into()));
        }
        _ => {}
    }
    if let Some(n) = counters {
        f.push(("packets", n[dir].packets.into()));
        f.push(("bytes", n[dir].bytes.into()));
    }
    Out::O(f)
}

/// Chain lengths: how many buckets have each length (the last entry counts every longer
/// chain), the longest, the nodes (two per connection) and their mean per bucket.
///
/// One walk of every chain, without allocating per bucket: the table's own histogram
/// with room for chains far longer than any walk follows, folded to `max_len` after.
fn histogram(t: &Tracker, max_len: usize) -> Out {
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
    Out::O(vec![
        ("buckets", buckets.into()),
        ("histogram", Out::A(hist.into_iter().map(Out::U).collect())),
        ("longest", longest.into()),
        ("nodes", nodes.into()),
        ("load_factor", Out::F(nodes as f64 / buckets.max(1) as f64)),
    ])
}

/// The histogram of buckets `offset..offset+limit` (clipped to the table), walking each
/// of their chains.
fn histogram_range(t: &Tracker, max_len: usize, offset: u64, limit: usize) -> Out {
    let buckets = t.table.buckets();
    let start = usize::try_from(offset).unwrap_or(usize::MAX).min(buckets);
    let end = start.saturating_add(limit).min(buckets);
    let mut hist = vec![0u64; max_len + 1];
    let (mut nodes, mut longest) = (0usize, 0usize);
    for b in start..end {
        let len = t.table.chain_len(b);
        hist[len.min(max_len)] += 1;
        nodes += len;
        longest = longest.max(len);
    }
    Out::O(vec![
        ("buckets", buckets.into()),
        ("histogram", Out::A(hist.into_iter().map(Out::U).collect())),
        ("longest", longest.into()),
        ("nodes", nodes.into()),
        (
            "load_factor",
            Out::F(nodes as f64 / (end - start).max(1) as f64),
        ),
        ("offset", start.into()),
        ("limit", (end - start).into()),
    ])
}
