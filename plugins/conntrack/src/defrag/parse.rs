//! Reading a datagram handed to the reassembler: the IPv4 header, or the IPv6
//! extension-header chain up to the fragment header (as Linux's
//! `find_prev_fhdr` walks it), into a [`Fragment`] that names its queue.
//!
//! Nothing here panics: every index is checked against the bytes present and
//! against the length the header claims.

use super::reason;
use brickwall_wire::ip_proto as nh;
use brickwall_wire::{ipv6_ext_len, Ipv4Header, Ipv6Header};

/// Which queue a fragment belongs to (Linux's `frag_v4_compare_key` /
/// `frag_v6_compare_key`, with the conntrack zone in place of Linux's
/// `user`, which is `IP_DEFRAG_CONNTRACK_IN + zone`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum Key {
    /// IPv4: addresses, identification, protocol, zone.
    V4 {
        src: [u8; 4],
        dst: [u8; 4],
        id: u16,
        proto: u8,
        zone: u16,
    },
    /// IPv6: addresses, identification, zone and input interface
    /// (`nf_ct_frag6_gather` always keys by `skb->dev->ifindex`).
    V6 {
        src: [u8; 16],
        dst: [u8; 16],
        id: u32,
        zone: u16,
        if_index: u32,
    },
}

/// One fragment, located.
#[derive(Debug)]
pub(super) struct Fragment<'a> {
    /// The queue it belongs to.
    pub key: Key,
    /// IPv4 (else IPv6).
    pub v4: bool,
    /// Where its data starts in the fragmentable part, bytes.
    pub offset: usize,
    /// Where its data ends (`offset + data.len()`).
    pub end: usize,
    /// More fragments follow (MF / M).
    pub more: bool,
    /// The data it carries.
    pub data: &'a [u8],
    /// IPv4: its header (options included). IPv6: the unfragmentable part,
    /// the fixed header and the extension headers before the fragment header.
    pub head: &'a [u8],
    /// IPv6: where in `head` the next-header byte naming the fragment header is.
    pub nh_off: usize,
    /// IPv6: the fragment header's next header.
    pub next_header: u8,
    /// `1 << ECN codepoint` (Linux's `ip4_frag_ecn` / `ip6_frag_ecn`).
    pub ecn: u8,
    /// IPv4: DF is set.
    pub df: bool,
    /// IPv4: header plus data length (Linux's `fragsize`).
    pub size: usize,
}

/// What the parser made of a datagram.
#[derive(Debug)]
pub(super) enum Parsed<'a> {
    /// Not a fragment, or not recognisable as one.
    NotFragment,
    /// A fragment too broken to queue.
    Invalid(&'static str),
    /// A fragment to queue.
    Fragment(Fragment<'a>),
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

/// Locates the fragment in `d` (IPv4 or IPv6 by the version nibble).
pub(super) fn parse(d: &[u8], zone: u16, if_index: u32) -> Parsed<'_> {
    match d.first().map(|b| b >> 4) {
        Some(4) => parse_v4(d, zone),
        Some(6) => parse_v6(d, zone, if_index),
        _ => Parsed::NotFragment,
    }
}

/// IPv4: a fragment when MF is set or the offset is not 0 (`ip_is_fragment`).
fn parse_v4(d: &[u8], zone: u16) -> Parsed<'_> {
    let Some(h) = Ipv4Header::new(d) else {
        return Parsed::NotFragment;
    };
    if !h.is_fragment() {
        return Parsed::NotFragment;
    }
    let ihl = h.header_len();
    if ihl < Ipv4Header::MIN_LEN {
        return Parsed::Invalid(reason::BAD_HEADER);
    }
    let total = usize::from(h.total_len());
    let (Some(head), Some(data)) = (d.get(..ihl), d.get(ihl..total)) else {
        return Parsed::Invalid(reason::TRUNCATED);
    };
    let offset = h.frag_offset() as usize;
    Parsed::Fragment(Fragment {
        key: Key::V4 {
            src: h.src(),
            dst: h.dst(),
            id: h.ident(),
            proto: h.protocol(),
            zone,
        },
        v4: true,
        offset,
        end: offset + data.len(),
        more: h.more_frags(),
        data,
        head,
        nh_off: 0,
        next_header: 0,
        ecn: 1 << (h.tos() & 3),
        df: h.dont_frag(),
        size: total,
    })
}

