//! `brickwall replay`: a capture through the engine, with a summary, an optional report
//! and an optional output capture.

use brickwall_control_protocol::conntrack::request::At;
use brickwall_control_protocol::conntrack::response::{ExpectListResponse, ListResponse};
use brickwall_control_protocol::conntrack::Request;
use brickwall_core::control::{BoundSession, ControlSession};
use brickwall_core::engine::Engine;
use brickwall_core::io::{FrameSource, PcapSource};
use brickwall_core::replay::{replay, ReplayOptions, ReplaySummary};
use std::io::IsTerminal;
use std::path::PathBuf;

/// Arguments of `brickwall replay`.
#[derive(clap::Args, Debug)]
pub struct ReplayArgs {
    /// The capture (pcap or pcapng).
    pub file: PathBuf,
    /// Config file (default: the embedded replay config).
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// Write the per-packet report (JSON lines) here; `-` for standard output.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Write the accepted packets to this pcap file.
    #[arg(long)]
    pub write: Option<PathBuf>,
    /// Print no summary, and log errors only.
    #[arg(long, short)]
    pub quiet: bool,
    /// A ruleset in nftables' syntax (as `nft -f` reads it, or `nft list ruleset`
    /// prints it): its filter chains for the filter, beside the config's own (in place
    /// of the embedded default's), its nat chains for the NAT plugin (added if the
    /// config has none).
    #[arg(long, value_name = "FILE")]
    pub ruleset: Option<PathBuf>,
    /// At the end, print the connection table as `conntrack -L` does (timeouts as of
    /// the last packet's time); `--ct-list expect` prints the expectation table instead.
    #[arg(
        long,
        value_name = "TABLE",
        num_args = 0..=1,
        default_missing_value = "conntrack",
        value_parser = ["conntrack", "expect"]
    )]
    pub ct_list: Option<String>,
    #[command(flatten)]
    pub control: ControlArgs,
}

/// The control socket options of `replay` and `demo`.
#[derive(clap::Args, Debug, Clone)]
pub struct ControlArgs {
    /// Serve the control socket at PATH while the run lasts (`brickwall ct --socket
    /// PATH` talks to it; the usual place is /run/brickwall/control.sock).
    #[arg(long, value_name = "PATH")]
    pub control: Option<PathBuf>,
    /// After the run, keep serving the control socket for SECS seconds (SIGINT or
    /// SIGTERM ends the wait).
    #[arg(long, value_name = "SECS", default_value_t = 0, requires = "control")]
    pub linger: u64,
    /// Also serve Prometheus metrics at http://ADDR/metrics (`PORT` or `:PORT`: on the
    /// loopback interface only).
    #[arg(long, value_name = "ADDR", requires = "control")]
    pub metrics: Option<String>,
}

impl ControlArgs {
    /// Starts serving `engine` if `--control` was given.
    pub fn start(&self, engine: &Engine) -> Result<Option<ControlSession>, String> {
        match self.bind()? {
            Some(b) => b.serve(engine).map(Some),
            None => Ok(None),
        }
    }

    /// Binds the control socket (and the metrics port) if `--control` was given,
    /// serving nothing yet.
    pub fn bind(&self) -> Result<Option<BoundSession>, String> {
        let Some(path) = &self.control else {
            return Ok(None);
        };
        let mut s = BoundSession::bind(path)?;
        tracing::info!("serving the control socket at {}", path.display());
        if let Some(a) = &self.metrics {
            let addr = brickwall_core::control::metrics::parse_addr(a)?;
            let bound = s.bind_metrics(addr)?;
            tracing::info!("serving metrics at http://{bound}/metrics");
        }
        Ok(Some(s))
    }

    /// Lingers after the run (unless it was interrupted), then removes the socket.
    pub fn finish(&self, session: Option<ControlSession>) {
        let Some(s) = session else {
            return;
        };
        if self.linger > 0 && !s.interrupted() {
            tracing::info!(
                "run finished; serving {} for {} more seconds",
                s.path().display(),
                self.linger
            );
            s.linger(self.linger);
        } else {
            s.linger(0);
        }
    }
}

