//! Writing a plugin in Rust: the [`Plugin`] trait, and the macros that turn an
//! implementation into a C-ABI descriptor
//! ([`declare_plugin!`](crate::declare_plugin)) and export it from a shared object
//! ([`export_plugin!`](crate::export_plugin)).
//!
//! Every call from the engine into the plugin goes through a wrapper that catches
//! panics, so a panic never unwinds across the FFI boundary: a panicking packet
//! callback reports [`RawVerdict::PANICKED`] and the engine applies the plugin's
//! failure policy.

use crate::abi::{
    BwStr, HookSpecRaw, HostApi, PluginDescriptor, PluginVTable, Writer, ABI_VERSION, MAX_BURST,
};
use crate::hook::{FamilySel, Hook};
use crate::packet::PacketView;
use crate::services::{
    ServiceExport, ServiceExportRaw, ServiceImport, ServiceImportRaw, ServiceRef, ServiceVersion,
};
use crate::verdict::{FailurePolicy, RawVerdict, Verdict};
use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// One registration of a plugin: where and at which default priority it runs.
#[derive(Clone, Copy, Debug)]
pub struct HookSpec {
    /// The hook.
    pub hook: Hook,
    /// The families.
    pub family: FamilySel,
    /// Default priority.
    pub priority: i32,
    /// Id passed back to [`Plugin::on_packet`].
    pub op: u32,
    /// Short name shown by `brickwall hooks`.
    pub name: &'static str,
}

impl HookSpec {
    /// A registration for both families (`inet`), as most are.
    pub const fn inet(hook: Hook, priority: i32, op: u32, name: &'static str) -> HookSpec {
        HookSpec {
            hook,
            family: FamilySel::Inet,
            priority,
            op,
            name,
        }
    }
}

/// Static facts about a plugin.
#[derive(Clone, Copy, Debug)]
pub struct PluginInfo {
    /// Unique name.
    pub name: &'static str,
    /// Version string.
    pub version: &'static str,
    /// What happens to a packet whose callback panics.
    pub failure_policy: FailurePolicy,
    /// Registrations.
    pub hooks: &'static [HookSpec],
    /// Drop reasons; `Verdict::Drop(i)` names `drop_reasons[i]`.
    pub drop_reasons: &'static [&'static str],
}

/// The engine's services, as seen by a Rust plugin.
#[derive(Clone, Copy)]
pub struct Host {
    api: *const HostApi,
    plugin: &'static str,
}

// The host table is immutable and lives as long as the engine.
unsafe impl Send for Host {}
unsafe impl Sync for Host {}

impl Host {
    /// Wraps the engine's table for a plugin named `plugin`.
    pub fn new(api: *const HostApi, plugin: &'static str) -> Host {
        Host { api, plugin }
    }

    /// Logs a message (level 0 error … 3 debug).
    pub fn log(&self, level: u8, msg: &str) {
        if self.api.is_null() {
            return;
        }
        // SAFETY: the engine keeps the table alive while plugins run.
        let api = unsafe { &*self.api };
        (api.log)(
            level,
            self.plugin.as_ptr(),
            self.plugin.len(),
            msg.as_ptr(),
            msg.len(),
        );
    }

    /// Imports service `name` of `version` or a compatible later one (see
    /// [`crate::services`]). Only at init, and only a service the plugin lists in
    /// [`Plugin::IMPORTS`].
    pub fn import(&self, name: &str, version: ServiceVersion) -> Result<ServiceRef, String> {
        if self.api.is_null() {
            return Err(format!("no host to import service `{name}` from"));
        }
        // SAFETY: as in `log`; the appended fields are read only when `size` covers them.
        let api = unsafe { &*self.api };
        let end = std::mem::offset_of!(HostApi, import_ctx) + std::mem::size_of::<*mut c_void>();
        let import = match api.import {
            Some(f) if api.size as usize >= end => f,
            _ => return Err(format!("this engine offers no services (wanted `{name}`)")),
        };
        let mut out = ServiceRef {
            table: std::ptr::null(),
            version,
        };
        if import(api.import_ctx, name.as_ptr(), name.len(), version, &mut out) != 0
            || out.table.is_null()
        {
            return Err(format!(
                "service `{name}` {version} is not available to plugin {} (is it listed \
                 in its imports, and loaded?)",
                self.plugin
            ));
        }
        Ok(out)
    }

