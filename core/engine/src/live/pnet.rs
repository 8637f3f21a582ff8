//! The simple datapath: for each worker an AF_PACKET socket bound to the interface,
//! promiscuous, blind to what the interface itself sends, read and written through pnet,
//! one frame per system call. With more than one worker per interface the sockets form
//! a fanout group.

use super::datapath::{self, FrameRx, FrameTx, KernelStats, Sent, TxBatch};
use super::iface::Interface;
use pnet_datalink::{Channel, DataLinkReceiver, DataLinkSender};
use std::io;
use std::sync::Mutex;
use std::time::Duration;

/// The largest frame read: room for a 64 KiB datagram, so a merged frame that slipped
/// past the offload settings is seen whole (and dropped as too big) instead of cut.
const READ_BUFFER: usize = 65_536 + 64;

/// One worker's receiving socket.
pub struct PnetRx {
    rx: Box<dyn DataLinkReceiver>,
    fd: libc::c_int,
}

/// The interface's sending side (the first worker's socket).
pub struct PnetTx {
    tx: Mutex<Box<dyn DataLinkSender>>,
}

fn open_one(
    iface: &Interface,
    poll: Duration,
    fanout: Option<u16>,
) -> io::Result<(Box<dyn DataLinkSender>, PnetRx)> {
    let fd = datapath::packet_socket(libc::ETH_P_ALL as u16)?;
    if let Err(e) = datapath::prepare_rx(fd) {
        // SAFETY: closing the descriptor we opened, before anyone else holds it.
        unsafe { libc::close(fd) };
        return Err(e);
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
    // pnet binds and sets promiscuous mode; it owns (and closes) the descriptor from here.
    let (tx, rx) = match pnet_datalink::channel(&ni, cfg)? {
        Channel::Ethernet(tx, rx) => (tx, rx),
        _ => return Err(io::Error::other("pnet returned a non-Ethernet channel")),
    };
    if let Some(group) = fanout {
        datapath::join_fanout(fd, group)?;
    }
    Ok((tx, PnetRx { rx, fd }))
}

/// Opens `workers` receiving sockets on `iface` (a fanout group `group` when more than
/// one) and the interface's sending side. Needs CAP_NET_RAW.
pub fn open(
    iface: &Interface,
    workers: usize,
    poll: Duration,
    group: u16,
) -> io::Result<(PnetTx, Vec<PnetRx>)> {
    let with = |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", iface.name));
    let fanout = (workers > 1).then_some(group);
    let mut rxs = Vec::with_capacity(workers);
    let (tx, first) = open_one(iface, poll, fanout).map_err(with)?;
    rxs.push(first);
    for _ in 1..workers {
        rxs.push(open_one(iface, poll, fanout).map_err(with)?.1);
    }
    Ok((PnetTx { tx: Mutex::new(tx) }, rxs))
}

impl FrameRx for PnetRx {
    fn recv_batch(&mut self, f: &mut dyn FnMut(&[u8])) -> io::Result<usize> {
        match self.rx.next() {
            Ok(frame) => {
                f(frame);
                Ok(1)
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
                ) =>
            {
                Ok(0)
            }
            Err(e) => Err(e),
        }
    }

    fn kernel_stats(&mut self) -> KernelStats {
        // The socket lives while `self` does (pnet closes it when the receiver drops).
        datapath::read_kernel_stats(self.fd)
    }
}

impl FrameTx for PnetTx {
    fn send_batch(&self, batch: &TxBatch) -> Sent {
        let mut tx = self.tx.lock().unwrap_or_else(|e| e.into_inner());
        let mut s = Sent::default();
        for frame in batch.frames() {
            match tx.send_to(frame, None) {
                Some(Ok(())) => {
                    s.frames += 1;
                    s.bytes += frame.len() as u64;
                }
                Some(Err(e)) => {
                    s.errors += 1;
                    s.first_error.get_or_insert(e);
                }
                None => {
                    s.errors += 1;
                    s.first_error
                        .get_or_insert_with(|| io::Error::other("pnet did not send"));
                }
            }
        }
        s
    }
}
