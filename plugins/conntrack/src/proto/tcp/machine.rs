//! The TCP state machine: creating a record for a connection's first segment and
//! tracking every later one (Linux's `tcp_new` and `nf_conntrack_tcp_packet`).

use super::conn::{Side, Stash, TcpConn, Work, FLAG_BE_LIBERAL, FLAG_DATA_UNACKNOWLEDGED};
use super::conn::{FLAG_MAXACK_SET, FLAG_SACK_PERM, FLAG_WINDOW_SCALE};
use super::flags::check_flags;
use super::options::read_handshake_options;
use super::state_table::{flag_class, transition, FlagClass, Transition};
use super::window::{check_window, WindowCheck};
use super::{before, Dir, Segment, TcpConfig, TcpState, TcpVerdict};

/// Whether a segment may start a new connection, and the record it starts with (Linux's
/// `tcp_new`). Only what the state table allows from NONE in the original direction may
/// start one: a SYN, or, with `loose`, a plain ACK (a connection picked up mid-stream,
/// whose windows are taken from the packet and which is tracked liberally, with SACK
/// assumed). Anything else is refused with a reason: invalid flag combinations (SYN|FIN,
/// FIN without ACK, no flags, Xmas…) as "tcp-invalid-flags"; RST, SYN/ACK, FIN/ACK or no
/// SYN/FIN/ACK/RST as "tcp-invalid-new"; an ACK without `loose` as "tcp-no-pickup".
///
/// The record is in [`TcpState::None`]: as in Linux, run the same segment through
/// [`tcp_packet`] next (original direction, no reply seen, not assured) to get the
/// connection's first state and timeout, or use [`tcp_start`].
pub fn tcp_new(seg: &Segment, cfg: &TcpConfig) -> Result<TcpConn, &'static str> {
    check_flags(seg.flags)?;
    let first = match transition(Dir::Original, flag_class(seg.flags), TcpState::None) {
        Transition::To(s) => s,
        Transition::Ignore | Transition::Invalid => return Err("tcp-invalid-new"),
    };
    let mut w = Work::zeroed();
    let side = &mut w.seen[Dir::Original.index()];
    side.end = seg.end();
    side.maxwin = u32::from(seg.window).max(1);
    if first == TcpState::SynSent {
        side.maxend = side.end;
        read_handshake_options(seg.options, side);
    } else if !cfg.loose {
        return Err("tcp-no-pickup");
    } else {
        // Picked up mid-stream: we cannot know the window scale, so both sides are
        // tracked liberally, with SACK assumed.
        side.maxend = side.end.wrapping_add(side.maxwin);
        w.seen[0].flags = FLAG_SACK_PERM | FLAG_BE_LIBERAL;
        w.seen[1].flags = FLAG_SACK_PERM | FLAG_BE_LIBERAL;
    }
    w.last_index = FlagClass::None;
    Ok(TcpConn::pack(&w))
}

/// [`tcp_new`] followed by [`tcp_packet`] on the same segment: the record in its first
/// state (SYN_SENT, or ESTABLISHED when picked up) and the first packet's verdict
/// (an [`TcpVerdict::Accept`] with the first timeout).
pub fn tcp_start(seg: &Segment, cfg: &TcpConfig) -> Result<(TcpConn, TcpVerdict), &'static str> {
    let mut conn = tcp_new(seg, cfg)?;
    let verdict = tcp_packet(&mut conn, Dir::Original, seg, cfg, false, false);
    Ok((conn, verdict))
}

/// Tracks one packet of a connection (Linux's `nf_conntrack_tcp_packet`).
///
/// `seen_reply` is whether a reply-direction packet was seen *before* this one
/// (IPS_SEEN_REPLY, which Linux sets only after the tracker ran); `assured` whether the
/// connection is already ASSURED. On [`TcpVerdict::Invalid`] only Linux's bookkeeping of
/// an invalid FIN/RST on an ASSURED connection may change; the state never does.
pub fn tcp_packet(
    conn: &mut TcpConn,
    dir: Dir,
    seg: &Segment,
    cfg: &TcpConfig,
    seen_reply: bool,
    assured: bool,
) -> TcpVerdict {
    let mut w = conn.unpack();
    let verdict = track(&mut w, dir, seg, cfg, seen_reply, assured);
    *conn = TcpConn::pack(&w);
    verdict
}

