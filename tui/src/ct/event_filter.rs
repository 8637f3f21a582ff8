//! `-E` with filters (`-p`, `-f`, `-s`, `-d`, `--sport`, `--dport`, `--state`,
//! `--mark`, `--zone`), as `conntrack -E -p tcp --dport 21` narrows its events: the
//! conditions are those of `-L` and apply to an event line's original tuple (its first
//! `src=`, `dst=`, `sport=`, `dport=`).

use super::args::{CtArgs, FamilyArg};
use super::CtError;
use brickwall_wire::Cidr;
use std::net::IpAddr;

fn mark_of(s: &str) -> Option<(u32, u32)> {
    let num = |s: &str| match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u32::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    };
    match s.split_once('/') {
        Some((m, k)) => Some((num(m)?, num(k)?)),
        None => Some((num(s)?, u32::MAX)),
    }
}

/// The conditions of `-E`'s filter options; every one given must hold.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventFilter {
    proto: Option<u8>,
    v6: Option<bool>,
    src: Option<Cidr>,
    dst: Option<Cidr>,
    sport: Option<u16>,
    dport: Option<u16>,
    states: Option<Vec<String>>,
    mark: Option<(u32, u32)>,
    zone: Option<u16>,
}

impl EventFilter {
    /// The filter the options ask for (`None`: print every event). `--status` and the
    /// ICMP fields name no condition of an event line and are refused.
    pub fn from_args(a: &CtArgs) -> Result<Option<EventFilter>, CtError> {
        if a.status.is_some()
            || a.icmp_type.is_some()
            || a.icmp_code.is_some()
            || a.icmp_id.is_some()
        {
            return Err(CtError::usage(
                "-E filters by -p, -f, -s, -d, --sport, --dport, --state, --mark and --zone",
            ));
        }
        let net = |s: &Option<String>| s.as_deref().and_then(|s| s.parse::<Cidr>().ok());
        let f = EventFilter {
            proto: a.proto,
            v6: a.family.map(|f| f == FamilyArg::Ipv6),
            src: net(&a.src),
            dst: net(&a.dst),
            sport: a.sport,
            dport: a.dport,
            states: a.state.as_ref().map(|s| {
                s.split(',')
                    .map(|x| x.trim().to_ascii_uppercase())
                    .collect()
            }),
            mark: a.mark.as_deref().and_then(mark_of),
            zone: a.zone,
        };
        // Status and ICMP fields were refused above, so any other option is a condition.
        let any = super::query::has_filters(a);
        Ok(any.then_some(f))
    }

    /// Whether an event line (`[NEW] tcp      6 120 SYN_SENT src=... `, with or
    /// without a `[seconds.micros]` prefix) meets every condition.
    pub fn matches(&self, line: &str) -> bool {
        let words: Vec<&str> = line
            .split_whitespace()
            .filter(|w| !(w.starts_with('[') && w.ends_with(']')))
            .collect();
        let value = |key: &str| {
            let p = format!("{key}=");
            words.iter().find_map(|w| w.strip_prefix(p.as_str()))
        };
        let proto: Option<u8> = words.get(1).and_then(|w| w.parse().ok());
        if self.proto.is_some() && self.proto != proto {
            return false;
        }
        let src: Option<IpAddr> = value("src").and_then(|s| s.parse().ok());
        let dst: Option<IpAddr> = value("dst").and_then(|s| s.parse().ok());
        if let Some(v6) = self.v6 {
            if src.is_none_or(|a| a.is_ipv6() != v6) {
                return false;
            }
        }
        for (net, addr) in [(&self.src, src), (&self.dst, dst)] {
            if let Some(n) = net {
                if addr.is_none_or(|a| !n.contains(a)) {
                    return false;
                }
            }
        }
        for (want, key) in [(self.sport, "sport"), (self.dport, "dport")] {
            if let Some(p) = want {
                if value(key).and_then(|v| v.parse::<u16>().ok()) != Some(p) {
                    return false;
                }
            }
        }
        if let Some(states) = &self.states {
            // The state is the first bare upper-case word after the protocol number.
            let state = words.iter().skip(2).find(|w| {
                !w.contains('=') && w.chars().all(|c| c.is_ascii_uppercase() || c == '_')
            });
            if state.is_none_or(|s| !states.iter().any(|x| x == s)) {
                return false;
            }
        }
        if let Some((m, mask)) = self.mark {
            let have = value("mark")
                .and_then(|v| v.parse::<u32>().ok())
                .unwrap_or(0);
            if have & mask != m & mask {
                return false;
            }
        }
        if let Some(z) = self.zone {
            let have = value("zone")
                .and_then(|v| v.parse::<u16>().ok())
                .unwrap_or(0);
            if have != z {
                return false;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn filter(args: &[&str]) -> EventFilter {
        let mut v = vec!["ct", "-E"];
        v.extend_from_slice(args);
        let a = super::super::args::CtCli::parse_from(v).args;
        EventFilter::from_args(&a).unwrap().expect("a filter")
    }

    const NEW: &str = "    [NEW] tcp      6 120 SYN_SENT src=10.77.0.1 dst=10.77.1.2 sport=45604 dport=21 [UNREPLIED] src=10.77.1.2 dst=10.77.0.1 sport=21 dport=45604 mark=5";
    const UDP: &str = "[1795760642.649978]\t [UPDATE] udp      17 30 src=fd77::1 dst=fd77:1::2 sport=53000 dport=53 src=fd77:1::2 dst=fd77::1 sport=53 dport=53000 zone=3";

    #[test]
    fn conditions_apply_to_the_original_tuple() {
        assert!(filter(&["-p", "tcp", "--dport", "21"]).matches(NEW));
        assert!(!filter(&["-p", "udp"]).matches(NEW));
        // The reply tuple's sport=21 does not count.
        assert!(!filter(&["--sport", "21"]).matches(NEW));
        assert!(filter(&["-s", "10.77.0.0/16"]).matches(NEW));
        assert!(!filter(&["-d", "10.77.0.1"]).matches(NEW));
        assert!(filter(&["--state", "SYN_SENT,ESTABLISHED"]).matches(NEW));
        assert!(!filter(&["--state", "ESTABLISHED"]).matches(NEW));
        assert!(filter(&["--mark", "4/0x4"]).matches(NEW));
        assert!(!filter(&["--mark", "1"]).matches(NEW));
        assert!(filter(&["-f", "ipv6", "--zone", "3"]).matches(UDP));
        assert!(!filter(&["-f", "ipv4"]).matches(UDP));
        assert!(!filter(&["--zone", "1"]).matches(NEW));
        assert!(filter(&["-s", "fd77::/16", "--dport", "53"]).matches(UDP));
    }

    #[test]
    fn status_and_icmp_fields_are_refused() {
        let a = super::super::args::CtCli::parse_from(["ct", "-E", "-u", "ASSURED"]).args;
        assert!(EventFilter::from_args(&a).is_err());
        let a = super::super::args::CtCli::parse_from(["ct", "-E"]).args;
        assert!(EventFilter::from_args(&a).unwrap().is_none());
    }
}
