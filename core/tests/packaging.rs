//! Packaging: the systemd unit's exposure as `systemd-analyze security` rates it, and the
//! Debian package `packaging/build-deb.sh` builds (from this build's binary): its files,
//! its conffile, its config without `live.user`, and its maintainer scripts.

mod common;

use common::{brickwall, TempDir};
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace")
        .to_path_buf()
}

fn run(cmd: &mut Command) -> String {
    let o = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        o.status.success(),
        "{cmd:?}: {}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The unit rates 2.0 or lower ("OK") in systemd's own exposure score.
#[test]
fn the_unit_is_hardened() {
    let unit = repo().join("packaging/brickwall.service");
    let out = run(Command::new("systemd-analyze")
        .args(["security", "--offline=true", "--no-pager"])
        .arg(&unit));
    let score: f64 = out
        .lines()
        .find_map(|l| l.split_once("Overall exposure level for brickwall.service: "))
        .and_then(|(_, r)| r.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no overall exposure in:\n{out}"));
    assert!(score <= 2.0, "exposure {score}:\n{out}");
    let text = std::fs::read_to_string(&unit).unwrap();
    for line in [
        "Type=notify",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "WatchdogSec=30",
        "User=brickwall",
        "AmbientCapabilities=CAP_NET_RAW CAP_NET_ADMIN",
        "CacheDirectory=brickwall",
        "StateDirectory=brickwall",
    ] {
        assert!(text.lines().any(|l| l == line), "no `{line}` in the unit");
    }
}

/// The package holds the binary, the unit, the config (a conffile, which loads, without
/// `live.user`) and the docs; its scripts are valid shell.
#[test]
fn the_debian_package_holds_the_service() {
    let dir = TempDir::new("deb");
    let out = run(Command::new("bash")
        .arg(repo().join("packaging/build-deb.sh"))
        .arg(&dir.0)
        .env("BRICKWALL_BIN", env!("CARGO_BIN_EXE_brickwall"))
        .env("BRICKWALL_DEB_FAST", "1"));
    let deb = PathBuf::from(out.trim());
    assert!(deb.starts_with(&dir.0) && deb.exists(), "{out}");
    let contents = run(Command::new("dpkg-deb").arg("--contents").arg(&deb));
    for path in [
        "./usr/bin/brickwall",
        "./lib/systemd/system/brickwall.service",
        "./etc/brickwall/fw.yaml",
        "./usr/share/doc/brickwall/README.md",
        "./usr/share/doc/brickwall/examples/router.yaml",
    ] {
        assert!(
            contents.lines().any(|l| l.ends_with(&format!(" {path}"))),
            "no {path} in:\n{contents}"
        );
    }
    let field = |f: &str| run(Command::new("dpkg-deb").arg("--field").arg(&deb).arg(f));
    assert_eq!(field("Package").trim(), "brickwall");
    assert_eq!(field("Version").trim(), env!("CARGO_PKG_VERSION"));
    let x = dir.join("x");
    run(Command::new("dpkg-deb")
        .arg("--raw-extract")
        .arg(&deb)
        .arg(&x));
    assert_eq!(
        std::fs::read_to_string(x.join("DEBIAN/conffiles")).unwrap(),
        "/etc/brickwall/fw.yaml\n"
    );
    for script in ["postinst", "prerm", "postrm"] {
        run(Command::new("sh")
            .arg("-n")
            .arg(x.join("DEBIAN").join(script)));
    }
    let cfg = x.join("etc/brickwall/fw.yaml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    assert!(!text.contains("\n  user: "), "{text}");
    assert!(text.contains("\nlive:\n"), "{text}");
    // The config loads: its plugins and hooks as `brickwall hooks` lists them.
    let o = brickwall(&[&"hooks", &"--config", &cfg]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        std::fs::read(x.join("usr/bin/brickwall")).unwrap().len(),
        std::fs::metadata(env!("CARGO_BIN_EXE_brickwall"))
            .unwrap()
            .len() as usize
    );
}
