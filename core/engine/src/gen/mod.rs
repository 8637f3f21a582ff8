//! Deterministic synthetic traffic for benchmarks, the demo and tests.
//!
//! [`generate`] (or the streaming [`Generator`]) turns a [`GenConfig`] into Ethernet II
//! frames of complete TCP connections (handshake, data, teardown), UDP request/reply
//! exchanges and ICMP/ICMPv6 echo pairs between clients in `10.0.0.0/16` / `fd00::/64`
//! and servers in `10.1.0.0/16` / `fd01::/64`. All randomness comes from a seeded
//! splitmix64, so the same config yields byte-identical output on every run and
//! platform. Server ports avoid the conntrack helper ports (21, 69, 1723, 6667, ...).
//! Client address and port (ICMP echo id) are a bijection of the flow number, so
//! 5-tuples are distinct (for IPv4 up to about 3.2 billion flows). After the flows,
//! `helper_sessions` sets of scripted sessions for the helpers (FTP passive and active,
//! TFTP, IRC DCC, PPTP, SANE, Amanda, SIP: `sessions.rs`) follow, each announcing a data
//! connection.

mod flow;
mod rng;
mod sessions;
#[cfg(test)]
mod tests;

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use serde::{Deserialize, Serialize};

use flow::{FlowPlan, Layout};
use rng::Rng;

/// Salt of the stream that places flow starts (interleaved mode).
const SALT_START: u64 = 0x7374_6172;
/// Salt of the per-flow packet gap stream (interleaved mode).
const SALT_TIME: u64 = 0x7469_6d65;
/// Salt of the single gap stream (back-to-back mode).
const SALT_SEQ: u64 = 0x7365_7175;
/// Salt of the initial IPv4 identification.
const SALT_IPID: u64 = 0x6970_6964;
/// How many flows are roughly in flight at once when interleaving.
const CONCURRENCY: u64 = 4;

/// What to generate. Missing fields take their [`Default`] values when deserialized.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default)]
pub struct GenConfig {
    /// PRNG seed; the same config always yields the same frames.
    pub seed: u64,
    /// TCP connections: SYN, SYN-ACK, ACK, `data_packets` PSH/ACK segments alternating
    /// directions, then FIN/ACK, FIN/ACK, ACK (the client closes first).
    pub tcp_flows: u32,
    /// UDP flows of `data_packets` (at least one) request/reply exchanges.
    pub udp_flows: u32,
    /// ICMP (ICMPv6 for IPv6 flows) echo flows of `data_packets / 2` (at least one)
    /// request/reply pairs.
    pub icmp_flows: u32,
    /// Data packets per flow (see the per-protocol fields).
    pub data_packets: u32,
    /// Payload bytes of data segments, datagrams and echo messages (at most 65 495).
    pub payload_len: usize,
    /// Fraction of flows carried over IPv6.
    pub ipv6_share: f64,
    /// Timestamp of the first packet, in nanoseconds since the Unix epoch.
    pub start_ns: u64,
    /// Mean gap between consecutive packets, in nanoseconds.
    pub gap_ns: u64,
    /// `true`: flows overlap in time (each flow keeps its own order); `false`: flows
    /// run back to back, which [`Generator`] streams in constant memory.
    pub interleave: bool,
    /// Sets of the helpers' sessions played after the flows (at most 50): an FTP
    /// download in passive and in active mode, a TFTP read, an IRC DCC SEND, a PPTP
    /// call, a SANE scan, an Amanda backup's start and a SIP call each.
    pub helper_sessions: u32,
}

impl Default for GenConfig {
    fn default() -> GenConfig {
        GenConfig {
            seed: 1,
            tcp_flows: 40,
            udp_flows: 20,
            icmp_flows: 10,
            data_packets: 6,
            payload_len: 64,
            ipv6_share: 0.25,
            start_ns: 1_700_000_000_000_000_000,
            gap_ns: 50_000,
            interleave: true,
            helper_sessions: 0,
        }
    }
}

