//! The values conntrack's requests carry, each in the spellings conntrack-tools users
//! write: protocols by name or number, families by name, networks with a prefix,
//! marks with a mask, 128 labels in hex, lists of names as an array or one
//! comma-separated string. Each reads itself from JSON and refuses anything else with a
//! message saying what it expected; the request's decoder adds the field's path.

use brickwall_wire::{ip_proto, Cidr, Family};
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::ser::{SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};
use std::fmt;

/// An IP protocol: a number, a numeric string, or a name from [`ip_proto::NAMES`]
/// (`tcp`, `icmpv6`, `ipv6-icmp`, ...; any case). Written as its name when it has one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Proto(pub u8);

impl Serialize for Proto {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match ip_proto::name(self.0) {
            Some(n) => s.serialize_str(n),
            None => s.serialize_u8(self.0),
        }
    }
}

impl<'de> Deserialize<'de> for Proto {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Proto, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Proto;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a protocol number (0-255) or name (tcp, udp, icmp, ...)")
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Proto, E> {
                u8::try_from(n)
                    .map(Proto)
                    .map_err(|_| E::custom(format!("protocol {n} is out of range (0-255)")))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Proto, E> {
                Err(E::custom(format!("protocol {n} is out of range (0-255)")))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Proto, E> {
                if let Ok(n) = s.parse::<u8>() {
                    return Ok(Proto(n));
                }
                ip_proto::from_name(&s.to_ascii_lowercase())
                    .map(Proto)
                    .ok_or_else(|| {
                        let names: Vec<&str> = ip_proto::NAMES.iter().map(|(n, _)| *n).collect();
                        E::custom(format!(
                            "unknown protocol {s:?} (a number 0-255 or {})",
                            names.join(", ")
                        ))
                    })
            }
        }
        d.deserialize_any(V)
    }
}

/// An address family by name: `ipv4` or `ipv6` (any case).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FamilyName(pub Family);

impl Serialize for FamilyName {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.name())
    }
}

impl<'de> Deserialize<'de> for FamilyName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<FamilyName, D::Error> {
        let s = String::deserialize(d)?;
        match s.to_ascii_lowercase().as_str() {
            "ipv4" => Ok(FamilyName(Family::Ipv4)),
            "ipv6" => Ok(FamilyName(Family::Ipv6)),
            _ => Err(de::Error::custom(format!(
                "unknown family {s:?} (ipv4, ipv6)"
            ))),
        }
    }
}

/// An address or a network (`10.0.0.0/8`, `2001:db8::/32`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Net(pub Cidr);

impl Net {
    /// The family of its address.
    pub fn family(&self) -> Family {
        Family::of(self.0.addr())
    }
}

impl Serialize for Net {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Net {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Net, D::Error> {
        let s = String::deserialize(d)?;
        s.parse::<Cidr>()
            .map(Net)
            .map_err(|e| de::Error::custom(format!("not an address or network: {s:?} ({e})")))
    }
}

/// Parses a 32-bit number in decimal or `0x` hex.
fn u32_of(s: &str) -> Option<u32> {
    let s = s.trim();
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u32::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

/// A `ct mark` to match: `MARK` or `MARK/MASK` (decimal or `0x` hex), or a number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mark {
    /// The value.
    pub value: u32,
    /// The bits compared (all of them unless given).
    pub mask: u32,
}

impl Mark {
    /// Whether a connection's mark `m` matches.
    pub fn matches(&self, m: u32) -> bool {
        m & self.mask == self.value & self.mask
    }
}

impl fmt::Display for Mark {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.mask == u32::MAX {
            write!(f, "{}", self.value)
        } else {
            write!(f, "{:#x}/{:#x}", self.value, self.mask)
        }
    }
}

