//! What the helper keeps per connection between packets: the connection's two tuples
//! (whose source addresses decide which media and registrations are expected) and the
//! sequence numbers of its last INVITE and REGISTER, as Linux's `nf_ct_sip_master`.
//!
//! Encoding: a flags byte, the INVITE and REGISTER `CSeq` (big-endian), then the
//! original and reply tuples ([`Tuple::encode`]): 37 bytes for IPv4, 85 for IPv6.

use brickwall_helper_sdk::{ConnInfo, Tuple};

/// Flag: the connection was itself expected (its first packet was RELATED).
const EXPECTED: u8 = 1;

/// One connection's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Session {
    /// The original direction.
    pub original: Tuple,
    /// The reply direction (translated when the connection is).
    pub reply: Tuple,
    /// `CSeq` of the last INVITE whose offer was read (0: none yet).
    pub invite_cseq: u32,
    /// `CSeq` of the last REGISTER read (0: none yet).
    pub register_cseq: u32,
    /// The connection was created by an expectation (it may not register).
    pub expected: bool,
}

impl Session {
    /// A new connection's state.
    pub fn new(conn: &ConnInfo) -> Session {
        Session {
            original: conn.original,
            reply: conn.reply,
            invite_cseq: 0,
            register_cseq: 0,
            expected: false,
        }
    }

    /// Appends the encoding.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.push(if self.expected { EXPECTED } else { 0 });
        out.extend_from_slice(&self.invite_cseq.to_be_bytes());
        out.extend_from_slice(&self.register_cseq.to_be_bytes());
        self.original.encode(out);
        self.reply.encode(out);
    }

    /// Reads what [`Session::encode`] wrote (`None` for anything else).
    pub fn decode(b: &[u8]) -> Option<Session> {
        let flags = *b.first()?;
        let word = |at: usize| {
            b.get(at..at + 4)
                .map(|w| u32::from_be_bytes([w[0], w[1], w[2], w[3]]))
        };
        let (invite_cseq, register_cseq) = (word(1)?, word(5)?);
        let (original, n) = Tuple::decode(b.get(9..)?)?;
        let (reply, m) = Tuple::decode(b.get(9 + n..)?)?;
        if 9 + n + m != b.len() || flags & !EXPECTED != 0 {
            return None;
        }
        Some(Session {
            original,
            reply,
            invite_cseq,
            register_cseq,
            expected: flags & EXPECTED != 0,
        })
    }

    /// The encoding as a new buffer.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(85);
        self.encode(&mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use brickwall_helper_sdk::{proto, Addr};

    #[test]
    fn round_trip_and_junk() {
        let t = Tuple {
            src: Addr::V4([10, 0, 0, 1]),
            dst: Addr::V4([10, 0, 0, 2]),
            protocol: proto::UDP,
            src_port: 5060,
            dst_port: 5060,
        };
        let mut s = Session::new(&ConnInfo::of(t));
        s.invite_cseq = 7;
        s.register_cseq = u32::MAX;
        s.expected = true;
        let b = s.to_bytes();
        assert_eq!(b.len(), 37);
        assert_eq!(Session::decode(&b), Some(s));
        for cut in 0..b.len() {
            assert_eq!(Session::decode(&b[..cut]), None);
        }
        let mut more = b.clone();
        more.push(0);
        assert_eq!(Session::decode(&more), None);
        let mut flags = b;
        flags[0] = 2;
        assert_eq!(Session::decode(&flags), None);
    }
}
