//! The NAT plugin through an engine with conntrack: source translation of TCP and UDP
//! flows with their replies translated back, a destination port forward, ports under
//! contention and a range that runs out, null bindings (and the source port they move
//! off a clash), ICMP echo ids, an ICMP error about a translated flow with its quoted
//! datagram translated, DCCP and UDP-Lite ports, NAT66, masquerade and redirect. After every rewrite each
//! checksum is recomputed in full and must hold. Translated connections as `brickwall
//! ct` lists them (their stored reply tuples, `--src-nat`, `--dst-nat`, `--any-nat`)
//! and as their events print them.

mod common;
mod control_common;

use brickwall_core::engine::Engine;
use brickwall_core::packet::Packet;
use brickwall_core::pcap::PcapWriter;
use brickwall_core::pipeline::{DropReason, Outcome};
use brickwall_core::wire::LinkType;
use brickwall_hooks::services::conntrack as ct;
use brickwall_hooks::CtInfo;
use brickwall_wire::checksum::checksum;
use brickwall_wire::ip_proto;
use common::{engine, run_frames, tcp4_segment, verify_datagram, TempDir};
use control_common::{assert_code, stdout};

const CLIENT: [u8; 4] = [10, 0, 0, 1];
const CLIENT2: [u8; 4] = [10, 0, 0, 2];
const SERVER: [u8; 4] = [198, 51, 100, 2];
const PUBLIC: [u8; 4] = [192, 0, 2, 1];

const ETH: usize = 14;

fn eth() -> etherparse::PacketBuilderStep<etherparse::Ethernet2Header> {
    etherparse::PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
}

fn write<B: FnOnce(&mut Vec<u8>)>(b: B) -> Vec<u8> {
    let mut out = Vec::new();
    b(&mut out);
    out
}

fn udp4(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16) -> Vec<u8> {
    write(|o| {
        eth()
            .ipv4(src, dst, 64)
            .udp(sport, dport)
            .write(o, b"data")
            .unwrap()
    })
}

fn tcp4(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16, synack: bool) -> Vec<u8> {
    let b = eth()
        .ipv4(src, dst, 64)
        .tcp(sport, dport, 1000, 64240)
        .syn();
    let b = if synack { b.ack(1001) } else { b };
    write(|o| b.write(o, &[]).unwrap())
}

/// An ICMP host unreachable quoting only the IP header and 8 bytes of `quoted`, as
/// routers do.
fn unreachable4_short(src: [u8; 4], dst: [u8; 4], quoted: &[u8]) -> Vec<u8> {
    let ihl = usize::from(quoted[ETH] & 0xf) * 4;
    let b = eth().ipv4(src, dst, 64).icmpv4_raw(3, 1, [0; 4]);
    write(|o| b.write(o, &quoted[ETH..ETH + ihl + 8]).unwrap())
}

fn echo4(src: [u8; 4], dst: [u8; 4], id: u16, reply: bool) -> Vec<u8> {
    let b = eth().ipv4(src, dst, 64);
    let b = if reply {
        b.icmpv4_echo_reply(id, 1)
    } else {
        b.icmpv4_echo_request(id, 1)
    };
    write(|o| b.write(o, b"ping").unwrap())
}

/// An ICMP port unreachable from `src` to `dst` quoting the whole of `quoted` (a
/// frame: its IP datagram is quoted).
fn unreachable4(src: [u8; 4], dst: [u8; 4], quoted: &[u8]) -> Vec<u8> {
    let b = eth().ipv4(src, dst, 64).icmpv4_raw(3, 3, [0; 4]);
    write(|o| b.write(o, &quoted[ETH..]).unwrap())
}

fn v6(last: u16) -> [u8; 16] {
    let mut a = [0u8; 16];
    a[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
    a[14..].copy_from_slice(&last.to_be_bytes());
    a
}

fn fd(last: u16) -> [u8; 16] {
    let mut a = [0u8; 16];
    a[0] = 0xfd;
    a[14..].copy_from_slice(&last.to_be_bytes());
    a
}

fn tcp6(src: [u8; 16], dst: [u8; 16], sport: u16, dport: u16, synack: bool) -> Vec<u8> {
    let b = eth()
        .ipv6(src, dst, 64)
        .tcp(sport, dport, 1000, 64240)
        .syn();
    let b = if synack { b.ack(1001) } else { b };
    write(|o| b.write(o, &[]).unwrap())
}

fn udp6(src: [u8; 16], dst: [u8; 16], sport: u16, dport: u16) -> Vec<u8> {
    write(|o| {
        eth()
            .ipv6(src, dst, 64)
            .udp(sport, dport)
            .write(o, b"data6")
            .unwrap()
    })
}

fn unreachable6(src: [u8; 16], dst: [u8; 16], quoted: &[u8]) -> Vec<u8> {
    let b = eth().ipv6(src, dst, 64).icmpv6_raw(1, 4, [0; 4]);
    write(|o| b.write(o, &quoted[ETH..]).unwrap())
}

/// What a packet looks like after the engine: addresses and ports (or ICMP id).
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    src: Vec<u8>,
    dst: Vec<u8>,
    sport: u16,
    dport: u16,
}

fn seen(pkt: &Packet) -> Seen {
    let d = &pkt.bytes()[ETH..];
    verify_datagram(d, true);
    let (l4, src, dst) = if d[0] >> 4 == 4 {
        (usize::from(d[0] & 0xf) * 4, &d[12..16], &d[16..20])
    } else {
        (40, &d[8..24], &d[24..40])
    };
    let w = |o: usize| u16::from_be_bytes([d[l4 + o], d[l4 + o + 1]]);
    let (sport, dport) = match pkt.view.l4proto {
        ip_proto::ICMP | ip_proto::ICMPV6 => (w(4), w(4)),
        _ => (w(0), w(2)),
    };
    Seen {
        src: src.to_vec(),
        dst: dst.to_vec(),
        sport,
        dport,
    }
}

