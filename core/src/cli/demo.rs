//! `brickwall demo` and `brickwall generate`: synthetic traffic, replayed with the
//! embedded demo config or written to a pcap file.

use brickwall_core::config::Config;
use brickwall_core::engine::Engine;
use brickwall_core::gen::{GenConfig, Generator};
use brickwall_core::io::GenSource;
use brickwall_core::pcap::PcapWriter;
use brickwall_core::wire::LinkType;
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
}

impl TrafficArgs {
    fn config(&self) -> GenConfig {
        GenConfig {
            seed: self.seed,
            tcp_flows: self.tcp,
            udp_flows: self.udp,
            icmp_flows: self.icmp,
            ..GenConfig::default()
        }
    }
}

/// Arguments of `brickwall demo`.
#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    #[command(flatten)]
    traffic: TrafficArgs,
    /// Config file instead of the embedded demo config.
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// Write the per-packet report (JSON lines) here; `-` for standard output.
    #[arg(long)]
    report: Option<PathBuf>,
    /// Write the accepted packets to this pcap file.
    #[arg(long)]
    write: Option<PathBuf>,
    #[command(flatten)]
    control: super::replay::ControlArgs,
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

/// Runs `brickwall demo`.
pub fn run(a: DemoArgs) -> Result<(), String> {
    let engine = match &a.config {
        Some(p) => super::build_engine(Some(p))?,
        None => {
            let cfg = Config::parse(DEMO_CONFIG, "<embedded demo>").map_err(|e| e.to_string())?;
            Engine::from_config(&cfg, Path::new("."), "<embedded demo>")
                .map_err(|e| e.to_string())?
        }
    };
    print!("{}", super::hooks::render(&engine));
    let mut source = GenSource::new(a.traffic.config());
    let label = format!(
        "the generator ({} TCP, {} UDP, {} ICMP flows, seed {})",
        a.traffic.tcp, a.traffic.udp, a.traffic.icmp, a.traffic.seed
    );
    let session = a.control.start(&engine)?;
    let outputs = super::replay::RunOutputs {
        report: a.report,
        write: a.write,
        quiet: false,
        progress_in_bytes: false,
    };
    let summary =
        super::replay::run_source(&engine, &mut source, &label, outputs, session.as_ref())?;
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
