//! [`CaptureReader`]: opens a classic pcap or pcapng file and yields its frames.

use super::classic::Classic;
use super::input::Input;
use super::pcapng::{Pcapng, SHB};
use super::{CaptureError, CaptureFormat, FrameMeta};
use brickwall_wire::LinkType;
use std::fs::File;
use std::io::Read;
use std::path::Path;

/// Reads the frames of a classic pcap or pcapng capture, one at a time.
pub struct CaptureReader {
    /// The file's bytes.
    input: Input,
    /// The format-specific state.
    kind: Kind,
}

/// The format-specific state.
enum Kind {
    /// Classic pcap.
    Classic(Classic),
    /// pcapng.
    Pcapng(Pcapng),
}

impl CaptureReader {
    /// Opens a capture file (the format is recognised by its magic number).
    pub fn open(path: &Path) -> Result<CaptureReader, CaptureError> {
        let file = File::open(path)?;
        CaptureReader::from_reader(Box::new(file))
    }

    /// Reads a capture from any byte stream (buffered internally).
    pub fn from_reader(r: Box<dyn Read + Send>) -> Result<CaptureReader, CaptureError> {
        let mut input = Input::new(r);
        let mut magic = [0u8; 4];
        input.exact(&mut magic, "file header")?;
        let kind = if u32::from_be_bytes(magic) == SHB {
            Kind::Pcapng(Pcapng::open(&mut input)?)
        } else if let Some((endian, nanos)) = Classic::detect(magic) {
            Kind::Classic(Classic::open(&mut input, endian, nanos)?)
        } else {
            return Err(CaptureError::BadMagic(u32::from_be_bytes(magic)));
        };
        Ok(CaptureReader { input, kind })
    }

    /// The file's format.
    pub fn format(&self) -> CaptureFormat {
        match &self.kind {
            Kind::Classic(c) => CaptureFormat::Pcap { nanos: c.nanos() },
            Kind::Pcapng(_) => CaptureFormat::Pcapng,
        }
    }

    /// Reads the next frame into `buf` (cleared first); `Ok(None)` at a clean end of file.
    pub fn next_frame(&mut self, buf: &mut Vec<u8>) -> Result<Option<FrameMeta>, CaptureError> {
        match &mut self.kind {
            Kind::Classic(c) => c.next(&mut self.input, buf),
            Kind::Pcapng(n) => n.next(&mut self.input, buf),
        }
    }

    /// The link type: classic pcap, the file header's; pcapng, the first interface's
    /// (`LinkType::Other(u32::MAX)` for a pcapng file without interfaces).
    pub fn link_type(&self) -> LinkType {
        match &self.kind {
            Kind::Classic(c) => c.link(),
            Kind::Pcapng(n) => n.first_link(),
        }
    }
}

impl std::fmt::Debug for CaptureReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptureReader")
            .field("format", &self.format())
            .field("link_type", &self.link_type())
            .finish_non_exhaustive()
    }
}