/// A generated frame (Ethernet II, no FCS) and its timestamp.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenFrame {
    /// Capture timestamp in nanoseconds since the Unix epoch.
    pub ts_ns: u64,
    /// The frame bytes.
    pub data: Vec<u8>,
    /// Number of the flow the frame belongs to (`0..` total flows; the helpers'
    /// sessions all carry the number after the last flow).
    pub flow: u32,
    /// `true` when the frame travels from the client to the server.
    pub to_server: bool,
}

/// Generates all frames, in timestamp order (timestamps strictly increasing).
pub fn generate(cfg: &GenConfig) -> Vec<GenFrame> {
    Generator::new(cfg.clone()).collect()
}

/// Number of frames [`generate`] would produce (saturating at `u64::MAX`).
pub fn frame_count(cfg: &GenConfig) -> u64 {
    let sessions = sessions::frames(cfg.helper_sessions).len() as u64;
    Layout::new(cfg).frame_count().saturating_add(sessions)
}

/// Streaming form of [`generate`]: yields the same frames in the same order. With
/// `interleave == false` it holds one flow at a time; interleaved, only the flows
/// currently in flight.
#[derive(Debug)]
pub struct Generator {
    layout: Layout,
    schedule: Schedule,
    emit: Emitter,
    remaining: u64,
    cfg: GenConfig,
    /// The helpers' sessions, played after the flows.
    sessions: std::collections::VecDeque<sessions::SessionFrame>,
}

/// Where the next packet comes from.
#[derive(Debug)]
enum Schedule {
    /// Flows back to back: the current flow, its next packet and that packet's time.
    Sequential {
        flow: u32,
        k: u32,
        plan: Option<FlowPlan>,
        ts: u64,
        gap: u64,
        rng: Rng,
    },
    /// Flows overlapping: a min-heap of the in-flight flows' next packets.
    Interleaved {
        heap: BinaryHeap<Reverse<Slot>>,
        next_flow: u32,
        next_start: u64,
        spacing: u64,
        gap: u64,
    },
}

/// The next packet of an in-flight flow (ordered by time, then flow number).
#[derive(Debug)]
struct Slot {
    ts: u64,
    flow: u32,
    k: u32,
    rng: Rng,
    plan: FlowPlan,
}

