//! SCTP's basic association states, driven by the chunk types a packet carries
//! (INIT, INIT ACK, COOKIE ECHO, COOKIE ACK, SHUTDOWN…, ABORT), with Linux's timeouts.

use super::{Timeouts, Track};
use serde::Deserialize;

/// An association's state (Linux's `SCTP_CONNTRACK_*` names).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SctpState {
    /// Closed (or aborted).
    Closed,
    /// INIT seen.
    CookieWait,
    /// COOKIE ECHO seen.
    CookieEchoed,
    /// COOKIE ACK seen.
    Established,
    /// SHUTDOWN sent by the original side.
    ShutdownSent,
    /// SHUTDOWN sent by the reply side.
    ShutdownRecd,
    /// SHUTDOWN ACK seen.
    ShutdownAckSent,
}

impl SctpState {
    /// The name `conntrack -L` prints.
    pub fn name(self) -> &'static str {
        match self {
            SctpState::Closed => "CLOSED",
            SctpState::CookieWait => "COOKIE_WAIT",
            SctpState::CookieEchoed => "COOKIE_ECHOED",
            SctpState::Established => "ESTABLISHED",
            SctpState::ShutdownSent => "SHUTDOWN_SENT",
            SctpState::ShutdownRecd => "SHUTDOWN_RECD",
            SctpState::ShutdownAckSent => "SHUTDOWN_ACK_SENT",
        }
    }
}

/// SCTP timeouts, seconds (Linux's defaults).
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SctpTimeouts {
    /// CLOSED.
    pub closed: u32,
    /// COOKIE_WAIT.
    pub cookie_wait: u32,
    /// COOKIE_ECHOED.
    pub cookie_echoed: u32,
    /// ESTABLISHED.
    pub established: u32,
    /// SHUTDOWN_SENT, SHUTDOWN_RECD and SHUTDOWN_ACK_SENT.
    pub shutdown: u32,
}

impl Default for SctpTimeouts {
    fn default() -> Self {
        SctpTimeouts {
            closed: 10,
            cookie_wait: 3,
            cookie_echoed: 3,
            established: 210,
            shutdown: 3,
        }
    }
}

const INIT: u8 = 1;
const INIT_ACK: u8 = 2;
const ABORT: u8 = 6;
const SHUTDOWN: u8 = 7;
const SHUTDOWN_ACK: u8 = 8;
const COOKIE_ECHO: u8 = 10;
const COOKIE_ACK: u8 = 11;
const SHUTDOWN_COMPLETE: u8 = 14;

/// The chunk types of a packet (after the 12-byte common header), at most 16.
fn chunks(l4: &[u8]) -> impl Iterator<Item = u8> + '_ {
    let mut off = 12usize;
    std::iter::from_fn(move || {
        let h = l4.get(off..off + 4)?;
        let len = u16::from_be_bytes([h[2], h[3]]) as usize;
        if len < 4 {
            return None;
        }
        off += (len + 3) & !3;
        Some(h[0])
    })
    .take(16)
}

/// The state a new association starts in: only an INIT may start one.
pub fn sctp_new(l4: &[u8]) -> Result<SctpState, &'static str> {
    match chunks(l4).next() {
        Some(INIT) => Ok(SctpState::CookieWait),
        Some(_) => Err("sctp-not-init"),
        None => Err("sctp-no-chunk"),
    }
}

/// Tracks one packet of an association.
pub fn track(s: &mut SctpState, dir: u8, l4: &[u8], t: &Timeouts) -> Track {
    let mut set_assured = false;
    for c in chunks(l4) {
        *s = match c {
            INIT | INIT_ACK => SctpState::CookieWait,
            COOKIE_ECHO => SctpState::CookieEchoed,
            COOKIE_ACK => {
                set_assured = true;
                SctpState::Established
            }
            SHUTDOWN if dir == 0 => SctpState::ShutdownSent,
            SHUTDOWN => SctpState::ShutdownRecd,
            SHUTDOWN_ACK => SctpState::ShutdownAckSent,
            SHUTDOWN_COMPLETE | ABORT => SctpState::Closed,
            _ => *s,
        };
    }
    let st = &t.sctp;
    let timeout = match s {
        SctpState::Closed => st.closed,
        SctpState::CookieWait => st.cookie_wait,
        SctpState::CookieEchoed => st.cookie_echoed,
        SctpState::Established => st.established,
        _ => st.shutdown,
    };
    Track::Accept {
        timeout,
        set_assured,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkt(chunk: u8) -> Vec<u8> {
        let mut v = vec![0u8; 12];
        v.extend_from_slice(&[chunk, 0, 0, 4]);
        v
    }

    #[test]
    fn association_lifecycle() {
        let t = Timeouts::default();
        let mut s = sctp_new(&pkt(INIT)).unwrap();
        assert!(sctp_new(&pkt(0)).is_err());
        assert!(sctp_new(&[0; 12]).is_err());
        track(&mut s, 1, &pkt(INIT_ACK), &t);
        track(&mut s, 0, &pkt(COOKIE_ECHO), &t);
        assert_eq!(s, SctpState::CookieEchoed);
        assert_eq!(
            track(&mut s, 1, &pkt(COOKIE_ACK), &t),
            Track::Accept {
                timeout: 210,
                set_assured: true
            }
        );
        track(&mut s, 0, &pkt(SHUTDOWN), &t);
        assert_eq!(s.name(), "SHUTDOWN_SENT");
        track(&mut s, 1, &pkt(SHUTDOWN_ACK), &t);
        assert_eq!(
            track(&mut s, 0, &pkt(SHUTDOWN_COMPLETE), &t),
            Track::Accept {
                timeout: 10,
                set_assured: false
            }
        );
    }
}
