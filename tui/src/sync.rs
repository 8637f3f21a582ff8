//! `brickwall sync`: a running engine's sync plugin, over the control socket, as
//! conntrackd's own options query a running daemon: `-e` lists the external cache (the
//! peer's connections; with `--expect` its expectations), `-s` prints the counters, `-n` asks the peer for all its states,
//! `-B` sends the peer all of ours, `-f` empties the external cache. The internal cache
//! is the live table: `brickwall ct -L`.

use crate::client::{decode, Client};
use brickwall_control_protocol::envelope::DEFAULT_SOCKET;
use brickwall_control_protocol::sync::{ExternalResponse, SyncRequest, TARGET};
use clap::{ArgGroup, Args};
use std::path::PathBuf;

/// `brickwall sync`'s options (one action).
#[derive(Args, Debug, Clone)]
#[command(group(ArgGroup::new("action").required(true).args(["external", "stats", "request_resync", "send_bulk", "flush"])))]
pub struct SyncArgs {
    /// List the external cache: the peer's connections (conntrackd -e).
    #[arg(short = 'e', long)]
    pub external: bool,
    /// With -e: the external cache's expectations (conntrackd -e expect).
    #[arg(long, requires = "external")]
    pub expect: bool,
    /// Print the counters (conntrackd -s).
    #[arg(short = 's', long)]
    pub stats: bool,
    /// Ask the peer for all its states (conntrackd -n).
    #[arg(short = 'n', long)]
    pub request_resync: bool,
    /// Send the peer all our states (conntrackd -B).
    #[arg(short = 'B', long)]
    pub send_bulk: bool,
    /// Empty the external cache (conntrackd -f external).
    #[arg(short = 'f', long)]
    pub flush: bool,
    /// The engine's control socket.
    #[arg(long, value_name = "PATH", default_value = DEFAULT_SOCKET)]
    pub socket: PathBuf,
}

/// Runs the command; the exit code (0, or 1 with a message on standard error).
pub fn run(a: &SyncArgs) -> i32 {
    match answer(a) {
        Ok(text) => {
            print!("{text}");
            0
        }
        Err(e) => {
            eprintln!("brickwall sync: {e}");
            1
        }
    }
}

/// Asks the engine; what to print.
fn answer(a: &SyncArgs) -> Result<String, String> {
    let req = if a.external {
        SyncRequest::External
    } else if a.stats {
        SyncRequest::Stats
    } else if a.request_resync {
        SyncRequest::RequestResync
    } else if a.send_bulk {
        SyncRequest::SendBulk
    } else {
        SyncRequest::FlushExternal
    };
    let mut c = Client::connect(&a.socket).map_err(|e| e.to_string())?;
    let v = c.call(TARGET, &req.to_value()).map_err(|e| e.to_string())?;
    Ok(match req {
        SyncRequest::External => {
            let r: ExternalResponse = decode("external", v)?;
            let mut s = String::new();
            let lines = if a.expect {
                &r.expectations
            } else {
                &r.entries
            };
            for l in lines {
                s.push_str(l);
                s.push('\n');
            }
            s
        }
        SyncRequest::Stats => serde_json::to_string_pretty(&v).map_err(|e| e.to_string())? + "\n",
        _ => String::new(),
    })
}
