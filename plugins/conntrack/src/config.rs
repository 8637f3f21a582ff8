//! The conntrack plugin's config section, with Linux's defaults.

use crate::hash::HashKind;
use crate::proto::Timeouts;
use serde::Deserialize;

/// The plugin's settings.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CtConfig {
    /// Hash buckets at start (`nf_conntrack_buckets`); a reconfigure with another value
    /// resizes the table while it runs.
    pub buckets: usize,
    /// Double the buckets, while traffic flows, when the connections outnumber them
    /// (Linux never resizes on its own).
    pub auto_resize: bool,
    /// Most buckets `auto_resize` grows to; 0: `max` rounded up to a power of two.
    pub max_buckets: usize,
    /// Most connections (`nf_conntrack_max`).
    pub max: usize,
    /// Hash function: `siphash` or `jenkins`.
    pub hash: HashKind,
    /// Pick up TCP connections mid-stream (`nf_conntrack_tcp_loose`).
    pub tcp_loose: bool,
    /// Accept out-of-window TCP packets (`nf_conntrack_tcp_be_liberal`).
    pub tcp_be_liberal: bool,
    /// Retransmissions before the retrans timeout applies (`nf_conntrack_tcp_max_retrans`).
    pub tcp_max_retrans: u8,
    /// Verify transport checksums of received packets, at PREROUTING: a bad one makes
    /// the packet INVALID (`nf_conntrack_checksum`, on by default as in Linux).
    pub checksum: bool,
    /// Timeouts, seconds.
    pub timeouts: Timeouts,
    /// Track DCCP as a protocol conntrack does not know, by addresses alone with the
    /// generic timeout and no state, as Linux 6.16 and later do (they removed
    /// `nf_conntrack_proto_dccp`). Off: DCCP's own tracker, as in Linux 6.1–6.15
    /// (ports, states, timeouts per state). Takes effect at start.
    pub dccp_generic: bool,
    /// Reassemble fragments before tracking.
    pub defrag: bool,
    /// Buckets the garbage collector visits per run.
    pub gc_buckets: usize,
    /// Packet-time interval between garbage-collection runs, milliseconds.
    pub gc_interval_ms: u64,
    /// Zone given to packets (zones from other plugins come later).
    pub zone: u16,
    /// Most expectations in all (`nf_ct_expect_max`).
    pub expect_max: usize,
    /// Application helpers (WebAssembly components): name, component, ports, limits.
    pub helpers: Vec<brickwall_helpers::HelperPolicy>,
    /// The sandbox all helpers share: per-call budget, compile cache, log rate.
    pub helper_sandbox: brickwall_helpers::SandboxPolicy,
    /// Count packets and bytes per direction of each connection (Linux's
    /// `nf_conntrack_acct`, off by default there too): 32 bytes more per connection.
    pub accounting: bool,
    /// Keep each connection's start time (Linux's `nf_conntrack_timestamp`, off by
    /// default): 8 bytes more per connection.
    pub timestamp: bool,
    /// Table size, in bytes of connection records, from which each batch of packets is
    /// prepared (tuples hashed, table entries prefetched) before it is tracked; 0:
    /// always. Below it the table stays in cache and preparing does not pay.
    pub batch_prefetch_min_bytes: usize,
}

impl Default for CtConfig {
    fn default() -> Self {
        CtConfig {
            buckets: 262_144,
            auto_resize: true,
            max_buckets: 0,
            max: 262_144,
            hash: HashKind::Siphash,
            tcp_loose: true,
            tcp_be_liberal: false,
            tcp_max_retrans: 3,
            checksum: true,
            timeouts: Timeouts::default(),
            dccp_generic: false,
            defrag: true,
            gc_buckets: 1024,
            gc_interval_ms: 1000,
            zone: 0,
            expect_max: 4096,
            helpers: Vec::new(),
            helper_sandbox: Default::default(),
            accounting: false,
            timestamp: false,
            batch_prefetch_min_bytes: crate::tracker::PREFETCH_MIN_BYTES,
        }
    }
}

