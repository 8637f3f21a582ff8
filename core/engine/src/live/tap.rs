//! The engine's own side in live mode: a TAP device the host's stack terminates. Frames
//! the engine delivers locally (after INPUT) are written to it; frames the host sends
//! out of it enter the engine at OUTPUT. It carries the engine's local addresses (and,
//! in router mode, routes to the router's static destinations).

use super::datapath::{FrameRx, FrameTx, KernelStats, Sent, TxBatch};
use super::iface::{self, IfReq, Interface};
use std::io;
use std::net::IpAddr;
use std::os::fd::AsRawFd;
use std::time::Duration;

const TUNSETIFF: libc::c_ulong = 0x4004_54ca;
const IFF_TAP: libc::c_short = 0x0002;
const IFF_NO_PI: libc::c_short = 0x1000;

/// A TAP device, open.
pub struct Tap {
    /// The device.
    pub iface: Interface,
    fd: libc::c_int,
}

/// The receiving side of the TAP (frames the host sent).
pub struct TapRx {
    fd: libc::c_int,
    poll_ms: libc::c_int,
    buf: Vec<u8>,
}

/// The sending side of the TAP (frames delivered to the host).
pub struct TapTx {
    fd: libc::c_int,
}

#[repr(C)]
struct In6IfReq {
    addr: [u8; 16],
    prefixlen: u32,
    ifindex: libc::c_int,
}

/// `struct in6_rtmsg`: an IPv6 route for SIOCADDRT.
#[repr(C)]
struct In6RtMsg {
    dst: [u8; 16],
    src: [u8; 16],
    gateway: [u8; 16],
    kind: u32,
    dst_len: u16,
    src_len: u16,
    metric: u32,
    info: libc::c_ulong,
    flags: u32,
    ifindex: libc::c_int,
}

fn last_err(what: &str) -> io::Error {
    let e = io::Error::last_os_error();
    io::Error::new(e.kind(), format!("{what}: {e}"))
}

fn with_context(what: String) -> impl FnOnce(io::Error) -> io::Error {
    move |e| io::Error::new(e.kind(), format!("{what}: {e}"))
}

/// Sets IPv4 address `a` with prefix length `len` on `name`.
fn add_v4(name: &str, a: [u8; 4], len: u8) -> io::Result<()> {
    let sock = iface::request_socket(libc::AF_INET)?;
    let set = |req: libc::c_ulong, addr: [u8; 4]| -> io::Result<()> {
        // The union holds a sockaddr_in: family, port, address.
        let mut r = IfReq::new(name)?;
        r.data[..2].copy_from_slice(&(libc::AF_INET as u16).to_ne_bytes());
        r.data[4..8].copy_from_slice(&addr);
        iface::ioctl(&sock, req, &mut r).map_err(with_context(format!(
            "{name}: setting {}",
            std::net::Ipv4Addr::from(addr)
        )))
    };
    let mask = if len == 0 {
        0
    } else {
        u32::MAX << (32 - len as u32)
    };
    set(libc::SIOCSIFADDR, a)?;
    set(libc::SIOCSIFNETMASK, mask.to_be_bytes())
}

/// Sets IPv6 address `a`/`len` on interface `index`, without duplicate detection.
fn add_v6(name: &str, index: u32, a: [u8; 16], len: u8) -> io::Result<()> {
    let _ = std::fs::write(format!("/proc/sys/net/ipv6/conf/{name}/accept_dad"), "0");
    let sock = iface::request_socket(libc::AF_INET6)?;
    let mut r = In6IfReq {
        addr: a,
        prefixlen: len as u32,
        ifindex: index as libc::c_int,
    };
    // SAFETY: an in6_ifreq, as SIOCSIFADDR on an IPv6 socket takes.
    if unsafe {
        libc::ioctl(
            sock.as_raw_fd(),
            libc::SIOCSIFADDR as _,
            &mut r as *mut In6IfReq,
        )
    } < 0
    {
        return Err(last_err(&format!(
            "{name}: setting {}",
            std::net::Ipv6Addr::from(a)
        )));
    }
    Ok(())
}

