//! What a client asks the conntrack plugin: [`Request`], one variant per operation,
//! named by the `op` field (`{"op": "list", "filter": {"proto": "tcp"}}`).
//!
//! Every operation's fields are a struct whose unknown fields are refused; a request
//! read with [`Request::from_slice`] that does not fit gets an error naming the field's
//! path (`filter.src: not an address or network: "10.0.0.300" (...)`). Every operation
//! takes `now_ns`, the engine's clock (packet time in replays; default 0): connections
//! expired at that time are not listed, found, matched or deleted, and timeouts are
//! printed relative to it.

use super::record::TupleRecord;
use super::value::{FamilyName, LabelBits, Labels, Mark, Names, Net, Proto};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::net::IpAddr;

/// How `list` and `get` answer connections.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// `conntrack -L` lines.
    #[default]
    Text,
    /// `conntrack -L -o extended` lines: the family name and number first.
    Extended,
    /// [`ConnRecord`](super::ConnRecord)s.
    Json,
}

/// Which connections a request is about. Every condition given must hold; addresses,
/// ports and zone are those of the original tuple, as conntrack's `-s`, `-d`,
/// `--sport`, `--dport` and `--zone`; the `reply_*` ones the reply tuple's, as its
/// `-r`, `-q`, `--reply-port-src` and `--reply-port-dst`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    /// The protocol.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proto: Option<Proto>,
    /// The family.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<FamilyName>,
    /// Original source address or network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub src: Option<Net>,
    /// Original destination address or network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dst: Option<Net>,
    /// Original source port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sport: Option<u16>,
    /// Original destination port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dport: Option<u16>,
    /// Reply source address or network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_src: Option<Net>,
    /// Reply destination address or network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_dst: Option<Net>,
    /// Reply source port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_sport: Option<u16>,
    /// Reply destination port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_dport: Option<u16>,
    /// TCP, SCTP or DCCP state names, any of which matches (`LISTEN` is SYN_SENT2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<Names>,
    /// `ct mark`, with an optional mask.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mark: Option<Mark>,
    /// Zone of the original tuple.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<u16>,
    /// Status bits (`ASSURED`, `SEEN_REPLY`, ...) that must all be set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Names>,
    /// Source-translated connections (`--src-nat`), optionally to an address and port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub src_nat: Option<NatFilter>,
    /// Destination-translated connections (`--dst-nat`), optionally to an address and
    /// port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dst_nat: Option<NatFilter>,
    /// Connections translated either way (`--any-nat`), optionally to an address and
    /// port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub any_nat: Option<NatFilter>,
}

/// Which translation a [`NatFilter`] asks about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NatSide {
    /// Source NAT: the reply tuple's destination is the translated source.
    Src,
    /// Destination NAT: the reply tuple's source is the translated destination.
    Dst,
}

/// A NAT condition, as conntrack's `--src-nat`, `--dst-nat` and `--any-nat` judge it.
/// Without an address or port, the connection's `SRC_NAT` (or `DST_NAT`) bit must be
/// set. With an address, that address must have been translated (the original's
/// source, or destination, differs from the reply's destination, or source) to the one
/// given; with a port, likewise the port; with both, both.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NatFilter {
    /// The translated address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addr: Option<IpAddr>,
    /// The translated port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
}

impl NatFilter {
    /// Whether a connection with tuples `orig` and `reply`, whose status bit of `side`
    /// (`SRC_NAT` or `DST_NAT`) is `translated`, meets the condition.
    pub fn holds(
        &self,
        side: NatSide,
        translated: bool,
        orig: &TupleRecord,
        reply: &TupleRecord,
    ) -> bool {
        let (before, after, port_before, port_after) = match side {
            NatSide::Src => (orig.src, reply.dst, orig.sport, reply.dport),
            NatSide::Dst => (orig.dst, reply.src, orig.dport, reply.sport),
        };
        if self.addr.is_none() && self.port.is_none() {
            return translated;
        }
        let addr_ok = self
            .addr
            .is_none_or(|a| translated && before != after && after == a);
        let port_ok = self.port.is_none_or(|p| {
            translated && port_after.is_some() && port_before != port_after && port_after == Some(p)
        });
        addr_ok && port_ok
    }
}

