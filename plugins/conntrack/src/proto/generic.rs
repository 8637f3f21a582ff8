//! Tracking of protocols conntrack knows nothing about: by addresses and protocol
//! number alone, with one timeout.

use super::{Timeouts, Track};

/// Tracks one packet of an unknown protocol.
pub fn track(t: &Timeouts) -> Track {
    Track::Accept {
        timeout: t.generic,
        set_assured: false,
    }
}
