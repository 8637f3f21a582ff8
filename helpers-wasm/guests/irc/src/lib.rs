//! The IRC helper: a client's DCC offer (a CTCP `DCC SEND`, `CHAT`, ... in a PRIVMSG
//! to the server) announces a TCP connection from any peer to the address and port
//! offered, as Linux's `nf_conntrack_irc` (IPv4 only, like Linux).
//!
//! Only established connections' packets from the client (the original direction)
//! are read, and at most one offer per packet is expected (Linux stops at the first
//! one it accepts). An offer naming an address other than the client's own is forged
//! and ignored.
//!
//! Behind NAT (the reply tuple is not the original reversed) it does what Linux's
//! `nf_nat_irc` does: the offer's `<address> <port>` is rewritten to name the address
//! the server sees for the client (the same port), and the expectation, addressed
//! there, carries the translation that takes the connection on to the client's real
//! address (`nf_nat_follow_master`, the master's reply direction).
//!
//! State, written once when the connection is assigned: 8 bytes, the original
//! direction's source address, then the reply direction's destination address (the
//! same without NAT; Linux accepts either in an offer, and addresses the expectation
//! to the latter); then, only for a translated connection, a ninth byte, 1. IPv6
//! connections get empty state and are never looked at.

#[cfg(test)]
use brickwall_helper_testkit as capture;
pub mod dcc;

use brickwall_helper_sdk::{
    export_helper, proto, Addr, ConnInfo, CtState, Direction, Edit, Expect, ExpectNat, Helper,
    Outcome, Packet, State, Tuple,
};

/// The helper.
pub struct Irc;

/// What the state keeps of the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Own {
    /// The client's address.
    src: [u8; 4],
    /// The address the server sees for the client.
    nat: [u8; 4],
    /// Whether the connection is translated.
    translated: bool,
}

impl Own {
    /// Reads the state (8 bytes, or 9 ending in 1 for a translated connection).
    fn decode(state: &[u8]) -> Option<Own> {
        let (b, translated) = match state.len() {
            8 => (state, false),
            9 if state.get(8) == Some(&1) => (state.get(..8)?, true),
            _ => return None,
        };
        let (src, nat) = b.split_at_checked(4)?;
        Some(Own {
            src: src.try_into().ok()?,
            nat: nat.try_into().ok()?,
            translated,
        })
    }
}

/// The offer's `<address> <port>` text naming `nat` instead, as Linux writes it (one
/// space); `None` when the text would not change.
fn rewrite(payload: &[u8], offer: &dcc::Dcc, nat: [u8; 4]) -> Option<Edit> {
    let old = payload.get(offer.text())?;
    let new = format!("{} {}", u32::from_be_bytes(nat), offer.port).into_bytes();
    (new != old).then(|| Edit::replace(offer.text(), new))
}

impl Helper for Irc {
    fn assigned(conn: &ConnInfo) -> Vec<u8> {
        match (conn.original.src, conn.reply.dst) {
            (Addr::V4(src), Addr::V4(nat)) => {
                let mut s = [src, nat].concat();
                if conn.is_translated() {
                    s.push(1);
                }
                s
            }
            _ => Vec::new(),
        }
    }

