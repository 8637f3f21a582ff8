//! What a run needs before it makes anything: root, and the tools it runs.

use std::path::PathBuf;

/// Whether this process runs as root.
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Whether `tool` is on the PATH or in /usr/sbin or /sbin (where a PATH without them
/// still finds root's tools).
pub fn on_path(tool: &str) -> bool {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.extend(["/usr/sbin", "/sbin"].map(PathBuf::from));
    dirs.iter().any(|d| d.join(tool).is_file())
}

/// Fails the test unless it runs as root with the tools a [`Topology`](crate::Topology)
/// runs (`ip`, `ss`, `ethtool`, `sysctl`): CI is root, so a missing privilege is a
/// broken set-up, not a reason to skip.
pub fn require_root() {
    assert!(
        is_root(),
        "the live tests need root (network namespaces, AF_PACKET); run them as root"
    );
    require_tools(&["ip", "ss", "ethtool", "sysctl"]);
}

/// Fails the test unless every one of `tools` is on the PATH (or in /usr/sbin, /sbin).
pub fn require_tools(tools: &[&str]) {
    for tool in tools {
        assert!(
            on_path(tool),
            "`{tool}` is missing (scripts/test.sh installs it)"
        );
    }
}
