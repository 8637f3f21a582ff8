//! The sending thread: conntrack's events become NEW, UPDATE and DESTROY messages
//! (NOTRACK mode), packed into datagrams of at most [`MAX_DATAGRAM`] bytes, with an
//! ALIVE after a second with nothing else to send. Every message takes the next
//! sequence number, which starts at the Unix time the thread started, as conntrackd's.
//! When the peer asks for a resync, the whole table follows, each connection as a NEW.
//! In FTFW mode the messages carry HELLO and HELLO_BACK as [`Ftfw`] says, are kept for
//! resending, and the acknowledgements, resend requests and resends it queues go out
//! with the next datagram; an idle second sends a pending ACK in place of an ALIVE.

use crate::cache::Cache;
use crate::entry;
use crate::ftfw::Ftfw;
use crate::link::Link;
use crate::receiver::RecvStats;
use crate::stats::Stats;
use crate::wire::message::{Action, Body, Control, Message};
use brickwall_hooks::services::conntrack::{self as ct, Conntrack, CtConn, CtEvent};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The longest datagram: an Ethernet MTU less the IPv4 and UDP headers.
pub const MAX_DATAGRAM: usize = 1472;
/// An ALIVE goes out after this long without a message.
pub const ALIVE_INTERVAL: Duration = Duration::from_secs(1);
/// The longest the thread sleeps between looks at its stop flag.
const TICK: Duration = Duration::from_millis(100);

/// What the plugin and its threads share.
#[derive(Debug)]
pub struct Shared {
    /// Set to stop the threads (the sender sends what it holds first).
    pub stop: AtomicBool,
    /// The sender's counters.
    pub stats: Stats,
    /// The receiver's counters.
    pub recv: RecvStats,
    /// The peer's connections.
    pub cache: Mutex<Cache>,
    /// Set by the receiver when the peer asks for a resync, or by a `send-bulk`
    /// request: the sender sends the whole table.
    pub resync: AtomicBool,
    /// Set by a `request-resync` request: the sender asks the peer for its states.
    pub request_resync: AtomicBool,
    /// FTFW's state (none in NOTRACK mode).
    pub ftfw: Option<Mutex<Ftfw>>,
}

impl Shared {
    /// Nothing yet; an external cache of at most `cache_max` entries; FTFW's state in
    /// that mode.
    pub fn new(cache_max: usize, ftfw: Option<Ftfw>) -> Shared {
        Shared {
            stop: AtomicBool::new(false),
            stats: Stats::default(),
            recv: RecvStats::default(),
            cache: Mutex::new(Cache::new(cache_max)),
            resync: AtomicBool::new(false),
            request_resync: AtomicBool::new(false),
            ftfw: ftfw.map(Mutex::new),
        }
    }
}

/// The thread's state.
pub struct Sender {
    link: Link,
    conntrack: Conntrack,
    shared: Arc<Shared>,
    seq: u32,
    datagram: Vec<u8>,
    /// Messages in `datagram`.
    pending: u64,
    last_sent: Instant,
}

