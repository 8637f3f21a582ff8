//! An optional HTTP endpoint, `GET /metrics`, in the Prometheus text format. Each
//! control target contributes its own metric families (`{"op":"metrics"}`, the control
//! protocol's `MetricsResponse`): the engine its packets, verdicts per hook and drops by
//! reason; the conntrack plugin the table under node_exporter's conntrack names
//! (`node_nf_conntrack_entries`, `node_nf_conntrack_stat_found`, ...) so existing
//! dashboards and alerts work, its own counters, expectations and the helpers' calls
//! and failures; any other plugin what it answers. The endpoint merges them, asking the
//! same targets the control socket routes to, once per scrape.

use super::target::Targets;
use brickwall_control_protocol::metrics::{self, MetricsResponse};
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::thread::JoinHandle;
use std::time::Duration;

/// The address to listen on: `PORT` or `:PORT` mean the loopback interface.
pub fn parse_addr(s: &str) -> Result<SocketAddr, String> {
    let s = s.trim();
    let with_host = if s.starts_with(':') {
        format!("127.0.0.1{s}")
    } else if s.parse::<u16>().is_ok() {
        format!("127.0.0.1:{s}")
    } else {
        s.to_string()
    };
    with_host
        .parse()
        .map_err(|_| format!("--metrics: `{s}` is not ADDR:PORT, :PORT or PORT"))
}

/// The whole exposition, as of now: every target's answer to `{"op":"metrics"}`,
/// merged (targets without metrics answer an error and add nothing). A target whose
/// answer does not parse, or whose families conflict, is named in a comment line.
pub fn render(targets: &Targets) -> String {
    let mut parts = Vec::new();
    let mut notes = Vec::new();
    // The engine's own first, then the plugins by name.
    let mut names = targets.names();
    names.sort_by_key(|n| *n != brickwall_control_protocol::envelope::ENGINE_TARGET);
    for name in names {
        let Ok(bytes) = targets.route(name, metrics::REQUEST.as_bytes()) else {
            continue;
        };
        match serde_json::from_slice::<MetricsResponse>(&bytes) {
            Ok(r) => parts.push((name.to_string(), r.families)),
            Err(e) => notes.push(format!("{name}: its metrics do not parse: {e}")),
        }
    }
    let (families, merge_notes) = metrics::merge(parts);
    notes.extend(merge_notes);
    let mut o = metrics::render(&families);
    for n in notes {
        let _ = writeln!(o, "# brickwall: {}", n.replace('\n', " "));
    }
    o
}

/// A running metrics endpoint. Dropping it stops it.
#[derive(Debug)]
pub struct MetricsServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// Scrapes answered at once; more get 503 at once.
pub const MAX_SCRAPES: usize = 8;

/// How long a client has to send its whole request head.
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(2);

/// Whether a request head (what arrived before the blank line, or before the limit)
/// asks for the metrics: its first line is `GET /metrics` with or without a version.
pub fn wants_metrics(head: &[u8]) -> bool {
    let head = String::from_utf8_lossy(head);
    let line = head.lines().next().unwrap_or("");
    line.starts_with("GET /metrics ") || line == "GET /metrics"
}

/// Answers one connection: reads the request head until a blank line, at most 2 KiB
/// and [`REQUEST_DEADLINE`] in all (a client trickling a byte at a time is cut off at
/// the deadline, not kept per byte), then writes the answer.
fn serve(mut s: TcpStream, targets: &RwLock<Targets>) {
    let _ = s.set_write_timeout(Some(Duration::from_secs(2)));
    let deadline = std::time::Instant::now() + REQUEST_DEADLINE;
    let mut buf = [0u8; 2048];
    let mut n = 0;
    while n < buf.len() {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() || s.set_read_timeout(Some(left)).is_err() {
            return;
        }
        match s.read(&mut buf[n..]) {
            Ok(0) | Err(_) => break,
            Ok(k) => n += k,
        }
        if buf[..n].windows(4).any(|w| w == b"\r\n\r\n")
            || buf[..n].windows(2).any(|w| w == b"\n\n")
        {
            break;
        }
    }
    let (status, ctype, body) = if wants_metrics(&buf[..n]) {
        let t = targets.read().unwrap_or_else(|e| e.into_inner()).clone();
        (
            "200 OK",
            "text/plain; version=0.0.4; charset=utf-8",
            render(&t),
        )
    } else {
        (
            "404 Not Found",
            "text/plain; charset=utf-8",
            "only /metrics lives here\n".to_string(),
        )
    };
    let _ = write!(
        s,
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

impl MetricsServer {
    /// Listens on `addr` and answers scrapes from `targets` (which a reload may replace).
    pub fn start(
        addr: SocketAddr,
        targets: Arc<RwLock<Targets>>,
    ) -> std::io::Result<MetricsServer> {
        Self::serve(Self::bind(addr)?, targets)
    }

    /// Binds `addr` without answering yet (live mode binds before it drops root's
    /// powers, and serves after).
    pub fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
        let listener = TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        Ok(listener)
    }

    /// Answers scrapes arriving at `listener` (from [`bind`](Self::bind)) from `targets`.
    pub fn serve(
        listener: TcpListener,
        targets: Arc<RwLock<Targets>>,
    ) -> std::io::Result<MetricsServer> {
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("metrics".into())
            .spawn(move || {
                let busy = Arc::new(AtomicUsize::new(0));
                while !flag.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((mut s, _)) => {
                            let _ = s.set_nonblocking(false);
                            // Each scrape on a thread of its own, so a slow client
                            // holds up no other; a few at once.
                            if busy.fetch_add(1, Ordering::SeqCst) >= MAX_SCRAPES {
                                busy.fetch_sub(1, Ordering::SeqCst);
                                let _ = s.set_write_timeout(Some(Duration::from_millis(200)));
                                let _ = s.write_all(
                                    b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                                );
                                continue;
                            }
                            let (t, b) = (targets.clone(), busy.clone());
                            let spawned = std::thread::Builder::new()
                                .name("metrics-scrape".into())
                                .spawn(move || {
                                    serve(s, &t);
                                    b.fetch_sub(1, Ordering::SeqCst);
                                });
                            if spawned.is_err() {
                                busy.fetch_sub(1, Ordering::SeqCst);
                            }
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(20)),
                    }
                }
            })?;
        Ok(MetricsServer {
            addr,
            stop,
            thread: Some(thread),
        })
    }

    /// Where it listens (the port chosen when 0 was asked for).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_ports_mean_loopback() {
        assert_eq!(parse_addr("9633").unwrap().to_string(), "127.0.0.1:9633");
        assert_eq!(parse_addr(":9633").unwrap().to_string(), "127.0.0.1:9633");
        assert_eq!(parse_addr("0.0.0.0:1").unwrap().to_string(), "0.0.0.0:1");
        assert!(parse_addr("nowhere").is_err());
    }
}
