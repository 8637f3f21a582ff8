//! QUEUE: packets handed to userspace consumers over crossbeam channels, by queue
//! number, and re-injected with the consumer's verdict (Linux's nfqueue, in process).

use super::route::Route;
use crate::packet::Packet;
use crossbeam_channel::{bounded, unbounded, Receiver, RecvTimeoutError, Sender, TrySendError};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::RwLock;
use std::time::Duration;

/// Where a queued packet resumes when it comes back.
#[derive(Clone, Copy, Debug)]
pub struct ResumePoint {
    /// The packet's path.
    pub route: Route,
    /// Index of the hook in `route.hooks()`.
    pub hook_pos: usize,
    /// Index of the callback after the one that queued the packet.
    pub next: usize,
}

/// A packet waiting for a userspace verdict.
pub struct QueuedPacket {
    /// The packet; the consumer may read and rewrite its bytes in place.
    pub packet: Box<Packet>,
    /// The queue it was sent to.
    pub queue: u16,
    /// Where it resumes.
    pub resume: ResumePoint,
}

/// A consumer's verdict on a queued packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueueVerdict {
    /// Continue after the callback that queued it.
    Accept,
    /// Drop it.
    Drop,
    /// Re-enter the hook it was queued at, from its first callback.
    Repeat,
}

/// Why a packet could not be queued.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueueRefusal {
    /// Nobody is bound to that queue number.
    NoListener,
    /// The queue is full.
    Full,
}

/// The userspace end of one queue.
pub struct QueueConsumer {
    rx: Receiver<QueuedPacket>,
    back: Sender<(QueuedPacket, QueueVerdict)>,
}

impl QueueConsumer {
    /// Waits for the next packet; `None` when the engine is gone or the queue was unbound.
    pub fn recv(&self) -> Option<QueuedPacket> {
        self.rx.recv().ok()
    }

    /// Waits at most `timeout` for the next packet.
    pub fn recv_timeout(&self, timeout: Duration) -> Option<QueuedPacket> {
        self.rx.recv_timeout(timeout).ok()
    }

    /// Returns a packet to the engine with a verdict.
    pub fn verdict(&self, packet: QueuedPacket, verdict: QueueVerdict) {
        let _ = self.back.send((packet, verdict));
    }
}

/// Every queue of an engine, and the channel packets come back on.
pub struct QueueHub {
    slots: RwLock<HashMap<u16, Sender<QueuedPacket>>>,
    policy: RwLock<HashMap<u16, (bool, usize)>>,
    back_tx: Sender<(QueuedPacket, QueueVerdict)>,
    back_rx: Receiver<(QueuedPacket, QueueVerdict)>,
    outstanding: AtomicU64,
}

impl Default for QueueHub {
    fn default() -> Self {
        let (back_tx, back_rx) = unbounded();
        QueueHub {
            slots: RwLock::new(HashMap::new()),
            policy: RwLock::new(HashMap::new()),
            back_tx,
            back_rx,
            outstanding: AtomicU64::new(0),
        }
    }
}

impl QueueHub {
    /// Configures queue `num`: whether packets bypass it (continue) when it is full or
    /// unbound, and the capacity a later [`bind`](Self::bind) with capacity 0 uses.
    pub fn set_bypass(&self, num: u16, bypass: bool, capacity: usize) {
        self.policy
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(num, (bypass, capacity));
    }

    /// Whether queue `num` is configured to be bypassed when it cannot take a packet.
    pub fn bypass(&self, num: u16) -> bool {
        self.policy
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&num)
            .is_some_and(|p| p.0)
    }

    /// Binds a consumer to queue `num` holding at most `capacity` packets (0: the
    /// configured capacity, else 1024), replacing any earlier consumer of that number.
    pub fn bind(&self, num: u16, capacity: usize) -> QueueConsumer {
        let configured = self
            .policy
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&num)
            .map(|p| p.1);
        let cap = if capacity > 0 {
            capacity
        } else {
            configured.unwrap_or(1024)
        };
        let (tx, rx) = bounded(cap.max(1));
        self.slots
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(num, tx);
        QueueConsumer {
            rx,
            back: self.back_tx.clone(),
        }
    }

    /// Unbinds queue `num`; later packets for it are refused.
    pub fn unbind(&self, num: u16) {
        self.slots
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&num);
    }

    /// Sends a packet to its queue, or gives it back with the reason it was refused.
    pub fn enqueue(&self, qp: QueuedPacket) -> Result<(), (QueuedPacket, QueueRefusal)> {
        let slots = self.slots.read().unwrap_or_else(|e| e.into_inner());
        let Some(tx) = slots.get(&qp.queue) else {
            return Err((qp, QueueRefusal::NoListener));
        };
        match tx.try_send(qp) {
            Ok(()) => {
                self.outstanding.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            Err(TrySendError::Full(qp)) => Err((qp, QueueRefusal::Full)),
            Err(TrySendError::Disconnected(qp)) => Err((qp, QueueRefusal::NoListener)),
        }
    }

    /// A packet that came back, if one is waiting.
    pub fn try_returned(&self) -> Option<(QueuedPacket, QueueVerdict)> {
        let r = self.back_rx.try_recv().ok();
        if r.is_some() {
            self.outstanding.fetch_sub(1, Ordering::Relaxed);
        }
        r
    }

    /// Waits at most `timeout` for a packet to come back.
    pub fn returned_timeout(&self, timeout: Duration) -> Option<(QueuedPacket, QueueVerdict)> {
        match self.back_rx.recv_timeout(timeout) {
            Ok(r) => {
                self.outstanding.fetch_sub(1, Ordering::Relaxed);
                Some(r)
            }
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => None,
        }
    }

    /// Packets queued and not yet returned.
    pub fn outstanding(&self) -> u64 {
        self.outstanding.load(Ordering::Relaxed)
    }
}
