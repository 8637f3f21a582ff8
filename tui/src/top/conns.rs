//! The connections view's state: which page of the table to fetch, the page fetched,
//! the selection, and the sort. The page is one screenful in the table's slot order
//! (the plugin's `list` with `offset` and `limit`), so the dashboard never copies the
//! table; sorting orders the rows of that page only, and the view says so. The count of
//! every match and the counts per state come with some pages only (counting walks the
//! whole table; see `fetch`): the last ones are kept, with when they were taken.

use super::filter::Filter;
use super::model::{ConnPage, ConnRow};
use std::cmp::Ordering;
use std::time::Instant;

/// The columns the table sorts by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortKey {
    /// Source address, then port.
    Source,
    /// Destination address, then port.
    Destination,
    /// Protocol name.
    Protocol,
    /// State text.
    State,
    /// Age (oldest first).
    Age,
    /// Packets, both directions.
    Packets,
    /// Bytes, both directions.
    Bytes,
}

impl SortKey {
    /// Every key, in the order `s` cycles through them.
    pub const ALL: [SortKey; 7] = [
        SortKey::Source,
        SortKey::Destination,
        SortKey::Protocol,
        SortKey::State,
        SortKey::Age,
        SortKey::Packets,
        SortKey::Bytes,
    ];

    /// The name shown in the view.
    pub fn name(self) -> &'static str {
        match self {
            SortKey::Source => "source",
            SortKey::Destination => "destination",
            SortKey::Protocol => "protocol",
            SortKey::State => "state",
            SortKey::Age => "age",
            SortKey::Packets => "packets",
            SortKey::Bytes => "bytes",
        }
    }

    /// The key after `k` (`None`: table order); after the last comes table order.
    pub fn cycle(k: Option<SortKey>) -> Option<SortKey> {
        match k {
            None => Some(SortKey::ALL[0]),
            Some(k) => {
                let i = SortKey::ALL.iter().position(|x| *x == k).unwrap_or(0);
                SortKey::ALL.get(i + 1).copied()
            }
        }
    }

    /// Compares two rows (ascending; ages compare by start time, older first).
    pub fn compare(self, a: &ConnRow, b: &ConnRow) -> Ordering {
        match self {
            SortKey::Source => (a.src, a.sport).cmp(&(b.src, b.sport)),
            SortKey::Destination => (a.dst, a.dport).cmp(&(b.dst, b.dport)),
            SortKey::Protocol => a.proto.cmp(&b.proto),
            SortKey::State => a.state_text().cmp(&b.state_text()),
            // Larger age first in ascending order would surprise: ascending = youngest
            // first, i.e. the latest start first.
            SortKey::Age => b.start_ns.cmp(&a.start_ns),
            SortKey::Packets => a.packets.cmp(&b.packets),
            SortKey::Bytes => a.bytes.cmp(&b.bytes),
        }
    }

    /// Whether the key sorts largest first by default (counters do, as iptstate).
    pub fn descending_by_default(self) -> bool {
        matches!(self, SortKey::Age | SortKey::Packets | SortKey::Bytes)
    }
}

/// The connections view.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ConnsState {
    /// The last page fetched.
    pub page: Option<ConnPage>,
    /// Why the last fetch failed (a bad filter, a refused request, an answer that did
    /// not fit), as the view shows it.
    pub error: Option<String>,
    /// Every match in the table, as last counted.
    pub count: u64,
    /// Every match by state (or protocol name), as last counted, largest first.
    pub states: Vec<(String, u64)>,
    /// When they were counted (`None`: not yet, or by a hand-built state).
    pub counted_at: Option<Instant>,
    /// The first match of the page to show (what to ask the plugin for).
    pub offset: u64,
    /// The selected row of the shown (filtered, sorted) rows.
    pub row: usize,
    /// Rows that fit on the screen: the page size asked for.
    pub page_size: usize,
    /// The sort column, `None` for the table's order.
    pub sort: Option<SortKey>,
    /// Reverse the sort's natural direction (`S`).
    pub reverse: bool,
}

impl ConnsState {
    /// Matches in the whole table (as last counted; at least those of the page).
    pub fn total(&self) -> u64 {
        let seen = self
            .page
            .as_ref()
            .map_or(0, |p| p.offset.saturating_add(p.rows.len() as u64));
        self.count.max(seen)
    }

    /// Whether a page follows the current one.
    fn has_next(&self) -> bool {
        let page = self.page_size.max(1) as u64;
        self.page.as_ref().is_some_and(|p| p.more)
            || self.offset.saturating_add(page) < self.total()
    }

