//! Tests of the helper as a whole: hand-made exchanges and the control connections of
//! the reference captures (`/work/shared/pcaps`: sequence numbers and payloads as
//! captured, long or binary payloads replaced by filler of the same length and ending).

use super::*;
use brickwall_helper_sdk::Verdict;
use Direction::{Original as O, Reply as R};

fn v4(s: &str) -> Addr {
    Addr::V4(
        s.parse::<std::net::Ipv4Addr>()
            .expect("test address")
            .octets(),
    )
}

fn v6(s: &str) -> Addr {
    Addr::V6(
        s.parse::<std::net::Ipv6Addr>()
            .expect("test address")
            .octets(),
    )
}

fn conn(client: Addr, client_port: u16, server: Addr) -> ConnInfo {
    let original = Tuple {
        src: client,
        dst: server,
        protocol: proto::TCP,
        src_port: client_port,
        dst_port: 21,
    };
    ConnInfo::of(original)
}

/// The usual IPv4 test connection: 172.23.0.3:58252 → 172.23.0.2:21.
fn conn4() -> ConnInfo {
    conn(v4("172.23.0.3"), 58252, v4("172.23.0.2"))
}

/// The usual IPv6 test connection (zeek's ipv6.pcap).
fn conn6() -> ConnInfo {
    conn(
        v6("2001:470:1f11:81f:c999:d94:aa7c:2e3e"),
        49185,
        v6("2001:470:4867:99::21"),
    )
}

/// One connection as the host drives it: state handed in, kept only when changed.
struct Session {
    state: Vec<u8>,
}

impl Session {
    fn new(c: &ConnInfo) -> Session {
        Session {
            state: Ftp::assigned(c),
        }
    }

    /// A packet with the given conntrack state; returns the outcome and whether the
    /// state was written.
    fn packet_ct(
        &mut self,
        ct: CtState,
        dir: Direction,
        seq: u32,
        payload: &[u8],
    ) -> (Outcome, bool) {
        let mut st = State::new(self.state.clone());
        let pkt = Packet {
            conn: 1,
            dir,
            ct,
            seq,
            tcp_flags: 0x18,
            payload,
        };
        let out = Ftp::packet(&pkt, &mut st);
        let changed = st.changed();
        if changed {
            self.state = st.into_bytes();
        }
        (out, changed)
    }

    fn packet(&mut self, dir: Direction, seq: u32, payload: &[u8]) -> Outcome {
        self.packet_ct(CtState::Established, dir, seq, payload).0
    }

    /// Sends `payload` as if a line had ended just before it (a first line of the
    /// same direction ends at `seq`), and returns the second packet's outcome.
    fn at_line_start(&mut self, dir: Direction, seq: u32, payload: &[u8]) -> Outcome {
        let first = b"NOOP\r\n";
        let out = self.packet(dir, seq.wrapping_sub(first.len() as u32), first);
        assert_eq!(out, Outcome::accept());
        self.packet(dir, seq, payload)
    }
}

/// Runs `payload` at a line start of a fresh connection.
fn one(c: &ConnInfo, dir: Direction, payload: &[u8]) -> Outcome {
    Session::new(c).at_line_start(dir, 1000, payload)
}

fn the_expectation(out: &Outcome) -> Expect {
    assert_eq!(out.verdict, None, "accepted");
    assert_eq!(out.expects.len(), 1, "{out:?}");
    out.expects[0]
}

fn assert_data_conn(e: &Expect, from: Addr, to: Addr, port: u16) {
    assert_eq!(
        e.tuple,
        Tuple {
            src: from,
            dst: to,
            protocol: proto::TCP,
            src_port: 0,
            dst_port: port,
        }
    );
    assert!(e.any_src_port && !e.any_src_addr && !e.permanent);
    assert_eq!((e.class, e.timeout_s), (0, 0));
    assert_eq!(e.nat, None, "an untranslated connection's");
}

fn dropped(out: &Outcome) -> bool {
    out.verdict == Some(Verdict::Drop)
}

