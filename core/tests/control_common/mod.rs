//! Helpers of the control-socket tests: an engine process serving its socket during and
//! after a replay, `brickwall ct` runs against it, raw protocol calls, and parsing
//! `conntrack -L` lines.
#![allow(dead_code)]

use brickwall_tui::client::Client;
use serde_json::{json, Value};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::TempDir;

/// The binary under test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_brickwall")
}

/// An engine process: `brickwall replay|demo ... --control SOCK --linger 300`.
pub struct Engine {
    /// The process.
    pub child: Option<Child>,
    /// Its directory (the socket lives here).
    pub dir: TempDir,
    /// The socket.
    pub sock: PathBuf,
}

impl Engine {
    /// Starts `brickwall <args> --control <dir>/ctl.sock --linger 300` and waits until
    /// its run has finished (the tables are final).
    pub fn start(name: &str, args: &[&str]) -> Engine {
        let dir = TempDir::new(name);
        let sock = dir.join("ctl.sock");
        let child = Command::new(bin())
            .args(args)
            .arg("--control")
            .arg(&sock)
            .args(["--linger", "300"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start brickwall");
        let mut e = Engine {
            child: Some(child),
            dir,
            sock,
        };
        e.wait_finished();
        e
    }

    /// A replay of a capture with `--ct-list` (printed before the linger) and `-q`.
    pub fn replay(name: &str, capture: &Path) -> Engine {
        let file = capture.to_str().expect("UTF-8 path");
        Engine::start(name, &["replay", file, "-q", "--ct-list"])
    }

    fn wait_finished(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Some(st) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                let out = self.child.take().unwrap().wait_with_output().unwrap();
                panic!(
                    "brickwall exited early ({st}):\n{}\n{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            if let Ok(mut c) = Client::connect(&self.sock) {
                if let Ok(v) = c.call("engine", &json!({"op": "status"})) {
                    if v["phase"] == "finished" {
                        return;
                    }
                }
            }
            assert!(
                Instant::now() < deadline,
                "the engine did not finish its run"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Runs `brickwall ct <args> --socket SOCK`.
    pub fn ct(&self, args: &[&str]) -> Output {
        Command::new(bin())
            .arg("ct")
            .args(args)
            .arg("--socket")
            .arg(&self.sock)
            .output()
            .expect("run brickwall ct")
    }

    /// A client connection.
    pub fn client(&self) -> Client {
        Client::connect(&self.sock).expect("connect to the engine")
    }

    /// A raw connection.
    pub fn raw(&self) -> UnixStream {
        let s = UnixStream::connect(&self.sock).expect("connect to the engine");
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s
    }

    /// Sends SIGTERM (ending the linger) and returns the process's output.
    pub fn stop(mut self) -> Output {
        let child = self.child.take().expect("running");
        // SAFETY: signalling our own child by its pid.
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
        // Reads both pipes while waiting, so a full pipe cannot block the engine.
        child.wait_with_output().unwrap()
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Standard output as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Standard error as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts an exit code, showing the output otherwise.
pub fn assert_code(o: &Output, code: i32) {
    assert_eq!(
        o.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        stdout(o),
        stderr(o)
    );
}

/// The first value of `key=` in a line (the original direction's for tuple keys).
pub fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let prefix = format!("{key}=");
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(prefix.as_str()))
}

/// The `brickwall ct -G` arguments naming the connection of a `conntrack -L` line.
pub fn tuple_args(line: &str) -> Vec<String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let mut a = vec![
        "-p".to_string(),
        words[1].to_string(),
        "-s".into(),
        field(line, "src").unwrap().into(),
        "-d".into(),
        field(line, "dst").unwrap().into(),
    ];
    if let (Some(s), Some(d)) = (field(line, "sport"), field(line, "dport")) {
        a.extend(["--sport".into(), s.into(), "--dport".into(), d.into()]);
    }
    if let (Some(t), Some(id)) = (field(line, "type"), field(line, "id")) {
        a.extend([
            "--icmp-type".into(),
            t.into(),
            "--icmp-id".into(),
            id.into(),
        ]);
        a.extend(["--icmp-code".into(), field(line, "code").unwrap().into()]);
    }
    a
}

/// Sends one frame body and reads the answer as JSON.
pub fn raw_call(s: &mut UnixStream, body: &[u8]) -> Value {
    brickwall_tui::protocol::write_frame(s, body).expect("write frame");
    let answer = brickwall_tui::protocol::read_frame(s).expect("read frame");
    serde_json::from_slice(&answer).expect("JSON answer")
}

/// `s` with every run of digits replaced by `N` (a line's shape).
pub fn numbers_as_n(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_number = false;
    for c in s.chars() {
        if c.is_ascii_digit() {
            if !in_number {
                out.push('N');
            }
            in_number = true;
        } else {
            out.push(c);
            in_number = false;
        }
    }
    out
}
