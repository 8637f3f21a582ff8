//! A helper's payload edits applied to a packet (Linux's `nf_nat_mangle_tcp_packet` and
//! `nf_nat_mangle_udp_packet`): the datagram is built again with the edited payload,
//! and its IP length, IPv4 header checksum, UDP length and transport checksum set to
//! match.

use brickwall_helpers::Edit;
use brickwall_wire::checksum::{checksum, fill_transport};
use brickwall_wire::ip_proto;

/// The largest IP datagram.
const MAX_DATAGRAM: usize = 65_535;

/// Why edits were refused (the packet is then dropped, as Linux drops a packet it
/// could not mangle).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MangleError {
    /// An edit reaches past the payload, or edits overlap or are out of order.
    BadEdit,
    /// The datagram would exceed 65 535 bytes.
    TooLong,
    /// Not a whole TCP or UDP datagram this can rebuild (a fragment, IPv6 extension
    /// headers, a truncated header).
    Unsupported,
}

/// The datagram `d` (from its IP header) with `edits` applied to its payload, which
/// starts at `payload_off`; and the change in length.
pub fn apply(d: &[u8], payload_off: usize, edits: &[Edit]) -> Result<(Vec<u8>, i32), MangleError> {
    let v4 = match d.first().map(|b| b >> 4) {
        Some(4) => true,
        Some(6) => false,
        _ => return Err(MangleError::Unsupported),
    };
    let (l4_off, proto) = if v4 {
        let ihl = usize::from(d[0] & 0xf) * 4;
        let frag = d
            .get(6..8)
            .map(|b| u16::from_be_bytes([b[0], b[1]]) & 0x3fff);
        if ihl < 20 || d.len() < ihl || frag != Some(0) {
            return Err(MangleError::Unsupported);
        }
        (ihl, d[9])
    } else {
        if d.len() < 40 {
            return Err(MangleError::Unsupported);
        }
        (40, d[6])
    };
    let min_l4 = match proto {
        ip_proto::TCP => 20,
        ip_proto::UDP => 8,
        _ => return Err(MangleError::Unsupported),
    };
    if payload_off < l4_off + min_l4 || payload_off > d.len() {
        return Err(MangleError::Unsupported);
    }
    let payload = &d[payload_off..];
    let mut out = Vec::with_capacity(d.len() + edits.iter().map(|e| e.data.len()).sum::<usize>());
    out.extend_from_slice(&d[..payload_off]);
    let mut at = 0usize;
    for e in edits {
        let start = e.offset as usize;
        let end = start
            .checked_add(e.length as usize)
            .ok_or(MangleError::BadEdit)?;
        if start < at || end > payload.len() {
            return Err(MangleError::BadEdit);
        }
        out.extend_from_slice(&payload[at..start]);
        out.extend_from_slice(&e.data);
        at = end;
    }
    out.extend_from_slice(&payload[at..]);
    if out.len() > MAX_DATAGRAM {
        return Err(MangleError::TooLong);
    }
    let len = out.len();
    if v4 {
        out[2..4].copy_from_slice(&(len as u16).to_be_bytes());
        out[10..12].copy_from_slice(&[0, 0]);
        let c = checksum(&out[..l4_off]);
        out[10..12].copy_from_slice(&c.to_be_bytes());
    } else {
        out[4..6].copy_from_slice(&((len - 40) as u16).to_be_bytes());
    }
    if proto == ip_proto::UDP {
        let l4_len = (len - l4_off) as u16;
        out[l4_off + 4..l4_off + 6].copy_from_slice(&l4_len.to_be_bytes());
    }
    // An IPv4 UDP datagram sent without a checksum stays without one.
    let no_sum = v4 && proto == ip_proto::UDP && out[l4_off + 6..l4_off + 8] == [0, 0];
    if !no_sum && !fill_transport(&mut out) {
        return Err(MangleError::Unsupported);
    }
    Ok((out, len as i32 - d.len() as i32))
}

#[cfg(test)]
mod tests {
    use super::*;
    use brickwall_wire::checksum::{finish, pseudo_v4, pseudo_v6, sum};

    fn tcp4(payload: &[u8]) -> Vec<u8> {
        let b = etherparse::PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
            .tcp(40000, 21, 7, 1000)
            .ack(9);
        let mut out = Vec::new();
        b.write(&mut out, payload).unwrap();
        out
    }

    fn edit(offset: u32, length: u32, data: &[u8]) -> Edit {
        Edit {
            offset,
            length,
            data: data.to_vec(),
        }
    }

    fn tcp_ok(d: &[u8]) -> bool {
        let l4 = &d[20..];
        let p = pseudo_v4([10, 0, 0, 1], [10, 0, 0, 2], 6, l4.len() as u16);
        finish(sum(p, l4)) == 0 && checksum(&d[..20]) == 0
    }

    #[test]
    fn edits_grow_and_shrink_the_payload_with_lengths_and_checksums_fixed() {
        let d = tcp4(b"PORT 10,0,0,1,4,1\r\n");
        let (out, delta) = apply(&d, 40, &[edit(5, 8, b"192,0,2,100")]).unwrap();
        assert_eq!(delta, 3);
        assert_eq!(&out[40..], b"PORT 192,0,2,100,4,1\r\n");
        assert_eq!(usize::from(u16::from_be_bytes([out[2], out[3]])), out.len());
        assert!(tcp_ok(&out));
        let (out, delta) = apply(&d, 40, &[edit(0, 5, b""), edit(14, 3, b"9,9")]).unwrap();
        assert_eq!(delta, -5);
        assert_eq!(&out[40..], b"10,0,0,1,9,9\r\n");
        assert!(tcp_ok(&out));
    }

    #[test]
    fn udp_lengths_and_ipv6_are_fixed_too() {
        let b = etherparse::PacketBuilder::ipv6([0xfd; 16], [0xfe; 16], 64).udp(5000, 69);
        let mut d = Vec::new();
        b.write(&mut d, b"abc").unwrap();
        let (out, delta) = apply(&d, 48, &[edit(1, 1, b"BBBB")]).unwrap();
        assert_eq!(delta, 3);
        assert_eq!(&out[48..], b"aBBBBc");
        assert_eq!(u16::from_be_bytes([out[4], out[5]]), 14);
        assert_eq!(u16::from_be_bytes([out[44], out[45]]), 14);
        let p = pseudo_v6(&[0xfd; 16], &[0xfe; 16], 17, 14);
        assert_eq!(finish(sum(p, &out[40..])), 0);
    }

    #[test]
    fn bad_edits_are_refused_and_never_read_past_the_payload() {
        let d = tcp4(b"hello");
        assert_eq!(
            apply(&d, 40, &[edit(4, 2, b"x")]),
            Err(MangleError::BadEdit)
        );
        assert_eq!(
            apply(&d, 40, &[edit(2, 1, b"x"), edit(1, 1, b"y")]),
            Err(MangleError::BadEdit)
        );
        assert_eq!(
            apply(&d, 40, &[edit(u32::MAX, u32::MAX, b"")]),
            Err(MangleError::BadEdit)
        );
        assert_eq!(
            apply(&d, 40, &[edit(0, 0, &vec![0; 70_000])]),
            Err(MangleError::TooLong)
        );
        assert_eq!(apply(&d[..10], 40, &[]), Err(MangleError::Unsupported));
        assert_eq!(apply(&d, 10, &[]), Err(MangleError::Unsupported));
    }
}
