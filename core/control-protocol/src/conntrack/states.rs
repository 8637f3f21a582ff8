//! The names of conntrack's protocol states, by the numbers Linux gives them
//! (`TCP_CONNTRACK_*`, `SCTP_CONNTRACK_*`, `CT_DCCP_*`): what `conntrack -L` prints
//! after the timeout, what `--state` takes, and what conntrackd's sync messages number.

/// TCP's states, by number.
pub const TCP: [&str; 10] = [
    "NONE",
    "SYN_SENT",
    "SYN_RECV",
    "ESTABLISHED",
    "FIN_WAIT",
    "CLOSE_WAIT",
    "LAST_ACK",
    "TIME_WAIT",
    "CLOSE",
    "SYN_SENT2",
];

/// SCTP's states, by number (HEARTBEAT_ACKED is an older kernel's).
pub const SCTP: [&str; 10] = [
    "NONE",
    "CLOSED",
    "COOKIE_WAIT",
    "COOKIE_ECHOED",
    "ESTABLISHED",
    "SHUTDOWN_SENT",
    "SHUTDOWN_RECD",
    "SHUTDOWN_ACK_SENT",
    "HEARTBEAT_SENT",
    "HEARTBEAT_ACKED",
];

/// DCCP's states, by number.
pub const DCCP: [&str; 10] = [
    "NONE", "REQUEST", "RESPOND", "PARTOPEN", "OPEN", "CLOSEREQ", "CLOSING", "TIMEWAIT", "IGNORE",
    "INVALID",
];

/// The state of protocol `l4proto` (6 TCP, 132 SCTP, 33 DCCP) numbered `n`.
pub fn name(l4proto: u8, n: u8) -> Option<&'static str> {
    let names: &[&str] = match l4proto {
        6 => &TCP,
        132 => &SCTP,
        33 => &DCCP,
        _ => return None,
    };
    names.get(usize::from(n)).copied()
}

/// The number of `state` among protocol `l4proto`'s (see [`name`]).
pub fn number(l4proto: u8, state: &str) -> Option<u8> {
    (0..10u8).find(|&n| name(l4proto, n) == Some(state))
}

/// Whether `state` is a state of TCP, SCTP or DCCP (or `LISTEN`, conntrack-tools'
/// older name for SYN_SENT2), as `--state` takes them.
pub fn known(state: &str) -> bool {
    state == "LISTEN" || TCP.contains(&state) || SCTP.contains(&state) || DCCP.contains(&state)
}
