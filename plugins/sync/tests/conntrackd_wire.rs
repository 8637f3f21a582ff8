//! The wire format against Debian's conntrackd: the kernel tracks real connections in
//! a router namespace, conntrackd there sends them over UDP to a socket of the test's,
//! and every datagram it sends is decoded with the crate's views and compared with
//! what `conntrack -L` lists in that namespace: tuples, protocol, TCP state, ICMP
//! type, code and id, timeout, mark, status and the source NAT address (which
//! conntrackd sends byte-swapped). Control messages built by the crate go back to the
//! daemon: a RESYNC makes a NOTRACK daemon send its whole cache again, and a NACK makes
//! an FTFW daemon send the entries of the messages it names again (under new sequence
//! numbers: conntrackd builds a resent message afresh) and acknowledge the NACK.
//!
//! Needs root, `conntrackd`, `conntrack`, `nft` and `ping`; fails without them.

use brickwall_netns::{
    require_root, require_tools, Topology, INSIDE_CLIENT4, OUTSIDE_SERVER4, ROUTER_OUTSIDE4,
};
use brickwall_sync::wire::conntrack::{Addrs, Conntrack};
use brickwall_sync::wire::expect::Expect;
use brickwall_sync::wire::header;
use brickwall_sync::wire::message::{Action, Body, Control, Message, Messages};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

/// conntrackd's sync port.
const PORT: u16 = 3780;
/// Where conntrackd listens (its `IPv4_address`).
const DAEMON: &str = "127.0.0.1";
/// Where conntrackd sends (its `IPv4_Destination_Address`): the test's socket.
const TEST: &str = "127.0.0.2";
/// The mark the router's ruleset gives every forwarded connection.
const MARK: u32 = 0x2a;

/// Runs `f` on a thread inside network namespace `ns`: sockets it makes stay there.
fn in_netns<T: Send + 'static>(ns: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let path = format!("/run/netns/{ns}");
    std::thread::spawn(move || {
        let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        // SAFETY: setns on this thread only, with a namespace file we hold open.
        let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(rc, 0, "setns {path}: {}", std::io::Error::last_os_error());
        f()
    })
    .join()
    .expect("thread in the namespace")
}

/// The router: the kernel forwarding and masquerading, marking forwarded connections,
/// with the FTP helper on port 21; conntrackd in `mode` (`NOTRACK` or `FTFW`) syncing
/// connections and expectations over UDP on its loopback.
fn router(tag: &str, mode: &str) -> Topology {
    require_root();
    require_tools(&["conntrackd", "conntrack", "nft", "ping", "ss"]);
    let t = Topology::routed(tag);
    t.route_in_kernel(&format!(
        "table ip sync_test {{
  ct helper ftp_std {{
    type \"ftp\" protocol tcp;
  }}
  chain prerouting {{
    type filter hook prerouting priority 0;
    tcp dport 21 ct helper set \"ftp_std\"
  }}
  chain forward {{
    type filter hook forward priority 0;
    ct state new ct mark set {MARK}
  }}
  chain postrouting {{
    type nat hook postrouting priority 100;
    oifname \"fs\" meta l4proto {{ tcp, udp }} masquerade to :40000-40999
    oifname \"fs\" masquerade
  }}
}}
"
    ));
    let conf = t.dir.join("conntrackd.conf");
    std::fs::write(
        &conf,
        format!(
            "Sync {{\n Mode {mode} {{\n }}\n UDP {{\n  IPv4_address {DAEMON}\n  \
             IPv4_Destination_Address {TEST}\n  Port {PORT}\n  Interface lo\n  \
             Checksum on\n }}\n Options {{\n  ExpectationSync on\n }}\n}}\n\
             General {{\n LogFile {dir}/conntrackd.file.log\n Syslog off\n \
             LockFile {dir}/conntrackd.lock\n UNIX {{\n  Path {dir}/conntrackd.ctl\n }}\n\
             NetlinkEventsReliable on\n}}\n",
            dir = t.dir.display()
        ),
    )
    .expect("conntrackd.conf");
    t
}