impl PartialEq for Slot {
    fn eq(&self, other: &Slot) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Slot {}

impl PartialOrd for Slot {
    fn partial_cmp(&self, other: &Slot) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Slot {
    fn cmp(&self, other: &Slot) -> Ordering {
        (self.ts, self.flow).cmp(&(other.ts, other.flow))
    }
}

/// State shared by all frames: IPv4 identification, last timestamp, payload buffer.
#[derive(Debug)]
struct Emitter {
    ip_id: u16,
    last_ts: Option<u64>,
    scratch: Vec<u8>,
}

impl Emitter {
    /// Encodes packet `k` of `plan` scheduled at `ts`, nudging the timestamp past the
    /// previous frame's so timestamps stay strictly increasing.
    fn frame(&mut self, plan: &FlowPlan, flow: u32, k: u32, ts: u64) -> GenFrame {
        let ts_ns = match self.last_ts {
            Some(last) if ts <= last => last.saturating_add(1),
            _ => ts,
        };
        self.last_ts = Some(ts_ns);
        let mut data = Vec::new();
        let to_server = plan.build(k, self.ip_id, &mut data, &mut self.scratch);
        if plan.is_v4() {
            self.ip_id = self.ip_id.wrapping_add(1);
        }
        GenFrame {
            ts_ns,
            data,
            flow,
            to_server,
        }
    }
}

impl Generator {
    /// A generator of the frames `cfg` describes.
    pub fn new(cfg: GenConfig) -> Generator {
        let layout = Layout::new(&cfg);
        let flows = layout.flows();
        let sessions: std::collections::VecDeque<_> = sessions::frames(cfg.helper_sessions).into();
        let remaining = layout.frame_count().saturating_add(sessions.len() as u64);
        let schedule = if cfg.interleave {
            let total = u128::from(remaining) * u128::from(cfg.gap_ns);
            let spacing = u64::try_from(total / u128::from(flows.max(1))).unwrap_or(u64::MAX);
            let concurrency = CONCURRENCY.min(u64::from(flows)).max(1);
            Schedule::Interleaved {
                heap: BinaryHeap::new(),
                next_flow: 0,
                next_start: flow_start(&cfg, spacing, 0),
                spacing,
                gap: cfg.gap_ns.saturating_mul(concurrency),
            }
        } else {
            Schedule::Sequential {
                flow: 0,
                k: 0,
                plan: None,
                ts: cfg.start_ns,
                gap: cfg.gap_ns,
                rng: Rng::stream(cfg.seed, SALT_SEQ, 0),
            }
        };
        Generator {
            emit: Emitter {
                ip_id: Rng::stream(cfg.seed, SALT_IPID, 0).next_u64() as u16,
                last_ts: None,
                scratch: Vec::new(),
            },
            layout,
            schedule,
            remaining,
            cfg,
            sessions,
        }
    }
}

/// Scheduled time of flow `flow`'s first packet in interleaved mode: flows start
/// `spacing` apart on average, each at a random point of its own slot.
fn flow_start(cfg: &GenConfig, spacing: u64, flow: u32) -> u64 {
    let jitter = Rng::stream(cfg.seed, SALT_START, u64::from(flow)).below(spacing);
    cfg.start_ns
        .saturating_add(spacing.saturating_mul(u64::from(flow)))
        .saturating_add(jitter)
}

impl Generator {
    /// The next frame of the flows; none once they are all out.
    fn next_flow_frame(&mut self) -> Option<GenFrame> {
        let frame = match &mut self.schedule {
            Schedule::Sequential {
                flow,
                k,
                plan,
                ts,
                gap,
                rng,
            } => loop {
                if *flow >= self.layout.flows() {
                    return None;
                }
                let p = plan.get_or_insert_with(|| self.layout.plan(*flow));
                if *k >= p.packets {
                    *flow += 1;
                    *k = 0;
                    *plan = None;
                    continue;
                }
                let frame = self.emit.frame(p, *flow, *k, *ts);
                *k += 1;
                *ts = ts.saturating_add(rng.gap(*gap));
                break frame;
            },
            Schedule::Interleaved {
                heap,
                next_flow,
                next_start,
                spacing,
                gap,
            } => {
                let flows = self.layout.flows();
                // Flow starts are non-decreasing, so a flow only needs to join the heap
                // once nothing in flight is scheduled before its start.
                while *next_flow < flows && heap.peek().is_none_or(|Reverse(s)| *next_start <= s.ts)
                {
                    heap.push(Reverse(Slot {
                        ts: *next_start,
                        flow: *next_flow,
                        k: 0,
                        rng: Rng::stream(self.cfg.seed, SALT_TIME, u64::from(*next_flow)),
                        plan: self.layout.plan(*next_flow),
                    }));
                    *next_flow += 1;
                    *next_start = flow_start(&self.cfg, *spacing, *next_flow);
                }
                let Reverse(mut slot) = heap.pop()?;
                let frame = self.emit.frame(&slot.plan, slot.flow, slot.k, slot.ts);
                if slot.k + 1 < slot.plan.packets {
                    slot.k += 1;
                    slot.ts = slot.ts.saturating_add(slot.rng.gap(*gap));
                    heap.push(Reverse(slot));
                }
                frame
            }
        };
        Some(frame)
    }

    /// The next frame of the helpers' sessions, a gap after the one before.
    fn next_session_frame(&mut self) -> Option<GenFrame> {
        let (to_server, data) = self.sessions.pop_front()?;
        let ts_ns = match self.emit.last_ts {
            Some(last) => last.saturating_add(self.cfg.gap_ns.max(1)),
            None => self.cfg.start_ns,
        };
        self.emit.last_ts = Some(ts_ns);
        Some(GenFrame {
            ts_ns,
            data,
            flow: self.layout.flows(),
            to_server,
        })
    }
}

impl Iterator for Generator {
    type Item = GenFrame;

    fn next(&mut self) -> Option<GenFrame> {
        let frame = match self.next_flow_frame() {
            Some(f) => f,
            None => self.next_session_frame()?,
        };
        self.remaining = self.remaining.saturating_sub(1);
        Some(frame)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match usize::try_from(self.remaining) {
            Ok(n) => (n, Some(n)),
            Err(_) => (usize::MAX, None),
        }
    }
}
