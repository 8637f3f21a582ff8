//! The YAML config: local addresses, queues, and the plugins to load with their own
//! sections. Errors name the file, the line and column, and the field.

use brickwall_yaml_path as yaml_path;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// The config of an engine.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The engine's own addresses: packets to them take the INPUT path.
    #[serde(default)]
    pub local_addresses: Vec<IpAddr>,
    /// Most REPEAT verdicts within one traversal of a hook before the packet is dropped.
    #[serde(default = "default_repeat_limit")]
    pub repeat_limit: u32,
    /// Queue settings by number.
    #[serde(default)]
    pub queues: Vec<QueueConfig>,
    /// Plugins, loaded in order.
    #[serde(default)]
    pub plugins: Vec<PluginConfig>,
    /// Live mode (`brickwall run`): the interfaces to bridge and how.
    #[serde(default)]
    pub live: Option<LiveConfig>,
    /// The YAML text it was parsed from, for placing errors found later (a plugin's
    /// about its own section) at their line and column.
    #[serde(skip)]
    pub source: String,
}

/// The live datapath: which interfaces `brickwall run` bridges, and how it reads them.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveConfig {
    /// The bridged interfaces (two or more); a frame accepted from one leaves by the others.
    pub interfaces: Vec<String>,
    /// How frames are read and sent.
    #[serde(default)]
    pub datapath: Datapath,
    /// What to do with the interfaces' receive and segmentation offloads.
    #[serde(default)]
    pub offloads: OffloadPolicy,
    /// How long a worker waits for a frame before it looks at its other duties (ms).
    #[serde(default = "default_poll_ms")]
    pub poll_ms: u64,
    /// Worker threads per interface (more than one form a PACKET_FANOUT group that
    /// spreads the interface's flows over them).
    #[serde(default = "default_workers")]
    pub workers: usize,
    /// The receive ring of the `tpacket-v3` and `tpacket-v2` datapaths.
    #[serde(default)]
    pub ring: RingConfig,
    /// The host's own side: a TAP device carrying the engine's local addresses.
    #[serde(default)]
    pub tap: Option<TapConfig>,
    /// Router mode: route between the interfaces, with these addresses and routes,
    /// instead of bridging them.
    #[serde(default)]
    pub router: Option<RouterConfig>,
    /// The user (a name, or a numeric uid) the engine becomes once its sockets are
    /// open, keeping only CAP_NET_RAW and CAP_NET_ADMIN; without it an engine started
    /// as root stays uid 0 (with those two capabilities only).
    #[serde(default)]
    pub user: Option<String>,
}

/// The TAP device of live mode: what the bridge delivers locally (after INPUT) goes to
/// it, what the host sends out of it enters at OUTPUT.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TapConfig {
    /// The device's name.
    pub name: String,
    /// Its addresses, `address/prefix-length`: the engine's local addresses. In router
    /// mode none are given: it carries the router's.
    #[serde(default)]
    pub addresses: Vec<IfAddr>,
}

/// Router mode: `brickwall run` routes between its interfaces as a gateway does, with
/// its own addresses on them (the interfaces carry none in the kernel), its own
/// neighbour resolution (ARP, neighbour discovery) and these routes.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouterConfig {
    /// Each routed interface's addresses (`address/prefix-length`), by name: every
    /// interface has one or more, and its prefixes are its connected routes.
    pub addresses: BTreeMap<String, Vec<IfAddr>>,
    /// Routes beyond the connected ones.
    #[serde(default)]
    pub routes: Vec<RouteConfig>,
}

/// A static route: `{to: 0.0.0.0/0, via: 192.0.2.254}`, `{to: default, via:
/// "fd00::fe"}`, `{to: 198.51.100.0/24, dev: eth1}`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// The destination prefix, or `default` (the family of `via`).
    pub to: String,
    /// The next hop: a neighbour on one of the interfaces' prefixes. Without it the
    /// destination is on the link of `dev`.
    #[serde(default)]
    pub via: Option<IpAddr>,
    /// The interface; found from `via`'s connected prefix when left out.
    #[serde(default)]
    pub dev: Option<String>,
}

/// A route as the router keeps it, checked against the interfaces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StaticRoute {
    /// The destination prefix.
    pub to: brickwall_wire::Cidr,
    /// The next hop (none: on-link).
    pub via: Option<IpAddr>,
    /// The interface's position in `live.interfaces`.
    pub dev: usize,
}

