//! A minimal reader of classic pcap files (Ethernet, IPv4, TCP), for the
//! tests that replay the shared captures (`../shared/pcaps` beside the repository,
//! or `$BRICKWALL_SHARED/pcaps`).

use std::path::PathBuf;

/// One IPv4 TCP segment of a capture.
#[derive(Clone, Debug)]
pub struct Frame {
    /// Source address.
    pub src: [u8; 4],
    /// Destination address.
    pub dst: [u8; 4],
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// TCP flags.
    pub tcp_flags: u8,
    /// The payload.
    pub payload: Vec<u8>,
}

/// The shared capture `rel` (as `zeek/irc-dcc-first-command.pcap`), read whole.
pub fn read(rel: &str) -> Vec<Frame> {
    let base = std::env::var("BRICKWALL_SHARED").map_or_else(
        |_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../../shared"),
        PathBuf::from,
    );
    let path = base.join("pcaps").join(rel);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "shared capture {} unreadable ({e}; set BRICKWALL_SHARED)",
            path.display()
        )
    });
    parse(&bytes)
}

/// The IPv4 TCP segments of a classic pcap (either byte order) on Ethernet.
pub fn parse(b: &[u8]) -> Vec<Frame> {
    let little = match b.get(..4) {
        Some([0xd4, 0xc3, 0xb2, 0xa1]) => true,
        Some([0xa1, 0xb2, 0xc3, 0xd4]) => false,
        _ => panic!("not a classic microsecond pcap"),
    };
    let u32_at = |at: usize| {
        let w: [u8; 4] = b[at..at + 4].try_into().expect("four bytes");
        if little {
            u32::from_le_bytes(w)
        } else {
            u32::from_be_bytes(w)
        }
    };
    assert_eq!(u32_at(20), 1, "Ethernet link type");
    let mut out = Vec::new();
    let mut at = 24;
    while b.len() >= at + 16 {
        let caplen = u32_at(at + 8) as usize;
        let data = b.get(at + 16..at + 16 + caplen).expect("whole record");
        at += 16 + caplen;
        if let Some(f) = ipv4(data) {
            out.push(f);
        }
    }
    out
}

/// The packet an Ethernet frame carries, when it is one the tests read.
fn ipv4(eth: &[u8]) -> Option<Frame> {
    if eth.get(12..14)? != [0x08, 0x00] {
        return None;
    }
    let ip = eth.get(14..)?;
    let ihl = usize::from(ip.first()? & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([*ip.get(2)?, *ip.get(3)?]));
    let l4 = ip.get(ihl..total)?;
    if *ip.get(9)? != 6 {
        return None;
    }
    let doff = usize::from(l4.get(12)? >> 4) * 4;
    Some(Frame {
        src: ip.get(12..16)?.try_into().ok()?,
        dst: ip.get(16..20)?.try_into().ok()?,
        src_port: u16::from_be_bytes([*l4.first()?, *l4.get(1)?]),
        dst_port: u16::from_be_bytes([*l4.get(2)?, *l4.get(3)?]),
        tcp_flags: *l4.get(13)?,
        payload: l4.get(doff..)?.to_vec(),
    })
}
