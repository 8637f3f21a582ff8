//! The encoding, read back by a small IPFIX decoder of its own (written from RFC 7011,
//! sections 3.1 to 3.4, and sharing no code with the encoder): message headers, set
//! headers and padding, template records with enterprise elements, data records of
//! every template, and sequence numbers across messages.

use brickwall_hooks::services::conntrack::{
    conn_flags, status, CtConn, CtCounters, CtTuple, FAMILY_V4, FAMILY_V6,
};
use brickwall_ipfix::element::{end_reason, Element};
use brickwall_ipfix::message::Encoder;
use brickwall_ipfix::record::{destroy_reason, FlowRecord};
use brickwall_ipfix::template::Templates;
use std::collections::HashMap;

/// A field specifier: element id (enterprise bit cleared), enterprise number, length.
type Spec = (u16, u32, u16);

#[derive(Debug)]
struct Message {
    length: u16,
    export_time: u32,
    sequence: u32,
    domain: u32,
    /// (set id, set length, the set's body).
    sets: Vec<(u16, u16, Vec<u8>)>,
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}
fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(b[at..at + 4].try_into().unwrap())
}

fn parse(m: &[u8]) -> Message {
    assert!(m.len() >= 16, "short message");
    assert_eq!(be16(m, 0), 10, "version");
    let length = be16(m, 2);
    assert_eq!(
        length as usize,
        m.len(),
        "the header's length is the message's"
    );
    let mut sets = Vec::new();
    let mut at = 16;
    while at < m.len() {
        assert!(at + 4 <= m.len(), "set header cut");
        let (id, len) = (be16(m, at), be16(m, at + 2));
        assert!(
            len >= 4 && at + len as usize <= m.len(),
            "set length {len} at {at}"
        );
        sets.push((id, len, m[at + 4..at + len as usize].to_vec()));
        at += len as usize;
    }
    assert_eq!(at, m.len());
    Message {
        length,
        export_time: be32(m, 4),
        sequence: be32(m, 8),
        domain: be32(m, 12),
        sets,
    }
}

/// Template records of a template set body: id → field specifiers.
fn templates(body: &[u8]) -> HashMap<u16, Vec<Spec>> {
    let mut out = HashMap::new();
    let mut at = 0;
    // A template record is at least 4 bytes; what is left below that is padding.
    while at + 4 <= body.len() {
        let (id, count) = (be16(body, at), be16(body, at + 2));
        if id == 0 {
            break;
        }
        at += 4;
        let mut fields = Vec::new();
        for _ in 0..count {
            let (raw, len) = (be16(body, at), be16(body, at + 2));
            at += 4;
            let pen = if raw & 0x8000 != 0 {
                at += 4;
                be32(body, at - 4)
            } else {
                0
            };
            fields.push((raw & 0x7fff, pen, len));
        }
        out.insert(id, fields);
    }
    assert!(body[at..].iter().all(|&b| b == 0), "padding is zero");
    out
}

/// Data records of a data set body, each a map from field specifier to its bytes.
fn records(body: &[u8], fields: &[Spec]) -> Vec<HashMap<Spec, Vec<u8>>> {
    let len: usize = fields.iter().map(|f| f.2 as usize).sum();
    let mut out = Vec::new();
    let mut at = 0;
    while body.len() - at >= len {
        let mut r = HashMap::new();
        for f in fields {
            r.insert(*f, body[at..at + f.2 as usize].to_vec());
            at += f.2 as usize;
        }
        out.push(r);
    }
    let pad = &body[at..];
    assert!(
        pad.len() < 4,
        "padding shorter than four bytes: {}",
        pad.len()
    );
    assert!(pad.iter().all(|&b| b == 0), "padding is zero");
    out
}

fn num(r: &HashMap<Spec, Vec<u8>>, id: u16, pen: u32) -> u64 {
    let (_, v) = r
        .iter()
        .find(|((i, p, _), _)| *i == id && *p == pen)
        .unwrap_or_else(|| panic!("element {id}/{pen} missing"));
    v.iter().fold(0u64, |a, &b| a << 8 | b as u64)
}

fn bytes(r: &HashMap<Spec, Vec<u8>>, id: u16) -> Vec<u8> {
    r.iter()
        .find(|((i, p, _), _)| *i == id && *p == 0)
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| panic!("element {id} missing"))
}

