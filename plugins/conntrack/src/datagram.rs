//! Datagrams built by hand, and the packet views the engine would hand over for them:
//! what this crate's tests and a plugin author's own feed the tracker. IPv4 headers
//! carry no options, IPv6 headers no extension headers; TCP, UDP, ICMP and ICMPv6
//! checksums are filled in (conntrack verifies them at PREROUTING), the IPv4 header's
//! left zero (the engine's parser and conntrack do not read it).

use crate::tuple::{proto, FAMILY_V4, FAMILY_V6};
use brickwall_hooks::PacketView;

/// An IPv4 datagram: a 20-byte header (TTL 64), then `l4`.
pub fn ipv4(src: [u8; 4], dst: [u8; 4], proto: u8, l4: &[u8]) -> Vec<u8> {
    let total = (20 + l4.len()) as u16;
    let mut v = vec![0x45, 0];
    v.extend_from_slice(&total.to_be_bytes());
    v.extend_from_slice(&[0, 0, 0, 0, 64, proto, 0, 0]);
    v.extend_from_slice(&src);
    v.extend_from_slice(&dst);
    v.extend_from_slice(l4);
    brickwall_wire::checksum::fill_transport(&mut v);
    v
}

/// An IPv6 datagram: a 40-byte header (hop limit 64), then `l4`.
pub fn ipv6(src: [u8; 16], dst: [u8; 16], proto: u8, l4: &[u8]) -> Vec<u8> {
    let mut v = vec![0x60, 0, 0, 0];
    v.extend_from_slice(&(l4.len() as u16).to_be_bytes());
    v.extend_from_slice(&[proto, 64]);
    v.extend_from_slice(&src);
    v.extend_from_slice(&dst);
    v.extend_from_slice(l4);
    brickwall_wire::checksum::fill_transport(&mut v);
    v
}

/// A UDP header and four bytes of payload (`data`).
pub fn udp(sport: u16, dport: u16) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&sport.to_be_bytes());
    v.extend_from_slice(&dport.to_be_bytes());
    v.extend_from_slice(&[0, 12, 0, 0]);
    v.extend_from_slice(b"data");
    v
}

/// A TCP header without options or payload: `flags` as the flag byte (FIN 1, SYN 2,
/// RST 4, PSH 8, ACK 16), window 65535.
pub fn tcp(sport: u16, dport: u16, seq: u32, ack: u32, flags: u8) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&sport.to_be_bytes());
    v.extend_from_slice(&dport.to_be_bytes());
    v.extend_from_slice(&seq.to_be_bytes());
    v.extend_from_slice(&ack.to_be_bytes());
    v.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    v
}

/// An ICMP or ICMPv6 message: type, code, a zero checksum, then `rest`.
pub fn icmp(ty: u8, code: u8, rest: &[u8]) -> Vec<u8> {
    let mut v = vec![ty, code, 0, 0];
    v.extend_from_slice(rest);
    v
}

/// A [`PacketView`] over a datagram it borrows: the view cannot outlive the bytes.
/// It dereferences to the view, so it goes wherever a `&mut PacketView` does.
///
/// ```compile_fail,E0597
/// let v = {
///     let mut d = vec![0x45u8; 40];
///     brickwall_conntrack::datagram::view(&mut d, 0)
/// };
/// let _ = v.frame();
/// ```
pub struct DatagramView<'a> {
    view: PacketView,
    _frame: std::marker::PhantomData<&'a mut [u8]>,
}

impl std::ops::Deref for DatagramView<'_> {
    type Target = PacketView;
    fn deref(&self) -> &PacketView {
        &self.view
    }
}

impl std::ops::DerefMut for DatagramView<'_> {
    fn deref_mut(&mut self) -> &mut PacketView {
        &mut self.view
    }
}

/// A view over datagram `d` (IPv4 or IPv6, by its version), received at `ts` ns: its
/// layers' offsets as the engine's parser sets them.
pub fn view(d: &mut [u8], ts: u64) -> DatagramView<'_> {
    let v6 = d.first().is_some_and(|b| b >> 4 == 6);
    let (l4_off, l4proto, family) = if v6 {
        (40, d.get(6).copied().unwrap_or(0), FAMILY_V6)
    } else {
        (20, d.get(9).copied().unwrap_or(0), FAMILY_V4)
    };
    let l4_len = d.len().saturating_sub(l4_off);
    let header = match l4proto {
        proto::TCP => 20,
        proto::UDP => 8,
        _ => 8.min(l4_len),
    };
    let mut view = PacketView::default();
    view.l3_len = d.len() as u32;
    view.l3_off = 0;
    view.l4_off = l4_off as u16;
    view.payload_off = (l4_off + header) as u16;
    view.family = family;
    view.l4proto = l4proto;
    view.ts_ns = ts;
    // SAFETY: the returned value borrows `d` mutably for as long as it lives, so the
    // bytes stay valid and reached only through the view.
    unsafe { view.set_frame(d.as_mut_ptr(), d.len() as u32) };
    DatagramView {
        view,
        _frame: std::marker::PhantomData,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::packet_tuple;

    #[test]
    fn views_read_back_the_tuples_built() {
        let mut d = ipv4([10, 0, 0, 1], [10, 0, 0, 2], 17, &udp(1000, 53));
        assert_eq!(d.len(), 32);
        let v = view(&mut d, 7);
        let t = packet_tuple(&v, 0).expect("udp tuple");
        assert_eq!((t.src_id, t.dst_id, t.proto, t.family), (1000, 53, 17, 2));
        assert_eq!((v.payload_off, v.ts_ns), (28, 7));
        let mut a = [0u8; 16];
        a[15] = 1;
        let mut d = ipv6(a, a, 6, &tcp(1, 2, 3, 0, 0x02));
        let v = view(&mut d, 0);
        let t = packet_tuple(&v, 0).expect("tcp tuple");
        assert_eq!((t.src_id, t.dst_id, t.family), (1, 2, 10));
        assert_eq!(v.payload_off, 60);
    }
}
