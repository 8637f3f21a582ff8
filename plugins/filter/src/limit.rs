//! A rule's stateful conditions, after its matches: `limit` (a rate its packets must
//! stay under, or go over, by packet time) and `quota` (bytes it matches before it
//! stops, or after which it starts), as nft's `limit rate` and `quota`.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::action::RateLimit;
use crate::config::{LimitCfg, QuotaCfg, DEFAULT_BURST};

/// A `limit`.
#[derive(Debug)]
pub struct Limit {
    /// As configured (for the text form).
    pub cfg: LimitCfg,
    limiter: RateLimit,
}

impl Limit {
    /// The limit `cfg` asks for.
    pub fn new(cfg: LimitCfg) -> Limit {
        Limit {
            cfg,
            limiter: RateLimit::per(cfg.rate, cfg.per.ns(), cfg.burst),
        }
    }

    /// Whether a packet at `now_ns` passes: under the rate (over it, with `over`).
    pub fn pass(&self, now_ns: u64) -> bool {
        self.limiter.allow(now_ns) != self.cfg.over
    }

    /// Forgets past packets.
    pub fn reset(&self) {
        self.limiter.reset();
    }

    /// nft's words: `limit rate [over] N/UNIT [burst B packets]`.
    pub fn text(&self) -> String {
        let c = self.cfg;
        let mut s = format!(
            "limit rate {}{}/{}",
            if c.over { "over " } else { "" },
            c.rate,
            c.per.name()
        );
        if c.burst != DEFAULT_BURST {
            s.push_str(&format!(" burst {} packets", c.burst));
        }
        s
    }
}

/// A `quota`.
#[derive(Debug)]
pub struct Quota {
    /// As configured.
    pub cfg: QuotaCfg,
    used: AtomicU64,
}

impl Quota {
    /// The quota `cfg` asks for.
    pub fn new(cfg: QuotaCfg) -> Quota {
        Quota {
            cfg,
            used: AtomicU64::new(0),
        }
    }

    /// Counts a packet of `bytes`; whether it passes: the bytes so far, its own
    /// included, are under the quota (at or over it, with `over`).
    pub fn pass(&self, bytes: u64) -> bool {
        let used = self
            .used
            .fetch_add(bytes, Ordering::Relaxed)
            .saturating_add(bytes);
        (used >= self.cfg.bytes) == self.cfg.over
    }

    /// Bytes counted so far.
    pub fn used(&self) -> u64 {
        self.used.load(Ordering::Relaxed)
    }

    /// Starts counting again.
    pub fn reset(&self) {
        self.used.store(0, Ordering::Relaxed);
    }

    /// nft's words: `quota [over] N bytes`.
    pub fn text(&self) -> String {
        format!(
            "quota {}{} bytes",
            if self.cfg.over { "over " } else { "" },
            self.cfg.bytes
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Per;

    #[test]
    fn a_limit_passes_its_burst_then_its_rate() {
        let l = Limit::new(LimitCfg {
            rate: 2,
            per: Per::Second,
            burst: 3,
            over: false,
        });
        let t0 = 1_000_000_000_000;
        let passed: Vec<bool> = (0..5).map(|_| l.pass(t0)).collect();
        assert_eq!(passed, [true, true, true, false, false]);
        // Half a second later: one more token.
        assert!(l.pass(t0 + 500_000_000));
        assert!(!l.pass(t0 + 500_000_000));
        let over = Limit::new(LimitCfg {
            rate: 1,
            per: Per::Minute,
            burst: 1,
            over: true,
        });
        assert_eq!(
            [over.pass(t0), over.pass(t0 + 1_000_000_000)],
            [false, true]
        );
        assert_eq!(over.text(), "limit rate over 1/minute burst 1 packets");
    }

    #[test]
    fn a_quota_counts_bytes_its_own_included() {
        let q = Quota::new(QuotaCfg {
            bytes: 100,
            over: false,
        });
        assert!(q.pass(60));
        assert!(!q.pass(40)); // 100: used up
        assert!(!q.pass(1));
        let over = Quota::new(QuotaCfg {
            bytes: 100,
            over: true,
        });
        assert!(!over.pass(99));
        assert!(over.pass(1));
        assert_eq!(over.used(), 100);
        over.reset();
        assert_eq!(over.used(), 0);
    }
}
