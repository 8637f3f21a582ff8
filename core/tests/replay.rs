//! Library-level replays: every shared capture through an engine built from the CLI's
//! default config, with the per-packet report and the output capture checked frame by
//! frame; the three packet paths; queue round trips, injection and truncated captures
//! through `replay`.

mod common;

use brickwall_core::engine::Engine;
use brickwall_core::gen::{GenConfig, Generator};
use brickwall_core::io::{FrameSource, GenSource, PcapSource};
use brickwall_core::pcap::{FrameMeta, PcapWriter};
use brickwall_core::pipeline::queue::QueueVerdict;
use brickwall_core::replay::{replay, ReplayOptions, ReplaySummary};
use brickwall_core::report::ReportLine;
use brickwall_core::wire::{parse_frame, LinkType, ParseError};
use brickwall_hooks::{FamilySel, Hook, Verdict};
use common::{
    engine, kernel_packets, pcaps_dir, read_capture, report_lines, shared_captures, SharedBuf,
    TempFile, DEFAULT_CONFIG,
};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

const FORWARD_PATH: [&str; 3] = ["PREROUTING", "FORWARD", "POSTROUTING"];
const INPUT_PATH: [&str; 2] = ["PREROUTING", "INPUT"];
const OUTPUT_PATH: [&str; 2] = ["OUTPUT", "POSTROUTING"];

/// Replays `source` through `engine` with a report into memory and, if given, an output
/// capture; returns the summary and the parsed report.
fn run(
    engine: &Engine,
    source: &mut dyn FrameSource,
    output: Option<&Path>,
) -> (ReplaySummary, Vec<ReportLine>) {
    let buf = SharedBuf::default();
    let opts = ReplayOptions {
        report: Some(Box::new(buf.clone())),
        output: output.map(Path::to_path_buf),
        queue_wait: Duration::from_secs(10),
        ..ReplayOptions::default()
    };
    let summary = replay(engine, source, opts).expect("replay succeeds");
    (summary, report_lines(&buf.contents()))
}

fn hooks_of(l: &ReportLine) -> Vec<&str> {
    l.hooks.iter().map(String::as_str).collect()
}

/// Asserts the report has one line per input frame, indexed 0..n in order.
fn assert_in_order(lines: &[ReportLine], n: usize, what: &str) {
    assert_eq!(lines.len(), n, "{what}: report lines");
    for (i, l) in lines.iter().enumerate() {
        assert_eq!(l.index, i as u64, "{what}: line {i} out of order");
    }
}

/// What a replay of one shared capture with the default config did.
struct Checked {
    frames: Vec<(FrameMeta, Vec<u8>)>,
    summary: ReplaySummary,
    lines: Vec<ReportLine>,
}