impl RouterConfig {
    /// Every address of every routed interface.
    pub fn all_addresses(&self) -> Vec<IpAddr> {
        self.addresses.values().flatten().map(|a| a.0).collect()
    }

    /// The routes, checked: `to` parsed, `dev` one of `interfaces` (or found from
    /// `via`), `via` of `to`'s family. Errors name the field.
    pub fn static_routes(
        &self,
        interfaces: &[String],
    ) -> Result<Vec<StaticRoute>, (String, String)> {
        let mut out = Vec::new();
        for (i, r) in self.routes.iter().enumerate() {
            let at = |f: &str| format!("live.router.routes[{i}].{f}");
            let to = if r.to == "default" {
                let Some(via) = r.via else {
                    return Err((at("to"), "`default` takes its family from `via`: give `via`, or write 0.0.0.0/0 or ::/0 with `dev`".into()));
                };
                let any = match via {
                    IpAddr::V4(_) => IpAddr::from([0u8; 4]),
                    IpAddr::V6(_) => IpAddr::from([0u8; 16]),
                };
                brickwall_wire::Cidr::new(any, 0).expect("0 fits every family")
            } else {
                r.to.parse::<brickwall_wire::Cidr>().map_err(|_| {
                    (
                        at("to"),
                        format!(
                            "`{}` is not a prefix (10.0.0.0/8, 2001:db8::/32) or `default`",
                            r.to
                        ),
                    )
                })?
            };
            if let Some(via) = r.via {
                if via.is_ipv4() != to.addr().is_ipv4() {
                    return Err((
                        at("via"),
                        format!("{via} is not of the family of `to` ({})", r.to),
                    ));
                }
            }
            let dev = match (&r.dev, r.via) {
                (Some(d), _) => interfaces
                    .iter()
                    .position(|n| n == d)
                    .ok_or_else(|| (at("dev"), format!("`{d}` is not one of live.interfaces")))?,
                (None, Some(via)) => interfaces
                    .iter()
                    .position(|n| {
                        self.addresses.get(n).is_some_and(|a| {
                            a.iter().any(|a| {
                                brickwall_wire::Cidr::new(a.0, a.1).is_some_and(|c| c.contains(via))
                            })
                        })
                    })
                    .ok_or_else(|| {
                        (
                            at("via"),
                            format!("{via} is on none of the interfaces' prefixes: give `dev`"),
                        )
                    })?,
                (None, None) => return Err((at("dev"), "give `via`, `dev` or both".into())),
            };
            out.push(StaticRoute {
                to,
                via: r.via,
                dev,
            });
        }
        Ok(out)
    }
}

/// An interface address with its prefix length (`10.0.0.1/24`).
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(try_from = "String")]
pub struct IfAddr(pub IpAddr, pub u8);

impl TryFrom<String> for IfAddr {
    type Error = String;

    fn try_from(s: String) -> Result<IfAddr, String> {
        let (a, l) = s
            .split_once('/')
            .ok_or_else(|| format!("`{s}`: give address/prefix-length, e.g. 10.0.0.1/24"))?;
        let addr: IpAddr = a
            .parse()
            .map_err(|_| format!("`{a}` is not an IP address"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let len: u8 = l
            .parse()
            .ok()
            .filter(|n| *n <= max)
            .ok_or_else(|| format!("`{l}` is not a prefix length (0 to {max})"))?;
        Ok(IfAddr(addr, len))
    }
}

impl Config {
    /// The engine's local addresses: `local_addresses`, or in live mode its TAP's, or
    /// in router mode its interfaces'.
    pub fn local_addresses(&self) -> Vec<IpAddr> {
        let live = self.live.as_ref();
        if let Some(r) = live.and_then(|l| l.router.as_ref()) {
            return r.all_addresses();
        }
        match live.and_then(|l| l.tap.as_ref()) {
            Some(t) => t.addresses.iter().map(|a| a.0).collect(),
            None => self.local_addresses.clone(),
        }
    }
}

fn default_poll_ms() -> u64 {
    50
}

fn default_workers() -> usize {
    1
}

/// The TPACKET_V3 receive ring of each worker.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct RingConfig {
    /// Size of a block in KiB (a power of two, at least 4).
    pub block_kib: usize,
    /// Blocks in the ring.
    pub blocks: usize,
    /// How long the kernel holds a TPACKET_V3 block that is not full before handing it
    /// over (ms): the most a frame waits while its worker reads its V3 ring, which it
    /// does only while the traffic does not wait on the bridge (see `live::ring`).
    pub block_timeout_ms: u32,
}

impl Default for RingConfig {
    fn default() -> Self {
        RingConfig {
            block_kib: 1024,
            blocks: 32,
            block_timeout_ms: 1,
        }
    }
}

/// How the live engine reads and sends frames.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Datapath {
    /// One AF_PACKET socket per interface through pnet, one frame per system call.
    #[default]
    Pnet,
    /// A TPACKET_V3 receive ring per worker (blocks of frames per wake-up) and batched
    /// sending (`sendmmsg`, bypassing the qdisc layer). The most frames per system call;
    /// on a quiet link a frame waits for its block's timer (a few ms).
    TpacketV3,
    /// A TPACKET_V2 receive ring per worker (each frame handed over, and the worker woken,
    /// as it arrives; everything waiting is taken per wake-up) and the same sending.
    /// Low latency at any load.
    TpacketV2,
}

