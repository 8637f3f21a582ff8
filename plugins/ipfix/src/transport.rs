//! UDP transport to the collectors (RFC 7011, section 10.3): one connected socket per
//! collector, so that a refusing port shows as an error; a send that cannot finish
//! within a short time is given up and its records counted as lost.

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// How long one send may wait for room in the socket's buffer.
const SEND_TIMEOUT: Duration = Duration::from_millis(100);

/// What happened to the messages sent to one collector.
#[derive(Debug, Default)]
pub struct CollectorStats {
    /// Messages sent (templates included).
    pub messages: AtomicU64,
    /// Data records in the messages sent.
    pub records: AtomicU64,
    /// Sends that failed.
    pub errors: AtomicU64,
    /// Data records in the messages that failed.
    pub records_lost: AtomicU64,
    /// The last error, as the system said it.
    pub last_error: Mutex<String>,
}

/// One collector: its address and socket.
#[derive(Debug)]
pub struct Collector {
    /// Where it listens.
    pub addr: SocketAddr,
    socket: UdpSocket,
    /// Its counters.
    pub stats: CollectorStats,
}

impl Collector {
    /// A socket connected to `addr`.
    pub fn open(addr: SocketAddr) -> Result<Collector, String> {
        let local: SocketAddr = if addr.is_ipv6() {
            "[::]:0".parse().expect("literal")
        } else {
            "0.0.0.0:0".parse().expect("literal")
        };
        let socket = UdpSocket::bind(local).map_err(|e| format!("collector {addr}: {e}"))?;
        socket
            .connect(addr)
            .map_err(|e| format!("collector {addr}: {e}"))?;
        socket
            .set_write_timeout(Some(SEND_TIMEOUT))
            .map_err(|e| format!("collector {addr}: {e}"))?;
        Ok(Collector {
            addr,
            socket,
            stats: CollectorStats::default(),
        })
    }

    /// Sends one message holding `records` data records; false when it failed (counted).
    pub fn send(&self, msg: &[u8], records: u32) -> bool {
        let s = &self.stats;
        match self.socket.send(msg) {
            Ok(n) if n == msg.len() => {
                s.messages.fetch_add(1, Ordering::Relaxed);
                s.records.fetch_add(records as u64, Ordering::Relaxed);
                true
            }
            other => {
                s.errors.fetch_add(1, Ordering::Relaxed);
                s.records_lost.fetch_add(records as u64, Ordering::Relaxed);
                let why = match other {
                    Ok(n) => format!("sent {n} of {} bytes", msg.len()),
                    Err(e) => e.to_string(),
                };
                *s.last_error.lock().unwrap_or_else(|e| e.into_inner()) = why;
                false
            }
        }
    }
}
