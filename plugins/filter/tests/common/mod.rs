//! Test helpers: packets built with etherparse and laid out in a `PacketView` as the
//! engine does (Ethernet frame, IP header at 14, offsets of L4 header and payload), and
//! a filter built from a YAML config section the way the engine hands it over (as JSON).

#![allow(dead_code)]

use brickwall_filter::{Filter, HOOKS};
use brickwall_hooks::{CtInfo, Family, Hook, Host, PacketView, Plugin, Verdict};
use etherparse::PacketBuilder;

/// A frame and the view over it (the view points into `buf`'s heap storage, which does
/// not move when the struct does).
pub struct Pkt {
    buf: Vec<u8>,
    pub view: PacketView,
}

const MAC: [u8; 6] = [2, 0, 0, 0, 0, 1];

impl Pkt {
    fn new(buf: Vec<u8>, family: Family, proto: u8, l4_len: usize) -> Pkt {
        let mut buf = buf;
        let l3_len = buf.len() - 14;
        let ip_len = match family {
            Family::Ipv4 => 20,
            Family::Ipv6 => 40,
        };
        let mut view = PacketView::default();
        view.l3_len = l3_len as u32;
        view.l3_off = 14;
        view.l4_off = (14 + ip_len) as u16;
        view.payload_off = (14 + ip_len + l4_len) as u16;
        view.family = family as u8;
        view.l4proto = proto;
        view.hook = Hook::Forward as u8;
        view.ts_ns = 1_700_000_000_000_000_000;
        // SAFETY: the view lives in `Pkt` beside `buf`, whose heap bytes do not move
        // when the vector does, and nothing else reaches them.
        unsafe { view.set_frame(buf.as_mut_ptr(), buf.len() as u32) };
        Pkt { buf, view }
    }

    /// Sets the conntrack information.
    pub fn ct(mut self, info: CtInfo) -> Pkt {
        self.view.set_ctinfo(info);
        self
    }

    /// Sets the interfaces.
    pub fn ifs(mut self, iif: u32, oif: u32) -> Pkt {
        self.view.iif = iif;
        self.view.oif = oif;
        self
    }

    /// Sets the packet mark.
    pub fn mark(mut self, mark: u32) -> Pkt {
        self.view.mark = mark;
        self
    }

    /// Sets the connection mark.
    pub fn ct_mark(mut self, mark: u32) -> Pkt {
        self.view.ct_mark = mark;
        self
    }

    /// The IP datagram's length.
    pub fn l3_len(&self) -> u64 {
        self.view.l3_len as u64
    }

    /// The frame bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }
}

fn eth() -> etherparse::PacketBuilderStep<etherparse::Ethernet2Header> {
    PacketBuilder::ethernet2(MAC, MAC)
}

/// An IPv4 TCP SYN.
pub fn tcp4(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16) -> Pkt {
    let b = eth().ipv4(src, dst, 64).tcp(sport, dport, 1, 1024).syn();
    let mut buf = Vec::new();
    b.write(&mut buf, b"hello").unwrap();
    Pkt::new(buf, Family::Ipv4, 6, 20)
}

/// An IPv4 UDP datagram.
pub fn udp4(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16) -> Pkt {
    let b = eth().ipv4(src, dst, 64).udp(sport, dport);
    let mut buf = Vec::new();
    b.write(&mut buf, b"data").unwrap();
    Pkt::new(buf, Family::Ipv4, 17, 8)
}

/// An ICMP echo request (or reply when `reply`).
pub fn icmp4(src: [u8; 4], dst: [u8; 4], reply: bool) -> Pkt {
    let b = eth().ipv4(src, dst, 64);
    let b = if reply {
        b.icmpv4_echo_reply(7, 1)
    } else {
        b.icmpv4_echo_request(7, 1)
    };
    let mut buf = Vec::new();
    b.write(&mut buf, b"ping").unwrap();
    Pkt::new(buf, Family::Ipv4, 1, 8)
}

/// An IPv6 TCP SYN.
pub fn tcp6(src: [u8; 16], dst: [u8; 16], sport: u16, dport: u16) -> Pkt {
    let b = eth().ipv6(src, dst, 64).tcp(sport, dport, 1, 1024).syn();
    let mut buf = Vec::new();
    b.write(&mut buf, b"hello").unwrap();
    Pkt::new(buf, Family::Ipv6, 6, 20)
}

/// An IPv6 UDP datagram.
pub fn udp6(src: [u8; 16], dst: [u8; 16], sport: u16, dport: u16) -> Pkt {
    let b = eth().ipv6(src, dst, 64).udp(sport, dport);
    let mut buf = Vec::new();
    b.write(&mut buf, b"data").unwrap();
    Pkt::new(buf, Family::Ipv6, 17, 8)
}

/// An ICMPv6 echo request.
pub fn icmp6(src: [u8; 16], dst: [u8; 16]) -> Pkt {
    let b = eth().ipv6(src, dst, 64).icmpv6_echo_request(7, 1);
    let mut buf = Vec::new();
    b.write(&mut buf, b"ping").unwrap();
    Pkt::new(buf, Family::Ipv6, 58, 8)
}

/// An IPv6 address from its text.
pub fn v6(s: &str) -> [u8; 16] {
    s.parse::<std::net::Ipv6Addr>().unwrap().octets()
}

/// The plugin's config section, written in YAML, as the engine hands it over (JSON).
pub fn json(yaml: &str) -> String {
    let v: serde_yaml_ng::Value = serde_yaml_ng::from_str(yaml).unwrap();
    serde_json::to_string(&v).unwrap()
}

/// A filter from a YAML config section; panics with the error if it does not load.
pub fn filter(yaml: &str) -> Filter {
    match Filter::init(&json(yaml), Host::new(std::ptr::null(), "filter")) {
        Ok(f) => f,
        Err(e) => panic!("config did not load: {e}"),
    }
}

/// The init error of a YAML config section; panics if it loads.
pub fn init_err(yaml: &str) -> String {
    match Filter::init(&json(yaml), Host::new(std::ptr::null(), "filter")) {
        Ok(_) => panic!("config loaded but should not have:\n{yaml}"),
        Err(e) => e,
    }
}

/// The `op` of a registration by name.
pub fn op(name: &str) -> u32 {
    HOOKS
        .iter()
        .find(|h| h.name == name)
        .map(|h| h.op)
        .unwrap_or_else(|| panic!("no registration {name}"))
}

/// Runs a packet through a registration.
pub fn run(f: &Filter, reg: &str, p: &mut Pkt) -> Verdict {
    f.on_packet(op(reg), &mut p.view)
}

/// The `list` answer as JSON.
pub fn list(f: &Filter) -> serde_json::Value {
    let mut out = Vec::new();
    f.control(b"list", &mut out).unwrap();
    serde_json::from_slice(&out).unwrap()
}
