//! The engine side of the host API: the functions plugins call back into (logging,
//! report notes, datagram replacement, injection at LOCAL_OUT, importing services,
//! interface addresses).

use crate::packet::Packet;
use crate::pipeline::fib::Fib;
use crate::plugin::services::{host_import, ServiceRegistry};
use brickwall_hooks::abi::{HostApi, ABI_VERSION};
use brickwall_hooks::PacketView;
use std::ffi::c_void;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// Datagrams plugins injected, waiting for the pipeline to send them through LOCAL_OUT.
#[derive(Default)]
pub struct Injector {
    pending: Mutex<Vec<Vec<u8>>>,
    replies: Mutex<Vec<Reply>>,
}

/// A datagram answering a packet (`PacketView::reply`): where the packet came in, and
/// its link header turned around (empty when it had none), to send the answer back on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// The interface the answered packet came in on.
    pub iif: u32,
    /// Its Ethernet header (VLAN tags kept) with the addresses swapped, or nothing.
    pub link: Vec<u8>,
    /// The answer.
    pub datagram: Vec<u8>,
}

impl Injector {
    /// Most datagrams waiting at once; more are refused.
    pub const LIMIT: usize = 65_536;

    /// Queues a datagram; false when the queue is full.
    pub fn push(&self, datagram: Vec<u8>) -> bool {
        let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        if p.len() >= Self::LIMIT {
            return false;
        }
        p.push(datagram);
        true
    }

