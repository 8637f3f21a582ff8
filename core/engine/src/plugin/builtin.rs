//! Plugins linked into the `brickwall` binary, selectable in a config with `builtin: NAME`.

use brickwall_hooks::abi::PluginDescriptor;

/// A linked-in plugin: its name and its descriptor function.
pub type Builtin = (&'static str, fn() -> *const PluginDescriptor);

/// The plugins this binary carries.
pub fn builtins() -> &'static [Builtin] {
    &[
        ("conntrack", brickwall_conntrack::brickwall_descriptor),
        ("filter", brickwall_filter::brickwall_descriptor),
        ("nat", brickwall_nat::brickwall_descriptor),
        ("ipfix", brickwall_ipfix::brickwall_descriptor),
        ("sync", brickwall_sync::brickwall_descriptor),
    ]
}

/// The descriptor function of a linked-in plugin.
pub fn find(name: &str) -> Option<fn() -> *const PluginDescriptor> {
    builtins().iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}