fn tuple(v6: bool, src: [u8; 4], dst: [u8; 4], sp: u16, dp: u16, proto: u8) -> CtTuple {
    let mut s = [0; 16];
    let mut d = [0; 16];
    if v6 {
        s[0] = 0x20;
        s[1] = 0x01;
        s[12..].copy_from_slice(&src);
        d[0] = 0x20;
        d[1] = 0x01;
        d[12..].copy_from_slice(&dst);
    } else {
        s[..4].copy_from_slice(&src);
        d[..4].copy_from_slice(&dst);
    }
    CtTuple {
        src: s,
        dst: d,
        src_id: sp,
        dst_id: dp,
        proto,
        family: if v6 { FAMILY_V6 } else { FAMILY_V4 },
        zone: 0,
    }
}

fn inverted(t: &CtTuple) -> CtTuple {
    CtTuple {
        src: t.dst,
        dst: t.src,
        src_id: t.dst_id,
        dst_id: t.src_id,
        ..*t
    }
}

fn conn(id: u64, orig: CtTuple, reply: CtTuple, st: u32, k: [(u64, u64); 2]) -> CtConn {
    CtConn {
        id,
        orig,
        reply,
        status: st | status::CONFIRMED,
        mark: 0x42,
        start_ns: 1_700_000_000_123_456_789,
        counters: k.map(|(p, b)| CtCounters {
            packets: p,
            bytes: b,
        }),
        flags: conn_flags::COUNTERS | conn_flags::START | conn_flags::CONFIRMED,
        ..CtConn::default()
    }
}

fn record(c: &CtConn) -> FlowRecord {
    FlowRecord::from_conn(
        c,
        c.start_ns,
        c.start_ns + 2_500_000_000,
        Default::default(),
        end_reason::IDLE_TIMEOUT,
    )
}

#[test]
fn the_template_message_has_a_header_and_four_templates_with_reverse_elements() {
    let enc = Encoder::new(77, 1400, Templates::new(None));
    let m = parse(&enc.template_message(5, 1_700_000_001));
    assert_eq!(
        (m.export_time, m.sequence, m.domain),
        (1_700_000_001, 5, 77)
    );
    assert_eq!(m.sets.len(), 1);
    let (id, len, body) = &m.sets[0];
    assert_eq!(*id, 2, "a template set");
    assert_eq!(len % 4, 0, "padded to four bytes");
    assert!(m.length as usize <= 1400);
    let t = templates(body);
    let mut ids: Vec<u16> = t.keys().copied().collect();
    ids.sort();
    assert_eq!(ids, [256, 257, 258, 259]);
    let common = |src: Spec, dst: Spec, icmp: Spec| {
        vec![
            (148, 0, 8),
            src,
            dst,
            (7, 0, 2),
            (11, 0, 2),
            (4, 0, 1),
            icmp,
            (136, 0, 1),
            (152, 0, 8),
            (153, 0, 8),
            (1, 0, 8),
            (2, 0, 8),
            (1, 29305, 8),
            (2, 29305, 8),
        ]
    };
    let v4 = common((8, 0, 4), (12, 0, 4), (32, 0, 2));
    let v6 = common((27, 0, 16), (28, 0, 16), (139, 0, 2));
    assert_eq!(t[&256], v4);
    assert_eq!(t[&257], v6);
    let mut v4nat = v4.clone();
    v4nat.extend([(225, 0, 4), (226, 0, 4), (227, 0, 2), (228, 0, 2)]);
    let mut v6nat = v6.clone();
    v6nat.extend([(281, 0, 16), (282, 0, 16), (227, 0, 2), (228, 0, 2)]);
    assert_eq!(t[&258], v4nat);
    assert_eq!(t[&259], v6nat);
}

#[test]
fn the_mark_goes_as_the_configured_enterprise_element() {
    let mark = Element::Mark {
        enterprise: 32473,
        id: 7,
    };
    let mut enc = Encoder::new(1, 1400, Templates::new(Some(mark)));
    let t = templates(&parse(&enc.template_message(0, 0)).sets[0].2);
    for id in 256..=259 {
        assert_eq!(t[&id].last(), Some(&(7, 32473, 4)), "template {id}");
    }
    let c = conn(
        9,
        tuple(false, [10, 0, 0, 1], [10, 0, 0, 2], 1, 2, 17),
        inverted(&tuple(false, [10, 0, 0, 1], [10, 0, 0, 2], 1, 2, 17)),
        0,
        [(1, 2), (3, 4)],
    );
    enc.push(&record(&c), 0);
    let m = parse(enc.finish(0).unwrap());
    let r = &records(&m.sets[0].2, &t[&256])[0];
    assert_eq!(num(r, 7, 32473), 0x42);
}

