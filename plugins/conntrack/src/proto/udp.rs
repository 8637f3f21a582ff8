//! UDP (and UDP-Lite) tracking: unreplied, replied, and a stream once the connection
//! is still active two seconds after it began and has seen a reply (then ASSURED).

use super::{Timeouts, Track};

/// How long after creation a replied UDP connection counts as a stream.
const STREAM_AFTER_NS: u64 = 2_000_000_000;

/// UDP state.
#[derive(Clone, Copy, Debug)]
pub struct UdpConn {
    stream_after_ns: u64,
}

impl UdpConn {
    /// A connection created at `now_ns`.
    pub fn new(now_ns: u64) -> UdpConn {
        UdpConn {
            stream_after_ns: now_ns.saturating_add(STREAM_AFTER_NS),
        }
    }

    /// Tracks one packet.
    pub fn track(&mut self, now_ns: u64, seen_reply: bool, assured: bool, t: &Timeouts) -> Track {
        if !seen_reply {
            return Track::Accept {
                timeout: t.udp,
                set_assured: false,
            };
        }
        if now_ns > self.stream_after_ns {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreplied_replied_stream() {
        let t = Timeouts::default();
        let mut u = UdpConn::new(0);
        assert_eq!(
            u.track(0, false, false, &t),
            Track::Accept {
                timeout: 30,
                set_assured: false
            }
        );
        assert_eq!(
            u.track(1_000_000_000, true, false, &t),
            Track::Accept {
                timeout: 30,
                set_assured: false
            }
        );
        assert_eq!(
            u.track(3_000_000_000, true, false, &t),
            Track::Accept {
                timeout: 120,
                set_assured: true
            }
        );
        assert_eq!(
            u.track(4_000_000_000, true, true, &t),
            Track::Accept {
                timeout: 120,
                set_assured: false
            }
        );
    }
}
