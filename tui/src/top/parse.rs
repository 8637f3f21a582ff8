//! Reading the engine's answers into [`super::model`] types. Everything here takes a
//! [`serde_json::Value`] that came off the socket and never panics on it: a missing or
//! mistyped field becomes a default (a number 0, an empty string) where the rest of the
//! answer is still useful, and an error only when the answer's shape is wrong.

use super::model::*;
use brickwall_control_protocol::helpers::HelpersResponse;
use serde_json::{Map, Value};

/// An unsigned field, 0 if absent or not a number.
fn u(v: &Value, k: &str) -> u64 {
    v.get(k).and_then(Value::as_u64).unwrap_or(0)
}

/// The sum of a counter over both directions; `None` when the listing has none
/// (conntrack's accounting is off).
fn both(orig: &Value, reply: &Value, k: &str) -> Option<u64> {
    let n = |v: &Value| v.get(k).and_then(Value::as_u64);
    match (n(orig), n(reply)) {
        (None, None) => None,
        (a, b) => Some(a.unwrap_or(0).saturating_add(b.unwrap_or(0))),
    }
}

/// A string field, empty if absent or not a string.
fn s(v: &Value, k: &str) -> String {
    v.get(k)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// The object `v`, or an error naming what was expected.
fn obj<'a>(v: &'a Value, what: &str) -> Result<&'a Map<String, Value>, String> {
    v.as_object()
        .ok_or_else(|| format!("unexpected answer to {what}: {}", short(v)))
}

/// A value for messages, cut to 80 characters.
fn short(v: &Value) -> String {
    let t = v.to_string();
    match t.char_indices().nth(80) {
        Some((i, _)) => format!("{}…", &t[..i]),
        None => t,
    }
}

/// The numeric fields of an object, in its order, as (name, value).
fn numbers(m: &Map<String, Value>) -> Vec<(String, u64)> {
    m.iter()
        .filter_map(|(k, v)| v.as_u64().map(|n| (k.clone(), n)))
        .collect()
}

/// The engine's `status`.
pub fn status(v: &Value) -> Result<EngineStatus, String> {
    obj(v, "status")?;
    Ok(EngineStatus {
        phase: s(v, "phase"),
        frames: u(v, "frames"),
        now_ns: u(v, "now_ns"),
    })
}

/// The conntrack plugin's `histogram`.
pub fn histogram(v: &Value) -> Result<Histogram, String> {
    obj(v, "histogram")?;
    let counts = v
        .get("histogram")
        .and_then(Value::as_array)
        .ok_or_else(|| format!("histogram: no \"histogram\" array in {}", short(v)))?
        .iter()
        .map(|n| n.as_u64().unwrap_or(0))
        .collect();
    let buckets = u(v, "buckets");
    Ok(Histogram {
        buckets,
        offset: u(v, "offset"),
        span: v.get("limit").and_then(Value::as_u64).unwrap_or(buckets),
        counts,
        longest: u(v, "longest"),
        nodes: u(v, "nodes"),
        load_factor: v.get("load_factor").and_then(Value::as_f64).unwrap_or(0.0),
    })
}

/// The conntrack plugin's `buckets`.
pub fn window(v: &Value) -> Result<BucketWindow, String> {
    obj(v, "buckets")?;
    let lengths = v
        .get("lengths")
        .and_then(Value::as_array)
        .ok_or_else(|| format!("buckets: no \"lengths\" array in {}", short(v)))?
        .iter()
        .map(|n| {
            n.as_u64()
                .map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX))
        })
        .collect();
    Ok(BucketWindow {
        buckets: u(v, "buckets"),
        offset: u(v, "offset"),
        lengths,
    })
}

/// The conntrack plugin's `chain`.
pub fn chain(v: &Value) -> Result<Chain, String> {
    obj(v, "chain")?;
    let nodes = v
        .get("nodes")
        .and_then(Value::as_array)
        .ok_or_else(|| format!("chain: no \"nodes\" array in {}", short(v)))?
        .iter()
        .map(|n| ChainNode {
            id: u(n, "id"),
            dir: s(n, "dir"),
            proto: s(n, "proto"),
            tuple: s(n, "tuple"),
        })
        .collect();
    Ok(Chain {
        bucket: u(v, "bucket"),
        nodes,
    })
}

