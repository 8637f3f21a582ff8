//! PPTP behind source NAT, through an engine with conntrack, the bundled PPTP helper
//! and the NAT plugin: PNSes behind a source translation start control connections
//! and outgoing calls to a PAC. The helper replaces each PNS's call id by its control
//! connection's translated port on the way out, and the PAC's echo of it by the PNS's
//! own on the way back (Linux's `nf_nat_pptp`), and expects the call's enhanced GRE as
//! each side sends it (PNS → PAC from the PNS's real address and id, PAC → PNS to the
//! translated address and the new id), translated as its master; NAT writes the
//! PNS's own id back into the PAC's GRE. Whichever side's GRE comes first is RELATED
//! and leaves translated, the other direction's is its reply, translated back; the
//! other expectation goes. Two PNSes that pick the same call id thus keep their GRE
//! apart. Without the helper GRE is NEW, and the PAC's answers to the translated
//! address reach nobody.

mod common;

use brickwall_core::engine::Engine;
use brickwall_core::packet::Packet;
use brickwall_core::pipeline::Outcome;
use brickwall_hooks::CtInfo;
use common::{engine, run_frames, tcp4_segment, verify_datagram};

const PNS: [u8; 4] = [10, 0, 0, 1];
const PNS2: [u8; 4] = [10, 0, 0, 2];
const PNS_PORT: u16 = 40000;
const PAC: [u8; 4] = [198, 51, 100, 2];
const PUBLIC: [u8; 4] = [192, 0, 2, 100];
const PNS_CALL: u16 = 0x1234;
const PAC_CALL: u16 = 0x5678;
const PAC_CALL2: u16 = 0x5679;

const ETH: usize = 14;
const MAGIC: u32 = 0x1A2B_3C4D;

const PPTP: &str = "[{name: pptp, wasm: 'builtin:pptp', ports: [tcp/1723], max_expected: 2}]";
const SNAT: &str = r#"[{hook: postrouting, rules: [{match: {saddr: 10.0.0.0/8}, action: {snat: {to: 192.0.2.100}}}]}]"#;

fn nat_pptp_engine(helper: bool) -> Engine {
    let helpers = if helper { PPTP } else { "[]" };
    engine(&format!(
        "plugins:\n  - builtin: conntrack\n    config:\n      helpers: {helpers}\n  \
         - builtin: nat\n    config:\n      chains: {SNAT}\n"
    ))
}

/// A PPTP control message of type `kind`, `len` bytes in all, its body starting with
/// `fields`.
fn control(kind: u16, len: usize, fields: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(len);
    m.extend_from_slice(&(len as u16).to_be_bytes());
    m.extend_from_slice(&1u16.to_be_bytes());
    m.extend_from_slice(&MAGIC.to_be_bytes());
    m.extend_from_slice(&kind.to_be_bytes());
    m.extend_from_slice(&[0, 0]);
    m.extend_from_slice(fields);
    m.resize(len, 0);
    m
}

/// An Ethernet frame with an IPv4 datagram carrying enhanced GRE (version 1, key and
/// sequence present, PPP) keyed with the receiver's call id `key`.
fn gre(src: [u8; 4], dst: [u8; 4], key: u16, seq: u32) -> Vec<u8> {
    let ppp = [0xff, 0x03, 0x00, 0x21, 0x45];
    let mut g = vec![0x30, 0x01, 0x88, 0x0b];
    g.extend_from_slice(&(ppp.len() as u16).to_be_bytes());
    g.extend_from_slice(&key.to_be_bytes());
    g.extend_from_slice(&seq.to_be_bytes());
    g.extend_from_slice(&ppp);
    let ip = etherparse::Ipv4Header::new(g.len() as u16, 64, etherparse::IpNumber::GRE, src, dst)
        .unwrap();
    let mut out = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
    ip.write(&mut out).unwrap();
    out.extend_from_slice(&g);
    out
}

/// The datagram of a packet as it left the engine (a rewritten one without its link
/// header), its checksums verified.
fn datagram(p: &Packet) -> &[u8] {
    let all = p.bytes();
    let d = if all[0] >> 4 == 4 { all } else { &all[ETH..] };
    verify_datagram(d, true);
    d
}

/// What a TCP segment that left the engine carried.
struct Seg {
    src: [u8; 4],
    dst: [u8; 4],
    sport: u16,
    dport: u16,
    payload: Vec<u8>,
}

fn out_seg(p: &Packet) -> Seg {
    let d = datagram(p);
    assert_eq!(d[9], 6, "TCP");
    let l4 = usize::from(d[0] & 0xf) * 4;
    let t = &d[l4..];
    let at = |i: usize| u16::from_be_bytes([t[i], t[i + 1]]);
    Seg {
        src: d[12..16].try_into().unwrap(),
        dst: d[16..20].try_into().unwrap(),
        sport: at(0),
        dport: at(2),
        payload: t[usize::from(t[12] >> 4) * 4..].to_vec(),
    }
}

