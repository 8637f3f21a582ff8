//! Router mode's neighbour table, for ARP and neighbour discovery alike (Linux's
//! neighbour subsystem, simplified): the link address of each neighbour by interface
//! and IP address, resolved when a packet first needs it, with the packets that wait
//! for the answer queued; an entry is used for [`REACHABLE`] after its last
//! confirmation, then probed again while in use and forgotten when no answer comes.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::RwLock;
use std::time::{Duration, Instant};

/// How long a confirmed entry is used without asking again (Linux's
/// `base_reachable_time` is 30 s, randomised by half either way).
pub const REACHABLE: Duration = Duration::from_secs(30);
/// Between two probes of one neighbour (Linux's `retrans_time`).
pub const RETRANS: Duration = Duration::from_secs(1);
/// Probes before a neighbour counts as unreachable (Linux's `mcast_solicit` and
/// `ucast_solicit`, 3 each).
pub const PROBES: u8 = 3;
/// Packets that may wait for one neighbour (Linux counts bytes, `unres_qlen_bytes`,
/// about 100 full-sized frames; a small count keeps a flood to an absent host cheap).
pub const QUEUE: usize = 32;

/// A neighbour's state.
enum State {
    /// Being resolved: the packets waiting for it.
    Incomplete { queue: Vec<Vec<u8>> },
    /// Known.
    Reachable {
        mac: [u8; 6],
        /// When an answer last came from it.
        confirmed: Instant,
    },
}

struct Entry {
    state: State,
    /// Probes sent since the last confirmation.
    probes: u8,
    /// When the last probe went out.
    probed: Instant,
}

/// What sending to a neighbour needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resolution {
    /// Its link address; `probe`: ask it again (unicast) as well, the entry is stale.
    Known {
        /// The link address.
        mac: [u8; 6],
        /// Whether to send a probe now.
        probe: bool,
    },
    /// The packet waits; `probe`: send the first request now.
    Queued {
        /// Whether to send a request now.
        probe: bool,
    },
    /// The queue was full: the packet is dropped.
    Full,
}

/// What [`Neighbours::tick`] found.
#[derive(Default)]
pub struct Due {
    /// Neighbours to probe again, with the link address to ask at (none: broadcast).
    pub probe: Vec<(u32, IpAddr, Option<[u8; 6]>)>,
    /// Neighbours that never answered, with the packets that waited for them.
    pub failed: Vec<(u32, IpAddr, Vec<Vec<u8>>)>,
}

/// The neighbour table, shared by every worker.
#[derive(Default)]
pub struct Neighbours {
    map: RwLock<HashMap<(u32, IpAddr), Entry>>,
}

impl Neighbours {
    /// What sending `datagram` to neighbour `addr` on interface `oif` needs at `now`;
    /// when it must wait, the datagram is queued (copied).
    pub fn resolve(&self, oif: u32, addr: IpAddr, datagram: &[u8], now: Instant) -> Resolution {
        {
            let map = self.map.read().unwrap_or_else(|e| e.into_inner());
            if let Some(Entry {
                state: State::Reachable { mac, confirmed },
                ..
            }) = map.get(&(oif, addr))
            {
                if now.saturating_duration_since(*confirmed) < REACHABLE {
                    return Resolution::Known {
                        mac: *mac,
                        probe: false,
                    };
                }
            }
        }
        let mut map = self.map.write().unwrap_or_else(|e| e.into_inner());
        let e = map.entry((oif, addr)).or_insert_with(|| Entry {
            state: State::Incomplete { queue: Vec::new() },
            probes: 0,
            probed: now,
        });
        match &mut e.state {
            State::Reachable { mac, .. } => {
                // Stale: used while it is asked again, one probe per interval.
                let probe = e.probes == 0 || now.saturating_duration_since(e.probed) >= RETRANS;
                let probe = probe && e.probes < PROBES;
                if probe {
                    e.probes += 1;
                    e.probed = now;
                }
                Resolution::Known { mac: *mac, probe }
            }
            State::Incomplete { queue } => {
                if queue.len() >= QUEUE {
                    return Resolution::Full;
                }
                queue.push(datagram.to_vec());
                let probe = e.probes == 0;
                if probe {
                    e.probes = 1;
                    e.probed = now;
                }
                Resolution::Queued { probe }
            }
        }
    }

    /// Records that `addr` on `oif` has link address `mac` (an answer, or a request
    /// from it); returns the packets that waited for it.
    pub fn confirm(&self, oif: u32, addr: IpAddr, mac: [u8; 6], now: Instant) -> Vec<Vec<u8>> {
        let mut map = self.map.write().unwrap_or_else(|e| e.into_inner());
        let old = map.insert(
            (oif, addr),
            Entry {
                state: State::Reachable {
                    mac,
                    confirmed: now,
                },
                probes: 0,
                probed: now,
            },
        );
        match old {
            Some(Entry {
                state: State::Incomplete { queue },
                ..
            }) => queue,
            _ => Vec::new(),
        }
    }

