//! One bridge port on the simple datapath: an AF_PACKET socket bound to an interface,
//! promiscuous, blind to what the interface itself sends, read and written through pnet.

use super::iface::Interface;
use pnet_datalink::{Channel, DataLinkReceiver, DataLinkSender};
use std::io;
use std::sync::Mutex;
use std::time::Duration;

/// `SOL_PACKET` options pnet does not set.
const PACKET_STATISTICS: libc::c_int = 6;
const PACKET_IGNORE_OUTGOING: libc::c_int = 23;

/// The largest frame read: room for a 64 KiB datagram, so a merged frame that slipped
/// past the offload settings is seen whole (and dropped as too big) instead of cut.
const READ_BUFFER: usize = 65_536 + 64;

/// The receive buffer asked of the kernel for each port's socket.
const RCVBUF: libc::c_int = 8 << 20;

/// The sending half of a port, shared by every worker.
pub struct PortTx {
    /// The interface.
    pub iface: Interface,
    tx: Mutex<Box<dyn DataLinkSender>>,
    fd: libc::c_int,
}

/// The receiving half, owned by the port's worker.
pub struct PortRx {
    /// The interface.
    pub iface: Interface,
    rx: Box<dyn DataLinkReceiver>,
}

/// The kernel's own counters of a packet socket since the last read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KernelStats {
    /// Frames the socket received.
    pub packets: u64,
    /// Frames the kernel dropped because the socket's buffer was full.
    pub drops: u64,
}

/// Opens a port on `iface`: frames arrive through [`PortRx::recv`] and leave through
/// [`PortTx::send`]. Needs CAP_NET_RAW.
pub fn open(iface: &Interface, poll: Duration) -> io::Result<(PortTx, PortRx)> {
    let with = |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", iface.name));
    let proto = (libc::ETH_P_ALL as u16).to_be() as libc::c_int;
    // SAFETY: plain socket(2); pnet takes ownership of the descriptor below.
    let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, proto) };
    if fd < 0 {
        return Err(with(io::Error::last_os_error()));
    }
    let one: libc::c_int = 1;
    // SAFETY: an int option on our own socket. Without it, frames this host sends out of
    // the interface would come back to the engine (Linux 4.20 and later have it).
    let r = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_PACKET,
            PACKET_IGNORE_OUTGOING,
            &one as *const libc::c_int as *const libc::c_void,
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r < 0 {
        let e = io::Error::last_os_error();
        // SAFETY: closing the descriptor we opened, before anyone else holds it.
        unsafe { libc::close(fd) };
        return Err(with(e));
    }
    // A burst at line rate outruns one worker for a moment: give the socket room
    // (SO_RCVBUFFORCE passes the rmem_max cap with CAP_NET_ADMIN; else the plain option).
    let rcvbuf: libc::c_int = RCVBUF;
    for opt in [libc::SO_RCVBUFFORCE, libc::SO_RCVBUF] {
        // SAFETY: an int option on our own socket.
        let r = unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                opt,
                &rcvbuf as *const libc::c_int as *const libc::c_void,
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if r == 0 {
            break;
        }
    }
    let ni = pnet_datalink::NetworkInterface {
        name: iface.name.clone(),
        description: String::new(),
        index: iface.index,
        mac: None,
        ips: Vec::new(),
        flags: 0,
    };
    let cfg = pnet_datalink::Config {
        read_buffer_size: READ_BUFFER,
        write_buffer_size: READ_BUFFER,
        read_timeout: Some(poll),
        write_timeout: Some(Duration::from_millis(100)),
        promiscuous: true,
        socket_fd: Some(fd),
        ..pnet_datalink::Config::default()
    };
    match pnet_datalink::channel(&ni, cfg).map_err(with)? {
        Channel::Ethernet(tx, rx) => Ok((
            PortTx {
                iface: iface.clone(),
                tx: Mutex::new(tx),
                fd,
            },
            PortRx {
                iface: iface.clone(),
                rx,
            },
        )),
        _ => Err(with(io::Error::other(
            "pnet returned a non-Ethernet channel",
        ))),
    }
}

impl PortRx {
    /// The next frame, or `None` when none came within the poll time.
    pub fn recv(&mut self) -> io::Result<Option<&[u8]>> {
        match self.rx.next() {
            Ok(f) => Ok(Some(f)),
            Err(e) if e.kind() == io::ErrorKind::TimedOut => Ok(None),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(None),
            Err(e) => Err(e),
        }
    }
}

impl PortTx {
    /// Sends one frame out of the interface.
    pub fn send(&self, frame: &[u8]) -> io::Result<()> {
        let mut tx = self.tx.lock().unwrap_or_else(|e| e.into_inner());
        match tx.send_to(frame, None) {
            Some(r) => r,
            None => Err(io::Error::other("pnet did not send")),
        }
    }

    /// The kernel's counters since the previous call (reading resets them).
    pub fn kernel_stats(&self) -> KernelStats {
        let mut st = [0u32; 2];
        let mut len = std::mem::size_of_val(&st) as libc::socklen_t;
        // SAFETY: struct tpacket_stats is two unsigned ints; the socket is alive while
        // `self` is (pnet owns and closes it when the port is dropped).
        let r = unsafe {
            libc::getsockopt(
                self.fd,
                libc::SOL_PACKET,
                PACKET_STATISTICS,
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
}