impl Datapath {
    /// The name the config uses.
    pub fn name(self) -> &'static str {
        match self {
            Datapath::Pnet => "pnet",
            Datapath::TpacketV3 => "tpacket-v3",
            Datapath::TpacketV2 => "tpacket-v2",
        }
    }
}

/// What the live engine does with an interface's offloads at start.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum OffloadPolicy {
    /// Turn off GRO, LRO, GSO, TSO and transmit checksumming (logged), so every frame
    /// is a wire-sized frame with a complete checksum, as a bridge must pass it on.
    #[default]
    Disable,
    /// Leave them as they are (frames above the MTU are then dropped and counted).
    Keep,
}

fn default_repeat_limit() -> u32 {
    16
}

/// Settings of one queue.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueConfig {
    /// Queue number.
    pub num: u16,
    /// Packets the queue holds before it is full.
    #[serde(default = "default_queue_capacity")]
    pub capacity: usize,
    /// Let packets continue (instead of dropping them) when the queue is full or unbound.
    #[serde(default)]
    pub bypass: bool,
}

fn default_queue_capacity() -> usize {
    1024
}

/// A priority in a config: a number, or a name such as `filter+5`.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum PrioritySpec {
    /// A number.
    Number(i64),
    /// A name, optionally with an offset.
    Name(String),
}

/// What to do with packets whose callback panicked.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum FailurePolicySpec {
    /// Accept them.
    FailOpen,
    /// Drop them.
    FailClosed,
}

/// One plugin to load.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginConfig {
    /// Expected name; the load fails if the plugin calls itself otherwise.
    #[serde(default)]
    pub name: Option<String>,
    /// Shared object to load (relative paths are relative to the config file).
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// A plugin linked into the binary.
    #[serde(default)]
    pub builtin: Option<String>,
    /// Priority overrides, by registration name.
    #[serde(default)]
    pub priorities: BTreeMap<String, PrioritySpec>,
    /// Overrides the plugin's own failure policy.
    #[serde(default)]
    pub failure_policy: Option<FailurePolicySpec>,
    /// Set to false to keep the entry but not load it.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// The plugin's own section, handed to it as JSON.
    #[serde(default)]
    pub config: serde_yaml_ng::Value,
}

fn default_true() -> bool {
    true
}

/// A config error, with where it was found.
#[derive(Debug, thiserror::Error)]
#[error("{file}{location}: {field}{message}")]
pub struct ConfigError {
    /// The file (or `<embedded>`).
    pub file: String,
    /// `:LINE:COLUMN`, or empty.
    pub location: String,
    /// The field path followed by `: `, or empty.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl ConfigError {
    /// An error about a field found after parsing.
    pub fn field(file: &str, field: String, message: String) -> ConfigError {
        ConfigError {
            file: file.to_string(),
            location: String::new(),
            field: format!("{field}: "),
            message,
        }
    }