    /// The link address of `addr` on `oif`, if known (fresh or stale).
    pub fn get(&self, oif: u32, addr: IpAddr) -> Option<[u8; 6]> {
        let map = self.map.read().unwrap_or_else(|e| e.into_inner());
        match map.get(&(oif, addr))?.state {
            State::Reachable { mac, .. } => Some(mac),
            State::Incomplete { .. } => None,
        }
    }

    /// Whether `addr` on `oif` has an entry, known or being resolved: an answer about
    /// it is taken (one about anyone else is not, as Linux ignores unsolicited answers
    /// without `arp_accept`).
    pub fn has(&self, oif: u32, addr: IpAddr) -> bool {
        let map = self.map.read().unwrap_or_else(|e| e.into_inner());
        map.contains_key(&(oif, addr))
    }

    /// Neighbours known or being resolved.
    pub fn len(&self) -> usize {
        self.map.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The probes due at `now`, and the neighbours given up on (removed).
    pub fn tick(&self, now: Instant) -> Due {
        let mut due = Due::default();
        let mut map = self.map.write().unwrap_or_else(|e| e.into_inner());
        map.retain(|&(oif, addr), e| {
            let waited = now.saturating_duration_since(e.probed) >= RETRANS;
            match &mut e.state {
                State::Incomplete { queue } => {
                    if !waited {
                        return true;
                    }
                    if e.probes >= PROBES {
                        due.failed.push((oif, addr, std::mem::take(queue)));
                        return false;
                    }
                    e.probes += 1;
                    e.probed = now;
                    due.probe.push((oif, addr, None));
                    true
                }
                State::Reachable { mac, confirmed } => {
                    if now.saturating_duration_since(*confirmed) < REACHABLE || e.probes == 0 {
                        return true;
                    }
                    if !waited {
                        return true;
                    }
                    if e.probes >= PROBES {
                        return false;
                    }
                    e.probes += 1;
                    e.probed = now;
                    due.probe.push((oif, addr, Some(*mac)));
                    true
                }
            }
        });
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: [u8; 6] = [2, 0, 0, 0, 0, 9];

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn packets_wait_for_the_answer_and_leave_with_it() {
        let n = Neighbours::default();
        let t = Instant::now();
        let a = ip("10.0.0.9");
        assert_eq!(
            n.resolve(3, a, b"one", t),
            Resolution::Queued { probe: true }
        );
        assert_eq!(
            n.resolve(3, a, b"two", t),
            Resolution::Queued { probe: false }
        );
        assert_eq!(n.get(3, a), None);
        assert_eq!(
            n.confirm(3, a, MAC, t),
            vec![b"one".to_vec(), b"two".to_vec()]
        );
        assert_eq!(
            n.resolve(3, a, b"three", t),
            Resolution::Known {
                mac: MAC,
                probe: false
            }
        );
        assert_eq!(n.get(4, a), None, "per interface");
    }

    #[test]
    fn the_queue_is_bounded() {
        let n = Neighbours::default();
        let t = Instant::now();
        for _ in 0..QUEUE {
            assert!(matches!(
                n.resolve(1, ip("fd00::9"), b"x", t),
                Resolution::Queued { .. }
            ));
        }
        assert_eq!(n.resolve(1, ip("fd00::9"), b"x", t), Resolution::Full);
    }

    #[test]
    fn silence_is_probed_then_given_up() {
        let n = Neighbours::default();
        let t = Instant::now();
        let a = ip("10.0.0.7");
        n.resolve(1, a, b"p", t);
        assert!(n.tick(t).probe.is_empty(), "not before the interval");
        let mut probes = 1;
        let mut k = 1;
        let failed = loop {
            let due = n.tick(t + RETRANS * k);
            k += 1;
            probes += due.probe.len();
            if !due.failed.is_empty() {
                break due.failed;
            }
            assert!(k < 10, "never given up");
        };
        assert_eq!(probes, PROBES as usize);
        assert_eq!(failed, vec![(1, a, vec![b"p".to_vec()])]);
        assert!(n.is_empty());
    }

    #[test]
    fn a_stale_entry_is_used_while_asked_again() {
        let n = Neighbours::default();
        let t = Instant::now();
        let a = ip("10.0.0.5");
        n.confirm(2, a, MAC, t);
        let later = t + REACHABLE + Duration::from_millis(1);
        assert_eq!(
            n.resolve(2, a, b"x", later),
            Resolution::Known {
                mac: MAC,
                probe: true
            }
        );
        assert_eq!(
            n.resolve(2, a, b"x", later),
            Resolution::Known {
                mac: MAC,
                probe: false
            }
        );
        let mut k = 1;
        while n.get(2, a).is_some() {
            let due = n.tick(later + RETRANS * k);
            assert!(due.probe.iter().all(|p| p.2 == Some(MAC)), "unicast probes");
            k += 1;
            assert!(k < 10, "never forgotten");
        }
        n.confirm(2, a, MAC, t);
        assert_eq!(n.get(2, a), Some(MAC));
    }
}