/// A captured payload.
enum P {
    /// As captured.
    Text(&'static [u8]),
    /// Length, whether it ends in `'\n'`, first byte; the rest is filler.
    Fill(usize, bool, u8),
}
use P::{Fill, Text};

impl P {
    fn bytes(&self) -> Vec<u8> {
        match *self {
            Text(t) => t.to_vec(),
            Fill(len, nl, first) => {
                let mut b: Vec<u8> = (0..len).map(|i| (i * 37 % 251) as u8).collect();
                b[0] = first;
                let end = len - 1;
                b[end] = if nl { b'\n' } else { b[end].max(0x20) };
                b
            }
        }
    }
}

/// Replays a capture's control connection; returns the expectations and the drops.
fn replay(c: &ConnInfo, packets: &[(Direction, u32, P)]) -> (Vec<Expect>, usize) {
    let mut s = Session::new(c);
    let mut expects = Vec::new();
    let mut drops = 0;
    for (dir, seq, p) in packets {
        let out = s.packet(*dir, *seq, &p.bytes());
        drops += usize::from(dropped(&out));
        expects.extend(out.expects);
    }
    (expects, drops)
}

#[test]
fn suricata_ftp_download_active() {
    let packets = [
        (R, 2954009965, Text(b"220 FTP Sandbox Ready.\r\n")),
        (O, 2567972722, Text(b"USER bob\r\n")),
        (R, 2954009989, Text(b"331 Please specify the password.\r\n")),
        (O, 2567972732, Text(b"PASS password\r\n")),
        (R, 2954010023, Text(b"230 Login successful.\r\n")),
        (O, 2567972747, Text(b"TYPE A\r\n")),
        (R, 2954010046, Text(b"200 Switching to ASCII mode.\r\n")),
        (O, 2567972755, Text(b"PORT 172,23,0,3,174,127\r\n")),
        (
            R,
            2954010076,
            Text(b"200 PORT command successful. Consider using PASV.\r\n"),
        ),
        (O, 2567972780, Text(b"NLST\r\n")),
        (
            R,
            2954010127,
            Text(b"150 Here comes the directory listing.\r\n"),
        ),
        (R, 2954010166, Text(b"226 Directory send OK.\r\n")),
        (O, 2567972786, Text(b"TYPE I\r\n")),
        (R, 2954010190, Text(b"200 Switching to Binary mode.\r\n")),
        (O, 2567972794, Text(b"PORT 172,23,0,3,170,65\r\n")),
        (
            R,
            2954010221,
            Text(b"200 PORT command successful. Consider using PASV.\r\n"),
        ),
        (O, 2567972818, Text(b"RETR index.html\r\n")),
        (
            R,
            2954010272,
            Text(b"150 Opening BINARY mode data connection for index.html (39 bytes).\r\n"),
        ),
        (R, 2954010340, Text(b"226 Transfer complete.\r\n")),
        (O, 2567972835, Text(b"TYPE A\r\n")),
        (R, 2954010364, Text(b"200 Switching to ASCII mode.\r\n")),
        (O, 2567972843, Text(b"PORT 172,23,0,3,169,175\r\n")),
        (
            R,
            2954010394,
            Text(b"200 PORT command successful. Consider using PASV.\r\n"),
        ),
        (O, 2567972868, Text(b"NLST\r\n")),
        (
            R,
            2954010445,
            Text(b"150 Here comes the directory listing.\r\n"),
        ),
        (R, 2954010484, Text(b"226 Directory send OK.\r\n")),
        (O, 2567972874, Text(b"QUIT\r\n")),
        (R, 2954010508, Text(b"221 Goodbye.\r\n")),
    ];
    let (expects, drops) = replay(&conn4(), &packets);
    assert_eq!(drops, 0);
    assert_eq!(expects.len(), 3);
    for (e, port) in expects.iter().zip([44671, 43585, 43439]) {
        assert_data_conn(e, v4("172.23.0.2"), v4("172.23.0.3"), port);
    }
}

#[test]
fn ndpi_ftp_passive() {
    let packets = [
        (R, 1479197139, Text(b"220 (vsFTPd 3.0.3)\r\n")),
        (O, 2737018862, Text(b"USER anonymous\r\n")),
        (R, 1479197159, Text(b"331 Please specify the password.\r\n")),
        (O, 2737018878, Text(b"PASS NcFTP@\r\n")),
        (R, 1479197193, Text(b"230 Login successful.\r\n")),
        (O, 2737018891, Text(b"PWD\r\n")),
        (R, 1479197216, Text(b"257 \"/\" is the current directory\r\n")),
        (O, 2737018896, Text(b"FEAT\r\n")),
        (R, 1479197250, Text(b"211-Features:\r\n")),
        (R, 1479197265, Text(b" EPRT\r\n EPSV\r\n MDTM\r\n PASV\r\n REST STREAM\r\n SIZE\r\n TVFS\r\n211 End\r\n")),
        (O, 2737018902, Text(b"HELP SITE\r\n")),
        (R, 1479197330, Text(b"214-The following commands are recognized.\r\n")),
        (R, 1479197374, Fill(241, true, b' ')),
        (O, 2737018913, Text(b"CLNT NcFTP 3.2.6 macosx10.13\r\n")),
        (R, 1479197615, Text(b"500 Unknown command.\r\n")),
        (O, 2737018943, Text(b"PWD\r\n")),
        (R, 1479197637, Text(b"257 \"/\" is the current directory\r\n")),
        (O, 2737018948, Text(b"PASV\r\n")),
        (R, 1479197671, Text(b"227 Entering Passive Mode (90,130,70,73,100,85).\r\n")),
        (O, 2737018954, Text(b"LIST\r\n")),
        (R, 1479197721, Text(b"150 Here comes the directory listing.\r\n")),
        (R, 1479197760, Text(b"226 Directory send OK.\r\n")),
        (O, 2737018960, Text(b"TYPE I\r\n")),
        (R, 1479197784, Text(b"200 Switching to Binary mode.\r\n")),
        (O, 2737018968, Text(b"MLST 1MB.zip\r\n")),
        (R, 1479197815, Text(b"500 Unknown command.\r\n")),
        (O, 2737018982, Text(b"SIZE 1MB.zip\r\n")),
        (R, 1479197837, Text(b"213 1048576\r\n")),
        (O, 2737018996, Text(b"MDTM 1MB.zip\r\n")),
        (R, 1479197850, Text(b"213 20160219164152\r\n")),
        (O, 2737019010, Text(b"PASV\r\n")),
        (R, 1479197870, Text(b"227 Entering Passive Mode (90,130,70,73,95,203).\r\n")),
        (O, 2737019016, Text(b"RETR 1MB.zip\r\n")),
        (R, 1479197920, Text(b"150 Opening BINARY mode data connection for 1MB.zip (1048576 bytes).\r\n")),
        (R, 1479197990, Text(b"226 Transfer complete.\r\n")),
        (O, 2737019030, Text(b"QUIT\r\n")),
        (R, 1479198014, Text(b"221 Goodbye.\r\n")),
    ];
    let c = conn(v4("192.168.1.212"), 50694, v4("90.130.70.73"));
    let (expects, drops) = replay(&c, &packets);
    assert_eq!(drops, 0);
    assert_eq!(expects.len(), 2);
    for (e, port) in expects.iter().zip([25685, 24523]) {
        assert_data_conn(e, v4("192.168.1.212"), v4("90.130.70.73"), port);
    }
}

#[test]
fn zeek_ipv6_epsv_and_eprt() {
    let packets = [
        (R, 108197925, Text(b"220 ftp.NetBSD.org FTP server (NetBSD-ftpd 20100320) ready.\r\n")),
        (O, 646610528, Text(b"USER anonymous\r\n")),
        (R, 108197986, Text(b"331 Guest login ok, type your name as password.\r\n")),
        (O, 646610544, Text(b"PASS test\r\n")),
        (R, 108198035, Text(b"230-\r\n")),
        (R, 108198041, Fill(1208, false, b' ')),
        (R, 108199249, Fill(1009, true, b' ')),
        (O, 646610555, Text(b"SYST\r\n")),
        (R, 108200258, Text(b"215 UNIX Type: L8 Version: NetBSD-ftpd 20100320\r\n")),
        (O, 646610561, Text(b"FEAT\r\n")),
        (R, 108200307, Text(b"211-Features supported\r\n")),
        (R, 108200331, Text(b" MDTM\r\n MLST Type*;Size*;Modify*;Perm*;Unique*;\r\n REST STREAM\r\n SIZE\r\n TVFS\r\n211 End\r\n")),
        (O, 646610567, Text(b"PWD\r\n")),
        (R, 108200417, Text(b"257 \"/\" is the current directory.\r\n")),
        (O, 646610572, Text(b"EPSV\r\n")),
        (R, 108200452, Text(b"229 Entering Extended Passive Mode (|||57086|)\r\n")),
        (O, 646610578, Text(b"LIST\r\n")),
        (R, 108200500, Text(b"150 Opening ASCII mode data connection for '/bin/ls'.\r\n")),
        (R, 108200555, Text(b"226 Transfer complete.\r\n")),
        (O, 646610584, Text(b"EPSV\r\n")),
        (R, 108200579, Text(b"229 Entering Extended Passive Mode (|||57087|)\r\n")),
        (O, 646610590, Text(b"NLST\r\n")),
        (R, 108200627, Text(b"150 Opening ASCII mode data connection for 'file list'.\r\n")),
        (R, 108200684, Text(b"226 Transfer complete.\r\n")),
        (O, 646610596, Text(b"TYPE I\r\n")),
        (R, 108200708, Text(b"200 Type set to I.\r\n")),
        (O, 646610604, Text(b"SIZE robots.txt\r\n")),
        (R, 108200728, Text(b"213 77\r\n")),
        (O, 646610621, Text(b"EPSV\r\n")),
        (R, 108200736, Text(b"229 Entering Extended Passive Mode (|||57088|)\r\n")),
        (O, 646610627, Text(b"RETR robots.txt\r\n")),
        (R, 108200784, Text(b"150 Opening BINARY mode data connection for 'robots.txt' (77 bytes).\r\n")),
        (R, 108200854, Text(b"226 Transfer complete.\r\n")),
        (O, 646610644, Text(b"MDTM robots.txt\r\n")),
        (R, 108200878, Text(b"213 20090816112038\r\n")),
        (O, 646610661, Text(b"SIZE robots.txt\r\n")),
        (R, 108200898, Text(b"213 77\r\n")),
        (O, 646610678, Text(b"EPRT |2|2001:470:1f11:81f:c999:d94:aa7c:2e3e|49189|\r\n")),
        (R, 108200906, Text(b"200 EPRT command successful.\r\n")),
        (O, 646610731, Text(b"RETR robots.txt\r\n")),
        (R, 108200936, Text(b"150 Opening BINARY mode data connection for 'robots.txt' (77 bytes).\r\n")),
        (R, 108201006, Text(b"226 Transfer complete.\r\n")),
        (O, 646610748, Text(b"MDTM robots.txt\r\n")),
        (R, 108201030, Text(b"213 20090816112038\r\n")),
        (O, 646610765, Text(b"TYPE A\r\n")),
        (R, 108201050, Text(b"200 Type set to A.\r\n")),
        (O, 646610773, Text(b"EPRT |2|2001:470:1f11:81f:c999:d94:aa7c:2e3e|49190|\r\n")),
        (R, 108201070, Text(b"200 EPRT command successful.\r\n")),
        (O, 646610826, Text(b"LIST\r\n")),
        (R, 108201100, Text(b"150 Opening ASCII mode data connection for '/bin/ls'.\r\n")),
        (R, 108201155, Text(b"226 Transfer complete.\r\n")),
        (O, 646610832, Text(b"QUIT\r\n")),
        (R, 108201179, Text(b"221-\r\n")),
        (R, 108201185, Fill(188, true, b' ')),
    ];
    let (expects, drops) = replay(&conn6(), &packets);
    assert_eq!(drops, 0);
    assert_eq!(expects.len(), 5);
    let client = v6("2001:470:1f11:81f:c999:d94:aa7c:2e3e");
    let server = v6("2001:470:4867:99::21");
    for (e, port) in expects.iter().zip([57086, 57087, 57088]) {
        assert_data_conn(e, client, server, port);
    }
    for (e, port) in expects[3..].iter().zip([49189, 49190]) {
        assert_data_conn(e, server, client, port);
    }
}

#[test]
fn suricata_ftp_bounce_is_refused() {
    let session = |port_cmd: &'static [u8], quit_seq| {
        [
            (R, 101, Text(b"220 Operation successful\r\n")),
            (O, 11, Text(b"USER anonymous\r\n")),
            (R, 127, Text(b"230 Operation successful\r\n")),
            (O, 27, Text(port_cmd)),
            (R, 153, Text(b"200 Operation successful\r\n")),
            (O, quit_seq, Text(b"QUIT\r\n")),
            (R, 179, Text(b"221 Operation successful\r\n")),
        ]
    };
    // The client's own address: expected.
    let (expects, drops) = replay(
        &conn(v4("1.1.1.2"), 33112, v4("2.2.2.1")),
        &session(b"PORT 1,1,1,2,232,157\r\n", 49),
    );
    assert_eq!(drops, 0);
    assert_eq!(expects.len(), 1);
    assert_data_conn(&expects[0], v4("2.2.2.1"), v4("1.1.1.2"), 59549);
    // A third host's: accepted, not expected.
    let (expects, drops) = replay(
        &conn(v4("1.1.1.2"), 58316, v4("2.2.2.1")),
        &session(b"PORT 2,2,2,3,0,80\r\n", 46),
    );
    assert_eq!((expects.len(), drops), (0, 0));
}

