//! The exporter's counters, shared with the control entry point, and the answers built
//! from them: `stats` (JSON) and `{"op":"metrics"}` (metric families, which the
//! engine's `/metrics` endpoint serves).

use crate::transport::Collector;
use brickwall_control_protocol::metrics::{MetricFamily, MetricKind, MetricsResponse};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Counters of the exporter as a whole (each collector has its own besides).
#[derive(Debug, Default)]
pub struct Stats {
    /// Data records encoded.
    pub records: AtomicU64,
    /// Of those, periodic records of live connections (active timeout).
    pub active_records: AtomicU64,
    /// Of those, records of connections alive at stop.
    pub stop_records: AtomicU64,
    /// Of those, records without conntrack's counters (its `accounting` is off).
    pub without_counters: AtomicU64,
    /// Messages finished (templates excluded).
    pub messages: AtomicU64,
    /// Template messages sent.
    pub template_messages: AtomicU64,
    /// Events conntrack could not queue for the exporter (a full `queue`): those
    /// connections' end records are lost. `u64::MAX`: conntrack does not say.
    pub events_lost: AtomicU64,
}

fn get(a: &AtomicU64) -> u64 {
    a.load(Ordering::Relaxed)
}

impl Stats {
    /// The answer to `stats`: these counters and each collector's.
    pub fn json(&self, collectors: &[Arc<Collector>]) -> serde_json::Value {
        let per: Vec<serde_json::Value> = collectors
            .iter()
            .map(|c| {
                let s = &c.stats;
                serde_json::json!({
                    "collector": c.addr.to_string(),
                    "messages": get(&s.messages),
                    "records": get(&s.records),
                    "errors": get(&s.errors),
                    "records_lost": get(&s.records_lost),
                    "last_error": s.last_error.lock().unwrap_or_else(|e| e.into_inner()).clone(),
                })
            })
            .collect();
        let lost = get(&self.events_lost);
        serde_json::json!({
            "records": get(&self.records),
            "active_records": get(&self.active_records),
            "stop_records": get(&self.stop_records),
            "without_counters": get(&self.without_counters),
            "messages": get(&self.messages),
            "template_messages": get(&self.template_messages),
            "events_lost": if lost == u64::MAX { serde_json::Value::Null } else { lost.into() },
            "collectors": per,
        })
    }

    /// The metric families: records by what made them, messages, events lost, and
    /// each collector's messages, errors and records lost.
    pub fn metrics(&self, collectors: &[Arc<Collector>]) -> MetricsResponse {
        let c = MetricKind::Counter;
        let records = get(&self.records);
        let active = get(&self.active_records);
        let stop = get(&self.stop_records);
        let end = records.saturating_sub(active + stop);
        let mut families = vec![
            MetricFamily::new(
                "brickwall_ipfix_records_total",
                c,
                "Flow records made, by what made them (a connection's end, the active timeout, the stop).",
            )
            .with(&[("reason", "end")], end as f64)
            .with(&[("reason", "active")], active as f64)
            .with(&[("reason", "stop")], stop as f64),
            MetricFamily::single(
                "brickwall_ipfix_messages_total",
                c,
                "IPFIX data messages finished.",
                get(&self.messages) as f64,
            ),
            MetricFamily::single(
                "brickwall_ipfix_template_messages_total",
                c,
                "IPFIX template messages sent.",
                get(&self.template_messages) as f64,
            ),
        ];
        let lost = get(&self.events_lost);
        if lost != u64::MAX {
            families.push(MetricFamily::single(
                "brickwall_ipfix_events_lost_total",
                c,
                "Connection ends lost to a full event queue.",
                lost as f64,
            ));
        }
        let mut messages = MetricFamily::new(
            "brickwall_ipfix_collector_messages_total",
            c,
            "Messages sent to a collector.",
        );
        let mut errors = MetricFamily::new(
            "brickwall_ipfix_collector_errors_total",
            c,
            "Sends to a collector that failed.",
        );
        let mut dropped = MetricFamily::new(
            "brickwall_ipfix_collector_records_lost_total",
            c,
            "Records in the messages a collector was not sent.",
        );
        for k in collectors {
            let addr = k.addr.to_string();
            let l = [("collector", addr.as_str())];
            messages.push(&l, get(&k.stats.messages) as f64);
            errors.push(&l, get(&k.stats.errors) as f64);
            dropped.push(&l, get(&k.stats.records_lost) as f64);
        }
        families.extend([messages, errors, dropped]);
        MetricsResponse { families }
    }
}
