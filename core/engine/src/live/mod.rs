//! Live mode: `brickwall run` bridges two or more interfaces through the engine, or
//! routes between them (router mode).
//!
//! - [`iface`]: index, MTU and state of an interface; turning its offloads off.
//! - [`datapath`]: what the bridge needs of a datapath (batches in, batches out).
//! - [`pnet`]: the simple datapath, an AF_PACKET socket per worker through pnet.
//! - [`ring`]: the fast datapaths, TPACKET_V3 or V2 rings and `sendmmsg`.
//! - [`steer`]: which of a `tpacket-v3` worker's two rings the kernel fills.
//! - [`csum`]: completing checksums left to hardware.
//! - [`tap`]: the host's own side, a TAP device carrying the local addresses.
//! - [`bridge`]: the workers and what a run did.
//! - [`router`]: router mode's link layer (ARP, neighbour discovery, next hops).
//! - [`neigh`]: router mode's neighbour table.
//! - [`ingress`]: router mode's drop of every frame on the kernel's own path.
//! - [`caps`]: dropping every capability but CAP_NET_RAW and CAP_NET_ADMIN.

pub mod bridge;
pub mod caps;
pub mod csum;
pub mod datapath;
pub mod iface;
pub mod ingress;
pub mod neigh;
pub mod pnet;
pub mod ring;
pub mod router;
pub mod steer;
pub mod tap;
pub mod tpacket;

use crate::config::{Datapath, LiveConfig, OffloadPolicy};
use datapath::{FrameRx, FrameTx};
use iface::Interface;
use std::time::Duration;

/// One bridged interface (or the host's TAP device), opened: its sending side and one
/// receiving side per worker.
pub struct Port {
    /// The interface.
    pub iface: Interface,
    /// Whether this is the host's TAP device: what it sends starts at OUTPUT, what is
    /// delivered locally goes to it.
    pub local: bool,
    /// Where frames leave by it.
    pub tx: Box<dyn FrameTx>,
    /// Where its workers read.
    pub rx: Vec<Box<dyn FrameRx>>,
}

impl Port {
    /// A bridge port from a datapath's sending side and receiving sides.
    fn bridged<T: FrameTx + 'static, R: FrameRx + 'static>(
        iface: Interface,
        tx: T,
        rxs: Vec<R>,
    ) -> Port {
        Port {
            iface,
            local: false,
            tx: Box::new(tx),
            rx: rxs
                .into_iter()
                .map(|r| Box::new(r) as Box<dyn FrameRx>)
                .collect(),
        }
    }
}

/// The opened ports, and in router mode what keeps the kernel's stack off them (for as
/// long as it lives).
pub struct Opened {
    /// The ports, the host's TAP last.
    pub ports: Vec<Port>,
    /// Router mode's ingress drop.
    pub ingress: Option<ingress::IngressDrop>,
    /// The offloads turned off, turned on again when these are dropped.
    pub offloads: Vec<iface::OffloadsOff>,
}

/// Opens every configured interface: looks it up, applies the offload policy (each
/// change is reported through `notice`) and opens its sockets on the configured
/// datapath; in router mode, first keeps the kernel's stack off them. Errors name the
/// interface.
pub fn open_ports(cfg: &LiveConfig, notice: &mut dyn FnMut(String)) -> Result<Opened, String> {
    let poll = Duration::from_millis(cfg.poll_ms.clamp(1, 1000));
    let mut ports = Vec::new();
    let mut offloads = Vec::new();
    let ingress = match &cfg.router {
        Some(_) => {
            let drop = ingress::drop_ingress(&cfg.interfaces).map_err(|e| {
                format!(
                    "router mode keeps the kernel off {} with an nf_tables ingress chain: {e}",
                    cfg.interfaces.join(", ")
                )
            })?;
            notice(format!(
                "{}: the kernel's own stack sees none of their frames (table netdev {} \
                 while the engine runs)",
                cfg.interfaces.join(", "),
                ingress::TABLE
            ));
            Some(drop)
        }
        None => None,
    };
    for name in &cfg.interfaces {
        let iface = Interface::by_name(name).map_err(|e| e.to_string())?;
        if !iface.up {
            return Err(format!("interface {name} is down (ip link set {name} up)"));
        }
        if cfg.offloads == OffloadPolicy::Disable {
            let off = iface::disable_offloads(name).map_err(|e| e.to_string())?;
            if !off.names().is_empty() {
                notice(format!(
                    "{name}: turned off {} until the engine stops (it passes wire-sized \
                     frames)",
                    off.names().join(", ")
                ));
            }
            offloads.push(off);
        }
        // A fanout group id per interface, unlikely to meet another process's.
        let group = (std::process::id() as u16)
            .wrapping_mul(31)
            .wrapping_add(iface.index as u16);
        let port = match cfg.datapath {
            Datapath::Pnet => {
                let (tx, rxs) =
                    pnet::open(&iface, cfg.workers, poll, group).map_err(|e| e.to_string())?;
                Port::bridged(iface, tx, rxs)
            }
            Datapath::TpacketV3 | Datapath::TpacketV2 => {
                let shape = ring::RingShape {
                    version: if cfg.datapath == Datapath::TpacketV3 {
                        ring::Version::V3
                    } else {
                        ring::Version::V2
                    },
                    block_size: cfg.ring.block_kib * 1024,
                    blocks: cfg.ring.blocks,
                    block_timeout_ms: cfg.ring.block_timeout_ms,
                };
                let (tx, rxs) = ring::open(&iface, cfg.workers, shape, poll, group)
                    .map_err(|e| e.to_string())?;
                Port::bridged(iface, tx, rxs)
            }
        };
        ports.push(port);
    }
    if let Some(t) = &cfg.tap {
        // In router mode the host's side carries the router's addresses, and routes to
        // its static destinations lead to the engine too.
        let addrs: Vec<(std::net::IpAddr, u8)> = match &cfg.router {
            Some(r) => cfg
                .interfaces
                .iter()
                .filter_map(|n| r.addresses.get(n))
                .flatten()
                .map(|a| (a.0, a.1))
                .collect(),
            None => t.addresses.iter().map(|a| (a.0, a.1)).collect(),
        };
        let tap = tap::Tap::create(&t.name, &addrs).map_err(|e| e.to_string())?;
        notice(format!(
            "{}: the host's side, with {}",
            t.name,
            addrs
                .iter()
                .map(|a| format!("{}/{}", a.0, a.1))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        if let Some(r) = &cfg.router {
            let routes = r
                .static_routes(&cfg.interfaces)
                .map_err(|(at, m)| format!("{at}: {m}"))?;
            for route in routes {
                let to = route.to.network();
                tap::add_route(&t.name, tap.iface.index, to, route.to.prefix())
                    .map_err(|e| e.to_string())?;
            }
        }
        let iface = tap.iface.clone();
        let (tx, rx) = tap.split(poll);
        ports.push(Port {
            iface,
            local: true,
            tx: Box::new(tx),
            rx: vec![Box::new(rx)],
        });
    }
    Ok(Opened {
        ports,
        ingress,
        offloads,
    })
}
