//! `brickwall top` end to end: the real binary in a tmux pane (160 × 48) attached to a
//! real engine (`brickwall demo --control SOCK --linger 300`); the screen is read with
//! `tmux capture-pane`: the hash-chains view with its numbers, the connections view
//! with a known connection after Tab, "disconnected, retrying" once the engine stops,
//! and the session gone after q. Needs tmux (fails with a message saying so when it is missing).
//! Every tmux server and process the test starts is stopped by guards, pass or fail.

mod common;
mod control_common;

use control_common::{bin, Engine};
use serde_json::{json, Value};
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// A private tmux server (`tmux -S SOCKET`, the socket in the test's directory) holding
/// the dashboard's session; killed when dropped.
struct Tmux {
    socket: std::path::PathBuf,
}

impl Tmux {
    /// Starts a server at `socket` with one detached 160 × 48 session running `command`.
    fn start(socket: std::path::PathBuf, command: &str) -> Tmux {
        let version = Command::new("tmux").arg("-V").output();
        assert!(
            version.as_ref().is_ok_and(|o| o.status.success()),
            "tmux is needed by this test and was not found (apt-get install tmux)"
        );
        let t = Tmux { socket };
        let out = t.run(&[
            "new-session",
            "-d",
            "-s",
            "top",
            "-x",
            "160",
            "-y",
            "48",
            command,
        ]);
        assert!(out.status.success(), "tmux new-session: {out:?}");
        t
    }

    /// Runs a tmux command against the private server.
    fn run(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .env_remove("TMUX")
            .output()
            .expect("run tmux")
    }

    /// The pane's text.
    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-p", "-t", "top"]).stdout).into_owned()
    }

    /// Sends keys (tmux key names).
    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "top"];
        args.extend_from_slice(keys);
        assert!(self.run(&args).status.success(), "send-keys {keys:?}");
    }

    /// Whether the session still exists.
    fn alive(&self) -> bool {
        self.run(&["has-session", "-t", "top"]).status.success()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
        let _ = std::fs::remove_file(&self.socket);
    }
}

