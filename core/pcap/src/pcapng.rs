//! pcapng: section headers, interface descriptions and the packet blocks (enhanced,
//! simple and the obsolete packet block); other blocks are skipped.

use super::endian::Endian;
use super::input::Input;
use super::interface::Interface;
use super::{CaptureError, FrameMeta, MAX_RECORD_LEN};
use brickwall_wire::LinkType;

/// Block type of the Section Header Block (the same in both byte orders).
pub(super) const SHB: u32 = 0x0a0d_0d0a;
/// Byte-order magic of a section header.
const BYTE_ORDER_MAGIC: u32 = 0x1a2b_3c4d;
/// Interface Description Block.
const IDB: u32 = 1;
/// Obsolete Packet Block.
const PB: u32 = 2;
/// Simple Packet Block.
const SPB: u32 = 3;
/// Enhanced Packet Block.
const EPB: u32 = 6;
/// Smallest block: type, length, trailing length.
const MIN_BLOCK: usize = 12;
/// Smallest section header block: 12 + byte-order magic, versions, section length.
const MIN_SHB: usize = 28;

/// What one block was.
enum Event {
    /// An interface description.
    Interface,
    /// A packet; its data is in the caller's buffer.
    Packet(FrameMeta),
    /// A section header or a block of no interest.
    Other,
}

/// State of a pcapng reader.
pub(super) struct Pcapng {
    /// Byte order of the current section.
    endian: Endian,
    /// Every interface of the file, in order.
    interfaces: Vec<Interface>,
    /// Indices into `interfaces` of the current section's interfaces, by section id.
    section: Vec<usize>,
    /// Block body being read.
    block: Vec<u8>,
}

impl Pcapng {
    /// Reads the first section header (its 4-byte type already read) and the blocks up
    /// to the first interface description.
    pub(super) fn open(input: &mut Input) -> Result<Pcapng, CaptureError> {
        let mut ng = Pcapng {
            endian: Endian::Little,
            interfaces: Vec::new(),
            section: Vec::new(),
            block: Vec::new(),
        };
        let mut rest = [0u8; 4];
        input.exact(&mut rest, "section header")?;
        ng.section_header(input, rest)?;
        let mut scratch = Vec::new();
        while ng.interfaces.is_empty() {
            match ng.next_event(input, &mut scratch)? {
                None => break,
                Some(Event::Packet(_)) => {
                    return Err(CaptureError::Malformed(
                        "packet before any interface description".into(),
                    ))
                }
                Some(_) => {}
            }
        }
        Ok(ng)
    }

    /// The link type of the file's first interface (`Other(u32::MAX)` if it has none).
    pub(super) fn first_link(&self) -> LinkType {
        self.interfaces
            .first()
            .map_or(LinkType::Other(u32::MAX), |i| i.link)
    }

    /// Reads blocks up to the next packet, whose data goes into `buf`.
    pub(super) fn next(
        &mut self,
        input: &mut Input,
        buf: &mut Vec<u8>,
    ) -> Result<Option<FrameMeta>, CaptureError> {
        buf.clear();
        loop {
            match self.next_event(input, buf)? {
                None => return Ok(None),
                Some(Event::Packet(meta)) => return Ok(Some(meta)),
                Some(_) => {}
            }
        }
    }

    /// Reads one block.
    fn next_event(
        &mut self,
        input: &mut Input,
        buf: &mut Vec<u8>,
    ) -> Result<Option<Event>, CaptureError> {
        let mut head = [0u8; 8];
        let have = input.fill(&mut head)?;
        if have == 0 {
            return Ok(None);
        }
        if have < head.len() {
            return Err(CaptureError::Truncated {
                what: "block header",
                need: head.len(),
                have,
            });
        }
        let e = self.endian;
        let btype = e.u32(&head, 0).unwrap_or_default();
        if btype == SHB {
            let mut len = [0u8; 4];
            len.copy_from_slice(&head[4..]);
            self.section_header(input, len)?;
            return Ok(Some(Event::Other));
        }
        let total = e.u32(&head, 4).unwrap_or_default() as usize;
        if total < MIN_BLOCK {
            return Err(CaptureError::Malformed(format!("block length {total}")));
        }
        self.read_block(input, total, head.len())?;
        let body = self.body();
        let event = match btype {
            IDB => {
                let iface =
                    Interface::from_body(e, body).ok_or_else(|| short("interface description"))?;
                self.section.push(self.interfaces.len());
                self.interfaces.push(iface);
                Event::Interface
            }
            EPB => Event::Packet(self.enhanced(buf)?),
            SPB => Event::Packet(self.simple(buf)?),
            PB => Event::Packet(self.obsolete(buf)?),
            _ => Event::Other,
        };
        Ok(Some(event))
    }

    /// Reads a section header whose type was read; `len` holds the raw length field.
    fn section_header(&mut self, input: &mut Input, len: [u8; 4]) -> Result<(), CaptureError> {
        let mut bom = [0u8; 4];
        input.exact(&mut bom, "section header")?;
        self.endian = if u32::from_le_bytes(bom) == BYTE_ORDER_MAGIC {
            Endian::Little
        } else if u32::from_be_bytes(bom) == BYTE_ORDER_MAGIC {
            Endian::Big
        } else {
            return Err(CaptureError::Malformed(format!(
                "section header byte-order magic {:#010x}",
                u32::from_be_bytes(bom)
            )));
        };
        let total = self.endian.u32(&len, 0).unwrap_or_default() as usize;
        if total < MIN_SHB {
            return Err(CaptureError::Malformed(format!(
                "section header of {total} bytes"
            )));
        }
        // Type, length and byte-order magic were read: the body starts at the version.
        self.read_block(input, total, 12)?;
        let major = self.endian.u16(&self.block, 0).unwrap_or_default();
        if major != 1 {
            return Err(CaptureError::Malformed(format!(
                "pcapng major version {major}"
            )));
        }
        self.section.clear();
        Ok(())
    }