#[test]
fn zeek_auth_tls_then_binary() {
    let packets = [
        (R, 348438933, Text(b"220 (vsFTPd 3.0.5)\r\n")),
        (O, 1463726091, Text(b"FEAT\r\n")),
        (R, 348438953, Text(b"211-Features:\r\n")),
        (R, 348438968, Text(b" EPRT\r\n")),
        (R, 348438975, Text(b" EPSV\r\n")),
        (R, 348438982, Text(b" MDTM\r\n")),
        (R, 348438989, Text(b" PASV\r\n")),
        (R, 348438996, Text(b" PBSZ\r\n")),
        (R, 348439003, Text(b" PROT\r\n")),
        (R, 348439010, Text(b" REST STREAM\r\n")),
        (R, 348439024, Text(b" SIZE\r\n")),
        (R, 348439031, Text(b" TVFS\r\n")),
        (R, 348439038, Text(b"211 End\r\n")),
        (O, 1463726097, Text(b"AUTH TLS\r\n")),
        (R, 348439047, Text(b"234 Proceed with negotiation.\r\n")),
        // TLS records from here on, both starting at a line start.
        (O, 1463726107, Fill(387, false, 0x16)),
        (R, 348439078, Fill(1433, false, 0x16)),
        (O, 1463726494, Fill(6, false, 0x14)),
        (O, 1463726500, Fill(136, false, 0x17)),
        (R, 348440511, Fill(271, false, 0x17)),
        (R, 348440782, Fill(271, false, 0x17)),
        (R, 348441053, Fill(56, false, 0x17)),
        (O, 1463726636, Fill(32, false, 0x17)),
        (R, 348441109, Fill(45, false, 0x17)),
    ];
    let c = conn(v4("127.0.0.1"), 40284, v4("127.0.0.1"));
    assert_eq!(replay(&c, &packets), (Vec::new(), 0));
}

