//! The eight bundled helpers load, pass the load-time checks and answer calls as their
//! protocols say.

use brickwall_helpers::{Budget, HCtState, HelperPolicy, HelperSet, PacketCall, SandboxPolicy};
use std::path::Path;
use std::sync::Arc;

mod common;
use common::{conn, v4};

fn policy(name: &str, ports: &[&str]) -> HelperPolicy {
    serde_json::from_value(serde_json::json!({
        "name": name, "wasm": format!("builtin:{name}"), "ports": ports,
    }))
    .expect("policy")
}

fn set() -> HelperSet {
    let sandbox = SandboxPolicy {
        budget: Budget::Fuel(10_000_000),
        cache_dir: Some(String::new()),
        log_per_second: None,
    };
    HelperSet::new(
        &sandbox,
        &[
            policy("ftp", &["tcp/21"]),
            policy("irc", &["tcp/6667"]),
            policy("tftp", &["udp/69"]),
            policy("pptp", &["tcp/1723"]),
            policy("sane", &["tcp/6566"]),
            policy("amanda", &["udp/10080"]),
            policy("snmp", &["udp/161", "udp/162"]),
            policy("sip", &["udp/5060", "tcp/5060"]),
        ],
        Path::new("."),
        Arc::new(|_, _, _| {}),
    )
    .expect("bundled helpers load")
}

#[test]
fn ports_assign_the_bundled_helpers() {
    let s = set();
    assert_eq!(s.id_for_port(6, 21), s.id_by_name("ftp"));
    assert_eq!(s.id_for_port(17, 69), s.id_by_name("tftp"));
    assert_eq!(s.id_for_port(6, 1723), s.id_by_name("pptp"));
    assert_eq!(s.id_for_port(6, 6566), s.id_by_name("sane"));
    assert_eq!(s.id_for_port(17, 10080), s.id_by_name("amanda"));
    assert_eq!(s.id_for_port(17, 162), s.id_by_name("snmp"));
    assert_eq!(s.id_for_port(17, 5060), s.id_by_name("sip"));
    assert_eq!(s.id_for_port(6, 5060), s.id_by_name("sip"));
    assert_eq!(s.id_for_port(6, 22), None);
}

#[test]
fn a_tftp_read_request_expects_the_answer_from_any_server_port() {
    let mut s = set();
    let id = s.id_by_name("tftp").unwrap();
    let out = common::tftp_read_request(&mut s, id);
    assert!(!out.failed && !out.drop);
    assert_eq!(out.expects.len(), 1);
    let e = out.expects[0];
    assert_eq!(e.tuple.src, v4([192, 168, 1, 1]));
    assert_eq!(
        (e.tuple.dst, e.tuple.dst_port),
        (v4([192, 168, 1, 2]), 44935)
    );
    assert!(e.any_src_port && !e.any_src_addr);
    assert_eq!(e.timeout_s, 300, "the policy's timeout fills in");
    let r = s.reports();
    let tftp = r.iter().find(|r| r.name == "tftp").unwrap();
    assert_eq!((tftp.stats.calls, tftp.stats.expectations), (1, 1));
}

#[test]
fn an_ftp_port_command_after_a_line_start_expects_the_data_connection() {
    let mut s = set();
    let id = s.id_by_name("ftp").unwrap();
    let info = conn([172, 23, 0, 3], 58252, [172, 23, 0, 2], 21, 6);
    let mut state = s.assigned(id, 1, &info).expect("state");
    let mut call = |seq: u32, payload: &[u8], state: &mut Vec<u8>| {
        s.packet(
            id,
            &PacketCall {
                conn: 1,
                reply: false,
                ct: HCtState::Established,
                seq,
                tcp_flags: 0x18,
                payload,
            },
            state,
        )
    };
    // The first line is never parsed (no line start is known yet); it records one.
    let user = b"USER anonymous\r\n";
    assert!(call(1000, user, &mut state).expects.is_empty());
    let port = b"PORT 172,23,0,3,174,127\r\n";
    let out = call(1000 + user.len() as u32, port, &mut state);
    assert_eq!(out.expects.len(), 1, "{out:?}");
    assert_eq!(out.expects[0].tuple.dst_port, 174 * 256 + 127);
    assert_eq!(out.expects[0].tuple.src, v4([172, 23, 0, 2]));
}

