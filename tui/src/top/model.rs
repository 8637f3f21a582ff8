//! What the dashboard knows of the engine: plain data, read from the control socket's
//! answers in the fetch thread and held by [`super::state::App`]. The answers are the
//! control protocol's types, held as they come except where a view wants something
//! else: a `list` page's rows ([`ConnRow`], [`ConnPage`]) and the helpers
//! ([`Helpers`]), built by [`super::derive`], which also orders what the views show of
//! the others. Nothing here refers to a socket or a terminal, so tests build these by
//! hand.

use brickwall_control_protocol::helpers::HelpersResponse;
use std::net::IpAddr;

/// The engine's answers as the dashboard holds them: its `status`, its `counters`
/// (whose verdicts per hook and totals the views show as [`super::derive`] orders
/// them) and its `plugins`. They are the control protocol's types.
pub use brickwall_control_protocol::engine::{
    CountersResponse, HookCounts, HookInfo, Phase, PluginInfo, StatusResponse,
};

/// The conntrack plugin's answers the dashboard holds as they come: the chain-length
/// histogram (of the whole table or of a range of buckets, one part of a sweep), the
/// heat map's window of chain lengths, one bucket's chain, the expectations and the
/// statistics (the latter with their counters in `conntrack -S` order, see
/// [`super::derive::ct_stats`]). They are the control protocol's types.
pub use brickwall_control_protocol::conntrack::response::{
    BucketsResponse, ChainNode, ChainResponse, Counts, HistogramResponse, StatsResponse,
};
pub use brickwall_control_protocol::conntrack::{ConnRecord, Dir, ExpectRecord, TupleRecord};

/// One connection of a `list` page, reduced to what the table shows and sorts by:
/// derived from the plugin's [`ConnRecord`] ([`ConnRow::from`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnRow {
    /// Connection id.
    pub id: u32,
    /// Protocol name (`tcp`, `udp`, `icmp`, ...).
    pub proto: String,
    /// Original source address.
    pub src: IpAddr,
    /// Original destination address.
    pub dst: IpAddr,
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
    pub mark: u32,
    /// No packet seen in the reply direction yet.
    pub unreplied: bool,
    /// `ASSURED`.
    pub assured: bool,
    /// Source NAT: the address and port the source is seen as (the reply's
    /// destination).
    pub nat_src: Option<(IpAddr, Option<u16>)>,
    /// Destination NAT: where the connection really goes (the reply's source).
    pub nat_dst: Option<(IpAddr, Option<u16>)>,
}

impl From<&ConnRecord> for ConnRow {
    fn from(r: &ConnRecord) -> ConnRow {
        // A counter of both directions; none when neither direction has it.
        let both = |k: fn(&TupleRecord) -> Option<u64>| match (k(&r.orig), k(&r.reply)) {
            (None, None) => None,
            (a, b) => Some(a.unwrap_or(0).saturating_add(b.unwrap_or(0))),
        };
        ConnRow {
            id: r.id,
            proto: r.proto.clone(),
            src: r.orig.src,
            dst: r.orig.dst,
            sport: r.orig.sport,
            dport: r.orig.dport,
            state: r.state.clone(),
            timeout_s: r.timeout,
            start_ns: r.start_ns,
            packets: both(|t| t.packets),
            bytes: both(|t| t.bytes),
            mark: r.mark,
            unreplied: !r.has_status("SEEN_REPLY"),
            assured: r.has_status("ASSURED"),
            nat_src: r
                .has_status("SRC_NAT")
                .then_some((r.reply.dst, r.reply.dport)),
            nat_dst: r
                .has_status("DST_NAT")
                .then_some((r.reply.src, r.reply.sport)),
        }
    }
}

impl ConnRow {
    /// Age in seconds at the engine clock `now_ns` (0 if the clock is behind), when
    /// the start time is known.
    pub fn age_s(&self, now_ns: u64) -> Option<u64> {
        self.start_ns
            .map(|s| now_ns.saturating_sub(s) / 1_000_000_000)
    }

    /// The source as the table shows it: `addr:port`, `[v6]:port`, or the address;
    /// translated, `addr:port→seen-as:port`.
    pub fn source(&self) -> String {
        translated(endpoint(self.src, self.sport), self.nat_src)
    }

    /// The destination as the table shows it; translated, `addr:port→really:port`.
    pub fn destination(&self) -> String {
        translated(endpoint(self.dst, self.dport), self.nat_dst)
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

/// An endpoint with its translation, if any, after an arrow.
fn translated(orig: String, nat: Option<(IpAddr, Option<u16>)>) -> String {
    match nat {
        Some((a, p)) => format!("{orig}→{}", endpoint(a, p)),
        None => orig,
    }
}

/// An address with an optional port, IPv6 in brackets when a port follows.
fn endpoint(addr: IpAddr, port: Option<u16>) -> String {
    match port {
        Some(p) if addr.is_ipv6() => format!("[{addr}]:{p}"),
        Some(p) => format!("{addr}:{p}"),
        None => addr.to_string(),
    }
}

/// One page of the conntrack plugin's `list` (json format, paged), as the connections
/// view keeps it (built by [`super::derive::conn_page`]).
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

/// Counters of one application helper, and one helper of the conntrack plugin's
/// `{"op":"helpers"}`: the control protocol's types.
pub use brickwall_control_protocol::helpers::{HelperReport as HelperInfo, HelperStats};

/// The conntrack plugin's `{"op":"helpers"}`: every configured helper and the helper
/// step's own counters (its [`HelpersResponse`], with the sums the views show). Empty
/// when none are configured (or the engine predates helpers).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Helpers {
    /// The helpers, in configuration order.
    pub list: Vec<HelperInfo>,
    /// Expectations helpers asked for that could not be created (no master, limit).
    pub expect_failed: u64,
    /// Packets whose rule asked for a helper no configuration defines.
    pub unknown_requested: u64,
}

impl From<HelpersResponse> for Helpers {
    fn from(r: HelpersResponse) -> Helpers {
        Helpers {
            list: r.helpers,
            expect_failed: r.expect_failed,
            unknown_requested: r.unknown_requested,
        }
    }
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
