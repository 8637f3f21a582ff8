//! The fast datapaths: receive rings in memory shared with the kernel, and batched
//! sending with `sendmmsg` on a socket that bypasses the qdisc layer. A frame whose VLAN
//! tag the driver took off gets it back; a frame whose checksum was left to hardware
//! gets a real one (see [`super::csum`]).
//!
//! `tpacket-v2`: one TPACKET_V2 ring per worker, fixed-size frame slots, each handed
//! over (and the worker woken) as its frame arrives.
//!
//! `tpacket-v3`: TPACKET_V3 packs frames into blocks and hands a block over only when it
//! is full or when its retire timer (`tp_retire_blk_tov`, whole milliseconds) fires,
//! and only then wakes the worker: under load that
//! is the batching wanted, on a quiet link every lone frame (each segment of a TCP
//! handshake) waits for the timer. User space cannot take frames out of the block the
//! kernel is still filling: the kernel counts a frame in the block's `num_pkts` and
//! links it by `tp_next_offset` before it copies it, and sets the frame's status and
//! lengths after the copy with no ordering user space could rely on (libpcap likewise
//! uses TPACKET_V2 in immediate mode). So each worker has two
//! rings, a TPACKET_V2 one and a TPACKET_V3 one, and the kernel fills only one of them
//! at a time (see [`super::steer`]: all of an interface's rings form one fanout group
//! whose program picks the worker by flow and then that worker's current ring):
//!
//! - The V2 ring while the worker keeps up: every frame is handed over at once.
//! - The V3 ring while it does not: when [`V2_LAG`] reads in a row each find a full
//!   read's worth of frames ([`READ_MAX`]) already waiting, the worker moves to the V3
//!   ring, where the timer's delay is hidden behind the queue. The rate at which it
//!   read those frames, busy all along, is what it can do on the V2 ring.
//! - The V3 ring on probation when the worker keeps up at [`PROBE_RATE`] frames/s or
//!   more: V3 wakes it once per block instead of once per frame or two. After a
//!   [`WINDOW`] to settle, if the next window's rate is below [`PROBE_KEEP`] of the V2
//!   rate, the frames were waiting on the timer (traffic that answers what crosses the
//!   bridge, such as new connections) and the worker goes back at once, probing again
//!   after [`PROBE_FIRST`], twice as long after each failed probe up to [`PROBE_MAX`];
//!   else it stays (a TCP stream's acknowledgements, which come as fast either way).
//! - Back to the V2 ring when, over a [`WINDOW`], the frames came at less than half that
//!   rate (the V2 ring would keep up with them, and the V3 timer would only delay
//!   them), or at once when the worker waited its whole poll time for nothing.
//!
//! A move waits at least [`DWELL`] after the previous one, and a worker that comes back
//! to its V3 ring within [`RETURN`] of leaving it (load in waves: a TCP stream's rate
//! dips for a few milliseconds at a time) stays there twice as long as the last time
//! before the rate may take it back, up to [`HOLD_MAX`]. A move keeps the order of the
//! frames: the kernel swaps the program atomically, and the `setsockopt` returns only
//! after an RCU grace period, once every frame sent to the ring being left is written in
//! it. The worker then reads that ring to its end before the other: a V2 ring ends at
//! the first slot the kernel owns; a V3 ring ends when the block the kernel owns holds
//! no frame (`num_pkts`, read only once no frame can be on its way into the ring, with
//! the blocks the worker gives back cleared of it), else the worker waits for the timer
//! to hand that block over.

use super::datapath::{self, opt, FrameRx, FrameTx, KernelStats, Sent, TxBatch};
use super::iface::Interface;
use super::steer::Steering;
use super::tpacket::{
    self, BLOCK_NUM_PKTS, BLOCK_STATUS, TP_STATUS_KERNEL, TP_STATUS_USER, V2_HDR_LEN, V2_STATUS,
};
use std::io;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const TPACKET_V2: libc::c_int = 1;
const TPACKET_V3: libc::c_int = 2;

