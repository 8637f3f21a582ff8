//! The contract's values as plain Rust types (no bindings involved).

use alloc::vec::Vec;

/// An IP address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Addr {
    /// IPv4, network order.
    V4([u8; 4]),
    /// IPv6, network order.
    V6([u8; 16]),
}

impl Addr {
    /// Whether this is an IPv6 address.
    pub fn is_v6(&self) -> bool {
        matches!(self, Addr::V6(_))
    }

    /// The address bytes (4 or 16).
    pub fn octets(&self) -> &[u8] {
        match self {
            Addr::V4(a) => a,
            Addr::V6(a) => a,
        }
    }

    /// The address from 4 or 16 bytes.
    pub fn from_octets(b: &[u8]) -> Option<Addr> {
        match b.len() {
            4 => Some(Addr::V4(b.try_into().ok()?)),
            16 => Some(Addr::V6(b.try_into().ok()?)),
            _ => None,
        }
    }
}

/// One direction of a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Tuple {
    /// Source address.
    pub src: Addr,
    /// Destination address.
    pub dst: Addr,
    /// Layer-4 protocol number.
    pub protocol: u8,
    /// Source port (GRE: key).
    pub src_port: u16,
    /// Destination port (GRE: key).
    pub dst_port: u16,
}

impl Tuple {
    /// The tuple the other direction has.
    pub fn reversed(&self) -> Tuple {
        Tuple {
            src: self.dst,
            dst: self.src,
            protocol: self.protocol,
            src_port: self.dst_port,
            dst_port: self.src_port,
        }
    }

    /// Appends a compact encoding (for per-connection state): 1 family byte (4 or 6),
    /// the two addresses, protocol, the two ports big-endian — 14 or 38 bytes.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.push(if self.src.is_v6() { 6 } else { 4 });
        out.extend_from_slice(self.src.octets());
        out.extend_from_slice(self.dst.octets());
        out.push(self.protocol);
        out.extend_from_slice(&self.src_port.to_be_bytes());
        out.extend_from_slice(&self.dst_port.to_be_bytes());
    }

    /// Reads what [`Tuple::encode`] wrote; returns the tuple and the bytes it took.
    pub fn decode(b: &[u8]) -> Option<(Tuple, usize)> {
        let alen = match *b.first()? {
            4 => 4,
            6 => 16,
            _ => return None,
        };
        let need = 1 + 2 * alen + 5;
        let b = b.get(..need)?;
        let src = Addr::from_octets(&b[1..1 + alen])?;
        let dst = Addr::from_octets(&b[1 + alen..1 + 2 * alen])?;
        let p = 1 + 2 * alen;
        Some((
            Tuple {
                src,
                dst,
                protocol: b[p],
                src_port: u16::from_be_bytes([b[p + 1], b[p + 2]]),
                dst_port: u16::from_be_bytes([b[p + 3], b[p + 4]]),
            },
            need,
        ))
    }
}

/// IP protocol numbers (`proto::TCP`, `proto::UDP`, `proto::GRE`, ...), brickwall's
/// one table of them.
pub use brickwall_wire::ip_proto as proto;

/// What a helper learns of a connection when it is assigned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnInfo {
    /// The first packet's direction.
    pub original: Tuple,
    /// The answers' direction.
    pub reply: Tuple,
    /// Conntrack zone.
    pub zone: u16,
    /// Connection mark.
    pub mark: u32,
}

impl ConnInfo {
    /// Whether the connection is translated (its reply is not its original reversed).
    pub fn is_translated(&self) -> bool {
        self.reply != self.original.reversed()
    }

    /// The address and port the far side sees as the source of a packet in `dir` (the
    /// other direction's destination): what a helper behind NAT writes into a payload
    /// in place of the sender's own.
    pub fn seen_as(&self, dir: Direction) -> (Addr, u16) {
        let other = match dir {
            Direction::Original => &self.reply,
            Direction::Reply => &self.original,
        };
        (other.dst, other.dst_port)
    }

    /// A connection whose original direction is `original` (the reply its reverse,
    /// zone 0, no mark), as tests build them.
    pub fn of(original: Tuple) -> ConnInfo {
        ConnInfo {
            original,
            reply: original.reversed(),
            zone: 0,
            mark: 0,
        }
    }
}

/// Which way a packet goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// As the connection's first packet.
    Original,
    /// As its answers.
    Reply,
}

/// Conntrack's view of the connection for this packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CtState {
    /// No reply seen yet.
    New,
    /// Seen both ways.
    Established,
    /// Expected by another connection's helper.
    Related,
}

/// A packet handed to a helper.
#[derive(Clone, Copy, Debug)]
pub struct Packet<'a> {
    /// The connection's handle (stable while it lives).
    pub conn: u32,
    /// Direction.
    pub dir: Direction,
    /// Conntrack state.
    pub ct: CtState,
    /// TCP sequence number of the payload's first byte (0 for other protocols).
    pub seq: u32,
    /// TCP flags (0 for other protocols).
    pub tcp_flags: u8,
    /// The layer-4 payload.
    pub payload: &'a [u8],
}

/// A helper's verdict on a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Let it pass.
    Accept,
    /// Drop it.
    Drop,
}

