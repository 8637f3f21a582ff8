//! Router mode keeps the kernel's own stack off the routed interfaces: an nf_tables
//! table of the netdev family whose ingress chain on each interface drops every frame.
//! Packet sockets see a frame before the ingress hook, so the engine still gets them
//! all; the kernel does not (where it holds the router's addresses, on the host's TAP,
//! it would otherwise answer the router's own traffic, resetting the connections the
//! router masquerades). The table belongs to the engine's netlink socket (the
//! `owner` flag): the kernel removes it when the socket closes, whatever ends the run.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// `NETLINK_NETFILTER`.
const NETLINK_NETFILTER: libc::c_int = 12;
/// `NFNL_SUBSYS_NFTABLES`.
const SUBSYS_NFTABLES: u16 = 10;
/// `NFNL_MSG_BATCH_BEGIN`, `NFNL_MSG_BATCH_END`.
const BATCH_BEGIN: u16 = 16;
const BATCH_END: u16 = 17;
/// `NFT_MSG_NEWTABLE`, `NFT_MSG_NEWCHAIN`.
const NEWTABLE: u16 = 0;
const NEWCHAIN: u16 = 3;
/// `NFPROTO_NETDEV`.
const FAMILY_NETDEV: u8 = 5;
/// Table attributes: name, flags; the `owner` flag.
const TABLE_NAME: u16 = 1;
const TABLE_FLAGS: u16 = 2;
const TABLE_F_OWNER: u32 = 2;
/// Chain attributes: table, name, hook (nested), policy, type.
const CHAIN_TABLE: u16 = 1;
const CHAIN_NAME: u16 = 3;
const CHAIN_HOOK: u16 = 4;
const CHAIN_POLICY: u16 = 5;
const CHAIN_TYPE: u16 = 7;
/// Hook attributes: number, priority, device.
const HOOK_NUM: u16 = 1;
const HOOK_PRIORITY: u16 = 2;
const HOOK_DEV: u16 = 3;
/// `NF_NETDEV_INGRESS`, `NF_DROP`.
const NETDEV_INGRESS: u32 = 0;
const VERDICT_DROP: u32 = 0;
/// `NLA_F_NESTED`.
const NESTED: u16 = 0x8000;
/// Netlink message flags.
const F_REQUEST: u16 = 1;
const F_ACK: u16 = 4;
const F_EXCL: u16 = 0x200;
const F_CREATE: u16 = 0x400;
/// `NLMSG_ERROR`.
const MSG_ERROR: u16 = 2;

/// The table's name.
pub const TABLE: &str = "brickwall-router";

/// The ingress drop, in force while this lives.
pub struct IngressDrop {
    _sock: OwnedFd,
}

/// A netlink message being built: header, `nfgenmsg`, attributes.
struct Msg {
    b: Vec<u8>,
    /// Where each open nested attribute starts.
    open: Vec<usize>,
}

impl Msg {
    fn new(kind: u16, flags: u16, seq: u32, family: u8, res_id: u16) -> Msg {
        let mut b = Vec::with_capacity(256);
        b.extend_from_slice(&0u32.to_ne_bytes()); // length, set at the end
        b.extend_from_slice(&kind.to_ne_bytes());
        b.extend_from_slice(&flags.to_ne_bytes());
        b.extend_from_slice(&seq.to_ne_bytes());
        b.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel's
        b.extend_from_slice(&[family, 0]);
        b.extend_from_slice(&res_id.to_be_bytes());
        Msg {
            b,
            open: Vec::new(),
        }
    }

    fn attr(&mut self, kind: u16, value: &[u8]) -> &mut Msg {
        let len = (4 + value.len()) as u16;
        self.b.extend_from_slice(&len.to_ne_bytes());
        self.b.extend_from_slice(&kind.to_ne_bytes());
        self.b.extend_from_slice(value);
        while !self.b.len().is_multiple_of(4) {
            self.b.push(0);
        }
        self
    }

    fn str(&mut self, kind: u16, s: &str) -> &mut Msg {
        let mut v = s.as_bytes().to_vec();
        v.push(0);
        self.attr(kind, &v)
    }

    fn u32(&mut self, kind: u16, v: u32) -> &mut Msg {
        self.attr(kind, &v.to_be_bytes())
    }

    fn nest(&mut self, kind: u16) -> &mut Msg {
        self.open.push(self.b.len());
        self.b.extend_from_slice(&0u16.to_ne_bytes());
        self.b.extend_from_slice(&(kind | NESTED).to_ne_bytes());
        self
    }

