//! UDP (and UDP-Lite) tracking: unreplied, replied, and a stream once the connection
//! is still active two seconds after it began and has seen a reply (then ASSURED).

use super::{Timeouts, Track};

/// How long after creation a replied UDP connection counts as a stream.
const STREAM_AFTER_NS: u64 = 2_000_000_000;

/// A UDP connection's state: when it started (packet time, ns), from which the
/// stream rule counts (Linux keeps `stream_ts` for this). Kept as two halves so that
/// the protocol state stays 4-byte aligned and fits the record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UdpState {
    start: [u32; 2],
}

impl UdpState {
    /// The state of a connection started at `start_ns`.
    pub fn new(start_ns: u64) -> UdpState {
        UdpState {
            start: [(start_ns >> 32) as u32, start_ns as u32],
        }
    }

    /// When the connection started.
    #[inline]
    pub fn start_ns(&self) -> u64 {
        u64::from(self.start[0]) << 32 | u64::from(self.start[1])
    }
}

/// Tracks one packet of a connection that started at `start_ns`: a replied connection
/// still active two seconds after its start is a stream.
pub fn track(start_ns: u64, now_ns: u64, seen_reply: bool, assured: bool, t: &Timeouts) -> Track {
    if !seen_reply {
        return Track::Accept {
            timeout: t.udp,
            set_assured: false,
        };
    }
    if now_ns > start_ns.saturating_add(STREAM_AFTER_NS) {
        Track::Accept {
            timeout: t.udp_stream,
            set_assured: !assured,
        }
    } else {
        Track::Accept {
            timeout: t.udp,
            set_assured: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreplied_replied_stream() {
        let t = Timeouts::default();
        assert_eq!(
            track(0, 0, false, false, &t),
            Track::Accept {
                timeout: 30,
                set_assured: false
            }
        );
        assert_eq!(
            track(0, 1_000_000_000, true, false, &t),
            Track::Accept {
                timeout: 30,
                set_assured: false
            }
        );
        assert_eq!(
            track(0, 3_000_000_000, true, false, &t),
            Track::Accept {
                timeout: 120,
                set_assured: true
            }
        );
        assert_eq!(
            track(0, 4_000_000_000, true, true, &t),
            Track::Accept {
                timeout: 120,
                set_assured: false
            }
        );
    }
}
