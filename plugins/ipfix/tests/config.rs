//! The config section: defaults, and errors that name the field.

use brickwall_ipfix::config::parse;
use std::time::Duration;

fn err(json: &str, wanted: &str) {
    match parse(json) {
        Ok(s) => panic!("accepted {json}: {s:?}"),
        Err(e) => assert!(e.contains(wanted), "{e}\n  wanted: {wanted}"),
    }
}

#[test]
fn defaults_and_lists() {
    let s = parse(r#"{"collector": "127.0.0.1:4739"}"#).unwrap();
    assert_eq!(s.collectors, ["127.0.0.1:4739".parse().unwrap()]);
    assert_eq!(s.domain, 0);
    assert_eq!(s.template_refresh, Duration::from_secs(60));
    assert_eq!(s.template_refresh_messages, 0);
    assert!(s.active_timeout.is_zero());
    assert_eq!((s.queue, s.max_message), (65_536, 1400));
    assert!(s.flush_on_stop);
    assert!(s.mark.is_none());
    let s = parse(
        r#"{"collector": ["127.0.0.1:4739", "[::1]:2055"], "domain": 7, "active_timeout": 60,
            "template_refresh": 0, "template_refresh_messages": 20, "mark": {"enterprise": 32473, "id": 1}}"#,
    )
    .unwrap();
    assert_eq!(s.collectors.len(), 2);
    assert_eq!(s.domain, 7);
    assert_eq!(s.active_timeout, Duration::from_secs(60));
    assert!(s.mark.is_some());
}

#[test]
fn errors_name_the_field() {
    err(r#"{}"#, "missing field `collector`");
    err(
        r#"{"collector": "127.0.0.1:4739", "domian": 1}"#,
        "unknown field `domian`",
    );
    err(r#"{"collector": "127.0.0.1"}"#, "collector: `127.0.0.1`");
    err(
        r#"{"collector": ["127.0.0.1:1", "nowhere"]}"#,
        "collector[1]: `nowhere`",
    );
    err(r#"{"collector": []}"#, "collector: no collector");
    err(
        r#"{"collector": "127.0.0.1:0"}"#,
        "collector: `127.0.0.1:0`: port 0",
    );
    err(r#"{"collector": "127.0.0.1:1", "domain": -1}"#, "domain:");
    err(
        r#"{"collector": "127.0.0.1:1", "max_message": 100}"#,
        "max_message: 100",
    );
    err(r#"{"collector": "127.0.0.1:1", "queue": 0}"#, "queue:");
    err(
        r#"{"collector": "127.0.0.1:1", "flush_ms": 0}"#,
        "flush_ms:",
    );
    err(
        r#"{"collector": "127.0.0.1:1", "mark": {"enterprise": 1, "id": 40000}}"#,
        "mark.id: 40000",
    );
    err(
        r#"{"collector": "127.0.0.1:1", "mark": {"enterprise": 1, "ide": 4}}"#,
        "mark.ide: unknown field `ide`",
    );
    err(
        r#"{"collector": "127.0.0.1:1", "active_timeout": "1m"}"#,
        "active_timeout:",
    );
}