/// The 16-bit number at `at` of a control message.
fn field(m: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([m[at], m[at + 1]])
}

/// What a PNS's control connection looked like from the PAC.
struct Control {
    /// The control connection's source port, translated.
    port: u16,
    /// The call id the PAC got in the Outgoing-Call-Request.
    call_id: u16,
}

/// A control connection from `pns` (port 40000, client ISN 1000) to the PAC (ISN 5000)
/// through the engine, up to a connected outgoing call, PNS call id 0x1234 and PAC
/// call id `pac_call`; the PAC answers the translated address and port and echoes the
/// call id it got. The answer reaches the PNS with its own call id.
fn call_up(e: &Engine, pns: [u8; 4], pac_call: u16) -> Control {
    let from_pns = |seq, ack, flags, data: &[u8]| {
        tcp4_segment(pns, PAC, PNS_PORT, 1723, seq, ack, flags, data)
    };
    let syn = run_frames(e, &[from_pns(1000, 0, "S", b"")]);
    assert_eq!(syn[0].1, Outcome::Forwarded);
    let out = out_seg(&syn[0].0);
    assert_eq!(out.src, PUBLIC, "translated");
    let port = out.sport;
    let from_pac =
        |seq, ack, flags, data: &[u8]| tcp4_segment(PAC, PUBLIC, 1723, port, seq, ack, flags, data);
    let sccrq = control(1, 156, &[1, 0, 0, 0]);
    let sccrp = control(2, 156, &[1, 0, 1, 0]);
    let mut ocrq = PNS_CALL.to_be_bytes().to_vec();
    ocrq.extend_from_slice(&[0, 1]);
    let ocrq = control(7, 168, &ocrq);
    let got = run_frames(
        e,
        &[
            from_pac(5000, 1001, "SA", b""),
            from_pns(1001, 5001, "A", b""),
            from_pns(1001, 5001, "A", &sccrq),
            from_pac(5001, 1157, "A", &sccrp),
            from_pns(1157, 5157, "A", &ocrq),
        ],
    );
    assert!(got.iter().all(|(_, o)| *o == Outcome::Forwarded));
    let sent = out_seg(&got[4].0);
    assert_eq!(
        sent.payload.len(),
        ocrq.len(),
        "the request keeps its length"
    );
    let call_id = field(&sent.payload, 12);
    let mut ocrp = pac_call.to_be_bytes().to_vec();
    ocrp.extend_from_slice(&call_id.to_be_bytes());
    ocrp.push(1);
    let ocrp = control(8, 32, &ocrp);
    let got = run_frames(e, &[from_pac(5157, 1325, "A", &ocrp)]);
    assert_eq!(got[0].1, Outcome::Forwarded);
    assert_eq!(got[0].0.ctinfo(), CtInfo::EstablishedReply);
    let back = out_seg(&got[0].0);
    assert_eq!((back.dst, back.dport), (pns, PNS_PORT));
    assert_eq!(
        field(&back.payload, 14),
        PNS_CALL,
        "the PNS gets its own call id back"
    );
    Control { port, call_id }
}

/// [`call_up`] with the helper: the PAC was told the control connection's translated
/// port as the call id.
fn call_up_translated(e: &Engine, pns: [u8; 4], pac_call: u16) -> u16 {
    let c = call_up(e, pns, pac_call);
    assert_eq!(c.call_id, c.port, "the call id the PAC got");
    c.call_id
}

/// What left the engine: addresses and the GRE key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Gre {
    src: [u8; 4],
    dst: [u8; 4],
    key: u16,
}

fn out_gre(p: &Packet) -> Gre {
    let d = datagram(p);
    assert_eq!(d[9], 47, "GRE");
    let g = &d[usize::from(d[0] & 0xf) * 4..];
    Gre {
        src: d[12..16].try_into().unwrap(),
        dst: d[16..20].try_into().unwrap(),
        key: u16::from_be_bytes([g[6], g[7]]),
    }
}

fn states(got: &[(Packet, Outcome)]) -> Vec<CtInfo> {
    got.iter().map(|(p, _)| p.ctinfo()).collect()
}

/// The GRE connections as `conntrack -L` lists them.
fn gre_lines(list: &str) -> Vec<&str> {
    list.lines().filter(|l| l.starts_with("gre ")).collect()
}