/// Replays one shared capture (path relative to the pcaps folder) with the default
/// config and checks the summary, every report line and the output capture against
/// the input frames.
fn check_capture(rel: &str) -> Checked {
    let path = pcaps_dir().join(rel);
    let frames = read_capture(&path);
    let truth = kernel_packets();
    let want = *truth
        .get(rel)
        .unwrap_or_else(|| panic!("{rel} is not in kernel_truth.tsv"));
    assert_eq!(
        frames.len() as u64,
        want,
        "{rel}: frames read by CaptureReader"
    );

    let e = engine(DEFAULT_CONFIG);
    let out = TempFile::new("out.pcap");
    let mut src = PcapSource::open(&path).unwrap_or_else(|err| panic!("{rel}: {err}"));
    let (summary, lines) = run(&e, &mut src, Some(&out.0));

    // Every frame accounted for.
    let c = &summary.counters;
    assert_eq!(summary.frames, want, "{rel}: summary.frames");
    assert!(!summary.truncated, "{rel}: not truncated");
    assert_eq!(summary.output_skipped, 0, "{rel}: output_skipped");
    assert_eq!(c.received, summary.frames, "{rel}: received");
    assert_eq!(
        c.forwarded + c.delivered + c.dropped + c.stolen + c.non_ip,
        c.received,
        "{rel}: verdict totals {c:?}"
    );
    assert_eq!(
        (c.delivered, c.queued, c.reinjected, c.injected, c.stolen),
        (0, 0, 0, 0, 0),
        "{rel}: nothing local, queued, injected or stolen without plugins"
    );
    assert_in_order(&lines, frames.len(), rel);

    // Line by line, against what the parser says about each frame.
    let (mut ip, mut non_ip, mut bad) = (0u64, 0u64, 0u64);
    let mut accepted: Vec<&(FrameMeta, Vec<u8>)> = Vec::new();
    for ((meta, data), l) in frames.iter().zip(&lines) {
        let i = l.index;
        assert_eq!(l.ts, meta.ts_ns, "{rel} #{i}: ts");
        assert_eq!(
            l.len,
            meta.orig_len.max(data.len() as u32),
            "{rel} #{i}: len"
        );
        assert_eq!(l.ctstate, None, "{rel} #{i}: no conntrack loaded");
        match parse_frame(meta.link, data) {
            Ok(_) => {
                ip += 1;
                assert_eq!(hooks_of(l), FORWARD_PATH, "{rel} #{i}: hooks");
                assert_eq!(
                    (l.verdict.as_str(), &l.reason),
                    ("accept", &None),
                    "{rel} #{i}"
                );
                accepted.push(&frames[i as usize]);
            }
            Err(ParseError::NotIp { .. }) => {
                non_ip += 1;
                assert!(
                    l.hooks.is_empty(),
                    "{rel} #{i}: non-IP ran hooks {:?}",
                    l.hooks
                );
                assert_eq!(
                    (l.verdict.as_str(), &l.reason),
                    ("accept", &None),
                    "{rel} #{i}"
                );
                accepted.push(&frames[i as usize]);
            }
            Err(err) => {
                bad += 1;
                assert!(l.hooks.is_empty(), "{rel} #{i}: unparsed ran hooks");
                assert_eq!(l.verdict, "drop", "{rel} #{i}");
                assert_eq!(l.reason.as_deref(), Some(err.reason()), "{rel} #{i}");
            }
        }
    }
    assert_eq!(c.non_ip, non_ip, "{rel}: non_ip");
    assert_eq!(c.forwarded, ip, "{rel}: forwarded");
    assert_eq!(c.dropped, bad, "{rel}: dropped");
    assert_eq!(
        c.parse_drops.values().sum::<u64>(),
        bad,
        "{rel}: parse drops"
    );
    for h in [Hook::PreRouting, Hook::Forward, Hook::PostRouting] {
        let k = c.hooks[h as usize];
        assert_eq!((k.entered, k.accepted), (ip, ip), "{rel}: {h:?} {k:?}");
    }
    for h in [Hook::LocalIn, Hook::LocalOut] {
        assert_eq!(c.hooks[h as usize].entered, 0, "{rel}: {h:?}");
    }

    // The output holds exactly the accepted frames, byte for byte, in order.
    if accepted.is_empty() {
        assert!(!out.0.exists(), "{rel}: output created without packets");
    } else {
        let written = read_capture(&out.0);
        assert_eq!(written.len(), accepted.len(), "{rel}: output frames");
        for (k, ((wm, wd), (im, id))) in written.iter().zip(accepted.iter().copied()).enumerate() {
            assert_eq!(wd, id, "{rel}: output frame {k} bytes");
            assert_eq!(wm.ts_ns, im.ts_ns, "{rel}: output frame {k} ts");
            assert_eq!(wm.link, im.link, "{rel}: output frame {k} link type");
            assert_eq!(
                wm.orig_len,
                im.orig_len.max(id.len() as u32),
                "{rel}: output frame {k} orig_len"
            );
        }
    }
    Checked {
        frames,
        summary,
        lines,
    }
}