/// The most frames one read takes from a V2 ring (a few send batches' worth), so the
/// worker sends what it gathered in between; also the backlog that counts as lagging.
pub const READ_MAX: usize = 4 * TxBatch::MAX;
/// Reads in a row that find [`READ_MAX`] frames waiting in the V2 ring before the worker
/// moves to its V3 ring.
pub const V2_LAG: u32 = 8;
/// How long the worker counts frames on its V3 ring before it weighs the rate.
pub const WINDOW: Duration = Duration::from_millis(20);
/// The least time between two moves of a worker (each waits for an RCU grace period,
/// some milliseconds, with the worker blocked).
pub const DWELL: Duration = Duration::from_millis(50);
/// A worker that goes back to its V3 ring within this time of leaving it stays there
/// twice as long as the previous time before the rate may take it back to V2 ...
pub const RETURN: Duration = Duration::from_secs(1);
/// ... up to this long.
pub const HOLD_MAX: Duration = Duration::from_secs(2);
/// The V2 rate (frames/s, over a [`WINDOW`]) from which a worker that keeps up probes
/// its V3 ring.
pub const PROBE_RATE: f64 = 20_000.0;
/// The share of the V2 rate the V3 ring must keep for the worker to stay on it.
pub const PROBE_KEEP: f64 = 0.9;
/// The wait before probing again after a failed probe, doubled each time up to
/// [`PROBE_MAX`].
pub const PROBE_FIRST: Duration = Duration::from_secs(1);
/// See [`PROBE_FIRST`].
pub const PROBE_MAX: Duration = Duration::from_secs(8);

/// Which ring layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    /// Blocks of variable-size frames (with a V2 ring beside it for quiet times).
    V3,
    /// Fixed-size frame slots.
    V2,
}

/// `struct tpacket_req`, TPACKET_V2's ring request.
#[repr(C)]
struct TpacketReq {
    block_size: u32,
    block_nr: u32,
    frame_size: u32,
    frame_nr: u32,
}

#[repr(C)]
struct TpacketReq3 {
    block_size: u32,
    block_nr: u32,
    frame_size: u32,
    frame_nr: u32,
    retire_blk_tov: u32,
    sizeof_priv: u32,
    feature_req_word: u32,
}

/// The ring's geometry.
#[derive(Clone, Copy, Debug)]
pub struct RingShape {
    /// The layout.
    pub version: Version,
    /// Bytes per block (a power of two, at least a page).
    pub block_size: usize,
    /// Blocks in the ring.
    pub blocks: usize,
    /// How long the kernel waits before handing over a V3 block that is not full (ms):
    /// the most a frame waits while its worker reads the V3 ring.
    pub block_timeout_ms: u32,
}

impl RingShape {
    /// The V2 ring beside a V3 one: the same blocks, at most 8 of them (4 096 frames of
    /// up to 2 KiB with 1 MiB blocks, room for the burst that moves a worker to V3).
    fn beside(self) -> RingShape {
        RingShape {
            version: Version::V2,
            blocks: self.blocks.min(8),
            ..self
        }
    }
}

/// One ring on its own socket.
struct Ring {
    fd: libc::c_int,
    map: *mut u8,
    shape: RingShape,
    /// TPACKET_V2's frame slot size (0 for V3).
    frame_size: usize,
    /// The next block (V3) or frame slot (V2) to look at.
    cur: usize,
    /// V2 frames cut to fit their slot (not passed on), since the last statistics read.
    cut: u64,
    scratch: Vec<u8>,
}

/// One worker's receiving side.
pub struct RingRx {
    /// The V2 ring (`tpacket-v2`) or the V3 ring (`tpacket-v3`).
    main: Ring,
    /// `tpacket-v3`: the V2 ring beside it and which one the kernel fills.
    pair: Option<Pair>,
    poll_ms: libc::c_int,
}

