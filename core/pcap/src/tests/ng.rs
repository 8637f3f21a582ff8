//! pcapng: interfaces with their own link types and resolutions, block kinds, sections.

use super::ngbuild::{epb, idb, shb, Body, Order};
use super::{frames, reader};
use crate::{CaptureError, CaptureFormat};
use brickwall_wire::LinkType;

#[test]
fn two_interfaces_different_links_and_resolutions() {
    let mut f = shb(Order::Le);
    f.extend(Body::new(Order::Le).padded(b"custom").block(0x0000_0bad)); // skipped
    f.extend(idb(Order::Le, 1, None)); // Ethernet, microseconds
    f.extend(idb(Order::Le, 113, Some(9))); // SLL, nanoseconds
    f.extend(epb(Order::Le, 0, 1_700_000_000_000_001, b"eth-frame", 60));
    f.extend(epb(Order::Le, 1, 1_700_000_000_000_000_002, b"sll", 3));
    f.extend(Body::new(Order::Le).u32(0).u32(0).block(5)); // statistics: skipped
    let mut r = reader(f).unwrap();
    assert_eq!(r.format(), CaptureFormat::Pcapng);
    assert_eq!(r.link_type(), LinkType::Ethernet);
    let (got, err) = frames(&mut r);
    assert!(err.is_none(), "{err:?}");
    assert_eq!(got.len(), 2);
    let (m, data) = &got[0];
    assert_eq!(
        (m.link, m.iface, m.ts_ns),
        (LinkType::Ethernet, 0, 1_700_000_000_000_001_000)
    );
    assert_eq!(
        (m.caplen, m.orig_len, data.as_slice()),
        (9, 60, b"eth-frame".as_slice())
    );
    let (m, data) = &got[1];
    assert_eq!(
        (m.link, m.iface, m.ts_ns),
        (LinkType::LinuxSll, 1, 1_700_000_000_000_000_002)
    );
    assert_eq!(data, b"sll");
}

#[test]
fn binary_resolution_and_simple_and_obsolete_blocks() {
    let o = Order::Be;
    let mut f = shb(o);
    f.extend(idb(o, 101, Some(0x80 | 10))); // 2^-10 s
    f.extend(epb(o, 0, 3 * 1024 + 512, b"abc", 3));
    f.extend(Body::new(o).u32(5).padded(b"hello").block(3)); // simple packet block
    let pb = Body::new(o)
        .u16(0)
        .u16(0)
        .u32(0)
        .u32(2_000_000)
        .u32(2)
        .u32(2)
        .padded(b"hi");
    f.extend(pb.block(2));
    let mut r = reader(f).unwrap();
    assert_eq!(r.link_type(), LinkType::Raw);
    let (got, err) = frames(&mut r);
    assert!(err.is_none(), "{err:?}");
    assert_eq!(got[0].0.ts_ns, 3_500_000_000);
    assert_eq!(
        (got[1].0.ts_ns, got[1].0.caplen, got[1].1.as_slice()),
        (0, 5, b"hello".as_slice())
    );
    assert_eq!(
        (got[2].0.ts_ns, got[2].1.as_slice()),
        (1_953_125_000_000, b"hi".as_slice())
    );
}

#[test]
fn sections_restart_interface_ids() {
    let mut f = shb(Order::Le);
    f.extend(idb(Order::Le, 1, None));
    f.extend(epb(Order::Le, 0, 1, b"a", 1));
    f.extend(shb(Order::Be));
    f.extend(idb(Order::Be, 229, Some(3)));
    f.extend(epb(Order::Be, 0, 7, b"b", 1));
    let mut r = reader(f).unwrap();
    let (got, err) = frames(&mut r);
    assert!(err.is_none(), "{err:?}");
    assert_eq!(
        (got[0].0.iface, got[0].0.link, got[0].0.ts_ns),
        (0, LinkType::Ethernet, 1000)
    );
    assert_eq!(
        (got[1].0.iface, got[1].0.link, got[1].0.ts_ns),
        (1, LinkType::Ipv6, 7_000_000)
    );
}

#[test]
fn unknown_interface_and_bad_lengths() {
    let mut f = shb(Order::Le);
    f.extend(idb(Order::Le, 1, None));
    f.extend(epb(Order::Le, 3, 1, b"a", 1));
    let (_, err) = frames(&mut reader(f).unwrap());
    assert!(matches!(err, Some(CaptureError::Malformed(_))), "{err:?}");

    let mut f = shb(Order::Le);
    f.extend(idb(Order::Le, 1, None));
    let mut block = epb(Order::Le, 0, 1, b"abcd", 4);
    let n = block.len();
    block[n - 4] ^= 4; // trailing length differs
    f.extend(block);
    let (_, err) = frames(&mut reader(f).unwrap());
    assert!(matches!(err, Some(CaptureError::Malformed(_))), "{err:?}");

    let mut f = shb(Order::Le);
    f.extend(idb(Order::Le, 1, None));
    f.extend(Body::new(Order::Le).u32(6).u32(0x7fff_fff0).bytes); // 2 GiB block
    let (_, err) = frames(&mut reader(f).unwrap());
    assert!(matches!(err, Some(CaptureError::Malformed(_))), "{err:?}");
}

#[test]
fn packet_before_interface() {
    let mut f = shb(Order::Le);
    f.extend(epb(Order::Le, 0, 1, b"a", 1));
    assert!(matches!(reader(f), Err(CaptureError::Malformed(_))));
}

#[test]
fn truncated_pcapng() {
    let mut f = shb(Order::Le);
    f.extend(idb(Order::Le, 1, None));
    f.extend(epb(Order::Le, 0, 1, b"complete", 8));
    let whole = f.len();
    f.extend(epb(Order::Le, 0, 2, b"cut short", 9));
    for cut in [whole + 4, whole + 20] {
        let (got, err) = frames(&mut reader(f[..cut].to_vec()).unwrap());
        assert_eq!(got.len(), 1);
        assert!(
            matches!(err, Some(CaptureError::Truncated { .. })),
            "{err:?}"
        );
    }
    let e = reader(shb(Order::Le)[..20].to_vec()).unwrap_err();
    assert!(matches!(e, CaptureError::Truncated { .. }), "{e:?}");
}

#[test]
fn empty_section_has_no_link_type() {
    let r = reader(shb(Order::Le)).unwrap();
    assert_eq!(r.link_type(), LinkType::Other(u32::MAX));
}
