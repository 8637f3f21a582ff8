//! The counters view: the conntrack statistics as rates per second with a sparkline of
//! the last samples each; the pipeline's verdicts per hook (with the rate of packets
//! entering it), its totals, drops by reason, and the application helpers' counters
//! summed over every helper: failures by kind, disabled helpers, drops (their own
//! verdicts and fail-closed ones), re-instantiations, refused expectations (or that
//! none are configured).

use super::derive;
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
    let helper_lines = flow(helper_groups(app), right.width.saturating_sub(2));
    let helpers_h = u16::try_from(helper_lines.len())
        .unwrap_or(u16::MAX)
        .saturating_add(2);
    let [hooks, totals, drops, helpers] = Layout::vertical([
        Constraint::Length(9),
        Constraint::Length(4),
        Constraint::Min(3),
        Constraint::Length(helpers_h),
    ])
    .areas(right);
    draw_hooks(f, hooks, app);
    draw_totals(f, totals, app);
    draw_drops(f, drops, app);
    draw_helpers(f, helpers, app, helper_lines);
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
    let rows: Vec<Row> = derive::hooks_in_order(c)
        .into_iter()
        .map(|(hook, h)| {
            let rate = app
                .engine_rates
                .get(hook)
                .and_then(Series::rate)
                .map_or_else(|| "…".into(), fmt::rate);
            Row::new(vec![
                hook.to_string(),
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
        for (k, v) in derive::pipeline_totals(c) {
            spans.push(Span::styled(format!("{k} "), style::label()));
            spans.push(Span::raw(format!("{}  ", fmt::count(v))));
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
        for (k, v) in &c.drops_by_reason.0 {
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

/// One item of a summary: what joins it to the item before it on a line (` · `, or
/// a space for a detail of that item), and spans that stay on one line.
type Item = (&'static str, Vec<Span<'static>>);

/// The helpers' section as groups of items, each group starting a line: the failures
/// (with their kinds) and the disabled helpers; the drops and re-instantiations; the
/// expectations. One note when no helper is configured.
fn helper_groups(app: &App) -> Vec<Vec<Item>> {
    let h = &app.helpers;
    if h.list.is_empty() {
        return vec![vec![(
            "",
            vec![Span::styled(
                "no application helpers configured",
                style::note(),
            )],
        )]];
    }
    let kinds = format!(
        "(traps {}, budget {}, memory {}, oversize {})",
        fmt::count(h.total(|s| s.traps)),
        fmt::count(h.total(|s| s.budget_exhausted)),
        fmt::count(h.total(|s| s.memory_exceeded)),
        fmt::count(h.total(|s| s.state_oversize)),
    );
    let item =
        |label: &str, n: u64, alarm: bool| -> Item { (" · ", pair(label, n, alarm).into()) };
    vec![
        vec![
            item("helper failures", h.total(|s| s.failures()), true),
            (" ", vec![Span::raw(kinds)]),
            item("disabled", h.disabled() as u64, true),
        ],
        vec![
            item("helper drops", h.total(|s| s.drops), false),
            item("fail-closed", h.total(|s| s.failure_drops), true),
            item("re-instantiations", h.total(|s| s.reinstantiations), false),
        ],
        vec![
            item("expectations", h.total(|s| s.expectations), false),
            item("refused", h.expect_failed, false),
            item("unknown helper requested", h.unknown_requested, false),
        ],
    ]
}

/// Lays the groups out in lines of at most `width` columns: each group starts a line,
/// its items follow one another, joined by their glue, while they fit (an item wider
/// than the line gets one of its own, cut at the edge).
fn flow(groups: Vec<Vec<Item>>, width: u16) -> Vec<Line<'static>> {
    let width = usize::from(width);
    let mut lines = Vec::new();
    for group in groups {
        let mut line: Vec<Span<'static>> = Vec::new();
        let mut used = 0;
        for (glue, item) in group {
            let w: usize = item.iter().map(Span::width).sum();
            let g = glue.chars().count();
            if !line.is_empty() && used + g + w > width {
                lines.push(Line::from(std::mem::take(&mut line)));
                used = 0;
            }
            if !line.is_empty() {
                line.push(Span::raw(glue));
                used += g;
            }
            line.extend(item);
            used += w;
        }
        lines.push(Line::from(line));
    }
    lines
}

/// A label and its value, as the pipeline's totals show them (the value in the error
/// style when `alarm` and not 0).
fn pair(label: &str, n: u64, alarm: bool) -> [Span<'static>; 2] {
    let v = Span::raw(fmt::count(n));
    [
        Span::styled(format!("{label} "), style::label()),
        if alarm && n > 0 {
            v.style(style::error())
        } else {
            v
        },
    ]
}

fn draw_helpers(f: &mut Frame, area: Rect, app: &App, lines: Vec<Line<'static>>) {
    let block = Block::bordered().title(format!(
        " Application helpers: {} configured ",
        app.helpers.list.len()
    ));
    f.render_widget(Paragraph::new(lines).block(block), area);
}