/// A `tpacket-v3` worker's second ring and its state.
struct Pair {
    v2: Ring,
    steering: Arc<Steering>,
    worker: usize,
    /// Whether the kernel fills the V3 ring now (else the V2 ring).
    fast: bool,
    /// Whether the ring the worker left may still hold frames, to be read first.
    draining: bool,
    /// V2: reads in a row that found [`READ_MAX`] frames waiting, since `lag_since`.
    lag: u32,
    lag_since: Instant,
    /// The rate the worker read its V2 ring at while it lagged (frames/s).
    v2_rate: f64,
    /// V3: frames read since `window` began.
    seen: usize,
    window: Instant,
    /// V3: how long the worker stays on it at least, whatever the rate.
    hold: Duration,
    moved: Instant,
    /// Where a probe of the V3 ring stands.
    probe: Probe,
    /// When the next probe may start, and the wait after the next failed one.
    next_probe: Instant,
    probe_every: Duration,
}

/// A probe: a worker that keeps up on its V2 ring at [`PROBE_RATE`] or more tries its V3
/// ring, which costs fewer wake-ups, and stays there only if the frames keep coming as
/// fast (traffic that does not wait on what crosses the bridge, such as a TCP stream's
/// acknowledgements).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Probe {
    Off,
    /// The first window on the V3 ring, with the frames that queued during the move.
    Settling,
    /// The window whose rate decides.
    Weighing,
}

// SAFETY: the rings' memory belongs to this value alone (one worker reads it); the
// kernel's side of the protocol is the status words, accessed atomically.
unsafe impl Send for RingRx {}

/// An interface's sending socket.
pub struct RingTx {
    fd: libc::c_int,
}