#[test]
fn every_shared_capture_replays_with_one_line_per_frame() {
    let files = shared_captures();
    let truth: Vec<String> = kernel_packets().into_keys().collect();
    assert_eq!(files, truth, "captures on disk vs kernel_truth.tsv rows");
    assert!(files.len() >= 30, "only {} captures found", files.len());
    let mut total = 0;
    for rel in &files {
        total += check_capture(rel).summary.frames;
    }
    assert_eq!(total, kernel_packets().values().sum::<u64>());
}

#[test]
fn dns_tcp_replays_eleven_forwarded_frames() {
    let r = check_capture("tcpdump/dns_tcp.pcap");
    assert_eq!(r.summary.frames, 11);
    assert_eq!(r.summary.counters.forwarded, 11);
    assert!(r.lines.iter().all(|l| l.verdict == "accept"));
}

#[test]
fn nanosecond_capture_keeps_its_timestamps() {
    let r = check_capture("tcpdump/tcp-handshake-nano.pcap");
    assert_eq!(r.frames.len(), 3);
    assert_eq!(r.frames[0].0.link, LinkType::LinuxSll);
    let first = r.frames.first().unwrap().0.ts_ns;
    let last = r.frames.last().unwrap().0.ts_ns;
    // The record headers' seconds and nanoseconds, read from the file's bytes.
    assert_eq!(first, 0x5487_2e59 * 1_000_000_000 + 0x371a_d590);
    assert_eq!(last, 0x5487_2e5a * 1_000_000_000 + 0x031b_36d5);
    assert_eq!(r.lines.first().unwrap().ts, first);
    assert_eq!(r.lines.last().unwrap().ts, last);
    assert_ne!(first % 1_000, 0, "sub-microsecond digits kept");
}

#[test]
fn non_ip_frames_bypass_the_hooks() {
    // 500 frames, 14 of them ARP or EAPOL.
    let r = check_capture("nDPI/iphone.pcap");
    assert_eq!(r.summary.counters.non_ip, 14);
    assert_eq!(r.summary.counters.forwarded, 486);
    let unhooked = r.lines.iter().filter(|l| l.hooks.is_empty()).count();
    assert_eq!(unhooked, 14);
}

#[test]
fn snaplen_cut_frames_report_their_wire_length() {
    let r = check_capture("zeek/tcp/retransmit-fast009.pcap");
    let cut = r
        .frames
        .iter()
        .zip(&r.lines)
        .filter(|((m, d), l)| (d.len() as u32) < m.orig_len && l.len == m.orig_len)
        .count();
    assert_eq!(cut, 21);
}

#[test]
fn raw_ip_and_pcapng_captures_replay() {
    for rel in [
        "tcpdump/LINKTYPE_RAW_ipv6.pcap",
        "tcpdump/LINKTYPE_IPV4.pcap",
        "nDPI/doq.pcapng",
    ] {
        let r = check_capture(rel);
        assert_eq!(r.summary.counters.forwarded, r.summary.frames, "{rel}");
    }
}

/// Source and destination address of a generated frame (Ethernet, no VLAN).
fn addrs(frame: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let p = parse_frame(LinkType::Ethernet, frame).expect("generated frames parse");
    let l3 = &frame[usize::from(p.l3_off)..];
    match l3[0] >> 4 {
        4 => (l3[12..16].to_vec(), l3[16..20].to_vec()),
        _ => (l3[8..24].to_vec(), l3[24..40].to_vec()),
    }
}

