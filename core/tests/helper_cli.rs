//! `brickwall helper`: `check` lists a component's imports and exports and refuses what
//! is not a helper; `run` drives one helper over a shared capture and prints the
//! expectations it asks for and the classes of expectations it flushes.

mod common;

use common::{assert_code, brickwall, pcaps_dir, stderr, stdout, TempDir};

/// The `expect` lines of `helper run`'s output.
fn expect_lines(text: &str) -> Vec<&str> {
    text.lines().filter(|l| l.contains(": expect ")).collect()
}

#[test]
fn check_lists_the_builtin_ftp_helpers_interface() {
    let o = brickwall(&[&"helper", &"check", &"builtin:ftp"]);
    assert_code(&o, 0);
    let text = stdout(&o);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines.contains(&"export brickwall:helper/helper@0.4.0"),
        "{text}"
    );
    assert!(
        lines
            .iter()
            .filter(|l| l.starts_with("import "))
            .all(|l| l.starts_with("import brickwall:helper/")),
        "{text}"
    );
    assert_eq!(
        lines.last(),
        Some(&"ok: builtin:ftp is a brickwall helper (world brickwall:helper/helper-world@0.4.0)"),
        "{text}"
    );
}

#[test]
fn check_names_the_older_world_of_a_0_2_helper() {
    // A helper built against world 0.2.0 (helpers-wasm/testing/old-world), built into
    // the target dir's scratch folder as the helper crate's tests build it.
    let tmp = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let bytes = brickwall_helper_build::RustGuest {
        manifest: std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml"),
        package: "brickwall-helper-old-world".into(),
        target_dir: tmp.join("wasm-guests"),
    }
    .build()
    .unwrap_or_else(|e| panic!("{e}"));
    let dir = TempDir::new("helper-check-old");
    let file = dir.join("old.wasm");
    std::fs::write(&file, bytes).unwrap();
    let o = brickwall(&[&"helper", &"check", &file]);
    assert_code(&o, 0);
    let text = stdout(&o);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines.contains(&"export brickwall:helper/helper@0.2.0"),
        "{text}"
    );
    let ok = format!(
        "ok: {} is a brickwall helper (world brickwall:helper/helper-world@0.2.0)",
        file.display()
    );
    assert!(lines.contains(&ok.as_str()), "{text}");
    assert!(
        lines
            .last()
            .is_some_and(|l| l.starts_with("note: world 0.2.0 is older than the current 0.4.0")),
        "{text}"
    );
}

#[test]
fn check_refuses_a_file_that_is_not_wasm_naming_it() {
    let dir = TempDir::new("helper-check");
    let bogus = dir.join("notes.wasm");
    std::fs::write(&bogus, "this is text, not WebAssembly\n").unwrap();
    let o = brickwall(&[&"helper", &"check", &bogus]);
    assert_code(&o, 1);
    let err = stderr(&o);
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains(&*bogus.to_string_lossy()), "{err}");
    assert!(err.contains("not a WebAssembly component"), "{err}");
    assert_eq!(stdout(&o), "");
}

#[test]
fn check_refuses_core_modules_and_components_without_the_helper_export() {
    let dir = TempDir::new("helper-check-wasm");
    let module = dir.join("module.wasm");
    std::fs::write(&module, b"\0asm\x01\0\0\0").unwrap();
    let o = brickwall(&[&"helper", &"check", &module]);
    assert_code(&o, 1);
    let err = stderr(&o);
    assert!(err.contains(&*module.to_string_lossy()), "{err}");
    assert!(err.contains("core module"), "{err}");
    // The empty component: valid, but it exports nothing.
    let empty = dir.join("empty.wasm");
    std::fs::write(&empty, b"\0asm\x0d\0\x01\0").unwrap();
    let o = brickwall(&[&"helper", &"check", &empty]);
    assert_code(&o, 1);
    let err = stderr(&o);
    assert!(
        err.starts_with(&format!("error: {}: does not export", empty.display())),
        "{err}"
    );
    assert!(err.contains("brickwall:helper/helper@0.4.0"), "{err}");
    // Broken bytes after a component header do not compile.
    let broken = dir.join("broken.wasm");
    std::fs::write(&broken, b"\0asm\x0d\0\x01\0\xff\xff\xff").unwrap();
    let o = brickwall(&[&"helper", &"check", &broken]);
    assert_code(&o, 1);
    let err = stderr(&o);
    assert!(err.contains(&*broken.to_string_lossy()), "{err}");
    assert!(err.contains("does not compile"), "{err}");
    // `run` refuses them too, naming the file.
    let pcap = pcaps_dir().join("tcpdump/tftp.pcap");
    let o = brickwall(&[&"helper", &"run", &empty, &"--pcap", &pcap]);
    assert_code(&o, 1);
    let err = stderr(&o);
    assert!(err.contains(&*empty.to_string_lossy()), "{err}");
    assert!(err.contains("does not export"), "{err}");
}