#[test]
fn a_sane_start_answer_expects_the_client_at_the_data_port() {
    let mut s = set();
    let id = s.id_by_name("sane").unwrap();
    let info = conn([10, 0, 0, 1], 51000, [10, 0, 0, 2], 6566, 6);
    let mut state = s.assigned(id, 1, &info).expect("state");
    let start = [0, 0, 0, 7, 0, 0, 0, 0];
    // Read only once the connection is established.
    let established = PacketCall {
        ct: HCtState::Established,
        ..common::call_on_1(false, &start)
    };
    assert!(s.packet(id, &established, &mut state).expects.is_empty());
    let answer = [0, 0, 0, 0, 0, 0, 0x9c, 0x41, 0, 0, 0x12, 0x34, 0, 0, 0, 0];
    let out = s.packet(id, &common::call_on_1(true, &answer), &mut state);
    assert!(!out.failed && !out.drop);
    assert_eq!(out.expects.len(), 1, "{out:?}");
    let e = out.expects[0];
    assert_eq!(
        (e.tuple.src, e.tuple.dst),
        (v4([10, 0, 0, 1]), v4([10, 0, 0, 2]))
    );
    assert_eq!((e.tuple.proto, e.tuple.dst_port), (6, 40001));
    assert!(e.any_src_port && !e.any_src_addr);
    // The answer was read: a repeat expects nothing.
    let again = s.packet(id, &common::call_on_1(true, &answer), &mut state);
    assert!(again.expects.is_empty());
}

#[test]
fn an_amanda_answer_expects_each_stream_from_the_server() {
    let mut s = set();
    let id = s.id_by_name("amanda").unwrap();
    let info = conn([10, 0, 0, 1], 850, [10, 0, 0, 2], 10080, 17);
    let mut state = s.assigned(id, 1, &info).expect("state");
    let rep = b"Amanda 3.5 REP HANDLE 000-00000001 SEQ 1\nSECURITY USER backup\n\
        CONNECT DATA 50000 MESG 50001 INDEX 50002 STATE 50003\nOPTIONS features=ff;\n";
    let out = s.packet(id, &common::call_on_1(true, rep), &mut state);
    assert!(!out.failed && !out.drop);
    let ports: Vec<u16> = out.expects.iter().map(|e| e.tuple.dst_port).collect();
    assert_eq!(ports, [50000, 50001, 50002, 50003]);
    for e in &out.expects {
        assert_eq!(
            (e.tuple.src, e.tuple.dst),
            (v4([10, 0, 0, 1]), v4([10, 0, 0, 2]))
        );
        assert_eq!(e.tuple.proto, 6);
    }
    // The answer stretches the master's timeout to 300 s (world 0.4.0's `timeout-s`).
    assert_eq!(out.timeout_s, Some(300));
    // The server's own request is not read.
    let req = s.packet(id, &common::call_on_1(false, rep), &mut state);
    assert!(req.expects.is_empty());
    assert_eq!(req.timeout_s, None);
}

/// Behind a source NAT, an SNMPv1 trap's agent address is rewritten by the component
/// to the address the manager sees (Linux's `nf_nat_snmp_basic`).
#[test]
fn an_snmp_trap_behind_snat_is_rewritten_by_the_component() {
    let mut s = set();
    let id = s.id_by_name("snmp").unwrap();
    let mut info = conn([10, 0, 0, 1], 40000, [198, 51, 100, 7], 162, 17);
    info.reply.dst = v4([192, 0, 2, 1]);
    let mut state = s.assigned(id, 1, &info).expect("state");
    let trap: &[u8] = &[
        0x30, 0x23, 0x02, 0x01, 0x00, 0x04, 0x06, b'p', b'u', b'b', b'l', b'i', b'c', 0xa4, 0x16,
        0x06, 0x03, 0x2b, 0x06, 0x01, 0x40, 0x04, 10, 0, 0, 1, 0x02, 0x01, 0x06, 0x02, 0x01, 0x01,
        0x43, 0x01, 0x01, 0x30, 0x00,
    ];
    let out = s.packet(id, &common::call_on_1(false, trap), &mut state);
    assert!(!out.failed && !out.drop, "{out:?}");
    assert_eq!(out.rewrites.len(), 1, "{out:?}");
    let e = &out.rewrites[0];
    assert_eq!(
        (e.offset, e.length, e.data.as_slice()),
        (22, 4, &[192, 0, 2, 1][..])
    );
}

