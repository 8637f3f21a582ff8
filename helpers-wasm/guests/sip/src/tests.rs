//! The helper on whole calls and registrations, natively.

use super::*;

const PHONE: [u8; 4] = [192, 168, 1, 2];
const PROXY: [u8; 4] = [203, 0, 113, 5];

fn conn(protocol: u8) -> ConnInfo {
    ConnInfo::of(Tuple {
        src: Addr::V4(PHONE),
        dst: Addr::V4(PROXY),
        protocol,
        src_port: 5060,
        dst_port: 5060,
    })
}

fn packet(st: &mut State, dir: Direction, ct: CtState, payload: &[u8]) -> Outcome {
    let pkt = Packet {
        conn: 1,
        dir,
        ct,
        seq: 0,
        tcp_flags: 0x18,
        payload,
    };
    Sip::packet(&pkt, st)
}

fn with_body(head: &str, body: &str) -> Vec<u8> {
    format!(
        "{head}\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn offer(addr: &str, port: u16) -> String {
    format!(
        "v=0\r\no=- 1 1 IN IP4 {addr}\r\ns=-\r\nc=IN IP4 {addr}\r\nt=0 0\r\n\
         m=audio {port} RTP/AVP 0 8\r\nm=video {} RTP/AVP 96\r\n",
        port + 100
    )
}

fn invite(cseq: u32, body: &str) -> Vec<u8> {
    with_body(
        &format!(
            "INVITE sip:bob@203.0.113.5 SIP/2.0\r\nVia: SIP/2.0/UDP 192.168.1.2:5060\r\n\
             Call-ID: c1@192.168.1.2\r\nCSeq: {cseq} INVITE"
        ),
        body,
    )
}

fn ok(cseq: u32, method: &str, body: &str) -> Vec<u8> {
    with_body(
        &format!("SIP/2.0 200 OK\r\ni: c1@192.168.1.2\r\nCSeq: {cseq} {method}"),
        body,
    )
}

#[test]
fn an_invite_expects_rtp_and_rtcp_from_the_peer_per_stream() {
    let mut st = State::new(Sip::assigned(&conn(proto::UDP)));
    let out = packet(
        &mut st,
        Direction::Original,
        CtState::New,
        &invite(1, &offer("192.168.1.2", 49171)),
    );
    assert_eq!(out.verdict, None);
    let got: Vec<(u8, u16)> = out
        .expects
        .iter()
        .map(|e| (e.class, e.tuple.dst_port))
        .collect();
    assert_eq!(
        got,
        vec![
            (sdp::class::AUDIO, 49170),
            (sdp::class::AUDIO, 49171),
            (sdp::class::VIDEO, 49270),
            (sdp::class::VIDEO, 49271)
        ]
    );
    for e in &out.expects {
        assert_eq!(e.tuple.src, Addr::V4(PROXY));
        assert_eq!(e.tuple.dst, Addr::V4(PHONE));
        assert_eq!(e.tuple.protocol, proto::UDP);
        assert!(e.any_src_port && !e.any_src_addr && !e.permanent);
        assert_eq!(e.timeout_s, MEDIA_TIMEOUT_S);
        assert_eq!(e.nat, None);
    }
    assert_eq!(Session::decode(st.get()).unwrap().invite_cseq, 1);
    // The answer, from the other side, expects the phone's side to reach the proxy.
    let out = packet(
        &mut st,
        Direction::Reply,
        CtState::Established,
        &ok(1, "INVITE", &offer("203.0.113.5", 30000)),
    );
    assert_eq!(out.expects.len(), 4);
    assert_eq!(out.expects[0].tuple.src, Addr::V4(PHONE));
    assert_eq!(out.expects[0].tuple.dst, Addr::V4(PROXY));
}

#[test]
fn media_elsewhere_than_the_sender_is_not_expected() {
    let mut st = State::new(Sip::assigned(&conn(proto::UDP)));
    let out = packet(
        &mut st,
        Direction::Original,
        CtState::New,
        &invite(1, &offer("10.9.9.9", 4000)),
    );
    assert!(out.expects.is_empty());
    assert_eq!(out.verdict, None);
}

#[test]
fn handled_methods_and_responses() {
    let body = offer("192.168.1.2", 5000);
    let mut st = State::new(Sip::assigned(&conn(proto::UDP)));
    let o = Direction::Original;
    let est = CtState::Established;
    for method in ["ACK", "UPDATE", "PRACK"] {
        let m = with_body(
            &format!("{method} sip:b@203.0.113.5 SIP/2.0\r\nCSeq: 2 {method}"),
            &body,
        );
        assert_eq!(packet(&mut st, o, est, &m).expects.len(), 4, "{method}");
    }
    for method in ["OPTIONS", "MESSAGE", "BYE", "CANCEL"] {
        let m = with_body(
            &format!("{method} sip:b@203.0.113.5 SIP/2.0\r\nCSeq: 2 {method}"),
            &body,
        );
        assert!(packet(&mut st, o, est, &m).expects.is_empty(), "{method}");
    }
    // 183 with a body counts; a 486 and an answer to OPTIONS do not.
    let mut ringing = ok(1, "INVITE", &body);
    ringing[8..11].copy_from_slice(b"183");
    assert_eq!(packet(&mut st, o, est, &ringing).expects.len(), 4);
    let mut busy = ringing.clone();
    busy[8..11].copy_from_slice(b"486");
    assert!(packet(&mut st, o, est, &busy).expects.is_empty());
    assert!(packet(&mut st, o, est, &ok(1, "OPTIONS", &body))
        .expects
        .is_empty());
}

#[test]
fn unreadable_messages_are_dropped() {
    let mut st = State::new(Sip::assigned(&conn(proto::UDP)));
    let o = Direction::Original;
    let est = CtState::Established;
    let drop = Some(Verdict::Drop);
    // No CSeq; a status code of letters; a wrapped CSeq of 0.
    assert_eq!(
        packet(&mut st, o, est, b"INVITE sip:x SIP/2.0\r\nTo: y\r\n\r\n").verdict,
        drop
    );
    assert_eq!(
        packet(&mut st, o, est, b"SIP/2.0 OK OK\r\nCSeq: 1 INVITE\r\n\r\n").verdict,
        drop
    );
    assert_eq!(
        packet(
            &mut st,
            o,
            est,
            b"BYE sip:x SIP/2.0\r\nCSeq: 4294967296 BYE\r\n\r\n"
        )
        .verdict,
        drop
    );
    // A media port below 1024: the stream before it is still expected.
    let body = "v=0\r\nc=IN IP4 192.168.1.2\r\nm=audio 5000 RTP/AVP 0\r\nm=video 80 RTP/AVP 0\r\n";
    let out = packet(&mut st, o, est, &invite(3, body));
    assert_eq!(out.verdict, drop);
    assert_eq!(out.expects.len(), 2);
    assert_eq!(Session::decode(st.get()).unwrap().invite_cseq, 0);
    // Short and unknown payloads pass unread.
    assert_eq!(packet(&mut st, o, est, b"\r\n\r\n").verdict, None);
    assert_eq!(packet(&mut st, o, est, b"hello there, world").verdict, None);
    // State the host never wrote.
    let mut junk = State::new(vec![9; 5]);
    assert_eq!(
        packet(&mut junk, o, est, &invite(1, body)),
        Outcome::accept()
    );
}

fn register(contact: &str, expires: &str) -> Vec<u8> {
    format!(
        "REGISTER sip:203.0.113.5 SIP/2.0\r\nVia: SIP/2.0/UDP 192.168.1.2:5060\r\n\
         CSeq: 7 REGISTER\r\nContact: {contact}\r\n{expires}Content-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

#[test]
fn a_registration_expects_calls_from_the_registrar() {
    let mut st = State::new(Sip::assigned(&conn(proto::UDP)));
    let o = Direction::Original;
    let out = packet(
        &mut st,
        o,
        CtState::New,
        &register("<sip:alice@192.168.1.2:5062>", "Expires: 3600\r\n"),
    );
    assert_eq!(out.expects.len(), 1);
    let e = out.expects[0];
    assert_eq!(
        e.tuple,
        Tuple {
            src: Addr::V4(PROXY),
            dst: Addr::V4(PHONE),
            protocol: proto::UDP,
            src_port: 0,
            dst_port: 5062,
        }
    );
    assert!(e.permanent && e.any_src_port && !e.any_src_addr);
    assert_eq!(
        (e.class, e.timeout_s),
        (sdp::class::SIGNALLING, SIGNALLING_TIMEOUT_S)
    );
    assert_eq!(Session::decode(st.get()).unwrap().register_cseq, 7);
    // The contact's own expires= wins; 0 releases the binding: nothing expected.
    let none = register("<sip:alice@192.168.1.2>;expires=0", "Expires: 3600\r\n");
    assert!(packet(&mut st, o, CtState::New, &none).expects.is_empty());
    // No expiry at all, a third party's contact, another transport: nothing.
    for m in [
        register("<sip:alice@192.168.1.2>", ""),
        register("<sip:alice@192.168.1.77>", "Expires: 60\r\n"),
        register("<sip:alice@192.168.1.2;transport=tcp>", "Expires: 60\r\n"),
    ] {
        assert!(packet(&mut st, o, CtState::New, &m).expects.is_empty());
    }
    // A TCP contact on a TCP connection, the default port.
    let mut tcp = State::new(Sip::assigned(&conn(proto::TCP)));
    let m = register("<sip:alice@192.168.1.2;transport=TCP>", "Expires: 60\r\n");
    let out = packet(&mut tcp, o, CtState::Established, &m);
    assert_eq!(out.expects[0].tuple.protocol, proto::TCP);
    assert_eq!(out.expects[0].tuple.dst_port, msg::SIP_PORT);
    // A contact port below 1024 drops the request.
    let bad = register("<sip:alice@192.168.1.2:80>", "Expires: 60\r\n");
    assert_eq!(
        packet(&mut st, o, CtState::New, &bad).verdict,
        Some(Verdict::Drop)
    );
    // A connection that was itself expected does not register.
    let mut exp = State::new(Sip::assigned(&conn(proto::UDP)));
    packet(
        &mut exp,
        o,
        CtState::Related,
        b"OPTIONS sip:x SIP/2.0\r\n\r\n",
    );
    let m = register("<sip:alice@192.168.1.2>", "Expires: 60\r\n");
    assert!(packet(&mut exp, o, CtState::Established, &m)
        .expects
        .is_empty());
}

#[test]
fn tcp_reads_whole_messages_of_a_segment_when_established() {
    let mut st = State::new(Sip::assigned(&conn(proto::TCP)));
    let o = Direction::Original;
    let a = invite(1, &offer("192.168.1.2", 6000));
    let b = invite(2, &offer("192.168.1.2", 7000));
    let mut both = a.clone();
    both.extend_from_slice(&b);
    assert_eq!(
        packet(&mut st, o, CtState::Established, &both)
            .expects
            .len(),
        8
    );
    // A message cut in two is read in neither segment.
    let (head, tail) = a.split_at(a.len() / 2);
    assert!(packet(&mut st, o, CtState::Established, head)
        .expects
        .is_empty());
    assert!(packet(&mut st, o, CtState::Established, tail)
        .expects
        .is_empty());
    // Before the connection is established nothing is read.
    assert!(packet(&mut st, o, CtState::New, &a).expects.is_empty());
    // The first message that drops ends the segment.
    let mut bad = b"BYE sip:x SIP/2.0\r\nContent-Length: 0\r\n\r\n".to_vec();
    bad.extend_from_slice(&a);
    let out = packet(&mut st, o, CtState::Established, &bad);
    assert_eq!(out.verdict, Some(Verdict::Drop));
    assert!(out.expects.is_empty());
}

#[test]
fn ipv6_calls() {
    let phone = Addr::V6([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
    let c = ConnInfo::of(Tuple {
        src: phone,
        dst: Addr::V6([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5]),
        protocol: proto::UDP,
        src_port: 5060,
        dst_port: 5060,
    });
    let mut st = State::new(Sip::assigned(&c));
    let body = "v=0\r\nc=IN IP6 2001:db8::2\r\nm=audio 8000 RTP/AVP 0\r\n";
    let out = packet(&mut st, Direction::Original, CtState::New, &invite(1, body));
    assert_eq!(out.expects.len(), 2);
    assert_eq!(out.expects[0].tuple.dst, phone);
    let reg = register("<sip:a@[2001:db8::2]:5070>", "Expires: 60\r\n");
    let out = packet(&mut st, Direction::Original, CtState::New, &reg);
    assert_eq!(out.expects[0].tuple.dst_port, 5070);
}

#[test]
fn state_sizes() {
    assert_eq!(Sip::assigned(&conn(proto::UDP)).len(), 37);
}

#[test]
fn line_breaks_are_cr_lf_or_crlf() {
    use crate::msg::after_line_break;
    let m = b"a\r\nb\nc\rd";
    assert_eq!(after_line_break(m, 0), Some(3));
    assert_eq!(after_line_break(m, 3), Some(5));
    assert_eq!(after_line_break(m, 5), Some(7));
    assert_eq!(after_line_break(m, 7), None);
    assert_eq!(after_line_break(m, 99), None);
    assert_eq!(after_line_break(b"x\r", 0), Some(2), "a CR at the end");
}

#[test]
fn invites_byes_and_failed_invites_flush_the_media() {
    let body = offer("192.168.1.2", 5000);
    let mut st = State::new(Sip::assigned(&conn(proto::UDP)));
    let (o, r, est) = (Direction::Original, Direction::Reply, CtState::Established);
    // An INVITE flushes before it expects its own streams.
    let out = packet(&mut st, o, CtState::New, &invite(5, &body));
    assert_eq!(out.flush_expected, MEDIA_CLASSES);
    assert_eq!(out.expects.len(), 4);
    // A success answer and other requests flush nothing.
    let out = packet(
        &mut st,
        r,
        est,
        &ok(5, "INVITE", &offer("203.0.113.5", 30000)),
    );
    assert!(out.flush_expected.is_empty() && out.expects.len() == 4);
    let options = with_body("OPTIONS sip:b@203.0.113.5 SIP/2.0\r\nCSeq: 6 OPTIONS", "");
    assert!(packet(&mut st, o, est, &options).flush_expected.is_empty());
    // A failure answer to an older INVITE flushes nothing; to the last one, the media.
    let mut busy = ok(4, "INVITE", "");
    busy[8..11].copy_from_slice(b"486");
    assert!(packet(&mut st, r, est, &busy).flush_expected.is_empty());
    let mut busy = ok(5, "INVITE", "");
    busy[8..11].copy_from_slice(b"486");
    assert_eq!(packet(&mut st, r, est, &busy).flush_expected, MEDIA_CLASSES);
    // So does one to an UPDATE or PRACK of the INVITE's CSeq.
    let mut failed = ok(5, "UPDATE", "");
    failed[8..11].copy_from_slice(b"500");
    assert_eq!(
        packet(&mut st, r, est, &failed).flush_expected,
        MEDIA_CLASSES
    );
    // A BYE.
    let bye = with_body("BYE sip:b@203.0.113.5 SIP/2.0\r\nCSeq: 7 BYE", "");
    let out = packet(&mut st, o, est, &bye);
    assert_eq!(out.flush_expected, MEDIA_CLASSES);
    assert!(out.expects.is_empty());
}

/// The registrar's answer to REGISTER `cseq` with status `code`.
fn register_answer(cseq: u32, code: u32, contact: &str) -> Vec<u8> {
    format!(
        "SIP/2.0 {code} OK\r\nCSeq: {cseq} REGISTER\r\nContact: {contact}\r\n\
         Expires: 60\r\nContent-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

#[test]
fn the_registrars_answer_keeps_or_flushes_the_registration() {
    let mut st = State::new(Sip::assigned(&conn(proto::UDP)));
    let (o, r, est) = (Direction::Original, Direction::Reply, CtState::Established);
    let req = register("<sip:alice@192.168.1.2:5062>", "Expires: 3600\r\n");
    assert_eq!(packet(&mut st, o, CtState::New, &req).expects.len(), 1);
    let signalling = [sdp::class::SIGNALLING];
    let flushed = |st: &mut State, m: &[u8]| packet(st, r, est, m).flush_expected;
    let mine = "<sip:alice@192.168.1.2:5062>";
    // A 1xx, or an answer to another REGISTER: nothing.
    assert!(flushed(&mut st, &register_answer(7, 100, mine)).is_empty());
    assert!(flushed(&mut st, &register_answer(6, 403, mine)).is_empty());
    // A 2xx with the phone's contact keeps it.
    assert!(flushed(&mut st, &register_answer(7, 200, mine)).is_empty());
    // A 2xx releasing the binding, naming someone else only, or with no contact, and
    // a failure: the signalling expectation goes.
    let released = "<sip:alice@192.168.1.2:5062>;expires=0";
    assert_eq!(
        flushed(&mut st, &register_answer(7, 200, released)),
        signalling
    );
    let other = "<sip:alice@192.168.1.77:5062>";
    assert_eq!(
        flushed(&mut st, &register_answer(7, 200, other)),
        signalling
    );
    let two = "<sip:alice@192.168.1.77:5062>\r\nContact: <sip:alice@192.168.1.2:5062>";
    assert!(flushed(&mut st, &register_answer(7, 200, two)).is_empty());
    let no_contact = b"SIP/2.0 200 OK\r\nCSeq: 7 REGISTER\r\nContent-Length: 0\r\n\r\n";
    assert_eq!(flushed(&mut st, no_contact), signalling);
    assert_eq!(flushed(&mut st, &register_answer(7, 401, mine)), signalling);
    // A 2xx whose contact cannot be read is dropped.
    let bad = packet(
        &mut st,
        r,
        est,
        &register_answer(7, 200, "<sip:a@192.168.1.2:80>"),
    );
    assert_eq!(bad.verdict, Some(Verdict::Drop));
}

#[test]
fn each_message_stretches_the_signalling_connection() {
    let bye = with_body("BYE sip:b@203.0.113.5 SIP/2.0\r\nCSeq: 7 BYE", "");
    let mut udp = State::new(Sip::assigned(&conn(proto::UDP)));
    for (dir, ct) in [
        (Direction::Original, CtState::New),
        (Direction::Reply, CtState::Established),
    ] {
        let out = packet(&mut udp, dir, ct, &bye);
        assert_eq!(out.timeout_s, Some(SIGNALLING_TIMEOUT_S));
        // Payloads too short to read as well.
        assert_eq!(packet(&mut udp, dir, ct, b"\r\n").timeout_s, Some(3600));
    }
    // Over TCP only established connections are read and stretched.
    let mut tcp = State::new(Sip::assigned(&conn(proto::TCP)));
    assert_eq!(
        packet(&mut tcp, Direction::Original, CtState::New, &bye).timeout_s,
        None
    );
    let out = packet(&mut tcp, Direction::Original, CtState::Established, &bye);
    assert_eq!(out.timeout_s, Some(3600));
    assert_eq!(out.flush_expected, MEDIA_CLASSES);
}
