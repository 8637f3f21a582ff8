//! SCTP associations as Linux's `nf_conntrack_proto_sctp` tracks them: a state per
//! association moved by each chunk in turn through a table per direction, the
//! verification tag each direction must carry (learnt from INIT and INIT ACK, checked
//! on every packet as RFC 9260 section 8.5 says, with its exceptions), the basic chunk
//! checks, a secondary path's HEARTBEAT, and a timeout per state.

use super::{Timeouts, Track};
use brickwall_control_protocol::conntrack::states;
use serde::Deserialize;

/// An association's state (Linux's `SCTP_CONNTRACK_*`, in its order).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SctpState {
    /// Nothing seen yet (only while the first packet is tracked).
    None,
    /// Closed, aborted, or an INIT not yet answered.
    Closed,
    /// INIT ACK seen.
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
    /// A HEARTBEAT started the connection (a secondary path of an association).
    HeartbeatSent,
}

impl SctpState {
    /// Every state, in order.
    pub const ALL: [SctpState; 9] = [
        SctpState::None,
        SctpState::Closed,
        SctpState::CookieWait,
        SctpState::CookieEchoed,
        SctpState::Established,
        SctpState::ShutdownSent,
        SctpState::ShutdownRecd,
        SctpState::ShutdownAckSent,
        SctpState::HeartbeatSent,
    ];

    /// The name `conntrack -L` prints.
    pub fn name(self) -> &'static str {
        // The enum is in Linux's numbering, which the shared table follows.
        states::SCTP[self as usize]
    }
}

/// What the tracker keeps of an association.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SctpConn {
    state: SctpState,
    /// The verification tag each direction's packets carry (0: not known yet).
    vtag: [u32; 2],
    /// Each direction's INIT not yet settled by a COOKIE ACK (an INIT collision).
    init: [bool; 2],
    /// The direction of a HEARTBEAT whose tag was not its direction's (another path
    /// of the association, or a restarted one), until an answer settles it.
    heartbeat_other_tag: Option<u8>,
}

impl SctpConn {
    /// The association's state.
    pub fn state(&self) -> SctpState {
        self.state
    }

    /// The verification tags of the original and the reply direction.
    pub fn vtags(&self) -> [u32; 2] {
        self.vtag
    }
}

/// SCTP timeouts, seconds, per state (Linux's `nf_conntrack_sctp_timeout_*`).
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SctpTimeouts {
    /// CLOSED (and a first packet's NONE).
    pub closed: u32,
    /// COOKIE_WAIT.
    pub cookie_wait: u32,
    /// COOKIE_ECHOED.
    pub cookie_echoed: u32,
    /// ESTABLISHED.
    pub established: u32,
    /// SHUTDOWN_SENT.
    pub shutdown_sent: u32,
    /// SHUTDOWN_RECD.
    pub shutdown_recd: u32,
    /// SHUTDOWN_ACK_SENT.
    pub shutdown_ack_sent: u32,
    /// HEARTBEAT_SENT.
    pub heartbeat_sent: u32,
    /// The three shutdown states at once, when given (overrides their own keys).
    pub shutdown: Option<u32>,
}

impl Default for SctpTimeouts {
    fn default() -> Self {
        SctpTimeouts {
            closed: 10,
            cookie_wait: 3,
            cookie_echoed: 3,
            established: 210,
            shutdown_sent: 3,
            shutdown_recd: 3,
            shutdown_ack_sent: 3,
            heartbeat_sent: 30,
            shutdown: None,
        }
    }
}

impl SctpTimeouts {
    /// The timeout of `state`.
    pub fn of(&self, state: SctpState) -> u32 {
        match state {
            SctpState::None | SctpState::Closed => self.closed,
            SctpState::CookieWait => self.cookie_wait,
            SctpState::CookieEchoed => self.cookie_echoed,
            SctpState::Established => self.established,
            SctpState::ShutdownSent => self.shutdown.unwrap_or(self.shutdown_sent),
            SctpState::ShutdownRecd => self.shutdown.unwrap_or(self.shutdown_recd),
            SctpState::ShutdownAckSent => self.shutdown.unwrap_or(self.shutdown_ack_sent),
            SctpState::HeartbeatSent => self.heartbeat_sent,
        }
    }
}