/// One connection of a json-format `list`.
pub fn conn_row(e: &Value) -> ConnRow {
    let orig = e.get("orig").unwrap_or(&Value::Null);
    let reply = e.get("reply").unwrap_or(&Value::Null);
    let port = |k: &str| {
        orig.get(k)
            .and_then(Value::as_u64)
            .and_then(|p| u16::try_from(p).ok())
    };
    let status: Vec<&str> = e
        .get("status")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let src = s(orig, "src");
    let dst = s(orig, "dst");
    ConnRow {
        id: u(e, "id"),
        proto: s(e, "proto"),
        src_ip: src.parse().ok(),
        dst_ip: dst.parse().ok(),
        src,
        dst,
        sport: port("sport"),
        dport: port("dport"),
        state: e.get("state").and_then(Value::as_str).map(str::to_string),
        timeout_s: u(e, "timeout"),
        start_ns: e.get("start_ns").and_then(Value::as_u64),
        packets: both(orig, reply, "packets"),
        bytes: both(orig, reply, "bytes"),
        mark: u(e, "mark"),
        unreplied: !status.contains(&"SEEN_REPLY"),
        assured: status.contains(&"ASSURED"),
    }
}

/// A page of a json-format `list` (with `states`).
pub fn conn_page(v: &Value) -> Result<ConnPage, String> {
    obj(v, "list")?;
    let rows = v
        .get("entries")
        .and_then(Value::as_array)
        .ok_or_else(|| format!("list: no \"entries\" array in {}", short(v)))?
        .iter()
        .map(conn_row)
        .collect();
    let states = v.get("states").and_then(Value::as_object).map(|m| {
        let mut s = numbers(m);
        s.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        s
    });
    Ok(ConnPage {
        offset: u(v, "offset"),
        count: v.get("count").and_then(Value::as_u64),
        more: v.get("more").and_then(Value::as_bool).unwrap_or(false),
        rows,
        states,
    })
}

/// The tuple of an expectation line that starts at the first word beginning with
/// `start`: that word and the address, port, key and ICMP words following it (the
/// `src=… dst=… sport=… dport=…` groups).
fn group(words: &[&str], start: &str) -> String {
    let Some(i) = words.iter().position(|w| w.starts_with(start)) else {
        return String::new();
    };
    let mut out: Vec<&str> = vec![words[i]];
    for w in &words[i + 1..] {
        let plain = [
            "sport=",
            "dport=",
            "dst=",
            "master-dst=",
            "srckey=",
            "dstkey=",
            "type=",
            "code=",
            "id=",
        ];
        if plain.iter().any(|p| w.starts_with(p)) {
            out.push(w);
        } else {
            break;
        }
    }
    out.join(" ")
}

/// One line of `expect-list`, as `conntrack -L expect` prints it:
/// `TIMEOUT proto=P src=… dst=… sport=… dport=… mask-src=… … master-src=… … [FLAGS] class=C helper=H`.
pub fn expect_line(line: &str) -> Option<ExpectRow> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let timeout_s = words.first()?.parse().ok()?;
    let val = |k: &str| {
        words
            .iter()
            .find_map(|w| w.strip_prefix(k))
            .unwrap_or_default()
            .to_string()
    };
    let flags = words
        .iter()
        .filter(|w| matches!(**w, "PERMANENT" | "INACTIVE" | "USERSPACE"))
        .map(|w| w.to_string())
        .collect();
    Some(ExpectRow {
        timeout_s,
        proto: val("proto=").parse().unwrap_or(0),
        tuple: group(&words, "src="),
        master: group(&words, "master-src=").replace("master-", ""),
        helper: val("helper="),
        class: val("class="),
        flags,
    })
}

/// The answer to `expect-list NOW`: lines (a string), one expectation each.
pub fn expects(v: &Value) -> Result<Vec<ExpectRow>, String> {
    match v {
        Value::String(text) => Ok(text.lines().filter_map(expect_line).collect()),
        Value::Null => Ok(Vec::new()),
        other => Err(format!(
            "unexpected answer to expect-list: {}",
            short(other)
        )),
    }
}

