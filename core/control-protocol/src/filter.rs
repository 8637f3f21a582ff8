//! The stateful filter plugin's part of the protocol (target [`TARGET`]): `list`
//! answers its chains and rules with their counters ([`ChainsResponse`]); `reset`
//! zeroes the counters ([`ResetResponse`]).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The filter plugin's name on the control socket.
pub const TARGET: &str = "filter";

/// A request to the filter: `{"op": "list"}` or the bare word.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum FilterRequest {
    /// The chains and rules with their counters.
    List,
    /// Zero every counter.
    Reset,
}

impl FilterRequest {
    /// Every operation's name.
    pub const OPS: [&'static str; 2] = ["list", "reset"];

    /// The request's JSON value.
    pub fn to_value(self) -> Value {
        serde_json::to_value(self).expect("requests serialize")
    }

    /// Reads a request (see [`crate::decode::bare_op`]).
    pub fn from_slice(bytes: &[u8]) -> Result<FilterRequest, String> {
        Ok(match crate::decode::bare_op(bytes, &Self::OPS)?.as_str() {
            "list" => FilterRequest::List,
            _ => FilterRequest::Reset,
        })
    }
}

/// One rule and its counters.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleInfo {
    /// Its position in the chain, from 0.
    pub index: u64,
    /// The rule as nftables would print it.
    pub text: String,
    /// Its comment.
    #[serde(default)]
    pub comment: Option<String>,
    /// Packets it matched.
    pub packets: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Log lines its `log` statements left out under their rate limit (rules that log).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_suppressed: Option<u64>,
}

/// One chain, its policy and its rules.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainInfo {
    /// Its name.
    pub name: String,
    /// The hook it is attached to.
    pub hook: String,
    /// `filter` or `raw`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Its priority (Linux's numbers).
    pub priority: i32,
    /// The name of the callback it runs as, if it is registered.
    #[serde(default)]
    pub registration: Option<String>,
    /// Where it was defined (file and line).
    pub source: String,
    /// Its header as nftables prints it.
    pub text: String,
    /// `accept` or `drop`.
    pub policy: String,
    /// Packets its policy decided.
    pub policy_packets: u64,
    /// Their bytes.
    pub policy_bytes: u64,
    /// Its rules, in order.
    pub rules: Vec<RuleInfo>,
}

/// The answer to `list`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainsResponse {
    /// The chains, in registration order.
    pub chains: Vec<ChainInfo>,
}

/// The answer to `reset`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResetResponse {
    /// Chains whose counters were zeroed.
    pub reset: u64,
}
