//! Bursts through the pipeline (`Pipeline::process_burst`): a plugin that decides bursts
//! and scripts its verdicts by the packet's UDP destination port (drop, repeat, steal,
//! queue, cut the burst) gives every packet the outcome, and the engine the counters,
//! that one packet at a time gives; a cut burst finishes the packets before the cut
//! before the rest go on; a plugin built for ABI 1 is walked one packet at a time.

mod common;

use brickwall_core::engine::Engine;
use brickwall_core::packet::Packet;
use brickwall_core::pipeline::{Ingress, Outcome};
use brickwall_core::plugin::PluginSource;
use brickwall_hooks::abi::PluginDescriptor;
use brickwall_hooks::{
    FailurePolicy, FamilySel, Hook, HookSpec, Host, PacketView, Plugin, PluginInfo, Verdict,
};
use common::{engine, packet, udp4};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// The packet's id: its UDP source port.
fn id(pkt: &PacketView) -> u16 {
    let l4 = pkt.l4();
    u16::from_be_bytes([l4[0], l4[1]])
}

/// Its script: its UDP destination port.
fn script(pkt: &PacketView) -> u16 {
    let l4 = pkt.l4();
    u16::from_be_bytes([l4[2], l4[3]])
}

const DROP: u16 = 1;
const REPEAT: u16 = 2;
const STEAL: u16 = 3;
const CUT: u16 = 4;
const QUEUE: u16 = 5;

/// Every callback's call, in order: (hook, packet id, in a burst call).
static CALLS: Mutex<Vec<(Hook, u16, bool)>> = Mutex::new(Vec::new());

/// Held by each test: they share `CALLS`.
static ONE_TEST: Mutex<()> = Mutex::new(());

/// The scripted plugin, at PREROUTING, FORWARD and POSTROUTING.
struct Scripted;

impl Scripted {
    fn decide(pkt: &mut PacketView, burst: bool) -> Verdict {
        let hook = Hook::from_u8(pkt.hook).expect("a hook");
        CALLS.lock().unwrap().push((hook, id(pkt), burst));
        if hook != Hook::Forward {
            return Verdict::Accept;
        }
        match script(pkt) {
            DROP => Verdict::Drop(0),
            REPEAT if pkt.mark == 0 => {
                pkt.mark = 1;
                Verdict::Repeat
            }
            STEAL => Verdict::Stolen,
            QUEUE => Verdict::Queue {
                num: 9,
                bypass: true,
            },
            _ => Verdict::Accept,
        }
    }
}

impl Plugin for Scripted {
    const INFO: PluginInfo = PluginInfo {
        name: "scripted",
        version: "0",
        failure_policy: FailurePolicy::FailOpen,
        hooks: &[
            HookSpec {
                hook: Hook::PreRouting,
                family: FamilySel::Inet,
                priority: 0,
                op: 0,
                name: "pre",
            },
            HookSpec {
                hook: Hook::Forward,
                family: FamilySel::Inet,
                priority: 0,
                op: 1,
                name: "fwd",
            },
            HookSpec {
                hook: Hook::PostRouting,
                family: FamilySel::Inet,
                priority: 0,
                op: 2,
                name: "post",
            },
        ],
        drop_reasons: &["scripted"],
    };

    const BURSTS: bool = true;

    fn init(_: &str, _: Host) -> Result<Self, String> {
        Ok(Scripted)
    }

    fn on_packet(&self, _: u32, pkt: &mut PacketView) -> Verdict {
        Scripted::decide(pkt, false)
    }

    fn on_burst(&self, _: u32, pkts: &mut [&mut PacketView], verdicts: &mut [Verdict]) -> usize {
        for (i, (pkt, v)) in pkts.iter_mut().zip(verdicts.iter_mut()).enumerate() {
            *v = Scripted::decide(pkt, true);
            if script(pkt) == CUT && pkt.hook == Hook::PreRouting as u8 {
                return i + 1;
            }
        }
        pkts.len()
    }
}

brickwall_hooks::declare_plugin!(Scripted);

/// The scripted plugin's descriptor as a plugin built for ABI 1 would give it (with
/// something where ABI 2's burst function now lies).
fn abi1_descriptor() -> *const PluginDescriptor {
    static CELL: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CELL.get_or_init(|| {
        // SAFETY: the descriptor is a static of this process, read whole.
        let mut d = unsafe { std::ptr::read(brickwall_descriptor()) };
        d.abi_version = 1;
        Box::leak(Box::new(d)) as *const PluginDescriptor as usize
    }) as *const PluginDescriptor
}

fn engine_with(descriptor: fn() -> *const PluginDescriptor) -> Engine {
    let mut e = engine("local_addresses: []\nplugins: []\n");
    e.load(
        &PluginSource::Static(descriptor),
        "null",
        &BTreeMap::new(),
        None,
    )
    .expect("the scripted plugin loads");
    e
}

