//! The dedicated link, as conntrackd's channels: UDP unicast over IPv4 or IPv6 (one
//! socket bound to our address and the sync port, sending to the peer's address and the same port; the
//! peer's messages arrive on it too) or multicast (a socket that joins the group on our
//! address and receives on the group's port, and one that sends to the group through
//! our address, without looping our own messages back).

use crate::config::{Multicast, Settings, Udp};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::Duration;

/// How long one send may wait for room in the socket's buffer.
const SEND_TIMEOUT: Duration = Duration::from_millis(100);

/// The sockets and where messages go.
#[derive(Debug)]
pub struct Link {
    send: UdpSocket,
    recv: UdpSocket,
    /// The peer, or the group.
    pub dest: SocketAddr,
}

impl Link {
    /// The link `settings` configure.
    pub fn open(settings: &Settings) -> Result<Link, String> {
        match (&settings.udp, &settings.multicast) {
            (Some(u), _) => Link::unicast(u).map_err(|e| format!("config: udp: {e}")),
            (None, Some(m)) => Link::multicast(m).map_err(|e| format!("config: multicast: {e}")),
            (None, None) => Err("config: no link".into()),
        }
    }

    /// UDP unicast, as `udp` says.
    pub fn unicast(udp: &Udp) -> Result<Link, String> {
        let (ours, peer) = udp
            .addresses()
            .ok_or("ipv4_address and ipv4_destination_address, or the IPv6 ones, are needed")?;
        let local = SocketAddr::new(ours, udp.port);
        let socket = UdpSocket::bind(local).map_err(|e| format!("binding {local}: {e}"))?;
        if let Some(dev) = &udp.interface {
            bind_to_device(&socket, dev)?;
        }
        socket
            .set_write_timeout(Some(SEND_TIMEOUT))
            .map_err(|e| format!("{local}: {e}"))?;
        let recv = socket.try_clone().map_err(|e| e.to_string())?;
        Ok(Link {
            send: socket,
            recv,
            dest: SocketAddr::new(peer, udp.port),
        })
    }

    /// Multicast, as `m` says.
    pub fn multicast(m: &Multicast) -> Result<Link, String> {
        let port = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, m.group);
        let recv = UdpSocket::bind(port).map_err(|e| format!("binding {port}: {e}"))?;
        recv.join_multicast_v4(&m.ipv4_address, &m.ipv4_interface)
            .map_err(|e| format!("joining {} on {}: {e}", m.ipv4_address, m.ipv4_interface))?;
        let local = SocketAddrV4::new(m.ipv4_interface, 0);
        let send = UdpSocket::bind(local).map_err(|e| format!("binding {local}: {e}"))?;
        set_multicast_if(&send, m.ipv4_interface)?;
        send.set_multicast_loop_v4(false)
            .map_err(|e| format!("IP_MULTICAST_LOOP: {e}"))?;
        if let Some(dev) = &m.interface {
            bind_to_device(&recv, dev)?;
            bind_to_device(&send, dev)?;
        }
        send.set_write_timeout(Some(SEND_TIMEOUT))
            .map_err(|e| format!("{local}: {e}"))?;
        Ok(Link {
            send,
            recv,
            dest: SocketAddr::V4(SocketAddrV4::new(m.ipv4_address, m.group)),
        })
    }

    /// A handle on the receiving socket, for the receiving thread.
    pub fn receiving(&self) -> Result<UdpSocket, String> {
        self.recv.try_clone().map_err(|e| e.to_string())
    }

    /// Sends one datagram to the peer or the group.
    pub fn send(&self, datagram: &[u8]) -> Result<(), String> {
        match self.send.send_to(datagram, self.dest) {
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

/// `IP_MULTICAST_IF`: multicast leaves through the interface holding `addr`.
fn set_multicast_if(socket: &UdpSocket, addr: Ipv4Addr) -> Result<(), String> {
    let a = libc::in_addr {
        s_addr: u32::from_ne_bytes(addr.octets()),
    };
    // SAFETY: the option's value is an `in_addr` and its size; the fd is open.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_IP,
            libc::IP_MULTICAST_IF,
            (&a as *const libc::in_addr).cast(),
            std::mem::size_of::<libc::in_addr>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(format!(
            "IP_MULTICAST_IF {addr}: {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}
