//! The versioned C ABI between the engine and plugins.
//!
//! A plugin is a shared object that exports [`ENTRY_SYMBOL`], a function returning a
//! pointer to a static [`PluginDescriptor`]. The engine refuses a descriptor whose
//! `abi_version` lies outside [`ABI_VERSION_MIN`] to [`ABI_VERSION`]. Everything that
//! crosses the boundary is `#[repr(C)]`; strings are pointer and length; buffers flow
//! back through a [`Writer`] so that no allocation is ever freed by the other side's
//! allocator.

use crate::packet::PacketView;
use crate::services::{ImportFn, ServiceExportRaw, ServiceFn, ServiceImportRaw};
use crate::verdict::RawVerdict;
use std::ffi::c_void;

/// Version of this ABI. Bumped on any incompatible change, and when a plugin may rely on
/// a new behaviour of the engine: version 2 added bursts ([`PluginDescriptor::on_burst`]).
pub const ABI_VERSION: u32 = 2;

/// The oldest plugin ABI the engine still loads: a version-1 plugin gets one packet at a
/// time, as it was built to.
pub const ABI_VERSION_MIN: u32 = 1;

/// Most packets the engine hands a burst callback at once.
pub const MAX_BURST: usize = 64;

/// Name of the symbol a plugin shared object exports (NUL-terminated for `dlsym`).
pub const ENTRY_SYMBOL: &[u8] = b"brickwall_plugin_entry\0";

/// Signature of the exported entry point.
pub type EntryFn = unsafe extern "C" fn() -> *const PluginDescriptor;

/// The per-packet callback: plugin state, the id of the registration that fired, the packet.
pub type HookFn = extern "C" fn(state: *mut c_void, op: u32, pkt: *mut PacketView) -> RawVerdict;

/// The batch callback: plugin state and the packets of a batch (`n` views), before any
/// of them enters its first hook. See [`PluginDescriptor::prepare_batch`].
pub type BatchFn = extern "C" fn(state: *mut c_void, pkts: *const *const PacketView, n: usize);

/// The burst callback (ABI 2): plugin state, the registration id, `n` packets (at most
/// [`MAX_BURST`], distinct, in arrival order) and room for their `n` verdicts. The
/// plugin decides the packets in order, writes the verdicts of the first `k` and returns
/// `k` (1 to `n`). Returning `k < n` asks the engine to finish the first `k` packets'
/// walk through every later hook before the rest meet this callback again: a plugin
/// stops where a later packet depends on what later hooks do to an earlier one (two
/// packets of one new connection, for conntrack). See [`PluginDescriptor::on_burst`].
pub type BurstFn = extern "C" fn(
    state: *mut c_void,
    op: u32,
    pkts: *const *mut PacketView,
    verdicts: *mut RawVerdict,
    n: usize,
) -> usize;

/// A borrowed UTF-8 string (not NUL-terminated).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BwStr {
    /// First byte.
    pub ptr: *const u8,
    /// Length in bytes.
    pub len: usize,
}

impl BwStr {
    /// Borrows a `'static` string.
    pub const fn from_static(s: &'static str) -> BwStr {
        BwStr {
            ptr: s.as_ptr(),
            len: s.len(),
        }
    }

    /// Copies the string out, replacing invalid UTF-8; empty for a null pointer.
    ///
    /// # Safety
    /// `ptr[..len]` must be readable.
    pub unsafe fn to_string_lossy(&self) -> String {
        if self.ptr.is_null() {
            return String::new();
        }
        String::from_utf8_lossy(std::slice::from_raw_parts(self.ptr, self.len)).into_owned()
    }
}

/// A hook a plugin registers at: which hook, family, default priority, and the `op` id
/// passed back to the callback so one plugin can tell its registrations apart.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct HookSpecRaw {
    /// [`crate::Hook`] value.
    pub hook: u8,
    /// [`crate::FamilySel`] value.
    pub family: u8,
    /// Reserved, zero.
    pub _pad: [u8; 2],
    /// Default priority (the config may override it).
    pub priority: i32,
    /// Passed to the callback as `op`.
    pub op: u32,
    /// Short name of this registration, shown by `brickwall hooks` (e.g. `conntrack-in`).
    pub name: BwStr,
}

/// A sink for bytes the plugin hands back (control responses, error messages).
#[repr(C)]
pub struct Writer {
    /// Appends `len` bytes at `ptr` to the sink.
    pub write: extern "C" fn(ctx: *mut c_void, ptr: *const u8, len: usize),
    /// The sink's own context.
    pub ctx: *mut c_void,
}

impl Writer {
    /// A writer appending to `out`, for the duration of one call that is handed it.
    pub fn to_vec(out: &mut Vec<u8>) -> Writer {
        Writer {
            write: append_to_vec,
            ctx: out as *mut Vec<u8> as *mut c_void,
        }
    }

