//! The kernel's NFLOG over netlink, as far as the conntrack oracle needs it: one log
//! group bound, and the prefix of each packet logged there read back.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// Bytes of each logged packet copied up: an IPv6 header and a transport header's
/// first eight bytes.
const COPY_BYTES: usize = 48;

/// One logged packet: the rule's prefix, and the packet's first bytes (from its IP
/// header on, at most [`COPY_BYTES`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Logged {
    /// The log rule's prefix.
    pub prefix: String,
    /// The packet's first bytes.
    pub payload: Vec<u8>,
}

/// Bytes of a netlink message header.
const NLMSG_HDR: usize = 16;
/// Bytes of the netfilter header after it (`nfgenmsg`).
const NFGEN_HDR: usize = 4;

/// A netlink socket bound to one NFLOG group, in the namespace of the thread that made
/// it.
pub(crate) struct Nflog {
    fd: OwnedFd,
}

/// Rounds a netlink length up to its 4-byte alignment.
fn align(n: usize) -> usize {
    (n + 3) & !3
}

/// Appends an attribute (`type`, `data`) padded to its alignment.
fn attr(msg: &mut Vec<u8>, ty: u16, data: &[u8]) {
    let len = 4 + data.len();
    msg.extend_from_slice(&(len as u16).to_ne_bytes());
    msg.extend_from_slice(&ty.to_ne_bytes());
    msg.extend_from_slice(data);
    msg.resize(align(msg.len()), 0);
}

impl Nflog {
    /// A socket bound to log `group`, copying only the packets' metadata.
    pub(crate) fn bind(group: u16) -> io::Result<Nflog> {
        // SAFETY: plain socket creation; the descriptor is owned at once.
        let raw = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                libc::NETLINK_NETFILTER,
            )
        };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a fresh descriptor nothing else owns.
        let log = Nflog {
            fd: unsafe { OwnedFd::from_raw_fd(raw) },
        };
        // Room for every message of a capture, should the reader fall behind.
        let size: libc::c_int = 8 << 20;
        // SAFETY: the option value is a c_int of the size given.
        unsafe {
            libc::setsockopt(
                raw,
                libc::SOL_SOCKET,
                libc::SO_RCVBUFFORCE,
                &size as *const _ as *const libc::c_void,
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
        }
        log.config(
            group,
            libc::NFULA_CFG_CMD as u16,
            &[libc::NFULNL_CFG_CMD_BIND as u8],
        )?;
        // Copy range (be32) and mode: each packet's first bytes, enough for its
        // addresses and ports (see `Logged::payload`).
        let mut mode = (COPY_BYTES as u32).to_be_bytes().to_vec();
        mode.extend_from_slice(&[libc::NFULNL_COPY_PACKET as u8, 0]);
        log.config(group, libc::NFULA_CFG_MODE as u16, &mode)?;
        // Each packet is sent up as it is logged, not held for a batch.
        log.config(group, libc::NFULA_CFG_QTHRESH as u16, &1u32.to_be_bytes())?;
        Ok(log)
    }

    /// Sends one configuration attribute for `group` and waits for the kernel's answer.
    fn config(&self, group: u16, ty: u16, data: &[u8]) -> io::Result<()> {
        let mut msg = vec![0u8; NLMSG_HDR];
        // nfgenmsg: family unspecified, version 0, the group as resource id.
        msg.extend_from_slice(&[libc::AF_UNSPEC as u8, 0]);
        msg.extend_from_slice(&group.to_be_bytes());
        attr(&mut msg, ty, data);
        let len = msg.len() as u32;
        let kind = ((libc::NFNL_SUBSYS_ULOG as u16) << 8) | libc::NFULNL_MSG_CONFIG as u16;
        let flags = (libc::NLM_F_REQUEST | libc::NLM_F_ACK) as u16;
        msg[0..4].copy_from_slice(&len.to_ne_bytes());
        msg[4..6].copy_from_slice(&kind.to_ne_bytes());
        msg[6..8].copy_from_slice(&flags.to_ne_bytes());
        // SAFETY: `msg` is a valid buffer of `msg.len()` bytes; the kernel is the
        // destination of an unaddressed netlink send.
        let n = unsafe {
            libc::send(
                self.fd.as_raw_fd(),
                msg.as_ptr() as *const libc::c_void,
                msg.len(),
                0,
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut buf = [0u8; 4096];
        let n = self.recv(&mut buf, 0)?;
        // The answer is an error message; code 0 acknowledges.
        if n >= NLMSG_HDR + 4 && u16::from_ne_bytes([buf[4], buf[5]]) == libc::NLMSG_ERROR as u16 {
            let code = i32::from_ne_bytes([buf[16], buf[17], buf[18], buf[19]]);
            if code != 0 {
                return Err(io::Error::from_raw_os_error(-code));
            }
        }
        Ok(())
    }

    fn recv(&self, buf: &mut [u8], flags: libc::c_int) -> io::Result<usize> {
        // SAFETY: `buf` is writable for its length.
        let n = unsafe {
            libc::recv(
                self.fd.as_raw_fd(),
                buf.as_mut_ptr() as *mut libc::c_void,
                buf.len(),
                flags,
            )
        };
        if n < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(n as usize)
        }
    }

    /// As [`drain`](Self::drain), after waiting up to `ms` milliseconds for the first.
    pub(crate) fn wait(&self, ms: i32) -> Vec<Logged> {
        let mut pfd = libc::pollfd {
            fd: self.fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        unsafe { libc::poll(&mut pfd, 1, ms) };
        self.drain()
    }

    /// The packets logged since the last call, in order (reading without waiting: the
    /// kernel logs a packet sent from this namespace before the send returns).
    pub(crate) fn drain(&self) -> Vec<Logged> {
        let mut out = Vec::new();
        let mut buf = vec![0u8; 1 << 16];
        while let Ok(n) = self.recv(&mut buf, libc::MSG_DONTWAIT) {
            let mut at = 0;
            while at + NLMSG_HDR <= n {
                let len = u32::from_ne_bytes(buf[at..at + 4].try_into().unwrap()) as usize;
                if len < NLMSG_HDR || at + len > n {
                    break;
                }
                if let Some(l) = logged(&buf[at + NLMSG_HDR..at + len]) {
                    out.push(l);
                }
                at += align(len);
            }
        }
        out
    }
}

/// The prefix (`NFULA_PREFIX`) and packet (`NFULA_PAYLOAD`) of one packet message's
/// body (after its netlink header); none without a prefix.
fn logged(body: &[u8]) -> Option<Logged> {
    let mut at = NFGEN_HDR;
    let (mut prefix, mut payload) = (None, Vec::new());
    while at + 4 <= body.len() {
        let len = u16::from_ne_bytes([body[at], body[at + 1]]) as usize;
        let ty = u16::from_ne_bytes([body[at + 2], body[at + 3]]) & 0x7fff;
        if len < 4 || at + len > body.len() {
            break;
        }
        let value = &body[at + 4..at + len];
        if ty == libc::NFULA_PREFIX as u16 {
            let s = value.split(|&b| b == 0).next().unwrap_or(value);
            prefix = Some(String::from_utf8_lossy(s).into_owned());
        } else if ty == libc::NFULA_PAYLOAD as u16 {
            payload = value.to_vec();
        }
        at += align(len);
    }
    prefix.map(|prefix| Logged { prefix, payload })
}