#[test]
fn port_and_eprt_v4() {
    let e = the_expectation(&one(&conn4(), O, b"PORT 172,23,0,3,174,127\r\n"));
    assert_data_conn(&e, v4("172.23.0.2"), v4("172.23.0.3"), 44671);
    let e = the_expectation(&one(&conn4(), O, b"EPRT |1|172.23.0.3|44671|\r\n"));
    assert_data_conn(&e, v4("172.23.0.2"), v4("172.23.0.3"), 44671);
}

#[test]
fn eprt_v6_and_epsv_v6() {
    let client = v6("2001:470:1f11:81f:c999:d94:aa7c:2e3e");
    let server = v6("2001:470:4867:99::21");
    let out = one(
        &conn6(),
        O,
        b"EPRT |2|2001:470:1f11:81f:c999:d94:aa7c:2e3e|49189|\r\n",
    );
    assert_data_conn(&the_expectation(&out), server, client, 49189);
    let out = one(
        &conn6(),
        R,
        b"229 Entering Extended Passive Mode (|||57086|)\r\n",
    );
    assert_data_conn(&the_expectation(&out), client, server, 57086);
}

#[test]
fn pasv_with_and_without_parentheses() {
    for reply in [
        &b"227 Entering Passive Mode (172,23,0,2,82,9).\r\n"[..],
        b"227 Entering Passive Mode 172,23,0,2,82,9\r\n",
        b"227 =172,23,0,2,82,9\r\n",
    ] {
        let e = the_expectation(&one(&conn4(), R, reply));
        assert_data_conn(&e, v4("172.23.0.3"), v4("172.23.0.2"), 82 * 256 + 9);
    }
}

#[test]
fn keywords_ignore_case() {
    for p in [
        &b"port 172,23,0,3,0,20\r\n"[..],
        b"Port 172,23,0,3,0,20\r\n",
        b"eprt |1|172.23.0.3|20|\r\n",
        b"EpRt |1|172.23.0.3|20|\r\n",
    ] {
        assert_eq!(the_expectation(&one(&conn4(), O, p)).tuple.dst_port, 20);
    }
}

#[test]
fn third_party_addresses_are_not_expected() {
    for (dir, p) in [
        (O, &b"PORT 2,2,2,3,0,80\r\n"[..]),
        (O, b"EPRT |1|10.9.9.9|80|\r\n"),
        (R, b"227 Entering Passive Mode (10,9,9,9,0,80).\r\n"),
    ] {
        assert_eq!(one(&conn4(), dir, p), Outcome::accept(), "{p:?}");
    }
    let out = one(&conn6(), O, b"EPRT |2|2001:db8::1|80|\r\n");
    assert_eq!(out, Outcome::accept());
}

#[test]
fn family_mismatches() {
    // An IPv4 address on an IPv6 connection: parsed, never the sender, not expected.
    for (dir, p, cut_short) in [
        (O, &b"PORT 10,0,0,1,0,80\r\n"[..], &b"PORT 1,2,3\r\n"[..]),
        (
            R,
            b"227 Entering Passive Mode (10,0,0,1,0,80).\r\n",
            b"227 (1,2,3\r\n",
        ),
    ] {
        let mut s = Session::new(&conn6());
        assert_eq!(s.at_line_start(dir, 500, p), Outcome::accept(), "{p:?}");
        // Its line end is still remembered: the next line is read.
        let next = 500 + p.len() as u32;
        assert!(dropped(&s.packet(dir, next, cut_short)));
    }
    // EPRT naming the other family is unreadable, so dropped, like Linux.
    assert!(dropped(&one(&conn4(), O, b"EPRT |2|::1|80|\r\n")));
    assert!(dropped(&one(&conn6(), O, b"EPRT |1|10.0.0.1|80|\r\n")));
}