const DATA: u8 = 0;
const INIT: u8 = 1;
const INIT_ACK: u8 = 2;
const HEARTBEAT: u8 = 4;
const HEARTBEAT_ACK: u8 = 5;
const ABORT: u8 = 6;
const SHUTDOWN: u8 = 7;
const SHUTDOWN_ACK: u8 = 8;
const ERROR: u8 = 9;
const COOKIE_ECHO: u8 = 10;
const COOKIE_ACK: u8 = 11;
const SHUTDOWN_COMPLETE: u8 = 14;
/// The T bit of ABORT and SHUTDOWN COMPLETE: the tag is the sender's own, not the
/// receiver's.
const FLAG_T: u8 = 1;

/// The bit of chunk type `ty` in a packet's map of chunk types (types from 32 on, which
/// no rule looks at, have none).
const fn bit(ty: u8) -> u32 {
    if ty < 32 {
        1 << ty
    } else {
        0
    }
}

/// Chunks that make an unconfirmed connection's packet out of the blue (RFC 9260
/// section 8.4): INVALID.
const OOTB: u32 = bit(ABORT) | bit(SHUTDOWN_COMPLETE) | bit(COOKIE_ACK);
/// Chunks whose packets are exempt from the common verification tag check (each has
/// its own rule, or none).
const OWN_TAG_RULE: u32 = bit(INIT)
    | bit(SHUTDOWN_COMPLETE)
    | bit(COOKIE_ECHO)
    | bit(ABORT)
    | bit(SHUTDOWN_ACK)
    | bit(HEARTBEAT)
    | bit(HEARTBEAT_ACK);

/// Each chunk of a packet after the 12-byte common header: type, flags, length and
/// offset, for every chunk whose 4-byte header is there. A chunk of length 0 is the
/// last one given.
fn walk(l4: &[u8]) -> impl Iterator<Item = (u8, u8, u16, usize)> + '_ {
    let mut off = Some(12usize);
    std::iter::from_fn(move || {
        let at = off?;
        let h = l4.get(at..at + 4)?;
        let len = u16::from_be_bytes([h[2], h[3]]);
        off = (len != 0).then(|| at + ((len as usize + 3) & !3));
        Some((h[0], h[1], len, at))
    })
}

/// Linux's basic checks: at least one chunk, none of length 0, COOKIE ECHO and COOKIE
/// ACK only first, INIT, INIT ACK and SHUTDOWN COMPLETE only alone (first, and nothing
/// after them). The packet's map of chunk types when they pass.
fn basic_checks(l4: &[u8]) -> Result<u32, &'static str> {
    let (mut map, mut count, mut alone) = (0u32, 0usize, false);
    for (ty, _, len, _) in walk(l4) {
        alone |= matches!(ty, INIT | INIT_ACK | SHUTDOWN_COMPLETE);
        if len == 0 || (count != 0 && (alone || matches!(ty, COOKIE_ACK | COOKIE_ECHO))) {
            return Err("sctp-chunks");
        }
        map |= bit(ty);
        count += 1;
    }
    if count == 0 {
        return Err("sctp-no-chunk");
    }
    Ok(map)
}

/// A big-endian word of the packet at `at`.
fn word(l4: &[u8], at: usize) -> Option<u32> {
    l4.get(at..at + 4)
        .map(|w| u32::from_be_bytes([w[0], w[1], w[2], w[3]]))
}

/// `I` in the transition table: the chunk is INVALID in that state.
const I: u8 = 9;

