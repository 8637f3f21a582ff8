//! The expectations view: each expectation's tuple, master connection, helper, class,
//! flags and time left (the conntrack plugin's `expect-list` records).

use super::fmt;
use super::state::App;
use super::style;
use brickwall_wire::ip_proto;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Span;
use ratatui::widgets::{Block, Paragraph, Row, Table};
use ratatui::Frame;

/// Draws the view.
pub fn draw(f: &mut Frame, body: Rect, app: &App) {
    let rows = app.visible_expects();
    let mut title = format!(" Expectations: {} ", rows.len());
    if !app.filter.text.is_empty() {
        title.push_str(&format!("· filter \"{}\" ", app.filter.text));
    }
    let block = Block::bordered().title(title);
    if let Some(e) = &app.expect_error {
        let p = Paragraph::new(Span::styled(
            format!("cannot read them: {e}"),
            style::error(),
        ));
        f.render_widget(p.block(block), body);
        return;
    }
    if rows.is_empty() {
        let why = if app.helpers.list.is_empty() {
            "no expectations (application helpers create them; none are configured)"
        } else {
            "no expectations (application helpers create them: see the plugins view)"
        };
        let p = Paragraph::new(Span::styled(why, style::note()));
        f.render_widget(p.block(block), body);
        return;
    }
    let body_rows: Vec<Row> = rows
        .iter()
        .skip(app.expect_row)
        .map(|e| {
            Row::new(vec![
                fmt::secs(e.timeout),
                ip_proto::Label(e.protonum).to_string(),
                e.tuple.words(),
                e.master.words(),
                e.helper.clone(),
                e.class.to_string(),
                e.flags.join(","),
            ])
        })
        .collect();
    let table = Table::new(
        body_rows,
        [
            Constraint::Length(9),
            Constraint::Length(7),
            Constraint::Min(30),
            Constraint::Min(30),
            Constraint::Length(10),
            Constraint::Length(5),
            Constraint::Length(18),
        ],
    )
    .header(
        Row::new(vec![
            "time left",
            "proto",
            "expected tuple",
            "master",
            "helper",
            "class",
            "flags",
        ])
        .style(style::header()),
    )
    .block(block);
    f.render_widget(table, body);
}
