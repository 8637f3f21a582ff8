//! Property tests: random and mutated frames of every link type through `Packet` and a
//! pipeline whose callbacks read every accessor of the packet view and return verdicts
//! chosen by the packet's bytes; random and mutated capture files through the reader.
//!
//! Invariants: nothing panics; every frame is accounted for (parse error, or exactly
//! one final outcome with the pipeline's totals adding up); the view's accessors stay
//! inside the frame; the capture reader only returns errors for bad files and never
//! makes an allocation out of proportion to its input.

mod common;

use brickwall_core::engine::Engine;
use brickwall_core::gen::{GenConfig, Generator};
use brickwall_core::packet::Packet;
use brickwall_core::pcap::{CaptureError, CaptureReader};
use brickwall_core::pipeline::{DropReason, Outcome, Pipeline};
use brickwall_core::wire::{parse_frame, LinkType, ParseError};
use brickwall_hooks::{flags, FamilySel, Hook, HookTable, PacketView, Verdict};
use common::{engine, pcaps_dir, read_capture};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

// ---------------------------------------------------------------------------------
// Allocation tracking: the largest single allocation made by the current thread.

struct Tracking;

thread_local! {
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn note(size: usize) {
    let _ = LARGEST.try_with(|m| {
        if size > m.get() {
            m.set(size);
        }
    });
}

// SAFETY: forwards to the system allocator; only records sizes.
unsafe impl GlobalAlloc for Tracking {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        note(l.size());
        System.alloc(l)
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        note(l.size());
        System.alloc_zeroed(l)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        System.dealloc(p, l)
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        note(new);
        System.realloc(p, l, new)
    }
}

#[global_allocator]
static GLOBAL: Tracking = Tracking;

/// Runs `f` and returns its result with the largest single allocation it made.
fn largest_allocation<T>(f: impl FnOnce() -> T) -> (T, usize) {
    LARGEST.with(|m| m.set(0));
    let r = f();
    (r, LARGEST.with(|m| m.get()))
}

// ---------------------------------------------------------------------------------
// Inputs.

const LINKS: [LinkType; 7] = [
    LinkType::Ethernet,
    LinkType::Raw,
    LinkType::LinuxSll,
    LinkType::LinuxSll2,
    LinkType::Null,
    LinkType::Ipv4,
    LinkType::Ipv6,
];

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        // Keep failures in the test output only: nothing is written beside the sources.
        failure_persistence: None,
        ..Config::default()
    })
}

/// A datagram of protocol `proto` around `l4` (IPv4 unless `v6`), lengths filled in.
fn datagram(v6: bool, proto: u8, l4: &[u8]) -> Vec<u8> {
    if v6 {
        let mut d = vec![0x60, 0, 0, 0];
        d.extend_from_slice(&(l4.len() as u16).to_be_bytes());
        d.extend_from_slice(&[proto, 64]);
        d.extend_from_slice(&[0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9]);
        d.extend_from_slice(&[0xfd, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        d.extend_from_slice(l4);
        d
    } else {
        let total = (20 + l4.len()) as u16;
        let mut d = vec![0x45, 0];
        d.extend_from_slice(&total.to_be_bytes());
        d.extend_from_slice(&[0, 1, 0, 0, 64, proto, 0, 0, 10, 0, 0, 9, 10, 1, 0, 1]);
        d.extend_from_slice(l4);
        d
    }
}

/// Wraps a datagram in each link layer.
fn framed(d: &[u8]) -> Vec<(LinkType, Vec<u8>)> {
    let v6 = d.first().is_some_and(|b| b >> 4 == 6);
    let ethertype: [u8; 2] = if v6 { [0x86, 0xdd] } else { [0x08, 0x00] };
    let mut eth = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1];
    eth.extend_from_slice(&ethertype);
    let mut vlan = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x81, 0, 0, 7];
    vlan.extend_from_slice(&ethertype);
    let mut sll = vec![0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0];
    sll.extend_from_slice(&ethertype);
    let mut sll2 = ethertype.to_vec();
    sll2.extend_from_slice(&[0, 0, 0, 0, 0, 2, 0, 1, 0, 0, 6, 2, 0, 0, 0, 0, 1, 0]);
    let null = if v6 { 30u32 } else { 2u32 }.to_le_bytes().to_vec();
    let cat = |h: &[u8]| [h, d].concat();
    vec![
        (LinkType::Ethernet, cat(&eth)),
        (LinkType::Ethernet, cat(&vlan)),
        (LinkType::LinuxSll, cat(&sll)),
        (LinkType::LinuxSll2, cat(&sll2)),
        (LinkType::Null, cat(&null)),
        (LinkType::Raw, d.to_vec()),
        (if v6 { LinkType::Ipv6 } else { LinkType::Ipv4 }, d.to_vec()),
    ]
}

