//! What the live engine asks the kernel about an interface (index, MTU, whether it is
//! up) and the offloads it turns off, through the classic `ioctl`s on a datagram socket.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// `SIOCETHTOOL`: the ethtool request multiplexer.
const SIOCETHTOOL: libc::c_ulong = 0x8946;

/// `struct ifreq` with the union as raw bytes: name, then 24 bytes (an int, flags, a
/// pointer or a socket address).
#[repr(C)]
pub(super) struct IfReq {
    name: [u8; libc::IFNAMSIZ],
    /// The union.
    pub(super) data: [u8; 24],
}

impl IfReq {
    /// An ifreq naming interface `name` (checked: 1 to 15 bytes, no NUL).
    pub(super) fn new(name: &str) -> io::Result<IfReq> {
        let mut r = IfReq {
            name: [0; libc::IFNAMSIZ],
            data: [0; 24],
        };
        let b = name.as_bytes();
        if b.is_empty() || b.len() >= libc::IFNAMSIZ || b.contains(&0) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("`{name}` is not an interface name"),
            ));
        }
        r.name[..b.len()].copy_from_slice(b);
        Ok(r)
    }

    fn int(&self) -> i32 {
        i32::from_ne_bytes([self.data[0], self.data[1], self.data[2], self.data[3]])
    }
}

/// An interface as the kernel reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interface {
    /// Its name.
    pub name: String,
    /// Its index (what `iif`/`oif` rules match).
    pub index: u32,
    /// Its MTU: the largest datagram a frame sent out of it may carry.
    pub mtu: u32,
    /// Whether it is administratively up.
    pub up: bool,
    /// Its link-layer (Ethernet) address; zero for devices without one.
    pub mac: [u8; 6],
}

