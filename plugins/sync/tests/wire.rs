//! The wire format on its own: messages built and read back, the layout conntrackd
//! expects byte by byte, and bytes cut short or garbled, which give errors and never
//! panics.

use brickwall_sync::wire::conntrack::{Addrs, Conntrack, SeqAdj, Synproxy};
use brickwall_sync::wire::expect::{Expect, Tuple};
use brickwall_sync::wire::message::{Action, Body, Control, Message, Messages};
use brickwall_sync::wire::Error;
use proptest::prelude::*;
use std::net::{Ipv4Addr, Ipv6Addr};

fn tcp() -> Conntrack {
    Conntrack {
        addrs: Some(Addrs::V4 {
            src: Ipv4Addr::new(10, 77, 0, 1),
            dst: Ipv4Addr::new(10, 77, 0, 2),
        }),
        l4proto: Some(6),
        ports: Some((40000, 80)),
        tcp_state: Some(3),
        tcp_wscale: (Some(7), Some(9)),
        status: Some(0x18e),
        timeout: Some(432000),
        mark: Some(0xdead_beef),
        ..Conntrack::default()
    }
}

fn everything() -> Conntrack {
    Conntrack {
        addrs: Some(Addrs::V6 {
            src: "fd77::1".parse().unwrap(),
            dst: "fd77::2".parse().unwrap(),
        }),
        l4proto: Some(132),
        ports: Some((1, 65535)),
        sctp_state: Some(3),
        sctp_vtag: (Some(1), Some(0xffff_ffff)),
        dccp_state: Some(2),
        dccp_role: Some(1),
        icmp_type: Some(8),
        icmp_code: Some(0),
        icmp_id: Some(0x1234),
        status: Some(1),
        timeout: Some(0),
        mark: Some(0),
        master_addrs: Some(Addrs::V4 {
            src: Ipv4Addr::new(1, 2, 3, 4),
            dst: Ipv4Addr::new(5, 6, 7, 8),
        }),
        master_l4proto: Some(6),
        master_ports: Some((1024, 21)),
        snat_v4: Some(Ipv4Addr::new(192, 0, 2, 1)),
        dnat_v4: Some(Ipv4Addr::new(192, 0, 2, 2)),
        snat_v6: Some(Ipv6Addr::LOCALHOST),
        dnat_v6: Some("2001:db8::1".parse().unwrap()),
        spat_port: Some(8080),
        dpat_port: Some(443),
        seq_adj: Some(SeqAdj {
            orig: [1, 2, 3],
            reply: [4, 5, 6],
        }),
        helper: Some("ftp".into()),
        labels: Some(vec![0x8000_0001, 0, 4]),
        synproxy: Some(Synproxy {
            its: 7,
            isn: 8,
            tsoff: 9,
        }),
        ..Conntrack::default()
    }
}

fn expect() -> Expect {
    Expect {
        master: Tuple {
            addrs: Some(Addrs::V4 {
                src: Ipv4Addr::new(10, 77, 0, 1),
                dst: Ipv4Addr::new(10, 77, 0, 2),
            }),
            l4proto: Some(6),
            ports: Some((40000, 21)),
        },
        expected: Tuple {
            addrs: Some(Addrs::V4 {
                src: Ipv4Addr::new(10, 77, 0, 1),
                dst: Ipv4Addr::new(10, 77, 0, 2),
            }),
            l4proto: Some(6),
            ports: Some((0, 50000)),
        },
        mask: Tuple {
            addrs: Some(Addrs::V4 {
                src: Ipv4Addr::BROADCAST,
                dst: Ipv4Addr::BROADCAST,
            }),
            l4proto: Some(0xff),
            ports: Some((0, 0xffff)),
        },
        timeout: Some(300),
        flags: Some(0),
        class: Some(0),
        nat: Tuple {
            addrs: Some(Addrs::V4 {
                src: Ipv4Addr::new(192, 0, 2, 1),
                dst: Ipv4Addr::new(0, 0, 0, 0),
            }),
            l4proto: Some(6),
            ports: Some((0, 50001)),
        },
        nat_dir: Some(1),
        helper: Some("ftp".into()),
        func: Some("nf_nat_follow_master".into()),
    }
}

