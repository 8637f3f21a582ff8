//! What the dashboard derives from the answers. Every answer arrives as the control
//! protocol's type (read by [`crate::client::decode`]: an answer that does not fit is
//! an error to show, never a panic); here the ones the views cannot show as they come
//! become what the views want: a `list` page's rows ([`conn_page`]), the statistics in
//! `conntrack -S` order ([`ct_stats`]), the engine's verdicts per hook in packet order
//! ([`hooks_in_order`]) and its pipeline totals ([`pipeline_totals`]), and the
//! application helpers ([`helpers_reply`], where a refusal means none).

use super::model::*;
use crate::client;
use brickwall_control_protocol::conntrack::response::{Entry, ListResponse};
use brickwall_control_protocol::helpers::HelpersResponse;
use brickwall_hooks::Hook;
use serde_json::Value;

/// A value for messages, cut to 80 characters.
fn short(v: &Value) -> String {
    let t = v.to_string();
    match t.char_indices().nth(80) {
        Some((i, _)) => format!("{}…", &t[..i]),
        None => t,
    }
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

/// The engine's verdicts per hook in packet order (`PREROUTING` to `POSTROUTING`, as
/// [`Hook::ALL`] names them), hooks of other names last by name: (hook, its counts).
pub fn hooks_in_order(c: &CountersResponse) -> Vec<(&str, &HookCounts)> {
    let mut hooks: Vec<(&str, &HookCounts)> =
        c.hooks.iter().map(|(k, v)| (k.as_str(), v)).collect();
    hooks.sort_by_key(|(name, _)| {
        Hook::ALL
            .iter()
            .position(|h| h.name() == *name)
            .unwrap_or(Hook::COUNT)
    });
    hooks
}

/// The pipeline's totals of the engine's `counters` — what became of the packets — as
/// (name, value), by name (the names are the answer's fields).
pub fn pipeline_totals(c: &CountersResponse) -> [(&'static str, u64); 9] {
    [
        ("delivered", c.delivered),
        ("dropped", c.dropped),
        ("forwarded", c.forwarded),
        ("injected", c.injected),
        ("non_ip", c.non_ip),
        ("queued", c.queued),
        ("received", c.received),
        ("reinjected", c.reinjected),
        ("stolen", c.stolen),
    ]
}

/// The outcome of `{"op":"helpers"}`: an answer read as the protocol's
/// [`HelpersResponse`] (one that does not fit is an error to show); a refusal means no
/// helpers (an engine older than them answers "unknown request", one without the
/// conntrack plugin "no such target"), not an error.
pub fn helpers_reply(answer: Result<Value, String>) -> Result<Helpers, String> {
    match answer {
        Ok(v) => client::decode::<HelpersResponse>("helpers", v).map(Helpers::from),
        Err(_) => Ok(Helpers::default()),
    }
}