    fn end_nest(&mut self) -> &mut Msg {
        if let Some(at) = self.open.pop() {
            let len = (self.b.len() - at) as u16;
            self.b[at..at + 2].copy_from_slice(&len.to_ne_bytes());
        }
        self
    }

    fn finish(mut self) -> Vec<u8> {
        let len = self.b.len() as u32;
        self.b[..4].copy_from_slice(&len.to_ne_bytes());
        self.b
    }
}

/// Installs the drop on the ingress of `devices` (interface names). The error names
/// what the kernel refused.
pub fn drop_ingress(devices: &[String]) -> io::Result<IngressDrop> {
    // SAFETY: plain socket(2); the descriptor is owned at once.
    let fd = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            NETLINK_NETFILTER,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor nothing else owns.
    let sock = unsafe { OwnedFd::from_raw_fd(fd) };
    let nft = |m: u16| (SUBSYS_NFTABLES << 8) | m;
    let mut batch = Msg::new(BATCH_BEGIN, F_REQUEST, 1, 0, SUBSYS_NFTABLES).finish();
    let mut t = Msg::new(
        nft(NEWTABLE),
        F_REQUEST | F_ACK | F_CREATE | F_EXCL,
        2,
        FAMILY_NETDEV,
        0,
    );
    t.str(TABLE_NAME, TABLE).u32(TABLE_FLAGS, TABLE_F_OWNER);
    batch.extend(t.finish());
    for (k, dev) in devices.iter().enumerate() {
        let mut c = Msg::new(
            nft(NEWCHAIN),
            F_REQUEST | F_ACK | F_CREATE,
            3 + k as u32,
            FAMILY_NETDEV,
            0,
        );
        c.str(CHAIN_TABLE, TABLE)
            .str(CHAIN_NAME, &format!("in-{dev}"))
            .nest(CHAIN_HOOK)
            .u32(HOOK_NUM, NETDEV_INGRESS)
            .u32(HOOK_PRIORITY, 0)
            .str(HOOK_DEV, dev)
            .end_nest()
            .u32(CHAIN_POLICY, VERDICT_DROP)
            .str(CHAIN_TYPE, "filter");
        batch.extend(c.finish());
    }
    let last = 3 + devices.len() as u32;
    batch.extend(Msg::new(BATCH_END, F_REQUEST, last, 0, SUBSYS_NFTABLES).finish());
    // SAFETY: sending our buffer on our socket; a zeroed sockaddr_nl is the kernel.
    let sent = unsafe {
        let mut to: libc::sockaddr_nl = std::mem::zeroed();
        to.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        libc::sendto(
            sock.as_raw_fd(),
            batch.as_ptr() as *const libc::c_void,
            batch.len(),
            0,
            &to as *const libc::sockaddr_nl as *const libc::sockaddr,
            std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
        )
    };
    if sent < 0 {
        return Err(io::Error::last_os_error());
    }
    // One acknowledgement per table and chain, or the first error.
    let mut acked = 0;
    let mut buf = vec![0u8; 8192];
    while acked < 1 + devices.len() {
        // SAFETY: receiving into our buffer.
        let n = unsafe {
            libc::recv(
                sock.as_raw_fd(),
                buf.as_mut_ptr() as *mut libc::c_void,
                buf.len(),
                0,
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut at = 0;
        let n = n as usize;
        // Every read below lies inside this message (`at + len <= n`).
        let word = |at: usize| -> u32 {
            let b = buf.get(at..at + 4).unwrap_or(&[0; 4]);
            u32::from_ne_bytes([b[0], b[1], b[2], b[3]])
        };
        while at + 16 <= n {
            let len = word(at) as usize;
            let kind = u16::from_ne_bytes([buf[at + 4], buf[at + 5]]);
            if len < 16 || at + len > n {
                break;
            }
            if kind == MSG_ERROR && len >= 20 {
                let err = word(at + 16) as i32;
                if err != 0 {
                    let e = io::Error::from_raw_os_error(-err);
                    // The refused message's header follows: its sequence number.
                    let seq = if len >= 32 { word(at + 28) } else { 0 };
                    let what = match seq.checked_sub(3).and_then(|k| devices.get(k as usize)) {
                        Some(d) => format!("the ingress chain on {d}"),
                        None => format!("table netdev {TABLE}"),
                    };
                    return Err(io::Error::new(
                        e.kind(),
                        format!("nf_tables refused {what}: {e}"),
                    ));
                }
                acked += 1;
            }
            at += (len + 3) & !3;
        }
    }
    Ok(IngressDrop { _sock: sock })
}