#[test]
fn partial_commands_are_dropped_and_not_remembered() {
    for (dir, p) in [
        (O, &b"P"[..]),
        (O, b"PO"),
        (O, b"port"),
        (O, b"EPR"),
        (O, b"PORT 1,2,3"),
        (O, b"PORT 1,2,3\r\n"),
        (O, b"PORT 172,23,0,3,174,127\n"),
        (O, b"PORTX\r\n"),
        (O, b"EPRT |1|172.23.0.3|44671"),
        (R, b"22"),
        (R, b"227 Entering Passive Mode (172,23,0,2,82"),
        (R, b"229 Entering Extended Passive Mode (|||0|)\r\n"),
        (R, b"229 Entering Extended Passive Mode\r\n"),
    ] {
        let mut s = Session::new(&conn4());
        s.at_line_start(dir, 7000, b"NOOP\r\n");
        let before = s.state.clone();
        let (out, changed) = s.packet_ct(CtState::Established, dir, 7006, p);
        assert!(dropped(&out), "{p:?}: {out:?}");
        assert!(out.expects.is_empty());
        assert!(
            !changed && s.state == before,
            "{p:?}: a drop leaves the state alone"
        );
    }
}

#[test]
fn complete_non_matches_are_accepted() {
    for (dir, p) in [
        (O, &b"NOOP\r\n"[..]),
        (O, b"Q"),
        (O, b"\x00\x01\x02"),
        (O, b" PORT 172,23,0,3,174,127\r\n"),
        (R, b"200 PORT command successful.\r\n"),
        (R, b"228 (1,2,3,4,5,6)\r\n"),
        (R, b"\x16\x03\x03\x00\x9b\x02"),
    ] {
        assert_eq!(one(&conn4(), dir, p), Outcome::accept(), "{p:?}");
    }
}

#[test]
fn only_line_starts_are_read() {
    let port = b"PORT 172,23,0,3,174,127\r\n"; // 25 bytes
                                               // The same command without the line feed: complete, but remembers nothing.
    let cr = &port[..24];
    let mut s = Session::new(&conn4());
    // The first payload of a direction is never read.
    assert_eq!(s.packet(O, 100, port), Outcome::accept());
    // The next one, at the sequence number after its line end, is.
    assert_eq!(s.packet(O, 125, cr).expects.len(), 1);
    // Not at a line start (a byte further): not read.
    assert_eq!(s.packet(O, 126, cr), Outcome::accept());
    // A line end in the other direction does not make a client line start.
    assert_eq!(s.packet(R, 125, b"200 OK\r\n"), Outcome::accept());
    assert_eq!(s.packet(O, 133, cr), Outcome::accept());
    // A payload that does not end a line: what follows it is not a line start...
    assert_eq!(s.packet(O, 125, b"NOOP"), Outcome::accept());
    assert_eq!(s.packet(O, 129, cr), Outcome::accept());
    // ... but the line start before it still is (a retransmission is read again).
    assert_eq!(s.packet(O, 125, port).expects.len(), 1);
}

#[test]
fn two_line_starts_are_remembered() {
    let mut s = Session::new(&conn4());
    let a = b"USER a\r\n"; // 8 bytes
    s.packet(O, 0, a);
    s.packet(O, 8, a);
    // Both 8 and 16 are line starts now: a retransmission at 8 is read.
    assert_eq!(s.packet(O, 8, b"PORT 172,23,0,3,0,20\r\n").expects.len(), 1);
    // 16 and 30 are remembered; a line end at 38 evicts the older, 16.
    s.packet(O, 30, a);
    assert_eq!(
        s.packet(O, 16, b"PORT 172,23,0,3,0,20\r\n"),
        Outcome::accept()
    );
    assert_eq!(
        s.packet(O, 38, b"PORT 172,23,0,3,0,21\r\n").expects.len(),
        1
    );
}

#[test]
fn sequence_numbers_wrap() {
    let mut s = Session::new(&conn4());
    // Line starts at 2^32 - 2 and, past the wrap, at 4.
    s.packet(O, u32::MAX - 9, b"USER x\r\n");
    s.packet(O, u32::MAX - 1, b"NOOP\r\n");
    // Read at 4; its line end (26) evicts the older of the two, 2^32 - 2, although it
    // is the larger number.
    let out = s.packet(O, 4, b"PORT 172,23,0,3,0,20\r\n");
    assert_eq!(the_expectation(&out).tuple.dst_port, 20);
    let again = s.packet(O, 4, b"PORT 172,23,0,3,0,21\r");
    assert_eq!(the_expectation(&again).tuple.dst_port, 21);
    let evicted = s.packet(O, u32::MAX - 1, b"PORT 172,23,0,3,0,22\r");
    assert_eq!(evicted, Outcome::accept());
    assert_eq!(s.packet(O, 26, b"PORT 172,23,0,3,0,23\r").expects.len(), 1);
}

#[test]
fn packets_not_established_are_ignored() {
    for ct in [CtState::New, CtState::Related] {
        let mut s = Session::new(&conn4());
        s.packet(O, 0, b"NOOP\r\n");
        let before = s.state.clone();
        let (out, changed) = s.packet_ct(ct, O, 6, b"PORT 172,23,0,3,0,20\r\n");
        assert_eq!(out, Outcome::accept());
        assert!(!changed && s.state == before);
        let (out, _) = s.packet_ct(ct, O, 6, b"PO");
        assert_eq!(out, Outcome::accept(), "not even a partial command drops");
        // Its line end was not remembered either.
        assert_eq!(
            s.packet(O, 28, b"PORT 172,23,0,3,0,20\r\n"),
            Outcome::accept()
        );
    }
}

