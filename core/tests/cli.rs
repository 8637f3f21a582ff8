//! The `brickwall` binary: subcommands, their output files, and how errors are reported
//! (exit code 1 with a message naming what is wrong; 2 for usage errors).

mod common;

use brickwall_core::gen::{frame_count, GenConfig, Generator};
use common::{
    assert_code, brickwall, pcaps_dir, read_capture, report_lines, stderr, stdout, TempDir,
};

fn dns_tcp() -> std::path::PathBuf {
    pcaps_dir().join("tcpdump/dns_tcp.pcap")
}

/// The `entered` column of a hook's row in the summary table.
fn entered(summary: &str, hook: &str) -> u64 {
    column(summary, hook, 1)
}

/// Column `col` (1 entered, 2 accepted, 3 dropped) of a hook's row in the summary table.
fn column(summary: &str, hook: &str, col: usize) -> u64 {
    let row = summary
        .lines()
        .find(|l| l.split_whitespace().next() == Some(hook))
        .unwrap_or_else(|| panic!("no {hook} row in:\n{summary}"));
    row.split_whitespace()
        .nth(col)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("bad {hook} row `{row}`"))
}

#[test]
fn replay_writes_report_and_output_capture() {
    let dir = TempDir::new("cli-replay");
    let (report, out) = (dir.join("report.jsonl"), dir.join("out.pcap"));
    let o = brickwall(&[
        &"replay",
        &dns_tcp(),
        &"--report",
        &report,
        &"--write",
        &out,
    ]);
    assert_code(&o, 0);
    let text = stdout(&o);
    assert!(text.contains("replayed 11 frames"), "{text}");
    assert_eq!(entered(&text, "PREROUTING"), 11);
    assert_eq!(entered(&text, "POSTROUTING"), 11);
    let lines = report_lines(&std::fs::read(&report).unwrap());
    assert_eq!(lines.len(), 11);
    assert!(lines.iter().enumerate().all(|(i, l)| l.index == i as u64));
    let input = read_capture(&dns_tcp());
    let written = read_capture(&out);
    assert_eq!(written.len(), 11);
    for ((wm, wd), (im, id)) in written.iter().zip(&input) {
        assert_eq!((wm.ts_ns, wd), (im.ts_ns, id));
    }
}

#[test]
fn report_to_stdout_moves_the_summary_to_stderr() {
    let o = brickwall(&[&"replay", &dns_tcp(), &"--report", &"-"]);
    assert_code(&o, 0);
    let lines = report_lines(&o.stdout);
    assert_eq!(lines.len(), 11);
    assert_eq!(lines[10].index, 10);
    assert!(!stdout(&o).contains("replayed"));
    assert!(stderr(&o).contains("replayed 11 frames"), "{}", stderr(&o));
}

#[test]
fn quiet_replay_prints_nothing() {
    let o = brickwall(&[&"replay", &dns_tcp(), &"--quiet"]);
    assert_code(&o, 0);
    assert_eq!(stdout(&o), "");
}

/// A misspelt table is refused before any packet is replayed (the capture need not
/// even exist).
#[test]
fn a_bad_ct_list_table_is_refused_before_the_replay() {
    let o = brickwall(&[&"replay", &"/nonexistent.pcap", &"--ct-list", &"expext"]);
    assert_code(&o, 2);
    assert!(
        stderr(&o).contains("invalid value 'expext' for '--ct-list"),
        "{}",
        stderr(&o)
    );
    let o = brickwall(&[&"replay", &dns_tcp(), &"--quiet", &"--ct-list", &"expect"]);
    assert_code(&o, 0);
}