#[test]
fn local_addresses_give_the_three_paths() {
    let cfg = GenConfig {
        seed: 3,
        tcp_flows: 120,
        udp_flows: 60,
        icmp_flows: 20,
        data_packets: 2,
        payload_len: 16,
        ipv6_share: 0.25,
        ..GenConfig::default()
    };
    let local: Vec<Vec<u8>> = vec![vec![10, 1, 0, 1], {
        let mut a = vec![0u8; 16];
        a[..2].copy_from_slice(&[0xfd, 0x01]);
        a[15] = 1;
        a
    }];
    let e = engine("local_addresses: [10.1.0.1, \"fd01::1\"]\nplugins: []\n");
    let frames: Vec<_> = Generator::new(cfg.clone()).collect();
    let (summary, lines) = run(&e, &mut GenSource::new(cfg), None);
    let c = &summary.counters;
    assert_eq!(summary.frames, frames.len() as u64);
    assert_in_order(&lines, frames.len(), "generated");

    let (mut n_in, mut n_out, mut n_fwd) = (0u64, 0u64, 0u64);
    for (f, l) in frames.iter().zip(&lines) {
        let (src, dst) = addrs(&f.data);
        let want: &[&str] = if local.contains(&dst) {
            n_in += 1;
            &INPUT_PATH
        } else if local.contains(&src) {
            n_out += 1;
            &OUTPUT_PATH
        } else {
            n_fwd += 1;
            &FORWARD_PATH
        };
        assert_eq!(hooks_of(l), want, "line {}", l.index);
        assert_eq!(l.verdict, "accept", "line {}", l.index);
        assert_eq!(l.ts, f.ts_ns, "line {}", l.index);
    }
    assert!(n_in > 0 && n_out > 0 && n_fwd > 0, "{n_in} {n_out} {n_fwd}");
    assert_eq!(c.received, summary.frames);
    assert_eq!(c.delivered, n_in);
    assert_eq!(c.forwarded, n_fwd + n_out);
    assert_eq!(c.dropped + c.stolen + c.non_ip, 0);
    let entered = |h: Hook| c.hooks[h as usize].entered;
    assert_eq!(entered(Hook::PreRouting), n_in + n_fwd);
    assert_eq!(entered(Hook::LocalIn), n_in);
    assert_eq!(entered(Hook::Forward), n_fwd);
    assert_eq!(entered(Hook::LocalOut), n_out);
    assert_eq!(entered(Hook::PostRouting), n_fwd + n_out);
    let count = |p: &[&str]| lines.iter().filter(|l| hooks_of(l) == p).count() as u64;
    assert_eq!(
        (
            count(&INPUT_PATH),
            count(&OUTPUT_PATH),
            count(&FORWARD_PATH)
        ),
        (n_in, n_out, n_fwd)
    );
}

