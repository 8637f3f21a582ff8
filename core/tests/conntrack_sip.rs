//! The SIP helper on real captures: every SIP capture in ../shared/pcaps-wave2
//! replayed through conntrack with the bundled SIP helper on udp/5060 and tcp/5060
//! (and the other bundled helpers on their ports, as the kernel had all of its own),
//! compared with what the Linux kernel said about the same capture: the per-state
//! packet counts and expectations created (kernel_truth.tsv), the verdict on every
//! frame (NAME.tsv) and the expectation table at the end (NAME.txt).

mod common;

use brickwall_core::config::Config;
use brickwall_core::engine::Engine;
use brickwall_core::io::PcapSource;
use brickwall_core::replay::{replay, ReplayOptions};
use common::{report_lines, shared_dir, SharedBuf};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The SIP captures of wave 2.
const CAPTURES: [&str; 3] = [
    "sv-sip-method.pcap",
    "nd-sip-hello.pcapng",
    "zk-sip-long-paths.pcap",
];

/// Conntrack as the kernel's reference ran (checksum checking off), every timeout long
/// enough that nothing expires (the kernel saw each capture in about a second).
const CONNTRACK: &str = "checksum: false
      timeouts: {udp: 100000, udp_stream: 100000, icmp: 100000, generic: 100000}
      helper_sandbox: {budget: {fuel: 100000000}}
      helpers:
        - {name: ftp, wasm: 'builtin:ftp', ports: [tcp/21]}
        - {name: irc, wasm: 'builtin:irc', ports: [tcp/6667]}
        - {name: tftp, wasm: 'builtin:tftp', ports: [udp/69]}
        - {name: pptp, wasm: 'builtin:pptp', ports: [tcp/1723]}
        - {name: sane, wasm: 'builtin:sane', ports: [tcp/6566]}
        - {name: amanda, wasm: 'builtin:amanda', ports: [udp/10080]}
        - {name: sip, wasm: 'builtin:sip', ports: [udp/5060, tcp/5060]}";

fn wave2() -> PathBuf {
    shared_dir().join("pcaps-wave2")
}

/// The kernel's per-state counts and expectations created, by capture.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Counts {
    new: u64,
    established: u64,
    related: u64,
    invalid: u64,
    expect_create: u64,
}

fn kernel_truth() -> BTreeMap<String, Counts> {
    common::kernel_truth(&wave2())
        .into_iter()
        .map(|(file, k)| {
            let c = Counts {
                new: k.new,
                established: k.established,
                related: k.related,
                invalid: k.invalid,
                expect_create: k.expect_create,
            };
            (file, c)
        })
        .collect()
}

/// The kernel's verdict per frame, in the report's words (`rel/o` is `RELATED`).
fn kernel_verdicts(capture: &str) -> Vec<String> {
    let text = std::fs::read_to_string(wave2().join(format!("{capture}.tsv"))).expect("tsv");
    text.lines()
        .skip(1)
        .map(|l| l.split('\t').nth(1).unwrap_or_default().to_string())
        .collect()
}

