//! Tests of the traffic generator: determinism, framing, checksums, TCP scripts,
//! addressing and timing.

use std::collections::{HashMap, HashSet};

use brickwall_wire::{checksum, ip_proto};
use etherparse::{NetSlice, SlicedPacket, TransportSlice};

use super::*;

/// What the tests need from one frame.
#[derive(Debug)]
struct Info {
    mac_src: [u8; 6],
    mac_dst: [u8; 6],
    v4: bool,
    ip_id: Option<u16>,
    src: Vec<u8>,
    dst: Vec<u8>,
    proto: u8,
    sport: u16,
    dport: u16,
    tcp: Option<Tcp>,
}

/// TCP fields of a frame.
#[derive(Debug)]
struct Tcp {
    flags: (bool, bool, bool, bool, bool),
    seq: u32,
    ack: u32,
    window: u16,
    options: Vec<u8>,
    len: u32,
}

/// Parses and validates a frame: Ethernet/IP parse, IPv4 header checksum and the
/// transport checksum (recomputed independently over the pseudo-header).
fn parse(data: &[u8]) -> Info {
    let p = SlicedPacket::from_ethernet(data).expect("frame parses");
    let mac_dst: [u8; 6] = data[..6].try_into().unwrap();
    let mac_src: [u8; 6] = data[6..12].try_into().unwrap();
    let (v4, ip_id, src, dst, proto, seg) = match p.net.as_ref().expect("ip layer") {
        NetSlice::Ipv4(ip) => {
            let h = ip.header();
            assert_eq!(h.to_header().calc_header_checksum(), h.header_checksum());
            assert_eq!(h.ttl(), 64);
            let seg = ip.payload().payload;
            (
                true,
                Some(h.identification()),
                h.source().to_vec(),
                h.destination().to_vec(),
                h.protocol().0,
                seg,
            )
        }
        NetSlice::Ipv6(ip) => {
            let h = ip.header();
            assert_eq!(h.hop_limit(), 64);
            let seg = ip.payload().payload;
            (
                false,
                None,
                h.source().to_vec(),
                h.destination().to_vec(),
                h.next_header().0,
                seg,
            )
        }
        NetSlice::Arp(_) => panic!("unexpected ARP"),
    };
    if proto == ip_proto::GRE {
        // PPTP's enhanced GRE: version 1, PPP, no checksum, keyed.
        assert_eq!(&seg[..4], &[0x30, 0x01, 0x88, 0x0b], "GRE header");
        return Info {
            mac_src,
            mac_dst,
            v4,
            ip_id,
            src,
            dst,
            proto,
            sport: 0,
            dport: 0,
            tcp: None,
        };
    }
    // Pseudo-header (none for ICMPv4), then the whole transport segment: the checksum
    // of both together is 0.
    let pseudo = match (v4, proto) {
        (true, ip_proto::ICMP) => 0,
        (true, _) => checksum::pseudo_v4(
            src[..].try_into().unwrap(),
            dst[..].try_into().unwrap(),
            proto,
            seg.len() as u16,
        ),
        (false, _) => checksum::pseudo_v6(
            &src[..].try_into().unwrap(),
            &dst[..].try_into().unwrap(),
            proto,
            seg.len() as u32,
        ),
    };
    assert_eq!(
        checksum::finish(checksum::sum(pseudo, seg)),
        0,
        "transport checksum of proto {proto}"
    );
    let (sport, dport, tcp) = match p.transport.as_ref().expect("transport layer") {
        TransportSlice::Tcp(t) => (
            t.source_port(),
            t.destination_port(),
            Some(Tcp {
                flags: (t.syn(), t.ack(), t.psh(), t.fin(), t.rst()),
                seq: t.sequence_number(),
                ack: t.acknowledgment_number(),
                window: t.window_size(),
                options: t.options().to_vec(),
                len: t.payload().len() as u32,
            }),
        ),
        TransportSlice::Udp(u) => (u.source_port(), u.destination_port(), None),
        TransportSlice::Icmpv4(_) | TransportSlice::Icmpv6(_) => {
            (u16::from_be_bytes([seg[4], seg[5]]), 0, None)
        }
        other => panic!("unexpected transport {other:?}"),
    };
    Info {
        mac_src,
        mac_dst,
        v4,
        ip_id,
        src,
        dst,
        proto,
        sport,
        dport,
        tcp,
    }
}

