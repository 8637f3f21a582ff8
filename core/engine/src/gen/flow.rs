//! Per-flow layout: which protocol a flow speaks, its addresses, ports and initial
//! sequence numbers, and how its `k`-th packet is encoded as an Ethernet II frame.

use etherparse::{
    IpHeaders, IpNumber, Ipv4Header, Ipv6FlowLabel, Ipv6Header, PacketBuilder, TcpHeader,
};

use super::rng::Rng;
use super::GenConfig;

/// Source MAC of client-to-server frames (destination of replies).
pub(super) const CLIENT_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
/// Source MAC of server-to-client frames (destination of requests).
pub(super) const SERVER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];
/// Largest payload that fits an IPv4 datagram behind a 20-byte TCP header.
pub(super) const MAX_PAYLOAD: usize = 65_535 - 20 - 20;
/// TCP server ports; conntrack helper ports (21, 69, 1723, 6667, ...) are avoided.
const TCP_PORTS: [u16; 6] = [80, 443, 443, 22, 8080, 8443];
/// UDP server ports.
const UDP_PORTS: [u16; 3] = [53, 123, 5353];
/// Clients per address block before the client port advances.
const CLIENT_ADDRS: u32 = 200;
/// Distinct client ports per client address (10000..60000).
const CLIENT_PORTS: u32 = 50_000;
/// Number of distinct servers per address family.
const SERVERS: u64 = 64;
/// SYN options: MSS 1460, NOP, window scale 7, NOP, NOP, SACK permitted.
const SYN_OPTIONS: [u8; 12] = [2, 4, 0x05, 0xb4, 1, 3, 3, 7, 1, 1, 4, 2];
/// Salt of the per-flow attribute stream.
const SALT_FLOW: u64 = 0x666c_6f77;
/// Salt of the per-packet payload stream.
const SALT_PAYLOAD: u64 = 0x7061_796c;

/// Transport protocol of a flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Tcp,
    Udp,
    Icmp,
}

/// The flow population of a config: how many flows of each kind and how long they are.
#[derive(Clone, Debug)]
pub(super) struct Layout {
    seed: u64,
    tcp: u64,
    udp: u64,
    icmp: u64,
    data: u32,
    payload_len: usize,
    ipv6_share: f64,
}

impl Layout {
    /// Derives the layout; the flow total is capped at `u32::MAX` (ICMP, then UDP,
    /// then TCP flows are dropped first).
    pub(super) fn new(cfg: &GenConfig) -> Layout {
        let cap = u64::from(u32::MAX);
        let tcp = u64::from(cfg.tcp_flows);
        let udp = u64::from(cfg.udp_flows).min(cap - tcp);
        let icmp = u64::from(cfg.icmp_flows).min(cap - tcp - udp);
        Layout {
            seed: cfg.seed,
            tcp,
            udp,
            icmp,
            data: cfg.data_packets,
            payload_len: cfg.payload_len.min(MAX_PAYLOAD),
            ipv6_share: cfg.ipv6_share,
        }
    }

    /// Total number of flows (fits in `u32` by construction).
    pub(super) fn flows(&self) -> u32 {
        u32::try_from(self.tcp + self.udp + self.icmp).unwrap_or(u32::MAX)
    }

    /// Number of packets in a flow of the given kind.
    pub(super) fn packets(&self, kind: Kind) -> u32 {
        match kind {
            Kind::Tcp => self.data.saturating_add(6),
            Kind::Udp => self.data.max(1).saturating_mul(2),
            Kind::Icmp => (self.data / 2).max(1).saturating_mul(2),
        }
    }

    /// Total number of frames of all flows.
    pub(super) fn frame_count(&self) -> u64 {
        let per = |n: u64, kind| n.saturating_mul(u64::from(self.packets(kind)));
        per(self.tcp, Kind::Tcp)
            .saturating_add(per(self.udp, Kind::Udp))
            .saturating_add(per(self.icmp, Kind::Icmp))
    }

    /// Kind of flow `flow`: the kinds are spread evenly over the flow numbers
    /// (Bresenham style), so every prefix of the flows has roughly the configured mix.
    pub(super) fn kind(&self, flow: u32) -> Kind {
        let f = u128::from(flow);
        let total = u128::from(self.tcp + self.udp + self.icmp).max(1);
        let tcp_before = f * u128::from(self.tcp) / total;
        if (f + 1) * u128::from(self.tcp) / total > tcp_before {
            return Kind::Tcp;
        }
        let g = f - tcp_before;
        let rest = u128::from(self.udp + self.icmp).max(1);
        let udp = u128::from(self.udp);
        if (g + 1) * udp / rest > g * udp / rest {
            Kind::Udp
        } else {
            Kind::Icmp
        }
    }

