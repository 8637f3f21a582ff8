//! The compiled-component cache runs only what the engine's own user wrote: a file
//! planted by another user, a directory another user owns or can write, a directory
//! under one anyone can write, and a symlink in place of a cached file are all refused
//! (the helper is compiled afresh and behaves as itself); a directory of our own is
//! created 0700 and its files 0600, and serves the next load.
//!
//! These tests plant files as another user, so they run as root (CI does).

use brickwall_helpers::{Budget, HelperPolicy, HelperSet, SandboxPolicy};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

mod common;

/// A uid that is not ours: `nobody`.
const OTHER_UID: u32 = 65534;

fn need_root() {
    // SAFETY: geteuid cannot fail.
    let euid = unsafe { libc::geteuid() };
    assert_eq!(
        euid, 0,
        "these tests plant cache files as another user and need root (CI runs as \
         root); run `cargo test` as root"
    );
}

/// A fresh directory under the system's temporary directory, mode 0700, removed at drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let p = std::env::temp_dir().join(format!(
            "brickwall-cache-{tag}-{}-{:?}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir(&p).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o700)).unwrap();
        Scratch(p)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What one load of a helper found: whether it came from the cache, and the log lines.
struct Load {
    set: HelperSet,
    cached: bool,
    log: Vec<String>,
}

fn load(name: &str, dir: &Path) -> Load {
    let sandbox = SandboxPolicy {
        budget: Budget::Fuel(10_000_000),
        cache_dir: Some(dir.display().to_string()),
        log_per_second: None,
    };
    let policy: HelperPolicy = serde_json::from_value(serde_json::json!({
        "name": name, "wasm": format!("builtin:{name}"), "ports": ["udp/69"],
    }))
    .unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let l = log.clone();
    let mut set = HelperSet::new(
        &sandbox,
        &[policy],
        Path::new("."),
        Arc::new(move |_, h, m| l.lock().unwrap().push(format!("{h}: {m}"))),
    )
    .expect("loads");
    let cached = set.reports()[0].cached;
    let log = log.lock().unwrap().clone();
    Load { set, cached, log }
}

/// Expectations a TFTP read request makes the loaded helper create (1 for TFTP's own
/// helper, 0 for any other).
fn tftp_expectations(l: &mut Load) -> usize {
    common::tftp_read_request(&mut l.set, 0).expects.len()
}

/// The one cached file in `dir`.
fn cached_file(dir: &Path) -> PathBuf {
    let files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    files[0].clone()
}

fn chown(p: &Path, uid: u32) {
    let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a NUL-terminated path; lchown does not follow a link.
    assert_eq!(unsafe { libc::lchown(c.as_ptr(), uid, uid) }, 0);
}

