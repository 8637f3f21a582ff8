//! Drawing the dashboard from an [`App`]: the tab bar, the current view's body, the
//! status bar, and the overlays (help, the open chain). Rendering only reads the state;
//! [`geometry`] tells the state, before each frame, how much room the paging views have,
//! from the same layout the views draw with.

use super::state::{App, Geometry, View};
use super::{style, view_status};
use super::{view_chains, view_conns, view_counters, view_expect, view_help, view_plugins};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Tabs;
use ratatui::Frame;

/// The frame's parts: tab bar, body, status bar.
pub fn areas(area: Rect) -> (Rect, Rect, Rect) {
    let [tabs, body, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area);
    (tabs, body, status)
}

/// The room the paging views have on a screen of `area`.
pub fn geometry(area: Rect) -> Geometry {
    let (_, body, _) = areas(area);
    let (cols, rows) = view_chains::grid_size(body);
    Geometry {
        heat_cols: cols,
        heat_rows: rows,
        conn_rows: view_conns::table_rows(body),
    }
}

/// Draws the whole screen.
pub fn draw(f: &mut Frame, app: &App) {
    let (tabs, body, status) = areas(f.area());
    draw_tabs(f, tabs, app);
    match app.view {
        View::Chains => view_chains::draw(f, body, app),
        View::Conns => view_conns::draw(f, body, app),
        View::Expect => view_expect::draw(f, body, app),
        View::Counters => view_counters::draw(f, body, app),
        View::Plugins => view_plugins::draw(f, body, app),
    }
    view_status::draw(f, status, app);
    if app.view == View::Chains && app.chains.open {
        view_chains::draw_open_chain(f, body, app);
    }
    if app.help {
        view_help::draw(f, body);
    }
    if app.monochrome {
        for cell in f.buffer_mut().content.iter_mut() {
            cell.set_fg(Color::Reset);
            cell.set_bg(Color::Reset);
        }
    }
}

/// The tab bar: one tab per view, the current one highlighted, `? help` at the right.
fn draw_tabs(f: &mut Frame, area: Rect, app: &App) {
    let titles: Vec<Line> = View::ALL
        .iter()
        .enumerate()
        .map(|(i, v)| Line::from(format!("{} {}", i + 1, v.title())))
        .collect();
    let tabs = Tabs::new(titles)
        .select(app.view.index())
        .style(Style::new().fg(Color::Gray))
        .highlight_style(
            Style::new()
                .fg(Color::Black)
                .bg(Color::Cyan)
                .add_modifier(Modifier::BOLD),
        );
    let [left, right] =
        Layout::horizontal([Constraint::Min(0), Constraint::Length(30)]).areas(area);
    f.render_widget(tabs, left);
    f.render_widget(
        Line::from(vec![
            Span::styled("brickwall top", style::label()),
            Span::raw("  ? help  q quit"),
        ])
        .right_aligned(),
        right,
    );
}

/// A rectangle of `pct_x` × `pct_y` percent of `area`, centred (for overlays).
pub fn centered(area: Rect, pct_x: u16, pct_y: u16) -> Rect {
    let w = area.width * pct_x.min(100) / 100;
    let h = area.height * pct_y.min(100) / 100;
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}
