//! The counters view: the conntrack statistics as rates per second with a sparkline of
//! the last samples each; the pipeline's verdicts per hook (with the rate of packets
//! entering it), its totals, drops by reason, and the helpers' failures (no helpers
//! exist yet: the section says so).

use super::fmt;
use super::rates::{Rates, Series};
use super::state::App;
use super::style;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Row, Sparkline, Table};
use ratatui::Frame;

/// Width of a statistic's name, total and rate columns.
const NAME_W: u16 = 15;
/// Width of a total.
const TOTAL_W: u16 = 13;
/// Width of a rate.
const RATE_W: u16 = 10;

/// Draws the view.
pub fn draw(f: &mut Frame, body: Rect, app: &App) {
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(body);
    draw_ct_rates(f, left, &app.ct_rates);
    let [hooks, totals, drops, helpers] = Layout::vertical([
        Constraint::Length(9),
        Constraint::Length(4),
        Constraint::Min(3),
        Constraint::Length(3),
    ])
    .areas(right);
    draw_hooks(f, hooks, app);
    draw_totals(f, totals, app);
    draw_drops(f, drops, app);
    draw_helpers(f, helpers, app);
}

/// One statistic's row: name, total, rate, sparkline.
fn draw_series(f: &mut Frame, area: Rect, s: &Series) {
    let [name, total, rate, spark] = Layout::horizontal([
        Constraint::Length(NAME_W),
        Constraint::Length(TOTAL_W),
        Constraint::Length(RATE_W),
        Constraint::Min(0),
    ])
    .areas(area);
    f.render_widget(Span::styled(s.name.clone(), style::label()), name);
    f.render_widget(Line::from(fmt::count(s.total)).right_aligned(), total);
    let r = s.rate().map_or_else(|| "…".to_string(), fmt::rate);
    f.render_widget(Line::from(format!("{r}/s")).right_aligned(), rate);
    let data = s.spark();
    // The newest sample at the right edge.
    let width = usize::from(spark.width.saturating_sub(1));
    let tail = &data[data.len().saturating_sub(width)..];
    let spark_area = Rect {
        x: spark.x + 1,
        width: spark.width.saturating_sub(1),
        ..spark
    };
    f.render_widget(
        Sparkline::default()
            .data(tail)
            .style(Style::new().fg(Color::Cyan)),
        spark_area,
    );
}

fn draw_ct_rates(f: &mut Frame, area: Rect, rates: &Rates) {
    let block = Block::bordered().title(" Conntrack statistics: totals, rates per second ");
    let inner = block.inner(area);
    f.render_widget(block, area);
    if rates.series.is_empty() {
        f.render_widget(Span::styled("waiting for samples…", style::note()), inner);
        return;
    }
    let [head, rows] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(inner);
    f.render_widget(
        Line::from(Span::styled(
            format!(
                "{:<nw$}{:>tw$}{:>rw$}  history (one bar per poll)",
                "counter",
                "total",
                "rate",
                nw = NAME_W as usize,
                tw = TOTAL_W as usize,
                rw = RATE_W as usize
            ),
            style::header(),
        )),
        head,
    );
    for (y, s) in (rows.y..rows.bottom()).zip(&rates.series) {
        draw_series(
            f,
            Rect {
                y,
                height: 1,
                ..rows
            },
            s,
        );
    }
}

fn draw_hooks(f: &mut Frame, area: Rect, app: &App) {
    let block = Block::bordered().title(" Verdicts per hook ");
    let Some(c) = &app.counters else {
        f.render_widget(
            Paragraph::new(Span::styled("waiting…", style::note())).block(block),
            area,
        );
        return;
    };
    let rows: Vec<Row> = c
        .hooks
        .iter()
        .map(|h| {
            let rate = app
                .engine_rates
                .get(&h.hook)
                .and_then(Series::rate)
                .map_or_else(|| "…".into(), fmt::rate);
            Row::new(vec![
                h.hook.clone(),
                fmt::short(h.entered),
                format!("{rate}/s"),
                fmt::short(h.accepted),
                fmt::short(h.dropped),
                fmt::short(h.queued),
                fmt::short(h.stolen),
                fmt::short(h.repeated),
            ])
        })
        .collect();
    let w = Constraint::Length(8);
    let table = Table::new(
        rows,
        [
            Constraint::Length(11),
            w,
            Constraint::Length(9),
            w,
            w,
            w,
            w,
            w,
        ],
    )
    .header(
        Row::new(vec![
            "hook", "entered", "rate", "accepted", "dropped", "queued", "stolen", "repeated",
        ])
        .style(style::header()),
    )
    .block(block);
    f.render_widget(table, area);
}

fn draw_totals(f: &mut Frame, area: Rect, app: &App) {
    let block = Block::bordered().title(" Pipeline ");
    let mut spans = Vec::new();
    if let Some(c) = &app.counters {
        for (k, v) in &c.totals {
            spans.push(Span::styled(format!("{k} "), style::label()));
            spans.push(Span::raw(format!("{}  ", fmt::count(*v))));
        }
    }
    f.render_widget(
        Paragraph::new(Line::from(spans))
            .wrap(ratatui::widgets::Wrap { trim: true })
            .block(block),
        area,
    );
}

fn draw_drops(f: &mut Frame, area: Rect, app: &App) {
    let block = Block::bordered().title(" Drops by reason ");
    let mut lines = Vec::new();
    if let Some(c) = &app.counters {
        for (k, v) in &c.drops_by_reason {
            lines.push(Line::from(format!("{:>12}  {k}", fmt::count(*v))));
        }
        for (k, v) in &c.parse_drops {
            lines.push(Line::from(format!(
                "{:>12}  {k} (before PREROUTING)",
                fmt::count(*v)
            )));
        }
        for (k, v) in &c.panics {
            lines.push(Line::from(Span::styled(
                format!("{:>12}  panics of plugin {k}", fmt::count(*v)),
                style::error(),
            )));
        }
        if lines.is_empty() {
            lines.push(Line::from(Span::styled("no drops", style::note())));
        }
    }
    f.render_widget(Paragraph::new(lines).block(block), area);
}

fn draw_helpers(f: &mut Frame, area: Rect, app: &App) {
    let block = Block::bordered().title(" Helper failures ");
    let line = if app.helpers.is_empty() {
        Line::from(Span::styled("no helpers loaded", style::note()))
    } else {
        Line::from(
            app.helpers
                .iter()
                .map(|(h, n)| Span::raw(format!("{h}: {}  ", fmt::count(*n))))
                .collect::<Vec<_>>(),
        )
    };
    f.render_widget(Paragraph::new(line).block(block), area);
}
