//! The `brickwall` binary's package: its subcommands live in `src/cli` (the binary's
//! own modules), and this library re-exports the engine (`brickwall-engine`) under its
//! former paths, so `brickwall_core::engine`, `::pipeline` and the rest name the same
//! items for the integration tests and benchmarks. The engine itself never links the
//! dashboard; this package is where the two meet.

pub use brickwall_engine::*;
