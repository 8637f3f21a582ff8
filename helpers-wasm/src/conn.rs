//! What the host tells a helper about a connection and a packet, and what comes back,
//! as plain Rust values (the conntrack plugin speaks these; the WIT types stay inside
//! this crate).

/// One direction of a connection. IPv4 addresses sit in the first four bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct HTuple {
    /// Source address.
    pub src: [u8; 16],
    /// Destination address.
    pub dst: [u8; 16],
    /// Source port (GRE: key).
    pub src_port: u16,
    /// Destination port (GRE: key).
    pub dst_port: u16,
    /// IP protocol number.
    pub proto: u8,
    /// IPv6 rather than IPv4.
    pub v6: bool,
}

/// A connection as a helper learns of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HConnInfo {
    /// Original direction.
    pub original: HTuple,
    /// Reply direction.
    pub reply: HTuple,
    /// Zone.
    pub zone: u16,
    /// Mark.
    pub mark: u32,
}

/// Conntrack's state for the packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HCtState {
    /// No reply yet.
    New,
    /// Seen both ways.
    Established,
    /// Expected by a helper.
    Related,
}

/// A packet for a helper.
#[derive(Clone, Copy, Debug)]
pub struct PacketCall<'a> {
    /// The connection's handle.
    pub conn: u32,
    /// Reply direction rather than original.
    pub reply: bool,
    /// Conntrack state.
    pub ct: HCtState,
    /// TCP sequence number (0 otherwise).
    pub seq: u32,
    /// TCP flags (0 otherwise).
    pub tcp_flags: u8,
    /// The layer-4 payload.
    pub payload: &'a [u8],
}

/// How the connection an expectation creates is translated (Linux's
/// `nf_nat_follow_master`): its destination goes to `to`:`to_port`; its source becomes
/// the address the master's far side has in the master's direction `reply` (false:
/// original) that the expected connection travels in (GRE in the original direction:
/// its key too, the master's translated source port).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExpectNat {
    /// The expected connection travels in the master's reply direction.
    pub reply: bool,
    /// The real destination address (IPv4 in the first four bytes).
    pub to: [u8; 16],
    /// The real destination port.
    pub to_port: u16,
}

/// A payload edit a helper asked for: `length` bytes at `offset` become `data`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edit {
    /// Offset in the payload as the helper got it.
    pub offset: u32,
    /// Bytes replaced.
    pub length: u32,
    /// The new bytes.
    pub data: Vec<u8>,
}

/// An expectation a helper asked for, with the policy's defaults filled in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExpectRequest {
    /// The expected connection's original tuple.
    pub tuple: HTuple,
    /// Any source address matches.
    pub any_src_addr: bool,
    /// Any source port matches.
    pub any_src_port: bool,
    /// Lifetime, seconds.
    pub timeout_s: u32,
    /// Class.
    pub class: u8,
    /// Stays after a match.
    pub permanent: bool,
    /// The expected connection's translation (a master behind NAT).
    pub nat: Option<ExpectNat>,
}

/// What became of a packet's helper call.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CallOutcome {
    /// Drop the packet (the helper's verdict, or a failed call under fail-closed).
    pub drop: bool,
    /// Expectations to create.
    pub expects: Vec<ExpectRequest>,
    /// The call failed (trap, budget, memory, oversized state).
    pub failed: bool,
    /// End the connections the connection's expectations created, and its pending
    /// expectations.
    pub end_expected: bool,
    /// Payload edits, as the helper returned them (the host checks them before use).
    pub rewrites: Vec<Edit>,
    /// Classes of the connection's pending expectations to remove, before `expects`
    /// are created; the connections they created stay.
    pub flush_classes: Vec<u8>,
    /// The connection's timeout from now, seconds (`None`: leave it).
    pub timeout_s: Option<u32>,
}