#[test]
fn hooks_lists_both_families_and_every_hook() {
    let dir = TempDir::new("cli-hooks");
    let cfg = dir.join("empty.yaml");
    std::fs::write(&cfg, "local_addresses: []\nplugins: []\n").unwrap();
    for (args, with_plugins) in [
        (
            vec![&"hooks" as &dyn AsRef<std::ffi::OsStr>, &"--config", &cfg],
            false,
        ),
        (vec![&"hooks"], true),
    ] {
        let o = brickwall(&args);
        assert_code(&o, 0);
        let text = stdout(&o);
        for want in ["family ip {", "family ip6 {"] {
            assert_eq!(text.matches(want).count(), 1, "{want} in:\n{text}");
        }
        for hook in ["prerouting", "input", "forward", "output", "postrouting"] {
            assert_eq!(
                text.matches(&format!("\thook {hook} {{")).count(),
                2,
                "{hook} in:\n{text}"
            );
        }
        if !with_plugins {
            assert!(
                !text.lines().any(|l| l.starts_with("\t\t")),
                "no callbacks without plugins:\n{text}"
            );
            continue;
        }
        // The embedded default loads conntrack and the filter, at Linux's priorities,
        // in priority order within each hook.
        for want in [
            "\t\t-0000000400 defrag-prerouting [conntrack ",
            "\t\t-0000000300 raw-prerouting [filter ",
            "\t\t-0000000200 conntrack-in [conntrack ",
            "\t\t+0000000000 filter-forward [filter ",
            "\t\t+2147483647 confirm-postrouting [conntrack ",
            "\t\t+2147483647 confirm-input [conntrack ",
            "\t\t-0000000200 conntrack-local [conntrack ",
        ] {
            assert_eq!(
                text.matches(want).count(),
                2,
                "{want:?} once per family in:\n{text}"
            );
        }
        let pre = text.find("defrag-prerouting").unwrap();
        assert!(pre < text.find("raw-prerouting").unwrap());
        assert!(text.find("raw-prerouting").unwrap() < text.find("conntrack-in").unwrap());
    }
}

#[test]
fn demo_runs_all_three_paths() {
    let o = brickwall(&[&"demo", &"--tcp", &"50", &"--udp", &"30", &"--icmp", &"10"]);
    assert_code(&o, 0);
    let text = stdout(&o);
    assert!(
        text.contains("family ip {"),
        "the demo shows its hooks first"
    );
    let n = frame_count(&GenConfig {
        seed: 1,
        tcp_flows: 50,
        udp_flows: 30,
        icmp_flows: 10,
        helper_sessions: 2,
        ..GenConfig::default()
    });
    assert!(text.contains(&format!("replayed {n} frames")), "{text}");
    // The two sets of helper sessions (FTP passive and active, TFTP, IRC DCC, PPTP,
    // SANE, Amanda, SIP): the first packet of each data connection is RELATED (SIP's
    // media flows both ways as one connection, PPTP's GRE too).
    assert!(text.contains(" related 16 "), "{text}");
    // Every helper that expects connections met its sessions: connections and the
    // expectations each asked for (Amanda three streams, SIP RTP and RTCP per offer,
    // PPTP both GRE directions).
    assert!(
        text.contains(
            "  helpers (connections/expectations): ftp 4/4  tftp 2/2  irc 2/2  pptp 2/4  \
             sane 2/2  amanda 2/6  sip 2/8\n"
        ),
        "{text}"
    );
    let (input, output) = (entered(&text, "INPUT"), entered(&text, "OUTPUT"));
    let (fwd, pre, post) = (
        entered(&text, "FORWARD"),
        entered(&text, "PREROUTING"),
        entered(&text, "POSTROUTING"),
    );
    assert!(input > 0 && output > 0 && fwd > 0, "{text}");
    assert_eq!(pre, input + fwd, "{text}");
    // What FORWARD and OUTPUT let through reaches POSTROUTING.
    let passed = column(&text, "FORWARD", 2) + column(&text, "OUTPUT", 2);
    assert_eq!(post, passed, "{text}");
    assert_eq!(pre + output, n, "{text}");
    // The demo's stateful policy drops some new flows, counted under the filter's reason.
    let dropped = column(&text, "FORWARD", 3) + column(&text, "INPUT", 3);
    assert!(dropped > 0, "{text}");
    assert!(
        text.contains(&format!("filter-policy-drop           {dropped}")),
        "{text}"
    );
    assert!(text.contains("conntrack: new "), "{text}");
}