/// Frames grouped by flow, in emission order.
fn by_flow(frames: &[GenFrame]) -> HashMap<u32, Vec<&GenFrame>> {
    let mut map: HashMap<u32, Vec<&GenFrame>> = HashMap::new();
    for f in frames {
        map.entry(f.flow).or_default().push(f);
    }
    map
}

#[test]
fn deterministic_and_seed_dependent() {
    let cfg = GenConfig::default();
    let a = generate(&cfg);
    assert_eq!(a, generate(&cfg));
    assert_eq!(a, Generator::new(cfg.clone()).collect::<Vec<_>>());
    let seq = GenConfig {
        interleave: false,
        ..cfg.clone()
    };
    assert_eq!(generate(&seq), generate(&seq));
    assert_ne!(a, generate(&GenConfig { seed: 2, ..cfg }));
}

#[test]
fn frame_count_matches() {
    let base = GenConfig::default();
    let configs = [
        base.clone(),
        GenConfig {
            interleave: false,
            ..base.clone()
        },
        GenConfig {
            data_packets: 0,
            ..base.clone()
        },
        GenConfig {
            data_packets: 1,
            payload_len: 0,
            ..base.clone()
        },
        GenConfig {
            tcp_flows: 0,
            udp_flows: 0,
            icmp_flows: 3,
            ..base.clone()
        },
        GenConfig {
            tcp_flows: 0,
            udp_flows: 0,
            icmp_flows: 0,
            ..base.clone()
        },
        GenConfig {
            gap_ns: 0,
            ..base.clone()
        },
    ];
    for cfg in configs {
        let frames = generate(&cfg);
        assert_eq!(frame_count(&cfg), frames.len() as u64, "{cfg:?}");
        assert_eq!(Generator::new(cfg).size_hint().0, frames.len());
    }
    // 40 * (6 + 6) + 20 * 2 * 6 + 10 * 2 * 3
    assert_eq!(frame_count(&base), 480 + 240 + 60);
}

#[test]
fn frames_parse_with_valid_checksums_and_macs() {
    for interleave in [true, false] {
        let cfg = GenConfig {
            interleave,
            ipv6_share: 0.5,
            ..GenConfig::default()
        };
        let mut last_id: Option<u16> = None;
        for f in generate(&cfg) {
            let i = parse(&f.data);
            let (client, server) = (flow::CLIENT_MAC, flow::SERVER_MAC);
            let expect = if f.to_server {
                (client, server)
            } else {
                (server, client)
            };
            assert_eq!((i.mac_src, i.mac_dst), expect);
            let (client_ip, server_ip) = if f.to_server {
                (&i.src, &i.dst)
            } else {
                (&i.dst, &i.src)
            };
            if i.v4 {
                assert_eq!(
                    (client_ip[..2].to_vec(), server_ip[..2].to_vec()),
                    (vec![10, 0], vec![10, 1])
                );
                if let (Some(prev), Some(id)) = (last_id, i.ip_id) {
                    assert_eq!(id, prev.wrapping_add(1), "IPv4 identification increments");
                }
                last_id = i.ip_id;
            } else {
                assert_eq!(
                    (client_ip[..2].to_vec(), server_ip[..2].to_vec()),
                    (vec![0xfd, 0], vec![0xfd, 1])
                );
            }
            let server_port = if f.to_server { i.dport } else { i.sport };
            assert!(![21, 69, 1723, 6667, 5060, 554, 1720].contains(&server_port));
        }
    }
}

#[test]
fn timestamps_strictly_increase_and_flows_interleave() {
    for interleave in [true, false] {
        let cfg = GenConfig {
            interleave,
            ..GenConfig::default()
        };
        let frames = generate(&cfg);
        assert!(frames[0].ts_ns >= cfg.start_ns);
        assert!(frames.windows(2).all(|w| w[0].ts_ns < w[1].ts_ns));
        let span = frames[frames.len() - 1].ts_ns - frames[0].ts_ns;
        let mean = span / (frames.len() as u64 - 1);
        assert!(
            mean > cfg.gap_ns / 2 && mean < cfg.gap_ns * 2,
            "mean gap {mean}"
        );
        // Flows appear contiguously only when not interleaving.
        let switches = frames.windows(2).filter(|w| w[0].flow != w[1].flow).count();
        let flows = (cfg.tcp_flows + cfg.udp_flows + cfg.icmp_flows) as usize;
        if interleave {
            assert!(switches > flows * 2, "{switches} switches");
        } else {
            assert_eq!(switches, flows - 1);
        }
    }
}

