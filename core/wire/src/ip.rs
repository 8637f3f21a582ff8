//! IPv4 and IPv6 headers: lengths, fragments, then hand-off to the transport parser.

use crate::bytes::off16;
use crate::ipv6_ext::{self, ExtChain};
use crate::transport::{self, L4Parse};
use crate::{flags, Family, FragInfo, Ipv4Header, Ipv6Header, ParseError, Parsed, L4};
use alloc::format;
use alloc::string::String;

/// The IP version the link layer announced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Expect {
    /// IPv4 (ethertype 0x0800, DLT 228, loopback AF_INET).
    V4,
    /// IPv6.
    V6,
    /// Either: the version nibble decides (raw IP, bare datagrams).
    Any,
}

/// Parses the IP header at `l3_off` of `frame` and what follows it.
pub(crate) fn parse_ip(frame: &[u8], l3_off: usize, expect: Expect) -> Result<Parsed, ParseError> {
    let data = frame.get(l3_off..).unwrap_or_default();
    let Some(&first) = data.first() else {
        let (layer, need) = match expect {
            Expect::V4 => ("ipv4", Ipv4Header::MIN_LEN),
            Expect::V6 => ("ipv6", Ipv6Header::LEN),
            Expect::Any => ("ip", 1),
        };
        return Err(ParseError::Truncated {
            layer,
            need,
            have: 0,
        });
    };
    let version = first >> 4;
    match (expect, version) {
        (Expect::V4 | Expect::Any, 4) => ipv4(frame, l3_off),
        (Expect::V6 | Expect::Any, 6) => ipv6(frame, l3_off),
        (Expect::Any, v) => Err(ParseError::BadIpVersion(v)),
        (Expect::V4, v) => Err(bad(Family::Ipv4, format!("version {v} in an IPv4 frame"))),
        (Expect::V6, v) => Err(bad(Family::Ipv6, format!("version {v} in an IPv6 frame"))),
    }
}

/// A [`ParseError::BadIpHeader`].
fn bad(family: Family, detail: String) -> ParseError {
    ParseError::BadIpHeader { family, detail }
}

/// IPv4 header (with options) at `l3_off`; the caller saw version 4.
fn ipv4(frame: &[u8], l3_off: usize) -> Result<Parsed, ParseError> {
    let data = frame.get(l3_off..).unwrap_or_default();
    let truncated = |need: usize| ParseError::Truncated {
        layer: "ipv4",
        need,
        have: data.len(),
    };
    let hdr = Ipv4Header::new(data).ok_or_else(|| truncated(Ipv4Header::MIN_LEN))?;
    let hlen = hdr.header_len();
    if hlen < Ipv4Header::MIN_LEN {
        return Err(bad(Family::Ipv4, format!("header length {hlen} < 20")));
    }
    if data.len() < hlen {
        return Err(truncated(hlen));
    }
    let total = usize::from(hdr.total_len());
    if total < hlen {
        return Err(bad(
            Family::Ipv4,
            format!("total length {total} < header length {hlen}"),
        ));
    }
    let l3_len = total.min(data.len());

    let mut fl = 0;
    let mut frag = None;
    if hdr.is_fragment() {
        fl |= flags::FRAGMENT;
        frag = Some(FragInfo {
            id: u32::from(hdr.ident()),
            offset: hdr.frag_offset(),
            more_fragments: hdr.more_frags(),
        });
    }
    Ok(finish(
        frame,
        Header {
            l3_off,
            l3_len,
            family: Family::Ipv4,
            l4proto: hdr.protocol(),
            l4_start: l3_off + hlen,
            l3_end: l3_off + l3_len,
            flags: fl,
            frag,
        },
    ))
}

/// IPv6 header and extension headers at `l3_off`; the caller saw version 6.
fn ipv6(frame: &[u8], l3_off: usize) -> Result<Parsed, ParseError> {
    let data = frame.get(l3_off..).unwrap_or_default();
    let hdr = Ipv6Header::new(data).ok_or(ParseError::Truncated {
        layer: "ipv6",
        need: Ipv6Header::LEN,
        have: data.len(),
    })?;
    let l3_len = (Ipv6Header::LEN + usize::from(hdr.payload_len())).min(data.len());
    let l3_end = l3_off + l3_len;
    let body = frame
        .get(l3_off + Ipv6Header::LEN..l3_end)
        .unwrap_or_default();
    let ExtChain { proto, len, frag } = ipv6_ext::walk(hdr.next_header(), body)?;

    let fl = if frag.is_some() { flags::FRAGMENT } else { 0 };
    Ok(finish(
        frame,
        Header {
            l3_off,
            l3_len,
            family: Family::Ipv6,
            l4proto: proto,
            l4_start: l3_off + Ipv6Header::LEN + len,
            l3_end,
            flags: fl,
            frag,
        },
    ))
}

/// What the IP layer found, before the transport header is parsed.
struct Header {
    /// Offset of the IP header.
    l3_off: usize,
    /// Datagram length, clipped to the frame.
    l3_len: usize,
    /// IPv4 or IPv6.
    family: Family,
    /// Transport protocol.
    l4proto: u8,
    /// Where the transport header (or fragment data) starts.
    l4_start: usize,
    /// Where the datagram ends.
    l3_end: usize,
    /// `FRAGMENT` if a fragment.
    flags: u16,
    /// Fragment fields.
    frag: Option<FragInfo>,
}

/// Parses the transport header (unless this is a later fragment) and builds the result.
fn finish(frame: &[u8], h: Header) -> Parsed {
    let mut fl = h.flags;
    if h.frag.is_some_and(|f| f.offset != 0) {
        fl |= flags::LATER_FRAGMENT;
    }
    let (l4, payload_start) = if fl & flags::LATER_FRAGMENT != 0 {
        (L4::None, h.l4_start)
    } else {
        let seg = frame.get(h.l4_start..h.l3_end).unwrap_or_default();
        let L4Parse {
            l4,
            hdr_len,
            malformed,
        } = transport::parse(h.family, h.l4proto, seg);
        if malformed {
            fl |= flags::L4_MALFORMED;
        }
        (l4, h.l4_start + hdr_len)
    };
    Parsed {
        l3_off: off16(h.l3_off),
        l3_len: u32::try_from(h.l3_len).unwrap_or(u32::MAX),
        family: h.family,
        l4proto: h.l4proto,
        l4_off: off16(h.l4_start),
        payload_off: off16(payload_start),
        flags: fl,
        vlan: None,
        l4,
        frag: h.frag,
    }
}