fn s(src: &[u8], sport: u16, dst: &[u8], dport: u16) -> Seen {
    Seen {
        src: src.to_vec(),
        dst: dst.to_vec(),
        sport,
        dport,
    }
}

fn nat_engine(chains: &str) -> Engine {
    engine(&format!(
        "plugins:\n  - builtin: conntrack\n  - builtin: nat\n    config:\n      chains: {chains}\n"
    ))
}

fn stats(e: &Engine) -> serde_json::Value {
    let nat = e.plugin("nat").expect("nat loaded");
    serde_json::from_slice(&nat.control(br#"{"op":"stats"}"#).expect("stats")).expect("json")
}

fn dropped_for(e: &Engine, o: &Outcome) -> String {
    match o {
        Outcome::Dropped(DropReason::Id(id)) => e.registry().reason_name(*id).unwrap().to_string(),
        other => panic!("not dropped: {other:?}"),
    }
}

const SNAT: &str = r#"[{hook: postrouting, rules: [{match: {saddr: 10.0.0.0/8}, action: {snat: {to: 192.0.2.1}}}]}]"#;

#[test]
fn snat_of_tcp_and_udp_with_replies_translated_back() {
    let e = nat_engine(SNAT);
    let out = run_frames(
        &e,
        &[
            tcp4(CLIENT, SERVER, 40000, 80, false),
            tcp4(SERVER, PUBLIC, 80, 40000, true),
            udp4(CLIENT, SERVER, 5353, 53),
            udp4(SERVER, PUBLIC, 53, 5353),
            udp4(CLIENT, SERVER, 5353, 53),
            tcp4_segment(CLIENT, SERVER, 40000, 80, 1001, 1001, "A", b"GET /"),
            tcp4_segment(SERVER, PUBLIC, 80, 40000, 1001, 1006, "A", b""),
        ],
    );
    let got: Vec<Seen> = out.iter().map(|(p, _)| seen(p)).collect();
    assert_eq!(
        got,
        [
            s(&PUBLIC, 40000, &SERVER, 80),
            s(&SERVER, 80, &CLIENT, 40000),
            s(&PUBLIC, 5353, &SERVER, 53),
            s(&SERVER, 53, &CLIENT, 5353),
            s(&PUBLIC, 5353, &SERVER, 53),
            s(&PUBLIC, 40000, &SERVER, 80),
            s(&SERVER, 80, &CLIENT, 40000),
        ]
    );
    assert_eq!(out[1].0.ctinfo(), CtInfo::EstablishedReply);
    assert_eq!(out[5].0.ctinfo(), CtInfo::Established);
    assert_eq!(out[6].0.ctinfo(), CtInfo::EstablishedReply);
    assert_eq!(out[3].0.ctinfo(), CtInfo::EstablishedReply);
    assert!(out.iter().all(|(_, o)| *o == Outcome::Forwarded));
    let list = common::ct_table(&e, 0);
    assert!(
        list.contains("src=10.0.0.1 dst=198.51.100.2 sport=5353 dport=53 src=198.51.100.2 dst=192.0.2.1 sport=53 dport=5353"),
        "{list}"
    );
    let st = stats(&e);
    assert_eq!(st["bound"], 2);
    assert_eq!(st["translated"], 7);
}

/// Regular chains: `jump` runs one and goes on after the rule unless it decided,
/// `return` leaves it, `goto` runs one in place of the rest of the chain (whose end
/// then leaves the base chain untranslated).
#[test]
fn jumps_gotos_and_returns_walk_the_regular_chains() {
    let e = nat_engine(
        r#"[{hook: postrouting, rules: [
              {match: {saddr: 10.0.0.1}, action: {jump: clients}},
              {match: {proto: udp}, action: {goto: udp}},
              {action: {snat: {to: 192.0.2.3}}}]},
            {name: clients, rules: [
              {match: {proto: tcp, dport: 22}, action: return},
              {match: {proto: tcp}, action: {snat: {to: 192.0.2.1}}}]},
            {name: udp, rules: [{match: {dport: 53}, action: {snat: {to: 192.0.2.2}}}]}]"#,
    );
    let out = run_frames(
        &e,
        &[
            tcp4(CLIENT, SERVER, 40000, 80, false),
            tcp4(CLIENT, SERVER, 40001, 22, false),
            udp4(CLIENT, SERVER, 5353, 53),
            udp4(CLIENT, SERVER, 5354, 123),
        ],
    );
    let got: Vec<Seen> = out.iter().map(|(p, _)| seen(p)).collect();
    assert_eq!(
        got,
        [
            s(&[192, 0, 2, 1], 40000, &SERVER, 80),
            s(&[192, 0, 2, 3], 40001, &SERVER, 22),
            s(&[192, 0, 2, 2], 5353, &SERVER, 53),
            s(&CLIENT, 5354, &SERVER, 123),
        ]
    );
}

#[test]
fn dnat_port_forward() {
    let e = nat_engine(
        r#"[{hook: prerouting, rules: [{match: {proto: tcp, daddr: 192.0.2.1, dport: 8080}, action: {dnat: {to: "10.0.0.5:80"}}}]}]"#,
    );
    let outside = [203, 0, 113, 5];
    let inside = [10, 0, 0, 5];
    let out = run_frames(
        &e,
        &[
            tcp4(outside, PUBLIC, 40000, 8080, false),
            tcp4(inside, outside, 80, 40000, true),
            // Not for the forwarded port: untouched.
            tcp4(outside, PUBLIC, 40001, 22, false),
        ],
    );
    assert_eq!(seen(&out[0].0), s(&outside, 40000, &inside, 80));
    assert_eq!(seen(&out[1].0), s(&PUBLIC, 8080, &outside, 40000));
    assert_eq!(seen(&out[2].0), s(&outside, 40001, &PUBLIC, 22));
    let list = common::ct_table(&e, 0);
    assert!(
        list.contains("dport=8080 src=10.0.0.5 dst=203.0.113.5 sport=80 dport=40000"),
        "{list}"
    );
}

