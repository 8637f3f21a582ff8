//! The IRC helper: a client's DCC offer (a CTCP `DCC SEND`, `CHAT`, ... in a PRIVMSG
//! to the server) announces a TCP connection from any peer to the address and port
//! offered, as Linux's `nf_conntrack_irc` (IPv4 only, like Linux).
//!
//! Only established connections' packets from the client (the original direction)
//! are read, and at most one offer per packet is expected (Linux stops at the first
//! one it accepts). An offer naming an address other than the client's own is forged
//! and ignored.
//!
//! State: 8 bytes, written once when the connection is assigned: the original
//! direction's source address, then the reply direction's destination address (the
//! same without NAT; Linux accepts either in an offer, and addresses the expectation
//! to the latter). IPv6 connections get empty state and are never looked at.

#[cfg(test)]
use brickwall_helper_testkit as capture;
pub mod dcc;

use brickwall_helper_sdk::{
    export_helper, proto, Addr, ConnInfo, CtState, Direction, Expect, Helper, Outcome, Packet,
    State, Tuple,
};

/// The helper.
pub struct Irc;

/// The two addresses an offer may name, as kept in the state.
fn own_addrs(state: &[u8]) -> Option<([u8; 4], [u8; 4])> {
    let b: &[u8; 8] = state.try_into().ok()?;
    let mut src = [0; 4];
    let mut nat = [0; 4];
    src.copy_from_slice(&b[..4]);
    nat.copy_from_slice(&b[4..]);
    Some((src, nat))
}

impl Helper for Irc {
    fn assigned(conn: &ConnInfo) -> Vec<u8> {
        match (conn.original.src, conn.reply.dst) {
            (Addr::V4(src), Addr::V4(nat)) => [src, nat].concat(),
            _ => Vec::new(),
        }
    }

    fn packet(pkt: &Packet<'_>, state: &mut State) -> Outcome {
        if pkt.dir != Direction::Original || pkt.ct != CtState::Established {
            return Outcome::accept();
        }
        let Some((src, nat)) = own_addrs(state.get()) else {
            return Outcome::accept();
        };
        let Some(offer) = dcc::find(pkt.payload, |d| d.addr == src || d.addr == nat) else {
            return Outcome::accept();
        };
        let mut e = Expect::any_src_port(Tuple {
            src: Addr::V4([0; 4]),
            dst: Addr::V4(nat),
            protocol: proto::TCP,
            src_port: 0,
            dst_port: offer.port,
        });
        e.any_src_addr = true;
        Outcome::expect(e)
    }
}

export_helper!(Irc);

#[cfg(test)]
mod tests {
    use super::*;

    fn conn(client: [u8; 4], server: [u8; 4]) -> ConnInfo {
        let original = Tuple {
            src: Addr::V4(client),
            dst: Addr::V4(server),
            protocol: proto::TCP,
            src_port: 12345,
            dst_port: 6667,
        };
        ConnInfo::of(original)
    }

    fn run_on(c: &ConnInfo, dir: Direction, ct: CtState, payload: &[u8]) -> Outcome {
        let mut st = State::new(Irc::assigned(c));
        let pkt = Packet {
            conn: 1,
            dir,
            ct,
            seq: 0,
            tcp_flags: 0x18,
            payload,
        };
        let out = Irc::packet(&pkt, &mut st);
        assert!(!st.changed(), "the state never changes after assignment");
        out
    }

    fn run(payload: &[u8]) -> Outcome {
        let c = conn([10, 0, 0, 1], [10, 0, 0, 2]);
        run_on(&c, Direction::Original, CtState::Established, payload)
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
            .collect()
    }

    /// zeek's testing/btest/Traces/irc-dcc-first-command.pcap (BSD-3-Clause), frame 4:
    /// 10.0.0.1:12345 → 10.0.0.2:6667, `PRIVMSG bob :\x01DCC SEND hello.txt 167772161
    /// 5555 12\x01\r\n`.
    const ZEEK_FIRST_COMMAND: &str = "505249564d534720626f62203a014443432053454e442068656c6c6f2e747874203136373737323136312035353535203132010d0a";
    /// zeek's irc-dcc-send-malformed-host.pcap: 192.168.1.100:6667 → .200:12345.
    const ZEEK_MALFORMED_HOST: &str = "505249564d53472076696374696d203a4443432053454e442066696c652e747874200102030405203530303020313032340d0a";
    /// zeek's irc-dcc-send-malformed-port.pcap: 192.168.1.100:6667 → .200:12345.
    const ZEEK_MALFORMED_PORT: &str = "505249564d53472076696374696d203a4443432053454e442066696c652e74787420333233323233353837362061626320313032340d0a";

    #[test]
    fn zeek_dcc_send_expects_any_peer_to_the_offered_port() {
        let out = run(&hex(ZEEK_FIRST_COMMAND));
        assert_eq!(out.verdict, None);
        assert_eq!(out.expects.len(), 1);
        let e = out.expects[0];
        assert_eq!(e.tuple.dst, Addr::V4([10, 0, 0, 1]));
        assert_eq!(e.tuple.dst_port, 5555);
        assert_eq!(e.tuple.protocol, proto::TCP);
        assert!(e.any_src_addr && e.any_src_port && !e.permanent);
        assert_eq!((e.class, e.timeout_s), (0, 0));
    }

