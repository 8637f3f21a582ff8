//! Frames, requests and responses of the control protocol.

use super::*;
use serde_json::json;

#[test]
fn frames_round_trip_and_split_anywhere() {
    let mut wire = Vec::new();
    write_frame(&mut wire, b"{\"a\":1}").unwrap();
    write_frame(&mut wire, b"").unwrap();
    write_frame(&mut wire, b"[2]").unwrap();
    assert_eq!(&wire[..4], &[0, 0, 0, 7]);
    let mut r = &wire[..];
    assert_eq!(read_frame(&mut r).unwrap(), b"{\"a\":1}");
    assert_eq!(read_frame(&mut r).unwrap(), b"");
    assert_eq!(read_frame(&mut r).unwrap(), b"[2]");
    assert!(matches!(read_frame(&mut r), Err(FrameError::Closed)));
    // The decoder gives the same frames whatever the chunking.
    for chunk in 1..wire.len() {
        let mut d = Decoder::default();
        let mut out = Vec::new();
        for c in wire.chunks(chunk) {
            d.feed(c);
            while let Some(f) = d.next_frame().unwrap() {
                out.push(f);
            }
        }
        assert_eq!(out, vec![b"{\"a\":1}".to_vec(), vec![], b"[2]".to_vec()]);
        assert!(!d.is_mid_frame());
    }
}

#[test]
fn a_frame_cut_short_is_an_error_not_a_close() {
    let mut r: &[u8] = &[0, 0, 0, 9, b'{'];
    assert!(matches!(read_frame(&mut r), Err(FrameError::Io(_))));
    let mut r: &[u8] = &[0, 0];
    assert!(matches!(read_frame(&mut r), Err(FrameError::Io(_))));
}

#[test]
fn an_absurd_length_is_refused_before_its_body() {
    let mut d = Decoder::default();
    d.feed(&[0x7f, 0xff, 0xff, 0xff]);
    match d.next_frame() {
        Err(FrameError::TooLarge(n)) => assert_eq!(n, 0x7fff_ffff),
        other => panic!("{other:?}"),
    }
    let limit = (MAX_FRAME as u32 + 1).to_be_bytes();
    let mut r: &[u8] = &limit;
    assert!(matches!(read_frame(&mut r), Err(FrameError::TooLarge(_))));
    assert!(write_frame(&mut Vec::new(), &vec![0; MAX_FRAME + 1]).is_err());
}

#[test]
fn requests_parse_and_check_the_version_first() {
    let body = encode_request("conntrack", &json!({"op": "count"}));
    assert_eq!(
        parse_request(&body).unwrap(),
        Request {
            target: "conntrack".into(),
            request: json!({"op": "count"})
        }
    );
    // Another version wins over every other problem of the request.
    let e = parse_request(br#"{"v":2,"bogus":true}"#).unwrap_err();
    assert_eq!(e, "protocol version 2 not supported (this engine speaks 1)");
    let e = parse_request(br#"{"v":"1","target":"x","request":1}"#).unwrap_err();
    assert_eq!(
        e,
        "protocol version \"1\" not supported (this engine speaks 1)"
    );
    for (body, want) in [
        (&b"nope"[..], "malformed request: not JSON"),
        (b"[1]", "malformed request: expected an object"),
        (
            br#"{"target":"x","request":1}"#,
            "malformed request: missing \"v\"",
        ),
        (
            br#"{"v":1,"request":1}"#,
            "malformed request: missing \"target\"",
        ),
        (
            br#"{"v":1,"target":7,"request":1}"#,
            "malformed request: \"target\" must be a string",
        ),
        (
            br#"{"v":1,"target":"x"}"#,
            "malformed request: missing \"request\"",
        ),
        (
            br#"{"v":1,"target":"x","request":1,"x":0}"#,
            "malformed request: unknown field \"x\"",
        ),
    ] {
        let e = parse_request(body).unwrap_err();
        assert!(e.starts_with(want), "{e}");
    }
}

#[test]
fn payloads_and_answers_convert_as_documented() {
    assert_eq!(request_payload(&json!("stats")), b"stats");
    assert_eq!(
        request_payload(&json!({"op": "count"})),
        br#"{"op":"count"}"#
    );
    assert_eq!(response_value(b"{\"count\":3}"), json!({"count": 3}));
    assert_eq!(response_value(b"12"), json!(12));
    assert_eq!(response_value(b"tcp 6 ...\n"), json!("tcp 6 ...\n"));
    assert_eq!(response_value(b""), json!(""));
}

#[test]
fn responses_round_trip_and_foreign_versions_are_named() {
    for r in [Response::Ok(json!({"a": [1]})), Response::Err("no".into())] {
        assert_eq!(Response::decode(&r.encode()).unwrap(), r);
    }
    assert_eq!(
        Response::Ok(json!(1)).to_json(),
        json!({"v": 1, "ok": true, "response": 1})
    );
    assert_eq!(
        Response::Err("x".into()).to_json(),
        json!({"v": 1, "ok": false, "error": "x"})
    );
    let e = Response::decode(br#"{"v":2,"ok":true}"#).unwrap_err();
    assert!(e.contains("protocol version 2"), "{e}");
    assert!(Response::decode(b"[]").is_err());
}
