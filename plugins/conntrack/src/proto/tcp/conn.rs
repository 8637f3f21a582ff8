//! The per-connection TCP record. It is stored in every TCP connection, so it is packed
//! into 48 bytes ([`TcpConn`]); the tracker works on an unpacked copy ([`Work`]) whose
//! fields mirror Linux's `struct ip_ct_tcp`, and packs it back afterwards.
//!
//! Linux's record is 60 bytes. The savings, and what they cost:
//!
//! * Small fields share bytes: state, last flag class and last direction in one byte;
//!   per direction, the window scale and five flags in one byte (scale 15 stands for
//!   "no window scale option", which Linux keeps as a separate flag next to scale 0).
//! * Two Linux flags live in otherwise unused encodings: CLOSE_INIT ("a FIN started the
//!   close"; it can only be set in FIN_WAIT, CLOSE_WAIT, LAST_ACK, TIME_WAIT and CLOSE,
//!   and is one bit for both directions since Linux only ever tests them together) and
//!   SIMULTANEOUS_OPEN (only read in SYN_RECV, always set in SYN_SENT2) take the six
//!   spare codes of the 4-bit state; SIMULTANEOUS_OPEN in SYN_SENT (possible only after
//!   the reply side's SYN failed the window check) borrows the reply side's MAXACK_SET
//!   bit, which Linux never sets in SYN_SENT. Both are exact.
//! * `last_seq` is kept as `last_end - last_seq` in 16 bits. A segment of 65472 bytes or
//!   more therefore never counts as a retransmission (only jumbograms or GRO-merged
//!   captures have such segments).
//! * The options of an ignored SYN (window scale, SACK-permitted and the
//!   challenge-ACK mark, Linux's `last_wscale`/`last_flags`) take the place of that
//!   16-bit length while the SYN is the last packet seen; meanwhile an ACK can not be
//!   taken for a retransmission of that SYN (Linux could, for an ACK with the SYN's
//!   exact sequence numbers and window).

use super::state_table::FlagClass;
use super::{Dir, TcpState};

/// Window scale option seen (Linux's `IP_CT_TCP_FLAG_WINDOW_SCALE`).
pub const FLAG_WINDOW_SCALE: u8 = 0x01;
/// SACK permitted (`IP_CT_TCP_FLAG_SACK_PERM`).
pub const FLAG_SACK_PERM: u8 = 0x02;
/// This side sent the first FIN (`IP_CT_TCP_FLAG_CLOSE_INIT`); see [`TcpConn::flags`].
pub const FLAG_CLOSE_INIT: u8 = 0x04;
/// Window checks are liberal for this side (`IP_CT_TCP_FLAG_BE_LIBERAL`).
pub const FLAG_BE_LIBERAL: u8 = 0x08;
/// This side has unacknowledged data (`IP_CT_TCP_FLAG_DATA_UNACKNOWLEDGED`).
pub const FLAG_DATA_UNACKNOWLEDGED: u8 = 0x10;
/// `td_maxack` holds a value (`IP_CT_TCP_FLAG_MAXACK_SET`).
pub const FLAG_MAXACK_SET: u8 = 0x20;

// Packed per-direction byte: low nibble the scale (NO_SCALE: no option), then flags.
const SCALE_MASK: u8 = 0x0f;
const NO_SCALE: u8 = 0x0f;
const P_SACK_PERM: u8 = 0x10;
const P_BE_LIBERAL: u8 = 0x20;
const P_UNACKED: u8 = 0x40;
const P_MAXACK_SET: u8 = 0x80;

// State codes beyond Linux's ten states.
const CODE_SYN_RECV_SIMOPEN: u8 = 10;
const CODE_CLOSE_AFTER_FIN: u8 = 11;
/// FIN_WAIT..TIME_WAIT whose CLOSE_INIT was cleared (by a resynchronising SYN/ACK that
/// then failed the window check): codes 12..=15.
const CODE_CLOSING_NO_INIT: u8 = 12;