/// The test's end of the link, bound in the router's namespace.
fn link_socket(t: &Topology) -> UdpSocket {
    in_netns(&t.fw, || {
        let s = UdpSocket::bind((TEST, PORT)).expect("binding the test's sync socket");
        s.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        s
    })
}

/// Starts conntrackd (after the socket it sends to exists).
fn start_daemon(t: &mut Topology) {
    let conf = t.dir.join("conntrackd.conf").display().to_string();
    t.spawn("conntrackd", &t.fw.clone(), &["conntrackd", "-C", &conf]);
}

/// Every datagram that arrives for `secs` seconds.
fn datagrams(s: &UdpSocket, secs: f64) -> Vec<Vec<u8>> {
    let end = Instant::now() + Duration::from_secs_f64(secs);
    let mut out = Vec::new();
    let mut buf = vec![0u8; 65536];
    while Instant::now() < end {
        if let Ok(n) = s.recv(&mut buf) {
            out.push(buf[..n].to_vec());
        }
    }
    out
}

/// Every message of `dgrams`, decoded; any refusal fails the test.
fn decode(dgrams: &[Vec<u8>]) -> Vec<Message> {
    let mut out = Vec::new();
    for d in dgrams {
        for m in Messages::new(d) {
            out.push(m.unwrap_or_else(|e| panic!("conntrackd sent {d:02x?}: {e}")));
        }
    }
    out
}

/// A connection as `conntrack -L` lists it.
#[derive(Debug)]
struct Listed {
    proto: u8,
    timeout: u32,
    state: Option<String>,
    orig: HashMap<String, String>,
    reply: HashMap<String, String>,
    flags: Vec<String>,
    mark: u32,
}