/// Prints the conntrack plugin's connection (`conntrack`) or expectation (`expect`)
/// table, as of packet time `now_ns`.
pub fn print_ct_list(engine: &Engine, table: &str, now_ns: u64) -> Result<(), String> {
    let ct = engine
        .plugin("conntrack")
        .ok_or("--ct-list: no conntrack plugin is loaded")?;
    let (lines, what): (Vec<String>, _) = match table {
        "conntrack" => {
            let answer = ct.control(&Request::list_at(now_ns).to_vec())?;
            let page: ListResponse = serde_json::from_slice(&answer)
                .map_err(|e| format!("--ct-list: conntrack's answer: {e}"))?;
            (page.lines().map(str::to_string).collect(), "flow entries")
        }
        "expect" => {
            let answer = ct.control(&Request::ExpectList(At { now_ns }).to_vec())?;
            let list: ExpectListResponse = serde_json::from_slice(&answer)
                .map_err(|e| format!("--ct-list: conntrack's answer: {e}"))?;
            (list.lines().collect(), "expectations")
        }
        other => {
            return Err(format!(
                "--ct-list: unknown table `{other}` (conntrack or expect)"
            ))
        }
    };
    for l in &lines {
        println!("{l}");
    }
    eprintln!(
        "brickwall (conntrack-tools compatible): {} {what} have been shown.",
        lines.len()
    );
    Ok(())
}

/// Opens the report destination (`-` is standard output).
pub fn open_report(path: &Option<PathBuf>) -> Result<Option<Box<dyn std::io::Write>>, String> {
    Ok(match path {
        None => None,
        Some(p) if p.as_os_str() == "-" => {
            Some(Box::new(std::io::BufWriter::new(std::io::stdout())))
        }
        Some(p) => Some(Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).map_err(|e| format!("{}: {e}", p.display()))?,
        ))),
    })
}

/// A progress bar on standard error when it is a terminal.
pub fn progress_bar(unit_bytes: bool) -> Option<Box<dyn FnMut(u64, u64)>> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let style = if unit_bytes {
        "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}"
    } else {
        "{bar:40} {pos}/{len} frames eta {eta}"
    };
    let bar = indicatif::ProgressBar::new(0)
        .with_style(indicatif::ProgressStyle::with_template(style).ok()?);
    Some(Box::new(move |done, total| {
        bar.set_length(total);
        bar.set_position(done);
        if done >= total {
            bar.finish_and_clear();
        }
    }))
}

/// What a run writes besides its summary, and how it shows progress.
pub struct RunOutputs {
    /// The per-packet report (`-` for standard output).
    pub report: Option<PathBuf>,
    /// The capture of accepted packets.
    pub write: Option<PathBuf>,
    /// No summary, no progress bar.
    pub quiet: bool,
    /// Progress in bytes of the file (else in frames).
    pub progress_in_bytes: bool,
}

/// Runs a source through an engine with the CLI's options and prints the summary;
/// `session` is the control socket the run publishes its status to.
pub fn run_source(
    engine: &Engine,
    source: &mut dyn FrameSource,
    label: &str,
    outputs: RunOutputs,
    session: Option<&ControlSession>,
) -> Result<ReplaySummary, String> {
    let RunOutputs {
        report,
        write,
        quiet,
        progress_in_bytes,
    } = outputs;
    let report = &report;
    let to_stdout = report.as_ref().is_some_and(|p| p.as_os_str() == "-");
    let opts = ReplayOptions {
        report: open_report(report)?,
        output: write,
        progress: if quiet {
            None
        } else {
            progress_bar(progress_in_bytes)
        },
        live: session.map(|s| s.status().clone()),
        stop: session.map(|s| s.stop_flag()),
        ..ReplayOptions::default()
    };
    let summary = replay(engine, source, opts).map_err(|e| format!("{label}: {e}"))?;
    if summary.interrupted {
        tracing::warn!("interrupted after {} frames", summary.frames);
    }
    if !quiet {
        let text = super::summary::render(label, &summary, engine);
        if to_stdout {
            eprint!("{text}");
        } else {
            print!("{text}");
        }
    }
    Ok(summary)
}

/// Runs `brickwall replay`.
pub fn run(a: ReplayArgs) -> Result<(), String> {
    let engine = super::build_engine_with(a.config.as_deref(), a.ruleset.as_deref())?;
    let mut source = PcapSource::open(&a.file).map_err(|e| format!("{}: {e}", a.file.display()))?;
    let label = a.file.display().to_string();
    let session = a.control.start(&engine)?;
    let outputs = RunOutputs {
        report: a.report,
        write: a.write,
        quiet: a.quiet,
        progress_in_bytes: true,
    };
    let summary = run_source(&engine, &mut source, &label, outputs, session.as_ref())?;
    if let Some(table) = &a.ct_list {
        print_ct_list(&engine, table, summary.last_ts_ns)?;
    }
    let interrupted = summary.interrupted;
    a.control.finish(session);
    if interrupted {
        return Err("interrupted by a signal".into());
    }
    Ok(())
}
