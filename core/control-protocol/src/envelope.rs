//! The control protocol, version 1: what a client (`brickwall ct`, the dashboard) and a
//! running engine say to each other over the engine's Unix socket.
//!
//! Every message is a *frame*: a 4-byte big-endian length, then that many bytes of JSON.
//! A frame body is at most [`MAX_FRAME`] (16 MiB).
//!
//! A request names the protocol version, a *target* (a plugin by name, or `engine`) and
//! what to hand it:
//!
//! ```json
//! {"v": 1, "target": "conntrack", "request": {"op": "list", "format": "extended"}}
//! {"v": 1, "target": "engine", "request": "status"}
//! ```
//!
//! The engine gives `request` to the target's control entry point as bytes: a JSON string
//! as its UTF-8 text, any other JSON value serialized ([`request_payload`]). The target's
//! answer comes back parsed as JSON if it is JSON, as a string otherwise
//! ([`response_value`]):
//!
//! ```json
//! {"v": 1, "ok": true, "response": {"entries": ["tcp      6 431999 ESTABLISHED ..."], "count": 1}}
//! {"v": 1, "ok": false, "error": "no such connection: tcp src=10.0.0.1 ..."}
//! ```
//!
//! A request of another version is answered with an error naming both versions
//! ([`version_error`]); a body that is not a request gets an error response and the
//! connection stays usable; a frame longer than the limit gets an error response and the
//! connection is closed, since what follows cannot be found.

use serde_json::{Map, Value};
use std::io::{self, Read, Write};

/// The protocol version this code speaks.
pub const VERSION: u64 = 1;

/// Largest frame body, in bytes (16 MiB).
pub const MAX_FRAME: usize = 16 * 1024 * 1024;

/// Where an engine listens unless told otherwise.
pub const DEFAULT_SOCKET: &str = "/run/brickwall/control.sock";

/// The target that is the engine itself rather than a plugin.
pub const ENGINE_TARGET: &str = "engine";

/// A request as the engine receives it.
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    /// The plugin's name, or [`ENGINE_TARGET`].
    pub target: String,
    /// What to hand the target (see [`request_payload`]).
    pub request: Value,
}

/// An answer.
#[derive(Clone, Debug, PartialEq)]
pub enum Response {
    /// The target answered.
    Ok(Value),
    /// The request failed: the message says why.
    Err(String),
}

impl Response {
    /// The response as the JSON object that goes on the wire.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("v".into(), VERSION.into());
        match self {
            Response::Ok(v) => {
                m.insert("ok".into(), true.into());
                m.insert("response".into(), v.clone());
            }
            Response::Err(e) => {
                m.insert("ok".into(), false.into());
                m.insert("error".into(), e.clone().into());
            }
        }
        Value::Object(m)
    }

    /// The frame body of the response.
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(&self.to_json()).unwrap_or_default()
    }

    /// Reads a response body; an error if it is not a version 1 response.
    pub fn decode(body: &[u8]) -> Result<Response, String> {
        let v: Value = serde_json::from_slice(body)
            .map_err(|e| format!("the engine's response is not JSON: {e}"))?;
        let m = v
            .as_object()
            .ok_or("the engine's response is not a JSON object")?;
        match m.get("v").and_then(Value::as_u64) {
            Some(VERSION) => {}
            other => {
                return Err(format!(
                    "the engine answered in protocol version {} (this client speaks {VERSION})",
                    other.map_or("?".to_string(), |n| n.to_string())
                ))
            }
        }
        match m.get("ok").and_then(Value::as_bool) {
            Some(true) => Ok(Response::Ok(
                m.get("response").cloned().unwrap_or(Value::Null),
            )),
            Some(false) => Ok(Response::Err(
                m.get("error")
                    .and_then(Value::as_str)
                    .unwrap_or("(the engine gave no message)")
                    .to_string(),
            )),
            None => Err("the engine's response has no \"ok\" field".into()),
        }
    }
}

/// The error a request of protocol version `got` (as written in the request) receives.
pub fn version_error(got: &Value) -> String {
    format!("protocol version {got} not supported (this engine speaks {VERSION})")
}

/// The frame body of a request to `target`.
pub fn encode_request(target: &str, request: &Value) -> Vec<u8> {
    let mut m = Map::new();
    m.insert("v".into(), VERSION.into());
    m.insert("target".into(), target.into());
    m.insert("request".into(), request.clone());
    serde_json::to_vec(&Value::Object(m)).unwrap_or_default()
}

