//! Plugin services: a plugin imports conntrack's service and reads the connection each
//! packet carries, binds a NAT reply tuple before confirmation (the reply then comes
//! back from the translated address), asks whether a tuple is taken, creates an
//! expectation, receives events and walks the table; an import that no plugin exports, or of an
//! incompatible version, or not declared, is refused with an error naming both.

mod common;

use brickwall_core::engine::Engine;
use brickwall_core::plugin::PluginSource;
use brickwall_hooks::services::conntrack::{
    self as ct, Conntrack, CtConn, CtExpectSpec, CtTuple, FAMILY_V4,
};
use brickwall_hooks::services::{ServiceImport, ServiceVersion};
use brickwall_hooks::{CtInfo, FamilySel, Hook, HookSpec, Host, PacketView, Plugin, PluginInfo};
use brickwall_hooks::{FailurePolicy, Verdict};
use common::{engine, packet, udp4};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::time::Duration;

const CONNTRACK_ONLY: &str = "plugins:\n  - builtin: conntrack\n    config: {accounting: true}\n";

thread_local! {
    /// What the probe saw of each packet at PREROUTING, after conntrack-in (packets
    /// are processed on the test's own thread).
    static SEEN: RefCell<Vec<(CtInfo, Option<CtConn>)>> = const { RefCell::new(Vec::new()) };
    /// The service handle the latest probe loaded on this thread took at init.
    static HANDLE: Cell<Option<Conntrack>> = const { Cell::new(None) };
}

/// Imports conntrack; records each packet's connection; binds the reply of new UDP
/// connections to port 80 to 10.0.0.99:8080, as a DNAT would.
mod probe {
    use super::*;

    pub struct Probe {
        pub ct: Conntrack,
    }

    impl Plugin for Probe {
        const INFO: PluginInfo = PluginInfo {
            name: "probe",
            version: "0",
            failure_policy: FailurePolicy::FailOpen,
            hooks: &[HookSpec {
                hook: Hook::PreRouting,
                family: FamilySel::Inet,
                priority: brickwall_hooks::priority::NAT_DST,
                op: 0,
                name: "probe",
            }],
            drop_reasons: &[],
        };
        const IMPORTS: &'static [ServiceImport] = &[ct::IMPORT];

        fn init(_: &str, host: Host) -> Result<Self, String> {
            let ct = Conntrack::import(&host)?;
            HANDLE.with(|h| h.set(Some(ct)));
            Ok(Probe { ct })
        }

        fn on_packet(&self, _: u32, pkt: &mut PacketView) -> Verdict {
            let conn = self.ct.conn_of(pkt);
            if let Some(c) = &conn {
                if c.orig.dst_id == 80 && c.flags & ct::conn_flags::CONFIRMED == 0 {
                    let mut reply = c.reply;
                    reply.src = [10, 0, 0, 99, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
                    reply.src_id = 8080;
                    assert!(!self.ct.tuple_taken(&reply));
                    self.ct.set_nat_reply(pkt.ct, &reply).expect("binds");
                }
            }
            SEEN.with(|s| s.borrow_mut().push((pkt.ctinfo(), conn)));
            Verdict::Accept
        }
    }

    brickwall_hooks::declare_plugin!(Probe);
}

/// Imports conntrack 2.0, which the conntrack plugin does not export.
mod future {
    use super::*;

    pub struct Future;

    impl Plugin for Future {
        const INFO: PluginInfo = PluginInfo {
            name: "future",
            version: "0",
            failure_policy: FailurePolicy::FailOpen,
            hooks: &[],
            drop_reasons: &[],
        };
        const IMPORTS: &'static [ServiceImport] = &[ServiceImport {
            name: ct::NAME,
            version: ServiceVersion::new(2, 0),
        }];

        fn init(_: &str, _: Host) -> Result<Self, String> {
            Ok(Future)
        }

        fn on_packet(&self, _: u32, _: &mut PacketView) -> Verdict {
            Verdict::Accept
        }
    }

    brickwall_hooks::declare_plugin!(Future);
}

