//! The header views: fields read back from built headers, and nothing read beyond
//! the bytes.

use super::build::*;
use crate::{Ipv4Header, Ipv6Header, TcpHeader};

#[test]
fn ipv4_fields() {
    let h = V4 {
        proto: 17,
        id: 0xbeef,
        frag_units: 3,
        mf: true,
    };
    let d = ipv4(h, &[1, 1, 1, 0], &udp(1, 2, b"x"));
    let v = Ipv4Header::new(&d).unwrap();
    assert_eq!((v.version(), v.header_len(), v.total_len()), (4, 24, 33));
    assert_eq!(
        (v.ident(), v.frag_offset(), v.more_frags()),
        (0xbeef, 24, true)
    );
    assert!(v.is_fragment() && !v.dont_frag());
    assert_eq!((v.ttl(), v.protocol(), v.tos()), (64, 17, 0));
    assert_eq!((v.src(), v.dst()), ([10, 0, 0, 1], [10, 0, 0, 2]));
    assert_eq!(v.header().map(<[u8]>::len), Some(24));
    assert!(Ipv4Header::new(&d[..19]).is_none());
    // A header length beyond the bytes: no header, no panic.
    assert!(Ipv4Header::new(&d[..20]).unwrap().header().is_none());
}

#[test]
fn ipv6_fields() {
    let mut d = ipv6(17, &udp(1, 2, b"abc"));
    d[0] = 0x6a;
    d[1] = 0xb1;
    d[2] = 0x23;
    d[3] = 0x45;
    let v = Ipv6Header::new(&d).unwrap();
    assert_eq!(
        (v.version(), v.traffic_class(), v.flow_label()),
        (6, 0xab, 0x12345)
    );
    assert_eq!(
        (v.payload_len(), v.next_header(), v.hop_limit()),
        (11, 17, 64)
    );
    assert_eq!(v.src()[0..2], [0xfe, 0x80]);
    assert_eq!(v.dst()[15], 2);
    assert!(Ipv6Header::new(&d[..39]).is_none());
}

#[test]
fn tcp_fields() {
    let seg = tcp(40000, 80, 0x12, &[2, 4, 5, 0xb4], b"hi");
    let v = TcpHeader::new_whole(&seg).unwrap();
    assert_eq!((v.src_port(), v.dst_port()), (40000, 80));
    assert_eq!(
        (v.seq(), v.ack(), v.flags(), v.window()),
        (1000, 2000, 0x12, 0xfaf0)
    );
    assert_eq!((v.header_len(), v.options()), (24, &[2, 4, 5, 0xb4][..]));
    // Cut inside the options: the fixed part reads, the whole header does not.
    let cut = TcpHeader::new(&seg[..22]).unwrap();
    assert_eq!((cut.header_len(), cut.options()), (24, &[][..]));
    assert!(TcpHeader::new_whole(&seg[..22]).is_none());
    let mut short = seg.clone();
    short[12] = 0x40; // data offset 4 words
    assert!(TcpHeader::new_whole(&short).is_none());
    assert!(TcpHeader::new(&seg[..19]).is_none());
}