/// The state after a chunk: per direction (original, reply), per chunk (INIT, INIT
/// ACK, ABORT, SHUTDOWN, SHUTDOWN ACK, ERROR, COOKIE ECHO, COOKIE ACK, SHUTDOWN
/// COMPLETE, HEARTBEAT, HEARTBEAT ACK), per current state (in [`SctpState`]'s order:
/// NONE, CLOSED, COOKIE_WAIT, COOKIE_ECHOED, ESTABLISHED, SHUTDOWN_SENT, SHUTDOWN_RECD,
/// SHUTDOWN_ACK_SENT, HEARTBEAT_SENT), as Linux's table has it.
const NEXT: [[[u8; 9]; 11]; 2] = [
    [
        [1, 1, 2, 3, 4, 1, 1, 7, 2],
        [1, 1, 2, 3, 4, 5, 6, 7, 1],
        [1, 1, 1, 1, 1, 1, 1, 1, 1],
        [1, 1, 2, 3, 5, 5, 6, 7, 1],
        [7, 1, 2, 3, 4, 7, 7, 7, 7],
        [1, 1, 2, 3, 4, 5, 6, 7, 1],
        [1, 1, 3, 3, 4, 5, 6, 7, 1],
        [1, 1, 2, 4, 4, 5, 6, 7, 1],
        [1, 1, 2, 3, 4, 5, 6, 1, 1],
        [8, 1, 2, 3, 4, 5, 6, 7, 8],
        [1, 1, 2, 3, 4, 5, 6, 7, 8],
    ],
    [
        [I, 1, 2, 3, 4, 5, 6, 7, I],
        [I, 2, 2, 3, 4, 5, 6, 7, I],
        [I, 1, 1, 1, 1, 1, 1, 1, I],
        [I, 1, 2, 3, 6, 5, 6, 7, I],
        [I, 1, 2, 3, 4, 7, 7, 7, I],
        [I, 1, 2, 1, 4, 5, 6, 7, I],
        [I, 1, 3, 3, 4, 5, 6, 7, I],
        [I, 1, 2, 4, 4, 5, 6, 7, I],
        [I, 1, 2, 3, 4, 5, 6, 1, I],
        [I, 1, 2, 3, 4, 5, 6, 7, 8],
        [I, 1, 2, 3, 4, 5, 6, 7, 4],
    ],
];

/// The state after chunk `ty` in direction `dir`: unchanged for chunks that move
/// nothing (DATA, SACK, ...), `None` where the chunk is INVALID.
fn next(dir: u8, state: SctpState, ty: u8) -> Option<SctpState> {
    let row = match ty {
        INIT => 0,
        INIT_ACK => 1,
        ABORT => 2,
        SHUTDOWN => 3,
        SHUTDOWN_ACK => 4,
        ERROR => 5,
        COOKIE_ECHO => 6,
        COOKIE_ACK => 7,
        SHUTDOWN_COMPLETE => 8,
        HEARTBEAT => 9,
        HEARTBEAT_ACK => 10,
        _ => return Some(state),
    };
    let to = NEXT[usize::from(dir & 1)][row][state as usize];
    SctpState::ALL.get(usize::from(to)).copied()
}

/// The association a first packet starts, in state NONE with the tags it announces,
/// or why it cannot start one: the basic checks, an out-of-the-blue chunk, a chunk
/// that cannot open an association (DATA, ...), an INIT with a tag. Kept out of line:
/// the common protocols' paths stay small.
#[inline(never)]
pub fn sctp_new(l4: &[u8]) -> Result<SctpConn, &'static str> {
    let map = basic_checks(l4)?;
    if map & OOTB != 0 {
        return Err("sctp-out-of-the-blue");
    }
    let vtag = word(l4, 4).ok_or("sctp-truncated")?;
    let mut c = SctpConn {
        state: SctpState::None,
        vtag: [0; 2],
        init: [false; 2],
        heartbeat_other_tag: None,
    };
    for (ty, _, _, at) in walk(l4) {
        if matches!(next(0, SctpState::None, ty), None | Some(SctpState::None)) {
            return Err("sctp-cannot-start");
        }
        match ty {
            INIT if vtag != 0 => return Err("sctp-init-tag"),
            // The answers carry the INIT's initiate tag.
            INIT => c.vtag[1] = word(l4, at + 4).ok_or("sctp-truncated")?,
            HEARTBEAT => c.vtag[0] = vtag,
            // Out of the blue: the answer (SHUTDOWN COMPLETE, ABORT) reflects the tag.
            _ => c.vtag[1] = vtag,
        }
    }
    Ok(c)
}

