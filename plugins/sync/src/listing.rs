//! The external cache as text, one line per entry, as `conntrackd -e` prints its own:
//! protocol name and number, state, original tuple, `[UNREPLIED]`, `[ASSURED]`, mark,
//! and how long ago the entry last changed; an expectation as `conntrack -L expect`
//! prints one: timeout, protocol, expected tuple, mask, master tuple, helper.

use crate::cache::{Entry, ExpEntry};
use crate::wire::conntrack::Addrs;
use crate::wire::expect::Tuple;
use std::fmt::Write;
use std::time::Instant;

/// `IPS_SEEN_REPLY`.
const SEEN_REPLY: u32 = 1 << 1;
/// `IPS_ASSURED`.
const ASSURED: u32 = 1 << 2;

fn proto_name(p: u8) -> &'static str {
    match p {
        1 => "icmp",
        6 => "tcp",
        17 => "udp",
        33 => "dccp",
        47 => "gre",
        58 => "icmpv6",
        132 => "sctp",
        136 => "udplite",
        _ => "unknown",
    }
}

/// The entry's protocol state by name (TCP, SCTP and DCCP).
fn state_name(e: &Entry) -> Option<&'static str> {
    let c = &e.ct;
    let proto = c.l4proto?;
    let n = match proto {
        6 => c.tcp_state,
        132 => c.sctp_state,
        33 => c.dccp_state,
        _ => None,
    }?;
    brickwall_control_protocol::conntrack::states::name(proto, n)
}

/// One entry's line, as of `now`.
pub fn line(e: &Entry, now: Instant) -> String {
    let c = &e.ct;
    let proto = c.l4proto.unwrap_or(0);
    let mut s = format!("{:<8} {} ", proto_name(proto), proto);
    if let Some(st) = state_name(e) {
        let _ = write!(s, "{st} ");
    }
    match c.addrs {
        Some(Addrs::V4 { src, dst }) => {
            let _ = write!(s, "src={src} dst={dst} ");
        }
        Some(Addrs::V6 { src, dst }) => {
            let _ = write!(s, "src={src} dst={dst} ");
        }
        None => {}
    }
    if let Some((sp, dp)) = c.ports {
        let _ = write!(s, "sport={sp} dport={dp} ");
    }
    if let (Some(t), Some(code), Some(id)) = (c.icmp_type, c.icmp_code, c.icmp_id) {
        let _ = write!(s, "type={t} code={code} id={id} ");
    }
    let status = c.status.unwrap_or(0);
    if status & SEEN_REPLY == 0 {
        s.push_str("[UNREPLIED] ");
    }
    if status & ASSURED != 0 {
        s.push_str("[ASSURED] ");
    }
    if let Some(m) = c.mark {
        let _ = write!(s, "mark={m} ");
    }
    let _ = write!(
        s,
        "[active since {}s]",
        now.saturating_duration_since(e.since).as_secs()
    );
    s
}

fn tuple(s: &mut String, t: &Tuple, prefix: &str) {
    match t.addrs {
        Some(Addrs::V4 { src, dst }) => {
            let _ = write!(s, "{prefix}src={src} {prefix}dst={dst} ");
        }
        Some(Addrs::V6 { src, dst }) => {
            let _ = write!(s, "{prefix}src={src} {prefix}dst={dst} ");
        }
        None => {}
    }
    if let Some((sp, dp)) = t.ports {
        let _ = write!(s, "sport={sp} dport={dp} ");
    }
}

/// One expectation's line.
pub fn expect_line(e: &ExpEntry) -> String {
    let x = &e.exp;
    let proto = x.expected.l4proto.unwrap_or(0);
    let mut s = format!("{} proto={proto} ", x.timeout.unwrap_or(0));
    tuple(&mut s, &x.expected, "");
    tuple(&mut s, &x.mask, "mask-");
    tuple(&mut s, &x.master, "master-");
    if let Some(h) = &x.helper {
        let _ = write!(s, "helper={h}");
    }
    s.trim_end().to_string()
}
