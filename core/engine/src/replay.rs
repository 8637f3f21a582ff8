//! Offline replay: frames from a source through an engine's pipeline, with the
//! per-packet report, an output capture of accepted packets, injected packets and
//! queue round trips handled between frames.
//!
//! In a replay, a packet whose source address is one of the engine's local addresses
//! was sent by the local side: it starts at OUTPUT. Every other packet starts at
//! PREROUTING.

use crate::control::LiveStatus;
use crate::engine::Engine;
use crate::io::FrameSource;
use crate::packet::Packet;
use crate::pcap::{CaptureError, FrameMeta, PcapWriter};
use crate::pipeline::counters::Counters;
use crate::pipeline::{DropReason, Ingress, Outcome, Pipeline};
use crate::report::{ReportLine, ReportWriter};
use crate::wire::{LinkType, ParseError};
use brickwall_hooks::HookTable;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How to replay.
pub struct ReplayOptions {
    /// Where the per-packet report goes.
    pub report: Option<Box<dyn Write>>,
    /// Where accepted packets are written (classic pcap).
    pub output: Option<PathBuf>,
    /// Called after each batch with the source's progress.
    pub progress: Option<Box<dyn FnMut(u64, u64)>>,
    /// How long to wait at the end for queued packets to come back.
    pub queue_wait: Duration,
    /// Frames per batch.
    pub batch: usize,
    /// Where the counters, frame count and clock are published after every batch (for
    /// the control socket).
    pub live: Option<Arc<LiveStatus>>,
    /// When set, the replay stops after the current batch (a signal asked for it).
    pub stop: Option<&'static AtomicBool>,
}

impl Default for ReplayOptions {
    fn default() -> Self {
        ReplayOptions {
            report: None,
            output: None,
            progress: None,
            queue_wait: Duration::from_secs(5),
            batch: 64,
            live: None,
            stop: None,
        }
    }
}

/// What a replay did.
#[derive(Debug)]
pub struct ReplaySummary {
    /// Frames read from the source.
    pub frames: u64,
    /// The pipeline's counters.
    pub counters: Counters,
    /// Wall-clock time of the replay.
    pub elapsed: Duration,
    /// Accepted packets not written to the output (link type it cannot hold).
    pub output_skipped: u64,
    /// Whether the capture ended in a truncated record.
    pub truncated: bool,
    /// Timestamp of the last frame (the replay's clock at the end).
    pub last_ts_ns: u64,
    /// Captured packets per conntrack state (`NEW`, `ESTABLISHED`, ...), when a
    /// conntrack plugin is loaded.
    pub ct_states: BTreeMap<&'static str, u64>,
    /// Whether the replay stopped before the end of the source (`ReplayOptions::stop`).
    pub interrupted: bool,
}

