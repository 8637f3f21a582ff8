//! Parsers of single config values — ports and port ranges, address prefixes, marks,
//! protocols — into their compiled forms. Each returns a message naming the bad value;
//! `compile` adds the field path.

use brickwall_hooks::Family;
use brickwall_wire::{ip_proto, Cidr, CidrError};
use std::net::IpAddr;

use crate::matcher::{MaskedValue, Net, PortRange, TcpFlags};
use crate::scalar::Scalar;

/// Splits a leading `!` (negation) off a trimmed string.
fn negation(s: &str) -> (bool, &str) {
    let s = s.trim();
    match s.strip_prefix('!') {
        Some(rest) => (true, rest.trim()),
        None => (false, s),
    }
}

/// A `u32` in decimal or `0x` hexadecimal.
pub fn u32_text(s: &str) -> Option<u32> {
    let s = s.trim();
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) if !hex.is_empty() => u32::from_str_radix(hex, 16).ok(),
        Some(_) => None,
        None => s.parse().ok(),
    }
}

/// A 32-bit value (`mark_set`, `ct_mark_set`): a number, or a decimal or hex string.
pub fn value32(v: &Scalar) -> Result<u32, String> {
    match v {
        Scalar::Num(n) => u32::try_from(*n).map_err(|_| format!("{n} does not fit in 32 bits")),
        Scalar::Str(s) => u32_text(s).ok_or_else(|| format!("not a 32-bit number: {s:?}")),
    }
}

/// A mark match: `value` or `"value/mask"`.
pub fn masked(v: &Scalar) -> Result<MaskedValue, String> {
    let (value, mask) = match v {
        Scalar::Num(_) => (value32(v)?, u32::MAX),
        Scalar::Str(s) => match s.split_once('/') {
            Some((a, b)) => (
                u32_text(a).ok_or_else(|| format!("not a 32-bit value/mask: {s:?}"))?,
                u32_text(b).ok_or_else(|| format!("not a 32-bit value/mask: {s:?}"))?,
            ),
            None => (value32(v)?, u32::MAX),
        },
    };
    if value & !mask != 0 {
        return Err(format!(
            "value {value:#x} has bits outside mask {mask:#x}, so it can never match"
        ));
    }
    Ok(MaskedValue { value, mask })
}

/// TCP flag names and bits, in the header's order from the lowest bit.
pub use brickwall_wire::tcp_flags::NAMES as TCP_FLAGS;

/// Flag names separated by commas (or `|`), as one bitmask.
fn flag_list(s: &str) -> Result<u8, String> {
    let mut bits = 0;
    for name in s.split([',', '|']).map(str::trim) {
        bits |= TCP_FLAGS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, b)| *b)
            .ok_or_else(|| {
                format!("unknown TCP flag {name:?} (fin, syn, rst, psh, ack, urg, ecn, cwr)")
            })?;
    }
    Ok(bits)
}

/// `tcp_flags`: `"syn,ack"` (any of them) or `"syn/syn,ack,rst"` (value under mask).
pub fn tcp_flags(s: &str) -> Result<TcpFlags, String> {
    match s.split_once('/') {
        Some((v, m)) => {
            let (value, mask) = (flag_list(v)?, flag_list(m)?);
            if value & !mask != 0 {
                return Err(format!(
                    "{s:?}: the value has flags outside the mask, so it can never match"
                ));
            }
            Ok(TcpFlags {
                mask,
                value,
                any: false,
            })
        }
        None => Ok(TcpFlags {
            mask: flag_list(s)?,
            value: 0,
            any: true,
        }),
    }
}

/// A DSCP value: 0-63, or a class name (`cs0`-`cs7`, `af11`-`af43`, `ef`).
pub fn dscp(v: &Scalar) -> Result<u8, String> {
    let n = match v {
        Scalar::Num(n) => u8::try_from(*n).ok(),
        Scalar::Str(s) => {
            let s = s.trim();
            let digits = |t: &str| t.parse::<u8>().ok();
            if let Some(n) = digits(s) {
                Some(n)
            } else if s == "ef" {
                Some(46)
            } else if let Some(c) = s.strip_prefix("cs").and_then(digits).filter(|c| *c <= 7) {
                Some(c * 8)
            } else {
                s.strip_prefix("af")
                    .filter(|d| d.len() == 2)
                    .and_then(|d| Some((d[..1].parse::<u8>().ok()?, d[1..].parse::<u8>().ok()?)))
                    .filter(|(x, y)| (1..=4).contains(x) && (1..=3).contains(y))
                    .map(|(x, y)| 8 * x + 2 * y)
            }
        }
    };
    n.filter(|n| *n < 64)
        .ok_or_else(|| format!("{v} is not a DSCP value (0-63, cs0-cs7, af11-af43, ef)"))
}

/// A protocol: a name (`tcp`, `icmpv6`, ...) or a number 0-255.
pub fn proto(v: &Scalar) -> Result<u8, String> {
    let bad = |what: &dyn std::fmt::Display| {
        let known: Vec<&str> = ip_proto::NAMES.iter().map(|(n, _)| *n).collect();
        format!(
            "unknown protocol {what} (a number 0-255 or one of {})",
            known.join(", ")
        )
    };
    match v {
        Scalar::Num(n) => u8::try_from(*n).map_err(|_| bad(n)),
        Scalar::Str(s) => {
            let s = s.trim();
            ip_proto::from_name(&s.to_ascii_lowercase())
                .or_else(|| s.parse().ok())
                .ok_or_else(|| bad(&format_args!("{s:?}")))
        }
    }
}

