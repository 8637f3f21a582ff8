//! The filter's config shapes, as written by users: the plugin's section (`rules_file`,
//! `chains`), the rules file (`chains`), chains, rules and actions (matches are the
//! shared [`MatchCfg`]). Every struct denies unknown fields. Values whose meaning needs
//! checking (marks, helper names, labels) stay [`Scalar`]s or strings here and are
//! validated by `compile`, which knows the field path of each.

use brickwall_rules::compile::Stage;
use brickwall_rules::config::{HookName, MatchCfg};
use brickwall_rules::scalar::{OneOrMany, Scalar};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use std::fmt;

/// The plugin's config section.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilterConfig {
    /// A YAML file with more chains (`chains:`), relative to the working directory
    /// unless absolute.
    #[serde(default)]
    pub rules_file: Option<String>,
    /// A ruleset in nftables' syntax (as `nft -f` reads it, or `nft list ruleset`
    /// prints it), relative to the working directory unless absolute: its filter
    /// chains join the others.
    #[serde(default)]
    pub ruleset: Option<String>,
    /// The ruleset's text, when the caller has read the file already (`brickwall run
    /// --ruleset` does, so that a reload sees a changed file as a changed section);
    /// `ruleset` then only names it in messages.
    #[serde(default)]
    pub ruleset_text: Option<String>,
    /// Chains given inline.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub chains: Vec<ChainCfg>,
}

/// A list that may be written empty (`rules:` with nothing after it, which YAML reads
/// as null).
fn null_as_empty<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// The contents of a rules file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesFile {
    /// The chains.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub chains: Vec<ChainCfg>,
}

/// A chain's type: where it sits among the hook's callbacks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChainType {
    /// Priority `filter` (0), after conntrack.
    #[default]
    Filter,
    /// Priority `raw` (-300), before conntrack; prerouting and output only.
    Raw,
}

impl ChainType {
    /// The lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            ChainType::Filter => "filter",
            ChainType::Raw => "raw",
        }
    }

    /// Where the chain runs relative to conntrack.
    pub fn stage(self) -> Stage {
        match self {
            ChainType::Filter => Stage::AfterConntrack,
            ChainType::Raw => Stage::BeforeConntrack,
        }
    }
}

/// What a chain does with a packet no terminal rule decided.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PolicyName {
    /// Let it continue.
    #[default]
    Accept,
    /// Drop it (reason `filter-policy-drop`).
    Drop,
}

/// One chain: a base chain on a hook, or (without `hook`) a regular chain that rules
/// reach by `jump` and `goto`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainCfg {
    /// A name for listings (default `<type>-<hook>`); what `jump` and `goto` name.
    #[serde(default)]
    pub name: Option<String>,
    /// The hook; absent for a regular chain (which then needs a name).
    #[serde(default)]
    pub hook: Option<HookName>,
    /// The type (`filter` or `raw`).
    #[serde(rename = "type", default)]
    pub kind: ChainType,
    /// The policy.
    #[serde(default)]
    pub policy: PolicyName,
    /// The rules, evaluated in order.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub rules: Vec<RuleCfg>,
}

/// One rule: what to match, what to do.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleCfg {
    /// Conditions, all of which must hold (absent: every packet).
    #[serde(rename = "match", default)]
    pub matches: Option<MatchCfg>,
    /// One action or a list (non-terminal ones first, at most one terminal, last).
    /// Absent: the rule only counts.
    #[serde(default)]
    pub action: Option<OneOrMany<ActionCfg>>,
    /// Accepted for nftables parity; per-rule counters are always kept.
    #[serde(default)]
    pub counter: bool,
    /// A rate the rule's matches must stay under (or go over), nft's `limit rate`.
    #[serde(default)]
    pub limit: Option<LimitCfg>,
    /// Bytes the rule matches before it stops matching (or after which it starts),
    /// nft's `quota`.
    #[serde(default)]
    pub quota: Option<QuotaCfg>,
    /// Free text shown in listings.
    #[serde(default)]
    pub comment: Option<String>,
}

/// The unit of a `limit` rate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Per {
    /// Per second.
    #[default]
    Second,
    /// Per minute.
    Minute,
    /// Per hour.
    Hour,
    /// Per day.
    Day,
}

impl Per {
    /// The unit's length in nanoseconds.
    pub fn ns(self) -> u64 {
        1_000_000_000
            * match self {
                Per::Second => 1,
                Per::Minute => 60,
                Per::Hour => 3600,
                Per::Day => 86_400,
            }
    }

    /// The lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Per::Second => "second",
            Per::Minute => "minute",
            Per::Hour => "hour",
            Per::Day => "day",
        }
    }
}

/// nft's default `limit` burst, in packets.
pub const DEFAULT_BURST: u32 = 5;

