//! UDP (and UDP-Lite) tracking: unreplied, replied, and a stream once the connection
//! is still active two seconds after it began and has seen a reply (then ASSURED);
//! UDP-Lite is a stream (ASSURED, 120 s) from its first reply, as in Linux. A
//! datagram whose header's length (UDP-Lite: checksum coverage) is under 8 or beyond
//! the segment is INVALID, as Linux's `udp_error` and `udplite_error` say.

use super::{Timeouts, Track};

/// How long after creation a replied UDP connection counts as a stream.
const STREAM_AFTER_NS: u64 = 2_000_000_000;

/// A UDP connection's state: when it started (packet time, ns), from which the
/// stream rule counts (Linux keeps `stream_ts` for this). Kept as two halves so that
/// the protocol state stays 4-byte aligned and fits the record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UdpState {
    start: [u32; 2],
    /// UDP-Lite (the header's length field is the checksum coverage).
    lite: bool,
}

impl UdpState {
    /// The state of a UDP connection started at `start_ns`.
    pub fn new(start_ns: u64) -> UdpState {
        UdpState {
            start: [(start_ns >> 32) as u32, start_ns as u32],
            lite: false,
        }
    }

    /// The state of a UDP-Lite connection started at `start_ns`.
    pub fn new_lite(start_ns: u64) -> UdpState {
        UdpState {
            lite: true,
            ..UdpState::new(start_ns)
        }
    }

    /// Whether the connection is UDP-Lite.
    #[inline]
    pub fn lite(&self) -> bool {
        self.lite
    }

    /// When the connection started.
    #[inline]
    pub fn start_ns(&self) -> u64 {
        u64::from(self.start[0]) << 32 | u64::from(self.start[1])
    }
}

/// Whether a datagram's header is sound: `l4` its bytes as captured, `l4_len` the
/// segment's length as the IP header declares it. The length field (UDP-Lite: the
/// checksum coverage, 0 meaning all) must be at least the header's 8 bytes and at most
/// the segment; UDP-Lite mandates a checksum (its value is not verified). A capture cut
/// before a field leaves it unchecked (the kernel saw the whole datagram).
#[inline]
pub fn header_ok(l4: &[u8], l4_len: usize, lite: bool) -> bool {
    let Some(&[hi, lo]) = l4.get(4..6) else {
        return l4_len >= 8;
    };
    let len = usize::from(u16::from_be_bytes([hi, lo]));
    if lite {
        let checksum = l4.get(6..8).is_none_or(|c| c != [0, 0]);
        checksum && (len == 0 || (8..=l4_len).contains(&len))
    } else {
        (8..=l4_len).contains(&len)
    }
}

/// Tracks one packet of a connection that started at `start_ns`: a replied UDP
/// connection still active two seconds after its start is a stream; a replied
/// UDP-Lite one (`lite`) is a stream at once, as Linux's `nf_conntrack_udplite_packet`
/// has no two-second rule.
pub fn track(
    start_ns: u64,
    now_ns: u64,
    seen_reply: bool,
    assured: bool,
    lite: bool,
    t: &Timeouts,
) -> Track {
    if !seen_reply {
        return Track::Accept {
            timeout: t.udp,
            set_assured: false,
        };
    }
    if lite {
        return Track::Accept {
            timeout: t.udp_stream,
            set_assured: !assured,
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
    fn lengths_under_the_header_or_beyond_the_segment_are_refused() {
        let hdr = |len: u16| {
            let mut h = vec![0, 1, 0, 2];
            h.extend_from_slice(&len.to_be_bytes());
            h.extend_from_slice(&[0, 9, 1, 2, 3, 4]);
            h
        };
        // A 12-byte segment: 8..=12 are fine.
        for (len, ok) in [(0, false), (7, false), (8, true), (12, true), (13, false)] {
            assert_eq!(header_ok(&hdr(len), 12, false), ok, "udp length {len}");
        }
        // UDP-Lite: coverage 0 is the whole datagram.
        for (len, ok) in [(0, true), (7, false), (8, true), (12, true), (13, false)] {
            assert_eq!(
                header_ok(&hdr(len), 12, true),
                ok,
                "udp-lite coverage {len}"
            );
        }
        let mut no_checksum = hdr(12);
        no_checksum[7] = 0;
        assert!(header_ok(&no_checksum, 12, false));
        assert!(
            !header_ok(&no_checksum, 12, true),
            "udp-lite without checksum"
        );
        // A capture cut short: the declared segment counts, not the bytes captured.
        assert!(header_ok(&hdr(1000)[..8], 1000, false));
        assert!(header_ok(&hdr(9)[..4], 9, false));
        assert!(!header_ok(&hdr(9)[..4], 7, false));
    }

    #[test]
    fn udp_lite_is_a_stream_once_replied() {
        let t = Timeouts::default();
        let at = |now_ns, seen_reply, assured| track(0, now_ns, seen_reply, assured, true, &t);
        assert_eq!(
            at(0, false, false),
            Track::Accept {
                timeout: 30,
                set_assured: false
            }
        );
        // No two-second rule: the first reply makes it ASSURED with the stream timeout.
        assert_eq!(
            at(1_000_000, true, false),
            Track::Accept {
                timeout: 120,
                set_assured: true
            }
        );
        assert_eq!(
            at(2_000_000, true, true),
            Track::Accept {
                timeout: 120,
                set_assured: false
            }
        );
    }

    #[test]
    fn unreplied_replied_stream() {
        let t = Timeouts::default();
        let track =
            |start, now, seen, assured, t: &Timeouts| track(start, now, seen, assured, false, t);
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
