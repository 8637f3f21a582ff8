//! Helpers behind NAT, through an engine with conntrack, the bundled FTP helper and the
//! NAT plugin: an FTP client behind a source translation sends PORT and EPRT commands
//! whose addresses the helper rewrites (the payload grows, so the connection's later
//! sequence and acknowledgement numbers are adjusted both ways, the TCP tracker keeps
//! accepting the server's acks, and every checksum holds); the data connection the
//! server opens to the translated address is RELATED and reaches the client's real
//! address (Linux's follow-master). Through a port forward the FTP helper is the one of
//! the port the connection really goes to, and the server's passive answer names the
//! public address. Without NAT nothing is rewritten.

mod common;

use brickwall_core::engine::Engine;
use brickwall_core::packet::Packet;
use brickwall_core::pipeline::Outcome;
use brickwall_hooks::CtInfo;
use common::{engine, run_frames, tcp4_segment, verify_datagram};

const CLIENT: [u8; 4] = [10, 0, 0, 1];
const SERVER: [u8; 4] = [198, 51, 100, 2];
/// Longer in text than the client's address, so a PORT command grows by 3 bytes.
const PUBLIC: [u8; 4] = [192, 0, 2, 100];

const ETH: usize = 14;

const FTP: &str = "[{name: ftp, wasm: 'builtin:ftp', ports: [tcp/21]}]";
const SNAT: &str = r#"[{hook: postrouting, rules: [{match: {saddr: 10.0.0.0/8}, action: {snat: {to: 192.0.2.100}}}]}]"#;

/// A port forward: PUBLIC:2121 to the server inside, CLIENT:21.
const DNAT: &str = r#"[{hook: prerouting, rules: [{match: {daddr: 192.0.2.100, proto: tcp, dport: 2121}, action: {dnat: {to: "10.0.0.1:21"}}}]}]"#;

fn nat_ftp_engine(nat: bool) -> Engine {
    nat_engine(if nat { Some(SNAT) } else { None })
}

fn nat_engine(chains: Option<&str>) -> Engine {
    let nat = match chains {
        Some(c) => format!("  - builtin: nat\n    config:\n      chains: {c}\n"),
        None => String::new(),
    };
    engine(&format!(
        "plugins:\n  - builtin: conntrack\n    config:\n      helpers: {FTP}\n{nat}"
    ))
}

/// What left the engine: addresses, ports, sequence and ack numbers, payload.
#[derive(Debug, PartialEq, Eq)]
struct Out {
    src: [u8; 4],
    dst: [u8; 4],
    sport: u16,
    dport: u16,
    seq: u32,
    ack: u32,
    payload: Vec<u8>,
}

fn out(p: &Packet) -> Out {
    let all = p.bytes();
    // A rewritten datagram leaves without its link header.
    let d = if all[0] >> 4 == 4 { all } else { &all[ETH..] };
    verify_datagram(d, true);
    let ihl = usize::from(d[0] & 0xf) * 4;
    let total = usize::from(u16::from_be_bytes([d[2], d[3]]));
    assert_eq!(total, d.len(), "IP total length");
    let t = &d[ihl..];
    let w16 = |o: usize| u16::from_be_bytes([t[o], t[o + 1]]);
    let w32 = |o: usize| u32::from_be_bytes([t[o], t[o + 1], t[o + 2], t[o + 3]]);
    let doff = usize::from(t[12] >> 4) * 4;
    Out {
        src: d[12..16].try_into().unwrap(),
        dst: d[16..20].try_into().unwrap(),
        sport: w16(0),
        dport: w16(2),
        seq: w32(4),
        ack: w32(8),
        payload: t[doff..].to_vec(),
    }
}

fn o(
    src: [u8; 4],
    sport: u16,
    dst: [u8; 4],
    dport: u16,
    seq: u32,
    ack: u32,
    payload: &[u8],
) -> Out {
    Out {
        src,
        dst,
        sport,
        dport,
        seq,
        ack,
        payload: payload.to_vec(),
    }
}

/// The status bits of the connection whose original source port is `sport`.
fn status_of(e: &Engine, sport: u16) -> Vec<String> {
    common::ct_records(e, 0)
        .into_iter()
        .find(|r| r.orig.sport == Some(sport))
        .map(|r| r.status)
        .unwrap_or_else(|| panic!("no connection from port {sport}"))
}

