//! PPTP behind source NAT, through an engine with conntrack, the bundled PPTP helper
//! and the NAT plugin: a PNS behind a source translation starts a control connection
//! and an outgoing call to a PAC; the helper expects the call's enhanced GRE as each
//! side sends it (PNS → PAC from the PNS's real address, PAC → PNS to the translated
//! one), translated as its master (Linux's `nf_nat_pptp`, without call id rewriting).
//! Whichever side's GRE comes first is RELATED and leaves translated, the other
//! direction's is its reply, translated back; the other expectation goes. Without the
//! helper GRE is NEW, and the PAC's answers to the translated address reach nobody.

mod common;

use brickwall_core::engine::Engine;
use brickwall_core::packet::Packet;
use brickwall_core::pipeline::Outcome;
use brickwall_hooks::CtInfo;
use common::{engine, run_frames, tcp4_segment, verify_datagram};

const PNS: [u8; 4] = [10, 0, 0, 1];
const PAC: [u8; 4] = [198, 51, 100, 2];
const PUBLIC: [u8; 4] = [192, 0, 2, 100];
const PNS_CALL: u16 = 0x1234;
const PAC_CALL: u16 = 0x5678;

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

/// A TCP segment; `flags`: "S" SYN, "SA" SYN/ACK, "A" ACK (PSH with data).
fn seg(src: [u8; 4], dst: [u8; 4], seq: u32, ack: u32, flags: &str, data: &[u8]) -> Vec<u8> {
    let (sport, dport) = if dst == PAC {
        (40000, 1723)
    } else {
        (1723, 40000)
    };
    tcp4_segment(src, dst, sport, dport, seq, ack, flags, data)
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

/// The control connection up to a connected outgoing call (client ISN 1000, server
/// ISN 5000); the PAC answers the address it sees, `to`.
fn call(to: [u8; 4]) -> Vec<Vec<u8>> {
    let sccrq = control(1, 156, &[1, 0, 0, 0]);
    let sccrp = control(2, 156, &[1, 0, 1, 0]);
    let mut ocrq = PNS_CALL.to_be_bytes().to_vec();
    ocrq.extend_from_slice(&[0, 1]);
    let ocrq = control(7, 168, &ocrq);
    let mut ocrp = PAC_CALL.to_be_bytes().to_vec();
    ocrp.extend_from_slice(&PNS_CALL.to_be_bytes());
    ocrp.push(1);
    let ocrp = control(8, 32, &ocrp);
    vec![
        seg(PNS, PAC, 1000, 0, "S", b""),
        seg(PAC, to, 5000, 1001, "SA", b""),
        seg(PNS, PAC, 1001, 5001, "A", b""),
        seg(PNS, PAC, 1001, 5001, "A", &sccrq),
        seg(PAC, to, 5001, 1157, "A", &sccrp),
        seg(PNS, PAC, 1157, 5157, "A", &ocrq),
        seg(PAC, to, 5157, 1325, "A", &ocrp),
    ]
}

/// Frames of `call`.
const CALL: usize = 7;

/// What left the engine: addresses and the GRE key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Gre {
    src: [u8; 4],
    dst: [u8; 4],
    key: u16,
}

