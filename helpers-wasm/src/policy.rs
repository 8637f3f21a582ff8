//! Helper policy: what the YAML config says about each helper and about the sandbox
//! they all run in.

use brickwall_wire::ip_proto;
use serde::Deserialize;

/// What to do with a packet when its helper call fails (trap, budget, memory).
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum OnFailure {
    /// Accept the packet with no expectation (Linux's helpers accept what they cannot
    /// parse).
    #[default]
    FailOpen,
    /// Drop the packet.
    FailClosed,
}

/// What to do with a packet whose helper asked for an expectation that could not be
/// created (it clashes with another, the table is full).
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum OnExpectFailure {
    /// Let it pass (Linux's PPTP helper).
    #[default]
    Accept,
    /// Drop it (Linux's FTP, IRC and TFTP helpers: "cannot add expectation").
    Drop,
}

/// One helper.
#[derive(Clone, Debug, Deserialize)]
#[serde(from = "PolicyFields")]
pub struct HelperPolicy {
    /// Name, as in `conntrack -L` (`helper=ftp`) and in filter rules.
    pub name: String,
    /// The component: a path (relative to the config file) or `builtin:ftp`,
    /// `builtin:irc`, `builtin:tftp`, `builtin:pptp`, `builtin:sane`, `builtin:amanda`,
    /// `builtin:snmp`, `builtin:sip`.
    pub wasm: String,
    /// Ports assigned automatically, as `tcp/21`, `udp/69`; empty: only explicit
    /// assignment (Linux's default since 4.7).
    pub ports: Vec<String>,
    /// Most live expectations per connection and class (the oldest goes at the limit).
    /// By default Linux's for the bundled helper the component is (`builtin:amanda` and
    /// `builtin:sip` 4, `builtin:pptp` 2, `builtin:irc` 8, `builtin:ftp`,
    /// `builtin:tftp` and `builtin:sane` 1), 1 for any other.
    pub max_expected: u32,
    /// Most live expectations per connection for each class, by class number, where a
    /// class's limit differs from `max_expected` (a class beyond the list takes
    /// `max_expected`). By default Linux's for `builtin:sip`: signalling 1, audio 4,
    /// video 4, image 2; empty for any other.
    pub class_max_expected: Vec<u32>,
    /// Expectation lifetime, seconds (when the helper gives none); by default Linux's
    /// for the bundled helper the component is (`builtin:amanda` and `builtin:sip`
    /// 180), 300 for any other.
    pub timeout_s: u32,
    /// What a failed call does to its packet.
    pub on_failure: OnFailure,
    /// What an expectation that cannot be created does to the packet that announced
    /// it. By default Linux's for the bundled helper the component is (`builtin:pptp`
    /// lets it pass, the others drop it), `accept` for any other.
    pub on_expect_failure: OnExpectFailure,
    /// Failed calls within `failure_window_s` after which the helper is disabled (0:
    /// never).
    pub max_failures: u32,
    /// The window, in seconds, over which failures count towards `max_failures`: older
    /// ones are forgotten, so rare failures of a healthy helper never add up to
    /// disabling it (0: failures are never forgotten).
    pub failure_window_s: u32,
    /// Most bytes of per-connection state.
    pub max_state_bytes: u32,
    /// Most linear memory an instance may grow to, bytes.
    pub max_memory_bytes: u64,
}

impl HelperPolicy {
    /// The most live expectations of class `class` per connection.
    pub fn max_expected_for(&self, class: u8) -> u32 {
        self.class_max_expected
            .get(usize::from(class))
            .copied()
            .unwrap_or(self.max_expected)
    }
}

/// The fields as a config gives them; defaults that depend on the component are
/// filled in [`HelperPolicy::from`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFields {
    name: String,
    wasm: String,
    #[serde(default)]
    ports: Vec<String>,
    #[serde(default)]
    max_expected: Option<u32>,
    #[serde(default)]
    class_max_expected: Option<Vec<u32>>,
    #[serde(default)]
    timeout_s: Option<u32>,
    #[serde(default)]
    on_failure: OnFailure,
    #[serde(default)]
    on_expect_failure: Option<OnExpectFailure>,
    #[serde(default = "default_max_failures")]
    max_failures: u32,
    #[serde(default = "default_failure_window")]
    failure_window_s: u32,
    #[serde(default = "default_state_bytes")]
    max_state_bytes: u32,
    #[serde(default = "default_memory")]
    max_memory_bytes: u64,
}