#[test]
fn queue_round_trip_keeps_the_report_in_input_order() {
    let cfg = GenConfig {
        seed: 11,
        tcp_flows: 20,
        udp_flows: 15,
        icmp_flows: 5,
        data_packets: 4,
        ..GenConfig::default()
    };
    let frames: Vec<_> = Generator::new(cfg.clone()).collect();
    let is_udp: Vec<bool> = frames
        .iter()
        .map(|f| parse_frame(LinkType::Ethernet, &f.data).unwrap().l4proto == 17)
        .collect();
    let n_udp = is_udp.iter().filter(|u| **u).count() as u64;
    assert!(n_udp >= 100, "{n_udp} UDP frames");

    let e = engine(DEFAULT_CONFIG);
    e.registry()
        .register_fn("to-queue", Hook::Forward, FamilySel::Inet, 0, |p| {
            if p.l4proto == 17 {
                Verdict::Queue {
                    num: 3,
                    bypass: false,
                }
            } else {
                Verdict::Accept
            }
        });
    let consumer = e.shared.queues.bind(3, 0);
    // Answers in bursts, newest first, so packets come back out of input order; stops
    // once it has seen every UDP packet (or after 30 s).
    let worker = std::thread::spawn(move || {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let mut seen = 0u64;
        let mut held = Vec::new();
        while seen < n_udp && std::time::Instant::now() < deadline {
            let next = consumer.recv_timeout(Duration::from_millis(20));
            let idle = next.is_none();
            held.extend(next);
            if held.len() >= 7 || idle {
                while let Some(q) = held.pop() {
                    seen += 1;
                    let v = if q.packet.index % 2 == 0 {
                        QueueVerdict::Accept
                    } else {
                        QueueVerdict::Drop
                    };
                    consumer.verdict(q, v);
                }
            }
        }
        seen
    });
    let out = TempFile::new("queued.pcap");
    let (summary, lines) = run(&e, &mut GenSource::new(cfg), Some(&out.0));
    e.shared.queues.unbind(3);
    let seen = worker.join().expect("consumer thread");
    assert_eq!(seen, n_udp, "consumer saw every UDP packet once");

    let c = &summary.counters;
    assert_in_order(&lines, frames.len(), "queued replay");
    let mut accepted = Vec::new();
    let mut dropped_udp = 0u64;
    for (i, (l, udp)) in lines.iter().zip(&is_udp).enumerate() {
        assert_eq!(l.ts, frames[i].ts_ns, "line {i}");
        if !udp {
            assert_eq!(l.verdict, "accept", "line {i}");
            assert_eq!(hooks_of(l), FORWARD_PATH, "line {i}");
            accepted.push(i);
        } else if i % 2 == 0 {
            assert_eq!(
                (l.verdict.as_str(), &l.reason),
                ("accept", &None),
                "line {i}"
            );
            assert_eq!(hooks_of(l), FORWARD_PATH, "line {i}");
            accepted.push(i);
        } else {
            dropped_udp += 1;
            assert_eq!(l.verdict, "drop", "line {i}");
            assert_eq!(l.reason.as_deref(), Some("queue-verdict-drop"), "line {i}");
            assert_eq!(hooks_of(l), ["PREROUTING", "FORWARD"], "line {i}");
        }
    }
    assert!(dropped_udp > 0 && dropped_udp < n_udp);
    assert_eq!(c.reinjected, n_udp);
    assert_eq!(c.queued, 0, "nothing left in the queue");
    assert_eq!(c.hooks[Hook::Forward as usize].queued, n_udp);
    assert_eq!(c.hooks[Hook::Forward as usize].dropped, dropped_udp);
    assert_eq!(c.received, summary.frames);
    assert_eq!(c.dropped, dropped_udp);
    assert_eq!(c.forwarded, accepted.len() as u64);
    assert_eq!(
        c.forwarded + c.delivered + c.dropped + c.stolen + c.non_ip,
        c.received
    );
    // The output holds the accepted packets (queued ones leave when they come back).
    let mut written: Vec<(u64, Vec<u8>)> = read_capture(&out.0)
        .into_iter()
        .map(|(m, d)| (m.ts_ns, d))
        .collect();
    written.sort();
    let want: Vec<(u64, Vec<u8>)> = accepted
        .iter()
        .map(|&i| (frames[i].ts_ns, frames[i].data.clone()))
        .collect();
    assert_eq!(written.len(), want.len());
    assert!(written == want, "output differs from the accepted frames");
}

