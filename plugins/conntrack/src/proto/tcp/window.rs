//! Window tracking (Linux's `tcp_in_window`), after Guido van Rooij's "Real Stateful
//! TCP Packet Filtering in IP Filter" as adapted by Linux.
//!
//! Per direction the tracker keeps `end` (highest sequence sent, plus length),
//! `maxend` (highest sequence the peer's window allows), `maxwin` (largest window the
//! peer offered) and `maxack`. A segment from the sender is acceptable when:
//!
//! 1. it starts no later than the sender's `maxend`;
//! 2. it ends no earlier than the sender's `end` minus the receiver's `maxwin`;
//! 3. its ack (or highest SACK edge, if the receiver allowed SACK) acknowledges nothing
//!    the receiver has not sent;
//! 4. that ack is not older than the receiver's `end` minus `max(66000, sender maxwin)`.
//!
//! A failure of 1 or 3 makes the packet INVALID; a failure of 2 or 4 (old data, a very
//! late ack) and a small overshoot of 1 that the receiver's window still covers are let
//! through without updating anything. With `be_liberal` (or on picked-up connections,
//! which are liberal per direction) every failure is accepted.

use super::conn::FLAG_WINDOW_SCALE;
use super::conn::{Side, Work, FLAG_BE_LIBERAL, FLAG_DATA_UNACKNOWLEDGED, FLAG_MAXACK_SET};
use super::flags::{TCP_ACK, TCP_RST, TCP_SYN};
use super::options::{highest_sack, read_handshake_options};
use super::state_table::FlagClass;
use super::{after, before, Dir, Segment, TcpConfig, TcpState};

/// The smallest "how old may an ack be" distance (Linux's `MAXACKWINCONST`).
const MIN_ACK_WINDOW: u32 = 66_000;