fn set_up(name: &str) -> io::Result<()> {
    let sock = iface::request_socket(libc::AF_INET)?;
    let mut r = IfReq::new(name)?;
    iface::ioctl(&sock, libc::SIOCGIFFLAGS, &mut r)
        .map_err(with_context(format!("{name}: reading its flags")))?;
    let flags = i16::from_ne_bytes([r.data[0], r.data[1]]) | libc::IFF_UP as i16;
    r.data[..2].copy_from_slice(&flags.to_ne_bytes());
    iface::ioctl(&sock, libc::SIOCSIFFLAGS, &mut r)
        .map_err(with_context(format!("{name}: bringing it up")))
}

/// Routes `to` (network address, prefix length) out of device `name` (index `index`)
/// with no gateway: the host sends everything for it to the engine. An existing route
/// to the same prefix is an error.
pub fn add_route(name: &str, index: u32, to: IpAddr, len: u8) -> io::Result<()> {
    let what = format!("{name}: a route to {to}/{len}");
    match to {
        IpAddr::V4(net) => {
            let sock = iface::request_socket(libc::AF_INET)?;
            let sin = |a: [u8; 4]| {
                // SAFETY: sockaddr is plain data; zeroes are a valid value.
                let mut sa: libc::sockaddr = unsafe { std::mem::zeroed() };
                sa.sa_family = libc::AF_INET as libc::sa_family_t;
                for (d, b) in sa.sa_data[2..6].iter_mut().zip(a) {
                    *d = b as libc::c_char;
                }
                sa
            };
            let mask = if len == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(len))
            };
            let dev = std::ffi::CString::new(name)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("{what}: {e}")))?;
            // SAFETY: rtentry is plain data; zeroes are a valid value.
            let mut rt: libc::rtentry = unsafe { std::mem::zeroed() };
            rt.rt_dst = sin(net.octets());
            rt.rt_genmask = sin(mask.to_be_bytes());
            rt.rt_flags = libc::RTF_UP;
            // The ioctl's metric is one more than the route's.
            rt.rt_metric = 1;
            rt.rt_dev = dev.as_ptr() as *mut libc::c_char;
            // SAFETY: SIOCADDRT takes an rtentry, whose device name outlives the call.
            if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCADDRT as _, &rt) } < 0 {
                return Err(last_err(&what));
            }
        }
        IpAddr::V6(net) => {
            let sock = iface::request_socket(libc::AF_INET6)?;
            let rt = In6RtMsg {
                dst: net.octets(),
                src: [0; 16],
                gateway: [0; 16],
                kind: 0,
                dst_len: u16::from(len),
                src_len: 0,
                metric: 1,
                info: 0,
                flags: libc::RTF_UP as u32,
                ifindex: index as libc::c_int,
            };
            // SAFETY: SIOCADDRT on an IPv6 socket takes an in6_rtmsg.
            if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCADDRT as _, &rt) } < 0 {
                return Err(last_err(&what));
            }
        }
    }
    Ok(())
}