#[test]
fn demo_with_defaults_exits_zero() {
    let o = brickwall(&[&"demo"]);
    assert_code(&o, 0);
    let text = stdout(&o);
    assert!(entered(&text, "INPUT") > 0, "{text}");
    assert!(entered(&text, "OUTPUT") > 0, "{text}");
}

#[test]
fn generate_writes_the_generator_frames_and_they_replay() {
    let dir = TempDir::new("cli-generate");
    let file = dir.join("gen.pcap");
    let o = brickwall(&[
        &"generate",
        &"--tcp",
        &"5",
        &"--udp",
        &"0",
        &"--icmp",
        &"0",
        &"--helper-sessions",
        &"0",
        &"-o",
        &file,
    ]);
    assert_code(&o, 0);
    let cfg = GenConfig {
        seed: 1,
        tcp_flows: 5,
        udp_flows: 0,
        icmp_flows: 0,
        ..GenConfig::default()
    };
    let n = frame_count(&cfg);
    assert_eq!(n, 5 * (6 + 6), "3-way handshake, 6 data, 3 teardown");
    assert!(
        stdout(&o).contains(&format!("wrote {n} frames")),
        "{}",
        stdout(&o)
    );
    let frames = read_capture(&file);
    assert_eq!(frames.len() as u64, n);
    for ((m, d), g) in frames.iter().zip(Generator::new(cfg)) {
        assert_eq!((m.ts_ns, d), (g.ts_ns, &g.data));
    }

    let report = dir.join("gen.jsonl");
    let o = brickwall(&[&"replay", &file, &"--report", &report]);
    assert_code(&o, 0);
    assert!(stdout(&o).contains(&format!("replayed {n} frames")));
    assert_eq!(
        report_lines(&std::fs::read(&report).unwrap()).len() as u64,
        n
    );
}

#[test]
fn truncated_capture_is_replayed_with_a_note() {
    let dir = TempDir::new("cli-cut");
    let file = dir.join("cut.pcap");
    let bytes = std::fs::read(dns_tcp()).unwrap();
    std::fs::write(&file, &bytes[..bytes.len() - 10]).unwrap();
    let o = brickwall(&[&"replay", &file]);
    assert_code(&o, 0);
    let text = stdout(&o);
    assert!(text.contains("replayed 10 frames"), "{text}");
    assert!(text.contains("truncated record"), "{text}");
}

#[test]
fn config_typo_names_file_line_and_field() {
    let dir = TempDir::new("cli-bad");
    let bad = dir.join("bad.yaml");
    std::fs::write(&bad, "plugins:\n  - pth: x.so\n").unwrap();
    for args in [
        vec![
            &"replay" as &dyn AsRef<std::ffi::OsStr>,
            &dns_tcp(),
            &"-c",
            &bad,
        ],
        vec![&"hooks", &"--config", &bad],
    ] {
        let o = brickwall(&args);
        assert_code(&o, 1);
        let err = stderr(&o);
        assert!(err.starts_with("brickwall: "), "{err}");
        assert!(err.contains("bad.yaml:2:"), "{err}");
        assert!(err.contains("plugins[0]"), "{err}");
        assert!(err.contains("pth"), "{err}");
        assert_eq!(stdout(&o), "", "nothing replayed");
    }
}

