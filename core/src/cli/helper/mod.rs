//! `brickwall helper`: tools for helper authors. [`build`] turns a Rust helper crate
//! into a component with the project's own build step; [`check`] reports a WebAssembly
//! component's imports and exports and whether it fits the helper world; [`run`]
//! drives one helper over a capture without the engine (with the helper crate's
//! stand-alone driver and its connection map) and prints what the helper asked for
//! packet by packet.

mod build;
mod check;
mod control;
mod new;
mod run;

use brickwall_helpers::check::is_component;
use brickwall_helpers::policy::PortSpec;
use brickwall_helpers::set::read_wasm;
use std::path::{Path, PathBuf};

/// WebAssembly fuel per helper call in `helper run`: far more than a helper needs for
/// the largest payload, and deterministic, unlike the engine's wall-clock deadline
/// (`helper run --help` states the number).
pub const RUN_FUEL: u64 = 200_000_000;

/// Arguments of `brickwall helper`.
#[derive(clap::Args, Debug)]
pub struct HelperArgs {
    /// What to do with the helper.
    #[command(subcommand)]
    pub command: HelperCommand,
}

/// The subcommands of `brickwall helper`.
#[derive(clap::Subcommand, Debug)]
pub enum HelperCommand {
    /// Print a component's imports and exports and check them against the helper world.
    ///
    /// Prints `import NAME` and `export NAME` lines, then `ok: FILE is a brickwall helper
    /// (world ...)`; a component that imports anything but the world's log, lacks the
    /// helper export, is not a component or does not compile gets `error: FILE: REASON`
    /// on standard error and exit code 1.
    Check(CheckArgs),
    /// Run one helper alone over a capture, without the engine, and print what it asks.
    ///
    /// Without --ports every TCP and UDP connection of the capture is handed to the
    /// helper; with --ports only those whose first packet goes to one of the ports.
    /// The helper hears `assigned` once per connection, `on-packet` for each packet
    /// with payload and `destroyed` at the end of the capture. Each packet that made
    /// it ask for something prints one line per result: `packet INDEX conn N DIR:
    /// expect TUPLE (FLAGS)`, `flush expected classes C...`, `drop` or `failed (KIND)`
    /// (a timeout it sets is not printed), with INDEX the frame's 0-based
    /// position in the capture (as in `replay --report`), N the connection's number
    /// (from 0, in order of appearance) and DIR `original` or `reply`. A summary line
    /// with the helper's counters ends the output.
    ///
    /// The connection map is a simplification of conntrack's: a connection is its
    /// 5-tuple, whichever side sent first is the original direction, its state is NEW
    /// until the first reply and ESTABLISHED from then on (the first reply included);
    /// there are no timeouts, no TCP state machine (a tuple reused after FIN or RST is
    /// still the same connection), no defragmentation (fragments are skipped), no
    /// expectation table (expected connections are not marked RELATED, flushes are only
    /// reported), and a packet
    /// the helper drops is only reported (the connection still sees it). Each call is
    /// bounded by 200 million units of WebAssembly fuel, not by time, so runs are
    /// deterministic. Helper log lines go to standard error.
    Run(RunArgs),
    /// Build a helper into a component, from Rust (a crate using brickwall-helper-sdk:
    /// cargo for wasm32-unknown-unknown, then wit-component), C (bindings generated
    /// from the WIT, clang with wasi-libc, wit-component) or Python (componentize-py).
    ///
    /// The language is the folder's: a Cargo.toml is Rust, `*.c` files are C, `*.py`
    /// files are Python (the module `app`, or the only one). A missing toolchain is
    /// named with what installs it. With --package, the crate is found through
    /// --manifest-path instead (a helper inside a workspace).
    Build(BuildArgs),
    /// Write a working helper to start from: the knock example of examples/helpers
    /// under NAME, in Rust, C or Python, in the folder NAME (or --dir).
    New(NewArgs),
    /// List a running engine's helpers with their counters, over its control socket:
    /// one line each, `NAME COMPONENT ports=… assigned=… calls=… expectations=… …`.
    List(SocketArgs),
    /// Read a running engine's helper's component again and swap it in, over its
    /// control socket (a helper disabled after failures is enabled again).
    Reload(ReloadArgs),
}

/// The engine's control socket.
#[derive(clap::Args, Debug)]
pub struct SocketArgs {
    /// The engine's control socket.
    #[arg(long, value_name = "PATH", default_value = brickwall_tui::protocol::DEFAULT_SOCKET)]
    pub socket: PathBuf,
}

/// Arguments of `brickwall helper reload`.
#[derive(clap::Args, Debug)]
pub struct ReloadArgs {
    /// The helper's name in the engine's config.
    pub name: String,
    #[command(flatten)]
    pub socket: SocketArgs,
}

/// A language helpers are written in.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    /// Rust, on brickwall-helper-sdk.
    Rust,
    /// C, on bindings generated from the WIT.
    C,
    /// Python, built with componentize-py.
    Python,
}

impl Lang {
    /// The word `--lang` takes.
    pub fn word(self) -> &'static str {
        match self {
            Lang::Rust => "rust",
            Lang::C => "c",
            Lang::Python => "python",
        }
    }
}