/// Tracks one packet of an association in direction `dir`; `confirmed`: the
/// connection is in the table already. Kept out of line, as [`sctp_new`].
#[inline(never)]
pub fn track(c: &mut SctpConn, dir: u8, l4: &[u8], confirmed: bool, t: &Timeouts) -> Track {
    let map = match basic_checks(l4) {
        Ok(m) => m,
        Err(why) => return Track::Invalid(why),
    };
    let Some(vtag) = word(l4, 4) else {
        return Track::Invalid("sctp-truncated");
    };
    let (d, o) = (usize::from(dir & 1), usize::from(dir & 1 ^ 1));
    if map & OWN_TAG_RULE == 0 && vtag != c.vtag[d] {
        return Track::Invalid("sctp-vtag");
    }
    let mut ignore = false;
    let mut set_assured = false;
    for (ty, flags, _, at) in walk(l4) {
        match ty {
            INIT if vtag != 0 => return Track::Invalid("sctp-init-tag"),
            ABORT | SHUTDOWN_COMPLETE => {
                let own = if flags & FLAG_T != 0 { o } else { d };
                if vtag != c.vtag[own] {
                    return Track::Invalid("sctp-vtag");
                }
            }
            COOKIE_ECHO if vtag != c.vtag[d] => return Track::Invalid("sctp-vtag"),
            COOKIE_ACK => c.init = [false; 2],
            HEARTBEAT | HEARTBEAT_ACK => {
                if c.vtag[d] == 0 {
                    c.vtag[d] = vtag;
                } else if vtag != c.vtag[d] {
                    if map & bit(DATA) != 0 || ignore {
                        return Track::Invalid("sctp-vtag");
                    }
                    if ty == HEARTBEAT {
                        // Another path, or the peer restarted: let it pass, wait
                        // for its answer.
                        c.heartbeat_other_tag = Some(dir);
                        ignore = true;
                        continue;
                    }
                    // An answer from the other side to such a HEARTBEAT takes its
                    // tag as the direction's own.
                    if c.heartbeat_other_tag.is_none_or(|from| from == dir) {
                        return Track::Invalid("sctp-vtag");
                    }
                    c.heartbeat_other_tag = None;
                    c.vtag[d] = vtag;
                    c.vtag[o] = 0;
                } else {
                    c.heartbeat_other_tag = None;
                }
            }
            _ => {}
        }
        let before = c.state;
        let Some(after) = next(dir, before, ty) else {
            return Track::Invalid("sctp-state");
        };
        if ty == INIT || ty == INIT_ACK {
            let Some(tag) = word(l4, at + 4) else {
                return Track::Invalid("sctp-truncated");
            };
            if ty == INIT {
                if c.init[d] && c.init[o] {
                    c.init[o] = false;
                }
                c.init[d] = true;
                // A retransmitted INIT of a closed association does not keep it alive.
                ignore |= after == SctpState::Closed && before == SctpState::Closed && confirmed;
            } else {
                let known = c.vtag[o];
                let mismatch = known != 0 && known != tag;
                if (!c.init[o] && mismatch) || (c.init[d] && c.init[o] && known != tag) {
                    return Track::Invalid("sctp-vtag");
                }
            }
            c.vtag[o] = tag;
        }
        c.state = after;
        set_assured |= before != after && after == SctpState::Established;
    }
    if ignore {
        return Track::Ignore;
    }
    Track::Accept {
        timeout: t.sctp.of(c.state),
        set_assured,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A packet with tag `vtag` and one chunk of type `ty` (INIT and INIT ACK with
    /// initiate tag `tag`, ABORT and SHUTDOWN COMPLETE with `flags`).
    fn pkt(vtag: u32, ty: u8, flags: u8, tag: u32) -> Vec<u8> {
        let mut v = vec![0, 1, 0, 2];
        v.extend_from_slice(&vtag.to_be_bytes());
        v.extend_from_slice(&[0; 4]);
        if ty == INIT || ty == INIT_ACK {
            v.extend_from_slice(&[ty, flags, 0, 20]);
            v.extend_from_slice(&tag.to_be_bytes());
            v.extend_from_slice(&[0; 12]);
        } else {
            v.extend_from_slice(&[ty, flags, 0, 4]);
        }
        v
    }

    fn accepts(r: Track) -> bool {
        matches!(r, Track::Accept { .. })
    }

    #[test]
    fn an_association_with_its_tags_and_shutdown() {
        let t = Timeouts::default();
        let (a, b) = (0x1111, 0x2222);
        let first = pkt(0, INIT, 0, a);
        let mut c = sctp_new(&first).unwrap();
        assert!(accepts(track(&mut c, 0, &first, false, &t)));
        assert_eq!(c.state(), SctpState::Closed);
        assert!(accepts(track(&mut c, 1, &pkt(a, INIT_ACK, 0, b), true, &t)));
        assert_eq!((c.state(), c.vtags()), (SctpState::CookieWait, [b, a]));
        // DATA with the wrong tag is INVALID; with the right one it passes.
        assert_eq!(
            track(&mut c, 0, &pkt(9, DATA, 3, 0), true, &t),
            Track::Invalid("sctp-vtag")
        );
        assert!(accepts(track(
            &mut c,
            0,
            &pkt(b, COOKIE_ECHO, 0, 0),
            true,
            &t
        )));
        assert_eq!(
            track(&mut c, 1, &pkt(a, COOKIE_ACK, 0, 0), true, &t),
            Track::Accept {
                timeout: 210,
                set_assured: true
            }
        );
        assert!(accepts(track(&mut c, 0, &pkt(b, DATA, 3, 0), true, &t)));
        assert!(accepts(track(&mut c, 0, &pkt(b, SHUTDOWN, 0, 0), true, &t)));
        assert_eq!(c.state().name(), "SHUTDOWN_SENT");
        assert!(accepts(track(
            &mut c,
            1,
            &pkt(a, SHUTDOWN_ACK, 0, 0),
            true,
            &t
        )));
        // SHUTDOWN COMPLETE with the T bit carries the sender's own tag.
        assert_eq!(
            track(&mut c, 0, &pkt(b, SHUTDOWN_COMPLETE, FLAG_T, 0), true, &t),
            Track::Invalid("sctp-vtag")
        );
        assert!(accepts(track(
            &mut c,
            0,
            &pkt(a, SHUTDOWN_COMPLETE, FLAG_T, 0),
            true,
            &t
        )));
        assert_eq!(c.state(), SctpState::Closed);
    }

    #[test]
    fn what_cannot_start_an_association() {
        assert_eq!(
            sctp_new(&pkt(0, DATA, 0, 0)).unwrap_err(),
            "sctp-cannot-start"
        );
        assert_eq!(sctp_new(&pkt(5, INIT, 0, 1)).unwrap_err(), "sctp-init-tag");
        assert_eq!(
            sctp_new(&pkt(5, ABORT, 0, 0)).unwrap_err(),
            "sctp-out-of-the-blue"
        );
        assert_eq!(sctp_new(&[0; 12]).unwrap_err(), "sctp-no-chunk");
        // An INIT bundled with another chunk fails the basic checks.
        let mut two = pkt(0, INIT, 0, 1);
        two.extend_from_slice(&[DATA, 0, 0, 4]);
        assert_eq!(sctp_new(&two).unwrap_err(), "sctp-chunks");
        // A HEARTBEAT starts a secondary path's connection.
        let hb = pkt(7, HEARTBEAT, 0, 0);
        let mut c = sctp_new(&hb).unwrap();
        assert!(accepts(track(&mut c, 0, &hb, false, &Timeouts::default())));
        assert_eq!(c.state(), SctpState::HeartbeatSent);
        assert!(accepts(track(
            &mut c,
            1,
            &pkt(8, HEARTBEAT_ACK, 0, 0),
            true,
            &Timeouts::default()
        )));
        assert_eq!(c.state(), SctpState::Established);
    }

    #[test]
    fn a_retransmitted_init_of_a_closed_association_keeps_its_timeout() {
        let t = Timeouts::default();
        let first = pkt(0, INIT, 0, 0x33);
        let mut c = sctp_new(&first).unwrap();
        track(&mut c, 0, &first, false, &t);
        assert_eq!(track(&mut c, 0, &first, true, &t), Track::Ignore);
    }
}