/// A datagram socket of `family` for interface requests.
pub(super) fn request_socket(family: libc::c_int) -> io::Result<OwnedFd> {
    // SAFETY: plain socket(2); the descriptor is owned at once.
    let fd = unsafe { libc::socket(family, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd is a fresh descriptor nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn control_socket() -> io::Result<OwnedFd> {
    request_socket(libc::AF_INET)
}

/// An interface request on `sock`.
pub(super) fn ioctl(sock: &OwnedFd, req: libc::c_ulong, r: &mut IfReq) -> io::Result<()> {
    // SAFETY: `r` is a properly sized ifreq for these requests.
    if unsafe { libc::ioctl(sock.as_raw_fd(), req as _, r as *mut IfReq) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

impl Interface {
    /// Looks an interface up by name.
    pub fn by_name(name: &str) -> io::Result<Interface> {
        let sock = control_socket()?;
        let with = |e: io::Error| io::Error::new(e.kind(), format!("interface {name}: {e}"));
        let mut r = IfReq::new(name)?;
        ioctl(&sock, libc::SIOCGIFINDEX, &mut r).map_err(with)?;
        let index = r.int() as u32;
        let mut r = IfReq::new(name)?;
        ioctl(&sock, libc::SIOCGIFMTU, &mut r).map_err(with)?;
        let mtu = r.int() as u32;
        let mut r = IfReq::new(name)?;
        ioctl(&sock, libc::SIOCGIFFLAGS, &mut r).map_err(with)?;
        let up = (r.int() as i16 as i32) & libc::IFF_UP != 0;
        let mut r = IfReq::new(name)?;
        ioctl(&sock, libc::SIOCGIFHWADDR, &mut r).map_err(with)?;
        // A `struct sockaddr`: the family (2 bytes), then the address.
        let mut mac = [0u8; 6];
        mac.copy_from_slice(&r.data[2..8]);
        Ok(Interface {
            name: name.to_string(),
            index,
            mtu,
            up,
            mac,
        })
    }
}

/// One ethtool feature the live engine turns off: its name, and its get/set commands.
struct Feature {
    name: &'static str,
    get: u32,
    set: u32,
}

/// The offloads that hand a packet socket frames other than the wire's: merged receive
/// (GRO), segmentation left to the driver (GSO, TSO), and checksums left to the driver.
const FEATURES: [Feature; 4] = [
    Feature {
        name: "generic-receive-offload",
        get: 0x2b,
        set: 0x2c,
    },
    Feature {
        name: "generic-segmentation-offload",
        get: 0x23,
        set: 0x24,
    },
    Feature {
        name: "tcp-segmentation-offload",
        get: 0x1e,
        set: 0x1f,
    },
    Feature {
        name: "tx-checksumming",
        get: 0x16,
        set: 0x17,
    },
];

/// `ETHTOOL_GFLAGS`/`ETHTOOL_SFLAGS` and the large-receive-offload flag among them.
const GFLAGS: u32 = 0x25;
const SFLAGS: u32 = 0x26;
const FLAG_LRO: u32 = 1 << 15;

#[repr(C)]
struct EthtoolValue {
    cmd: u32,
    data: u32,
}

fn ethtool(sock: &OwnedFd, name: &str, cmd: u32, data: u32) -> io::Result<u32> {
    let mut v = EthtoolValue { cmd, data };
    let mut r = IfReq::new(name)?;
    let p = &mut v as *mut EthtoolValue as usize;
    r.data[..std::mem::size_of::<usize>()].copy_from_slice(&p.to_ne_bytes());
    ioctl(sock, SIOCETHTOOL, &mut r)?;
    Ok(v.data)
}

/// Offloads turned off on one interface: turned on again when this is dropped (at the
/// end of the run, or when opening a later interface fails).
#[derive(Debug)]
pub struct OffloadsOff {
    name: String,
    features: Vec<&'static str>,
}

impl OffloadsOff {
    /// The features that were on and are now off, by ethtool's names.
    pub fn names(&self) -> &[&'static str] {
        &self.features
    }
}

impl Drop for OffloadsOff {
    fn drop(&mut self) {
        if self.features.is_empty() {
            return;
        }
        if let Err(e) = restore_offloads(&self.name, &self.features) {
            tracing::warn!("{}: turning offloads on again: {e}", self.name);
        }
    }
}

/// Turns off the offloads that would hand the engine merged frames or partial checksums;
/// the guard names those that were on (and are now off) and turns them on again when
/// dropped. A feature the driver does not have is skipped; one it refuses to change is an
/// error (the ones already turned off are turned on again).
pub fn disable_offloads(name: &str) -> io::Result<OffloadsOff> {
    let sock = control_socket()?;
    let mut off = OffloadsOff {
        name: name.to_string(),
        features: Vec::new(),
    };
    for f in &FEATURES {
        match ethtool(&sock, name, f.get, 0) {
            Ok(0) => {}
            Ok(_) => {
                ethtool(&sock, name, f.set, 0).map_err(|e| {
                    io::Error::new(e.kind(), format!("{name}: turning off {}: {e}", f.name))
                })?;
                off.features.push(f.name);
            }
            Err(e) if e.raw_os_error() == Some(libc::EOPNOTSUPP) => {}
            Err(e) => return Err(io::Error::new(e.kind(), format!("{name}: {}: {e}", f.name))),
        }
    }
    if let Ok(flags) = ethtool(&sock, name, GFLAGS, 0) {
        if flags & FLAG_LRO != 0 {
            ethtool(&sock, name, SFLAGS, flags & !FLAG_LRO).map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("{name}: turning off large-receive-offload: {e}"),
                )
            })?;
            off.features.push(LRO);
        }
    }
    Ok(off)
}

/// The name [`disable_offloads`] gives large receive offload (a flag, not a feature).
const LRO: &str = "large-receive-offload";

/// Turns `features` (names [`disable_offloads`] gave) on again; tries each, and returns
/// the first failure.
fn restore_offloads(name: &str, features: &[&str]) -> io::Result<()> {
    let sock = control_socket()?;
    let mut first = Ok(());
    for want in features {
        let r = if *want == LRO {
            ethtool(&sock, name, GFLAGS, 0)
                .and_then(|flags| ethtool(&sock, name, SFLAGS, flags | FLAG_LRO))
        } else {
            match FEATURES.iter().find(|f| f.name == *want) {
                Some(f) => ethtool(&sock, name, f.set, 1),
                None => continue,
            }
        };
        if let (Err(e), true) = (r, first.is_ok()) {
            first = Err(io::Error::new(e.kind(), format!("{want}: {e}")));
        }
    }
    first
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_found_and_up() {
        let lo = Interface::by_name("lo").expect("lo exists in every namespace");
        assert_eq!(lo.index, 1);
        assert!(lo.mtu >= 1500);
        assert!(lo.up);
    }

    #[test]
    fn unknown_interface_is_named_in_the_error() {
        let e = Interface::by_name("nosuchif0").unwrap_err().to_string();
        assert!(e.contains("nosuchif0"), "{e}");
        assert!(Interface::by_name("a/b/c/d/e/f/g/h/i").is_err());
        assert!(IfReq::new("").is_err());
    }
}
