//! PPTP control message layouts (RFC 2637, section 2) and the framing of a TCP
//! segment into messages.
//!
//! Every message opens with a 12-byte header: total length (16 bits), PPTP message
//! type (1 = control), the magic cookie 0x1A2B3C4D, the control message type (16 bits)
//! and 16 reserved bits. All numbers are big-endian. Only the fields the helper needs
//! are decoded.

/// The magic cookie every PPTP message carries.
pub const MAGIC_COOKIE: u32 = 0x1A2B_3C4D;

/// PPTP message type of control messages (management messages are type 2).
pub const CONTROL_MESSAGE: u16 = 1;

/// Bytes of the header before a message's own fields.
pub const HEADER_LEN: usize = 12;

/// Control message types and the least length of their bodies (the bytes after the
/// 12-byte header), as RFC 2637 lays them out.
const BODY_LEN: [(u16, usize); 15] = [
    (1, 144),  // Start-Control-Connection-Request
    (2, 144),  // Start-Control-Connection-Reply
    (3, 4),    // Stop-Control-Connection-Request
    (4, 4),    // Stop-Control-Connection-Reply
    (5, 4),    // Echo-Request
    (6, 8),    // Echo-Reply
    (7, 156),  // Outgoing-Call-Request
    (8, 20),   // Outgoing-Call-Reply
    (9, 208),  // Incoming-Call-Request
    (10, 12),  // Incoming-Call-Reply
    (11, 16),  // Incoming-Call-Connected
    (12, 4),   // Call-Clear-Request
    (13, 136), // Call-Disconnect-Notify
    (14, 28),  // WAN-Error-Notify
    (15, 12),  // Set-Link-Info
];

/// A control message, reduced to what connection tracking reads of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    /// Start-Control-Connection-Request (type 1).
    StartRequest,
    /// Start-Control-Connection-Reply (type 2); result 1 is success.
    StartReply {
        /// Result code.
        result: u8,
    },
    /// Stop-Control-Connection-Request (type 3).
    StopRequest,
    /// Stop-Control-Connection-Reply (type 4); result 1 is success.
    StopReply {
        /// Result code.
        result: u8,
    },
    /// Echo-Request (type 5).
    EchoRequest,
    /// Echo-Reply (type 6).
    EchoReply,
    /// Outgoing-Call-Request (type 7), from the PNS.
    OutgoingRequest {
        /// The PNS's call id.
        call_id: u16,
    },
    /// Outgoing-Call-Reply (type 8), from the PAC; result 1 is "connected".
    OutgoingReply {
        /// The PAC's call id.
        call_id: u16,
        /// The PNS's call id, echoed.
        peer_call_id: u16,
        /// Result code.
        result: u8,
    },
    /// Incoming-Call-Request (type 9), from the PAC.
    IncomingRequest {
        /// The PAC's call id.
        call_id: u16,
    },
    /// Incoming-Call-Reply (type 10), from the PNS; result 1 is "accept".
    IncomingReply {
        /// The PNS's call id.
        call_id: u16,
        /// The PAC's call id, echoed.
        peer_call_id: u16,
        /// Result code.
        result: u8,
    },
    /// Incoming-Call-Connected (type 11), from the PAC.
    IncomingConnected {
        /// The PNS's call id, echoed.
        peer_call_id: u16,
    },
    /// Call-Clear-Request (type 12), from the PNS.
    ClearRequest {
        /// The PNS's call id.
        call_id: u16,
    },
    /// Call-Disconnect-Notify (type 13), from the PAC.
    DisconnectNotify {
        /// The PAC's call id.
        call_id: u16,
    },
    /// WAN-Error-Notify (type 14), from the PAC.
    WanErrorNotify {
        /// The PNS's call id.
        peer_call_id: u16,
    },
    /// Set-Link-Info (type 15), from either side.
    SetLinkInfo {
        /// The receiver's call id.
        peer_call_id: u16,
    },
}

impl Control {
    /// Decodes a body of control message type `kind`; `None` for an unknown type or a
    /// body shorter than its type's layout (Linux ignores both).
    pub fn parse(kind: u16, body: &[u8]) -> Option<Control> {
        if body.len() < body_len(kind)? {
            return None;
        }
        let u8_at = |at: usize| body.get(at).copied();
        let u16_at = |at: usize| be16(body, at);
        Some(match kind {
            1 => Control::StartRequest,
            2 => Control::StartReply { result: u8_at(2)? },
            3 => Control::StopRequest,
            4 => Control::StopReply { result: u8_at(0)? },
            5 => Control::EchoRequest,
            6 => Control::EchoReply,
            7 => Control::OutgoingRequest {
                call_id: u16_at(0)?,
            },
            8 => Control::OutgoingReply {
                call_id: u16_at(0)?,
                peer_call_id: u16_at(2)?,
                result: u8_at(4)?,
            },
            9 => Control::IncomingRequest {
                call_id: u16_at(0)?,
            },
            10 => Control::IncomingReply {
                call_id: u16_at(0)?,
                peer_call_id: u16_at(2)?,
                result: u8_at(4)?,
            },
            11 => Control::IncomingConnected {
                peer_call_id: u16_at(0)?,
            },
            12 => Control::ClearRequest {
                call_id: u16_at(0)?,
            },
            13 => Control::DisconnectNotify {
                call_id: u16_at(0)?,
            },
            14 => Control::WanErrorNotify {
                peer_call_id: u16_at(0)?,
            },
            15 => Control::SetLinkInfo {
                peer_call_id: u16_at(0)?,
            },
            _ => return None,
        })
    }