impl Tap {
    /// Creates (or attaches to) TAP device `name`, gives it `addresses` (address and
    /// prefix length) and brings it up. Needs CAP_NET_ADMIN.
    pub fn create(name: &str, addresses: &[(IpAddr, u8)]) -> io::Result<Tap> {
        let path = b"/dev/net/tun\0";
        // SAFETY: open(2) of a NUL-terminated path.
        let fd = unsafe {
            libc::open(
                path.as_ptr() as *const libc::c_char,
                libc::O_RDWR | libc::O_CLOEXEC | libc::O_NONBLOCK,
            )
        };
        if fd < 0 {
            return Err(last_err("/dev/net/tun"));
        }
        let mut r = match IfReq::new(name) {
            Ok(r) => r,
            Err(e) => {
                // SAFETY: closing our descriptor.
                unsafe { libc::close(fd) };
                return Err(e);
            }
        };
        r.data[..2].copy_from_slice(&(IFF_TAP | IFF_NO_PI).to_ne_bytes());
        // SAFETY: TUNSETIFF takes an ifreq with the flags member.
        if unsafe { libc::ioctl(fd, TUNSETIFF as _, &mut r as *mut IfReq) } < 0 {
            let e = last_err(&format!("creating TAP device {name}"));
            // SAFETY: closing our descriptor.
            unsafe { libc::close(fd) };
            return Err(e);
        }
        let tap = |fd| -> io::Result<Tap> {
            let iface = Interface::by_name(name)?;
            let mut v4s = 0;
            for (a, len) in addresses {
                match a {
                    IpAddr::V4(v4) => {
                        // The first is the device's own, the others aliases
                        // (`name:1`, ...), as the classic ioctl sets several.
                        let label = match v4s {
                            0 => name.to_string(),
                            k => format!("{name}:{k}"),
                        };
                        add_v4(&label, v4.octets(), *len)?;
                        v4s += 1;
                    }
                    IpAddr::V6(v6) => add_v6(name, iface.index, v6.octets(), *len)?,
                }
            }
            set_up(name)?;
            let iface = Interface::by_name(name)?;
            Ok(Tap { iface, fd })
        };
        tap(fd).inspect_err(|_| {
            // SAFETY: closing our descriptor (the device goes with it).
            unsafe { libc::close(fd) };
        })
    }

    /// Splits the device into its receiving and sending sides (they share the
    /// descriptor, which the sending side closes).
    pub fn split(self, poll: Duration) -> (TapTx, TapRx) {
        let fd = self.fd;
        std::mem::forget(self);
        (
            TapTx { fd },
            TapRx {
                fd,
                poll_ms: poll.as_millis().clamp(1, 1000) as libc::c_int,
                buf: vec![0; 65_536 + 64],
            },
        )
    }
}

impl Drop for Tap {
    fn drop(&mut self) {
        // SAFETY: closing our descriptor once.
        unsafe { libc::close(self.fd) };
    }
}

impl FrameRx for TapRx {
    fn recv_batch(&mut self, f: &mut dyn FnMut(&[u8])) -> io::Result<usize> {
        let mut pfd = libc::pollfd {
            fd: self.fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        if unsafe { libc::poll(&mut pfd, 1, self.poll_ms) } <= 0 {
            return Ok(0);
        }
        let mut n = 0;
        // Everything waiting, up to a batch.
        while n < TxBatch::MAX {
            // SAFETY: reading into our buffer, at most its length.
            let r = unsafe {
                libc::read(
                    self.fd,
                    self.buf.as_mut_ptr() as *mut libc::c_void,
                    self.buf.len(),
                )
            };
            if r <= 0 {
                let e = io::Error::last_os_error();
                if r == 0
                    || matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                    )
                {
                    break;
                }
                return Err(e);
            }
            f(&self.buf[..r as usize]);
            n += 1;
        }
        Ok(n)
    }

    fn kernel_stats(&mut self) -> KernelStats {
        KernelStats::default()
    }
}

impl FrameTx for TapTx {
    fn send_batch(&self, batch: &TxBatch) -> Sent {
        let mut s = Sent::default();
        for frame in batch.frames() {
            // SAFETY: writing one frame from a live buffer.
            let r =
                unsafe { libc::write(self.fd, frame.as_ptr() as *const libc::c_void, frame.len()) };
            if r < 0 {
                s.errors += 1;
                s.first_error.get_or_insert_with(io::Error::last_os_error);
            } else {
                s.frames += 1;
                s.bytes += frame.len() as u64;
            }
        }
        s
    }
}

impl Drop for TapTx {
    fn drop(&mut self) {
        // SAFETY: closing the shared descriptor once (the receiving side does not).
        unsafe { libc::close(self.fd) };
    }
}
