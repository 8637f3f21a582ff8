//! The IPv4 TCP and GRE packets of the shared captures, for the helper guests' tests
//! that replay them (`../shared/pcaps` beside the repository, or
//! `$BRICKWALL_SHARED/pcaps`). Captures are read with the engine's reader
//! (`brickwall-pcap`) and frames parsed with the engine's parser (`brickwall-wire`).

use brickwall_wire::{ip_proto, parse_frame, Family, LinkType, L4};
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
    let mut reader = brickwall_pcap::CaptureReader::open(&path).unwrap_or_else(|e| {
        panic!(
            "shared capture {} unreadable ({e}; set BRICKWALL_SHARED)",
            path.display()
        )
    });
    let mut out = Vec::new();
    let mut buf = Vec::new();
    while let Some(meta) = reader
        .next_frame(&mut buf)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    {
        if let Some(f) = ipv4(meta.link, &buf) {
            out.push(f);
        }
    }
    out
}

/// The packet a frame carries, when it is one the tests read: IPv4, TCP or enhanced
/// GRE (version 1, with its key).
fn ipv4(link: LinkType, frame: &[u8]) -> Option<Frame> {
    let p = parse_frame(link, frame).ok()?;
    if p.family != Family::Ipv4 {
        return None;
    }
    let ip = frame.get(p.l3_off as usize..)?;
    let end = (p.l3_off as usize + p.l3_len as usize).min(frame.len());
    let mut f = Frame {
        src: ip.get(12..16)?.try_into().ok()?,
        dst: ip.get(16..20)?.try_into().ok()?,
        protocol: p.l4proto,
        src_port: 0,
        dst_port: 0,
        tcp_flags: 0,
        payload: Vec::new(),
    };
    match p.l4 {
        L4::Tcp {
            sport,
            dport,
            flags,
            ..
        } if p.l4proto == ip_proto::TCP => {
            f.src_port = sport;
            f.dst_port = dport;
            f.tcp_flags = flags;
            f.payload = frame.get(p.payload_off as usize..end)?.to_vec();
        }
        L4::Gre {
            version: 1,
            key: Some(call_id),
            ..
        } => {
            f.dst_port = call_id as u16;
        }
        _ => return None,
    }
    Some(f)
}