#[test]
fn malformed_numbers_follow_linux() {
    // 256 in the port's high byte wraps out of 16 bits: port 1, as Linux.
    let out = one(&conn4(), O, b"PORT 172,23,0,3,256,1\r\n");
    assert_eq!(the_expectation(&out).tuple.dst_port, 1);
    // 256 in an octet spoils the address: not the sender's, so not expected.
    assert_eq!(
        one(&conn4(), O, b"PORT 172,23,0,256,0,80\r\n"),
        Outcome::accept()
    );
    // Very long numbers wrap silently.
    let out = one(
        &conn4(),
        O,
        b"PORT 172,23,0,3,0,99999999999999999999999\r\n",
    );
    let want = (99_999_999_999_999_999_999_999u128 % 65536) as u16;
    assert_eq!(the_expectation(&out).tuple.dst_port, want);
    // The port of EPSV wraps modulo 2^16.
    let out = one(&conn4(), R, b"229 (|||99999999999|)\r\n");
    let want = (99_999_999_999u64 % 65536) as u16;
    assert_eq!(the_expectation(&out).tuple.dst_port, want);
    // Too many fields, or too many octets.
    assert!(dropped(&one(&conn4(), O, b"PORT 172,23,0,3,0,20,1\r\n")));
    assert!(dropped(&one(&conn4(), O, b"EPRT |1|172.23.0.3.1|20|\r\n")));
    assert!(dropped(&one(
        &conn6(),
        O,
        b"EPRT |2|1:2:3:4:5:6:7:8:9|20|\r\n"
    )));
}

#[test]
fn state_is_compact_and_written_only_on_change() {
    assert_eq!(Ftp::assigned(&conn4()).len(), 46);
    assert_eq!(Ftp::assigned(&conn6()).len(), 94);
    let mut s = Session::new(&conn6());
    let (_, changed) = s.packet_ct(CtState::Established, O, 0, b"USER x");
    assert!(!changed, "no line end: nothing to remember");
    let (_, changed) = s.packet_ct(CtState::Established, O, 6, b"\r\n");
    assert!(changed);
    let (_, changed) = s.packet_ct(CtState::Established, O, 6, b"\r\n");
    assert!(!changed, "a retransmission changes nothing");
    let decoded = Conn::decode(&s.state).expect("state decodes");
    assert_eq!(decoded.original, conn6().original);
    assert_eq!(decoded.reply, conn6().reply);
    assert_eq!(decoded.starts[0].as_slice(), &[8]);
    assert!(decoded.starts[1].as_slice().is_empty());
}

#[test]
fn unreadable_state_or_empty_payload_accepts() {
    for state in [&[][..], &[9; 5], &[3; 60]] {
        let mut st = State::new(state.to_vec());
        let pkt = Packet {
            conn: 1,
            dir: O,
            ct: CtState::Established,
            seq: 0,
            tcp_flags: 0,
            payload: b"PO",
        };
        assert_eq!(Ftp::packet(&pkt, &mut st), Outcome::accept());
        assert!(!st.changed());
    }
    assert_eq!(
        Session::new(&conn4()).at_line_start(O, 6, b""),
        Outcome::accept()
    );
}

// Behind NAT.

/// SNAT: the client 10.0.0.2:40000 talks to 198.51.100.7:21 from `public`:61000.
fn snat_to(public: Addr) -> ConnInfo {
    let original = Tuple {
        src: v4("10.0.0.2"),
        dst: v4("198.51.100.7"),
        protocol: proto::TCP,
        src_port: 40000,
        dst_port: 21,
    };
    ConnInfo {
        reply: Tuple {
            dst: public,
            dst_port: 61000,
            ..original.reversed()
        },
        ..ConnInfo::of(original)
    }
}

/// The SNAT connection of the examples: translated to 192.0.2.1:61000.
fn snat() -> ConnInfo {
    snat_to(v4("192.0.2.1"))
}

/// DNAT: the client 203.0.113.9:50000 talks to 192.0.2.1:21, which is the server
/// 10.0.0.21:21.
fn dnat() -> ConnInfo {
    let original = Tuple {
        src: v4("203.0.113.9"),
        dst: v4("192.0.2.1"),
        protocol: proto::TCP,
        src_port: 50000,
        dst_port: 21,
    };
    ConnInfo {
        reply: Tuple {
            src: v4("10.0.0.21"),
            ..original.reversed()
        },
        ..ConnInfo::of(original)
    }
}

/// IPv6 SNAT (NAT66): fd00::2:40000 → 2001:db8::7:21, seen as 2001:db8:1::1:61000.
fn snat6() -> ConnInfo {
    let original = Tuple {
        src: v6("fd00::2"),
        dst: v6("2001:db8::7"),
        protocol: proto::TCP,
        src_port: 40000,
        dst_port: 21,
    };
    ConnInfo {
        reply: Tuple {
            dst: v6("2001:db8:1::1"),
            dst_port: 61000,
            ..original.reversed()
        },
        ..ConnInfo::of(original)
    }
}

/// The payload with `edits` applied, as the host applies them; checks they are in
/// order, apart and within the payload.
fn apply(payload: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut at = 0;
    for e in edits {
        let (start, len) = (e.offset as usize, e.length as usize);
        assert!(start >= at, "edits ascend and do not overlap: {edits:?}");
        assert!(start + len <= payload.len(), "edit within the payload");
        out.extend_from_slice(&payload[at..start]);
        out.extend_from_slice(&e.data);
        at = start + len;
    }
    out.extend_from_slice(&payload[at..]);
    out
}

/// Runs `payload` at a line start of `c` and returns the payload as the host sends it
/// on, and the one expectation.
fn translated(c: &ConnInfo, dir: Direction, payload: &[u8]) -> (String, Expect) {
    let out = one(c, dir, payload);
    let e = the_expectation(&out);
    let sent = apply(payload, &out.rewrites);
    (String::from_utf8(sent).expect("text"), e)
}

fn assert_nat(e: &Expect, dir: Direction, to: Addr, to_port: u16) {
    assert_eq!(
        e.nat,
        Some(ExpectNat { dir, to, to_port }),
        "the expectation's translation"
    );
}

