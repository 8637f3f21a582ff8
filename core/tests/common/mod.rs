//! Shared helpers of the engine's integration tests: frames and engines to run them on.
#![allow(dead_code)]

use brickwall_core::config::Config;
use brickwall_core::engine::Engine;
use brickwall_core::packet::Packet;
use brickwall_core::wire::LinkType;
use std::path::Path;

/// An Ethernet frame with a UDP datagram from `src` to `dst`.
pub fn udp4(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let b = etherparse::PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
        .ipv4(src, dst, 64)
        .udp(sport, dport);
    let mut out = Vec::with_capacity(b.size(payload.len()));
    b.write(&mut out, payload).expect("build frame");
    out
}

/// An Ethernet frame with an IPv6 TCP SYN.
pub fn tcp6_syn(src: [u8; 16], dst: [u8; 16], sport: u16, dport: u16) -> Vec<u8> {
    let b = etherparse::PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
        .ipv6(src, dst, 64)
        .tcp(sport, dport, 1000, 64240)
        .syn();
    let mut out = Vec::with_capacity(b.size(0));
    b.write(&mut out, &[]).expect("build frame");
    out
}

/// A parsed packet of an Ethernet frame.
pub fn packet(frame: &[u8]) -> Packet {
    let (p, r) = Packet::from_frame(LinkType::Ethernet, frame, 1_000);
    r.expect("frame parses");
    p
}

/// An engine from YAML text.
pub fn engine(yaml: &str) -> Engine {
    let cfg = Config::parse(yaml, "test.yaml").expect("config parses");
    Engine::from_config(&cfg, Path::new("."), "test.yaml").expect("engine builds")
}

/// The shared captures folder (../shared/pcaps beside the repository), or a panic saying where it was looked for.
pub fn shared_dir() -> std::path::PathBuf {
    if let Ok(p) = std::env::var("BRICKWALL_SHARED") {
        return p.into();
    }
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared");
    assert!(
        p.is_dir(),
        "shared test data not found at {} (set BRICKWALL_SHARED)",
        p.display()
    );
    p
}
