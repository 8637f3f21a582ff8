//! Long-running programs inside the namespaces: started by name with their output in
//! the scratch folder, waited for (a file, a listening socket, their exit) and stopped.

use crate::command::in_netns;
use crate::Topology;
use std::path::Path;
use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

/// Waits until `child` exits by itself, at most until `end`.
fn exit_by(child: &mut Child, end: Instant) -> Option<ExitStatus> {
    loop {
        if let Ok(Some(st)) = child.try_wait() {
            return Some(st);
        }
        if Instant::now() >= end {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Topology {
    /// Starts a long-running program `name` inside `ns`, its output going to
    /// `<dir>/<name>.log`; it is killed when the topology drops.
    pub fn spawn(&mut self, name: &str, ns: &str, args: &[&str]) {
        let path = self.dir.join(format!("{name}.log"));
        let log = std::fs::File::create(&path)
            .unwrap_or_else(|e| panic!("creating {}: {e}", path.display()));
        let err = log
            .try_clone()
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let child = in_netns(ns, args)
            .stdout(log)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {name}: {e}"));
        self.children.push((name.to_string(), child));
    }

    /// A started program's process id (`ip netns exec` execs the program, so the
    /// child's pid is the program's).
    pub fn pid(&self, name: &str) -> Option<u32> {
        self.children
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, c)| c.id())
    }

    /// What a started program wrote so far.
    pub fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.join(format!("{name}.log"))).unwrap_or_default()
    }

    /// A started program's exit status, if it has ended.
    pub fn exited(&mut self, name: &str) -> Option<ExitStatus> {
        let (_, c) = self.children.iter_mut().find(|(n, _)| n == name)?;
        c.try_wait().ok().flatten()
    }

    /// Takes a started program out of the topology.
    fn take(&mut self, name: &str) -> Option<Child> {
        let i = self.children.iter().position(|(n, _)| n == name)?;
        Some(self.children.remove(i).1)
    }

    /// Sends SIGTERM to a started program and waits for it (at most 10 s, then it is
    /// killed); `None` if it was never started.
    pub fn stop(&mut self, name: &str) -> Option<ExitStatus> {
        let mut child = self.take(name)?;
        if let Ok(Some(st)) = child.try_wait() {
            // Already reaped: its pid may be another process's by now.
            return Some(st);
        }
        // SAFETY: kill(2) on our own child, not reaped yet (a zombie keeps its pid).
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
        exit_by(&mut child, Instant::now() + Duration::from_secs(10)).or_else(|| {
            let _ = child.kill();
            child.wait().ok()
        })
    }

    /// Waits (at most `secs`) for a started program to exit by itself; `None` if it
    /// did not (it is then killed) or was never started.
    pub fn wait_exit(&mut self, name: &str, secs: u64) -> Option<ExitStatus> {
        let mut child = self.take(name)?;
        let st = exit_by(&mut child, Instant::now() + Duration::from_secs(secs));
        if st.is_none() {
            let _ = child.kill();
            let _ = child.wait();
        }
        st
    }

    /// Waits until `path` exists (at most `secs`), panicking with `name`'s log if it
    /// does not, or if `name` exited first.
    pub fn wait_for_file(&mut self, path: &Path, name: &str, secs: u64) {
        let end = Instant::now() + Duration::from_secs(secs);
        while !path.exists() {
            if let Some(st) = self.exited(name) {
                // It may have made the file just before it exited.
                assert!(
                    path.exists(),
                    "{name} exited ({st}) before {} appeared:\n{}",
                    path.display(),
                    self.log(name)
                );
                return;
            }
            assert!(
                Instant::now() < end,
                "{} did not appear within {secs} s; {name} said:\n{}",
                path.display(),
                self.log(name)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until something listens on `port` (`proto` `tcp` or `udp`) inside `ns`
    /// (at most 10 s), panicking with `name`'s log if nothing does, or if `name`
    /// exited.
    pub fn wait_for_listener(&mut self, ns: &str, proto: &str, port: u16, name: &str) {
        let flag = if proto == "udp" { "-lun" } else { "-ltn" };
        let needle = format!(":{port} ");
        let end = Instant::now() + Duration::from_secs(10);
        loop {
            let out = self.try_exec(ns, &["ss", "-H", flag]);
            if String::from_utf8_lossy(&out.stdout).contains(&needle) {
                return;
            }
            if let Some(st) = self.exited(name) {
                panic!("{name} exited ({st}): {}", self.log(name));
            }
            assert!(
                Instant::now() < end,
                "{name} never listened on {proto}/{port}:\n{}",
                self.log(name)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
