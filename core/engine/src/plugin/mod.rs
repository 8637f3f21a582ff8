//! Plugins: loading a shared object (or taking a statically linked descriptor),
//! checking its descriptor, initialising it and registering its callbacks; and the
//! services plugins export to each other.

pub mod builtin;
mod loader;
pub mod services;

pub use loader::{LoadedPlugin, OpenedPlugin, PluginError, PluginSource};
