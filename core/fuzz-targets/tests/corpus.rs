//! Every input the fuzzers keep runs in CI: the seed corpus, what the fuzzers added to
//! it (minimised, committed under `fuzz/corpus/TARGET/`), and the inputs that once
//! crashed a target (`fuzz/regressions/TARGET/`), each through its target's function.
//! A short run of mutated corpus inputs follows, so that a change which makes some
//! neighbour of a kept input panic is caught without a fuzzer.

use std::path::{Path, PathBuf};

type Target = fn(&[u8]);

const TARGETS: [(&str, Target); 13] = [
    ("frame", brickwall_fuzz_targets::frame),
    ("capture", brickwall_fuzz_targets::capture),
    ("engine", brickwall_fuzz_targets::engine),
    ("helpers", brickwall_fuzz_targets::helpers),
    ("control", brickwall_fuzz_targets::control),
    ("config", brickwall_fuzz_targets::config),
    ("checksum", brickwall_fuzz_targets::checksum),
    ("tracker", brickwall_fuzz_targets::tracker),
    ("tpacket", brickwall_fuzz_targets::tpacket),
    ("metrics", brickwall_fuzz_targets::metrics),
    ("parsers", brickwall_fuzz_targets::parsers),
    ("defrag", brickwall_fuzz_targets::defrag),
    ("sync", brickwall_fuzz_targets::sync),
];

fn inputs(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// A small deterministic generator.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// `input` with a few bytes flipped, inserted or cut.
fn mutate(input: &[u8], rng: &mut XorShift) -> Vec<u8> {
    let mut v = input.to_vec();
    for _ in 0..1 + rng.next() % 4 {
        let pos = (rng.next() % (v.len() as u64 + 1)) as usize;
        let byte = rng.next() as u8;
        match rng.next() % 4 {
            0 => v.truncate(pos),
            1 if pos < v.len() => v[pos] ^= 1 << (byte % 8),
            2 if pos < v.len() => v[pos] = byte,
            _ => v.insert(pos, byte),
        }
    }
    v
}

fn run(name: &str, target: Target, mutations: usize) {
    let mut all = inputs(&fuzz_dir().join("corpus").join(name));
    assert!(
        !all.is_empty(),
        "no corpus for {name} in {}",
        fuzz_dir().display()
    );
    all.extend(inputs(&fuzz_dir().join("regressions").join(name)));
    let bytes: Vec<Vec<u8>> = all
        .iter()
        .map(|p| std::fs::read(p).expect("read an input"))
        .collect();
    for (p, b) in all.iter().zip(&bytes) {
        let r = std::panic::catch_unwind(|| target(b));
        assert!(r.is_ok(), "{name}: {} panics", p.display());
    }
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15 ^ name.len() as u64);
    for i in 0..mutations {
        let m = mutate(&bytes[i % bytes.len()], &mut rng);
        let r = std::panic::catch_unwind(|| target(&m));
        assert!(
            r.is_ok(),
            "{name}: a mutation of {} panics: {m:02x?}",
            all[i % all.len()].display()
        );
    }
}

#[test]
fn frame_corpus() {
    run(TARGETS[0].0, TARGETS[0].1, 20_000);
}

#[test]
fn capture_corpus() {
    run(TARGETS[1].0, TARGETS[1].1, 5_000);
}

#[test]
fn engine_corpus() {
    run(TARGETS[2].0, TARGETS[2].1, 300);
}

#[test]
fn helpers_corpus() {
    run(TARGETS[3].0, TARGETS[3].1, 200);
}

#[test]
fn control_corpus() {
    run(TARGETS[4].0, TARGETS[4].1, 500);
}

#[test]
fn config_corpus() {
    run(TARGETS[5].0, TARGETS[5].1, 300);
}

#[test]
fn checksum_corpus() {
    run(TARGETS[6].0, TARGETS[6].1, 20_000);
}

#[test]
fn tracker_corpus() {
    run(TARGETS[7].0, TARGETS[7].1, 200);
}

#[test]
fn tpacket_corpus() {
    run(TARGETS[8].0, TARGETS[8].1, 20_000);
}

#[test]
fn metrics_corpus() {
    run(TARGETS[9].0, TARGETS[9].1, 5_000);
}

#[test]
fn parsers_corpus() {
    run(TARGETS[10].0, TARGETS[10].1, 20_000);
}

#[test]
fn defrag_corpus() {
    run(TARGETS[11].0, TARGETS[11].1, 5_000);
}

#[test]
fn sync_corpus() {
    run(TARGETS[12].0, TARGETS[12].1, 20_000);
}
