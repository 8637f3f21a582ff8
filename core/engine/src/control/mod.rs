//! The control socket: how `brickwall ct`, the dashboard and scripts reach a running
//! engine. The wire format is the control protocol crate's `envelope`, the client
//! `brickwall-tui`'s `client`; this is the engine's side.
//!
//! - [`socket`]: the Unix socket, mode 0600, and the peer's credentials;
//! - [`server`], [`conn`]: the accept thread and one thread per connection (at most 32),
//!   only root and the engine's own user served;
//! - [`target`]: routing a request to a [`ControlTarget`] by name — the plugins' control
//!   entry points, and [`engine_target`], the engine's own answers (status, counters,
//!   hooks, plugins);
//! - [`status`]: the counters and clock a replay publishes once per batch;
//! - [`hooks`]: the hook table as text;
//! - [`session`], [`signal`]: a replay or demo serving the socket, and stopping in order;
//! - [`metrics`]: the optional Prometheus `/metrics` endpoint.

pub mod conn;
pub mod engine_target;
pub mod hooks;
pub mod metrics;
pub mod server;
pub mod session;
pub mod signal;
pub mod socket;
pub mod status;
pub mod target;

pub use engine_target::{engine_targets, EngineTarget};
pub use server::{BoundControl, ControlServer};
pub use session::{BoundSession, ControlSession};
pub use status::{LiveStatus, Phase};
pub use target::{ControlTarget, Targets};