/// A GRE connection PNS → PAC of `pns`, its PAC answering the call id `new`.
fn gre_conn(pns: [u8; 4], pac_call: u16, new: u16) -> String {
    let a = |x: [u8; 4]| std::net::Ipv4Addr::from(x).to_string();
    format!(
        "src={} dst={} srckey={PNS_CALL:#x} dstkey={pac_call:#x} \
         src={} dst={} srckey={pac_call:#x} dstkey={new:#x}",
        a(pns),
        a(PAC),
        a(PAC),
        a(PUBLIC)
    )
}

#[test]
fn gre_both_ways_is_related_and_translated_as_its_master_pns_first() {
    let e = nat_pptp_engine(true);
    // The translation keeps the free port 40000, the PAC's key for the PNS's call.
    let new = call_up_translated(&e, PNS, PAC_CALL);
    assert_eq!(new, PNS_PORT);
    let got = run_frames(
        &e,
        &[
            gre(PNS, PAC, PAC_CALL, 0),
            gre(PAC, PUBLIC, new, 0),
            gre(PNS, PAC, PAC_CALL, 1),
            gre(PAC, PUBLIC, new, 1),
        ],
    );
    for (i, (_, outcome)) in got.iter().enumerate() {
        assert_eq!(*outcome, Outcome::Forwarded, "packet {i}");
    }
    assert_eq!(
        states(&got),
        [
            CtInfo::Related,
            CtInfo::EstablishedReply,
            CtInfo::Established,
            CtInfo::EstablishedReply
        ]
    );
    let seen: Vec<Gre> = got.iter().map(|(p, _)| out_gre(p)).collect();
    let to_pac = Gre {
        src: PUBLIC,
        dst: PAC,
        key: PAC_CALL,
    };
    let to_pns = Gre {
        src: PAC,
        dst: PNS,
        key: PNS_CALL,
    };
    assert_eq!(seen, [to_pac, to_pns, to_pac, to_pns]);
    let list = common::ct_table(&e, 0);
    let lines = gre_lines(&list);
    assert!(
        lines.len() == 1 && lines[0].contains(&gre_conn(PNS, PAC_CALL, new)),
        "{list}"
    );
    // The first GRE packet took its expectation and the other direction's.
    let expects = common::ct_expectations(&e, 0);
    assert_eq!(expects, "", "expectations left");
}

#[test]
fn the_pacs_gre_first_is_related_and_reaches_the_pns() {
    let e = nat_pptp_engine(true);
    let new = call_up_translated(&e, PNS, PAC_CALL);
    let expects = common::ct_expectations(&e, 0);
    assert!(
        expects.contains("proto=47 src=10.0.0.1 dst=198.51.100.2 srckey=0x1234 dstkey=0x5678")
            && expects.contains(&format!(
                "proto=47 src=198.51.100.2 dst=192.0.2.100 srckey=0x5678 dstkey={new:#x}"
            )),
        "{expects}"
    );
    let got = run_frames(
        &e,
        &[
            gre(PAC, PUBLIC, new, 0),
            gre(PNS, PAC, PAC_CALL, 0),
            gre(PAC, PUBLIC, new, 1),
        ],
    );
    assert_eq!(
        states(&got),
        [
            CtInfo::Related,
            CtInfo::EstablishedReply,
            CtInfo::Established
        ]
    );
    let seen: Vec<Gre> = got.iter().map(|(p, _)| out_gre(p)).collect();
    let to_pns = Gre {
        src: PAC,
        dst: PNS,
        key: PNS_CALL,
    };
    let to_pac = Gre {
        src: PUBLIC,
        dst: PAC,
        key: PAC_CALL,
    };
    assert_eq!(seen, [to_pns, to_pac, to_pns]);
    let list = common::ct_table(&e, 0);
    let lines = gre_lines(&list);
    assert!(
        lines.len() == 1
            && lines[0].contains(&format!(
                "src=198.51.100.2 dst=192.0.2.100 srckey=0x5678 dstkey={new:#x} \
                 src=10.0.0.1 dst=198.51.100.2 srckey=0x1234 dstkey=0x5678"
            )),
        "{list}"
    );
    assert_eq!(common::ct_expectations(&e, 0), "", "expectations left");
}

