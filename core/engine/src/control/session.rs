//! A run with a control socket, as `brickwall replay --control` and `brickwall demo
//! --control` use it: the server started over the engine's targets, the status the
//! replay publishes to, SIGINT/SIGTERM turned into an orderly stop, and the linger
//! after the run.

use super::engine_target::engine_targets;
use super::server::{BoundControl, ControlServer};
use super::signal;
use super::status::LiveStatus;
use crate::engine::Engine;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The control socket of one run.
#[derive(Debug)]
pub struct ControlSession {
    server: ControlServer,
    status: Arc<LiveStatus>,
    stop: &'static AtomicBool,
    metrics: Option<super::metrics::MetricsServer>,
}

/// A control socket (and metrics port) bound but not yet served: see
/// [`BoundControl`].
#[derive(Debug)]
pub struct BoundSession {
    control: BoundControl,
    metrics: Option<std::net::TcpListener>,
}

impl BoundSession {
    /// Binds the control socket at `path`.
    pub fn bind(path: &Path) -> Result<BoundSession, String> {
        let control = BoundControl::bind(path).map_err(|e| format!("--control: {e}"))?;
        Ok(BoundSession {
            control,
            metrics: None,
        })
    }

    /// Also binds `addr` for `GET /metrics`; returns the address bound.
    pub fn bind_metrics(
        &mut self,
        addr: std::net::SocketAddr,
    ) -> Result<std::net::SocketAddr, String> {
        let l = super::metrics::MetricsServer::bind(addr)
            .and_then(|l| l.local_addr().map(|a| (l, a)))
            .map_err(|e| format!("--metrics {addr}: {e}"))?;
        self.metrics = Some(l.0);
        Ok(l.1)
    }

    /// Hands the socket file to `uid`:`gid` (the user a live engine becomes), so that
    /// user may connect to it as root may.
    pub fn give_to(&self, uid: u32, gid: u32) -> std::io::Result<()> {
        self.control.give_to(uid, gid)
    }

    /// Serves `engine`'s plugins and the engine itself.
    pub fn serve(self, engine: &Engine) -> Result<ControlSession, String> {
        let status = Arc::new(LiveStatus::new());
        let server = self
            .control
            .serve(engine_targets(engine, status.clone()))
            .map_err(|e| format!("--control: {e}"))?;
        let metrics = match self.metrics {
            Some(l) => Some(
                super::metrics::MetricsServer::serve(l, server.targets())
                    .map_err(|e| format!("--metrics: {e}"))?,
            ),
            None => None,
        };
        Ok(ControlSession {
            server,
            status,
            stop: signal::stop_on_signals(),
            metrics,
        })
    }
}

impl ControlSession {
    /// Serves `engine`'s plugins and the engine itself at `path`.
    pub fn start(engine: &Engine, path: &Path) -> Result<ControlSession, String> {
        BoundSession::bind(path)?.serve(engine)
    }

    /// Also serves `GET /metrics` (Prometheus) at `addr`; returns the address bound.
    pub fn serve_metrics(
        &mut self,
        addr: std::net::SocketAddr,
    ) -> Result<std::net::SocketAddr, String> {
        let m = super::metrics::MetricsServer::start(addr, self.server.targets())
            .map_err(|e| format!("--metrics {addr}: {e}"))?;
        let bound = m.addr();
        self.metrics = Some(m);
        Ok(bound)
    }

    /// The socket's path.
    pub fn path(&self) -> &Path {
        self.server.path()
    }

    /// The status the run publishes to.
    pub fn status(&self) -> &Arc<LiveStatus> {
        &self.status
    }

    /// Serves `engine`'s plugins as they are now (after a reload).
    pub fn retarget(&self, engine: &Engine) {
        self.server
            .set_targets(engine_targets(engine, self.status.clone()));
    }

    /// The flag SIGINT and SIGTERM set.
    pub fn stop_flag(&self) -> &'static AtomicBool {
        self.stop
    }

    /// Whether a signal asked the engine to stop.
    pub fn interrupted(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Keeps serving for `secs` seconds (less if a signal comes), then stops the server
    /// and removes the socket.
    pub fn linger(self, secs: u64) {
        let end = Instant::now() + Duration::from_secs(secs);
        self.serve_until(|| Instant::now() >= end);
    }

    /// Keeps serving until `done()` holds or a signal comes, then stops the server and
    /// removes the socket.
    pub fn serve_until(self, done: impl Fn() -> bool) {
        while !self.interrupted() && !done() {
            std::thread::sleep(Duration::from_millis(20));
        }
        self.server.shutdown();
    }
}