/// Valid frames to mutate: generated traffic, frames of a few shared captures, and
/// hand-made datagrams (fragments, extension headers, GRE, SCTP) in every link layer.
fn corpus() -> &'static [(LinkType, Vec<u8>)] {
    static CORPUS: OnceLock<Vec<(LinkType, Vec<u8>)>> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let mut c: Vec<(LinkType, Vec<u8>)> = Generator::new(GenConfig {
            seed: 7,
            tcp_flows: 4,
            udp_flows: 3,
            icmp_flows: 3,
            data_packets: 2,
            payload_len: 24,
            ipv6_share: 0.5,
            ..GenConfig::default()
        })
        .map(|f| (LinkType::Ethernet, f.data))
        .collect();
        for rel in [
            "tcpdump/LINKTYPE_RAW_ipv4.pcap",
            "tcpdump/LINKTYPE_RAW_ipv6.pcap",
            "tcpdump/LINKTYPE_IPV4.pcap",
            "tcpdump/tcp-handshake-nano.pcap",
            "tcpdump/pptp.pcap",
            "tcpdump/tcp_rst_data.pcap",
            "zeek/icmp/icmp-destunreach-udp.pcap",
            "zeek/icmp/icmp6-destunreach-ip6ext-udp.pcap",
            "nDPI/doq.pcapng",
            "nDPI/tcp_scan.pcapng",
        ] {
            c.extend(
                read_capture(&pcaps_dir().join(rel))
                    .into_iter()
                    .take(12)
                    .map(|(m, d)| (m.link, d)),
            );
        }
        let udp = [0x30, 0x39, 0, 53, 0, 12, 0, 0, b'q', b'u', b'r', b'y'];
        let tcp = [
            0x30, 0x39, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0,
        ];
        let gre0 = [0x20, 0, 0x08, 0, 0, 0, 0, 42, 0x45, 0];
        let gre1 = [0x30, 0x81, 0x88, 0x0b, 0, 4, 0, 1, 0, 0, 0, 5, 0, 0, 0, 3];
        let sctp = [0x13, 0x88, 0x8e, 0x3c, 1, 2, 3, 4, 0, 0, 0, 0, 1, 0, 0, 4];
        let icmp = [8, 0, 0, 0, 0, 1, 0, 1, b'p', b'i', b'n', b'g'];
        let icmp6 = [128, 0, 0, 0, 0, 1, 0, 1, b'p', b'i', b'n', b'g'];
        // IPv6 hop-by-hop, then a first fragment header, then UDP.
        let mut ext = vec![44, 0, 1, 4, 0, 0, 0, 0, 17, 0, 0, 1, 0, 0, 0, 9];
        ext.extend_from_slice(&udp);
        // IPv6 later fragment (offset 8).
        let mut later6 = vec![17, 0, 0, 8, 0, 0, 0, 9];
        later6.extend_from_slice(b"fragment");
        let mut dgrams = vec![
            datagram(false, 17, &udp),
            datagram(false, 6, &tcp),
            datagram(false, 47, &gre0),
            datagram(false, 47, &gre1),
            datagram(false, 132, &sctp),
            datagram(false, 1, &icmp),
            datagram(true, 58, &icmp6),
            datagram(true, 0, &ext),
            datagram(true, 44, &later6),
            datagram(true, 6, &tcp),
        ];
        // IPv4 later fragment, and an IPv4 header with options.
        let mut frag4 = datagram(false, 17, b"later fragment..");
        frag4[6..8].copy_from_slice(&[0x00, 0x02]);
        dgrams.push(frag4);
        let mut opts4 = datagram(false, 17, &udp);
        opts4[0] = 0x46;
        opts4.splice(20..20, [1, 1, 1, 0]);
        let total = opts4.len() as u16;
        opts4[2..4].copy_from_slice(&total.to_be_bytes());
        dgrams.push(opts4);
        for d in &dgrams {
            c.extend(framed(d));
        }
        // Non-IP: ARP.
        let mut arp = vec![0xff; 6];
        arp.extend_from_slice(&[2, 0, 0, 0, 0, 1, 0x08, 0x06]);
        arp.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]);
        arp.extend_from_slice(&[0; 20]);
        c.push((LinkType::Ethernet, arp));
        for (link, f) in &c {
            assert!(
                matches!(parse_frame(*link, f), Ok(_) | Err(ParseError::NotIp { .. })),
                "corpus frame of {link} does not parse: {:?}",
                parse_frame(*link, f)
            );
        }
        c
    })
}

