//! `brickwall ct`: conntrack-tools' `conntrack` for a running brickwall engine. It
//! speaks to the engine's control socket ([`crate::protocol`]) and to the conntrack
//! plugin behind it, and prints what the plugin formats, as `conntrack` prints it.
//!
//! - [`args`]: the options, checked as conntrack-tools checks them;
//! - [`query`]: options into the plugin's [`Filter`] and [`TupleSpec`];
//! - [`commands`]: `-L`, `-G`, `-D`, `-U`, `-F`, `-C`, `-S`, `-I`, the expect table, and
//!   `--buckets` (the hash table's size, and its resize: `nf_conntrack_buckets`);
//!   label names for `-U --label-add`/`--label-del` come from `brickwall_hooks::connlabel`;
//! - [`events`]: `-E`, a poll loop; [`signal`]: stopping it on SIGINT;
//! - [`printable`]: what the engine sends, printed with control characters escaped;
//! - [`save`]: `-o save`, a connection as the options that would create it;
//! - [`xml`]: `-o xml`, connections and expectations in conntrack-tools' XML.
//!
//! Every request to the conntrack plugin is the control protocol's [`Request`], and
//! every answer is read as its response type ([`Session::ask`]); so is the one request
//! to the engine itself, its `status` for its clock ([`Session::now_ns`]).
//!
//! [`Filter`]: brickwall_control_protocol::conntrack::request::Filter
//! [`TupleSpec`]: brickwall_control_protocol::conntrack::request::TupleSpec
//!
//! Exit codes as conntrack's: 0 ok, 1 error (no such entry, the engine unreachable or
//! refusing), 2 bad parameters (every clap usage error, and options a command cannot use).

pub mod args;
pub mod commands;
pub mod event_filter;
pub mod events;
pub mod printable;
pub mod query;
pub mod save;
pub mod signal;
pub mod xml;

pub use args::{CtArgs, CtCli};

use crate::client::{Client, ClientError};
use brickwall_control_protocol::conntrack::{self, Request};
use brickwall_control_protocol::engine::{EngineRequest, StatusResponse};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::io::Write;

/// The program name in summaries, as conntrack's `conntrack v1.4.7 (conntrack-tools)`.
pub const PREFIX: &str = "brickwall ct (conntrack-tools 1.4.7 compatible)";

/// Exit code: success.
pub const EXIT_OK: i32 = 0;
/// Exit code: the operation failed.
pub const EXIT_FAIL: i32 = 1;
/// Exit code: bad parameters.
pub const EXIT_USAGE: i32 = 2;

/// Why a command failed, and with which exit code.
#[derive(Debug, PartialEq, Eq)]
pub struct CtError {
    /// [`EXIT_FAIL`] or [`EXIT_USAGE`].
    pub code: i32,
    /// What to tell the user.
    pub msg: String,
}

impl CtError {
    /// A bad parameter (exit code 2).
    pub fn usage(msg: impl Into<String>) -> CtError {
        CtError {
            code: EXIT_USAGE,
            msg: msg.into(),
        }
    }

    /// A failed operation (exit code 1).
    pub fn fail(msg: impl Into<String>) -> CtError {
        CtError {
            code: EXIT_FAIL,
            msg: msg.into(),
        }
    }
}

impl From<ClientError> for CtError {
    fn from(e: ClientError) -> CtError {
        CtError::fail(e.to_string())
    }
}

/// A connection to the engine and what the commands learn from it.
pub struct Session {
    /// The connection.
    pub client: Client,
}

impl Session {
    /// Connects to the socket the options name.
    pub fn open(a: &CtArgs) -> Result<Session, CtError> {
        Ok(Session {
            client: Client::connect(&a.socket)?,
        })
    }

    /// Sends a request to the conntrack plugin; its answer as it came.
    pub fn conntrack(&mut self, request: &Request) -> Result<Value, CtError> {
        Ok(self.client.call(conntrack::TARGET, &request.to_value())?)
    }

    /// Sends a request to the conntrack plugin and reads the answer as `T`, the
    /// request's response type; an answer that does not fit is a failure (exit code 1).
    pub fn ask<T: DeserializeOwned>(&mut self, request: &Request) -> Result<T, CtError> {
        let v = self.conntrack(request)?;
        crate::client::decode(request.op(), v)
            .map_err(|e| CtError::fail(format!("unexpected answer from the conntrack plugin: {e}")))
    }

    /// The engine's clock (packet time in a replay), against which the plugin judges
    /// timeouts, from its `status` ([`StatusResponse`]); `None` if the engine does not
    /// say (a server without an `engine` target, a clock still at 0). Any other error —
    /// the engine refusing this user, an answer that does not fit — is the command's
    /// (exit code 1).
    pub fn now_ns(&mut self) -> Result<Option<u64>, CtError> {
        let req = EngineRequest::Status;
        match self
            .client
            .call(crate::protocol::ENGINE_TARGET, &req.to_value())
        {
            Ok(v) => {
                let status: StatusResponse = crate::client::decode(req.op(), v).map_err(|e| {
                    CtError::fail(format!("unexpected answer from the engine: {e}"))
                })?;
                Ok(Some(status.now_ns).filter(|n| *n > 0))
            }
            Err(ClientError::Remote(m)) if m.starts_with("unknown target") => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

/// Parses `argv` (without the program name) and runs the command; the exit code.
pub fn main_with_args<I, T>(argv: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    use clap::Parser;
    let argv = std::iter::once(std::ffi::OsString::from("brickwall ct"))
        .chain(argv.into_iter().map(Into::into));
    match CtCli::try_parse_from(argv) {
        Ok(cli) => run(&cli.args),
        Err(e) => {
            let _ = e.print();
            e.exit_code()
        }
    }
}

/// Runs a parsed command against the engine, printing to standard output and error;
/// the exit code.
pub fn run(a: &CtArgs) -> i32 {
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    run_with(a, &mut stdout.lock(), &mut stderr.lock())
}

/// Runs a parsed command, writing its output to `out` and summaries and errors to `err`;
/// the exit code.
pub fn run_with(a: &CtArgs, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    // What the engine sends is printed with its control characters escaped.
    let (mut out, mut err) = (
        printable::Printable::new(out),
        printable::Printable::new(err),
    );
    let (out, err): (&mut dyn Write, &mut dyn Write) = (&mut out, &mut err);
    match commands::dispatch(a, out, err) {
        Ok(code) => code,
        Err(e) => {
            let _ = writeln!(err, "brickwall ct: {}", e.msg);
            e.code
        }
    }
}
