//! UDP (and UDP-Lite) tracking: unreplied, replied, and a stream once the connection
//! is still active two seconds after it began and has seen a reply (then ASSURED).

use super::{Timeouts, Track};

/// How long after creation a replied UDP connection counts as a stream.
const STREAM_AFTER_NS: u64 = 2_000_000_000;

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
