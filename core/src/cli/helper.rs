//! `brickwall helper`: tools for helper authors. `build` turns a Rust helper crate into
//! a component with the project's own build step; `check` reports a WebAssembly
//! component's imports and exports and whether it fits the helper world; `run` drives
//! one helper over a capture without the engine, with a connection map of its own, and
//! prints what the helper asked for packet by packet.

use brickwall_core::pcap::{CaptureError, CaptureReader};
use brickwall_core::wire::{self, LinkType, L4};
use brickwall_helpers::bindings::LogSink;
use brickwall_helpers::check::{self, REQUIRED_EXPORT};
use brickwall_helpers::policy::PortSpec;
use brickwall_helpers::set::read_wasm;
use brickwall_helpers::{
    Budget, CallOutcome, ExpectRequest, HConnInfo, HCtState, HTuple, HelperId, HelperPolicy,
    HelperSet, HelperStats, PacketCall, SandboxPolicy,
};
use brickwall_hooks::{flags, Family};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

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
    /// expect TUPLE (FLAGS)`, `drop` or `failed (KIND)`, with INDEX the frame's 0-based
    /// position in the capture (as in `replay --report`), N the connection's number
    /// (from 0, in order of appearance) and DIR `original` or `reply`. A summary line
    /// with the helper's counters ends the output.
    ///
    /// The connection map is a simplification of conntrack's: a connection is its
    /// 5-tuple, whichever side sent first is the original direction, its state is NEW
    /// until the first reply and ESTABLISHED from then on (the first reply included);
    /// there are no timeouts, no TCP state machine (a tuple reused after FIN or RST is
    /// still the same connection), no defragmentation (fragments are skipped), no
    /// expectation table (expected connections are not marked RELATED), and a packet
    /// the helper drops is only reported (the connection still sees it). Each call is
    /// bounded by 200 million units of WebAssembly fuel, not by time, so runs are
    /// deterministic. Helper log lines go to standard error.
    Run(RunArgs),
    /// Build a helper written in Rust (a crate using brickwall-helper-sdk) into a
    /// component: cargo for wasm32-unknown-unknown, then wit-component.
    Build(BuildArgs),
}

/// Arguments of `brickwall helper build`.
#[derive(clap::Args, Debug)]
pub struct BuildArgs {
    /// The crate's (or its workspace's) Cargo.toml.
    #[arg(long, value_name = "PATH", default_value = "Cargo.toml")]
    pub manifest_path: PathBuf,
    /// The helper's package name.
    #[arg(short, long)]
    pub package: String,
    /// Where to write the component.
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
    /// Cargo target directory for the WebAssembly build.
    #[arg(long, value_name = "DIR", default_value = "target/helper-build")]
    pub target_dir: PathBuf,
}

fn build(b: &BuildArgs) -> Result<(), String> {
    let guest = brickwall_helper_build::RustGuest {
        manifest: b.manifest_path.clone(),
        package: b.package.clone(),
        target_dir: b.target_dir.clone(),
    };
    let bytes = guest.build().map_err(|e| e.to_string())?;
    std::fs::write(&b.output, &bytes).map_err(|e| format!("{}: {e}", b.output.display()))?;
    println!("wrote {} ({} bytes)", b.output.display(), bytes.len());
    Ok(())
}

/// Arguments of `brickwall helper check`.
#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// The component (`.wasm`), or `builtin:ftp`, `builtin:irc`, `builtin:tftp`,
    /// `builtin:pptp`.
    #[arg(value_name = "FILE")]
    pub file: String,
}

/// Arguments of `brickwall helper run`.
#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// The component (`.wasm`), or `builtin:ftp`, `builtin:irc`, `builtin:tftp`,
    /// `builtin:pptp`.
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
    match a.command {
        HelperCommand::Check(c) => check(&c.file),
        HelperCommand::Build(b) => match build(&b) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("brickwall: {e}");
                1
            }
        },
        HelperCommand::Run(r) => match run(&r) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("brickwall: {e}");
                1
            }
        },
    }
}

/// The world a helper implements, from the export it must have
/// (`brickwall:helper/helper@0.2.0` → `brickwall:helper/helper-world@0.2.0`).
fn world() -> String {
    match REQUIRED_EXPORT.split_once('/') {
        Some((package, rest)) => match rest.split_once('@') {
            Some((_, version)) => format!("{package}/helper-world@{version}"),
            None => format!("{package}/helper-world"),
        },
        None => REQUIRED_EXPORT.to_owned(),
    }
}