/// Outcome of the window check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WindowCheck {
    /// In window; the window data was updated.
    Accept,
    /// Let through, but do not trust it (no state change, no timer refresh).
    Ignore(&'static str),
    /// Out of window: INVALID.
    Invalid(&'static str),
}

/// Sender and receiver halves of the record for a packet travelling in `dir`.
fn sender_receiver(seen: &mut [Side; 2], dir: Dir) -> (&mut Side, &mut Side) {
    let [orig, reply] = seen;
    match dir {
        Dir::Original => (orig, reply),
        Dir::Reply => (reply, orig),
    }
}

/// A failed check, unless the sender's side or the configuration is liberal.
fn unless_liberal(sender: &Side, cfg: &TcpConfig, failure: WindowCheck) -> WindowCheck {
    if cfg.be_liberal || sender.flags & FLAG_BE_LIBERAL != 0 {
        WindowCheck::Accept
    } else {
        failure
    }
}

/// Starts a side from its SYN or SYN/ACK (Linux's `tcp_init_sender`). Window scaling is
/// switched off for both sides when the answering side (reply) finds that not both
/// SYNs carried the option.
fn start_side(sender: &mut Side, receiver: &mut Side, seg: &Segment, end: u32, dir: Dir) {
    sender.end = end;
    sender.maxend = end;
    sender.maxwin = u32::from(seg.window).max(1);
    read_handshake_options(seg.options, sender);
    let both_scale =
        sender.flags & FLAG_WINDOW_SCALE != 0 && receiver.flags & FLAG_WINDOW_SCALE != 0;
    if dir == Dir::Reply && !both_scale {
        sender.scale = 0;
        receiver.scale = 0;
    }
}

/// Checks a segment against the windows and, if it fits, updates them.
/// `w.state` must still be the state before this packet.
pub(crate) fn check_window(
    w: &mut Work,
    dir: Dir,
    class: FlagClass,
    seg: &Segment,
    cfg: &TcpConfig,
) -> WindowCheck {
    let prior = w.state;
    let syn = seg.has(TCP_SYN);
    let has_ack = seg.has(TCP_ACK);
    let rst = seg.has(TCP_RST);
    let raw_win = seg.window;
    let mut win = u32::from(raw_win);
    let mut seq = seg.seq;
    let mut end = seg.end();
    let mut ack = seg.ack;

    let (snd, rcv) = sender_receiver(&mut w.seen, dir);
    let mut sack = if rcv.flags & super::conn::FLAG_SACK_PERM != 0 {
        highest_sack(seg.options, ack)
    } else {
        ack
    };
    // The receiver saw this side's data with the helper's changes: its acks count in
    // the adjusted numbers, the windows here in the sender's own.
    ack = ack.wrapping_sub(seg.ack_offset as u32);
    sack = sack.wrapping_sub(seg.ack_offset as u32);

    if snd.maxwin == 0 {
        // First packet we see from this side.
        if syn {
            start_side(snd, rcv, seg, end, dir);
            if !has_ack {
                // The reply side's SYN in a simultaneous open: nothing more to check.
                return WindowCheck::Accept;
            }
        } else {
            // Mid-stream: take what the packet says.
            snd.end = end;
            snd.maxwin = win.wrapping_shl(u32::from(snd.scale)).max(1);
            snd.maxend = end.wrapping_add(snd.maxwin);
            if rcv.maxwin == 0 {
                // Nothing seen from the other side either: make checks 3 and 4 pass
                // until it speaks.
                rcv.end = sack;
                rcv.maxend = sack;
            } else if sack == rcv.end.wrapping_add(1) {
                // Probably the answer to a keepalive probe (which sits one below end).
                rcv.end = rcv.end.wrapping_add(1);
            }
        }
    } else if syn && after(end, snd.end) && matches!(prior, TcpState::SynSent | TcpState::SynRecv) {
        // A new SYN (or SYN/ACK) with a later sequence number during the handshake: the
        // sender restarted; start its side again.
        start_side(snd, rcv, seg, end, dir);
        if dir == Dir::Reply && !has_ack {
            return WindowCheck::Accept;
        }
    }

    if !has_ack || (rst && ack == 0) {
        // No ack to check (or a stack that sends RST|ACK with ack 0): assume a fitting one.
        ack = rcv.end;
        sack = rcv.end;
    }
    if rst && seq == 0 && prior == TcpState::SynSent {
        // An RST with sequence 0 answering a SYN.
        seq = snd.end;
        end = snd.end;
    }

    let ack_window = snd.maxwin.max(MIN_ACK_WINDOW);
    let ack_floor = rcv.end.wrapping_sub(ack_window).wrapping_sub(1);

    // Check 1: the segment must start within what the receiver allowed.
    if !before(seq, snd.maxend.wrapping_add(1)) {
        let excess = end.wrapping_sub(snd.maxend).wrapping_add(1);
        let ends_in_window =
            rcv.maxwin != 0 && after(end, snd.end.wrapping_sub(rcv.maxwin).wrapping_sub(1));
        if ends_in_window
            && after(sack, ack_floor)
            && excess <= rcv.maxwin
            && before(sack, rcv.end.wrapping_add(1))
        {
            // Some stacks send a little more than the window allows. Remember the data
            // was sent, so that the receiver's ack for it is not taken as acking unseen
            // data, but do not trust the packet otherwise.
            snd.end = end;
            snd.flags |= FLAG_DATA_UNACKNOWLEDGED;
            return unless_liberal(snd, cfg, WindowCheck::Ignore("tcp-seq-overshoot"));
        }
        return unless_liberal(snd, cfg, WindowCheck::Invalid("tcp-out-of-window"));
    }
    // Check 3: the ack must not acknowledge unsent data.
    if !before(sack, rcv.end.wrapping_add(1)) {
        return unless_liberal(snd, cfg, WindowCheck::Invalid("tcp-ack-out-of-window"));
    }
    // Check 2: the segment must not lie entirely below the receiver's window.
    let ends_in_window =
        rcv.maxwin == 0 || after(end, snd.end.wrapping_sub(rcv.maxwin).wrapping_sub(1));
    if !ends_in_window {
        return unless_liberal(snd, cfg, WindowCheck::Ignore("tcp-seq-below-window"));
    }
    // Check 4: the ack must not be absurdly old.
    if !after(sack, ack_floor) {
        return unless_liberal(snd, cfg, WindowCheck::Ignore("tcp-ack-below-window"));
    }

    // In window: update the sender's side...
    if !syn {
        win = win.wrapping_shl(u32::from(snd.scale));
    }
    let offered = win.wrapping_add(sack.wrapping_sub(ack));
    if snd.maxwin < offered {
        snd.maxwin = offered;
    }
    if after(end, snd.end) {
        snd.end = end;
        snd.flags |= FLAG_DATA_UNACKNOWLEDGED;
    }
    if has_ack {
        if snd.flags & FLAG_MAXACK_SET == 0 {
            snd.maxack = ack;
            snd.flags |= FLAG_MAXACK_SET;
        } else if after(ack, snd.maxack) {
            snd.maxack = ack;
        }
    }
    // ... and the receiver's.
    if rcv.maxwin != 0 && after(end, snd.maxend) {
        rcv.maxwin = rcv.maxwin.wrapping_add(end.wrapping_sub(snd.maxend));
    }
    let right_edge = sack.wrapping_add(win);
    if after(right_edge, rcv.maxend.wrapping_sub(1)) {
        // A zero window still lets one byte (a probe) through.
        rcv.maxend = if win == 0 {
            right_edge.wrapping_add(1)
        } else {
            right_edge
        };
    }
    if ack == rcv.end {
        rcv.flags &= !FLAG_DATA_UNACKNOWLEDGED;
    }

    // Retransmission detection, on plain ACK segments only: the same segment again in
    // the same direction counts; anything else becomes the new reference.
    if class == FlagClass::Ack {
        let same = w.last_dir == dir
            && w.last_span_is(seq, end)
            && w.last_ack == ack
            && w.last_win == raw_win;
        if same {
            w.retrans = w.retrans.wrapping_add(1);
        } else {
            w.last_dir = dir;
            w.set_last_span(seq, end);
            w.last_ack = ack;
            w.last_win = raw_win;
            w.retrans = 0;
        }
    }
    WindowCheck::Accept
}