fn bind(fd: libc::c_int, ifindex: u32, proto: u16) -> io::Result<()> {
    // SAFETY: a zeroed sockaddr_ll is valid; the fields set are plain integers.
    let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    sll.sll_family = libc::AF_PACKET as u16;
    sll.sll_protocol = proto.to_be();
    sll.sll_ifindex = ifindex as i32;
    // SAFETY: `sll` is a valid sockaddr_ll of the size given.
    let r = unsafe {
        libc::bind(
            fd,
            &sll as *const libc::sockaddr_ll as *const libc::sockaddr,
            std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn promiscuous(fd: libc::c_int, ifindex: u32) -> io::Result<()> {
    // SAFETY: a zeroed packet_mreq is valid.
    let mut mr: libc::packet_mreq = unsafe { std::mem::zeroed() };
    mr.mr_ifindex = ifindex as i32;
    mr.mr_type = opt::PACKET_MR_PROMISC;
    // SAFETY: `mr` is a valid packet_mreq of the size given.
    let r = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_PACKET,
            opt::PACKET_ADD_MEMBERSHIP,
            &mr as *const libc::packet_mreq as *const libc::c_void,
            std::mem::size_of::<libc::packet_mreq>() as libc::socklen_t,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Closes `fd` when an opening step fails.
struct Guard(libc::c_int);

impl Drop for Guard {
    fn drop(&mut self) {
        if self.0 >= 0 {
            // SAFETY: closing a descriptor this guard still owns.
            unsafe { libc::close(self.0) };
        }
    }
}

impl Guard {
    fn keep(mut self) -> libc::c_int {
        std::mem::replace(&mut self.0, -1)
    }
}

/// How a ring's socket joins its interface's fanout group, if it does.
#[derive(Clone, Copy)]
enum Join {
    /// The group's flow hash picks the socket.
    Hash(u16),
    /// The group's program picks it (see [`super::steer`]).
    Steered(u16),
}

fn open_ring(iface: &Interface, shape: RingShape, join: Option<Join>) -> io::Result<Ring> {
    let fd = datapath::packet_socket(libc::ETH_P_ALL as u16)?;
    let guard = Guard(fd);
    datapath::prepare_rx(fd)?;
    let page = 4096;
    if shape.block_size < page || !shape.block_size.is_power_of_two() || shape.blocks == 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "ring blocks must be a power of two of at least 4 KiB, and at least one",
        ));
    }
    // V2: a slot holds the header, padding and the largest frame the interface takes.
    let frame_size = match shape.version {
        Version::V3 => 0,
        Version::V2 => (iface.mtu as usize + 18 + V2_HDR_LEN + 64)
            .next_power_of_two()
            .clamp(2048, shape.block_size),
    };
    let r = match shape.version {
        Version::V3 => {
            datapath::set_int(fd, libc::SOL_PACKET, opt::PACKET_VERSION, TPACKET_V3)?;
            let nominal = 2048u32;
            let req = TpacketReq3 {
                block_size: shape.block_size as u32,
                block_nr: shape.blocks as u32,
                frame_size: nominal,
                frame_nr: (shape.block_size as u32 / nominal) * shape.blocks as u32,
                retire_blk_tov: shape.block_timeout_ms.max(1),
                sizeof_priv: 0,
                feature_req_word: 0,
            };
            // SAFETY: `req` is a valid tpacket_req3 of the size given.
            unsafe {
                libc::setsockopt(
                    fd,
                    libc::SOL_PACKET,
                    opt::PACKET_RX_RING,
                    &req as *const TpacketReq3 as *const libc::c_void,
                    std::mem::size_of::<TpacketReq3>() as libc::socklen_t,
                )
            }
        }
        Version::V2 => {
            datapath::set_int(fd, libc::SOL_PACKET, opt::PACKET_VERSION, TPACKET_V2)?;
            let req = TpacketReq {
                block_size: shape.block_size as u32,
                block_nr: shape.blocks as u32,
                frame_size: frame_size as u32,
                frame_nr: ((shape.block_size / frame_size) * shape.blocks) as u32,
            };
            // SAFETY: `req` is a valid tpacket_req of the size given.
            unsafe {
                libc::setsockopt(
                    fd,
                    libc::SOL_PACKET,
                    opt::PACKET_RX_RING,
                    &req as *const TpacketReq as *const libc::c_void,
                    std::mem::size_of::<TpacketReq>() as libc::socklen_t,
                )
            }
        }
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    let len = shape.block_size * shape.blocks;
    // SAFETY: mapping the ring the kernel just set up on this socket.
    let map = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED | libc::MAP_POPULATE,
            fd,
            0,
        )
    };
    if map == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    let ring = Ring {
        fd: guard.keep(),
        map: map as *mut u8,
        shape,
        frame_size,
        cur: 0,
        cut: 0,
        scratch: Vec::with_capacity(2048),
    };
    // From here `ring`'s Drop unmaps and closes.
    bind(ring.fd, iface.index, libc::ETH_P_ALL as u16)?;
    promiscuous(ring.fd, iface.index)?;
    match join {
        Some(Join::Hash(group)) => datapath::join_fanout(ring.fd, group)?,
        Some(Join::Steered(group)) => datapath::join_fanout_steered(ring.fd, group)?,
        None => {}
    }
    Ok(ring)
}

fn open_tx(iface: &Interface) -> io::Result<RingTx> {
    // Protocol 0: this socket receives nothing.
    let fd = datapath::packet_socket(0)?;
    let guard = Guard(fd);
    bind(fd, iface.index, 0)?;
    // Straight to the driver: the bridge already decided, and it saves a queue.
    let _ = datapath::set_int(fd, libc::SOL_PACKET, opt::PACKET_QDISC_BYPASS, 1);
    if datapath::set_int(fd, libc::SOL_SOCKET, libc::SO_SNDBUFFORCE, 8 << 20).is_err() {
        let _ = datapath::set_int(fd, libc::SOL_SOCKET, libc::SO_SNDBUF, 8 << 20);
    }
    Ok(RingTx { fd: guard.keep() })
}

