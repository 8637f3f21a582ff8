//! Plugins: loading a shared object (or taking a statically linked descriptor),
//! checking its descriptor, initialising it and registering its callbacks.

pub mod builtin;
mod loader;

pub use loader::{LoadedPlugin, PluginError, PluginSource};