    /// The rows to show: the page's rows that pass the filter's local words, sorted.
    pub fn visible<'a>(&'a self, filter: &Filter, now_ns: u64) -> Vec<&'a ConnRow> {
        let Some(page) = &self.page else {
            return Vec::new();
        };
        let mut rows: Vec<&ConnRow> = page
            .rows
            .iter()
            .filter(|r| filter.matches_local(&row_text(r, now_ns)))
            .collect();
        if let Some(k) = self.sort {
            let desc = k.descending_by_default() != self.reverse;
            rows.sort_by(|a, b| {
                let o = k.compare(a, b);
                if desc {
                    o.reverse()
                } else {
                    o
                }
            });
        } else if self.reverse {
            rows.reverse();
        }
        rows
    }

    /// Moves the selection by `delta` rows among `shown` rows; past the page's edge it
    /// turns to the next or previous page (the fetch follows).
    pub fn move_by(&mut self, delta: i64, shown: usize) {
        let page = self.page_size.max(1) as u64;
        let row = self.row as i64 + delta;
        if row < 0 {
            if self.offset > 0 {
                self.offset = self.offset.saturating_sub(page);
                self.row = self.page_size.saturating_sub(1);
            } else {
                self.row = 0;
            }
        } else if row as usize >= shown.max(1) {
            if self.has_next() {
                self.offset += page;
                self.row = 0;
            } else {
                self.row = shown.saturating_sub(1);
            }
        } else {
            self.row = row as usize;
        }
    }

    /// The next page (`PgDn`), staying on the last one.
    pub fn page_down(&mut self) {
        let page = self.page_size.max(1) as u64;
        if self.has_next() {
            self.offset += page;
        } else {
            self.row = usize::MAX;
        }
        self.clamp_row();
    }

    /// The previous page (`PgUp`).
    pub fn page_up(&mut self) {
        if self.offset == 0 {
            self.row = 0;
        }
        self.offset = self.offset.saturating_sub(self.page_size.max(1) as u64);
    }

    /// The first row of the table (`Home`, `g`).
    pub fn home(&mut self) {
        self.offset = 0;
        self.row = 0;
    }

    /// The last page of the table (`End`, `G`).
    pub fn end(&mut self) {
        let page = self.page_size.max(1) as u64;
        let total = self.total();
        self.offset = total.saturating_sub(1) / page * page;
        self.row = usize::MAX;
        self.clamp_row();
    }

    /// Keeps the selection inside the rows the page can show.
    pub fn clamp_row(&mut self) {
        let rows = self.page.as_ref().map_or(0, |p| p.rows.len());
        let max = rows.min(self.page_size.max(1)).saturating_sub(1);
        self.row = self.row.min(max);
    }

    /// Sets the page size (the table's height); keeps the selected match in view.
    pub fn set_page_size(&mut self, n: usize) {
        if n != self.page_size && n > 0 {
            let selected = self.offset.saturating_add(self.row as u64);
            self.page_size = n;
            self.offset = selected / n as u64 * n as u64;
            self.row = (selected - self.offset) as usize;
        }
    }

    /// Takes a new page (and the counts, if it brings them); a page for another offset
    /// than the one wanted is dropped (an answer overtaken by a key press).
    pub fn take_page(&mut self, mut page: ConnPage) {
        if page.offset != self.offset {
            return;
        }
        if let Some(n) = page.count {
            self.count = n;
            self.counted_at = Some(Instant::now());
        }
        if let Some(s) = page.states.take() {
            self.states = s;
        }
        if page.rows.is_empty() && self.offset > 0 {
            // The table shrank under us: back to its last page (as counted), or one page
            // back until a page has rows.
            let size = self.page_size.max(1) as u64;
            self.offset = match page.count {
                Some(n) if n > 0 => (n - 1) / size * size,
                Some(_) => 0,
                None => self.offset.saturating_sub(size),
            };
        }
        self.page = Some(page);
        self.error = None;
        self.clamp_row();
    }

    /// `s`: the next sort column (then the table's order again).
    pub fn cycle_sort(&mut self) {
        self.sort = SortKey::cycle(self.sort);
        self.reverse = false;
    }

    /// `S`: reverse the order.
    pub fn toggle_reverse(&mut self) {
        self.reverse = !self.reverse;
    }
}

/// A row's text, as the local filter words search it.
pub fn row_text(r: &ConnRow, now_ns: u64) -> String {
    let known = |v: Option<u64>| v.map_or_else(|| "-".to_string(), |n| n.to_string());
    format!(
        "{} {} {} {} {} {} {} {} mark={} id={}",
        r.proto,
        r.source(),
        r.destination(),
        r.state_text(),
        r.timeout_s,
        known(r.age_s(now_ns)),
        known(r.packets),
        known(r.bytes),
        r.mark,
        r.id
    )
}
