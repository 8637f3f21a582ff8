//! Unit tests of the capture reader and writer, on files built in memory.

mod classic;
mod ng;
mod ngbuild;

use super::{CaptureError, CaptureReader, FrameMeta};
use std::io::Cursor;

/// A reader over bytes in memory.
fn reader(bytes: Vec<u8>) -> Result<CaptureReader, CaptureError> {
    CaptureReader::from_reader(Box::new(Cursor::new(bytes)))
}

/// Every frame of a reader, until the end or the first error.
fn frames(r: &mut CaptureReader) -> (Vec<(FrameMeta, Vec<u8>)>, Option<CaptureError>) {
    let mut out = Vec::new();
    let mut buf = Vec::new();
    loop {
        match r.next_frame(&mut buf) {
            Ok(Some(m)) => out.push((m, buf.clone())),
            Ok(None) => return (out, None),
            Err(e) => return (out, Some(e)),
        }
    }
}
