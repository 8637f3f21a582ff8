//! Where frames come from and go to. A source hands out frames in batches, each frame
//! borrowed for the duration of a callback, so a memory-mapped ring can lend its slots
//! without copying; pcap files, the synthetic generator and frames in memory implement
//! the same trait.

use crate::gen::{GenConfig, Generator};
use crate::pcap::{CaptureError, CaptureReader, FrameMeta};
use crate::wire::LinkType;
use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A source of frames.
pub trait FrameSource {
    /// Delivers up to `max` frames to `f`, in order; returns how many (0 at the end).
    fn next_batch(
        &mut self,
        max: usize,
        f: &mut dyn FnMut(&[u8], &FrameMeta),
    ) -> Result<usize, CaptureError>;

    /// Progress as (done, total) in the source's own unit, when known.
    fn progress(&self) -> Option<(u64, u64)> {
        None
    }

    /// Whether the input ended in a truncated record (the frames before it were delivered).
    fn truncated(&self) -> bool {
        false
    }
}

struct Counting<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Frames from a pcap or pcapng file.
pub struct PcapSource {
    reader: CaptureReader,
    buf: Vec<u8>,
    read: Arc<AtomicU64>,
    total: u64,
    /// Set when the file ended in a truncated record (the frames before it were read).
    pub truncated: bool,
}

impl PcapSource {
    /// Opens a capture file.
    pub fn open(path: &Path) -> Result<PcapSource, CaptureError> {
        let file = std::fs::File::open(path).map_err(CaptureError::Io)?;
        let total = file.metadata().map(|m| m.len()).unwrap_or(0);
        let read = Arc::new(AtomicU64::new(0));
        let counting = Counting {
            inner: std::io::BufReader::with_capacity(1 << 16, file),
            read: read.clone(),
        };
        let reader = CaptureReader::from_reader(Box::new(counting))?;
        Ok(PcapSource {
            reader,
            buf: Vec::with_capacity(65_536),
            read,
            total,
            truncated: false,
        })
    }

    /// Link type of the capture's first interface.
    pub fn link_type(&self) -> LinkType {
        self.reader.link_type()
    }
}

impl FrameSource for PcapSource {
    fn next_batch(
        &mut self,
        max: usize,
        f: &mut dyn FnMut(&[u8], &FrameMeta),
    ) -> Result<usize, CaptureError> {
        let mut n = 0;
        while n < max && !self.truncated {
            match self.reader.next_frame(&mut self.buf) {
                Ok(Some(meta)) => {
                    f(&self.buf, &meta);
                    n += 1;
                }
                Ok(None) => break,
                Err(CaptureError::Truncated { .. }) => self.truncated = true,
                Err(e) => return Err(e),
            }
        }
        Ok(n)
    }

    fn progress(&self) -> Option<(u64, u64)> {
        Some((self.read.load(Ordering::Relaxed), self.total))
    }

    fn truncated(&self) -> bool {
        self.truncated
    }
}

/// Frames from the synthetic generator (Ethernet).
pub struct GenSource {
    gen: Generator,
    done: u64,
    total: u64,
}

/// Frames held in memory, each with its metadata, in order (frames built by hand: tests,
/// fuzzing).
pub struct MemorySource {
    frames: std::vec::IntoIter<(FrameMeta, Vec<u8>)>,
}

impl MemorySource {
    /// A source of these frames.
    pub fn new(frames: Vec<(FrameMeta, Vec<u8>)>) -> MemorySource {
        MemorySource {
            frames: frames.into_iter(),
        }
    }
}

impl FrameSource for MemorySource {
    fn next_batch(
        &mut self,
        max: usize,
        f: &mut dyn FnMut(&[u8], &FrameMeta),
    ) -> Result<usize, CaptureError> {
        let mut n = 0;
        for (meta, frame) in self.frames.by_ref().take(max) {
            f(&frame, &meta);
            n += 1;
        }
        Ok(n)
    }
}

impl GenSource {
    /// A source generating the traffic `cfg` describes.
    pub fn new(cfg: GenConfig) -> GenSource {
        let total = crate::gen::frame_count(&cfg);
        GenSource {
            gen: Generator::new(cfg),
            done: 0,
            total,
        }
    }
}

