//! The status bar: the engine's phase, frames and clock, the socket, when the data was
//! last refreshed, and errors ("disconnected, retrying" while the engine is away). While
//! a filter is typed, the bar is its prompt.

use super::fmt;
use super::state::{App, Link};
use super::style;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

/// Draws the bar.
pub fn draw(f: &mut Frame, area: Rect, app: &App) {
    if let Some(text) = &app.editing {
        let line = Line::from(vec![
            Span::styled("filter: /", style::label()),
            Span::raw(text.clone()),
            Span::styled("▏", style::label()),
            Span::styled("   Enter apply · Esc cancel", style::note()),
        ]);
        f.render_widget(Paragraph::new(line), area);
        return;
    }
    let mut spans = Vec::new();
    match &app.link {
        Link::Down(why) => spans.push(Span::styled(
            format!(" disconnected, retrying: {why} "),
            style::error(),
        )),
        Link::Connecting => spans.push(Span::styled(" connecting… ", style::note())),
        Link::Up => {
            let (phase, frames, now) = app
                .status
                .as_ref()
                .map_or(("?", 0, 0), |s| (s.phase.name(), s.frames, s.now_ns));
            spans.push(Span::styled(
                format!(" {phase} "),
                Style::new().fg(Color::Black).bg(Color::Green),
            ));
            spans.push(Span::raw(format!(
                " frames {} · engine clock {} UTC",
                fmt::count(frames),
                fmt::utc(now)
            )));
        }
    }
    spans.push(Span::raw(format!(" · {}", app.socket)));
    if let Some(t) = app.refreshed {
        spans.push(Span::raw(format!(
            " · refreshed {:.1}s ago",
            t.elapsed().as_secs_f64()
        )));
    }
    if let Some(e) = &app.error {
        spans.push(Span::raw(" "));
        spans.push(Span::styled(format!(" {e} "), style::error()));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}
