//! A translation's range (Linux's `nf_nat_range2`): the addresses and ports (or ICMP
//! ids) a binding may choose from, with the `random`, `fully-random` and `persistent`
//! flags; and the parser of nftables' `to` argument, `ADDR[-ADDR][:PORT[-PORT]]`
//! (IPv6 addresses in brackets when a port follows) or `:PORT[-PORT]`.

use brickwall_hooks::Family;
use std::net::IpAddr;

use crate::tuple::{addr_num, Flow, Manip};

/// The flags of a range.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flags {
    /// `random`: the port search starts at a keyed hash, and the original port is not
    /// kept even if free (Linux's `NF_NAT_RANGE_PROTO_RANDOM`).
    pub random: bool,
    /// `fully-random`: the port search starts at a per-connection random value
    /// (`NF_NAT_RANGE_PROTO_RANDOM_FULLY`).
    pub fully_random: bool,
    /// `persistent`: a client gets the same address whatever the destination
    /// (`NF_NAT_RANGE_PERSISTENT`).
    pub persistent: bool,
}

impl Flags {
    /// `random` or `fully-random` (Linux's `NF_NAT_RANGE_PROTO_RANDOM_ALL`).
    pub fn any_random(&self) -> bool {
        self.random || self.fully_random
    }
}

/// What a binding may choose from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range {
    /// The addresses, inclusive, as numbers of [`Range::family`] (`None`: keep the
    /// address).
    pub addrs: Option<(u128, u128)>,
    /// The family of `addrs`.
    pub family: Family,
    /// The ports or ICMP ids, inclusive (`None`: the protocol's default).
    pub keys: Option<(u16, u16)>,
    /// The flags.
    pub flags: Flags,
}

impl Range {
    /// The range of one address and no ports: Linux's null binding keeps the address a
    /// manip has and lets the protocol move the port only on a clash.
    pub fn null(curr: &Flow, m: Manip) -> Range {
        let family = curr.family();
        let a = addr_num(&curr.addr(m), family);
        Range {
            addrs: Some((a, a)),
            family,
            keys: None,
            flags: Flags::default(),
        }
    }

    /// Whether the flow's manipulated part already lies in the range (Linux's
    /// `nf_in_range`).
    pub fn contains(&self, f: &Flow, m: Manip) -> bool {
        if let Some((lo, hi)) = self.addrs {
            if f.family() != self.family {
                return false;
            }
            let a = addr_num(&f.addr(m), self.family);
            if a < lo || a > hi {
                return false;
            }
        }
        match (self.keys, f.key(m)) {
            (Some((lo, hi)), Some(k)) => (lo..=hi).contains(&k),
            _ => true,
        }
    }
}

/// A parsed `to`: addresses (with their family) and ports, each optional.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct To {
    /// First and last address.
    pub addrs: Option<(Family, u128, u128)>,
    /// First and last port.
    pub ports: Option<(u16, u16)>,
}

fn addr(s: &str) -> Result<(Family, u128), String> {
    let ip: IpAddr = s
        .parse()
        .map_err(|_| format!("{s:?} is not an IPv4 or IPv6 address"))?;
    Ok(match ip {
        IpAddr::V4(a) => (Family::Ipv4, u128::from(u32::from(a))),
        IpAddr::V6(a) => (Family::Ipv6, u128::from(a)),
    })
}

fn unbracket(s: &str) -> Result<&str, String> {
    match s.strip_prefix('[') {
        Some(r) => r
            .strip_suffix(']')
            .ok_or_else(|| format!("{s:?}: an unclosed `[`")),
        None => Ok(s),
    }
}

fn addr_range(s: &str) -> Result<(Family, u128, u128), String> {
    // An IPv6 range in brackets is `[a]-[b]`; without brackets `a-b` (no port follows).
    let (a, b) = match s.find("]-").map(|i| i + 1).or_else(|| s.find('-')) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let (fa, lo) = addr(unbracket(a)?)?;
    let Some(b) = b else {
        return Ok((fa, lo, lo));
    };
    let (fb, hi) = addr(unbracket(b)?)?;
    if fa != fb {
        return Err(format!("{s:?} mixes an IPv4 and an IPv6 address"));
    }
    if hi < lo {
        return Err(format!("{s:?}: the first address is above the last"));
    }
    Ok((fa, lo, hi))
}

