//! The lines `conntrack -E` prints for events (see the module above for the rules).

use super::kind::{what, ConnEvent, Event, EventKind, ExpectEvent};
use crate::conn::status;
use crate::tuple::proto_name;
use std::fmt::Write;

/// The `-o timestamp` prefix: `[seconds.micros]` and a tab. `zero_pad`: the
/// microseconds as six digits (connection events, `[1795760653.034351]`); otherwise as
/// conntrack's `"[%-8ld.%-6ld]\t"` for expectation events, left-aligned and space-padded
/// (`[1795760653.39567 ]`).
fn timestamp_prefix(out: &mut String, ts_ns: u64, zero_pad: bool) {
    let secs = ts_ns / 1_000_000_000;
    let micros = ts_ns % 1_000_000_000 / 1_000;
    let _ = if zero_pad {
        write!(out, "[{secs:<8}.{micros:06}]\t")
    } else {
        write!(out, "[{secs:<8}.{micros:<6}]\t")
    };
}

impl ConnEvent {
    /// The `conntrack -E` line (without a newline), e.g.
    /// `    [NEW] tcp      6 120 SYN_SENT src=10.77.0.1 dst=10.77.1.2 sport=45604 dport=21 [UNREPLIED] src=10.77.1.2 dst=10.77.0.1 sport=21 dport=45604 helper=ftp`;
    /// with `timestamp`, prefixed as `conntrack -E -o timestamp` does
    /// (`[1795760642.641882]` and a tab; the microseconds zero-padded to six digits).
    /// An event with counters (accounting on, Linux's `nf_conntrack_acct=1`) shows
    /// each direction's `packets=… bytes=…` after its tuple on DESTROY lines only, as
    /// Linux reports counters only when a connection is destroyed.
    pub fn line(&self, timestamp: bool) -> String {
        let destroy = self.kind == EventKind::Destroy;
        let t0 = &self.tuple[0];
        let mut s = String::with_capacity(192);
        if timestamp {
            timestamp_prefix(&mut s, self.ts_ns, true);
        }
        let _ = write!(
            s,
            "{:>9} {:<8} {}",
            self.kind.label(),
            proto_name(t0.proto),
            t0.proto
        );
        // Linux 6.x: a DESTROY carries the timeout only when it is not zero.
        if !destroy || self.timeout_s != 0 {
            let _ = write!(s, " {}", self.timeout_s);
        }
        // The state: always on DESTROY (protoinfo with `destroy`), on NEW (the first
        // packet always moves the state out of NONE), on UPDATE only when it changed.
        let show_state = match self.kind {
            EventKind::New | EventKind::Destroy => true,
            EventKind::Update => self.what & what::PROTOINFO != 0,
        };
        if let (true, Some(st)) = (show_state, self.state) {
            s.push(' ');
            s.push_str(st);
        }
        s.push(' ');
        s.push_str(&t0.conntrack_words());
        let counters = |s: &mut String, dir: usize| {
            if let (true, Some(n)) = (destroy, &self.counters) {
                let _ = write!(s, " packets={} bytes={}", n[dir].packets, n[dir].bytes);
            }
        };
        counters(&mut s, 0);
        if !self.has(status::SEEN_REPLY) {
            s.push_str(" [UNREPLIED]");
        }
        s.push(' ');
        s.push_str(&self.tuple[1].conntrack_words());
        counters(&mut s, 1);
        if self.has(status::ASSURED) {
            s.push_str(" [ASSURED]");
        }
        if self.mark != 0 || self.what & what::MARK != 0 {
            let _ = write!(s, " mark={}", self.mark);
        }
        if t0.zone != 0 {
            let _ = write!(s, " zone={}", t0.zone);
        }
        if !destroy {
            if let Some(h) = &self.helper {
                let _ = write!(s, " helper={h}");
            }
        }
        s
    }
}

impl ExpectEvent {
    /// The `conntrack -E expect` line (without a newline): the type column
    /// right-aligned to 9 characters, a space and the body; with `timestamp`, the
    /// `-o timestamp` prefix first, whose microseconds conntrack space-pads on the
    /// right for expectation events (`[1795760653.39567 ]` is .039567).
    pub fn line(&self, timestamp: bool) -> String {
        let mut s = String::with_capacity(self.body.len() + 32);
        if timestamp {
            timestamp_prefix(&mut s, self.ts_ns, false);
        }
        let _ = write!(s, "{:>9} {}", self.kind.label(), self.body);
        s
    }
}

impl Event {
    /// The `conntrack -E` line of either kind ([`ConnEvent::line`], [`ExpectEvent::line`]).
    pub fn line(&self, timestamp: bool) -> String {
        match self {
            Event::Conn(e) => e.line(timestamp),
            Event::Expect(e) => e.line(timestamp),
        }
    }
}

/// What `conntrack -E` prints on exit: `conntrack v1.4.7 (conntrack-tools): 124 flow
/// events have been shown.` (`expect`: "expectation events"), without a newline.
pub fn summary_line(count: u64, expect: bool) -> String {
    let what = if expect { "expectation" } else { "flow" };
    format!("conntrack v1.4.7 (conntrack-tools): {count} {what} events have been shown.")
}