    /// Everything that is fixed for the lifetime of flow `flow`.
    pub(super) fn plan(&self, flow: u32) -> FlowPlan {
        let kind = self.kind(flow);
        let mut rng = Rng::stream(self.seed, SALT_FLOW, u64::from(flow));
        let v6 = rng.unit() < self.ipv6_share;
        let server = 1 + rng.below(SERVERS) as u32;
        let server_port = match kind {
            Kind::Tcp => TCP_PORTS[rng.below(TCP_PORTS.len() as u64) as usize],
            Kind::Udp => UDP_PORTS[rng.below(UDP_PORTS.len() as u64) as usize],
            Kind::Icmp => 0,
        };
        let isn_client = rng.next_u64() as u32;
        let isn_server = rng.next_u64() as u32;
        let label = rng.next_u64() as u32 & Ipv6FlowLabel::MAX_U32;
        // (address, port) is a bijection of the flow number: distinct 5-tuples.
        let block = flow / CLIENT_ADDRS;
        let client = flow % CLIENT_ADDRS + CLIENT_ADDRS * (block / CLIENT_PORTS) + 1;
        let client_port = 10_000 + (block % CLIENT_PORTS) as u16;
        let addrs = if v6 {
            Addrs::V6 {
                client: v6_addr(0xfd00, client),
                server: v6_addr(0xfd01, server),
                label,
            }
        } else {
            Addrs::V4 {
                client: v4_addr(0, client),
                server: v4_addr(1, server),
            }
        };
        FlowPlan {
            kind,
            addrs,
            client_port,
            server_port,
            isn_client,
            isn_server,
            packets: self.packets(kind),
            data: self.data,
            payload_len: self.payload_len,
            payload_seed: Rng::stream(self.seed, SALT_PAYLOAD, u64::from(flow)).next_u64(),
        }
    }
}

/// `10.<net>.<hi>.<lo>` of a host number (wraps past 65535).
fn v4_addr(net: u8, host: u32) -> [u8; 4] {
    [10, net, (host >> 8) as u8, host as u8]
}

/// `<prefix>::<host>` with the host number in the last 32 bits.
fn v6_addr(prefix: u16, host: u32) -> [u8; 16] {
    let mut a = [0u8; 16];
    a[..2].copy_from_slice(&prefix.to_be_bytes());
    a[12..].copy_from_slice(&host.to_be_bytes());
    a
}

/// Client and server addresses of a flow.
#[derive(Clone, Debug)]
enum Addrs {
    V4 {
        client: [u8; 4],
        server: [u8; 4],
    },
    V6 {
        client: [u8; 16],
        server: [u8; 16],
        label: u32,
    },
}

/// What one packet carries above the IP layer.
enum Message {
    Tcp(Segment),
    Udp { to_server: bool },
    Echo { request: bool, seq: u16 },
}

/// The fixed attributes of one flow.
#[derive(Clone, Debug)]
pub(super) struct FlowPlan {
    kind: Kind,
    addrs: Addrs,
    client_port: u16,
    server_port: u16,
    isn_client: u32,
    isn_server: u32,
    /// Number of packets of the flow.
    pub(super) packets: u32,
    data: u32,
    payload_len: usize,
    payload_seed: u64,
}

/// One TCP segment of the scripted connection.
struct Segment {
    to_server: bool,
    syn: bool,
    fin: bool,
    psh: bool,
    ack: bool,
    seq: u32,
    ack_no: u32,
    data: bool,
}

impl FlowPlan {
    /// Whether the flow is carried over IPv4 (and so consumes IPv4 identifications).
    pub(super) fn is_v4(&self) -> bool {
        matches!(self.addrs, Addrs::V4 { .. })
    }

    /// Segment `k` of the TCP script: handshake, `data` segments alternating
    /// directions (client first), then FIN/ACK, FIN/ACK, ACK with the client closing.
    fn segment(&self, k: u32) -> Segment {
        let len = self.payload_len as u32;
        let c0 = self.isn_client.wrapping_add(1);
        let s0 = self.isn_server.wrapping_add(1);
        // Data segments each side has sent before data segment `j`.
        let sent = |j: u32| (j.div_ceil(2), j / 2);
        let at = |to_server, seq: u32, ack_no: u32, data| Segment {
            to_server,
            syn: false,
            fin: false,
            psh: data,
            ack: true,
            seq,
            ack_no,
            data,
        };
        let (cd, sd) = sent(self.data);
        let c_end = c0.wrapping_add(cd.wrapping_mul(len));
        let s_end = s0.wrapping_add(sd.wrapping_mul(len));
        match k {
            0 => Segment {
                syn: true,
                ack: false,
                ..at(true, self.isn_client, 0, false)
            },
            1 => Segment {
                syn: true,
                ..at(false, self.isn_server, c0, false)
            },
            2 => at(true, c0, s0, false),
            _ if k - 3 < self.data => {
                let j = k - 3;
                let (c, s) = sent(j);
                let c_seq = c0.wrapping_add(c.wrapping_mul(len));
                let s_seq = s0.wrapping_add(s.wrapping_mul(len));
                if j & 1 == 0 {
                    at(true, c_seq, s_seq, true)
                } else {
                    at(false, s_seq, c_seq, true)
                }
            }
            _ => match k - 3 - self.data {
                0 => Segment {
                    fin: true,
                    ..at(true, c_end, s_end, false)
                },
                1 => Segment {
                    fin: true,
                    ..at(false, s_end, c_end.wrapping_add(1), false)
                },
                _ => at(true, c_end.wrapping_add(1), s_end.wrapping_add(1), false),
            },
        }
    }

