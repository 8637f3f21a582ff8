//! The hash-chains view's state: the chain-length histogram, the heat map's window of
//! buckets around the selected bucket, and the selected bucket's chain. The window is
//! the page of `cols × rows` buckets holding the selection; arrows move the selection by
//! one bucket or one row of the grid, `PgUp`/`PgDn` by a window.
//!
//! The histogram of a large table arrives in parts (ranges of buckets, see `fetch`):
//! [`ChainsState::take_hist`] keeps the latest part of each range and adds them up, so
//! the histogram shown is complete once a sweep has covered the table, each range as
//! recent as the sweep.

use super::model::{BucketsResponse, ChainResponse, HistogramResponse};
use std::collections::BTreeMap;

/// The hash-chains view.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ChainsState {
    /// The histogram: the sum of the parts (or a whole-table histogram).
    pub hist: Option<HistogramResponse>,
    /// The latest histogram of each range of buckets, by first bucket.
    pub parts: BTreeMap<u64, HistogramResponse>,
    /// The last window of chain lengths.
    pub window: Option<BucketsResponse>,
    /// The selected bucket's chain (it may lag behind the selection by one fetch).
    pub chain: Option<ChainResponse>,
    /// The selected bucket.
    pub selected: u64,
    /// Buckets per row of the heat map (set from the screen's size).
    pub cols: u16,
    /// Rows of the heat map.
    pub rows: u16,
    /// Whether the chain of the selected bucket is shown whole (`Enter`).
    pub open: bool,
    /// First node shown of the open chain.
    pub scroll: usize,
}

impl ChainsState {
    /// Takes a histogram of the whole table or of a range of its buckets: replaces
    /// the parts it overlaps and sums the parts into [`ChainsState::hist`] (whose
    /// `limit` is then the buckets the parts cover).
    pub fn take_hist(&mut self, h: HistogramResponse) {
        if self
            .parts
            .values()
            .next()
            .is_some_and(|p| p.buckets != h.buckets)
        {
            self.parts.clear(); // the table was resized
        }
        let (first, end) = (h.first(), h.first().saturating_add(h.span()));
        self.parts
            .retain(|&o, p| o.saturating_add(p.span()) <= first || o >= end);
        self.parts.insert(first, h);
        let mut sum = HistogramResponse::default();
        let mut span = 0u64;
        for p in self.parts.values() {
            sum.buckets = p.buckets;
            if sum.histogram.len() < p.histogram.len() {
                sum.histogram.resize(p.histogram.len(), 0);
            }
            for (s, n) in sum.histogram.iter_mut().zip(&p.histogram) {
                *s = s.saturating_add(*n);
            }
            span = span.saturating_add(p.span());
            sum.nodes = sum.nodes.saturating_add(p.nodes);
            sum.longest = sum.longest.max(p.longest);
        }
        sum.limit = Some(span);
        sum.load_factor = sum.nodes as f64 / span.max(1) as f64;
        self.hist = Some(sum);
        let last = self.buckets().saturating_sub(1);
        self.selected = self.selected.min(last);
    }

    /// Buckets the histogram has counted so far, of how many.
    pub fn coverage(&self) -> (u64, u64) {
        self.hist.as_ref().map_or((0, 0), |h| (h.span(), h.buckets))
    }

    /// Buckets in the table (0 before the first answer).
    pub fn buckets(&self) -> u64 {
        self.hist
            .as_ref()
            .map(|h| h.buckets)
            .filter(|b| *b > 0)
            .or(self.window.as_ref().map(|w| w.buckets))
            .unwrap_or(0)
    }

    /// Buckets per window (at least 1).
    pub fn window_size(&self) -> u64 {
        (u64::from(self.cols) * u64::from(self.rows)).max(1)
    }

    /// The first bucket of the window that holds the selection.
    pub fn window_start(&self) -> u64 {
        self.selected / self.window_size() * self.window_size()
    }

    /// The buckets to fetch lengths of: (first, how many), within the table.
    pub fn window_wanted(&self) -> (u64, u64) {
        let start = self.window_start();
        let n = self.window_size().min(65_536);
        (start, n)
    }

    /// Moves the selection by `delta` buckets, within the table.
    pub fn move_by(&mut self, delta: i64) {
        let last = self.buckets().saturating_sub(1);
        let to = if delta < 0 {
            self.selected.saturating_sub(delta.unsigned_abs())
        } else {
            self.selected.saturating_add(delta as u64)
        };
        self.select(to.min(last));
    }

    /// Moves by one row of the grid (`up` when `delta` < 0).
    pub fn move_rows(&mut self, delta: i64) {
        self.move_by(delta * i64::from(self.cols.max(1)));
    }

    /// Moves by a window (`PgUp`/`PgDn`).
    pub fn move_pages(&mut self, delta: i64) {
        self.move_by(delta.saturating_mul(self.window_size() as i64));
    }

    /// Selects bucket `b` (the chain shown is dropped if it is another bucket's).
    pub fn select(&mut self, b: u64) {
        let b = b.min(self.buckets().saturating_sub(1));
        if b != self.selected {
            self.selected = b;
            self.scroll = 0;
        }
    }

    /// The next (or previous) bucket of the loaded window with a chain; past the
    /// window's edge without one, the first bucket of the next (previous) window, so
    /// that pressing again searches there.
    pub fn seek_nonempty(&mut self, forward: bool) {
        let Some(w) = &self.window else { return };
        let end = w.offset.saturating_add(w.lengths.len() as u64);
        // Only the window's buckets are searched (the selection may lie outside it
        // while a new window is on its way).
        let found = if forward {
            (self.selected.saturating_add(1).max(w.offset)..end)
                .find(|b| w.length(*b).unwrap_or(0) > 0)
        } else {
            (w.offset..self.selected.min(end))
                .rev()
                .find(|b| w.length(*b).unwrap_or(0) > 0)
        };
        match found {
            Some(b) => self.select(b),
            None if forward => self.select(end),
            None => self.select(w.offset.saturating_sub(1)),
        }
    }

    /// The chain of the selected bucket, if the last one fetched is that bucket's.
    pub fn selected_chain(&self) -> Option<&ChainResponse> {
        self.chain.as_ref().filter(|c| c.bucket == self.selected)
    }

    /// The chain length of the selected bucket, from the window.
    pub fn selected_length(&self) -> Option<u32> {
        self.window.as_ref()?.length(self.selected)
    }
}
