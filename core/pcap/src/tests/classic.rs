//! Classic pcap: write and read back, byte orders, truncation, corrupt lengths.

use super::{frames, reader};
use crate::{CaptureError, CaptureFormat, PcapWriter};
use brickwall_wire::LinkType;
use std::io::Write;
use std::sync::{Arc, Mutex};

/// A `Write` whose bytes stay readable after the writer is dropped.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Writes three frames and returns the file.
fn written(link: LinkType, nanos: bool) -> Vec<u8> {
    let sink = Shared::default();
    let mut w = PcapWriter::new(sink.clone(), link, nanos).unwrap();
    w.write(1_700_000_000_123_456_789, b"first", 5).unwrap();
    w.write(1_700_000_001_000_000_001, &[0xaa; 300], 1500)
        .unwrap();
    w.write(0, b"", 0).unwrap();
    w.flush().unwrap();
    let bytes = sink.0.lock().unwrap().clone();
    bytes
}

#[test]
fn roundtrip_micros() {
    let mut r = reader(written(LinkType::Ethernet, false)).unwrap();
    assert_eq!(r.format(), CaptureFormat::Pcap { nanos: false });
    assert_eq!(r.link_type(), LinkType::Ethernet);
    let (got, err) = frames(&mut r);
    assert!(err.is_none(), "{err:?}");
    assert_eq!(got.len(), 3);
    assert_eq!(got[0].0.ts_ns, 1_700_000_000_123_456_000);
    assert_eq!(got[0].1, b"first");
    assert_eq!((got[1].0.caplen, got[1].0.orig_len), (300, 1500));
    assert_eq!(got[1].0.ts_ns, 1_700_000_001_000_000_000);
    assert_eq!((got[2].0.caplen, got[2].1.len()), (0, 0));
}

#[test]
fn roundtrip_nanos() {
    let mut r = reader(written(LinkType::LinuxSll2, true)).unwrap();
    assert_eq!(r.format(), CaptureFormat::Pcap { nanos: true });
    assert_eq!(r.link_type(), LinkType::LinuxSll2);
    let (got, err) = frames(&mut r);
    assert!(err.is_none());
    assert_eq!(got[0].0.ts_ns, 1_700_000_000_123_456_789);
    assert_eq!(got[1].0.ts_ns, 1_700_000_001_000_000_001);
    assert_eq!((got[0].0.link, got[0].0.iface), (LinkType::LinuxSll2, 0));
}

#[test]
fn writer_refuses_unrepresentable_timestamps() {
    let mut w = PcapWriter::new(Shared::default(), LinkType::Raw, false).unwrap();
    let e = w.write(u64::MAX, b"x", 1).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
}

#[test]
fn big_endian_file() {
    let mut f = Vec::new();
    f.extend_from_slice(&0xa1b2_c3d4u32.to_be_bytes());
    f.extend_from_slice(&[0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0]);
    f.extend_from_slice(&65535u32.to_be_bytes());
    f.extend_from_slice(&101u32.to_be_bytes());
    for (sec, usec) in [(10u32, 5u32), (11, 999_999)] {
        for v in [sec, usec, 4, 60] {
            f.extend_from_slice(&v.to_be_bytes());
        }
        f.extend_from_slice(&[0x45, 0, 0, 60]);
    }
    let mut r = reader(f).unwrap();
    assert_eq!(r.link_type(), LinkType::Raw);
    let (got, err) = frames(&mut r);
    assert!(err.is_none());
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].0.ts_ns, 10_000_005_000);
    assert_eq!(got[1].0.ts_ns, 11_999_999_000);
    assert_eq!((got[1].0.caplen, got[1].0.orig_len), (4, 60));

    // Nanosecond magic, big-endian.
    let mut f = 0xa1b2_3c4du32.to_be_bytes().to_vec();
    f.extend_from_slice(&[0; 16]);
    f.extend_from_slice(&1u32.to_be_bytes());
    assert_eq!(
        reader(f).unwrap().format(),
        CaptureFormat::Pcap { nanos: true }
    );
}

#[test]
fn truncated_files() {
    let full = written(LinkType::Ethernet, false);
    // Cut inside the second record's data, then inside its header.
    for (cut, what) in [
        (24 + 16 + 5 + 16 + 100, "packet data"),
        (24 + 16 + 5 + 10, "record header"),
    ] {
        let mut r = reader(full[..cut].to_vec()).unwrap();
        let (got, err) = frames(&mut r);
        assert_eq!(got.len(), 1);
        match err {
            Some(CaptureError::Truncated { what: w, .. }) => assert_eq!(w, what),
            other => panic!("{other:?}"),
        }
    }
    let e = reader(full[..10].to_vec()).unwrap_err();
    assert!(
        matches!(
            e,
            CaptureError::Truncated {
                what: "file header",
                ..
            }
        ),
        "{e:?}"
    );
    let e = reader(Vec::new()).unwrap_err();
    assert!(
        matches!(e, CaptureError::Truncated { have: 0, .. }),
        "{e:?}"
    );
}

#[test]
fn absurd_record_length() {
    let mut f = written(LinkType::Ethernet, false)[..24].to_vec();
    for v in [0u32, 0, 0x4000_0000, 0x4000_0000] {
        f.extend_from_slice(&v.to_le_bytes());
    }
    let (got, err) = frames(&mut reader(f).unwrap());
    assert!(got.is_empty());
    assert!(matches!(err, Some(CaptureError::Malformed(_))), "{err:?}");
}

#[test]
fn bad_magic() {
    let e = reader(b"GIF89a-not-a-capture-at-all".to_vec()).unwrap_err();
    assert!(matches!(e, CaptureError::BadMagic(0x4749_4638)), "{e:?}");
    assert!(e.to_string().contains("0x47494638"), "{e}");
}