#[test]
fn the_filter_sees_a_binding_through_ct_status_from_the_first_packet() {
    // A port forward, and a forward chain that lets through only what was
    // destination-translated (nft's `ct status dnat`), and counts replies
    // (`ct direction reply`).
    let e = engine(
        "plugins:\n  - builtin: conntrack\n  - builtin: nat\n    config:\n      chains: \
         [{hook: prerouting, rules: [{match: {proto: tcp, daddr: 192.0.2.1, dport: 8080}, \
         action: {dnat: {to: \"10.0.0.5:80\"}}}]}]\n  - builtin: filter\n    config:\n      \
         chains:\n        - hook: forward\n          policy: drop\n          rules:\n            \
         - {match: {ct_direction: reply}}\n            \
         - {match: {ct_status: dnat}, action: accept}\n",
    );
    let outside = [203, 0, 113, 5];
    let inside = [10, 0, 0, 5];
    let out = run_frames(
        &e,
        &[
            // The first packet: bound at PREROUTING, so the filter already sees DNAT.
            tcp4(outside, PUBLIC, 40000, 8080, false),
            tcp4(inside, outside, 80, 40000, true),
            tcp4_segment(outside, PUBLIC, 40000, 8080, 1001, 1001, "A", b"x"),
            // Not forwarded by a rule: no translation, dropped by the policy.
            tcp4(outside, PUBLIC, 40001, 22, false),
        ],
    );
    let outcomes: Vec<&Outcome> = out.iter().map(|(_, o)| o).collect();
    let forwarded: Vec<bool> = outcomes.iter().map(|o| **o == Outcome::Forwarded).collect();
    assert_eq!(forwarded, [true, true, true, false], "{outcomes:?}");
    assert_eq!(dropped_for(&e, &out[3].1), "filter-policy-drop");
    let status: Vec<u32> = out.iter().map(|(p, _)| p.view.ct_status).collect();
    assert_ne!(status[0] & ct::status::DST_NAT, 0);
    assert_eq!(
        status[0] & ct::status::CONFIRMED,
        0,
        "the first packet is unconfirmed"
    );
    assert_eq!(
        status[2] & (ct::status::DST_NAT | ct::status::CONFIRMED),
        ct::status::DST_NAT | ct::status::CONFIRMED
    );
    assert_eq!(status[3] & (ct::status::SRC_NAT | ct::status::DST_NAT), 0);
}

/// An SCTP INIT from `src:sport` to `dst:dport`, its CRC-32C set.
fn sctp_init4(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16) -> Vec<u8> {
    let mut p = Vec::new();
    p.extend_from_slice(&sport.to_be_bytes());
    p.extend_from_slice(&dport.to_be_bytes());
    p.extend_from_slice(&[0; 8]); // verification tag 0 (an INIT), checksum
                                  // INIT: type 1, length 20, initiate tag, a_rwnd, streams out/in, initial TSN.
    p.extend_from_slice(&[
        1, 0, 0, 20, 0x11, 0x22, 0x33, 0x44, 0, 1, 0, 0, 0, 10, 0, 10,
    ]);
    p.extend_from_slice(&[0, 0, 0, 1]);
    assert!(brickwall_wire::crc32c::set_sctp(&mut p));
    write(|o| {
        eth()
            .ipv4(src, dst, 64)
            .write(o, etherparse::IpNumber(ip_proto::SCTP), &p)
            .unwrap()
    })
}

#[test]
fn sctp_ports_are_translated_and_the_crc32c_computed_again() {
    let e = nat_engine(SNAT);
    let out = run_frames(
        &e,
        &[
            sctp_init4(CLIENT, SERVER, 5000, 80),
            // The same port from another client: the binding must move it.
            sctp_init4(CLIENT2, SERVER, 5000, 80),
        ],
    );
    let mut ports = Vec::new();
    for (p, o) in &out {
        assert_eq!(*o, Outcome::Forwarded);
        let d = &p.view.frame()[ETH..];
        assert_eq!(checksum(&d[..20]), 0, "IPv4 header checksum");
        assert_eq!(&d[12..16], &PUBLIC, "source translated");
        let sctp = &d[20..];
        let stored = u32::from_le_bytes([sctp[8], sctp[9], sctp[10], sctp[11]]);
        assert_eq!(brickwall_wire::crc32c::sctp(sctp), Some(stored), "CRC-32C");
        ports.push(u16::from_be_bytes([sctp[0], sctp[1]]));
    }
    assert_eq!(ports[0], 5000, "the first keeps its port");
    assert_ne!(ports[1], 5000, "the second is moved off it");
    let list = common::ct_table(&e, 0);
    assert!(list.contains("sctp"), "{list}");
}

/// A DCCP packet from `src:sport` to `dst:dport` over IPv4 (an Ethernet frame): type
/// `ty` with the X bit, sequence number `seq`, acknowledgement number `ack` (types
/// that carry one), four bytes of payload, checksum coverage 0 (all), checksum set.
fn dccp4(
    src: [u8; 4],
    dst: [u8; 4],
    sport: u16,
    dport: u16,
    ty: u8,
    seq: u32,
    ack: u32,
) -> Vec<u8> {
    let p = common::dccp_segment(sport, dport, ty, u64::from(seq), u64::from(ack));
    with_transport_checksum(write(|o| {
        eth()
            .ipv4(src, dst, 64)
            .write(o, etherparse::IpNumber(ip_proto::DCCP), &p)
            .unwrap()
    }))
}

