//! The dashboard's application state, apart from rendering: what the fetch thread has
//! delivered ([`App::apply`]), what the keys do to it ([`App::on_key`]), and what to
//! fetch next ([`App::wants`]). The views (`view_*.rs`) only read it.

use super::chains::ChainsState;
use super::conns::ConnsState;
use super::derive;
use super::fetch::{Update, Wants};
use super::filter::Filter;
use super::keys::Key;
use super::model::*;
use super::rates::Rates;
use std::time::Instant;

/// The views, in Tab order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    /// The hash table: histogram, heat map, chains.
    Chains,
    /// The connections, iptstate-like.
    Conns,
    /// The expectations.
    Expect,
    /// Statistics as rates, verdicts, drops.
    Counters,
    /// Plugins and their hooks.
    Plugins,
}

impl View {
    /// Every view, in Tab order.
    pub const ALL: [View; 5] = [
        View::Chains,
        View::Conns,
        View::Expect,
        View::Counters,
        View::Plugins,
    ];

    /// The tab's title.
    pub fn title(self) -> &'static str {
        match self {
            View::Chains => "Hash chains",
            View::Conns => "Connections",
            View::Expect => "Expectations",
            View::Counters => "Counters",
            View::Plugins => "Plugins",
        }
    }

    /// Its place in Tab order.
    pub fn index(self) -> usize {
        View::ALL.iter().position(|v| *v == self).unwrap_or(0)
    }

    /// The view `step` tabs away (wrapping).
    pub fn step(self, step: isize) -> View {
        let n = View::ALL.len() as isize;
        View::ALL[(self.index() as isize + step).rem_euclid(n) as usize]
    }
}

/// The state of the link to the engine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Link {
    /// No answer yet.
    Connecting,
    /// Answers arrive.
    Up,
    /// The engine cannot be reached: why (the fetch thread keeps retrying).
    Down(String),
}

/// What the screen's size leaves for the views that page (set before each frame).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Geometry {
    /// Buckets per row of the heat map.
    pub heat_cols: u16,
    /// Rows of the heat map.
    pub heat_rows: u16,
    /// Rows of the connections table.
    pub conn_rows: usize,
}

/// What a key asks of the run loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Go on.
    Continue,
    /// Quit.
    Quit,
}

/// The whole state.
#[derive(Clone, Debug)]
pub struct App {
    /// The control socket's path, as shown.
    pub socket: String,
    /// The view on screen.
    pub view: View,
    /// Whether the help overlay is open.
    pub help: bool,
    /// The filter being typed (`/`), `None` when not editing.
    pub editing: Option<String>,
    /// The filter in force.
    pub filter: Filter,
    /// The link to the engine.
    pub link: Link,
    /// The engine's last status.
    pub status: Option<StatusResponse>,
    /// When the last complete poll arrived.
    pub refreshed: Option<Instant>,
    /// The last refused request's message (cleared by the next good poll).
    pub error: Option<String>,
    /// The hash-chains view.
    pub chains: ChainsState,
    /// The connections view.
    pub conns: ConnsState,
    /// The expectations.
    pub expects: Vec<ExpectRecord>,
    /// Why the expectations could not be read.
    pub expect_error: Option<String>,
    /// First expectation row shown.
    pub expect_row: usize,
    /// The last conntrack statistics (counters in `conntrack -S` order).
    pub stats: Option<StatsResponse>,
    /// Rates of the conntrack statistics.
    pub ct_rates: Rates,
    /// The pipeline's last counters.
    pub counters: Option<CountersResponse>,
    /// Rates of packets entering each hook and of the pipeline's totals.
    pub engine_rates: Rates,
    /// Loaded plugins.
    pub plugins: Vec<PluginInfo>,
    /// First plugin row shown.
    pub plugin_row: usize,
    /// The conntrack plugin's application helpers and their counters (empty until
    /// the first answer, and when none are configured).
    pub helpers: Helpers,
    /// Draw without colours (the `NO_COLOR` convention); bold, underline and reverse
    /// stay.
    pub monochrome: bool,
}

impl App {
    /// The state before the first answer, for the engine at `socket`.
    pub fn new(socket: impl Into<String>) -> App {
        App {
            socket: socket.into(),
            view: View::Chains,
            help: false,
            editing: None,
            filter: Filter::default(),
            link: Link::Connecting,
            status: None,
            refreshed: None,
            error: None,
            chains: ChainsState::default(),
            conns: ConnsState::default(),
            expects: Vec::new(),
            expect_error: None,
            expect_row: 0,
            stats: None,
            ct_rates: Rates::default(),
            counters: None,
            engine_rates: Rates::default(),
            plugins: Vec::new(),
            plugin_row: 0,
            helpers: Helpers::default(),
            monochrome: false,
        }
    }

