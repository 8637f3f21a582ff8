//! The dedicated link: one UDP socket bound to our address and the sync port (and to
//! the interface, if the config names one), sending to the peer's address and the same
//! port, as conntrackd's UDP channel does; the peer's messages arrive on it too.

use crate::config::Udp;
use std::net::{SocketAddrV4, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::Duration;

/// How long one send may wait for room in the socket's buffer.
const SEND_TIMEOUT: Duration = Duration::from_millis(100);

/// The socket and where it sends.
#[derive(Debug)]
pub struct Link {
    socket: UdpSocket,
    /// The peer.
    pub peer: SocketAddrV4,
}

impl Link {
    /// Binds the socket as `udp` says.
    pub fn open(udp: &Udp) -> Result<Link, String> {
        let local = SocketAddrV4::new(udp.ipv4_address, udp.port);
        let socket = UdpSocket::bind(local).map_err(|e| format!("binding {local}: {e}"))?;
        if let Some(dev) = &udp.interface {
            bind_to_device(&socket, dev)?;
        }
        socket
            .set_write_timeout(Some(SEND_TIMEOUT))
            .map_err(|e| format!("{local}: {e}"))?;
        Ok(Link {
            socket,
            peer: SocketAddrV4::new(udp.ipv4_destination_address, udp.port),
        })
    }

    /// A second handle on the socket, for the receiving thread.
    pub fn receiving(&self) -> Result<UdpSocket, String> {
        self.socket.try_clone().map_err(|e| e.to_string())
    }

    /// Sends one datagram to the peer.
    pub fn send(&self, datagram: &[u8]) -> Result<(), String> {
        match self.socket.send_to(datagram, self.peer) {
            Ok(n) if n == datagram.len() => Ok(()),
            Ok(n) => Err(format!("sent {n} of {} bytes", datagram.len())),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// `SO_BINDTODEVICE`: the socket sends and receives on `dev` only.
fn bind_to_device(socket: &UdpSocket, dev: &str) -> Result<(), String> {
    // SAFETY: the option's value is `dev`'s bytes and their length; the fd is open.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_BINDTODEVICE,
            dev.as_ptr().cast(),
            dev.len() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(format!(
            "binding to interface {dev}: {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}
