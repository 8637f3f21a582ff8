//! The five Netfilter hooks, the address families and Linux's priority constants.

use std::fmt;

/// One of the five points of the packet path where callbacks run.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Hook {
    /// Every packet that arrives, before the routing decision.
    PreRouting = 0,
    /// Packets for a local address, after the routing decision.
    LocalIn = 1,
    /// Packets routed through the engine.
    Forward = 2,
    /// Packets that the local side (or a plugin) sends.
    LocalOut = 3,
    /// Every packet that leaves, forwarded or local.
    PostRouting = 4,
}

impl Hook {
    /// All hooks in their numeric order.
    pub const ALL: [Hook; 5] = [
        Hook::PreRouting,
        Hook::LocalIn,
        Hook::Forward,
        Hook::LocalOut,
        Hook::PostRouting,
    ];
    /// Number of hooks.
    pub const COUNT: usize = 5;

    /// The hook with this numeric value, if any.
    pub fn from_u8(v: u8) -> Option<Hook> {
        Hook::ALL.get(v as usize).copied()
    }

    /// The upper-case name used by nftables and in reports (`PREROUTING`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Hook::PreRouting => "PREROUTING",
            Hook::LocalIn => "INPUT",
            Hook::Forward => "FORWARD",
            Hook::LocalOut => "OUTPUT",
            Hook::PostRouting => "POSTROUTING",
        }
    }

    /// Parses a hook name as written in configs: nftables' lower-case words
    /// (`prerouting`, `input`, `forward`, `output`, `postrouting`) or the
    /// kernel's (`local_in`, `local_out`), any case.
    pub fn parse(s: &str) -> Option<Hook> {
        match s.to_ascii_lowercase().as_str() {
            "prerouting" | "pre_routing" => Some(Hook::PreRouting),
            "input" | "local_in" | "localin" => Some(Hook::LocalIn),
            "forward" => Some(Hook::Forward),
            "output" | "local_out" | "localout" => Some(Hook::LocalOut),
            "postrouting" | "post_routing" => Some(Hook::PostRouting),
            _ => None,
        }
    }
}

