//! The exporter's counters, shared with the control entry point, and the `stats`
//! answer built from them.

use crate::transport::Collector;
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
}
