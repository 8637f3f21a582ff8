//! The sync plugin's part of the protocol (target [`TARGET`]), conntrackd's
//! `-e`, `-s`, `-n`, `-B` and `-f external` over the control socket: `external` answers
//! the external cache ([`ExternalResponse`]), `stats` the counters, `request-resync`
//! asks the peer for all its states, `send-bulk` sends the peer all of ours, and
//! `flush-external` empties the external cache.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The sync plugin's name on the control socket.
pub const TARGET: &str = "sync";

/// A request to the sync plugin: `{"op": "external"}` or the bare word.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum SyncRequest {
    /// The external cache (`conntrackd -e`).
    External,
    /// The counters (`conntrackd -s`).
    Stats,
    /// Ask the peer for all its states (`conntrackd -n`).
    RequestResync,
    /// Send the peer all our states (`conntrackd -B`).
    SendBulk,
    /// Empty the external cache (`conntrackd -f external`).
    FlushExternal,
}

impl SyncRequest {
    /// Every operation's name.
    pub const OPS: [&'static str; 5] = [
        "external",
        "stats",
        "request-resync",
        "send-bulk",
        "flush-external",
    ];

    /// The request's JSON value.
    pub fn to_value(self) -> Value {
        serde_json::to_value(self).expect("requests serialize")
    }

    /// Reads a request (see [`crate::decode::bare_op`]).
    pub fn from_slice(bytes: &[u8]) -> Result<SyncRequest, String> {
        Ok(match crate::decode::bare_op(bytes, &Self::OPS)?.as_str() {
            "external" => SyncRequest::External,
            "stats" => SyncRequest::Stats,
            "request-resync" => SyncRequest::RequestResync,
            "send-bulk" => SyncRequest::SendBulk,
            _ => SyncRequest::FlushExternal,
        })
    }
}

/// The answer to `external`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalResponse {
    /// How many entries.
    pub count: u64,
    /// One line per entry, as `conntrackd -e` prints them, sorted.
    pub entries: Vec<String>,
    /// One line per expectation, as `conntrack -L expect` prints them, sorted.
    #[serde(default)]
    pub expectations: Vec<String>,
}
