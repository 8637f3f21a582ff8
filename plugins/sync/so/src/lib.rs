//! The sync plugin as a shared object: exports the entry symbol over the plugin's
//! descriptor. The plugin itself lives in `brickwall-sync`, which the engine can also
//! link statically.

brickwall_hooks::export_plugin!(brickwall_sync::brickwall_descriptor);
