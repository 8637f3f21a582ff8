//! A minimal reader of classic pcap files (Ethernet, IPv4, TCP and GRE), for the
//! tests that replay the shared captures (`../shared/pcaps` beside the repository,
//! or `$BRICKWALL_SHARED/pcaps`).

use std::path::PathBuf;

/// One IPv4 packet of a capture.
#[derive(Clone, Debug)]
pub struct Frame {
    /// Source address.
    pub src: [u8; 4],
    /// Destination address.
    pub dst: [u8; 4],
    /// IP protocol.
    pub protocol: u8,
    /// TCP source port (0 for GRE).
    pub src_port: u16,
    /// TCP destination port; for GRE version 1, the call id of the key.
    pub dst_port: u16,
    /// TCP flags (0 for GRE).
    pub tcp_flags: u8,
    /// The TCP payload (empty for GRE).
    pub payload: Vec<u8>,
}

/// The shared capture `rel` (as `tcpdump/pptp.pcap`), read whole.
pub fn read(rel: &str) -> Vec<Frame> {
    let base = std::env::var("BRICKWALL_SHARED").map_or_else(
        |_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
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

/// The IPv4 TCP and GRE packets of a classic pcap (either byte order) on Ethernet.
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
    let mut f = Frame {
        src: ip.get(12..16)?.try_into().ok()?,
        dst: ip.get(16..20)?.try_into().ok()?,
        protocol: *ip.get(9)?,
        src_port: 0,
        dst_port: 0,
        tcp_flags: 0,
        payload: Vec::new(),
    };
    match f.protocol {
        6 => {
            f.src_port = u16::from_be_bytes([*l4.first()?, *l4.get(1)?]);
            f.dst_port = u16::from_be_bytes([*l4.get(2)?, *l4.get(3)?]);
            f.tcp_flags = *l4.get(13)?;
            let doff = usize::from(l4.get(12)? >> 4) * 4;
            f.payload = l4.get(doff..)?.to_vec();
        }
        47 => {
            // Enhanced GRE: flags with the key bit, version 1; the key's low half is
            // the receiver's call id.
            let flags = u16::from_be_bytes([*l4.first()?, *l4.get(1)?]);
            if flags & 0x2000 == 0 || flags & 0x7 != 1 {
                return None;
            }
            let key_at = if flags & 0x8000 != 0 { 8 } else { 4 };
            f.dst_port = u16::from_be_bytes([*l4.get(key_at + 2)?, *l4.get(key_at + 3)?]);
        }
        _ => return None,
    }
    Some(f)
}
