//! The external cache: the peer's connections and expectations as its messages last
//! described them, keyed by their original tuple (an expectation by its master's and
//! its expected tuple), as conntrackd's external cache holds them until a failover
//! commits them. Bounded: a NEW past the limit is refused and counted.

use crate::wire::conntrack::{Addrs, Conntrack};
use crate::wire::expect::{Expect, Tuple};
use crate::wire::message::Action;
use std::collections::HashMap;
use std::time::Instant;

/// What identifies an entry: addresses, protocol, ports, ICMP type, code and id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    addrs: Addrs,
    l4proto: u8,
    ports: Option<(u16, u16)>,
    icmp: Option<(u8, u8, u16)>,
}

impl Key {
    /// The key of `c`; none without addresses or protocol (such an entry is refused).
    pub fn of(c: &Conntrack) -> Option<Key> {
        Some(Key {
            addrs: c.addrs?,
            l4proto: c.l4proto?,
            ports: c.ports,
            icmp: c
                .icmp_type
                .map(|t| (t, c.icmp_code.unwrap_or(0), c.icmp_id.unwrap_or(0))),
        })
    }
}

/// One entry and when it last changed.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The entry, as the last message said.
    pub ct: Conntrack,
    /// When that message came.
    pub since: Instant,
}

/// What applying a message did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// Added.
    Created,
    /// Replaced an entry.
    Updated,
    /// Removed an entry.
    Destroyed,
    /// A DESTROY for no entry.
    Unknown,
    /// The cache is full: not added.
    Full,
    /// No addresses or protocol: not a key.
    NoKey,
}

/// One expectation and when it last changed.
#[derive(Debug, Clone)]
pub struct ExpEntry {
    /// The expectation, as the last message said.
    pub exp: Expect,
    /// When that message came.
    pub since: Instant,
}

/// The cache.
#[derive(Debug)]
pub struct Cache {
    entries: HashMap<Key, Entry>,
    expects: HashMap<(Tuple, Tuple), ExpEntry>,
    max: usize,
}

impl Cache {
    /// An empty cache of at most `max` entries.
    pub fn new(max: usize) -> Cache {
        Cache {
            entries: HashMap::new(),
            expects: HashMap::new(),
            max,
        }
    }

    /// Applies one conntrack message (an UPDATE of an unknown entry adds it, as
    /// conntrackd does).
    pub fn apply(&mut self, action: Action, ct: Conntrack, now: Instant) -> Applied {
        let Some(key) = Key::of(&ct) else {
            return Applied::NoKey;
        };
        match action {
            Action::Destroy => match self.entries.remove(&key) {
                Some(_) => Applied::Destroyed,
                None => Applied::Unknown,
            },
            Action::New | Action::Update => {
                let len = self.entries.len();
                match self.entries.get_mut(&key) {
                    Some(e) => {
                        *e = Entry { ct, since: now };
                        Applied::Updated
                    }
                    None if len >= self.max => Applied::Full,
                    None => {
                        self.entries.insert(key, Entry { ct, since: now });
                        Applied::Created
                    }
                }
            }
        }
    }

    /// Applies one expectation message (keyed by its master's and expected tuples;
    /// without an expected tuple it is no key).
    pub fn apply_expect(&mut self, action: Action, exp: Expect, now: Instant) -> Applied {
        if exp.expected.addrs.is_none() || exp.master.addrs.is_none() {
            return Applied::NoKey;
        }
        let key = (exp.master, exp.expected);
        match action {
            Action::Destroy => match self.expects.remove(&key) {
                Some(_) => Applied::Destroyed,
                None => Applied::Unknown,
            },
            Action::New | Action::Update => {
                let full = self.entries.len() + self.expects.len() >= self.max;
                match self.expects.get_mut(&key) {
                    Some(e) => {
                        *e = ExpEntry { exp, since: now };
                        Applied::Updated
                    }
                    None if full => Applied::Full,
                    None => {
                        self.expects.insert(key, ExpEntry { exp, since: now });
                        Applied::Created
                    }
                }
            }
        }
    }

    /// The expectations, in no order.
    pub fn expects(&self) -> impl Iterator<Item = &ExpEntry> {
        self.expects.values()
    }

    /// The entries, in no order.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.entries.values()
    }

    /// How many entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Empties it (`conntrackd -f external`).
    pub fn clear(&mut self) {
        self.entries.clear();
        self.expects.clear();
    }
}
