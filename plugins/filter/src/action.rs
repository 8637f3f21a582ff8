//! Compiled actions: the terminal verdicts, the non-terminal effects (`mark_set`,
//! `ct_mark_set`, `notrack`, `log`, `counter`), and the log's per-rule rate limit and
//! message formatting, which write into a stack buffer so a logged packet allocates
//! nothing in the plugin.

use brickwall_hooks::{flags, Family, Hook, Host, PacketView, Verdict};
use brickwall_rules::matcher::Facts;
use brickwall_wire::ip_proto;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicU64, Ordering};

/// Index of the drop reason of a rule's `drop`.
pub const REASON_RULE_DROP: u32 = 0;
/// Index of the drop reason of a chain's `drop` policy.
pub const REASON_POLICY_DROP: u32 = 1;
/// Index of the drop reason of a rule's `reject`.
pub const REASON_REJECT: u32 = 2;

/// A verdict that ends a chain's evaluation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Terminal {
    /// Let the packet continue.
    Accept,
    /// Drop it with reason `filter-rule-drop`.
    Drop,
    /// Hand it to a userspace queue.
    Queue {
        /// Queue number.
        num: u16,
        /// Continue when the queue cannot take it.
        bypass: bool,
    },
    /// Run regular chain number N, then go on (unless it decided).
    Jump(u32),
    /// Run regular chain number N in place of the rest of this chain.
    Goto(u32),
    /// Leave this chain.
    Return,
    /// Drop it and answer its sender (reason `filter-reject`).
    Reject(crate::reject::RejectWith),
}

impl Terminal {
    /// The verdict the hook returns, for the terminals that decide (not jumps).
    pub fn verdict(self) -> Option<Verdict> {
        match self {
            Terminal::Accept => Some(Verdict::Accept),
            Terminal::Drop => Some(Verdict::Drop(REASON_RULE_DROP)),
            Terminal::Queue { num, bypass } => Some(Verdict::Queue { num, bypass }),
            Terminal::Reject(_) => Some(Verdict::Drop(REASON_REJECT)),
            Terminal::Jump(_) | Terminal::Goto(_) | Terminal::Return => None,
        }
    }
}

/// A non-terminal action: it acts on the packet and evaluation goes on.
#[derive(Debug)]
pub enum Effect {
    /// Set the packet mark.
    MarkSet(u32),
    /// Set the connection mark (conntrack copies it to the connection).
    CtMarkSet(u32),
    /// Set [`flags::NOTRACK`] (raw chains only).
    Notrack,
    /// Ask conntrack to assign this helper (a name of at most 16 bytes).
    CtHelperSet([u8; 16]),
    /// Set these connection labels (conntrack copies them to the connection).
    CtLabelSet(u128),
    /// Log the packet, rate-limited.
    Log(LogAction),
    /// Count (a no-op: counters are always kept).
    Counter,
}

impl Effect {
    /// Applies the effect to the packet (`facts` describe it for log lines).
    #[inline]
    pub fn apply(&self, pkt: &mut PacketView, facts: &Facts, host: &Host) {
        match self {
            Effect::MarkSet(v) => pkt.mark = *v,
            Effect::CtMarkSet(v) => pkt.ct_mark = *v,
            Effect::Notrack => pkt.flags |= flags::NOTRACK,
            Effect::CtHelperSet(name) => pkt.ct_helper = *name,
            Effect::CtLabelSet(bits) => pkt.set_labels(pkt.labels() | bits),
            Effect::Log(log) => log.fire(pkt, facts, host),
            Effect::Counter => {}
        }
    }
}