/// Opens `workers` receiving sides on `iface` and the interface's sending socket: with
/// V2, one ring each (a fanout group `group` when more than one); with V3, a V3 and a
/// V2 ring each, all in the steered fanout group `group`. Needs CAP_NET_RAW.
pub fn open(
    iface: &Interface,
    workers: usize,
    shape: RingShape,
    poll: Duration,
    group: u16,
) -> io::Result<(RingTx, Vec<RingRx>)> {
    let with = |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", iface.name));
    let poll_ms = poll.as_millis().clamp(1, 1000) as libc::c_int;
    let mut rxs = Vec::with_capacity(workers);
    match shape.version {
        Version::V2 => {
            let join = (workers > 1).then_some(Join::Hash(group));
            for _ in 0..workers {
                rxs.push(RingRx {
                    main: open_ring(iface, shape, join).map_err(with)?,
                    pair: None,
                    poll_ms,
                });
            }
        }
        Version::V3 => {
            let steering = Arc::new(Steering::new(workers));
            let join = Some(Join::Steered(group));
            for worker in 0..workers {
                // Group indices follow the order of joining: V2 at 2 w, V3 at 2 w + 1.
                let v2 = open_ring(iface, shape.beside(), join).map_err(with)?;
                let main = open_ring(iface, shape, join).map_err(with)?;
                rxs.push(RingRx {
                    main,
                    pair: Some(Pair {
                        v2,
                        steering: steering.clone(),
                        worker,
                        fast: false,
                        draining: false,
                        lag: 0,
                        lag_since: Instant::now(),
                        v2_rate: 0.0,
                        seen: 0,
                        window: Instant::now(),
                        hold: DWELL,
                        moved: Instant::now(),
                        probe: Probe::Off,
                        next_probe: Instant::now(),
                        probe_every: PROBE_FIRST,
                    }),
                    poll_ms,
                });
            }
            steering.install(rxs[0].main.fd).map_err(with)?;
        }
    }
    Ok((open_tx(iface).map_err(with)?, rxs))
}

impl Ring {
    fn block(&self, i: usize) -> *mut u8 {
        // SAFETY: i < blocks, so the offset is inside the mapping.
        unsafe { self.map.add(i * self.shape.block_size) }
    }

    /// The word at `off` in V3 block `i`, which the kernel may write: read and written
    /// atomically only.
    fn block_word(&self, i: usize, off: usize) -> &AtomicU32 {
        // SAFETY: the word is 4-byte aligned inside block i, which lives as long as the
        // mapping (as long as `self`).
        unsafe { &*(self.block(i).add(off) as *const AtomicU32) }
    }

    /// Hands every frame of block `i` (which the kernel gave us) to `f`. Offsets the
    /// kernel wrote are checked against the block's bounds all the same.
    fn walk(&mut self, i: usize, f: &mut dyn FnMut(&[u8])) -> usize {
        // SAFETY: while the block's status says USER, the kernel does not touch it, and
        // only this worker reads or writes it.
        let block = unsafe { std::slice::from_raw_parts_mut(self.block(i), self.shape.block_size) };
        tpacket::walk_block(block, &mut self.scratch, f)
    }

    /// TPACKET_V3: a few ready blocks.
    fn take_v3(&mut self, f: &mut dyn FnMut(&[u8])) -> usize {
        let mut n = 0;
        for _ in 0..4.min(self.shape.blocks) {
            let i = self.cur;
            let status = self.block_word(i, BLOCK_STATUS).load(Ordering::Acquire);
            if status & TP_STATUS_USER == 0 {
                break;
            }
            n += self.walk(i, f);
            // Given back with no frame counted, so that until the kernel opens it again
            // the block reads as empty (see `v3_drained`).
            self.block_word(i, BLOCK_NUM_PKTS)
                .store(0, Ordering::Relaxed);
            self.block_word(i, BLOCK_STATUS)
                .store(TP_STATUS_KERNEL, Ordering::Release);
            self.cur = (i + 1) % self.shape.blocks;
        }
        n
    }