#[test]
fn injected_packet_takes_the_output_path_without_a_report_line() {
    let rel = "tcpdump/dns_tcp.pcap";
    let path = pcaps_dir().join(rel);
    let frames = read_capture(&path);
    let e = engine(DEFAULT_CONFIG);
    let injector = e.shared.host.injector.clone();
    let once = AtomicBool::new(false);
    e.registry()
        .register_fn("injector", Hook::PreRouting, FamilySel::Inet, 0, move |p| {
            if !once.swap(true, Ordering::Relaxed) {
                assert!(injector.push(p.l3().to_vec()));
            }
            Verdict::Accept
        });
    let out = TempFile::new("inject.pcap");
    let mut src = PcapSource::open(&path).unwrap();
    let (summary, lines) = run(&e, &mut src, Some(&out.0));
    let c = &summary.counters;
    let n = frames.len() as u64;
    assert_in_order(&lines, frames.len(), rel);
    assert_eq!(c.injected, 1);
    assert_eq!(c.received, n);
    let entered = |h: Hook| c.hooks[h as usize].entered;
    assert_eq!(entered(Hook::LocalOut), 1);
    assert_eq!(
        entered(Hook::PreRouting),
        n,
        "the injected packet skips PREROUTING"
    );
    assert_eq!(entered(Hook::PostRouting), n + 1);
    assert_eq!(c.forwarded, n + 1);
    assert_eq!(
        c.forwarded + c.delivered + c.dropped + c.stolen + c.non_ip,
        c.received + c.injected
    );
    assert!(lines.iter().all(|l| hooks_of(l) == FORWARD_PATH));

    // The injected datagram is written too, re-framed as Ethernet.
    let first = parse_frame(frames[0].0.link, &frames[0].1).unwrap();
    let l3 = &frames[0].1[usize::from(first.l3_off)..];
    let written = read_capture(&out.0);
    assert_eq!(written.len(), frames.len() + 1);
    let extra: Vec<_> = written
        .iter()
        .filter(|(_, d)| d.len() == 14 + l3.len() && &d[14..] == l3 && d[..12] == [0; 12])
        .collect();
    assert_eq!(extra.len(), 1, "one re-framed copy of the first datagram");
    assert_eq!(extra[0].1[12..14], [0x08, 0x00]);
}

#[test]
fn truncated_capture_replays_the_complete_records() {
    let cfg = GenConfig {
        tcp_flows: 3,
        udp_flows: 2,
        icmp_flows: 1,
        ..GenConfig::default()
    };
    let frames: Vec<_> = Generator::new(cfg).collect();
    let n = frames.len();
    let last_record = 16 + frames.last().unwrap().data.len();
    // Cut inside the last record's data, then inside its header.
    for keep_of_last in [last_record / 2, 8] {
        let file = TempFile::new("cut.pcap");
        let mut w = PcapWriter::create(&file.0, LinkType::Ethernet, true).unwrap();
        for f in &frames {
            w.write(f.ts_ns, &f.data, f.data.len() as u32).unwrap();
        }
        w.flush().unwrap();
        drop(w);
        let full = std::fs::metadata(&file.0).unwrap().len() as usize;
        assert_eq!(
            full,
            24 + frames.iter().map(|f| 16 + f.data.len()).sum::<usize>()
        );
        let bytes = std::fs::read(&file.0).unwrap();
        std::fs::write(&file.0, &bytes[..full - last_record + keep_of_last]).unwrap();

        let e = engine(DEFAULT_CONFIG);
        let mut src = PcapSource::open(&file.0).unwrap();
        let (summary, lines) = run(&e, &mut src, None);
        assert!(
            summary.truncated,
            "keeping {keep_of_last} bytes of the last record"
        );
        assert_eq!(summary.frames, (n - 1) as u64);
        assert_eq!(summary.counters.received, (n - 1) as u64);
        assert_in_order(&lines, n - 1, "truncated");
        assert_eq!(lines.last().unwrap().ts, frames[n - 2].ts_ns);
    }
}

