//! brickwall's NAT plugin: source and destination translation, as Linux's nf_nat, on
//! conntrack's service. On the first packet of a connection the NAT chain of each hook
//! it passes decides a binding, which is stored with the connection as its reply tuple
//! before confirmation (as `nf_nat_setup_info` alters it); every later packet of the
//! connection, in both directions, is rewritten from the connection's tuples and its
//! `SRC_NAT`/`DST_NAT` status, without the rules.
//!
//! It registers four callbacks, all for both families, at Linux's priorities:
//! `nat-prerouting` and `nat-output` at the destination-NAT priority (-100, after
//! conntrack), `nat-postrouting` and `nat-input` at the source-NAT priority (100,
//! before confirmation and the helpers).
//!
//! Its config section:
//!
//! ```yaml
//! config:
//!   chains:
//!     - hook: prerouting
//!       rules:
//!         - match: {proto: tcp, daddr: 192.0.2.1, dport: 8080}
//!           action: {dnat: {to: "10.0.0.5:80"}}
//!     - hook: postrouting
//!       rules:
//!         - match: {saddr: 10.0.0.0/8, oif: 2}
//!           action: {snat: {to: "192.0.2.1:1024-65535", flags: [random]}}
//!         - action: {masquerade: {addresses: [192.0.2.1, "2001:db8::1"]}}
//! ```
//!
//! With `ruleset: FILE` (which `brickwall --ruleset` fills in), the nat chains of an
//! nftables ruleset join these ([`nft`]).
//!
//! The control entry point answers `{"op":"stats"}` with the plugin's counters. A
//! packet it translates carries, in a replay's report, its tuple after the translation
//! (the note [`REPORT_NOTE`]).

#![warn(missing_docs)]

pub mod binding;
pub mod config;
pub mod icmp_error;
pub mod nft;
pub mod range;
pub mod rewrite;
pub mod rules;
pub mod tuple;

use brickwall_control_protocol::decode;
use brickwall_control_protocol::nat::{self, NatStatsResponse};
use brickwall_hooks::services::conntrack::{self as ct, Conntrack, CtConn};
use brickwall_hooks::services::ServiceImport;
use brickwall_hooks::{
    flags, priority, CtInfo, FailurePolicy, Hook, HookSpec, Host, PacketView, Plugin, PluginInfo,
    Verdict,
};
use brickwall_wire::ip_proto;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::binding::{Choice, Chooser};
use crate::range::Range;
use crate::rewrite::Target;
use crate::rules::{Action, Kind, NatAction, Slots};
use crate::tuple::{Flow, KeyKind, Manip};

/// The plugin's registrations; a registration's `op` is its index here, which is also
/// the slot of its chain (see [`rules::slot`]).
pub const HOOKS: [HookSpec; rules::SLOTS] = [
    HookSpec::inet(Hook::PreRouting, priority::NAT_DST, 0, "nat-prerouting"),
    HookSpec::inet(Hook::LocalOut, priority::NAT_DST, 1, "nat-output"),
    HookSpec::inet(Hook::PostRouting, priority::NAT_SRC, 2, "nat-postrouting"),
    HookSpec::inet(Hook::LocalIn, priority::NAT_SRC, 3, "nat-input"),
];

/// Drop reason: no free tuple in the range (or, untranslated, no free source port).
pub const REASON_EXHAUSTED: u32 = 0;
/// Drop reason: a `masquerade` or `redirect` has no address for the packet's family.
pub const REASON_NO_ADDRESS: u32 = 1;
/// Drop reason: conntrack refused the binding.
pub const REASON_BIND_FAILED: u32 = 2;

/// The key of the report note a translated packet carries: its tuple after the
/// translation, in conntrack's words (`src=… dst=… sport=… dport=…`).
pub const REPORT_NOTE: &str = "nat";

/// A packet's tuple in conntrack's words: addresses, then ports, or ICMP's type, code
/// and id.
fn translated_words(pkt: &PacketView) -> String {
    let ip = |b: &[u8]| match b.len() {
        4 => <[u8; 4]>::try_from(b)
            .map(|a| IpAddr::from(a).to_string())
            .ok(),
        16 => <[u8; 16]>::try_from(b)
            .map(|a| IpAddr::from(a).to_string())
            .ok(),
        _ => None,
    };
    let Some((Some(src), Some(dst))) = pkt.addrs().map(|(s, d)| (ip(s), ip(d))) else {
        return String::new();
    };
    let mut s = format!("src={src} dst={dst}");
    if let Some((sport, dport)) = pkt.ports() {
        s.push_str(&format!(" sport={sport} dport={dport}"));
    } else if let (ip_proto::ICMP | ip_proto::ICMPV6, [t, c, _, _, i0, i1, ..]) =
        (pkt.l4proto, pkt.l4())
    {
        let id = u16::from_be_bytes([*i0, *i1]);
        s.push_str(&format!(" type={t} code={c} id={id}"));
    }
    s
}

/// The drop reasons, by index.
pub const DROP_REASONS: [&str; 3] = ["nat-range-exhausted", "nat-no-address", "nat-bind-failed"];