#[test]
fn data_records_of_each_template_read_back() {
    let mut enc = Encoder::new(3, 1400, Templates::new(None));
    let tmpl = templates(&parse(&enc.template_message(0, 0)).sets[0].2);
    let t4 = tuple(false, [192, 0, 2, 10], [198, 51, 100, 7], 40000, 80, 6);
    let plain4 = conn(
        1,
        t4,
        inverted(&t4),
        status::ASSURED,
        [(10, 1000), (8, 6000)],
    );
    let t6 = tuple(true, [0, 0, 0, 1], [0, 0, 0, 2], 5353, 53, 17);
    let plain6 = conn(2, t6, inverted(&t6), 0, [(1, 80), (1, 120)]);
    // Source translation: the reply comes back to 203.0.113.5:61000.
    let mut nat_reply = inverted(&t4);
    nat_reply.dst[..4].copy_from_slice(&[203, 0, 113, 5]);
    nat_reply.dst_id = 61000;
    let nat4 = conn(3, t4, nat_reply, status::SRC_NAT, [(3, 180), (2, 120)]);
    let icmp = tuple(false, [192, 0, 2, 10], [198, 51, 100, 7], 0x1234, 8 << 8, 1);
    let ping = conn(4, icmp, inverted(&icmp), 0, [(1, 84), (1, 84)]);
    let mut t6n = inverted(&t6);
    t6n.src[15] = 0x99; // destination translated: the reply comes from another address
    t6n.src_id = 5300;
    let nat6 = conn(5, t6, t6n, status::DST_NAT, [(4, 400), (0, 0)]);
    for c in [&plain4, &plain6, &nat4, &ping, &nat6] {
        assert!(enc.push(&record(c), 0).is_none());
    }
    let m = parse(enc.finish(1_700_000_002).unwrap());
    assert_eq!((m.sequence, m.domain, m.export_time), (0, 3, 1_700_000_002));
    let set_ids: Vec<u16> = m.sets.iter().map(|s| s.0).collect();
    assert_eq!(
        set_ids,
        [256, 257, 258, 256, 259],
        "a set per run of one template"
    );
    for (_, len, _) in &m.sets {
        assert_eq!(len % 4, 0, "each set padded to four bytes");
    }
    let rec = |i: usize| records(&m.sets[i].2, &tmpl[&m.sets[i].0]).remove(0);

    let r = rec(0);
    assert_eq!(num(&r, 148, 0), 1);
    assert_eq!(bytes(&r, 8), [192, 0, 2, 10]);
    assert_eq!(bytes(&r, 12), [198, 51, 100, 7]);
    assert_eq!(
        (num(&r, 7, 0), num(&r, 11, 0), num(&r, 4, 0)),
        (40000, 80, 6)
    );
    assert_eq!(num(&r, 32, 0), 0, "no ICMP type for TCP");
    assert_eq!(num(&r, 136, 0), end_reason::IDLE_TIMEOUT as u64);
    assert_eq!(num(&r, 152, 0), 1_700_000_000_123);
    assert_eq!(num(&r, 153, 0), 1_700_000_002_623);
    assert_eq!((num(&r, 2, 0), num(&r, 1, 0)), (10, 1000));
    assert_eq!((num(&r, 2, 29305), num(&r, 1, 29305)), (8, 6000));

    let r = rec(1);
    let mut want = [0u8; 16];
    want[..2].copy_from_slice(&[0x20, 0x01]);
    want[15] = 1;
    assert_eq!(bytes(&r, 27), want);
    want[15] = 2;
    assert_eq!(bytes(&r, 28), want);
    assert_eq!(
        (num(&r, 7, 0), num(&r, 11, 0), num(&r, 4, 0)),
        (5353, 53, 17)
    );
    assert_eq!((num(&r, 1, 0), num(&r, 1, 29305)), (80, 120));

    let r = rec(2);
    assert_eq!(num(&r, 148, 0), 3);
    assert_eq!(bytes(&r, 225), [203, 0, 113, 5], "post-NAT source");
    assert_eq!(bytes(&r, 226), [198, 51, 100, 7], "destination unchanged");
    assert_eq!((num(&r, 227, 0), num(&r, 228, 0)), (61000, 80));

    let r = rec(3);
    assert_eq!((num(&r, 7, 0), num(&r, 11, 0)), (0, 0), "ICMP has no ports");
    assert_eq!(num(&r, 32, 0), 8 << 8, "echo request, code 0");

    let r = rec(4);
    want[15] = 0x99;
    assert_eq!(bytes(&r, 282), want, "post-NAT destination");
    assert_eq!(num(&r, 228, 0), 5300);
    assert_eq!(num(&r, 227, 0), 5353);
}

