//! The help overlay (`?`): every key and what it does.

use super::keys::HELP;
use super::style;
use super::view::centered;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};
use ratatui::Frame;

/// Draws the overlay over `body`.
pub fn draw(f: &mut Frame, body: Rect) {
    let area = centered(body, 70, 70);
    f.render_widget(Clear, area);
    let mut lines: Vec<Line> = HELP
        .iter()
        .map(|(k, what)| {
            Line::from(vec![
                Span::styled(format!("{k:>20}  "), style::label()),
                Span::raw(*what),
            ])
        })
        .collect();
    lines.push(Line::raw(""));
    lines.push(Line::from(Span::styled(
        "Filter words: tcp udp icmp …, ESTABLISHED TIME_WAIT …, src= dst= sport= dport= \
         mark= zone= go to the engine (whole table); other words match this page's rows.",
        style::note(),
    )));
    lines.push(Line::from(Span::styled(
        "Any key closes this help.",
        style::note(),
    )));
    let p = Paragraph::new(lines)
        .wrap(ratatui::widgets::Wrap { trim: true })
        .block(Block::bordered().title(" Help: brickwall top "));
    f.render_widget(p, area);
}