/// [`dccp4`] over IPv6.
fn dccp6(
    src: [u8; 16],
    dst: [u8; 16],
    sport: u16,
    dport: u16,
    ty: u8,
    seq: u32,
    ack: u32,
) -> Vec<u8> {
    let p = common::dccp_segment(sport, dport, ty, u64::from(seq), u64::from(ack));
    with_transport_checksum(write(|o| {
        eth()
            .ipv6(src, dst, 64)
            .write(o, etherparse::IpNumber(ip_proto::DCCP), &p)
            .unwrap()
    }))
}

/// A UDP-Lite datagram from `src:sport` to `dst:dport` over IPv4 (an Ethernet frame)
/// whose checksum covers its 8-byte header only (coverage 8), then 8 bytes of payload.
fn udplite4(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16) -> Vec<u8> {
    let mut p = Vec::new();
    p.extend_from_slice(&sport.to_be_bytes());
    p.extend_from_slice(&dport.to_be_bytes());
    p.extend_from_slice(&[0, 8, 0, 0]);
    p.extend_from_slice(b"uncover!");
    with_transport_checksum(write(|o| {
        eth()
            .ipv4(src, dst, 64)
            .write(o, etherparse::IpNumber(ip_proto::UDPLITE), &p)
            .unwrap()
    }))
}

/// `frame` with its datagram's transport checksum computed in full.
fn with_transport_checksum(mut frame: Vec<u8>) -> Vec<u8> {
    assert!(brickwall_wire::checksum::fill_transport(&mut frame[ETH..]));
    verify_datagram(&frame[ETH..], true);
    frame
}

/// DCCP and UDP-Lite ports are translated as TCP's and UDP's: two clients on one port
/// get distinct ports, replies are translated back, and every checksum (DCCP's at
/// offset 6, UDP-Lite's over its coverage) holds after each rewrite, by full
/// recomputation.
#[test]
fn dccp_and_udplite_ports_are_translated_with_their_checksums() {
    use brickwall_wire::dccp::{REQUEST, RESPONSE};
    let e = nat_engine(SNAT);
    let out = run_frames(
        &e,
        &[
            dccp4(CLIENT, SERVER, 5000, 6000, REQUEST, 10, 0),
            dccp4(CLIENT2, SERVER, 5000, 6000, REQUEST, 20, 0),
            udplite4(CLIENT, SERVER, 7000, 53),
            udplite4(CLIENT2, SERVER, 7000, 53),
        ],
    );
    let got: Vec<Seen> = out.iter().map(|(p, _)| seen(p)).collect();
    assert!(out.iter().all(|(_, o)| *o == Outcome::Forwarded));
    assert_eq!(got[0], s(&PUBLIC, 5000, &SERVER, 6000));
    assert_eq!(got[2], s(&PUBLIC, 7000, &SERVER, 53));
    let (dccp_port, lite_port) = (got[1].sport, got[3].sport);
    assert_ne!(
        dccp_port, 5000,
        "the second DCCP client is moved off the port"
    );
    assert_ne!(lite_port, 7000, "the second UDP-Lite client too");
    assert_eq!(
        (&got[1].src[..], &got[3].src[..]),
        (&PUBLIC[..], &PUBLIC[..])
    );
    // The replies to each translated port reach their own client.
    let back = run_frames(
        &e,
        &[
            dccp4(SERVER, PUBLIC, 6000, dccp_port, RESPONSE, 900, 20),
            dccp4(SERVER, PUBLIC, 6000, 5000, RESPONSE, 800, 10),
            udplite4(SERVER, PUBLIC, 53, lite_port),
        ],
    );
    assert_eq!(seen(&back[0].0), s(&SERVER, 6000, &CLIENT2, 5000));
    assert_eq!(seen(&back[1].0), s(&SERVER, 6000, &CLIENT, 5000));
    assert_eq!(seen(&back[2].0), s(&SERVER, 53, &CLIENT2, 7000));
    assert!(back
        .iter()
        .all(|(p, _)| p.ctinfo() == CtInfo::EstablishedReply));
    let list = common::ct_table(&e, 0);
    assert!(
        list.contains(&format!(
            "RESPOND src=10.0.0.2 dst=198.51.100.2 sport=5000 dport=6000 \
             src=198.51.100.2 dst=192.0.2.1 sport=6000 dport={dccp_port}"
        )),
        "{list}"
    );
    assert!(
        list.contains(&format!(
            "src=10.0.0.2 dst=198.51.100.2 sport=7000 dport=53 src=198.51.100.2 dst=192.0.2.1 sport=53 dport={lite_port}"
        )),
        "{list}"
    );
}

/// NAT66 of DCCP: the port from the range, the checksum (over the IPv6
/// pseudo-header) right after each rewrite, the reply translated back.
#[test]
fn nat66_of_dccp() {
    use brickwall_wire::dccp::{REQUEST, RESPONSE};
    let e = nat_engine(
        r#"[{hook: postrouting, rules: [{match: {saddr: "fd00::/8", proto: dccp}, action: {snat: {to: "[2001:db8::1]:4000-4100"}}}]}]"#,
    );
    let (client, server, public) = (fd(5), v6(0x99), v6(1));
    let out = run_frames(&e, &[dccp6(client, server, 5000, 6000, REQUEST, 1, 0)]);
    let t = seen(&out[0].0);
    assert_eq!(
        (t.src.as_slice(), t.dst.as_slice(), t.dport),
        (&public[..], &server[..], 6000)
    );
    assert!((4000..=4100).contains(&t.sport), "{t:?}");
    let back = run_frames(&e, &[dccp6(server, public, 6000, t.sport, RESPONSE, 9, 1)]);
    assert_eq!(back[0].0.ctinfo(), CtInfo::EstablishedReply);
    assert_eq!(seen(&back[0].0), s(&server, 6000, &client, 5000));
}

