//! [`Cidr`]: an IPv4 or IPv6 address with a prefix length, as `10.0.0.0/8` or
//! `2001:db8::/32` write it; a bare address has the full length.

use core::fmt;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use core::str::FromStr;

/// An address with a prefix length: the network of the addresses that share its first
/// `prefix` bits. The address may have bits set beyond the prefix (`10.0.0.1/8` is the
/// network `10.0.0.0/8`); [`Cidr::has_host_bits`] tells, for callers that refuse them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Cidr {
    /// The address as written.
    addr: IpAddr,
    /// Leading bits that must match: at most 32 for IPv4, 128 for IPv6.
    prefix: u8,
}

/// Why a text is not a [`Cidr`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CidrError {
    /// The part before any `/` is not an IPv4 or IPv6 address.
    Address,
    /// The part after the `/` is not a number from 0 to `max`.
    Prefix {
        /// The longest prefix of the address's family: 32 or 128.
        max: u8,
    },
}

impl Cidr {
    /// The network of `addr`'s first `prefix` bits; `None` if `prefix` is longer than
    /// the address.
    #[inline]
    pub fn new(addr: IpAddr, prefix: u8) -> Option<Cidr> {
        (prefix <= max_prefix(addr)).then_some(Cidr { addr, prefix })
    }

    /// The single address `addr` (the full prefix length).
    #[inline]
    pub fn host(addr: IpAddr) -> Cidr {
        Cidr {
            addr,
            prefix: max_prefix(addr),
        }
    }

    /// The address as given.
    #[inline]
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length.
    #[inline]
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// The longest prefix of the address's family: 32 for IPv4, 128 for IPv6.
    #[inline]
    pub fn max_prefix(&self) -> u8 {
        max_prefix(self.addr)
    }

    /// The network address: the address with the bits beyond the prefix cleared.
    #[inline]
    pub fn network(&self) -> IpAddr {
        let (bits, width) = as_bits(self.addr);
        let kept = bits & mask(self.prefix, width);
        match self.addr {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::from(kept as u32)),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::from(kept)),
        }
    }

    /// Whether the address has bits set beyond the prefix.
    #[inline]
    pub fn has_host_bits(&self) -> bool {
        self.network() != self.addr
    }

    /// Whether `a` is in the network. An address of the other family never is.
    #[inline]
    pub fn contains(&self, a: IpAddr) -> bool {
        if a.is_ipv4() != self.addr.is_ipv4() {
            return false;
        }
        let (net, width) = as_bits(self.addr);
        let (x, _) = as_bits(a);
        (net ^ x) & mask(self.prefix, width) == 0
    }
}

/// Parses `ADDRESS` or `ADDRESS/PREFIX` (spaces around either part are ignored).
impl FromStr for Cidr {
    type Err = CidrError;

    fn from_str(s: &str) -> Result<Cidr, CidrError> {
        let (addr_text, prefix_text) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr_text.trim().parse().map_err(|_| CidrError::Address)?;
        let Some(p) = prefix_text else {
            return Ok(Cidr::host(addr));
        };
        let max = max_prefix(addr);
        p.trim()
            .parse()
            .ok()
            .and_then(|prefix| Cidr::new(addr, prefix))
            .ok_or(CidrError::Prefix { max })
    }
}

/// The address alone when the prefix is full, else `address/prefix`.
impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.prefix == self.max_prefix() {
            write!(f, "{}", self.addr)
        } else {
            write!(f, "{}/{}", self.addr, self.prefix)
        }
    }
}

impl fmt::Display for CidrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CidrError::Address => f.write_str("not an IPv4 or IPv6 address"),
            CidrError::Prefix { max } => write!(f, "prefix length not in 0-{max}"),
        }
    }
}

impl core::error::Error for CidrError {}

/// 32 for IPv4, 128 for IPv6.
#[inline]
fn max_prefix(a: IpAddr) -> u8 {
    match a {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

/// An address as an integer (IPv4 in the low 32 bits) and its width in bits.
#[inline]
fn as_bits(a: IpAddr) -> (u128, u32) {
    match a {
        IpAddr::V4(v4) => (u128::from(u32::from(v4)), 32),
        IpAddr::V6(v6) => (u128::from(v6), 128),
    }
}

/// The mask of the first `prefix` bits of a `width`-bit address (in the low bits).
#[inline]
fn mask(prefix: u8, width: u32) -> u128 {
    let all = u128::MAX >> (128 - width);
    let host = width.saturating_sub(u32::from(prefix));
    all.checked_shl(host).unwrap_or(0) & all
}
