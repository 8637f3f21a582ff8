//! The exporting thread: it takes conntrack's DESTROY events, walks the table for the
//! active timeout and at stop, turns connections into flow records, fills messages and
//! sends them to every collector, with templates first and again when due. A new
//! config section reaches it through [`Shared::reconfig`] and applies between records.

use crate::active::Reported;
use crate::config::Settings;
use crate::element::end_reason;
use crate::message::Encoder;
use crate::record::{destroy_reason, FlowRecord};
use crate::stats::Stats;
use crate::template::Templates;
use crate::transport::Collector;
use brickwall_hooks::services::conntrack::{
    self as ct, conn_flags, Conntrack, CtConn, CtCounters, CtEvent,
};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Connections read per page of a walk (the table is held for one page).
const WALK_PAGE: usize = 256;
/// Events taken per wake-up before the timers are looked at again.
const EVENT_BATCH: usize = 4096;
/// The longest the thread sleeps between looks at its stop flag.
const TICK: Duration = Duration::from_millis(50);

/// What the thread and the plugin share.
#[derive(Debug)]
pub struct Shared {
    /// Set to stop the thread.
    pub stop: AtomicBool,
    /// The counters.
    pub stats: Stats,
    /// The collectors in use (with their counters), as the thread last set them.
    pub collectors: Mutex<Vec<Arc<Collector>>>,
    /// New settings and their collectors, waiting for the thread.
    pub reconfig: Mutex<Option<(Settings, Vec<Arc<Collector>>)>>,
}

impl Shared {
    /// The collectors in use now.
    pub fn collectors(&self) -> Vec<Arc<Collector>> {
        self.collectors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// Seconds since the Unix epoch, as the message header's export time.
fn export_time() -> u32 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as u32)
}

/// The exporter: settings, encoder, what earlier records reported, its timers.
pub struct Exporter {
    settings: Settings,
    shared: Arc<Shared>,
    collectors: Vec<Arc<Collector>>,
    conntrack: Conntrack,
    encoder: Encoder,
    reported: Reported,
    /// When the templates were sent last, and data messages sent since.
    templates_at: Instant,
    since_templates: u32,
    /// When the oldest record of the message being filled was added.
    pending_since: Option<Instant>,
    /// When the table was last walked for the active timeout.
    walked_at: Instant,
}

impl Exporter {
    /// An exporter that sends its templates at once.
    pub fn new(settings: Settings, shared: Arc<Shared>, conntrack: Conntrack) -> Exporter {
        let encoder = Encoder::new(
            settings.domain,
            settings.max_message,
            Templates::new(settings.mark),
        );
        let collectors = shared.collectors();
        let mut e = Exporter {
            settings,
            shared,
            collectors,
            conntrack,
            encoder,
            reported: Reported::default(),
            templates_at: Instant::now(),
            since_templates: 0,
            pending_since: None,
            walked_at: Instant::now(),
        };
        e.send_templates(e.encoder.sequence());
        e
    }

    fn send_templates(&mut self, seq: u32) {
        let msg = self.encoder.template_message(seq, export_time());
        for c in &self.collectors {
            c.send(&msg, 0);
        }
        self.shared
            .stats
            .template_messages
            .fetch_add(1, Ordering::Relaxed);
        self.templates_at = Instant::now();
        self.since_templates = 0;
    }

    /// Whether the templates are due by time.
    fn templates_due_by_time(&self) -> bool {
        let every = self.settings.template_refresh;
        !every.is_zero() && self.templates_at.elapsed() >= every
    }

    /// Whether the templates are due, by time or by count of data messages.
    fn templates_due(&self) -> bool {
        let every = self.settings.template_refresh_messages;
        self.templates_due_by_time() || (every > 0 && self.since_templates >= every)
    }

    /// Sends a finished data message of `records` records (templates first when due).
    fn send_data(&mut self, msg: &[u8], records: u32) {
        if self.templates_due() {
            self.send_templates(Encoder::sequence_of(msg));
        }
        for c in &self.collectors {
            c.send(msg, records);
        }
        self.since_templates += 1;
        self.shared.stats.messages.fetch_add(1, Ordering::Relaxed);
    }

    /// Adds a record, sending the message it closed if any.
    pub fn emit(&mut self, rec: &FlowRecord, has_counters: bool) {
        let st = &self.shared.stats;
        st.records.fetch_add(1, Ordering::Relaxed);
        if !has_counters {
            st.without_counters.fetch_add(1, Ordering::Relaxed);
        }
        let before = self.encoder.pending();
        let done = self
            .encoder
            .push(rec, export_time())
            .map(|m| (m.to_vec(), before));
        if let Some((msg, n)) = done {
            self.send_data(&msg, n);
            self.pending_since = None;
        }
        if self.pending_since.is_none() {
            self.pending_since = Some(Instant::now());
        }
    }

    /// Sends the message being filled, if it holds records.
    pub fn flush(&mut self) {
        let n = self.encoder.pending();
        if let Some(msg) = self.encoder.finish(export_time()).map(<[u8]>::to_vec) {
            self.send_data(&msg, n);
        }
        self.pending_since = None;
    }

    /// Takes new settings: what is pending goes out first; the sequence continues in
    /// the same observation domain; the templates go to the collectors at once.
    pub fn reconfigure(&mut self, settings: Settings, collectors: Vec<Arc<Collector>>) {
        self.flush();
        let seq = self.encoder.sequence();
        let mut encoder = Encoder::new(
            settings.domain,
            settings.max_message,
            Templates::new(settings.mark),
        );
        if settings.domain == self.settings.domain {
            encoder.set_sequence(seq);
        }
        self.encoder = encoder;
        *self
            .shared
            .collectors
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = collectors.clone();
        self.collectors = collectors;
        self.settings = settings;
        self.send_templates(self.encoder.sequence());
    }

