//! Rates from successive samples of monotonically growing counters: each poll of the
//! conntrack statistics (or the engine's counters) is a sample taken at a time; the rate
//! of a counter is its growth divided by the time between two samples. Each counter
//! keeps its last [`HISTORY`] rates for a sparkline.

use std::collections::VecDeque;
use std::time::Duration;

/// Rates kept per counter (one per poll: about a minute at 500 ms).
pub const HISTORY: usize = 120;

/// The rate of a counter that went from `prev` to `cur` in `dt`: per second, 0 when no
/// time passed, and 0 when the counter went down (the engine restarted or a flush).
pub fn rate(prev: u64, cur: u64, dt: Duration) -> f64 {
    let secs = dt.as_secs_f64();
    if secs <= 0.0 || cur < prev {
        return 0.0;
    }
    (cur - prev) as f64 / secs
}

/// One counter's history.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Series {
    /// The counter's name.
    pub name: String,
    /// Its last value.
    pub total: u64,
    /// Its rates, oldest first (at most [`HISTORY`]).
    pub rates: VecDeque<f64>,
}

impl Series {
    /// The latest rate, if two samples have been seen.
    pub fn rate(&self) -> Option<f64> {
        self.rates.back().copied()
    }

    /// The rates as sparkline heights: rounded up, so that any activity shows.
    pub fn spark(&self) -> Vec<u64> {
        self.rates.iter().map(|r| r.ceil() as u64).collect()
    }
}

/// Rates of a set of counters, sample after sample.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rates {
    /// When the last sample was taken (since a fixed start).
    last_at: Option<Duration>,
    /// Every counter seen, in the order first seen.
    pub series: Vec<Series>,
}

impl Rates {
    /// Adds a sample taken at `at` (time since a fixed start, growing).
    pub fn push(&mut self, at: Duration, values: &[(String, u64)]) {
        let dt = self.last_at.map(|last| at.saturating_sub(last));
        for (name, v) in values {
            let i = match self.series.iter().position(|s| s.name == *name) {
                Some(i) => i,
                None => {
                    self.series.push(Series {
                        name: name.clone(),
                        total: *v,
                        rates: VecDeque::new(),
                    });
                    continue;
                }
            };
            let s = &mut self.series[i];
            if let Some(dt) = dt {
                if s.rates.len() == HISTORY {
                    s.rates.pop_front();
                }
                s.rates.push_back(rate(s.total, *v, dt));
            }
            s.total = *v;
        }
        self.last_at = Some(at);
    }

    /// The series of counter `name`.
    pub fn get(&self, name: &str) -> Option<&Series> {
        self.series.iter().find(|s| s.name == name)
    }

    /// Forgets every sample (the engine changed: a reconnect).
    pub fn clear(&mut self) {
        self.last_at = None;
        self.series.clear();
    }
}