fn default_burst() -> u32 {
    DEFAULT_BURST
}

/// A rule's `limit`: packets per unit of time, by packet time.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitCfg {
    /// Packets per `per`.
    pub rate: u32,
    /// The unit.
    #[serde(default)]
    pub per: Per,
    /// Packets allowed at once beyond the rate (nft's default 5).
    #[serde(default = "default_burst")]
    pub burst: u32,
    /// Match the packets over the rate instead.
    #[serde(default)]
    pub over: bool,
}

/// A rule's `quota`.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuotaCfg {
    /// Bytes (IP datagram lengths).
    pub bytes: u64,
    /// Match once the quota is used instead.
    #[serde(default)]
    pub over: bool,
}

/// Arguments of `queue`.
#[derive(Clone, Copy, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueCfg {
    /// Queue number.
    #[serde(default)]
    pub num: u16,
    /// Let the packet continue when the queue cannot take it.
    #[serde(default)]
    pub bypass: bool,
}

/// Host log levels, named.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// 0.
    Error,
    /// 1: `log`'s default, as nft's.
    #[serde(alias = "warning")]
    #[default]
    Warn,
    /// 2.
    Info,
    /// 3.
    Debug,
}

impl LogLevel {
    /// The host's numeric level.
    pub fn value(self) -> u8 {
        match self {
            LogLevel::Error => 0,
            LogLevel::Warn => 1,
            LogLevel::Info => 2,
            LogLevel::Debug => 3,
        }
    }

    /// The lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
        }
    }
}

/// Default `log` rate, messages per second.
pub const DEFAULT_LOG_RATE: u32 = 5;

fn default_log_rate() -> u32 {
    DEFAULT_LOG_RATE
}

/// Arguments of `log`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogCfg {
    /// Text put before the packet's description.
    #[serde(default)]
    pub prefix: String,
    /// Messages per second at most (token bucket, burst of one second's worth).
    #[serde(default = "default_log_rate")]
    pub rate: u32,
    /// Host log level.
    #[serde(default)]
    pub level: LogLevel,
}

impl Default for LogCfg {
    fn default() -> Self {
        LogCfg {
            prefix: String::new(),
            rate: DEFAULT_LOG_RATE,
            level: LogLevel::Warn,
        }
    }
}

/// An argument-less action's body: nothing, `null` or `{}`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoArgs {}

/// One action, written as a bare word (`accept`) or a one-key map (`{queue: {num: 3}}`).
#[derive(Debug)]
pub enum ActionCfg {
    /// Terminal: let the packet continue.
    Accept,
    /// Terminal: drop it (reason `filter-rule-drop`).
    Drop,
    /// Terminal: hand it to a userspace queue.
    Queue(QueueCfg),
    /// Set the packet mark.
    MarkSet(Scalar),
    /// Set the connection mark.
    CtMarkSet(Scalar),
    /// Raw chains only: do not track the packet.
    Notrack,
    /// Ask conntrack to assign a helper to the packet's new connection.
    CtHelperSet(String),
    /// Set connection labels (numbers or names; the others stay).
    CtLabelSet(OneOrMany<Scalar>),
    /// Log the packet (rate-limited).
    Log(LogCfg),
    /// Count (counters are always kept; accepted for parity).
    Counter,
    /// Terminal here: run the regular chain of this name, then go on after this rule
    /// (unless it decided).
    Jump(String),
    /// Terminal: run the regular chain of this name instead of the rest of this one.
    Goto(String),
    /// Terminal: leave this chain (a base chain's policy decides).
    Return,
    /// Terminal: drop the packet and answer its sender.
    Reject(RejectCfg),
}

/// Arguments of `reject`.
#[derive(Clone, Copy, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RejectCfg {
    /// The answer: `port-unreachable` (default), `host-unreachable`, `no-route`,
    /// `admin-prohibited` (ICMP or ICMPv6, by the packet's family), or `tcp-reset`.
    #[serde(default)]
    pub with: crate::reject::RejectWith,
}

/// The action words, for error messages.
pub const ACTION_NAMES: &[&str] = &[
    "accept",
    "drop",
    "queue",
    "mark_set",
    "ct_mark_set",
    "notrack",
    "ct_helper_set",
    "ct_label_set",
    "log",
    "counter",
    "jump",
    "goto",
    "return",
    "reject",
];

impl ActionCfg {
    /// Whether the action ends the chain's evaluation.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            ActionCfg::Accept
                | ActionCfg::Drop
                | ActionCfg::Queue(_)
                | ActionCfg::Jump(_)
                | ActionCfg::Goto(_)
                | ActionCfg::Return
                | ActionCfg::Reject(_)
        )
    }
}