#[test]
fn sequence_numbers_count_data_records_and_messages_stay_under_the_limit() {
    let mut enc = Encoder::new(9, 512, Templates::new(None));
    let tmpl = templates(&parse(&enc.template_message(0, 0)).sets[0].2);
    let mut messages: Vec<Vec<u8>> = Vec::new();
    for i in 0..200u64 {
        let v6 = i % 3 == 0;
        let t = tuple(
            v6,
            [10, 0, 0, i as u8],
            [10, 0, 1, 1],
            1000 + i as u16,
            443,
            6,
        );
        let c = conn(i, t, inverted(&t), 0, [(i, i * 100), (i, i * 50)]);
        if let Some(m) = enc.push(&record(&c), 1) {
            messages.push(m.to_vec());
        }
    }
    messages.push(enc.finish(1).unwrap().to_vec());
    assert!(enc.finish(1).is_none(), "nothing left");
    assert!(messages.len() > 10, "{} messages", messages.len());
    let mut seen = 0u32;
    let mut ids = Vec::new();
    for m in &messages {
        assert!(m.len() <= 512, "{} bytes", m.len());
        let p = parse(m);
        assert_eq!(p.sequence, seen, "the records sent before it");
        for (id, _, body) in &p.sets {
            for r in records(body, &tmpl[id]) {
                ids.push(num(&r, 148, 0));
                seen += 1;
            }
        }
    }
    assert_eq!(
        ids,
        (0..200).collect::<Vec<_>>(),
        "every record once, in order"
    );
    assert_eq!(enc.sequence(), 200);
    // Templates do not advance the sequence.
    assert_eq!(
        parse(&enc.template_message(enc.sequence(), 0)).sequence,
        200
    );
    assert_eq!(enc.sequence(), 200);
}

#[test]
fn records_count_what_came_after_an_earlier_record_and_name_how_the_flow_ended() {
    let t = tuple(false, [10, 0, 0, 1], [10, 0, 0, 2], 1, 2, 47);
    let mut c = conn(1, t, inverted(&t), 0, [(10, 1000), (5, 700)]);
    let base = [
        CtCounters {
            packets: 4,
            bytes: 400,
        },
        CtCounters {
            packets: 5,
            bytes: 700,
        },
    ];
    let r = FlowRecord::from_conn(
        &c,
        100_000_000,
        200_000_000,
        base,
        end_reason::ACTIVE_TIMEOUT,
    );
    assert_eq!((r.orig.packets, r.orig.bytes), (6, 600));
    assert_eq!((r.reply.packets, r.reply.bytes), (0, 0));
    assert_eq!((r.start_ms, r.end_ms), (100, 200));
    assert_eq!((r.src_port, r.dst_port), (0, 0), "GRE keys are not ports");
    assert!(r.nat.is_none());
    c.flags &= !conn_flags::COUNTERS;
    let r = FlowRecord::from_conn(&c, 0, 0, Default::default(), 1);
    assert_eq!((r.orig, r.reply), Default::default(), "no counters: zero");
    let mut s = c;
    brickwall_hooks::services::conntrack::set_padded(&mut s.state, "TIME_WAIT");
    assert_eq!(destroy_reason(&s), end_reason::END_DETECTED);
    brickwall_hooks::services::conntrack::set_padded(&mut s.state, "ESTABLISHED");
    assert_eq!(destroy_reason(&s), end_reason::IDLE_TIMEOUT);
    assert_eq!(destroy_reason(&c), end_reason::IDLE_TIMEOUT);
}
