//! The control server: a thread accepting connections on the Unix socket, one thread per
//! connection (at most [`MAX_CONNECTIONS`] at once; while all are taken, a connection
//! silent for [`CROWDED_IDLE_TIMEOUT`] is closed), one thread that refuses the
//! connections past the limit (at most [`REFUSALS_QUEUED`] waiting; more are closed
//! unanswered), every peer checked with `SO_PEERCRED` (only root and the engine's own
//! user are served). Stopping it — or
//! dropping it — closes the connections and removes the socket file.

use super::conn;
use super::socket;
use super::target::Targets;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// Most connections served at once; the next ones get an error and are closed.
pub const MAX_CONNECTIONS: usize = 32;

/// How long a connection may stay silent before the server closes it.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(600);

/// How long a connection may stay silent while every slot is taken: idle clients
/// cannot keep the others out for longer.
pub const CROWDED_IDLE_TIMEOUT: Duration = Duration::from_secs(10);

/// Refusals waiting for the one thread that sends them; more are closed at once.
pub const REFUSALS_QUEUED: usize = 64;

/// What the accept thread and the connection threads share.
pub(super) struct Shared {
    /// Where requests go (replaced when the engine reloads its plugins).
    pub targets: Arc<std::sync::RwLock<Targets>>,
    /// Set to stop everything.
    pub stop: AtomicBool,
    /// Connections being served.
    pub active: AtomicUsize,
    /// The engine's user id (served besides root).
    pub own_uid: u32,
    /// Silence after which a connection is closed.
    pub idle_timeout: Duration,
    /// Silence after which a connection is closed while every slot is taken.
    pub crowded_idle_timeout: Duration,
    /// Connections to refuse, for the refusing thread.
    pub refusals: crossbeam_channel::Sender<(UnixStream, String)>,
    /// Connections closed unanswered because the refusal queue was full.
    pub dropped: AtomicUsize,
}

/// A control socket bound and listening, not yet served: live mode binds it while it
/// still has root's powers and serves it once they are dropped, before any thread of
/// its own starts. Dropping it removes the socket file.
pub struct BoundControl {
    path: PathBuf,
    listener: Option<UnixListener>,
    /// Device and inode of the socket file we created (removed only if still ours).
    file_id: Option<(u64, u64)>,
}

impl BoundControl {
    /// Listens at `path` (its directory is created if missing; a stale socket is
    /// replaced); no connection is accepted until [`serve`](Self::serve).
    pub fn bind(path: &Path) -> io::Result<BoundControl> {
        let listener = socket::listen(path)?;
        listener.set_nonblocking(true)?;
        let file_id = std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()));
        Ok(BoundControl {
            path: path.to_path_buf(),
            listener: Some(listener),
            file_id,
        })
    }

    /// The socket's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Hands the socket file to `uid`:`gid` (not following a link), keeping its mode.
    pub fn give_to(&self, uid: u32, gid: u32) -> io::Result<()> {
        std::os::unix::fs::lchown(&self.path, Some(uid), Some(gid))
    }

    /// Starts serving `targets`.
    pub fn serve(self, targets: Targets) -> io::Result<ControlServer> {
        self.serve_with(targets, IDLE_TIMEOUT)
    }

    /// As [`serve`](Self::serve), closing connections silent for `idle_timeout`
    /// (and for at most [`CROWDED_IDLE_TIMEOUT`] while every slot is taken).
    pub fn serve_with(self, targets: Targets, idle_timeout: Duration) -> io::Result<ControlServer> {
        let crowded = CROWDED_IDLE_TIMEOUT.min(idle_timeout);
        self.serve_with_limits(targets, idle_timeout, crowded)
    }

    /// As [`serve`](Self::serve), with both silences given.
    pub fn serve_with_limits(
        mut self,
        targets: Targets,
        idle_timeout: Duration,
        crowded_idle_timeout: Duration,
    ) -> io::Result<ControlServer> {
        let listener = self.listener.take().expect("a bound socket is served once");
        let (refusals, queue) = crossbeam_channel::bounded(REFUSALS_QUEUED);
        let shared = Arc::new(Shared {
            targets: Arc::new(std::sync::RwLock::new(targets)),
            stop: AtomicBool::new(false),
            active: AtomicUsize::new(0),
            own_uid: socket::own_uid(),
            idle_timeout,
            crowded_idle_timeout,
            refusals,
            dropped: AtomicUsize::new(0),
        });
        let s = shared.clone();
        let refuser = std::thread::Builder::new()
            .name("control-refuse".into())
            .spawn(move || refuse_loop(queue, s))?;
        let s = shared.clone();
        let thread = std::thread::Builder::new()
            .name("control-accept".into())
            .spawn(move || accept_loop(listener, s))?;
        Ok(ControlServer {
            path: std::mem::take(&mut self.path),
            file_id: self.file_id.take(),
            shared,
            threads: vec![thread, refuser],
        })
    }
}

