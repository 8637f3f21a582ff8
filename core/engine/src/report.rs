//! The per-packet replay report: one JSON object per input packet, in input order.
//!
//! Fields: `index`, `ts` (capture time, integer nanoseconds since the Unix epoch), `len`
//! (captured bytes), `hooks` (traversed, in order), `verdict` (`accept`, `drop`, `stolen`),
//! `reason` (drops only); when a conntrack saw the packet `ctstate`, `ctdir` and `conn`;
//! when plugins said so `helper`, `expected` and `translated` (the packet's tuple after
//! NAT changed it, in conntrack's words); other plugin notes under `notes`.

use crate::packet::Packet;
use crate::pipeline::{DropReason, Outcome};
use brickwall_hooks::HookRegistry;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::io::Write;

/// One report line.
#[derive(Debug, Serialize, serde::Deserialize, PartialEq)]
pub struct ReportLine {
    /// Position in the input, from 0.
    pub index: u64,
    /// Timestamp, ns since the epoch.
    pub ts: u64,
    /// Captured length.
    pub len: u32,
    /// Hooks traversed.
    pub hooks: Vec<String>,
    /// `accept`, `drop` or `stolen`.
    pub verdict: String,
    /// Why it was dropped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Conntrack state (NEW, ESTABLISHED, RELATED, INVALID, UNTRACKED).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ctstate: Option<String>,
    /// `original` or `reply`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ctdir: Option<String>,
    /// Connection id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conn: Option<u64>,
    /// Helper assigned to the connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helper: Option<String>,
    /// Expectations this packet created.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expected: Vec<String>,
    /// The packet's tuple after NAT translated it (`src=… dst=… sport=… dport=…`), as
    /// it left the last hook that changed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub translated: Option<String>,
    /// Other notes plugins attached.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub notes: BTreeMap<String, String>,
}

impl ReportLine {
    /// The line for a packet and what became of it.
    pub fn new(pkt: &Packet, outcome: &Outcome, registry: &HookRegistry) -> ReportLine {
        let (verdict, reason) = match outcome {
            Outcome::Forwarded | Outcome::Delivered => ("accept", None),
            Outcome::Stolen => ("stolen", None),
            Outcome::Queued => ("queue", None),
            Outcome::Dropped(DropReason::Id(id)) => (
                "drop",
                Some(
                    registry
                        .reason_name(*id)
                        .map(|s| s.to_string())
                        .unwrap_or_else(|| format!("reason-{id}")),
                ),
            ),
            Outcome::Dropped(DropReason::Parse(r)) => ("drop", Some(r.to_string())),
        };
        let ct = pkt.ctinfo();
        let mut line = ReportLine {
            index: pkt.index,
            ts: pkt.view.ts_ns,
            len: pkt.orig_len,
            hooks: pkt.path().map(|h| h.name().to_string()).collect(),
            verdict: verdict.to_string(),
            reason,
            ctstate: ct.state_name().map(str::to_string),
            ctdir: ct.direction_name().map(str::to_string),
            conn: (pkt.view.ct_id != 0).then_some(pkt.view.ct_id),
            helper: None,
            expected: Vec::new(),
            translated: None,
            notes: BTreeMap::new(),
        };
        for (k, v) in &pkt.notes {
            match k.as_str() {
                "helper" => line.helper = Some(v.clone()),
                "expected" => line.expected.push(v.clone()),
                "nat" => line.translated = Some(v.clone()),
                _ => {
                    line.notes.insert(k.clone(), v.clone());
                }
            }
        }
        line
    }

    /// The line for a frame that bypassed the hooks (not IP) or failed to parse.
    pub fn unhooked(index: u64, ts: u64, len: u32, reason: Option<&str>) -> ReportLine {
        ReportLine {
            index,
            ts,
            len,
            hooks: Vec::new(),
            verdict: if reason.is_some() { "drop" } else { "accept" }.to_string(),
            reason: reason.map(str::to_string),
            ctstate: None,
            ctdir: None,
            conn: None,
            helper: None,
            expected: Vec::new(),
            translated: None,
            notes: BTreeMap::new(),
        }
    }
}

/// Writes report lines in input order, holding back lines that finish early (a packet
/// after a queued one) until the lines before them are written.
pub struct ReportWriter {
    out: Box<dyn Write>,
    next: u64,
    pending: HashMap<u64, Vec<u8>>,
}

impl ReportWriter {
    /// A writer over `out`.
    pub fn new(out: Box<dyn Write>) -> ReportWriter {
        ReportWriter {
            out,
            next: 0,
            pending: HashMap::new(),
        }
    }

    /// Records the line of input packet `line.index`.
    pub fn record(&mut self, line: &ReportLine) -> std::io::Result<()> {
        let mut bytes = serde_json::to_vec(line).map_err(std::io::Error::other)?;
        bytes.push(b'\n');
        if line.index != self.next {
            self.pending.insert(line.index, bytes);
            return Ok(());
        }
        self.out.write_all(&bytes)?;
        self.next += 1;
        while let Some(b) = self.pending.remove(&self.next) {
            self.out.write_all(&b)?;
            self.next += 1;
        }
        Ok(())
    }

    /// Writes whatever is still held back (in order) and flushes.
    pub fn finish(&mut self) -> std::io::Result<()> {
        let mut rest: Vec<_> = self.pending.drain().collect();
        rest.sort_by_key(|(i, _)| *i);
        for (_, b) in rest {
            self.out.write_all(&b)?;
        }
        self.out.flush()
    }
}