#[test]
fn snat_port_names_the_public_address() {
    let p = b"PORT 10,0,0,2,156,65\r\n";
    let out = one(&snat(), O, p);
    assert_eq!(
        out.rewrites,
        vec![Edit::replace(5..20, b"192,0,2,1,156,65".to_vec())],
        "exactly the address and port text"
    );
    let (sent, e) = translated(&snat(), O, p);
    assert_eq!(sent, "PORT 192,0,2,1,156,65\r\n");
    // The server connects to the public address, port as announced; the connection
    // goes on to the client.
    assert_eq!(
        e.tuple,
        Tuple {
            src: v4("198.51.100.7"),
            dst: v4("192.0.2.1"),
            protocol: proto::TCP,
            src_port: 0,
            dst_port: 40001,
        }
    );
    assert!(e.any_src_port && !e.any_src_addr);
    assert_nat(&e, R, v4("10.0.0.2"), 40001);
}

#[test]
fn snat_eprt_v4_names_the_public_address() {
    let (sent, e) = translated(&snat(), O, b"EPRT |1|10.0.0.2|40002|\r\n");
    assert_eq!(sent, "EPRT |1|192.0.2.1|40002|\r\n");
    assert_eq!(
        (e.tuple.src, e.tuple.dst),
        (v4("198.51.100.7"), v4("192.0.2.1"))
    );
    assert_eq!(e.tuple.dst_port, 40002);
    assert_nat(&e, R, v4("10.0.0.2"), 40002);
    // Another delimiter is kept, and the keyword's case.
    let (sent, _) = translated(&snat(), O, b"eprt !1!10.0.0.2!40002!\r\n");
    assert_eq!(sent, "eprt !1!192.0.2.1!40002!\r\n");
}

#[test]
fn edits_may_lengthen_or_shorten_the_payload() {
    let longer = snat_to(v4("192.0.2.100"));
    let (sent, e) = translated(&longer, O, b"PORT 10,0,0,2,156,65\r\nNOOP\r\n");
    assert_eq!(sent, "PORT 192,0,2,100,156,65\r\nNOOP\r\n");
    assert_eq!(e.tuple.dst, v4("192.0.2.100"));
    let (sent, _) = translated(&longer, O, b"EPRT |1|10.0.0.2|40002|\r\n");
    assert_eq!(sent, "EPRT |1|192.0.2.100|40002|\r\n");
    let shorter = snat_to(v4("1.2.3.4"));
    let (sent, e) = translated(&shorter, O, b"PORT 10,0,0,2,156,65\r\n");
    assert_eq!(sent, "PORT 1,2,3,4,156,65\r\n");
    assert_eq!(e.tuple.dst, v4("1.2.3.4"));
    assert_nat(&e, R, v4("10.0.0.2"), 40001);
}

#[test]
fn snat_server_replies_need_no_edit() {
    // The server's address is not translated: the 227 stays, its connection is
    // still translated back to the client's side.
    let out = one(
        &snat(),
        R,
        b"227 Entering Passive Mode (198,51,100,7,195,80).\r\n",
    );
    assert!(out.rewrites.is_empty());
    let e = the_expectation(&out);
    assert_eq!(
        e.tuple,
        Tuple {
            src: v4("10.0.0.2"),
            dst: v4("198.51.100.7"),
            protocol: proto::TCP,
            src_port: 0,
            dst_port: 50000,
        }
    );
    assert_nat(&e, O, v4("198.51.100.7"), 50000);
    let out = one(
        &snat(),
        R,
        b"229 Entering Extended Passive Mode (|||50001|)\r\n",
    );
    assert!(out.rewrites.is_empty());
    assert_nat(&the_expectation(&out), O, v4("198.51.100.7"), 50001);
}

#[test]
fn dnat_pasv_names_the_public_address() {
    let (sent, e) = translated(
        &dnat(),
        R,
        b"227 Entering Passive Mode (10,0,0,21,195,80).\r\n",
    );
    assert_eq!(sent, "227 Entering Passive Mode (192,0,2,1,195,80).\r\n");
    assert_eq!(
        e.tuple,
        Tuple {
            src: v4("203.0.113.9"),
            dst: v4("192.0.2.1"),
            protocol: proto::TCP,
            src_port: 0,
            dst_port: 50000,
        }
    );
    assert_nat(&e, O, v4("10.0.0.21"), 50000);
    // Without parentheses too.
    let (sent, _) = translated(
        &dnat(),
        R,
        b"227 Entering Passive Mode 10,0,0,21,195,80\r\n",
    );
    assert_eq!(sent, "227 Entering Passive Mode 192,0,2,1,195,80\r\n");
}

#[test]
fn dnat_epsv_translates_only_the_expectation() {
    let p = b"229 Entering Extended Passive Mode (|||50001|)\r\n";
    let out = one(&dnat(), R, p);
    assert!(out.rewrites.is_empty(), "the port stays, so the text does");
    let e = the_expectation(&out);
    assert_eq!(
        (e.tuple.src, e.tuple.dst),
        (v4("203.0.113.9"), v4("192.0.2.1"))
    );
    assert_eq!(e.tuple.dst_port, 50001);
    // The server's real address, as conntrack takes it for a 229.
    assert_nat(&e, O, v4("10.0.0.21"), 50001);
}

#[test]
fn dnat_client_port_keeps_its_text() {
    // The client's address is not translated: nothing to edit, yet the data
    // connection follows the master (its source becomes the public address).
    let out = one(&dnat(), O, b"PORT 203,0,113,9,156,65\r\n");
    assert!(out.rewrites.is_empty());
    let e = the_expectation(&out);
    assert_eq!(
        (e.tuple.src, e.tuple.dst, e.tuple.dst_port),
        (v4("10.0.0.21"), v4("203.0.113.9"), 40001)
    );
    assert_nat(&e, R, v4("203.0.113.9"), 40001);
}