    /// Reads the rest of a block of `total` bytes whose first `done` bytes were read,
    /// and checks the trailing length.
    fn read_block(
        &mut self,
        input: &mut Input,
        total: usize,
        done: usize,
    ) -> Result<(), CaptureError> {
        if total > MAX_RECORD_LEN {
            return Err(CaptureError::Malformed(format!(
                "block of {total} bytes exceeds the limit of {MAX_RECORD_LEN}"
            )));
        }
        input.take_into(&mut self.block, total.saturating_sub(done), "block")?;
        let trailer = self.block.len().saturating_sub(4);
        let end = self.endian.u32(&self.block, trailer).unwrap_or_default() as usize;
        if end != total {
            return Err(CaptureError::Malformed(format!(
                "block length {total} but trailing length {end}"
            )));
        }
        Ok(())
    }

    /// The body of the block just read (without the trailing length).
    fn body(&self) -> &[u8] {
        let end = self.block.len().saturating_sub(4);
        &self.block[..end]
    }

    /// The current section's interface `id`, with its file-wide index.
    fn interface(&self, id: u32) -> Result<(u32, Interface), CaptureError> {
        let global = usize::try_from(id)
            .ok()
            .and_then(|i| self.section.get(i).copied())
            .ok_or_else(|| CaptureError::Malformed(format!("packet on unknown interface {id}")))?;
        let iface =
            self.interfaces.get(global).copied().ok_or_else(|| {
                CaptureError::Malformed(format!("packet on unknown interface {id}"))
            })?;
        Ok((u32::try_from(global).unwrap_or(u32::MAX), iface))
    }

    /// Enhanced Packet Block: interface, timestamp, lengths, data.
    fn enhanced(&self, buf: &mut Vec<u8>) -> Result<FrameMeta, CaptureError> {
        let (e, b) = (self.endian, self.body());
        let f = |at| e.u32(b, at).ok_or_else(|| short("enhanced packet block"));
        let (id, hi, lo, caplen, orig_len) = (f(0)?, f(4)?, f(8)?, f(12)?, f(16)?);
        let (index, iface) = self.interface(id)?;
        copy_data(b, 20, caplen, buf, "enhanced packet block")?;
        Ok(FrameMeta {
            ts_ns: iface.ts_ns((u64::from(hi) << 32) | u64::from(lo)),
            caplen,
            orig_len,
            link: iface.link,
            iface: index,
        })
    }

    /// Simple Packet Block: original length and data, on interface 0, no timestamp.
    fn simple(&self, buf: &mut Vec<u8>) -> Result<FrameMeta, CaptureError> {
        let (e, b) = (self.endian, self.body());
        let orig_len = e.u32(b, 0).ok_or_else(|| short("simple packet block"))?;
        let (index, iface) = self.interface(0)?;
        // The data is padded to 4 bytes: the original length tells where it ends,
        // unless the snap length cut it.
        let room = u32::try_from(b.len().saturating_sub(4)).unwrap_or(u32::MAX);
        let caplen = orig_len.min(room);
        copy_data(b, 4, caplen, buf, "simple packet block")?;
        Ok(FrameMeta {
            ts_ns: 0,
            caplen,
            orig_len,
            link: iface.link,
            iface: index,
        })
    }

    /// Obsolete Packet Block: 16-bit interface id, drop count, timestamp, lengths, data.
    fn obsolete(&self, buf: &mut Vec<u8>) -> Result<FrameMeta, CaptureError> {
        let (e, b) = (self.endian, self.body());
        let id = e.u16(b, 0).ok_or_else(|| short("packet block"))?;
        let f = |at| e.u32(b, at).ok_or_else(|| short("packet block"));
        let (hi, lo, caplen, orig_len) = (f(4)?, f(8)?, f(12)?, f(16)?);
        let (index, iface) = self.interface(u32::from(id))?;
        copy_data(b, 20, caplen, buf, "packet block")?;
        Ok(FrameMeta {
            ts_ns: iface.ts_ns((u64::from(hi) << 32) | u64::from(lo)),
            caplen,
            orig_len,
            link: iface.link,
            iface: index,
        })
    }
}

/// Error for a block too short for its fixed fields.
fn short(what: &str) -> CaptureError {
    CaptureError::Malformed(format!("{what} too short"))
}

/// Copies `caplen` bytes of packet data at `at` of a block body into `buf`.
fn copy_data(
    body: &[u8],
    at: usize,
    caplen: u32,
    buf: &mut Vec<u8>,
    what: &str,
) -> Result<(), CaptureError> {
    let data = at
        .checked_add(caplen as usize)
        .and_then(|end| body.get(at..end))
        .ok_or_else(|| {
            CaptureError::Malformed(format!(
                "{what}: captured length {caplen} exceeds the block"
            ))
        })?;
    buf.clear();
    buf.extend_from_slice(data);
    Ok(())
}