#[test]
fn tcp_flag_sequence_and_seq_ack_continuity() {
    let cfg = GenConfig {
        data_packets: 5,
        ipv6_share: 0.5,
        ..GenConfig::default()
    };
    let frames = generate(&cfg);
    let mut tcp_flows = 0;
    for (_, flow) in by_flow(&frames) {
        let infos: Vec<(bool, Info)> = flow.iter().map(|f| (f.to_server, parse(&f.data))).collect();
        if infos[0].1.proto != 6 {
            continue;
        }
        tcp_flows += 1;
        const S: (bool, bool, bool, bool, bool) = (true, false, false, false, false);
        const SA: (bool, bool, bool, bool, bool) = (true, true, false, false, false);
        const A: (bool, bool, bool, bool, bool) = (false, true, false, false, false);
        const PA: (bool, bool, bool, bool, bool) = (false, true, true, false, false);
        const FA: (bool, bool, bool, bool, bool) = (false, true, false, true, false);
        let mut want = vec![(true, S), (false, SA), (true, A)];
        want.extend((0..cfg.data_packets).map(|j| (j & 1 == 0, PA)));
        want.extend([(true, FA), (false, FA), (true, A)]);
        let got: Vec<_> = infos
            .iter()
            .map(|(d, i)| (*d, i.tcp.as_ref().unwrap().flags))
            .collect();
        assert_eq!(got, want);
        // Replay: each segment starts at its sender's next sequence number and
        // acknowledges everything the peer has sent so far.
        let mut next = [None::<u32>; 2];
        for (to_server, info) in &infos {
            let t = info.tcp.as_ref().unwrap();
            let (me, peer) = if *to_server { (0, 1) } else { (1, 0) };
            assert_ne!(t.window, 0);
            if let Some(n) = next[me] {
                assert_eq!(t.seq, n);
            }
            if t.flags.1 {
                assert_eq!(Some(t.ack), next[peer]);
            }
            if t.flags.0 {
                assert_eq!(t.options.len(), 12);
                assert_eq!(&t.options[..4], &[2, 4, 0x05, 0xb4], "MSS");
                assert!(t.options.windows(3).any(|w| w == [3, 3, 7]), "window scale");
                assert!(t.options.windows(2).any(|w| w == [4, 2]), "SACK permitted");
            }
            let consumed = t.len + u32::from(t.flags.0) + u32::from(t.flags.3);
            next[me] = Some(t.seq.wrapping_add(consumed));
            assert_eq!(t.len, if t.flags.2 { cfg.payload_len as u32 } else { 0 });
        }
    }
    assert_eq!(tcp_flows, cfg.tcp_flows);
}

#[test]
fn udp_and_icmp_exchanges() {
    let cfg = GenConfig {
        data_packets: 5,
        ipv6_share: 0.5,
        ..GenConfig::default()
    };
    let (mut udp, mut icmp) = (0, 0);
    for (_, flow) in by_flow(&generate(&cfg)) {
        let dirs: Vec<bool> = flow.iter().map(|f| f.to_server).collect();
        assert!(
            dirs.iter().enumerate().all(|(k, d)| *d == (k & 1 == 0))
                || parse(&flow[0].data).proto == 6
        );
        match parse(&flow[0].data).proto {
            17 => {
                udp += 1;
                assert_eq!(flow.len(), 10);
                assert!([53, 123, 5353].contains(&parse(&flow[0].data).dport));
            }
            1 | 58 => {
                icmp += 1;
                assert_eq!(flow.len(), 4);
                for (k, f) in flow.iter().enumerate() {
                    let p = SlicedPacket::from_ethernet(&f.data).unwrap();
                    let seg = p.ip_payload().unwrap().payload;
                    let (request, reply) = if parse(&f.data).v4 {
                        (8, 0)
                    } else {
                        (128, 129)
                    };
                    assert_eq!(seg[0], if k & 1 == 0 { request } else { reply });
                    assert_eq!(u16::from_be_bytes([seg[6], seg[7]]), (k / 2 + 1) as u16);
                }
            }
            _ => {}
        }
    }
    assert_eq!((udp, icmp), (cfg.udp_flows, cfg.icmp_flows));
}

