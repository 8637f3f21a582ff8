//! The hash-chains view: a summary line (buckets, load factor, longest chain, a resize
//! under way, chaintoolong), the heat map of a window of buckets around the selection (one cell
//! per bucket, coloured by chain length), the selected bucket's chain (each node's
//! tuple, direction and connection), and the chain-length histogram.

use super::fmt;
use super::model::{ChainResponse, Dir, HistogramResponse};
use super::state::App;
use super::style;
use super::view::centered;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Bar, BarChart, BarGroup, Block, Clear, Paragraph, Row, Table};
use ratatui::Frame;

/// Width of the bucket numbers left of each heat-map row.
const LABEL_W: u16 = 11;

/// Height of the histogram panel.
const HIST_H: u16 = 12;

/// The view's parts: summary, heat map, chain panel, histogram.
fn parts(body: Rect) -> [Rect; 4] {
    let [summary, middle, hist] = Layout::vertical([
        Constraint::Length(3),
        Constraint::Min(5),
        Constraint::Length(HIST_H),
    ])
    .areas(body);
    let [heat, chain] =
        Layout::horizontal([Constraint::Percentage(40), Constraint::Percentage(60)]).areas(middle);
    [summary, heat, chain, hist]
}

/// The heat map's grid on a body of `body`: (buckets per row, rows).
pub fn grid_size(body: Rect) -> (u16, u16) {
    let heat = Block::bordered().inner(parts(body)[1]);
    (
        heat.width.saturating_sub(LABEL_W).max(1),
        heat.height.max(1),
    )
}

/// Draws the view.
pub fn draw(f: &mut Frame, body: Rect, app: &App) {
    let [summary, heat, chain, hist] = parts(body);
    draw_summary(f, summary, app);
    draw_heat(f, heat, app);
    draw_chain(f, chain, app);
    draw_histogram(f, hist, app.chains.hist.as_ref());
}

fn draw_summary(f: &mut Frame, area: Rect, app: &App) {
    let c = &app.chains;
    let mut spans = Vec::new();
    let mut item = |k: &str, v: String| {
        if !spans.is_empty() {
            spans.push(Span::raw("  "));
        }
        spans.push(Span::styled(format!("{k} "), style::label()));
        spans.push(Span::raw(v));
    };
    // Nodes and load factor from the statistics (two nodes per connection, exact at
    // every poll); the histogram's may cover part of the table while a sweep runs.
    let stats = app.stats.as_ref().filter(|s| s.buckets > 0);
    let buckets = stats.map(|s| s.buckets).unwrap_or(c.buckets());
    let nodes = stats
        .map(|s| s.entries.saturating_mul(2))
        .or(c.hist.as_ref().map(|h| h.nodes));
    if buckets > 0 {
        item("buckets", fmt::count(buckets));
    } else {
        item("buckets", "…".into());
    }
    if let Some(n) = nodes {
        item("nodes", fmt::count(n));
        item(
            "load factor",
            format!("{:.3}", n as f64 / buckets.max(1) as f64),
        );
    }
    if let Some(h) = &c.hist {
        let so_far = if h.span() < h.buckets {
            " (so far)"
        } else {
            ""
        };
        item(
            "longest chain",
            format!("{}{so_far}", fmt::count(h.longest)),
        );
    }
    if let Some(r) = app.stats.as_ref().and_then(|s| s.resize) {
        item(
            "resizing",
            format!(
                "{} → {} ({} of {} moved)",
                fmt::count(r.from),
                fmt::count(r.to),
                fmt::count(r.migrated),
                fmt::count(r.from)
            ),
        );
    }
    if let Some(s) = &app.stats {
        item("connections", fmt::count(s.entries));
        item(
            "chaintoolong",
            fmt::count(s.totals.get("chaintoolong").unwrap_or(0)),
        );
    }
    let len = c
        .selected_length()
        .map_or_else(|| "…".to_string(), |l| l.to_string());
    item("selected bucket", format!("{} (chain {len})", c.selected));
    f.render_widget(
        Paragraph::new(Line::from(spans)).block(Block::bordered().title(" Hash table ")),
        area,
    );
}

fn draw_heat(f: &mut Frame, area: Rect, app: &App) {
    let c = &app.chains;
    let (start, n) = c.window_wanted();
    let end = start.saturating_add(n).min(c.buckets());
    let title = format!(
        " Heat map: buckets {}-{} (·: empty; n/N: next/prev chain) ",
        start,
        end.saturating_sub(1)
    );
    let block = Block::bordered().title(title);
    let inner = block.inner(area);
    f.render_widget(block, area);
    heat_cells(f.buffer_mut(), inner, app);
}