/// A plugin's refusal of its own section points at the field in the YAML file the
/// user wrote (not at the JSON text the plugin was handed), for each built-in plugin
/// that checks one.
#[test]
fn plugin_config_errors_name_the_yaml_line_and_column() {
    let dir = TempDir::new("cli-plugin-bad");
    let bad = dir.join("bad.yaml");
    for (yaml, want) in [
        (
            "plugins:\n  - builtin: conntrack\n    config:\n      accounting: true\n      max: banana\n",
            "bad.yaml:5:12: plugins[0].config.max: plugin conntrack (static) refused its config: invalid type: string \"banana\", expected usize\n",
        ),
        (
            "plugins:\n  - builtin: filter\n    config:\n      chains:\n        - hook: forward\n          rules:\n            - {match: {proto: tcp, dport: 99999}, action: accept}\n",
            "bad.yaml:7:43: plugins[0].config.chains[0].rules[0].match.dport: plugin filter (static) refused its config: port 99999 is out of range (0-65535)\n",
        ),
        (
            "plugins:\n  - builtin: conntrack\n  - builtin: nat\n    config: {chains: [{hook: postrouting, rules: [{action: {snat: {to: \"1.2.3\"}}}]}]}\n",
            "bad.yaml:4:72: plugins[1].config.chains[0].rules[0].action.snat.to: plugin nat (static) refused its config: \"1.2.3\" is not an IPv4 or IPv6 address\n",
        ),
        // A message without a field path: the section's place.
        (
            "plugins:\n  - builtin: conntrack\n    config:\n      buckets: 0\n",
            "bad.yaml:4:7: plugins[0].config: plugin conntrack (static) refused its config: buckets must be at least 1\n",
        ),
    ] {
        std::fs::write(&bad, yaml).unwrap();
        let o = brickwall(&[&"replay", &dns_tcp(), &"-c", &bad]);
        assert_code(&o, 1);
        let err = stderr(&o);
        let place = err.split_once(&*dir.0.to_string_lossy()).map(|(_, r)| r);
        assert_eq!(place, Some(&*format!("/{want}")), "{err}");
    }
}

#[test]
fn missing_config_file_is_named() {
    let dir = TempDir::new("cli-nocfg");
    let missing = dir.join("absent.yaml");
    let o = brickwall(&[&"hooks", &"-c", &missing]);
    assert_code(&o, 1);
    assert!(
        stderr(&o).contains(&*missing.to_string_lossy()),
        "{}",
        stderr(&o)
    );
}

#[test]
fn missing_capture_is_named() {
    let dir = TempDir::new("cli-missing");
    let missing = dir.join("nope.pcap");
    let o = brickwall(&[&"replay", &missing]);
    assert_code(&o, 1);
    let err = stderr(&o);
    assert!(err.contains(&*missing.to_string_lossy()), "{err}");
}

#[test]
fn non_capture_file_is_refused_by_its_magic() {
    let readme = pcaps_dir().join("README.md");
    let o = brickwall(&[&"replay", &readme]);
    assert_code(&o, 1);
    let err = stderr(&o);
    assert!(err.contains(&*readme.to_string_lossy()), "{err}");
    assert!(err.contains("not a pcap or pcapng file"), "{err}");
    assert!(
        err.contains("magic 0x23"),
        "'#' is the README's first byte: {err}"
    );
}

#[test]
fn unwritable_report_is_an_error() {
    let dir = TempDir::new("cli-unwritable");
    let report = dir.join("no-such-dir/report.jsonl");
    let o = brickwall(&[&"replay", &dns_tcp(), &"--report", &report]);
    assert_code(&o, 1);
    assert!(stderr(&o).contains("report.jsonl"), "{}", stderr(&o));
}

#[test]
fn usage_errors_exit_two() {
    for args in [
        vec![&"bogus" as &dyn AsRef<std::ffi::OsStr>],
        vec![],
        vec![&"replay"],
        vec![&"generate", &"--tcp", &"many", &"-o", &"x.pcap"],
    ] {
        let o = brickwall(&args);
        assert_code(&o, 2);
        let err = stderr(&o);
        assert!(err.contains("error:") || err.contains("Usage:"), "{err}");
        assert!(
            !err.starts_with("brickwall: "),
            "clap's message, not a run error: {err}"
        );
    }
}

