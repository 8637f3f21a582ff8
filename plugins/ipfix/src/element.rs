//! The information elements the plugin exports: their IANA numbers (RFC 5102, RFC 8158
//! and the IANA IPFIX registry), their lengths on the wire, and the reverse-direction
//! enterprise number of RFC 5103.

/// RFC 5103's Private Enterprise Number for reverse information elements: an element
/// with this enterprise number and an IANA element's id counts the reverse direction.
pub const REVERSE_PEN: u32 = 29305;

/// An element of a template: what it holds, as the record encoder knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Element {
    /// `flowId` (148): conntrack's connection id.
    FlowId,
    /// `sourceIPv4Address` (8).
    SourceIpv4,
    /// `destinationIPv4Address` (12).
    DestinationIpv4,
    /// `sourceIPv6Address` (27).
    SourceIpv6,
    /// `destinationIPv6Address` (28).
    DestinationIpv6,
    /// `sourceTransportPort` (7).
    SourcePort,
    /// `destinationTransportPort` (11).
    DestinationPort,
    /// `protocolIdentifier` (4).
    Protocol,
    /// `icmpTypeCodeIPv4` (32): type × 256 + code, ICMP only.
    IcmpTypeCodeIpv4,
    /// `icmpTypeCodeIPv6` (139): type × 256 + code, ICMPv6 only.
    IcmpTypeCodeIpv6,
    /// `flowEndReason` (136).
    FlowEndReason,
    /// `flowStartMilliseconds` (152).
    FlowStart,
    /// `flowEndMilliseconds` (153).
    FlowEnd,
    /// `octetDeltaCount` (1): the original direction's bytes.
    Octets,
    /// `packetDeltaCount` (2): the original direction's packets.
    Packets,
    /// Reverse `octetDeltaCount` (1, enterprise [`REVERSE_PEN`]): the reply direction's bytes.
    ReverseOctets,
    /// Reverse `packetDeltaCount` (2, enterprise [`REVERSE_PEN`]): the reply direction's packets.
    ReversePackets,
    /// `postNATSourceIPv4Address` (225).
    PostNatSourceIpv4,
    /// `postNATDestinationIPv4Address` (226).
    PostNatDestinationIpv4,
    /// `postNATSourceIPv6Address` (281).
    PostNatSourceIpv6,
    /// `postNATDestinationIPv6Address` (282).
    PostNatDestinationIpv6,
    /// `postNAPTSourceTransportPort` (227).
    PostNaptSourcePort,
    /// `postNAPTDestinationTransportPort` (228).
    PostNaptDestinationPort,
    /// The connection's `ct mark`, as an enterprise-specific element the config names
    /// (IANA has none for it).
    Mark {
        /// The Private Enterprise Number.
        enterprise: u32,
        /// The element's id within it (below 32768).
        id: u16,
    },
}

impl Element {
    /// The element's id (without the enterprise bit), its enterprise number (for
    /// enterprise-specific elements) and its length on the wire.
    pub fn spec(self) -> (u16, Option<u32>, u16) {
        use Element::*;
        match self {
            FlowId => (148, None, 8),
            SourceIpv4 => (8, None, 4),
            DestinationIpv4 => (12, None, 4),
            SourceIpv6 => (27, None, 16),
            DestinationIpv6 => (28, None, 16),
            SourcePort => (7, None, 2),
            DestinationPort => (11, None, 2),
            Protocol => (4, None, 1),
            IcmpTypeCodeIpv4 => (32, None, 2),
            IcmpTypeCodeIpv6 => (139, None, 2),
            FlowEndReason => (136, None, 1),
            FlowStart => (152, None, 8),
            FlowEnd => (153, None, 8),
            Octets => (1, None, 8),
            Packets => (2, None, 8),
            ReverseOctets => (1, Some(REVERSE_PEN), 8),
            ReversePackets => (2, Some(REVERSE_PEN), 8),
            PostNatSourceIpv4 => (225, None, 4),
            PostNatDestinationIpv4 => (226, None, 4),
            PostNatSourceIpv6 => (281, None, 16),
            PostNatDestinationIpv6 => (282, None, 16),
            PostNaptSourcePort => (227, None, 2),
            PostNaptDestinationPort => (228, None, 2),
            Mark { enterprise, id } => (id, Some(enterprise), 4),
        }
    }

    /// The element's length on the wire.
    pub fn wire_len(self) -> u16 {
        self.spec().2
    }
}

/// `flowEndReason` values (RFC 5102, section 5.11.3).
pub mod end_reason {
    /// The connection timed out idle.
    pub const IDLE_TIMEOUT: u8 = 1;
    /// A periodic record of a connection still alive (the active timeout).
    pub const ACTIVE_TIMEOUT: u8 = 2;
    /// Its end was seen (TCP FIN or RST, SCTP shutdown).
    pub const END_DETECTED: u8 = 3;
    /// The exporter stopped while the connection was alive.
    pub const FORCED_END: u8 = 4;
}