fn port(s: &str) -> Option<u16> {
    s.trim().parse().ok()
}

/// A port, `"lo-hi"` range, optionally `!`-negated.
pub fn port_range(v: &Scalar) -> Result<PortRange, String> {
    let s = match v {
        Scalar::Num(n) => {
            let p = u16::try_from(*n).map_err(|_| format!("port {n} is out of range (0-65535)"))?;
            return Ok(PortRange {
                lo: p,
                hi: p,
                negated: false,
            });
        }
        Scalar::Str(s) => s,
    };
    let (negated, body) = negation(s);
    let (lo, hi) = match body.split_once('-') {
        Some((a, b)) => match (port(a), port(b)) {
            (Some(lo), Some(hi)) if lo <= hi => (lo, hi),
            (Some(lo), Some(hi)) => {
                return Err(format!(
                    "invalid port range {s:?}: {lo} is above {hi} (write the low end first)"
                ))
            }
            _ => return Err(format!("invalid port range {s:?} (ports are 0-65535)")),
        },
        None => match port(body) {
            Some(p) => (p, p),
            None => return Err(format!("not a port or \"lo-hi\" range: {s:?}")),
        },
    };
    Ok(PortRange { lo, hi, negated })
}

/// An address or prefix (`10.0.0.0/8`, `2001:db8::/32`, `192.0.2.1`), optionally
/// `!`-negated. Host bits beyond the prefix are refused.
pub fn net(s: &str) -> Result<(Family, Net), String> {
    let (negated, body) = negation(s);
    let cidr: Cidr = body.parse().map_err(|e| match e {
        CidrError::Address => format!("invalid address {s:?}"),
        CidrError::Prefix { max } => format!(
            "invalid prefix length in {s:?}: 0-{max} for {}",
            if max == 32 { "IPv4" } else { "IPv6" }
        ),
    })?;
    if cidr.has_host_bits() {
        return Err(format!(
            "prefix {s:?} has host bits set (the network is {}/{})",
            cidr.network(),
            cidr.prefix()
        ));
    }
    let family = match cidr.addr() {
        IpAddr::V4(_) => Family::Ipv4,
        IpAddr::V6(_) => Family::Ipv6,
    };
    Ok((family, Net { cidr, negated }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> Scalar {
        Scalar::Str(x.into())
    }

    #[test]
    fn ports() {
        assert_eq!(
            port_range(&s("8000-8100")),
            Ok(PortRange {
                lo: 8000,
                hi: 8100,
                negated: false
            })
        );
        assert_eq!(
            port_range(&s("! 22")),
            Ok(PortRange {
                lo: 22,
                hi: 22,
                negated: true
            })
        );
        assert!(port_range(&s("90-80"))
            .unwrap_err()
            .starts_with("invalid port range \"90-80\""));
        assert!(port_range(&Scalar::Num(70000)).is_err());
        assert!(port_range(&s("http")).is_err());
        assert!(port_range(&s("1-70000")).is_err());
        assert!(port_range(&s("!")).is_err());
    }

    #[test]
    fn prefixes() {
        let (f, n) = net("10.1.0.0/16").unwrap();
        assert_eq!(f, Family::Ipv4);
        assert_eq!(
            (n.cidr.to_string(), n.negated),
            ("10.1.0.0/16".into(), false)
        );
        let (f, n) = net("!2001:db8::/32").unwrap();
        assert_eq!(f, Family::Ipv6);
        assert!(n.negated);
        assert_eq!(n.cidr.prefix(), 32);
        assert_eq!(net("0.0.0.0/0").unwrap().1.cidr.prefix(), 0);
        assert_eq!(net("::1").unwrap().1.cidr.prefix(), 128);
        assert_eq!(net("192.0.2.1").unwrap().1.cidr.prefix(), 32);
        assert!(net("10.0.0.1/8").unwrap_err().contains("10.0.0.0/8"));
        assert!(net("10.0.0.0/33").is_err());
        assert!(net("2001:db8::/129").is_err());
        assert!(net("10.0.0/8").is_err());
        assert!(net("").is_err());
    }

    #[test]
    fn marks_and_protocols() {
        assert_eq!(
            masked(&s("0x10/0xff")),
            Ok(MaskedValue {
                value: 0x10,
                mask: 0xff
            })
        );
        assert_eq!(masked(&Scalar::Num(5)).unwrap().mask, u32::MAX);
        assert!(masked(&s("0x110/0xff")).is_err());
        assert!(masked(&Scalar::Num(1 << 40)).is_err());
        assert!(masked(&s("0x")).is_err());
        assert_eq!(value32(&s("0x20")), Ok(32));
        assert_eq!(proto(&s("gre")), Ok(47));
        assert_eq!(proto(&Scalar::Num(132)), Ok(132));
        assert_eq!(proto(&s("41")), Ok(41));
        assert!(proto(&Scalar::Num(256)).is_err());
        assert!(proto(&s("tcpp")).unwrap_err().contains("\"tcpp\""));
    }
}