#[test]
fn snat_eprt_v6() {
    let (sent, e) = translated(&snat6(), O, b"EPRT |2|fd00::2|40002|\r\n");
    assert_eq!(sent, "EPRT |2|2001:db8:1::1|40002|\r\n");
    assert_eq!(
        e.tuple,
        Tuple {
            src: v6("2001:db8::7"),
            dst: v6("2001:db8:1::1"),
            protocol: proto::TCP,
            src_port: 0,
            dst_port: 40002,
        }
    );
    assert_nat(&e, R, v6("fd00::2"), 40002);
    // The address in another spelling is still the client's.
    let (sent, _) = translated(&snat6(), O, b"EPRT !2!FD00:0:0:0:0:0:0:2!40002!\r\n");
    assert_eq!(sent, "EPRT !2!2001:db8:1::1!40002!\r\n");
    // A delimiter the new address holds gives way to '|'.
    let (sent, _) = translated(&snat6(), O, b"EPRT b2bfd00::2b40002b\r\n");
    assert_eq!(sent, "EPRT |2|2001:db8:1::1|40002|\r\n");
    // The 229 of an IPv6 server: expectation only.
    let out = one(
        &snat6(),
        R,
        b"229 Entering Extended Passive Mode (|||50001|)\r\n",
    );
    assert!(out.rewrites.is_empty());
    assert_nat(&the_expectation(&out), O, v6("2001:db8::7"), 50001);
}

#[test]
fn translated_port_alone_edits_nothing() {
    // SNAT that keeps the client's address and changes only its port.
    let c = snat_to(v4("10.0.0.2"));
    assert!(c.is_translated());
    let out = one(&c, O, b"PORT 10,0,0,2,156,65\r\n");
    assert!(out.rewrites.is_empty());
    assert_nat(&the_expectation(&out), R, v4("10.0.0.2"), 40001);
}

#[test]
fn translated_numbers_are_written_plainly() {
    // Linux's reading of the numbers (256 spills out of the port's high byte), then
    // its writing: the port the expectation has.
    let (sent, e) = translated(&snat(), O, b"PORT 10,0,0,2,256,1\r\n");
    assert_eq!(sent, "PORT 192,0,2,1,0,1\r\n");
    assert_eq!(e.tuple.dst_port, 1);
    let (sent, _) = translated(&snat(), O, b"PORT 010,00,0,2,0,021\r\n");
    assert_eq!(sent, "PORT 192,0,2,1,0,21\r\n");
}

#[test]
fn translated_edge_cases() {
    // A third party's address: neither expected nor edited.
    for (dir, p) in [
        (O, &b"PORT 10,0,0,9,0,80\r\n"[..]),
        (O, b"EPRT |1|192.0.2.1|80|\r\n"),
        (R, b"227 (10,0,0,9,0,80)\r\n"),
    ] {
        assert_eq!(one(&snat(), dir, p), Outcome::accept(), "{p:?}");
    }
    // Cut short or malformed: dropped as without NAT, no edit.
    for (dir, p) in [
        (O, &b"PORT 10,0,0,2,156"[..]),
        (O, b"EPRT |1|10.0.0.2|"),
        (O, b"EPRT |2|fd00::2|1|\r\n"),
        (R, b"227 (10,0,0,21,1"),
        (R, b"229 (|||0|)\r\n"),
    ] {
        let out = one(&dnat(), dir, p);
        assert!(dropped(&out) && out.rewrites.is_empty(), "{p:?}: {out:?}");
    }
    // The state of a translated connection is the same size.
    assert_eq!(Ftp::assigned(&snat()).len(), 46);
    assert_eq!(Ftp::assigned(&snat6()).len(), 94);
}

/// A small deterministic generator (xorshift64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn random_payloads_never_panic() {
    const PREFIXES: [&[u8]; 8] = [
        b"PORT ",
        b"EPRT |1|",
        b"EPRT |2|",
        b"227 (",
        b"229 (|||",
        b"eprt ",
        b"227 ",
        b"",
    ];
    const ALPHABET: &[u8] = b"0123456789,.|:()! \r\nabcdefPORT";
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for c in [conn4(), conn6(), snat(), dnat(), snat6()] {
        let mut s = Session::new(&c);
        let mut seq = [rng.next() as u32, rng.next() as u32];
        for _ in 0..20_000 {
            let dir = if rng.below(2) == 0 { O } else { R };
            let d = usize::from(dir == R);
            let mut p = PREFIXES[rng.below(PREFIXES.len())].to_vec();
            let len = rng.below(48);
            for _ in 0..len {
                let b = if rng.below(3) == 0 {
                    rng.next() as u8
                } else {
                    ALPHABET[rng.below(ALPHABET.len())]
                };
                p.push(b);
            }
            if rng.below(2) == 0 {
                p.push(b'\n');
            }
            // Mostly in order, sometimes anywhere.
            let at = if rng.below(8) == 0 {
                rng.next() as u32
            } else {
                seq[d]
            };
            let ct = [CtState::Established, CtState::Established, CtState::New][rng.below(3)];
            let (out, _) = s.packet_ct(ct, dir, at, &p);
            if !dropped(&out) {
                seq[d] = at.wrapping_add(p.len() as u32);
            }
            assert!(out.expects.len() <= 1);
            assert!(out.rewrites.len() <= out.expects.len());
            assert!(c.is_translated() || out.rewrites.is_empty());
            let _ = apply(&p, &out.rewrites);
            assert!(Conn::decode(&s.state).is_some(), "the state stays readable");
        }
    }
    // Random state bytes too.
    for _ in 0..2_000 {
        let len = rng.below(120);
        let state: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        let mut st = State::new(state);
        let pkt = Packet {
            conn: 1,
            dir: if rng.below(2) == 0 { O } else { R },
            ct: CtState::Established,
            seq: rng.next() as u32,
            tcp_flags: 0,
            payload: b"PORT 1,2,3,4,5,6\r\n",
        };
        let _ = Ftp::packet(&pkt, &mut st);
    }
}