/// `last_aux` values from this one up never match a length: they hold an ignored SYN's
/// options in the low six bits (or stand for a length too large to keep).
pub(crate) const AUX_NO_LENGTH: u16 = 0xffc0;
const STASH_SACK_PERM: u16 = 0x10;
const STASH_CHALLENGE: u16 = 0x20;

/// What Linux keeps per direction (`struct ip_ct_tcp_state`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Side {
    /// Highest sequence number sent, plus the segment length (`td_end`).
    pub end: u32,
    /// Highest acknowledgeable sequence: the peer's ack plus its window (`td_maxend`).
    pub maxend: u32,
    /// Largest window the peer offered (`td_maxwin`); 0 until the side is known.
    pub maxwin: u32,
    /// Highest ack this side sent (`td_maxack`).
    pub maxack: u32,
    /// Window scale shift (`td_scale`).
    pub scale: u8,
    /// `FLAG_*` bits (CLOSE_INIT is kept for both sides in [`Work::close_init`]).
    pub flags: u8,
}

/// The options of an ignored original-direction SYN (Linux's `last_wscale` and
/// `last_flags`), used to resynchronise when the server answers that SYN.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Stash {
    /// Window scale offered.
    pub scale: u8,
    /// `FLAG_WINDOW_SCALE` / `FLAG_SACK_PERM` as offered.
    pub flags: u8,
    /// The SYN came in LAST_ACK, so an ACK from the other side may be an RFC 5961
    /// challenge ACK rather than the last ACK.
    pub challenge: bool,
}

/// The unpacked record the tracker works on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Work {
    /// Current state.
    pub state: TcpState,
    /// A simultaneous open went through SYN_SENT2 (`IP_CT_TCP_SIMULTANEOUS_OPEN`).
    pub sim_open: bool,
    /// A FIN started the close (`IP_CT_TCP_FLAG_CLOSE_INIT` of either side).
    pub close_init: bool,
    /// Flag class of the last packet that counted (`last_index`).
    pub last_index: FlagClass,
    /// Direction of the last packet that counted (`last_dir`).
    pub last_dir: Dir,
    /// Per-direction window data, indexed by [`Dir::index`].
    pub seen: [Side; 2],
    /// Ack of the last packet (`last_ack`).
    pub last_ack: u32,
    /// End of the last packet (`last_end`).
    pub last_end: u32,
    /// Raw window of the last packet (`last_win`).
    pub last_win: u16,
    /// `last_end - last_seq`, or an ignored SYN's options (see [`AUX_NO_LENGTH`]).
    pub last_aux: u16,
    /// Retransmissions seen in a row (`retrans`).
    pub retrans: u8,
}

impl Work {
    /// A zeroed record (Linux's `memset` in `tcp_new`).
    pub fn zeroed() -> Work {
        Work {
            state: TcpState::None,
            sim_open: false,
            close_init: false,
            last_index: FlagClass::Syn,
            last_dir: Dir::Original,
            seen: [Side::default(); 2],
            last_ack: 0,
            last_end: 0,
            last_win: 0,
            last_aux: 0,
            retrans: 0,
        }
    }

    /// Remembers a packet's start and end for retransmission detection.
    pub fn set_last_span(&mut self, seq: u32, end: u32) {
        let len = end.wrapping_sub(seq);
        self.last_end = end;
        self.last_aux = if len < u32::from(AUX_NO_LENGTH) {
            len as u16
        } else {
            AUX_NO_LENGTH
        };
    }

    /// Whether `seq..end` is the span of the last remembered packet.
    pub fn last_span_is(&self, seq: u32, end: u32) -> bool {
        self.last_aux < AUX_NO_LENGTH
            && self.last_end == end
            && end.wrapping_sub(seq) == u32::from(self.last_aux)
    }