/// Why a replay stopped.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The capture could not be read.
    #[error("capture: {0}")]
    Capture(#[from] CaptureError),
    /// The report or the output could not be written.
    #[error("output: {0}")]
    Io(#[from] std::io::Error),
}

struct Sinks {
    report: Option<ReportWriter>,
    output_path: Option<PathBuf>,
    output: Option<(PcapWriter, LinkType)>,
    output_skipped: u64,
    /// Report lines of captured packets out in a queue, used if they never come back.
    queued: BTreeMap<u64, ReportLine>,
    /// Captured packets per conntrack state.
    ct_states: BTreeMap<&'static str, u64>,
}

impl Sinks {
    fn report(&mut self, line: impl FnOnce() -> ReportLine) -> std::io::Result<()> {
        match &mut self.report {
            Some(r) => r.record(&line()),
            None => Ok(()),
        }
    }

    fn write(&mut self, pkt: &Packet) -> std::io::Result<()> {
        let Some(path) = &self.output_path else {
            return Ok(());
        };
        if self.output.is_none() {
            self.output = Some((PcapWriter::create(path, pkt.link, true)?, pkt.link));
        }
        let Some((w, link)) = &mut self.output else {
            return Ok(());
        };
        let bytes = pkt.bytes();
        if pkt.link == *link {
            return w.write(pkt.view.ts_ns, bytes, pkt.orig_len.max(bytes.len() as u32));
        }
        // The packet changed link type (a plugin replaced its datagram): re-frame it.
        let l3 = pkt.view.l3();
        if l3.is_empty() {
            // Not IP, on another link type than the output's: nothing to re-frame.
            self.output_skipped += 1;
            return Ok(());
        }
        match link {
            LinkType::Ethernet => {
                let ethertype: [u8; 2] = if pkt.view.family == brickwall_hooks::Family::Ipv6 as u8 {
                    [0x86, 0xdd]
                } else {
                    [0x08, 0x00]
                };
                let mut f = vec![0u8; 12];
                f.extend_from_slice(&ethertype);
                f.extend_from_slice(l3);
                w.write(pkt.view.ts_ns, &f, f.len() as u32)
            }
            LinkType::Raw => w.write(pkt.view.ts_ns, l3, l3.len() as u32),
            _ => {
                self.output_skipped += 1;
                Ok(())
            }
        }
    }
}

fn finish_packet(
    pipeline: &Pipeline,
    sinks: &mut Sinks,
    pkt: &Packet,
    outcome: Outcome,
) -> std::io::Result<()> {
    let captured = pkt.view.flags & brickwall_hooks::flags::INJECTED == 0;
    if matches!(outcome, Outcome::Queued) {
        if captured && sinks.report.is_some() {
            let timeout = Outcome::Dropped(DropReason::Id(pipeline.shared().reasons.queue_timeout));
            let line = ReportLine::new(pkt, &timeout, &pipeline.shared().registry);
            sinks.queued.insert(pkt.index, line);
        }
        return Ok(());
    }
    if captured {
        if let Some(state) = pkt.ctinfo().state_name() {
            *sinks.ct_states.entry(state).or_default() += 1;
        }
        sinks.queued.remove(&pkt.index);
        sinks.report(|| ReportLine::new(pkt, &outcome, &pipeline.shared().registry))?;
    }
    if matches!(outcome, Outcome::Forwarded | Outcome::Delivered) {
        sinks.write(pkt)?;
    }
    Ok(())
}

fn drain_side_traffic(
    pipeline: &mut Pipeline,
    table: &HookTable,
    sinks: &mut Sinks,
    ts: u64,
) -> std::io::Result<()> {
    while let Some((qp, v)) = pipeline.shared().queues.try_returned() {
        let (pkt, outcome) = pipeline.resume(table, qp, v);
        finish_packet(pipeline, sinks, &pkt, outcome)?;
    }
    // Answers to packets are injected ones here: a capture has no interfaces.
    let injector = pipeline.shared().host.injector.clone();
    let answers = injector.take_replies().into_iter().map(|r| r.datagram);
    for d in injector.take().into_iter().chain(answers) {
        if let Ok(mut pkt) = Packet::from_datagram(&d, ts) {
            let outcome = pipeline.process_local(table, &mut pkt);
            finish_packet(pipeline, sinks, &pkt, outcome)?;
        }
    }
    Ok(())
}

/// Replays every frame of `source` through `engine`.
pub fn replay(
    engine: &Engine,
    source: &mut dyn FrameSource,
    mut opts: ReplayOptions,
) -> Result<ReplaySummary, ReplayError> {
    let started = Instant::now();
    let mut pipeline = engine.pipeline();
    let reporting = opts.report.is_some();
    let mut sinks = Sinks {
        report: opts.report.take().map(ReportWriter::new),
        output_path: opts.output.take(),
        output: None,
        output_skipped: 0,
        queued: BTreeMap::new(),
        ct_states: BTreeMap::new(),
    };
    let mut frames = 0u64;
    // A batch's packets, parsed before any is processed, so that plugins can prepare
    // for the whole batch (`Pipeline::prepare`); the packets are reused batch to batch.
    let mut pool: Vec<Packet> = Vec::new();
    let mut parsed: Vec<Result<(), ParseError>> = Vec::new();
    let mut outcomes: Vec<Outcome> = Vec::new();
    let mut last_ts = 0u64;
    let mut io_error: Option<std::io::Error> = None;
    let mut interrupted = false;
    loop {
        let table = engine.registry().snapshot();
        parsed.clear();
        let n = source.next_batch(opts.batch, &mut |frame: &[u8], meta: &FrameMeta| {
            if parsed.len() == pool.len() {
                pool.push(Packet::default());
            }
            let pkt = &mut pool[parsed.len()];
            let index = frames;
            frames += 1;
            last_ts = meta.ts_ns;
            let r = pkt.reset(meta.link, frame, meta.ts_ns);
            pkt.index = index;
            pkt.orig_len = meta.orig_len.max(frame.len() as u32);
            // Capture interfaces become input interfaces 1, 2, ... (0 means none).
            pkt.view.iif = meta.iface.saturating_add(1);
            if reporting {
                pkt.view.flags |= brickwall_hooks::flags::REPORTING;
            }
            parsed.push(r);
        })?;
        let batch = &mut pool[..parsed.len()];
        pipeline.prepare(
            &table,
            batch
                .iter_mut()
                .zip(&parsed)
                .filter(|(_, r)| r.is_ok())
                .map(|(p, _)| p),
        );
        // The parsed packets walk the hooks as a burst; then each is reported in order.
        let mut walking: Vec<&mut Packet> = batch
            .iter_mut()
            .zip(&parsed)
            .filter(|(_, r)| r.is_ok())
            .map(|(p, _)| p)
            .collect();
        outcomes.clear();
        outcomes.resize(walking.len(), Outcome::Stolen);
        pipeline.process_burst(&table, &mut walking, Ingress::Captured, &mut outcomes);
        drop(walking);
        let mut walked = outcomes.iter();
        for (pkt, r) in batch.iter_mut().zip(parsed.drain(..)) {
            let r = match r {
                Ok(()) => {
                    let outcome = walked.next().copied().unwrap_or(Outcome::Stolen);
                    finish_packet(&pipeline, &mut sinks, pkt, outcome)
                }
                Err(e) => unparsed(&mut pipeline, &mut sinks, pkt, &e),
            };
            if let Err(e) = r {
                io_error = Some(e);
                break;
            }
        }
        if let Some(e) = io_error.take() {
            return Err(e.into());
        }
        drain_side_traffic(&mut pipeline, &table, &mut sinks, last_ts)?;
        if let (Some(cb), Some((done, total))) = (opts.progress.as_mut(), source.progress()) {
            cb(done, total);
        }
        if let Some(live) = &opts.live {
            live.publish(&pipeline.counters, frames, last_ts);
        }
        if n == 0 {
            break;
        }
        if opts.stop.is_some_and(|s| s.load(Ordering::Relaxed)) {
            interrupted = true;
            break;
        }
    }
    // Wait for packets still out in queues (not after an interruption).
    let deadline = Instant::now()
        + if interrupted {
            Duration::ZERO
        } else {
            opts.queue_wait
        };
    let table = engine.registry().snapshot();
    while pipeline.shared().queues.outstanding() > 0 {
        let left = deadline.saturating_duration_since(Instant::now());
        match pipeline.shared().queues.returned_timeout(left) {
            Some((qp, v)) => {
                let (p, outcome) = pipeline.resume(&table, qp, v);
                finish_packet(&pipeline, &mut sinks, &p, outcome)?;
            }
            None => break,
        }
        drain_side_traffic(&mut pipeline, &table, &mut sinks, last_ts)?;
    }
    while pipeline.counters.queued > 0 {
        pipeline.expire_queued();
    }
    for (_, line) in std::mem::take(&mut sinks.queued) {
        sinks.report(|| line)?;
    }
    if let Some(r) = &mut sinks.report {
        r.finish()?;
    }
    if let Some((w, _)) = &mut sinks.output {
        w.flush()?;
    }
    if let Some(live) = &opts.live {
        live.finish(&pipeline.counters, frames, last_ts);
    }
    Ok(ReplaySummary {
        frames,
        counters: pipeline.counters,
        elapsed: started.elapsed(),
        output_skipped: sinks.output_skipped,
        truncated: source.truncated(),
        last_ts_ns: last_ts,
        ct_states: sinks.ct_states,
        interrupted,
    })
}

fn unparsed(
    pipeline: &mut Pipeline,
    sinks: &mut Sinks,
    pkt: &Packet,
    e: &ParseError,
) -> std::io::Result<()> {
    pipeline.counters.received += 1;
    if matches!(e, ParseError::NotIp { .. }) {
        // Not IP: a bridge passes it on without running the IP hooks.
        pipeline.counters.non_ip += 1;
        sinks.report(|| ReportLine::unhooked(pkt.index, pkt.view.ts_ns, pkt.orig_len, None))?;
        return sinks.write(pkt);
    }
    let reason = e.reason();
    *pipeline.counters.parse_drops.entry(reason).or_default() += 1;
    pipeline.counters.dropped += 1;
    sinks.report(|| ReportLine::unhooked(pkt.index, pkt.view.ts_ns, pkt.orig_len, Some(reason)))
}