    /// TPACKET_V3, once no frame can be on its way into the ring: whether every frame
    /// in it has been read (the next block is the kernel's, and holds none).
    fn v3_drained(&self) -> bool {
        let i = self.cur;
        self.block_word(i, BLOCK_STATUS).load(Ordering::Acquire) & TP_STATUS_USER == 0
            && self.block_word(i, BLOCK_NUM_PKTS).load(Ordering::Acquire) == 0
    }

    /// TPACKET_V2: the frame slot `i` (slots fill each block in turn).
    fn slot(&self, i: usize) -> *mut u8 {
        let per_block = self.shape.block_size / self.frame_size;
        let off = (i / per_block) * self.shape.block_size + (i % per_block) * self.frame_size;
        // SAFETY: i < slots, so the offset is inside the mapping.
        unsafe { self.map.add(off) }
    }

    /// The status word of the TPACKET_V2 slot at `slot`, the protocol's one shared
    /// word (the kernel writes it atomically). Each use makes a fresh reference, which
    /// must not outlive the statement, so that no `&mut` slice of the slot overlaps it.
    fn v2_status<'a>(slot: *mut u8) -> &'a AtomicU32 {
        // SAFETY: the status word is the slot's first, 4-byte aligned; the mapping
        // lives as long as the ring.
        unsafe { &*(slot.add(V2_STATUS) as *const AtomicU32) }
    }

    fn slots(&self) -> usize {
        (self.shape.block_size / self.frame_size) * self.shape.blocks
    }

    /// TPACKET_V2: whether the next slot holds a frame.
    fn v2_ready(&self) -> bool {
        Self::v2_status(self.slot(self.cur)).load(Ordering::Acquire) & TP_STATUS_USER != 0
    }

    /// TPACKET_V2: everything waiting, up to [`READ_MAX`]; the kernel's own frame
    /// bounds are checked against the slot.
    fn take_v2(&mut self, f: &mut dyn FnMut(&[u8])) -> usize {
        let mut n = 0;
        while n < READ_MAX {
            let slot = self.slot(self.cur);
            let status = Self::v2_status(slot).load(Ordering::Acquire);
            if status & TP_STATUS_USER == 0 {
                break;
            }
            // SAFETY: while the status says USER the kernel leaves the slot alone, and no
            // other reference into the slot lives while this slice does (the status
            // word's reference above was a temporary; the one below is made after).
            let data = unsafe { std::slice::from_raw_parts_mut(slot, self.frame_size) };
            // A frame cut to fit its slot is not passed on (the bridge counts frames
            // above the MTU; this one is larger than any slot): counted with the
            // kernel's drops, as it never reaches the bridge.
            if tpacket::take_v2_slot(data, status, &mut self.scratch, f) {
                n += 1;
            } else {
                self.cut += 1;
            }
            Self::v2_status(slot).store(TP_STATUS_KERNEL, Ordering::Release);
            self.cur = (self.cur + 1) % self.slots();
        }
        n
    }

    fn kernel_stats(&mut self) -> KernelStats {
        let mut k = datapath::read_kernel_stats(self.fd);
        k.drops += std::mem::take(&mut self.cut);
        k
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        // SAFETY: unmapping our own mapping and closing our own socket, once.
        unsafe {
            libc::munmap(
                self.map as *mut libc::c_void,
                self.shape.block_size * self.shape.blocks,
            );
            libc::close(self.fd);
        }
    }
}

