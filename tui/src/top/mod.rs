//! `brickwall top`: a dashboard of a running engine, drawn with ratatui, that talks to
//! the engine only over its control socket (through [`crate::client`]).
//!
//! Five views (Tab between them): the conntrack hash table's chains (histogram, heat
//! map, one bucket's chain), the connections (iptstate-like, paged), the expectations,
//! the counters (rates and sparklines, verdicts per hook, drops by reason, the
//! application helpers' failures) and the plugins with their hooks and priorities and
//! the conntrack plugin's application helpers with their counters; a status bar with
//! the engine's phase and clock, and `?` for the keys.
//!
//! Built as ratatui's examples are: the application state apart from rendering, a poll
//! loop, and the network in a thread of its own.
//!
//! - [`state`] (with [`chains`], [`conns`], [`filter`], [`rates`]): the state and what
//!   keys do to it; [`keys`]: the keys;
//! - [`model`]: the engine's answers as data (the control protocol's types, and the
//!   view-models built of some of them), [`derive`](mod@derive): what the dashboard
//!   derives from them; [`fetch`]: the thread that asks for them;
//! - [`view`] and `view_*`: drawing; [`style`], [`fmt`]: colours and number formats;
//! - [`run`]: the loop; [`term`]: the terminal, restored on exit and on panic.
//!
//! The dashboard never copies the connection table: it asks the conntrack plugin for the
//! page on screen (`list` with `offset` and `limit`) and for aggregates (`histogram`,
//! `buckets`, `stats`, the per-state counts of `list`, `helpers`).

pub mod chains;
pub mod conns;
pub mod derive;
pub mod fetch;
pub mod filter;
pub mod fmt;
pub mod keys;
pub mod model;
pub mod rates;
pub mod run;
pub mod state;
pub mod style;
pub mod term;
pub mod view;
pub mod view_chains;
pub mod view_conns;
pub mod view_counters;
pub mod view_expect;
pub mod view_help;
pub mod view_plugins;
pub mod view_status;

use std::path::PathBuf;
use std::time::Duration;

/// Options of `brickwall top`.
#[derive(clap::Args, Debug, Clone)]
pub struct TopArgs {
    /// The engine's control socket.
    #[arg(long, default_value = crate::protocol::DEFAULT_SOCKET)]
    pub socket: PathBuf,
    /// Milliseconds between two polls of the engine.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(50..=60_000))]
    pub interval: u64,
}

/// Runs the dashboard; the exit code (0, or 1 with a message on standard error).
pub fn main(a: &TopArgs) -> i32 {
    match run::run(&a.socket, Duration::from_millis(a.interval)) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("brickwall top: {e}");
            1
        }
    }
}
