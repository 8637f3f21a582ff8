//! Loads plugins through the C ABI: `dlopen` and the entry symbol for shared objects, or
//! a descriptor function linked into the binary. Both take the same checks and the same
//! path into the registry: open and check the descriptor ([`OpenedPlugin`]), resolve
//! its imported services, initialise it, record its exported services, register its
//! callbacks.

use super::services::Import;
use crate::host::HostShared;
use brickwall_hooks::abi::{
    EntryFn, PluginDescriptor, Writer, ABI_VERSION, ABI_VERSION_MIN, DESCRIPTOR_MIN_SIZE,
    ENTRY_SYMBOL,
};
use brickwall_hooks::services::ServiceVersion;
use brickwall_hooks::{
    BatchCallback, Callback, FailurePolicy, FamilySel, Hook, HookRegistry, Owner, Registration,
};
use std::collections::BTreeMap;
use std::ffi::c_void;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where a plugin comes from.
#[derive(Clone, Debug)]
pub enum PluginSource {
    /// A shared object on disk.
    File(PathBuf),
    /// A descriptor function linked into this binary.
    Static(fn() -> *const PluginDescriptor),
}

/// Why a plugin was refused.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// `dlopen` failed.
    #[error("{path}: cannot load: {reason}")]
    Open {
        /// The file.
        path: String,
        /// The loader's message.
        reason: String,
    },
    /// The entry symbol is missing.
    #[error("{path}: not a brickwall plugin: missing symbol `brickwall_plugin_entry` ({reason})")]
    MissingSymbol {
        /// The file.
        path: String,
        /// The loader's message.
        reason: String,
    },
    /// The descriptor is unusable or of another ABI version.
    #[error("{path}: refused: {reason}")]
    Refused {
        /// The file (or `static:NAME`).
        path: String,
        /// Why.
        reason: String,
    },
    /// The plugin's init returned an error.
    #[error("{path}: plugin {name} failed to initialise: {reason}")]
    Init {
        /// The file.
        path: String,
        /// The plugin's name.
        name: String,
        /// The plugin's message.
        reason: String,
    },
}

/// A plugin whose init succeeded. Dropping it calls the plugin's shutdown, then unloads
/// the shared object.
pub struct LoadedPlugin {
    /// The plugin's name.
    pub name: String,
    /// The plugin's version string.
    pub version: String,
    /// Where it came from (`static` for linked-in plugins).
    pub origin: String,
    desc: *const PluginDescriptor,
    state: *mut c_void,
    /// The services it imports.
    imports: Vec<Import>,
    /// The services it exports: name and version.
    exports: Vec<(String, ServiceVersion)>,
    /// The plugins it imported services from: kept alive until its shutdown ran.
    deps: Vec<Arc<LoadedPlugin>>,
    _host: Arc<HostShared>,
    // Declared last: unloaded after shutdown ran.
    lib: Option<libloading::Library>,
}

// Plugins are required to be thread-safe; the descriptor is immutable.
unsafe impl Send for LoadedPlugin {}
unsafe impl Sync for LoadedPlugin {}

impl Drop for LoadedPlugin {
    fn drop(&mut self) {
        // SAFETY: `desc` stays valid while `lib` is loaded; `state` came from init.
        unsafe { ((*self.desc).vtable.shutdown)(self.state) };
        drop(self.lib.take());
    }
}

impl LoadedPlugin {
    /// Sends a control request to the plugin; its response or its error message.
    pub fn control(&self, request: &[u8]) -> Result<Vec<u8>, String> {
        let mut out: Vec<u8> = Vec::new();
        let writer = Writer::to_vec(&mut out);
        // SAFETY: as in `drop`.
        let code = unsafe {
            ((*self.desc).vtable.control)(self.state, request.as_ptr(), request.len(), &writer)
        };
        if code == 0 {
            Ok(out)
        } else {
            Err(String::from_utf8_lossy(&out).into_owned())
        }
    }

    /// Loads a plugin, initialises it with `config` (its section, as JSON text) and
    /// registers its callbacks, with `priorities` overriding defaults by registration
    /// name and `failure_policy` overriding the plugin's own.
    pub fn load(
        source: &PluginSource,
        config_json: &str,
        priorities: &BTreeMap<String, i32>,
        failure_policy: Option<FailurePolicy>,
        registry: &HookRegistry,
        host: &Arc<HostShared>,
    ) -> Result<(Arc<LoadedPlugin>, Arc<Owner>), PluginError> {
        OpenedPlugin::open(source)?.init(config_json, priorities, failure_policy, registry, host)
    }

    /// Whether this plugin imported a service from `exporter`.
    pub fn imports_from(&self, exporter: &Arc<LoadedPlugin>) -> bool {
        self.deps.iter().any(|d| Arc::ptr_eq(d, exporter))
    }

    /// The services this plugin imported, by name, and the plugins exporting them.
    pub fn imported(&self) -> Vec<(String, String)> {
        self.imports
            .iter()
            .map(|i| {
                let from = self
                    .deps
                    .iter()
                    .find(|d| d.exports.iter().any(|e| e.0 == i.name))
                    .map_or_else(String::new, |d| d.name.clone());
                (i.name.clone(), from)
            })
            .collect()
    }
}