fn messages() -> Vec<Message> {
    let m = |seq, body| Message {
        seq,
        hello: false,
        hello_back: false,
        body,
    };
    vec![
        m(1, Body::Conntrack(Action::New, tcp())),
        m(2, Body::Conntrack(Action::Update, everything())),
        m(3, Body::Conntrack(Action::Destroy, Conntrack::default())),
        m(4, Body::Expect(Action::New, expect())),
        m(5, Body::Expect(Action::Update, Expect::default())),
        m(6, Body::Expect(Action::Destroy, expect())),
        m(7, Body::Control(Control::Ack { from: 1, to: 6 })),
        m(
            u32::MAX,
            Body::Control(Control::Nack {
                from: u32::MAX - 1,
                to: 2,
            }),
        ),
        m(9, Body::Control(Control::Resync)),
        Message {
            seq: 10,
            hello: true,
            hello_back: true,
            body: Body::Control(Control::Alive),
        },
        Message {
            seq: 11,
            hello: true,
            hello_back: false,
            body: Body::Conntrack(Action::New, tcp()),
        },
    ]
}

#[test]
fn every_message_reads_back_as_built() {
    for m in messages() {
        let bytes = m.to_bytes();
        assert_eq!(bytes.len() % 4, 0, "{m:?}");
        assert_eq!(Message::parse(&bytes), Ok(m.clone()), "{bytes:02x?}");
    }
}

#[test]
fn a_datagram_of_several_messages_reads_back_in_order() {
    let all = messages();
    let mut dgram = Vec::new();
    for m in &all {
        assert!(m.emit(&mut dgram));
    }
    let back: Vec<Message> = Messages::new(&dgram).map(|m| m.unwrap()).collect();
    assert_eq!(back, all);
}

/// The layout conntrackd's C structs give, written out by hand: the header's nibbles,
/// the length-first TLVs, padding, and the byte-swapped NAT port (as Debian's conntrackd
/// sends them, `tests/conntrackd_wire.rs`).
#[test]
fn a_conntrack_message_has_conntrackd_layout() {
    let c = Conntrack {
        addrs: Some(Addrs::V4 {
            src: Ipv4Addr::new(10, 0, 0, 1),
            dst: Ipv4Addr::new(10, 0, 0, 2),
        }),
        status: Some(0x0000_018e),
        l4proto: Some(17),
        ports: Some((0x1234, 53)),
        timeout: Some(30),
        snat_v4: Some(Ipv4Addr::new(192, 0, 2, 9)),
        spat_port: Some(0x1f90),
        helper: Some("tftp".into()),
        ..Conntrack::default()
    };
    let m = Message {
        seq: 0x0102_0304,
        hello: false,
        hello_back: false,
        body: Body::Conntrack(Action::Update, c),
    };
    #[rustfmt::skip]
    let want: &[u8] = &[
        0x11, 0x00, 0x00, 0x50, 0x01, 0x02, 0x03, 0x04, // v1, UPDATE, len 80, seq
        0x00, 0x0c, 0x00, 0x00, 10, 0, 0, 1, 10, 0, 0, 2, // IPV4
        0x00, 0x08, 0x00, 0x05, 0x00, 0x00, 0x01, 0x8e, // STATUS
        0x00, 0x05, 0x00, 0x02, 17, 0, 0, 0, // L4PROTO, padded
        0x00, 0x08, 0x00, 0x03, 0x12, 0x34, 0x00, 53, // PORT
        0x00, 0x08, 0x00, 0x06, 0, 0, 0, 30, // TIMEOUT
        0x00, 0x08, 0x00, 0x0c, 192, 0, 2, 9, // SNAT_IPV4
        0x00, 0x06, 0x00, 0x0e, 0x90, 0x1f, 0, 0, // SPAT_PORT, swapped, padded
        0x00, 0x09, 0x00, 0x1b, b't', b'f', b't', b'p', 0, 0, 0, 0, // HELPER_NAME
    ];
    assert_eq!(m.to_bytes(), want);
    assert_eq!(Message::parse(want), Ok(m));
}

#[test]
fn an_ack_carries_its_range_after_the_header() {
    let m = Message {
        seq: 7,
        hello: false,
        hello_back: false,
        body: Body::Control(Control::Ack { from: 3, to: 5 }),
    };
    assert_eq!(
        m.to_bytes(),
        [0x1a, 0x08, 0, 16, 0, 0, 0, 7, 0, 0, 0, 3, 0, 0, 0, 5]
    );
}

