//! The event bus: any number of subscribers, each with a bounded queue and a class
//! mask; publishing never blocks.

use super::kind::Event;
use crossbeam_channel::{Receiver, Sender, TrySendError};
use serde::Serialize;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard, Weak};
use std::time::Duration;

/// Totals of a bus since it was created.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct EventCounters {
    /// Events passed to [`EventBus::publish`].
    pub published: u64,
    /// Copies queued to subscribers (one event reaching three subscribers counts 3).
    pub delivered: u64,
    /// Copies lost to full queues.
    pub lost: u64,
    /// Subscribers now.
    pub subscribers: u64,
}

/// A subscriber as the bus sees it.
struct Sub {
    /// Its id.
    id: u64,
    /// The classes it wants.
    mask: u8,
    /// Its queue.
    tx: Sender<Event>,
    /// Events lost to its full queue (shared with its [`Subscription`]).
    lost: Arc<AtomicU64>,
}

/// The bus's shared state.
struct Inner {
    /// Subscribers (read-locked by publishers, write-locked to add and remove).
    subs: RwLock<Vec<Sub>>,
    /// The union of the subscribers' masks, for [`EventBus::wants`].
    mask: AtomicU8,
    /// The next subscriber id.
    next_id: AtomicU64,
    /// Events published.
    published: AtomicU64,
    /// Copies delivered.
    delivered: AtomicU64,
    /// Copies lost.
    lost: AtomicU64,
}

impl Inner {
    /// The subscriber list for reading (a poisoned lock is still usable: the list is
    /// never left half-changed).
    fn read(&self) -> RwLockReadGuard<'_, Vec<Sub>> {
        self.subs.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// The subscriber list for changing.
    fn write(&self) -> RwLockWriteGuard<'_, Vec<Sub>> {
        self.subs.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Removes the subscribers `gone` says to and recomputes the mask union (under the
    /// write lock, so the union never misses a subscriber added concurrently).
    fn remove(&self, gone: impl Fn(&Sub) -> bool) {
        let mut subs = self.write();
        subs.retain(|s| !gone(s));
        let union = subs.iter().fold(0, |m, s| m | s.mask);
        self.mask.store(union, Ordering::Release);
    }
}

/// The event bus: any number of subscribers, each with a bounded queue and a class
/// mask. Publishing never blocks. Cloning the bus gives another handle to the same
/// subscribers and counters. `Send + Sync`: publish from every worker thread.
#[derive(Clone)]
pub struct EventBus {
    inner: Arc<Inner>,
}

impl Default for EventBus {
    fn default() -> Self {
        EventBus::new()
    }
}

impl std::fmt::Debug for EventBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventBus")
            .field("mask", &self.inner.mask.load(Ordering::Relaxed))
            .field("counters", &self.counters())
            .finish()
    }
}

impl EventBus {
    /// A bus with no subscribers.
    pub fn new() -> EventBus {
        EventBus {
            inner: Arc::new(Inner {
                subs: RwLock::new(Vec::new()),
                mask: AtomicU8::new(0),
                next_id: AtomicU64::new(1),
                published: AtomicU64::new(0),
                delivered: AtomicU64::new(0),
                lost: AtomicU64::new(0),
            }),
        }
    }

    /// A subscriber for the event classes in `mask` ([`class`](super::class) bits), with room for
    /// `capacity` queued events (at least 1). It receives events published from now
    /// on, until it is dropped.
    pub fn subscribe(&self, mask: u8, capacity: usize) -> Subscription {
        let (tx, rx) = crossbeam_channel::bounded(capacity.max(1));
        let lost = Arc::new(AtomicU64::new(0));
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let mut subs = self.inner.write();
        subs.push(Sub {
            id,
            mask,
            tx,
            lost: Arc::clone(&lost),
        });
        self.inner.mask.fetch_or(mask, Ordering::Release);
        drop(subs);
        Subscription {
            rx,
            lost,
            id,
            mask,
            bus: Arc::downgrade(&self.inner),
        }
    }

