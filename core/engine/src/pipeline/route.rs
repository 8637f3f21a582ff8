//! The routing decision: which path a packet takes after PREROUTING (in router mode,
//! where it goes next is [`super::forward`]'s).

use super::fib::Fib;
use brickwall_hooks::{Family, Hook, PacketView};
use std::net::IpAddr;
use std::sync::Arc;

/// Where a packet goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// To the engine's own addresses: PREROUTING, INPUT.
    LocalIn,
    /// Through the engine: PREROUTING, FORWARD, POSTROUTING.
    Forward,
    /// From the engine's own side: OUTPUT, POSTROUTING.
    LocalOut,
}

impl Route {
    /// The hooks of this path, in order.
    pub fn hooks(self) -> &'static [Hook] {
        match self {
            Route::LocalIn => &[Hook::PreRouting, Hook::LocalIn],
            Route::Forward => &[Hook::PreRouting, Hook::Forward, Hook::PostRouting],
            Route::LocalOut => &[Hook::LocalOut, Hook::PostRouting],
        }
    }
}

/// The engine's local addresses, and the decisions made from them; in router mode also
/// the forwarding table.
#[derive(Clone, Debug, Default)]
pub struct Router {
    v4: Vec<[u8; 4]>,
    v6: Vec<[u8; 16]>,
    fib: Option<Arc<Fib>>,
}

impl Router {
    /// A router for these local addresses.
    pub fn new(local: &[IpAddr]) -> Router {
        let mut r = Router::default();
        for a in local {
            match a {
                IpAddr::V4(a) => r.v4.push(a.octets()),
                IpAddr::V6(a) => r.v6.push(a.octets()),
            }
        }
        r
    }

    /// A router that forwards by `fib`, whose addresses are the local ones.
    pub fn routed(fib: Fib) -> Router {
        let local: Vec<IpAddr> = fib
            .links()
            .iter()
            .flat_map(|l| l.addrs.iter().map(|a| a.addr()))
            .collect();
        Router {
            fib: Some(Arc::new(fib)),
            ..Router::new(&local)
        }
    }

    /// The forwarding table: router mode's, none otherwise.
    #[inline]
    pub fn fib(&self) -> Option<&Fib> {
        self.fib.as_deref()
    }

    /// The forwarding table, shared.
    pub fn fib_arc(&self) -> Option<Arc<Fib>> {
        self.fib.clone()
    }

    /// Whether `addr` (4 or 16 bytes) is one of the local addresses.
    #[inline]
    pub fn is_local(&self, family: Family, addr: &[u8]) -> bool {
        match family {
            Family::Ipv4 => self.v4.iter().any(|a| a[..] == *addr),
            Family::Ipv6 => self.v6.iter().any(|a| a[..] == *addr),
        }
    }

    /// The path of a received packet after PREROUTING: INPUT when its destination is local.
    #[inline]
    pub fn after_prerouting(&self, pkt: &PacketView) -> Route {
        if self.v4.is_empty() && self.v6.is_empty() {
            return Route::Forward;
        }
        match (pkt.family(), pkt.addrs()) {
            (Some(f), Some((_, dst))) if self.is_local(f, dst) => Route::LocalIn,
            _ => Route::Forward,
        }
    }

    /// Whether a captured packet was sent by the local side (its source is a local
    /// address): replays start such packets at OUTPUT.
    #[inline]
    pub fn sent_locally(&self, pkt: &PacketView) -> bool {
        if self.v4.is_empty() && self.v6.is_empty() {
            return false;
        }
        matches!((pkt.family(), pkt.addrs()), (Some(f), Some((src, _))) if self.is_local(f, src))
    }
}