#[test]
fn refusals_name_what_is_wrong() {
    let good = messages()[0].to_bytes();
    let mut v = good.clone();
    v[0] = 0x20; // version 2
    assert_eq!(Message::parse(&v), Err(Error::BadVersion(2)));
    v = good.clone();
    v[0] = 0x17; // type 7
    assert_eq!(Message::parse(&v), Err(Error::BadType(7)));
    v = good.clone();
    v[1] = 0x08; // ACK on a data message
    assert_eq!(Message::parse(&v), Err(Error::BadFlags(8)));
    v = good.clone();
    v[8 + 3] = 40; // first attribute's code
    assert_eq!(Message::parse(&v), Err(Error::UnknownAttr(40)));
    v = good.clone();
    v[8 + 1] = 0x0b; // IPV4 of 7 bytes
    assert_eq!(Message::parse(&v), Err(Error::BadAttrSize(0)));
    v = good.clone();
    v[8 + 1] = 0xff; // IPV4 past the message
    assert_eq!(Message::parse(&v), Err(Error::BadAttrLength(0)));
    v = good.clone();
    v[3] = 4; // length shorter than a header
    assert_eq!(Message::parse(&v), Err(Error::BadLength));
    assert_eq!(
        Message::parse(&good[..good.len() - 1]),
        Err(Error::Truncated)
    );
    let ack = [0x1a, 0x08, 0, 8, 0, 0, 0, 7];
    assert_eq!(Message::parse(&ack), Err(Error::BadLength));
    let backwards = [0x1a, 0x08, 0, 16, 0, 0, 0, 7, 0, 0, 0, 5, 0, 0, 0, 3];
    assert_eq!(Message::parse(&backwards), Err(Error::BadRange));
    let no_flag = [0x1a, 0x00, 0, 8, 0, 0, 0, 7];
    assert_eq!(Message::parse(&no_flag), Err(Error::BadFlags(0)));
    let mut long_helper = tcp();
    long_helper.helper = Some("twelve-bytes".into());
    let m = Message {
        seq: 1,
        hello: false,
        hello_back: false,
        body: Body::Conntrack(Action::New, long_helper),
    };
    assert_eq!(Message::parse(&m.to_bytes()), Err(Error::BadAttrSize(27)));
}

/// A refused message in the middle of a datagram costs that message only; a header
/// that cannot be read ends the datagram.
#[test]
fn a_bad_message_costs_itself_and_a_bad_header_the_rest() {
    let all = messages();
    let mut dgram = Vec::new();
    all[0].emit(&mut dgram);
    let second = dgram.len();
    all[1].emit(&mut dgram);
    all[2].emit(&mut dgram);
    let mut v = dgram.clone();
    v[second] = 0x21; // version 2
    let got: Vec<_> = Messages::new(&v).collect();
    assert_eq!(got.len(), 3);
    assert_eq!(got[1], Err(Error::BadVersion(2)));
    assert_eq!(got[2], Ok(all[2].clone()));
    v = dgram.clone();
    v[second + 2] = 0xff; // the second's length past the datagram
    let got: Vec<_> = Messages::new(&v).collect();
    assert_eq!(got, vec![Ok(all[0].clone()), Err(Error::Truncated)]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Any prefix of a valid datagram gives the whole messages it holds, then at most
    /// one error.
    #[test]
    fn cut_datagrams_give_their_whole_messages_then_an_error(cut in 0usize..2000) {
        let all = messages();
        let mut dgram = Vec::new();
        let mut ends = Vec::new();
        for m in &all {
            m.emit(&mut dgram);
            ends.push(dgram.len());
        }
        let cut = cut % (dgram.len() + 1);
        let got: Vec<_> = Messages::new(&dgram[..cut]).collect();
        let whole = ends.iter().filter(|&&e| e <= cut).count();
        for (g, m) in got.iter().zip(&all).take(whole) {
            prop_assert_eq!(g, &Ok(m.clone()));
        }
        let extra = got.len() - whole;
        prop_assert!(extra <= 1);
        if extra == 1 {
            prop_assert_eq!(&got[whole], &Err(Error::Truncated));
        }
    }

    /// Garbled bytes never panic, and whatever parses emits bytes that parse the same.
    #[test]
    fn garbled_datagrams_never_panic(
        flips in proptest::collection::vec((0usize..4096, any::<u8>()), 1..8),
        which in 0usize..11,
    ) {
        let mut v = messages()[which].to_bytes();
        for (at, b) in flips {
            let i = at % v.len();
            v[i] = b;
        }
        for m in Messages::new(&v).flatten() {
            let again = m.to_bytes();
            prop_assert_eq!(Message::parse(&again), Ok(m));
        }
    }

    /// Random bytes never panic.
    #[test]
    fn random_bytes_never_panic(v in proptest::collection::vec(any::<u8>(), 0..512)) {
        for m in Messages::new(&v) {
            let _ = m;
        }
    }
}
