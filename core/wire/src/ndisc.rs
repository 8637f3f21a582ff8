//! IPv6 Neighbour Discovery (RFC 4861), as far as address resolution needs it:
//! [`NdMessage`], a view of a Neighbour Solicitation or Advertisement, the
//! solicited-node multicast group and MAC an address is resolved through, and
//! builders of both messages as whole IPv6 datagrams.

use crate::bytes::array;
use crate::icmp::icmp6_datagram;
use alloc::vec::Vec;

/// ICMPv6 type of a Neighbour Solicitation.
pub const NEIGHBOUR_SOLICITATION: u8 = 135;
/// ICMPv6 type of a Neighbour Advertisement.
pub const NEIGHBOUR_ADVERTISEMENT: u8 = 136;
/// Option type of the Source Link-Layer Address (in a solicitation).
pub const OPT_SOURCE_LINK_ADDR: u8 = 1;
/// Option type of the Target Link-Layer Address (in an advertisement).
pub const OPT_TARGET_LINK_ADDR: u8 = 2;
/// Hop limit of every Neighbour Discovery message (receivers drop any other).
pub const HOP_LIMIT: u8 = 255;

/// Advertisement flag: the sender is a router.
const FLAG_ROUTER: u8 = 0x80;
/// Advertisement flag: the advertisement answers a solicitation.
const FLAG_SOLICITED: u8 = 0x40;
/// Advertisement flag: the receiver should replace a cached link-layer address.
const FLAG_OVERRIDE: u8 = 0x20;
/// Length of an option holding an Ethernet address (1 unit of 8 bytes).
const LINK_ADDR_OPT_LEN: usize = 8;

/// A view of a Neighbour Solicitation or Advertisement, from its ICMPv6 header on.
///
/// [`NdMessage::new`] checks the type, the code and the fixed length; the options are
/// walked on demand, and no accessor panics.
#[derive(Clone, Copy, Debug)]
pub struct NdMessage<'a> {
    /// The ICMPv6 message (at least [`NdMessage::MIN_LEN`] bytes).
    b: &'a [u8],
}

impl<'a> NdMessage<'a> {
    /// Length of either message without options.
    pub const MIN_LEN: usize = 24;

    /// The message in `icmp`, if it is a solicitation or an advertisement with code 0
    /// and its fixed part is there.
    pub fn new(icmp: &'a [u8]) -> Option<NdMessage<'a>> {
        let kind = *icmp.first()?;
        let ok = matches!(kind, NEIGHBOUR_SOLICITATION | NEIGHBOUR_ADVERTISEMENT)
            && icmp.get(1) == Some(&0)
            && icmp.len() >= Self::MIN_LEN;
        ok.then_some(NdMessage { b: icmp })
    }

    /// The bytes the view was made from.
    #[inline]
    pub fn bytes(&self) -> &'a [u8] {
        self.b
    }

    /// True for a solicitation, false for an advertisement.
    #[inline]
    pub fn is_solicitation(&self) -> bool {
        self.b.first() == Some(&NEIGHBOUR_SOLICITATION)
    }

    /// The target address: the one being resolved, or the one advertised.
    #[inline]
    pub fn target(&self) -> [u8; 16] {
        array(self.b, 8).unwrap_or_default()
    }

    /// An advertisement flag (false in a solicitation).
    #[inline]
    fn flag(&self, bit: u8) -> bool {
        !self.is_solicitation() && self.b.get(4).is_some_and(|f| f & bit != 0)
    }

    /// The router flag of an advertisement.
    #[inline]
    pub fn router(&self) -> bool {
        self.flag(FLAG_ROUTER)
    }

    /// The solicited flag of an advertisement.
    #[inline]
    pub fn solicited(&self) -> bool {
        self.flag(FLAG_SOLICITED)
    }

    /// The override flag of an advertisement.
    #[inline]
    pub fn override_flag(&self) -> bool {
        self.flag(FLAG_OVERRIDE)
    }

