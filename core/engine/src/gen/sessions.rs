//! Scripted sessions of the protocols conntrack's bundled helpers follow: an FTP
//! download in passive mode and one in active mode, a TFTP read and an IRC DCC SEND.
//! Each is a control exchange that announces a data connection, then that connection,
//! so a replay through conntrack with the helpers shows expectations and RELATED
//! connections. Clients are in `10.0.200.0/24`, servers in `10.1.200.0/24`.

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

/// The frames of `sets` sets of the four sessions (at most [`MAX_SETS`]), in order.
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
    }
    out
}