/// Packets 100, 101, … with the scripts given.
fn packets(scripts: &[u16]) -> Vec<Packet> {
    scripts
        .iter()
        .enumerate()
        .map(|(i, &s)| packet(&udp4([10, 0, 0, 1], [10, 0, 0, 2], 100 + i as u16, s, b"x")))
        .collect()
}

/// Runs the packets through `e` as one burst: outcomes, the counters' debug form, and
/// the calls made.
fn run(e: &Engine, scripts: &[u16]) -> (Vec<Outcome>, String, Vec<(Hook, u16, bool)>) {
    CALLS.lock().unwrap().clear();
    let mut pkts = packets(scripts);
    let mut pl = e.pipeline();
    let table = e.registry().snapshot();
    let mut refs: Vec<&mut Packet> = pkts.iter_mut().collect();
    let mut outcomes = vec![Outcome::Stolen; refs.len()];
    pl.process_burst(&table, &mut refs, Ingress::Received, &mut outcomes);
    let calls = std::mem::take(&mut *CALLS.lock().unwrap());
    (outcomes, format!("{:?}", pl.counters), calls)
}

const SCRIPTS: [u16; 12] = [0, DROP, 0, REPEAT, STEAL, 0, QUEUE, CUT, 0, DROP, REPEAT, 0];

#[test]
fn a_burst_gives_every_packet_its_one_at_a_time_outcome() {
    let _one = ONE_TEST.lock().unwrap_or_else(|e| e.into_inner());
    let e = engine_with(brickwall_descriptor);
    assert!(e.registry().snapshot().walks_bursts());
    let (bursts, bursts_counters, calls) = run(&e, &SCRIPTS);
    // A packet the burst left alone (a lone REPEAT, the packet before a cut) finishes
    // on the one-packet walk; the rest went in burst calls.
    let in_bursts = calls.iter().filter(|c| c.2).count();
    assert!(
        in_bursts > calls.len() / 2,
        "{in_bursts} of {}",
        calls.len()
    );

    let e1 = engine_with(brickwall_descriptor);
    e1.registry()
        .register_fn("single", Hook::LocalIn, FamilySel::Inet, 0, |_| {
            Verdict::Accept
        });
    assert!(!e1.registry().snapshot().walks_bursts());
    let (single, single_counters, calls) = run(&e1, &SCRIPTS);
    assert!(calls.iter().all(|c| !c.2), "one packet at a time");

    assert_eq!(bursts, single);
    assert_eq!(bursts_counters, single_counters);
    let expect: Vec<Outcome> = SCRIPTS
        .iter()
        .map(|&s| match s {
            DROP => "dropped",
            STEAL => "stolen",
            _ => "forwarded",
        })
        .zip(&bursts)
        .map(|(want, got)| {
            let name = match got {
                Outcome::Forwarded => "forwarded",
                Outcome::Dropped(_) => "dropped",
                Outcome::Stolen => "stolen",
                other => panic!("{other:?}"),
            };
            assert_eq!(name, want);
            *got
        })
        .collect();
    assert_eq!(bursts, expect);
    // The two repeated packets ran FORWARD twice; the queue had no listener and was
    // bypassed.
    assert!(bursts_counters.contains("repeated: 2"), "{bursts_counters}");
}

#[test]
fn a_cut_burst_finishes_the_packets_before_the_cut_first() {
    let _one = ONE_TEST.lock().unwrap_or_else(|e| e.into_inner());
    let e = engine_with(brickwall_descriptor);
    let (_, _, calls) = run(&e, &[0, 0, CUT, 0, 0]);
    let order: Vec<(Hook, u16)> = calls.iter().map(|c| (c.0, c.1)).collect();
    use Hook::{Forward as F, PostRouting as P, PreRouting as R};
    assert_eq!(
        order,
        [
            // PREROUTING decides up to the cut packet (102); those three go on.
            (R, 100),
            (R, 101),
            (R, 102),
            (F, 100),
            (F, 101),
            (F, 102),
            (P, 100),
            (P, 101),
            (P, 102),
            // Then the rest, from PREROUTING.
            (R, 103),
            (R, 104),
            (F, 103),
            (F, 104),
            (P, 103),
            (P, 104),
        ]
    );
}

#[test]
fn a_plugin_built_for_abi_1_gets_one_packet_at_a_time() {
    let _one = ONE_TEST.lock().unwrap_or_else(|e| e.into_inner());
    let e = engine_with(abi1_descriptor);
    assert!(!e.registry().snapshot().walks_bursts());
    let (outcomes, _, calls) = run(&e, &[0, 0, DROP]);
    assert!(calls.iter().all(|c| !c.2), "{calls:?}");
    assert!(matches!(outcomes[2], Outcome::Dropped(_)));
    // One packet's whole walk before the next one's.
    let ids: Vec<u16> = calls.iter().map(|c| c.1).collect();
    assert_eq!(ids, [100, 100, 100, 101, 101, 101, 102, 102]);
}