/// The plugin's counters.
#[derive(Debug, Default)]
pub struct Stats {
    /// Connections given a translation.
    pub bound: AtomicU64,
    /// Null bindings (no rule translated the connection at a hook).
    pub null_bindings: AtomicU64,
    /// Null bindings that moved the source port off a clash.
    pub clash_remaps: AtomicU64,
    /// Connections dropped: no free tuple.
    pub exhausted: AtomicU64,
    /// Connections dropped: no address for the family.
    pub no_address: AtomicU64,
    /// Packets rewritten.
    pub translated: AtomicU64,
    /// ICMP errors whose quoted datagram was rewritten.
    pub icmp_errors: AtomicU64,
}

impl Stats {
    fn bump(c: &AtomicU64) {
        c.fetch_add(1, Ordering::Relaxed);
    }

    /// The counters, as the control entry point answers them.
    pub fn response(&self) -> NatStatsResponse {
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        NatStatsResponse {
            bound: g(&self.bound),
            null_bindings: g(&self.null_bindings),
            clash_remaps: g(&self.clash_remaps),
            exhausted: g(&self.exhausted),
            no_address: g(&self.no_address),
            translated: g(&self.translated),
            icmp_errors: g(&self.icmp_errors),
        }
    }
}

/// The NAT plugin.
pub struct Nat {
    ct: Conntrack,
    chains: Slots,
    chooser: Chooser,
    stats: Stats,
}

impl Nat {
    /// The counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The chains in registration order.
    pub fn chains(&self) -> impl Iterator<Item = &rules::Chain> {
        self.chains.iter().flatten()
    }

    /// Binds connection `conn` at manip `m` for its first packet (Linux's
    /// `nf_nat_inet_fn` for a new connection: the chain's first matching rule, or a
    /// null binding); the connection as bound, if the binding changed it.
    fn bind(
        &self,
        op: u32,
        hook: Hook,
        m: Manip,
        pkt: &PacketView,
        conn: &CtConn,
    ) -> Result<Option<CtConn>, u32> {
        let curr = Flow::inverse_of(&conn.reply);
        let family = curr.family();
        let rule = self
            .chains
            .get(op as usize)
            .and_then(|c| c.as_ref())
            .and_then(|c| c.eval(pkt));
        let (range, null) = match rule.map(|r| r.action) {
            Some(Action::Nat(n)) => match n
                .range(family, hook)
                .or_else(|| interface_range(&n, family, pkt))
            {
                // A rule's ports are for TCP and UDP; ICMP ids keep their own range.
                Some(r) if curr.kind != KeyKind::Ports => (Range { keys: None, ..r }, false),
                Some(r) => (r, false),
                None => {
                    Stats::bump(&self.stats.no_address);
                    return Err(REASON_NO_ADDRESS);
                }
            },
            // (`eval` follows jumps: only translations and accepts decide.)
            Some(Action::Accept | Action::Jump(_) | Action::Goto(_) | Action::Return) | None => {
                (Range::null(&curr, m), true)
            }
        };
        let used = |f: &Flow| self.ct.tuple_taken(&f.to_reply(&conn.reply));
        let new = match self.chooser.choose(&curr, &range, m, &used) {
            Choice::Unique(f) => f,
            // A destination translation keeps its clash: the source translation after
            // it may still resolve it, as Linux's does; a source translation is the
            // last chance before confirmation.
            Choice::Exhausted(f) if m == Manip::Dst => f,
            Choice::Exhausted(_) => {
                Stats::bump(&self.stats.exhausted);
                return Err(REASON_EXHAUSTED);
            }
        };
        if null {
            Stats::bump(&self.stats.null_bindings);
        }
        if new == curr {
            return Ok(None);
        }
        if null {
            Stats::bump(&self.stats.clash_remaps);
        } else {
            Stats::bump(&self.stats.bound);
        }
        self.ct
            .set_nat_reply(pkt.ct, &new.to_reply(&conn.reply))
            .map_err(|_| REASON_BIND_FAILED)?;
        Ok(self.ct.binding_of(pkt))
    }
}

impl Plugin for Nat {
    const INFO: PluginInfo = PluginInfo {
        name: "nat",
        version: env!("CARGO_PKG_VERSION"),
        // A NAT that fails would let untranslated addresses out.
        failure_policy: FailurePolicy::FailClosed,
        hooks: &HOOKS,
        drop_reasons: &DROP_REASONS,
    };

    /// A packet's translation depends on its own connection only, so a burst is decided
    /// packet by packet; it is cut after a packet whose connection is not confirmed yet
    /// (see [`on_burst`](Self::on_burst)).
    const BURSTS: bool = true;

    /// The burst's packets one by one, cut after a packet that opens a connection: its
    /// binding must be confirmed, and so visible to the next binding's clash check,
    /// before another connection is bound.
    fn on_burst(&self, op: u32, pkts: &mut [&mut PacketView], verdicts: &mut [Verdict]) -> usize {
        for (i, (pkt, v)) in pkts.iter_mut().zip(verdicts.iter_mut()).enumerate() {
            let opens = pkt.ct != 0 && pkt.ct_status & ct::status::CONFIRMED == 0;
            *v = self.on_packet(op, pkt);
            if opens {
                return i + 1;
            }
        }
        pkts.len().min(verdicts.len())
    }