    /// The engine's clock (ns), 0 before the first status.
    pub fn now_ns(&self) -> u64 {
        self.status.as_ref().map_or(0, |s| s.now_ns)
    }

    /// Adopts the screen's geometry.
    pub fn set_geometry(&mut self, g: Geometry) {
        self.chains.cols = g.heat_cols.max(1);
        self.chains.rows = g.heat_rows.max(1);
        self.conns.set_page_size(g.conn_rows.max(1));
    }

    /// What the fetch thread should fetch for the current view.
    pub fn wants(&self) -> Wants {
        Wants {
            view: self.view,
            conns_offset: self.conns.offset,
            conns_limit: self.conns.page_size.max(1),
            conns_filter: self.filter.request(),
            window: self.chains.window_wanted(),
            bucket: self.chains.selected,
        }
    }

    /// Takes an update from the fetch thread.
    pub fn apply(&mut self, u: Update) {
        if !matches!(u, Update::Disconnected(_)) {
            if let Link::Down(_) = self.link {
                // A new engine (or the same, restarted): old rates would mislead.
                self.ct_rates.clear();
                self.engine_rates.clear();
            }
            self.link = Link::Up;
        }
        match u {
            Update::Disconnected(why) => self.link = Link::Down(why),
            Update::Status(s) => self.status = Some(s),
            Update::CtStats { stats, at } => {
                let mut values = vec![("entries".to_string(), stats.entries)];
                values.extend(stats.totals.0.iter().cloned());
                self.ct_rates.push(at, &values);
                self.stats = Some(stats);
            }
            Update::Counters { counters, at } => {
                let hooks = derive::hooks_in_order(&counters);
                let totals = derive::pipeline_totals(&counters);
                let values: Vec<(String, u64)> = hooks
                    .iter()
                    .map(|(hook, k)| (hook.to_string(), k.entered))
                    .chain(totals.iter().map(|(name, n)| (name.to_string(), *n)))
                    .collect();
                self.engine_rates.push(at, &values);
                self.counters = Some(counters);
            }
            Update::Plugins(p) => self.plugins = p,
            Update::Helpers(h) => self.helpers = h,
            Update::Histogram(h) => self.chains.take_hist(h),
            Update::Window(w) => self.chains.window = Some(w),
            Update::Chain(c) => self.chains.chain = Some(c),
            Update::Conns(Ok(page)) => self.conns.take_page(page),
            Update::Conns(Err(e)) => self.conns.error = Some(e),
            Update::Expects(Ok(rows)) => {
                self.expects = rows;
                self.expect_error = None;
            }
            Update::Expects(Err(e)) => self.expect_error = Some(e),
            Update::Error(e) => self.error = Some(e),
            Update::Refreshed => self.refreshed = Some(Instant::now()),
        }
    }

    /// The expectations the filter lets through.
    pub fn visible_expects(&self) -> Vec<&ExpectRecord> {
        self.expects
            .iter()
            .filter(|e| {
                self.filter.matches_all_words(&format!(
                    "{} {} {} {} {}",
                    e.tuple.words(),
                    e.master.words(),
                    e.helper,
                    e.protonum,
                    e.flags.join(" ")
                ))
            })
            .collect()
    }

    /// The plugins' registrations the filter lets through: (plugin, registration).
    pub fn visible_registrations(&self) -> Vec<(&PluginInfo, &HookInfo)> {
        self.plugins
            .iter()
            .flat_map(|p| p.hooks.iter().map(move |h| (p, h)))
            .filter(|(p, h)| {
                self.filter.matches_all_words(&format!(
                    "{} {} {} {} {} {}",
                    p.name,
                    p.version,
                    p.origin,
                    h.hook,
                    h.name,
                    h.families.join(" ")
                ))
            })
            .collect()
    }