/// The router's conntrack table, the test's connections only (from the client).
fn kernel_table(t: &Topology) -> Vec<Listed> {
    let out = t.exec(&t.fw, &["conntrack", "-L"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let mut v = Vec::new();
    for line in text.lines() {
        let tok: Vec<&str> = line.split_whitespace().collect();
        if tok.len() < 4 {
            continue;
        }
        let mut l = Listed {
            proto: tok[1].parse().unwrap(),
            timeout: tok[2].parse().unwrap(),
            state: None,
            orig: HashMap::new(),
            reply: HashMap::new(),
            flags: Vec::new(),
            mark: 0,
        };
        for w in &tok[3..] {
            if let Some((k, val)) = w.split_once('=') {
                if k == "mark" {
                    l.mark = val.parse().unwrap();
                } else if k == "use" || k == "zone" {
                } else if l.orig.contains_key(k) {
                    l.reply.insert(k.into(), val.into());
                } else {
                    l.orig.insert(k.into(), val.into());
                }
            } else if w.starts_with('[') {
                l.flags.push(w.trim_matches(['[', ']']).into());
            } else {
                l.state = Some(w.to_string());
            }
        }
        if l.orig.get("src").map(String::as_str) == Some(INSIDE_CLIENT4) {
            v.push(l);
        }
    }
    v
}

/// Linux's TCP conntrack states by their `conntrack -L` names.
fn tcp_state(name: &str) -> u8 {
    [
        "NONE",
        "SYN_SENT",
        "SYN_RECV",
        "ESTABLISHED",
        "FIN_WAIT",
        "CLOSE_WAIT",
        "LAST_ACK",
        "TIME_WAIT",
        "CLOSE",
        "SYN_SENT2",
    ]
    .iter()
    .position(|s| *s == name)
    .unwrap_or_else(|| panic!("TCP state {name}")) as u8
}

/// Whether message entry `c` is listed connection `l` (its original tuple).
fn same_flow(c: &Conntrack, l: &Listed) -> bool {
    let ip = |k: &str| l.orig[k].parse::<Ipv4Addr>().unwrap();
    let port = |k: &str| l.orig.get(k).map(|p| p.parse::<u16>().unwrap());
    if c.addrs
        != Some(Addrs::V4 {
            src: ip("src"),
            dst: ip("dst"),
        })
        || c.l4proto != Some(l.proto)
    {
        return false;
    }
    match l.proto {
        6 | 17 => c.ports == Some((port("sport").unwrap(), port("dport").unwrap())),
        1 => c.icmp_id == port("id"),
        _ => true,
    }
}

/// Checks message entry `c`, sent `age` ago, against listed connection `l`.
fn check(c: &Conntrack, l: &Listed, age: Duration) {
    assert_eq!(c.mark, Some(l.mark), "mark of {l:?}: {c:?}");
    assert_eq!(l.mark, MARK);
    let t = c.timeout.expect("timeout");
    let slack = age.as_secs() as u32 + 2;
    assert!(
        t >= l.timeout && t <= l.timeout + slack,
        "timeout {t} sent {age:?} ago, {} listed: {c:?}",
        l.timeout
    );
    let status = c.status.expect("status");
    let assured = l.flags.iter().any(|f| f == "ASSURED");
    assert_eq!(status & 0x4 != 0, assured, "ASSURED: {status:#x} {l:?}");
    let replied = !l.flags.iter().any(|f| f == "UNREPLIED");
    assert_eq!(status & 0x2 != 0, replied, "SEEN_REPLY: {status:#x} {l:?}");
    // Masqueraded: the reply goes to the router's outside address, which conntrackd
    // sends as the source NAT address.
    assert_eq!(l.reply["dst"], ROUTER_OUTSIDE4);
    assert_eq!(c.snat_v4, Some(ROUTER_OUTSIDE4.parse().unwrap()), "{c:?}");
    assert_eq!(c.dnat_v4, None);
    // TCP and UDP are masqueraded to ports 40000 to 40999: the port translation is
    // sent too.
    if let Some(sport) = l.orig.get("sport") {
        let translated: u16 = l.reply["dport"].parse().unwrap();
        assert!((40000..=40999).contains(&translated), "{l:?}");
        assert_ne!(sport, &l.reply["dport"]);
        assert_eq!(c.spat_port, Some(translated), "{c:?}");
    }
    match l.proto {
        6 => assert_eq!(
            c.tcp_state,
            Some(tcp_state(l.state.as_deref().unwrap())),
            "{l:?}"
        ),
        1 => {
            assert_eq!(
                c.icmp_type.map(u32::from),
                Some(l.orig["type"].parse().unwrap())
            );
            assert_eq!(
                c.icmp_code.map(u32::from),
                Some(l.orig["code"].parse().unwrap())
            );
        }
        _ => {}
    }
}

/// A server in the server's namespace: TCP on 8080 (reads, answers, stays open) and
/// UDP echo on 5353.
fn servers(t: &Topology) {
    let (tcp, udp) = in_netns(&t.server, || {
        (
            TcpListener::bind((OUTSIDE_SERVER4, 8080)).unwrap(),
            UdpSocket::bind((OUTSIDE_SERVER4, 5353)).unwrap(),
        )
    });
    std::thread::spawn(move || {
        for s in tcp.incoming() {
            let Ok(mut s) = s else { return };
            std::thread::spawn(move || {
                let mut b = [0u8; 64];
                while let Ok(n) = s.read(&mut b) {
                    if n == 0 || s.write_all(&b[..n]).is_err() {
                        return;
                    }
                }
            });
        }
    });
    std::thread::spawn(move || {
        let mut b = [0u8; 64];
        while let Ok((n, from)) = udp.recv_from(&mut b) {
            let _ = udp.send_to(&b[..n], from);
        }
    });
}

/// The client's connections: a TCP one left open, a UDP exchange and a ping. Returns
/// the TCP stream (closing it would end the connection).
fn connect(t: &Topology) -> TcpStream {
    // Source ports outside the masquerading range, so that each is translated.
    t.exec(
        &t.client,
        &["sysctl", "-qw", "net.ipv4.ip_local_port_range=32768 39999"],
    );
    let (mut tcp, udp) = in_netns(&t.client, || {
        let tcp = TcpStream::connect((OUTSIDE_SERVER4, 8080)).expect("TCP through the router");
        let udp = UdpSocket::bind((INSIDE_CLIENT4, 0)).unwrap();
        (tcp, udp)
    });
    tcp.write_all(b"hello").unwrap();
    let mut b = [0u8; 5];
    tcp.read_exact(&mut b).unwrap();
    udp.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    udp.send_to(b"ping", (OUTSIDE_SERVER4, 5353)).unwrap();
    udp.recv_from(&mut b).expect("UDP echo through the router");
    t.exec(&t.client, &["ping", "-c", "1", "-W", "2", OUTSIDE_SERVER4]);
    tcp
}

/// The last entry message for each listed connection, and when its datagram came.
fn last_for<'a>(msgs: &'a [(Instant, Message)], l: &Listed) -> Option<&'a (Instant, Message)> {
    msgs.iter().rev().find(|(_, m)| match &m.body {
        Body::Conntrack(_, c) => same_flow(c, l),
        _ => false,
    })
}

