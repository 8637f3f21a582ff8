//! Commands run to their end: on the host, and inside a namespace through
//! `ip netns exec`.

use crate::Topology;
use std::process::{Command, Output, Stdio};

/// `ip netns exec <ns> <args…>`, reading nothing.
pub(crate) fn in_netns(ns: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", ns])
        .args(args)
        .stdin(Stdio::null());
    cmd
}

/// Runs `cmd` to its end, panicking with its output when it fails.
fn checked(mut cmd: Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs a command on the host, panicking with its output when it fails.
pub(crate) fn sh(args: &[&str]) -> Output {
    let mut cmd = Command::new(args[0]);
    cmd.args(&args[1..]).stdin(Stdio::null());
    checked(cmd)
}

/// Runs a command inside `ns`, panicking with its output when it fails.
pub(crate) fn exec(ns: &str, args: &[&str]) -> Output {
    checked(in_netns(ns, args))
}

impl Topology {
    /// Runs a command inside `ns`, panicking with its output when it fails.
    pub fn exec(&self, ns: &str, args: &[&str]) -> Output {
        exec(ns, args)
    }

    /// Runs a command inside `ns` and returns its output, whatever its status.
    pub fn try_exec(&self, ns: &str, args: &[&str]) -> Output {
        let mut cmd = in_netns(ns, args);
        cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"))
    }

    /// A file as seen from inside `ns` (`/sys/class/net` and `/proc/net` are the
    /// namespace's own there).
    pub fn read(&self, ns: &str, path: &str) -> String {
        String::from_utf8_lossy(&self.exec(ns, &["cat", path]).stdout).into_owned()
    }
}