    /// The directory of the config the plugin was loaded from: relative paths in its
    /// section are relative to it. `None` from an engine that does not say.
    pub fn config_dir(&self) -> Option<std::path::PathBuf> {
        if self.api.is_null() {
            return None;
        }
        // SAFETY: as in `log`; the appended fields are read only when `size` covers them.
        let api = unsafe { &*self.api };
        let end =
            std::mem::offset_of!(HostApi, config_dir_ctx) + std::mem::size_of::<*mut c_void>();
        let f = api.config_dir.filter(|_| api.size as usize >= end)?;
        let mut out: Vec<u8> = Vec::new();
        f(api.config_dir_ctx, &Writer::to_vec(&mut out));
        use std::os::unix::ffi::OsStringExt;
        Some(std::path::PathBuf::from(std::ffi::OsString::from_vec(out)))
    }

    /// Injects a locally generated IP datagram at LOCAL_OUT. Returns false if refused.
    pub fn inject(&self, datagram: &[u8]) -> bool {
        if self.api.is_null() {
            return false;
        }
        // SAFETY: as in `log`.
        let api = unsafe { &*self.api };
        (api.inject)(api.inject_ctx, datagram.as_ptr(), datagram.len()) == 0
    }
}

/// A packet-processing plugin. Callbacks may run concurrently on several worker threads.
pub trait Plugin: Send + Sync + Sized + 'static {
    /// Name, hooks, reasons and failure policy.
    const INFO: PluginInfo;

    /// Creates the plugin from its config section, given as JSON text (`null` if absent).
    fn init(config: &str, host: Host) -> Result<Self, String>;

    /// Decides on a packet at the registration `op`.
    fn on_packet(&self, op: u32, pkt: &mut PacketView) -> Verdict;

    /// Whether [`prepare_batch`](Plugin::prepare_batch) does anything (only then does
    /// the engine call it).
    const PREPARES_BATCH: bool = false;

    /// Prepares for a batch of packets about to walk the hooks one by one, in this
    /// order (e.g. hashes them and prefetches what their callbacks will read). Reads
    /// only: verdicts and metadata are the callbacks' business.
    fn prepare_batch(&self, pkts: &[&PacketView]) {
        let _ = pkts;
    }

    /// Whether [`on_burst`](Plugin::on_burst) is the plugin's own (only then does the
    /// engine walk bursts through it; see [`crate::abi::PluginDescriptor::on_burst`] for
    /// what a plugin promises by it).
    const BURSTS: bool = false;

    /// Decides a burst of packets at the registration `op`, in order: writes the
    /// verdicts of the first `k` packets and returns `k` (at least 1). Fewer than all
    /// means the rest wait until the first `k` have walked every later hook (see
    /// [`crate::abi::BurstFn`]). By default, each packet through
    /// [`on_packet`](Plugin::on_packet).
    fn on_burst(&self, op: u32, pkts: &mut [&mut PacketView], verdicts: &mut [Verdict]) -> usize {
        one_by_one(self, op, pkts, verdicts)
    }

    /// Services this plugin exports (see [`crate::services`]); the engine asks
    /// [`service`](Plugin::service) for each one's table after init.
    const EXPORTS: &'static [ServiceExport] = &[];

    /// Services this plugin imports: the engine loads their exporters first and
    /// refuses this plugin if one is missing or incompatible. Take them at init with
    /// [`Host::import`].
    const IMPORTS: &'static [ServiceImport] = &[];

    /// The table of export `index` (into [`EXPORTS`](Plugin::EXPORTS)): a pointer to
    /// the service's `#[repr(C)]` table that stays valid as long as the plugin lives.
    /// Called on the plugin at its final address, so the table may point back at it.
    fn service(&self, index: u32) -> *const c_void {
        let _ = index;
        std::ptr::null()
    }

    /// Answers a control request (the CLI's and dashboard's channel to the plugin).
    fn control(&self, request: &[u8], response: &mut Vec<u8>) -> Result<(), String> {
        let _ = (request, response);
        Err(format!(
            "plugin {} has no control interface",
            Self::INFO.name
        ))
    }
}

/// Decides a burst packet by packet through [`Plugin::on_packet`], uncut: the default
/// [`Plugin::on_burst`], and what a plugin's own falls back to for its other
/// registrations.
pub fn one_by_one<T: Plugin>(
    plugin: &T,
    op: u32,
    pkts: &mut [&mut PacketView],
    verdicts: &mut [Verdict],
) -> usize {
    for (pkt, v) in pkts.iter_mut().zip(verdicts.iter_mut()) {
        *v = plugin.on_packet(op, pkt);
    }
    pkts.len().min(verdicts.len())
}