    /// Takes everything waiting.
    pub fn take(&self) -> Vec<Vec<u8>> {
        std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Queues an answer to a packet; false when the queue is full.
    pub fn push_reply(&self, r: Reply) -> bool {
        let mut p = self.replies.lock().unwrap_or_else(|e| e.into_inner());
        if p.len() >= Self::LIMIT {
            return false;
        }
        p.push(r);
        true
    }

    /// Takes every answer waiting.
    pub fn take_replies(&self) -> Vec<Reply> {
        std::mem::take(&mut *self.replies.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// The host table plus what its context pointers point at. Plugins keep an `Arc` of it
/// so the table outlives every plugin that holds its address.
pub struct HostShared {
    api: Box<HostApi>,
    /// Where injected datagrams wait.
    pub injector: Arc<Injector>,
    /// The services loaded plugins export.
    pub services: Arc<ServiceRegistry>,
    /// The directory of the config the plugins come from.
    config_dir: Arc<Mutex<std::path::PathBuf>>,
    /// Router mode's forwarding table (the interfaces' addresses), held for
    /// `interface_address_ctx`, which points at it.
    _fib: Arc<Option<Arc<Fib>>>,
}

// The table is immutable; the injector is synchronised.
unsafe impl Send for HostShared {}
unsafe impl Sync for HostShared {}

impl HostShared {
    /// A host table whose injections go to a new injector, with no interface
    /// addresses.
    pub fn new() -> Arc<HostShared> {
        HostShared::with_fib(None)
    }

    /// A host table whose interface addresses are those of router mode's `fib`.
    pub fn with_fib(fib: Option<Arc<Fib>>) -> Arc<HostShared> {
        let fib = Arc::new(fib);
        let injector = Arc::new(Injector::default());
        let services = Arc::new(ServiceRegistry::default());
        let config_dir = Arc::new(Mutex::new(std::path::PathBuf::from(".")));
        let api = Box::new(HostApi {
            abi_version: ABI_VERSION,
            size: std::mem::size_of::<HostApi>() as u32,
            log: host_log,
            annotate: host_annotate,
            replace_datagram: host_replace_datagram,
            inject: host_inject,
            inject_ctx: Arc::as_ptr(&injector) as *mut c_void,
            import: Some(host_import),
            import_ctx: Arc::as_ptr(&services) as *mut c_void,
            config_dir: Some(host_config_dir),
            config_dir_ctx: Arc::as_ptr(&config_dir) as *mut c_void,
            interface_address: Some(host_interface_address),
            interface_address_ctx: Arc::as_ptr(&fib) as *mut c_void,
            reply: Some(host_reply),
            reply_ctx: Arc::as_ptr(&injector) as *mut c_void,
        });
        Arc::new(HostShared {
            api,
            injector,
            services,
            config_dir,
            _fib: fib,
        })
    }

    /// Sets the directory of the config plugins are loaded from (before they load).
    pub fn set_config_dir(&self, dir: &std::path::Path) {
        *self.config_dir.lock().unwrap_or_else(|e| e.into_inner()) = dir.to_path_buf();
    }

    /// The table's address, as given to plugins and packet views.
    pub fn api(&self) -> *const HostApi {
        &*self.api
    }
}

fn lossy(ptr: *const u8, len: usize) -> String {
    if ptr.is_null() {
        return String::new();
    }
    // SAFETY: the caller passes a readable buffer of `len` bytes.
    String::from_utf8_lossy(unsafe { std::slice::from_raw_parts(ptr, len) }).into_owned()
}

extern "C" fn host_log(
    level: u8,
    plugin: *const u8,
    plugin_len: usize,
    msg: *const u8,
    msg_len: usize,
) {
    let plugin = lossy(plugin, plugin_len);
    let msg = lossy(msg, msg_len);
    match level {
        0 => tracing::error!("plugin {plugin}: {msg}"),
        1 => tracing::warn!("plugin {plugin}: {msg}"),
        2 => tracing::info!("plugin {plugin}: {msg}"),
        _ => tracing::debug!("plugin {plugin}: {msg}"),
    }
}

/// The engine packet a view belongs to, when the pipeline set `host_ctx`: a raw
/// pointer, checked to be the packet whose `view` field `pkt` is. No reference to the
/// whole packet is made from it while a plugin holds its view: the host's functions
/// reach the packet's other fields through it, and the view through `pkt`.
fn packet_of(pkt: *mut PacketView) -> Option<*mut Packet> {
    if pkt.is_null() {
        return None;
    }
    // SAFETY: `pkt` is the view the plugin was handed (non-null); reading its
    // `host_ctx` field goes through the plugin's own pointer. The comparison takes the
    // address of the packet's `view` field without making a reference to it.
    unsafe {
        let ctx = (*pkt).host_ctx() as *mut Packet;
        if ctx.is_null() || !std::ptr::eq(std::ptr::addr_of!((*ctx).view), pkt) {
            return None;
        }
        Some(ctx)
    }
}

extern "C" fn host_reply(
    ctx: *mut c_void,
    pkt: *mut PacketView,
    data: *const u8,
    len: usize,
) -> i32 {
    if ctx.is_null() || data.is_null() || len > u16::MAX as usize {
        return -1;
    }
    // SAFETY: `ctx` is the injector of a live `HostShared` (plugins hold an `Arc` of it).
    let injector = unsafe { &*(ctx as *const Injector) };
    // SAFETY: the plugin passes a readable buffer of `len` bytes.
    let datagram = unsafe { std::slice::from_raw_parts(data, len) }.to_vec();
    let (iif, link) = match packet_of(pkt) {
        // SAFETY: `p` is this callback's live packet (checked by `packet_of`); only its
        // plain fields and bytes are read.
        Some(p) => unsafe {
            let p = &*p;
            let l3 = usize::from(p.view.l3_off);
            let mut link = Vec::new();
            if p.link == brickwall_wire::LinkType::Ethernet && l3 >= 14 && p.bytes().len() >= l3 {
                link.extend_from_slice(&p.bytes()[..l3]);
                let (dst, src) = link.split_at_mut(6);
                dst.swap_with_slice(&mut src[..6]);
            }
            (p.view.iif, link)
        },
        None => (0, Vec::new()),
    };
    if injector.push_reply(Reply {
        iif,
        link,
        datagram,
    }) {
        0
    } else {
        -1
    }
}

extern "C" fn host_interface_address(
    ctx: *mut c_void,
    ifindex: u32,
    toward: *const u8,
    toward_len: usize,
    out: *mut u8,
) -> usize {
    if ctx.is_null() || toward.is_null() || out.is_null() {
        return 0;
    }
    // SAFETY: `ctx` is the forwarding table of a live `HostShared` (plugins hold an
    // `Arc` of it); `toward` is readable for `toward_len` bytes and `out` writable for
    // 16, as the ABI says.
    let (fib, toward) = unsafe {
        (
            &*(ctx as *const Option<Arc<Fib>>),
            std::slice::from_raw_parts(toward, toward_len),
        )
    };
    let toward = match toward_len {
        4 => IpAddr::from(<[u8; 4]>::try_from(toward).unwrap_or_default()),
        16 => IpAddr::from(<[u8; 16]>::try_from(toward).unwrap_or_default()),
        _ => return 0,
    };
    let Some(addr) = fib.as_ref().and_then(|f| f.source_on(ifindex, toward)) else {
        return 0;
    };
    let (bytes, n) = match addr {
        IpAddr::V4(a) => {
            let mut b = [0u8; 16];
            b[..4].copy_from_slice(&a.octets());
            (b, 4)
        }
        IpAddr::V6(a) => (a.octets(), 16),
    };
    // SAFETY: `out` holds 16 bytes (the ABI), and `n` is at most 16.
    unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), out, n) };
    n
}

extern "C" fn host_config_dir(ctx: *mut c_void, out: *const brickwall_hooks::abi::Writer) {
    if ctx.is_null() || out.is_null() {
        return;
    }
    // SAFETY: `ctx` is the config directory of a live `HostShared` (plugins hold an
    // `Arc` of it); `out` is the plugin's writer, valid for the call.
    let (dir, out) = unsafe { (&*(ctx as *const Mutex<std::path::PathBuf>), &*out) };
    use std::os::unix::ffi::OsStrExt;
    let dir = dir.lock().unwrap_or_else(|e| e.into_inner()).clone();
    out.put(dir.as_os_str().as_bytes());
}

extern "C" fn host_annotate(
    pkt: *mut PacketView,
    key: *const u8,
    key_len: usize,
    val: *const u8,
    val_len: usize,
) {
    if let Some(p) = packet_of(pkt) {
        // SAFETY: `p` is the live packet of this callback; only its `notes` field is
        // borrowed, which no one else borrows during the call.
        let notes = unsafe { &mut *std::ptr::addr_of_mut!((*p).notes) };
        if notes.len() < 64 {
            notes.push((lossy(key, key_len), lossy(val, val_len)));
        }
    }
}

extern "C" fn host_replace_datagram(pkt: *mut PacketView, data: *const u8, len: usize) -> i32 {
    let Some(p) = packet_of(pkt) else { return -1 };
    if data.is_null() || len > u16::MAX as usize {
        return -1;
    }
    // SAFETY: the plugin passes a readable buffer of `len` bytes.
    let bytes = unsafe { std::slice::from_raw_parts(data, len) }.to_vec();
    // SAFETY: `p` is this callback's live packet and `pkt` its view (checked by
    // `packet_of`), handed over by the plugin for the call.
    match unsafe { Packet::replace_datagram_under(p, &mut *pkt, &bytes) } {
        Ok(()) => 0,
        Err(_) => -1,
    }
}

extern "C" fn host_inject(ctx: *mut c_void, data: *const u8, len: usize) -> i32 {
    if ctx.is_null() || data.is_null() || len > u16::MAX as usize {
        return -1;
    }
    // SAFETY: `ctx` is the injector of a live `HostShared` (plugins hold an `Arc` of it).
    let injector = unsafe { &*(ctx as *const Injector) };
    // SAFETY: the plugin passes a readable buffer of `len` bytes.
    let bytes = unsafe { std::slice::from_raw_parts(data, len) }.to_vec();
    if injector.push(bytes) {
        0
    } else {
        -1
    }
}