#[test]
fn ipv6_share_is_roughly_honoured() {
    let share = |ipv6_share: f64| {
        let cfg = GenConfig {
            tcp_flows: 1000,
            udp_flows: 600,
            icmp_flows: 400,
            data_packets: 0,
            ipv6_share,
            interleave: false,
            ..GenConfig::default()
        };
        let mut seen = HashSet::new();
        let mut v6 = 0;
        for f in Generator::new(cfg) {
            if seen.insert(f.flow) && !parse(&f.data).v4 {
                v6 += 1;
            }
        }
        v6 as f64 / seen.len() as f64
    };
    let s = share(0.25);
    assert!((0.22..0.28).contains(&s), "share {s}");
    assert_eq!(share(0.0), 0.0);
    assert_eq!(share(1.0), 1.0);
}

#[test]
fn hundred_thousand_flows_have_distinct_five_tuples() {
    let cfg = GenConfig {
        tcp_flows: 60_000,
        udp_flows: 30_000,
        icmp_flows: 10_000,
        data_packets: 0,
        payload_len: 0,
        interleave: false,
        ..GenConfig::default()
    };
    let mut tuples = HashSet::new();
    let mut next_flow = 0;
    for f in Generator::new(cfg) {
        if f.flow == next_flow {
            next_flow += 1;
            let i = parse(&f.data);
            assert!(tuples.insert((i.src, i.dst, i.sport, i.dport, i.proto)));
        }
    }
    assert_eq!(tuples.len(), 100_000);
}

#[test]
fn config_defaults_when_deserialized() {
    let cfg: GenConfig = serde_json::from_str(r#"{"tcp_flows": 3}"#).unwrap();
    assert_eq!(cfg.tcp_flows, 3);
    assert_eq!(
        format!(
            "{:?}",
            GenConfig {
                tcp_flows: 3,
                ..GenConfig::default()
            }
        ),
        format!("{cfg:?}")
    );
}

#[test]
fn helper_sessions_follow_the_flows() {
    let cfg = GenConfig {
        helper_sessions: 2,
        ..GenConfig::default()
    };
    let frames = generate(&cfg);
    assert_eq!(frames.len() as u64, frame_count(&cfg));
    let flows = Layout::new(&cfg).flows();
    let first = frames
        .iter()
        .position(|f| f.flow == flows)
        .expect("the sessions");
    assert!(
        frames[first..].iter().all(|f| f.flow == flows),
        "after every flow"
    );
    assert!(frames.windows(2).all(|w| w[0].ts_ns < w[1].ts_ns));
    let mut server_ports = HashSet::new();
    let mut text = Vec::new();
    for f in &frames[first..] {
        let i = parse(&f.data);
        let (client, server) = (flow::CLIENT_MAC, flow::SERVER_MAC);
        let macs = if f.to_server {
            (client, server)
        } else {
            (server, client)
        };
        assert_eq!((i.mac_src, i.mac_dst), macs);
        server_ports.insert(if f.to_server { i.dport } else { i.sport });
        text.extend_from_slice(&f.data);
    }
    for port in [21, 20, 69, 6667, 1723, 6566, 10080, 5060] {
        assert!(
            server_ports.contains(&port),
            "port {port}: {server_ports:?}"
        );
    }
    let has = |needle: &[u8]| text.windows(needle.len()).any(|w| w == needle);
    assert!(has(b"227 Entering Passive Mode (10,1,200,1,195,80)."));
    assert!(has(b"PORT 10,0,200,2,199,56\r\n"));
    assert!(has(b"\x01DCC SEND demo.bin 167823364 53000 600\x01"));
    assert!(has(b"\x00\x01demo.bin\x00octet\x00"));
    assert!(has(b"CONNECT DATA 55000 MESG 55001 INDEX 55002\n"));
    assert!(has(
        b"c=IN IP4 10.0.200.3\r\nt=0 0\r\nm=audio 56000 RTP/AVP 0\r\n"
    ));
    assert!(has(b"\x00\x00\x00\x00\x00\x00\xd2\xf0")); // SANE: good, port 54000
                                                       // The second set has addresses of its own.
    assert!(has(b"227 Entering Passive Mode (10,1,200,5,195,81)."));
    // At most 50 sets.
    let sets = |n| {
        frame_count(&GenConfig {
            helper_sessions: n,
            ..GenConfig::default()
        })
    };
    assert_eq!(sets(99), sets(50));
    assert!(sets(50) > sets(49));
}