/// A descriptor with the arrays it points into; built once per plugin type.
pub struct DescriptorCell {
    desc: PluginDescriptor,
    _hooks: Vec<HookSpecRaw>,
    _reasons: Vec<BwStr>,
    _exports: Vec<ServiceExportRaw>,
    _imports: Vec<ServiceImportRaw>,
}

// Immutable after construction; the pointers are into the cell's own vectors or statics.
unsafe impl Sync for DescriptorCell {}
unsafe impl Send for DescriptorCell {}

impl DescriptorCell {
    /// Builds the descriptor of `T`.
    pub fn new<T: Plugin>() -> DescriptorCell {
        let info = T::INFO;
        let hooks: Vec<HookSpecRaw> = info
            .hooks
            .iter()
            .map(|h| HookSpecRaw {
                hook: h.hook as u8,
                family: h.family as u8,
                _pad: [0; 2],
                priority: h.priority,
                op: h.op,
                name: BwStr::from_static(h.name),
            })
            .collect();
        let reasons: Vec<BwStr> = info
            .drop_reasons
            .iter()
            .map(|r| BwStr::from_static(r))
            .collect();
        let exports: Vec<ServiceExportRaw> = T::EXPORTS
            .iter()
            .enumerate()
            .map(|(i, e)| ServiceExportRaw {
                name: BwStr::from_static(e.name),
                version: e.version,
                index: i as u32,
            })
            .collect();
        let imports: Vec<ServiceImportRaw> = T::IMPORTS
            .iter()
            .map(|i| ServiceImportRaw {
                name: BwStr::from_static(i.name),
                version: i.version,
                _pad: 0,
            })
            .collect();
        let desc = PluginDescriptor {
            abi_version: ABI_VERSION,
            size: std::mem::size_of::<PluginDescriptor>() as u32,
            name: BwStr::from_static(info.name),
            version: BwStr::from_static(info.version),
            failure_policy: info.failure_policy as u8,
            _pad: [0; 7],
            hooks: hooks.as_ptr(),
            n_hooks: hooks.len(),
            drop_reasons: reasons.as_ptr(),
            n_drop_reasons: reasons.len(),
            vtable: PluginVTable {
                init: init_tramp::<T>,
                on_packet: on_packet_tramp::<T>,
                control: control_tramp::<T>,
                shutdown: shutdown_tramp::<T>,
            },
            prepare_batch: if T::PREPARES_BATCH {
                Some(prepare_batch_tramp::<T>)
            } else {
                None
            },
            exports: exports.as_ptr(),
            n_exports: exports.len(),
            imports: imports.as_ptr(),
            n_imports: imports.len(),
            service: if T::EXPORTS.is_empty() {
                None
            } else {
                Some(service_tramp::<T>)
            },
            on_burst: if T::BURSTS {
                Some(on_burst_tramp::<T>)
            } else {
                None
            },
        };
        DescriptorCell {
            desc,
            _hooks: hooks,
            _reasons: reasons,
            _exports: exports,
            _imports: imports,
        }
    }

    /// The descriptor, as the entry point returns it.
    pub fn as_ptr(&self) -> *const PluginDescriptor {
        &self.desc
    }
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic".to_string()
    }
}

extern "C" fn init_tramp<T: Plugin>(
    config: *const u8,
    config_len: usize,
    host: *const HostApi,
    state: *mut *mut c_void,
    err: *const Writer,
) -> i32 {
    let result = catch_unwind(AssertUnwindSafe(|| {
        let cfg = if config.is_null() {
            "null".to_string()
        } else {
            // SAFETY: the engine passes a readable buffer of `config_len` bytes.
            String::from_utf8_lossy(unsafe { std::slice::from_raw_parts(config, config_len) })
                .into_owned()
        };
        T::init(&cfg, Host::new(host, T::INFO.name))
    }));
    let msg = match result {
        Ok(Ok(plugin)) => {
            // SAFETY: `state` is a valid out-pointer from the engine.
            unsafe { *state = Box::into_raw(Box::new(plugin)) as *mut c_void };
            return 0;
        }
        Ok(Err(e)) => e,
        Err(p) => format!("init panicked: {}", panic_message(&*p)),
    };
    if !err.is_null() {
        // SAFETY: the engine passes a valid writer.
        unsafe { &*err }.put(msg.as_bytes());
    }
    1
}