    fn packet(pkt: &Packet<'_>, state: &mut State) -> Outcome {
        if pkt.dir != Direction::Original || pkt.ct != CtState::Established {
            return Outcome::accept();
        }
        let Some(own) = Own::decode(state.get()) else {
            return Outcome::accept();
        };
        let Some(offer) = dcc::find(pkt.payload, |d| d.addr == own.src || d.addr == own.nat) else {
            return Outcome::accept();
        };
        let mut e = Expect::any_src_port(Tuple {
            src: Addr::V4([0; 4]),
            dst: Addr::V4(own.nat),
            protocol: proto::TCP,
            src_port: 0,
            dst_port: offer.port,
        });
        e.any_src_addr = true;
        if !own.translated {
            return Outcome::expect(e);
        }
        // The peer connects to the address the server sees (the reply direction's
        // destination); the connection goes on to the client's real address, as
        // `nf_nat_follow_master` sends it, whichever of the two the offer named.
        e.nat = Some(ExpectNat {
            dir: Direction::Reply,
            to: Addr::V4(own.src),
            to_port: offer.port,
        });
        let mut out = Outcome::expect(e);
        out.rewrites.extend(rewrite(pkt.payload, &offer, own.nat));
        out
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

    /// `payload` from the client on an established connection whose stored state is
    /// `state` (whatever the host handed back).
    fn with_state(state: &[u8], payload: &[u8]) -> Outcome {
        let pkt = Packet {
            conn: 1,
            dir: Direction::Original,
            ct: CtState::Established,
            seq: 0,
            tcp_flags: 0,
            payload,
        };
        Irc::packet(&pkt, &mut State::new(state.to_vec()))
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
        assert_eq!(with_state(&[1, 2, 3], p), Outcome::accept());
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

    /// SNAT: the client 10.0.0.2:40000 talks to 198.51.100.7:6667 as `public`:61000.
    fn snat_to(public: [u8; 4]) -> ConnInfo {
        let mut c = conn([10, 0, 0, 2], [198, 51, 100, 7]);
        c.original.src_port = 40000;
        c.reply = c.original.reversed();
        c.reply.dst = Addr::V4(public);
        c.reply.dst_port = 61000;
        c
    }

    fn snat() -> ConnInfo {
        snat_to([192, 0, 2, 1])
    }

    /// DNAT: the client 203.0.113.9 talks to 192.0.2.1:6667, which is 10.0.0.67.
    fn dnat() -> ConnInfo {
        let mut c = conn([203, 0, 113, 9], [192, 0, 2, 1]);
        c.reply.src = Addr::V4([10, 0, 0, 67]);
        c
    }

    /// The payload with `edits` applied, as the host applies them; checks they are in
    /// order, apart and within the payload.
    fn apply(payload: &[u8], edits: &[Edit]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut at = 0;
        for e in edits {
            let (start, len) = (e.offset as usize, e.length as usize);
            assert!(start >= at && start + len <= payload.len(), "{edits:?}");
            out.extend_from_slice(&payload[at..start]);
            out.extend_from_slice(&e.data);
            at = start + len;
        }
        out.extend_from_slice(&payload[at..]);
        out
    }

    /// The client's packet on `c`: the payload as sent on, and the outcome.
    fn sent(c: &ConnInfo, payload: &[u8]) -> (String, Outcome) {
        let out = run_on(c, Direction::Original, CtState::Established, payload);
        let p = apply(payload, &out.rewrites);
        (String::from_utf8(p).expect("text"), out)
    }

    #[test]
    fn snat_offer_names_the_public_address() {
        // 167772162 is 10.0.0.2; 3221225985 is 192.0.2.1.
        let p = b"PRIVMSG bob :\x01DCC SEND f.txt 167772162 5000 12\x01\r\n";
        let (text, out) = sent(&snat(), p);
        assert_eq!(
            text,
            "PRIVMSG bob :\x01DCC SEND f.txt 3221225985 5000 12\x01\r\n"
        );
        assert_eq!(
            out.rewrites,
            vec![Edit::replace(29..43, b"3221225985 5000".to_vec())]
        );
        assert_eq!(out.expects.len(), 1);
        let e = out.expects[0];
        assert_eq!(
            e.tuple,
            Tuple {
                src: Addr::V4([0; 4]),
                dst: Addr::V4([192, 0, 2, 1]),
                protocol: proto::TCP,
                src_port: 0,
                dst_port: 5000,
            }
        );
        assert!(e.any_src_addr && e.any_src_port);
        assert_eq!(
            e.nat,
            Some(ExpectNat {
                dir: Direction::Reply,
                to: Addr::V4([10, 0, 0, 2]),
                to_port: 5000,
            })
        );
    }

    #[test]
    fn snat_edits_change_the_length_and_spacing_as_linux() {
        // 1.2.3.4 is 16909060: shorter; the blanks between address and port become one.
        let (text, out) = sent(
            &snat_to([1, 2, 3, 4]),
            b"PRIVMSG bob :\x01DCC CHAT chat 167772162   5000\x01\r\n",
        );
        assert_eq!(text, "PRIVMSG bob :\x01DCC CHAT chat 16909060 5000\x01\r\n");
        assert_eq!(out.expects[0].tuple.dst, Addr::V4([1, 2, 3, 4]));
    }

    #[test]
    fn an_offer_of_the_public_address_needs_no_edit() {
        let p = b"PRIVMSG bob :\x01DCC SEND f 3221225985 5000\x01\r\n";
        let (text, out) = sent(&snat(), p);
        assert!(out.rewrites.is_empty());
        assert_eq!(text.as_bytes(), p);
        let e = out.expects[0];
        assert_eq!(e.tuple.dst, Addr::V4([192, 0, 2, 1]));
        // The connection still goes on to the client itself.
        assert_eq!(
            e.nat.map(|n| (n.dir, n.to, n.to_port)),
            Some((Direction::Reply, Addr::V4([10, 0, 0, 2]), 5000))
        );
    }

    #[test]
    fn dnat_of_the_server_translates_only_the_expectation() {
        // 3405803785 is 203.0.113.9, the client's own and only address.
        let (text, out) = sent(
            &dnat(),
            b"PRIVMSG bob :\x01DCC SEND f 3405803785 5000\x01\r\n",
        );
        assert!(out.rewrites.is_empty());
        assert!(text.contains(" 3405803785 5000"));
        let e = out.expects[0];
        assert_eq!(e.tuple.dst, Addr::V4([203, 0, 113, 9]));
        assert_eq!(
            e.nat,
            Some(ExpectNat {
                dir: Direction::Reply,
                to: Addr::V4([203, 0, 113, 9]),
                to_port: 5000,
            })
        );
    }

    #[test]
    fn translated_edge_cases() {
        // A forged offer: neither expected nor edited.
        let out = run_on(
            &snat(),
            Direction::Original,
            CtState::Established,
            b"PRIVMSG bob :\x01DCC SEND f 167772163 5000\x01\r\n",
        );
        assert_eq!(out, Outcome::accept());
        // The server's packets are not read.
        let out = run_on(
            &snat(),
            Direction::Reply,
            CtState::Established,
            b"PRIVMSG bob :\x01DCC SEND f 3221225985 5000\x01\r\n",
        );
        assert_eq!(out, Outcome::accept());
        // The state: one byte more for a translated connection; anything else there
        // is unreadable.
        assert_eq!(Irc::assigned(&conn([10, 0, 0, 1], [10, 0, 0, 2])).len(), 8);
        assert_eq!(Irc::assigned(&snat()), vec![10, 0, 0, 2, 192, 0, 2, 1, 1]);
        assert_eq!(Irc::assigned(&dnat()).len(), 9);
        let p = b"PRIVMSG bob :\x01DCC SEND f 167772162 5000\x01\r\n";
        for bad in [
            &[10, 0, 0, 2, 192, 0, 2, 1, 2][..],
            &[10, 0, 0, 2, 192, 0, 2, 1, 1, 1],
        ] {
            assert_eq!(with_state(bad, p), Outcome::accept());
        }
        // Cut anywhere: nothing expected, nothing edited.
        let full = b"PRIVMSG bob :\x01DCC SEND hello.txt 167772162 5555 12\x01\r\n";
        for n in 0..full.len() - 1 {
            let out = run_on(
                &snat(),
                Direction::Original,
                CtState::Established,
                &full[..n],
            );
            assert_eq!(out, Outcome::accept(), "cut at {n}");
        }
        assert_eq!(sent(&snat(), full).1.rewrites.len(), 1);
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
            assert!(out.rewrites.is_empty());
            found += out.expects.len();
            // Behind NAT the same offers (of 10.0.0.1 from the client 10.0.0.2) are
            // edited within the payload.
            let mut c = snat();
            c.original.src = Addr::V4([10, 0, 0, 1]);
            let out = run_on(&c, Direction::Original, CtState::Established, &p);
            assert!(out.rewrites.len() <= out.expects.len());
            let _ = apply(&p, &out.rewrites);
        }
        assert!(found > 0, "the noise sometimes completes an offer");
    }
}