/// Takes the conntrack service at init without declaring it.
mod sneaky {
    use super::*;

    pub struct Sneaky;

    impl Plugin for Sneaky {
        const INFO: PluginInfo = PluginInfo {
            name: "sneaky",
            version: "0",
            failure_policy: FailurePolicy::FailOpen,
            hooks: &[],
            drop_reasons: &[],
        };

        fn init(_: &str, host: Host) -> Result<Self, String> {
            Conntrack::import(&host)?;
            Ok(Sneaky)
        }

        fn on_packet(&self, _: u32, _: &mut PacketView) -> Verdict {
            Verdict::Accept
        }
    }

    brickwall_hooks::declare_plugin!(Sneaky);
}

fn load(
    e: &mut Engine,
    d: fn() -> *const brickwall_hooks::abi::PluginDescriptor,
) -> Result<(), String> {
    e.load(&PluginSource::Static(d), "null", &BTreeMap::new(), None)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn v4(a: [u8; 4]) -> [u8; 16] {
    let mut b = [0; 16];
    b[..4].copy_from_slice(&a);
    b
}

#[test]
fn an_importer_reads_connections_and_binds_a_nat_reply() {
    let mut e = engine(CONNTRACK_ONLY);
    load(&mut e, probe::brickwall_descriptor).expect("the probe imports conntrack");
    SEEN.with(|s| s.borrow_mut().clear());
    let mut pl = e.pipeline();
    let t = e.registry().snapshot();
    let client = [10, 0, 0, 1];
    // To port 53: no binding. To port 80: bound to 10.0.0.99:8080.
    for frame in [
        udp4(client, [10, 0, 0, 2], 1000, 53, b"q"),
        udp4([10, 0, 0, 2], client, 53, 1000, b"a"),
        udp4(client, [10, 0, 0, 2], 1001, 80, b"q"),
        // The reply from the translated address and port belongs to the connection.
        udp4([10, 0, 0, 99], client, 8080, 1001, b"a"),
        // One from the address the client named does not: a new connection.
        udp4([10, 0, 0, 2], client, 80, 1001, b"a"),
    ] {
        pl.process(&t, &mut packet(&frame));
    }
    let seen = SEEN.with(|s| s.borrow().clone());
    let infos: Vec<CtInfo> = seen.iter().map(|s| s.0).collect();
    assert_eq!(
        infos,
        [
            CtInfo::New,
            CtInfo::EstablishedReply,
            CtInfo::New,
            CtInfo::EstablishedReply,
            CtInfo::New
        ]
    );
    let first = seen[0].1.expect("the first packet's connection");
    assert_eq!(first.orig.src, v4(client));
    assert_eq!((first.orig.src_id, first.orig.dst_id), (1000, 53));
    assert_eq!((first.reply.src_id, first.reply.dst_id), (53, 1000));
    assert_eq!(first.orig.family, FAMILY_V4);
    assert_eq!(
        first.flags & ct::conn_flags::CONFIRMED,
        0,
        "not yet confirmed"
    );
    let answered = seen[1].1.expect("the reply's connection");
    assert_eq!(answered.id, first.id);
    assert_ne!(answered.status & ct::status::SEEN_REPLY, 0);
    let counters = answered.counters().expect("accounting is on");
    assert_eq!(counters[0].packets, 1, "the query");
    let natted = seen[3].1.expect("the translated reply's connection");
    assert_eq!(natted.id, seen[2].1.unwrap().id);
    assert_eq!(natted.reply.src, v4([10, 0, 0, 99]));
    assert_eq!(natted.reply.src_id, 8080);
    assert_eq!(
        natted.status & (ct::status::SRC_NAT | ct::status::DST_NAT),
        ct::status::DST_NAT
    );
    // The table lists the translated reply tuple, as `conntrack -L` shows a DNAT.
    let list = common::ct_table(&e, 0);
    assert!(
        list.contains(
            "dport=80 packets=1 bytes=29 src=10.0.0.99 dst=10.0.0.1 sport=8080 dport=1001"
        ),
        "{list}"
    );
}

/// An engine with conntrack and the probe, and the probe's service handle.
fn with_probe() -> (Engine, Conntrack) {
    let mut e = engine(CONNTRACK_ONLY);
    load(&mut e, probe::brickwall_descriptor).expect("the probe imports conntrack");
    let ct = HANDLE
        .with(|h| h.get())
        .expect("the probe took the service");
    (e, ct)
}

#[test]
fn a_confirmed_connection_keeps_its_reply_and_tuples_are_known_taken() {
    let (e, ct) = with_probe();
    let mut pl = e.pipeline();
    let t = e.registry().snapshot();
    let frame = udp4([10, 0, 0, 1], [10, 0, 0, 2], 7, 9, b"x");
    pl.process(&t, &mut packet(&frame));
    let mut pkt = packet(&frame);
    pl.process(&t, &mut pkt);
    let c = ct.conn(pkt.view.ct).expect("a confirmed connection");
    assert_ne!(c.flags & ct::conn_flags::CONFIRMED, 0);
    let mut other = c.reply;
    other.src_id = 10;
    assert_eq!(
        ct.set_nat_reply(pkt.view.ct, &other),
        Err(ct::code::CONFIRMED)
    );
    assert!(ct.tuple_taken(&c.orig) && ct.tuple_taken(&c.reply));
    assert!(!ct.tuple_taken(&other));
    assert_eq!(ct.conn(0), None);
    assert_eq!(ct.set_nat_reply(0, &other), Err(ct::code::NOT_FOUND));
}

#[test]
fn expectations_and_events_reach_the_importer() {
    let (e, ct) = with_probe();
    let mut sub = ct
        .subscribe(ct::event::NEW | ct::event::DESTROY, 64)
        .expect("a subscription");
    let mut pl = e.pipeline();
    let t = e.registry().snapshot();
    let mut pkt = packet(&udp4([10, 0, 0, 1], [10, 0, 0, 2], 4000, 69, b"rrq"));
    pl.process(&t, &mut pkt);
    let new = sub.next(Duration::from_secs(1)).expect("a NEW event");
    assert_eq!(new.kind, ct::event::NEW);
    assert_eq!((new.conn.orig.src_id, new.conn.orig.dst_id), (4000, 69));
    assert_eq!(new.conn.id, ct.conn(pkt.view.ct).unwrap().id);

    // An expectation of the connection back from the server's any port, as TFTP's.
    let mut spec = CtExpectSpec {
        tuple: CtTuple {
            src: v4([10, 0, 0, 2]),
            dst: v4([10, 0, 0, 1]),
            src_id: 0,
            dst_id: 4000,
            proto: 17,
            family: FAMILY_V4,
            zone: 0,
        },
        any_src_port: 1,
        timeout_s: 30,
        ..CtExpectSpec::default()
    };
    ct::set_padded(&mut spec.helper, "test");
    let id = ct.expect(pkt.view.ct, &spec).expect("an expectation");
    assert!(id > 0);
    let listed = common::ct_expectations(&e, 0);
    assert!(listed.contains("helper=test"), "{listed}");
    assert_eq!(ct.expect(0, &spec), Err(ct::code::NOT_FOUND));
    // The data connection is RELATED.
    let mut data = packet(&udp4([10, 0, 0, 2], [10, 0, 0, 1], 3445, 4000, b"data"));
    pl.process(&t, &mut data);
    assert_eq!(data.view.ctinfo(), CtInfo::Related);

    // A flush ends both: DESTROY events with the connections' counters.
    e.plugin("conntrack")
        .unwrap()
        .control(br#"{"op":"flush"}"#)
        .unwrap();
    let mut destroyed = Vec::new();
    while let Some(ev) = sub.next(Duration::from_millis(200)) {
        if ev.kind == ct::event::DESTROY {
            destroyed.push(ev);
        }
    }
    assert_eq!(destroyed.len(), 2, "{destroyed:?}");
    let master = destroyed
        .iter()
        .find(|d| d.conn.orig.dst_id == 69)
        .expect("the master's end");
    let k = master.conn.counters().expect("accounting is on");
    assert_eq!((k[0].packets, k[0].bytes), (1, 20 + 8 + 3));
}

#[test]
fn a_missing_service_refuses_the_importer_naming_both() {
    let mut e = engine("plugins: []\n");
    let err = load(&mut e, probe::brickwall_descriptor).unwrap_err();
    assert!(
        err.contains("plugin probe")
            && err.contains("service `conntrack` 1.0")
            && err.contains("which no loaded plugin exports"),
        "{err}"
    );
    assert!(e.plugin("probe").is_none());
}

#[test]
fn an_incompatible_version_refuses_the_importer_naming_both() {
    let mut e = engine(CONNTRACK_ONLY);
    let err = load(&mut e, future::brickwall_descriptor).unwrap_err();
    assert!(
        err.contains("plugin future")
            && err.contains("`conntrack` 2.0")
            && err.contains("plugin conntrack exports version 1.2"),
        "{err}"
    );
}

#[test]
fn an_undeclared_import_is_refused_at_init() {
    let mut e = engine(CONNTRACK_ONLY);
    let err = load(&mut e, sneaky::brickwall_descriptor).unwrap_err();
    assert!(
        err.contains("service `conntrack` 1.0 is not available to plugin sneaky"),
        "{err}"
    );
}

/// Version 1.2: a walk pages through every confirmed connection with its counters and
/// start time, resuming where the last page ended; the table's clock is the latest
/// packet's time; events carry the start time; a full subscription counts its losses.
#[test]
fn the_table_walks_in_pages_and_events_carry_the_start() {
    let mut e = engine(
        "plugins:\n  - builtin: conntrack\n    config: {accounting: true, timestamp: true}\n",
    );
    load(&mut e, probe::brickwall_descriptor).expect("the probe imports conntrack");
    let ct = HANDLE.with(|h| h.get()).expect("the service");
    assert!(ct.has_walk());
    let mut one = ct.subscribe(ct::event::DESTROY, 1).expect("a subscription");
    let mut pl = e.pipeline();
    let t = e.registry().snapshot();
    let mut last_ts = 0;
    for i in 0..5u16 {
        let mut pkt = packet(&udp4([10, 0, 0, 1], [10, 0, 0, 2], 5000 + i, 53, b"q"));
        pkt.view.ts_ns = 1_700_000_000_000_000_000 + i as u64 * 1_000_000;
        last_ts = pkt.view.ts_ns;
        pl.process(&t, &mut pkt);
    }
    assert_eq!(ct.clock_ns(), Some(last_ts));
    let mut page = [CtConn::default(); 2];
    let mut cursor = 0;
    let mut ports = Vec::new();
    let mut pages = 0;
    loop {
        let (n, next) = ct.walk(cursor, &mut page).expect("1.2");
        pages += 1;
        for c in &page[..n] {
            assert_eq!(c.counters().map(|k| k[0].packets), Some(1), "{c:?}");
            assert_ne!(c.flags & ct::conn_flags::START, 0, "{c:?}");
            ports.push(c.orig.src_id);
        }
        match next {
            Some(c) => cursor = c,
            None => break,
        }
    }
    ports.sort();
    assert_eq!(ports, [5000, 5001, 5002, 5003, 5004]);
    assert_eq!(pages, 3, "pages of two");

    e.plugin("conntrack")
        .unwrap()
        .control(br#"{"op":"flush"}"#)
        .unwrap();
    let ev = one.next(Duration::from_secs(1)).expect("a DESTROY");
    assert_ne!(ev.conn.flags & ct::conn_flags::START, 0);
    assert_eq!(
        ev.conn.start_ns,
        1_700_000_000_000_000_000 + (ev.conn.orig.src_id - 5000) as u64 * 1_000_000
    );
    assert_eq!(one.lost(), Some(4), "a queue of one kept one of five");
    assert_eq!(ct.walk(0, &mut page), Some((0, None)), "the table is empty");
}
