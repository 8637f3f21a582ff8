//! Event sessions of control clients that poll (`brickwall ct -E`).

use super::bus::{EventBus, Subscription};
use brickwall_control_protocol::conntrack::EventsResponse;

/// Subscriptions held for clients that poll for events over the control channel (the
/// `-E` of the CLI): each poll names its session (0 starts one) and takes what arrived
/// since the last. Sessions nobody polled for a minute are dropped; at most
/// [`MAX_SESSIONS`](Pollers::MAX_SESSIONS) live at once.
#[derive(Default)]
pub struct Pollers {
    next: u64,
    sessions: std::collections::HashMap<u64, (Subscription, std::time::Instant)>,
}

impl Pollers {
    /// Room per session.
    pub const CAPACITY: usize = 65_536;
    /// Sessions at once: each holds a queue of [`CAPACITY`](Self::CAPACITY) events.
    pub const MAX_SESSIONS: usize = 16;
    /// A session idle this long is dropped.
    const IDLE: std::time::Duration = std::time::Duration::from_secs(60);

    /// Takes at most `max` events for session `cursor` (0: a new session of `mask`),
    /// oldest first, as records.
    pub fn poll(
        &mut self,
        bus: &EventBus,
        cursor: u64,
        mask: u8,
        max: usize,
    ) -> Result<EventsResponse, String> {
        let now = std::time::Instant::now();
        self.sessions
            .retain(|_, (_, seen)| now.duration_since(*seen) < Self::IDLE);
        let cursor = if cursor == 0 {
            if self.sessions.len() >= Self::MAX_SESSIONS {
                return Err(format!(
                    "too many event sessions (at most {}; one ends a minute after its \
                     last poll)",
                    Self::MAX_SESSIONS
                ));
            }
            self.next += 1;
            self.sessions
                .insert(self.next, (bus.subscribe(mask, Self::CAPACITY), now));
            self.next
        } else {
            cursor
        };
        let (sub, seen) = self.sessions.get_mut(&cursor).ok_or_else(|| {
            format!("cursor: no event session {cursor} (expired after a minute without a poll?)")
        })?;
        *seen = now;
        let events = std::iter::from_fn(|| sub.try_recv())
            .take(max.max(1))
            .map(|e| e.into_record())
            .collect();
        Ok(EventsResponse {
            cursor,
            events,
            lost: sub.lost(),
        })
    }
}
