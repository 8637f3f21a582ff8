//! An engine: the registry, the shared pipeline state and the loaded plugins, built
//! from a config.

use crate::config::{Config, ConfigError, FailurePolicySpec};
use crate::pipeline::route::Router;
use crate::pipeline::{Pipeline, Shared};
use crate::plugin::{builtin, LoadedPlugin, PluginError, PluginSource};
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
        let shared = Shared::new(
            registry,
            Router::new(&cfg.local_addresses),
            cfg.repeat_limit,
        );
        for q in &cfg.queues {
            shared.queues.set_bypass(q.num, q.bypass, q.capacity);
        }
        let mut engine = Engine {
            shared,
            plugins: Vec::new(),
        };
        for (i, p) in cfg.plugins.iter().enumerate() {
            if !p.enabled {
                continue;
            }
            let source = match (&p.path, &p.builtin) {
                (Some(path), _) => PluginSource::File(base_dir.join(path)),
                (None, Some(name)) => {
                    PluginSource::Static(builtin::find(name).ok_or_else(|| {
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
                    })?)
                }
                (None, None) => unreachable!("validated by Config::parse"),
            };
            let prios: BTreeMap<String, i32> = p
                .priorities
                .keys()
                .filter_map(|k| p.priority(k).map(|v| (k.clone(), v)))
                .collect();
            let policy = p.failure_policy.map(|f| match f {
                FailurePolicySpec::FailOpen => FailurePolicy::FailOpen,
                FailurePolicySpec::FailClosed => FailurePolicy::FailClosed,
            });
            let slot = match engine.load(&source, &p.config_json(), &prios, policy) {
                Ok(slot) => slot,
                // A failing init is about the plugin's own section: say where it is.
                Err(PluginError::Init { path, name, reason }) => {
                    return Err(ConfigError::field(
                        file,
                        format!("plugins[{i}].config"),
                        format!("plugin {name} ({path}) refused its config: {reason}"),
                    )
                    .into())
                }
                Err(e) => return Err(e.into()),
            };
            if let Some(want) = &p.name {
                if *want != slot.plugin.name {
                    let got = slot.plugin.name.clone();
                    engine.unload(&got);
                    return Err(ConfigError::field(
                        file,
                        format!("plugins[{i}].name"),
                        format!(
                            "expected plugin `{want}`, but {} is `{got}`",
                            source_label(&source)
                        ),
                    )
                    .into());
                }
            }
        }
        Ok(engine)
    }

    /// Loads one plugin and registers its callbacks.
    pub fn load(
        &mut self,
        source: &PluginSource,
        config_json: &str,
        priorities: &BTreeMap<String, i32>,
        policy: Option<FailurePolicy>,
    ) -> Result<&PluginSlot, PluginError> {
        let (plugin, owner) = LoadedPlugin::load(
            source,
            config_json,
            priorities,
            policy,
            &self.shared.registry,
            &self.shared.host,
        )?;
        if self.plugins.iter().any(|s| s.plugin.name == plugin.name) {
            self.shared.registry.unregister_owner(&owner);
            return Err(PluginError::Refused {
                path: plugin.origin.clone(),
                reason: format!("a plugin named `{}` is already loaded", plugin.name),
            });
        }
        self.plugins.push(PluginSlot { plugin, owner });
        Ok(self.plugins.last().expect("just pushed"))
    }

    /// Unregisters and releases a plugin by name (it shuts down once no worker uses it).
    /// Returns whether it was loaded.
    pub fn unload(&mut self, name: &str) -> bool {
        let Some(i) = self.plugins.iter().position(|s| s.plugin.name == name) else {
            return false;
        };
        let slot = self.plugins.remove(i);
        self.shared.registry.unregister_owner(&slot.owner);
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
