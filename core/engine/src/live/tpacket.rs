//! The headers the kernel writes into a packet ring (`struct tpacket_block_desc` and
//! `tpacket3_hdr` for TPACKET_V3 blocks, `tpacket2_hdr` for TPACKET_V2 slots), read
//! from bytes: every offset and length the kernel wrote is checked against the block
//! or slot before use, so no header content can make a read leave it. A frame whose
//! VLAN tag the driver took off gets it back; a frame whose checksum was left to
//! hardware gets a real one (see [`super::csum`]).

use super::csum;

pub const TP_STATUS_KERNEL: u32 = 0;
pub const TP_STATUS_USER: u32 = 1;
pub const TP_STATUS_CSUMNOTREADY: u32 = 1 << 3;
pub const TP_STATUS_VLAN_VALID: u32 = 1 << 4;
pub const TP_STATUS_VLAN_TPID_VALID: u32 = 1 << 6;

/// Offsets in `struct tpacket_block_desc` (version, offset_to_priv, then the v1 header).
pub const BLOCK_STATUS: usize = 8;
pub const BLOCK_NUM_PKTS: usize = 12;
pub const BLOCK_FIRST: usize = 16;
/// Offsets in `struct tpacket3_hdr`.
pub const PKT_NEXT: usize = 0;
pub const PKT_SNAPLEN: usize = 12;
pub const PKT_STATUS: usize = 20;
pub const PKT_MAC: usize = 24;
pub const PKT_VLAN_TCI: usize = 32;
pub const PKT_VLAN_TPID: usize = 36;
pub const PKT_HDR_LEN: usize = 48;
/// Offsets in `struct tpacket2_hdr`.
pub const V2_STATUS: usize = 0;
pub const V2_LEN: usize = 4;
pub const V2_SNAPLEN: usize = 8;
pub const V2_MAC: usize = 12;
pub const V2_VLAN_TCI: usize = 24;
pub const V2_VLAN_TPID: usize = 26;
pub const V2_HDR_LEN: usize = 32;

fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    let b = b.get(off..off.checked_add(4)?)?;
    Some(u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
}

fn u16_at(b: &[u8], off: usize) -> Option<u16> {
    let b = b.get(off..off.checked_add(2)?)?;
    Some(u16::from_ne_bytes([b[0], b[1]]))
}

/// Hands every frame of a TPACKET_V3 block to `f` (with `scratch` for frames that
/// need their VLAN tag back); returns how many.
pub fn walk_block(block: &mut [u8], scratch: &mut Vec<u8>, f: &mut dyn FnMut(&[u8])) -> usize {
    let num = u32_at(block, BLOCK_NUM_PKTS).unwrap_or(0);
    let mut off = u32_at(block, BLOCK_FIRST).unwrap_or(0) as usize;
    let mut n = 0;
    for _ in 0..num {
        let Some(hdr) = off
            .checked_add(PKT_HDR_LEN)
            .and_then(|end| block.get(off..end))
        else {
            break;
        };
        let next = u32_at(hdr, PKT_NEXT).unwrap_or(0) as usize;
        let snaplen = u32_at(hdr, PKT_SNAPLEN).unwrap_or(0) as usize;
        let status = u32_at(hdr, PKT_STATUS).unwrap_or(0);
        let mac = u16_at(hdr, PKT_MAC).unwrap_or(0) as usize;
        let tci = u32_at(hdr, PKT_VLAN_TCI).unwrap_or(0) as u16;
        let tpid = u16_at(hdr, PKT_VLAN_TPID).unwrap_or(0);
        let start = off + mac;
        let Some(frame) = start
            .checked_add(snaplen)
            .and_then(|end| block.get_mut(start..end))
        else {
            break;
        };
        n += 1;
        hand_over(scratch, frame, status, tci, tpid, f);
        if next == 0 {
            break;
        }
        off = off.saturating_add(next);
    }
    n
}

/// Hands the frame of a TPACKET_V2 slot (`data`, the whole slot; `status`, its status
/// word) to `f`; false when the kernel cut the frame to fit the slot (not passed on)
/// or its bounds leave the slot.
pub fn take_v2_slot(
    data: &mut [u8],
    status: u32,
    scratch: &mut Vec<u8>,
    f: &mut dyn FnMut(&[u8]),
) -> bool {
    let len = u32_at(data, V2_LEN).unwrap_or(0) as usize;
    let snaplen = u32_at(data, V2_SNAPLEN).unwrap_or(0) as usize;
    let mac = u16_at(data, V2_MAC).unwrap_or(0) as usize;
    let tci = u16_at(data, V2_VLAN_TCI).unwrap_or(0);
    let tpid = u16_at(data, V2_VLAN_TPID).unwrap_or(0);
    match data.get_mut(mac..mac + snaplen) {
        Some(frame) if snaplen == len => {
            hand_over(scratch, frame, status, tci, tpid, f);
            true
        }
        _ => false,
    }
}

/// Hands one frame to `f`, with its VLAN tag put back between the MACs and the type when
/// the driver took it off, and its checksum completed when it was left to hardware.
fn hand_over(
    scratch: &mut Vec<u8>,
    frame: &mut [u8],
    status: u32,
    tci: u16,
    tpid: u16,
    f: &mut dyn FnMut(&[u8]),
) {
    if status & TP_STATUS_VLAN_VALID != 0 && frame.len() >= 12 {
        let tpid = if status & TP_STATUS_VLAN_TPID_VALID != 0 {
            tpid
        } else {
            0x8100
        };
        scratch.clear();
        scratch.extend_from_slice(&frame[..12]);
        scratch.extend_from_slice(&tpid.to_be_bytes());
        scratch.extend_from_slice(&tci.to_be_bytes());
        scratch.extend_from_slice(&frame[12..]);
        if status & TP_STATUS_CSUMNOTREADY != 0 {
            csum::complete_l4(scratch, 18);
        }
        f(scratch);
    } else {
        if status & TP_STATUS_CSUMNOTREADY != 0 {
            csum::complete_l4(frame, 14);
        }
        f(frame);
    }
}