/// What to do about the window check for an RST.
enum RstPlan {
    /// Check it as any packet.
    Check,
    /// Accept it without checking (it answers a packet we let through unjudged, or the
    /// connection is closing anyway).
    Trust,
    /// INVALID.
    Reject(&'static str),
}

pub(crate) fn track(
    w: &mut Work,
    dir: Dir,
    seg: &Segment,
    cfg: &TcpConfig,
    seen_reply: bool,
    assured: bool,
) -> TcpVerdict {
    if let Err(reason) = check_flags(seg.flags) {
        return TcpVerdict::Invalid { reason };
    }
    let class = flag_class(seg.flags);
    // `prior` is the recorded state; `from` is the state the after-effects compare
    // against (a resynchronisation pretends the connection came from SYN_SENT).
    let prior = w.state;
    let mut from = prior;
    let mut check = true;
    let mut resynced = false;

    let mut next = match transition(dir, class, prior) {
        Transition::Invalid => {
            return TcpVerdict::Invalid {
                reason: "tcp-invalid-state",
            }
        }
        Transition::Ignore => match ignore_or_resync(w, dir, class, seg, prior) {
            Some(v) => return v,
            None => {
                // Resynchronised: straight to the window check.
                from = TcpState::SynSent;
                resynced = true;
                TcpState::SynRecv
            }
        },
        Transition::To(next) => next,
    };

    match next {
        _ if resynced => {}
        TcpState::SynSent if prior >= TcpState::TimeWait => {
            // A SYN on a connection in TIME_WAIT or CLOSE (RFC 1122 lets TIME_WAIT be
            // reopened). If the old connection really ended (a FIN started the close,
            // or this side reset it), start afresh; otherwise the endpoints may still
            // think it alive, so treat the SYN as unjudged.
            let this_side_reset = w.last_dir == dir && w.last_index == FlagClass::Rst;
            if w.close_init || this_side_reset {
                return TcpVerdict::Reopen;
            }
            match ignore_or_resync(w, dir, class, seg, prior) {
                Some(v) => return v,
                None => {
                    from = TcpState::SynSent;
                    next = TcpState::SynRecv;
                }
            }
        }
        TcpState::TimeWait => {
            // In LAST_ACK after a SYN we let through, an ACK from the other side may be
            // the RFC 5961 challenge ACK answering that SYN, not the last ACK.
            let stash = w.stash();
            if prior == TcpState::LastAck
                && class == FlagClass::Ack
                && w.last_dir != dir
                && w.last_index == FlagClass::Syn
                && stash.challenge
            {
                w.set_stash(Stash {
                    challenge: false,
                    ..stash
                });
                return TcpVerdict::Ignore {
                    reason: "tcp-challenge-ack",
                };
            }
        }
        TcpState::SynSent2 => w.sim_open = true,
        // After a simultaneous open the reply side's ACK completes the handshake.
        TcpState::SynRecv if dir == Dir::Reply && class == FlagClass::Ack && w.sim_open => {
            next = TcpState::Established;
        }
        TcpState::Close if class == FlagClass::Rst => {
            match plan_rst(w, dir, seg, prior, &mut next, seen_reply, assured) {
                RstPlan::Check => {}
                RstPlan::Trust => check = false,
                RstPlan::Reject(reason) => return TcpVerdict::Invalid { reason },
            }
        }
        _ => {}
    }

    if check {
        match check_window(w, dir, class, seg, cfg) {
            WindowCheck::Accept => {}
            WindowCheck::Ignore(reason) => return TcpVerdict::Ignore { reason },
            WindowCheck::Invalid(reason) => {
                return invalid_after_window(w, dir, class, reason, cfg, assured)
            }
        }
    }

    // The packet counts.
    w.last_index = class;
    w.last_dir = dir;
    w.state = next;
    if next == TcpState::FinWait && from != next {
        w.close_init = true;
    }

    let timeout = timeout_for(w, next, class, cfg);
    if !seen_reply {
        if class == FlagClass::Rst {
            // The only answer so far is a reset: nothing was ever established.
            return TcpVerdict::Kill;
        }
        if class == FlagClass::Syn && from == TcpState::SynSent {
            // A SYN before any reply (a retransmission, or the reply side's SYN of a
            // simultaneous open) must not extend the entry's life, or a client (or a
            // NAT) reusing the port could keep it alive forever.
            return TcpVerdict::Ignore {
                reason: "tcp-syn-before-reply",
            };
        }
        let timeout = if next == TcpState::Established {
            // Picked up mid-stream and unanswered: keep the timeout short.
            timeout.min(cfg.timeouts.unacknowledged)
        } else {
            timeout
        };
        return TcpVerdict::Accept {
            timeout,
            set_assured: false,
        };
    }
    let set_assured = !assured
        && matches!(from, TcpState::SynRecv | TcpState::Established)
        && next == TcpState::Established;
    TcpVerdict::Accept {
        timeout,
        set_assured,
    }
}

/// The timeout after an accepted packet moved the connection to `state`: the state's
/// own, capped at `retrans` after too many retransmissions, `close` for any RST, capped
/// at `unacknowledged` while data is outstanding and at `retrans` after a zero window.
fn timeout_for(w: &Work, state: TcpState, class: FlagClass, cfg: &TcpConfig) -> u32 {
    let t = &cfg.timeouts;
    let own = t.for_state(state);
    let unacked = (w.seen[0].flags | w.seen[1].flags) & FLAG_DATA_UNACKNOWLEDGED != 0;
    if w.retrans >= cfg.max_retrans && own > t.retrans {
        t.retrans
    } else if class == FlagClass::Rst {
        t.close
    } else if unacked && own > t.unacknowledged {
        t.unacknowledged
    } else if w.last_win == 0 && own > t.retrans {
        t.retrans
    } else {
        own
    }
}

/// A packet the table says to let through unjudged. Usually it is only noted (and its
/// verdict returned); but a SYN/ACK answering the original-direction SYN we let through
/// last shows that both ends moved to a new connection: then the record is
/// resynchronised from that SYN and `None` is returned, meaning "continue as a SYN/ACK
/// seen in SYN_SENT".
fn ignore_or_resync(
    w: &mut Work,
    dir: Dir,
    class: FlagClass,
    seg: &Segment,
    prior: TcpState,
) -> Option<TcpVerdict> {
    if class == FlagClass::SynAck
        && w.last_index == FlagClass::Syn
        && w.last_dir != dir
        && seg.ack == w.last_end
    {
        let stash = w.stash();
        let syn_dir = w.last_dir.index();
        let syn_side = &mut w.seen[syn_dir];
        syn_side.end = w.last_end;
        syn_side.maxend = w.last_end;
        syn_side.maxwin = u32::from(w.last_win).max(1);
        syn_side.scale = stash.scale;
        syn_side.flags = stash.flags;
        w.set_stash(Stash {
            challenge: false,
            ..stash
        });
        let this = &mut w.seen[dir.index()];
        let liberal = this.flags & FLAG_BE_LIBERAL;
        *this = Default::default();
        this.flags = liberal;
        // Neither side has sent a FIN in the new connection.
        w.close_init = false;
        return None;
    }

    w.last_index = class;
    w.last_dir = dir;
    w.last_win = seg.window;
    w.set_last_span(seg.seq, seg.end());
    if class == FlagClass::Syn && dir == Dir::Original {
        // Keep the SYN's options, should the server answer it.
        let mut offered = Side::default();
        read_handshake_options(seg.options, &mut offered);
        w.sim_open = false;
        w.set_stash(Stash {
            scale: offered.scale,
            flags: offered.flags & (FLAG_WINDOW_SCALE | FLAG_SACK_PERM),
            // In LAST_ACK the server may answer with a challenge ACK (RFC 5961) that
            // must not be taken for the last ACK.
            challenge: prior == TcpState::LastAck,
        });
    }
    if prior == TcpState::SynSent && class == FlagClass::Ack && dir == Dir::Reply {
        // Possibly a challenge ACK answering our SYN; the client's RST would carry it.
        w.last_ack = seg.ack;
    }
    Some(TcpVerdict::Ignore {
        reason: "tcp-ignored",
    })
}

/// Linux 6.x's RST rules, applied before the window check.
///
/// * In FIN_WAIT, CLOSE_WAIT, LAST_ACK, TIME_WAIT and CLOSE the RST is trusted
///   unchecked (the tuple may already be reused; the connection is going anyway).
/// * Otherwise, when the peer has acknowledged something (and the last packet was not
///   a SYN we let through), the RST's sequence is compared with the peer's highest ack
///   (`td_maxack`, the sequence number the peer expects next):
///   - sequence 0 outside an ASSURED ESTABLISHED connection: checked normally (likely the
///     answer to a SYN we let through);
///   - before that ack: INVALID ("tcp-bad-rst");
///   - equal to it, or anything in a connection that is not ASSURED ESTABLISHED:
///     checked normally and, in window, closes the connection;
///   - right after data this side just sent (seq = end of its last segment): likewise;
///   - any other sequence (later, possibly in window): the connection keeps its state
///     (RFC 5961: the receiver answers with a challenge ACK rather than closing), but,
///     if the RST passes the window check, its timeout becomes the CLOSE timeout; the
///     challenge ACK, an ordinary in-window ACK, then restores the state's timeout
///     (capped by the unacknowledged timeout while the RST's sequence, which counts as
///     sent, is beyond what the peer acknowledged).
/// * An RST whose ack answers the SYN (after a reply was seen) or the ACK (connection
///   not ASSURED) we last let through unjudged is trusted; so is one answering a
///   challenge ACK sent in SYN_SENT.
fn plan_rst(
    w: &Work,
    dir: Dir,
    seg: &Segment,
    prior: TcpState,
    next: &mut TcpState,
    seen_reply: bool,
    assured: bool,
) -> RstPlan {
    if matches!(
        prior,
        TcpState::FinWait
            | TcpState::CloseWait
            | TcpState::LastAck
            | TcpState::TimeWait
            | TcpState::Close
    ) {
        return RstPlan::Trust;
    }
    let peer = &w.seen[dir.opposite().index()];
    if peer.flags & FLAG_MAXACK_SET != 0 && w.last_index != FlagClass::Syn {
        let established = prior == TcpState::Established && assured;
        if seg.seq == 0 && !established {
            return RstPlan::Check;
        }
        if before(seg.seq, peer.maxack) {
            return RstPlan::Reject("tcp-bad-rst");
        }
        if !established || seg.seq == peer.maxack {
            return RstPlan::Check;
        }
        if w.last_index == FlagClass::Ack && w.last_dir == dir && seg.seq == w.last_end {
            // Data followed by an RST right behind it.
            return RstPlan::Check;
        }
        // In window but not where the peer expects it: do not close.
        *next = prior;
    }
    let answers_let_through = (seen_reply && w.last_index == FlagClass::Syn)
        || (!assured && w.last_index == FlagClass::Ack);
    if answers_let_through && seg.ack == w.last_end {
        return RstPlan::Trust;
    }
    if prior == TcpState::SynSent
        && w.last_index == FlagClass::Ack
        && w.last_dir == Dir::Reply
        && seg.seq == w.last_ack
    {
        return RstPlan::Trust;
    }
    RstPlan::Check
}

/// The verdict for a packet that failed the window check, with Linux's handling of an
/// invalid FIN or RST on an ASSURED connection: if it answers the other side's FIN or
/// RST, the entry's lifetime is lowered (the endpoints are probably gone); otherwise
/// the packet is remembered as the last one, so that the other side's answer is
/// recognised.
fn invalid_after_window(
    w: &mut Work,
    dir: Dir,
    class: FlagClass,
    reason: &'static str,
    cfg: &TcpConfig,
    assured: bool,
) -> TcpVerdict {
    let closing = |c: FlagClass| matches!(c, FlagClass::Fin | FlagClass::Rst);
    if !assured || !closing(class) {
        return TcpVerdict::Invalid { reason };
    }
    if w.last_dir != dir && closing(w.last_index) {
        return TcpVerdict::InvalidLowerTimeout {
            reason,
            timeout: cfg.timeouts.unacknowledged,
        };
    }
    w.last_index = class;
    w.last_dir = dir;
    TcpVerdict::Invalid { reason }
}
