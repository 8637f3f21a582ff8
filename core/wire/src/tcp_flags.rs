//! The TCP header's flag bits (byte 13), and their names as nftables writes them.

/// FIN.
pub const FIN: u8 = 0x01;
/// SYN.
pub const SYN: u8 = 0x02;
/// RST.
pub const RST: u8 = 0x04;
/// PSH.
pub const PSH: u8 = 0x08;
/// ACK.
pub const ACK: u8 = 0x10;
/// URG.
pub const URG: u8 = 0x20;
/// ECE (nftables: `ecn`).
pub const ECE: u8 = 0x40;
/// CWR.
pub const CWR: u8 = 0x80;

/// Each flag's name (nftables' words) and bit, from the lowest bit.
pub const NAMES: [(&str, u8); 8] = [
    ("fin", FIN),
    ("syn", SYN),
    ("rst", RST),
    ("psh", PSH),
    ("ack", ACK),
    ("urg", URG),
    ("ecn", ECE),
    ("cwr", CWR),
];
