//! An engine: the registry, the shared pipeline state and the loaded plugins, built
//! from a config.

use crate::config::{Config, ConfigError, FailurePolicySpec, PluginConfig};
use crate::pipeline::route::Router;
use crate::pipeline::{Pipeline, Shared};
use crate::plugin::services::load_order;
use crate::plugin::{builtin, LoadedPlugin, OpenedPlugin, PluginError, PluginSource};
use brickwall_hooks::{FailurePolicy, HookRegistry, Owner};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// Why an engine could not be built.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The config is wrong.
    #[error("{0}")]
    Config(#[from] ConfigError),
    /// A plugin was refused.
    #[error("{0}")]
    Plugin(#[from] PluginError),
}

/// A loaded plugin and its registrations' owner.
pub struct PluginSlot {
    /// The plugin.
    pub plugin: Arc<LoadedPlugin>,
    /// Owner of its registrations.
    pub owner: Arc<Owner>,
    /// What it was loaded as, for a reload to recognise it: the config's source
    /// (`builtin:NAME` or the file), its section, priorities and failure policy.
    pub loaded_as: Option<LoadedAs>,
}

/// How a config entry loaded a plugin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadedAs {
    /// `builtin:NAME`, or the shared object's path.
    pub source: String,
    /// The plugin's section, as JSON.
    pub config_json: String,
    /// Priority overrides.
    pub priorities: BTreeMap<String, i32>,
    /// Failure policy override.
    pub policy: Option<FailurePolicy>,
}

/// What a reload did, one line per plugin.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReloadReport {
    /// Human-readable notes, in config order.
    pub notes: Vec<String>,
}

/// The engine.
pub struct Engine {
    /// State shared by every worker.
    pub shared: Arc<Shared>,
    /// Loaded plugins, in load order.
    pub plugins: Vec<PluginSlot>,
}

impl Engine {
    /// Builds an engine from a config; relative plugin paths are resolved against
    /// `base_dir`, and `file` names the config in errors.
    pub fn from_config(cfg: &Config, base_dir: &Path, file: &str) -> Result<Engine, EngineError> {
        let registry = Arc::new(HookRegistry::new());
        let router = match cfg.live.as_ref().filter(|l| l.router.is_some()) {
            Some(live) => Router::routed(
                crate::live::router::fib(live)
                    .map_err(|(at, m)| ConfigError::field(file, at, m))?,
            ),
            None => Router::new(&cfg.local_addresses()),
        };
        let shared = Shared::new(registry, router, cfg.repeat_limit);
        for q in &cfg.queues {
            shared.queues.set_bypass(q.num, q.bypass, q.capacity);
        }
        shared.host.set_config_dir(base_dir);
        let mut engine = Engine {
            shared,
            plugins: Vec::new(),
        };
        // Every plugin is opened first, so that an exporter of services loads before
        // the plugins importing them, whatever the config's order.
        let mut opened = Vec::new();
        for (i, p) in cfg.plugins.iter().enumerate() {
            if !p.enabled {
                continue;
            }
            let (source, loaded_as) = entry(p, i, base_dir, file)?;
            let plugin = OpenedPlugin::open(&source)?;
            opened.push((i, p, source, loaded_as, plugin));
        }
        let services: Vec<(Vec<String>, Vec<String>)> = opened
            .iter()
            .map(|o| {
                (
                    o.4.imports.iter().map(|i| i.name.clone()).collect(),
                    o.4.exports.iter().map(|e| e.0.clone()).collect(),
                )
            })
            .collect();
        let order = load_order(&services).map_err(|cycle| {
            let names: Vec<String> = cycle
                .iter()
                .map(|&k| format!("plugins[{}] ({})", opened[k].0, opened[k].4.name))
                .collect();
            ConfigError::field(
                file,
                "plugins".into(),
                format!(
                    "{} import services from each other: none can load first",
                    names.join(" and ")
                ),
            )
        })?;
        let mut opened: Vec<Option<_>> = opened.into_iter().map(Some).collect();
        for k in order {
            let (i, p, source, loaded_as, plugin) = opened[k].take().expect("each once");
            engine.load_entry(plugin, &source, loaded_as, p, i, (file, &cfg.source), false)?;
        }
        Ok(engine)
    }

    /// Takes a plugin out: its callbacks unregistered, its services withdrawn (plugins
    /// that imported them keep it alive until they go).
    fn retire(&self, slot: PluginSlot) {
        self.shared.registry.unregister_owner(&slot.owner);
        self.shared.host.services.withdraw(&slot.plugin);
    }

