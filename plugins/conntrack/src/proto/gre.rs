//! GRE tracking: 30 s until a reply is seen, then a stream of 180 s, ASSURED.
//!
//! PPTP's calls too, as in mainline Linux: `pptp_expectfn` sets 600 s / 5 h on the
//! call's new GRE connection in `init_conntrack`, but `nf_conntrack_gre_packet` then
//! sets every unconfirmed GRE connection's timeouts to the GRE defaults (since the
//! l4proto `new` callback went), so the call's first packet undoes them.

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