/// Parses `PORT` or `PORT-PORT` (1 to 65535, first not above last).
pub fn port_range(s: &str) -> Result<(u16, u16), String> {
    let port = |p: &str| -> Result<u16, String> {
        match p.trim().parse::<u16>() {
            Ok(0) | Err(_) => Err(format!("{p:?} is not a port (1 to 65535)")),
            Ok(n) => Ok(n),
        }
    };
    let (lo, hi) = match s.split_once('-') {
        Some((a, b)) => (port(a)?, port(b)?),
        None => {
            let p = port(s)?;
            (p, p)
        }
    };
    if hi < lo {
        return Err(format!("{s:?}: the first port is above the last"));
    }
    Ok((lo, hi))
}

/// Parses nftables' `to` argument: `ADDR`, `ADDR-ADDR`, either followed by
/// `:PORT[-PORT]` (an IPv6 address then in brackets: `[2001:db8::1]:80`), or
/// `:PORT[-PORT]` alone.
pub fn parse_to(s: &str) -> Result<To, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("an empty `to`; write ADDR[-ADDR][:PORT[-PORT]]".into());
    }
    if let Some(ports) = s.strip_prefix(':').filter(|p| !p.starts_with(':')) {
        return Ok(To {
            addrs: None,
            ports: Some(port_range(ports)?),
        });
    }
    // Where the addresses end and the ports begin: after the last `]` for bracketed
    // IPv6, at the only `:` for IPv4; unbracketed IPv6 has no ports.
    let split = if s.starts_with('[') {
        let end = s
            .rfind(']')
            .ok_or_else(|| format!("{s:?}: an unclosed `[`"))?;
        match &s[end + 1..] {
            "" => None,
            rest => match rest.strip_prefix(':') {
                Some(_) => Some(end + 1),
                None => return Err(format!("{s:?}: expected `:PORT` after `]`")),
            },
        }
    } else if s.matches(':').count() == 1 {
        s.find(':')
    } else {
        None
    };
    let (a, p) = match split {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    Ok(To {
        addrs: Some(addr_range(a)?),
        ports: p.map(port_range).transpose()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn to_forms() {
        let v4 = |a: [u8; 4]| u128::from(u32::from_be_bytes(a));
        assert_eq!(
            parse_to("192.0.2.1").unwrap(),
            To {
                addrs: Some((Family::Ipv4, v4([192, 0, 2, 1]), v4([192, 0, 2, 1]))),
                ports: None
            }
        );
        let t = parse_to("192.0.2.1-192.0.2.9:1024-2048").unwrap();
        assert_eq!(t.addrs.unwrap().2, v4([192, 0, 2, 9]));
        assert_eq!(t.ports, Some((1024, 2048)));
        assert_eq!(parse_to(":8080").unwrap().ports, Some((8080, 8080)));
        let t = parse_to("[2001:db8::1]-[2001:db8::3]:80").unwrap();
        assert_eq!(t.addrs.unwrap().0, Family::Ipv6);
        assert_eq!(t.ports, Some((80, 80)));
        let t = parse_to("2001:db8::1-2001:db8::2").unwrap();
        assert_eq!(t.addrs.unwrap().2 - t.addrs.unwrap().1, 1);
        assert_eq!(parse_to("::1").unwrap().ports, None);
        assert!(parse_to("192.0.2.9-192.0.2.1").is_err());
        assert!(parse_to("192.0.2.1-2001:db8::1").is_err());
        assert!(parse_to("192.0.2.1:0").is_err());
        assert!(parse_to("192.0.2.1:90-80").is_err());
        assert!(parse_to("[2001:db8::1").is_err());
        assert!(parse_to("host").is_err());
    }
}
