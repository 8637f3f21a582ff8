//! GRE tracking: 30 s until a reply is seen, then a stream of 180 s, ASSURED.

use super::{Timeouts, Track};

/// Tracks one GRE packet.
pub fn track(seen_reply: bool, t: &Timeouts) -> Track {
    if seen_reply {
        Track::Accept {
            timeout: t.gre_stream,
            set_assured: true,
        }
    } else {
        Track::Accept {
            timeout: t.gre,
            set_assured: false,
        }
    }
}