    /// What packet `k` of the flow carries.
    fn message(&self, k: u32) -> Message {
        match self.kind {
            Kind::Tcp => Message::Tcp(self.segment(k)),
            Kind::Udp => Message::Udp {
                to_server: k & 1 == 0,
            },
            Kind::Icmp => Message::Echo {
                request: k & 1 == 0,
                seq: (k / 2 + 1) as u16,
            },
        }
    }

    /// Appends the Ethernet II frame of packet `k` to `out`; `scratch` is a reusable
    /// payload buffer. Returns whether the packet travels from client to server.
    pub(super) fn build(
        &self,
        k: u32,
        ip_id: u16,
        out: &mut Vec<u8>,
        scratch: &mut Vec<u8>,
    ) -> bool {
        let msg = self.message(k);
        let (to_server, with_payload) = match &msg {
            Message::Tcp(s) => (s.to_server, s.data),
            Message::Udp { to_server } => (*to_server, true),
            Message::Echo { request, .. } => (*request, true),
        };
        scratch.clear();
        if with_payload {
            let mut rng = Rng::stream(self.payload_seed, 0, u64::from(k));
            while scratch.len() < self.payload_len {
                let word = rng.next_u64().to_le_bytes();
                let take = word.len().min(self.payload_len - scratch.len());
                scratch.extend_from_slice(&word[..take]);
            }
        }
        let (mac_src, mac_dst) = if to_server {
            (CLIENT_MAC, SERVER_MAC)
        } else {
            (SERVER_MAC, CLIENT_MAC)
        };
        let ip = match &self.addrs {
            Addrs::V4 { client, server } => {
                let (source, destination) = if to_server {
                    (*client, *server)
                } else {
                    (*server, *client)
                };
                IpHeaders::Ipv4(
                    Ipv4Header {
                        identification: ip_id,
                        time_to_live: 64,
                        source,
                        destination,
                        ..Default::default()
                    },
                    Default::default(),
                )
            }
            Addrs::V6 {
                client,
                server,
                label,
            } => {
                let (source, destination) = if to_server {
                    (*client, *server)
                } else {
                    (*server, *client)
                };
                IpHeaders::Ipv6(
                    Ipv6Header {
                        traffic_class: 0,
                        flow_label: Ipv6FlowLabel::try_new(*label).unwrap_or(Ipv6FlowLabel::ZERO),
                        payload_length: 0,
                        next_header: IpNumber::TCP,
                        hop_limit: 64,
                        source,
                        destination,
                    },
                    Default::default(),
                )
            }
        };
        let (sport, dport) = if to_server {
            (self.client_port, self.server_port)
        } else {
            (self.server_port, self.client_port)
        };
        let step = PacketBuilder::ethernet2(mac_src, mac_dst).ip(ip);
        let payload = scratch.as_slice();
        // Ethernet + IPv6 + TCP with SYN options is the largest header stack.
        out.reserve(14 + 40 + 32 + payload.len());
        // Headers are well formed and the payload is clamped, so writing cannot fail;
        // should it ever, the frame is simply left truncated rather than panicking.
        let _ = match msg {
            Message::Tcp(s) => {
                let window = match (s.syn, to_server) {
                    (true, true) => 64_240,
                    (true, false) => 65_160,
                    (false, true) => 502,
                    (false, false) => 509,
                };
                let mut h = TcpHeader::new(sport, dport, s.seq, window);
                h.syn = s.syn;
                h.fin = s.fin;
                h.psh = s.psh;
                h.ack = s.ack;
                h.acknowledgment_number = s.ack_no;
                if s.syn {
                    let _ = h.set_options_raw(&SYN_OPTIONS);
                }
                step.tcp_header(h).write_to_vec(out, payload).is_ok()
            }
            Message::Udp { .. } => step.udp(sport, dport).write_to_vec(out, payload).is_ok(),
            Message::Echo { request, seq } => {
                let id = self.client_port;
                match (self.is_v4(), request) {
                    (true, true) => step.icmpv4_echo_request(id, seq).write_to_vec(out, payload),
                    (true, false) => step.icmpv4_echo_reply(id, seq).write_to_vec(out, payload),
                    (false, true) => step.icmpv6_echo_request(id, seq).write_to_vec(out, payload),
                    (false, false) => step.icmpv6_echo_reply(id, seq).write_to_vec(out, payload),
                }
                .is_ok()
            }
        };
        to_server
    }
}