/// One connection, by either direction's tuple (as `conntrack -G`/`-D` find it):
/// `proto`, `src`, `dst`, then `sport`/`dport` (TCP, UDP, UDP-Lite, SCTP),
/// `type`/`code`/`id` (ICMP, ICMPv6) or `srckey`/`dstkey` (GRE); `zone` defaults to
/// the tracker's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TupleSpec {
    /// The protocol.
    pub proto: Proto,
    /// The family, if given, must be the addresses'.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<FamilyName>,
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Source port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sport: Option<u16>,
    /// Destination port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dport: Option<u16>,
    /// ICMP type.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub icmp_type: Option<u8>,
    /// ICMP code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<u8>,
    /// ICMP echo identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u16>,
    /// GRE source key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub srckey: Option<u16>,
    /// GRE destination key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dstkey: Option<u16>,
    /// The zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<u16>,
}

impl TupleSpec {
    /// A tuple of protocol and addresses (identifiers to be filled in).
    pub fn new(proto: u8, src: IpAddr, dst: IpAddr) -> TupleSpec {
        TupleSpec {
            proto: Proto(proto),
            family: None,
            src,
            dst,
            sport: None,
            dport: None,
            icmp_type: None,
            code: None,
            id: None,
            srckey: None,
            dstkey: None,
            zone: None,
        }
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_true(b: &bool) -> bool {
    *b
}

fn yes() -> bool {
    true
}

/// `conntrack -L`: the connections, optionally filtered, optionally a page of them.
///
/// `zero` (`conntrack -L -z`) sets the counters of every connection answered to 0
/// once it is answered, in the same hold of the table, so that no packet counted
/// between the two is lost.
///
/// `offset` skips that many matches and `limit` (at most [`List::MAX_LIMIT`]) caps
/// the entries answered, in slot order. `count` is every match. `states` also counts
/// every match by protocol state (or protocol name, for protocols without states).
/// `total: false` skips the counting: the walk stops after the page and the answer says
/// whether more follow. A page whose matches do not all fit answers a `cursor`, the slot
/// of the first match after it; the same request with that `cursor` answers the next
/// page, starting its walk there.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct List {
    /// The engine's clock, ns.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub now_ns: u64,
    /// Which connections.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<Filter>,
    /// How to answer them.
    #[serde(default)]
    pub format: Format,
    /// Text lines end in the connection's label bits (`labels=BIT,...`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub show_labels: bool,
    /// Text lines end in the connection's id (`id=N`, before any labels), as
    /// `conntrack -o id`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub show_id: bool,
    /// Zero the counters of the connections answered (`-z`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub zero: bool,
    /// Matches to skip.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub offset: u64,
    /// Most entries to answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
    /// Count every match by state.
    #[serde(default, skip_serializing_if = "is_false")]
    pub states: bool,
    /// Count every match (default); without, stop after the page.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub total: bool,
    /// The slot to start at (a previous page's `cursor`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<u32>,
}

impl List {
    /// Most entries one page may hold.
    pub const MAX_LIMIT: u64 = 10_000;
}

impl Default for List {
    fn default() -> List {
        List {
            now_ns: 0,
            filter: None,
            format: Format::Text,
            show_labels: false,
            show_id: false,
            zero: false,
            offset: 0,
            limit: None,
            states: false,
            total: true,
            cursor: None,
        }
    }
}

/// `conntrack -G`: one connection by either of its tuples.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Get {
    /// The engine's clock, ns.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub now_ns: u64,
    /// The connection.
    pub tuple: TupleSpec,
    /// How to answer it.
    #[serde(default)]
    pub format: Format,
    /// The text line ends in its label bits.
    #[serde(default, skip_serializing_if = "is_false")]
    pub show_labels: bool,
    /// The text line ends in its id (`id=N`, before any labels).
    #[serde(default, skip_serializing_if = "is_false")]
    pub show_id: bool,
}

/// `conntrack -D`: one connection by tuple, or every match of a filter (`{}` for all).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Delete {
    /// The engine's clock, ns.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub now_ns: u64,
    /// One connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tuple: Option<TupleSpec>,
    /// Every match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<Filter>,
}