extern "C" fn on_packet_tramp<T: Plugin>(
    state: *mut c_void,
    op: u32,
    pkt: *mut PacketView,
) -> RawVerdict {
    // SAFETY: `state` came from `init_tramp::<T>`; `pkt` is valid and exclusively ours.
    let result = catch_unwind(AssertUnwindSafe(|| unsafe {
        (*(state as *const T)).on_packet(op, &mut *pkt)
    }));
    match result {
        Ok(v) => v.into(),
        Err(_) => RawVerdict::PANICKED,
    }
}

extern "C" fn on_burst_tramp<T: Plugin>(
    state: *mut c_void,
    op: u32,
    pkts: *const *mut PacketView,
    verdicts: *mut RawVerdict,
    n: usize,
) -> usize {
    let n = n.min(MAX_BURST);
    if pkts.is_null() || verdicts.is_null() || n == 0 {
        return 0;
    }
    let mut buf = [Verdict::Accept; MAX_BURST];
    let decided = &mut buf[..n];
    // SAFETY: `state` came from `init_tramp::<T>`; the engine passes `n` distinct,
    // valid views (a pointer to a view has the layout of a reference to it) and room
    // for `n` verdicts, all exclusively ours for the call.
    let (views, out) = unsafe {
        (
            std::slice::from_raw_parts_mut(pkts as *mut &mut PacketView, n),
            std::slice::from_raw_parts_mut(verdicts, n),
        )
    };
    let result = catch_unwind(AssertUnwindSafe(|| unsafe {
        (*(state as *const T)).on_burst(op, views, decided)
    }));
    match result {
        Ok(k) => {
            let k = k.clamp(1, n);
            for (o, v) in out.iter_mut().zip(&decided[..k]) {
                *o = (*v).into();
            }
            k
        }
        Err(_) => {
            // Which packets the call had decided is unknown: it failed for all of them.
            out.fill(RawVerdict::PANICKED);
            n
        }
    }
}

extern "C" fn prepare_batch_tramp<T: Plugin>(
    state: *mut c_void,
    pkts: *const *const PacketView,
    n: usize,
) {
    if pkts.is_null() || n == 0 {
        return;
    }
    // SAFETY: `state` came from `init_tramp::<T>`; the engine passes `n` valid,
    // non-null views (a pointer to a view has the layout of a reference to it), alive
    // for the call. A panic is caught: preparing is only an optimisation.
    let _ = catch_unwind(AssertUnwindSafe(|| unsafe {
        let views = std::slice::from_raw_parts(pkts as *const &PacketView, n);
        (*(state as *const T)).prepare_batch(views)
    }));
}

extern "C" fn service_tramp<T: Plugin>(state: *mut c_void, index: u32) -> *const c_void {
    if state.is_null() {
        return std::ptr::null();
    }
    // SAFETY: `state` came from `init_tramp::<T>` and lives until shutdown.
    catch_unwind(AssertUnwindSafe(|| unsafe {
        (*(state as *const T)).service(index)
    }))
    .unwrap_or(std::ptr::null())
}

extern "C" fn control_tramp<T: Plugin>(
    state: *mut c_void,
    req: *const u8,
    req_len: usize,
    out: *const Writer,
) -> i32 {
    let result = catch_unwind(AssertUnwindSafe(|| {
        let request: &[u8] = if req.is_null() {
            &[]
        } else {
            // SAFETY: the engine passes a readable buffer.
            unsafe { std::slice::from_raw_parts(req, req_len) }
        };
        let mut response = Vec::new();
        // SAFETY: `state` came from `init_tramp::<T>`.
        let r = unsafe { (*(state as *const T)).control(request, &mut response) };
        (r, response)
    }));
    let (code, bytes) = match result {
        Ok((Ok(()), resp)) => (0, resp),
        Ok((Err(e), _)) => (1, e.into_bytes()),
        Err(p) => (
            2,
            format!("control panicked: {}", panic_message(&*p)).into_bytes(),
        ),
    };
    if !out.is_null() {
        // SAFETY: the engine passes a valid writer.
        unsafe { &*out }.put(&bytes);
    }
    code
}

extern "C" fn shutdown_tramp<T: Plugin>(state: *mut c_void) {
    if state.is_null() {
        return;
    }
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: `state` came from `init_tramp::<T>` and is released once.
        drop(unsafe { Box::from_raw(state as *mut T) })
    }));
}