/// Receives for `secs`, stamping each message with its datagram's arrival.
fn stamped(s: &UdpSocket, secs: f64) -> Vec<(Instant, Message)> {
    let end = Instant::now() + Duration::from_secs_f64(secs);
    let mut out = Vec::new();
    while Instant::now() < end {
        for d in datagrams(s, 0.1) {
            let now = Instant::now();
            out.extend(decode(&[d]).into_iter().map(|m| (now, m)));
        }
    }
    out
}

/// Sequence numbers increase by one from message to message (a lossless loopback).
fn assert_consecutive(msgs: &[(Instant, Message)]) {
    for w in msgs.windows(2) {
        assert_eq!(
            w[1].1.seq,
            w[0].1.seq.wrapping_add(1),
            "gap between {:?} and {:?}",
            w[0].1,
            w[1].1
        );
    }
}

/// Our control message to the daemon.
fn send_control(s: &UdpSocket, seq: u32, c: Control) {
    let m = Message {
        seq,
        hello: false,
        hello_back: false,
        body: Body::Control(c),
    };
    s.send_to(&m.to_bytes(), (DAEMON, PORT)).unwrap();
}

#[test]
fn notrack_messages_decode_to_what_conntrack_lists_and_a_resync_repeats_them() {
    let mut t = router("sync-nt", "NOTRACK");
    let link = link_socket(&t);
    start_daemon(&mut t);
    // The daemon is up once its ALIVE messages come (one a second).
    let first = stamped(&link, 2.5);
    assert!(
        first
            .iter()
            .any(|(_, m)| m.body == Body::Control(Control::Alive)),
        "no ALIVE from conntrackd: {first:?}\n{}",
        t.log("conntrackd")
    );
    servers(&t);
    let _tcp = connect(&t);
    let msgs = stamped(&link, 2.0);
    let listed = kernel_table(&t);
    let protos: Vec<u8> = listed.iter().map(|l| l.proto).collect();
    for p in [6, 17, 1] {
        assert!(protos.contains(&p), "protocol {p} not listed: {listed:?}");
    }
    for l in &listed {
        let (at, m) =
            last_for(&msgs, l).unwrap_or_else(|| panic!("no message for {l:?}; got {msgs:#?}"));
        let Body::Conntrack(_, c) = &m.body else {
            unreachable!()
        };
        check(c, l, at.elapsed());
    }
    let mut all = first.clone();
    all.extend(msgs.iter().cloned());
    assert_consecutive(&all);

    // A destroyed connection is sent as a DESTROY.
    let udp = listed.iter().find(|l| l.proto == 17).unwrap();
    t.exec(
        &t.fw,
        &[
            "conntrack",
            "-D",
            "-p",
            "udp",
            "--orig-port-src",
            &udp.orig["sport"],
        ],
    );
    let gone = stamped(&link, 1.5);
    assert!(
        gone.iter().any(|(_, m)| matches!(
            &m.body,
            Body::Conntrack(Action::Destroy, c) if same_flow(c, udp)
        )),
        "no DESTROY for {udp:?}: {gone:?}"
    );

    // Our RESYNC: the daemon sends its cache again, the TCP connection with its state
    // (as an UPDATE: conntrackd sends what it has seen change since as one).
    send_control(&link, 1, Control::Resync);
    let again = stamped(&link, 1.5);
    let tcp = listed.iter().find(|l| l.proto == 6).unwrap();
    let (at, m) = last_for(&again, tcp)
        .unwrap_or_else(|| panic!("no resent TCP entry after RESYNC: {again:?}"));
    assert!(
        at.duration_since(again[0].0) < Duration::from_millis(500),
        "the TCP entry came late after the RESYNC: {again:?}"
    );
    assert!(
        !matches!(m.body, Body::Conntrack(Action::Destroy, _)),
        "{m:?}"
    );
    let Body::Conntrack(_, c) = &m.body else {
        unreachable!()
    };
    let _ = at;
    // The cache keeps the timeout of the entry's last event: it ages from then.
    let (sent, _) = last_for(&msgs, tcp).unwrap();
    let now = kernel_table(&t);
    check(
        c,
        now.iter().find(|l| l.proto == 6).unwrap(),
        sent.elapsed(),
    );
}

