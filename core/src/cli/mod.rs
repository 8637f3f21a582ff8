//! Command-line interface: argument definitions and dispatch to the subcommands.

mod demo;
mod demo_top;
mod helper;
mod hooks;
mod log;
mod replay;
mod run;
mod summary;
mod systemd;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// brickwall: a userspace Netfilter engine with connection tracking.
#[derive(Parser, Debug)]
#[command(name = "brickwall", version, about)]
struct Cli {
    /// Log more: info with -v, debug with -vv, trace with -vvv (warnings and errors by
    /// default; `BRICKWALL_LOG`, in `RUST_LOG`'s syntax, overrides).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Replay a pcap or pcapng file through the engine.
    Replay(replay::ReplayArgs),
    /// Bridge the config's `live:` interfaces through the engine, or route between them
    /// with `live.router` (needs CAP_NET_RAW and CAP_NET_ADMIN), until SIGINT or SIGTERM.
    Run(run::RunArgs),
    /// Generate synthetic traffic and replay it with the embedded demo config (no root needed).
    Demo(demo::DemoArgs),
    /// List each hook's callbacks by priority, as `nft list hooks` does.
    Hooks {
        /// Config file (default: the embedded replay config).
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Write synthetic traffic to a pcap file.
    Generate(demo::GenerateArgs),
    /// Query and change a running engine's connection tracking, as conntrack-tools'
    /// `conntrack` does (-L, -G, -D, -U, -F, -C, -S, -E; the expect table).
    Ct(Box<brickwall_tui::ct::CtArgs>),
    /// A running engine's filter chains with their counters, as `nft list ruleset`
    /// prints them (`list`), or their counters zeroed (`reset`).
    Filter(brickwall_tui::filter::FilterArgs),
    /// A running engine's state synchronisation, as conntrackd's options query the
    /// daemon: the external cache (-e), counters (-s), resync (-n), bulk send (-B),
    /// flush (-f).
    Sync(brickwall_tui::sync::SyncArgs),
    /// A live dashboard of a running engine: hash chains, connections, expectations,
    /// counters and plugins, over the control socket.
    Top(brickwall_tui::top::TopArgs),
    /// Tools for helper authors: check a WebAssembly helper component against the
    /// helper world, or run it alone over a capture.
    Helper(helper::HelperArgs),
}

/// Runs the CLI; returns the process exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    let quiet = match &cli.command {
        Command::Replay(a) => a.quiet,
        Command::Run(a) => a.quiet,
        _ => false,
    };
    log::init(log::level(cli.verbose, quiet));
    let r = match cli.command {
        Command::Ct(a) => return brickwall_tui::ct::run(&a),
        Command::Top(a) => return brickwall_tui::top::main(&a),
        Command::Filter(a) => return brickwall_tui::filter::run(&a),
        Command::Sync(a) => return brickwall_tui::sync::run(&a),
        Command::Helper(a) => return helper::main(a),
        Command::Replay(a) => replay::run(a),
        Command::Run(a) => run::run(a),
        Command::Demo(a) => demo::run(a),
        Command::Hooks { config } => hooks::run(config),
        Command::Generate(a) => demo::generate(a),
    };
    match r {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("brickwall: {e}");
            1
        }
    }
}

/// The config used when none is given: no plugins, no local addresses (everything is
/// forwarded). The conntrack and filter plugins join it when they land.
pub const DEFAULT_CONFIG: &str = include_str!("default.yaml");

/// Loads the config at `path`, or the embedded default; returns it with the directory
/// relative plugin paths resolve against and the name errors use.
fn load_config(
    path: Option<&std::path::Path>,
) -> Result<(brickwall_core::config::Config, PathBuf, String), String> {
    use brickwall_core::config::Config;
    match path {
        Some(p) => {
            let cfg = Config::load(p).map_err(|e| e.to_string())?;
            let dir = p.parent().map(PathBuf::from).unwrap_or_default();
            Ok((cfg, dir, p.display().to_string()))
        }
        None => {
            let cfg =
                Config::parse(DEFAULT_CONFIG, "<embedded default>").map_err(|e| e.to_string())?;
            Ok((cfg, PathBuf::from("."), "<embedded default>".to_string()))
        }
    }
}

fn build_engine(path: Option<&std::path::Path>) -> Result<brickwall_core::engine::Engine, String> {
    build_engine_with(path, None)
}

