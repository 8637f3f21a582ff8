//! The config section: what it accepts, and errors that name the field.

use brickwall_sync::config::{parse, Mode};
use std::net::Ipv4Addr;

#[test]
fn a_conntrackd_like_section_is_read() {
    let s = parse(
        r#"{"mode":"notrack","udp":{"ipv4_address":"192.168.100.100",
            "ipv4_destination_address":"192.168.100.101","interface":"eth2"}}"#,
    )
    .unwrap();
    assert_eq!(s.mode, Mode::Notrack);
    let udp = s.udp.as_ref().unwrap();
    assert_eq!(udp.ipv4_address, Some(Ipv4Addr::new(192, 168, 100, 100)));
    assert_eq!(
        udp.ipv4_destination_address,
        Some(Ipv4Addr::new(192, 168, 100, 101))
    );
    assert_eq!(udp.port, 3780);
    assert_eq!(udp.interface.as_deref(), Some("eth2"));
    assert_eq!(s.queue, 65536);
    assert_eq!(s.peer(), Ipv4Addr::new(192, 168, 100, 101));
    let v6 = parse(
        r#"{"mode":"notrack","udp":{"ipv6_address":"fd00::1","ipv6_destination_address":"fd00::2"}}"#,
    )
    .unwrap();
    assert_eq!(v6.peer(), "fd00::2".parse::<std::net::IpAddr>().unwrap());
    let m = parse(
        r#"{"mode":"notrack","multicast":{"ipv4_address":"225.0.0.50","group":3781,
            "ipv4_interface":"192.168.100.100","peer":"192.168.100.101"}}"#,
    )
    .unwrap();
    assert_eq!(m.multicast.as_ref().unwrap().group, 3781);
    assert_eq!(m.peer(), Ipv4Addr::new(192, 168, 100, 101));
}

#[test]
fn errors_name_the_field() {
    let udp = r#""udp":{"ipv4_address":"10.0.0.1","ipv4_destination_address":"10.0.0.2"}"#;
    for (json, field) in [
        (format!(r#"{{"mode":"alarm",{udp}}}"#), "mode"),
        (format!(r#"{{"mode":"ftfw",{udp},"ack_window_size":0}}"#), "ack_window_size"),
        (r#"{"mode":"notrack"}"#.to_string(), "udp"),
        (
            r#"{"mode":"notrack","udp":{"ipv4_address":"10.0.0.300","ipv4_destination_address":"10.0.0.2"}}"#
                .to_string(),
            "udp.ipv4_address",
        ),
        (
            r#"{"mode":"notrack","udp":{"ipv4_address":"10.0.0.1","ipv4_destination_address":"10.0.0.2","port":0}}"#
                .to_string(),
            "udp.port",
        ),
        (
            r#"{"mode":"notrack","udp":{"ipv4_address":"10.0.0.1","ipv4_destination_address":"10.0.0.2","prot":1}}"#
                .to_string(),
            "udp",
        ),
        (
            r#"{"mode":"notrack","udp":{"ipv4_address":"10.0.0.1","ipv4_destination_address":"10.0.0.2","interface":"much-too-long-name"}}"#
                .to_string(),
            "udp.interface",
        ),
        (format!(r#"{{"mode":"notrack",{udp},"queue":0}}"#), "queue"),
        (
            r#"{"mode":"notrack","udp":{"ipv4_address":"10.0.0.1","ipv6_destination_address":"fd00::2"}}"#
                .to_string(),
            "udp.ipv4_address",
        ),
        (
            r#"{"mode":"notrack","multicast":{"ipv4_address":"10.0.0.1","ipv4_interface":"10.0.0.2","peer":"10.0.0.3"}}"#
                .to_string(),
            "multicast.ipv4_address",
        ),
        (
            r#"{"mode":"notrack","multicast":{"ipv4_address":"225.0.0.50","ipv4_interface":"10.0.0.2"}}"#
                .to_string(),
            "peer",
        ),
        (
            format!(r#"{{"mode":"notrack",{udp},"multicast":{{"ipv4_address":"225.0.0.50","ipv4_interface":"10.0.0.2","peer":"10.0.0.3"}}}}"#),
            "multicast",
        ),
        (
            r#"{"mode":"notrack","multicast":{"ipv4_address":"10.0.0.1","ipv4_interface":"10.0.0.2","peer":"10.0.0.3"}}"#
                .to_string(),
            "multicast.ipv4_address",
        ),
        (
            r#"{"mode":"notrack","multicast":{"ipv4_address":"225.0.0.50","ipv4_interface":"10.0.0.2"}}"#
                .to_string(),
            "peer",
        ),
        (
            format!(r#"{{"mode":"notrack",{udp},"multicast":{{"ipv4_address":"225.0.0.50","ipv4_interface":"10.0.0.2","peer":"10.0.0.3"}}}}"#),
            "multicast",
        ),
    ] {
        let e = parse(&json).unwrap_err();
        let named = e.starts_with(&format!("config: {field}"))
            || e.contains(&format!("field `{field}`"));
        assert!(named, "{json}: {e}");
    }
}
