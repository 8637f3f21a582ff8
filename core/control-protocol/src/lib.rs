//! brickwall's control protocol: the typed messages that cross the control socket
//! between the engine, its plugins' control entry points and their clients
//! (`brickwall ct`, `brickwall top`, the metrics endpoint). It sits below all of them:
//! the engine, the plugins and the clients depend on it, it depends on none of them.
//!
//! - [`envelope`]: version 1 of the socket's framing, and the request and response
//!   envelopes every message travels in;
//! - [`helpers`]: the application helpers and their counters (`{"op":"helpers"}`);
//! - [`metrics`]: metric families a target contributes to `GET /metrics`
//!   (`{"op":"metrics"}`), and the Prometheus text they render to;
//! - [`conntrack`]: the conntrack plugin's requests, answers and records;
//! - [`conntrack_stats`]: the names of conntrack's statistics, in `conntrack -S` order;
//! - [`engine`]: the engine's own requests and answers (status, counters, plugins);
//! - [`filter`]: the stateful filter's requests and answers (its chains and counters);
//! - [`sync`]: the sync plugin's requests and answers (its external cache, counters,
//!   resync and bulk requests);
//! - [`counts`]: numbers by name, in order (statistics, drops by reason);
//! - [`decode`]: reading typed messages with errors that name the field's path.

pub mod conntrack;
pub mod conntrack_stats;
pub mod counts;
pub mod decode;
pub mod engine;
pub mod envelope;
pub mod filter;
pub mod helpers;
pub mod metrics;
pub mod nat;
pub mod sync;
