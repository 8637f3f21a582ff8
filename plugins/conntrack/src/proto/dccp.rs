//! DCCP tracking as Linux 6.1–6.15's `nf_conntrack_proto_dccp` does it: a state per
//! connection, moved by a table indexed by the sender's role (client or server), the
//! packet type and the current state; header checks that make a packet INVALID;
//! Linux's per-state timeouts. Linux 6.16 removed this tracker (DCCP is then tracked
//! as a generic protocol, which the `dccp_generic` setting selects instead).
//!
//! Facts of Linux's tracker kept here:
//! * only a Request starts a connection (a Sync, SyncAck or anything else first is
//!   INVALID); the original direction is the client's;
//! * a header is INVALID when its data offset is under 12 bytes or past the segment,
//!   its checksum coverage (`(CsCov − 1) · 4` bytes) is past the segment, its type is
//!   reserved (10–15), or it lacks the X bit (48-bit sequence numbers) while being of
//!   a type that requires it (all but Data, Ack and DataAck);
//! * a Reset before any reply ends the connection at once;
//! * packets the table calls IGNORE pass without refreshing the timeout (Sync and
//!   SyncAck always, a Request or Response that may belong to a connection conntrack
//!   missed); a Response answering an ignored Request in the other direction
//!   resynchronises (roles swapped, state RESPOND);
//! * a Request from the server in TIMEWAIT reopens the connection with the roles
//!   swapped;
//! * the connection becomes ASSURED when the client's Ack acknowledges the server's
//!   Response (RESPOND → PARTOPEN, acknowledgement number equal to the Response's
//!   sequence number);
//! * a server's Reset in TIMEWAIT stays in TIMEWAIT and refreshes the timeout (Linux's
//!   table row for it holds one entry more than the others, shifting IGNORE out).

use super::{Timeouts, Track};
use brickwall_control_protocol::conntrack::states;
use brickwall_wire::dccp::{self, DccpHeader};
use serde::Deserialize;

/// A connection's state (Linux's `CT_DCCP_*`, in its order).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum DccpState {
    /// Nothing seen yet.
    None,
    /// Request seen.
    Request,
    /// Response seen.
    Respond,
    /// The client's Ack of the Response seen.
    PartOpen,
    /// Open.
    Open,
    /// CloseReq from the server seen.
    CloseReq,
    /// Close seen.
    Closing,
    /// Reset seen.
    TimeWait,
    /// The table's "cannot tell": the packet passes, the state is kept.
    Ignore,
    /// The table's "does not fit": the packet is INVALID.
    Invalid,
}

impl DccpState {
    /// Every state, in order.
    pub const ALL: [DccpState; 10] = [
        DccpState::None,
        DccpState::Request,
        DccpState::Respond,
        DccpState::PartOpen,
        DccpState::Open,
        DccpState::CloseReq,
        DccpState::Closing,
        DccpState::TimeWait,
        DccpState::Ignore,
        DccpState::Invalid,
    ];

    /// The name `conntrack -L` prints.
    pub fn name(self) -> &'static str {
        // The enum is in Linux's numbering, which the shared table follows.
        states::DCCP[self as usize]
    }
}

/// DCCP timeouts, seconds (Linux's defaults: `nf_conntrack_dccp_timeout_*`).
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DccpTimeouts {
    /// REQUEST (240).
    pub request: u32,
    /// RESPOND (480).
    pub respond: u32,
    /// PARTOPEN (480).
    pub partopen: u32,
    /// OPEN (43200, twelve hours).
    pub open: u32,
    /// CLOSEREQ (64).
    pub closereq: u32,
    /// CLOSING (64).
    pub closing: u32,
    /// TIMEWAIT (240).
    pub timewait: u32,
}

impl Default for DccpTimeouts {
    fn default() -> Self {
        DccpTimeouts {
            request: 240,
            respond: 480,
            partopen: 480,
            open: 43_200,
            closereq: 64,
            closing: 64,
            timewait: 240,
        }
    }
}

impl DccpTimeouts {
    /// The timeout of `s` (NONE, which no packet leaves a connection in, as REQUEST).
    pub fn for_state(&self, s: DccpState) -> u32 {
        match s {
            DccpState::Respond => self.respond,
            DccpState::PartOpen => self.partopen,
            DccpState::Open => self.open,
            DccpState::CloseReq => self.closereq,
            DccpState::Closing => self.closing,
            DccpState::TimeWait => self.timewait,
            _ => self.request,
        }
    }
}

