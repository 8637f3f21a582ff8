//! brickwall's engine: reads frames, parses them, walks them through the five hooks and
//! applies the verdicts of the callbacks that plugins register. It depends on no
//! particular plugin's internals and not on the dashboard: the `brickwall` binary
//! (`brickwall-core`) brings the two together.
//!
//! - [`wire`]: link, network and transport headers parsed into offsets (the
//!   `brickwall-wire` crate, which the plugins and helpers share).
//! - [`pcap`]: capture files in and out (the `brickwall-pcap` crate, which the helper
//!   testkit shares); [`io`]: the frame-source trait.
//! - [`gen`]: deterministic synthetic traffic.
//! - [`pipeline`]: the hooks walk, the routing decision, queues and counters.
//! - [`plugin`]: loading plugins through the C ABI, and the services they export to
//!   each other.
//! - [`config`], [`engine`]: building an engine from YAML.
//! - [`replay`], [`report`]: offline replay and its per-packet report.
//! - [`control`]: the control socket a running engine serves.
//! - [`live`]: live mode, a bridge between interfaces on AF_PACKET sockets.

pub mod config;
pub mod control;
pub mod engine;
pub mod gen;
pub mod host;
pub mod io;
pub mod live;
pub mod packet;
pub mod pipeline;
pub mod plugin;
pub mod replay;
pub mod report;

pub use brickwall_pcap as pcap;
pub use brickwall_wire as wire;
