//! The network-namespace harness of brickwall's tests and benches that need root: a
//! client, a firewall and a server in real network namespaces, joined by two veth
//! pairs ([`Topology`]); commands run inside them to their end, long-running programs
//! (servers, scripts, the firewall under test) started and stopped there; the peers the
//! live tests talk to (vsftpd, tftpd-hpa, ngircd); and the kernel's own bridge as the
//! firewall to compare with, and its conntrack as a per-packet oracle ([`KernelOracle`]).
//! [`Topology::routed`] puts the hosts on two subnets with the
//! firewall as their router instead, the kernel's forwarding beside it. Everything a
//! topology made is removed when it drops, also when a test fails.
//!
//! Nothing here knows the engine: what runs in the firewall namespace is the caller's.
//! A failure panics with what the command or program said: a broken set-up fails the
//! test, it is no reason to skip.

mod bridge;
mod command;
mod link;
mod namespace;
mod nflog;
mod oracle;
mod peers;
mod preflight;
mod process;
mod routed;
mod topology;
mod tun;

pub use oracle::{helper_rules, Delivery, Entry, KernelHelper, KernelOracle};
pub use preflight::{is_root, on_path, require_root, require_tools};
pub use routed::{
    INSIDE_CLIENT4, INSIDE_CLIENT6, OUTSIDE_SERVER4, OUTSIDE_SERVER6, ROUTER_INSIDE4,
    ROUTER_INSIDE6, ROUTER_OUTSIDE4, ROUTER_OUTSIDE6,
};
pub use topology::{Options, Topology, CLIENT4, CLIENT6, SERVER4, SERVER6};