/// A connection's tracking state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DccpConn {
    /// The Response's sequence number, which the client's Ack must acknowledge (two
    /// halves, high first, to keep the record 4-byte aligned).
    handshake_seq: [u32; 2],
    /// The state.
    state: DccpState,
    /// The original direction is the client's (false after roles swapped).
    orig_is_client: bool,
    /// Direction of the last packet that was not INVALID.
    last_dir: u8,
    /// Type of that packet.
    last_pkt: u8,
}

impl DccpConn {
    /// The state.
    #[inline]
    pub fn state(&self) -> DccpState {
        self.state
    }

    /// Whether direction `dir`'s sender is the client.
    #[inline]
    fn is_client(&self, dir: u8) -> bool {
        (dir == 0) == self.orig_is_client
    }

    /// Makes direction `dir`'s sender the client (and the other the server).
    #[inline]
    fn set_client(&mut self, dir: u8) {
        self.orig_is_client = dir == 0;
    }

    fn handshake_seq(&self) -> u64 {
        u64::from(self.handshake_seq[0]) << 32 | u64::from(self.handshake_seq[1])
    }

    fn set_handshake_seq(&mut self, seq: u64) {
        self.handshake_seq = [(seq >> 32) as u32, seq as u32];
    }
}

use DccpState::{
    CloseReq as CR, Closing as CG, Ignore as IG, Invalid as IV, Open as OP, PartOpen as PO,
    Request as RQ, Respond as RS, TimeWait as TW,
};

/// The transitions: `[role][type][state]`, role 0 the client, 1 the server; states
/// NONE to TIMEWAIT (Linux's `dccp_state_table`).
#[rustfmt::skip]
const TABLE: [[[DccpState; 8]; 10]; 2] = [
    // Client.          NONE REQUEST RESPOND PARTOPEN OPEN CLOSEREQ CLOSING TIMEWAIT
    [
        /* Request  */ [RQ, RQ, RS, IG, IG, IG, IG, RQ],
        /* Response */ [IV, IG, IG, IG, IG, IG, IG, IV],
        /* Data     */ [IV, IV, IV, IV, OP, CR, CG, IV],
        /* Ack      */ [IV, IV, PO, PO, OP, CR, CG, IV],
        /* DataAck  */ [IV, IV, PO, PO, OP, CR, CG, IV],
        /* CloseReq */ [IV, IV, IV, IV, IV, IV, IV, IV],
        /* Close    */ [IV, IV, IV, CG, CG, CG, IV, IV],
        /* Reset    */ [IV, TW, TW, TW, TW, TW, TW, IG],
        /* Sync     */ [IV, IG, IG, IG, IG, IG, IG, IG],
        /* SyncAck  */ [IV, IG, IG, IG, IG, IG, IG, IG],
    ],
    // Server.
    [
        /* Request  */ [IV, IG, IG, IG, IG, IG, IG, RQ],
        /* Response */ [IV, RS, RS, IG, IG, IG, IG, IV],
        /* Data     */ [IV, IV, IV, OP, OP, IV, CG, IV],
        /* Ack      */ [IV, IV, IV, OP, OP, IV, CG, IV],
        /* DataAck  */ [IV, IV, IV, OP, OP, IV, CG, IV],
        /* CloseReq */ [IV, IV, IV, CR, CR, CR, CR, IV],
        /* Close    */ [IV, IV, IV, CG, CG, IV, CG, IV],
        /* Reset    */ [IV, TW, TW, TW, TW, TW, TW, TW],
        /* Sync     */ [IV, IG, IG, IG, IG, IG, IG, IG],
        /* SyncAck  */ [IV, IG, IG, IG, IG, IG, IG, IG],
    ],
];

/// Types whose header must carry 48-bit sequence numbers (the X bit).
const NEEDS_X: u16 = 1 << dccp::REQUEST
    | 1 << dccp::RESPONSE
    | 1 << dccp::CLOSEREQ
    | 1 << dccp::CLOSE
    | 1 << dccp::RESET
    | 1 << dccp::SYNC
    | 1 << dccp::SYNCACK;

/// The checked header of a segment: `l4` its bytes as captured, `l4_len` its length as
/// the IP header declares it. Besides Linux's checks (see the module), the bytes must
/// hold the type's whole header, which Linux reads for the sequence numbers (it drops
/// a packet too short for it; here it is INVALID).
pub fn header(l4: &[u8], l4_len: usize) -> Result<DccpHeader<'_>, &'static str> {
    let h = DccpHeader::new(l4).ok_or("dccp-truncated")?;
    let off = h.header_len();
    if off < DccpHeader::MIN_LEN || off > l4_len {
        return Err("dccp-data-offset");
    }
    if h.cscov() != 0 && usize::from(h.cscov() - 1) * 4 > l4_len {
        return Err("dccp-checksum-coverage");
    }
    let ty = h.packet_type();
    if ty >= dccp::RESERVED {
        return Err("dccp-reserved-type");
    }
    if NEEDS_X & (1 << ty) != 0 && !h.extended() {
        return Err("dccp-no-48bit-seq");
    }
    if h.generic_len() + h.subheader_len() > l4.len() {
        return Err("dccp-truncated");
    }
    Ok(h)
}

