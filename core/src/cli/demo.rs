//! `brickwall demo` and `brickwall generate`: synthetic traffic, replayed with the
//! embedded demo config or written to a pcap file.

use brickwall_core::config::Config;
use brickwall_core::engine::Engine;
use brickwall_core::gen::{GenConfig, Generator};
use brickwall_core::io::{FrameSource, GenSource, Paced};
use brickwall_core::pcap::PcapWriter;
use brickwall_core::wire::LinkType;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

/// The demo's embedded config.
pub const DEMO_CONFIG: &str = include_str!("demo.yaml");

/// Traffic shape options shared by `demo` and `generate`.
#[derive(clap::Args, Debug)]
pub struct TrafficArgs {
    /// TCP flows (handshake, data, teardown).
    #[arg(long, default_value_t = 400)]
    pub tcp: u32,
    /// UDP flows.
    #[arg(long, default_value_t = 200)]
    pub udp: u32,
    /// ICMP echo flows.
    #[arg(long, default_value_t = 100)]
    pub icmp: u32,
    /// Seed of the generator.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Sets of sessions for the helpers after the flows (FTP passive and active, TFTP,
    /// IRC DCC, PPTP, SANE, Amanda, SIP: each announces a data connection, RELATED to
    /// it), at most 50.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(0..=50))]
    pub helper_sessions: u32,
}

impl TrafficArgs {
    /// The generator's configuration.
    pub fn config(&self) -> GenConfig {
        GenConfig {
            seed: self.seed,
            tcp_flows: self.tcp,
            udp_flows: self.udp,
            icmp_flows: self.icmp,
            helper_sessions: self.helper_sessions,
            ..GenConfig::default()
        }
    }
}

/// Arguments of `brickwall demo`.
#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    #[command(flatten)]
    pub(super) traffic: TrafficArgs,
    /// Config file instead of the embedded demo config.
    #[arg(long, short)]
    pub(super) config: Option<PathBuf>,
    /// Write the per-packet report (JSON lines) here; `-` for standard output.
    #[arg(long)]
    pub(super) report: Option<PathBuf>,
    /// Write the accepted packets to this pcap file.
    #[arg(long)]
    pub(super) write: Option<PathBuf>,
    #[command(flatten)]
    pub(super) control: super::replay::ControlArgs,
    /// Open the dashboard (`brickwall top`) on the run; the default when standard input
    /// and output are a terminal.
    #[arg(long, conflicts_with = "no_top")]
    pub(super) top: bool,
    /// Print the summary only, without the dashboard, also on a terminal.
    #[arg(long)]
    pub(super) no_top: bool,
    /// Replay at most FPS frames per second (0: as fast as it goes, the default without
    /// the dashboard; with it, the default spreads the run over 30 seconds).
    #[arg(long, value_name = "FPS")]
    pub(super) rate: Option<u64>,
}

/// Arguments of `brickwall generate`.
#[derive(clap::Args, Debug)]
pub struct GenerateArgs {
    #[command(flatten)]
    traffic: TrafficArgs,
    /// The pcap file to write.
    #[arg(long, short)]
    out: PathBuf,
}

/// Runs `brickwall demo`: with the dashboard on a terminal (or `--top`), else with a
/// summary.
pub fn run(a: DemoArgs) -> Result<(), String> {
    let report_to_stdout = a.report.as_ref().is_some_and(|p| p.as_os_str() == "-");
    let terminal = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    if a.top && report_to_stdout {
        return Err(
            "--top: the dashboard needs standard output; write the report to a file".into(),
        );
    }
    if a.top || (terminal && !a.no_top && !report_to_stdout) {
        return super::demo_top::run(a);
    }
    run_plain(a)
}

/// The engine of the demo: the config given, else the embedded demo config.
pub(super) fn engine(a: &DemoArgs) -> Result<Engine, String> {
    match &a.config {
        Some(p) => super::build_engine(Some(p)),
        None => {
            let mut cfg =
                Config::parse(DEMO_CONFIG, "<embedded demo>").map_err(|e| e.to_string())?;
            size_table(&mut cfg, demo_buckets(&a.traffic));
            Engine::from_config(&cfg, Path::new("."), "<embedded demo>").map_err(|e| e.to_string())
        }
    }
}

/// Hash buckets for the embedded demo: about one per two flows (a power of two, at
/// least 64 and at most Linux's 262 144), so that the dashboard shows chains of a few
/// nodes filling and draining rather than a quarter of a million empty buckets. From
/// about 260 000 flows on it is the default size.
fn demo_buckets(t: &TrafficArgs) -> usize {
    let flows = (t.tcp as usize) + (t.udp as usize) + (t.icmp as usize);
    (flows / 2).next_power_of_two().clamp(64, 262_144)
}

/// Sets the conntrack plugin's `buckets` in `cfg`.
fn size_table(cfg: &mut Config, buckets: usize) {
    for p in &mut cfg.plugins {
        if p.builtin.as_deref() != Some("conntrack") {
            continue;
        }
        if let serde_yaml_ng::Value::Mapping(m) = &mut p.config {
            m.insert("buckets".into(), (buckets as u64).into());
        }
    }
}

/// What the generator makes, for summaries.
pub(super) fn label(t: &TrafficArgs) -> String {
    format!(
        "the generator ({} TCP, {} UDP, {} ICMP flows, seed {})",
        t.tcp, t.udp, t.icmp, t.seed
    )
}

/// The generator as the demo's source, paced at `rate` frames per second unless 0.
pub(super) fn source(t: &TrafficArgs, rate: u64) -> Box<dyn FrameSource> {
    let g = GenSource::new(t.config());
    if rate == 0 {
        Box::new(g)
    } else {
        Box::new(Paced::new(g, rate))
    }
}

/// `brickwall demo` without the dashboard: the run, then the summary.
fn run_plain(a: DemoArgs) -> Result<(), String> {
    let engine = engine(&a)?;
    print!("{}", super::hooks::render(&engine));
    let mut source = source(&a.traffic, a.rate.unwrap_or(0));
    let label = label(&a.traffic);
    let session = a.control.start(&engine)?;
    let outputs = super::replay::RunOutputs {
        report: a.report,
        write: a.write,
        quiet: false,
        progress_in_bytes: false,
    };
    let summary =
        super::replay::run_source(&engine, &mut *source, &label, outputs, session.as_ref())?;
    a.control.finish(session);
    if summary.interrupted {
        return Err("interrupted by a signal".into());
    }
    Ok(())
}

/// Runs `brickwall generate`.
pub fn generate(a: GenerateArgs) -> Result<(), String> {
    let cfg = a.traffic.config();
    let shown = a.out.display().to_string();
    let mut w = PcapWriter::create(&a.out, LinkType::Ethernet, true)
        .map_err(|e| format!("{shown}: {e}"))?;
    let mut n = 0u64;
    for f in Generator::new(cfg) {
        w.write(f.ts_ns, &f.data, f.data.len() as u32)
            .map_err(|e| format!("{shown}: {e}"))?;
        n += 1;
    }
    w.flush().map_err(|e| format!("{shown}: {e}"))?;
    println!("wrote {n} frames to {shown}");
    Ok(())
}