/// A SIP call: `head` with an SDP body offering audio and video at `addr`.
fn sip_with_sdp(head: &str, addr: &str) -> Vec<u8> {
    let body = format!(
        "v=0\r\no=- 1 1 IN IP4 {addr}\r\ns=-\r\nc=IN IP4 {addr}\r\nt=0 0\r\n\
         m=audio 40000 RTP/AVP 0\r\nm=video 40002 RTP/AVP 96\r\n"
    );
    format!(
        "{head}\r\nCall-ID: 1@x\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[test]
fn a_sip_call_expects_rtp_and_rtcp_per_stream_from_the_peer() {
    let mut s = set();
    let id = s.id_by_name("sip").unwrap();
    let info = conn([10, 0, 0, 1], 5060, [10, 0, 0, 2], 5060, 17);
    let mut state = s.assigned(id, 1, &info).expect("state");
    let invite = sip_with_sdp(
        "INVITE sip:b@10.0.0.2 SIP/2.0\r\nCSeq: 1 INVITE",
        "10.0.0.1",
    );
    let out = s.packet(id, &common::call_on_1(false, &invite), &mut state);
    assert!(!out.failed && !out.drop);
    // World 0.4.0's answers: the INVITE flushes the earlier media, the signalling
    // connection lives 3600 s from now.
    assert_eq!(
        (out.flush_classes.as_slice(), out.timeout_s),
        (&[1, 2, 3][..], Some(3600))
    );
    let got: Vec<(u8, u16)> = out
        .expects
        .iter()
        .map(|e| (e.class, e.tuple.dst_port))
        .collect();
    assert_eq!(got, [(1, 40000), (1, 40001), (2, 40002), (2, 40003)]);
    for e in &out.expects {
        assert_eq!(
            (e.tuple.src, e.tuple.dst, e.tuple.proto),
            (v4([10, 0, 0, 2]), v4([10, 0, 0, 1]), 17)
        );
        assert!(e.any_src_port && !e.any_src_addr && !e.permanent);
        assert_eq!(e.timeout_s, 180);
    }
    // The answer expects the callee's side; an offer of a third address nothing.
    let answer = sip_with_sdp("SIP/2.0 200 OK\r\nCSeq: 1 INVITE", "10.0.0.2");
    let out = s.packet(id, &common::call_on_1(true, &answer), &mut state);
    assert_eq!(out.expects.len(), 4);
    assert_eq!(out.expects[0].tuple.dst, v4([10, 0, 0, 2]));
    let elsewhere = sip_with_sdp("SIP/2.0 200 OK\r\nCSeq: 1 INVITE", "10.0.0.9");
    assert!(s
        .packet(id, &common::call_on_1(true, &elsewhere), &mut state)
        .expects
        .is_empty());
    // A request without a CSeq is dropped.
    let bad = s.packet(
        id,
        &common::call_on_1(false, b"INVITE sip:b@10.0.0.2 SIP/2.0\r\n\r\n"),
        &mut state,
    );
    assert!(bad.drop && !bad.failed);
    // A BYE flushes the media and expects nothing.
    let bye = b"BYE sip:b@10.0.0.2 SIP/2.0\r\nCSeq: 2 BYE\r\nl: 0\r\n\r\n";
    let out = s.packet(id, &common::call_on_1(false, bye), &mut state);
    assert_eq!(out.flush_classes, [1, 2, 3], "{out:?}");
    assert!(out.expects.is_empty());
}

#[test]
fn a_sip_registration_expects_calls_from_the_registrar() {
    let mut s = set();
    let id = s.id_by_name("sip").unwrap();
    let info = conn([10, 0, 0, 1], 5060, [10, 0, 0, 2], 5060, 17);
    let mut state = s.assigned(id, 1, &info).expect("state");
    let reg = b"REGISTER sip:10.0.0.2 SIP/2.0\r\nCSeq: 3 REGISTER\r\n\
        m: <sip:alice@10.0.0.1:5070>;expires=600\r\nl: 0\r\n\r\n";
    let out = s.packet(id, &common::call_on_1(false, reg), &mut state);
    assert_eq!(out.expects.len(), 1, "{out:?}");
    let e = out.expects[0];
    assert_eq!(
        (e.tuple.src, e.tuple.dst, e.tuple.dst_port),
        (v4([10, 0, 0, 2]), v4([10, 0, 0, 1]), 5070)
    );
    assert!(e.permanent && e.any_src_port && !e.any_src_addr);
    assert_eq!((e.class, e.timeout_s), (0, 3600));
}