/// Log lines go through levels: warnings by default, info with `-v`, errors only with
/// `-q`, and `BRICKWALL_LOG` over both (a bad one is said and ignored).
#[test]
fn log_lines_are_filtered_by_level() {
    let dir = TempDir::new("cli-log");
    let cfg = dir.join("log.yaml");
    std::fs::write(
        &cfg,
        "plugins:\n  - builtin: filter\n    config:\n      chains:\n        - hook: forward\n          \
         policy: accept\n          rules:\n            - action: {log: {prefix: \"at-info: \", \
         level: info, rate: 1000}}\n            - action: {log: {prefix: \"at-warn: \", rate: 1000}}\n",
    )
    .unwrap();
    let run = |pre: &[&str], post: &[&str], env: Option<&str>| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_brickwall"));
        c.args(pre)
            .arg("replay")
            .arg(dns_tcp())
            .arg("--config")
            .arg(&cfg)
            .args(post)
            .env_remove("BRICKWALL_LOG")
            .env("NO_COLOR", "1");
        if let Some(v) = env {
            c.env("BRICKWALL_LOG", v);
        }
        let o = c.output().unwrap();
        assert_code(&o, 0);
        let err = stderr(&o);
        let count = |p: &str| err.lines().filter(|l| l.contains(p)).count();
        (
            count("brickwall: info: plugin filter: at-info: "),
            count("brickwall: warning: plugin filter: at-warn: "),
            err,
        )
    };
    let (info, warn, err) = run(&[], &[], None);
    assert_eq!((info, warn), (0, 11), "{err}");
    let (info, warn, err) = run(&["-v"], &[], None);
    assert_eq!((info, warn), (11, 11), "{err}");
    let (info, warn, err) = run(&[], &["-q"], None);
    assert_eq!((info, warn), (0, 0), "{err}");
    let (info, warn, err) = run(&[], &["-q"], Some("info"));
    assert_eq!((info, warn), (11, 11), "{err}");
    let (info, warn, err) = run(&[], &[], Some("[[nonsense"));
    assert_eq!((info, warn), (0, 11), "{err}");
    assert!(
        err.starts_with("brickwall: warning: BRICKWALL_LOG=[[nonsense: "),
        "{err}"
    );
}

/// The demo's filter policy as an nftables ruleset: the real `nft` accepts the file (in
/// a network namespace of its own, checked with `-c`), and `replay --ruleset` with it
/// gives every packet of the demo's traffic the same path, verdict and conntrack state
/// as the demo's YAML chains do.
#[test]
fn a_ruleset_in_nft_syntax_filters_as_its_yaml_does() {
    const DEMO: &str = include_str!("../src/cli/demo.yaml");
    let ruleset = format!(
        "#!/usr/sbin/nft -f\nflush ruleset\n{}",
        common::DEMO_POLICY_NFT
    );
    let dir = TempDir::new("cli-nft");
    let (cap, rules) = (dir.join("demo.pcap"), dir.join("demo.nft"));
    std::fs::write(&rules, &ruleset).unwrap();
    // The real nft reads it.
    common::nft_check(&rules);
    let o = brickwall(&[
        &"generate",
        &"--tcp",
        &"60",
        &"--udp",
        &"30",
        &"--icmp",
        &"20",
        &"-o",
        &cap,
    ]);
    assert_code(&o, 0);
    // The demo's config, and the same without its filter (the ruleset brings it).
    let (yaml, bare) = (dir.join("demo.yaml"), dir.join("bare.yaml"));
    let cut = DEMO.find("  - builtin: filter").expect("the demo's filter");
    std::fs::write(&bare, &DEMO[..cut]).unwrap();
    // (One more rule in both: dropping NTP, to have rule drops as well as the policy's.)
    let services = "            - {match: {proto: tcp, dport: [22, 80, 443, 8080, 8443]}";
    assert!(DEMO.contains(services));
    let demo = DEMO.replacen(
        services,
        &format!("            - {{match: {{proto: udp, dport: 123}}, action: drop}}\n{services}"),
        1,
    );
    std::fs::write(&yaml, demo).unwrap();
    let report = |cfg: &std::path::Path, extra: &[&dyn AsRef<std::ffi::OsStr>]| {
        let out = dir.join("r.jsonl");
        let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> =
            vec![&"replay", &cap, &"--config", &cfg, &"--report", &out, &"-q"];
        args.extend_from_slice(extra);
        let o = brickwall(&args);
        assert_code(&o, 0);
        report_lines(&std::fs::read(&out).unwrap())
    };
    let ours = report(&bare, &[&"--ruleset", &rules]);
    let want = report(&yaml, &[]);
    assert_eq!(ours.len(), want.len());
    let shape = |l: &brickwall_core::report::ReportLine| format!("{l:?}");
    for (a, b) in ours.iter().zip(&want) {
        assert_eq!(shape(a), shape(b));
    }
    for reason in ["filter-rule-drop", "filter-policy-drop"] {
        assert!(
            ours.iter().any(|l| l.reason.as_deref() == Some(reason)),
            "no {reason}"
        );
    }
    // A ruleset it cannot read is refused before the replay, naming the place.
    std::fs::write(&rules, "table inet t {\n chain c {\n  type filter hook input priority filter;\n  ip id 1 drop\n }\n}\n").unwrap();
    let o = brickwall(&[&"replay", &cap, &"--config", &bare, &"--ruleset", &rules]);
    assert_code(&o, 1);
    assert!(
        stderr(&o).contains("demo.nft:4:6: `ip id`"),
        "{}",
        stderr(&o)
    );
    assert_eq!(stdout(&o), "");
}

