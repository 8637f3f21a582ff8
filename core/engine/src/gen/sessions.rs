//! Scripted sessions of the protocols conntrack's bundled helpers follow: an FTP
//! download in passive mode and one in active mode, a TFTP read, an IRC DCC SEND, a
//! PPTP call, a SANE scan, an Amanda backup's start and a SIP call. Each is a control
//! exchange that announces a data connection, then that connection (the call's GRE
//! both ways for PPTP, the media both ways for SIP), so a replay through conntrack with
//! the helpers shows expectations and RELATED connections. (SNMP's helper only
//! rewrites addresses behind NAT, and expects nothing.) Clients are in
//! `10.0.200.0/24`, servers in `10.1.200.0/24`.

use super::flow::{CLIENT_MAC, SERVER_MAC};
use etherparse::PacketBuilder;

/// A frame of a session: whether it travels from the client's side, and its bytes.
pub(super) type SessionFrame = (bool, Vec<u8>);

/// Most session sets (each set's addresses are distinct).
pub(super) const MAX_SETS: u32 = 50;

/// One TCP connection as it goes on: its ends (`a` opened it) and their next
/// sequence numbers.
struct Tcp {
    a: ([u8; 4], u16),
    b: ([u8; 4], u16),
    /// Whether `a` is on the client's side.
    a_client: bool,
    seq: [u32; 2],
}

impl Tcp {
    fn new(a: ([u8; 4], u16), b: ([u8; 4], u16), a_client: bool, isn: u32) -> Tcp {
        Tcp {
            a,
            b,
            a_client,
            seq: [isn, isn.wrapping_mul(7).wrapping_add(0x1000_0000)],
        }
    }

    /// One segment from `a` (or `b`) with flags SYN, FIN, PSH as given (ACK but on
    /// the first SYN) and `payload`; the sender's sequence number moves past it.
    fn seg(
        &mut self,
        from_a: bool,
        syn: bool,
        fin: bool,
        payload: &[u8],
        out: &mut Vec<SessionFrame>,
    ) {
        let (me, peer, i) = if from_a {
            (self.a, self.b, 0)
        } else {
            (self.b, self.a, 1)
        };
        let client = from_a == self.a_client;
        let (smac, dmac) = if client {
            (CLIENT_MAC, SERVER_MAC)
        } else {
            (SERVER_MAC, CLIENT_MAC)
        };
        let mut b = PacketBuilder::ethernet2(smac, dmac)
            .ipv4(me.0, peer.0, 64)
            .tcp(me.1, peer.1, self.seq[i], 64_240);
        let first_syn = syn && from_a;
        if !first_syn {
            b = b.ack(self.seq[1 - i]);
        }
        if syn {
            b = b.syn();
        }
        if fin {
            b = b.fin();
        }
        if !payload.is_empty() {
            b = b.psh();
        }
        let mut f = Vec::with_capacity(b.size(payload.len()));
        b.write(&mut f, payload).expect("a frame of a session");
        out.push((client, f));
        let used = payload.len() as u32 + u32::from(syn) + u32::from(fin);
        self.seq[i] = self.seq[i].wrapping_add(used);
    }

    /// The three-way handshake.
    fn open(&mut self, out: &mut Vec<SessionFrame>) {
        self.seg(true, true, false, &[], out);
        self.seg(false, true, false, &[], out);
        self.seg(true, false, false, &[], out);
    }

    /// `text` from one end, acknowledged by the other.
    fn say(&mut self, from_a: bool, text: &[u8], out: &mut Vec<SessionFrame>) {
        self.seg(from_a, false, false, text, out);
        self.seg(!from_a, false, false, &[], out);
    }

    /// The closing handshake, `a` first.
    fn close(&mut self, out: &mut Vec<SessionFrame>) {
        self.seg(true, false, true, &[], out);
        self.seg(false, false, true, &[], out);
        self.seg(true, false, false, &[], out);
    }
}

/// A UDP datagram between `src` and `dst`.
fn udp(src: ([u8; 4], u16), dst: ([u8; 4], u16), client: bool, payload: &[u8]) -> SessionFrame {
    let (smac, dmac) = if client {
        (CLIENT_MAC, SERVER_MAC)
    } else {
        (SERVER_MAC, CLIENT_MAC)
    };
    let b = PacketBuilder::ethernet2(smac, dmac)
        .ipv4(src.0, dst.0, 64)
        .udp(src.1, dst.1);
    let mut f = Vec::with_capacity(b.size(payload.len()));
    b.write(&mut f, payload).expect("a frame of a session");
    (client, f)
}