#[test]
fn unanswered_queued_packets_are_reported_as_timed_out() {
    let cfg = GenConfig {
        tcp_flows: 3,
        udp_flows: 3,
        icmp_flows: 1,
        ..GenConfig::default()
    };
    let frames: Vec<_> = Generator::new(cfg.clone()).collect();
    let e = engine(DEFAULT_CONFIG);
    e.registry()
        .register_fn("to-queue", Hook::Forward, FamilySel::Inet, 0, |p| {
            if p.l4proto == 17 {
                Verdict::Queue {
                    num: 4,
                    bypass: false,
                }
            } else {
                Verdict::Accept
            }
        });
    // Bound, so packets are queued, but never answered.
    let _consumer = e.shared.queues.bind(4, 0);
    let buf = SharedBuf::default();
    let opts = ReplayOptions {
        report: Some(Box::new(buf.clone())),
        queue_wait: Duration::from_millis(100),
        ..ReplayOptions::default()
    };
    let summary = replay(&e, &mut GenSource::new(cfg), opts).unwrap();
    let lines = report_lines(&buf.contents());
    assert_in_order(&lines, frames.len(), "unanswered queue");
    let c = &summary.counters;
    let mut timed_out = 0u64;
    for (f, l) in frames.iter().zip(&lines) {
        assert_eq!(l.ts, f.ts_ns, "line {}", l.index);
        assert_eq!(l.len as usize, f.data.len(), "line {}", l.index);
        if parse_frame(LinkType::Ethernet, &f.data).unwrap().l4proto == 17 {
            timed_out += 1;
            assert_eq!(l.verdict, "drop", "line {}", l.index);
            assert_eq!(
                l.reason.as_deref(),
                Some("queue-timeout"),
                "line {}",
                l.index
            );
            assert_eq!(hooks_of(l), ["PREROUTING", "FORWARD"], "line {}", l.index);
        } else {
            assert_eq!(l.verdict, "accept", "line {}", l.index);
        }
    }
    assert!(timed_out > 0);
    assert_eq!(c.hooks[Hook::Forward as usize].queued, timed_out);
    assert_eq!((c.dropped, c.queued, c.reinjected), (timed_out, 0, 0));
    assert_eq!(c.forwarded + c.dropped, c.received);
}

#[test]
fn non_ip_frames_of_another_link_type_are_not_written_as_junk() {
    // A pcapng file with an Ethernet and a Linux SLL interface: the output takes the
    // first accepted packet's link type; an ARP frame on the SLL interface cannot be
    // re-framed into it.
    let frames = read_capture(&pcaps_dir().join("tcpdump/dns_tcp.pcap"));
    let arp_sll = {
        let mut f = vec![0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, 0x08, 0x06];
        f.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]);
        f.extend_from_slice(&[0; 20]);
        f
    };
    let ip_sll = {
        let p = parse_frame(LinkType::Ethernet, &frames[1].1).unwrap();
        let mut f = vec![0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, 0x08, 0x00];
        f.extend_from_slice(&frames[1].1[usize::from(p.l3_off)..]);
        f
    };
    let input = vec![
        (LinkType::Ethernet, frames[0].1.clone()),
        (LinkType::LinuxSll, arp_sll),
        (LinkType::LinuxSll, ip_sll),
    ];
    let e = engine(DEFAULT_CONFIG);
    let out = TempFile::new("mixed.pcap");
    let (summary, lines) = run(&e, &mut common::vec_source(input), Some(&out.0));
    assert_in_order(&lines, 3, "mixed");
    assert!(lines.iter().all(|l| l.verdict == "accept"));
    assert_eq!(summary.counters.non_ip, 1);
    assert_eq!(summary.output_skipped, 1, "the SLL ARP frame");
    let written = read_capture(&out.0);
    assert_eq!(written.len(), 2);
    assert!(written.iter().all(|(m, _)| m.link == LinkType::Ethernet));
    assert_eq!(written[0].1, frames[0].1);
    // The SLL IP packet is re-framed as Ethernet around the same datagram.
    let p = parse_frame(LinkType::Ethernet, &written[1].1).expect("re-framed packet parses");
    let p1 = parse_frame(LinkType::Ethernet, &frames[1].1).unwrap();
    let l3 = |f: &[u8], p: &brickwall_core::wire::Parsed| {
        f[usize::from(p.l3_off)..usize::from(p.l3_off) + p.l3_len as usize].to_vec()
    };
    assert_eq!(l3(&written[1].1, &p), l3(&frames[1].1, &p1));
}
