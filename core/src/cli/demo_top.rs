//! `brickwall demo` with the dashboard open on its own run: the engine replays the
//! generator's traffic, paced so that the table visibly fills and drains, and serves a
//! control socket that the dashboard, on this terminal, attaches to like any
//! `brickwall top`. Closing the dashboard (q) stops a run that has not finished; the
//! hooks and the summary are printed on the restored terminal afterwards.

use super::demo::DemoArgs;
use super::replay::{ControlArgs, RunOutputs};
use std::os::unix::fs::DirBuilderExt;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// How long the paced run lasts without `--rate`.
const DEMO_SECS: u64 = 30;

/// How often the dashboard polls the engine.
const INTERVAL: Duration = Duration::from_millis(500);

/// Runs the demo with the dashboard.
pub fn run(a: DemoArgs) -> Result<(), String> {
    let engine = super::demo::engine(&a)?;
    let (sock, private) = match &a.control.control {
        Some(p) => (p.clone(), None),
        None => {
            let d = private_dir()?;
            (d.join("control.sock"), Some(d))
        }
    };
    let control = ControlArgs {
        control: Some(sock.clone()),
        ..a.control.clone()
    };
    let session = control.start(&engine)?.ok_or("no control socket")?;
    let total = brickwall_core::gen::frame_count(&a.traffic.config());
    let rate = a.rate.unwrap_or(total.div_ceil(DEMO_SECS).max(1));
    // The flag SIGINT and SIGTERM set ends the dashboard; closing the dashboard sets
    // it, which stops a run still going and ends the wait after a finished one.
    let stop = session.stop_flag();
    let dashboard = {
        let sock = sock.clone();
        std::thread::spawn(move || {
            let r = brickwall_tui::top::run::run_until(&sock, INTERVAL, stop);
            stop.store(true, Ordering::SeqCst);
            r
        })
    };
    let mut source = super::demo::source(&a.traffic, rate);
    let label = super::demo::label(&a.traffic);
    let outputs = RunOutputs {
        report: a.report.clone(),
        write: a.write.clone(),
        quiet: true,
        progress_in_bytes: false,
    };
    let summary = super::replay::run_source(&engine, &mut *source, &label, outputs, Some(&session));
    // The finished run stays on screen until the dashboard is closed (or a signal); a
    // run that failed closes it at once, so that the error is seen.
    if summary.is_err() {
        stop.store(true, Ordering::SeqCst);
    }
    session.serve_until(|| false);
    stop.store(true, Ordering::SeqCst);
    let shown = dashboard
        .join()
        .unwrap_or_else(|_| Err("the dashboard panicked".into()));
    if let Some(d) = private {
        let _ = std::fs::remove_dir_all(d);
    }
    let summary = summary?;
    print!("{}", super::hooks::render(&engine));
    print!("{}", super::summary::render(&label, &summary, &engine));
    if summary.interrupted {
        println!(
            "(the run was stopped after {} of {total} frames when the dashboard closed)",
            summary.frames
        );
    }
    shown.map_err(|e| format!("brickwall top: {e}"))
}

/// A directory only this user can enter, for the demo's control socket.
fn private_dir() -> Result<PathBuf, String> {
    let d = std::env::temp_dir().join(format!("brickwall-demo-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&d)
        .map_err(|e| format!("{}: {e}", d.display()))?;
    Ok(d)
}