/// The kernel's expectation table at the end (the lines after `# expect`).
fn kernel_expectations(capture: &str) -> Vec<String> {
    let text = std::fs::read_to_string(wave2().join(format!("{capture}.txt"))).expect("txt");
    text.lines()
        .skip_while(|l| *l != "# expect")
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

/// What a replay of `capture` gave.
struct Replayed {
    counts: Counts,
    /// Per frame: the state, `-` for frames without one.
    verdicts: Vec<String>,
    /// The expectation table at the end.
    expectations: Vec<String>,
}

fn replay_sip(capture: &str, conntrack: &str) -> Replayed {
    replay_at(&wave2().join(capture), conntrack)
}

/// What a replay of the capture at `path` gave.
fn replay_at(path: &Path, conntrack: &str) -> Replayed {
    let yaml = format!("plugins:\n  - builtin: conntrack\n    config:\n      {conntrack}\n");
    let cfg = Config::parse(&yaml, "ct.yaml").unwrap();
    let engine = Engine::from_config(&cfg, Path::new("."), "ct.yaml").unwrap();
    let buf = SharedBuf::default();
    let mut src = PcapSource::open(path).unwrap();
    let opts = ReplayOptions {
        report: Some(Box::new(buf.clone())),
        ..ReplayOptions::default()
    };
    let s = replay(&engine, &mut src, opts).unwrap();
    let mut counts = Counts::default();
    let mut verdicts = Vec::new();
    for line in report_lines(&buf.contents()) {
        let st = line.ctstate.clone().unwrap_or_else(|| "-".into());
        match st.as_str() {
            "NEW" => counts.new += 1,
            "ESTABLISHED" => counts.established += 1,
            "RELATED" => counts.related += 1,
            "INVALID" => counts.invalid += 1,
            _ => {}
        }
        counts.expect_create += line.expected.len() as u64;
        verdicts.push(st);
    }
    let expectations = common::ct_expectations(&engine, s.last_ts_ns)
        .lines()
        .map(str::to_owned)
        .collect();
    Replayed {
        counts,
        verdicts,
        expectations,
    }
}

/// The frames whose state differs from the kernel's, as `frame: kernel vs ours`.
fn verdict_differences(kernel: &[String], ours: &[String]) -> Vec<String> {
    let word = |k: &str| match k {
        "new" => "NEW",
        "est/o" | "est/r" => "ESTABLISHED",
        "rel/o" | "rel/r" => "RELATED",
        "inv" => "INVALID",
        "untr" => "UNTRACKED",
        _ => "-",
    };
    kernel
        .iter()
        .zip(ours)
        .enumerate()
        .filter(|(_, (k, o))| word(k) != "-" && word(k) != o.as_str())
        .map(|(i, (k, o))| format!("frame {}: kernel {k}, brickwall {o}", i + 1))
        .collect()
}

/// Each SIP capture gives the kernel's counts: packets per state, RELATED ones
/// included, and the expectations the SIP helper created; every frame has the
/// kernel's state.
#[test]
fn sip_captures_give_the_kernels_counts_and_verdicts() {
    let truth = kernel_truth();
    let mut problems = Vec::new();
    for capture in CAPTURES {
        let k = truth.get(capture).expect("a row per capture");
        let r = replay_sip(capture, CONNTRACK);
        if r.counts != *k {
            problems.push(format!(
                "{capture}:\n  kernel    {k:?}\n  brickwall {:?}",
                r.counts
            ));
        }
        let kv = kernel_verdicts(capture);
        assert_eq!(kv.len(), r.verdicts.len(), "{capture}: frames");
        for d in verdict_differences(&kv, &r.verdicts) {
            problems.push(format!("{capture}: {d}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The one RELATED packet of sv-sip-method (FTP data) is the one the kernel saw as
/// RELATED.
#[test]
fn the_related_frame_is_the_kernels() {
    let kv = kernel_verdicts("sv-sip-method.pcap");
    let r = replay_sip("sv-sip-method.pcap", CONNTRACK);
    let related = |v: &[String], word: &str| -> Vec<usize> {
        v.iter()
            .enumerate()
            .filter(|(_, s)| s.starts_with(word))
            .map(|(i, _)| i + 1)
            .collect()
    };
    assert_eq!(related(&kv, "rel/"), related(&r.verdicts, "RELATED"));
    assert_eq!(related(&kv, "rel/").len(), 1);
}

/// Without the SIP helper, sv-sip-method's only expectation is its FTP data connection
/// (the one RELATED packet): 38 of the kernel's 39 expectations are the SIP helper's.
#[test]
fn without_the_sip_helper_only_ftp_expects() {
    let without: String = CONNTRACK
        .lines()
        .filter(|l| !l.contains("builtin:sip"))
        .collect::<Vec<_>>()
        .join("\n");
    let r = replay_sip("sv-sip-method.pcap", &without);
    assert_eq!((r.counts.related, r.counts.expect_create), (1, 1));
    let with = replay_sip("sv-sip-method.pcap", CONNTRACK);
    assert_eq!(with.counts.expect_create - r.counts.expect_create, 38);
}

/// An expectation line without its first field (the seconds left, which differ).
fn without_timeout(line: &str) -> String {
    line.split_once(' ').map_or("", |(_, rest)| rest).to_owned()
}

/// The expectation tables at the end are the kernel's: sv-sip-method's registration
/// (permanent) stays, and the media expectations the helper flushed on a new INVITE, a
/// failed INVITE or a BYE are gone, as in Linux.
#[test]
fn sip_expectation_tables_at_the_end() {
    for capture in CAPTURES {
        let mut k: Vec<String> = kernel_expectations(capture)
            .iter()
            .map(|l| without_timeout(l))
            .collect();
        let mut ours: Vec<String> = replay_sip(capture, CONNTRACK)
            .expectations
            .iter()
            .map(|l| without_timeout(l))
            .collect();
        k.sort();
        ours.sort();
        assert_eq!(ours, k, "{capture}: brickwall's table, then the kernel's");
    }
    let sv: Vec<String> = kernel_expectations("sv-sip-method.pcap");
    assert_eq!(sv.len(), 1);
    assert!(sv[0].contains("PERMANENT class=0 helper=sip"));
}

/// Linux's per-class limits: an INVITE offering audio on three ports leaves the last
/// four audio expectations (RTP and RTCP of two streams' worth: the oldest goes), while
/// three REGISTERs with three contacts leave one signalling expectation.
#[test]
fn limits_apply_per_class() {
    use brickwall_core::pcap::PcapWriter;
    use brickwall_core::wire::LinkType;
    let dir = common::TempDir::new("sip-limits");
    let pcap = dir.join("in.pcap");
    let mut w = PcapWriter::create(&pcap, LinkType::Ethernet, true).unwrap();
    let (a, b) = ([10, 0, 0, 1], [10, 0, 0, 2]);
    let mut t = 1_700_000_000_000_000_000u64;
    let mut send = |payload: &[u8]| {
        let f = common::udp4(a, b, 5060, 5060, payload);
        w.write(t, &f, f.len() as u32).unwrap();
        t += 1_000_000;
    };
    let body = "v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio 4000 RTP/AVP 0\r\n\
                m=audio 4010 RTP/AVP 0\r\nm=audio 4020 RTP/AVP 0\r\n";
    send(
        format!(
            "INVITE sip:b@10.0.0.2 SIP/2.0\r\nCSeq: 1 INVITE\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    );
    for port in [5070, 5072, 5074] {
        send(
            format!(
                "REGISTER sip:10.0.0.2 SIP/2.0\r\nCSeq: {port} REGISTER\r\n\
                 Contact: <sip:a@10.0.0.1:{port}>;expires=600\r\nContent-Length: 0\r\n\r\n"
            )
            .as_bytes(),
        );
    }
    w.flush().unwrap();
    drop(w);
    let r = replay_at(&pcap, CONNTRACK);
    assert_eq!(r.counts.expect_create, 6 + 3);
    let audio: Vec<&String> = r
        .expectations
        .iter()
        .filter(|l| l.contains(" class=1 "))
        .collect();
    assert_eq!(audio.len(), 4, "{:#?}", r.expectations);
    assert!(audio
        .iter()
        .all(|l| !l.contains("dport=4000 ") && !l.contains("dport=4001 ")));
    let signalling: Vec<&String> = r
        .expectations
        .iter()
        .filter(|l| l.contains(" class=0 "))
        .collect();
    assert_eq!(signalling.len(), 1, "{:#?}", r.expectations);
    assert!(signalling[0].contains("dport=5074 "));
}