/// Reads the component `file` (a path or `builtin:NAME`); errors name the file.
fn read_component(file: &str) -> Result<Vec<u8>, String> {
    let (bytes, _) = read_wasm(file, Path::new("")).map_err(|e| {
        if file.starts_with("builtin:") {
            format!("{file}: {e}")
        } else {
            // A path's error already starts with the path.
            e
        }
    })?;
    if !check::is_component(&bytes) {
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

/// `brickwall helper check FILE`: prints the imports and exports and the verdict;
/// returns the exit code.
pub fn check(file: &str) -> i32 {
    let bytes = match read_component(file) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: {e}");
            return 1;
        }
    };
    let iface = match brickwall_helpers::inspect(&bytes) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("error: {file}: {e}");
            return 1;
        }
    };
    for i in &iface.imports {
        println!("import {i}");
    }
    for e in &iface.exports {
        println!("export {e}");
    }
    match iface.validate() {
        Ok(()) => {
            println!("ok: {file} is a brickwall helper (world {})", world());
            0
        }
        Err(e) => {
            eprintln!("error: {file}: {e}");
            1
        }
    }
}

/// The helper's default name: the builtin's name, or the file's stem.
fn default_name(file: &str) -> String {
    if let Some(n) = file.strip_prefix("builtin:") {
        return n.to_owned();
    }
    Path::new(file)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "helper".to_owned())
}

/// The ports of `--ports`, without repeats.
fn distinct_ports(ports: &[String]) -> Vec<String> {
    let mut seen: Vec<PortSpec> = Vec::new();
    let mut out = Vec::new();
    for p in ports {
        if let Ok(spec) = PortSpec::parse(p) {
            if !seen.contains(&spec) {
                seen.push(spec);
                out.push(p.clone());
            }
        }
    }
    out
}

/// Loads the one helper of `helper run`.
fn load(a: &RunArgs, name: &str) -> Result<HelperSet, String> {
    read_component(&a.file)?;
    let mut policy = serde_json::json!({
        "name": name,
        "wasm": a.file,
        "ports": distinct_ports(&a.ports),
    });
    if let Some(m) = a.max_memory {
        policy["max_memory_bytes"] = m.into();
    }
    let policy: HelperPolicy =
        serde_json::from_value(policy).map_err(|e| format!("{}: helper policy: {e}", a.file))?;
    let sandbox = SandboxPolicy {
        budget: Budget::Fuel(RUN_FUEL),
        cache_dir: a.no_cache.then(String::new),
        ..SandboxPolicy::default()
    };
    let log: LogSink = Arc::new(|level, helper, msg| {
        let level = match level {
            0 => "error",
            1 => "warn",
            2 => "info",
            _ => "debug",
        };
        eprintln!("helper {helper} {level}: {msg}");
    });
    HelperSet::new(&sandbox, &[policy], Path::new(""), log).map_err(|e| {
        // The set names the helper as a config would (`helpers[0] (...)`); name the file.
        let prefix = format!("helpers[0] (`{name}`, {}): ", a.file);
        let reason = e.strip_prefix(&prefix).unwrap_or(&e);
        format!("{}: {reason}", a.file)
    })
}

/// A TCP or UDP packet as `helper run` sees it.
struct Seen<'a> {
    /// Its direction's tuple.
    tuple: HTuple,
    /// TCP sequence number (0 for UDP).
    seq: u32,
    /// TCP flags (0 for UDP).
    tcp_flags: u8,
    /// The layer-4 payload (without link padding).
    payload: &'a [u8],
}

/// Parses a frame down to its TCP or UDP payload; `None` for anything else (not IP,
/// broken, another protocol, a fragment, a malformed transport header).
fn parse(link: LinkType, frame: &[u8]) -> Option<Seen<'_>> {
    let p = wire::parse_frame(link, frame).ok()?;
    if p.flags & (flags::FRAGMENT | flags::LATER_FRAGMENT | flags::L4_MALFORMED) != 0 {
        return None;
    }
    let (src_port, dst_port, seq, tcp_flags) = match p.l4 {
        L4::Tcp {
            sport,
            dport,
            seq,
            flags,
            ..
        } if p.l4proto == wire::ip_proto::TCP => (sport, dport, seq, flags),
        L4::Udp { sport, dport } if p.l4proto == wire::ip_proto::UDP => (sport, dport, 0, 0),
        _ => return None,
    };
    let l3 = frame.get(p.l3_off as usize..)?;
    let v6 = p.family == Family::Ipv6;
    let (s, d) = if v6 {
        (8..24, 24..40)
    } else {
        (12..16, 16..20)
    };
    let mut src = [0u8; 16];
    let mut dst = [0u8; 16];
    let sb = l3.get(s)?;
    let db = l3.get(d)?;
    src[..sb.len()].copy_from_slice(sb);
    dst[..db.len()].copy_from_slice(db);
    let end = (p.l3_off as usize + p.l3_len as usize).min(frame.len());
    let payload = frame.get(p.payload_off as usize..end).unwrap_or(&[]);
    Some(Seen {
        tuple: HTuple {
            src,
            dst,
            src_port,
            dst_port,
            proto: p.l4proto,
            v6,
        },
        seq,
        tcp_flags,
        payload,
    })
}

