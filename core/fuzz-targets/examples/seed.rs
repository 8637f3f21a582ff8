//! Writes the fuzzers' seed corpus from real captures: `cargo run -p
//! brickwall-fuzz-targets --example seed -- PCAPS_DIR CORPUS_DIR` (PCAPS_DIR: the
//! shared captures, `../shared/pcaps`; CORPUS_DIR: `core/fuzz-targets/fuzz/corpus`).
//! Each capture gives the `engine` and `helpers` targets its first frames, the `frame`
//! target a few single frames, and the `capture` target its first 4 KB.

use brickwall_engine::pcap::CaptureReader;
use brickwall_fuzz_targets::encode_frames;
use std::path::{Path, PathBuf};

fn captures(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            captures(&p, out);
        } else if p.extension().is_some_and(|e| e == "pcap" || e == "pcapng") {
            out.push(p);
        }
    }
}

fn write(dir: &Path, target: &str, name: &str, bytes: &[u8]) {
    let d = dir.join(target);
    std::fs::create_dir_all(&d).expect("create the corpus folder");
    std::fs::write(d.join(name), bytes).expect("write a seed");
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(pcaps), Some(corpus)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: seed PCAPS_DIR CORPUS_DIR");
        std::process::exit(2);
    };
    let (pcaps, corpus) = (Path::new(pcaps), Path::new(corpus));
    for (i, text) in brickwall_fuzz_targets::CONTROL_SEEDS.iter().enumerate() {
        write(
            corpus,
            "control",
            &format!("request-{i:02}"),
            text.as_bytes(),
        );
    }
    for (i, text) in brickwall_fuzz_targets::CONFIG_SEEDS.iter().enumerate() {
        write(corpus, "config", &format!("config-{i}"), text.as_bytes());
    }
    for (target, name, bytes) in brickwall_fuzz_targets::hand_seeds() {
        write(corpus, target, name, &bytes);
    }
    let mut files = Vec::new();
    captures(pcaps, &mut files);
    for path in files {
        let name = path
            .strip_prefix(pcaps)
            .unwrap_or(&path)
            .to_string_lossy()
            .replace('/', "__");
        let bytes = std::fs::read(&path).expect("read a capture");
        write(corpus, "capture", &name, &bytes[..bytes.len().min(4096)]);
        let Ok(mut r) = CaptureReader::open(&path) else {
            continue;
        };
        let link = r.link_type();
        let mut frames = Vec::new();
        let mut buf = Vec::new();
        while let Ok(Some(m)) = r.next_frame(&mut buf) {
            frames.push((m.ts_ns, buf.clone()));
            if frames.len() == 64 {
                break;
            }
        }
        let refs: Vec<(u64, &[u8])> = frames.iter().map(|(t, f)| (*t, f.as_slice())).collect();
        let input = encode_frames(link, &refs);
        write(corpus, "engine", &name, &input);
        let helper = ["ftp", "irc", "tftp", "pptp"]
            .iter()
            .any(|h| name.to_ascii_lowercase().contains(h));
        if helper {
            write(corpus, "helpers", &name, &input);
        }
        if let Some((_, f)) = refs.first() {
            let mut c = vec![20, 0, 0x0a, 0, 0, 0x63, 0x12, 0x34];
            c.extend_from_slice(f);
            write(corpus, "checksum", &name, &c);
        }
        for (i, f) in refs.iter().take(3).enumerate() {
            let one = encode_frames(link, &[*f]);
            // The frame target reads the link byte, then one whole frame.
            let mut single = vec![one[0]];
            single.extend_from_slice(f.1);
            write(corpus, "frame", &format!("{name}.{i}"), &single);
        }
    }
}
