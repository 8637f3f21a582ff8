//! Network namespaces made and removed, with those a killed run left behind.

use crate::command::{exec, sh};
use std::path::Path;
use std::process::Command;

/// Makes namespace `ns` (replacing one of that name) with its loopback up; without
/// `ipv6`, IPv6 is off in it, on the links moved in later too.
pub(crate) fn add(ns: &str, ipv6: bool) {
    delete(ns);
    sh(&["ip", "netns", "add", ns]);
    exec(ns, &["ip", "link", "set", "lo", "up"]);
    if !ipv6 {
        exec(
            ns,
            &[
                "sysctl",
                "-qw",
                "net.ipv6.conf.all.disable_ipv6=1",
                "net.ipv6.conf.default.disable_ipv6=1",
            ],
        );
    }
}

/// Removes namespace `ns`, and with it the links inside; nothing if there is none.
pub(crate) fn delete(ns: &str) {
    let _ = Command::new("ip").args(["netns", "del", ns]).output();
}

/// Removes the namespaces named `<prefix>-…-<pid>` whose process is gone: what a
/// killed run left behind (a run that ends, even by a panic, removes its own).
pub(crate) fn remove_stale(prefix: &str) {
    let Ok(out) = Command::new("ip").args(["netns", "list"]).output() else {
        return;
    };
    let prefix = format!("{prefix}-");
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Some(name) = line.split_whitespace().next() else {
            continue;
        };
        let pid = name.rsplit('-').next().and_then(|p| p.parse::<u32>().ok());
        if let Some(pid) = pid.filter(|_| name.starts_with(&prefix)) {
            if !Path::new("/proc").join(pid.to_string()).exists() {
                delete(name);
            }
        }
    }
}
