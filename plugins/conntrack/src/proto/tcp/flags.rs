//! TCP header flag bits and the flag-combination filter Linux's `tcp_error` applies
//! before a packet is looked up.

/// FIN.
pub const TCP_FIN: u8 = 0x01;
/// SYN.
pub const TCP_SYN: u8 = 0x02;
/// RST.
pub const TCP_RST: u8 = 0x04;
/// PSH.
pub const TCP_PSH: u8 = 0x08;
/// ACK.
pub const TCP_ACK: u8 = 0x10;
/// URG.
pub const TCP_URG: u8 = 0x20;
/// ECE.
pub const TCP_ECE: u8 = 0x40;
/// CWR.
pub const TCP_CWR: u8 = 0x80;

/// The combinations of FIN, SYN, RST, ACK and URG that Linux accepts (PSH, ECE and CWR
/// never matter). Everything else, e.g. SYN|FIN, SYN|RST, FIN without ACK, no flag at
/// all or FIN|PSH|URG ("Xmas"), is invalid.
const ALLOWED: [u8; 9] = [
    TCP_SYN,
    TCP_SYN | TCP_URG,
    TCP_SYN | TCP_ACK,
    TCP_RST,
    TCP_RST | TCP_ACK,
    TCP_FIN | TCP_ACK,
    TCP_FIN | TCP_ACK | TCP_URG,
    TCP_ACK,
    TCP_ACK | TCP_URG,
];

/// Checks a segment's flag byte (byte 13 of the TCP header) the way Linux does before
/// any conntrack lookup; `Err("tcp-invalid-flags")` means the packet is INVALID.
pub fn check_flags(flags: u8) -> Result<(), &'static str> {
    let relevant = flags & !(TCP_PSH | TCP_ECE | TCP_CWR);
    if ALLOWED.contains(&relevant) {
        Ok(())
    } else {
        Err("tcp-invalid-flags")
    }
}