    /// An error plugin number `i` gave about its own section (`plugins[i].config`),
    /// `head` saying which plugin: placed at the field its `reason` starts with
    /// (`PATH: ...`, after an optional `config: `) when `source` has that field, else at
    /// the section. A JSON parser's position (in the text the plugin was handed, not the
    /// file) is dropped.
    pub fn plugin_section(
        file: &str,
        source: &str,
        i: usize,
        head: &str,
        reason: &str,
    ) -> ConfigError {
        let section = format!("plugins[{i}].config");
        let r = reason.strip_prefix("config: ").unwrap_or(reason);
        let r = strip_json_position(r);
        let at_field = r.split_once(": ").and_then(|(path, msg)| {
            let field = format!("{section}.{path}");
            yaml_path::locate(source, &field).map(|at| (field, at, msg))
        });
        let (field, at, message) = match at_field {
            Some((field, at, msg)) => (field, Some(at), format!("{head}: {msg}")),
            None => {
                let at = yaml_path::locate(source, &section)
                    .or_else(|| yaml_path::locate(source, &format!("plugins[{i}]")));
                (section, at, format!("{head}: {r}"))
            }
        };
        ConfigError {
            file: file.to_string(),
            location: at.map(|(l, c)| format!(":{l}:{c}")).unwrap_or_default(),
            field: format!("{field}: "),
            message,
        }
    }
}

/// `message` without the ` at line N column M` serde_json puts at its end.
fn strip_json_position(message: &str) -> &str {
    let Some(i) = message.rfind(" at line ") else {
        return message;
    };
    let tail: Vec<&str> = message[i + 9..].split(' ').collect();
    let number = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    match tail[..] {
        [l, "column", c] if number(l) && number(c) => &message[..i],
        _ => message,
    }
}