    /// Loads the config entry `p` (number `i`) of `(file, text)` and checks its name;
    /// `replacing` lets it share its name with a plugin about to be unloaded.
    #[allow(clippy::too_many_arguments)]
    fn load_entry(
        &mut self,
        plugin: OpenedPlugin,
        source: &PluginSource,
        loaded_as: LoadedAs,
        p: &PluginConfig,
        i: usize,
        (file, text): (&str, &str),
        replacing: bool,
    ) -> Result<usize, EngineError> {
        let result = self.load_inner(
            plugin,
            &loaded_as.config_json,
            &loaded_as.priorities,
            loaded_as.policy,
            replacing,
        );
        let at = match result {
            Ok(at) => at,
            // A failing init is about the plugin's own section: say where it is.
            Err(PluginError::Init { path, name, reason }) => {
                return Err(ConfigError::plugin_section(
                    file,
                    text,
                    i,
                    &format!("plugin {name} ({path}) refused its config"),
                    &reason,
                )
                .into())
            }
            Err(e) => return Err(e.into()),
        };
        self.plugins[at].loaded_as = Some(loaded_as);
        if let Some(want) = &p.name {
            if *want != self.plugins[at].plugin.name {
                let got = self.plugins[at].plugin.name.clone();
                let slot = self.plugins.remove(at);
                self.retire(slot);
                return Err(ConfigError::field(
                    file,
                    format!("plugins[{i}].name"),
                    format!(
                        "expected plugin `{want}`, but {} is `{got}`",
                        source_label(source)
                    ),
                )
                .into());
            }
        }
        Ok(at)
    }