#[test]
fn ftfw_messages_say_hello_and_a_nack_brings_their_entries_back() {
    let mut t = router("sync-ft", "FTFW");
    let link = link_socket(&t);
    start_daemon(&mut t);
    let first = stamped(&link, 2.5);
    assert!(
        !first.is_empty(),
        "nothing from conntrackd:\n{}",
        t.log("conntrackd")
    );
    servers(&t);
    let _tcp = connect(&t);
    let msgs = stamped(&link, 2.0);
    let data: Vec<&Message> = msgs
        .iter()
        .map(|(_, m)| m)
        .filter(|m| matches!(m.body, Body::Conntrack(..)))
        .collect();
    assert!(data.len() >= 3, "few data messages: {msgs:?}");
    // Nothing acknowledged the daemon's start: its messages still say HELLO.
    assert!(data.iter().all(|m| m.hello), "{data:?}");
    let listed = kernel_table(&t);
    for l in &listed {
        let (at, m) = last_for(&msgs, l).unwrap_or_else(|| panic!("no message for {l:?}"));
        let Body::Conntrack(_, c) = &m.body else {
            unreachable!()
        };
        check(c, l, at.elapsed());
    }
    // The NACK names the data messages' range; the daemon sends each entry again,
    // built afresh, so under a new sequence number after the range. Its ACK of our
    // NACK (numbered 1) comes too: FTFW acknowledges control messages as well.
    let (from, to) = (data[0].seq, data[data.len() - 1].seq);
    send_control(&link, 1, Control::Nack { from, to });
    let resent = stamped(&link, 1.5);
    // An entry sent twice in the range (a NEW, then an UPDATE) comes once, as its
    // last message said.
    let flow = |m: &Message| match &m.body {
        Body::Conntrack(_, c) => (c.addrs, c.l4proto, c.ports, c.icmp_id),
        _ => unreachable!(),
    };
    for (i, m) in data.iter().enumerate() {
        if data[i + 1..].iter().any(|later| flow(later) == flow(m)) {
            continue;
        }
        assert!(
            resent
                .iter()
                .any(|(_, r)| header::seq_before(to, r.seq) && r.body == m.body),
            "{:?} not resent after NACK {from}..={to}: {resent:?}",
            m.body
        );
    }
    assert!(
        resent
            .iter()
            .any(|(_, r)| r.body == Body::Control(Control::Ack { from: 1, to: 1 })),
        "no ACK of our NACK: {resent:?}"
    );
}

