//! The host's values (`conn.rs`) to and from each world's generated WIT types, written
//! once by a macro for every version: the worlds share every type but `expectation`
//! (0.3.0 added `nat`), `rewrite` (applied from 0.3.0 on, reserved in 0.2.0) and
//! `packet-result` (0.4.0 added `flush-expected` and `timeout-s`).

use crate::bindings::{v02, v03, v04};
use crate::conn::{Edit, ExpectNat, ExpectRequest, HConnInfo, HCtState, HTuple};
use crate::world::PacketAnswer;

/// The conversions of world `$w`. `nat` maps an `&$w::Expectation` to its
/// `Option<ExpectNat>`, `rewrites` a `Vec<$w::Rewrite>` to the edits the host applies,
/// `extra` a `&$w::PacketResult` to the classes to flush and the connection's timeout.
macro_rules! conversions {
    ($w:ident, nat: $nat:expr, rewrites: $rewrites:expr, extra: $extra:expr $(,)?) => {
        impl $w::IpAddr {
            /// An address from a tuple's 16 bytes (IPv4 in the first four).
            fn from_host(a: &[u8; 16], v6: bool) -> Self {
                if v6 {
                    let hi = u64::from_be_bytes(a[..8].try_into().unwrap_or_default());
                    let lo = u64::from_be_bytes(a[8..].try_into().unwrap_or_default());
                    $w::IpAddr::V6((hi, lo))
                } else {
                    $w::IpAddr::V4(u32::from_be_bytes([a[0], a[1], a[2], a[3]]))
                }
            }

            /// The address as a tuple's 16 bytes, and whether it is IPv6.
            fn to_host(self) -> ([u8; 16], bool) {
                let mut b = [0u8; 16];
                match self {
                    $w::IpAddr::V4(v) => {
                        b[..4].copy_from_slice(&v.to_be_bytes());
                        (b, false)
                    }
                    $w::IpAddr::V6((hi, lo)) => {
                        b[..8].copy_from_slice(&hi.to_be_bytes());
                        b[8..].copy_from_slice(&lo.to_be_bytes());
                        (b, true)
                    }
                }
            }
        }

        impl From<&HTuple> for $w::ConnTuple {
            fn from(t: &HTuple) -> Self {
                $w::ConnTuple {
                    src: $w::IpAddr::from_host(&t.src, t.v6),
                    dst: $w::IpAddr::from_host(&t.dst, t.v6),
                    protocol: t.proto,
                    src_port: t.src_port,
                    dst_port: t.dst_port,
                }
            }
        }

        impl From<&$w::ConnTuple> for HTuple {
            fn from(t: &$w::ConnTuple) -> Self {
                let (src, v6) = t.src.to_host();
                let (dst, _) = t.dst.to_host();
                HTuple {
                    src,
                    dst,
                    src_port: t.src_port,
                    dst_port: t.dst_port,
                    proto: t.protocol,
                    v6,
                }
            }
        }

        impl From<&HConnInfo> for $w::ConnInfo {
            fn from(i: &HConnInfo) -> Self {
                $w::ConnInfo {
                    original: (&i.original).into(),
                    reply: (&i.reply).into(),
                    zone: i.zone,
                    mark: i.mark,
                }
            }
        }

        impl From<HCtState> for $w::CtState {
            fn from(ct: HCtState) -> Self {
                match ct {
                    HCtState::New => $w::CtState::New,
                    HCtState::Established => $w::CtState::Established,
                    HCtState::Related => $w::CtState::Related,
                }
            }
        }

        impl $w::Direction {
            /// The direction a packet travels in (`reply`: the reply direction).
            pub(crate) fn of(reply: bool) -> Self {
                if reply {
                    $w::Direction::Reply
                } else {
                    $w::Direction::Original
                }
            }
        }

        impl From<&$w::Expectation> for ExpectRequest {
            fn from(e: &$w::Expectation) -> Self {
                ExpectRequest {
                    tuple: (&e.tuple).into(),
                    any_src_addr: e.flags.contains($w::ExpectFlags::ANY_SRC_ADDR),
                    any_src_port: e.flags.contains($w::ExpectFlags::ANY_SRC_PORT),
                    timeout_s: e.timeout_s,
                    class: e.class,
                    permanent: e.flags.contains($w::ExpectFlags::PERMANENT),
                    nat: ($nat)(e),
                }
            }
        }

        impl From<$w::PacketResult> for PacketAnswer {
            fn from(r: $w::PacketResult) -> Self {
                let (flush_classes, timeout_s) = ($extra)(&r);
                PacketAnswer {
                    drop: matches!(r.verdict, Some($w::Verdict::Drop)),
                    expects: r.expectations.iter().map(ExpectRequest::from).collect(),
                    state: r.state,
                    rewrites: ($rewrites)(r.rewrites),
                    end_expected: r.end_expected,
                    flush_classes,
                    timeout_s,
                }
            }
        }
    };
}

conversions!(
    v04,
    nat: |e: &v04::Expectation| e.nat.as_ref().map(|n| ExpectNat {
        reply: n.dir == v04::Direction::Reply,
        to: n.to.to_host().0,
        to_port: n.to_port,
    }),
    rewrites: |r: Vec<v04::Rewrite>| r
        .into_iter()
        .map(|r| Edit {
            offset: r.offset,
            length: r.length,
            data: r.data,
        })
        .collect(),
    extra: |r: &v04::PacketResult| (r.flush_expected.clone(), r.timeout_s),
);

// 0.3.0 cannot flush expectations or set the connection's timeout.
conversions!(
    v03,
    nat: |e: &v03::Expectation| e.nat.as_ref().map(|n| ExpectNat {
        reply: n.dir == v03::Direction::Reply,
        to: n.to.to_host().0,
        to_port: n.to_port,
    }),
    rewrites: |r: Vec<v03::Rewrite>| r
        .into_iter()
        .map(|r| Edit {
            offset: r.offset,
            length: r.length,
            data: r.data,
        })
        .collect(),
    extra: |_: &v03::PacketResult| (Vec::new(), None),
);

// 0.2.0 has no NAT for expectations, and documented its rewrites as "reserved, not
// applied": a 0.2.0 helper's rewrites are dropped here, never applied.
conversions!(
    v02,
    nat: |_: &v02::Expectation| None,
    rewrites: |_: Vec<v02::Rewrite>| Vec::new(),
    extra: |_: &v02::PacketResult| (Vec::new(), None),
);