fn out_gre(p: &Packet) -> Gre {
    let all = p.bytes();
    // A rewritten datagram leaves without its link header.
    let d = if all[0] >> 4 == 4 { all } else { &all[ETH..] };
    verify_datagram(d, true);
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

/// The GRE connection as `conntrack -L` lists it.
fn gre_line(list: &str) -> Option<&str> {
    list.lines().find(|l| l.starts_with("gre "))
}

const GRE_CONN: &str = "src=10.0.0.1 dst=198.51.100.2 srckey=0x1234 dstkey=0x5678 \
                        src=198.51.100.2 dst=192.0.2.100 srckey=0x5678 dstkey=0x1234";

#[test]
fn gre_both_ways_is_related_and_translated_as_its_master_pns_first() {
    let e = nat_pptp_engine(true);
    let mut frames = call(PUBLIC);
    frames.extend([
        gre(PNS, PAC, PAC_CALL, 0),
        gre(PAC, PUBLIC, PNS_CALL, 0),
        gre(PNS, PAC, PAC_CALL, 1),
        gre(PAC, PUBLIC, PNS_CALL, 1),
    ]);
    let got = run_frames(&e, &frames);
    for (i, (_, outcome)) in got.iter().enumerate() {
        assert_eq!(*outcome, Outcome::Forwarded, "packet {i}");
    }
    // The call came up: both directions' GRE are expected, each as its sender sends it.
    let st = states(&got);
    assert_eq!(st[CALL - 1], CtInfo::EstablishedReply);
    assert_eq!(
        st[CALL..],
        [
            CtInfo::Related,
            CtInfo::EstablishedReply,
            CtInfo::Established,
            CtInfo::EstablishedReply
        ]
    );
    let seen: Vec<Gre> = got[CALL..].iter().map(|(p, _)| out_gre(p)).collect();
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
    let line = gre_line(&list).unwrap_or_else(|| panic!("no GRE connection:\n{list}"));
    assert!(line.contains(GRE_CONN), "{line}");
    // The first GRE packet took its expectation and the other direction's.
    let expects = common::ct_expectations(&e, 0);
    assert_eq!(expects, "", "expectations left");
}

#[test]
fn the_pacs_gre_first_is_related_and_reaches_the_pns() {
    let e = nat_pptp_engine(true);
    let mut before = call(PUBLIC);
    before.truncate(CALL);
    let got = run_frames(&e, &before);
    let expects = common::ct_expectations(&e, 0);
    assert!(
        expects.contains("proto=47 src=10.0.0.1 dst=198.51.100.2 srckey=0x1234 dstkey=0x5678")
            && expects
                .contains("proto=47 src=198.51.100.2 dst=192.0.2.100 srckey=0x5678 dstkey=0x1234"),
        "{expects}"
    );
    assert_eq!(got[CALL - 1].1, Outcome::Forwarded);
    let got = run_frames(
        &e,
        &[
            gre(PAC, PUBLIC, PNS_CALL, 0),
            gre(PNS, PAC, PAC_CALL, 0),
            gre(PAC, PUBLIC, PNS_CALL, 1),
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
    assert_eq!(
        seen,
        [
            Gre {
                src: PAC,
                dst: PNS,
                key: PNS_CALL
            },
            Gre {
                src: PUBLIC,
                dst: PAC,
                key: PAC_CALL
            },
            Gre {
                src: PAC,
                dst: PNS,
                key: PNS_CALL
            },
        ]
    );
    let list = common::ct_table(&e, 0);
    let line = gre_line(&list).unwrap_or_else(|| panic!("no GRE connection:\n{list}"));
    assert!(
        line.contains(
            "src=198.51.100.2 dst=192.0.2.100 srckey=0x5678 dstkey=0x1234 \
             src=10.0.0.1 dst=198.51.100.2 srckey=0x1234 dstkey=0x5678"
        ),
        "{line}"
    );
    assert_eq!(common::ct_expectations(&e, 0), "", "expectations left");
}

#[test]
fn without_the_helper_gre_is_new_and_the_pacs_is_not_translated_back() {
    let e = nat_pptp_engine(false);
    let mut frames = call(PUBLIC);
    frames.extend([gre(PNS, PAC, PAC_CALL, 0), gre(PAC, PUBLIC, PNS_CALL, 0)]);
    let got = run_frames(&e, &frames);
    let st = states(&got);
    assert_eq!(
        st[CALL - 1],
        CtInfo::EstablishedReply,
        "the control connection"
    );
    // The PNS's GRE is a connection of its own (source translated by the rule, key
    // unknown), the PAC's keyed otherwise: NEW, and left addressed to nobody.
    assert_eq!(st[CALL], CtInfo::New);
    assert_eq!(st[CALL + 1], CtInfo::New);
    assert_eq!(out_gre(&got[CALL + 1].0).dst, PUBLIC);
    assert_eq!(common::ct_expectations(&e, 0), "");
}
