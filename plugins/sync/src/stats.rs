//! The plugin's counters, as `stats` on its control entry point answers them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// What the sending thread did.
#[derive(Debug, Default)]
pub struct Stats {
    /// NEW messages sent.
    pub new: AtomicU64,
    /// UPDATE messages sent.
    pub update: AtomicU64,
    /// DESTROY messages sent.
    pub destroy: AtomicU64,
    /// ALIVE messages sent.
    pub alive: AtomicU64,
    /// RESYNC requests sent.
    pub resync: AtomicU64,
    /// ACKs sent (FTFW).
    pub ack: AtomicU64,
    /// NACKs sent (FTFW).
    pub nack: AtomicU64,
    /// Datagrams sent.
    pub datagrams: AtomicU64,
    /// Datagrams whose send failed.
    pub send_errors: AtomicU64,
    /// Messages in the datagrams that failed.
    pub messages_lost: AtomicU64,
    /// Events conntrack could not queue for the thread (its queue was full).
    pub events_lost: AtomicU64,
    /// The last send error, as the system said it.
    pub last_error: Mutex<String>,
}

impl Stats {
    /// The counters as JSON.
    pub fn json(&self) -> serde_json::Value {
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        serde_json::json!({
            "sent": {
                "new": g(&self.new),
                "update": g(&self.update),
                "destroy": g(&self.destroy),
                "alive": g(&self.alive),
                "resync": g(&self.resync),
                "ack": g(&self.ack),
                "nack": g(&self.nack),
                "datagrams": g(&self.datagrams),
            },
            "send_errors": g(&self.send_errors),
            "messages_lost": g(&self.messages_lost),
            "events_lost": g(&self.events_lost),
            "last_error": self.last_error.lock().unwrap_or_else(|e| e.into_inner()).clone(),
        })
    }
}
