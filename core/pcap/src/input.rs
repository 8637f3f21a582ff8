//! [`Input`]: the buffered byte source of a reader, telling a clean end of file from a
//! truncated record.

use super::{CaptureError, MAX_RECORD_LEN};
use std::io::{self, BufReader, Read};

/// A buffered capture byte stream.
pub(super) struct Input {
    /// The stream.
    inner: BufReader<Box<dyn Read + Send>>,
}

impl Input {
    /// Wraps a reader in a buffer.
    pub(super) fn new(r: Box<dyn Read + Send>) -> Input {
        Input {
            inner: BufReader::with_capacity(64 << 10, r),
        }
    }

    /// Fills `buf` as far as the stream goes; returns how many bytes were read (less
    /// than `buf.len()` only at end of file).
    pub(super) fn fill(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut got = 0;
        while got < buf.len() {
            match self.inner.read(&mut buf[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(got)
    }

    /// Fills `buf` completely; end of file before that is [`CaptureError::Truncated`].
    pub(super) fn exact(&mut self, buf: &mut [u8], what: &'static str) -> Result<(), CaptureError> {
        let have = self.fill(buf)?;
        if have < buf.len() {
            return Err(CaptureError::Truncated {
                what,
                need: buf.len(),
                have,
            });
        }
        Ok(())
    }

    /// Replaces the contents of `out` with the next `len` bytes. The buffer grows with
    /// what is actually read, so a bogus length in a short file allocates little.
    pub(super) fn take_into(
        &mut self,
        out: &mut Vec<u8>,
        len: usize,
        what: &'static str,
    ) -> Result<(), CaptureError> {
        if len > MAX_RECORD_LEN {
            return Err(CaptureError::Malformed(format!(
                "{what} of {len} bytes exceeds the limit of {MAX_RECORD_LEN}"
            )));
        }
        out.clear();
        (&mut self.inner).take(len as u64).read_to_end(out)?;
        if out.len() < len {
            return Err(CaptureError::Truncated {
                what,
                need: len,
                have: out.len(),
            });
        }
        Ok(())
    }
}
