//! Live mode: `brickwall run` bridges two or more interfaces through the engine.
//!
//! - [`iface`]: index, MTU and state of an interface; turning its offloads off.
//! - [`port`]: an AF_PACKET socket per interface (the simple datapath, through pnet).
//! - [`bridge`]: the workers, one per port, and what a run did.

pub mod bridge;
pub mod iface;
pub mod port;

use crate::config::{LiveConfig, OffloadPolicy};
use iface::Interface;
use port::{PortRx, PortTx};
use std::time::Duration;

/// Opens every configured interface: looks it up, applies the offload policy (each
/// change is reported through `notice`) and opens its socket. Errors name the interface.
pub fn open_ports(
    cfg: &LiveConfig,
    notice: &mut dyn FnMut(String),
) -> Result<Vec<(PortTx, PortRx)>, String> {
    let poll = Duration::from_millis(cfg.poll_ms.clamp(1, 1000));
    let mut ports = Vec::new();
    for name in &cfg.interfaces {
        let iface = Interface::by_name(name).map_err(|e| e.to_string())?;
        if !iface.up {
            return Err(format!("interface {name} is down (ip link set {name} up)"));
        }
        if cfg.offloads == OffloadPolicy::Disable {
            let off = iface::disable_offloads(name).map_err(|e| e.to_string())?;
            if !off.is_empty() {
                notice(format!(
                    "{name}: turned off {} (a bridge passes wire-sized frames)",
                    off.join(", ")
                ));
            }
        }
        ports.push(port::open(&iface, poll).map_err(|e| e.to_string())?);
    }
    Ok(ports)
}