/// One change to a frame.
#[derive(Clone, Debug)]
enum Mutation {
    /// XOR a byte (position taken modulo the length).
    Flip(usize, u8),
    /// Set a byte.
    Set(usize, u8),
    /// Keep only the first `n` bytes (taken modulo the length + 1).
    Truncate(usize),
    /// Append bytes.
    Extend(Vec<u8>),
    /// Insert bytes.
    Insert(usize, Vec<u8>),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<usize>(), 1..=255u8).prop_map(|(i, x)| Mutation::Flip(i, x)),
        2 => (any::<usize>(), prop_oneof![Just(0u8), Just(0xff), any::<u8>()])
            .prop_map(|(i, v)| Mutation::Set(i, v)),
        2 => any::<usize>().prop_map(Mutation::Truncate),
        1 => proptest::collection::vec(any::<u8>(), 1..40).prop_map(Mutation::Extend),
        1 => (any::<usize>(), proptest::collection::vec(any::<u8>(), 1..12))
            .prop_map(|(i, b)| Mutation::Insert(i, b)),
    ]
}

fn mutate(mut f: Vec<u8>, ms: &[Mutation]) -> Vec<u8> {
    for m in ms {
        match m {
            Mutation::Flip(i, x) if !f.is_empty() => {
                let n = f.len();
                f[i % n] ^= x;
            }
            Mutation::Set(i, v) if !f.is_empty() => {
                let n = f.len();
                f[i % n] = *v;
            }
            Mutation::Truncate(n) => {
                let keep = n % (f.len() + 1);
                f.truncate(keep);
            }
            Mutation::Extend(b) => f.extend_from_slice(b),
            Mutation::Insert(i, b) => {
                let at = i % (f.len() + 1);
                f.splice(at..at, b.iter().copied());
            }
            _ => {}
        }
    }
    f
}

// ---------------------------------------------------------------------------------
// The pipeline under test.

/// Reads every accessor of the view and checks they stay inside the frame; returns a
/// byte to choose a verdict with.
fn inspect(p: &PacketView) -> u8 {
    let frame = p.frame();
    assert_eq!(frame.len(), p.frame_len() as usize);
    let (l3, l4, payload) = (p.l3(), p.l4(), p.payload());
    assert!(l3.len() <= frame.len() && l4.len() <= l3.len() && payload.len() <= l4.len());
    if p.has_l4() {
        assert!(p.l3_off <= p.l4_off && p.l4_off <= p.payload_off, "{p:?}");
    }
    let (src, dst) = p.addrs().expect("a parsed packet has both addresses");
    let alen = if p.family == brickwall_hooks::Family::Ipv6 as u8 {
        16
    } else {
        4
    };
    assert_eq!((src.len(), dst.len()), (alen, alen));
    if let Some((sp, dp)) = p.ports() {
        assert_eq!([sp.to_be_bytes(), dp.to_be_bytes()].concat(), l4[..4]);
    }
    assert!(p.hook().is_some() && p.family().is_some());
    let _ = p.ctinfo();
    payload
        .first()
        .or(l4.last())
        .or(l3.last())
        .copied()
        .unwrap_or(0)
        ^ src[alen - 1]
        ^ dst[0]
}