/// `reject`: the packet is dropped (reason `filter-reject`) and its sender answered, a
/// TCP reset for `with tcp reset`, an ICMP port unreachable by default; the answers go
/// out through OUTPUT and POSTROUTING, into the report and the written capture, their
/// checksums whole.
#[test]
fn reject_answers_the_sender() {
    use brickwall_core::pcap::PcapWriter;
    use brickwall_core::wire::LinkType;
    let dir = TempDir::new("cli-reject");
    let (cap, out, rules) = (dir.join("in.pcap"), dir.join("out.pcap"), dir.join("r.nft"));
    let (a, b) = ([10, 9, 0, 1], [10, 9, 1, 2]);
    let mut w = PcapWriter::create(&cap, LinkType::Ethernet, true).unwrap();
    let frames = [
        common::tcp4_syn(a, b, 40000, 23),
        common::udp4(a, b, 40001, 9, b"discard"),
        common::tcp4_syn(a, b, 40002, 22),
    ];
    for (i, f) in frames.iter().enumerate() {
        w.write(1_000_000_000 + i as u64, f, f.len() as u32)
            .unwrap();
    }
    w.flush().unwrap();
    std::fs::write(
        &rules,
        "table inet t {\n chain fwd {\n  type filter hook forward priority filter; policy drop;\n\
         tcp dport 23 reject with tcp reset\n  udp dport 9 reject\n  tcp dport 22 accept\n }\n}\n",
    )
    .unwrap();
    let report = dir.join("r.jsonl");
    let o = brickwall(&[
        &"replay",
        &cap,
        &"--ruleset",
        &rules,
        &"--report",
        &report,
        &"--write",
        &out,
        &"-q",
    ]);
    assert_code(&o, 0);
    let lines = report_lines(&std::fs::read(&report).unwrap());
    let reasons: Vec<Option<&str>> = lines.iter().map(|l| l.reason.as_deref()).collect();
    assert_eq!(
        reasons
            .iter()
            .filter(|r| **r == Some("filter-reject"))
            .count(),
        2,
        "{lines:?}"
    );
    // What left: the SYN to port 22, the reset and the ICMP error, from b to a.
    let written = read_capture(&out);
    let datagrams: Vec<Vec<u8>> = written
        .iter()
        .map(|(_, f)| {
            let l3 = if f[0] >> 4 == 4 { 0 } else { 14 };
            f[l3..].to_vec()
        })
        .collect();
    let from_b: Vec<&Vec<u8>> = datagrams.iter().filter(|d| d[12..16] == b).collect();
    assert_eq!(from_b.len(), 2, "{written:?}");
    let rst = from_b.iter().find(|d| d[9] == 6).expect("a TCP reset");
    assert_eq!(rst[33], 0x14, "RST|ACK");
    assert_eq!(&rst[20..24], &[0, 23, 0x9c, 0x40]);
    assert_eq!(&rst[28..32], &1001u32.to_be_bytes());
    let icmp = from_b.iter().find(|d| d[9] == 1).expect("an ICMP error");
    assert_eq!((icmp[20], icmp[21]), (3, 3), "port unreachable");
    for d in from_b {
        common::verify_datagram(d, true);
    }
}

