//! `{"op":"expect-create", ...}`: an expectation made by hand (`conntrack -I expect`),
//! as a helper would make it. The master is a confirmed connection given by either of
//! its tuples; the expected tuple takes the same fields as `tuple`; the mask says which
//! of its source to compare.
//!
//! ```json
//! {"op": "expect-create",
//!  "master": {"proto": "tcp", "src": "10.0.0.1", "dst": "10.0.0.2", "sport": 40000, "dport": 21},
//!  "expect": {"proto": "tcp", "src": "10.0.0.2", "dst": "10.0.0.1", "sport": 0, "dport": 50000},
//!  "mask": {"src": "255.255.255.255", "sport": 0},
//!  "timeout": 300, "helper": "ftp"}
//! ```
//!
//! The answer is `{"id": N}`.

use super::request::{parse_tuple, show};
use crate::expect::{ExpectSpec, Mask};
use crate::tracker::Tracker;
use serde_json::Value;

/// Whether `v` asks for `expect-create`.
pub fn is_request(v: &Value) -> bool {
    v.get("op").and_then(Value::as_str) == Some("expect-create")
}

fn mask_of(v: Option<&Value>, family_v6: bool) -> Result<Mask, String> {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Ok(Mask::EXACT);
    };
    let m = v
        .as_object()
        .ok_or_else(|| format!("mask: expected an object, got {}", show(v)))?;
    for k in m.keys() {
        if k != "src" && k != "sport" {
            return Err(format!("mask: unknown field {k:?} (src, sport)"));
        }
    }
    let mut mask = Mask::EXACT;
    if let Some(s) = m.get("src").filter(|v| !v.is_null()) {
        let text = s
            .as_str()
            .ok_or_else(|| format!("mask.src: expected an address, got {}", show(s)))?;
        let a: std::net::IpAddr = text
            .parse()
            .map_err(|_| format!("mask.src: not an address: {text:?}"))?;
        mask.src = match a {
            std::net::IpAddr::V4(v4) if !family_v6 => {
                let mut b = [0u8; 16];
                b[..4].copy_from_slice(&v4.octets());
                b
            }
            std::net::IpAddr::V6(v6) if family_v6 => v6.octets(),
            _ => {
                return Err(format!(
                    "mask.src: {text} is not of the expected tuple's family"
                ))
            }
        };
    }
    if let Some(p) = m.get("sport").filter(|v| !v.is_null()) {
        mask.src_id = p
            .as_u64()
            .and_then(|n| u16::try_from(n).ok())
            .ok_or_else(|| format!("mask.sport: expected 0 to 65535, got {}", show(p)))?;
    }
    Ok(mask)
}

/// Creates the expectation `v` describes, as of `now_ns`.
pub fn run(t: &mut Tracker, v: &Value, now_ns: u64) -> Result<Vec<u8>, String> {
    for k in v
        .as_object()
        .map(|m| m.keys().cloned().collect::<Vec<_>>())
        .unwrap_or_default()
    {
        if ![
            "op", "master", "expect", "mask", "timeout", "helper", "now_ns",
        ]
        .contains(&k.as_str())
        {
            return Err(format!(
                "expect-create: unknown field {k:?} (master, expect, mask, timeout, helper)"
            ));
        }
    }
    let zone = t.config().zone;
    let master = parse_tuple(
        v.get("master")
            .ok_or("master: missing (the master connection's tuple)")?,
        zone,
    )
    .map_err(|e| e.replacen("tuple", "master", 1))?;
    let mut tuple = parse_tuple(
        v.get("expect")
            .ok_or("expect: missing (the expected tuple)")?,
        zone,
    )
    .map_err(|e| e.replacen("tuple", "expect", 1))?;
    let mask = mask_of(v.get("mask"), tuple.family == crate::tuple::FAMILY_V6)?;
    // Fields outside the mask are zero, as Linux stores (and lists) them.
    for (b, m) in tuple.src.iter_mut().zip(mask.src.iter()) {
        *b &= m;
    }
    tuple.src_id &= mask.src_id;
    let timeout_s = match v.get("timeout").filter(|x| !x.is_null()) {
        None => 300,
        Some(x) => x
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .filter(|n| *n > 0)
            .ok_or_else(|| format!("timeout: expected seconds above 0, got {}", show(x)))?,
    };
    let helper = match v.get("helper").filter(|x| !x.is_null()) {
        None => String::new(),
        Some(x) => x
            .as_str()
            .filter(|s| s.len() <= 16)
            .ok_or_else(|| {
                format!(
                    "helper: expected a name of at most 16 bytes, got {}",
                    show(x)
                )
            })?
            .to_owned(),
    };
    let handle = t.handle_of(&master).ok_or("master: no such connection")?;
    let spec = ExpectSpec {
        tuple,
        mask,
        timeout_s,
        helper,
        class: 0,
        max_expected: 0,
        flags: 0,
    };
    let id = t
        .expect_create(handle, spec, now_ns)
        .map_err(|e| format!("expect-create: {e:?}"))?;
    serde_json::to_vec(&serde_json::json!({ "id": id })).map_err(|e| e.to_string())
}