/// A packet's time (ns): its timestamp, or the clock's now for a packet without one.
pub fn now_of(pkt: &PacketView) -> u64 {
    if pkt.ts_ns != 0 {
        return pkt.ts_ns;
    }
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// A generic cell rate limiter: at most `rate` events per second on average, with a
/// burst of one second's worth. Lock-free; time is the caller's, in nanoseconds.
#[derive(Debug)]
pub struct RateLimit {
    interval_ns: u64,
    tolerance_ns: u64,
    tat: AtomicU64,
}

impl RateLimit {
    /// A limiter allowing `rate` events per second (at least 1).
    pub fn new(rate: u32) -> RateLimit {
        RateLimit::per(rate, 1_000_000_000, rate)
    }

    /// A limiter allowing `rate` events (at least 1) per `period_ns`, `burst` of them
    /// (at least 1) at once.
    pub fn per(rate: u32, period_ns: u64, burst: u32) -> RateLimit {
        let interval_ns = (period_ns / u64::from(rate.max(1))).max(1);
        RateLimit {
            interval_ns,
            tolerance_ns: interval_ns.saturating_mul(u64::from(burst.max(1)) - 1),
            tat: AtomicU64::new(0),
        }
    }

    /// Takes a token at time `now_ns`; false when the rate is exceeded.
    pub fn allow(&self, now_ns: u64) -> bool {
        let mut tat = self.tat.load(Ordering::Relaxed);
        loop {
            let base = tat.max(now_ns);
            if base - now_ns > self.tolerance_ns {
                return false;
            }
            let next = base.saturating_add(self.interval_ns);
            match self
                .tat
                .compare_exchange_weak(tat, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return true,
                Err(cur) => tat = cur,
            }
        }
    }

    /// Forgets past events.
    pub fn reset(&self) {
        self.tat.store(0, Ordering::Relaxed);
    }
}

/// A `log` action.
#[derive(Debug)]
pub struct LogAction {
    /// Text before the packet's description.
    pub prefix: String,
    /// Messages per second.
    pub rate: u32,
    /// Host log level.
    pub level: u8,
    /// The rate limit.
    pub limit: RateLimit,
    /// Messages suppressed since the last one logged.
    pub pending: AtomicU64,
    /// Messages suppressed in all (until `reset`).
    pub suppressed: AtomicU64,
}

impl LogAction {
    /// A log action.
    pub fn new(prefix: String, rate: u32, level: u8) -> LogAction {
        LogAction {
            prefix,
            rate,
            level,
            limit: RateLimit::new(rate),
            pending: AtomicU64::new(0),
            suppressed: AtomicU64::new(0),
        }
    }

    fn fire(&self, pkt: &PacketView, facts: &Facts, host: &Host) {
        if !self.limit.allow(now_of(pkt)) {
            self.pending.fetch_add(1, Ordering::Relaxed);
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let missed = self.pending.swap(0, Ordering::Relaxed);
        let mut line = LineBuf::new();
        let _ = write_line(&mut line, &self.prefix, pkt, facts, missed);
        host.log(self.level, line.as_str());
    }

    /// Zeroes the suppression counts and the rate limit.
    pub fn reset(&self) {
        self.pending.store(0, Ordering::Relaxed);
        self.suppressed.store(0, Ordering::Relaxed);
        self.limit.reset();
    }
}

/// Writes a kernel-style log line: `PREFIX HOOK=.. IN=.. OUT=.. SRC=.. DST=.. LEN=..
/// PROTO=.. SPT=.. DPT=.. MARK=..`.
fn write_line(
    w: &mut impl fmt::Write,
    prefix: &str,
    pkt: &PacketView,
    f: &Facts,
    missed: u64,
) -> fmt::Result {
    w.write_str(prefix)?;
    let hook = pkt.hook().map(Hook::name).unwrap_or("?");
    write!(w, "HOOK={hook} IN={} OUT={}", pkt.iif, pkt.oif)?;
    if let (Some(fam), Some((s, d))) = (f.family, f.addrs) {
        match fam {
            Family::Ipv4 => write!(
                w,
                " SRC={} DST={}",
                Ipv4Addr::from(s as u32),
                Ipv4Addr::from(d as u32)
            )?,
            Family::Ipv6 => write!(w, " SRC={} DST={}", Ipv6Addr::from(s), Ipv6Addr::from(d))?,
        }
    }
    write!(w, " LEN={}", pkt.l3().len())?;
    match ip_proto::name(f.proto) {
        Some(n) => {
            w.write_str(" PROTO=")?;
            for c in n.chars() {
                w.write_char(c.to_ascii_uppercase())?;
            }
        }
        None => write!(w, " PROTO={}", f.proto)?,
    }
    if let Some((sp, dp)) = f.ports {
        write!(w, " SPT={sp} DPT={dp}")?;
    }
    if let Some(t) = f.icmp_type {
        write!(w, " TYPE={t}")?;
    }
    if pkt.mark != 0 {
        write!(w, " MARK={:#x}", pkt.mark)?;
    }
    if missed > 0 {
        write!(w, " ({missed} suppressed)")?;
    }
    Ok(())
}

/// A fixed-size text buffer on the stack; writes past its end are cut at a character
/// boundary.
pub struct LineBuf {
    buf: [u8; 512],
    len: usize,
}

impl LineBuf {
    /// An empty buffer.
    pub fn new() -> LineBuf {
        LineBuf {
            buf: [0; 512],
            len: 0,
        }
    }

    /// The text written so far.
    pub fn as_str(&self) -> &str {
        self.buf
            .get(..self.len)
            .and_then(|b| std::str::from_utf8(b).ok())
            .unwrap_or("")
    }
}

impl Default for LineBuf {
    fn default() -> Self {
        LineBuf::new()
    }
}

impl fmt::Write for LineBuf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = self.buf.len().saturating_sub(self.len);
        let mut n = s.len().min(room);
        while n > 0 && !s.is_char_boundary(n) {
            n -= 1;
        }
        if let (Some(dst), Some(src)) = (
            self.buf.get_mut(self.len..self.len + n),
            s.as_bytes().get(..n),
        ) {
            dst.copy_from_slice(src);
            self.len += n;
        }
        if n < s.len() {
            Err(fmt::Error)
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt::Write as _;

    #[test]
    fn rate_limit_bursts_then_refills() {
        let l = RateLimit::new(5);
        let t0 = 1_700_000_000_000_000_000u64;
        let allowed = (0..10).filter(|_| l.allow(t0)).count();
        assert_eq!(allowed, 5);
        assert!(l.allow(t0 + 200_000_000));
        assert!(!l.allow(t0 + 200_000_000));
        assert_eq!((0..10).filter(|_| l.allow(t0 + 2_000_000_000)).count(), 5);
        // Time going backwards never panics and never allows a flood.
        assert!(!l.allow(0));
    }

    #[test]
    fn line_buffer_truncates_on_char_boundary() {
        let mut b = LineBuf::new();
        let long = "é".repeat(400);
        assert!(b.write_str(&long).is_err());
        assert_eq!(b.as_str().len(), 512);
        assert!(b.as_str().chars().all(|c| c == 'é'));
    }

    #[test]
    fn log_line_describes_the_packet() {
        let mut pkt = PacketView::default();
        pkt.iif = 2;
        pkt.mark = 0x20;
        let f = Facts {
            family: Some(Family::Ipv4),
            proto: 6,
            state: 0,
            addrs: Some((0x0a00_0001, 0x0a01_0002)),
            ports: Some((1234, 80)),
            icmp_type: None,
        };
        let mut b = LineBuf::new();
        write_line(&mut b, "dropped: ", &pkt, &f, 3).unwrap();
        assert_eq!(
            b.as_str(),
            "dropped: HOOK=PREROUTING IN=2 OUT=0 SRC=10.0.0.1 DST=10.1.0.2 LEN=0 PROTO=TCP \
             SPT=1234 DPT=80 MARK=0x20 (3 suppressed)"
        );
    }
}