fn chmod(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn own_cache_is_created_private_and_serves_the_next_load() {
    need_root();
    let s = Scratch::new("own");
    let dir = s.0.join("a").join("helpers");
    let mut first = load("tftp", &dir);
    assert!(!first.cached, "nothing cached yet");
    assert!(first.log.is_empty(), "{:?}", first.log);
    assert_eq!(tftp_expectations(&mut first), 1);
    for d in [s.0.join("a"), dir.clone()] {
        assert_eq!(
            std::fs::metadata(&d).unwrap().mode() & 0o777,
            0o700,
            "{d:?}"
        );
    }
    let f = cached_file(&dir);
    assert_eq!(std::fs::metadata(&f).unwrap().mode() & 0o777, 0o600);
    let mut second = load("tftp", &dir);
    assert!(second.cached, "the second load reads the cache");
    assert_eq!(tftp_expectations(&mut second), 1);
}

#[test]
fn a_component_planted_by_another_user_is_not_run() {
    need_root();
    let s = Scratch::new("planted");
    let dir = s.0.join("helpers");
    // The FTP helper's compiled code, planted under the TFTP helper's name.
    drop(load("tftp", &dir));
    let tftp_file = cached_file(&dir);
    std::fs::remove_file(&tftp_file).unwrap();
    drop(load("ftp", &dir));
    let ftp_file = cached_file(&dir);
    std::fs::rename(&ftp_file, &tftp_file).unwrap();
    chown(&tftp_file, OTHER_UID);
    let mut l = load("tftp", &dir);
    assert!(!l.cached, "a file of uid {OTHER_UID} is not trusted");
    assert_eq!(tftp_expectations(&mut l), 1, "TFTP's own code ran");
    // The compile replaced the planted file with our own.
    let m = std::fs::symlink_metadata(&tftp_file).unwrap();
    assert_eq!((m.uid(), m.mode() & 0o777), (0, 0o600));

    // Garbage (int3 instructions) planted the same way is not mapped either.
    std::fs::write(&tftp_file, vec![0xCC; 64 << 10]).unwrap();
    chown(&tftp_file, OTHER_UID);
    let mut l = load("tftp", &dir);
    assert!(!l.cached);
    assert_eq!(tftp_expectations(&mut l), 1);

    // Our own file with a second hard link (someone could rewrite it through the
    // other name) is not trusted either.
    let link = s.0.join("second-link");
    std::fs::hard_link(&tftp_file, &link).unwrap();
    let l = load("tftp", &dir);
    assert!(!l.cached, "a file with two links is not trusted");
}

#[test]
fn a_directory_others_own_or_can_write_is_not_used() {
    need_root();
    // Owned by another user.
    let s = Scratch::new("others");
    let dir = s.0.join("helpers");
    std::fs::create_dir(&dir).unwrap();
    chmod(&dir, 0o700);
    chown(&dir, OTHER_UID);
    for _ in 0..2 {
        let mut l = load("tftp", &dir);
        assert!(!l.cached);
        assert_eq!(tftp_expectations(&mut l), 1);
        assert!(
            l.log
                .iter()
                .any(|m| m.contains("not trusted") && m.contains("owned by uid 65534")),
            "{:?}",
            l.log
        );
    }
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        0,
        "nothing written there"
    );

    // Ours, but writable by everyone: a file planted there by us (so passing the file
    // checks) would not be read either, and nothing is written.
    chown(&dir, 0);
    chmod(&dir, 0o777);
    for _ in 0..2 {
        let l = load("tftp", &dir);
        assert!(!l.cached);
        assert!(
            l.log.iter().any(|m| m.contains("writable by others")),
            "{:?}",
            l.log
        );
    }
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);

    // Ours and private, but inside a directory anyone can write (without the sticky
    // bit, anyone could rename ours away and put theirs in its place).
    let open = s.0.join("open");
    std::fs::create_dir(&open).unwrap();
    chmod(&open, 0o777);
    let inner = open.join("helpers");
    for _ in 0..2 {
        let l = load("tftp", &inner);
        assert!(!l.cached);
        assert!(
            l.log
                .iter()
                .any(|m| m.contains("above it is writable by others")),
            "{:?}",
            l.log
        );
    }

    // With the sticky bit (as /tmp), the directory above is fine.
    chmod(&open, 0o1777);
    drop(load("tftp", &inner));
    assert!(load("tftp", &inner).cached);
}

#[test]
fn a_symlink_in_place_of_a_cached_file_is_not_followed() {
    need_root();
    let s = Scratch::new("link");
    let dir = s.0.join("helpers");
    drop(load("tftp", &dir));
    let tftp_file = cached_file(&dir);
    // A valid component of ours elsewhere, linked in under TFTP's name.
    let elsewhere = s.0.join("ftp.cwasm");
    std::fs::remove_file(&tftp_file).unwrap();
    drop(load("ftp", &dir));
    std::fs::rename(cached_file(&dir), &elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &tftp_file).unwrap();
    let before = std::fs::read(&elsewhere).unwrap();
    let mut l = load("tftp", &dir);
    assert!(!l.cached, "the link is not followed");
    assert_eq!(tftp_expectations(&mut l), 1);
    // The store replaced the link itself, and the file it pointed at is unchanged.
    assert!(std::fs::symlink_metadata(&tftp_file).unwrap().is_file());
    assert_eq!(std::fs::read(&elsewhere).unwrap(), before);
}