/// A PPTP control message (RFC 2637) of type `kind`, `len` bytes in all, its body
/// starting with `fields` (the rest zero).
fn pptp(kind: u16, len: usize, fields: &[u8]) -> Vec<u8> {
    const MAGIC_COOKIE: u32 = 0x1A2B_3C4D;
    let mut m = Vec::with_capacity(len);
    m.extend_from_slice(&(len as u16).to_be_bytes());
    m.extend_from_slice(&1u16.to_be_bytes()); // a control message
    m.extend_from_slice(&MAGIC_COOKIE.to_be_bytes());
    m.extend_from_slice(&kind.to_be_bytes());
    m.extend_from_slice(&[0, 0]);
    m.extend_from_slice(fields);
    m.resize(len, 0);
    m
}

/// An enhanced GRE packet (version 1, PPP, key and sequence number present) from `src`
/// to `dst`, keyed with the receiver's call id.
fn gre(src: [u8; 4], dst: [u8; 4], client: bool, key: u16, seq: u32) -> SessionFrame {
    let ppp = [0xff, 0x03, 0xc0, 0x21, 0x01, 0x01, 0x00, 0x04];
    let mut g = vec![0x30, 0x01, 0x88, 0x0b];
    g.extend_from_slice(&(ppp.len() as u16).to_be_bytes());
    g.extend_from_slice(&key.to_be_bytes());
    g.extend_from_slice(&seq.to_be_bytes());
    g.extend_from_slice(&ppp);
    let (smac, dmac) = if client {
        (CLIENT_MAC, SERVER_MAC)
    } else {
        (SERVER_MAC, CLIENT_MAC)
    };
    let b = PacketBuilder::ethernet2(smac, dmac).ipv4(src, dst, 64);
    let mut f = Vec::with_capacity(b.size(g.len()));
    b.write(&mut f, etherparse::IpNumber::GRE, &g)
        .expect("a frame of a session");
    (client, f)
}

/// A SIP message over UDP from `from` to `to`: `first` (the request or status line),
/// the dialog's headers, and an SDP body offering audio at `media` when given.
fn sip(
    first: &str,
    (from, to): (([u8; 4], u16), ([u8; 4], u16)),
    client: bool,
    set: u32,
    cseq: &str,
    media: Option<([u8; 4], u16)>,
) -> SessionFrame {
    let ip = |a: [u8; 4]| format!("{}.{}.{}.{}", a[0], a[1], a[2], a[3]);
    let (alice, bob) = if client { (from, to) } else { (to, from) };
    let body = media.map_or(String::new(), |(a, port)| {
        format!(
            "v=0\r\no=demo {set} 1 IN IP4 {0}\r\ns=-\r\nc=IN IP4 {0}\r\nt=0 0\r\n\
             m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n",
            ip(a)
        )
    });
    let text = format!(
        "{first}\r\nVia: SIP/2.0/UDP {}:{};branch=z9hG4bK-demo-{set}\r\n\
         Max-Forwards: 70\r\nFrom: <sip:alice@{}>;tag=a{set}\r\n\
         To: <sip:bob@{}>{}\r\nCall-ID: demo-{set}@{}\r\nCSeq: {cseq}\r\n\
         Contact: <sip:{}@{}:{}>\r\n{}Content-Length: {}\r\n\r\n{body}",
        ip(alice.0),
        alice.1,
        ip(alice.0),
        ip(bob.0),
        if first.starts_with("SIP/2.0") || cseq.starts_with("1 ACK") || cseq.contains("BYE") {
            format!(";tag=b{set}")
        } else {
            String::new()
        },
        ip(alice.0),
        if client { "alice" } else { "bob" },
        ip(from.0),
        from.1,
        if media.is_some() {
            "Content-Type: application/sdp\r\n"
        } else {
            ""
        },
        body.len()
    );
    udp(from, to, client, text.as_bytes())
}