    /// Appends bytes.
    pub fn put(&self, bytes: &[u8]) {
        (self.write)(self.ctx, bytes.as_ptr(), bytes.len())
    }
}

extern "C" fn append_to_vec(ctx: *mut c_void, ptr: *const u8, len: usize) {
    if ctx.is_null() || ptr.is_null() {
        return;
    }
    // SAFETY: `ctx` is the `Vec<u8>` of the `Writer::to_vec` whose writer the callee was
    // handed, alive for the call; `ptr[..len]` is readable for the call.
    unsafe { (*(ctx as *mut Vec<u8>)).extend_from_slice(std::slice::from_raw_parts(ptr, len)) };
}

/// Services the engine offers plugins. Appended to, never reordered; `size` tells how
/// much of it the engine provides.
#[repr(C)]
pub struct HostApi {
    /// The engine's ABI version.
    pub abi_version: u32,
    /// `size_of::<HostApi>()` as the engine compiled it.
    pub size: u32,
    /// Logs a message at a level (0 error, 1 warn, 2 info, 3 debug) for a plugin.
    pub log: extern "C" fn(
        level: u8,
        plugin: *const u8,
        plugin_len: usize,
        msg: *const u8,
        msg_len: usize,
    ),
    /// Attaches a note to a packet for the report (see [`PacketView::annotate`]).
    pub annotate: extern "C" fn(
        pkt: *mut PacketView,
        key: *const u8,
        key_len: usize,
        val: *const u8,
        val_len: usize,
    ),
    /// Replaces the packet's datagram; 0 on success (see [`PacketView::replace_datagram`]).
    pub replace_datagram: extern "C" fn(pkt: *mut PacketView, data: *const u8, len: usize) -> i32,
    /// Injects a locally generated IP datagram; it enters at LOCAL_OUT. 0 on success.
    pub inject: extern "C" fn(host_ctx: *mut c_void, data: *const u8, len: usize) -> i32,
    /// The engine's context for `inject`.
    pub inject_ctx: *mut c_void,
    /// Imports a service at init (see [`crate::services`]). Appended to ABI 1: present
    /// when `size` reaches past it.
    pub import: Option<ImportFn>,
    /// The engine's context for `import`.
    pub import_ctx: *mut c_void,
    /// Writes the directory of the config the plugin was loaded from (relative paths
    /// in its section are relative to it) to `out`. Appended to ABI 1.
    pub config_dir: Option<extern "C" fn(ctx: *mut c_void, out: *const Writer)>,
    /// The engine's context for `config_dir`.
    pub config_dir_ctx: *mut c_void,
    /// Writes the engine's own address on interface `ifindex` of the family of `toward`
    /// (4 or 16 bytes; of several, the one whose prefix holds `toward`) to `out` (16
    /// bytes) and returns its length; 0 when it has none there (a bridge has no
    /// addresses on its ports). What `masquerade` and `redirect` translate to. Appended
    /// to ABI 2 (see [`PacketView::interface_address`]).
    pub interface_address: Option<
        extern "C" fn(
            ctx: *mut c_void,
            ifindex: u32,
            toward: *const u8,
            toward_len: usize,
            out: *mut u8,
        ) -> usize,
    >,
    /// The engine's context for `interface_address`.
    pub interface_address_ctx: *mut c_void,
    /// Sends `data` (an IP datagram answering the packet `pkt`, e.g. a reject's TCP
    /// reset) back toward the packet's sender: it enters at LOCAL_OUT as `inject`'s,
    /// and a bridge sends it out of the interface the packet came in on, the packet's
    /// link header turned around. 0 on success. Appended to ABI 2 (see
    /// [`PacketView::reply`]).
    pub reply: Option<
        extern "C" fn(ctx: *mut c_void, pkt: *mut PacketView, data: *const u8, len: usize) -> i32,
    >,
    /// The engine's context for `reply`.
    pub reply_ctx: *mut c_void,
}

/// Size of a host table without the fields appended to ABI 1 since.
pub const HOST_API_MIN_SIZE: usize = std::mem::offset_of!(HostApi, import);

unsafe impl Sync for HostApi {}
unsafe impl Send for HostApi {}

/// Functions of a plugin.
#[repr(C)]
pub struct PluginVTable {
    /// Creates the plugin's state from its config section (JSON text). Returns 0 and sets
    /// `*state`, or non-zero with a message written to `err`.
    pub init: extern "C" fn(
        config: *const u8,
        config_len: usize,
        host: *const HostApi,
        state: *mut *mut c_void,
        err: *const Writer,
    ) -> i32,
    /// The per-packet callback.
    pub on_packet: HookFn,
    /// Handles a control request; writes the response to `out`. Returns 0, or non-zero
    /// with an error message written to `out`.
    pub control: extern "C" fn(
        state: *mut c_void,
        req: *const u8,
        req_len: usize,
        out: *const Writer,
    ) -> i32,
    /// Releases the state. Called once, after the last callback.
    pub shutdown: extern "C" fn(state: *mut c_void),
}