/// An ICMP error quoting a translated DCCP packet whole has the quote's address, port
/// and DCCP checksum translated back (the error's checksum following); quoting 8 bytes
/// of UDP-Lite, the quoted port is translated back.
#[test]
fn an_icmp_error_quoting_dccp_or_udplite_is_translated() {
    let e = nat_engine(
        r#"[{hook: postrouting, rules: [
             {match: {proto: dccp}, action: {snat: {to: "192.0.2.1:3000-3000"}}},
             {match: {proto: udplite}, action: {snat: {to: "192.0.2.1:3001"}}}]}]"#,
    );
    let out = run_frames(
        &e,
        &[
            dccp4(
                CLIENT,
                SERVER,
                5000,
                6000,
                brickwall_wire::dccp::REQUEST,
                1,
                0,
            ),
            udplite4(CLIENT, SERVER, 7000, 53),
        ],
    );
    assert_eq!(seen(&out[0].0), s(&PUBLIC, 3000, &SERVER, 6000));
    assert_eq!(seen(&out[1].0), s(&PUBLIC, 3001, &SERVER, 53));
    let back = run_frames(
        &e,
        &[
            unreachable4(SERVER, PUBLIC, out[0].0.bytes()),
            unreachable4_short(SERVER, PUBLIC, out[1].0.bytes()),
        ],
    );
    for (p, o) in &back {
        assert_eq!((p.ctinfo(), *o), (CtInfo::RelatedReply, Outcome::Forwarded));
        verify_datagram(&p.bytes()[ETH..], true);
    }
    let d = &back[0].0.bytes()[ETH..];
    assert_eq!(&d[16..20], &CLIENT, "outer destination");
    assert_eq!(
        &d[28..],
        &dccp4(
            CLIENT,
            SERVER,
            5000,
            6000,
            brickwall_wire::dccp::REQUEST,
            1,
            0
        )[ETH..],
        "the quote is what the client sent, checksum included"
    );
    let d = &back[1].0.bytes()[ETH..];
    assert_eq!(&d[28 + 12..28 + 16], &CLIENT, "quoted source");
    assert_eq!(&d[48..52], &[0x1b, 0x58, 0, 53], "quoted ports 7000 -> 53");
}

#[test]
fn two_clients_on_one_port_get_distinct_ports_and_a_full_range_drops() {
    let e = nat_engine(SNAT);
    let out = run_frames(
        &e,
        &[
            udp4(CLIENT, SERVER, 5000, 53),
            udp4(CLIENT2, SERVER, 5000, 53),
        ],
    );
    let a = seen(&out[0].0);
    let b = seen(&out[1].0);
    assert_eq!(a, s(&PUBLIC, 5000, &SERVER, 53), "the first keeps its port");
    assert_eq!((b.src.as_slice(), b.dport), (&PUBLIC[..], 53));
    assert!(b.sport >= 1024 && b.sport != 5000, "moved: {}", b.sport);
    // Each reply reaches its own client.
    let back = run_frames(
        &e,
        &[
            udp4(SERVER, PUBLIC, 53, b.sport),
            udp4(SERVER, PUBLIC, 53, 5000),
        ],
    );
    assert_eq!(seen(&back[0].0), s(&SERVER, 53, &CLIENT2, 5000));
    assert_eq!(seen(&back[1].0), s(&SERVER, 53, &CLIENT, 5000));

    let e = nat_engine(
        r#"[{hook: postrouting, rules: [{action: {snat: {to: "192.0.2.1:2000-2001"}}}]}]"#,
    );
    let out = run_frames(
        &e,
        &[
            udp4(CLIENT, SERVER, 5000, 53),
            udp4(CLIENT2, SERVER, 5000, 53),
            udp4([10, 0, 0, 3], SERVER, 5000, 53),
        ],
    );
    let ports: Vec<u16> = out[..2].iter().map(|(p, _)| seen(p).sport).collect();
    assert!(ports.contains(&2000) && ports.contains(&2001), "{ports:?}");
    assert_eq!(dropped_for(&e, &out[2].1), "nat-range-exhausted");
    assert_eq!(stats(&e)["exhausted"], 1);
    // The port range is for TCP and UDP: an echo keeps its id.
    let echo = run_frames(&e, &[echo4(CLIENT, SERVER, 77, false)]);
    assert_eq!(seen(&echo[0].0), s(&PUBLIC, 77, &SERVER, 77));
}

#[test]
fn null_bindings_leave_packets_alone_and_move_a_clashing_source_port() {
    let e = nat_engine(SNAT);
    let other = [172, 16, 0, 9];
    let out = run_frames(
        &e,
        &[
            udp4(other, SERVER, 6000, 53),
            udp4(SERVER, other, 53, 6000),
            // Translated to 192.0.2.1:7000.
            udp4(CLIENT, SERVER, 7000, 53),
            // A host that has 192.0.2.1 itself, untranslated, on the same port: its
            // reply tuple would be the translated flow's, so its port moves.
            udp4(PUBLIC, SERVER, 7000, 53),
        ],
    );
    assert_eq!(seen(&out[0].0), s(&other, 6000, &SERVER, 53));
    assert_eq!(seen(&out[1].0), s(&SERVER, 53, &other, 6000));
    assert_eq!(seen(&out[2].0), s(&PUBLIC, 7000, &SERVER, 53));
    let moved = seen(&out[3].0);
    assert_eq!(moved.src, PUBLIC);
    assert!(moved.sport >= 1024 && moved.sport != 7000, "{moved:?}");
    let st = stats(&e);
    assert_eq!(st["clash_remaps"], 1);
    // Three connections, two hooks each: all null but the translated one's source.
    assert_eq!(st["null_bindings"], 5);
    assert_eq!(st["bound"], 1);
}