/// The frames of `sets` sets of the eight sessions (at most [`MAX_SETS`]), in order.
pub(super) fn frames(sets: u32) -> Vec<SessionFrame> {
    let mut out = Vec::new();
    for set in 0..sets.min(MAX_SETS) {
        let n = set as u8;
        let client = |k: u8| [10, 0, 200, 4 * n + k + 1];
        let server = |k: u8| [10, 1, 200, 4 * n + k + 1];
        let port = |k: u16| 40_000 + 10 * set as u16 + k;
        let file: Vec<u8> = (0..600u32)
            .map(|i| b"brickwall "[i as usize % 10])
            .collect();

        // FTP, passive: the server names the port of the data connection (227).
        let (c, s) = (client(0), server(0));
        let data_port: u16 = 50_000 + set as u16;
        let mut ctl = Tcp::new((c, port(0)), (s, 21), true, 0x1000 + set);
        ctl.open(&mut out);
        ctl.say(false, b"220 brickwall demo FTP\r\n", &mut out);
        ctl.say(true, b"USER anonymous\r\n", &mut out);
        ctl.say(false, b"230 Login successful.\r\n", &mut out);
        ctl.say(true, b"PASV\r\n", &mut out);
        let pasv = format!(
            "227 Entering Passive Mode ({},{},{},{},{},{}).\r\n",
            s[0],
            s[1],
            s[2],
            s[3],
            data_port >> 8,
            data_port & 0xff
        );
        ctl.say(false, pasv.as_bytes(), &mut out);
        ctl.say(true, b"RETR demo.bin\r\n", &mut out);
        let mut data = Tcp::new((c, port(1)), (s, data_port), true, 0x2000 + set);
        data.open(&mut out);
        data.say(false, &file, &mut out);
        data.close(&mut out);
        ctl.say(false, b"226 Transfer complete.\r\n", &mut out);
        ctl.close(&mut out);

        // FTP, active: the client names its own port (PORT); the server connects.
        let (c, s) = (client(1), server(0));
        let back: u16 = 51_000 + set as u16;
        let mut ctl = Tcp::new((c, port(2)), (s, 21), true, 0x3000 + set);
        ctl.open(&mut out);
        ctl.say(false, b"220 brickwall demo FTP\r\n", &mut out);
        // As Linux's helper, ours reads a command only at the start of a line it has
        // seen begin: the client's first line is never one.
        ctl.say(true, b"USER anonymous\r\n", &mut out);
        ctl.say(false, b"230 Login successful.\r\n", &mut out);
        let port_cmd = format!(
            "PORT {},{},{},{},{},{}\r\n",
            c[0],
            c[1],
            c[2],
            c[3],
            back >> 8,
            back & 0xff
        );
        ctl.say(true, port_cmd.as_bytes(), &mut out);
        ctl.say(false, b"200 PORT command successful.\r\n", &mut out);
        ctl.say(true, b"RETR demo.bin\r\n", &mut out);
        let mut data = Tcp::new((s, 20), (c, back), false, 0x4000 + set);
        data.open(&mut out);
        data.say(true, &file, &mut out);
        data.close(&mut out);
        ctl.say(false, b"226 Transfer complete.\r\n", &mut out);
        ctl.close(&mut out);

        // TFTP: a read request to port 69, answered from another port.
        let (c, s) = ((client(2), port(3)), (server(1), 69));
        let answer = (server(1), 52_000 + set as u16);
        out.push(udp(c, s, true, b"\x00\x01demo.bin\x00octet\x00"));
        let mut block = vec![0, 3, 0, 1];
        block.extend_from_slice(&file[..100]);
        out.push(udp(answer, c, false, &block));
        out.push(udp(c, answer, true, &[0, 4, 0, 1]));

        // IRC: a DCC SEND offer names the sender's address and port; the receiver
        // connects there.
        let (c, s) = (client(3), server(2));
        let offer: u16 = 53_000 + set as u16;
        let mut ctl = Tcp::new((c, port(4)), (s, 6667), true, 0x5000 + set);
        ctl.open(&mut out);
        ctl.say(true, b"NICK alice\r\nUSER alice 0 * :alice\r\n", &mut out);
        ctl.say(false, b":irc.demo 001 alice :Welcome\r\n", &mut out);
        let dcc = format!(
            "PRIVMSG bob :\x01DCC SEND demo.bin {} {offer} {}\x01\r\n",
            u32::from_be_bytes(c),
            file.len()
        );
        ctl.say(true, dcc.as_bytes(), &mut out);
        let mut data = Tcp::new((server(3), port(5)), (c, offer), false, 0x6000 + set);
        data.open(&mut out);
        data.say(false, &file, &mut out);
        data.say(true, &(file.len() as u32).to_be_bytes(), &mut out);
        data.close(&mut out);
        ctl.say(true, b"QUIT\r\n", &mut out);
        ctl.close(&mut out);

        // PPTP: the control connection sets up an outgoing call; the call's GRE is
        // keyed with each side's call id, both ways.
        let (pns, pac) = (client(2), server(1));
        let (pns_call, pac_call) = (0x100 + set as u16, 0x200 + set as u16);
        let mut ctl = Tcp::new((pns, port(6)), (pac, 1723), true, 0x7000 + set);
        ctl.open(&mut out);
        ctl.say(true, &pptp(1, 156, &[1, 0]), &mut out);
        ctl.say(false, &pptp(2, 156, &[1, 0, 1, 0]), &mut out);
        let mut request = pns_call.to_be_bytes().to_vec();
        request.extend_from_slice(&[0, 1]); // call serial number
        ctl.say(true, &pptp(7, 168, &request), &mut out);
        let mut reply = pac_call.to_be_bytes().to_vec();
        reply.extend_from_slice(&pns_call.to_be_bytes());
        reply.push(1); // connected
        ctl.say(false, &pptp(8, 32, &reply), &mut out);
        for seq in 0..2 {
            out.push(gre(pns, pac, true, pac_call, seq));
            out.push(gre(pac, pns, false, pns_call, seq));
        }
        ctl.say(true, &pptp(12, 16, &pns_call.to_be_bytes()), &mut out);
        let mut gone = pac_call.to_be_bytes().to_vec();
        gone.push(3); // Call-Disconnect-Notify: request
        ctl.say(false, &pptp(13, 148, &gone), &mut out);
        ctl.close(&mut out);

        // SANE: saned answers a start request with the port the image comes from; the
        // scanner's client connects there.
        let (c, s) = (client(0), server(2));
        let image: u16 = 54_000 + set as u16;
        let mut ctl = Tcp::new((c, port(7)), (s, 6566), true, 0x8000 + set);
        ctl.open(&mut out);
        ctl.say(true, &[0, 0, 0, 7, 0, 0, 0, 0], &mut out); // SANE_NET_START, handle 0
        let mut answer = vec![0, 0, 0, 0]; // SANE_STATUS_GOOD
        answer.extend_from_slice(&u32::from(image).to_be_bytes());
        answer.extend_from_slice(&[0, 0, 0, 1]); // byte order
        answer.extend_from_slice(&[0, 0, 0, 0]); // no resource
        ctl.say(false, &answer, &mut out);
        let mut data = Tcp::new((c, port(8)), (s, image), true, 0x9000 + set);
        data.open(&mut out);
        data.say(false, &file[..300], &mut out);
        data.close(&mut out);
        ctl.close(&mut out);

        // Amanda: the backup server asks the client's amandad on udp/10080, which names
        // the ports of its streams (CONNECT); the server connects to its DATA port.
        let (srv, amandad) = ((client(1), port(9)), (server(3), 10080));
        let streams: u16 = 55_000 + 4 * set as u16;
        out.push(udp(
            srv,
            amandad,
            true,
            b"Amanda 2.6 REQ HANDLE 000-00000000 SEQ 1\nSERVICE sendbackup\nOPTIONS features=0;\n",
        ));
        let connect = format!(
            "Amanda 2.6 REP HANDLE 000-00000000 SEQ 1\nCONNECT DATA {} MESG {} INDEX {}\n\
             OPTIONS features=0;\n",
            streams,
            streams + 1,
            streams + 2
        );
        out.push(udp(amandad, srv, false, connect.as_bytes()));
        let mut data = Tcp::new((srv.0, port(10)), (amandad.0, streams), true, 0xa000 + set);
        data.open(&mut out);
        data.say(false, &file[..200], &mut out);
        data.close(&mut out);

        // SIP: an INVITE and its 200 OK each offer their audio (SDP); the media flows to
        // both offers.
        let (alice, bob) = ((client(2), 5060), (server(0), 5060));
        let (alice_rtp, bob_rtp) = (
            (alice.0, 56_000 + 2 * set as u16),
            (bob.0, 57_000 + 2 * set as u16),
        );
        let invite = format!("INVITE sip:bob@10.1.200.{} SIP/2.0", bob.0[3]);
        out.push(sip(
            &invite,
            (alice, bob),
            true,
            set,
            "1 INVITE",
            Some(alice_rtp),
        ));
        out.push(sip(
            "SIP/2.0 200 OK",
            (bob, alice),
            false,
            set,
            "1 INVITE",
            Some(bob_rtp),
        ));
        let ack = format!("ACK sip:bob@10.1.200.{} SIP/2.0", bob.0[3]);
        out.push(sip(&ack, (alice, bob), true, set, "1 ACK", None));
        let rtp = |seq: u8| [0x80, 0x00, 0x00, seq, 0, 0, 0, seq, 0, 0, 0, 7, 0xff, 0xff];
        for seq in 0..2 {
            out.push(udp(bob_rtp, alice_rtp, false, &rtp(seq)));
            out.push(udp(alice_rtp, bob_rtp, true, &rtp(seq)));
        }
        let bye = format!("BYE sip:bob@10.1.200.{} SIP/2.0", bob.0[3]);
        out.push(sip(&bye, (alice, bob), true, set, "2 BYE", None));
        out.push(sip(
            "SIP/2.0 200 OK",
            (bob, alice),
            false,
            set,
            "2 BYE",
            None,
        ));
    }
    out
}
