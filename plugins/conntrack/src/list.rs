//! The table in conntrack-tools' words: `conntrack -L` lines.

use crate::conn::{status, Conn, DirCounters};
use crate::tracker::Tracker;
use crate::tuple::proto_name;
use std::fmt::Write;

/// One connection as `conntrack -L` prints it, with per-direction counters when the
/// table keeps them (`counters`: accounting on, as with `nf_conntrack_acct=1`).
pub fn conntrack_line(c: &Conn, counters: Option<[DirCounters; 2]>, now_ns: u64) -> String {
    let t0 = &c.orig;
    let mut s = format!(
        "{:<8} {} {} ",
        proto_name(t0.proto),
        t0.proto,
        c.secs_left(now_ns)
    );
    if let Some(st) = c.proto.state_name() {
        s.push_str(st);
        s.push(' ');
    }
    s.push_str(&t0.conntrack_words());
    if let Some(n) = counters {
        let _ = write!(s, " packets={} bytes={}", n[0].packets, n[0].bytes);
    }
    if !c.has(status::SEEN_REPLY) {
        s.push_str(" [UNREPLIED]");
    }
    s.push(' ');
    s.push_str(&c.reply().conntrack_words());
    if let Some(n) = counters {
        let _ = write!(s, " packets={} bytes={}", n[1].packets, n[1].bytes);
    }
    if c.has(status::ASSURED) {
        s.push_str(" [ASSURED]");
    }
    let _ = write!(s, " mark={}", c.mark);
    if t0.zone != 0 {
        let _ = write!(s, " zone={}", t0.zone);
    }
    if let Some(h) = c.helper() {
        let _ = write!(s, " helper={h}");
    }
    let _ = write!(s, " use={}", c.uses());
    s
}

/// Every confirmed connection alive at `now_ns`, one line each, in slot order (with
/// counters when accounting is on).
pub fn list(t: &Tracker, now_ns: u64) -> Vec<String> {
    t.table
        .slots()
        .filter(|(_, c)| c.has(status::CONFIRMED) && c.expires_ns > now_ns)
        .map(|(i, c)| conntrack_line(c, t.table.counters(i), now_ns))
        .collect()
}