/// The counters of `conntrack -S`, in its order, then the expectation ones (the plugin
/// sends them so; a JSON map on this side sorts them by name).
pub use brickwall_control_protocol::conntrack_stats::ALL as CT_STAT_ORDER;

/// The conntrack plugin's `stats`.
pub fn ct_stats(v: &Value) -> Result<CtStats, String> {
    let m = obj(v, "stats")?;
    let mut counters: Vec<(String, u64)> = numbers(m)
        .into_iter()
        .filter(|(k, _)| k != "entries" && k != "buckets")
        .collect();
    counters.sort_by_key(|(k, _)| {
        CT_STAT_ORDER
            .iter()
            .position(|n| n == k)
            .unwrap_or(CT_STAT_ORDER.len())
    });
    Ok(CtStats {
        entries: u(v, "entries"),
        buckets: u(v, "buckets"),
        counters,
    })
}

/// The hooks in packet order, for sorting the `hooks` object (which the engine may
/// send in any order).
const HOOK_ORDER: [&str; 5] = ["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"];

/// The engine's `counters`.
pub fn engine_counters(v: &Value) -> Result<EngineCounters, String> {
    let m = obj(v, "counters")?;
    let mut hooks: Vec<HookVerdicts> = v
        .get("hooks")
        .and_then(Value::as_object)
        .map(|h| {
            h.iter()
                .map(|(name, k)| HookVerdicts {
                    hook: name.clone(),
                    entered: u(k, "entered"),
                    accepted: u(k, "accepted"),
                    dropped: u(k, "dropped"),
                    queued: u(k, "queued"),
                    stolen: u(k, "stolen"),
                    repeated: u(k, "repeated"),
                })
                .collect()
        })
        .unwrap_or_default();
    hooks.sort_by_key(|h| {
        HOOK_ORDER
            .iter()
            .position(|n| *n == h.hook)
            .unwrap_or(HOOK_ORDER.len())
    });
    let named = |k: &str| {
        v.get(k)
            .and_then(Value::as_object)
            .map(numbers)
            .unwrap_or_default()
    };
    Ok(EngineCounters {
        totals: numbers(m),
        hooks,
        drops_by_reason: named("drops_by_reason"),
        parse_drops: named("parse_drops"),
        panics: named("panics"),
    })
}

/// The engine's `plugins`.
pub fn plugins(v: &Value) -> Result<Vec<PluginInfo>, String> {
    let list = v
        .as_array()
        .ok_or_else(|| format!("unexpected answer to plugins: {}", short(v)))?;
    Ok(list
        .iter()
        .map(|p| PluginInfo {
            name: s(p, "name"),
            version: s(p, "version"),
            origin: s(p, "origin"),
            hooks: p
                .get("hooks")
                .and_then(Value::as_array)
                .map(|hs| {
                    hs.iter()
                        .map(|h| PluginHook {
                            hook: s(h, "hook"),
                            families: h
                                .get("families")
                                .and_then(Value::as_array)
                                .map(|f| {
                                    f.iter()
                                        .filter_map(Value::as_str)
                                        .map(str::to_string)
                                        .collect()
                                })
                                .unwrap_or_default(),
                            priority: h.get("priority").and_then(Value::as_i64).unwrap_or(0),
                            name: s(h, "name"),
                        })
                        .collect()
                })
                .unwrap_or_default(),
        })
        .collect())
}

/// The conntrack plugin's `{"op":"helpers"}`.
pub fn helpers(v: &Value) -> Result<Helpers, String> {
    let r: HelpersResponse =
        serde_json::from_value(v.clone()).map_err(|e| format!("helpers: {e} in {}", short(v)))?;
    Ok(Helpers {
        list: r.helpers,
        expect_failed: r.expect_failed,
        unknown_requested: r.unknown_requested,
    })
}

/// The outcome of `{"op":"helpers"}`: a refusal means no helpers (an engine older than
/// them answers "unknown request", one without the conntrack plugin "no such target"),
/// not an error to show; an answer is read by [`helpers`].
pub fn helpers_reply(answer: Result<Value, String>) -> Result<Helpers, String> {
    match answer {
        Ok(v) => helpers(&v),
        Err(_) => Ok(Helpers::default()),
    }
}
