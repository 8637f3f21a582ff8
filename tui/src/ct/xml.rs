//! `-o xml`: connections and expectations as conntrack-tools 1.4.7 prints them in XML.
//! A listing opens with the XML declaration and `<conntrack>` (or `<expect>`) before its
//! first entry and closes after its last (nothing at all when it is empty); each entry is
//! one `<flow>` line:
//!
//! - a connection: a `<meta direction="original">` and a `reply` one (addresses in
//!   `<layer3>`, ports or GRE keys in `<layer4>`, `<counters>` when counted), then
//!   `<meta direction="independent">` with the state, timeout, mark, labels (with
//!   `-o labels`), zone (when not 0), use, id, `<assured/>`, `<unreplied/>` and
//!   `<deltatime>` (seconds since it started, with timestamps on); the helper last;
//! - an expectation: `<layer3>` and `<layer4>`, each with the `<expected>`, `<mask>`
//!   and `<master>` fields, then `<meta>` with the helper's name, timeout, class and
//!   zone (when not 0).

use brickwall_control_protocol::conntrack::{ConnRecord, ExpectRecord, TupleRecord};
use brickwall_wire::ip_proto;
use std::fmt::Write;
use std::net::IpAddr;

/// The line before the first entry.
pub const DECLARATION: &str = "<?xml version=\"1.0\" encoding=\"utf-8\"?>";

/// Which table a listing holds: its root element's name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Root {
    /// `<conntrack>`.
    Conntrack,
    /// `<expect>`.
    Expect,
}

impl Root {
    /// The root element's name.
    pub fn name(self) -> &'static str {
        match self {
            Root::Conntrack => "conntrack",
            Root::Expect => "expect",
        }
    }
}

/// `ipv4` or `ipv6` and its address family number, as `<layer3>` names them.
fn layer3(a: IpAddr) -> (u8, &'static str) {
    match a {
        IpAddr::V4(_) => (2, "ipv4"),
        IpAddr::V6(_) => (10, "ipv6"),
    }
}

/// The protocol's name as `<layer4>` gives it: conntrack-tools' table of names.
fn layer4_name(p: u8) -> &'static str {
    match p {
        ip_proto::TCP
        | ip_proto::UDP
        | ip_proto::UDPLITE
        | ip_proto::SCTP
        | ip_proto::DCCP
        | ip_proto::ICMP
        | ip_proto::ICMPV6
        | ip_proto::GRE => ip_proto::name(p).unwrap_or("unknown"),
        _ => "unknown",
    }
}