    /// The options of the last ignored SYN.
    pub fn stash(&self) -> Stash {
        let aux = self.last_aux;
        let nibble = (aux as u8) & SCALE_MASK;
        let mut flags = 0;
        let mut scale = 0;
        if nibble != NO_SCALE {
            flags |= FLAG_WINDOW_SCALE;
            scale = nibble;
        }
        if aux & STASH_SACK_PERM != 0 {
            flags |= FLAG_SACK_PERM;
        }
        Stash {
            scale,
            flags,
            challenge: aux & STASH_CHALLENGE != 0,
        }
    }

    /// Stores the options of an ignored SYN (this replaces the last packet's length).
    pub fn set_stash(&mut self, s: Stash) {
        let nibble = if s.flags & FLAG_WINDOW_SCALE != 0 {
            u16::from(s.scale.min(NO_SCALE - 1))
        } else {
            u16::from(NO_SCALE)
        };
        let mut aux = AUX_NO_LENGTH | nibble;
        if s.flags & FLAG_SACK_PERM != 0 {
            aux |= STASH_SACK_PERM;
        }
        if s.challenge {
            aux |= STASH_CHALLENGE;
        }
        self.last_aux = aux;
    }
}

/// Window numbers of one direction, as stored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Numbers {
    end: u32,
    maxend: u32,
    maxwin: u32,
    maxack: u32,
}

/// Per-connection TCP state (48 bytes; see the module documentation for the packing).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TcpConn {
    numbers: [Numbers; 2],
    last_ack: u32,
    last_end: u32,
    last_win: u16,
    last_aux: u16,
    /// State code (bits 0-3), last flag class (bits 4-6), last direction (bit 7).
    code: u8,
    /// Per direction: scale nibble and flags.
    sides: [u8; 2],
    retrans: u8,
}

fn pack_side(s: &Side) -> u8 {
    let mut b = if s.flags & FLAG_WINDOW_SCALE != 0 {
        s.scale.min(NO_SCALE - 1)
    } else {
        NO_SCALE
    };
    for (flag, bit) in [
        (FLAG_SACK_PERM, P_SACK_PERM),
        (FLAG_BE_LIBERAL, P_BE_LIBERAL),
        (FLAG_DATA_UNACKNOWLEDGED, P_UNACKED),
        (FLAG_MAXACK_SET, P_MAXACK_SET),
    ] {
        if s.flags & flag != 0 {
            b |= bit;
        }
    }
    b
}

fn unpack_side(n: &Numbers, b: u8) -> Side {
    let mut flags = 0;
    let mut scale = 0;
    if b & SCALE_MASK != NO_SCALE {
        flags |= FLAG_WINDOW_SCALE;
        scale = b & SCALE_MASK;
    }
    for (flag, bit) in [
        (FLAG_SACK_PERM, P_SACK_PERM),
        (FLAG_BE_LIBERAL, P_BE_LIBERAL),
        (FLAG_DATA_UNACKNOWLEDGED, P_UNACKED),
        (FLAG_MAXACK_SET, P_MAXACK_SET),
    ] {
        if b & bit != 0 {
            flags |= flag;
        }
    }
    Side {
        end: n.end,
        maxend: n.maxend,
        maxwin: n.maxwin,
        maxack: n.maxack,
        scale,
        flags,
    }
}

fn encode_state(state: TcpState, sim_open: bool, close_init: bool) -> u8 {
    use TcpState as S;
    match state {
        S::SynRecv if sim_open => CODE_SYN_RECV_SIMOPEN,
        S::Close if close_init => CODE_CLOSE_AFTER_FIN,
        S::FinWait | S::CloseWait | S::LastAck | S::TimeWait if !close_init => {
            CODE_CLOSING_NO_INIT + (state as u8 - S::FinWait as u8)
        }
        _ => state as u8,
    }
}

/// State, SIMULTANEOUS_OPEN, CLOSE_INIT.
fn decode_state(code: u8) -> (TcpState, bool, bool) {
    use TcpState as S;
    match code {
        CODE_SYN_RECV_SIMOPEN => (S::SynRecv, true, false),
        CODE_CLOSE_AFTER_FIN => (S::Close, false, true),
        CODE_CLOSING_NO_INIT.. => {
            let s = TcpState::from_u8(code - CODE_CLOSING_NO_INIT + S::FinWait as u8);
            (s.unwrap_or(S::Close), false, false)
        }
        _ => {
            let s = TcpState::from_u8(code).unwrap_or(S::Close);
            let closing = matches!(s, S::FinWait | S::CloseWait | S::LastAck | S::TimeWait);
            (s, s == S::SynSent2, closing)
        }
    }
}

