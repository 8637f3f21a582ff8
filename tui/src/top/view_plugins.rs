//! The plugins view: every loaded plugin, its version and origin, and each of its
//! registrations — hook, priority (with Linux's name for it), callback, families — in
//! hook then priority order; and the application helpers (none exist yet).

use super::state::App;
use super::style;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Row, Table};
use ratatui::Frame;

/// Linux's named priorities (`NF_IP_PRI_*`), as `brickwall hooks` knows them.
const PRIORITIES: [(i64, &str); 10] = [
    (-400, "defrag"),
    (-300, "raw"),
    (-200, "conntrack"),
    (-150, "mangle"),
    (-100, "dnat"),
    (0, "filter"),
    (50, "security"),
    (100, "snat"),
    (300, "helper"),
    (i32::MAX as i64, "confirm"),
];

/// A priority as `filter`, `filter+10`, `mangle-5`: the nearest named priority at or
/// below it.
pub fn priority_name(p: i64) -> String {
    if p == i32::MAX as i64 {
        return "confirm".into();
    }
    if p == i32::MIN as i64 {
        return "first".into();
    }
    let named = PRIORITIES
        .iter()
        .rfind(|(v, _)| *v <= p && *v != i32::MAX as i64);
    match named {
        Some((v, n)) if *v == p => n.to_string(),
        Some((v, n)) => format!("{n}+{}", p - v),
        None => format!("defrag{}", p + 400),
    }
}

/// Draws the view.
pub fn draw(f: &mut Frame, body: Rect, app: &App) {
    let [table_area, helpers] =
        Layout::vertical([Constraint::Min(3), Constraint::Length(3)]).areas(body);
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
    let line = if app.helpers.is_empty() {
        Line::from(Span::styled("no helpers loaded", style::note()))
    } else {
        Line::from(
            app.helpers
                .iter()
                .map(|(h, _)| Span::raw(format!("{h}  ")))
                .collect::<Vec<_>>(),
        )
    };
    f.render_widget(
        Paragraph::new(line).block(Block::bordered().title(" Application helpers ")),
        helpers,
    );
}
