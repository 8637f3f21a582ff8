//! The fast datapaths: a receive ring per worker in memory shared with the kernel —
//! TPACKET_V3 (the kernel fills blocks of frames; one `poll` hands over a whole block,
//! at the latest when the block's timer fires) or TPACKET_V2 (fixed-size frame slots,
//! each handed over and the worker woken as it arrives) — and batched sending with
//! `sendmmsg` on a socket that bypasses the qdisc layer. A frame whose VLAN tag the
//! driver took off gets it back; a frame whose checksum was left to hardware gets a real
//! one (see [`super::csum`]).

use super::datapath::{self, opt, FrameRx, FrameTx, KernelStats, Sent, TxBatch};
use super::iface::Interface;
use super::tpacket::{self, BLOCK_STATUS, TP_STATUS_KERNEL, TP_STATUS_USER, V2_HDR_LEN, V2_STATUS};
use std::io;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

const TPACKET_V2: libc::c_int = 1;
const TPACKET_V3: libc::c_int = 2;
/// Which ring layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    /// Blocks of variable-size frames.
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
    /// How long the kernel waits before handing over a block that is not full (ms):
    /// the latency a quiet link sees.
    pub block_timeout_ms: u32,
}

/// One worker's receive ring.
pub struct RingRx {
    fd: libc::c_int,
    map: *mut u8,
    shape: RingShape,
    /// TPACKET_V2's frame slot size (0 for V3).
    frame_size: usize,
    /// The next block (V3) or frame slot (V2) to look at.
    cur: usize,
    /// V2 frames cut to fit their slot (not passed on), since the last statistics read.
    cut: u64,
    poll_ms: libc::c_int,
    scratch: Vec<u8>,
}

// SAFETY: the ring's memory belongs to this value alone (one worker reads it); the
// kernel's side of the protocol is the block status word, accessed atomically.
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

fn open_rx(
    iface: &Interface,
    shape: RingShape,
    poll: Duration,
    fanout: Option<u16>,
) -> io::Result<RingRx> {
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
    let ring = RingRx {
        fd: guard.keep(),
        map: map as *mut u8,
        shape,
        frame_size,
        cur: 0,
        cut: 0,
        poll_ms: poll.as_millis().clamp(1, 1000) as libc::c_int,
        scratch: Vec::with_capacity(2048),
    };
    // From here `ring`'s Drop unmaps and closes.
    bind(ring.fd, iface.index, libc::ETH_P_ALL as u16)?;
    promiscuous(ring.fd, iface.index)?;
    if let Some(group) = fanout {
        datapath::join_fanout(ring.fd, group)?;
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

/// Opens `workers` receive rings on `iface` (a fanout group `group` when more than one)
/// and the interface's sending socket. Needs CAP_NET_RAW.
pub fn open(
    iface: &Interface,
    workers: usize,
    shape: RingShape,
    poll: Duration,
    group: u16,
) -> io::Result<(RingTx, Vec<RingRx>)> {
    let with = |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", iface.name));
    let fanout = (workers > 1).then_some(group);
    let mut rxs = Vec::with_capacity(workers);
    for _ in 0..workers {
        rxs.push(open_rx(iface, shape, poll, fanout).map_err(with)?);
    }
    Ok((open_tx(iface).map_err(with)?, rxs))
}

impl RingRx {
    fn block(&self, i: usize) -> *mut u8 {
        // SAFETY: i < blocks, so the offset is inside the mapping.
        unsafe { self.map.add(i * self.shape.block_size) }
    }

    fn status(&self, i: usize) -> &AtomicU32 {
        // SAFETY: the status word is 4-byte aligned inside block i, which lives as long
        // as the mapping (as long as `self`).
        unsafe { &*(self.block(i).add(BLOCK_STATUS) as *const AtomicU32) }
    }

    /// Hands every frame of block `i` (which the kernel gave us) to `f`. Offsets the
    /// kernel wrote are checked against the block's bounds all the same.
    fn walk(&mut self, i: usize, f: &mut dyn FnMut(&[u8])) -> usize {
        // SAFETY: while the block's status says USER, the kernel does not touch it, and
        // only this worker reads or writes it.
        let block = unsafe { std::slice::from_raw_parts_mut(self.block(i), self.shape.block_size) };
        tpacket::walk_block(block, &mut self.scratch, f)
    }
}

impl RingRx {
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

    /// TPACKET_V2: everything waiting, up to a batch; the kernel's own frame bounds are
    /// checked against the slot.
    fn take_v2(&mut self, f: &mut dyn FnMut(&[u8])) -> usize {
        let mut n = 0;
        while n < 4 * TxBatch::MAX {
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

    /// TPACKET_V3: a few ready blocks.
    fn take_v3(&mut self, f: &mut dyn FnMut(&[u8])) -> usize {
        let mut n = 0;
        for _ in 0..4.min(self.shape.blocks) {
            let i = self.cur;
            if self.status(i).load(Ordering::Acquire) & TP_STATUS_USER == 0 {
                break;
            }
            n += self.walk(i, f);
            self.status(i).store(TP_STATUS_KERNEL, Ordering::Release);
            self.cur = (i + 1) % self.shape.blocks;
        }
        n
    }
}

impl FrameRx for RingRx {
    fn recv_batch(&mut self, f: &mut dyn FnMut(&[u8])) -> io::Result<usize> {
        let mut n = 0;
        for attempt in 0..2 {
            // A few blocks (or a batch of frames) per call, so the worker sends what it
            // gathered in between.
            n += match self.shape.version {
                Version::V3 => self.take_v3(f),
                Version::V2 => self.take_v2(f),
            };
            if n > 0 || attempt == 1 {
                break;
            }
            let mut pfd = libc::pollfd {
                fd: self.fd,
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
        }
        Ok(n)
    }

    fn kernel_stats(&mut self) -> KernelStats {
        let mut k = datapath::read_kernel_stats(self.fd);
        k.drops += std::mem::take(&mut self.cut);
        k
    }
}

impl Drop for RingRx {
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