    const IMPORTS: &'static [ServiceImport] = &[ct::IMPORT];

    fn init(config: &str, host: Host) -> Result<Self, String> {
        let chains = rules::load(config)?;
        let ct = Conntrack::import(&host)?;
        // New connections' reply tuples change here, after conntrack-in: conntrack
        // must not let their packets run ahead of confirmation in a burst.
        ct.will_bind();
        Ok(Nat {
            ct,
            chains,
            chooser: Chooser::default(),
            stats: Stats::default(),
        })
    }

    fn on_packet(&self, op: u32, pkt: &mut PacketView) -> Verdict {
        let Some(spec) = HOOKS.get(op as usize) else {
            return Verdict::Accept;
        };
        let info = pkt.ctinfo();
        let Some(reply) = info.is_reply() else {
            return Verdict::Accept;
        };
        if pkt.ct == 0 {
            return Verdict::Accept;
        }
        let m = Manip::of_hook(spec.hook);
        // A confirmed connection's binding is fixed: its status on the packet says
        // whether this manip has anything to do, without a lookup (an ICMP error may
        // quote either direction, so it looks whenever the connection is translated).
        let status = pkt.ct_status;
        if status & ct::status::CONFIRMED != 0 {
            let related = matches!(info, CtInfo::Related | CtInfo::RelatedReply);
            let bits = if related {
                ct::status::SRC_NAT | ct::status::DST_NAT
            } else {
                m.status_bit(reply)
            };
            if status & bits == 0 {
                return Verdict::Accept;
            }
        }
        let mut conn = CtConn::default();
        if !self.ct.binding_into(pkt, &mut conn) {
            return Verdict::Accept;
        }
        if matches!(info, CtInfo::Related | CtInfo::RelatedReply) && icmp_error::is_error(pkt) {
            if icmp_error::translate(pkt, &conn, reply, m) {
                Stats::bump(&self.stats.icmp_errors);
            }
            return Verdict::Accept;
        }
        if matches!(info, CtInfo::New | CtInfo::Related)
            && conn.flags & ct::conn_flags::CONFIRMED == 0
            && conn.status & m.done_bit() == 0
        {
            match self.bind(op, spec.hook, m, pkt, &conn) {
                Ok(Some(bound)) => {
                    // Later hooks' `ct status snat`/`dnat` see the binding, as Linux's
                    // rules read it from the connection.
                    pkt.ct_status = bound.status;
                    conn = bound;
                }
                Ok(None) => {}
                Err(reason) => return Verdict::Drop(reason),
            }
        }
        if conn.status & m.status_bit(reply) == 0 {
            return Verdict::Accept;
        }
        // The packet takes the other direction's tuple, inverted, in the part this
        // manip owns.
        let target = Flow::inverse_of(if reply { &conn.orig } else { &conn.reply });
        let (Some(family), has_l4) = (pkt.family(), pkt.has_l4()) else {
            return Verdict::Accept;
        };
        let proto = pkt.l4proto;
        let l3 = pkt.l3_off as usize;
        let l3_end = l3 + pkt.l3().len();
        let l4 = has_l4.then(|| (pkt.l4_off as usize).saturating_sub(l3));
        if let Some(d) = pkt.frame_mut().get_mut(l3..l3_end) {
            let t = Target {
                addr: target.addr(m),
                key: target.key(m),
            };
            if rewrite::manip(d, family, proto, l4, m, &t) {
                Stats::bump(&self.stats.translated);
                if pkt.flags & flags::REPORTING != 0 {
                    pkt.annotate(REPORT_NOTE, &translated_words(pkt));
                }
            }
        }
        Verdict::Accept
    }

    fn control(&self, request: &[u8], response: &mut Vec<u8>) -> Result<(), String> {
        // `stats` is the one operation.
        decode::bare_op(request, &nat::OPS)?;
        let body = serde_json::to_vec(&self.stats.response()).map_err(|e| e.to_string())?;
        response.extend_from_slice(&body);
        Ok(())
    }
}

brickwall_hooks::declare_plugin!(Nat);

/// The range of a `masquerade` or `redirect` without a configured address for the
/// packet's family: the engine's address on the output interface (on the input one
/// for `redirect`), as Linux's `nf_nat_masquerade` and `nf_nat_redirect` take it; none
/// where the engine has none there.
fn interface_range(
    n: &NatAction,
    family: brickwall_hooks::Family,
    pkt: &PacketView,
) -> Option<Range> {
    let (src, dst) = pkt.addrs()?;
    let (ifindex, toward) = match n.kind {
        Kind::Masquerade => (pkt.oif, dst),
        Kind::Redirect => (pkt.iif, src),
        Kind::Snat | Kind::Dnat => return None,
    };
    let (bytes, len) = pkt.interface_address(ifindex, toward)?;
    let addr = match len {
        4 => u128::from(u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])),
        _ => u128::from_be_bytes(bytes),
    };
    Some(n.range_to(family, addr))
}