    /// The Ethernet address the message carries: the Source Link-Layer Address option
    /// of a solicitation, the Target Link-Layer Address option of an advertisement.
    ///
    /// The walk over the options ends at an option of length 0 or one cut short.
    pub fn link_addr(&self) -> Option<[u8; 6]> {
        let want = if self.is_solicitation() {
            OPT_SOURCE_LINK_ADDR
        } else {
            OPT_TARGET_LINK_ADDR
        };
        let mut rest = self.b.get(Self::MIN_LEN..).unwrap_or_default();
        while let [kind, units, ..] = *rest {
            let len = usize::from(units) * 8;
            let opt = rest.get(..len).filter(|_| len > 0)?;
            if kind == want {
                return array(opt, 2);
            }
            rest = rest.get(len..).unwrap_or_default();
        }
        None
    }
}

/// The solicited-node multicast address of `addr` (`ff02::1:ffXX:XXXX`, the low 24
/// bits of `addr`), where a solicitation for `addr` is sent.
pub fn solicited_node(addr: &[u8; 16]) -> [u8; 16] {
    let mut g = [0u8; 16];
    g[..2].copy_from_slice(&[0xff, 0x02]);
    g[11..13].copy_from_slice(&[0x01, 0xff]);
    g[13..].copy_from_slice(&addr[13..]);
    g
}

/// The Ethernet address IPv6 multicast `addr` is sent to (`33:33` and the low 32
/// bits, RFC 2464).
pub fn multicast_mac(addr: &[u8; 16]) -> [u8; 6] {
    [0x33, 0x33, addr[12], addr[13], addr[14], addr[15]]
}

/// A Neighbour Solicitation for `target` from `src` to `dst` (usually
/// [`solicited_node`] of `target`), as an IPv6 datagram.
///
/// `src_mac` goes in a Source Link-Layer Address option; RFC 4861 forbids it when
/// `src` is the unspecified address (duplicate address detection), so there it is
/// left out whatever `src_mac` says.
pub fn neighbour_solicitation(
    src: &[u8; 16],
    dst: &[u8; 16],
    target: &[u8; 16],
    src_mac: Option<[u8; 6]>,
) -> Vec<u8> {
    let mut msg = Vec::with_capacity(NdMessage::MIN_LEN + LINK_ADDR_OPT_LEN);
    msg.extend_from_slice(&[NEIGHBOUR_SOLICITATION, 0, 0, 0, 0, 0, 0, 0]);
    msg.extend_from_slice(target);
    if let Some(mac) = src_mac.filter(|_| *src != [0; 16]) {
        push_link_addr(&mut msg, OPT_SOURCE_LINK_ADDR, mac);
    }
    icmp6_datagram(src, dst, HOP_LIMIT, &msg)
}

/// A Neighbour Advertisement of `target` at `mac` (in a Target Link-Layer Address
/// option) from `src` to `dst`, with the given flags, as an IPv6 datagram.
pub fn neighbour_advertisement(
    src: &[u8; 16],
    dst: &[u8; 16],
    target: &[u8; 16],
    mac: [u8; 6],
    router: bool,
    solicited: bool,
    override_flag: bool,
) -> Vec<u8> {
    let bit = |on: bool, b: u8| if on { b } else { 0 };
    let flags = bit(router, FLAG_ROUTER)
        | bit(solicited, FLAG_SOLICITED)
        | bit(override_flag, FLAG_OVERRIDE);
    let mut msg = Vec::with_capacity(NdMessage::MIN_LEN + LINK_ADDR_OPT_LEN);
    msg.extend_from_slice(&[NEIGHBOUR_ADVERTISEMENT, 0, 0, 0, flags, 0, 0, 0]);
    msg.extend_from_slice(target);
    push_link_addr(&mut msg, OPT_TARGET_LINK_ADDR, mac);
    icmp6_datagram(src, dst, HOP_LIMIT, &msg)
}

/// Appends a link-layer address option of `kind` holding `mac`.
fn push_link_addr(msg: &mut Vec<u8>, kind: u8, mac: [u8; 6]) {
    msg.extend_from_slice(&[kind, (LINK_ADDR_OPT_LEN / 8) as u8]);
    msg.extend_from_slice(&mac);
}
