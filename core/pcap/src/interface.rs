//! A pcapng interface: link type and timestamp resolution, from its Interface
//! Description Block.

use super::endian::Endian;
use brickwall_wire::LinkType;

/// Option code of `if_tsresol`.
const OPT_TSRESOL: u16 = 9;
/// Option code of `if_tsoffset`.
const OPT_TSOFFSET: u16 = 14;
/// Option code ending the option list.
const OPT_END: u16 = 0;

/// Units of an interface's timestamps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum TsResol {
    /// 10^-n seconds.
    Decimal(u8),
    /// 2^-n seconds.
    Binary(u8),
}

impl TsResol {
    /// Decodes the `if_tsresol` byte: high bit clear, a power of 10; set, a power of 2.
    fn from_byte(b: u8) -> TsResol {
        if b & 0x80 == 0 {
            TsResol::Decimal(b)
        } else {
            TsResol::Binary(b & 0x7f)
        }
    }

    /// Converts a timestamp in these units to nanoseconds (saturating).
    pub(super) fn to_ns(self, ts: u64) -> u64 {
        let ts = u128::from(ts);
        let ns = match self {
            TsResol::Decimal(n) if n <= 9 => ts * 10u128.pow(u32::from(9 - n)),
            TsResol::Decimal(n) => match 10u128.checked_pow(u32::from(n - 9)) {
                Some(div) => ts / div,
                None => 0,
            },
            TsResol::Binary(n) => (ts * 1_000_000_000) >> n,
        };
        u64::try_from(ns).unwrap_or(u64::MAX)
    }
}

/// One interface of a pcapng file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Interface {
    /// Link type.
    pub link: LinkType,
    /// Timestamp units (default microseconds).
    pub resol: TsResol,
    /// Seconds added to every timestamp (`if_tsoffset`).
    pub offset_s: i64,
}

impl Interface {
    /// Reads an Interface Description Block body (after type and length, before the
    /// trailing length); `None` if it is shorter than its fixed part.
    pub(super) fn from_body(e: Endian, body: &[u8]) -> Option<Interface> {
        let link = LinkType::from_dlt(u32::from(e.u16(body, 0)?));
        e.u32(body, 4)?; // snap length: not needed
        let mut iface = Interface {
            link,
            resol: TsResol::Decimal(6),
            offset_s: 0,
        };
        let mut at = 8;
        while let (Some(code), Some(len)) = (e.u16(body, at), e.u16(body, at + 2)) {
            let start = at + 4;
            let Some(value) = body.get(start..start + usize::from(len)) else {
                break;
            };
            match code {
                OPT_END => break,
                OPT_TSRESOL => {
                    if let Some(&b) = value.first() {
                        iface.resol = TsResol::from_byte(b);
                    }
                }
                OPT_TSOFFSET => {
                    if let Some(v) = e.u64(value, 0) {
                        iface.offset_s = v as i64;
                    }
                }
                _ => {}
            }
            at = start + usize::from(len).next_multiple_of(4);
        }
        Some(iface)
    }

    /// Nanoseconds since the epoch of a raw timestamp of this interface.
    pub(super) fn ts_ns(&self, raw: u64) -> u64 {
        let ns = self.resol.to_ns(raw);
        let shift = i128::from(self.offset_s) * 1_000_000_000;
        u64::try_from((i128::from(ns) + shift).max(0)).unwrap_or(u64::MAX)
    }
}