    /// Handles a key.
    pub fn on_key(&mut self, k: Key) -> Action {
        if k == Key::Interrupt {
            return Action::Quit;
        }
        if let Some(text) = self.editing.as_mut() {
            match k {
                Key::Char(c) => text.push(c),
                Key::Backspace => {
                    text.pop();
                }
                Key::Enter => {
                    let text = self.editing.take().unwrap_or_default();
                    self.set_filter(&text);
                }
                Key::Esc => self.editing = None,
                _ => {}
            }
            return Action::Continue;
        }
        if self.help {
            if k == Key::Char('q') {
                return Action::Quit;
            }
            self.help = false;
            return Action::Continue;
        }
        if self.view == View::Chains && self.chains.open && self.chain_panel_key(k) {
            return Action::Continue;
        }
        match k {
            Key::Char('q') => return Action::Quit,
            Key::Char('?') => self.help = true,
            Key::Tab => self.switch(self.view.step(1)),
            Key::BackTab => self.switch(self.view.step(-1)),
            Key::Char(c @ '1'..='5') => {
                let i = c as usize - '1' as usize;
                self.switch(View::ALL[i]);
            }
            Key::Char('/') => self.editing = Some(self.filter.text.clone()),
            Key::Esc if !self.filter.is_empty() => self.set_filter(""),
            _ => match self.view {
                View::Chains => self.chains_key(k),
                View::Conns => self.conns_key(k),
                View::Expect => {
                    let n = self.visible_expects().len();
                    scroll_key(&mut self.expect_row, n, k);
                }
                View::Plugins => {
                    let n = self.visible_registrations().len();
                    scroll_key(&mut self.plugin_row, n, k);
                }
                View::Counters => {}
            },
        }
        Action::Continue
    }

    /// Shows view `v`.
    fn switch(&mut self, v: View) {
        self.view = v;
        self.chains.open = false;
    }

    /// Puts `text` in force as the filter (the connections restart at the first page).
    pub fn set_filter(&mut self, text: &str) {
        let f = Filter::parse(text);
        if f != self.filter {
            self.filter = f;
            self.conns.offset = 0;
            self.conns.row = 0;
            self.conns.error = None;
            self.expect_row = 0;
            self.plugin_row = 0;
        }
    }

    /// Keys of the open chain panel; `false` for keys it leaves to the view.
    fn chain_panel_key(&mut self, k: Key) -> bool {
        let len = self.chains.selected_chain().map_or(0, |c| c.nodes.len());
        match k {
            Key::Esc | Key::Enter => self.chains.open = false,
            Key::Up | Key::Char('k') => self.chains.scroll = self.chains.scroll.saturating_sub(1),
            Key::Down | Key::Char('j') => {
                self.chains.scroll = (self.chains.scroll + 1).min(len.saturating_sub(1))
            }
            Key::PageUp => self.chains.scroll = self.chains.scroll.saturating_sub(20),
            Key::PageDown => {
                self.chains.scroll = (self.chains.scroll + 20).min(len.saturating_sub(1))
            }
            _ => return false,
        }
        true
    }

    /// Keys of the hash-chains view.
    fn chains_key(&mut self, k: Key) {
        let c = &mut self.chains;
        match k {
            Key::Left | Key::Char('h') => c.move_by(-1),
            Key::Right | Key::Char('l') => c.move_by(1),
            Key::Up | Key::Char('k') => c.move_rows(-1),
            Key::Down | Key::Char('j') => c.move_rows(1),
            Key::PageUp => c.move_pages(-1),
            Key::PageDown => c.move_pages(1),
            Key::Home | Key::Char('g') => c.select(0),
            Key::End | Key::Char('G') => c.select(u64::MAX),
            Key::Char('n') => c.seek_nonempty(true),
            Key::Char('N') => c.seek_nonempty(false),
            Key::Enter => {
                c.open = true;
                c.scroll = 0;
            }
            _ => {}
        }
    }

    /// Keys of the connections view.
    fn conns_key(&mut self, k: Key) {
        let shown = self.conns.visible(&self.filter, self.now_ns()).len();
        let c = &mut self.conns;
        match k {
            Key::Up | Key::Char('k') => c.move_by(-1, shown),
            Key::Down | Key::Char('j') => c.move_by(1, shown),
            Key::PageUp | Key::Left | Key::Char('h') => c.page_up(),
            Key::PageDown | Key::Right | Key::Char('l') => c.page_down(),
            Key::Home | Key::Char('g') => c.home(),
            Key::End | Key::Char('G') => c.end(),
            Key::Char('s') => c.cycle_sort(),
            Key::Char('S') => c.toggle_reverse(),
            _ => {}
        }
    }
}

/// Scrolls a list of `n` rows whose first shown row is `first`.
fn scroll_key(first: &mut usize, n: usize, k: Key) {
    let last = n.saturating_sub(1);
    *first = match k {
        Key::Up | Key::Char('k') => first.saturating_sub(1),
        Key::Down | Key::Char('j') => (*first + 1).min(last),
        Key::PageUp => first.saturating_sub(20),
        Key::PageDown => (*first + 20).min(last),
        Key::Home | Key::Char('g') => 0,
        Key::End | Key::Char('G') => last,
        _ => *first,
    };
}
