//! What the dashboard knows of the engine: plain data, parsed from the control socket's
//! answers by [`super::parse`] (in the fetch thread) and held by [`super::state::App`].
//! Nothing here refers to a socket or a terminal, so tests build these by hand.

use std::net::IpAddr;

/// The engine's `{"op":"status"}`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EngineStatus {
    /// `starting`, `running` or `finished`.
    pub phase: String,
    /// Frames read so far.
    pub frames: u64,
    /// The engine's clock (packet time in a replay), ns since the Unix epoch.
    pub now_ns: u64,
}

/// The conntrack plugin's `{"op":"histogram"}`: how many buckets have each chain length,
/// of the whole table or of a range of its buckets (one part of a sweep).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Histogram {
    /// Buckets in the table.
    pub buckets: u64,
    /// The first bucket counted.
    pub offset: u64,
    /// Buckets counted (the table's buckets for a whole-table histogram).
    pub span: u64,
    /// `counts[n]`: buckets whose chain has `n` nodes (the last counts longer ones too).
    pub counts: Vec<u64>,
    /// The longest chain.
    pub longest: u64,
    /// Nodes in all chains (two per connection).
    pub nodes: u64,
    /// Nodes per bucket (of the buckets counted).
    pub load_factor: f64,
}

/// The conntrack plugin's `{"op":"buckets"}`: chain lengths of a window of buckets.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BucketWindow {
    /// Buckets in the table.
    pub buckets: u64,
    /// The first bucket of the window.
    pub offset: u64,
    /// Chain length of each bucket of the window, in bucket order.
    pub lengths: Vec<u32>,
}

impl BucketWindow {
    /// The chain length of bucket `b`, if the window holds it.
    pub fn length(&self, b: u64) -> Option<u32> {
        let i = usize::try_from(b.checked_sub(self.offset)?).ok()?;
        self.lengths.get(i).copied()
    }
}

/// One node of a hash chain.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChainNode {
    /// The connection's id.
    pub id: u64,
    /// `original` or `reply`: which of the connection's tuples this node is.
    pub dir: String,
    /// Protocol name.
    pub proto: String,
    /// The tuple in `conntrack -L` words (`src=… dst=… sport=… dport=…`).
    pub tuple: String,
}

/// The conntrack plugin's `{"op":"chain"}`: one bucket's chain, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Chain {
    /// The bucket.
    pub bucket: u64,
    /// Its nodes, head first.
    pub nodes: Vec<ChainNode>,
}

/// One connection of a `list` page (json format), reduced to what the table shows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConnRow {
    /// Connection id.
    pub id: u64,
    /// Protocol name (`tcp`, `udp`, `icmp`, ...).
    pub proto: String,
    /// Original source address, as the engine prints it.
    pub src: String,
    /// Original destination address.
    pub dst: String,
    /// Parsed source address (for sorting; `None` if the engine's text did not parse).
    pub src_ip: Option<IpAddr>,
    /// Parsed destination address.
    pub dst_ip: Option<IpAddr>,
    /// Original source port (protocols with ports).
    pub sport: Option<u16>,
    /// Original destination port.
    pub dport: Option<u16>,
    /// Protocol state (TCP, SCTP), `None` for protocols without states.
    pub state: Option<String>,
    /// Seconds before it expires.
    pub timeout_s: u64,
    /// When it started (engine clock, ns); `None` unless conntrack keeps start times
    /// (its `timestamp` extension).
    pub start_ns: Option<u64>,
    /// Packets of both directions; `None` unless conntrack counts (its `accounting`
    /// extension).
    pub packets: Option<u64>,
    /// Bytes of both directions (as `packets`).
    pub bytes: Option<u64>,
    /// `ct mark`.
    pub mark: u64,
    /// No packet seen in the reply direction yet.
    pub unreplied: bool,
    /// `ASSURED`.
    pub assured: bool,
}

impl ConnRow {
    /// Age in seconds at the engine clock `now_ns` (0 if the clock is behind), when
    /// the start time is known.
    pub fn age_s(&self, now_ns: u64) -> Option<u64> {
        self.start_ns
            .map(|s| now_ns.saturating_sub(s) / 1_000_000_000)
    }

    /// The source as the table shows it: `addr:port`, `[v6]:port`, or the address.
    pub fn source(&self) -> String {
        endpoint(&self.src, self.sport)
    }

    /// The destination as the table shows it.
    pub fn destination(&self) -> String {
        endpoint(&self.dst, self.dport)
    }

    /// The state column's text: the protocol state, `-` for none, and `UNREPLIED`.
    pub fn state_text(&self) -> String {
        match (&self.state, self.unreplied) {
            (Some(s), true) => format!("{s} UNREPLIED"),
            (Some(s), false) => s.clone(),
            (None, true) => "UNREPLIED".into(),
            (None, false) => "-".into(),
        }
    }
}