/// As [`build_engine`], with the filter's chains read from an nftables ruleset as well
/// (`--ruleset`).
fn build_engine_with(
    path: Option<&std::path::Path>,
    ruleset: Option<&std::path::Path>,
) -> Result<brickwall_core::engine::Engine, String> {
    let (mut cfg, dir, name) = load_config(path)?;
    if let Some(r) = ruleset {
        with_ruleset(&mut cfg, r, path.is_none())?;
    }
    brickwall_core::engine::Engine::from_config(&cfg, &dir, &name).map_err(|e| e.to_string())
}

/// Points the config's filter plugin at the nftables ruleset `file` (its `ruleset`
/// key), adding the filter if the config has none; with `instead` (the embedded
/// default config), the ruleset replaces the filter's own chains. When the ruleset
/// has nat chains, points the NAT plugin at it as well, adding the builtin NAT plugin
/// if the config has none (it needs conntrack). The file must be readable now.
fn with_ruleset(
    cfg: &mut brickwall_core::config::Config,
    file: &std::path::Path,
    instead: bool,
) -> Result<(), String> {
    let abs =
        std::fs::canonicalize(file).map_err(|e| format!("--ruleset {}: {e}", file.display()))?;
    let text =
        std::fs::read_to_string(&abs).map_err(|e| format!("--ruleset {}: {e}", file.display()))?;
    let filter = plugin_section(cfg, "filter")?;
    if instead {
        filter.remove("chains");
    }
    put_ruleset(filter, &abs, &text);
    // A ruleset it cannot read has no nat chains here: the filter names the error.
    let nat = brickwall_nft::tables(&text).is_ok_and(|tables| {
        tables.iter().any(|t| {
            t.chains
                .iter()
                .any(|c| c.base.as_ref().and_then(|b| b.kind.word()) == Some("nat"))
        })
    });
    if nat {
        if !cfg.plugins.iter().any(|p| is_plugin(p, "conntrack")) {
            return Err(format!(
                "--ruleset {}: its nat chains need the NAT plugin, and NAT needs the conntrack \
                 plugin, which the config does not load",
                file.display()
            ));
        }
        put_ruleset(plugin_section(cfg, "nat")?, &abs, &text);
    }
    Ok(())
}

/// Whether config entry `p` is the enabled plugin `name` (builtin, or a library whose
/// file is `libbrickwall_NAME.so`).
fn is_plugin(p: &brickwall_core::config::PluginConfig, name: &str) -> bool {
    let lib = format!("libbrickwall_{name}.so");
    p.enabled
        && (p.builtin.as_deref() == Some(name)
            || p.path
                .as_ref()
                .and_then(|f| f.file_name())
                .is_some_and(|f| f.to_str() == Some(lib.as_str())))
}

/// The config section of plugin `name`, as a map; the builtin plugin is added to the
/// config if it has none.
fn plugin_section<'a>(
    cfg: &'a mut brickwall_core::config::Config,
    name: &str,
) -> Result<&'a mut serde_yaml_ng::Mapping, String> {
    use serde_yaml_ng::{Mapping, Value};
    let i = match cfg.plugins.iter().position(|p| is_plugin(p, name)) {
        Some(i) => i,
        None => {
            let entry: brickwall_core::config::PluginConfig =
                serde_yaml_ng::from_str(&format!("builtin: {name}")).map_err(|e| e.to_string())?;
            cfg.plugins.push(entry);
            cfg.plugins.len() - 1
        }
    };
    let section = &mut cfg.plugins[i].config;
    if section.is_null() {
        *section = Value::Mapping(Mapping::new());
    }
    section
        .as_mapping_mut()
        .ok_or_else(|| format!("--ruleset: the {name} plugin's config section is not a map"))
}

/// Puts the ruleset's file and text into a plugin's section (`ruleset`,
/// `ruleset_text`).
fn put_ruleset(section: &mut serde_yaml_ng::Mapping, file: &std::path::Path, text: &str) {
    use serde_yaml_ng::Value;
    section.insert(
        Value::from("ruleset"),
        Value::from(file.display().to_string()),
    );
    // The text too: a SIGHUP reload then sees an edited file as a changed section.
    section.insert(Value::from("ruleset_text"), Value::from(text));
}
