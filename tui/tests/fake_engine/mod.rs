//! A fake engine for the clients' tests: a control socket in a scratch folder whose
//! answers a function gives, recording every request it reads.

use brickwall_tui::protocol::{self, Response};
use serde_json::Value;
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// The socket and the requests seen, as (target, request).
pub struct FakeEngine {
    pub path: PathBuf,
    seen: Arc<Mutex<Vec<(String, Value)>>>,
}

impl FakeEngine {
    /// Listens in a fresh folder named after `name`; `answer` answers each request.
    pub fn start(name: &str, answer: fn(&str, &Value) -> Response) -> FakeEngine {
        // Tests of one process run at once and may start engines of the same name in
        // the same clock tick: a counter tells their folders apart.
        static STARTED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = STARTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!(
            "brickwall-tui-{}-{name}-{n}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("ctl.sock");
        let l = UnixListener::bind(&path).unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let rec = seen.clone();
        std::thread::spawn(move || {
            for s in l.incoming() {
                let Ok(mut s) = s else { return };
                while let Ok(body) = protocol::read_frame(&mut s) {
                    let req = protocol::parse_request(&body).unwrap();
                    rec.lock()
                        .unwrap()
                        .push((req.target.clone(), req.request.clone()));
                    let r = answer(&req.target, &req.request);
                    if protocol::write_frame(&mut s, &r.encode()).is_err() {
                        break;
                    }
                }
            }
        });
        FakeEngine { path, seen }
    }

    /// The requests since the last call, as (target, request).
    pub fn requests(&self) -> Vec<(String, Value)> {
        std::mem::take(&mut self.seen.lock().unwrap())
    }
}

impl Drop for FakeEngine {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(self.path.parent().unwrap());
    }
}