impl From<PolicyFields> for HelperPolicy {
    fn from(f: PolicyFields) -> HelperPolicy {
        let (max_expected, on_expect_failure) = linux_defaults(&f.wasm);
        // Linux's expectation timeouts: Amanda's and SIP's 3 minutes, everyone else's 5.
        let timeout_s = match f.wasm.as_str() {
            "builtin:amanda" | "builtin:sip" => 180,
            _ => 300,
        };
        // Linux's SIP classes: signalling, audio, video, image.
        let class_max = if f.wasm == "builtin:sip" {
            vec![1, 4, 4, 2]
        } else {
            Vec::new()
        };
        HelperPolicy {
            max_expected: f.max_expected.unwrap_or(max_expected),
            class_max_expected: f.class_max_expected.unwrap_or(class_max),
            on_expect_failure: f.on_expect_failure.unwrap_or(on_expect_failure),
            name: f.name,
            wasm: f.wasm,
            ports: f.ports,
            timeout_s: f.timeout_s.unwrap_or(timeout_s),
            on_failure: f.on_failure,
            max_failures: f.max_failures,
            failure_window_s: f.failure_window_s,
            max_state_bytes: f.max_state_bytes,
            max_memory_bytes: f.max_memory_bytes,
        }
    }
}

/// Linux's `max_expected` and expectation-failure verdict for the helper a bundled
/// component re-implements (`nf_conntrack_{ftp,irc,tftp,pptp,sane,amanda,sip}`); 1
/// and accept for any other component.
fn linux_defaults(wasm: &str) -> (u32, OnExpectFailure) {
    match wasm.strip_prefix("builtin:") {
        Some("ftp" | "tftp" | "sane") => (1, OnExpectFailure::Drop),
        Some("amanda" | "sip") => (4, OnExpectFailure::Drop),
        Some("irc") => (8, OnExpectFailure::Drop),
        Some("pptp") => (2, OnExpectFailure::Accept),
        _ => (1, OnExpectFailure::Accept),
    }
}
fn default_max_failures() -> u32 {
    10
}
fn default_failure_window() -> u32 {
    60
}
fn default_state_bytes() -> u32 {
    256
}
fn default_memory() -> u64 {
    4 << 20
}

/// How a call's run time is bounded.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Budget {
    /// Wall-clock deadline per call (epoch interruption; production).
    DeadlineMs(u64),
    /// WebAssembly fuel per call (deterministic; tests).
    Fuel(u64),
}

impl Default for Budget {
    fn default() -> Self {
        Budget::DeadlineMs(50)
    }
}

/// Settings shared by all helpers.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SandboxPolicy {
    /// Per-call run-time bound.
    #[serde(default)]
    pub budget: Budget,
    /// Where precompiled components are cached (`""` turns the cache off; default
    /// `$XDG_CACHE_HOME/brickwall/helpers` or `~/.cache/brickwall/helpers`).
    #[serde(default)]
    pub cache_dir: Option<String>,
    /// Log lines per second a helper may write (the rest are counted and dropped).
    #[serde(default)]
    pub log_per_second: Option<u32>,
}

/// A port a helper is assigned to automatically.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PortSpec {
    /// IP protocol number.
    pub proto: u8,
    /// Destination port of the connection's first packet.
    pub port: u16,
}

