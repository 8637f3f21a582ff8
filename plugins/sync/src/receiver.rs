//! The receiving thread: datagrams from the link are split into messages, checked and
//! applied to the external cache. A datagram from any address but the configured
//! peer's is counted and dropped unread, so no other host can inject a state; a
//! refused message is counted by reason and costs nothing else; sequence numbers are
//! tracked as conntrackd tracks them; a RESYNC asks the sender for the whole table. In
//! FTFW mode each message passes through [`crate::ftfw::Ftfw`] first, which acknowledges,
//! asks for what is missing and drops what comes late.

use crate::cache::{Applied, Cache};
use crate::ftfw::Verdict;
use crate::sender::Shared;
use crate::sequence::{Seq, Tracker};
use crate::wire::message::{Body, Control, Messages};
use crate::wire::Error;
use std::net::{IpAddr, UdpSocket};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The longest the thread waits for a datagram between looks at its stop flag.
const TICK: Duration = Duration::from_millis(100);

/// What the receiving thread counted.
#[derive(Debug, Default)]
pub struct RecvStats {
    /// Datagrams from the peer.
    pub datagrams: AtomicU64,
    /// Datagrams from another address, dropped unread.
    pub foreign: AtomicU64,
    /// Conntrack messages applied.
    pub conntracks: AtomicU64,
    /// Expectation messages applied.
    pub expectations: AtomicU64,
    /// Control messages.
    pub control: AtomicU64,
    /// Messages refused: a header that cannot be read (the rest of its datagram too).
    pub bad_header: AtomicU64,
    /// Messages refused: another protocol version.
    pub bad_version: AtomicU64,
    /// Messages refused: unknown type or flags.
    pub bad_type: AtomicU64,
    /// Messages refused: attributes (unknown code, size, length, string).
    pub bad_payload: AtomicU64,
    /// Messages the sequence numbers say were lost.
    pub lost: AtomicU64,
    /// Messages that came before the expected number (replayed or delayed).
    pub before: AtomicU64,
    /// Entries not added: the cache was full.
    pub cache_full: AtomicU64,
    /// Entries without addresses or protocol.
    pub no_key: AtomicU64,
    /// DESTROY messages for no entry.
    pub unknown_destroy: AtomicU64,
    /// RESYNC requests received.
    pub resync_requests: AtomicU64,
    /// FTFW: times the peer (re)joined (its HELLO), each answered with a bulk send.
    pub peers_joined: AtomicU64,
}

impl RecvStats {
    /// The counters as JSON.
    pub fn json(&self) -> serde_json::Value {
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        serde_json::json!({
            "datagrams": g(&self.datagrams),
            "foreign": g(&self.foreign),
            "conntracks": g(&self.conntracks),
            "expectations": g(&self.expectations),
            "control": g(&self.control),
            "malformed": {
                "header": g(&self.bad_header),
                "version": g(&self.bad_version),
                "type": g(&self.bad_type),
                "payload": g(&self.bad_payload),
            },
            "lost": g(&self.lost),
            "before": g(&self.before),
            "cache_full": g(&self.cache_full),
            "no_key": g(&self.no_key),
            "unknown_destroy": g(&self.unknown_destroy),
            "resync_requests": g(&self.resync_requests),
            "peers_joined": g(&self.peers_joined),
        })
    }

    fn refused(&self, e: Error) {
        let c = match e {
            Error::Truncated | Error::BadLength => &self.bad_header,
            Error::BadVersion(_) => &self.bad_version,
            Error::BadType(_) | Error::BadFlags(_) | Error::BadRange => &self.bad_type,
            Error::BadAttrLength(_)
            | Error::UnknownAttr(_)
            | Error::BadAttrSize(_)
            | Error::BadString(_) => &self.bad_payload,
        };
        c.fetch_add(1, Ordering::Relaxed);
    }
}

/// The thread's state.
pub struct Receiver {
    socket: UdpSocket,
    peer: IpAddr,
    shared: Arc<Shared>,
    seq: Tracker,
}

impl Receiver {
    /// A receiver on `socket` (a clone of the link's), taking datagrams from `peer`.
    pub fn new(socket: UdpSocket, peer: IpAddr, shared: Arc<Shared>) -> Receiver {
        Receiver {
            socket,
            peer,
            shared,
            seq: Tracker::default(),
        }
    }

    /// Reads one datagram's messages into `cache`.
    pub fn datagram(&mut self, d: &[u8], cache: &mut Cache, now: Instant) {
        let s = &self.shared.recv;
        s.datagrams.fetch_add(1, Ordering::Relaxed);
        for m in Messages::new(d) {
            let m = match m {
                Ok(m) => m,
                Err(e) => {
                    s.refused(e);
                    continue;
                }
            };
            if m.hello {
                self.seq.reset();
            }
            if let Some(f) = &self.shared.ftfw {
                let mut f = f.lock().unwrap_or_else(|e| e.into_inner());
                let v = f.received(&m);
                if f.take_joined() {
                    s.peers_joined.fetch_add(1, Ordering::Relaxed);
                    self.shared.resync.store(true, Ordering::Release);
                }
                drop(f);
                if v == Verdict::Drop {
                    s.before.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
            }
            match self.seq.track(m.seq) {
                Seq::After(n) => {
                    s.lost.fetch_add(n as u64, Ordering::Relaxed);
                }
                Seq::Before => {
                    s.before.fetch_add(1, Ordering::Relaxed);
                }
                Seq::First | Seq::InSync => {}
            }
            match m.body {
                Body::Conntrack(action, ct) => {
                    s.conntracks.fetch_add(1, Ordering::Relaxed);
                    let c = match cache.apply(action, ct, now) {
                        Applied::Full => &s.cache_full,
                        Applied::NoKey => &s.no_key,
                        Applied::Unknown => &s.unknown_destroy,
                        Applied::Created | Applied::Updated | Applied::Destroyed => continue,
                    };
                    c.fetch_add(1, Ordering::Relaxed);
                }
                Body::Expect(action, exp) => {
                    s.expectations.fetch_add(1, Ordering::Relaxed);
                    let c = match cache.apply_expect(action, exp, now) {
                        Applied::Full => &s.cache_full,
                        Applied::NoKey => &s.no_key,
                        Applied::Unknown => &s.unknown_destroy,
                        Applied::Created | Applied::Updated | Applied::Destroyed => continue,
                    };
                    c.fetch_add(1, Ordering::Relaxed);
                }
                Body::Control(c) => {
                    s.control.fetch_add(1, Ordering::Relaxed);
                    if c == Control::Resync {
                        s.resync_requests.fetch_add(1, Ordering::Relaxed);
                        self.shared.resync.store(true, Ordering::Release);
                    }
                }
            }
        }
    }

    /// Runs until the stop flag is set.
    pub fn run(mut self) {
        let _ = self.socket.set_read_timeout(Some(TICK));
        let mut buf = vec![0u8; 65536];
        while !self.shared.stop.load(Ordering::Acquire) {
            let Ok((n, from)) = self.socket.recv_from(&mut buf) else {
                continue;
            };
            if from.ip() != self.peer {
                self.shared.recv.foreign.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            let shared = self.shared.clone();
            let mut cache = shared.cache.lock().unwrap_or_else(|e| e.into_inner());
            self.datagram(&buf[..n], &mut cache, Instant::now());
        }
    }
}