/// IPv6: walks hop-by-hop (0), routing (43), destination options (60) and
/// AH (51) headers to the fragment header (44), as Linux's `find_prev_fhdr`;
/// anything else (ESP 50, no-next-header 59, an upper layer) ends the walk
/// and the datagram is not a fragment. A payload length of 0 (jumbogram) is
/// not a fragment either.
fn parse_v6(d: &[u8], zone: u16, if_index: u32) -> Parsed<'_> {
    let Some(h) = Ipv6Header::new(d) else {
        return Parsed::NotFragment;
    };
    let payload_len = usize::from(h.payload_len());
    if payload_len == 0 {
        return Parsed::NotFragment;
    }
    let claimed = 40 + payload_len;
    let truncated = claimed > d.len();
    let buf = &d[..claimed.min(d.len())];

    let mut next = h.next_header();
    let mut nh_off = 6;
    let mut start = 40;
    while next != nh::FRAGMENT {
        if !matches!(next, nh::HOPOPTS | nh::ROUTING | nh::DSTOPTS | nh::AH) {
            return Parsed::NotFragment;
        }
        if start + 2 > buf.len() {
            return Parsed::NotFragment;
        }
        let len = ipv6_ext_len(next, buf[start + 1]);
        nh_off = start;
        next = buf[start];
        start += len;
    }
    if start > buf.len() {
        return Parsed::NotFragment;
    }
    if truncated || start + 8 > buf.len() {
        return Parsed::Invalid(reason::TRUNCATED);
    }
    let fh = &buf[start..start + 8];
    let frag_off = be16(fh, 2);
    let offset = usize::from(frag_off & !7);
    let more = frag_off & 1 != 0;
    let data = &buf[start + 8..];
    if offset == 0 && first_fragment_truncated(fh[0], data) {
        return Parsed::Invalid(reason::TRUNCATED);
    }
    Parsed::Fragment(Fragment {
        key: Key::V6 {
            src: h.src(),
            dst: h.dst(),
            id: u32::from_be_bytes([fh[4], fh[5], fh[6], fh[7]]),
            zone,
            if_index,
        },
        v4: false,
        offset,
        end: offset + data.len(),
        more,
        data,
        head: &buf[..start],
        nh_off,
        next_header: fh[0],
        ecn: 1 << (h.traffic_class() & 3),
        df: false,
        size: payload_len,
    })
}

/// RFC 8200 section 4.5 (Linux's `ipv6frag_thdr_truncated`): the first
/// fragment must hold every header through the upper-layer header (TCP 20
/// bytes, UDP 8, ICMPv6 8; other protocols only need their start). `data`
/// starts right after the fragment header, with `next` naming it. Unlike
/// Linux, an extension-header chain cut short also counts as truncated.
fn first_fragment_truncated(mut next: u8, data: &[u8]) -> bool {
    let mut pos = 0usize;
    loop {
        match next {
            nh::HOPOPTS | nh::ROUTING | nh::DSTOPTS | nh::AH => {
                if pos + 2 > data.len() {
                    return true;
                }
                let len = ipv6_ext_len(next, data[pos + 1]);
                next = data[pos];
                pos += len;
            }
            nh::FRAGMENT => {
                if pos + 8 > data.len() {
                    return true;
                }
                if be16(data, pos + 2) & !7 != 0 {
                    // A later piece of another fragmentation: nothing more to check.
                    return false;
                }
                next = data[pos];
                pos += 8;
            }
            nh::NONE => return pos > data.len(),
            nh::TCP => return pos + 20 > data.len(),
            nh::UDP | nh::ICMPV6 => return pos + 8 > data.len(),
            _ => return pos > data.len(),
        }
    }
}