impl TcpConn {
    /// The connection's TCP state.
    pub fn state(&self) -> TcpState {
        decode_state(self.code & 0x0f).0
    }

    /// Highest sequence number (plus length) sent in `dir` (`td_end`).
    pub fn td_end(&self, dir: Dir) -> u32 {
        self.numbers[dir.index()].end
    }

    /// Highest sequence number `dir` may send without exceeding the peer's window
    /// (`td_maxend`).
    pub fn td_maxend(&self, dir: Dir) -> u32 {
        self.numbers[dir.index()].maxend
    }

    /// Largest window seen from `dir`'s peer, scaled (`td_maxwin`).
    pub fn td_maxwin(&self, dir: Dir) -> u32 {
        self.numbers[dir.index()].maxwin
    }

    /// Window scale applied to `dir`'s windows (`td_scale`; 0 unless both SYNs offered
    /// the option).
    pub fn td_scale(&self, dir: Dir) -> u8 {
        let nibble = self.sides[dir.index()] & SCALE_MASK;
        if nibble == NO_SCALE {
            0
        } else {
            nibble
        }
    }

    /// `dir`'s flags in Linux's `IP_CT_TCP_FLAG_*` numbering (`FLAG_*` here). Linux sets
    /// CLOSE_INIT on the side that sent the first FIN; this record keeps one bit for
    /// the connection and reports it on both sides.
    pub fn flags(&self, dir: Dir) -> u8 {
        let w = self.unpack();
        let mut f = w.seen[dir.index()].flags;
        if w.close_init {
            f |= FLAG_CLOSE_INIT;
        }
        f
    }

    /// Retransmissions seen in a row.
    pub fn retrans(&self) -> u8 {
        self.retrans
    }

    pub(crate) fn unpack(&self) -> Work {
        let (state, mut sim_open, close_init) = decode_state(self.code & 0x0f);
        let dir = if self.code & 0x80 != 0 {
            Dir::Reply
        } else {
            Dir::Original
        };
        let mut seen = [
            unpack_side(&self.numbers[0], self.sides[0]),
            unpack_side(&self.numbers[1], self.sides[1]),
        ];
        if state == TcpState::SynSent && seen[1].flags & FLAG_MAXACK_SET != 0 {
            sim_open = true;
            seen[1].flags &= !FLAG_MAXACK_SET;
        }
        Work {
            state,
            sim_open,
            close_init,
            last_index: FlagClass::from_index((self.code >> 4) & 0x07),
            last_dir: dir,
            seen,
            last_ack: self.last_ack,
            last_end: self.last_end,
            last_win: self.last_win,
            last_aux: self.last_aux,
            retrans: self.retrans,
        }
    }

    pub(crate) fn pack(w: &Work) -> TcpConn {
        let numbers = |s: &Side| Numbers {
            end: s.end,
            maxend: s.maxend,
            maxwin: s.maxwin,
            maxack: s.maxack,
        };
        let mut sides = [pack_side(&w.seen[0]), pack_side(&w.seen[1])];
        if w.state == TcpState::SynSent && w.sim_open {
            sides[1] |= P_MAXACK_SET;
        }
        TcpConn {
            numbers: [numbers(&w.seen[0]), numbers(&w.seen[1])],
            last_ack: w.last_ack,
            last_end: w.last_end,
            last_win: w.last_win,
            last_aux: w.last_aux,
            code: encode_state(w.state, w.sim_open, w.close_init)
                | (w.last_index as u8) << 4
                | (w.last_dir as u8) << 7,
            sides,
            retrans: w.retrans,
        }
    }
}