impl RingRx {
    /// What is ready now, without waiting (none while the V3 ring being drained holds
    /// a block the kernel has not handed over yet).
    fn take(&mut self, f: &mut dyn FnMut(&[u8])) -> io::Result<usize> {
        let Some(p) = &mut self.pair else {
            return Ok(match self.main.shape.version {
                Version::V3 => self.main.take_v3(f),
                Version::V2 => self.main.take_v2(f),
            });
        };
        let v3 = &mut self.main;
        let mut n = 0;
        if p.draining {
            // The ring left behind first, to its end, for the frames' order.
            if p.fast {
                n += p.v2.take_v2(f);
                if p.v2.v2_ready() {
                    return Ok(n);
                }
            } else {
                n += v3.take_v3(f);
                if !v3.v3_drained() {
                    return Ok(n);
                }
            }
            p.draining = false;
        }
        if p.fast {
            let k = v3.take_v3(f);
            n += k;
            p.seen += k;
            if let Some(rate) = p.window_rate() {
                if p.probe == Probe::Settling {
                    p.probe = Probe::Weighing;
                } else if p.probe == Probe::Weighing {
                    p.probe = Probe::Off;
                    if rate < p.v2_rate * PROBE_KEEP {
                        // The frames waited for the timer and came slower for it: traffic
                        // that answers what crosses the bridge. Back, and probe less often.
                        p.probe_every = (p.probe_every * 2).min(PROBE_MAX);
                        p.next_probe = Instant::now() + p.probe_every;
                        p.switch(false, Duration::ZERO)?;
                    } else {
                        p.probe_every = PROBE_FIRST;
                    }
                } else if rate < p.v2_rate / 2.0 {
                    let hold = p.hold;
                    p.switch(false, hold)?;
                }
            }
        } else {
            let k = p.v2.take_v2(f);
            n += k;
            p.seen += k;
            if let Some(rate) = p.window_rate() {
                if rate >= PROBE_RATE && Instant::now() >= p.next_probe {
                    p.v2_rate = rate;
                    p.switch(true, DWELL)?;
                    if p.fast {
                        p.probe = Probe::Settling;
                    }
                    return Ok(n);
                }
            }
            if k < READ_MAX {
                p.lag = 0;
            } else {
                if p.lag == 0 {
                    p.lag_since = Instant::now();
                }
                p.lag += 1;
                // The first read's frames were waiting before `lag_since`.
                if p.lag > V2_LAG {
                    let span = p.lag_since.elapsed().as_secs_f64();
                    p.v2_rate = (V2_LAG as usize * READ_MAX) as f64 / span.max(1e-6);
                    p.switch(true, DWELL)?;
                }
            }
        }
        Ok(n)
    }

    /// The socket whose ring the worker reads next: the one it is draining, else the
    /// one the kernel fills.
    fn next_fd(&self) -> libc::c_int {
        match &self.pair {
            Some(p) if p.fast == p.draining => p.v2.fd,
            _ => self.main.fd,
        }
    }
}

impl Pair {
    /// The rate of frames over the window just ended, if one has (and a new one begun).
    fn window_rate(&mut self) -> Option<f64> {
        let span = self.window.elapsed();
        if span < WINDOW {
            return None;
        }
        let rate = self.seen as f64 / span.as_secs_f64();
        self.seen = 0;
        self.window = Instant::now();
        Some(rate)
    }

    /// Has the kernel fill the V3 ring (`fast`) or the V2 ring from now on, unless the
    /// last move was less than `after` ago. When the kernel refuses the program, the
    /// worker stays where it is and tries again no sooner than [`DWELL`] later.
    fn switch(&mut self, fast: bool, after: Duration) -> io::Result<()> {
        self.lag = 0;
        self.seen = 0;
        let since = self.moved.elapsed();
        if since < after {
            return Ok(());
        }
        if let Err(e) = self.steering.set(self.v2.fd, self.worker, fast) {
            self.moved = Instant::now();
            return Err(io::Error::new(
                e.kind(),
                format!("moving a worker between its rings: {e}"),
            ));
        }
        if fast {
            // Back on the V3 ring soon after leaving it: the load comes in waves, and V3
            // had better stay longer this time.
            self.hold = if since < RETURN {
                (self.hold * 2).min(HOLD_MAX)
            } else {
                DWELL
            };
        }
        if !fast {
            self.probe = Probe::Off;
        }
        self.fast = fast;
        self.draining = true;
        self.moved = Instant::now();
        self.window = self.moved;
        Ok(())
    }
}