/// A plugin whose descriptor was read and checked, not yet initialised: what it is
/// called, and which services it imports and exports (the engine orders loading by
/// them).
pub struct OpenedPlugin {
    /// The plugin's name.
    pub name: String,
    /// Where it came from.
    pub origin: String,
    /// The services it imports.
    pub imports: Vec<Import>,
    /// The services it exports: name, version, index for its `service` function.
    pub exports: Vec<(String, ServiceVersion, u32)>,
    lib: Option<libloading::Library>,
    desc: *const PluginDescriptor,
    d: PluginDescriptor,
}

impl std::fmt::Debug for OpenedPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenedPlugin")
            .field("name", &self.name)
            .field("origin", &self.origin)
            .field("imports", &self.imports)
            .finish_non_exhaustive()
    }
}

impl OpenedPlugin {
    /// Opens `source` and checks its descriptor: ABI version, size, name, and its
    /// service lists.
    pub fn open(source: &PluginSource) -> Result<OpenedPlugin, PluginError> {
        let (origin, lib, desc) = match source {
            PluginSource::File(path) => {
                let origin = path.display().to_string();
                let (lib, desc) = open_file(path)?;
                (origin, Some(lib), desc)
            }
            PluginSource::Static(f) => ("static".to_string(), None, f()),
        };
        let refused = |reason: String| PluginError::Refused {
            path: origin.clone(),
            reason,
        };
        if desc.is_null() {
            return Err(refused("the entry point returned no descriptor".into()));
        }
        // SAFETY: non-null, returned by the plugin's entry point; the first two fields are
        // read before trusting the rest of the layout.
        let (abi, size) = unsafe { ((*desc).abi_version, (*desc).size) };
        if !(ABI_VERSION_MIN..=ABI_VERSION).contains(&abi) {
            return Err(refused(format!(
                "plugin ABI version {abi}, this engine speaks versions {ABI_VERSION_MIN} to \
                 {ABI_VERSION}"
            )));
        }
        if (size as usize) < DESCRIPTOR_MIN_SIZE {
            return Err(refused(format!("descriptor of {size} bytes is too small")));
        }
        // SAFETY: version and size checked; the plugin's descriptor is `size` bytes.
        if let Some(f) = unsafe { PluginDescriptor::null_function(desc) } {
            return Err(refused(format!("its vtable has no `{f}` function (null)")));
        }
        // SAFETY: as above, and every required function is there.
        let mut d = unsafe { PluginDescriptor::read_sized(desc, size as usize) };
        if abi < 2 {
            // Bursts are ABI 2's: a plugin built for ABI 1 gets one packet at a time,
            // whatever lies where the field is now.
            d.on_burst = None;
        }
        // SAFETY: the strings and arrays are static data of the plugin.
        let name = unsafe { d.name.to_string_lossy() };
        if name.is_empty() {
            return Err(refused("the plugin has no name".into()));
        }
        let mut imports = Vec::new();
        if d.n_imports > 0 && d.imports.is_null() {
            return Err(refused("its import list is null".into()));
        }
        for i in 0..d.n_imports {
            // SAFETY: `imports[..n_imports]` is the plugin's static array.
            let raw = unsafe { &*d.imports.add(i) };
            imports.push(Import {
                // SAFETY: as above.
                name: unsafe { raw.name.to_string_lossy() },
                version: raw.version,
            });
        }
        let mut exports = Vec::new();
        if d.n_exports > 0 && (d.exports.is_null() || d.service.is_none()) {
            return Err(refused(
                "it lists exported services but no table of them, or no function to get one".into(),
            ));
        }
        for i in 0..d.n_exports {
            // SAFETY: `exports[..n_exports]` is the plugin's static array.
            let raw = unsafe { &*d.exports.add(i) };
            // SAFETY: as above.
            let export_name = unsafe { raw.name.to_string_lossy() };
            if export_name.is_empty() {
                return Err(refused(format!("its export {i} has no name")));
            }
            exports.push((export_name, raw.version, raw.index));
        }
        Ok(OpenedPlugin {
            name,
            origin,
            imports,
            exports,
            lib,
            desc,
            d,
        })
    }