/// What a plugin's entry point returns.
#[repr(C)]
pub struct PluginDescriptor {
    /// [`ABI_VERSION`] as the plugin was built; the engine loads [`ABI_VERSION_MIN`] to
    /// [`ABI_VERSION`].
    pub abi_version: u32,
    /// `size_of::<PluginDescriptor>()` as the plugin compiled it.
    pub size: u32,
    /// The plugin's name (unique among loaded plugins).
    pub name: BwStr,
    /// The plugin's own version string.
    pub version: BwStr,
    /// [`crate::FailurePolicy`] value applied when a callback panics.
    pub failure_policy: u8,
    /// Reserved, zero.
    pub _pad: [u8; 7],
    /// Registrations, `n_hooks` of them.
    pub hooks: *const HookSpecRaw,
    /// Number of registrations.
    pub n_hooks: usize,
    /// Names of the plugin's drop reasons; a DROP verdict's argument indexes this array.
    pub drop_reasons: *const BwStr,
    /// Number of drop reasons.
    pub n_drop_reasons: usize,
    /// The functions.
    pub vtable: PluginVTable,
    /// Optional: called with each batch of packets the engine received, before they
    /// walk the hooks one by one, so the plugin can prepare for them (hash, prefetch);
    /// not where the table walks bursts (a burst callback prepares its own burst).
    /// It may read the packets but not change them or decide anything. Appended to
    /// ABI 1: the engine reads it only when `size` reaches past it.
    pub prepare_batch: Option<BatchFn>,
    /// Services the plugin exports, `n_exports` of them (see [`crate::services`]).
    /// Appended to ABI 1, as are the fields after it.
    pub exports: *const ServiceExportRaw,
    /// Number of exported services.
    pub n_exports: usize,
    /// Services the plugin imports, `n_imports` of them.
    pub imports: *const ServiceImportRaw,
    /// Number of imported services.
    pub n_imports: usize,
    /// Hands out an exported service's table (by its `index`), called after init.
    pub service: Option<ServiceFn>,
    /// ABI 2, optional: decides a burst of packets at one registration (see
    /// [`BurstFn`]). The engine walks bursts hook by hook only where every callback of
    /// the table has one; elsewhere, and for a plugin of ABI 1, packets walk one at a
    /// time. A plugin that has it promises that the engine may run the next packets of
    /// a burst through its callbacks before the earlier ones have finished their walk,
    /// except where it cut the burst.
    pub on_burst: Option<BurstFn>,
}

/// Size of a descriptor without the fields appended to ABI 1 since: the smallest
/// `size` the engine accepts.
pub const DESCRIPTOR_MIN_SIZE: usize = std::mem::offset_of!(PluginDescriptor, prepare_batch);

impl PluginDescriptor {
    /// The first of the vtable's required functions that is null in the descriptor at
    /// `desc`, by name (a null function pointer cannot be read as a Rust `fn`).
    ///
    /// # Safety
    /// `desc` must point to at least [`DESCRIPTOR_MIN_SIZE`] readable bytes.
    pub unsafe fn null_function(desc: *const PluginDescriptor) -> Option<&'static str> {
        let base = std::mem::offset_of!(PluginDescriptor, vtable);
        let entries = [
            ("init", std::mem::offset_of!(PluginVTable, init)),
            ("on_packet", std::mem::offset_of!(PluginVTable, on_packet)),
            ("control", std::mem::offset_of!(PluginVTable, control)),
            ("shutdown", std::mem::offset_of!(PluginVTable, shutdown)),
        ];
        entries.into_iter().find_map(|(name, off)| {
            let at = (desc as *const u8).add(base + off) as *const *const c_void;
            at.read_unaligned().is_null().then_some(name)
        })
    }

    /// A copy of the descriptor at `desc`, which the plugin declared `size` bytes long:
    /// fields appended since its build (past `size`) read as absent.
    ///
    /// # Safety
    /// `desc` must point to `size` readable bytes of a descriptor, with `size` at least
    /// [`DESCRIPTOR_MIN_SIZE`].
    pub unsafe fn read_sized(desc: *const PluginDescriptor, size: usize) -> PluginDescriptor {
        // All zero bits is a valid value of every appended field (a null pointer, a
        // zero count, `None`), so zeroing the copy first leaves them absent.
        let mut copy = std::mem::MaybeUninit::<PluginDescriptor>::zeroed();
        let p = copy.as_mut_ptr();
        let n = size.clamp(DESCRIPTOR_MIN_SIZE, std::mem::size_of::<PluginDescriptor>());
        std::ptr::copy_nonoverlapping(desc as *const u8, p as *mut u8, n);
        // Every field up to `DESCRIPTOR_MIN_SIZE` came from the plugin; the appended
        // ones are the plugin's where the copy covered them, and zero otherwise.
        copy.assume_init()
    }
}

unsafe impl Sync for PluginDescriptor {}
unsafe impl Send for PluginDescriptor {}