/// What callback `k` at `hook` returns, chosen by a byte of the packet. REPEAT
/// counts re-entries in the packet mark and accepts after two; one choice replaces the
/// datagram by a truncated copy of itself (which must parse to be taken).
fn decide(hook: Hook, k: u8, p: &mut PacketView) -> Verdict {
    let b = inspect(p)
        .wrapping_add(hook as u8 * 37)
        .wrapping_add(k.wrapping_mul(101));
    match b % 16 {
        0..=8 => Verdict::Accept,
        9 | 10 => Verdict::Drop(u32::from(b >> 4) % 3),
        11 => Verdict::Stolen,
        12 | 13 => {
            if p.mark >= 2 {
                p.mark = 0;
                Verdict::Accept
            } else {
                p.mark += 1;
                Verdict::Repeat
            }
        }
        14 => {
            let mut d = p.l3().to_vec();
            d.truncate(d.len().saturating_sub(usize::from(b >> 5)));
            let _ = p.replace_datagram(&d);
            inspect(p);
            Verdict::Accept
        }
        _ => {
            p.annotate("fuzz", "seen");
            Verdict::Repeat
        }
    }
}

/// Totals the test keeps itself, to check the pipeline's counters against.
#[derive(Default, Debug)]
struct Tally {
    fed: u64,
    parse_errors: BTreeMap<&'static str, u64>,
    captured: u64,
    local: u64,
    outcomes: BTreeMap<&'static str, u64>,
}

struct Harness {
    engine: Engine,
    table: Arc<HookTable>,
    pipeline: RefCell<Pipeline>,
    reused: RefCell<Packet>,
    tally: RefCell<Tally>,
}

impl Harness {
    fn new() -> Harness {
        let e = engine("local_addresses: [10.1.0.1, \"fd01::1\"]\nrepeat_limit: 4\n");
        let r = e.registry();
        for hook in Hook::ALL {
            for (k, prio) in [-200, 0, 300].into_iter().enumerate() {
                r.register_fn_with(
                    &format!("fuzz-{}-{k}", hook.name()),
                    brickwall_hooks::FailurePolicy::FailClosed,
                    &["a", "b"],
                    hook,
                    FamilySel::Inet,
                    prio,
                    move |p| decide(hook, k as u8, p),
                );
            }
        }
        let table = r.snapshot();
        let pipeline = RefCell::new(e.pipeline());
        Harness {
            engine: e,
            table,
            pipeline,
            reused: RefCell::new(Packet::default()),
            tally: RefCell::new(Tally::default()),
        }
    }

