//! A client of an engine's control socket: one connection, requests answered in turn.

use crate::protocol::{self, FrameError, Response};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long a request may wait for its answer before the engine counts as gone.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a request got no answer from its target.
#[derive(Debug)]
pub enum ClientError {
    /// Nobody listens at the socket (or we may not talk to it).
    Connect {
        /// The socket.
        path: PathBuf,
        /// What `connect` said.
        err: std::io::Error,
    },
    /// The connection broke: the engine stopped or closed it.
    Gone(String),
    /// The engine's answer was not a version 1 response.
    Protocol(String),
    /// The engine answered with an error (unknown target, the target refused, ...).
    Remote(String),
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientError::Connect { path, err } => write!(
                f,
                "cannot connect to {}: {err} (is an engine running with --control {}?)",
                path.display(),
                path.display()
            ),
            ClientError::Gone(why) => write!(f, "the engine went away ({why})"),
            ClientError::Protocol(m) | ClientError::Remote(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for ClientError {}

/// One connection to an engine.
#[derive(Debug)]
pub struct Client {
    stream: UnixStream,
}

impl Client {
    /// Connects to the socket at `path`, with [`DEFAULT_TIMEOUT`] per request.
    pub fn connect(path: &Path) -> Result<Client, ClientError> {
        let stream = UnixStream::connect(path).map_err(|err| ClientError::Connect {
            path: path.to_path_buf(),
            err,
        })?;
        let c = Client { stream };
        c.set_timeout(Some(DEFAULT_TIMEOUT));
        Ok(c)
    }

    /// Sets how long a request waits for its answer (`None`: forever).
    pub fn set_timeout(&self, t: Option<Duration>) {
        let _ = self.stream.set_read_timeout(t);
        let _ = self.stream.set_write_timeout(t);
    }

    /// Sends `request` to `target` and returns the target's answer.
    pub fn call(&mut self, target: &str, request: &Value) -> Result<Value, ClientError> {
        self.call_raw(&protocol::encode_request(target, request))
    }

    /// Sends a frame body as it is and reads the answer (for tests of the engine's
    /// handling of bad requests).
    pub fn call_raw(&mut self, body: &[u8]) -> Result<Value, ClientError> {
        protocol::write_frame(&mut self.stream, body)
            .map_err(|e| ClientError::Gone(e.to_string()))?;
        let answer = protocol::read_frame(&mut self.stream).map_err(|e| match e {
            FrameError::Closed => ClientError::Gone("connection closed".into()),
            FrameError::TooLarge(_) => ClientError::Protocol(e.to_string()),
            FrameError::Io(e) => ClientError::Gone(e.to_string()),
        })?;
        match Response::decode(&answer).map_err(ClientError::Protocol)? {
            Response::Ok(v) => Ok(v),
            Response::Err(e) => Err(ClientError::Remote(e)),
        }
    }
}

/// Reads a target's answer to operation `op` as `T`, the operation's response type in
/// the control protocol (`ListResponse` for conntrack's `list`, ...). An answer that
/// does not fit is an error saying which operation's answer and why, never a panic.
pub fn decode<T: DeserializeOwned>(op: &str, answer: Value) -> Result<T, String> {
    serde_json::from_value(answer).map_err(|e| format!("the answer to {op} does not fit: {e}"))
}
