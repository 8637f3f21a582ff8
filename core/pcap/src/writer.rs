//! [`PcapWriter`]: writes classic pcap files (little-endian, µs or ns timestamps).

use super::classic::{MAGIC_MICROS, MAGIC_NANOS};
use brickwall_wire::LinkType;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

/// Snap length written in the file header (libpcap's largest).
const SNAPLEN: u32 = 262_144;

/// Writes frames to a classic pcap file in little-endian byte order.
pub struct PcapWriter {
    /// The buffered destination.
    out: BufWriter<Box<dyn Write + Send>>,
    /// Timestamps are written in nanoseconds.
    nanos: bool,
}

impl PcapWriter {
    /// Creates (or truncates) a file and writes the pcap file header.
    pub fn create(path: &Path, link: LinkType, nanos: bool) -> io::Result<PcapWriter> {
        PcapWriter::new(File::create(path)?, link, nanos)
    }

    /// Writes the pcap file header to `w` (buffered) and returns the writer.
    pub fn new<W: Write + Send + 'static>(
        w: W,
        link: LinkType,
        nanos: bool,
    ) -> io::Result<PcapWriter> {
        let mut out = BufWriter::with_capacity(64 << 10, Box::new(w) as Box<dyn Write + Send>);
        let magic = if nanos { MAGIC_NANOS } else { MAGIC_MICROS };
        out.write_all(&magic.to_le_bytes())?;
        out.write_all(&2u16.to_le_bytes())?;
        out.write_all(&4u16.to_le_bytes())?;
        out.write_all(&0i32.to_le_bytes())?; // thiszone
        out.write_all(&0u32.to_le_bytes())?; // sigfigs
        out.write_all(&SNAPLEN.to_le_bytes())?;
        out.write_all(&link.dlt().to_le_bytes())?;
        Ok(PcapWriter { out, nanos })
    }

    /// Appends a frame captured at `ts_ns` (nanoseconds since the epoch) whose length on
    /// the wire was `orig_len` (raised to `data.len()` if smaller). Fails with
    /// `InvalidInput` for timestamps after 2106 or frames of 4 GiB and more.
    pub fn write(&mut self, ts_ns: u64, data: &[u8], orig_len: u32) -> io::Result<()> {
        let invalid = |what: &str| io::Error::new(io::ErrorKind::InvalidInput, what.to_string());
        let caplen = u32::try_from(data.len()).map_err(|_| invalid("frame too long for pcap"))?;
        let sec = u32::try_from(ts_ns / 1_000_000_000)
            .map_err(|_| invalid("timestamp beyond the range of pcap"))?;
        let sub_ns = (ts_ns % 1_000_000_000) as u32;
        let frac = if self.nanos { sub_ns } else { sub_ns / 1_000 };
        let mut hdr = [0u8; 16];
        for (i, v) in [sec, frac, caplen, orig_len.max(caplen)]
            .into_iter()
            .enumerate()
        {
            hdr[i * 4..i * 4 + 4].copy_from_slice(&v.to_le_bytes());
        }
        self.out.write_all(&hdr)?;
        self.out.write_all(data)
    }

    /// Writes buffered frames to the underlying writer.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

impl std::fmt::Debug for PcapWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PcapWriter")
            .field("nanos", &self.nanos)
            .finish_non_exhaustive()
    }
}