    /// One frame: parsed fresh and into a reused packet (both must agree), then, if it
    /// parsed, through the pipeline.
    fn feed(&self, link: LinkType, frame: &[u8], local: bool) -> Result<(), TestCaseError> {
        let (mut fresh, r1) = Packet::from_frame(link, frame, 42);
        let mut reused = self.reused.borrow_mut();
        let r2 = reused.reset(link, frame, 42);
        prop_assert_eq!(&r1, &r2);
        prop_assert_eq!(r1.clone(), parse_frame(link, frame).map(|_| ()));
        prop_assert_eq!(fresh.bytes(), frame);
        prop_assert_eq!(reused.bytes(), frame);
        let v = (&fresh.view, &reused.view);
        prop_assert_eq!(
            (v.0.l3_off, v.0.l3_len, v.0.l4_off, v.0.payload_off),
            (v.1.l3_off, v.1.l3_len, v.1.l4_off, v.1.payload_off)
        );
        prop_assert_eq!(
            (v.0.flags, v.0.family, v.0.l4proto),
            (v.1.flags, v.1.family, v.1.l4proto)
        );
        let mut tally = self.tally.borrow_mut();
        tally.fed += 1;
        if let Err(e) = r1 {
            let reason = e.reason();
            prop_assert!([
                "frame-too-long",
                "truncated-l2",
                "truncated-l3",
                "not-ip",
                "bad-ip-version",
                "bad-ipv4-header",
                "bad-ipv6-header",
                "unsupported-link",
            ]
            .contains(&reason));
            *tally.parse_errors.entry(reason).or_default() += 1;
            return Ok(());
        }
        inspect(&fresh.view);
        if frame.len().is_multiple_of(3) {
            fresh.view.flags |= flags::REPORTING;
        }
        let mut pl = self.pipeline.borrow_mut();
        let before = pl.counters.clone();
        let outcome = if local {
            tally.local += 1;
            pl.process_local(&self.table, &mut fresh)
        } else {
            tally.captured += 1;
            pl.process_captured(&self.table, &mut fresh)
        };
        let c = &pl.counters;
        prop_assert!(
            c.panics.is_empty(),
            "a callback's check failed: {:?}",
            c.panics
        );
        let delta = |a: u64, b: u64| a - b;
        let moved = [
            delta(c.forwarded, before.forwarded),
            delta(c.delivered, before.delivered),
            delta(c.dropped, before.dropped),
            delta(c.stolen, before.stolen),
        ];
        let path: Vec<Hook> = fresh.path().collect();
        let name = match outcome {
            Outcome::Forwarded => {
                prop_assert_eq!(moved, [1, 0, 0, 0]);
                prop_assert_eq!(path.last(), Some(&Hook::PostRouting));
                "forwarded"
            }
            Outcome::Delivered => {
                prop_assert_eq!(moved, [0, 1, 0, 0]);
                prop_assert_eq!(&path, &[Hook::PreRouting, Hook::LocalIn]);
                "delivered"
            }
            Outcome::Dropped(DropReason::Id(id)) => {
                prop_assert_eq!(moved, [0, 0, 1, 0]);
                prop_assert!(self.engine.registry().reason_name(id).is_some());
                "dropped"
            }
            Outcome::Dropped(DropReason::Parse(r)) => {
                return Err(TestCaseError::fail(format!(
                    "parse drop {r} in the pipeline"
                )))
            }
            Outcome::Stolen => {
                prop_assert_eq!(moved, [0, 0, 0, 1]);
                "stolen"
            }
            Outcome::Queued => return Err(TestCaseError::fail("queued without a queue verdict")),
        };
        *tally.outcomes.entry(name).or_default() += 1;
        // The path is a prefix of one of the three routes.
        let routes: [&[Hook]; 3] = [
            &[Hook::PreRouting, Hook::LocalIn],
            &[Hook::PreRouting, Hook::Forward, Hook::PostRouting],
            &[Hook::LocalOut, Hook::PostRouting],
        ];
        prop_assert!(
            !path.is_empty() && routes.iter().any(|r| r.starts_with(&path)),
            "path {:?}",
            path
        );
        if local {
            prop_assert_eq!(path[0], Hook::LocalOut);
        }
        Ok(())
    }

    /// The pipeline's counters against the test's own tally.
    fn check_totals(&self) {
        let pl = self.pipeline.borrow();
        let c = &pl.counters;
        let t = self.tally.borrow();
        let processed = t.captured + t.local;
        assert_eq!(
            t.fed,
            processed + t.parse_errors.values().sum::<u64>(),
            "every frame fed is a parse error or processed"
        );
        assert_eq!(c.received, t.captured, "{t:?}");
        assert_eq!(c.injected, t.local, "{t:?}");
        assert_eq!(
            c.forwarded + c.delivered + c.dropped + c.stolen,
            processed,
            "{c:?}"
        );
        let o = |k| t.outcomes.get(k).copied().unwrap_or(0);
        assert_eq!(
            (c.forwarded, c.delivered, c.dropped, c.stolen),
            (o("forwarded"), o("delivered"), o("dropped"), o("stolen"))
        );
        assert_eq!(c.queued + c.reinjected + c.non_ip, 0);
        assert_eq!(c.drops_by_reason.iter().sum::<u64>(), c.dropped);
        for h in Hook::ALL {
            let k = c.hooks[h as usize];
            assert_eq!(
                k.entered,
                k.accepted + k.dropped + k.stolen + k.queued,
                "{h:?}: {k:?}"
            );
        }
        assert_eq!(
            c.hooks.iter().map(|k| k.dropped).sum::<u64>(),
            c.dropped,
            "every drop happened at a hook"
        );
        assert_eq!(c.hooks.iter().map(|k| k.stolen).sum::<u64>(), c.stolen);
        eprintln!(
            "processed {processed} ({} local), parse errors {:?}, outcomes {:?}, repeats {}",
            t.local,
            t.parse_errors,
            t.outcomes,
            c.hooks.iter().map(|k| k.repeated).sum::<u64>()
        );
    }
}