impl FrameRx for RingRx {
    fn recv_batch(&mut self, f: &mut dyn FnMut(&[u8])) -> io::Result<usize> {
        let mut n = 0;
        for attempt in 0..2 {
            // A few blocks (or a read's worth of frames) per call, so the worker sends
            // what it gathered in between.
            n += self.take(f)?;
            if n > 0 || attempt == 1 {
                break;
            }
            // Only the ring read next can have frames for this worker.
            let mut pfd = libc::pollfd {
                fd: self.next_fd(),
                events: libc::POLLIN | libc::POLLERR,
                revents: 0,
            };
            // SAFETY: one valid pollfd.
            let r = unsafe { libc::poll(&mut pfd, 1, self.poll_ms) };
            if r < 0 {
                let e = io::Error::last_os_error();
                if e.kind() != io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
            // A whole poll time without a frame on the V3 ring: back to V2 for the next.
            if let Some(p) = &mut self.pair {
                if r == 0 && p.fast && !p.draining {
                    p.switch(false, DWELL)?;
                }
            }
        }
        Ok(n)
    }

    fn kernel_stats(&mut self) -> KernelStats {
        let mut k = self.main.kernel_stats();
        if let Some(p) = &mut self.pair {
            k.add(p.v2.kernel_stats());
        }
        k
    }
}

impl FrameTx for RingTx {
    fn send_batch(&self, batch: &TxBatch) -> Sent {
        let mut s = Sent::default();
        let frames: Vec<&[u8]> = batch.frames().collect();
        for chunk in frames.chunks(TxBatch::MAX) {
            // SAFETY: zeroed iovec and mmsghdr are valid; each points into `chunk`'s
            // frames, which outlive the call.
            let mut iov: Vec<libc::iovec> = chunk
                .iter()
                .map(|f| libc::iovec {
                    iov_base: f.as_ptr() as *mut libc::c_void,
                    iov_len: f.len(),
                })
                .collect();
            let mut msgs: Vec<libc::mmsghdr> = iov
                .iter_mut()
                .map(|v| {
                    // SAFETY: an all-zero mmsghdr is a valid empty message.
                    let mut m: libc::mmsghdr = unsafe { std::mem::zeroed() };
                    m.msg_hdr.msg_iov = v as *mut libc::iovec;
                    m.msg_hdr.msg_iovlen = 1;
                    m
                })
                .collect();
            let mut i = 0;
            while i < msgs.len() {
                // SAFETY: msgs[i..] are valid messages over live buffers.
                let r = unsafe {
                    libc::sendmmsg(self.fd, msgs[i..].as_mut_ptr(), (msgs.len() - i) as u32, 0)
                };
                if r <= 0 {
                    let e = if r == 0 {
                        io::Error::other("sendmmsg sent nothing")
                    } else {
                        io::Error::last_os_error()
                    };
                    if e.kind() == io::ErrorKind::Interrupted {
                        continue;
                    }
                    // The frame at i was refused: count it, go on with the next.
                    s.errors += 1;
                    s.first_error.get_or_insert(e);
                    i += 1;
                    continue;
                }
                for f in &chunk[i..i + r as usize] {
                    s.frames += 1;
                    s.bytes += f.len() as u64;
                }
                i += r as usize;
            }
        }
        s
    }
}

impl Drop for RingTx {
    fn drop(&mut self) {
        // SAFETY: closing our own socket, once.
        unsafe { libc::close(self.fd) };
    }
}