/// The state a new connection starts in: only a Request may start one.
pub fn dccp_new(l4: &[u8], l4_len: usize) -> Result<DccpConn, &'static str> {
    let h = header(l4, l4_len)?;
    if TABLE[0][usize::from(h.packet_type())][0] != RQ {
        return Err("dccp-not-request");
    }
    Ok(DccpConn {
        handshake_seq: [0; 2],
        state: DccpState::None,
        orig_is_client: true,
        last_dir: 0,
        last_pkt: dccp::REQUEST,
    })
}

/// Tracks one packet of a connection in direction `dir`; `seen_reply`: the connection
/// has seen a reply before this packet.
pub fn track(
    c: &mut DccpConn,
    dir: u8,
    l4: &[u8],
    l4_len: usize,
    seen_reply: bool,
    t: &Timeouts,
) -> Track {
    let h = match header(l4, l4_len) {
        Ok(h) => h,
        Err(e) => return Track::Invalid(e),
    };
    let ty = h.packet_type();
    if ty == dccp::RESET && !seen_reply {
        return Track::Kill;
    }
    let role = usize::from(!c.is_client(dir));
    let old = c.state;
    let mut new = TABLE[role][usize::from(ty)][(old as usize).min(7)];
    let mut set_assured = false;
    match new {
        RQ if old == TW && role == 1 => c.set_client(dir),
        RS if old == RQ => c.set_handshake_seq(h.seq()),
        PO if old == RS && ty == dccp::ACK && h.ack_48() == c.handshake_seq() => {
            set_assured = true;
        }
        IG => {
            if c.last_dir != dir && c.last_pkt == dccp::REQUEST && ty == dccp::RESPONSE {
                c.set_client(dir ^ 1);
                c.set_handshake_seq(h.seq());
                new = RS;
            } else {
                c.last_dir = dir;
                c.last_pkt = ty;
                return Track::Ignore;
            }
        }
        IV => return Track::Invalid("dccp-invalid-transition"),
        _ => {}
    }
    c.last_dir = dir;
    c.last_pkt = ty;
    c.state = new;
    Track::Accept {
        timeout: t.dccp.for_state(new),
        set_assured,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A header of type `ty` with the X bit, sequence number `seq`, acknowledgement
    /// number `ack` (types that carry one), and `payload` bytes of data.
    fn pkt(ty: u8, seq: u64, ack: u64, payload: usize) -> Vec<u8> {
        let mut v = vec![0x13, 0x89, 0x17, 0x71, 0, 0, 0, 0, ty << 1 | 1, 0];
        v.extend_from_slice(&((seq >> 32) as u16).to_be_bytes());
        v.extend_from_slice(&(seq as u32).to_be_bytes());
        match ty {
            dccp::DATA => {}
            dccp::REQUEST => v.extend_from_slice(&[0, 0, 0, 42]),
            _ => {
                v.extend_from_slice(&[0, 0]);
                v.extend_from_slice(&((ack >> 32) as u16).to_be_bytes());
                v.extend_from_slice(&(ack as u32).to_be_bytes());
                if matches!(ty, dccp::RESPONSE | dccp::RESET) {
                    v.extend_from_slice(&[0; 4]);
                }
            }
        }
        v[4] = (v.len() / 4) as u8;
        v.resize(v.len() + payload, 0xaa);
        v
    }

    fn accept(timeout: u32, set_assured: bool) -> Track {
        Track::Accept {
            timeout,
            set_assured,
        }
    }

    /// Tracks `p` in `dir` (with a reply seen from the second packet on).
    fn step(c: &mut DccpConn, dir: u8, p: &[u8], seen_reply: bool) -> Track {
        track(c, dir, p, p.len(), seen_reply, &Timeouts::default())
    }

    #[test]
    fn a_whole_connection() {
        let req = pkt(dccp::REQUEST, 100, 0, 0);
        let mut c = dccp_new(&req, req.len()).unwrap();
        assert_eq!(c.state(), DccpState::None);
        assert_eq!(step(&mut c, 0, &req, false), accept(240, false));
        assert_eq!(c.state().name(), "REQUEST");
        // The server answers; the client's Ack of the Response's sequence number makes
        // the connection ASSURED.
        let resp = pkt(dccp::RESPONSE, 5000, 100, 0);
        assert_eq!(step(&mut c, 1, &resp, false), accept(480, false));
        assert_eq!(c.state(), DccpState::Respond);
        assert_eq!(
            step(&mut c, 0, &pkt(dccp::ACK, 101, 5000, 0), true),
            accept(480, true)
        );
        assert_eq!(c.state(), DccpState::PartOpen);
        // Data from the client stays in PARTOPEN only as a DataAck; plain Data is
        // INVALID there.
        assert_eq!(
            step(&mut c, 0, &pkt(dccp::DATA, 102, 0, 8), true),
            Track::Invalid("dccp-invalid-transition")
        );
        assert_eq!(c.state(), DccpState::PartOpen);
        // The server's first packet after the handshake opens it.
        assert_eq!(
            step(&mut c, 1, &pkt(dccp::DATA, 5001, 0, 8), true),
            accept(43_200, false)
        );
        assert_eq!(c.state(), DccpState::Open);
        assert_eq!(
            step(&mut c, 0, &pkt(dccp::DATA, 103, 0, 8), true),
            accept(43_200, false)
        );
        // Sync passes without refreshing anything.
        assert_eq!(
            step(&mut c, 0, &pkt(dccp::SYNC, 104, 5001, 0), true),
            Track::Ignore
        );
        assert_eq!(c.state(), DccpState::Open);
        // The server asks to close, the client closes, the server resets.
        assert_eq!(
            step(&mut c, 1, &pkt(dccp::CLOSEREQ, 5002, 104, 0), true),
            accept(64, false)
        );
        assert_eq!(c.state(), DccpState::CloseReq);
        assert_eq!(
            step(&mut c, 0, &pkt(dccp::CLOSE, 105, 5002, 0), true),
            accept(64, false)
        );
        assert_eq!(c.state(), DccpState::Closing);
        assert_eq!(
            step(&mut c, 1, &pkt(dccp::RESET, 5003, 105, 0), true),
            accept(240, false)
        );
        assert_eq!(c.state().name(), "TIMEWAIT");
        // A client Reset in TIMEWAIT is ignored; a server's stays there (Linux's row).
        assert_eq!(
            step(&mut c, 0, &pkt(dccp::RESET, 106, 0, 0), true),
            Track::Ignore
        );
        assert_eq!(
            step(&mut c, 1, &pkt(dccp::RESET, 5004, 0, 0), true),
            accept(240, false)
        );
        // A new Request from the server reopens it with the roles swapped.
        assert_eq!(
            step(&mut c, 1, &pkt(dccp::REQUEST, 9000, 0, 0), true),
            accept(240, false)
        );
        assert_eq!(c.state(), DccpState::Request);
        assert!(c.is_client(1) && !c.is_client(0));
        assert_eq!(
            step(&mut c, 0, &pkt(dccp::RESPONSE, 7000, 9000, 0), true),
            accept(480, false)
        );
    }

    #[test]
    fn an_ack_of_another_sequence_number_is_not_assured() {
        let req = pkt(dccp::REQUEST, 1, 0, 0);
        let mut c = dccp_new(&req, req.len()).unwrap();
        step(&mut c, 0, &req, false);
        step(&mut c, 1, &pkt(dccp::RESPONSE, 50, 1, 0), false);
        assert_eq!(
            step(&mut c, 0, &pkt(dccp::ACK, 2, 49, 0), true),
            accept(480, false)
        );
        // A DataAck moves to PARTOPEN too, but only an Ack assures.
        let mut c = dccp_new(&req, req.len()).unwrap();
        step(&mut c, 0, &req, false);
        step(&mut c, 1, &pkt(dccp::RESPONSE, 50, 1, 0), false);
        assert_eq!(
            step(&mut c, 0, &pkt(dccp::DATAACK, 2, 50, 4), true),
            accept(480, false)
        );
    }

    #[test]
    fn a_reset_before_any_reply_ends_the_connection() {
        let req = pkt(dccp::REQUEST, 1, 0, 0);
        let mut c = dccp_new(&req, req.len()).unwrap();
        step(&mut c, 0, &req, false);
        assert_eq!(
            step(&mut c, 1, &pkt(dccp::RESET, 9, 1, 0), false),
            Track::Kill
        );
    }

    #[test]
    fn a_response_to_an_ignored_request_resynchronises() {
        let req = pkt(dccp::REQUEST, 1, 0, 0);
        let mut c = dccp_new(&req, req.len()).unwrap();
        step(&mut c, 0, &req, false);
        step(&mut c, 1, &pkt(dccp::RESPONSE, 50, 1, 0), false);
        step(&mut c, 0, &pkt(dccp::ACK, 2, 50, 0), true);
        step(&mut c, 1, &pkt(dccp::DATA, 51, 0, 0), true);
        assert_eq!(c.state(), DccpState::Open);
        // The reply side starts over: its Request is ignored; the original side's
        // Response to it makes that side the server.
        assert_eq!(
            step(&mut c, 1, &pkt(dccp::REQUEST, 80, 0, 0), true),
            Track::Ignore
        );
        assert_eq!(
            step(&mut c, 0, &pkt(dccp::RESPONSE, 90, 80, 0), true),
            accept(480, false)
        );
        assert_eq!(c.state(), DccpState::Respond);
        assert!(c.is_client(1));
        assert_eq!(
            step(&mut c, 1, &pkt(dccp::ACK, 81, 90, 0), true),
            accept(480, true)
        );
    }

    #[test]
    fn only_a_request_starts_a_connection() {
        for ty in [
            dccp::RESPONSE,
            dccp::DATA,
            dccp::ACK,
            dccp::DATAACK,
            dccp::CLOSEREQ,
            dccp::CLOSE,
            dccp::RESET,
            dccp::SYNC,
            dccp::SYNCACK,
        ] {
            let p = pkt(ty, 1, 1, 0);
            assert_eq!(dccp_new(&p, p.len()), Err("dccp-not-request"), "type {ty}");
        }
    }

    #[test]
    fn malformed_headers_are_invalid() {
        let req = pkt(dccp::REQUEST, 1, 0, 0);
        let n = req.len();
        assert_eq!(header(&req[..11], n).unwrap_err(), "dccp-truncated");
        // Data offset under the 12-byte header, or past the segment.
        let mut p = req.clone();
        p[4] = 2;
        assert_eq!(dccp_new(&p, n), Err("dccp-data-offset"));
        p[4] = 6;
        assert_eq!(dccp_new(&p, n), Err("dccp-data-offset"));
        // Checksum coverage past the segment: (CsCov - 1) * 4 bytes.
        let mut p = req.clone();
        p[5] = 6;
        assert!(dccp_new(&p, n).is_ok());
        p[5] = 7;
        assert_eq!(dccp_new(&p, n), Err("dccp-checksum-coverage"));
        // Reserved types.
        let mut p = req.clone();
        p[8] = 10 << 1 | 1;
        assert_eq!(dccp_new(&p, n), Err("dccp-reserved-type"));
        // A Request without the X bit.
        let mut p = req.clone();
        p[8] = 0;
        assert_eq!(dccp_new(&p, n), Err("dccp-no-48bit-seq"));
        // Data may do without it.
        let mut d = pkt(dccp::DATA, 1, 0, 4);
        d[8] = dccp::DATA << 1;
        assert!(header(&d, d.len()).is_ok());
        // A Response too short for its acknowledgement subheader.
        let mut r = pkt(dccp::RESPONSE, 1, 1, 0);
        r[4] = 4;
        assert_eq!(header(&r[..16], 16).unwrap_err(), "dccp-truncated");
        // Every prefix of every packet is answered without a panic.
        let mut c = dccp_new(&req, n).unwrap();
        for ty in 0..16u8 {
            let mut p = pkt(ty.min(9), 7, 7, 5);
            p[8] = ty << 1 | (ty & 1);
            for len in 0..=p.len() {
                let _ = dccp_new(&p[..len], len);
                let _ = step(&mut c, ty & 1, &p[..len], ty > 3);
            }
        }
    }

    #[test]
    fn sync_first_and_invalid_transitions() {
        let sync = pkt(dccp::SYNC, 1, 1, 0);
        assert!(dccp_new(&sync, sync.len()).is_err());
        let req = pkt(dccp::REQUEST, 1, 0, 0);
        let mut c = dccp_new(&req, req.len()).unwrap();
        step(&mut c, 0, &req, false);
        // CloseReq only comes from the server; Data before the handshake is invalid.
        assert_eq!(
            step(&mut c, 0, &pkt(dccp::CLOSEREQ, 2, 0, 0), false),
            Track::Invalid("dccp-invalid-transition")
        );
        assert_eq!(
            step(&mut c, 1, &pkt(dccp::DATA, 2, 0, 0), false),
            Track::Invalid("dccp-invalid-transition")
        );
        assert_eq!(c.state(), DccpState::Request);
    }
}