/// `conntrack -U`: change the mark and labels of one connection (by tuple) or of every
/// match of a filter. The mark's bits of `mark_mask` (default all) are taken from
/// `mark`; the labels are replaced by `labels`, then `label_add` bits set and
/// `label_del` bits cleared.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Update {
    /// The engine's clock, ns.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub now_ns: u64,
    /// One connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tuple: Option<TupleSpec>,
    /// Every match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<Filter>,
    /// The new mark.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mark: Option<u32>,
    /// Which bits of the mark to set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mark_mask: Option<u32>,
    /// Labels replacing the old ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Labels>,
    /// Label bits to set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_add: Option<LabelBits>,
    /// Label bits to clear.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_del: Option<LabelBits>,
    /// Seconds from now until it expires (`conntrack -U -t`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u32>,
}

/// An operation with nothing to say but the time: `flush` (`-F`: every confirmed
/// connection, expired or not), `count` (`-C`), `stats` (`-S`), `expect-flush`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct At {
    /// The engine's clock, ns.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub now_ns: u64,
}

/// An operation that takes nothing (`helpers`, `metrics`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Nothing {}

/// Chain lengths of the hash table: of every bucket, or of `offset..offset+limit` only.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Histogram {
    /// The engine's clock, ns.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub now_ns: u64,
    /// The longest chain length counted apart (1-1024, default 16).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_len: Option<u16>,
    /// The first bucket.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub offset: u64,
    /// How many buckets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
}

/// The chain lengths of a window of buckets (the dashboard's heat map).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Buckets {
    /// The engine's clock, ns.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub now_ns: u64,
    /// The first bucket.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub offset: u64,
    /// How many (default 1024, at most [`Buckets::MAX_LIMIT`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
}

impl Buckets {
    /// Most buckets one window may hold.
    pub const MAX_LIMIT: u64 = 65_536;
    /// Buckets in a window without `limit`.
    pub const DEFAULT_LIMIT: u64 = 1024;
}

/// The nodes of one bucket's chain, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Chain {
    /// The engine's clock, ns.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub now_ns: u64,
    /// The bucket.
    pub bucket: u64,
}

/// Resize the hash table to `buckets` while traffic flows (Linux: writing
/// `net.netfilter.nf_conntrack_buckets`), answered as
/// [`ResizeResponse`](super::response::ResizeResponse). Refused for 0, more than the plugin's
/// bound (2^26), or too few buckets for the connections in the table; a request while a
/// resize runs follows it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resize {
    /// The new number of buckets (any number, not only powers of two).
    pub buckets: u64,
}

/// Events (`conntrack -E`): `cursor` 0 opens a session of the event classes in `mask`
/// (default all); later polls name the session the answer gave and take at most `max`
/// (default 1000) of the events that arrived since, answered as
/// [`EventsResponse`](super::EventsResponse).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Events {
    /// The session, 0 for a new one.
    #[serde(default)]
    pub cursor: u64,
    /// Most events to answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<u64>,
    /// Event classes of a new session ([`class`](super::event::class) bits: 1 NEW, 2
    /// UPDATE, 4 DESTROY, 8 expectation NEW, 16 expectation DESTROY).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mask: Option<u8>,
}

/// `conntrack -D expect ID`: one expectation by id.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectDelete {
    /// Its id.
    pub id: u32,
}

/// Which part of an expected tuple's source is compared.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectMask {
    /// The source address mask (all ones unless given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub src: Option<IpAddr>,
    /// The source port mask (all ones unless given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sport: Option<u16>,
}

/// `conntrack -I expect`: an expectation made by hand, as a helper would make it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectCreate {
    /// The engine's clock, ns.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub now_ns: u64,
    /// The master connection, by either of its tuples.
    pub master: TupleSpec,
    /// The expected tuple.
    pub expect: TupleSpec,
    /// Which of its source is compared (default all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mask: Option<ExpectMask>,
    /// Seconds it lives (default 300).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u32>,
    /// The helper it is made for (at most 16 bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helper: Option<String>,
}