/// Two PNSes behind the one translated address, both on port 40000 and both calling
/// the PAC with call id 0x1234: the second control connection is moved to another
/// port, so the PAC knows the calls by two ids, and each call's GRE, whichever side
/// starts it, reaches its own PNS with its own call id both ways.
fn two_pnses_with_one_call_id(pac_first: bool) {
    let e = nat_pptp_engine(true);
    let id1 = call_up_translated(&e, PNS, PAC_CALL);
    let id2 = call_up_translated(&e, PNS2, PAC_CALL2);
    assert_ne!(id1, id2, "the PAC tells the calls apart");
    let pns_side = [gre(PNS, PAC, PAC_CALL, 0), gre(PNS2, PAC, PAC_CALL2, 0)];
    // The second call's GRE first, to show it is not the one the key map met first.
    let pac_side = [gre(PAC, PUBLIC, id2, 0), gre(PAC, PUBLIC, id1, 0)];
    let mut frames: Vec<Vec<u8>> = Vec::new();
    if pac_first {
        frames.extend(pac_side.clone());
        frames.extend(pns_side.clone());
    } else {
        frames.extend(pns_side.clone());
        frames.extend(pac_side.clone());
    }
    frames.extend([gre(PAC, PUBLIC, id1, 1), gre(PAC, PUBLIC, id2, 1)]);
    let got = run_frames(&e, &frames);
    for (i, (_, outcome)) in got.iter().enumerate() {
        assert_eq!(*outcome, Outcome::Forwarded, "packet {i}");
    }
    let seen: Vec<Gre> = got.iter().map(|(p, _)| out_gre(p)).collect();
    let to_pac = |key| Gre {
        src: PUBLIC,
        dst: PAC,
        key,
    };
    let to_pns = |dst| Gre {
        src: PAC,
        dst,
        key: PNS_CALL,
    };
    let (first, second) = (
        [to_pac(PAC_CALL), to_pac(PAC_CALL2)],
        [to_pns(PNS2), to_pns(PNS)],
    );
    let mut want = Vec::new();
    if pac_first {
        want.extend(second);
        want.extend(first);
    } else {
        want.extend(first);
        want.extend(second);
    }
    want.extend([to_pns(PNS), to_pns(PNS2)]);
    assert_eq!(seen, want);
    let st = states(&got);
    assert_eq!(st[..2], [CtInfo::Related, CtInfo::Related]);
    let later = if pac_first {
        [
            CtInfo::EstablishedReply,
            CtInfo::EstablishedReply,
            CtInfo::Established,
            CtInfo::Established,
        ]
    } else {
        [CtInfo::EstablishedReply; 4]
    };
    assert_eq!(st[2..], later);
    // The table holds each call's GRE once, answered on its own new id.
    let list = common::ct_table(&e, 0);
    let lines = gre_lines(&list);
    assert_eq!(lines.len(), 2, "{list}");
    let (c1, c2) = if pac_first {
        (
            gre_conn_from_pac(PNS, PAC_CALL, id1),
            gre_conn_from_pac(PNS2, PAC_CALL2, id2),
        )
    } else {
        (gre_conn(PNS, PAC_CALL, id1), gre_conn(PNS2, PAC_CALL2, id2))
    };
    assert!(
        lines.iter().any(|l| l.contains(&c1)) && lines.iter().any(|l| l.contains(&c2)),
        "want {c1} and {c2} in\n{list}"
    );
    assert_eq!(common::ct_expectations(&e, 0), "", "expectations left");
}

/// A GRE connection PAC → PNS of `pns`, as [`gre_conn`] reversed.
fn gre_conn_from_pac(pns: [u8; 4], pac_call: u16, new: u16) -> String {
    let a = |x: [u8; 4]| std::net::Ipv4Addr::from(x).to_string();
    format!(
        "src={} dst={} srckey={pac_call:#x} dstkey={new:#x} \
         src={} dst={} srckey={PNS_CALL:#x} dstkey={pac_call:#x}",
        a(PAC),
        a(PUBLIC),
        a(pns),
        a(PAC)
    )
}

#[test]
fn two_pnses_behind_one_address_with_one_call_id_keep_their_gre_apart_pns_first() {
    two_pnses_with_one_call_id(false);
}

#[test]
fn two_pnses_behind_one_address_with_one_call_id_keep_their_gre_apart_pac_first() {
    two_pnses_with_one_call_id(true);
}

#[test]
fn without_the_helper_gre_is_new_and_the_pacs_is_not_translated_back() {
    let e = nat_pptp_engine(false);
    let c = call_up(&e, PNS, PAC_CALL);
    assert_eq!(c.call_id, PNS_CALL, "nothing rewrites the call id");
    let got = run_frames(
        &e,
        &[gre(PNS, PAC, PAC_CALL, 0), gre(PAC, PUBLIC, PNS_CALL, 0)],
    );
    // The PNS's GRE is a connection of its own (source translated by the rule, key
    // unknown), the PAC's keyed otherwise: NEW, and left addressed to nobody.
    assert_eq!(states(&got), [CtInfo::New, CtInfo::New]);
    assert_eq!(out_gre(&got[1].0).dst, PUBLIC);
    assert_eq!(common::ct_expectations(&e, 0), "");
}
