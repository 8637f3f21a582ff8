//! The engine's side of plugin services (see `brickwall_hooks::services`): the services
//! loaded plugins export, the check of a plugin's imports before its init, the host's
//! import function that hands tables out during that init, and the order in which a
//! config's plugins load so that every exporter comes before its importers.

use super::loader::LoadedPlugin;
use brickwall_hooks::services::{ServiceRef, ServiceVersion};
use std::ffi::c_void;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

/// A service a loaded plugin exports.
struct Exported {
    name: String,
    version: ServiceVersion,
    /// The exporting plugin's name.
    plugin: String,
    table: *const c_void,
    exporter: Weak<LoadedPlugin>,
}

/// An import of a plugin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Import {
    /// The service's name.
    pub name: String,
    /// The oldest compatible version.
    pub version: ServiceVersion,
}

#[derive(Default)]
struct Inner {
    exported: Vec<Exported>,
    /// While a plugin's init runs: its imports, resolved (what `import` may hand out).
    initialising: Option<Vec<(Import, ServiceRef)>>,
}

/// Every service the engine's plugins export.
#[derive(Default)]
pub struct ServiceRegistry {
    inner: Mutex<Inner>,
}

// The table pointers are immutable data of plugins kept alive by their importers.
unsafe impl Send for ServiceRegistry {}
unsafe impl Sync for ServiceRegistry {}

impl std::fmt::Debug for ServiceRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = self.lock();
        let names: Vec<String> = inner
            .exported
            .iter()
            .map(|e| format!("{} {} ({})", e.name, e.version, e.plugin))
            .collect();
        f.debug_struct("ServiceRegistry")
            .field("exported", &names)
            .finish()
    }
}

/// What resolving a plugin's imports gives: the tables, and the exporters to keep
/// alive while the importer lives.
pub struct Resolved {
    /// Each import with its table.
    pub refs: Vec<(Import, ServiceRef)>,
    /// The exporting plugins.
    pub exporters: Vec<Arc<LoadedPlugin>>,
}

impl ServiceRegistry {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Finds an exporter for each of `imports` (the newest compatible one); an error
    /// names the service and what is loaded instead.
    pub fn resolve(&self, imports: &[Import]) -> Result<Resolved, String> {
        let inner = self.lock();
        let mut out = Resolved {
            refs: Vec::new(),
            exporters: Vec::new(),
        };
        for want in imports {
            let same_name: Vec<&Exported> = inner
                .exported
                .iter()
                .filter(|e| e.name == want.name && e.exporter.strong_count() > 0)
                .collect();
            let found = same_name
                .iter()
                .rev()
                .find(|e| e.version.satisfies(want.version))
                .and_then(|e| e.exporter.upgrade().map(|p| (e, p)));
            let Some((e, exporter)) = found else {
                return Err(match same_name.last() {
                    None => format!(
                        "it imports service `{}` {}, which no loaded plugin exports",
                        want.name, want.version
                    ),
                    Some(e) => format!(
                        "it imports service `{}` {}, but plugin {} exports version {} \
                         (compatible: {}.{} or a later {}.x)",
                        want.name,
                        want.version,
                        e.plugin,
                        e.version,
                        want.version.major,
                        want.version.minor,
                        want.version.major
                    ),
                });
            };
            out.refs.push((
                want.clone(),
                ServiceRef {
                    table: e.table,
                    version: e.version,
                },
            ));
            if !out.exporters.iter().any(|p| Arc::ptr_eq(p, &exporter)) {
                out.exporters.push(exporter);
            }
        }
        Ok(out)
    }

    /// Runs `init` with `refs` available to the host's import function.
    pub fn during_init<R>(&self, refs: Vec<(Import, ServiceRef)>, init: impl FnOnce() -> R) -> R {
        self.lock().initialising = Some(refs);
        let r = init();
        self.lock().initialising = None;
        r
    }

    /// Records that `plugin` (by the name it loaded as) exports `name` `version` with
    /// `table`. A service of the same name exported earlier stays until its plugin is
    /// withdrawn; imports take the newest.
    pub fn export(
        &self,
        plugin: &Arc<LoadedPlugin>,
        name: &str,
        version: ServiceVersion,
        table: *const c_void,
    ) {
        self.lock().exported.push(Exported {
            name: name.to_string(),
            version,
            plugin: plugin.name.clone(),
            table,
            exporter: Arc::downgrade(plugin),
        });
    }

