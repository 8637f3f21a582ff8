//! brickwall's hook API: the five hooks and their priorities, verdicts, the packet view
//! every callback receives, the registry of callbacks, and the versioned C ABI that
//! plugins (shared objects loaded at run time, or the same code linked statically) use.
//!
//! This crate (with `brickwall-wire`, whose [`Family`] and parser flags it re-exports)
//! is all a plugin depends on; it knows nothing of the engine's internals.

pub mod abi;
pub mod connlabel;
pub mod hook;
pub mod packet;
pub mod plugin;
pub mod registry;
pub mod services;
pub mod verdict;

pub use hook::{priority, Family, FamilySel, Hook};
pub use packet::{flags, CtInfo, PacketView};
pub use plugin::{HookSpec, Host, Plugin, PluginInfo};
pub use registry::{BatchCallback, Callback, Entry, HookRegistry, HookTable, Owner, Registration};
pub use verdict::{FailurePolicy, RawVerdict, Verdict};
