//! pcap and pcapng files: reading captures frame by frame, writing classic pcap.
//!
//! [`CaptureReader`] reads classic pcap (microsecond and nanosecond, either byte
//! order) and pcapng (any number of sections and interfaces, each with its own link
//! type and timestamp resolution). [`PcapWriter`] writes classic little-endian pcap.
//! Neither depends on a pcap library. Record lengths above [`MAX_RECORD_LEN`] are
//! refused, so a corrupted file cannot make the reader allocate gigabytes.

mod classic;
mod endian;
mod error;
mod input;
mod interface;
mod meta;
mod pcapng;
mod reader;
mod writer;

#[cfg(test)]
mod tests;

pub use error::CaptureError;
pub use meta::{CaptureFormat, FrameMeta};
pub use reader::CaptureReader;
pub use writer::PcapWriter;

/// Largest record (classic) or block (pcapng) the reader accepts: 256 MiB.
pub const MAX_RECORD_LEN: usize = 256 << 20;