fn unknown_action<E: de::Error>(name: &str) -> E {
    E::custom(format_args!(
        "unknown action `{name}`, expected one of {}",
        ACTION_NAMES.join(", ")
    ))
}

struct ActionVisitor;

impl<'de> Visitor<'de> for ActionVisitor {
    type Value = ActionCfg;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "an action: a word such as `accept`, or a one-key map such as `{queue: {num: 3}}`",
        )
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<ActionCfg, E> {
        Ok(match v {
            "accept" => ActionCfg::Accept,
            "drop" => ActionCfg::Drop,
            "queue" => ActionCfg::Queue(QueueCfg::default()),
            "notrack" => ActionCfg::Notrack,
            "log" => ActionCfg::Log(LogCfg::default()),
            "counter" => ActionCfg::Counter,
            "return" => ActionCfg::Return,
            "reject" => ActionCfg::Reject(RejectCfg::default()),
            "mark_set" | "ct_mark_set" | "ct_helper_set" | "ct_label_set" | "jump" | "goto" => {
                return Err(E::custom(format_args!(
                    "`{v}` needs a value, e.g. `{{{v}: 0x20}}`"
                )))
            }
            other => return Err(unknown_action(other)),
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ActionCfg, A::Error> {
        let Some(key) = map.next_key::<String>()? else {
            return Err(de::Error::custom("an empty map is not an action"));
        };
        let action = match key.as_str() {
            "accept" => map
                .next_value::<Option<NoArgs>>()
                .map(|_| ActionCfg::Accept)?,
            "drop" => map
                .next_value::<Option<NoArgs>>()
                .map(|_| ActionCfg::Drop)?,
            "notrack" => map
                .next_value::<Option<NoArgs>>()
                .map(|_| ActionCfg::Notrack)?,
            "counter" => map
                .next_value::<Option<NoArgs>>()
                .map(|_| ActionCfg::Counter)?,
            "queue" => ActionCfg::Queue(map.next_value::<Option<QueueCfg>>()?.unwrap_or_default()),
            "log" => ActionCfg::Log(map.next_value::<Option<LogCfg>>()?.unwrap_or_default()),
            "mark_set" => ActionCfg::MarkSet(map.next_value()?),
            "ct_mark_set" => ActionCfg::CtMarkSet(map.next_value()?),
            "ct_helper_set" => ActionCfg::CtHelperSet(map.next_value()?),
            "ct_label_set" => ActionCfg::CtLabelSet(map.next_value()?),
            "reject" => {
                ActionCfg::Reject(map.next_value::<Option<RejectCfg>>()?.unwrap_or_default())
            }
            "jump" => ActionCfg::Jump(map.next_value()?),
            "goto" => ActionCfg::Goto(map.next_value()?),
            "return" => map
                .next_value::<Option<NoArgs>>()
                .map(|_| ActionCfg::Return)?,
            other => return Err(unknown_action(other)),
        };
        if let Some(extra) = map.next_key::<String>()? {
            return Err(de::Error::custom(format_args!(
                "one action per map (found `{key}` and `{extra}`); write a list for several"
            )));
        }
        Ok(action)
    }
}

impl<'de> serde::Deserialize<'de> for ActionCfg {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ActionCfg, D::Error> {
        d.deserialize_any(ActionVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_as_words_maps_and_lists() {
        let a: OneOrMany<ActionCfg> = serde_json::from_str(r#""accept""#).unwrap();
        assert!(matches!(a.items(), [ActionCfg::Accept]));
        let a: OneOrMany<ActionCfg> = serde_json::from_str(r#"{"drop": {}}"#).unwrap();
        assert!(matches!(a.items(), [ActionCfg::Drop]));
        let a: OneOrMany<ActionCfg> = serde_json::from_str(r#"{"drop": null}"#).unwrap();
        assert!(matches!(a.items(), [ActionCfg::Drop]));
        let a: OneOrMany<ActionCfg> = serde_json::from_str(
            r#"[{"log": {"prefix": "x"}}, {"queue": {"num": 3, "bypass": true}}]"#,
        )
        .unwrap();
        assert!(matches!(
            a.items(),
            [
                ActionCfg::Log(_),
                ActionCfg::Queue(QueueCfg {
                    num: 3,
                    bypass: true
                })
            ]
        ));
        assert!(serde_json::from_str::<ActionCfg>(r#""refuse""#).is_err());
        assert!(serde_json::from_str::<ActionCfg>(r#"{"drop": {"x": 1}}"#).is_err());
        assert!(serde_json::from_str::<ActionCfg>(r#"{"drop": {}, "accept": {}}"#).is_err());
        assert!(serde_json::from_str::<ActionCfg>(r#""mark_set""#).is_err());
    }
}