impl Drop for BoundControl {
    fn drop(&mut self) {
        if self.listener.is_some() {
            remove_if_ours(&self.path, self.file_id);
        }
    }
}

impl std::fmt::Debug for BoundControl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BoundControl")
            .field("path", &self.path)
            .finish()
    }
}

/// Removes the socket file at `path` if it is still the one we created.
fn remove_if_ours(path: &Path, file_id: Option<(u64, u64)>) {
    let now = std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()));
    if now.is_some() && now == file_id {
        let _ = std::fs::remove_file(path);
    }
}

/// A running control server. Dropping it stops it.
pub struct ControlServer {
    path: PathBuf,
    /// Device and inode of the socket file we created (removed only if still ours).
    file_id: Option<(u64, u64)>,
    shared: Arc<Shared>,
    /// The accepting and the refusing thread.
    threads: Vec<JoinHandle<()>>,
}

impl ControlServer {
    /// Listens at `path` (its directory is created if missing; a stale socket is
    /// replaced) and serves `targets` until stopped.
    pub fn start(path: &Path, targets: Targets) -> io::Result<ControlServer> {
        Self::start_with(path, targets, IDLE_TIMEOUT)
    }

    /// As [`start`](Self::start), closing connections silent for `idle_timeout`.
    pub fn start_with(
        path: &Path,
        targets: Targets,
        idle_timeout: Duration,
    ) -> io::Result<ControlServer> {
        BoundControl::bind(path)?.serve_with(targets, idle_timeout)
    }

    /// The socket's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The targets the server routes to, shared (the metrics endpoint asks them too).
    pub fn targets(&self) -> Arc<std::sync::RwLock<Targets>> {
        self.shared.targets.clone()
    }

    /// Routes requests to `targets` from now on (after a reload changed the plugins).
    pub fn set_targets(&self, targets: Targets) {
        *self
            .shared
            .targets
            .write()
            .unwrap_or_else(|e| e.into_inner()) = targets;
    }

    /// Connections being served now.
    pub fn active_connections(&self) -> usize {
        self.shared.active.load(Ordering::Relaxed)
    }

    /// Connections closed unanswered because too many refusals were waiting.
    pub fn dropped_connections(&self) -> usize {
        self.shared.dropped.load(Ordering::Relaxed)
    }

    /// Stops accepting, closes the connections (each notices within a fraction of a
    /// second) and removes the socket file.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        remove_if_ours(&self.path, self.file_id);
    }
}

impl Drop for ControlServer {
    fn drop(&mut self) {
        self.stop();
    }
}

impl std::fmt::Debug for ControlServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ControlServer")
            .field("path", &self.path)
            .field(
                "targets",
                &*self
                    .shared
                    .targets
                    .read()
                    .unwrap_or_else(|e| e.into_inner()),
            )
            .finish()
    }
}

/// Waits up to 100 ms for a connection; whether one is waiting.
fn readable(l: &UnixListener) -> bool {
    let mut p = libc::pollfd {
        fd: l.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    unsafe { libc::poll(&mut p, 1, 100) > 0 }
}

/// Sends the queued refusals, one at a time, until the server stops.
fn refuse_loop(queue: crossbeam_channel::Receiver<(UnixStream, String)>, shared: Arc<Shared>) {
    while !shared.stop.load(Ordering::SeqCst) {
        if let Ok((stream, msg)) = queue.recv_timeout(Duration::from_millis(100)) {
            conn::refuse(stream, msg);
        }
    }
}

fn accept_loop(listener: UnixListener, shared: Arc<Shared>) {
    while !shared.stop.load(Ordering::SeqCst) {
        if !readable(&listener) {
            continue;
        }
        let stream = match listener.accept() {
            Ok((s, _)) => s,
            Err(_) => continue,
        };
        if stream.set_nonblocking(false).is_err() {
            continue;
        }
        if shared.active.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
            shared.active.fetch_sub(1, Ordering::SeqCst);
            // Refused by the one refusing thread (a refusal waits up to a second for the
            // peer to read it); with its queue full, closed at once.
            let msg = format!(
                "too many control connections (at most {MAX_CONNECTIONS}); try again later"
            );
            if shared.refusals.try_send((stream, msg)).is_err() {
                shared.dropped.fetch_add(1, Ordering::Relaxed);
            }
            continue;
        }
        let s = shared.clone();
        let spawned = std::thread::Builder::new()
            .name("control-conn".into())
            .spawn(move || conn::serve(stream, &s));
        if spawned.is_err() {
            shared.active.fetch_sub(1, Ordering::SeqCst);
        }
    }
}