    /// Applies a new config to a running engine (SIGHUP). Each plugin entry is matched
    /// with the loaded plugin of the same source: unchanged, it keeps running untouched;
    /// with a changed section, it is first asked to take it in place (the control
    /// request `{"op":"reconfigure","config":...}`, which the conntrack plugin answers
    /// keeping its table); a plugin that cannot, or whose priorities or failure policy
    /// changed, is replaced by a fresh instance (its new callbacks are registered before
    /// the old ones go, so packets meet one or both, never neither). Entries with no
    /// match are loaded; loaded plugins the config no longer names are unloaded. Local
    /// addresses, queues and the repeat limit keep their start-up values. On an error
    /// the plugins this reload loaded are unloaded again and the old ones keep running
    /// (a plugin already reconfigured in place keeps its new section).
    pub fn reload(
        &mut self,
        cfg: &Config,
        base_dir: &Path,
        file: &str,
    ) -> Result<ReloadReport, EngineError> {
        self.shared.host.set_config_dir(base_dir);
        let mut report = ReloadReport::default();
        let mut matched: Vec<bool> = vec![false; self.plugins.len()];
        // Plugins loaded by this reload (to undo on an error), and those to unload.
        let mut added: Vec<String> = Vec::new();
        let mut retired: Vec<usize> = Vec::new();
        let mut plan = Vec::new();
        for (i, p) in cfg.plugins.iter().enumerate() {
            if !p.enabled {
                continue;
            }
            let (source, want) = entry(p, i, base_dir, file)?;
            let old = self.plugins.iter().enumerate().position(|(k, s)| {
                !matched[k]
                    && s.loaded_as
                        .as_ref()
                        .is_some_and(|l| l.source == want.source)
            });
            if let Some(k) = old {
                matched[k] = true;
            }
            plan.push((i, p, source, want, old));
        }
        let undo = |engine: &mut Engine, added: &[String]| {
            for name in added.iter().rev() {
                // The newest plugin of that name is the one this reload loaded.
                if let Some(at) = engine.plugins.iter().rposition(|s| s.plugin.name == *name) {
                    let slot = engine.plugins.remove(at);
                    engine.retire(slot);
                }
            }
        };
        for (i, p, source, want, old) in plan {
            if let Some(k) = old {
                let have = self.plugins[k].loaded_as.clone().expect("matched by it");
                let name = self.plugins[k].plugin.name.clone();
                if have == want {
                    report.notes.push(format!("{name}: unchanged"));
                    continue;
                }
                if have.priorities == want.priorities && have.policy == want.policy {
                    if let Some(note) = self.reconfigure_in_place(k, &want)? {
                        report.notes.push(format!("{name}: {note}"));
                        continue;
                    }
                }
                let opened = match OpenedPlugin::open(&source) {
                    Ok(o) => o,
                    Err(e) => {
                        undo(self, &added);
                        return Err(e.into());
                    }
                };
                match self.load_entry(opened, &source, want, p, i, (file, &cfg.source), true) {
                    Ok(_) => {
                        added.push(name.clone());
                        retired.push(k);
                        report.notes.push(format!("{name}: replaced"));
                    }
                    Err(e) => {
                        undo(self, &added);
                        return Err(e);
                    }
                }
            } else {
                let opened = match OpenedPlugin::open(&source) {
                    Ok(o) => o,
                    Err(e) => {
                        undo(self, &added);
                        return Err(e.into());
                    }
                };
                match self.load_entry(opened, &source, want, p, i, (file, &cfg.source), false) {
                    Ok(at) => {
                        let name = self.plugins[at].plugin.name.clone();
                        report.notes.push(format!("{name}: loaded"));
                        added.push(name);
                    }
                    Err(e) => {
                        undo(self, &added);
                        return Err(e);
                    }
                }
            }
        }
        // A plugin importing a service from one the config no longer loads refuses
        // the reload; one importing from a plugin this reload replaced is reloaded too,
        // so that it binds to the new instance (and so on down the imports).
        let old_len = matched.len();
        for gone in (0..old_len).filter(|&k| !matched[k]) {
            let importer = (0..old_len).find(|&k| {
                matched[k]
                    && !retired.contains(&k)
                    && self.plugins[k]
                        .plugin
                        .imports_from(&self.plugins[gone].plugin)
            });
            if let Some(k) = importer {
                let msg = format!(
                    "plugin {} imports a service from plugin {}, which this config no longer \
                     loads",
                    self.plugins[k].plugin.name, self.plugins[gone].plugin.name
                );
                undo(self, &added);
                return Err(ConfigError::field(file, "plugins".into(), msg).into());
            }
        }
        let mut i = 0;
        while i < retired.len() {
            let replaced = retired[i];
            i += 1;
            for (k, &was_matched) in matched.iter().enumerate() {
                let bound = was_matched
                    && !retired.contains(&k)
                    && self.plugins[k]
                        .plugin
                        .imports_from(&self.plugins[replaced].plugin);
                if !bound {
                    continue;
                }
                let la = self.plugins[k]
                    .loaded_as
                    .clone()
                    .expect("loaded by a config");
                let name = self.plugins[k].plugin.name.clone();
                let exporter = self.plugins[replaced].plugin.name.clone();
                let result = source_of(&la.source)
                    .and_then(|src| OpenedPlugin::open(&src))
                    .and_then(|o| {
                        self.load_inner(o, &la.config_json, &la.priorities, la.policy, true)
                    });
                match result {
                    Ok(at) => {
                        self.plugins[at].loaded_as = Some(la);
                        added.push(name.clone());
                        retired.push(k);
                        report.notes.push(format!(
                            "{name}: reloaded (it imports from {exporter}, which was replaced)"
                        ));
                    }
                    Err(e) => {
                        undo(self, &added);
                        return Err(e.into());
                    }
                }
            }
        }
        for (k, m) in matched.iter().enumerate() {
            if !m {
                retired.push(k);
                report
                    .notes
                    .push(format!("{}: unloaded", self.plugins[k].plugin.name));
            }
        }
        retired.sort_unstable();
        for k in retired.into_iter().rev() {
            let slot = self.plugins.remove(k);
            self.retire(slot);
        }
        Ok(report)
    }

    /// Offers plugin `k` its new section; `Some(note)` when it took it in place.
    fn reconfigure_in_place(
        &mut self,
        k: usize,
        want: &LoadedAs,
    ) -> Result<Option<String>, EngineError> {
        let config: serde_json::Value =
            serde_json::from_str(&want.config_json).unwrap_or(serde_json::Value::Null);
        let request = serde_json::json!({"op": "reconfigure", "config": config}).to_string();
        let Ok(answer) = self.plugins[k].plugin.control(request.as_bytes()) else {
            return Ok(None);
        };
        let v: serde_json::Value = serde_json::from_slice(&answer).unwrap_or_default();
        if v.get("reconfigured").and_then(|r| r.as_bool()) != Some(true) {
            return Ok(None);
        }
        self.plugins[k].loaded_as = Some(want.clone());
        let restart: Vec<&str> = v
            .get("needs_restart")
            .and_then(|r| r.as_array())
            .map(|a| a.iter().filter_map(|x| x.as_str()).collect())
            .unwrap_or_default();
        Ok(Some(if restart.is_empty() {
            "reconfigured in place".to_string()
        } else {
            format!(
                "reconfigured in place; {} take effect only at start",
                restart.join(", ")
            )
        }))
    }