/// Arguments of `brickwall helper build`.
#[derive(clap::Args, Debug)]
pub struct BuildArgs {
    /// The helper's folder (what `brickwall helper new` wrote).
    #[arg(value_name = "DIR", default_value = ".", conflicts_with = "package")]
    pub dir: PathBuf,
    /// Build this package of the crate (or workspace) at --manifest-path, in Rust.
    #[arg(short, long)]
    pub package: Option<String>,
    /// The Cargo.toml that --package is found through.
    #[arg(
        long,
        value_name = "PATH",
        default_value = "Cargo.toml",
        requires = "package"
    )]
    pub manifest_path: PathBuf,
    /// The folder's language, when it cannot be told from its files.
    #[arg(long, value_enum)]
    pub lang: Option<Lang>,
    /// Where to write the component.
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
    /// Work directory of the build (cargo's target directory for Rust).
    #[arg(long, value_name = "DIR", default_value = "target/helper-build")]
    pub target_dir: PathBuf,
}

/// Arguments of `brickwall helper new`.
#[derive(clap::Args, Debug)]
pub struct NewArgs {
    /// The helper's name (lower-case letters, digits and '-'): its crate, file and
    /// config name.
    pub name: String,
    /// The language to write it in.
    #[arg(long, value_enum)]
    pub lang: Lang,
    /// The folder to write it to (default: NAME); it must not exist or be empty.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// brickwall-helper-sdk's folder, for a Rust helper's path dependency (default:
    /// helpers-wasm/sdk in the source tree this binary was built from).
    #[arg(long, value_name = "DIR")]
    pub sdk: Option<PathBuf>,
}

/// Arguments of `brickwall helper check`.
#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// The component (`.wasm`), or a bundled helper: `builtin:ftp`, `builtin:irc`,
    /// `builtin:tftp`, `builtin:pptp`, `builtin:sane`, `builtin:amanda`, `builtin:snmp`.
    #[arg(value_name = "FILE")]
    pub file: String,
}

/// Arguments of `brickwall helper run`.
#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// The component (`.wasm`), or a bundled helper: `builtin:ftp`, `builtin:irc`,
    /// `builtin:tftp`, `builtin:pptp`, `builtin:sane`, `builtin:amanda`, `builtin:snmp`.
    #[arg(value_name = "FILE")]
    pub file: String,
    /// The capture (pcap or pcapng).
    #[arg(long, value_name = "CAPTURE")]
    pub pcap: PathBuf,
    /// Hand the helper only connections whose first packet goes to these ports
    /// (`tcp/21,udp/69`; repeatable). Default: every TCP and UDP connection.
    #[arg(long, value_name = "PROTO/PORT", value_delimiter = ',', value_parser = port_spec)]
    pub ports: Vec<String>,
    /// The helper's name in logs and the summary (default: the builtin's name or the
    /// file's stem).
    #[arg(long)]
    pub name: Option<String>,
    /// Neither read nor write the on-disk cache of compiled components.
    #[arg(long)]
    pub no_cache: bool,
    /// The helper's memory limit in bytes (the config's `max_memory_bytes`; default 4
    /// MiB). A helper built with componentize-py needs 64 MiB: CPython's memory starts
    /// at about 12 MiB.
    #[arg(long, value_name = "BYTES")]
    pub max_memory: Option<u64>,
}

/// Validates a `--ports` value; returns it in lower case.
fn port_spec(s: &str) -> Result<String, String> {
    PortSpec::parse(s).map(|_| s.to_ascii_lowercase())
}

/// Runs `brickwall helper`; returns the process exit code.
pub fn main(a: HelperArgs) -> i32 {
    let done = match a.command {
        HelperCommand::Check(c) => return check::check(&c.file),
        HelperCommand::Build(b) => build::build(&b),
        HelperCommand::List(s) => control::list(&s.socket),
        HelperCommand::Reload(r) => control::reload(&r.socket.socket, &r.name),
        HelperCommand::New(n) => new::new(&n),
        HelperCommand::Run(r) => run::run(&r),
    };
    match done {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("brickwall: {e}");
            1
        }
    }
}

/// Reads the component `file` (a path or `builtin:NAME`); errors name the file.
pub(super) fn read_component(file: &str) -> Result<Vec<u8>, String> {
    let (bytes, _) = read_wasm(file, Path::new("")).map_err(|e| {
        if file.starts_with("builtin:") {
            format!("{file}: {e}")
        } else {
            // A path's error already starts with the path.
            e
        }
    })?;
    if !is_component(&bytes) {
        return Err(format!("{file}: {}", not_a_component(&bytes)));
    }
    Ok(bytes)
}

/// Why bytes that are not a component are refused, with a hint for core modules.
fn not_a_component(bytes: &[u8]) -> &'static str {
    if bytes.starts_with(b"\0asm") {
        "not a WebAssembly component (a core module: a helper must be a component, as \
         brickwall's helper build makes it)"
    } else {
        "not a WebAssembly component (no `\\0asm` header)"
    }
}