    #[test]
    fn capture_zeek_dcc_expects_the_data_connection() {
        let frames = capture::read("zeek/irc-dcc-first-command.pcap");
        let syns: Vec<_> = frames
            .iter()
            .filter(|f| f.tcp_flags & 0x12 == 0x02)
            .collect();
        assert_eq!(syns.len(), 2, "the IRC session and the DCC transfer");
        let (irc, data) = (syns[0], syns[1]);
        let c = conn(irc.src, irc.dst);
        let mut answered = false;
        let mut exps = Vec::new();
        for f in frames.iter().filter(|f| {
            (f.src_port, f.dst_port) == (irc.src_port, irc.dst_port)
                || (f.dst_port, f.src_port) == (irc.src_port, irc.dst_port)
        }) {
            let dir = if f.src == irc.src && f.src_port == irc.src_port {
                Direction::Original
            } else {
                answered = true;
                Direction::Reply
            };
            if !f.payload.is_empty() {
                let ct = if answered {
                    CtState::Established
                } else {
                    CtState::New
                };
                if dir == Direction::Original {
                    assert_eq!(f.payload, hex(ZEEK_FIRST_COMMAND));
                }
                exps.extend(run_on(&c, dir, ct, &f.payload).expects);
            }
        }
        assert_eq!(exps.len(), 1);
        let e = exps[0];
        // The transfer's SYN fits the expectation: destination exact, source any.
        assert_eq!(e.tuple.dst, Addr::V4(data.dst));
        assert_eq!(e.tuple.dst_port, data.dst_port);
        assert_eq!(e.tuple.protocol, proto::TCP);
        assert!(e.any_src_addr && e.any_src_port);
    }

    #[test]
    fn capture_zeek_malformed_offers_expect_nothing() {
        for (rel, vector) in [
            ("zeek/irc-dcc-send-malformed-host.pcap", ZEEK_MALFORMED_HOST),
            ("zeek/irc-dcc-send-malformed-port.pcap", ZEEK_MALFORMED_PORT),
        ] {
            let frames = capture::read(rel);
            assert_eq!(frames.len(), 1, "{rel}");
            let f = &frames[0];
            assert_eq!(f.payload, hex(vector), "{rel}");
            for c in [conn(f.src, f.dst), conn(f.dst, f.src)] {
                for dir in [Direction::Original, Direction::Reply] {
                    assert!(run_on(&c, dir, CtState::Established, &f.payload)
                        .expects
                        .is_empty());
                }
            }
        }
    }

    #[test]
    fn zeek_malformed_offers_expect_nothing() {
        let sender = conn([192, 168, 1, 100], [192, 168, 1, 200]);
        for v in [ZEEK_MALFORMED_HOST, ZEEK_MALFORMED_PORT] {
            let p = hex(v);
            for dir in [Direction::Original, Direction::Reply] {
                for ct in [CtState::New, CtState::Established] {
                    let out = run_on(&sender, dir, ct, &p);
                    assert_eq!(out, Outcome::accept());
                }
            }
        }
        // Even as CTCP (with the \x01 these lack) they fail on address or port; the
        // port one names the sender's own address, 3232235876 = 192.168.1.100.
        for (text, after) in [
            (ZEEK_MALFORMED_HOST, "4443432053454e44"),
            (ZEEK_MALFORMED_PORT, "4443432053454e44"),
        ] {
            let ctcp = text.replacen(after, &format!("01{after}"), 1);
            let p = hex(&ctcp);
            assert!(p.windows(5).any(|w| w == b"\x01DCC "));
            let out = run_on(&sender, Direction::Original, CtState::Established, &p);
            assert!(out.expects.is_empty());
        }
    }

    #[test]
    fn a_forged_address_is_ignored() {
        // 167772163 is 10.0.0.3, not the client.
        let out = run(b"PRIVMSG bob :\x01DCC SEND f 167772163 5555\x01\r\n");
        assert_eq!(out, Outcome::accept());
        // The server's address is no better.
        let out = run(b"PRIVMSG bob :\x01DCC CHAT chat 167772162 5555\x01\r\n");
        assert!(out.expects.is_empty());
    }

    #[test]
    fn after_a_forged_offer_a_genuine_one_counts() {
        let out = run(
            b"PRIVMSG bob :\x01DCC SEND f 167772163 1111\x01\r\nPRIVMSG bob :\x01DCC SEND f 167772161 2222\x01\r\n",
        );
        assert_eq!(out.expects.len(), 1);
        assert_eq!(out.expects[0].tuple.dst_port, 2222);
    }

