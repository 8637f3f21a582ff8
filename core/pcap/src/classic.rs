//! Classic pcap: the 24-byte file header and the 16-byte record headers.

use super::endian::Endian;
use super::input::Input;
use super::{CaptureError, FrameMeta};
use brickwall_wire::LinkType;

/// Magic of microsecond files, as written by the capturing host.
pub(super) const MAGIC_MICROS: u32 = 0xa1b2_c3d4;
/// Magic of nanosecond files.
pub(super) const MAGIC_NANOS: u32 = 0xa1b2_3c4d;
/// Length of the file header.
pub(super) const FILE_HEADER_LEN: usize = 24;
/// Length of a record header.
const RECORD_HEADER_LEN: usize = 16;

/// State of a classic pcap reader after its file header.
pub(super) struct Classic {
    /// Byte order of the file.
    endian: Endian,
    /// Fractions are nanoseconds, not microseconds.
    nanos: bool,
    /// Link type of every frame.
    link: LinkType,
}

impl Classic {
    /// Recognises a classic magic (the first four bytes, as they are in the file).
    pub(super) fn detect(magic: [u8; 4]) -> Option<(Endian, bool)> {
        let le = u32::from_le_bytes(magic);
        let be = u32::from_be_bytes(magic);
        match (le, be) {
            (MAGIC_MICROS, _) => Some((Endian::Little, false)),
            (MAGIC_NANOS, _) => Some((Endian::Little, true)),
            (_, MAGIC_MICROS) => Some((Endian::Big, false)),
            (_, MAGIC_NANOS) => Some((Endian::Big, true)),
            _ => None,
        }
    }

    /// Reads the rest of the file header, after the 4-byte magic.
    pub(super) fn open(
        input: &mut Input,
        endian: Endian,
        nanos: bool,
    ) -> Result<Classic, CaptureError> {
        let mut hdr = [0u8; FILE_HEADER_LEN - 4];
        input.exact(&mut hdr, "file header")?;
        // Link type is the last field; its upper bits may carry FCS information.
        let raw = endian.u32(&hdr, 16).unwrap_or_default();
        Ok(Classic {
            endian,
            nanos,
            link: LinkType::from_dlt(raw & 0xffff),
        })
    }

    /// Timestamps are in nanoseconds.
    pub(super) fn nanos(&self) -> bool {
        self.nanos
    }

    /// The link type of the file header.
    pub(super) fn link(&self) -> LinkType {
        self.link
    }

    /// Reads the next record into `buf`.
    pub(super) fn next(
        &mut self,
        input: &mut Input,
        buf: &mut Vec<u8>,
    ) -> Result<Option<FrameMeta>, CaptureError> {
        buf.clear();
        let mut hdr = [0u8; RECORD_HEADER_LEN];
        let have = input.fill(&mut hdr)?;
        if have == 0 {
            return Ok(None);
        }
        if have < RECORD_HEADER_LEN {
            return Err(CaptureError::Truncated {
                what: "record header",
                need: RECORD_HEADER_LEN,
                have,
            });
        }
        let e = self.endian;
        let field = |at| e.u32(&hdr, at).unwrap_or_default();
        let (sec, frac, caplen, orig_len) = (field(0), field(4), field(8), field(12));
        input.take_into(buf, caplen as usize, "packet data")?;
        let frac_ns = if self.nanos {
            u64::from(frac)
        } else {
            u64::from(frac) * 1_000
        };
        Ok(Some(FrameMeta {
            ts_ns: u64::from(sec) * 1_000_000_000 + frac_ns,
            caplen,
            orig_len,
            link: self.link,
            iface: 0,
        }))
    }
}
