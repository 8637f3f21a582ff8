//! What the conntrack plugin answers, one type per operation.

use super::record::{ConnRecord, Dir, ExpectRecord};
pub use crate::counts::Counts;
use serde::{Deserialize, Serialize};

/// One connection as `list` and `get` answer it: a `conntrack -L` line (`text`,
/// `extended`) or a record (`json`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Entry {
    /// A line.
    Line(String),
    /// A record.
    Record(Box<ConnRecord>),
}

/// The answer to `list`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListResponse {
    /// The page, in slot order.
    pub entries: Vec<Entry>,
    /// Every match (unless `total` was false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// The request's `offset`, when it paged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    /// The request's `limit`, when it paged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
    /// Whether a match follows the page (when `total` was false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub more: Option<bool>,
    /// The slot of the first match after the page, when one follows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<u32>,
    /// Every match by state, most first (when asked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub states: Option<Counts>,
}

/// The answer to `get`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetResponse {
    /// The connection.
    pub entry: Entry,
    /// Which of its tuples the request named.
    pub dir: Dir,
}

/// The answer to `delete`, `flush`, `expect-delete` and `expect-flush`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deleted {
    /// How many were removed.
    pub deleted: u64,
}

/// The answer to `update`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Updated {
    /// How many connections changed.
    pub updated: u64,
}

/// The answer to `count`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountResponse {
    /// Connections in the table.
    pub count: u64,
    /// The most it holds.
    pub max: u64,
}

/// The answer to `stats`: the table's size and the statistics (named as
/// [`crate::conntrack_stats`]), summed and per worker.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatsResponse {
    /// Connections in the table.
    pub entries: u64,
    /// Every statistic, summed over the workers.
    #[serde(flatten)]
    pub totals: Counts,
    /// Buckets of the hash table.
    pub buckets: u64,
    /// One set per worker, as `conntrack -S` prints one line per CPU.
    #[serde(default)]
    pub workers: Vec<Counts>,
    /// The resize in progress, if any (`buckets` then counts both arrays).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resize: Option<ResizeProgress>,
}

/// How far a resize of the hash table has come. Mid-resize the table has two bucket
/// arrays, and bucket numbers (of `buckets`, `histogram`, `chain`) cover both, the old
/// array's first (`0..from`, those migrated empty), then the new one's
/// (`from..from + to`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResizeProgress {
    /// Buckets of the old array.
    pub from: u64,
    /// Buckets of the new array.
    pub to: u64,
    /// Old buckets migrated so far.
    pub migrated: u64,
}

/// The answer to `resize`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResizeResponse {
    /// Buckets before the request (mid-resize: the running resize's target).
    pub old: u64,
    /// Buckets asked for.
    pub new: u64,
    /// A resize was already running; this one follows it.
    pub already_running: bool,
}

/// The answer to `histogram`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HistogramResponse {
    /// Buckets in the table.
    pub buckets: u64,
    /// `histogram[n]`: buckets whose chain has `n` nodes (the last counts longer ones).
    pub histogram: Vec<u64>,
    /// The longest chain.
    pub longest: u64,
    /// Nodes in the chains counted (two per connection).
    pub nodes: u64,
    /// Nodes per bucket counted.
    pub load_factor: f64,
    /// The first bucket counted, for a range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    /// Buckets counted, for a range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
}

impl HistogramResponse {
    /// The first bucket counted (0 for the whole table).
    pub fn first(&self) -> u64 {
        self.offset.unwrap_or(0)
    }

    /// Buckets counted (the table's buckets for the whole table).
    pub fn span(&self) -> u64 {
        self.limit.unwrap_or(self.buckets)
    }
}

/// The answer to `buckets`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketsResponse {
    /// Buckets in the table.
    pub buckets: u64,
    /// The first bucket of the window.
    pub offset: u64,
    /// Each bucket's chain length.
    pub lengths: Vec<u32>,
    /// The resize in progress, if any (the window's numbers then cover both arrays).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resize: Option<ResizeProgress>,
}

impl BucketsResponse {
    /// The chain length of bucket `b`, if the window holds it.
    pub fn length(&self, b: u64) -> Option<u32> {
        let i = usize::try_from(b.checked_sub(self.offset)?).ok()?;
        self.lengths.get(i).copied()
    }
}

/// One node of a hash chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainNode {
    /// The connection's id.
    pub id: u32,
    /// Which of its tuples the node is.
    pub dir: Dir,
    /// Protocol name.
    pub proto: String,
    /// The tuple in `conntrack -L` words.
    pub tuple: String,
}

/// The answer to `chain`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainResponse {
    /// The bucket.
    pub bucket: u64,
    /// Its nodes, head first.
    pub nodes: Vec<ChainNode>,
}

/// The answer to `expect-list`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpectListResponse {
    /// The live expectations.
    pub expectations: Vec<ExpectRecord>,
}

/// The answer to `expect-create`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpectCreated {
    /// The new expectation's id.
    pub id: u32,
}

/// The answer to `helper-reload`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HelperReloaded {
    /// Always true.
    pub reloaded: bool,
}

impl ListResponse {
    /// The lines of a `text` or `extended` listing, in order (records have none).
    pub fn lines(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().filter_map(|e| match e {
            Entry::Line(l) => Some(l.as_str()),
            Entry::Record(_) => None,
        })
    }
}

impl ExpectListResponse {
    /// The `conntrack -L expect` lines, in order.
    pub fn lines(&self) -> impl Iterator<Item = String> + '_ {
        self.expectations.iter().map(ExpectRecord::line)
    }
}
