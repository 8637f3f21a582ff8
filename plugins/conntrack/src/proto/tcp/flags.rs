//! TCP header flag bits and the flag-combination filter Linux's `tcp_error` applies
//! before a packet is looked up.

pub use brickwall_wire::tcp_flags::{
    ACK as TCP_ACK, CWR as TCP_CWR, ECE as TCP_ECE, FIN as TCP_FIN, PSH as TCP_PSH, RST as TCP_RST,
    SYN as TCP_SYN, URG as TCP_URG,
};

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