/// `s` with the characters XML reserves escaped (names come from configs and maps).
fn text(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A tuple's protocol fields: `<sport>`/`<dport>` for protocols with ports, GRE's keys
/// in hexadecimal, nothing for the others (ICMP's type, code and id are not printed).
fn l4_fields(s: &mut String, proto: u8, t: &TupleRecord) {
    if proto == ip_proto::GRE {
        if let (Some(sk), Some(dk)) = (t.srckey, t.dstkey) {
            let _ = write!(s, "<srckey>0x{sk:x}</srckey><dstkey>0x{dk:x}</dstkey>");
        }
    } else if let (Some(sp), Some(dp)) = (t.sport, t.dport) {
        let _ = write!(s, "<sport>{sp}</sport><dport>{dp}</dport>");
    }
}

/// One direction of a connection.
fn direction(s: &mut String, dir: &str, proto: u8, t: &TupleRecord) {
    let (num, name) = layer3(t.src);
    let _ = write!(
        s,
        "<meta direction=\"{dir}\"><layer3 protonum=\"{num}\" protoname=\"{name}\">\
         <src>{}</src><dst>{}</dst></layer3>\
         <layer4 protonum=\"{proto}\" protoname=\"{}\">",
        t.src,
        t.dst,
        layer4_name(proto)
    );
    l4_fields(s, proto, t);
    s.push_str("</layer4>");
    if let (Some(p), Some(b)) = (t.packets, t.bytes) {
        let _ = write!(
            s,
            "<counters><packets>{p}</packets><bytes>{b}</bytes></counters>"
        );
    }
    s.push_str("</meta>");
}

/// A connection's `<flow>` line, as of `now_ns` (for `<deltatime>`); `labels` are the
/// names of its labels to print (`-o labels`), `None` to print none.
pub fn flow(c: &ConnRecord, now_ns: u64, labels: Option<&[String]>) -> String {
    let mut s = String::from("<flow>");
    direction(&mut s, "original", c.protonum, &c.orig);
    direction(&mut s, "reply", c.protonum, &c.reply);
    s.push_str("<meta direction=\"independent\">");
    if let Some(state) = &c.state {
        let _ = write!(s, "<state>{}</state>", text(state));
    }
    let _ = write!(s, "<timeout>{}</timeout><mark>{}</mark>", c.timeout, c.mark);
    if let Some(names) = labels.filter(|n| !n.is_empty()) {
        s.push_str("<labels>");
        for n in names {
            let _ = write!(s, "<label>{}</label>", text(n));
        }
        s.push_str("</labels>");
    }
    if c.zone != 0 {
        let _ = write!(s, "<zone>{}</zone>", c.zone);
    }
    let _ = write!(s, "<use>{}</use><id>{}</id>", c.uses, c.id);
    if c.has_status("ASSURED") {
        s.push_str("<assured/>");
    }
    if !c.has_status("SEEN_REPLY") {
        s.push_str("<unreplied/>");
    }
    if let Some(start) = c.start_ns {
        let secs = (now_ns / 1_000_000_000).saturating_sub(start / 1_000_000_000);
        let _ = write!(s, "<deltatime>{secs}</deltatime>");
    }
    s.push_str("</meta>");
    if let Some(h) = &c.helper {
        let _ = write!(s, "<helper>{}</helper>", text(h));
    }
    s.push_str("</flow>");
    s
}

/// An expectation's `<flow>` line.
pub fn expect_flow(e: &ExpectRecord) -> String {
    let (num, name) = layer3(e.tuple.src);
    let mut s = format!("<flow><layer3 protonum=\"{num}\" protoname=\"{name}\">");
    let parts = [
        ("expected", &e.tuple),
        ("mask", &e.mask),
        ("master", &e.master),
    ];
    for (tag, t) in parts {
        let _ = write!(s, "<{tag}><src>{}</src><dst>{}</dst></{tag}>", t.src, t.dst);
    }
    let _ = write!(
        s,
        "</layer3><layer4 protonum=\"{}\" protoname=\"{}\">",
        e.protonum,
        layer4_name(e.protonum)
    );
    for (tag, t) in parts {
        let _ = write!(s, "<{tag}>");
        l4_fields(&mut s, e.protonum, t);
        let _ = write!(s, "</{tag}>");
    }
    s.push_str("</layer4><meta>");
    if !e.helper.is_empty() {
        let _ = write!(s, "<helper-name>{}</helper-name>", text(&e.helper));
    }
    let _ = write!(
        s,
        "<timeout>{}</timeout><class>{}</class>",
        e.timeout, e.class
    );
    if e.zone != 0 {
        let _ = write!(s, "<zone>{}</zone>", e.zone);
    }
    s.push_str("</meta></flow>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use brickwall_control_protocol::conntrack::value::{FamilyName, Labels};
    use brickwall_wire::Family;

    fn record(protonum: u8, orig: TupleRecord, reply: TupleRecord) -> ConnRecord {
        ConnRecord {
            id: 9,
            family: FamilyName(Family::Ipv4),
            proto: ip_proto::name(protonum).unwrap_or("unknown").into(),
            protonum,
            state: None,
            timeout: 29,
            status: vec!["CONFIRMED".into()],
            orig,
            reply,
            mark: 3,
            zone: 0,
            labels: Labels(0),
            helper: None,
            uses: 1,
            start_ns: None,
        }
    }

    fn tuple(src: &str, dst: &str) -> TupleRecord {
        TupleRecord::new(src.parse().unwrap(), dst.parse().unwrap())
    }

    /// An unreplied UDP connection with a zone, labels, a helper and a start time.
    #[test]
    fn an_unreplied_connection_says_so() {
        let mut c = record(
            ip_proto::UDP,
            TupleRecord {
                sport: Some(1000),
                dport: Some(69),
                ..tuple("10.0.0.1", "10.1.0.1")
            },
            TupleRecord {
                sport: Some(69),
                dport: Some(1000),
                ..tuple("10.1.0.1", "10.0.0.1")
            },
        );
        c.zone = 4;
        c.helper = Some("tftp".into());
        c.start_ns = Some(7_500_000_000);
        let names = ["blue".to_string()];
        assert_eq!(
            flow(&c, 20_100_000_000, Some(&names)),
            "<flow><meta direction=\"original\"><layer3 protonum=\"2\" protoname=\"ipv4\">\
             <src>10.0.0.1</src><dst>10.1.0.1</dst></layer3><layer4 protonum=\"17\" \
             protoname=\"udp\"><sport>1000</sport><dport>69</dport></layer4></meta>\
             <meta direction=\"reply\"><layer3 protonum=\"2\" protoname=\"ipv4\">\
             <src>10.1.0.1</src><dst>10.0.0.1</dst></layer3><layer4 protonum=\"17\" \
             protoname=\"udp\"><sport>69</sport><dport>1000</dport></layer4></meta>\
             <meta direction=\"independent\"><timeout>29</timeout><mark>3</mark>\
             <labels><label>blue</label></labels><zone>4</zone><use>1</use><id>9</id>\
             <unreplied/><deltatime>13</deltatime></meta><helper>tftp</helper></flow>"
        );
    }

    /// GRE's keys in hexadecimal; ICMP's type, code and id not at all; IPv6 as `ipv6`.
    #[test]
    fn gre_keys_and_icmp_fields() {
        let keyed = |s: u16, d: u16, a: &str, b: &str| TupleRecord {
            srckey: Some(s),
            dstkey: Some(d),
            ..tuple(a, b)
        };
        let gre = record(
            ip_proto::GRE,
            keyed(0x1a, 0x2b, "10.0.0.1", "10.1.0.1"),
            keyed(0x2b, 0x1a, "10.1.0.1", "10.0.0.1"),
        );
        let x = flow(&gre, 0, None);
        assert!(
            x.contains("<layer4 protonum=\"47\" protoname=\"gre\"><srckey>0x1a</srckey><dstkey>0x2b</dstkey></layer4>"),
            "{x}"
        );
        let echo = |a: &str, b: &str| TupleRecord {
            icmp_type: Some(8),
            code: Some(0),
            id: Some(5),
            ..tuple(a, b)
        };
        let icmp = record(
            ip_proto::ICMPV6,
            echo("2001:db8::1", "2001:db8::2"),
            echo("2001:db8::2", "2001:db8::1"),
        );
        let x = flow(&icmp, 0, None);
        assert!(
            x.contains("<layer3 protonum=\"10\" protoname=\"ipv6\"><src>2001:db8::1</src>"),
            "{x}"
        );
        assert!(
            x.contains("<layer4 protonum=\"58\" protoname=\"icmpv6\"></layer4>"),
            "{x}"
        );
    }
}