#[test]
fn icmp_echo_ids_are_translated() {
    let e = nat_engine(SNAT);
    let out = run_frames(
        &e,
        &[
            echo4(CLIENT, SERVER, 77, false),
            echo4(CLIENT2, SERVER, 77, false),
        ],
    );
    assert_eq!(seen(&out[0].0), s(&PUBLIC, 77, &SERVER, 77));
    let b = seen(&out[1].0);
    assert_eq!(b.src, PUBLIC);
    assert_ne!(b.sport, 77, "the second id moves");
    let back = run_frames(
        &e,
        &[
            echo4(SERVER, PUBLIC, b.sport, true),
            echo4(SERVER, PUBLIC, 77, true),
        ],
    );
    assert_eq!(seen(&back[0].0), s(&SERVER, 77, &CLIENT2, 77));
    assert_eq!(seen(&back[1].0), s(&SERVER, 77, &CLIENT, 77));
    assert_eq!(back[0].0.ctinfo(), CtInfo::EstablishedReply);
}

#[test]
fn an_icmp_error_about_a_translated_flow_has_its_quote_translated() {
    let e = nat_engine(
        r#"[{hook: postrouting, rules: [{action: {snat: {to: "192.0.2.1:3000-3000"}}}]}]"#,
    );
    let out = run_frames(&e, &[udp4(CLIENT, SERVER, 5000, 53)]);
    assert_eq!(seen(&out[0].0), s(&PUBLIC, 3000, &SERVER, 53));
    // The server's error quotes the datagram as it arrived, translated.
    let quoted = out[0].0.bytes().to_vec();
    let back = run_frames(&e, &[unreachable4(SERVER, PUBLIC, &quoted)]);
    let (p, o) = &back[0];
    assert_eq!(*o, Outcome::Forwarded);
    assert_eq!(p.ctinfo(), CtInfo::RelatedReply);
    let d = &p.bytes()[ETH..];
    verify_datagram(d, true);
    assert_eq!(&d[16..20], &CLIENT, "outer destination");
    let inner = &d[28..];
    assert_eq!(&inner[12..16], &CLIENT, "quoted source");
    assert_eq!(&inner[16..20], &SERVER);
    assert_eq!(
        &inner[20..24],
        &[0x13, 0x88, 0, 53],
        "quoted ports 5000 -> 53"
    );
    // The quote is now exactly what the client sent.
    assert_eq!(inner, &udp4(CLIENT, SERVER, 5000, 53)[ETH..]);
    assert_eq!(stats(&e)["icmp_errors"], 1);
}

#[test]
fn errors_in_either_direction_and_short_quotes() {
    // A router beyond the translation answers a TCP SYN with host unreachable,
    // quoting 8 bytes of TCP (no checksum in the quote).
    let e = nat_engine(SNAT);
    let syn = run_frames(&e, &[tcp4(CLIENT, SERVER, 40000, 80, false)]);
    let router = [198, 51, 100, 254];
    let back = run_frames(&e, &[unreachable4_short(router, PUBLIC, syn[0].0.bytes())]);
    let d = &back[0].0.bytes()[ETH..];
    verify_datagram(d, true);
    assert_eq!(back[0].0.ctinfo(), CtInfo::RelatedReply);
    assert_eq!(&d[16..20], &CLIENT);
    assert_eq!(&d[28 + 12..28 + 16], &CLIENT, "quoted source");
    assert_eq!(&d[48..50], &40000u16.to_be_bytes());

    // A port forward whose outside client answers the forwarded reply with port
    // unreachable: an error of the original direction (RELATED), its quote the reply.
    let e = nat_engine(
        r#"[{hook: prerouting, rules: [{match: {proto: udp, dport: 8080}, action: {dnat: {to: "10.0.0.5:80"}}}]}]"#,
    );
    let outside = [203, 0, 113, 5];
    let inside = [10, 0, 0, 5];
    let out = run_frames(
        &e,
        &[
            udp4(outside, PUBLIC, 40000, 8080),
            udp4(inside, outside, 80, 40000),
        ],
    );
    assert_eq!(seen(&out[1].0), s(&PUBLIC, 8080, &outside, 40000));
    let err = run_frames(&e, &[unreachable4(outside, PUBLIC, out[1].0.bytes())]);
    let (p, o) = &err[0];
    assert_eq!((p.ctinfo(), *o), (CtInfo::Related, Outcome::Forwarded));
    let d = &p.bytes()[ETH..];
    verify_datagram(d, true);
    assert_eq!(&d[16..20], &inside, "to the server behind the forward");
    assert_eq!(&d[28..], &udp4(inside, outside, 80, 40000)[ETH..]);
}

#[test]
fn nat66_with_an_icmpv6_error() {
    let e = nat_engine(
        r#"[{hook: postrouting, rules: [{match: {saddr: "fd00::/8"}, action: {snat: {to: "[2001:db8::1]:4000-4100"}}}]}]"#,
    );
    let (client, server, public) = (fd(5), v6(0x99), v6(1));
    let out = run_frames(
        &e,
        &[
            tcp6(client, server, 40000, 443, false),
            udp6(client, server, 6000, 53),
        ],
    );
    let t = seen(&out[0].0);
    assert_eq!(
        (t.src.as_slice(), t.dst.as_slice(), t.dport),
        (&public[..], &server[..], 443)
    );
    assert!((4000..=4100).contains(&t.sport));
    let u = seen(&out[1].0);
    assert!((4000..=4100).contains(&u.sport));
    let back = run_frames(
        &e,
        &[
            tcp6(server, public, 443, t.sport, true),
            unreachable6(server, public, out[1].0.bytes()),
        ],
    );
    assert_eq!(seen(&back[0].0), s(&server, 443, &client, 40000));
    let d = &back[1].0.bytes()[ETH..];
    verify_datagram(d, true);
    assert_eq!(&d[24..40], &client);
    assert_eq!(&d[48..], &udp6(client, server, 6000, 53)[ETH..]);
}