/// Defines `pub fn brickwall_descriptor() -> *const PluginDescriptor` for a [`Plugin`]
/// type: the descriptor the engine uses when the plugin is linked statically.
#[macro_export]
macro_rules! declare_plugin {
    ($ty:ty) => {
        /// This plugin's descriptor (for static linking, and behind the exported entry point).
        pub fn brickwall_descriptor() -> *const $crate::abi::PluginDescriptor {
            static CELL: ::std::sync::OnceLock<$crate::plugin::DescriptorCell> =
                ::std::sync::OnceLock::new();
            CELL.get_or_init($crate::plugin::DescriptorCell::new::<$ty>)
                .as_ptr()
        }
    };
}

/// Exports the entry symbol of a plugin shared object, returning the descriptor made
/// by `declare_plugin!` (pass the path to its `brickwall_descriptor`). Use it in the
/// crate that is built as the `cdylib`; a crate linked statically beside other plugins
/// must not export it (the symbol name is the same for every plugin).
#[macro_export]
macro_rules! export_plugin {
    ($descriptor:path) => {
        /// The plugin entry point the engine looks up with `dlsym`.
        #[no_mangle]
        pub extern "C" fn brickwall_plugin_entry() -> *const $crate::abi::PluginDescriptor {
            $descriptor()
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::DESCRIPTOR_MIN_SIZE;
    use crate::registry::{BatchCallback, HookRegistry, Owner, Registration};
    use crate::{Family, HookTable};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// A plugin that counts the packets of the batches it is asked to prepare.
    struct Counting(AtomicUsize);

    impl Plugin for Counting {
        const INFO: PluginInfo = PluginInfo {
            name: "counting",
            version: "0",
            failure_policy: FailurePolicy::FailOpen,
            hooks: &[],
            drop_reasons: &[],
        };
        const PREPARES_BATCH: bool = true;

        fn init(_: &str, _: Host) -> Result<Self, String> {
            Ok(Counting(AtomicUsize::new(0)))
        }

        fn on_packet(&self, _: u32, _: &mut PacketView) -> Verdict {
            Verdict::Accept
        }

        fn prepare_batch(&self, pkts: &[&PacketView]) {
            self.0.fetch_add(pkts.len(), Ordering::Relaxed);
        }
    }

    #[test]
    fn batch_callback_is_read_only_from_descriptors_that_have_it() {
        let cell = DescriptorCell::new::<Counting>();
        let full = std::mem::size_of::<PluginDescriptor>();
        // SAFETY: the cell's descriptor is `full` bytes; a prefix is readable too.
        let now = unsafe { PluginDescriptor::read_sized(cell.as_ptr(), full) };
        let older = unsafe { PluginDescriptor::read_sized(cell.as_ptr(), DESCRIPTOR_MIN_SIZE) };
        assert!(older.prepare_batch.is_none());
        assert_eq!(older.n_hooks, now.n_hooks);
        let func = now.prepare_batch.expect("a batch callback");

        // Two registrations of one owner: the table calls its batch callback once.
        let state = Box::into_raw(Box::new(Counting(AtomicUsize::new(0))));
        let owner = Arc::new(Owner {
            name: Arc::from("counting"),
            failure_policy: FailurePolicy::FailOpen,
            reason_base: 0,
            reason_count: 0,
            keep_alive: Box::new(()),
            // SAFETY: the plugin's state outlives the registry in this test.
            prepare: Some(unsafe { BatchCallback::new(func, state as *mut c_void) }),
        });
        let r = HookRegistry::new();
        let regs = [Hook::PreRouting, Hook::PostRouting].map(|hook| Registration {
            hook,
            family: crate::FamilySel::Inet,
            priority: 0,
            name: "x".into(),
            // SAFETY: as above.
            callback: unsafe {
                crate::Callback::new(now.vtable.on_packet, state as *mut c_void, 0)
            },
        });
        r.register(&owner, regs.into_iter().collect());
        let table: Arc<HookTable> = r.snapshot();
        assert_eq!(table.chain(Family::Ipv4, Hook::PreRouting).len(), 1);
        assert_eq!(table.preparers().len(), 1);
        let views = [
            PacketView::default(),
            PacketView::default(),
            PacketView::default(),
        ];
        let ptrs: Vec<*const PacketView> = views.iter().map(|v| v as *const _).collect();
        for p in table.preparers() {
            p.call(&ptrs);
        }
        // SAFETY: `state` is the box made above, still owned here.
        let counting = unsafe { Box::from_raw(state) };
        assert_eq!(counting.0.load(Ordering::Relaxed), 3);
        // Without registrations the owner's batch callback is not called any more.
        r.unregister_owner(&owner);
        assert!(r.snapshot().preparers().is_empty());
    }
}
