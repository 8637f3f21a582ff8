//! `-o save`: a connection as the `conntrack` options that would create it, as
//! conntrack-tools 1.4.7 prints them: `-A -t TIMEOUT -u STATUS [-w ZONE] -s SRC -d DST
//! -r REPLY-SRC -q REPLY-DST -p PROTO`, then the protocol's fields (`--sport --dport
//! --reply-port-src --reply-port-dst`; `--icmp-type --icmp-code --icmp-id`, or
//! `--icmpv6-*`) and the state (`--state ESTABLISHED`). The status names only the bits
//! `-u` can set (`EXPECTED`, `SEEN_REPLY`, `ASSURED`, `FIXED_TIMEOUT`, in the kernel's
//! bit order), `UNSET` without any; the mark is not printed (neither is it by
//! conntrack-tools).

use brickwall_control_protocol::conntrack::ConnRecord;
use std::fmt::Write;

/// The status bits `-o save` names, in bit order.
const SAVED_STATUS: [&str; 4] = ["EXPECTED", "SEEN_REPLY", "ASSURED", "FIXED_TIMEOUT"];

/// The `-o save` line of a connection, without a newline.
pub fn line(c: &ConnRecord) -> String {
    let status: Vec<&str> = SAVED_STATUS
        .iter()
        .copied()
        .filter(|s| c.has_status(s))
        .collect();
    let status = if status.is_empty() {
        "UNSET".to_string()
    } else {
        status.join(",")
    };
    let mut s = format!("-A -t {} -u {status}", c.timeout);
    if c.zone != 0 {
        let _ = write!(s, " -w {}", c.zone);
    }
    let (o, r) = (&c.orig, &c.reply);
    let _ = write!(
        s,
        " -s {} -d {} -r {} -q {} -p {}",
        o.src, o.dst, r.src, r.dst, c.proto
    );
    if let (Some(sp), Some(dp)) = (o.sport, o.dport) {
        let _ = write!(s, " --sport {sp} --dport {dp}");
        if let (Some(rsp), Some(rdp)) = (r.sport, r.dport) {
            let _ = write!(s, " --reply-port-src {rsp} --reply-port-dst {rdp}");
        }
    }
    if let (Some(t), Some(code), Some(id)) = (o.icmp_type, o.code, o.id) {
        let icmp = if c.protonum == 58 { "icmpv6" } else { "icmp" };
        let _ = write!(
            s,
            " --{icmp}-type {t} --{icmp}-code {code} --{icmp}-id {id}"
        );
    }
    if let Some(state) = &c.state {
        let _ = write!(s, " --state {state}");
    }
    s
}
