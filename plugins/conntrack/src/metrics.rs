//! The plugin's metric families, its answer to `{"op":"metrics"}`: the table's size and
//! statistics under node_exporter's conntrack names (so existing dashboards and alerts
//! work), brickwall's own conntrack counters, the pending expectations, and each
//! helper's calls, expectations and failures.

use crate::tracker::Tracker;
use brickwall_control_protocol::conntrack_stats;
use brickwall_control_protocol::metrics::{MetricFamily, MetricKind};
use brickwall_helpers::HelperReport;

/// Statistics brickwall reports as counters of its own (node_exporter has no name for
/// them).
const OWN: [&str; 5] = [
    "expect_new",
    "expect_create",
    "expect_delete",
    "clash_resolve",
    "chaintoolong",
];

/// The families of the table and its statistics.
pub fn tracker_families(t: &Tracker) -> Vec<MetricFamily> {
    let mut out = vec![
        MetricFamily::single(
            "node_nf_conntrack_entries",
            MetricKind::Gauge,
            "Connections in the table.",
            t.table.confirmed() as f64,
        ),
        MetricFamily::single(
            "node_nf_conntrack_entries_limit",
            MetricKind::Gauge,
            "Most connections the table holds.",
            t.config().max as f64,
        ),
    ];
    let totals = t.stats.fields();
    for (name, value) in totals {
        if let Some(metric) = conntrack_stats::node_exporter_name(name) {
            out.push(MetricFamily::single(
                metric,
                MetricKind::Gauge,
                format!("Conntrack statistic {name}, all workers."),
                value as f64,
            ));
        }
    }
    for (name, value) in totals.iter().filter(|(n, _)| OWN.contains(n)) {
        out.push(MetricFamily::single(
            format!("brickwall_conntrack_{name}_total"),
            MetricKind::Counter,
            format!("Conntrack statistic {name}, all workers."),
            *value as f64,
        ));
    }
    let mut found = MetricFamily::new(
        "brickwall_conntrack_found_total",
        MetricKind::Counter,
        "Lookups that found a connection, per worker.",
    );
    for (i, w) in t.worker_stats.iter().enumerate() {
        found.push(&[("worker", &i.to_string())], w.found as f64);
    }
    out.push(found);
    out.push(MetricFamily::single(
        "brickwall_expectations",
        MetricKind::Gauge,
        "Pending expectations.",
        t.expects.len() as f64,
    ));
    out
}

/// The families of the helpers, from their reports.
pub fn helper_families(reports: &[HelperReport]) -> Vec<MetricFamily> {
    let mut calls = MetricFamily::new(
        "brickwall_helper_calls_total",
        MetricKind::Counter,
        "Packets handed to a helper.",
    );
    let mut expectations = MetricFamily::new(
        "brickwall_helper_expectations_total",
        MetricKind::Counter,
        "Expectations a helper asked for.",
    );
    let mut failures = MetricFamily::new(
        "brickwall_helper_failures_total",
        MetricKind::Counter,
        "Failed helper calls by kind.",
    );
    let mut disabled = MetricFamily::new(
        "brickwall_helper_disabled",
        MetricKind::Gauge,
        "1 when a helper was disabled after too many failures.",
    );
    for r in reports {
        let h = r.name.as_str();
        let s = &r.stats;
        calls.push(&[("helper", h)], s.calls as f64);
        expectations.push(&[("helper", h)], s.expectations as f64);
        for (kind, n) in [
            ("trap", s.traps),
            ("budget", s.budget_exhausted),
            ("memory", s.memory_exceeded),
            ("state_oversize", s.state_oversize),
        ] {
            failures.push(&[("helper", h), ("kind", kind)], n as f64);
        }
        disabled.push(&[("helper", h)], u8::from(s.disabled));
    }
    vec![calls, expectations, failures, disabled]
}
