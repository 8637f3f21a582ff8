//! IPv4 fragmentation on the way out (RFC 791, as Linux's `ip_fragment`): a datagram
//! larger than the output MTU, and allowed to be fragmented, is cut into fragments
//! whose data sizes are multiples of 8 but for the last; the first keeps every option,
//! the others only those whose "copied" bit is set.

use crate::checksum;
use alloc::vec::Vec;

/// The options of a header (`opts`, the bytes after the fixed 20) that go into every
/// fragment but the first, padded to a multiple of 4.
fn copied_options(opts: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&kind) = opts.get(i) {
        match kind {
            0 => break,
            1 => i += 1,
            _ => {
                let Some(&len) = opts.get(i + 1) else { break };
                let len = usize::from(len);
                let Some(opt) = opts.get(i..i + len).filter(|_| len >= 2) else {
                    break;
                };
                if kind & 0x80 != 0 {
                    out.extend_from_slice(opt);
                }
                i += len;
            }
        }
    }
    while out.len() % 4 != 0 {
        out.push(0);
    }
    out
}

/// The fragments of IPv4 `datagram` for a link of `mtu` bytes, each a whole datagram
/// with its header checksum set; the datagram itself (one piece) when it fits. `None`
/// when it may not or cannot be fragmented: DF set, not IPv4, a header or total length
/// that does not fit the bytes, or an MTU too small for a header and 8 bytes of data.
/// A datagram that is already a fragment is cut further, its offsets kept and its last
/// piece keeping its MF bit.
pub fn fragment_v4(datagram: &[u8], mtu: usize) -> Option<Vec<Vec<u8>>> {
    let ihl = usize::from(*datagram.first()? & 0x0f) * 4;
    if datagram[0] >> 4 != 4 || ihl < 20 {
        return None;
    }
    let total = usize::from(u16::from_be_bytes([*datagram.get(2)?, *datagram.get(3)?]));
    if total < ihl || total > datagram.len() {
        return None;
    }
    let datagram = &datagram[..total];
    if total <= mtu {
        return Some(alloc::vec![datagram.to_vec()]);
    }
    let flags_off = u16::from_be_bytes([datagram[6], datagram[7]]);
    if flags_off & 0x4000 != 0 {
        return None;
    }
    let more_after = flags_off & 0x2000 != 0;
    let base_off = usize::from(flags_off & 0x1fff) * 8;
    let header = &datagram[..ihl];
    let later_opts = copied_options(&header[20..]);
    let data = &datagram[ihl..];
    let mut out = Vec::new();
    let mut at = 0;
    while at < data.len() {
        let hl = if at == 0 { ihl } else { 20 + later_opts.len() };
        let room = mtu.checked_sub(hl)? & !7;
        if room == 0 {
            return None;
        }
        let n = room.min(data.len() - at);
        let last = at + n == data.len();
        let mut f = Vec::with_capacity(hl + n);
        if at == 0 {
            f.extend_from_slice(header);
        } else {
            f.extend_from_slice(&header[..20]);
            f.extend_from_slice(&later_opts);
            f[0] = 0x40 | (hl / 4) as u8;
        }
        f.extend_from_slice(&data[at..at + n]);
        let len = f.len() as u16;
        f[2..4].copy_from_slice(&len.to_be_bytes());
        let off = ((base_off + at) / 8) as u16;
        let mf = if last && !more_after { 0 } else { 0x2000 };
        f[6..8].copy_from_slice(&(mf | off).to_be_bytes());
        f[10..12].copy_from_slice(&[0, 0]);
        let sum = checksum::checksum(&f[..hl]);
        f[10..12].copy_from_slice(&sum.to_be_bytes());
        out.push(f);
        at += n;
    }
    Some(out)
}