fn link_type() -> impl Strategy<Value = LinkType> {
    proptest::sample::select(LINKS.to_vec())
}

#[test]
fn random_bytes_of_every_link_type() {
    let h = Harness::new();
    let strategy = (
        link_type(),
        proptest::collection::vec(any::<u8>(), 0..200),
        any::<bool>(),
    );
    runner(10_000)
        .run(&strategy, |(link, bytes, local)| {
            h.feed(link, &bytes, local)
        })
        .unwrap();
    h.check_totals();
    let t = h.tally.borrow();
    assert!(t.parse_errors.values().sum::<u64>() > 0);
}

#[test]
fn random_bytes_behind_valid_link_headers() {
    // Random bytes behind each link layer's header for IPv4 and IPv6, so that the IP
    // parsers see them rather than the link layer refusing them.
    let h = Harness::new();
    let heads: Vec<(LinkType, Vec<u8>)> = [vec![0x45u8], vec![0x60]]
        .iter()
        .flat_map(|first| {
            framed(first)
                .into_iter()
                .map(|(l, mut f)| {
                    f.pop();
                    (l, f)
                })
                .collect::<Vec<_>>()
        })
        .collect();
    let strategy = (
        proptest::sample::select(heads),
        prop_oneof![
            Just(0x45u8),
            Just(0x46),
            Just(0x4f),
            Just(0x60),
            any::<u8>()
        ],
        proptest::collection::vec(any::<u8>(), 0..120),
        any::<bool>(),
    );
    runner(8000)
        .run(&strategy, |((link, head), first, tail, local)| {
            let frame = [head.as_slice(), &[first], &tail].concat();
            h.feed(link, &frame, local)
        })
        .unwrap();
    h.check_totals();
    let t = h.tally.borrow();
    assert!(t.captured + t.local > 100, "{t:?}");
}

#[test]
fn mutated_real_frames() {
    let h = Harness::new();
    let c = corpus();
    assert!(c.len() > 150, "corpus of {}", c.len());
    let strategy = (
        any::<proptest::sample::Index>(),
        proptest::collection::vec(mutation(), 0..6),
        any::<bool>(),
    );
    runner(15_000)
        .run(&strategy, |(i, ms, local)| {
            let (link, frame) = &c[i.index(c.len())];
            h.feed(*link, &mutate(frame.clone(), &ms), local)
        })
        .unwrap();
    // Every corpus frame unmodified, too.
    for (link, frame) in c {
        h.feed(*link, frame, false).unwrap();
    }
    h.check_totals();
    let t = h.tally.borrow();
    for k in ["forwarded", "delivered", "dropped", "stolen"] {
        assert!(t.outcomes.get(k).copied().unwrap_or(0) > 0, "no {k}: {t:?}");
    }
}

#[test]
fn oversized_frames_are_refused() {
    let h = Harness::new();
    let mut big = corpus()[0].1.clone();
    big.resize(70_000, 0xab);
    h.feed(LinkType::Ethernet, &big, false).unwrap();
    assert_eq!(
        h.tally.borrow().parse_errors.get("frame-too-long"),
        Some(&1)
    );
}

// ---------------------------------------------------------------------------------
// Capture files.

/// Most a reader may allocate at once for an input of a few kilobytes: its 64 KiB
/// buffer and some slack, nowhere near a record length read from the file.
const ALLOC_LIMIT: usize = 1 << 20;

/// Reads a capture from memory to its end or first error; returns the frames read and
/// the error, if any. Checks each frame's metadata against its bytes.
fn read_all(bytes: Vec<u8>) -> Result<(usize, Option<CaptureError>), TestCaseError> {
    let ((frames, err), largest) = largest_allocation(|| {
        let mut r = match CaptureReader::from_reader(Box::new(std::io::Cursor::new(bytes))) {
            Ok(r) => r,
            Err(e) => return (Vec::new(), Some(e)),
        };
        let _ = (r.format(), r.link_type());
        let mut buf = Vec::new();
        let mut metas = Vec::new();
        // A file of a few KB holds at most a few hundred records (pcapng simple blocks
        // are 16 bytes); the cap guards against a reader that never ends.
        for _ in 0..10_000 {
            match r.next_frame(&mut buf) {
                Ok(Some(m)) => metas.push((m, buf.len())),
                Ok(None) => return (metas, None),
                Err(e) => return (metas, Some(e)),
            }
        }
        panic!("reader did not end");
    });
    prop_assert!(
        largest <= ALLOC_LIMIT,
        "allocated {} bytes at once",
        largest
    );
    for (m, len) in &frames {
        prop_assert_eq!(m.caplen as usize, *len);
    }
    Ok((frames.len(), err))
}

