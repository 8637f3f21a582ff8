//! Bounds-checked big-endian reads for the headers parsed by hand.

/// The big-endian `u16` at `at`, if the slice holds it.
pub(super) fn be16(b: &[u8], at: usize) -> Option<u16> {
    let end = at.checked_add(2)?;
    b.get(at..end)?.try_into().ok().map(u16::from_be_bytes)
}

/// The big-endian `u32` at `at`, if the slice holds it.
pub(super) fn be32(b: &[u8], at: usize) -> Option<u32> {
    let end = at.checked_add(4)?;
    b.get(at..end)?.try_into().ok().map(u32::from_be_bytes)
}

/// An offset known to be within a frame of at most `u16::MAX` bytes, as `u16`.
pub(super) fn off16(v: usize) -> u16 {
    debug_assert!(v <= u16::MAX as usize);
    u16::try_from(v).unwrap_or(u16::MAX)
}
