//! Bursts at conntrack-in (`Plugin::on_burst`): the plugin decides a burst's packets in
//! order and cuts it where a later packet depends on what the later hooks do to an
//! earlier one — before a second packet of a connection (one found, or one an earlier
//! packet opened and confirmation has not put in the table yet, either direction), and
//! after a packet of a connection with a helper (whose step may expect the next
//! packet's connection).

use brickwall_conntrack::datagram::{ipv4, tcp, udp, view};
use brickwall_conntrack::{op, Conntrack};
use brickwall_hooks::{CtInfo, Host, PacketView, Plugin, Verdict};

const SEC: u64 = 1_000_000_000;

fn plugin(config: &str) -> Conntrack {
    Conntrack::init(config, Host::new(std::ptr::null(), "conntrack")).expect("config")
}

/// Runs datagrams one at a time through conntrack-in, the helper step and confirm.
fn one(ct: &Conntrack, d: &[u8], ts: u64) -> CtInfo {
    let mut d = d.to_vec();
    let mut v = view(&mut d, ts);
    for o in [op::IN_PRE, op::HELPER_POST, op::CONFIRM_POST] {
        assert_eq!(ct.on_packet(o, &mut v), Verdict::Accept);
    }
    v.ctinfo()
}

/// conntrack-in's burst call over `ds`: how many it decided, and their ctinfos.
fn burst_in(ct: &Conntrack, ds: &[Vec<u8>], ts: u64) -> (usize, Vec<CtInfo>) {
    let mut bufs: Vec<Vec<u8>> = ds.to_vec();
    let mut views: Vec<_> = bufs.iter_mut().map(|d| view(d, ts)).collect();
    let mut refs: Vec<&mut PacketView> = views.iter_mut().map(|v| &mut **v).collect();
    let mut verdicts = vec![Verdict::Accept; refs.len()];
    let k = ct.on_burst(op::IN_PRE, &mut refs, &mut verdicts);
    (k, refs[..k].iter().map(|v| v.ctinfo()).collect())
}

fn udp4(a: u8, b: u8, sp: u16, dp: u16) -> Vec<u8> {
    ipv4([10, 0, 0, a], [10, 0, 0, b], 17, &udp(sp, dp))
}

#[test]
fn a_burst_is_cut_before_a_second_packet_of_a_connection_old_or_new() {
    let ct = plugin("null");
    for f in 0..4 {
        one(&ct, &udp4(1, 2, 1000 + f, 53), SEC);
        one(&ct, &udp4(2, 1, 53, 1000 + f), SEC);
    }
    // Three established flows, then the first again: decided up to the repeat.
    let ds = [
        udp4(1, 2, 1000, 53),
        udp4(2, 1, 53, 1001),
        udp4(1, 2, 1002, 53),
        udp4(2, 1, 53, 1000),
        udp4(1, 2, 1003, 53),
    ];
    let (k, infos) = burst_in(&ct, &ds, 2 * SEC);
    assert_eq!(k, 3, "{infos:?}");
    assert!(
        infos
            .iter()
            .all(|i| matches!(i, CtInfo::Established | CtInfo::EstablishedReply)),
        "{infos:?}"
    );
    // A new flow does not end the burst; its reply, which must find the connection
    // confirmed, waits (and the packets after it).
    let ds = [
        udp4(1, 2, 1003, 53),
        udp4(1, 2, 7000, 53),
        udp4(1, 2, 1001, 53),
        udp4(1, 2, 7001, 53),
        udp4(2, 1, 53, 7000),
        udp4(1, 2, 1002, 53),
    ];
    let (k, infos) = burst_in(&ct, &ds, 2 * SEC);
    assert_eq!(k, 4, "{infos:?}");
    assert_eq!(
        infos,
        [
            CtInfo::Established,
            CtInfo::New,
            CtInfo::Established,
            CtInfo::New
        ]
    );
    // Its second packet the same way waits likewise.
    let ds = [udp4(1, 2, 7100, 53), udp4(1, 2, 7100, 53)];
    assert_eq!(burst_in(&ct, &ds, 2 * SEC).0, 1);
}

#[test]
fn a_burst_is_cut_after_a_packet_of_a_connection_with_a_helper() {
    let ct = plugin(
        r#"{"helpers": [{"name": "ftp", "wasm": "builtin:ftp", "ports": ["tcp/21"]}],
            "helper_sandbox": {"budget": {"fuel": 100000000}}}"#,
    );
    let c = |a: u8, b: u8, sp: u16, dp: u16, seq: u32, ack: u32, fl: u8, pl: &[u8]| {
        let mut l4 = tcp(sp, dp, seq, ack, fl);
        l4.extend_from_slice(pl);
        ipv4([10, 0, 0, a], [10, 0, 0, b], 6, &l4)
    };
    // The FTP control connection's handshake, one packet at a time.
    one(&ct, &c(1, 2, 40000, 21, 100, 0, 0x02, b""), SEC);
    one(&ct, &c(2, 1, 21, 40000, 500, 101, 0x12, b""), SEC);
    assert_eq!(
        one(&ct, &c(1, 2, 40000, 21, 101, 501, 0x10, b""), SEC),
        CtInfo::Established
    );
    // The greeting (a helper reads a direction's lines from its second payload on, as
    // Linux), then the server's 227 (a helper's packet), the client's data connection
    // and an unrelated flow in one burst: decided up to the 227 only.
    let hello = b"220 ready\r\n";
    one(&ct, &c(2, 1, 21, 40000, 501, 101, 0x18, hello), SEC);
    let pasv = b"227 Entering Passive Mode (10,0,0,2,117,49)\r\n";
    let data_syn = c(1, 2, 40001, 30001, 9000, 0, 0x02, b"");
    let ds = [
        c(2, 1, 21, 40000, 501 + hello.len() as u32, 101, 0x18, pasv),
        data_syn.clone(),
        udp4(1, 2, 5000, 53),
    ];
    let (k, infos) = burst_in(&ct, &ds, 2 * SEC);
    assert_eq!((k, infos[0]), (1, CtInfo::EstablishedReply));
    // Finished one at a time (the 227 through the helper step and confirm), the data
    // connection's SYN is the expected one.
    one(&ct, &ds[0], 2 * SEC);
    assert_eq!(one(&ct, &data_syn, 2 * SEC), CtInfo::Related);
}

#[test]
fn an_icmp_error_waits_for_the_new_connection_it_may_quote() {
    use brickwall_conntrack::datagram::icmp;
    let ct = plugin("null");
    let request = udp4(1, 2, 9000, 53);
    // Port unreachable from 10.0.0.2 about that datagram: unused word, then the quote.
    let mut rest = vec![0u8; 4];
    rest.extend_from_slice(&request[..28]);
    let error = ipv4([10, 0, 0, 2], [10, 0, 0, 1], 1, &icmp(3, 3, &rest));
    let (k, infos) = burst_in(&ct, &[request.clone(), error.clone()], SEC);
    assert_eq!(
        (k, infos[0]),
        (1, CtInfo::New),
        "the error waits: {infos:?}"
    );
    // Once the first packet is confirmed, the error is related to its connection.
    one(&ct, &request, SEC);
    assert_eq!(one(&ct, &error, SEC), CtInfo::RelatedReply);
}