/// The control connection's handshake (client ISN 1000, server ISN 5000), the
/// server's greeting and the client's USER command: 8 bytes each way, so the next
/// client byte is 1009 and the next server byte 5017.
fn login(to: [u8; 4]) -> Vec<Vec<u8>> {
    vec![
        tcp4_segment(CLIENT, SERVER, 40000, 21, 1000, 0, "S", b""),
        tcp4_segment(SERVER, to, 21, 40000, 5000, 1001, "SA", b""),
        tcp4_segment(CLIENT, SERVER, 40000, 21, 1001, 5001, "A", b""),
        tcp4_segment(SERVER, to, 21, 40000, 5001, 1001, "A", b"220 hi\r\n"),
        tcp4_segment(CLIENT, SERVER, 40000, 21, 1001, 5009, "A", b"USER a\r\n"),
        tcp4_segment(SERVER, to, 21, 40000, 5009, 1009, "A", b"331 ok\r\n"),
    ]
}

/// Frames of `login`.
const LOGIN: usize = 6;

#[test]
fn active_ftp_behind_snat_is_rewritten_adjusted_and_its_data_connection_followed() {
    let e = nat_ftp_engine(true);
    let port = b"PORT 10,0,0,1,156,65\r\n"; // 22 bytes; port 40001
    let reply = b"200 PORT command successful\r\n"; // 29 bytes
    let mut frames = login(PUBLIC);
    frames.extend([
        tcp4_segment(CLIENT, SERVER, 40000, 21, 1009, 5017, "A", port),
        // A retransmission, before the next line, is rewritten alike and keeps its
        // number (the adjustment is not counted twice). After the next line Linux's
        // helper no longer reads it, nor does ours.
        tcp4_segment(CLIENT, SERVER, 40000, 21, 1009, 5017, "A", port),
        // The server saw 25 bytes: it acknowledges 1009 + 25.
        tcp4_segment(SERVER, PUBLIC, 21, 40000, 5017, 1034, "A", reply),
        tcp4_segment(CLIENT, SERVER, 40000, 21, 1031, 5046, "A", b"LIST\r\n"),
        tcp4_segment(SERVER, PUBLIC, 21, 40000, 5046, 1040, "A", b""),
        // The data connection, from the server's port 20 to the announced one.
        tcp4_segment(SERVER, PUBLIC, 20, 40001, 9000, 0, "S", b""),
        tcp4_segment(CLIENT, SERVER, 40001, 20, 7000, 9001, "SA", b""),
    ]);
    let got = run_frames(&e, &frames);
    for (i, (_, outcome)) in got.iter().enumerate() {
        assert_eq!(*outcome, Outcome::Forwarded, "packet {i}");
    }
    let seen: Vec<Out> = got[LOGIN..].iter().map(|(p, _)| out(p)).collect();
    let rewritten = b"PORT 192,0,2,100,156,65\r\n";
    assert_eq!(seen[0], o(PUBLIC, 40000, SERVER, 21, 1009, 5017, rewritten));
    assert_eq!(seen[1], seen[0]);
    // The server's ack comes back into the client's numbers.
    assert_eq!(seen[2], o(SERVER, 21, CLIENT, 40000, 5017, 1031, reply));
    // The client's next segment moves on by the 3 bytes the server saw more.
    assert_eq!(
        seen[3],
        o(PUBLIC, 40000, SERVER, 21, 1034, 5046, b"LIST\r\n")
    );
    assert_eq!(seen[4], o(SERVER, 21, CLIENT, 40000, 5046, 1037, b""));
    assert_eq!(seen[5], o(SERVER, 20, CLIENT, 40001, 9000, 0, b""));
    // The client's answer leaves as from the translated address.
    assert_eq!(seen[6], o(PUBLIC, 40001, SERVER, 20, 7000, 9001, b""));
    let states: Vec<CtInfo> = got[LOGIN..].iter().map(|(p, _)| p.ctinfo()).collect();
    assert_eq!(
        states[2],
        CtInfo::EstablishedReply,
        "the server's adjusted ack"
    );
    assert_eq!(states[4], CtInfo::EstablishedReply);
    assert_eq!(states[5], CtInfo::Related);
    assert_eq!(states[6], CtInfo::EstablishedReply);
    let list = common::ct_table(&e, 0);
    assert!(
        list.contains("src=198.51.100.2 dst=192.0.2.100 sport=20 dport=40001 src=10.0.0.1 dst=198.51.100.2 sport=40001 dport=20"),
        "{list}"
    );
    // The control connection carries its sequence adjustment; the data connection
    // both manips, set up by the expectation.
    let status = |sport: u16| status_of(&e, sport);
    assert!(status(40000).contains(&"SEQ_ADJUST".to_string()), "{list}");
    let data = status(20);
    for bit in ["DST_NAT", "SRC_NAT_DONE", "DST_NAT_DONE", "EXPECTED"] {
        assert!(data.contains(&bit.to_string()), "{bit}: {data:?}");
    }
    let helpers: serde_json::Value = serde_json::from_slice(
        &e.plugin("conntrack")
            .unwrap()
            .control(br#"{"op":"helpers"}"#)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(helpers["mangled"], 2, "{helpers}");
    assert_eq!(helpers["mangle_failed"], 0, "{helpers}");
}

#[test]
fn eprt_behind_snat_is_rewritten_and_without_nat_nothing_is() {
    let eprt = b"EPRT |1|10.0.0.1|40002|\r\n";
    let mut frames = login(PUBLIC);
    frames.push(tcp4_segment(
        CLIENT, SERVER, 40000, 21, 1009, 5017, "A", eprt,
    ));
    let got = run_frames(&nat_ftp_engine(true), &frames);
    assert_eq!(
        out(&got[LOGIN].0),
        o(
            PUBLIC,
            40000,
            SERVER,
            21,
            1009,
            5017,
            b"EPRT |1|192.0.2.100|40002|\r\n"
        )
    );
    let mut frames = login(CLIENT);
    frames.push(tcp4_segment(
        CLIENT, SERVER, 40000, 21, 1009, 5017, "A", eprt,
    ));
    let e = nat_ftp_engine(false);
    let got = run_frames(&e, &frames);
    assert_eq!(
        out(&got[LOGIN].0),
        o(CLIENT, 40000, SERVER, 21, 1009, 5017, eprt)
    );
    let expects = common::ct_expectations(&e, 0);
    assert!(
        expects.contains("dst=10.0.0.1") && expects.contains("dport=40002"),
        "{expects}"
    );
}

#[test]
fn a_passive_answer_through_a_port_forward_names_the_public_address() {
    // An outside client (SERVER here) reaches the FTP server inside (CLIENT:21) as
    // PUBLIC:2121; the helper is the one of the port the connection really goes to.
    let e = nat_engine(Some(DNAT));
    let pasv = b"227 Entering Passive Mode (10,0,0,1,156,65)\r\n"; // 45 bytes
    let frames = [
        tcp4_segment(SERVER, PUBLIC, 50000, 2121, 100, 0, "S", b""),
        tcp4_segment(CLIENT, SERVER, 21, 50000, 700, 101, "SA", b""),
        tcp4_segment(SERVER, PUBLIC, 50000, 2121, 101, 701, "A", b""),
        tcp4_segment(CLIENT, SERVER, 21, 50000, 701, 101, "A", b"220 hi\r\n"),
        tcp4_segment(SERVER, PUBLIC, 50000, 2121, 101, 709, "A", b"PASV\r\n"),
        tcp4_segment(CLIENT, SERVER, 21, 50000, 709, 107, "A", pasv),
        // The client saw 48 bytes: it acknowledges 709 + 48.
        tcp4_segment(SERVER, PUBLIC, 50000, 2121, 107, 757, "A", b""),
        tcp4_segment(SERVER, PUBLIC, 50001, 40001, 300, 0, "S", b""),
    ];
    let got = run_frames(&e, &frames);
    let seen: Vec<Out> = got.iter().map(|(p, _)| out(p)).collect();
    assert_eq!(seen[0], o(SERVER, 50000, CLIENT, 21, 100, 0, b""));
    assert_eq!(
        seen[5],
        o(
            PUBLIC,
            2121,
            SERVER,
            50000,
            709,
            107,
            b"227 Entering Passive Mode (192,0,2,100,156,65)\r\n"
        )
    );
    assert_eq!(seen[6], o(SERVER, 50000, CLIENT, 21, 107, 754, b""));
    assert_eq!(got[6].0.ctinfo(), CtInfo::Established);
    // The data connection to the public address reaches the server inside.
    assert_eq!(seen[7], o(SERVER, 50001, CLIENT, 40001, 300, 0, b""));
    assert_eq!(got[7].0.ctinfo(), CtInfo::Related);
    let list = common::ct_table(&e, 0);
    assert!(
        list.contains("dport=2121 ") && list.contains("helper=ftp"),
        "{list}"
    );
}

/// A BER element: tag, short length (every element here is under 128 bytes), contents.
fn ber(tag: u8, body: &[u8]) -> Vec<u8> {
    [&[tag, body.len() as u8][..], body].concat()
}

/// An SNMP message of `version` (0: SNMPv1, 3: SNMPv3) holding a v1 trap from agent
/// `agent` whose bindings carry the addresses `values`.
fn snmp_trap(version: u8, agent: [u8; 4], values: &[[u8; 4]]) -> Vec<u8> {
    let bindings: Vec<u8> = values
        .iter()
        .flat_map(|v| ber(0x30, &[ber(0x06, &[0x2b, 6, 1]), ber(0x40, v)].concat()))
        .collect();
    let pdu = [
        ber(0x06, &[0x2b, 6, 1, 4, 1]),
        ber(0x40, &agent),
        ber(0x02, &[6]),
        ber(0x02, &[1]),
        ber(0x43, &[1]),
        ber(0x30, &bindings),
    ]
    .concat();
    let message = [ber(0x02, &[version]), ber(0x04, b"public"), ber(0xa4, &pdu)].concat();
    ber(0x30, &message)
}

/// The payload of a datagram that left the engine (its UDP checksum verified).
fn udp_payload_out(p: &Packet) -> ([u8; 4], Vec<u8>) {
    let all = p.bytes();
    let d = if all[0] >> 4 == 4 { all } else { &all[ETH..] };
    verify_datagram(d, true);
    let ihl = usize::from(d[0] & 0xf) * 4;
    (d[12..16].try_into().unwrap(), d[ihl + 8..].to_vec())
}

/// An SNMPv1 trap from an agent behind a source NAT: the SNMP helper (Linux's
/// `nf_nat_snmp_basic`) rewrites the agent address and every binding naming the agent to
/// the public address, other addresses stay, and the UDP checksum holds; an SNMPv3
/// message, which it cannot read, is dropped; without NAT nothing changes.
#[test]
fn an_snmp_trap_behind_snat_names_the_public_address() {
    let helpers = "[{name: snmp, wasm: 'builtin:snmp', ports: [udp/161, udp/162]}]";
    let config = |nat: bool| {
        let nat = if nat {
            format!("  - builtin: nat\n    config:\n      chains: {SNAT}\n")
        } else {
            String::new()
        };
        format!("plugins:\n  - builtin: conntrack\n    config:\n      helpers: {helpers}\n{nat}")
    };
    let other = [10, 0, 0, 77];
    let trap = snmp_trap(0, CLIENT, &[CLIENT, other]);
    let frames = vec![
        common::udp4(CLIENT, SERVER, 40000, 162, &trap),
        common::udp4(CLIENT, SERVER, 40001, 162, &snmp_trap(3, CLIENT, &[])),
    ];
    let got = run_frames(&engine(&config(true)), &frames);
    let (src, payload) = udp_payload_out(&got[0].0);
    assert_eq!(src, PUBLIC);
    assert_eq!(payload, snmp_trap(0, PUBLIC, &[PUBLIC, other]));
    assert!(
        matches!(got[1].1, Outcome::Dropped(..)),
        "SNMPv3 behind NAT: {:?}",
        got[1].1
    );
    let got = run_frames(&engine(&config(false)), &frames);
    assert_eq!(udp_payload_out(&got[0].0), (CLIENT, trap));
    assert_eq!(got[1].1, Outcome::Forwarded, "not translated: not read");
}