impl FrameSource for GenSource {
    fn next_batch(
        &mut self,
        max: usize,
        f: &mut dyn FnMut(&[u8], &FrameMeta),
    ) -> Result<usize, CaptureError> {
        let mut n = 0;
        while n < max {
            let Some(fr) = self.gen.next() else { break };
            let meta = FrameMeta {
                ts_ns: fr.ts_ns,
                caplen: fr.data.len() as u32,
                orig_len: fr.data.len() as u32,
                link: LinkType::Ethernet,
                iface: 0,
            };
            f(&fr.data, &meta);
            n += 1;
        }
        self.done += n as u64;
        Ok(n)
    }

    fn progress(&self) -> Option<(u64, u64)> {
        Some((self.done, self.total))
    }
}

/// A source slowed to at most `rate` frames per second (from its first batch on), so
/// that a watcher (the dashboard) sees a table fill and drain rather than its final
/// state. A call waits at most one frame's interval (`1 / rate` seconds) before it
/// delivers, so a stop request between calls is seen as promptly as the rate allows.
pub struct Paced<S> {
    inner: S,
    rate: f64,
    start: Option<Instant>,
    delivered: u64,
}

impl<S: FrameSource> Paced<S> {
    /// `inner` at `rate` frames per second (at least 1).
    pub fn new(inner: S, rate: u64) -> Paced<S> {
        Paced {
            inner,
            rate: rate.max(1) as f64,
            start: None,
            delivered: 0,
        }
    }
}

impl<S: FrameSource> FrameSource for Paced<S> {
    fn next_batch(
        &mut self,
        max: usize,
        f: &mut dyn FnMut(&[u8], &FrameMeta),
    ) -> Result<usize, CaptureError> {
        let start = *self.start.get_or_insert_with(Instant::now);
        let due = (start.elapsed().as_secs_f64() * self.rate) as u64 + 1;
        let allowed = due.saturating_sub(self.delivered);
        if allowed == 0 {
            // Not one frame is due yet: wait until the next one is, then deliver it.
            let next = Duration::from_secs_f64((self.delivered as f64) / self.rate);
            std::thread::sleep(next.saturating_sub(start.elapsed()));
        }
        let allowed = allowed.max(1).min(max as u64) as usize;
        let n = self.inner.next_batch(allowed, f)?;
        self.delivered += n as u64;
        Ok(n)
    }

    fn progress(&self) -> Option<(u64, u64)> {
        self.inner.progress()
    }

    fn truncated(&self) -> bool {
        self.inner.truncated()
    }
}

#[cfg(test)]
mod paced_tests {
    use super::*;

    /// Every frame comes through, in order, and no faster than the rate allows (a lower
    /// bound only: a slow machine may take longer).
    #[test]
    fn paced_source_delivers_everything_no_faster_than_its_rate() {
        let cfg = GenConfig {
            tcp_flows: 4,
            udp_flows: 2,
            icmp_flows: 1,
            ..GenConfig::default()
        };
        let expect: Vec<u64> = Generator::new(cfg.clone()).map(|f| f.ts_ns).collect();
        let n = expect.len() as u64;
        let mut p = Paced::new(GenSource::new(cfg.clone()), 1000);
        let t0 = Instant::now();
        let mut seen = Vec::new();
        while p.next_batch(64, &mut |_, m| seen.push(m.ts_ns)).unwrap() > 0 {}
        assert_eq!(seen, expect);
        let floor = Duration::from_secs_f64((n - 1) as f64 / 1000.0);
        assert!(t0.elapsed() >= floor, "{n} frames in {:?}", t0.elapsed());
        // Below 20 frames per second too (a frame's interval longer than 50 ms).
        let mut slow = Paced::new(GenSource::new(cfg), 10);
        let t0 = Instant::now();
        let mut k = 0;
        while k < 4 {
            k += slow.next_batch(64, &mut |_, _| {}).unwrap();
        }
        assert!(
            t0.elapsed() >= Duration::from_millis(300),
            "4 frames in {:?}",
            t0.elapsed()
        );
    }
}