/// Read a helper's component again and swap it in.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HelperReload {
    /// The helper's name.
    pub name: String,
}

/// Apply new tunables while running (the engine's reload).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reconfigure {
    /// The plugin's configuration, as its config file section has it.
    pub config: Value,
}

macro_rules! requests {
    ($($(#[$doc:meta])* $variant:ident($ty:ty) = $name:literal,)*) => {
        /// A request to the conntrack plugin.
        #[derive(Clone, Debug, PartialEq, Serialize)]
        #[serde(tag = "op")]
        pub enum Request {
            $($(#[$doc])* #[serde(rename = $name)] $variant($ty),)*
        }

        impl Request {
            /// Every operation's name.
            pub const OPS: &'static [&'static str] = &[$($name),*];

            /// The operation's name.
            pub fn op(&self) -> &'static str {
                match self {
                    $(Request::$variant(_) => $name,)*
                }
            }

            /// Reads a request from a JSON value: `op` picks the operation, the other
            /// fields must be its own. The error names the field's path.
            pub fn from_value(v: Value) -> Result<Request, String> {
                let Value::Object(mut m) = v else {
                    return Err(format!(
                        "request: expected a JSON object like {{\"op\": \"list\"}}, got {}",
                        crate::decode::show(&v)
                    ));
                };
                let op = match m.remove("op") {
                    Some(Value::String(s)) => s,
                    Some(other) => {
                        return Err(format!(
                            "op: expected a string ({}), got {}",
                            Self::OPS.join(", "),
                            crate::decode::show(&other)
                        ))
                    }
                    None => return Err(format!("op: missing ({})", Self::OPS.join(", "))),
                };
                let fields = Value::Object(m);
                match op.as_str() {
                    $($name => crate::decode::from_value::<$ty>(fields).map(Request::$variant),)*
                    _ => Err(format!(
                        "op: unknown operation {} ({})",
                        crate::decode::show(&Value::String(op)),
                        Self::OPS.join(", ")
                    )),
                }
            }
        }
    };
}

requests! {
    /// `conntrack -L`.
    List(List) = "list",
    /// `conntrack -G`.
    Get(Get) = "get",
    /// `conntrack -D`.
    Delete(Delete) = "delete",
    /// `conntrack -F`.
    Flush(At) = "flush",
    /// `conntrack -C`.
    Count(At) = "count",
    /// `conntrack -S`.
    Stats(At) = "stats",
    /// `conntrack -U`.
    Update(Update) = "update",
    /// Chain-length histogram.
    Histogram(Histogram) = "histogram",
    /// A window of chain lengths.
    Buckets(Buckets) = "buckets",
    /// One bucket's chain.
    Chain(Chain) = "chain",
    /// `conntrack -E`.
    Events(Events) = "events",
    /// `conntrack -L expect`.
    ExpectList(At) = "expect-list",
    /// `conntrack -D expect`.
    ExpectDelete(ExpectDelete) = "expect-delete",
    /// `conntrack -F expect`.
    ExpectFlush(At) = "expect-flush",
    /// `conntrack -I expect`.
    ExpectCreate(ExpectCreate) = "expect-create",
    /// The helpers and their counters.
    Helpers(Nothing) = "helpers",
    /// Reload one helper.
    HelperReload(HelperReload) = "helper-reload",
    /// The plugin's metric families.
    Metrics(Nothing) = "metrics",
    /// New tunables.
    Reconfigure(Reconfigure) = "reconfigure",
    /// Resize the hash table.
    Resize(Resize) = "resize",
}

impl Request {
    /// The request's JSON bytes.
    pub fn to_vec(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("requests serialize")
    }

    /// The request's JSON value (what a client hands the envelope).
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).expect("requests serialize")
    }

    /// Reads a request from bytes (see [`Request::from_value`]).
    pub fn from_slice(bytes: &[u8]) -> Result<Request, String> {
        Request::from_value(crate::decode::parse(bytes)?)
    }

    /// `list` of every connection as text lines, at `now_ns`.
    pub fn list_at(now_ns: u64) -> Request {
        Request::List(List {
            now_ns,
            ..List::default()
        })
    }
}
