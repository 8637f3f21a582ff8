//! [`Family`]: IPv4 or IPv6, numbered as Linux's `NFPROTO_*`.

/// The layer-3 family of a packet, numbered as Linux's `NFPROTO_*`.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    /// IPv4 (`NFPROTO_IPV4`).
    Ipv4 = 2,
    /// IPv6 (`NFPROTO_IPV6`).
    Ipv6 = 10,
}

impl Family {
    /// The family with this `NFPROTO_*` value, if it is IPv4 or IPv6.
    #[inline]
    pub fn from_u8(v: u8) -> Option<Family> {
        match v {
            2 => Some(Family::Ipv4),
            10 => Some(Family::Ipv6),
            _ => None,
        }
    }

    /// The family of address `a`.
    #[inline]
    pub fn of(a: core::net::IpAddr) -> Family {
        if a.is_ipv6() {
            Family::Ipv6
        } else {
            Family::Ipv4
        }
    }

    /// Index 0 for IPv4, 1 for IPv6 (for per-family tables).
    #[inline]
    pub fn index(self) -> usize {
        match self {
            Family::Ipv4 => 0,
            Family::Ipv6 => 1,
        }
    }

    /// `ipv4` or `ipv6`.
    #[inline]
    pub fn name(self) -> &'static str {
        match self {
            Family::Ipv4 => "ipv4",
            Family::Ipv6 => "ipv6",
        }
    }
}