impl fmt::Display for Hook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The layer-3 family of a packet (defined in `brickwall-wire`, where the parsers
/// set it).
pub use brickwall_wire::Family;

/// Family selector of a registration: one family, or both (`inet`, as in nftables).
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FamilySel {
    /// IPv4 and IPv6 (value 1, `NFPROTO_INET`).
    Inet = 1,
    /// IPv4 only.
    Ipv4 = 2,
    /// IPv6 only.
    Ipv6 = 10,
}

impl FamilySel {
    /// The selector with this value, if valid.
    pub fn from_u8(v: u8) -> Option<FamilySel> {
        match v {
            1 => Some(FamilySel::Inet),
            2 => Some(FamilySel::Ipv4),
            10 => Some(FamilySel::Ipv6),
            _ => None,
        }
    }

    /// Whether this selector covers `family`.
    pub fn covers(self, family: Family) -> bool {
        match self {
            FamilySel::Inet => true,
            FamilySel::Ipv4 => family == Family::Ipv4,
            FamilySel::Ipv6 => family == Family::Ipv6,
        }
    }
}

/// Linux's hook priority constants (`enum nf_ip_hook_priorities`). Lower runs first.
pub mod priority {
    /// Runs before everything.
    pub const FIRST: i32 = i32::MIN;
    /// Defragmentation (`NF_IP_PRI_CONNTRACK_DEFRAG`).
    pub const DEFRAG: i32 = -400;
    /// The raw table, where `notrack` is decided (`NF_IP_PRI_RAW`).
    pub const RAW: i32 = -300;
    /// First SELinux hook (`NF_IP_PRI_SELINUX_FIRST`).
    pub const SELINUX_FIRST: i32 = -225;
    /// Connection tracking (`NF_IP_PRI_CONNTRACK`).
    pub const CONNTRACK: i32 = -200;
    /// The mangle table (`NF_IP_PRI_MANGLE`).
    pub const MANGLE: i32 = -150;
    /// Destination NAT (`NF_IP_PRI_NAT_DST`).
    pub const NAT_DST: i32 = -100;
    /// The filter table (`NF_IP_PRI_FILTER`).
    pub const FILTER: i32 = 0;
    /// The security table (`NF_IP_PRI_SECURITY`).
    pub const SECURITY: i32 = 50;
    /// Source NAT (`NF_IP_PRI_NAT_SRC`).
    pub const NAT_SRC: i32 = 100;
    /// Last SELinux hook (`NF_IP_PRI_SELINUX_LAST`).
    pub const SELINUX_LAST: i32 = 225;
    /// Connection-tracking helpers (`NF_IP_PRI_CONNTRACK_HELPER`).
    pub const HELPER: i32 = 300;
    /// Conntrack confirmation, last of all (`NF_IP_PRI_CONNTRACK_CONFIRM`).
    pub const CONFIRM: i32 = i32::MAX;
    /// Runs after everything (`NF_IP_PRI_LAST`).
    pub const LAST: i32 = i32::MAX;

    /// Parses a priority as written in configs: a number, or a name such as
    /// `conntrack`, `filter`, `confirm`, optionally followed by `+N` or `-N`.
    pub fn parse(s: &str) -> Option<i32> {
        let s = s.trim();
        if let Ok(n) = s.parse::<i32>() {
            return Some(n);
        }
        let (name, delta) = match s.find(['+', '-']) {
            Some(i) => (s[..i].trim(), s[i..].replace(' ', "").parse::<i64>().ok()?),
            None => (s, 0),
        };
        let base = match name.to_ascii_lowercase().as_str() {
            "first" => FIRST,
            "defrag" => DEFRAG,
            "raw" => RAW,
            "selinux_first" => SELINUX_FIRST,
            "conntrack" => CONNTRACK,
            "mangle" => MANGLE,
            "dstnat" | "nat_dst" => NAT_DST,
            "filter" => FILTER,
            "security" => SECURITY,
            "srcnat" | "nat_src" => NAT_SRC,
            "selinux_last" => SELINUX_LAST,
            "helper" => HELPER,
            "confirm" => CONFIRM,
            "last" => LAST,
            _ => return None,
        };
        i32::try_from(base as i64 + delta).ok()
    }

    /// A readable name for a priority value (`conntrack`, `filter+10`, or the number).
    pub fn describe(p: i32) -> String {
        const NAMED: [(&str, i32); 11] = [
            ("defrag", DEFRAG),
            ("raw", RAW),
            ("conntrack", CONNTRACK),
            ("mangle", MANGLE),
            ("dstnat", NAT_DST),
            ("filter", FILTER),
            ("security", SECURITY),
            ("srcnat", NAT_SRC),
            ("helper", HELPER),
            ("first", FIRST),
            ("confirm", CONFIRM),
        ];
        NAMED
            .iter()
            .find(|(_, v)| *v == p)
            .map(|(n, _)| n.to_string())
            .unwrap_or_else(|| p.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priorities_parse_by_name_and_offset() {
        assert_eq!(priority::parse("conntrack"), Some(-200));
        assert_eq!(priority::parse("filter+10"), Some(10));
        assert_eq!(priority::parse("filter - 5"), Some(-5));
        assert_eq!(priority::parse("-150"), Some(-150));
        assert_eq!(priority::parse("confirm"), Some(i32::MAX));
        assert_eq!(priority::parse("confirm+1"), None);
        assert_eq!(priority::parse("nonsense"), None);
        assert_eq!(priority::describe(-200), "conntrack");
        assert_eq!(priority::describe(7), "7");
    }

    #[test]
    fn hook_names_round_trip() {
        for h in Hook::ALL {
            assert_eq!(Hook::parse(h.name()), Some(h));
            assert_eq!(Hook::from_u8(h as u8), Some(h));
        }
        assert_eq!(Hook::from_u8(5), None);
    }
}
