//! The plugins view: every loaded plugin, its version and origin, and each of its
//! registrations — hook, priority (with Linux's name for it), callback, families — in
//! hook then priority order; below them the conntrack plugin's application helpers
//! (`{"op":"helpers"}`), one row each — name, component, ports, calls, expectations,
//! drops, failures and their kinds, re-instantiations, state bytes, and `ok` or
//! `disabled` — in an area sized to their number (at least 3 lines, at most a third of
//! the view).

use super::fmt;
use super::model::HelperInfo;
use super::state::App;
use super::style;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Span;
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table};
use ratatui::Frame;

/// Linux's named priorities (`NF_IP_PRI_*`), as `brickwall hooks` knows them.
const PRIORITIES: [(i32, &str); 10] = [
    (-400, "defrag"),
    (-300, "raw"),
    (-200, "conntrack"),
    (-150, "mangle"),
    (-100, "dnat"),
    (0, "filter"),
    (50, "security"),
    (100, "snat"),
    (300, "helper"),
    (i32::MAX, "confirm"),
];

/// A priority as `filter`, `filter+10`, `mangle-5`: the nearest named priority at or
/// below it.
pub fn priority_name(p: i32) -> String {
    if p == i32::MAX {
        return "confirm".into();
    }
    if p == i32::MIN {
        return "first".into();
    }
    let named = PRIORITIES.iter().rfind(|(v, _)| *v <= p && *v != i32::MAX);
    match named {
        Some((v, n)) if *v == p => n.to_string(),
        Some((v, n)) => format!("{n}+{}", p - v),
        None => format!("defrag{}", p + 400),
    }
}

/// Draws the view.
pub fn draw(f: &mut Frame, body: Rect, app: &App) {
    let helpers_h = helpers_height(app.helpers.list.len(), body.height);
    let [table_area, helpers] =
        Layout::vertical([Constraint::Min(3), Constraint::Length(helpers_h)]).areas(body);
    let regs = app.visible_registrations();
    let mut title = format!(
        " Plugins: {} loaded, {} registrations ",
        app.plugins.len(),
        regs.len()
    );
    if !app.filter.text.is_empty() {
        title.push_str(&format!("· filter \"{}\" ", app.filter.text));
    }
    let rows: Vec<Row> = regs
        .iter()
        .skip(app.plugin_row)
        .map(|(p, h)| {
            Row::new(vec![
                p.name.clone(),
                p.version.clone(),
                p.origin.clone(),
                h.hook.clone(),
                h.priority.to_string(),
                priority_name(h.priority),
                h.name.clone(),
                h.families.join(","),
            ])
        })
        .collect();
    let table = Table::new(
        rows,
        [
            Constraint::Length(12),
            Constraint::Length(8),
            Constraint::Min(10),
            Constraint::Length(12),
            Constraint::Length(11),
            Constraint::Length(12),
            Constraint::Min(20),
            Constraint::Length(10),
        ],
    )
    .header(
        Row::new(vec![
            "plugin", "version", "origin", "hook", "priority", "named", "callback", "families",
        ])
        .style(style::header()),
    )
    .block(Block::bordered().title(title));
    f.render_widget(table, table_area);
    draw_helpers(f, helpers, app);
}

/// Lines of the helpers' area for `n` helpers in a body of `body_height` lines: the
/// table's borders, header and a row per helper, at least 3, at most a third of the
/// body.
pub fn helpers_height(n: usize, body_height: u16) -> u16 {
    let want = u16::try_from(n).unwrap_or(u16::MAX).saturating_add(3);
    want.min(body_height / 3).max(3)
}

/// One helper's row.
fn helper_row(h: &HelperInfo) -> Row<'static> {
    let s = &h.stats;
    let mut kinds = s.failure_kinds();
    if s.failure_drops > 0 {
        kinds = format!("{kinds}; fail-closed drops {}", fmt::count(s.failure_drops));
    }
    let status = if s.disabled {
        Cell::from(Span::styled("disabled", style::error()))
    } else {
        Cell::from("ok")
    };
    Row::new(vec![
        Cell::from(h.name.clone()),
        Cell::from(h.wasm.clone()),
        Cell::from(h.ports.join(",")),
        Cell::from(fmt::short(s.calls)),
        Cell::from(fmt::short(s.expectations)),
        Cell::from(fmt::short(s.drops)),
        Cell::from(fmt::short(s.failures())),
        Cell::from(kinds),
        Cell::from(fmt::short(s.reinstantiations)),
        Cell::from(fmt::short(s.state_bytes)),
        status,
    ])
}

/// The application helpers' table (or the note that there are none).
fn draw_helpers(f: &mut Frame, area: Rect, app: &App) {
    let h = &app.helpers;
    let mut title = format!(" Application helpers: {} configured", h.list.len());
    let disabled = h.disabled();
    if disabled > 0 {
        title.push_str(&format!(", {disabled} disabled"));
    }
    if h.expect_failed > 0 || h.unknown_requested > 0 {
        title.push_str(&format!(
            " · expectations refused {} · unknown helper requested {}",
            fmt::count(h.expect_failed),
            fmt::count(h.unknown_requested)
        ));
    }
    let room = usize::from(area.height.saturating_sub(3));
    if !h.list.is_empty() && room < h.list.len() {
        title.push_str(&format!(" · first {room} shown"));
    }
    title.push(' ');
    let block = Block::bordered().title(title);
    if h.list.is_empty() {
        let p = Paragraph::new(Span::styled(
            "no application helpers configured",
            style::note(),
        ));
        f.render_widget(p.block(block), area);
        return;
    }
    // The text columns as wide as their longest cell (within reason); the failure
    // kinds take the rest.
    let widest = |cell: fn(&HelperInfo) -> usize, header: usize, most: usize| {
        let n = h.list.iter().map(cell).max().unwrap_or(0);
        Constraint::Length(u16::try_from(n.clamp(header, most)).unwrap_or(u16::MAX))
    };
    // Counts take at most 5 columns (`fmt::short`); the headers set the widths.
    let table = Table::new(
        h.list.iter().map(helper_row),
        [
            widest(|h| h.name.chars().count(), 6, 16),
            widest(|h| h.wasm.chars().count(), 9, 40),
            widest(|h| h.ports.join(",").chars().count(), 5, 24),
            Constraint::Length(6),
            Constraint::Length(6),
            Constraint::Length(6),
            Constraint::Length(8),
            Constraint::Fill(1),
            Constraint::Length(7),
            Constraint::Length(11),
            Constraint::Length(8),
        ],
    )
    .header(
        Row::new(vec![
            "helper",
            "component",
            "ports",
            "calls",
            "expect",
            "drops",
            "failures",
            "failure kinds",
            "re-inst",
            "state bytes",
            "status",
        ])
        .style(style::header()),
    )
    .block(block);
    f.render_widget(table, area);
}
