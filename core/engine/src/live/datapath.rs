//! What the bridge asks of a datapath: a receiving side per worker that hands over
//! frames in batches, and a sending side per interface, shared by the workers, that
//! takes a batch at once. Both datapaths (pnet, the rings) implement it.

use std::io;

/// The kernel's own counters of a packet socket since the last read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KernelStats {
    /// Frames the socket saw (its drops included).
    pub packets: u64,
    /// Frames the kernel dropped because the socket's buffer or ring was full.
    pub drops: u64,
}

impl KernelStats {
    /// Adds another reading.
    pub fn add(&mut self, o: KernelStats) {
        self.packets += o.packets;
        self.drops += o.drops;
    }
}

/// The receiving side of one worker on one interface.
pub trait FrameRx: Send {
    /// Waits up to the poll time for frames and hands each to `f`; returns how many
    /// (0 when none came).
    fn recv_batch(&mut self, f: &mut dyn FnMut(&[u8])) -> io::Result<usize>;

    /// The kernel's counters for this socket since the previous call (frames the
    /// datapath itself had to discard count with its drops).
    fn kernel_stats(&mut self) -> KernelStats;
}

/// Frames waiting to leave by one interface, in one buffer.
#[derive(Debug, Default)]
pub struct TxBatch {
    data: Vec<u8>,
    ends: Vec<usize>,
}

impl TxBatch {
    /// Frames a worker gathers before it sends them anyway.
    pub const MAX: usize = 64;

    /// Adds a frame.
    pub fn push(&mut self, frame: &[u8]) {
        self.data.extend_from_slice(frame);
        self.ends.push(self.data.len());
    }

    /// Frames waiting.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether none waits.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The waiting frames, in order.
    pub fn frames(&self) -> impl Iterator<Item = &[u8]> {
        let mut start = 0;
        self.ends.iter().map(move |&end| {
            let f = &self.data[start..end];
            start = end;
            f
        })
    }

    /// Forgets every frame (keeping the memory).
    pub fn clear(&mut self) {
        self.data.clear();
        self.ends.clear();
    }
}

/// What sending a batch came to.
#[derive(Debug, Default)]
pub struct Sent {
    /// Frames the kernel took.
    pub frames: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Frames it refused.
    pub errors: u64,
    /// The first refusal's error.
    pub first_error: Option<io::Error>,
}

/// The sending side of one interface, shared by every worker.
pub trait FrameTx: Send + Sync {
    /// Sends every frame of `batch`, in order.
    fn send_batch(&self, batch: &TxBatch) -> Sent;
}

/// `SOL_PACKET` options.
pub(crate) mod opt {
    pub const PACKET_ADD_MEMBERSHIP: libc::c_int = 1;
    pub const PACKET_RX_RING: libc::c_int = 5;
    pub const PACKET_STATISTICS: libc::c_int = 6;
    pub const PACKET_VERSION: libc::c_int = 10;
    pub const PACKET_FANOUT: libc::c_int = 18;
    pub const PACKET_QDISC_BYPASS: libc::c_int = 20;
    pub const PACKET_IGNORE_OUTGOING: libc::c_int = 23;
    pub const PACKET_MR_PROMISC: libc::c_ushort = 1;
    pub const PACKET_FANOUT_HASH: u32 = 0;
    pub const PACKET_FANOUT_CBPF: u32 = 6;
    pub const PACKET_FANOUT_FLAG_IGNORE_OUTGOING: u32 = 0x4000;
    pub const PACKET_FANOUT_FLAG_DEFRAG: u32 = 0x8000;
}

/// Sets an int socket option.
pub(crate) fn set_int(
    fd: libc::c_int,
    level: libc::c_int,
    name: libc::c_int,
    v: libc::c_int,
) -> io::Result<()> {
    // SAFETY: an int option on a socket the caller owns.
    let r = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            &v as *const libc::c_int as *const libc::c_void,
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// A new AF_PACKET socket for `proto` (network order), close-on-exec.
pub(crate) fn packet_socket(proto: u16) -> io::Result<libc::c_int> {
    // SAFETY: plain socket(2); the caller owns the descriptor.
    let fd = unsafe {
        libc::socket(
            libc::AF_PACKET,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            proto.to_be() as libc::c_int,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(fd)
}

/// The receive buffer asked of the kernel for each receiving socket.
const RCVBUF: libc::c_int = 8 << 20;

/// What every receiving socket gets: blind to what the host itself sends out of the
/// interface (else it would loop back into the bridge; Linux 4.20 and later), and room
/// for a burst (SO_RCVBUFFORCE passes rmem_max with CAP_NET_ADMIN).
pub(crate) fn prepare_rx(fd: libc::c_int) -> io::Result<()> {
    set_int(fd, libc::SOL_PACKET, opt::PACKET_IGNORE_OUTGOING, 1)?;
    if set_int(fd, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, RCVBUF).is_err() {
        set_int(fd, libc::SOL_SOCKET, libc::SO_RCVBUF, RCVBUF)?;
    }
    Ok(())
}

/// Joins `fd` to fanout group `group`: the kernel spreads the interface's frames over the
/// group's sockets by flow hash, keeping a flow (and its fragments) on one socket. The
/// group delivers in place of its sockets, so it is the one told to ignore what the
/// host sends (Linux 6.2 and later).
pub(crate) fn join_fanout(fd: libc::c_int, group: u16) -> io::Result<()> {
    join_group(fd, group, opt::PACKET_FANOUT_HASH)
}

/// Joins `fd` to the steered fanout group `group`, whose classic BPF program picks each
/// frame's socket (see [`super::steer`]); as [`join_fanout`] otherwise.
pub(crate) fn join_fanout_steered(fd: libc::c_int, group: u16) -> io::Result<()> {
    join_group(fd, group, opt::PACKET_FANOUT_CBPF)
}

fn join_group(fd: libc::c_int, group: u16, mode: u32) -> io::Result<()> {
    let flags = opt::PACKET_FANOUT_FLAG_DEFRAG | opt::PACKET_FANOUT_FLAG_IGNORE_OUTGOING;
    let arg = (group as u32) | ((mode | flags) << 16);
    set_int(fd, libc::SOL_PACKET, opt::PACKET_FANOUT, arg as libc::c_int)
}

/// Reads (and so resets) a packet socket's kernel counters; zero when it cannot.
pub(crate) fn read_kernel_stats(fd: libc::c_int) -> KernelStats {
    // tpacket_stats, or the first two fields of tpacket_stats_v3.
    let mut st = [0u32; 3];
    let mut len = std::mem::size_of_val(&st) as libc::socklen_t;
    // SAFETY: the buffer is as large as the largest statistics struct and `len` says so.
    let r = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_PACKET,
            opt::PACKET_STATISTICS,
            st.as_mut_ptr() as *mut libc::c_void,
            &mut len,
        )
    };
    if r < 0 {
        return KernelStats::default();
    }
    KernelStats {
        packets: st[0] as u64,
        drops: st[1] as u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_keeps_frames_apart_and_in_order() {
        let mut b = TxBatch::default();
        assert!(b.is_empty());
        b.push(b"abc");
        b.push(b"");
        b.push(b"de");
        assert_eq!(b.len(), 3);
        let got: Vec<&[u8]> = b.frames().collect();
        assert_eq!(got, [&b"abc"[..], b"", b"de"]);
        b.clear();
        assert_eq!(b.frames().count(), 0);
    }
}
