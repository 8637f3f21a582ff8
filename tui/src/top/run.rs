//! The dashboard's loop, after ratatui's examples: take what the fetch thread delivered,
//! tell it what the screen now needs, draw when something changed (and a few times a
//! second for the clock), and wait at most [`TICK`] for a key. Network calls happen in
//! the fetch thread only, so a slow or vanished engine never freezes the screen.

use super::fetch::{Fetcher, Wants};
use super::keys;
use super::state::{Action, App};
use super::term::Term;
use super::view;
use ratatui::crossterm::event::{self, Event};
use ratatui::layout::Rect;
use std::io::IsTerminal;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Longest wait for a key before the loop looks at the fetch thread again.
pub const TICK: Duration = Duration::from_millis(50);

/// Redraw at least this often (the status bar's "refreshed … ago").
const REDRAW: Duration = Duration::from_millis(250);

/// Runs the dashboard against the engine at `socket`, polling every `interval`, until
/// the user quits.
pub fn run(socket: &Path, interval: Duration) -> Result<(), String> {
    run_until(socket, interval, &AtomicBool::new(false))
}

/// [`run`], also ending (and restoring the terminal) when `stop` is set: how a program
/// that opened the dashboard on its own run (`brickwall demo`) closes it on a signal.
pub fn run_until(socket: &Path, interval: Duration, stop: &AtomicBool) -> Result<(), String> {
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Err("needs a terminal (standard input and output)".into());
    }
    let fetcher = Fetcher::spawn(socket.to_path_buf(), interval);
    let mut term = Term::enter().map_err(|e| format!("cannot set up the terminal: {e}"))?;
    let mut app = App::new(socket.display().to_string());
    // https://no-color.org: set and not empty, no colours.
    app.monochrome = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let mut sent: Option<Wants> = None;
    let mut dirty = true;
    let mut drawn = Instant::now();
    while !stop.load(Ordering::SeqCst) {
        while let Some(u) = fetcher.try_recv() {
            app.apply(u);
            dirty = true;
        }
        let size = term.terminal.size().map_err(|e| e.to_string())?;
        app.set_geometry(view::geometry(Rect::new(0, 0, size.width, size.height)));
        let w = app.wants();
        if sent.as_ref() != Some(&w) {
            fetcher.want(w.clone());
            sent = Some(w);
        }
        if dirty || drawn.elapsed() >= REDRAW {
            term.terminal
                .draw(|f| view::draw(f, &app))
                .map_err(|e| e.to_string())?;
            dirty = false;
            drawn = Instant::now();
        }
        if event::poll(TICK).map_err(|e| e.to_string())? {
            match event::read().map_err(|e| e.to_string())? {
                Event::Key(k) => {
                    if let Some(key) = keys::from_crossterm(k) {
                        if app.on_key(key) == Action::Quit {
                            return Ok(());
                        }
                        dirty = true;
                    }
                }
                Event::Resize(..) => dirty = true,
                _ => {}
            }
        }
    }
    Ok(())
}