    /// Loads one plugin and registers its callbacks.
    pub fn load(
        &mut self,
        source: &PluginSource,
        config_json: &str,
        priorities: &BTreeMap<String, i32>,
        policy: Option<FailurePolicy>,
    ) -> Result<&PluginSlot, PluginError> {
        let plugin = OpenedPlugin::open(source)?;
        let at = self.load_inner(plugin, config_json, priorities, policy, false)?;
        Ok(&self.plugins[at])
    }

    fn load_inner(
        &mut self,
        opened: OpenedPlugin,
        config_json: &str,
        priorities: &BTreeMap<String, i32>,
        policy: Option<FailurePolicy>,
        replacing: bool,
    ) -> Result<usize, PluginError> {
        if !replacing && self.plugins.iter().any(|s| s.plugin.name == opened.name) {
            return Err(PluginError::Refused {
                path: opened.origin.clone(),
                reason: format!("a plugin named `{}` is already loaded", opened.name),
            });
        }
        let (plugin, owner) = opened.init(
            config_json,
            priorities,
            policy,
            &self.shared.registry,
            &self.shared.host,
        )?;
        self.plugins.push(PluginSlot {
            plugin,
            owner,
            loaded_as: None,
        });
        Ok(self.plugins.len() - 1)
    }

    /// Unregisters and releases a plugin by name (it shuts down once no worker uses it).
    /// Returns whether it was loaded.
    pub fn unload(&mut self, name: &str) -> bool {
        let Some(i) = self.plugins.iter().position(|s| s.plugin.name == name) else {
            return false;
        };
        let slot = self.plugins.remove(i);
        self.retire(slot);
        true
    }

    /// A loaded plugin by name.
    pub fn plugin(&self, name: &str) -> Option<&Arc<LoadedPlugin>> {
        self.plugins
            .iter()
            .find(|s| s.plugin.name == name)
            .map(|s| &s.plugin)
    }

    /// The registry.
    pub fn registry(&self) -> &Arc<HookRegistry> {
        &self.shared.registry
    }

    /// A new worker pipeline.
    pub fn pipeline(&self) -> Pipeline {
        Pipeline::new(self.shared.clone())
    }
}

/// The source and the settings of config entry `p` (number `i`).
fn entry(
    p: &PluginConfig,
    i: usize,
    base_dir: &Path,
    file: &str,
) -> Result<(PluginSource, LoadedAs), EngineError> {
    let (source, key) = match (&p.path, &p.builtin) {
        (Some(path), _) => {
            let full = base_dir.join(path);
            let key = full.display().to_string();
            (PluginSource::File(full), key)
        }
        (None, Some(name)) => {
            let b = builtin::find(name).ok_or_else(|| {
                let known: Vec<&str> = builtin::builtins().iter().map(|b| b.0).collect();
                ConfigError::field(
                    file,
                    format!("plugins[{i}].builtin"),
                    format!(
                        "no built-in plugin `{name}` (this binary has: {})",
                        if known.is_empty() {
                            "none".to_string()
                        } else {
                            known.join(", ")
                        }
                    ),
                )
            })?;
            (PluginSource::Static(b), format!("builtin:{name}"))
        }
        (None, None) => unreachable!("validated by Config::parse"),
    };
    let priorities: BTreeMap<String, i32> = p
        .priorities
        .keys()
        .filter_map(|k| p.priority(k).map(|v| (k.clone(), v)))
        .collect();
    let policy = p.failure_policy.map(|f| match f {
        FailurePolicySpec::FailOpen => FailurePolicy::FailOpen,
        FailurePolicySpec::FailClosed => FailurePolicy::FailClosed,
    });
    Ok((
        source,
        LoadedAs {
            source: key,
            config_json: p.config_json(),
            priorities,
            policy,
        },
    ))
}

/// The source a plugin was loaded from, by its key in [`LoadedAs::source`].
fn source_of(key: &str) -> Result<PluginSource, PluginError> {
    match key.strip_prefix("builtin:") {
        Some(name) => builtin::find(name)
            .map(PluginSource::Static)
            .ok_or_else(|| PluginError::Refused {
                path: key.to_string(),
                reason: "no such built-in plugin".into(),
            }),
        None => Ok(PluginSource::File(key.into())),
    }
}

fn source_label(s: &PluginSource) -> String {
    match s {
        PluginSource::File(p) => p.display().to_string(),
        PluginSource::Static(_) => "the built-in plugin".to_string(),
    }
}

impl std::fmt::Debug for PluginSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginSlot")
            .field("name", &self.plugin.name)
            .field("origin", &self.plugin.origin)
            .finish()
    }
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("plugins", &self.plugins)
            .finish()
    }
}
