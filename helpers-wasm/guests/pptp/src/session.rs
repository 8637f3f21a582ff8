//! What the helper remembers of a PPTP control connection — the control session's
//! state, the call's state and the call ids — and how each control message moves it,
//! following Linux's `nf_conntrack_pptp`: one call per control connection (the
//! latest), messages out of order ignored. Behind NAT the PNS's call id has two
//! values: the PNS's own and the one the PAC knows (the helper writes it in the PNS's
//! messages); the PAC's messages are read against the latter.

use crate::msg::Control;

/// Result code meaning success in the replies the helper reads (start/stop reply,
/// "connected" in an Outgoing-Call-Reply, "accept" in an Incoming-Call-Reply).
const OK: u8 = 1;

/// The control session's state; the order matters (Linux compares them).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum SessionState {
    /// No session.
    #[default]
    None = 0,
    /// A start or stop reply reported failure.
    Error = 1,
    /// Stop-Control-Connection-Request seen.
    StopRequested = 2,
    /// Start-Control-Connection-Request seen.
    Requested = 3,
    /// Start-Control-Connection-Reply with success seen.
    Confirmed = 4,
}

/// The call's state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(u8)]
pub enum CallState {
    /// No call.
    #[default]
    None = 0,
    /// Unused by the messages; kept so the numbering follows Linux's.
    Error = 1,
    /// Outgoing-Call-Request seen.
    OutRequested = 2,
    /// Outgoing-Call-Reply "connected" seen: the call is up.
    OutConfirmed = 3,
    /// Incoming-Call-Request seen.
    InRequested = 4,
    /// Incoming-Call-Reply "accept" seen.
    InReplied = 5,
    /// Incoming-Call-Connected seen: the call is up.
    InConfirmed = 6,
    /// Call-Clear-Request seen.
    ClearRequested = 7,
}

impl SessionState {
    fn from_u8(b: u8) -> Option<SessionState> {
        use SessionState::*;
        [None, Error, StopRequested, Requested, Confirmed]
            .get(usize::from(b))
            .copied()
    }
}

impl CallState {
    fn from_u8(b: u8) -> Option<CallState> {
        use CallState::*;
        [
            None,
            Error,
            OutRequested,
            OutConfirmed,
            InRequested,
            InReplied,
            InConfirmed,
            ClearRequested,
        ]
        .get(usize::from(b))
        .copied()
    }
}

/// A call that came up: GRE flows between the two ends carry these keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Call {
    /// The PNS's (client's) call id: the key of GRE packets as they reach the PNS.
    pub pns_call_id: u16,
    /// The PNS's call id as the PAC knows it: the key of GRE packets as the PAC sends
    /// them to the PNS (`pns_call_id` unless the helper replaced it behind NAT).
    pub pns_call_id_nat: u16,
    /// The PAC's (server's) call id: the key of GRE packets towards the PAC.
    pub pac_call_id: u16,
}

/// A control connection's tracked state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Session {
    /// The control session's state.
    pub session: SessionState,
    /// The call's state.
    pub call: CallState,
    /// The PNS's call id of the latest call, as the PNS sent it.
    pub pns_call_id: u16,
    /// The PAC's call id of the latest call.
    pub pac_call_id: u16,
    /// The PNS's call id of the latest call as the PAC knows it: behind NAT the one
    /// written in its place, else `pns_call_id`.
    pub pns_call_id_nat: u16,
}

impl Session {
    /// Bytes of [`Session::encode`]'s output.
    pub const ENCODED_LEN: usize = 8;