impl Config {
    /// Parses YAML text; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Config, ConfigError> {
        let de = serde_yaml_ng::Deserializer::from_str(text);
        let mut cfg: Config = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let location = inner
                .location()
                .map(|l| format!(":{}:{}", l.line(), l.column()))
                .unwrap_or_default();
            let mut message = inner.to_string();
            // The YAML error repeats the position at its end; keep one copy.
            if let Some(i) = message.find(" at line ") {
                message.truncate(i);
            }
            ConfigError {
                file: file.to_string(),
                location,
                field: if path == "." {
                    String::new()
                } else {
                    format!("{path}: ")
                },
                message,
            }
        })?;
        cfg.validate(file)?;
        cfg.source = text.to_string();
        Ok(cfg)
    }

    /// Reads and parses a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: file.clone(),
            location: String::new(),
            field: String::new(),
            message: format!("cannot read: {e}"),
        })?;
        Config::parse(&text, &file)
    }

    fn validate(&self, file: &str) -> Result<(), ConfigError> {
        for (i, p) in self.plugins.iter().enumerate() {
            let at = format!("plugins[{i}]");
            match (&p.path, &p.builtin) {
                (None, None) => {
                    return Err(ConfigError::field(
                        file,
                        at,
                        "needs `path` (a shared object) or `builtin`".into(),
                    ))
                }
                (Some(_), Some(_)) => {
                    return Err(ConfigError::field(
                        file,
                        at,
                        "give `path` or `builtin`, not both".into(),
                    ))
                }
                _ => {}
            }
            for (k, v) in &p.priorities {
                if p.priority(k).is_none() {
                    return Err(ConfigError::field(
                        file,
                        format!("{at}.priorities.{k}"),
                        format!(
                            "not a priority: {v:?} (a number, or a name like conntrack, filter+5)"
                        ),
                    ));
                }
            }
        }
        if let Some(live) = &self.live {
            if live.interfaces.len() < 2 {
                let what = if live.router.is_some() {
                    "a router"
                } else {
                    "a bridge"
                };
                return Err(ConfigError::field(
                    file,
                    "live.interfaces".into(),
                    format!(
                        "{what} needs two interfaces or more, got {}",
                        live.interfaces.len()
                    ),
                ));
            }
            let mut names = std::collections::HashSet::new();
            for (i, n) in live.interfaces.iter().enumerate() {
                if n.is_empty() || n.len() > 15 || n.contains('/') {
                    return Err(ConfigError::field(
                        file,
                        format!("live.interfaces[{i}]"),
                        format!("`{n}` is not an interface name (1 to 15 bytes, no `/`)"),
                    ));
                }
                if !names.insert(n) {
                    return Err(ConfigError::field(
                        file,
                        format!("live.interfaces[{i}]"),
                        format!("`{n}` is listed twice"),
                    ));
                }
            }
            if !(1..=64).contains(&live.workers) {
                return Err(ConfigError::field(
                    file,
                    "live.workers".into(),
                    format!("{} workers per interface: give 1 to 64", live.workers),
                ));
            }
            let r = &live.ring;
            if !(4..=65_536).contains(&r.block_kib) || !r.block_kib.is_power_of_two() {
                return Err(ConfigError::field(
                    file,
                    "live.ring.block_kib".into(),
                    format!(
                        "{} KiB: a block is a power of two from 4 to 65536 KiB",
                        r.block_kib
                    ),
                ));
            }
            if !(1..=1024).contains(&r.blocks) || r.block_kib * r.blocks > 1 << 20 {
                return Err(ConfigError::field(
                    file,
                    "live.ring.blocks".into(),
                    format!(
                        "{} blocks of {} KiB: give 1 to 1024 blocks, at most 1 GiB in all",
                        r.blocks, r.block_kib
                    ),
                ));
            }
            if !self.local_addresses.is_empty() {
                return Err(ConfigError::field(
                    file,
                    "local_addresses".into(),
                    "in live mode the local addresses are those of `live.tap.addresses` \
                     (the host's TAP device): leave local_addresses empty"
                        .into(),
                ));
            }
            if let Some(r) = &live.router {
                if live.tap.as_ref().is_some_and(|t| !t.addresses.is_empty()) {
                    return Err(ConfigError::field(
                        file,
                        "live.tap.addresses".into(),
                        "in router mode the TAP carries the router's addresses \
                         (live.router.addresses): leave these out"
                            .into(),
                    ));
                }
                for n in &live.interfaces {
                    if r.addresses.get(n).is_none_or(|a| a.is_empty()) {
                        return Err(ConfigError::field(
                            file,
                            "live.router.addresses".into(),
                            format!("interface `{n}` has no address: a routed interface needs one or more"),
                        ));
                    }
                }
                for n in r.addresses.keys() {
                    if !live.interfaces.contains(n) {
                        return Err(ConfigError::field(
                            file,
                            format!("live.router.addresses.{n}"),
                            format!("`{n}` is not one of live.interfaces"),
                        ));
                    }
                }
                r.static_routes(&live.interfaces)
                    .map_err(|(at, m)| ConfigError::field(file, at, m))?;
            }
            if let Some(t) = live.tap.as_ref().filter(|_| live.router.is_none()) {
                if t.addresses.is_empty() {
                    return Err(ConfigError::field(
                        file,
                        "live.tap.addresses".into(),
                        "give the host's addresses (address/prefix-length)".into(),
                    ));
                }
            }
            if let Some(t) = &live.tap {
                if t.name.is_empty() || t.name.len() > 15 || t.name.contains('/') {
                    return Err(ConfigError::field(
                        file,
                        "live.tap.name".into(),
                        format!(
                            "`{}` is not an interface name (1 to 15 bytes, no `/`)",
                            t.name
                        ),
                    ));
                }
                if live.interfaces.contains(&t.name) {
                    return Err(ConfigError::field(
                        file,
                        "live.tap.name".into(),
                        format!("`{}` is also a bridged interface", t.name),
                    ));
                }
            }
        }
        let mut seen = std::collections::HashSet::new();
        for (i, q) in self.queues.iter().enumerate() {
            if !seen.insert(q.num) {
                return Err(ConfigError::field(
                    file,
                    format!("queues[{i}].num"),
                    format!("queue {} configured twice", q.num),
                ));
            }
        }
        Ok(())
    }
}

impl PluginConfig {
    /// The resolved priority override for a registration name.
    pub fn priority(&self, reg: &str) -> Option<i32> {
        match self.priorities.get(reg)? {
            PrioritySpec::Number(n) => i32::try_from(*n).ok(),
            PrioritySpec::Name(s) => brickwall_hooks::priority::parse(s),
        }
    }

