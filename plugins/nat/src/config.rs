//! The config's serde shapes, as written by users: the plugin's section (`chains`,
//! `ruleset`),
//! NAT chains per hook, their rules (the shared `match` vocabulary and one NAT
//! action) and the actions' arguments. Every struct denies unknown fields; values
//! whose meaning needs checking (`to`, addresses) stay strings here and are checked
//! by `rules`, which knows each one's field path.

use brickwall_rules::config::{HookName, MatchCfg};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use std::fmt;

/// The plugin's config section.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NatConfig {
    /// The NAT chains, at most one per hook.
    #[serde(default)]
    pub chains: Vec<ChainCfg>,
    /// A ruleset in nftables' syntax (as `nft -f` reads it, or `nft list ruleset`
    /// prints it), whose nat chains join `chains`.
    #[serde(default)]
    pub ruleset: Option<String>,
    /// The ruleset's text, when the caller has read the file already (`brickwall
    /// --ruleset` does, so that a reload sees a changed file as a changed section);
    /// `ruleset` then only names it in messages.
    #[serde(default)]
    pub ruleset_text: Option<String>,
}

/// One NAT chain (nftables' `type nat hook H`): its rules run only for a
/// connection's first packet. Without a hook, a regular chain, which rules reach with
/// `jump` and `goto`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainCfg {
    /// A name for listings (default `nat-<hook>`); a regular chain's, which `jump`
    /// and `goto` name, is required.
    #[serde(default)]
    pub name: Option<String>,
    /// The hook: prerouting or output (destination), postrouting or input (source);
    /// none for a regular chain.
    #[serde(default)]
    pub hook: Option<HookName>,
    /// The rules, evaluated in order; the first whose match holds decides.
    #[serde(default)]
    pub rules: Vec<RuleCfg>,
}

/// One rule.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleCfg {
    /// Conditions, all of which must hold (absent: every connection), in the shared
    /// match vocabulary.
    #[serde(rename = "match", default)]
    pub matches: Option<MatchCfg>,
    /// What to do.
    pub action: ActionCfg,
    /// Free text shown in listings.
    #[serde(default)]
    pub comment: Option<String>,
}

/// A range flag, in nftables' words.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FlagName {
    /// Start the port search at a keyed hash; never keep the original port.
    Random,
    /// Start the port search at a per-connection random value.
    FullyRandom,
    /// The same address for a client whatever the destination.
    Persistent,
}

/// The arguments of `snat` and `dnat`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NatCfg {
    /// `ADDR[-ADDR][:PORT[-PORT]]` (IPv6 in brackets before a port).
    pub to: String,
    /// Range flags.
    #[serde(default)]
    pub flags: Vec<FlagName>,
}

/// The arguments of `masquerade` and `redirect`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalCfg {
    /// `:PORT[-PORT]`: the ports to map to.
    #[serde(default)]
    pub to: Option<String>,
    /// Range flags.
    #[serde(default)]
    pub flags: Vec<FlagName>,
    /// The local address to use, at most one per family: the output interface's
    /// address for `masquerade`, the input interface's for `redirect` (the engine has
    /// no interface addresses to ask yet).
    #[serde(default)]
    pub addresses: Vec<String>,
}

/// One action, written as a bare word (`masquerade`, `accept`) or a one-key map
/// (`{snat: {to: 192.0.2.1}}`).
#[derive(Debug)]
pub enum ActionCfg {
    /// Translate the source.
    Snat(NatCfg),
    /// Translate the destination.
    Dnat(NatCfg),
    /// Translate the source to the output interface's address.
    Masquerade(LocalCfg),
    /// Translate the destination to the local machine.
    Redirect(LocalCfg),
    /// Stop: the connection is not translated at this hook (a null binding).
    Accept,
    /// Run the regular chain of this name, then go on after the rule unless it
    /// decided.
    Jump(String),
    /// Run the regular chain of this name in place of the rest of this chain.
    Goto(String),
    /// Leave this chain (a base chain: as `accept`).
    Return,
}

/// The action words, for error messages.
pub const ACTION_NAMES: &[&str] = &[
    "snat",
    "dnat",
    "masquerade",
    "redirect",
    "accept",
    "jump",
    "goto",
    "return",
];

fn unknown_action<E: de::Error>(name: &str) -> E {
    E::custom(format_args!(
        "unknown action `{name}`, expected one of {}",
        ACTION_NAMES.join(", ")
    ))
}

/// An argument-less action's body: nothing, `null` or `{}`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct NoArgs {}

struct ActionVisitor;

impl<'de> Visitor<'de> for ActionVisitor {
    type Value = ActionCfg;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a NAT action: a word such as `masquerade`, or a one-key map such as `{snat: {to: 192.0.2.1}}`")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<ActionCfg, E> {
        Ok(match v {
            "masquerade" => ActionCfg::Masquerade(LocalCfg::default()),
            "redirect" => ActionCfg::Redirect(LocalCfg::default()),
            "accept" => ActionCfg::Accept,
            "return" => ActionCfg::Return,
            "snat" | "dnat" => {
                return Err(E::custom(format_args!(
                    "`{v}` needs a `to`, e.g. `{{{v}: {{to: 192.0.2.1}}}}`"
                )))
            }
            "jump" | "goto" => {
                return Err(E::custom(format_args!(
                    "`{v}` needs a chain's name, e.g. `{{{v}: CHAIN}}`"
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
            "snat" => ActionCfg::Snat(map.next_value()?),
            "dnat" => ActionCfg::Dnat(map.next_value()?),
            "masquerade" => {
                ActionCfg::Masquerade(map.next_value::<Option<LocalCfg>>()?.unwrap_or_default())
            }
            "redirect" => {
                ActionCfg::Redirect(map.next_value::<Option<LocalCfg>>()?.unwrap_or_default())
            }
            "accept" => map
                .next_value::<Option<NoArgs>>()
                .map(|_| ActionCfg::Accept)?,
            "return" => map
                .next_value::<Option<NoArgs>>()
                .map(|_| ActionCfg::Return)?,
            "jump" => ActionCfg::Jump(map.next_value()?),
            "goto" => ActionCfg::Goto(map.next_value()?),
            other => return Err(unknown_action(other)),
        };
        if let Some(extra) = map.next_key::<String>()? {
            return Err(de::Error::custom(format_args!(
                "one action per rule (found `{key}` and `{extra}`)"
            )));
        }
        Ok(action)
    }
}

impl<'de> Deserialize<'de> for ActionCfg {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ActionCfg, D::Error> {
        d.deserialize_any(ActionVisitor)
    }
}

impl ActionCfg {
    /// The action's word.
    pub fn name(&self) -> &'static str {
        match self {
            ActionCfg::Snat(_) => "snat",
            ActionCfg::Dnat(_) => "dnat",
            ActionCfg::Masquerade(_) => "masquerade",
            ActionCfg::Redirect(_) => "redirect",
            ActionCfg::Accept => "accept",
            ActionCfg::Jump(_) => "jump",
            ActionCfg::Goto(_) => "goto",
            ActionCfg::Return => "return",
        }
    }
}
