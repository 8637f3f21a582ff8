//! The TCP state transition table (Linux's `tcp_conntracks`): for each direction, flag
//! class and current state, the next state, or "ignore", or "invalid".

use super::flags::{TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN};
use super::{Dir, TcpState};

/// The flag class a segment falls in for the state table; the discriminants are Linux's
/// `TCP_*_SET` indices.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FlagClass {
    /// SYN without ACK.
    Syn = 0,
    /// SYN with ACK.
    SynAck = 1,
    /// FIN (without SYN or RST).
    Fin = 2,
    /// ACK only (no SYN, FIN or RST).
    Ack = 3,
    /// RST, whatever else is set.
    Rst = 4,
    /// None of the above.
    None = 5,
}

impl FlagClass {
    /// All classes, in index order.
    pub const ALL: [FlagClass; 6] = [
        FlagClass::Syn,
        FlagClass::SynAck,
        FlagClass::Fin,
        FlagClass::Ack,
        FlagClass::Rst,
        FlagClass::None,
    ];

    /// The class's index in the table (0 to 5).
    #[inline]
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The class with index `i` (anything above 5 is [`FlagClass::None`]).
    pub(crate) fn from_index(i: u8) -> FlagClass {
        FlagClass::ALL
            .get(usize::from(i))
            .copied()
            .unwrap_or(FlagClass::None)
    }
}

/// The flag class of a flag byte. RST wins over everything, then SYN (split on ACK),
/// then FIN, then ACK.
pub fn flag_class(flags: u8) -> FlagClass {
    if flags & TCP_RST != 0 {
        FlagClass::Rst
    } else if flags & TCP_SYN != 0 {
        if flags & TCP_ACK != 0 {
            FlagClass::SynAck
        } else {
            FlagClass::Syn
        }
    } else if flags & TCP_FIN != 0 {
        FlagClass::Fin
    } else if flags & TCP_ACK != 0 {
        FlagClass::Ack
    } else {
        FlagClass::None
    }
}

/// One cell of the state table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transition {
    /// Move to this state (it may be the current one).
    To(TcpState),
    /// The packet may or may not belong to the connection: let it through without
    /// changing anything (the receiver's answer will tell).
    Ignore,
    /// The packet cannot belong to the connection in this state.
    Invalid,
}

// Cell codes: 0..=9 are Linux's state numbers, then the two pseudo-states.
const NO: u8 = 0;
const SS: u8 = 1;
const SR: u8 = 2;
const ES: u8 = 3;
const FW: u8 = 4;
const CW: u8 = 5;
const LA: u8 = 6;
const TW: u8 = 7;
const CL: u8 = 8;
const S2: u8 = 9;
const XX: u8 = 10; // invalid
const IG: u8 = 11; // ignore

/// `TABLE[dir][class][state]`; columns follow Linux's state numbering
/// (NONE, SYN_SENT, SYN_RECV, ESTABLISHED, FIN_WAIT, CLOSE_WAIT, LAST_ACK, TIME_WAIT,
/// CLOSE, SYN_SENT2).
const TABLE: [[[u8; 10]; 6]; 2] = [
    // Packets in the original direction.
    [
        // SYN: starts (or restarts, from TIME_WAIT/CLOSE) a connection; a SYN where the
        // connection already progressed is let through unjudged.
        [SS, SS, IG, IG, IG, IG, IG, SS, SS, S2],
        // SYN/ACK from the client: only meaningful in a simultaneous open.
        [XX, XX, SR, XX, XX, XX, XX, XX, XX, SR],
        // FIN: starts the close, or is the second FIN.
        [XX, XX, FW, FW, LA, LA, LA, TW, CL, XX],
        // ACK: completes the handshake, or acknowledges FINs.
        [ES, XX, ES, ES, CW, CW, TW, TW, CL, XX],
        // RST: closes anything that exists.
        [XX, CL, CL, CL, CL, CL, CL, CL, CL, CL],
        // No SYN/FIN/ACK/RST at all.
        [XX, XX, XX, XX, XX, XX, XX, XX, XX, XX],
    ],
    // Packets in the reply direction.
    [
        // SYN: simultaneous open, or a server reopening from TIME_WAIT.
        [XX, S2, XX, XX, XX, XX, XX, SS, XX, S2],
        // SYN/ACK: the normal answer; late copies are let through unjudged.
        [XX, SR, IG, IG, IG, IG, IG, IG, IG, SR],
        // FIN.
        [XX, XX, FW, FW, LA, LA, LA, TW, CL, XX],
        // ACK: before the SYN/ACK it may come from a half-open old connection.
        [XX, IG, SR, ES, CW, CW, TW, TW, CL, IG],
        // RST.
        [XX, CL, CL, CL, CL, CL, CL, CL, CL, CL],
        // No SYN/FIN/ACK/RST at all.
        [XX, XX, XX, XX, XX, XX, XX, XX, XX, XX],
    ],
];

/// Looks up the state table.
pub fn transition(dir: Dir, class: FlagClass, state: TcpState) -> Transition {
    let code = TABLE[dir.index()][class.index()][state as usize];
    match code {
        IG => Transition::Ignore,
        NO..=S2 => TcpState::from_u8(code).map_or(Transition::Invalid, Transition::To),
        _ => Transition::Invalid,
    }
}
