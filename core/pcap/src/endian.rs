//! Byte order of a capture file and bounds-checked reads in it.

/// Byte order of a pcap file or pcapng section.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Endian {
    /// Little-endian.
    Little,
    /// Big-endian.
    Big,
}

impl Endian {
    /// The `u16` at `at`, if `b` holds it.
    pub(super) fn u16(self, b: &[u8], at: usize) -> Option<u16> {
        let raw: [u8; 2] = b.get(at..at.checked_add(2)?)?.try_into().ok()?;
        Some(match self {
            Endian::Little => u16::from_le_bytes(raw),
            Endian::Big => u16::from_be_bytes(raw),
        })
    }

    /// The `u32` at `at`, if `b` holds it.
    pub(super) fn u32(self, b: &[u8], at: usize) -> Option<u32> {
        let raw: [u8; 4] = b.get(at..at.checked_add(4)?)?.try_into().ok()?;
        Some(match self {
            Endian::Little => u32::from_le_bytes(raw),
            Endian::Big => u32::from_be_bytes(raw),
        })
    }

    /// The `u64` at `at`, if `b` holds it.
    pub(super) fn u64(self, b: &[u8], at: usize) -> Option<u64> {
        let raw: [u8; 8] = b.get(at..at.checked_add(8)?)?.try_into().ok()?;
        Some(match self {
            Endian::Little => u64::from_le_bytes(raw),
            Endian::Big => u64::from_be_bytes(raw),
        })
    }
}
