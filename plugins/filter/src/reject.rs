//! `reject`: the packet is dropped and its sender told, as nft's `reject` does: an ICMP
//! or ICMPv6 destination unreachable (nft's `icmpx` codes, each family's number), or a
//! TCP reset. The answer is built from the packet's own datagram, from the address the
//! packet was sent to, and handed to the engine as the packet's reply: it enters at
//! LOCAL_OUT, and a bridge sends it back out of the port the packet came in on.

use brickwall_hooks::PacketView;
use brickwall_wire::{icmp4_error, icmp6_error, tcp_reset};
use serde::Deserialize;

/// ICMP destination unreachable (IPv4 type 3).
const ICMP_UNREACH: u8 = 3;
/// ICMPv6 destination unreachable (type 1).
const ICMPV6_UNREACH: u8 = 1;

/// What `reject` answers with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RejectWith {
    /// Port unreachable (the default).
    #[default]
    PortUnreachable,
    /// Host (IPv6: address) unreachable.
    HostUnreachable,
    /// Network unreachable (IPv6: no route).
    NoRoute,
    /// Administratively prohibited.
    AdminProhibited,
    /// A TCP reset (TCP packets only).
    TcpReset,
}

impl RejectWith {
    /// The ICMP and ICMPv6 codes of an unreachable answer; `None` for a reset.
    fn codes(self) -> Option<(u8, u8)> {
        Some(match self {
            RejectWith::PortUnreachable => (3, 4),
            RejectWith::HostUnreachable => (1, 3),
            RejectWith::NoRoute => (0, 0),
            RejectWith::AdminProhibited => (13, 1),
            RejectWith::TcpReset => return None,
        })
    }

    /// nft's words: `reject`, `reject with icmpx host-unreachable`, `reject with tcp
    /// reset`.
    pub fn text(self) -> String {
        match self {
            RejectWith::PortUnreachable => "reject".into(),
            RejectWith::TcpReset => "reject with tcp reset".into(),
            other => format!(
                "reject with icmpx {}",
                match other {
                    RejectWith::HostUnreachable => "host-unreachable",
                    RejectWith::NoRoute => "no-route",
                    _ => "admin-prohibited",
                }
            ),
        }
    }
}

/// The answer to the packet's datagram, if one may be sent (none to an ICMP error, a
/// reset, a broadcast, a later fragment; see `brickwall_wire`).
pub fn answer(with: RejectWith, datagram: &[u8]) -> Option<Vec<u8>> {
    let Some((v4, v6)) = with.codes() else {
        return tcp_reset(datagram);
    };
    match datagram.first()? >> 4 {
        4 => {
            let to: [u8; 4] = datagram.get(16..20)?.try_into().ok()?;
            icmp4_error(to, datagram, ICMP_UNREACH, v4, 0)
        }
        6 => {
            let to: [u8; 16] = datagram.get(24..40)?.try_into().ok()?;
            icmp6_error(&to, datagram, ICMPV6_UNREACH, v6, 0)
        }
        _ => None,
    }
}

/// Sends the packet's answer back toward its sender; whether one went out.
pub fn send(with: RejectWith, pkt: &mut PacketView) -> bool {
    answer(with, pkt.l3()).is_some_and(|d| pkt.reply(&d))
}