    /// Resolves the plugin's imports, initialises it with `config_json`, records its
    /// exported services and registers its callbacks (see [`LoadedPlugin::load`]).
    pub fn init(
        self,
        config_json: &str,
        priorities: &BTreeMap<String, i32>,
        failure_policy: Option<FailurePolicy>,
        registry: &HookRegistry,
        host: &Arc<HostShared>,
    ) -> Result<(Arc<LoadedPlugin>, Arc<Owner>), PluginError> {
        let OpenedPlugin {
            name,
            origin,
            imports,
            exports,
            lib,
            desc,
            d,
        } = self;
        let refused = |reason: String| PluginError::Refused {
            path: origin.clone(),
            reason,
        };
        // SAFETY: the strings and arrays are static data of the plugin.
        let version = unsafe { d.version.to_string_lossy() };
        let mut regs = Vec::new();
        for i in 0..d.n_hooks {
            // SAFETY: `hooks[..n_hooks]` is the plugin's static array.
            let h = unsafe { &*d.hooks.add(i) };
            let reg_name = unsafe { h.name.to_string_lossy() };
            let hook = Hook::from_u8(h.hook).ok_or_else(|| {
                refused(format!("registration {reg_name}: unknown hook {}", h.hook))
            })?;
            let family = FamilySel::from_u8(h.family).ok_or_else(|| {
                refused(format!(
                    "registration {reg_name}: unknown family {}",
                    h.family
                ))
            })?;
            let prio = priorities.get(&reg_name).copied().unwrap_or(h.priority);
            regs.push((hook, family, prio, h.op, reg_name));
        }
        for key in priorities.keys() {
            if !regs.iter().any(|r| &r.4 == key) {
                let known: Vec<&str> = regs.iter().map(|r| r.4.as_str()).collect();
                return Err(refused(format!(
                    "priority override for `{key}`, but the plugin registers only: {}",
                    known.join(", ")
                )));
            }
        }
        let reasons: Vec<String> = (0..d.n_drop_reasons)
            // SAFETY: `drop_reasons[..n]` is the plugin's static array.
            .map(|i| unsafe { (*d.drop_reasons.add(i)).to_string_lossy() })
            .collect();
        let resolved = host
            .services
            .resolve(&imports)
            .map_err(|why| refused(format!("plugin {name}: {why}")))?;

        let mut err: Vec<u8> = Vec::new();
        let writer = Writer::to_vec(&mut err);
        let mut state: *mut c_void = std::ptr::null_mut();
        let code = host.services.during_init(resolved.refs, || {
            (d.vtable.init)(
                config_json.as_ptr(),
                config_json.len(),
                host.api(),
                &mut state,
                &writer,
            )
        });
        if code != 0 {
            return Err(PluginError::Init {
                path: origin,
                name,
                reason: String::from_utf8_lossy(&err).into_owned(),
            });
        }
        let on_packet = d.vtable.on_packet;
        let on_burst = d.on_burst;
        // SAFETY: the plugin's functions take the state its `init` returned, which the
        // owner keeps (with the library) until the last snapshot lets go of it; plugins
        // are thread-safe by the ABI's contract.
        let prepare = d
            .prepare_batch
            .map(|func| unsafe { BatchCallback::new(func, state) });
        let service = d.service;
        let plugin = Arc::new(LoadedPlugin {
            name: name.clone(),
            version,
            origin: origin.clone(),
            desc,
            state,
            imports,
            exports: exports.iter().map(|e| (e.0.clone(), e.1)).collect(),
            deps: resolved.exporters,
            _host: host.clone(),
            lib,
        });
        for (export, version, index) in &exports {
            let table = service.map_or(std::ptr::null(), |f| f(state, *index));
            if table.is_null() {
                host.services.withdraw(&plugin);
                return Err(PluginError::Refused {
                    path: origin,
                    reason: format!(
                        "plugin {name} lists service `{export}` {version} but gave no table for it"
                    ),
                });
            }
            host.services.export(&plugin, export, *version, table);
        }
        let owner = Arc::new(Owner {
            name: Arc::from(name.as_str()),
            failure_policy: failure_policy.unwrap_or(FailurePolicy::from_u8(d.failure_policy)),
            reason_base: registry.add_reasons(&reasons),
            reason_count: reasons.len() as u32,
            keep_alive: Box::new(plugin.clone()),
            prepare,
        });
        let registrations = regs
            .into_iter()
            .map(|(hook, family, prio, op, reg_name)| Registration {
                hook,
                family,
                priority: prio,
                name: reg_name,
                // SAFETY: as for `prepare` above.
                callback: unsafe {
                    let cb = Callback::new(on_packet, state, op);
                    match on_burst {
                        Some(f) => cb.with_burst(f),
                        None => cb,
                    }
                },
            })
            .collect();
        registry.register(&owner, registrations);
        Ok((plugin, owner))
    }
}

fn open_file(path: &Path) -> Result<(libloading::Library, *const PluginDescriptor), PluginError> {
    // A name without a slash would be looked up on the dynamic loader's search path
    // (the system's libraries): a plugin path always names a file.
    use std::os::unix::ffi::OsStrExt;
    let in_dir;
    let path = if path.as_os_str().as_bytes().contains(&b'/') {
        path
    } else {
        in_dir = Path::new(".").join(path);
        &in_dir
    };
    let shown = path.display().to_string();
    // SAFETY: loading a library runs its initialisers; plugins are trusted code by config.
    let lib = unsafe { libloading::Library::new(path) }.map_err(|e| PluginError::Open {
        path: shown.clone(),
        reason: e.to_string(),
    })?;
    // SAFETY: the symbol's type is fixed by the ABI.
    let desc = unsafe {
        let entry: libloading::Symbol<EntryFn> =
            lib.get(ENTRY_SYMBOL)
                .map_err(|e| PluginError::MissingSymbol {
                    path: shown.clone(),
                    reason: e.to_string(),
                })?;
        entry()
    };
    Ok((lib, desc))
}
