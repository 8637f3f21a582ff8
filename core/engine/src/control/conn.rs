//! One control connection: the peer's uid checked, then frames read as they arrive and
//! each request answered in turn. A malformed request gets an error response and the
//! connection stays open; a frame longer than the limit gets an error and the
//! connection is closed (the stream cannot be resynchronised).

use super::server::Shared;
use super::socket;
use super::target::Targets;
use brickwall_control_protocol::envelope::{
    self as protocol, Decoder, FrameError, Response, MAX_FRAME,
};
use std::io::{self, Read};
use std::os::unix::net::UnixStream;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// How often a waiting connection looks at the server's stop flag.
const TICK: Duration = Duration::from_millis(200);

/// Decrements the active-connection count when the connection ends.
struct Active<'a>(&'a Shared);

impl Drop for Active<'_> {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Answers one request body.
pub fn answer(targets: &Targets, body: &[u8]) -> Response {
    let req = match protocol::parse_request(body) {
        Ok(r) => r,
        Err(e) => return Response::Err(e),
    };
    match targets.route(&req.target, &protocol::request_payload(&req.request)) {
        Ok(bytes) => Response::Ok(protocol::response_value(&bytes)),
        Err(e) => Response::Err(e),
    }
}

/// The frame body of a response, or an error if it would exceed the frame limit.
fn encode(r: &Response) -> Vec<u8> {
    let body = r.encode();
    if body.len() <= MAX_FRAME {
        return body;
    }
    Response::Err(format!(
        "the answer of {} bytes exceeds the {MAX_FRAME}-byte frame limit; narrow the request (a filter)",
        body.len()
    ))
    .encode()
}

fn send(s: &mut UnixStream, r: &Response) -> io::Result<()> {
    protocol::write_frame(s, &encode(r))
}

/// Sends a last error and closes so that the peer can read it: a socket closed with
/// unread input resets the connection, and the peer would see the reset instead of the
/// message. So the write side is shut, and what the peer still sends is read and dropped
/// until it closes (at most a second).
pub(super) fn refuse(mut s: UnixStream, msg: String) {
    let _ = s.set_write_timeout(Some(Duration::from_secs(1)));
    if send(&mut s, &Response::Err(msg)).is_err() {
        return;
    }
    let _ = s.shutdown(std::net::Shutdown::Write);
    let end = Instant::now() + Duration::from_secs(1);
    let _ = s.set_read_timeout(Some(Duration::from_millis(100)));
    let mut buf = [0u8; 4096];
    while Instant::now() < end {
        match s.read(&mut buf) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) => {}
            Err(_) => return,
        }
    }
}

/// Serves one connection until the peer closes it, falls silent for the idle timeout,
/// breaks the framing, or the server stops.
pub(super) fn serve(mut s: UnixStream, shared: &Shared) {
    let _active = Active(shared);
    let _ = s.set_write_timeout(Some(Duration::from_secs(10)));
    match socket::peer_uid(&s) {
        Ok(uid) if uid == 0 || uid == shared.own_uid => {}
        Ok(uid) => {
            let msg = format!(
                "permission denied: uid {uid} may not use this control socket (only root and the engine's uid {})",
                shared.own_uid
            );
            return refuse(s, msg);
        }
        Err(e) => {
            return refuse(
                s,
                format!("permission denied: cannot read the peer's credentials: {e}"),
            );
        }
    }
    if s.set_read_timeout(Some(TICK)).is_err() {
        return;
    }
    let mut dec = Decoder::default();
    let mut buf = vec![0u8; 64 * 1024];
    let mut last = Instant::now();
    loop {
        loop {
            match dec.next_frame() {
                Ok(Some(body)) => {
                    let targets = shared
                        .targets
                        .read()
                        .unwrap_or_else(|e| e.into_inner())
                        .clone();
                    if send(&mut s, &answer(&targets, &body)).is_err() {
                        return;
                    }
                    last = Instant::now();
                }
                Ok(None) => break,
                Err(FrameError::TooLarge(n)) => return refuse(s, protocol::too_large(n)),
                Err(_) => return,
            }
        }
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        match s.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => dec.feed(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                let crowded =
                    shared.active.load(Ordering::Relaxed) >= super::server::MAX_CONNECTIONS;
                let limit = if crowded {
                    shared.crowded_idle_timeout
                } else {
                    shared.idle_timeout
                };
                if last.elapsed() >= limit {
                    return;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}