impl Sender {
    /// A sender on `link`, of `conntrack`'s connections.
    pub fn new(link: Link, conntrack: Conntrack, shared: Arc<Shared>) -> Sender {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as u32)
            .unwrap_or(0);
        Sender {
            link,
            conntrack,
            shared,
            seq: now,
            datagram: Vec::with_capacity(MAX_DATAGRAM),
            pending: 0,
            last_sent: Instant::now(),
        }
    }

    /// Adds a message to the datagram, sending the datagram first if it would not fit.
    fn push(&mut self, body: Body) {
        let (hello, hello_back) = match &self.shared.ftfw {
            Some(f) => f.lock().unwrap_or_else(|e| e.into_inner()).flags(),
            None => (false, false),
        };
        let m = Message {
            seq: self.seq,
            hello,
            hello_back,
            body,
        };
        let start = self.datagram.len();
        if !m.emit(&mut self.datagram) {
            return;
        }
        if let Some(f) = &self.shared.ftfw {
            f.lock().unwrap_or_else(|e| e.into_inner()).sent(&m);
        }
        if self.datagram.len() > MAX_DATAGRAM && start > 0 {
            let tail = self.datagram.split_off(start);
            self.flush();
            self.datagram = tail;
        }
        self.seq = self.seq.wrapping_add(1);
        self.pending += 1;
        let s = &self.shared.stats;
        let counter = match &m.body {
            Body::Conntrack(Action::New, _) => &s.new,
            Body::Conntrack(Action::Update, _) => &s.update,
            Body::Conntrack(Action::Destroy, _) => &s.destroy,
            Body::Control(Control::Resync) => &s.resync,
            Body::Control(Control::Ack { .. }) => &s.ack,
            Body::Control(Control::Nack { .. }) => &s.nack,
            _ => &s.alive,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Sends the datagram, if it holds anything.
    fn flush(&mut self) {
        if self.datagram.is_empty() {
            return;
        }
        let s = &self.shared.stats;
        match self.link.send(&self.datagram) {
            Ok(()) => {
                s.datagrams.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                s.send_errors.fetch_add(1, Ordering::Relaxed);
                s.messages_lost.fetch_add(self.pending, Ordering::Relaxed);
                *s.last_error.lock().unwrap_or_else(|e| e.into_inner()) = e;
            }
        }
        self.datagram.clear();
        self.pending = 0;
        self.last_sent = Instant::now();
    }

    /// The message for one event.
    fn event(&mut self, ev: &CtEvent) {
        let action = match ev.kind {
            ct::event::NEW => Action::New,
            ct::event::UPDATE => Action::Update,
            ct::event::DESTROY => Action::Destroy,
            _ => return,
        };
        self.push(Body::Conntrack(action, entry::from_conn(&ev.conn)));
    }

    /// FTFW's acknowledgements, resend requests and resends.
    fn ftfw_outbox(&mut self) {
        let out = match &self.shared.ftfw {
            Some(f) => f.lock().unwrap_or_else(|e| e.into_inner()).take_outbox(),
            None => return,
        };
        for b in out {
            self.push(b);
        }
    }

    /// Every connection in the table, as a NEW each.
    fn resync(&mut self) {
        let mut buf = vec![CtConn::default(); 256];
        let mut cursor = 0;
        loop {
            let Some((n, next)) = self.conntrack.walk(cursor, &mut buf) else {
                return;
            };
            for c in &buf[..n] {
                self.push(Body::Conntrack(Action::New, entry::from_conn(c)));
            }
            match next {
                Some(c) => cursor = c,
                None => return,
            }
        }
    }

    fn note_lost(&self, sub: &ct::Subscription) {
        if let Some(n) = sub.lost() {
            self.shared.stats.events_lost.store(n, Ordering::Relaxed);
        }
    }

    /// Runs until the stop flag is set, then sends the events still queued. With
    /// `startup_resync`, the first message asks the peer for all its states.
    pub fn run(mut self, mut sub: ct::Subscription, startup_resync: bool) {
        if startup_resync {
            self.push(Body::Control(Control::Resync));
            self.flush();
        }
        while !self.shared.stop.load(Ordering::Acquire) {
            let mut got = sub.next(TICK);
            while let Some(ev) = got {
                self.event(&ev);
                got = sub.next(Duration::ZERO);
            }
            self.ftfw_outbox();
            if self.shared.request_resync.swap(false, Ordering::AcqRel) {
                self.push(Body::Control(Control::Resync));
            }
            if self.shared.resync.swap(false, Ordering::AcqRel) {
                self.resync();
            }
            self.flush();
            if self.last_sent.elapsed() >= ALIVE_INTERVAL {
                let idle = match &self.shared.ftfw {
                    Some(f) => f.lock().unwrap_or_else(|e| e.into_inner()).idle(),
                    None => Control::Alive,
                };
                self.push(Body::Control(idle));
                self.flush();
            }
            self.note_lost(&sub);
        }
        while let Some(ev) = sub.next(Duration::ZERO) {
            self.event(&ev);
        }
        self.flush();
        self.note_lost(&sub);
    }
}