#[test]
fn masquerade_and_redirect() {
    let e = nat_engine(
        r#"[{hook: postrouting, rules: [{match: {oif: 0, saddr: 10.0.0.0/8}, action: {masquerade: {addresses: [192.0.2.1, "2001:db8::1"], to: ":10000-10010"}}}]},
            {hook: prerouting, rules: [{match: {proto: tcp, dport: 80, iif: 0}, action: {redirect: {to: ":3128", addresses: [192.0.2.254]}}}]}]"#,
    );
    let out = run_frames(
        &e,
        &[
            udp4(CLIENT, SERVER, 5000, 53),
            tcp4(CLIENT, SERVER, 40000, 80, false),
        ],
    );
    let m = seen(&out[0].0);
    assert_eq!(m.src, PUBLIC);
    assert!((10000..=10010).contains(&m.sport));
    // Redirected to the local proxy, then masqueraded on the way out.
    let r = seen(&out[1].0);
    assert_eq!((r.dst.as_slice(), r.dport), (&[192, 0, 2, 254][..], 3128));
    assert!((10000..=10010).contains(&r.sport));
    // An IPv6 packet of a family the redirect has no address for is dropped.
    let e = nat_engine(
        r#"[{hook: prerouting, rules: [{action: {redirect: {to: ":3128", addresses: [192.0.2.254]}}}]}]"#,
    );
    let out = run_frames(&e, &[tcp6(fd(5), v6(0x99), 40000, 80, false)]);
    assert_eq!(dropped_for(&e, &out[0].1), "nat-no-address");
    // A masquerade without addresses takes the output interface's from the engine: a
    // replay has none (router mode has: tests/live_router.rs).
    let e = nat_engine(r#"[{hook: postrouting, rules: [{action: masquerade}]}]"#);
    let out = run_frames(&e, &[udp4(CLIENT, SERVER, 5000, 53)]);
    assert_eq!(dropped_for(&e, &out[0].1), "nat-no-address");
}

#[test]
fn a_bad_config_names_the_field() {
    let cfg = brickwall_core::config::Config::parse(
        "plugins:\n  - builtin: conntrack\n  - builtin: nat\n    config:\n      chains: [{hook: prerouting, rules: [{action: {snat: {to: 192.0.2.1}}}]}]\n",
        "test.yaml",
    )
    .expect("parses");
    let err = match Engine::from_config(&cfg, std::path::Path::new("."), "test.yaml") {
        Ok(_) => panic!("an snat at prerouting loads"),
        Err(e) => e.to_string(),
    };
    assert!(
        err.starts_with("test.yaml:5:52: plugins[1].config.chains[0].rules[0].action: plugin nat (static) refused its config: snat belongs in a nat chain on postrouting or input, not prerouting"),
        "{err}"
    );
}

/// A port forward and a masquerade, the rules of the listing tests.
const FORWARD_AND_MASQUERADE: &str = r#"[{hook: prerouting, rules: [{match: {proto: tcp, daddr: 192.0.2.1, dport: 8080}, action: {dnat: {to: "10.0.0.5:80"}}}]},
    {hook: postrouting, rules: [{match: {saddr: 10.0.0.0/8}, action: {masquerade: {addresses: [192.0.2.1], to: ":20000"}}}]}]"#;

const OUTSIDE: [u8; 4] = [203, 0, 113, 5];
const INSIDE: [u8; 4] = [10, 0, 0, 5];

/// A masqueraded connection, a forwarded one, each answered, and an untranslated one.
fn forward_and_masquerade_frames() -> Vec<Vec<u8>> {
    vec![
        tcp4(CLIENT, SERVER, 40000, 80, false),
        tcp4(SERVER, PUBLIC, 80, 20000, true),
        tcp4(OUTSIDE, PUBLIC, 40001, 8080, false),
        tcp4(INSIDE, OUTSIDE, 80, 40001, true),
        udp4(OUTSIDE, SERVER, 5000, 53),
    ]
}

/// The `conntrack -L` line's tuples and flags, without the protocol, timeout and state.
fn tuples(line: &str) -> &str {
    let start = line.find("src=").expect("a tuple");
    &line[start..]
}

/// The listing tests' capture (a millisecond between frames) and config, in `dir`.
fn forward_and_masquerade_files(dir: &TempDir) -> (std::path::PathBuf, std::path::PathBuf) {
    let pcap = dir.join("nat.pcap");
    let mut w = PcapWriter::create(&pcap, LinkType::Ethernet, true).unwrap();
    for (i, f) in forward_and_masquerade_frames().iter().enumerate() {
        let ts = 1_795_760_644_000_000_000 + i as u64 * 1_000_000;
        w.write(ts, f, f.len() as u32).unwrap();
    }
    w.flush().unwrap();
    let cfg = dir.join("nat.yaml");
    std::fs::write(
        &cfg,
        format!(
            "plugins:\n  - builtin: conntrack\n  - builtin: nat\n    config:\n      chains: {FORWARD_AND_MASQUERADE}\n"
        ),
    )
    .unwrap();
    (pcap, cfg)
}

