//! [`CaptureError`]: why a capture file could not be read.

/// Why a capture file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// Reading failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The file is neither pcap nor pcapng (the first four bytes, read big-endian).
    #[error("not a pcap or pcapng file: magic {0:#010x}")]
    BadMagic(u32),
    /// The file's structure is inconsistent (bad lengths, unknown interface, ...).
    #[error("malformed capture: {0}")]
    Malformed(String),
    /// The file ends in the middle of a header or record. Callers replaying a capture
    /// that was cut off (e.g. by a killed tcpdump) may treat it as the end.
    #[error("capture truncated in {what}: need {need} bytes, have {have}")]
    Truncated {
        /// The part that is cut: `file header`, `record header`, `packet data`, `block`.
        what: &'static str,
        /// Bytes the part needs.
        need: usize,
        /// Bytes present.
        have: usize,
    },
}