/// Most hash buckets a table may have: 2^26 (256 MiB of chain heads).
pub const MAX_BUCKETS: usize = 1 << 26;

/// Most connections a table may be allowed: 2^30 (128 GiB of records).
pub const MAX_CONNECTIONS: usize = 1 << 30;

impl CtConfig {
    /// Most buckets `auto_resize` grows the table to: `max_buckets`, or `max` rounded
    /// up to a power of two (one connection per bucket at the limit), at most
    /// [`MAX_BUCKETS`].
    pub fn auto_resize_limit(&self) -> usize {
        match self.max_buckets {
            0 => self.max.next_power_of_two().min(MAX_BUCKETS),
            n => n,
        }
    }

    /// Parses the section (JSON text from the engine; `null` for defaults).
    pub fn parse(json: &str) -> Result<CtConfig, String> {
        let json = json.trim();
        if json.is_empty() || json == "null" {
            return Ok(CtConfig::default());
        }
        let mut de = serde_json::Deserializer::from_str(json);
        let cfg: CtConfig = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = e.path().to_string();
            if path == "." {
                format!("config: {}", e.into_inner())
            } else {
                format!("config: {path}: {}", e.into_inner())
            }
        })?;
        if cfg.buckets == 0 {
            return Err("config: buckets must be at least 1".into());
        }
        if cfg.buckets > MAX_BUCKETS {
            return Err(format!(
                "config: buckets: {} is more than {MAX_BUCKETS} (4 bytes each, allocated at start)",
                cfg.buckets
            ));
        }
        if cfg.max_buckets > MAX_BUCKETS {
            return Err(format!(
                "config: max_buckets: {} is more than {MAX_BUCKETS}",
                cfg.max_buckets
            ));
        }
        if cfg.max == 0 {
            return Err("config: max must be at least 1".into());
        }
        if cfg.max > MAX_CONNECTIONS {
            return Err(format!(
                "config: max: {} is more than {MAX_CONNECTIONS} connections",
                cfg.max
            ));
        }
        Ok(cfg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_field_path() {
        let e = CtConfig::parse(r#"{"timeouts": {"tcp_established": "long"}}"#).unwrap_err();
        assert!(e.starts_with("config: timeouts.tcp_established: "), "{e}");
        let e = CtConfig::parse(r#"{"zone": 70000}"#).unwrap_err();
        assert!(e.starts_with("config: zone: "), "{e}");
    }

    #[test]
    fn dccp_timeouts_and_the_generic_switch() {
        let d = CtConfig::default();
        assert!(!d.dccp_generic);
        assert_eq!(
            (d.timeouts.dccp.open, d.timeouts.dccp.respond),
            (43_200, 480)
        );
        let c = CtConfig::parse(r#"{"dccp_generic": true, "timeouts": {"dccp": {"open": 60}}}"#)
            .unwrap();
        assert!(c.dccp_generic);
        assert_eq!((c.timeouts.dccp.open, c.timeouts.dccp.request), (60, 240));
        let e = CtConfig::parse(r#"{"timeouts": {"dccp": {"opened": 60}}}"#).unwrap_err();
        assert!(e.starts_with("config: timeouts.dccp.opened: "), "{e}");
    }

    #[test]
    fn sizes_past_the_bounds_are_refused_before_anything_is_allocated() {
        let e = CtConfig::parse(r#"{"buckets": 100000000000}"#).unwrap_err();
        assert!(
            e.contains("buckets: 100000000000 is more than 67108864"),
            "{e}"
        );
        let e = CtConfig::parse(r#"{"max": 100000000000}"#).unwrap_err();
        assert!(e.contains("max: 100000000000 is more than"), "{e}");
        assert!(CtConfig::parse(r#"{"buckets": 67108864, "max": 1073741824}"#).is_ok());
    }
}