/// The other direction of a tuple.
fn invert(t: &HTuple) -> HTuple {
    HTuple {
        src: t.dst,
        dst: t.src,
        src_port: t.dst_port,
        dst_port: t.src_port,
        ..*t
    }
}

/// The direction-independent key of a tuple (the smaller endpoint first).
fn key(t: &HTuple) -> HTuple {
    if (t.src, t.src_port) <= (t.dst, t.dst_port) {
        *t
    } else {
        invert(t)
    }
}

/// A connection of `helper run`'s own map.
struct Conn {
    /// Its number, in order of appearance (the `conn` handle the helper sees).
    id: u32,
    /// The direction of its first packet.
    original: HTuple,
    /// A packet went the other way.
    replied: bool,
    /// The helper's state, if the connection was handed to it.
    state: Option<Vec<u8>>,
}

/// An IP protocol's name (its number if it has none).
fn proto_name(p: u8) -> String {
    wire::ip_proto::name(p).map_or_else(|| p.to_string(), str::to_string)
}

/// An address (`*` when it is a wildcard; IPv6 in brackets).
fn addr(a: &[u8; 16], v6: bool, any: bool) -> String {
    if any {
        "*".into()
    } else if v6 {
        format!("[{}]", std::net::Ipv6Addr::from(*a))
    } else {
        std::net::Ipv4Addr::new(a[0], a[1], a[2], a[3]).to_string()
    }
}

/// An expectation's tuple, as `tcp 172.23.0.2:* -> 172.23.0.3:44671`.
pub fn expect_tuple(e: &ExpectRequest) -> String {
    let t = &e.tuple;
    let sport = if e.any_src_port {
        "*".to_owned()
    } else {
        t.src_port.to_string()
    };
    format!(
        "{} {}:{sport} -> {}:{}",
        proto_name(t.proto),
        addr(&t.src, t.v6, e.any_src_addr),
        addr(&t.dst, t.v6, false),
        t.dst_port
    )
}

/// An expectation's flags, timeout and class, as `any-src-port, timeout 300s`.
fn expect_flags(e: &ExpectRequest) -> String {
    let mut parts: Vec<String> = Vec::new();
    if e.any_src_addr {
        parts.push("any-src-addr".into());
    }
    if e.any_src_port {
        parts.push("any-src-port".into());
    }
    if e.permanent {
        parts.push("permanent".into());
    }
    parts.push(format!("timeout {}s", e.timeout_s));
    if e.class != 0 {
        parts.push(format!("class {}", e.class));
    }
    parts.join(", ")
}

/// The kinds of failure counted between two snapshots of a helper's counters.
fn failure_kinds(before: &HelperStats, after: &HelperStats) -> String {
    let kinds = [
        (after.traps.saturating_sub(before.traps), "trap"),
        (
            after
                .budget_exhausted
                .saturating_sub(before.budget_exhausted),
            "budget exhausted",
        ),
        (
            after.memory_exceeded.saturating_sub(before.memory_exceeded),
            "memory limit",
        ),
        (
            after.state_oversize.saturating_sub(before.state_oversize),
            "state too large",
        ),
    ];
    let named: Vec<&str> = kinds
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(_, k)| *k)
        .collect();
    if named.is_empty() {
        "unknown".into()
    } else {
        named.join(", ")
    }
}

/// The failure counters as `failures 2 (trap 1, budget exhausted 1)`.
fn failure_summary(s: &HelperStats) -> String {
    let parts: Vec<String> = [
        (s.traps, "trap"),
        (s.budget_exhausted, "budget exhausted"),
        (s.memory_exceeded, "memory limit"),
        (s.state_oversize, "state too large"),
    ]
    .iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, k)| format!("{k} {n}"))
    .collect();
    if parts.is_empty() {
        format!("failures {}", s.failures())
    } else {
        format!("failures {} ({})", s.failures(), parts.join(", "))
    }
}

/// The one helper of a run, with a snapshot of its counters to name failures by.
struct Driver {
    set: HelperSet,
    id: HelperId,
    last: HelperStats,
}

impl Driver {
    fn stats(&mut self) -> HelperStats {
        self.set
            .reports()
            .into_iter()
            .next()
            .map(|r| r.stats)
            .unwrap_or_default()
    }

    /// Takes a new snapshot; returns the kinds of failure since the last one, if any.
    fn new_failures(&mut self) -> Option<String> {
        let now = self.stats();
        let kinds =
            (now.failures() > self.last.failures()).then(|| failure_kinds(&self.last, &now));
        self.last = now;
        kinds
    }
}

