//! IPFIX messages (RFC 7011, section 3): the 16-byte message header (version 10,
//! length, export time, sequence number, observation domain id), template sets (set
//! id 2) and data sets (set id = template id), each set padded to a multiple of four
//! bytes.
//!
//! The sequence number of a message is the number of data records this exporter sent
//! in the observation domain before it, modulo 2^32; template records do not count.

use crate::record::FlowRecord;
use crate::template::Templates;

/// IPFIX's version number.
pub const VERSION: u16 = 10;
/// Bytes of the message header.
pub const HEADER_LEN: usize = 16;
/// Bytes of a set header.
pub const SET_HEADER_LEN: usize = 4;
/// The set id of template sets.
pub const TEMPLATE_SET_ID: u16 = 2;
/// The longest message the header's length field allows.
pub const MAX_LEN: usize = 65_535;

/// Builds messages of data records, splitting them at a size limit.
#[derive(Debug)]
pub struct Encoder {
    domain: u32,
    max_len: usize,
    templates: Templates,
    /// Data records added so far (modulo 2^32): the next message's sequence number.
    records: u32,
    /// The message being filled (empty: none begun).
    buf: Vec<u8>,
    /// The message finished last, handed out by reference.
    done: Vec<u8>,
    /// Records in `buf`.
    pending: u32,
    /// The open data set in `buf`: its template id and where its header starts.
    set: Option<(u16, usize)>,
}

/// Pads `buf` from set start `start` to a multiple of four and writes the set's length.
fn close_set(buf: &mut Vec<u8>, start: usize) {
    while !(buf.len() - start).is_multiple_of(4) {
        buf.push(0);
    }
    let len = (buf.len() - start) as u16;
    buf[start + 2..start + 4].copy_from_slice(&len.to_be_bytes());
}

/// Writes a message header with sequence number `seq` (length filled at the end).
fn begin(buf: &mut Vec<u8>, seq: u32, domain: u32) {
    buf.clear();
    buf.extend_from_slice(&VERSION.to_be_bytes());
    buf.extend_from_slice(&[0; 6]);
    buf.extend_from_slice(&seq.to_be_bytes());
    buf.extend_from_slice(&domain.to_be_bytes());
}

/// Fills in the length and export time of the message in `buf`.
fn seal(buf: &mut [u8], export_time: u32) {
    let len = buf.len() as u16;
    buf[2..4].copy_from_slice(&len.to_be_bytes());
    buf[4..8].copy_from_slice(&export_time.to_be_bytes());
}

impl Encoder {
    /// An encoder for observation domain `domain` whose messages are at most `max_len`
    /// bytes (clamped to what the templates' message and one record need, and to
    /// [`MAX_LEN`]).
    pub fn new(domain: u32, max_len: usize, templates: Templates) -> Encoder {
        let mut e = Encoder {
            domain,
            max_len: 0,
            templates,
            records: 0,
            buf: Vec::new(),
            done: Vec::new(),
            pending: 0,
            set: None,
        };
        let floor = e
            .template_message(0, 0)
            .len()
            .max(e.largest_record_message());
        e.max_len = max_len.clamp(floor, MAX_LEN);
        e.buf.reserve(e.max_len);
        e.done.reserve(e.max_len);
        e
    }

    fn largest_record_message(&self) -> usize {
        let rec = self.templates.all.iter().map(|t| t.record_len).max();
        HEADER_LEN + SET_HEADER_LEN + rec.unwrap_or(0) + 3
    }

    /// The message size limit in effect.
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// The templates records are written by.
    pub fn templates(&self) -> &Templates {
        &self.templates
    }

    /// Data records added so far, modulo 2^32 (the sequence number of the next message
    /// begun).
    pub fn sequence(&self) -> u32 {
        self.records
    }

    /// Continues the sequence at `seq` data records (a new encoder for the same
    /// observation domain).
    pub fn set_sequence(&mut self, seq: u32) {
        self.records = seq;
    }

    /// Records in the message being filled.
    pub fn pending(&self) -> u32 {
        self.pending
    }

    /// A message of one template set with all four templates, stamped `export_time`
    /// (seconds since the Unix epoch), with sequence number `seq` (that of the data
    /// message it goes before, or [`sequence`](Self::sequence)).
    pub fn template_message(&self, seq: u32, export_time: u32) -> Vec<u8> {
        let mut m = Vec::with_capacity(512);
        begin(&mut m, seq, self.domain);
        let start = m.len();
        m.extend_from_slice(&TEMPLATE_SET_ID.to_be_bytes());
        m.extend_from_slice(&[0, 0]);
        for t in &self.templates.all {
            t.write_record(&mut m);
        }
        close_set(&mut m, start);
        seal(&mut m, export_time);
        m
    }

    /// Adds a data record. When it does not fit in the message being filled, that
    /// message is finished first, stamped `export_time`, and returned (valid until the
    /// next call); the record begins the next one.
    pub fn push(&mut self, rec: &FlowRecord, export_time: u32) -> Option<&[u8]> {
        let template = self.templates.pick(rec.v6, rec.nat.is_some());
        let (id, len) = (template.id, template.record_len);
        let same_set = self.set.is_some_and(|(s, _)| s == id);
        let mut need = self.buf.len() + len + 3;
        if !same_set {
            need += SET_HEADER_LEN + 3;
        }
        let mut finished = false;
        if self.pending > 0 && need > self.max_len {
            self.finish_into_done(export_time);
            finished = true;
        }
        if self.buf.is_empty() {
            begin(&mut self.buf, self.records, self.domain);
        }
        match self.set {
            Some((s, _)) if s == id => {}
            other => {
                if let Some((_, start)) = other {
                    close_set(&mut self.buf, start);
                }
                self.set = Some((id, self.buf.len()));
                self.buf.extend_from_slice(&id.to_be_bytes());
                self.buf.extend_from_slice(&[0, 0]);
            }
        }
        let template = self.templates.pick(rec.v6, rec.nat.is_some());
        rec.write(template, &mut self.buf);
        self.pending += 1;
        self.records = self.records.wrapping_add(1);
        finished.then_some(&self.done[..])
    }

    fn finish_into_done(&mut self, export_time: u32) {
        if let Some((_, start)) = self.set.take() {
            close_set(&mut self.buf, start);
        }
        seal(&mut self.buf, export_time);
        std::mem::swap(&mut self.buf, &mut self.done);
        self.buf.clear();
        self.pending = 0;
    }

    /// The sequence number in the header of message `msg`.
    pub fn sequence_of(msg: &[u8]) -> u32 {
        msg.get(8..12)
            .map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Finishes the message being filled, stamped `export_time`; `None` when it holds
    /// no record.
    pub fn finish(&mut self, export_time: u32) -> Option<&[u8]> {
        if self.pending == 0 {
            return None;
        }
        self.finish_into_done(export_time);
        Some(&self.done[..])
    }
}