/// Headers random files start with, so that the readers get past the magic.
fn file_head() -> impl Strategy<Value = Vec<u8>> {
    let classic = |magic: [u8; 4], big: bool| {
        let mut h = magic.to_vec();
        let num = |v: u32| {
            if big {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        h.extend_from_slice(&[0, 2, 0, 4]);
        h.extend_from_slice(&[0; 8]);
        h.extend_from_slice(&num(65535));
        h.extend_from_slice(&num(1));
        h
    };
    let shb_le = {
        let mut h = vec![0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a];
        h.extend_from_slice(&[1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
        h.extend_from_slice(&[28, 0, 0, 0]);
        // An interface description (Ethernet, ns timestamps) follows.
        h.extend_from_slice(&[1, 0, 0, 0, 28, 0, 0, 0, 1, 0, 0, 0, 0, 0, 4, 0]);
        h.extend_from_slice(&[9, 0, 1, 0, 9, 0, 0, 0, 28, 0, 0, 0]);
        h
    };
    prop_oneof![
        Just(Vec::new()),
        Just(classic([0xd4, 0xc3, 0xb2, 0xa1], false)),
        Just(classic([0x4d, 0x3c, 0xb2, 0xa1], false)),
        Just(classic([0xa1, 0xb2, 0xc3, 0xd4], true)),
        Just(classic([0xa1, 0xb2, 0x3c, 0x4d], true)),
        Just(shb_le),
        Just(vec![0x0a, 0x0d, 0x0d, 0x0a]),
    ]
}

/// Record or block headers with chosen lengths, then data.
fn records() -> impl Strategy<Value = Vec<u8>> {
    let len = prop_oneof![
        0..80u32,
        Just(u32::MAX),
        Just(0x1000_0000),
        Just(0x1000_0001),
        Just(0x7fff_fff0),
        any::<u32>()
    ];
    proptest::collection::vec(
        (
            prop_oneof![Just(6u32), Just(3), Just(2), Just(1), any::<u32>()],
            len,
            proptest::collection::vec(any::<u8>(), 0..64),
        ),
        0..6,
    )
    .prop_map(|recs| {
        let mut out = Vec::new();
        for (kind, len, data) in recs {
            // Read as a classic record: ts_sec, ts_frac, caplen, orig_len; as a pcapng
            // block: type, total length, then the body.
            out.extend_from_slice(&kind.to_le_bytes());
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(&data);
        }
        out
    })
}

#[test]
fn random_capture_files_give_errors_not_panics() {
    let strategy = (
        file_head(),
        prop_oneof![proptest::collection::vec(any::<u8>(), 0..400), records(),],
    );
    let errors = Cell::new(0u32);
    runner(8000)
        .run(&strategy, |(head, body)| {
            let bytes = [head, body].concat();
            let (_, err) = read_all(bytes)?;
            errors.set(errors.get() + u32::from(err.is_some()));
            Ok(())
        })
        .unwrap();
    assert!(errors.get() > 1000, "{} errors", errors.get());
}

#[test]
fn mutated_capture_files_give_errors_not_panics() {
    let files: Vec<Vec<u8>> = [
        "tcpdump/dns_tcp.pcap",
        "tcpdump/tcp-handshake-nano.pcap",
        "tcpdump/LINKTYPE_RAW_ipv6.pcap",
        "nDPI/doq.pcapng",
        "zeek/tcp/fin_retransmission.pcap",
    ]
    .iter()
    .map(|rel| std::fs::read(pcaps_dir().join(rel)).unwrap())
    .collect();
    // Unchanged, every file reads to its end.
    for f in &files {
        let (n, err) = read_all(f.clone()).unwrap();
        assert!(n > 0 && err.is_none(), "{n} {err:?}");
    }
    let strategy = (
        any::<proptest::sample::Index>(),
        proptest::collection::vec(mutation(), 1..6),
        // Mutations land in the first 64 bytes (file and first record headers) half of
        // the time, anywhere otherwise.
        any::<bool>(),
    );
    runner(8000)
        .run(&strategy, |(i, ms, head)| {
            let f = &files[i.index(files.len())];
            let ms: Vec<Mutation> = if head {
                ms.into_iter()
                    .map(|m| match m {
                        Mutation::Flip(p, x) => Mutation::Flip(p % 64, x),
                        Mutation::Set(p, v) => Mutation::Set(p % 64, v),
                        other => other,
                    })
                    .collect()
            } else {
                ms
            };
            read_all(mutate(f.clone(), &ms)).map(|_| ())
        })
        .unwrap();
}

// ---------------------------------------------------------------------------------
// Whole replays of mutated frames of mixed link types.

#[test]
fn replays_of_mutated_mixed_frames_account_for_every_frame() {
    let c = corpus();
    let frame = (
        any::<proptest::sample::Index>(),
        proptest::collection::vec(mutation(), 0..3),
    )
        .prop_map(move |(i, ms)| {
            let (link, f) = &c[i.index(c.len())];
            (*link, mutate(f.clone(), &ms))
        });
    let strategy = (proptest::collection::vec(frame, 1..40), 1..8usize);
    runner(
        std::env::var("FUZZ_REPLAYS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(300),
    )
    .run(&strategy, |(frames, batch)| {
        let h = Harness::new();
        let out = common::TempFile::new("fuzz-out.pcap");
        let report = common::SharedBuf::default();
        let opts = brickwall_core::replay::ReplayOptions {
            report: Some(Box::new(report.clone())),
            output: Some(out.0.clone()),
            batch,
            ..Default::default()
        };
        let n = frames.len();
        let mut src = common::vec_source(frames.clone());
        let s = brickwall_core::replay::replay(&h.engine, &mut src, opts)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let lines = common::report_lines(&report.contents());
        prop_assert_eq!(s.frames, n as u64);
        prop_assert_eq!(lines.len(), n);
        let c = &s.counters;
        prop_assert!(
            c.panics.is_empty(),
            "a callback's check failed: {:?}",
            c.panics
        );
        prop_assert_eq!(c.received, n as u64);
        prop_assert_eq!(
            c.forwarded + c.delivered + c.dropped + c.stolen + c.non_ip,
            c.received + c.injected
        );
        let mut accepted = 0u64;
        for (i, (l, (link, f))) in lines.iter().zip(&frames).enumerate() {
            prop_assert_eq!(l.index, i as u64);
            match parse_frame(*link, f) {
                Ok(_) => prop_assert!(!l.hooks.is_empty()),
                Err(ParseError::NotIp { .. }) => {
                    prop_assert!(l.hooks.is_empty() && l.verdict == "accept")
                }
                Err(e) => {
                    prop_assert!(l.hooks.is_empty() && l.verdict == "drop");
                    prop_assert_eq!(l.reason.as_deref(), Some(e.reason()));
                }
            }
            accepted += u64::from(l.verdict == "accept");
        }
        prop_assert_eq!(accepted, c.forwarded + c.delivered + c.non_ip);
        // The output holds every accepted packet (or counts it as skipped), and
        // every frame in it is either an IP packet or a copy of a non-IP input frame.
        let written = if out.0.exists() {
            read_capture(&out.0)
        } else {
            Vec::new()
        };
        prop_assert_eq!(written.len() as u64 + s.output_skipped, accepted);
        for (m, d) in &written {
            match parse_frame(m.link, d) {
                Ok(_) => {}
                Err(ParseError::NotIp { .. }) => prop_assert!(
                    frames.iter().any(|(l, f)| *l == m.link && f == d),
                    "non-IP output frame not in the input: {:02x?}",
                    d
                ),
                Err(e) => prop_assert!(
                    false,
                    "output frame of {} does not parse ({}): {:02x?}",
                    m.link,
                    e,
                    d
                ),
            }
        }
        Ok(())
    })
    .unwrap();
}
