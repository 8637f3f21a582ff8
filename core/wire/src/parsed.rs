//! The result of parsing: [`Parsed`] offsets, the [`L4`] summary and [`FragInfo`].

use crate::Family;

/// Where the headers of a frame are, and what they say.
///
/// All offsets are from the start of the frame (or datagram) that was parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Parsed {
    /// Offset of the IP header.
    pub l3_off: u16,
    /// IP total length (IPv4 total length, or 40 + IPv6 payload length), clipped to the
    /// bytes the frame holds.
    pub l3_len: u32,
    /// IPv4 or IPv6.
    pub family: Family,
    /// The L4 protocol number: for IPv6 the next header after the extension headers
    /// (after the fragment header in a fragment).
    pub l4proto: u8,
    /// Offset of the L4 header; valid unless `flags` has `L4_MALFORMED` or
    /// `LATER_FRAGMENT`. In a later fragment it is where the fragment data starts; when
    /// malformed, where the L4 header would start.
    pub l4_off: u16,
    /// Offset of the L4 payload (same validity as `l4_off`; equal to it for protocols
    /// whose header is not parsed; the end of the datagram when malformed).
    pub payload_off: u16,
    /// Bits of [`crate::flags`]: `FRAGMENT`, `LATER_FRAGMENT`, `L4_MALFORMED`.
    pub flags: u16,
    /// The outermost VLAN id, if the frame is tagged.
    pub vlan: Option<u16>,
    /// Summary of the transport header.
    pub l4: L4,
    /// Fragment header fields, if the packet is a fragment (IPv6: any fragment header).
    pub frag: Option<FragInfo>,
}

impl Parsed {
    /// True if the given [`crate::flags`] bit is set.
    pub fn has(&self, flag: u16) -> bool {
        self.flags & flag != 0
    }
}

/// Summary of the transport header: the fields conntrack and the helpers need.
///
/// When the header is incomplete the variant is [`L4::None`] and `L4_MALFORMED` is set,
/// except for TCP and SCTP headers cut after at least their first 8 bytes (as in the
/// datagram an ICMP error quotes): then the variant gives what those bytes hold (TCP:
/// ports and sequence number, with `ack`, `flags` and `window` 0; SCTP: ports and
/// verification tag) and `L4_MALFORMED` is set as well. (A UDP header is 8 bytes.)
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum L4 {
    /// TCP header.
    Tcp {
        /// Source port.
        sport: u16,
        /// Destination port.
        dport: u16,
        /// Sequence number.
        seq: u32,
        /// Acknowledgment number.
        ack: u32,
        /// Flags: FIN=1, SYN=2, RST=4, PSH=8, ACK=16, URG=32, ECE=64, CWR=128.
        flags: u8,
        /// Window (unscaled).
        window: u16,
    },
    /// UDP header (also UDP-Lite, which has the same ports; `l4proto` tells them apart).
    Udp {
        /// Source port.
        sport: u16,
        /// Destination port.
        dport: u16,
    },
    /// ICMP (IPv4) header.
    Icmp {
        /// Type.
        icmp_type: u8,
        /// Code.
        code: u8,
    },
    /// ICMPv6 header.
    Icmpv6 {
        /// Type.
        icmp_type: u8,
        /// Code.
        code: u8,
    },
    /// GRE header.
    Gre {
        /// 0 (RFC 2784/2890) or 1 (enhanced GRE, RFC 2637, as PPTP uses).
        version: u8,
        /// Version 0: the key if present. Version 1: the call id (the low 16 bits of
        /// the key field; the high 16 bits are the payload length).
        key: Option<u32>,
        /// Protocol type of the payload (an ethertype; 0x880b for PPP).
        proto: u16,
    },
    /// SCTP common header.
    Sctp {
        /// Source port.
        sport: u16,
        /// Destination port.
        dport: u16,
        /// Verification tag.
        vtag: u32,
    },
    /// Any other protocol, by number; its header is not parsed.
    Other(u8),
    /// No transport header: a later fragment, or a malformed header.
    None,
}

/// Fragmentation fields of a fragment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FragInfo {
    /// Identification (16 bits in IPv4, 32 in IPv6).
    pub id: u32,
    /// Offset of this fragment's data in the original datagram, in bytes.
    pub offset: u32,
    /// More fragments follow.
    pub more_fragments: bool,
}