/// Writes a line to standard output, naming it in errors.
macro_rules! out {
    ($w:expr, $($arg:tt)*) => {
        writeln!($w, $($arg)*).map_err(|e| format!("standard output: {e}"))
    };
}

/// `brickwall helper run`: the helper over a capture.
pub fn run(a: &RunArgs) -> Result<(), String> {
    let label = a.pcap.display().to_string();
    let mut reader = CaptureReader::open(&a.pcap).map_err(|e| format!("{label}: {e}"))?;
    let name = a.name.clone().unwrap_or_else(|| default_name(&a.file));
    let set = load(a, &name)?;
    let id = set
        .id_by_name(&name)
        .ok_or_else(|| format!("{}: the helper did not load", a.file))?;
    let mut d = Driver {
        set,
        id,
        last: HelperStats::default(),
    };
    let by_port = !a.ports.is_empty();
    let stdout = std::io::stdout();
    let mut w = stdout.lock();
    let mut conns: Vec<Conn> = Vec::new();
    let mut index: HashMap<HTuple, usize> = HashMap::new();
    let (mut frames, mut skipped, mut handed) = (0u64, 0u64, 0u64);
    let mut truncated = false;
    let mut buf = Vec::new();
    loop {
        let meta = match reader.next_frame(&mut buf) {
            Ok(Some(m)) => m,
            Ok(None) => break,
            Err(CaptureError::Truncated { .. }) => {
                truncated = true;
                break;
            }
            Err(e) => return Err(format!("{label}: frame {frames}: {e}")),
        };
        let n = frames;
        frames += 1;
        let Some(pkt) = parse(meta.link, &buf) else {
            skipped += 1;
            continue;
        };
        let k = key(&pkt.tuple);
        let ci = match index.get(&k) {
            Some(&ci) => ci,
            None => {
                let conn_id = u32::try_from(conns.len()).unwrap_or(u32::MAX);
                let t = pkt.tuple;
                let helper = if by_port {
                    d.set.id_for_port(t.proto, t.dst_port) == Some(d.id)
                } else {
                    true
                };
                let state = if helper {
                    handed += 1;
                    let info = HConnInfo {
                        original: t,
                        reply: invert(&t),
                        zone: 0,
                        mark: 0,
                    };
                    let s = d.set.assigned(d.id, conn_id, &info);
                    if s.is_none() {
                        if let Some(kinds) = d.new_failures() {
                            out!(
                                w,
                                "packet {n} conn {conn_id} original: failed (assigned: {kinds})"
                            )?;
                        }
                    }
                    Some(s.unwrap_or_default())
                } else {
                    None
                };
                conns.push(Conn {
                    id: conn_id,
                    original: t,
                    replied: false,
                    state,
                });
                index.insert(k, conns.len() - 1);
                conns.len() - 1
            }
        };
        let Some(c) = conns.get_mut(ci) else {
            continue;
        };
        let reply = pkt.tuple != c.original;
        if reply {
            c.replied = true;
        }
        let Some(state) = c.state.as_mut() else {
            continue;
        };
        if pkt.payload.is_empty() {
            continue;
        }
        let call = PacketCall {
            conn: c.id,
            reply,
            ct: if c.replied {
                HCtState::Established
            } else {
                HCtState::New
            },
            seq: pkt.seq,
            tcp_flags: pkt.tcp_flags,
            payload: pkt.payload,
        };
        let out: CallOutcome = d.set.packet(d.id, &call, state);
        if out.expects.is_empty() && !out.failed && !out.drop {
            continue;
        }
        let head = format!(
            "packet {n} conn {} {}",
            c.id,
            if reply { "reply" } else { "original" }
        );
        for e in &out.expects {
            out!(
                w,
                "{head}: expect {} ({})",
                expect_tuple(e),
                expect_flags(e)
            )?;
        }
        if out.failed {
            let kinds = d.new_failures().unwrap_or_else(|| "unknown".into());
            if out.drop {
                out!(w, "{head}: failed ({kinds}), dropped (fail-closed)")?;
            } else {
                out!(w, "{head}: failed ({kinds})")?;
            }
        } else if out.drop {
            out!(w, "{head}: drop")?;
        }
    }
    for c in &conns {
        if let Some(state) = &c.state {
            d.set.destroyed(d.id, c.id, state);
        }
    }
    if truncated {
        eprintln!("brickwall: note: {label} ends in a truncated record");
    }
    let s = d.stats();
    out!(
        w,
        "summary: frames {frames} (not TCP/UDP {skipped}), connections {} (to helper {name} {handed}), calls {}, expectations {}, drops {}, {}{}",
        conns.len(),
        s.calls,
        s.expectations,
        s.drops,
        failure_summary(&s),
        if s.disabled { ", helper disabled" } else { "" }
    )?;
    w.flush().map_err(|e| format!("standard output: {e}"))?;
    Ok(())
}