    /// The plugin's section as JSON text (`null` when absent).
    pub fn config_json(&self) -> String {
        serde_json::to_string(&self.config).unwrap_or_else(|_| "null".to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_file_line_and_field() {
        let text = "local_addresses: [10.0.0.1]\nplugins:\n  - path: a.so\n    priorites: {}\n";
        let e = Config::parse(text, "fw.yaml").unwrap_err().to_string();
        assert!(e.starts_with("fw.yaml:4:"), "{e}");
        assert!(e.contains("plugins[0]"), "{e}");
        assert!(e.contains("priorites"), "{e}");

        let e = Config::parse("local_addresses: [10.0.0.300]\n", "x.yaml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("x.yaml:1:"), "{e}");
        assert!(e.contains("local_addresses[0]"), "{e}");

        let e = Config::parse("plugins:\n  - name: x\n", "y.yaml")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "y.yaml: plugins[0]: needs `path` (a shared object) or `builtin`"
        );

        let e = Config::parse(
            "plugins:\n  - builtin: x\n    priorities: {in: loud}\n",
            "z.yaml",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("plugins[0].priorities.in"), "{e}");
    }

    #[test]
    fn plugin_sections_become_json() {
        let c = Config::parse(
            "plugins:\n  - builtin: x\n    priorities: {in: filter+5, out: -3}\n    config: {a: 1, b: [x]}\n",
            "c.yaml",
        )
        .unwrap();
        let p = &c.plugins[0];
        assert_eq!(p.priority("in"), Some(5));
        assert_eq!(p.priority("out"), Some(-3));
        assert_eq!(p.config_json(), r#"{"a":1,"b":["x"]}"#);
        assert_eq!(c.repeat_limit, 16);
    }

    #[test]
    fn the_example_live_config_parses() {
        let c = Config::parse(include_str!("../../../examples/live/fw.yaml"), "fw.yaml").unwrap();
        let l = c.live.expect("live section");
        assert_eq!(l.interfaces, ["eth1", "eth2"]);
        assert_eq!(l.datapath, Datapath::TpacketV2);
        assert_eq!(c.plugins.len(), 2);
    }

    #[test]
    fn the_example_router_config_parses() {
        let c = Config::parse(
            include_str!("../../../examples/live/router.yaml"),
            "router.yaml",
        )
        .unwrap();
        let l = c.live.as_ref().expect("live section");
        let r = l.router.as_ref().expect("router mode");
        let routes = r.static_routes(&l.interfaces).unwrap();
        assert_eq!(routes.len(), 3);
        assert_eq!(routes[0].to.to_string(), "0.0.0.0/0");
        assert_eq!(
            routes[0].dev, 1,
            "the default route leaves by eth2, via's link"
        );
        assert_eq!(routes[1].to.to_string(), "::/0");
        assert_eq!(routes[2].dev, 0);
        assert_eq!(c.local_addresses().len(), 4, "the router's own addresses");
    }

    #[test]
    fn router_sections_are_checked() {
        let err = |router: &str| {
            Config::parse(
                &format!("live:\n  interfaces: [a, b]\n  router: {router}\n"),
                "r.yaml",
            )
            .unwrap_err()
            .to_string()
        };
        let both = "addresses: {a: [10.0.0.1/24], b: [10.1.0.1/24]}";
        assert_eq!(
            err("{addresses: {a: [10.0.0.1/24]}}"),
            "r.yaml: live.router.addresses: interface `b` has no address: a routed interface needs one or more"
        );
        assert_eq!(
            err("{addresses: {a: [10.0.0.1/24], b: [10.1.0.1/24], c: [10.2.0.1/24]}}"),
            "r.yaml: live.router.addresses.c: `c` is not one of live.interfaces"
        );
        assert_eq!(
            err(&format!("{{{both}, routes: [{{to: default}}]}}")),
            "r.yaml: live.router.routes[0].to: `default` takes its family from `via`: give `via`, or write 0.0.0.0/0 or ::/0 with `dev`"
        );
        assert_eq!(
            err(&format!("{{{both}, routes: [{{to: 10.9.0.0/16, via: 10.5.0.1}}]}}")),
            "r.yaml: live.router.routes[0].via: 10.5.0.1 is on none of the interfaces' prefixes: give `dev`"
        );
        assert_eq!(
            err(&format!(
                "{{{both}, routes: [{{to: 10.9.0.0/16, dev: c}}]}}"
            )),
            "r.yaml: live.router.routes[0].dev: `c` is not one of live.interfaces"
        );
        assert_eq!(
            err(&format!(
                "{{{both}, routes: [{{to: \"fd00::/8\", via: 10.0.0.9}}]}}"
            )),
            "r.yaml: live.router.routes[0].via: 10.0.0.9 is not of the family of `to` (fd00::/8)"
        );
        assert_eq!(
            err(&format!("{{{both}, routes: [{{to: 10.9.0.0/33, dev: a}}]}}")),
            "r.yaml: live.router.routes[0].to: `10.9.0.0/33` is not a prefix (10.0.0.0/8, 2001:db8::/32) or `default`"
        );
        let tap = |t: &str| {
            Config::parse(
                &format!("live:\n  interfaces: [a, b]\n  tap: {t}\n  router: {{{both}}}\n"),
                "r.yaml",
            )
        };
        let e = tap("{name: t0, addresses: [10.9.0.1/24]}")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with(
                "r.yaml: live.tap.addresses: in router mode the TAP carries the router's"
            ),
            "{e}"
        );
        assert!(tap("{name: t0}").is_ok());
        let e = Config::parse("live:\n  interfaces: [a, b]\n  tap: {name: t0}\n", "b.yaml")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "b.yaml: live.tap.addresses: give the host's addresses (address/prefix-length)"
        );
    }

    #[test]
    fn live_sections_are_checked() {
        let c = Config::parse(
            "live: {interfaces: [eth1, eth2]}
",
            "l.yaml",
        )
        .unwrap();
        let l = c.live.expect("live section");
        assert_eq!(l.interfaces, ["eth1", "eth2"]);
        assert_eq!(l.datapath, Datapath::Pnet);
        assert_eq!(l.offloads, OffloadPolicy::Disable);
        assert_eq!(l.poll_ms, 50);

        let err = |t: &str| Config::parse(t, "l.yaml").unwrap_err().to_string();
        assert_eq!(
            err("live: {interfaces: [eth1]}\n"),
            "l.yaml: live.interfaces: a bridge needs two interfaces or more, got 1"
        );
        assert_eq!(
            err("live: {interfaces: [eth1, eth1]}\n"),
            "l.yaml: live.interfaces[1]: `eth1` is listed twice"
        );
        assert!(err("live: {interfaces: [eth1, averyveryverylongname]}\n")
            .starts_with("l.yaml: live.interfaces[1]: `averyveryverylongname` is not"));
        let e = err("live: {interfaces: [a, b], datapath: netmap}\n");
        assert!(
            e.contains("live.datapath") && e.contains("tpacket-v3"),
            "{e}"
        );
        let c = Config::parse(
            "live: {interfaces: [a, b], datapath: tpacket-v3, workers: 2, ring: {blocks: 4}}\n",
            "l.yaml",
        )
        .unwrap();
        let l = c.live.unwrap();
        assert_eq!(
            (l.datapath, l.workers, l.ring.blocks, l.ring.block_kib),
            (Datapath::TpacketV3, 2, 4, 1024)
        );
        assert!(err("live: {interfaces: [a, b], workers: 0}\n").contains("live.workers"));
        assert!(err("live: {interfaces: [a, b], ring: {block_kib: 3}}\n")
            .contains("live.ring.block_kib"));
        assert!(
            err("live: {interfaces: [a, b], ring: {blocks: 2000}}\n").contains("live.ring.blocks")
        );
        let e = err("local_addresses: [10.0.0.1]\nlive: {interfaces: [a, b]}\n");
        assert!(
            e.starts_with("l.yaml: local_addresses: in live mode the local addresses"),
            "{e}"
        );
        let c = Config::parse(
            "live: {interfaces: [a, b], tap: {name: bw0, addresses: [10.0.0.1/24, 'fd00::1/64']}}\n",
            "l.yaml",
        )
        .unwrap();
        assert_eq!(
            c.local_addresses(),
            [
                "10.0.0.1".parse::<IpAddr>().unwrap(),
                "fd00::1".parse().unwrap()
            ]
        );
        let e = err("live: {interfaces: [a, b], tap: {name: bw0, addresses: [10.0.0.1/33]}}\n");
        assert!(
            e.contains("live.tap.addresses[0]") && e.contains("prefix length"),
            "{e}"
        );
        let e = err("live: {interfaces: [a, b], tap: {name: a, addresses: [10.0.0.1/24]}}\n");
        assert!(e.contains("live.tap.name"), "{e}");
    }
}
