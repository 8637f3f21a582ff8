//! Where requests go: a [`ControlTarget`] per name. The engine's router holds every
//! loaded plugin by its name and the engine itself as `engine`; tests plug in fakes.

use crate::plugin::LoadedPlugin;
use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

/// Something that answers control requests: bytes in, bytes out (as a plugin's control
/// entry point), or an error message.
pub trait ControlTarget: Send + Sync {
    /// Answers one request.
    fn control(&self, request: &[u8]) -> Result<Vec<u8>, String>;
}

impl ControlTarget for LoadedPlugin {
    fn control(&self, request: &[u8]) -> Result<Vec<u8>, String> {
        LoadedPlugin::control(self, request)
    }
}

/// The targets a server routes to, by name.
#[derive(Clone, Default)]
pub struct Targets {
    by_name: BTreeMap<String, Arc<dyn ControlTarget>>,
}

impl Targets {
    /// No targets.
    pub fn new() -> Targets {
        Targets::default()
    }

    /// Adds (or replaces) the target called `name`.
    pub fn add(&mut self, name: impl Into<String>, target: Arc<dyn ControlTarget>) -> &mut Self {
        self.by_name.insert(name.into(), target);
        self
    }

    /// The targets' names, sorted.
    pub fn names(&self) -> Vec<&str> {
        self.by_name.keys().map(String::as_str).collect()
    }

    /// Hands `request` to the target called `name`. A panicking target is answered with
    /// an error, not a dead connection.
    pub fn route(&self, name: &str, request: &[u8]) -> Result<Vec<u8>, String> {
        let t = self.by_name.get(name).ok_or_else(|| {
            format!(
                "unknown target \"{name}\" (this engine has: {})",
                self.names().join(", ")
            )
        })?;
        catch_unwind(AssertUnwindSafe(|| t.control(request)))
            .unwrap_or_else(|_| Err(format!("target \"{name}\" panicked on this request")))
    }
}

impl std::fmt::Debug for Targets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Targets")
            .field("names", &self.names())
            .finish()
    }
}