/// Waits until `ok` holds for the screen (up to 20 s); the screen, or a panic showing
/// the last screen and the dashboard's standard error.
fn wait_for(t: &Tmux, err_file: &Path, what: &str, ok: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let s = t.screen();
        if ok(&s) {
            return s;
        }
        if Instant::now() > deadline {
            panic!(
                "timed out waiting for {what}; the screen:\n{s}\nbrickwall top's stderr:\n{}",
                std::fs::read_to_string(err_file).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The number after `label` on the screen (thousands separators allowed).
fn number_after(screen: &str, label: &str) -> Option<u64> {
    let rest = &screen[screen.find(label)? + label.len()..];
    let digits: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == ',')
        .filter(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// A path quoted for the shell tmux runs the command with.
fn quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', r"'\''"))
}

#[test]
fn top_shows_chains_then_connections_and_quits() {
    let engine = Engine::start("top-tmux", &["demo"]);
    // A connection the connections view's first page must show: the first in slot
    // order.
    let first = engine
        .client()
        .call(
            "conntrack",
            &json!({"op": "list", "format": "json", "limit": 1}),
        )
        .expect("list");
    let e = &first["entries"][0];
    let endpoint = |k: &str, port: &str| -> String {
        let a = e["orig"][k].as_str().expect("address").to_string();
        match e["orig"][port].as_u64() {
            Some(p) if a.contains(':') => format!("[{a}]:{p}"),
            Some(p) => format!("{a}:{p}"),
            None => a,
        }
    };
    let (src, dst) = (endpoint("src", "sport"), endpoint("dst", "dport"));

    let err_file = engine.dir.join("top.err");
    let cmd = format!(
        "{} top --socket {} 2>{}",
        quote(Path::new(bin())),
        quote(&engine.sock),
        quote(&err_file)
    );
    let t = Tmux::start(engine.dir.join("tmux.sock"), &cmd);

    let s = wait_for(&t, &err_file, "the first refresh", |s| {
        s.contains("refreshed") && number_after(s, "connections ").is_some()
    });
    assert!(s.contains("1 Hash chains"), "{s}");
    assert!(s.contains("Hash table"), "{s}");
    assert!(s.contains("Heat map"), "{s}");
    assert!(s.contains("Chain lengths"), "{s}");
    assert!(s.contains("finished"), "the engine's phase:\n{s}");
    for label in ["buckets ", "nodes ", "connections ", "longest chain "] {
        let n = number_after(&s, label).unwrap_or(0);
        assert!(n > 0, "{label}is {n}:\n{s}");
    }

    t.keys(&["Tab"]);
    let s = wait_for(&t, &err_file, "the connections view", |s| {
        s.contains("Connections 1-")
    });
    assert!(s.contains(&src), "{src} not shown:\n{s}");
    assert!(s.contains(&dst), "{dst} not shown:\n{s}");
    let total: Value = engine
        .client()
        .call("conntrack", &json!({"op": "count"}))
        .expect("count");
    let n = total["count"].as_u64().expect("count");
    assert!(
        s.contains(&format!("matches {}", with_commas(n))),
        "matches {n}:\n{s}"
    );

    // The engine goes away: the dashboard says so and keeps retrying.
    let pid = engine.child.as_ref().expect("running").id();
    // SAFETY: signalling our own child by its pid.
    unsafe { libc::kill(pid as libc::pid_t, libc::SIGTERM) };
    let s = wait_for(&t, &err_file, "the disconnected state", |s| {
        s.contains("disconnected, retrying")
    });
    assert!(
        s.contains("Connections"),
        "the last data stays on screen:\n{s}"
    );

    t.keys(&["q"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while t.alive() {
        assert!(Instant::now() < deadline, "brickwall top did not quit on q");
        std::thread::sleep(Duration::from_millis(50));
    }
    let err = std::fs::read_to_string(&err_file).unwrap_or_default();
    assert!(err.is_empty(), "brickwall top wrote to stderr: {err}");
    drop(t);
    drop(engine);
}

/// `n` with thousands separators, as the dashboard prints counts.
fn with_commas(n: u64) -> String {
    let d = n.to_string();
    let mut out = String::new();
    for (i, c) in d.chars().enumerate() {
        if i > 0 && (d.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `brickwall demo` on a terminal opens the dashboard on its own run: the run is paced
/// (`--rate`) and its table sized to its traffic, so the dashboard first shows it
/// running, then finished; q closes it and the summary follows on the restored screen.
/// `--no-top` prints the summary only.
#[test]
fn demo_opens_the_dashboard_on_a_terminal() {
    let dir = common::TempDir::new("demo-top");
    let err_file = dir.join("demo.err");
    // `brickwall demo ARGS`, its standard error to the file, the pane kept afterwards.
    let demo = |args: &str| {
        format!(
            "{} demo {args} 2>{}; sleep 120",
            quote(Path::new(bin())),
            quote(&err_file)
        )
    };
    let t = Tmux::start(
        dir.join("tmux.sock"),
        &demo("--tcp 60 --udp 20 --icmp 10 --rate 150"),
    );
    let s = wait_for(&t, &err_file, "the dashboard on a running demo", |s| {
        s.contains("1 Hash chains") && s.contains(" running ")
    });
    assert!(
        s.contains("brickwall-demo-"),
        "the demo's private socket:\n{s}"
    );
    let s = wait_for(&t, &err_file, "the finished run", |s| {
        s.contains(" finished ")
    });
    assert!(number_after(&s, "connections ").unwrap_or(0) > 0, "{s}");
    // The table is sized to the traffic: 90 flows, one bucket per two, at least 64; it
    // grows on its own (auto_resize) once its connections outnumber the buckets.
    let buckets = number_after(&s, "buckets ").unwrap_or(0);
    assert!((64..=192).contains(&buckets), "{buckets} buckets:\n{s}");
    t.keys(&["q"]);
    let s = wait_for(&t, &err_file, "the summary after q", |s| {
        s.contains("conntrack: new")
    });
    assert!(s.contains("replayed "), "{s}");
    assert!(!s.contains("stopped after"), "the run had finished:\n{s}");
    drop(t);

    // Closing the dashboard early stops the run; --no-top prints the summary at once.
    let t = Tmux::start(dir.join("tmux2.sock"), &demo("--rate 100"));
    wait_for(&t, &err_file, "the dashboard", |s| s.contains(" running "));
    t.keys(&["q"]);
    let s = wait_for(&t, &err_file, "the summary of a stopped run", |s| {
        s.contains("stopped after")
    });
    assert!(s.contains("when the dashboard closed"), "{s}");
    drop(t);
    let t = Tmux::start(dir.join("tmux3.sock"), &demo("--no-top --tcp 10"));
    let s = wait_for(&t, &err_file, "the plain summary", |s| {
        s.contains("conntrack: new")
    });
    assert!(!s.contains("Hash chains"), "{s}");
}