/// How an expected connection is translated, for a master behind NAT: its destination
/// goes to `to`:`to_port`, its source becomes what the master's far side has in `dir`
/// (for GRE in `Original`, the key too: the master's translated source port).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExpectNat {
    /// The master's direction the expected connection's first packet travels in.
    pub dir: Direction,
    /// Where it really goes: the address the payload carried before the rewrite.
    pub to: Addr,
    /// Its port.
    pub to_port: u16,
}

/// A connection the helper announces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expect {
    /// The expected connection's first packet.
    pub tuple: Tuple,
    /// Lifetime, seconds (0: the helper's configured timeout).
    pub timeout_s: u32,
    /// Class within the helper.
    pub class: u8,
    /// Stays after a match.
    pub permanent: bool,
    /// Any source address matches.
    pub any_src_addr: bool,
    /// Any source port matches.
    pub any_src_port: bool,
    /// The expected connection's translation (none: untranslated).
    pub nat: Option<ExpectNat>,
}

impl Expect {
    /// An expectation for `tuple` with any source port (FTP data, TFTP replies).
    pub fn any_src_port(tuple: Tuple) -> Expect {
        Expect {
            tuple,
            timeout_s: 0,
            class: 0,
            permanent: false,
            any_src_addr: false,
            any_src_port: true,
            nat: None,
        }
    }

    /// An expectation matching `tuple` exactly (PPTP's GRE).
    pub fn exact(tuple: Tuple) -> Expect {
        Expect {
            any_src_port: false,
            ..Expect::any_src_port(tuple)
        }
    }
}

/// A payload edit: `length` bytes at `offset` of the payload as received are replaced
/// by `data` (the host fixes lengths, checksums and TCP sequence numbers).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edit {
    /// Offset in the payload.
    pub offset: u32,
    /// Bytes replaced.
    pub length: u32,
    /// The new bytes.
    pub data: Vec<u8>,
}

impl Edit {
    /// Replaces `range` of the payload by `data`.
    pub fn replace(range: core::ops::Range<usize>, data: Vec<u8>) -> Edit {
        Edit {
            offset: range.start as u32,
            length: range.len() as u32,
            data,
        }
    }
}

/// What a helper returns for a packet.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// The verdict; `None` accepts.
    pub verdict: Option<Verdict>,
    /// Expectations to create.
    pub expects: Vec<Expect>,
    /// End the connections this connection's expectations created, and its pending
    /// expectations (a PPTP call torn down).
    pub end_expected: bool,
    /// Payload edits, in offset order, not overlapping.
    pub rewrites: Vec<Edit>,
    /// Classes of this connection's pending expectations to remove, before `expects`
    /// are created (a SIP call's media on a BYE); the connections already made stay.
    pub flush_expected: Vec<u8>,
    /// This connection's timeout from now, seconds, as Linux's `nf_ct_refresh`
    /// (ignored for a connection whose timeout is fixed); `None` leaves it.
    pub timeout_s: Option<u32>,
}

impl Outcome {
    /// Accept, nothing expected.
    pub fn accept() -> Outcome {
        Outcome::default()
    }

    /// Drop the packet.
    pub fn drop() -> Outcome {
        Outcome {
            verdict: Some(Verdict::Drop),
            ..Outcome::default()
        }
    }

    /// Accept and create `e`.
    pub fn expect(e: Expect) -> Outcome {
        Outcome {
            expects: alloc::vec![e],
            ..Outcome::default()
        }
    }
}

/// A connection's state as the host keeps it; writes mark it changed so only changed
/// state crosses back to the host.
#[derive(Clone, Debug, Default)]
pub struct State {
    bytes: Vec<u8>,
    changed: bool,
}

impl State {
    /// State as handed in by the host.
    pub fn new(bytes: Vec<u8>) -> State {
        State {
            bytes,
            changed: false,
        }
    }

    /// The bytes.
    pub fn get(&self) -> &[u8] {
        &self.bytes
    }

    /// Replaces the bytes.
    pub fn set(&mut self, bytes: Vec<u8>) {
        self.bytes = bytes;
        self.changed = true;
    }

    /// The bytes, for changing in place.
    pub fn get_mut(&mut self) -> &mut Vec<u8> {
        self.changed = true;
        &mut self.bytes
    }

    /// Whether anything was written.
    pub fn changed(&self) -> bool {
        self.changed
    }

    /// The bytes, consumed.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

/// Log levels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogLevel {
    /// Something failed.
    Error,
    /// Something looks wrong.
    Warn,
    /// Worth knowing.
    Info,
    /// Detail.
    Debug,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tuples_encode_and_decode_both_families() {
        for t in [
            Tuple {
                src: Addr::V4([10, 0, 0, 1]),
                dst: Addr::V4([10, 0, 0, 2]),
                protocol: proto::TCP,
                src_port: 40000,
                dst_port: 21,
            },
            Tuple {
                src: Addr::V6([1; 16]),
                dst: Addr::V6([2; 16]),
                protocol: proto::UDP,
                src_port: 1,
                dst_port: 69,
            },
        ] {
            let mut b = Vec::new();
            t.encode(&mut b);
            b.push(0xaa);
            let (back, used) = Tuple::decode(&b).expect("decodes");
            assert_eq!(back, t);
            assert_eq!(used, b.len() - 1);
            assert!(Tuple::decode(&b[..used - 1]).is_none());
            assert_eq!(back.reversed().reversed(), t);
        }
        assert!(Tuple::decode(&[5, 0, 0]).is_none());
    }
}
