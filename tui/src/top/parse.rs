//! What the dashboard derives from the answers. The conntrack plugin's answers arrive
//! as the control protocol's types (read by [`crate::client::decode`]: an answer that
//! does not fit is an error to show, never a panic); here they become what the views
//! want: a `list` page's rows ([`conn_page`]) and the statistics in `conntrack -S` order
//! ([`ct_stats`]). The `engine` target's answers (status, counters, plugins) have no
//! protocol types yet and are read from a [`serde_json::Value`] here, never panicking
//! on it: a missing or mistyped field becomes a default (a number 0, an empty string)
//! where the rest of the answer is still useful, and an error only when the answer's
//! shape is wrong.

use super::model::*;
use brickwall_control_protocol::conntrack::response::{Entry, ListResponse};
use brickwall_control_protocol::helpers::HelpersResponse;
use serde_json::{Map, Value};

/// An unsigned field, 0 if absent or not a number.
fn u(v: &Value, k: &str) -> u64 {
    v.get(k).and_then(Value::as_u64).unwrap_or(0)
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

/// A page of a json-format `list` (with `states`, when counted): its records as rows,
/// the counts by state largest first. An entry that is not a record (a text line) is
/// an error.
pub fn conn_page(r: ListResponse) -> Result<ConnPage, String> {
    let rows = r
        .entries
        .iter()
        .map(|e| match e {
            Entry::Record(rec) => Ok(ConnRow::from(&**rec)),
            Entry::Line(l) => Err(format!(
                "list: a text line where a record was asked for: {}",
                short(&Value::from(l.as_str()))
            )),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let states = r.states.map(|Counts(mut s)| {
        s.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        s
    });
    Ok(ConnPage {
        offset: r.offset.unwrap_or(0),
        count: r.count,
        more: r.more.unwrap_or(false),
        rows,
        states,
    })
}

/// The counters of `conntrack -S`, in its order, then the expectation ones (the plugin
/// sends them so; a JSON map on this side sorts them by name).
pub use brickwall_control_protocol::conntrack_stats::ALL as CT_STAT_ORDER;

/// The conntrack plugin's `stats`, its counters in `conntrack -S` order then the
/// expectation ones (the order is lost on the way: a JSON object read into a
/// [`serde_json::Value`] sorts its fields by name); counters of other names last.
pub fn ct_stats(mut r: StatsResponse) -> StatsResponse {
    r.totals.0.sort_by_key(|(k, _)| {
        CT_STAT_ORDER
            .iter()
            .position(|n| n == k)
            .unwrap_or(CT_STAT_ORDER.len())
    });
    r
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
