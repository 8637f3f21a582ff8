//! The connections view, iptstate-like: counts per state over every match at the top,
//! then one screenful of the table (the plugin's `list` page) with protocol, source,
//! destination, state, time left, age, packets, bytes and mark, coloured by state. The
//! title says which rows of how many are shown and, when sorted, that the sort orders
//! this page only; a filter's words that the plugin cannot judge narrow this page only,
//! and the title says that too.

use super::conns::SortKey;
use super::fmt;
use super::state::App;
use super::style;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Row, Table};
use ratatui::Frame;

/// The view's parts: the state counts, the table.
fn parts(body: Rect) -> [Rect; 2] {
    Layout::vertical([Constraint::Length(3), Constraint::Min(3)]).areas(body)
}

/// Rows of connections that fit on a body of `body` (borders and header taken).
pub fn table_rows(body: Rect) -> usize {
    usize::from(parts(body)[1].height.saturating_sub(3)).max(1)
}

/// The columns: header, width.
const COLUMNS: [(&str, Constraint); 9] = [
    ("proto", Constraint::Length(7)),
    ("source", Constraint::Min(21)),
    ("destination", Constraint::Min(21)),
    ("state", Constraint::Length(22)),
    ("ttl", Constraint::Length(7)),
    ("age", Constraint::Length(7)),
    ("packets", Constraint::Length(9)),
    ("bytes", Constraint::Length(9)),
    ("mark", Constraint::Length(10)),
];

/// The column a sort key sorts.
fn sort_column(k: SortKey) -> usize {
    match k {
        SortKey::Protocol => 0,
        SortKey::Source => 1,
        SortKey::Destination => 2,
        SortKey::State => 3,
        SortKey::Age => 5,
        SortKey::Packets => 6,
        SortKey::Bytes => 7,
    }
}

/// Draws the view.
pub fn draw(f: &mut Frame, body: Rect, app: &App) {
    let [counts, table] = parts(body);
    draw_counts(f, counts, app);
    draw_table(f, table, app);
}

fn draw_counts(f: &mut Frame, area: Rect, app: &App) {
    let c = &app.conns;
    let mut spans = Vec::new();
    if c.page.is_some() {
        spans.push(Span::styled("matches ", style::label()));
        spans.push(Span::raw(fmt::count(c.total())));
        for (state, n) in &c.states {
            spans.push(Span::raw("  "));
            let st = style::conn_state(Some(state), false);
            spans.push(Span::styled(format!("{state} {}", fmt::count(*n)), st));
        }
    } else {
        spans.push(Span::styled("loading…", style::note()));
    }
    let whole = if app.filter.server.is_some() {
        "every match of the filter, whole table"
    } else {
        "whole table"
    };
    let title = match c.counted_at {
        Some(t) => format!(
            " Per state ({whole}; counted {:.0}s ago) ",
            t.elapsed().as_secs_f64()
        ),
        None => format!(" Per state ({whole}) "),
    };
    f.render_widget(
        Paragraph::new(Line::from(spans)).block(Block::bordered().title(title)),
        area,
    );
}

/// The table's title: which rows of how many, the order, the filter.
fn title(app: &App, shown: usize) -> String {
    let c = &app.conns;
    let total = c.total();
    let mut t = if shown == 0 {
        format!(" Connections: none of {} shown", fmt::count(total))
    } else {
        let first = c.offset.saturating_add(1);
        let last = c
            .offset
            .saturating_add(c.page_size as u64)
            .min(total)
            .max(first);
        format!(
            " Connections {}-{} of {}",
            fmt::count(first),
            fmt::count(last),
            fmt::count(total)
        )
    };
    match c.sort {
        Some(k) => {
            let dir = if k.descending_by_default() != c.reverse {
                "▼"
            } else {
                "▲"
            };
            t.push_str(&format!(" · sorted by {} {dir} within this page", k.name()));
        }
        None if c.reverse => t.push_str(" · table order reversed (this page)"),
        None => t.push_str(" · table order"),
    }
    if !app.filter.text.is_empty() {
        t.push_str(&format!(" · filter \"{}\"", app.filter.text));
        if !app.filter.local.is_empty() {
            t.push_str(&format!(
                " ({} on this page only)",
                app.filter.local.join(" ")
            ));
        }
    }
    t.push(' ');
    t
}

fn draw_table(f: &mut Frame, area: Rect, app: &App) {
    let c = &app.conns;
    let now = app.now_ns();
    let rows = c.visible(&app.filter, now);
    let block = Block::bordered()
        .title(title(app, rows.len()))
        .title_bottom(Line::from(vec![Span::styled(
            " s sort · S reverse · / filter · PgUp/PgDn pages ",
            style::note(),
        )]));
    if let Some(e) = &c.error {
        f.render_widget(
            Paragraph::new(Span::styled(e.as_str(), style::error())).block(block),
            area,
        );
        return;
    }
    let header: Vec<String> = COLUMNS
        .iter()
        .enumerate()
        .map(|(i, (name, _))| match c.sort {
            Some(k) if sort_column(k) == i => {
                let arrow = if k.descending_by_default() != c.reverse {
                    "▼"
                } else {
                    "▲"
                };
                format!("{name}{arrow}")
            }
            _ => name.to_string(),
        })
        .collect();
    let body: Vec<Row> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut st = style::conn_state(r.state.as_deref(), r.unreplied);
            if i == c.row {
                st = st.patch(style::selected());
            }
            Row::new(vec![
                r.proto.clone(),
                r.source(),
                r.destination(),
                r.state_text(),
                fmt::secs(r.timeout_s),
                r.age_s(now).map_or_else(|| "-".into(), fmt::secs),
                r.packets.map_or_else(|| "-".into(), fmt::short),
                r.bytes.map_or_else(|| "-".into(), fmt::short),
                r.mark.to_string(),
            ])
            .style(st)
        })
        .collect();
    let table = Table::new(body, COLUMNS.iter().map(|(_, w)| *w))
        .header(Row::new(header).style(style::header()))
        .block(block);
    f.render_widget(table, area);
}
