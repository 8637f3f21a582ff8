//! The oracle's TUN entry: the device its packets are written to, and the fence
//! written after each, whose log says the packet before it has been through every hook.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// The device's name.
pub(crate) const TUN: &str = "tun0";

/// Where the fence goes (a documentation address, port 9).
pub(crate) const FENCE_TO: &str = "192.0.2.254";

/// The log prefix of the fence.
pub(crate) const FENCE_LOG: &str = "fence";

/// The fence written after each packet on the TUN device (see [`crate::KernelOracle::deliver`]):
/// a UDP datagram to 192.0.2.254 port 9, logged and dropped before conntrack.
pub(crate) const FENCE: [u8; 28] = [
    0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0xf5, 0xd1, 192, 0, 2, 1, 192, 0, 2, 254, 0, 9, 0, 9, 0, 8,
    0, 0,
];

/// Keeps the calling thread on the processor it runs on, so that what it writes to the
/// TUN device is queued, and handled, in order.
pub(crate) fn pin_to_this_cpu() {
    // SAFETY: plain calls on the calling thread; the set is zeroed, then one bit set.
    unsafe {
        let cpu = libc::sched_getcpu();
        if cpu < 0 {
            return;
        }
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu as usize, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

/// A TUN device [`TUN`] (IP packets, no extra header) in the calling thread's
/// namespace: its queue.
pub(crate) fn tun_device() -> OwnedFd {
    /// `struct ifreq` as `TUNSETIFF` reads it: the name, then the flags.
    #[repr(C)]
    struct IfReq {
        name: [u8; 16],
        flags: libc::c_short,
        _pad: [u8; 22],
    }
    const TUNSETIFF: libc::c_ulong = 0x4004_54ca;
    let path = c"/dev/net/tun";
    // SAFETY: opening a device node by a NUL-terminated path.
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) };
    assert!(fd >= 0, "/dev/net/tun: {}", std::io::Error::last_os_error());
    // SAFETY: a fresh descriptor nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let mut req = IfReq {
        name: [0; 16],
        flags: (libc::IFF_TUN | libc::IFF_NO_PI) as libc::c_short,
        _pad: [0; 22],
    };
    req.name[..TUN.len()].copy_from_slice(TUN.as_bytes());
    // SAFETY: TUNSETIFF reads and writes an ifreq, which `req` is laid out as.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), TUNSETIFF, &mut req) };
    assert_eq!(r, 0, "TUNSETIFF: {}", std::io::Error::last_os_error());
    fd
}
