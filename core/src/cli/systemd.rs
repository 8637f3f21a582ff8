//! The service manager's notification protocol (`sd_notify(3)`), for `brickwall run`
//! under systemd with `Type=notify`: readiness once the workers run, `RELOADING=1` and
//! readiness again around a SIGHUP reload, `STOPPING=1` at the end, and watchdog pings
//! at half the `WatchdogSec=` the manager asks for. Each is one datagram on the unix
//! socket `NOTIFY_SOCKET` names (a path, or `@name` in the abstract namespace). Without
//! `NOTIFY_SOCKET` every call does nothing.

use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::time::{Duration, Instant};

/// A connection to the service manager, if there is one.
pub struct Notifier {
    target: Option<(UnixDatagram, SocketAddr)>,
    /// Half the watchdog period, when the manager asked for pings.
    ping_every: Option<Duration>,
    last_ping: Instant,
    ready: bool,
}

impl Notifier {
    /// Reads `NOTIFY_SOCKET`, `WATCHDOG_USEC` and `WATCHDOG_PID` from the environment.
    pub fn from_env() -> Notifier {
        let target = std::env::var("NOTIFY_SOCKET")
            .ok()
            .and_then(|p| address(&p))
            .and_then(|a| UnixDatagram::unbound().ok().map(|s| (s, a)));
        let ours = std::env::var("WATCHDOG_PID")
            .ok()
            .and_then(|p| p.parse::<u32>().ok())
            .is_none_or(|p| p == std::process::id());
        let ping_every = std::env::var("WATCHDOG_USEC")
            .ok()
            .and_then(|u| u.parse::<u64>().ok())
            .filter(|&u| u > 0 && ours)
            .map(|u| Duration::from_micros(u / 2));
        Notifier {
            target,
            ping_every,
            last_ping: Instant::now(),
            ready: false,
        }
    }

    /// Sends one notification (newline-separated `KEY=VALUE` lines); failures are
    /// ignored, as the manager may have gone.
    fn send(&self, state: &str) {
        if let Some((sock, addr)) = &self.target {
            let _ = sock.send_to_addr(state.as_bytes(), addr);
        }
    }

    /// The service is up: its first call sends `READY=1` with the main pid; later
    /// calls send a watchdog ping when one is due.
    pub fn tick(&mut self) {
        if !self.ready {
            self.ready = true;
            self.send(&format!("READY=1\nMAINPID={}", std::process::id()));
            self.last_ping = Instant::now();
            return;
        }
        if let Some(every) = self.ping_every {
            if self.last_ping.elapsed() >= every {
                self.send("WATCHDOG=1");
                self.last_ping = Instant::now();
            }
        }
    }

    /// A reload begins (`RELOADING=1`).
    pub fn reloading(&self) {
        self.send("RELOADING=1");
    }

    /// A reload ended, whether or not it worked: ready again.
    pub fn reloaded(&self) {
        self.send("READY=1");
    }

    /// The service is stopping.
    pub fn stopping(&self) {
        self.send("STOPPING=1");
    }
}

/// `NOTIFY_SOCKET`'s address: a path, or `@name` for the abstract namespace.
fn address(s: &str) -> Option<SocketAddr> {
    match s.strip_prefix('@') {
        Some(name) => SocketAddr::from_abstract_name(name.as_bytes()).ok(),
        None if s.starts_with('/') => SocketAddr::from_pathname(s).ok(),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the manager receives: readiness first, pings when due, and the reload and
    /// stop notices; a notifier without a socket sends nothing and does not fail.
    #[test]
    fn notifications_reach_the_socket() {
        let dir = std::env::temp_dir().join(format!("bw-notify-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("notify.sock");
        let manager = UnixDatagram::bind(&path).unwrap();
        manager
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        let mut n = Notifier {
            target: Some((
                UnixDatagram::unbound().unwrap(),
                address(path.to_str().unwrap()).unwrap(),
            )),
            ping_every: Some(Duration::from_millis(10)),
            last_ping: Instant::now(),
            ready: false,
        };
        let recv = || {
            let mut buf = [0u8; 256];
            loop {
                match manager.recv(&mut buf) {
                    Ok(k) => return String::from_utf8_lossy(&buf[..k]).into_owned(),
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => panic!("no notification: {e}"),
                }
            }
        };
        n.tick();
        assert_eq!(recv(), format!("READY=1\nMAINPID={}", std::process::id()));
        n.tick();
        std::thread::sleep(Duration::from_millis(15));
        n.tick();
        assert_eq!(recv(), "WATCHDOG=1");
        n.reloading();
        n.reloaded();
        n.stopping();
        assert_eq!(
            [recv(), recv(), recv()],
            ["RELOADING=1", "READY=1", "STOPPING=1"]
        );
        manager.set_nonblocking(true).unwrap();
        assert!(manager.recv(&mut [0u8; 16]).is_err(), "nothing more");
        let mut none = Notifier {
            target: None,
            ping_every: None,
            last_ping: Instant::now(),
            ready: false,
        };
        none.tick();
        none.stopping();
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn addresses_are_paths_or_abstract_names() {
        assert!(address("/run/systemd/notify").is_some());
        assert!(address("@/org/freedesktop/systemd1/notify").is_some());
        assert!(address("relative").is_none());
    }
}
