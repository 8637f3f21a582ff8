//! An optional HTTP endpoint, `GET /metrics`, in the Prometheus text format: the
//! conntrack numbers under node_exporter's names (`node_nf_conntrack_entries`,
//! `node_nf_conntrack_entries_limit`, `node_nf_conntrack_stat_found`, ...) so existing
//! dashboards and alerts work, and brickwall's own (verdicts per hook, drops by reason,
//! expectations, helper calls and failures). It asks the same targets the control socket
//! routes to, once per scrape.

use super::target::Targets;
use serde_json::Value;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::thread::JoinHandle;
use std::time::Duration;

/// node_exporter's conntrack statistics, in our `stats` answer's names.
const STATS: [&str; 8] = [
    "found",
    "invalid",
    "insert",
    "insert_failed",
    "drop",
    "early_drop",
    "search_restart",
    "error",
];

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

fn get(targets: &Targets, target: &str, request: &str) -> Option<Value> {
    let bytes = targets.route(target, request.as_bytes()).ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn metric(o: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// The whole exposition, as of now.
pub fn render(targets: &Targets) -> String {
    let mut o = String::new();
    if let Some(s) = get(targets, "conntrack", r#"{"op":"stats"}"#) {
        let count = get(targets, "conntrack", r#"{"op":"count"}"#);
        metric(
            &mut o,
            "node_nf_conntrack_entries",
            "gauge",
            "Connections in the table.",
        );
        let _ = writeln!(
            o,
            "node_nf_conntrack_entries {}",
            s["entries"].as_u64().unwrap_or(0)
        );
        if let Some(max) = count.as_ref().and_then(|c| c["max"].as_u64()) {
            metric(
                &mut o,
                "node_nf_conntrack_entries_limit",
                "gauge",
                "Most connections the table holds.",
            );
            let _ = writeln!(o, "node_nf_conntrack_entries_limit {max}");
        }
        for k in STATS {
            let name = if k == "error" {
                "node_nf_conntrack_stat_icmp_error".to_string()
            } else {
                format!("node_nf_conntrack_stat_{k}")
            };
            metric(
                &mut o,
                &name,
                "gauge",
                &format!("Conntrack statistic {k}, all workers."),
            );
            let _ = writeln!(o, "{name} {}", s[k].as_u64().unwrap_or(0));
        }
        for k in [
            "expect_new",
            "expect_create",
            "expect_delete",
            "clash_resolve",
            "chaintoolong",
        ] {
            let name = format!("brickwall_conntrack_{k}_total");
            metric(
                &mut o,
                &name,
                "counter",
                &format!("Conntrack statistic {k}, all workers."),
            );
            let _ = writeln!(o, "{name} {}", s[k].as_u64().unwrap_or(0));
        }
        if let Some(workers) = s["workers"].as_array() {
            metric(
                &mut o,
                "brickwall_conntrack_found_total",
                "counter",
                "Lookups that found a connection, per worker.",
            );
            for (i, w) in workers.iter().enumerate() {
                let _ = writeln!(
                    o,
                    "brickwall_conntrack_found_total{{worker=\"{i}\"}} {}",
                    w["found"].as_u64().unwrap_or(0)
                );
            }
        }
    }
    let now = get(targets, "engine", r#"{"op":"status"}"#)
        .and_then(|v| v["now_ns"].as_u64())
        .unwrap_or(0);
    if let Ok(l) = targets.route("conntrack", format!("expect-list {now}").as_bytes()) {
        let n = String::from_utf8_lossy(&l).lines().count();
        metric(
            &mut o,
            "brickwall_expectations",
            "gauge",
            "Pending expectations.",
        );
        let _ = writeln!(o, "brickwall_expectations {n}");
    }
    if let Some(h) = get(targets, "conntrack", r#"{"op":"helpers"}"#) {
        if let Some(list) = h["helpers"].as_array() {
            metric(
                &mut o,
                "brickwall_helper_calls_total",
                "counter",
                "Calls into a helper.",
            );
            for x in list {
                let _ = writeln!(
                    o,
                    "brickwall_helper_calls_total{{helper=\"{}\"}} {}",
                    label(x["name"].as_str().unwrap_or("")),
                    x["calls"].as_u64().unwrap_or(0)
                );
            }
            metric(
                &mut o,
                "brickwall_helper_failures_total",
                "counter",
                "Failed helper calls by kind.",
            );
            for x in list {
                let name = label(x["name"].as_str().unwrap_or(""));
                for kind in ["traps", "budget", "memory", "state_oversize"] {
                    if let Some(n) = x[kind].as_u64() {
                        let _ = writeln!(o, "brickwall_helper_failures_total{{helper=\"{name}\",kind=\"{kind}\"}} {n}");
                    }
                }
            }
        }
    }
    if let Some(c) = get(targets, "engine", r#"{"op":"counters"}"#) {
        metric(
            &mut o,
            "brickwall_packets_total",
            "counter",
            "Packets by what became of them.",
        );
        for k in [
            "received",
            "forwarded",
            "delivered",
            "dropped",
            "stolen",
            "injected",
            "non_ip",
        ] {
            let _ = writeln!(
                o,
                "brickwall_packets_total{{outcome=\"{k}\"}} {}",
                c[k].as_u64().unwrap_or(0)
            );
        }
        if let Some(hooks) = c["hooks"].as_object() {
            metric(
                &mut o,
                "brickwall_hook_verdicts_total",
                "counter",
                "Verdicts per hook.",
            );
            for (hook, v) in hooks {
                for verdict in ["accepted", "dropped", "queued", "stolen", "repeated"] {
                    let _ = writeln!(
                        o,
                        "brickwall_hook_verdicts_total{{hook=\"{}\",verdict=\"{verdict}\"}} {}",
                        label(hook),
                        v[verdict].as_u64().unwrap_or(0)
                    );
                }
            }
        }
        metric(
            &mut o,
            "brickwall_drops_total",
            "counter",
            "Dropped packets by reason.",
        );
        for key in ["drops_by_reason", "parse_drops"] {
            if let Some(m) = c[key].as_object() {
                for (reason, n) in m {
                    let _ = writeln!(
                        o,
                        "brickwall_drops_total{{reason=\"{}\"}} {}",
                        label(reason),
                        n.as_u64().unwrap_or(0)
                    );
                }
            }
        }
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

fn serve(mut s: TcpStream, targets: &RwLock<Targets>) {
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = s.set_write_timeout(Some(Duration::from_secs(2)));
    let mut buf = [0u8; 2048];
    let mut n = 0;
    while n < buf.len() {
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
    let head = String::from_utf8_lossy(&buf[..n]);
    let line = head.lines().next().unwrap_or("");
    let (status, ctype, body) = if line.starts_with("GET /metrics ") || line == "GET /metrics" {
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
                while !flag.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((s, _)) => {
                            let _ = s.set_nonblocking(false);
                            serve(s, &targets);
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

    #[test]
    fn labels_are_escaped() {
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