/// An address with an optional port, IPv6 in brackets when a port follows.
fn endpoint(addr: &str, port: Option<u16>) -> String {
    match port {
        Some(p) if addr.contains(':') => format!("[{addr}]:{p}"),
        Some(p) => format!("{addr}:{p}"),
        None => addr.to_string(),
    }
}

/// One page of the conntrack plugin's `list` (json format, paged).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConnPage {
    /// Matches skipped before the page.
    pub offset: u64,
    /// Every match in the table (not just the page), when this answer counted them.
    pub count: Option<u64>,
    /// Whether matches follow the page (answers that did not count say so).
    pub more: bool,
    /// The page, in the table's slot order.
    pub rows: Vec<ConnRow>,
    /// Every match counted by state (or protocol name), largest first, when counted.
    pub states: Option<Vec<(String, u64)>>,
}

/// One expectation of `expect-list`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExpectRow {
    /// Seconds left.
    pub timeout_s: u64,
    /// IP protocol number.
    pub proto: u8,
    /// The expected connection: `src=… dst=… sport=… dport=…`.
    pub tuple: String,
    /// The master connection's tuple.
    pub master: String,
    /// The helper that made it.
    pub helper: String,
    /// The helper's class.
    pub class: String,
    /// `PERMANENT`, `INACTIVE`, `USERSPACE`.
    pub flags: Vec<String>,
}

/// The conntrack plugin's `stats`: counters by Linux's names, in `conntrack -S` order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CtStats {
    /// Connections in the table.
    pub entries: u64,
    /// Buckets in the table.
    pub buckets: u64,
    /// `found`, `invalid`, `insert`, ..., `chaintoolong`, ...
    pub counters: Vec<(String, u64)>,
}

impl CtStats {
    /// The counter called `name`.
    pub fn get(&self, name: &str) -> Option<u64> {
        self.counters
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| *v)
    }
}

/// Verdicts of one hook.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HookVerdicts {
    /// `PREROUTING`, `INPUT`, ...
    pub hook: String,
    /// Packets that entered the hook.
    pub entered: u64,
    /// Accepted.
    pub accepted: u64,
    /// Dropped.
    pub dropped: u64,
    /// Queued.
    pub queued: u64,
    /// Stolen.
    pub stolen: u64,
    /// Repeated.
    pub repeated: u64,
}

/// The engine's `{"op":"counters"}`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EngineCounters {
    /// `received`, `forwarded`, `delivered`, `dropped`, ...
    pub totals: Vec<(String, u64)>,
    /// Verdicts per hook, in hook order.
    pub hooks: Vec<HookVerdicts>,
    /// Drops by the reason the dropping callback named.
    pub drops_by_reason: Vec<(String, u64)>,
    /// Frames dropped before PREROUTING, by parse error.
    pub parse_drops: Vec<(String, u64)>,
    /// Panics by plugin.
    pub panics: Vec<(String, u64)>,
}

/// One registration of a plugin at a hook.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PluginHook {
    /// The hook.
    pub hook: String,
    /// `ipv4`, `ipv6`.
    pub families: Vec<String>,
    /// Its priority (lower runs first).
    pub priority: i64,
    /// The callback's name.
    pub name: String,
}

/// One loaded plugin (the engine's `{"op":"plugins"}`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PluginInfo {
    /// Name.
    pub name: String,
    /// Version.
    pub version: String,
    /// `static` or the shared object's path.
    pub origin: String,
    /// Its registrations, in hook then priority order.
    pub hooks: Vec<PluginHook>,
}

/// Counters of one application helper, and one helper of the conntrack plugin's
/// `{"op":"helpers"}`: the control protocol's types.
pub use brickwall_control_protocol::helpers::{HelperReport as HelperInfo, HelperStats};

/// The conntrack plugin's `{"op":"helpers"}`: every configured helper and the helper
/// step's own counters. Empty when none are configured (or the engine predates helpers).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Helpers {
    /// The helpers, in configuration order.
    pub list: Vec<HelperInfo>,
    /// Expectations helpers asked for that could not be created (no master, limit).
    pub expect_failed: u64,
    /// Packets whose rule asked for a helper no configuration defines.
    pub unknown_requested: u64,
}

impl Helpers {
    /// The sum of one counter over every helper.
    pub fn total(&self, counter: impl Fn(&HelperStats) -> u64) -> u64 {
        self.list
            .iter()
            .fold(0u64, |acc, h| acc.saturating_add(counter(&h.stats)))
    }

    /// Helpers disabled after too many failures.
    pub fn disabled(&self) -> usize {
        self.list.iter().filter(|h| h.stats.disabled).count()
    }
}