impl Serialize for Mark {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl std::str::FromStr for Mark {
    type Err = String;
    fn from_str(s: &str) -> Result<Mark, String> {
        let parsed = match s.split_once('/') {
            Some((m, k)) => u32_of(m).zip(u32_of(k)),
            None => u32_of(s).map(|m| (m, u32::MAX)),
        };
        parsed
            .map(|(value, mask)| Mark { value, mask })
            .ok_or_else(|| format!("not a mark: {s:?} (MARK or MARK/MASK, decimal or 0x hex)"))
    }
}

impl<'de> Deserialize<'de> for Mark {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Mark, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Mark;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mark: a number, or \"MARK\" or \"MARK/MASK\"")
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Mark, E> {
                u32::try_from(n)
                    .map(|value| Mark {
                        value,
                        mask: u32::MAX,
                    })
                    .map_err(|_| E::custom(format!("mark {n} does not fit 32 bits")))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Mark, E> {
                s.parse().map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// A connection's 128 labels: a number, or a string of `0x` hex or decimal digits.
/// Written as `0x` hex.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Labels(pub u128);

impl Serialize for Labels {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("0x{:x}", self.0))
    }
}

impl<'de> Deserialize<'de> for Labels {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Labels, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Labels;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("128 bits of labels (\"0x...\")")
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Labels, E> {
                Ok(Labels(n.into()))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Labels, E> {
                match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
                    Some(h) => u128::from_str_radix(h, 16),
                    None => s.parse::<u128>(),
                }
                .map(Labels)
                .map_err(|_| {
                    E::custom(format!(
                        "expected 128 bits of labels (\"0x...\"), got {s:?}"
                    ))
                })
            }
        }
        d.deserialize_any(V)
    }
}

/// Label bit numbers (0-127) as a mask: one number, a list of them, or `true` for every
/// bit. Written as the list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LabelBits(pub u128);

impl Serialize for LabelBits {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let bits: Vec<u32> = (0..128).filter(|b| self.0 >> b & 1 == 1).collect();
        let mut seq = s.serialize_seq(Some(bits.len()))?;
        for b in bits {
            seq.serialize_element(&b)?;
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for LabelBits {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<LabelBits, D::Error> {
        struct V;
        fn bit<E: de::Error>(n: u64) -> Result<u128, E> {
            if n > 127 {
                return Err(E::custom(format!("label bit {n} is out of range (0-127)")));
            }
            Ok(1u128 << n)
        }
        impl<'de> Visitor<'de> for V {
            type Value = LabelBits;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a label bit number (0-127), a list of them, or true for all")
            }
            fn visit_bool<E: de::Error>(self, b: bool) -> Result<LabelBits, E> {
                if b {
                    Ok(LabelBits(u128::MAX))
                } else {
                    Err(E::custom("false names no label (give true for all)"))
                }
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<LabelBits, E> {
                bit(n).map(LabelBits)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<LabelBits, A::Error> {
                let mut mask = 0u128;
                while let Some(n) = seq.next_element::<u64>()? {
                    mask |= bit::<A::Error>(n)?;
                }
                Ok(LabelBits(mask))
            }
        }
        d.deserialize_any(V)
    }
}

/// A list of names: an array of strings, or one string of comma-separated names
/// (blanks trimmed, empty names dropped).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Names(pub Vec<String>);

impl Serialize for Names {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Names {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Names, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Names;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a name, a comma-separated list of names, or an array of names")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Names, E> {
                Ok(Names(
                    s.split(',')
                        .map(|w| w.trim().to_string())
                        .filter(|w| !w.is_empty())
                        .collect(),
                ))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Names, A::Error> {
                let mut names = Vec::new();
                while let Some(n) = seq.next_element::<String>()? {
                    names.push(n.trim().to_string());
                }
                Ok(Names(names))
            }
        }
        d.deserialize_any(V)
    }
}

impl<S: Into<String>> FromIterator<S> for Names {
    fn from_iter<I: IntoIterator<Item = S>>(it: I) -> Names {
        Names(it.into_iter().map(Into::into).collect())
    }
}