#[test]
fn ct_lists_translated_reply_tuples_and_filters_by_nat() {
    let dir = TempDir::new("nat-ct-list");
    let (pcap, cfg) = forward_and_masquerade_files(&dir);
    let e = control_common::Engine::start(
        "nat-ct-list-engine",
        &[
            "replay",
            pcap.to_str().unwrap(),
            "-q",
            "--config",
            cfg.to_str().unwrap(),
        ],
    );
    let list = |args: &[&str]| -> Vec<String> {
        let mut all = vec!["-L"];
        all.extend_from_slice(args);
        let out = e.ct(&all);
        assert_code(&out, 0);
        let mut lines: Vec<String> = stdout(&out)
            .lines()
            .map(|l| tuples(l).to_string())
            .collect();
        lines.sort();
        lines
    };
    // conntrack-tools' lines: the reply tuple is the one NAT stored, so the masqueraded
    // connection's reply goes to 192.0.2.1:20000 and the forwarded one's comes from
    // 10.0.0.5:80.
    let masqueraded = "src=10.0.0.1 dst=198.51.100.2 sport=40000 dport=80 src=198.51.100.2 dst=192.0.2.1 sport=80 dport=20000 mark=0 use=1";
    let forwarded = "src=203.0.113.5 dst=192.0.2.1 sport=40001 dport=8080 src=10.0.0.5 dst=203.0.113.5 sport=80 dport=40001 mark=0 use=1";
    let plain = "src=203.0.113.5 dst=198.51.100.2 sport=5000 dport=53 [UNREPLIED] src=198.51.100.2 dst=203.0.113.5 sport=53 dport=5000 mark=0 use=1";
    assert_eq!(list(&[]), [masqueraded, forwarded, plain]);
    assert_eq!(list(&["--src-nat"]), [masqueraded]);
    assert_eq!(list(&["-n", "192.0.2.1"]), [masqueraded]);
    assert_eq!(list(&["--src-nat", "192.0.2.1:20000"]), [masqueraded]);
    assert_eq!(list(&["--src-nat", ":40000"]), Vec::<String>::new());
    assert_eq!(list(&["--dst-nat"]), [forwarded]);
    assert_eq!(list(&["-g", "10.0.0.5"]), [forwarded]);
    assert_eq!(
        list(&["--dst-nat", "10.0.0.5:80", "-p", "tcp"]),
        [forwarded]
    );
    assert_eq!(list(&["-g", "192.0.2.1"]), Vec::<String>::new());
    assert_eq!(list(&["--any-nat"]), [masqueraded, forwarded]);
    assert_eq!(list(&["--src-nat", "--dst-nat"]), Vec::<String>::new());
    assert_eq!(list(&["--status", "SRC_NAT,SRC_NAT_DONE"]), [masqueraded]);
    // The status bits by name.
    let json = stdout(&e.ct(&["-L", "-o", "json", "--dst-nat"]));
    let rec: serde_json::Value = serde_json::from_str(json.lines().next().unwrap()).unwrap();
    let status: Vec<&str> = rec["status"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        status,
        ["SEEN_REPLY", "CONFIRMED", "DST_NAT", "DST_NAT_DONE"]
    );
    // A NAT address of the other family is a usage error of the engine's filter.
    let bad = e.ct(&["-L", "-f", "ipv4", "--src-nat", "2001:db8::1"]);
    assert_code(&bad, 1);
    let bad = e.ct(&["-L", "--src-nat", "10.0.0.300"]);
    assert_code(&bad, 2);
}

#[test]
fn events_print_the_translated_reply_tuple() {
    use brickwall_control_protocol::conntrack::request::Events;
    use brickwall_control_protocol::conntrack::{EventsResponse, Request};
    let e = nat_engine(FORWARD_AND_MASQUERADE);
    let ct = e.plugin("conntrack").expect("conntrack loaded");
    let poll = |cursor: u64| -> EventsResponse {
        let req = Request::Events(Events {
            cursor,
            max: None,
            mask: Some(1),
        });
        serde_json::from_slice(&ct.control(&req.to_vec()).expect("events")).expect("an answer")
    };
    let session = poll(0).cursor;
    run_frames(&e, &forward_and_masquerade_frames());
    let lines: Vec<String> = poll(session)
        .events
        .iter()
        .map(|ev| ev.line(false))
        .collect();
    let has = |want: &str| lines.iter().any(|l| l.contains(want));
    assert!(
        has("dport=80 [UNREPLIED] src=198.51.100.2 dst=192.0.2.1 sport=80 dport=20000"),
        "{lines:#?}"
    );
    assert!(
        has("dport=8080 [UNREPLIED] src=10.0.0.5 dst=203.0.113.5 sport=80 dport=40001"),
        "{lines:#?}"
    );
}

#[test]
fn the_replay_report_gives_each_translated_packet_its_tuple() {
    let dir = TempDir::new("nat-report");
    let (pcap, cfg) = forward_and_masquerade_files(&dir);
    let report = dir.join("report.jsonl");
    let out = common::brickwall(&[
        &"replay",
        &pcap,
        &"-q",
        &"--config",
        &cfg,
        &"--report",
        &report,
    ]);
    common::assert_code(&out, 0);
    let lines = common::report_lines(&std::fs::read(&report).unwrap());
    let translated: Vec<Option<&str>> = lines.iter().map(|l| l.translated.as_deref()).collect();
    assert_eq!(
        translated,
        [
            // Masqueraded at postrouting, and its reply translated back at prerouting.
            Some("src=192.0.2.1 dst=198.51.100.2 sport=20000 dport=80"),
            Some("src=198.51.100.2 dst=10.0.0.1 sport=80 dport=40000"),
            // Forwarded at prerouting, and its reply at postrouting.
            Some("src=203.0.113.5 dst=10.0.0.5 sport=40001 dport=80"),
            Some("src=192.0.2.1 dst=203.0.113.5 sport=8080 dport=40001"),
            // Not translated.
            None,
        ]
    );
    assert!(lines.iter().all(|l| !l.notes.contains_key("nat")));
}