/// Writes the heat map's cells straight into the buffer (one per bucket: cheaper than
/// a widget per cell).
fn heat_cells(buf: &mut Buffer, inner: Rect, app: &App) {
    let c = &app.chains;
    let cols = u64::from(c.cols.max(1));
    let start = c.window_start();
    let buckets = c.buckets();
    for row in 0..inner.height.min(c.rows) {
        let first = start.saturating_add(u64::from(row) * cols);
        if first >= buckets {
            break;
        }
        let y = inner.y + row;
        buf.set_stringn(
            inner.x,
            y,
            format!("{first:>10} "),
            usize::from(LABEL_W),
            style::label(),
        );
        for col in 0..cols.min(u64::from(inner.width.saturating_sub(LABEL_W))) {
            let b = first.saturating_add(col);
            if b >= buckets {
                break;
            }
            let x = inner.x + LABEL_W + col as u16;
            let (ch, mut st) = match c.window.as_ref().and_then(|w| w.length(b)) {
                Some(len) => (style::heat_char(len), style::heat(len)),
                None => (' ', Style::new()),
            };
            if b == c.selected {
                st = st.patch(style::selected());
            }
            if let Some(cell) = buf.cell_mut((x, y)) {
                cell.set_char(ch).set_style(st);
            }
        }
    }
}

/// A node's direction as the plugin names it.
fn dir_name(d: Dir) -> &'static str {
    match d {
        Dir::Original => "original",
        Dir::Reply => "reply",
    }
}

/// The rows of a chain's table (at most `max`, from node `skip`): position, direction,
/// connection id, tuple.
fn chain_rows(chain: &ChainResponse, skip: usize, max: usize) -> Vec<Row<'static>> {
    chain
        .nodes
        .iter()
        .enumerate()
        .skip(skip)
        .take(max)
        .map(|(i, n)| {
            Row::new(vec![
                format!("{}", i + 1),
                dir_name(n.dir).to_string(),
                format!("#{}", n.id),
                format!("{} {}", n.proto, n.tuple),
            ])
        })
        .collect()
}

/// A chain as a table in `area`, or a line saying it is on its way.
fn chain_table(f: &mut Frame, area: Rect, app: &App, skip: usize, title: String) {
    let block = Block::bordered().title(title);
    match app.chains.selected_chain() {
        Some(chain) if chain.nodes.is_empty() => f.render_widget(
            Paragraph::new(Span::styled("empty chain", style::note())).block(block),
            area,
        ),
        Some(chain) => {
            let table = Table::new(
                chain_rows(chain, skip, usize::from(area.height)),
                [
                    Constraint::Length(3),
                    Constraint::Length(8),
                    Constraint::Length(8),
                    Constraint::Min(20),
                ],
            )
            .header(Row::new(vec!["#", "dir", "conn", "tuple"]).style(style::header()))
            .block(block);
            f.render_widget(table, area);
        }
        None => f.render_widget(
            Paragraph::new(Span::styled("loading…", style::note())).block(block),
            area,
        ),
    }
}

fn draw_chain(f: &mut Frame, area: Rect, app: &App) {
    let c = &app.chains;
    let n = c.selected_chain().map(|ch| ch.nodes.len());
    let title = match n {
        Some(n) => format!(" Chain of bucket {} ({n} nodes; Enter: open) ", c.selected),
        None => format!(" Chain of bucket {} ", c.selected),
    };
    chain_table(f, area, app, 0, title);
}

/// The selected bucket's whole chain over the view (`Enter`), scrolled.
pub fn draw_open_chain(f: &mut Frame, body: Rect, app: &App) {
    let area = centered(body, 90, 80);
    f.render_widget(Clear, area);
    let c = &app.chains;
    let n = c.selected_chain().map_or(0, |ch| ch.nodes.len());
    let title = format!(
        " Bucket {}: {n} nodes, head first (↑↓ scroll, Esc close) ",
        c.selected
    );
    chain_table(f, area, app, c.scroll, title);
}

/// The chain-length histogram: one bar per length (the last counts longer chains too),
/// heights on a log scale so that the rare long chains stay visible beside the many
/// short ones; each bar labelled with its count.
pub fn draw_histogram(f: &mut Frame, area: Rect, hist: Option<&HistogramResponse>) {
    let title = match hist {
        Some(h) if h.span() < h.buckets => format!(
            " Chain lengths: buckets per length (log scale) · sweeping: {} of {} buckets so far ",
            fmt::count(h.span()),
            fmt::count(h.buckets)
        ),
        _ => " Chain lengths: buckets per length (log scale) ".to_string(),
    };
    let block = Block::bordered().title(title);
    let Some(h) = hist.filter(|h| !h.histogram.is_empty()) else {
        f.render_widget(
            Paragraph::new(Span::styled("loading…", style::note())).block(block),
            area,
        );
        return;
    };
    let last = h.histogram.len() - 1;
    let bars: Vec<Bar> = h
        .histogram
        .iter()
        .enumerate()
        .map(|(len, &n)| {
            let label = if len == last && len > 0 {
                format!("{len}+")
            } else {
                len.to_string()
            };
            let height = if n == 0 {
                0
            } else {
                ((n as f64).ln_1p() * 1000.0) as u64 + 300
            };
            Bar::default()
                .label(Line::from(label))
                .value(height)
                .text_value(fmt::short(n))
                .style(style::heat(len as u32))
        })
        .collect();
    let inner_w = block.inner(area).width;
    let n = bars.len() as u16;
    let width = (inner_w.saturating_sub(n) / n.max(1)).clamp(1, 7);
    let chart = BarChart::default()
        .block(block)
        .data(BarGroup::new(bars))
        .bar_width(width)
        .bar_gap(1);
    f.render_widget(chart, area);
}
