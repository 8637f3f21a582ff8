//! Data-path throughput with the dashboard attached versus not (issue 5's "at most 5 %
//! lower"). The same synthetic run — `brickwall demo --tcp 300000 --udp 50000 --icmp
//! 10000`, about 4.3 M frames through conntrack, the helpers and the filter, serving its
//! control socket — is timed alone and with a real `brickwall top` attached in a tmux
//! terminal (its default refresh, every view's requests), alternately, three times
//! each. The figure is the engine's own frames per second from its summary; the table
//! printed gives the medians and their ratio.
//!
//! Run: `cargo bench -p brickwall-core --bench dashboard` (needs tmux; no root).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const ROUNDS: usize = 3;
const DEMO: [&str; 7] = [
    "demo", "--tcp", "300000", "--udp", "50000", "--icmp", "10000",
];

fn brickwall() -> &'static str {
    env!("CARGO_BIN_EXE_brickwall")
}

/// The frames per second in a summary line `replayed N frames ... (R frames/s)`.
fn rate(summary: &str) -> Option<f64> {
    let line = summary.lines().find(|l| l.starts_with("replayed "))?;
    let inner = line.rsplit_once('(')?.1;
    inner.split_whitespace().next()?.parse().ok()
}

/// One run; with `dashboard`, `brickwall top` watches it from a tmux terminal. Returns
/// the engine's frames per second and, with the dashboard, what its screen showed.
fn run(dashboard: bool, round: usize) -> (f64, String) {
    let dir = std::env::temp_dir().join(format!(
        "bw-dash-bench-{}-{round}-{dashboard}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch folder");
    let sock = dir.join("ctl.sock");
    let session = format!("bwdash{}{round}", std::process::id());
    let child = Command::new(brickwall())
        .args(DEMO)
        .arg("--control")
        .arg(&sock)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start brickwall demo");
    let mut screen = String::new();
    if dashboard {
        let end = Instant::now() + Duration::from_secs(10);
        while !sock.exists() && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(5));
        }
        let top = format!("{} top --socket {}", brickwall(), sock.display());
        let ok = Command::new("tmux")
            .args([
                "new-session",
                "-d",
                "-s",
                &session,
                "-x",
                "200",
                "-y",
                "60",
                &top,
            ])
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            ok,
            "tmux could not start the dashboard (is tmux installed?)"
        );
        std::thread::sleep(Duration::from_secs(2));
        let cap = Command::new("tmux")
            .args(["capture-pane", "-p", "-t", &session])
            .output()
            .expect("tmux capture-pane");
        screen = String::from_utf8_lossy(&cap.stdout).into_owned();
    }
    let out = child.wait_with_output().expect("brickwall demo");
    if dashboard {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &session])
            .status();
    }
    let _ = std::fs::remove_dir_all(&dir);
    let text = String::from_utf8_lossy(&out.stdout);
    (
        rate(&text).unwrap_or_else(|| panic!("no summary in:\n{text}")),
        screen,
    )
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("dashboard bench: run it with `cargo bench -p brickwall-core --bench dashboard`");
        return;
    }
    let (mut alone, mut watched) = (Vec::new(), Vec::new());
    let mut screen = String::new();
    for round in 0..ROUNDS {
        alone.push(run(false, round).0);
        let (r, s) = run(true, round);
        watched.push(r);
        screen = s;
    }
    assert!(
        screen.lines().any(|l| !l.trim().is_empty()),
        "the dashboard showed nothing: was it attached?"
    );
    let (a, w) = (median(&mut alone), median(&mut watched));
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    println!("command: cargo bench -p brickwall-core --bench dashboard");
    println!(
        "machine: nproc {}, {cpu}",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "run: brickwall {} --control SOCK, {ROUNDS} times each, alternately",
        DEMO.join(" ")
    );
    println!();
    println!("| | frames/s (median) | all runs |");
    println!("|---|---|---|");
    println!("| alone | {a:.0} | {alone:.0?} |");
    println!("| with `brickwall top` attached | {w:.0} | {watched:.0?} |");
    println!("| ratio | {:.3} | |", w / a);
    println!();
    let top: Vec<&str> = screen.lines().take(12).collect();
    println!(
        "the dashboard's screen, 2 s into a run (first lines):\n{}",
        top.join("\n")
    );
}
