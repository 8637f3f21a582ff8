//! Bounds-checked big-endian reads, for the parsers and the header views.

/// The big-endian `u16` at `at`, if the slice holds it.
#[inline]
pub(crate) fn be16(b: &[u8], at: usize) -> Option<u16> {
    array(b, at).map(u16::from_be_bytes)
}

/// The big-endian `u32` at `at`, if the slice holds it.
#[inline]
pub(crate) fn be32(b: &[u8], at: usize) -> Option<u32> {
    array(b, at).map(u32::from_be_bytes)
}

/// The `N` bytes at `at`, if the slice holds them.
#[inline]
pub(crate) fn array<const N: usize>(b: &[u8], at: usize) -> Option<[u8; N]> {
    let end = at.checked_add(N)?;
    b.get(at..end)?.try_into().ok()
}

/// An offset known to be within a frame of at most `u16::MAX` bytes, as `u16`.
#[inline]
pub(crate) fn off16(v: usize) -> u16 {
    debug_assert!(v <= u16::MAX as usize);
    u16::try_from(v).unwrap_or(u16::MAX)
}