#[test]
fn check_names_a_missing_file_and_an_unknown_builtin() {
    let dir = TempDir::new("helper-missing");
    let missing = dir.join("absent.wasm");
    let o = brickwall(&[&"helper", &"check", &missing]);
    assert_code(&o, 1);
    assert!(
        stderr(&o).contains(&*missing.to_string_lossy()),
        "{}",
        stderr(&o)
    );
    let o = brickwall(&[&"helper", &"check", &"builtin:gopher"]);
    assert_code(&o, 1);
    assert!(stderr(&o).contains("builtin:gopher"), "{}", stderr(&o));
}

#[test]
fn run_ftp_over_an_active_download_expects_the_three_data_connections() {
    let pcap = pcaps_dir().join("suricata-verify/ftp/ftp-download-active/input.pcap");
    let o = brickwall(&[
        &"helper",
        &"run",
        &"builtin:ftp",
        &"--pcap",
        &pcap,
        &"--ports",
        &"tcp/21",
    ]);
    assert_code(&o, 0);
    let text = stdout(&o);
    let expects = expect_lines(&text);
    assert_eq!(expects.len(), 3, "{text}");
    for (line, port) in expects.iter().zip([44671, 43585, 43439]) {
        assert!(
            line.contains(&format!(
                "expect tcp 172.23.0.2:* -> 172.23.0.3:{port} (any-src-port"
            )),
            "{line}"
        );
        assert!(line.contains(" original: "), "{line}");
    }
    let summary = text.lines().last().unwrap_or_default();
    assert!(summary.starts_with("summary: "), "{text}");
    assert!(summary.contains("expectations 3,"), "{summary}");
    assert!(summary.contains("failures 0"), "{summary}");
    assert!(summary.contains("(to helper ftp 1)"), "{summary}");
}

#[test]
fn run_tftp_over_a_read_request_expects_the_answer() {
    let pcap = pcaps_dir().join("tcpdump/tftp.pcap");
    let o = brickwall(&[&"helper", &"run", &"builtin:tftp", &"--pcap", &pcap]);
    assert_code(&o, 0);
    let text = stdout(&o);
    let expects = expect_lines(&text);
    assert_eq!(expects.len(), 1, "{text}");
    assert!(
        expects[0].contains("-> 192.168.1.2:44935 ("),
        "{}",
        expects[0]
    );
    assert!(
        text.lines()
            .last()
            .is_some_and(|l| l.starts_with("summary: ") && l.contains("expectations 1,")),
        "{text}"
    );
}

#[test]
fn run_sip_names_the_classes_its_messages_flush() {
    let pcap = common::shared_dir().join("pcaps-wave2/sv-sip-method.pcap");
    let o = brickwall(&[
        &"helper",
        &"run",
        &"builtin:sip",
        &"--pcap",
        &pcap,
        &"--ports",
        &"udp/5060",
    ]);
    assert_code(&o, 0);
    let text = stdout(&o);
    let flushes: Vec<&str> = text
        .lines()
        .filter(|l| l.contains(": flush expected classes "))
        .collect();
    // The calls' media (INVITE, BYE, failed INVITE), and the registration on the
    // registrar's answers that do not renew it.
    let media = |l: &&&str| l.ends_with(": flush expected classes 1 2 3");
    let signalling = |l: &&&str| l.ends_with(": flush expected classes 0");
    assert!(flushes.iter().any(|l| media(&l)), "{text}");
    assert!(flushes.iter().any(|l| signalling(&l)), "{text}");
    assert!(
        flushes.iter().all(|l| media(&l) || signalling(&l)),
        "{flushes:#?}"
    );
}

#[test]
fn run_names_a_missing_capture_and_refuses_bad_ports() {
    let dir = TempDir::new("helper-run");
    let missing = dir.join("nope.pcap");
    let o = brickwall(&[&"helper", &"run", &"builtin:tftp", &"--pcap", &missing]);
    assert_code(&o, 1);
    assert!(
        stderr(&o).contains(&*missing.to_string_lossy()),
        "{}",
        stderr(&o)
    );
    let o = brickwall(&[
        &"helper",
        &"run",
        &"builtin:tftp",
        &"--pcap",
        &missing,
        &"--ports",
        &"udp69",
    ]);
    assert_code(&o, 2);
    assert!(stderr(&o).contains("protocol/port"), "{}", stderr(&o));
}