    /// Whether any subscriber wants events of a class (any of the [`class`](super::class) bits in
    /// `class`). One relaxed atomic load: check it before building an event.
    #[inline]
    pub fn wants(&self, class: u8) -> bool {
        self.inner.mask.load(Ordering::Relaxed) & class != 0
    }

    /// Delivers `ev` to every subscriber whose mask has its class, without blocking: a
    /// subscriber whose queue is full loses it (its `lost` counter and the bus's grow).
    /// Subscribers whose receiving end is gone are removed.
    pub fn publish(&self, ev: Event) {
        let inner = &*self.inner;
        inner.published.fetch_add(1, Ordering::Relaxed);
        let class = ev.class();
        if inner.mask.load(Ordering::Relaxed) & class == 0 {
            return;
        }
        let mut ev = Some(ev);
        let mut gone: Vec<u64> = Vec::new();
        {
            let subs = inner.read();
            let mut targets = subs.iter().filter(|s| s.mask & class != 0).peekable();
            while let Some(sub) = targets.next() {
                // The last target gets the event itself, the others a copy.
                let copy = if targets.peek().is_some() {
                    ev.clone()
                } else {
                    ev.take()
                };
                let Some(copy) = copy else { break };
                match sub.tx.try_send(copy) {
                    Ok(()) => {
                        inner.delivered.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(TrySendError::Full(_)) => {
                        sub.lost.fetch_add(1, Ordering::Relaxed);
                        inner.lost.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(TrySendError::Disconnected(_)) => gone.push(sub.id),
                }
            }
        }
        if !gone.is_empty() {
            inner.remove(|s| gone.contains(&s.id));
        }
    }

    /// The bus's totals.
    pub fn counters(&self) -> EventCounters {
        let inner = &*self.inner;
        EventCounters {
            published: inner.published.load(Ordering::Relaxed),
            delivered: inner.delivered.load(Ordering::Relaxed),
            lost: inner.lost.load(Ordering::Relaxed),
            subscribers: inner.read().len() as u64,
        }
    }
}

/// A subscriber's end of the bus. Dropping it unsubscribes (and clears its classes
/// from [`EventBus::wants`] if no one else wants them).
#[derive(Debug)]
pub struct Subscription {
    /// The queue.
    rx: Receiver<Event>,
    /// Events lost because the queue was full.
    lost: Arc<AtomicU64>,
    /// Id on the bus.
    id: u64,
    /// The classes subscribed to.
    mask: u8,
    /// The bus, to unsubscribe on drop.
    bus: Weak<Inner>,
}

impl Subscription {
    /// The next event, waiting up to `timeout`; `None` on timeout or when the bus is gone
    /// and the queue empty.
    pub fn recv_timeout(&self, timeout: Duration) -> Option<Event> {
        self.rx.recv_timeout(timeout).ok()
    }

    /// The next event if one is queued.
    pub fn try_recv(&self) -> Option<Event> {
        self.rx.try_recv().ok()
    }

    /// The next event, waiting as long as it takes; `None` when the bus is gone and the
    /// queue empty.
    pub fn recv(&self) -> Option<Event> {
        self.rx.recv().ok()
    }

    /// Events this subscriber lost because its queue was full.
    pub fn lost(&self) -> u64 {
        self.lost.load(Ordering::Relaxed)
    }

    /// Events waiting in the queue.
    pub fn pending(&self) -> usize {
        self.rx.len()
    }

    /// The subscriber's id on its bus.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The [`class`](super::class) bits subscribed to.
    pub fn mask(&self) -> u8 {
        self.mask
    }

    /// The queue's receiving end, for `crossbeam_channel::select!`. Events stop when
    /// the `Subscription` is dropped, even if a clone of the receiver lives on.
    pub fn receiver(&self) -> &Receiver<Event> {
        &self.rx
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Some(inner) = self.bus.upgrade() {
            let id = self.id;
            inner.remove(|s| s.id == id);
        }
    }
}