/// The nftables wiki's simple ruleset for a workstation (the same text as
/// `plugins/filter/tests/nft.rs` reads): the real `nft -c` and `brickwall replay
/// --ruleset` both take it, and with no address of its own the engine forwards every
/// packet into `my_forward`, whose policy drops it.
#[test]
fn the_wikis_workstation_ruleset_loads_in_both() {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/filter/tests/nft.rs"),
    )
    .unwrap();
    let start = text
        .find("r#\"#!/usr/sbin/nft -f")
        .expect("the wiki's ruleset")
        + 3;
    let end = start + text[start..].find("\"#;").unwrap();
    let dir = TempDir::new("cli-wiki");
    let rules = dir.join("workstation.nft");
    std::fs::write(&rules, &text[start..end]).unwrap();
    common::nft_check(&rules);
    let report = dir.join("r.jsonl");
    let o = brickwall(&[
        &"replay",
        &dns_tcp(),
        &"--ruleset",
        &rules,
        &"--report",
        &report,
        &"-q",
    ]);
    assert_code(&o, 0);
    let lines = report_lines(&std::fs::read(&report).unwrap());
    assert_eq!(lines.len(), 11);
    assert!(
        lines
            .iter()
            .all(|l| l.reason.as_deref() == Some("filter-policy-drop")),
        "{lines:?}"
    );
}