    /// The field that names the PNS's call, if the message has one: its offset in the
    /// body and its value. From the PNS (`from_pns`) that is its own call id in an
    /// Outgoing-Call-Request, Incoming-Call-Reply or Call-Clear-Request; from the PAC
    /// the peer call id of an Outgoing-Call-Reply, Incoming-Call-Connected,
    /// WAN-Error-Notify or Set-Link-Info. (A Call-Disconnect-Notify names the PAC's
    /// own call; the PNS's Set-Link-Info names the PAC's.)
    pub fn pns_call_field(&self, from_pns: bool) -> Option<(usize, u16)> {
        match (*self, from_pns) {
            (Control::OutgoingRequest { call_id }, true)
            | (Control::IncomingReply { call_id, .. }, true)
            | (Control::ClearRequest { call_id }, true) => Some((0, call_id)),
            (Control::OutgoingReply { peer_call_id, .. }, false) => Some((2, peer_call_id)),
            (Control::IncomingConnected { peer_call_id }, false)
            | (Control::WanErrorNotify { peer_call_id }, false)
            | (Control::SetLinkInfo { peer_call_id }, false) => Some((0, peer_call_id)),
            _ => None,
        }
    }
}

/// One framed control message of a segment: where it starts, its type and the bytes
/// after its header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Message<'a> {
    /// Offset of the message's first byte in the segment.
    pub offset: usize,
    /// Control message type.
    pub kind: u16,
    /// The bytes after the 12-byte header, as long as the length field says.
    pub body: &'a [u8],
}

impl Message<'_> {
    /// The message decoded, when its type is known and its body long enough.
    pub fn control(&self) -> Option<Control> {
        Control::parse(self.kind, self.body)
    }
}

/// The control messages a segment holds, in order. Framing ends at the first message
/// that is cut by the segment's end, whose length field is below the header's size, or
/// whose magic cookie is wrong; messages of another PPTP type are stepped over.
#[derive(Clone, Debug)]
pub struct Messages<'a> {
    rest: &'a [u8],
    /// Offset of `rest` in the segment.
    at: usize,
}

/// Frames `segment` into control messages.
pub fn messages(segment: &[u8]) -> Messages<'_> {
    Messages {
        rest: segment,
        at: 0,
    }
}

impl<'a> Iterator for Messages<'a> {
    type Item = Message<'a>;

    fn next(&mut self) -> Option<Message<'a>> {
        loop {
            let Some((pptp_type, msg)) = frame(self.rest) else {
                self.rest = &[];
                return None;
            };
            let offset = self.at;
            self.rest = self.rest.get(msg.len()..).unwrap_or(&[]);
            self.at += msg.len();
            if pptp_type == CONTROL_MESSAGE {
                return Some(Message {
                    offset,
                    kind: be16(msg, 8)?,
                    body: msg.get(HEADER_LEN..)?,
                });
            }
        }
    }
}

/// The big-endian 16-bit number at `at`.
fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

/// The message `b` starts with and its PPTP message type, when it is whole, at least
/// a header long and carries the magic cookie.
fn frame(b: &[u8]) -> Option<(u16, &[u8])> {
    let len = usize::from(be16(b, 0)?);
    if len < HEADER_LEN {
        return None;
    }
    let msg = b.get(..len)?;
    let cookie = u32::from_be_bytes(msg.get(4..8)?.try_into().ok()?);
    (cookie == MAGIC_COOKIE).then_some((be16(msg, 2)?, msg))
}

/// Writes a control message of type `kind` with `body` (tests and benchmarks); a body
/// beyond what the 16-bit length can frame is cut.
pub fn build(kind: u16, body: &[u8]) -> Vec<u8> {
    let body = body
        .get(..usize::from(u16::MAX) - HEADER_LEN)
        .unwrap_or(body);
    let len = (HEADER_LEN + body.len()) as u16;
    let mut m = Vec::with_capacity(HEADER_LEN + body.len());
    m.extend_from_slice(&len.to_be_bytes());
    m.extend_from_slice(&CONTROL_MESSAGE.to_be_bytes());
    m.extend_from_slice(&MAGIC_COOKIE.to_be_bytes());
    m.extend_from_slice(&kind.to_be_bytes());
    m.extend_from_slice(&[0, 0]);
    m.extend_from_slice(body);
    m
}