    #[test]
    fn one_expectation_per_packet() {
        let out = run(
            b"PRIVMSG bob :\x01DCC SEND f 167772161 1111\x01\r\nPRIVMSG bob :\x01DCC SEND f 167772161 2222\x01\r\n",
        );
        assert_eq!(out.expects.len(), 1);
        assert_eq!(out.expects[0].tuple.dst_port, 1111);
    }

    #[test]
    fn dcc_outside_privmsg_is_ignored() {
        for p in [
            &b"NOTICE bob :\x01DCC SEND f 167772161 5555\x01\r\n"[..],
            b"JOIN #c\r\nPRIVMSG bob :\x01DCC SEND f 167772161 5555\x01\r\n",
            b"PRIVMSG bob :look \x01DCC SEND f 167772161 5555\x01\r\n",
            b"PRIVMSG bob \x01DCC SEND f 167772161 5555\x01\r\n",
        ] {
            assert!(run(p).expects.is_empty(), "{}", String::from_utf8_lossy(p));
        }
    }

    #[test]
    fn only_established_original_packets_are_read() {
        let c = conn([10, 0, 0, 1], [10, 0, 0, 2]);
        let p = b"PRIVMSG bob :\x01DCC SEND f 167772161 5555\x01\r\n";
        assert_eq!(
            run_on(&c, Direction::Original, CtState::Established, p)
                .expects
                .len(),
            1
        );
        for (dir, ct) in [
            (Direction::Reply, CtState::Established),
            (Direction::Original, CtState::New),
            (Direction::Original, CtState::Related),
        ] {
            assert!(run_on(&c, dir, ct, p).expects.is_empty(), "{dir:?} {ct:?}");
        }
        // From the server, an offer with the server's own address is still ignored.
        let from_server = b"PRIVMSG bob :\x01DCC SEND f 167772162 5555\x01\r\n";
        assert!(
            run_on(&c, Direction::Reply, CtState::Established, from_server)
                .expects
                .is_empty()
        );
    }

    #[test]
    fn the_nat_address_of_the_reply_direction_is_accepted_too() {
        let mut c = conn([10, 0, 0, 1], [10, 0, 0, 2]);
        c.reply.dst = Addr::V4([192, 0, 2, 7]);
        // 3221225991 is 192.0.2.7.
        let out = run_on(
            &c,
            Direction::Original,
            CtState::Established,
            b"PRIVMSG bob :\x01DCC SEND f 3221225991 5555\x01\r\n",
        );
        assert_eq!(out.expects.len(), 1);
        assert_eq!(out.expects[0].tuple.dst, Addr::V4([192, 0, 2, 7]));
        // The client's own address expects the connection at the NAT address too.
        let out = run_on(
            &c,
            Direction::Original,
            CtState::Established,
            b"PRIVMSG bob :\x01DCC SEND f 167772161 5555\x01\r\n",
        );
        assert_eq!(out.expects[0].tuple.dst, Addr::V4([192, 0, 2, 7]));
    }

    #[test]
    fn ipv6_and_bad_state_are_ignored() {
        let original = Tuple {
            src: Addr::V6([1; 16]),
            dst: Addr::V6([2; 16]),
            protocol: proto::TCP,
            src_port: 1,
            dst_port: 6667,
        };
        let c = ConnInfo::of(original);
        assert!(Irc::assigned(&c).is_empty());
        let p = b"PRIVMSG bob :\x01DCC SEND f 0 5555\x01\r\n";
        assert!(run_on(&c, Direction::Original, CtState::Established, p)
            .expects
            .is_empty());
        let mut st = State::new(vec![1, 2, 3]);
        let pkt = Packet {
            conn: 1,
            dir: Direction::Original,
            ct: CtState::Established,
            seq: 0,
            tcp_flags: 0,
            payload: p,
        };
        assert_eq!(Irc::packet(&pkt, &mut st), Outcome::accept());
    }

    #[test]
    fn truncated_offers_never_panic_and_expect_nothing() {
        let full = b"PRIVMSG bob :\x01DCC SEND hello.txt 167772161 5555 12\x01\r\n";
        for n in 0..full.len() - 1 {
            let out = run(&full[..n]);
            assert!(out.expects.is_empty(), "cut at {n}");
        }
        assert_eq!(run(full).expects.len(), 1);
    }

    #[test]
    fn random_payloads_never_panic() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let alphabet = b"PRIVMSG :\x01DCC SENDCHAT0123456789 \r\n\"x";
        let mut found = 0;
        for round in 0..20_000 {
            let len = (next() % 160) as usize;
            let mut p: Vec<u8> = if round % 2 == 0 {
                (0..len).map(|_| next() as u8).collect()
            } else {
                (0..len)
                    .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                    .collect()
            };
            if round % 4 == 1 {
                // A valid prefix followed by noise reaches the argument parser.
                let mut q = b"PRIVMSG b :\x01DCC SEND f 167772161 ".to_vec();
                q.append(&mut p);
                p = q;
            }
            let out = run(&p);
            assert_eq!(out.verdict, None);
            assert!(out.expects.len() <= 1);
            found += out.expects.len();
        }
        assert!(found > 0, "the noise sometimes completes an offer");
    }
}