    /// A connection ended: its record, from its start (or its last record) to the event.
    pub fn on_destroy(&mut self, ev: &CtEvent) {
        let c = &ev.conn;
        if c.flags & conn_flags::CONFIRMED == 0 {
            return;
        }
        let (start, base) = self
            .reported
            .take(c.id)
            .unwrap_or_else(|| (start_of(c, ev.ts_ns), Default::default()));
        let rec = FlowRecord::from_conn(c, start, ev.ts_ns, base, destroy_reason(c));
        self.emit(&rec, c.counters().is_some());
    }

    /// Walks the whole table, calling `f` with each connection and the table's clock.
    fn walk(&mut self, mut f: impl FnMut(&mut Self, &CtConn, u64)) -> bool {
        let Some(now) = self.conntrack.clock_ns() else {
            return false;
        };
        let mut page = vec![CtConn::default(); WALK_PAGE];
        let mut cursor = 0;
        loop {
            let Some((n, next)) = self.conntrack.walk(cursor, &mut page) else {
                return false;
            };
            for c in &page[..n] {
                f(self, c, now);
            }
            match next {
                Some(c) => cursor = c,
                None => return true,
            }
        }
    }

    /// Periodic records of connections alive an active timeout since their last.
    pub fn active_walk(&mut self) {
        let timeout = self.settings.active_timeout.as_nanos() as u64;
        self.reported.begin_walk();
        let complete = self.walk(|e, c, now| {
            e.reported.met(c.id);
            let (since, base) = match e.reported.get(c.id) {
                Some(r) => r,
                None if c.flags & conn_flags::START != 0 => (c.start_ns, Default::default()),
                None => {
                    // Without a start time, the first walk that meets it starts it.
                    e.reported.set(c.id, now, Default::default());
                    return;
                }
            };
            if now.saturating_sub(since) < timeout {
                return;
            }
            let rec = FlowRecord::from_conn(c, since, now, base, end_reason::ACTIVE_TIMEOUT);
            e.shared
                .stats
                .active_records
                .fetch_add(1, Ordering::Relaxed);
            e.emit(&rec, c.counters().is_some());
            e.reported.set(c.id, now, c.counters().unwrap_or(base));
        });
        if complete {
            self.reported.end_walk();
        }
        self.walked_at = Instant::now();
    }

    /// Records of every connection still in the table (at stop).
    pub fn stop_walk(&mut self) {
        self.walk(|e, c, now| {
            let (start, base): (u64, [CtCounters; 2]) = e
                .reported
                .take(c.id)
                .unwrap_or_else(|| (start_of(c, now), Default::default()));
            let rec = FlowRecord::from_conn(c, start, now, base, end_reason::FORCED_END);
            e.shared.stats.stop_records.fetch_add(1, Ordering::Relaxed);
            e.emit(&rec, c.counters().is_some());
        });
    }

    /// Runs until the stop flag is set, then drains the events, exports what is left
    /// in the table (with `flush_on_stop`) and sends the last message.
    pub fn run(mut self, mut sub: ct::Subscription) {
        while !self.shared.stop.load(Ordering::Acquire) {
            let next = self
                .shared
                .reconfig
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take();
            if let Some((settings, collectors)) = next {
                self.reconfigure(settings, collectors);
            }
            let active = !self.settings.active_timeout.is_zero() && self.conntrack.has_walk();
            // Walks come often enough that a record is at most a quarter late.
            let scan = (self.settings.active_timeout / 4)
                .clamp(Duration::from_secs(1), Duration::from_secs(60));
            let mut wait = TICK;
            if let Some(t) = self.pending_since {
                wait = wait.min(self.settings.flush.saturating_sub(t.elapsed()));
            }
            let mut got = sub.next(wait);
            let mut n = 0;
            while let Some(ev) = got {
                if ev.kind == ct::event::DESTROY {
                    self.on_destroy(&ev);
                }
                n += 1;
                if n >= EVENT_BATCH {
                    break;
                }
                got = sub.next(Duration::ZERO);
            }
            if self
                .pending_since
                .is_some_and(|t| t.elapsed() >= self.settings.flush)
            {
                self.flush();
            }
            if active && self.walked_at.elapsed() >= scan {
                self.active_walk();
            }
            // An idle exporter refreshes by time too; by count, only before data.
            if self.templates_due_by_time() && self.encoder.pending() == 0 {
                self.send_templates(self.encoder.sequence());
            }
            self.note_lost(&sub);
        }
        while let Some(ev) = sub.next(Duration::ZERO) {
            if ev.kind == ct::event::DESTROY {
                self.on_destroy(&ev);
            }
        }
        self.note_lost(&sub);
        if self.settings.flush_on_stop {
            self.stop_walk();
        }
        self.flush();
    }

    fn note_lost(&self, sub: &ct::Subscription) {
        let lost = sub.lost().unwrap_or(u64::MAX);
        self.shared.stats.events_lost.store(lost, Ordering::Relaxed);
    }
}

/// When connection `c` started: its start time when conntrack keeps them, else `or`.
fn start_of(c: &CtConn, or: u64) -> u64 {
    if c.flags & conn_flags::START != 0 {
        c.start_ns
    } else {
        or
    }
}