/// The least body length of control message type `kind`, if it is known.
pub fn body_len(kind: u16) -> Option<usize> {
    BODY_LEN.iter().find(|(k, _)| *k == kind).map(|(_, n)| *n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(kind: u16, fields: &[u8]) -> Vec<u8> {
        let mut b = fields.to_vec();
        b.resize(body_len(kind).expect("known"), 0);
        b
    }

    #[test]
    fn lengths_match_rfc_2637_totals() {
        // Total lengths RFC 2637 gives for each message.
        let totals = [
            156, 156, 16, 16, 16, 20, 168, 32, 220, 24, 28, 16, 148, 40, 24,
        ];
        for (kind, total) in (1..=15).zip(totals) {
            assert_eq!(
                body_len(kind).map(|n| n + HEADER_LEN),
                Some(total),
                "{kind}"
            );
        }
        assert_eq!(body_len(0), None);
        assert_eq!(body_len(16), None);
    }

    #[test]
    fn fields_are_read_at_their_offsets() {
        let m = build(8, &body(8, &[0x2d, 0xeb, 0, 7, 1]));
        let got: Vec<_> = messages(&m).map(|m| m.control()).collect();
        assert_eq!(
            got,
            [Some(Control::OutgoingReply {
                call_id: 11755,
                peer_call_id: 7,
                result: 1
            })]
        );
        assert_eq!(
            Control::parse(2, &body(2, &[1, 0, 3])),
            Some(Control::StartReply { result: 3 })
        );
        assert_eq!(
            Control::parse(11, &body(11, &[0, 9])),
            Some(Control::IncomingConnected { peer_call_id: 9 })
        );
    }

    #[test]
    fn short_bodies_and_unknown_types_decode_to_nothing() {
        assert_eq!(Control::parse(8, &[0; 19]), None);
        assert_eq!(Control::parse(16, &[0; 300]), None);
        assert_eq!(Control::parse(0, &[]), None);
    }

    #[test]
    fn several_messages_are_framed_and_a_cut_one_ends_the_segment() {
        let mut seg = build(7, &body(7, &[0, 1]));
        seg.extend(build(12, &body(12, &[0, 1])));
        let third = build(8, &body(8, &[]));
        seg.extend_from_slice(&third[..20]);
        let kinds: Vec<u16> = messages(&seg).map(|m| m.kind).collect();
        assert_eq!(kinds, [7, 12]);
    }

    #[test]
    fn bad_magic_or_length_ends_framing_and_other_types_are_skipped() {
        let mut bad = build(7, &body(7, &[]));
        bad[7] ^= 1;
        bad.extend(build(12, &body(12, &[])));
        assert_eq!(messages(&bad).count(), 0);

        let mut mgmt = build(7, &body(7, &[]));
        mgmt[3] = 2;
        mgmt.extend(build(12, &body(12, &[])));
        assert_eq!(messages(&mgmt).map(|m| m.kind).collect::<Vec<_>>(), [12]);

        for len in [0u16, 1, 11] {
            let mut short = build(12, &body(12, &[]));
            short[..2].copy_from_slice(&len.to_be_bytes());
            assert_eq!(messages(&short).count(), 0, "length {len}");
        }
        assert_eq!(messages(&[]).count(), 0);
        assert_eq!(messages(&[0, 16, 0]).count(), 0);
    }

    #[test]
    fn offsets_and_the_field_naming_the_pnss_call() {
        let mut seg = build(7, &body(7, &[0, 5]));
        seg.extend(build(15, &body(15, &[0, 6])));
        let got: Vec<_> = messages(&seg)
            .map(|m| (m.offset, m.control().and_then(|c| c.pns_call_field(true))))
            .collect();
        // The PNS's Set-Link-Info names the PAC's call.
        assert_eq!(got, [(0, Some((0, 5))), (168, None)]);
        let from_pac = |kind, fields: &[u8]| {
            Control::parse(kind, &body(kind, fields)).and_then(|c| c.pns_call_field(false))
        };
        assert_eq!(from_pac(8, &[0, 1, 0, 2, 1]), Some((2, 2)));
        assert_eq!(from_pac(11, &[0, 3]), Some((0, 3)));
        assert_eq!(from_pac(14, &[0, 4]), Some((0, 4)));
        assert_eq!(from_pac(15, &[0, 5]), Some((0, 5)));
        assert_eq!(from_pac(13, &[0, 6]), None, "the PAC's own call");
        assert_eq!(from_pac(7, &[0, 7]), None);
    }
}