    /// Forgets what `plugin` exports (it is being unloaded or replaced; plugins that
    /// imported from it keep it alive and keep using it).
    pub fn withdraw(&self, plugin: &Arc<LoadedPlugin>) {
        let target = Arc::as_ptr(plugin);
        self.lock()
            .exported
            .retain(|e| e.exporter.as_ptr() != target && e.exporter.strong_count() > 0);
    }

    /// The services exported now: name, version, plugin.
    pub fn list(&self) -> Vec<(String, ServiceVersion, String)> {
        self.lock()
            .exported
            .iter()
            .filter(|e| e.exporter.strong_count() > 0)
            .map(|e| (e.name.clone(), e.version, e.plugin.clone()))
            .collect()
    }
}

/// The host's import function ([`brickwall_hooks::services::ImportFn`]): answers only
/// during a plugin's init, and only for the services that plugin declared.
pub(crate) extern "C" fn host_import(
    ctx: *mut c_void,
    name: *const u8,
    len: usize,
    version: ServiceVersion,
    out: *mut ServiceRef,
) -> i32 {
    if ctx.is_null() || name.is_null() || out.is_null() {
        return -1;
    }
    // SAFETY: `ctx` is the registry of a live `HostShared`; `name[..len]` is readable.
    let (registry, name) = unsafe {
        (
            &*(ctx as *const ServiceRegistry),
            std::slice::from_raw_parts(name, len),
        )
    };
    let inner = registry.lock();
    let Some(refs) = &inner.initialising else {
        return -1;
    };
    let found = refs
        .iter()
        .find(|(i, r)| i.name.as_bytes() == name && r.version.satisfies(version));
    match found {
        Some((_, r)) => {
            // SAFETY: `out` is the plugin's valid out-pointer.
            unsafe { *out = *r };
            0
        }
        None => -1,
    }
}

/// The order to load plugins in, given each one's imports and exports (service names),
/// in config order: an exporter before its importers, config order otherwise. An error
/// names the plugins whose imports form a cycle.
pub fn load_order(plugins: &[(Vec<String>, Vec<String>)]) -> Result<Vec<usize>, Vec<usize>> {
    let n = plugins.len();
    let mut done = vec![false; n];
    let mut order = Vec::with_capacity(n);
    while order.len() < n {
        // The first pending plugin none of whose imports a pending plugin exports.
        let next = (0..n).find(|&i| {
            !done[i]
                && plugins[i]
                    .0
                    .iter()
                    .all(|want| !(0..n).any(|j| j != i && !done[j] && plugins[j].1.contains(want)))
        });
        match next {
            Some(i) => {
                done[i] = true;
                order.push(i);
            }
            None => return Err((0..n).filter(|&i| !done[i]).collect()),
        }
    }
    Ok(order)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(imports: &[&str], exports: &[&str]) -> (Vec<String>, Vec<String>) {
        (
            imports.iter().map(|s| s.to_string()).collect(),
            exports.iter().map(|s| s.to_string()).collect(),
        )
    }

    #[test]
    fn exporters_load_before_importers_and_config_order_stays_otherwise() {
        let order = load_order(&[
            p(&["conntrack"], &[]),
            p(&[], &[]),
            p(&[], &["conntrack"]),
            p(&["conntrack", "nat"], &[]),
            p(&["conntrack"], &["nat"]),
        ])
        .unwrap();
        assert_eq!(order, vec![1, 2, 0, 4, 3]);
        // An import nobody exports does not hold a plugin back (its load says why).
        assert_eq!(
            load_order(&[p(&["x"], &[]), p(&[], &[])]).unwrap(),
            vec![0, 1]
        );
    }

    #[test]
    fn a_cycle_names_its_plugins() {
        let e = load_order(&[p(&[], &[]), p(&["b"], &["a"]), p(&["a"], &["b"])]).unwrap_err();
        assert_eq!(e, vec![1, 2]);
    }
}