/// A ruleset's nat chains: the real `nft` accepts it (and the NAT plugin's own test
/// rulesets), and `replay --ruleset` with it gives every packet of generated traffic
/// the same path, verdict, conntrack state and translation as the equivalent YAML NAT
/// chains do (source ports a search picked from a keyed hash aside: they differ from
/// run to run); the embedded default config takes it, adding the NAT plugin; a config
/// without conntrack, and a ruleset nft would refuse, are errors naming why and where.
#[test]
fn a_nat_ruleset_translates_as_its_yaml_does() {
    const RULESET: &str = r#"flush ruleset
table ip nat {
    chain prerouting {
        type nat hook prerouting priority dstnat; policy accept;
        tcp dport 443 dnat to 10.1.9.9:8443 comment "a port forward"
        udp dport 53 ct state new counter dnat to 10.1.9.53
    }
    chain postrouting {
        type nat hook postrouting priority srcnat; policy accept;
        ip daddr 10.1.9.53 accept
        ip saddr 10.0.0.0/16 meta l4proto tcp snat to 192.0.2.1-192.0.2.4:20000-29999
        ip saddr 10.0.0.0/16 snat to 192.0.2.9
    }
}
table ip6 nat6 {
    chain postrouting {
        type nat hook postrouting priority srcnat;
        ip6 saddr fd00::/64 tcp dport { 22, 80 } snat to [2001:db8::1]:4000-4100
        ip6 saddr fd00::/64 snat to 2001:db8::2
    }
}
"#;
    const NAT_YAML: &str = r#"  - builtin: nat
    config:
      chains:
        - hook: prerouting
          rules:
            - {match: {family: ipv4, proto: tcp, dport: 443}, action: {dnat: {to: "10.1.9.9:8443"}}}
            - {match: {family: ipv4, proto: udp, dport: 53, ct_state: new}, action: {dnat: {to: 10.1.9.53}}}
        - hook: postrouting
          rules:
            - {match: {family: ipv4, daddr: 10.1.9.53}, action: accept}
            - {match: {family: ipv4, saddr: 10.0.0.0/16, proto: tcp}, action: {snat: {to: "192.0.2.1-192.0.2.4:20000-29999"}}}
            - {match: {family: ipv4, saddr: 10.0.0.0/16}, action: {snat: {to: 192.0.2.9}}}
            - {match: {family: ipv6, saddr: "fd00::/64", proto: tcp, dport: [22, 80]}, action: {snat: {to: "[2001:db8::1]:4000-4100"}}}
            - {match: {family: ipv6, saddr: "fd00::/64"}, action: {snat: {to: "2001:db8::2"}}}
"#;
    let dir = TempDir::new("cli-nft-nat");
    let (cap, rules) = (dir.join("nat.pcap"), dir.join("nat.nft"));
    std::fs::write(&rules, RULESET).unwrap();
    // The real nft reads it, and the NAT plugin's test rulesets.
    common::nft_check(&rules);
    for (name, text) in [
        (
            "plugin-nat.nft",
            include_str!("../../plugins/nat/tests/rulesets/nat.nft"),
        ),
        (
            "plugin-join.nft",
            include_str!("../../plugins/nat/tests/rulesets/join.nft"),
        ),
        (
            "plugin-jumps.nft",
            include_str!("../../plugins/nat/tests/rulesets/jumps.nft"),
        ),
        (
            "plugin-mixed.nft",
            include_str!("../../plugins/nat/tests/rulesets/mixed.nft"),
        ),
    ] {
        std::fs::write(dir.join(name), text).unwrap();
        common::nft_check(&dir.join(name));
    }
    let o = brickwall(&[
        &"generate",
        &"--tcp",
        &"60",
        &"--udp",
        &"40",
        &"--icmp",
        &"20",
        &"-o",
        &cap,
    ]);
    assert_code(&o, 0);
    let bare = "plugins:\n  - builtin: conntrack\n  - builtin: filter\n";
    let (yaml, plain) = (dir.join("nat.yaml"), dir.join("bare.yaml"));
    std::fs::write(&plain, bare).unwrap();
    std::fs::write(&yaml, format!("{bare}{NAT_YAML}")).unwrap();
    let report = |args: &[&dyn AsRef<std::ffi::OsStr>]| {
        let out = dir.join("r.jsonl");
        let mut all: Vec<&dyn AsRef<std::ffi::OsStr>> =
            vec![&"replay", &cap, &"--report", &out, &"-q"];
        all.extend_from_slice(args);
        let o = brickwall(&all);
        assert_code(&o, 0);
        report_lines(&std::fs::read(&out).unwrap())
    };
    // Each line's text, a translated source port (a search's pick) as `*`.
    let shape = |l: &brickwall_core::report::ReportLine| {
        let mut v = serde_json::to_value(l).unwrap();
        if let Some(t) = v.get("translated").and_then(|t| t.as_str()) {
            let t: Vec<&str> = t
                .split(' ')
                .map(|w| {
                    if w.starts_with("sport=") {
                        "sport=*"
                    } else {
                        w
                    }
                })
                .collect();
            v["translated"] = serde_json::json!(t.join(" "));
        }
        v.to_string()
    };
    let ours = report(&[&"--config", &plain, &"--ruleset", &rules]);
    let want = report(&[&"--config", &yaml]);
    assert_eq!(ours.len(), want.len());
    for (a, b) in ours.iter().zip(&want) {
        assert_eq!(shape(a), shape(b));
    }
    let translated: Vec<&str> = ours
        .iter()
        .filter_map(|l| l.translated.as_deref())
        .collect();
    for part in [
        "src=192.0.2.9 ",
        "dst=10.1.9.9 ",
        "dport=8443",
        "src=2001:db8::2 ",
        "dst=10.1.9.53 ",
    ] {
        assert!(
            translated.iter().any(|t| t.contains(part)),
            "no {part}: {translated:?}"
        );
    }
    // The embedded default config: the NAT plugin joins it.
    let alone = report(&[&"--ruleset", &rules]);
    assert_eq!(
        alone.iter().filter(|l| l.translated.is_some()).count(),
        translated.len()
    );
    // No conntrack: NAT cannot load.
    std::fs::write(&plain, "plugins:\n  - builtin: filter\n").unwrap();
    let o = brickwall(&[&"replay", &cap, &"--config", &plain, &"--ruleset", &rules]);
    assert_code(&o, 1);
    assert!(
        stderr(&o).contains("needs the conntrack plugin"),
        "{}",
        stderr(&o)
    );
    // What nft refuses is refused before the replay, at its place.
    std::fs::write(
        &rules,
        RULESET.replace("snat to 192.0.2.9", "snat to 192.0.2.9:80"),
    )
    .unwrap();
    let o = brickwall(&[&"replay", &cap, &"--ruleset", &rules]);
    assert_code(&o, 1);
    assert!(
        stderr(&o)
            .contains("nat.nft:12:38: ports are mapped only after a transport protocol match"),
        "{}",
        stderr(&o)
    );
    assert_eq!(stdout(&o), "");
}