/// Reads a request body. The version is checked before anything else, so a client of
/// another version always learns which version this engine speaks.
pub fn parse_request(body: &[u8]) -> Result<Request, String> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| format!("malformed request: not JSON: {e}"))?;
    let Value::Object(mut m) = v else {
        return Err(format!(
            "malformed request: expected an object like {{\"v\":{VERSION},\"target\":\"conntrack\",\"request\":{{\"op\":\"count\"}}}}"
        ));
    };
    match m.get("v") {
        None => {
            return Err(format!(
            "malformed request: missing \"v\" (the protocol version; this engine speaks {VERSION})"
        ))
        }
        Some(ver) if ver.as_u64() != Some(VERSION) => return Err(version_error(ver)),
        Some(_) => {}
    }
    if let Some(k) = m
        .keys()
        .find(|k| !matches!(k.as_str(), "v" | "target" | "request"))
    {
        return Err(format!(
            "malformed request: unknown field {} (v, target, request)",
            Value::String(k.clone())
        ));
    }
    let target = match m.remove("target") {
        Some(Value::String(t)) => t,
        Some(other) => {
            return Err(format!(
                "malformed request: \"target\" must be a string (a plugin's name or \"engine\"), got {other}"
            ))
        }
        None => {
            return Err(
                "malformed request: missing \"target\" (a plugin's name or \"engine\")".into(),
            )
        }
    };
    let request = m
        .remove("request")
        .ok_or("malformed request: missing \"request\" (what to send the target)")?;
    Ok(Request { target, request })
}

/// The bytes a target's control entry point receives for `request`: a string's UTF-8
/// text, any other value serialized as JSON.
pub fn request_payload(request: &Value) -> Vec<u8> {
    match request {
        Value::String(s) => s.as_bytes().to_vec(),
        other => serde_json::to_vec(other).unwrap_or_default(),
    }
}

/// A target's answer as it goes into a response: parsed if it is JSON, else a string.
pub fn response_value(bytes: &[u8]) -> Value {
    match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(_) => Value::String(String::from_utf8_lossy(bytes).into_owned()),
    }
}

/// Why a frame could not be read.
#[derive(Debug)]
pub enum FrameError {
    /// The peer closed the connection between frames.
    Closed,
    /// The length prefix announces more than [`MAX_FRAME`].
    TooLarge(u64),
    /// Reading failed (or the peer closed the connection inside a frame).
    Io(io::Error),
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::Closed => f.write_str("connection closed"),
            FrameError::TooLarge(n) => write!(f, "{}", too_large(*n)),
            FrameError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for FrameError {}

/// The message for a frame of `n` bytes.
pub fn too_large(n: u64) -> String {
    format!("frame of {n} bytes exceeds the limit of {MAX_FRAME} bytes (16 MiB)")
}

/// Writes one frame.
pub fn write_frame(w: &mut dyn Write, body: &[u8]) -> io::Result<()> {
    if body.len() > MAX_FRAME {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            too_large(body.len() as u64),
        ));
    }
    let mut buf = Vec::with_capacity(4 + body.len());
    buf.extend_from_slice(&(body.len() as u32).to_be_bytes());
    buf.extend_from_slice(body);
    w.write_all(&buf)?;
    w.flush()
}

/// Reads one frame (blocking).
pub fn read_frame(r: &mut dyn Read) -> Result<Vec<u8>, FrameError> {
    let mut len = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        match r.read(&mut len[got..]) {
            Ok(0) if got == 0 => return Err(FrameError::Closed),
            Ok(0) => return Err(FrameError::Io(io::ErrorKind::UnexpectedEof.into())),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(FrameError::Io(e)),
        }
    }
    let n = u32::from_be_bytes(len) as u64;
    if n > MAX_FRAME as u64 {
        return Err(FrameError::TooLarge(n));
    }
    let mut body = vec![0u8; n as usize];
    r.read_exact(&mut body).map_err(FrameError::Io)?;
    Ok(body)
}

/// Splits a byte stream into frames as it arrives (for readers that must not block, like
/// the engine's connection threads).
#[derive(Debug, Default)]
pub struct Decoder {
    buf: Vec<u8>,
}

impl Decoder {
    /// Appends bytes read from the peer.
    pub fn feed(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete frame's body, `None` if more bytes are needed, or an error as
    /// soon as a length prefix announces more than [`MAX_FRAME`].
    pub fn next_frame(&mut self) -> Result<Option<Vec<u8>>, FrameError> {
        let Some(len) = self.buf.get(..4) else {
            return Ok(None);
        };
        let n = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as u64;
        if n > MAX_FRAME as u64 {
            return Err(FrameError::TooLarge(n));
        }
        let end = 4 + n as usize;
        if self.buf.len() < end {
            return Ok(None);
        }
        let body = self.buf[4..end].to_vec();
        self.buf.drain(..end);
        Ok(Some(body))
    }

    /// Whether part of a frame is waiting for the rest.
    pub fn is_mid_frame(&self) -> bool {
        !self.buf.is_empty()
    }
}

#[cfg(test)]
mod tests;