impl PortSpec {
    /// Parses `tcp/21`, `udp/69`, `sctp/..`.
    pub fn parse(s: &str) -> Result<PortSpec, String> {
        let (p, port) = s
            .split_once('/')
            .ok_or_else(|| format!("`{s}`: expected protocol/port, e.g. tcp/21"))?;
        // The protocols with ports.
        let proto = ip_proto::from_name(&p.to_ascii_lowercase())
            .filter(|n| {
                matches!(
                    *n,
                    ip_proto::TCP
                        | ip_proto::UDP
                        | ip_proto::SCTP
                        | ip_proto::UDPLITE
                        | ip_proto::DCCP
                )
            })
            .ok_or_else(|| format!("`{s}`: unknown protocol `{p}`"))?;
        let port = port
            .parse::<u16>()
            .map_err(|_| format!("`{s}`: `{port}` is not a port"))?;
        Ok(PortSpec { proto, port })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_specs_parse_and_refuse_with_reasons() {
        assert_eq!(
            PortSpec::parse("tcp/21"),
            Ok(PortSpec { proto: 6, port: 21 })
        );
        assert_eq!(PortSpec::parse("UDP/69").map(|p| p.proto), Ok(17));
        assert!(PortSpec::parse("tcp21")
            .unwrap_err()
            .contains("protocol/port"));
        assert!(PortSpec::parse("gre/1")
            .unwrap_err()
            .contains("unknown protocol"));
        assert!(PortSpec::parse("tcp/70000")
            .unwrap_err()
            .contains("not a port"));
    }

    #[test]
    fn bundled_helpers_default_to_linuxs_limits_and_verdicts() {
        let p = |json: &str| serde_json::from_str::<HelperPolicy>(json).unwrap();
        let timeout = |wasm: &str| p(&format!(r#"{{"name":"x","wasm":"{wasm}"}}"#)).timeout_s;
        assert_eq!(
            (timeout("builtin:amanda"), timeout("builtin:sane")),
            (180, 300)
        );
        let of = |wasm: &str| {
            let h = p(&format!(r#"{{"name":"x","wasm":"{wasm}"}}"#));
            (h.max_expected, h.on_expect_failure)
        };
        use OnExpectFailure::{Accept, Drop};
        assert_eq!(of("builtin:ftp"), (1, Drop));
        assert_eq!(of("builtin:tftp"), (1, Drop));
        assert_eq!(of("builtin:irc"), (8, Drop));
        assert_eq!(of("builtin:pptp"), (2, Accept));
        assert_eq!(of("builtin:sane"), (1, Drop));
        assert_eq!(of("builtin:amanda"), (4, Drop));
        assert_eq!(of("builtin:sip"), (4, Drop));
        assert_eq!(of("mine.wasm"), (1, Accept));
        let timeout = |wasm: &str| p(&format!(r#"{{"name":"x","wasm":"{wasm}"}}"#)).timeout_s;
        assert_eq!(
            (timeout("builtin:amanda"), timeout("builtin:sane")),
            (180, 300)
        );
        let sip = p(r#"{"name":"x","wasm":"builtin:sip"}"#);
        assert_eq!(sip.class_max_expected, vec![1, 4, 4, 2]);
        assert_eq!(
            (0..5).map(|c| sip.max_expected_for(c)).collect::<Vec<_>>(),
            [1, 4, 4, 2, 4]
        );
        assert_eq!(
            p(r#"{"name":"x","wasm":"builtin:ftp"}"#).max_expected_for(3),
            1
        );
        assert_eq!(timeout("builtin:sip"), 180);
        // What a config gives wins.
        let h =
            p(r#"{"name":"x","wasm":"builtin:pptp","max_expected":5,"on_expect_failure":"drop"}"#);
        assert_eq!((h.max_expected, h.on_expect_failure), (5, Drop));
        let h = p(r#"{"name":"x","wasm":"builtin:irc","on_expect_failure":"accept"}"#);
        assert_eq!((h.max_expected, h.on_expect_failure), (8, Accept));
    }

    #[test]
    fn policies_take_linux_like_defaults() {
        let p: HelperPolicy =
            serde_json::from_str(r#"{"name":"ftp","wasm":"builtin:ftp"}"#).unwrap();
        assert_eq!((p.max_expected, p.timeout_s), (1, 300));
        assert_eq!(p.on_failure, OnFailure::FailOpen);
        assert_eq!(p.on_expect_failure, OnExpectFailure::Drop);
        let s: SandboxPolicy = serde_json::from_str(r#"{"budget":{"fuel":1000}}"#).unwrap();
        assert_eq!(s.budget, Budget::Fuel(1000));
        assert!(
            serde_json::from_str::<HelperPolicy>(r#"{"name":"x","wasm":"y","port":1}"#).is_err()
        );
    }
}