/// An FTP download through the router: the kernel's FTP helper expects the passive data
/// connection, and conntrackd sends the expectation (master, expected tuple, mask,
/// timeout, helper) and then the data connection with its master, which must agree
/// with each other and with the control connection.
#[test]
fn an_ftp_expectation_and_its_related_connection_decode_consistently() {
    let mut t = router("sync-ex", "NOTRACK");
    require_tools(&["vsftpd", "curl"]);
    let root = t.dir.join("ftp");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("file.bin"), vec![7u8; 100_000]).unwrap();
    t.start_vsftpd(&root);
    let link = link_socket(&t);
    start_daemon(&mut t);
    stamped(&link, 1.5);
    t.exec(
        &t.client,
        &[
            "curl",
            "-s",
            "--ftp-pasv",
            "-o",
            "/dev/null",
            &format!("ftp://{OUTSIDE_SERVER4}/file.bin"),
        ],
    );
    let msgs = stamped(&link, 2.0);
    let control = msgs
        .iter()
        .find_map(|(_, m)| match &m.body {
            Body::Conntrack(_, c) if c.ports.map(|p| p.1) == Some(21) => Some(c.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no control connection: {msgs:#?}"));
    let ctl_master = brickwall_sync::wire::expect::Tuple {
        addrs: control.addrs,
        l4proto: Some(6),
        ports: control.ports,
    };
    let exp: Vec<(Action, Expect)> = msgs
        .iter()
        .filter_map(|(_, m)| match &m.body {
            Body::Expect(a, e) => Some((*a, e.clone())),
            _ => None,
        })
        .collect();
    // The expectation lives from the PASV answer to the data connection, often less
    // than a millisecond: conntrackd, which reads events in batches, may then send its
    // DESTROY only, which carries the same attributes.
    let (_, e) = exp
        .iter()
        .find(|(a, _)| *a == Action::New)
        .or_else(|| exp.first())
        .unwrap_or_else(|| panic!("no expectation: {msgs:#?}"));
    assert_eq!(e.master, ctl_master, "{e:?}");
    assert_eq!(e.helper.as_deref(), Some("ftp"), "{e:?}");
    assert!(e.timeout.is_some_and(|t| t <= 300), "{e:?}");
    let Some(Addrs::V4 { src, dst }) = e.expected.addrs else {
        panic!("{e:?}")
    };
    assert_eq!(src, INSIDE_CLIENT4.parse::<Ipv4Addr>().unwrap());
    assert_eq!(dst, OUTSIDE_SERVER4.parse::<Ipv4Addr>().unwrap());
    let (_, data_port) = e.expected.ports.expect("expected ports");
    assert!(
        (40000..=40100).contains(&data_port),
        "vsftpd's passive ports: {e:?}"
    );
    // The mask: both addresses and the destination port matter, the source port not.
    assert_eq!(e.mask.ports, Some((0, 0xffff)), "{e:?}");
    // The data connection: RELATED to the control one (its master), EXPECTED.
    let data = msgs
        .iter()
        .find_map(|(_, m)| match &m.body {
            Body::Conntrack(_, c) if c.ports.map(|p| p.1) == Some(data_port) => Some(c.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no data connection to {data_port}: {msgs:#?}"));
    assert_eq!(data.master_addrs, control.addrs, "{data:?}");
    assert_eq!(data.master_ports, control.ports, "{data:?}");
    assert_eq!(data.master_l4proto, Some(6));
    assert!(data.status.unwrap() & 1 != 0, "IPS_EXPECTED: {data:?}");
    assert!(
        msgs.iter().any(|(_, m)| matches!(
            &m.body,
            Body::Conntrack(_, c) if c.ports == control.ports && c.helper.as_deref() == Some("ftp")
        )),
        "the control connection's helper: {msgs:#?}"
    );
    // Used, the expectation goes.
    assert!(
        exp.iter()
            .any(|(a, x)| *a == Action::Destroy && x.expected == e.expected),
        "{exp:?}"
    );
}