    /// Appends the session state: session state, call state (one byte each), then the
    /// PNS's call id, the PAC's, and the PNS's as the PAC knows it, big-endian.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.session as u8);
        out.push(self.call as u8);
        out.extend_from_slice(&self.pns_call_id.to_be_bytes());
        out.extend_from_slice(&self.pac_call_id.to_be_bytes());
        out.extend_from_slice(&self.pns_call_id_nat.to_be_bytes());
    }

    /// Reads what [`Session::encode`] wrote (exactly [`Session::ENCODED_LEN`] bytes).
    pub fn decode(b: &[u8]) -> Option<Session> {
        let b: &[u8; Self::ENCODED_LEN] = b.try_into().ok()?;
        Some(Session {
            session: SessionState::from_u8(b[0])?,
            call: CallState::from_u8(b[1])?,
            pns_call_id: u16::from_be_bytes([b[2], b[3]]),
            pac_call_id: u16::from_be_bytes([b[4], b[5]]),
            pns_call_id_nat: u16::from_be_bytes([b[6], b[7]]),
        })
    }

    /// A message from the PNS (the original direction); `nat_id` is the call id the
    /// PAC is to know a new call by behind NAT (`None`: the PNS's own).
    pub fn from_pns(&mut self, m: &Control, nat_id: Option<u16>) {
        match *m {
            Control::StartRequest if self.session == SessionState::None => {
                self.session = SessionState::Requested;
            }
            Control::StopRequest => self.session = SessionState::StopRequested,
            Control::OutgoingRequest { call_id } if self.session == SessionState::Confirmed => {
                self.call = CallState::OutRequested;
                self.set_pns_call(call_id, nat_id);
            }
            Control::IncomingReply {
                call_id,
                peer_call_id,
                result,
            } if matches!(self.call, CallState::InRequested | CallState::InReplied)
                && peer_call_id == self.pac_call_id =>
            {
                if result == OK {
                    self.call = CallState::InReplied;
                    self.set_pns_call(call_id, nat_id);
                } else {
                    self.call = CallState::None;
                }
            }
            Control::ClearRequest { .. } if self.session == SessionState::Confirmed => {
                self.call = CallState::ClearRequested;
            }
            _ => {}
        }
    }

    /// A message from the PAC (the reply direction); returns the call whose GRE flows
    /// are to be expected when this message brings a call up. A repeated reply brings
    /// it up again, as in Linux.
    pub fn from_pac(&mut self, m: &Control) -> Option<Call> {
        match *m {
            Control::StartReply { result } if self.session >= SessionState::Requested => {
                self.session = if result == OK {
                    SessionState::Confirmed
                } else {
                    SessionState::Error
                };
            }
            Control::StopReply { result } if self.session <= SessionState::StopRequested => {
                self.session = if result == OK {
                    SessionState::None
                } else {
                    SessionState::Error
                };
            }
            Control::OutgoingReply {
                call_id,
                peer_call_id,
                result,
            } if self.session == SessionState::Confirmed
                && matches!(self.call, CallState::OutRequested | CallState::OutConfirmed)
                && peer_call_id == self.pns_call_id_nat =>
            {
                if result == OK {
                    self.call = CallState::OutConfirmed;
                    self.pac_call_id = call_id;
                    return Some(self.current());
                }
                self.call = CallState::None;
            }
            Control::IncomingRequest { call_id } if self.session == SessionState::Confirmed => {
                self.call = CallState::InRequested;
                self.pac_call_id = call_id;
            }
            Control::IncomingConnected { peer_call_id }
                if self.session == SessionState::Confirmed
                    && matches!(self.call, CallState::InReplied | CallState::InConfirmed)
                    && peer_call_id == self.pns_call_id_nat =>
            {
                self.call = CallState::InConfirmed;
                return Some(self.current());
            }
            Control::DisconnectNotify { .. } => self.call = CallState::None,
            _ => {}
        }
        None
    }

    /// The PNS's call id of a new call, and the one the PAC knows it by.
    fn set_pns_call(&mut self, call_id: u16, nat_id: Option<u16>) {
        self.pns_call_id = call_id;
        self.pns_call_id_nat = nat_id.unwrap_or(call_id);
    }

    /// The latest call's ids.
    fn current(&self) -> Call {
        Call {
            pns_call_id: self.pns_call_id,
            pns_call_id_nat: self.pns_call_id_nat,
            pac_call_id: self.pac_call_id,
        }
    }

    /// The value a message's field naming the PNS's call takes on its way
    /// ([`Control::pns_call_field`]), when it changes behind NAT: the PNS's id of the
    /// current call becomes the one the PAC knows, and back.
    pub fn translated_call_id(&self, value: u16, from_pns: bool) -> Option<u16> {
        let (from, to) = if from_pns {
            (self.pns_call_id, self.pns_call_id_nat)
        } else {
            (self.pns_call_id_nat, self.pns_call_id)
        };
        (value == from && from != to).then_some(to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn confirmed() -> Session {
        let mut s = Session::default();
        s.from_pns(&Control::StartRequest, None);
        assert_eq!(s.from_pac(&Control::StartReply { result: 1 }), None);
        assert_eq!(s.session, SessionState::Confirmed);
        s
    }

    #[test]
    fn encoding_round_trips_and_rejects_unknown_states() {
        let s = Session {
            session: SessionState::Confirmed,
            call: CallState::InReplied,
            pns_call_id: 0x1234,
            pac_call_id: 0xfedc,
            pns_call_id_nat: 0x9c40,
        };
        let mut b = Vec::new();
        s.encode(&mut b);
        assert_eq!(b, [4, 5, 0x12, 0x34, 0xfe, 0xdc, 0x9c, 0x40]);
        assert_eq!(Session::decode(&b), Some(s));
        assert_eq!(Session::decode(&[5, 0, 0, 0, 0, 0, 0, 0]), None);
        assert_eq!(Session::decode(&[0, 8, 0, 0, 0, 0, 0, 0]), None);
        assert_eq!(Session::decode(&b[..7]), None);
    }

    #[test]
    fn outgoing_call_comes_up_on_a_connected_reply() {
        let mut s = confirmed();
        s.from_pns(&Control::OutgoingRequest { call_id: 7 }, None);
        let reply = Control::OutgoingReply {
            call_id: 11755,
            peer_call_id: 7,
            result: 1,
        };
        let call = Call {
            pns_call_id: 7,
            pns_call_id_nat: 7,
            pac_call_id: 11755,
        };
        assert_eq!(s.from_pac(&reply), Some(call));
        // A repeated reply brings it up again.
        assert_eq!(s.from_pac(&reply), Some(call));
        assert_eq!(s.call, CallState::OutConfirmed);
    }

    #[test]
    fn replies_that_do_not_fit_bring_nothing_up() {
        let mut s = confirmed();
        let reply = |peer, result| Control::OutgoingReply {
            call_id: 3,
            peer_call_id: peer,
            result,
        };
        // No request yet.
        assert_eq!(s.from_pac(&reply(7, 1)), None);
        s.from_pns(&Control::OutgoingRequest { call_id: 7 }, None);
        // Another call's id.
        assert_eq!(s.from_pac(&reply(8, 1)), None);
        assert_eq!(s.call, CallState::OutRequested);
        // Failure ends the call.
        assert_eq!(s.from_pac(&reply(7, 2)), None);
        assert_eq!(s.call, CallState::None);
        assert_eq!(s.from_pac(&reply(7, 1)), None);
    }

    #[test]
    fn nothing_happens_before_the_session_is_confirmed() {
        let mut s = Session::default();
        s.from_pns(&Control::OutgoingRequest { call_id: 7 }, None);
        assert_eq!(s, Session::default());
        // A reply without a request is ignored.
        assert_eq!(s.from_pac(&Control::StartReply { result: 1 }), None);
        assert_eq!(s.session, SessionState::None);
        // A failed start leaves the session in error, where calls are ignored.
        s.from_pns(&Control::StartRequest, None);
        s.from_pac(&Control::StartReply { result: 2 });
        assert_eq!(s.session, SessionState::Error);
        s.from_pns(&Control::OutgoingRequest { call_id: 7 }, None);
        assert_eq!(s.call, CallState::None);
    }

    #[test]
    fn incoming_call_comes_up_on_connected() {
        let mut s = confirmed();
        assert_eq!(s.from_pac(&Control::IncomingRequest { call_id: 40 }), None);
        s.from_pns(
            &Control::IncomingReply {
                call_id: 9,
                peer_call_id: 40,
                result: 1,
            },
            None,
        );
        assert_eq!(s.call, CallState::InReplied);
        assert_eq!(
            s.from_pac(&Control::IncomingConnected { peer_call_id: 8 }),
            None
        );
        assert_eq!(
            s.from_pac(&Control::IncomingConnected { peer_call_id: 9 }),
            Some(Call {
                pns_call_id: 9,
                pns_call_id_nat: 9,
                pac_call_id: 40
            })
        );
        // A rejected incoming call never comes up.
        let mut s = confirmed();
        s.from_pac(&Control::IncomingRequest { call_id: 40 });
        s.from_pns(
            &Control::IncomingReply {
                call_id: 9,
                peer_call_id: 40,
                result: 3,
            },
            None,
        );
        assert_eq!(s.call, CallState::None);
        assert_eq!(
            s.from_pac(&Control::IncomingConnected { peer_call_id: 9 }),
            None
        );
    }

    #[test]
    fn clearing_stopping_and_disconnecting() {
        let mut s = confirmed();
        s.from_pns(&Control::ClearRequest { call_id: 1 }, None);
        assert_eq!(s.call, CallState::ClearRequested);
        s.from_pac(&Control::DisconnectNotify { call_id: 1 });
        assert_eq!(s.call, CallState::None);
        s.from_pns(&Control::StopRequest, None);
        assert_eq!(s.session, SessionState::StopRequested);
        s.from_pac(&Control::StopReply { result: 1 });
        assert_eq!(s.session, SessionState::None);
        // A stop reply while confirmed is out of order.
        let mut s = confirmed();
        s.from_pac(&Control::StopReply { result: 1 });
        assert_eq!(s.session, SessionState::Confirmed);
    }

    /// Behind NAT the PAC answers the id the helper wrote; the PNS's own is kept too,
    /// and each side's field naming the call is translated to the other's view.
    #[test]
    fn behind_nat_the_pac_is_read_against_the_new_id() {
        let mut s = confirmed();
        s.from_pns(&Control::OutgoingRequest { call_id: 7 }, Some(40000));
        assert_eq!((s.pns_call_id, s.pns_call_id_nat), (7, 40000));
        assert_eq!(s.translated_call_id(7, true), Some(40000));
        assert_eq!(s.translated_call_id(8, true), None);
        let reply = |peer| Control::OutgoingReply {
            call_id: 3,
            peer_call_id: peer,
            result: 1,
        };
        // The PNS's own id is not what the PAC was told.
        assert_eq!(s.from_pac(&reply(7)), None);
        let call = s.from_pac(&reply(40000)).expect("up");
        assert_eq!(
            call,
            Call {
                pns_call_id: 7,
                pns_call_id_nat: 40000,
                pac_call_id: 3
            }
        );
        assert_eq!(s.translated_call_id(40000, false), Some(7));
        assert_eq!(s.translated_call_id(7, false), None);
        // An incoming call alike.
        let mut s = confirmed();
        s.from_pac(&Control::IncomingRequest { call_id: 40 });
        s.from_pns(
            &Control::IncomingReply {
                call_id: 9,
                peer_call_id: 40,
                result: 1,
            },
            Some(40000),
        );
        assert_eq!(
            s.from_pac(&Control::IncomingConnected { peer_call_id: 9 }),
            None
        );
        assert_eq!(
            s.from_pac(&Control::IncomingConnected {
                peer_call_id: 40000
            })
            .map(|c| (c.pns_call_id, c.pns_call_id_nat)),
            Some((9, 40000))
        );
        // Untranslated, nothing changes on the way.
        let mut s = confirmed();
        s.from_pns(&Control::OutgoingRequest { call_id: 7 }, None);
        assert_eq!(s.translated_call_id(7, true), None);
        assert_eq!(s.translated_call_id(7, false), None);
    }
}
