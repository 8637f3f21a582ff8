//! One tracked connection: its two tuples, status bits, protocol state (TCP's window
//! data included), timeout and mark, in a record of 120 bytes (see [`Conn`]).

use crate::proto::ProtoState;
use crate::tuple::Tuple;

/// Status bits, numbered as Linux's `IPS_*`.
pub mod status {
    /// Created from an expectation (RELATED).
    pub const EXPECTED: u16 = 1 << 0;
    /// Packets were seen in the reply direction.
    pub const SEEN_REPLY: u16 = 1 << 1;
    /// The connection looks like a real one and is not evicted early.
    pub const ASSURED: u16 = 1 << 2;
    /// In the table.
    pub const CONFIRMED: u16 = 1 << 3;
    /// Being removed.
    pub const DYING: u16 = 1 << 9;
    /// The timeout is not refreshed by packets.
    pub const FIXED_TIMEOUT: u16 = 1 << 10;
    /// A helper is attached.
    pub const HELPER: u16 = 1 << 13;

    /// The names `conntrack -o extended`/`--status` use, by bit.
    pub const NAMES: [(u16, &str); 7] = [
        (EXPECTED, "EXPECTED"),
        (SEEN_REPLY, "SEEN_REPLY"),
        (ASSURED, "ASSURED"),
        (CONFIRMED, "CONFIRMED"),
        (DYING, "DYING"),
        (FIXED_TIMEOUT, "FIXED_TIMEOUT"),
        (HELPER, "HELPER"),
    ];
}

/// Packets and bytes of one direction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DirCounters {
    /// Packets.
    pub packets: u64,
    /// Bytes (IP datagram lengths).
    pub bytes: u64,
}

/// Where a slab slot stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    /// Unused.
    Free,
    /// Attached to a packet, not yet in the hash table.
    Unconfirmed,
    /// In the hash table.
    Confirmed,
}

/// A connection: 120 bytes, 128 with its chain links in the table (checked by a
/// test), whatever its protocol: TCP's window data is part of the protocol state.
/// What few connections need (master link, labels, helper) lives out of line in
/// [`ConnExt`]; per-direction counters and the start time are the table's optional
/// extensions, as Linux's `acct` and `tstamp` ones (see [`crate::table::Extensions`]).
/// The fields a lookup reads (tuple, expiry, id, status, slot) come first, in the
/// record's first 64 bytes.
#[derive(Clone, Debug)]
#[repr(C)]
pub struct Conn {
    /// The original tuple (the reply tuple is its inversion: see [`Conn::tuple`]).
    pub orig: Tuple,
    /// When it expires (packet time, ns).
    pub expires_ns: u64,
    /// Connection id, for reports and the control socket: unique among the
    /// connections created (a wrapping sequence that skips 0). It is also the slot's
    /// generation: a handle naming the slot and an earlier id is stale.
    pub id: u32,
    /// `status::*` bits.
    pub status: u16,
    /// Slot state.
    pub slot: Slot,
    /// `ct mark`.
    pub mark: u32,
    /// Protocol state.
    pub proto: ProtoState,
    /// Rarely used extras (master, labels, helper), allocated only when set.
    pub ext: Option<Box<ConnExt>>,
}

/// Extras most connections never need.
#[derive(Clone, Debug, Default)]
pub struct ConnExt {
    /// 128-bit connection labels (`ct label`).
    pub labels: u128,
    /// Name of the helper assigned to the connection.
    pub helper: Option<String>,
    /// Index of that helper in the plugin's helper set.
    pub helper_id: u16,
    /// The helper's per-connection state (`None` until the helper learnt of the
    /// connection).
    pub helper_state: Option<Vec<u8>>,
    /// This master's confirmed RELATED children still in the table, by slot and
    /// generation: each counts in `use=`, as in Linux, and a teardown
    /// ([`crate::core::Tracker::end_expected`]) ends them without walking the table.
    pub children: Vec<(u32, u32)>,
    /// For a RELATED connection, its master's slot and that slot's generation when
    /// this connection was created (a master that died before its child leaves a
    /// stale link, which the generation tells apart).
    pub master: Option<(u32, u32)>,
}

impl Conn {
    /// The tuple of direction `dir` (0 original, 1 reply). Without NAT the reply tuple
    /// is the original one inverted, so only the original is stored.
    #[inline]
    pub fn tuple(&self, dir: u8) -> Tuple {
        if dir == 0 {
            self.orig
        } else {
            self.reply()
        }
    }

    /// The reply tuple.
    #[inline]
    pub fn reply(&self) -> Tuple {
        // Tracked connections only have invertible tuples (ICMP queries, not errors);
        // swap addresses and ids should that ever not hold.
        self.orig.invert().unwrap_or(Tuple {
            src: self.orig.dst,
            dst: self.orig.src,
            src_id: self.orig.dst_id,
            dst_id: self.orig.src_id,
            ..self.orig
        })
    }

    /// Whether a status bit is set.
    #[inline]
    pub fn has(&self, bit: u16) -> bool {
        self.status & bit != 0
    }

    /// Seconds left before expiry at `now_ns` (0 when expired).
    pub fn secs_left(&self, now_ns: u64) -> u64 {
        self.expires_ns.saturating_sub(now_ns) / 1_000_000_000
    }

    /// References as `conntrack -L` counts them in `use=`: the table's, plus one per
    /// live RELATED child of this master (Linux's expectations hold none).
    pub fn uses(&self) -> u32 {
        1 + self.ext.as_ref().map_or(0, |e| e.children.len() as u32)
    }

    /// The master's slot and generation, for a RELATED connection.
    pub fn master_ref(&self) -> Option<(u32, u32)> {
        self.ext.as_ref().and_then(|e| e.master)
    }

    /// The index of the assigned helper, if any.
    pub fn helper_id(&self) -> Option<u16> {
        self.ext
            .as_ref()
            .and_then(|e| e.helper.as_ref().map(|_| e.helper_id))
    }

    /// The helper's name, if one is assigned.
    pub fn helper(&self) -> Option<&str> {
        self.ext.as_ref().and_then(|e| e.helper.as_deref())
    }

    /// The connection's labels.
    pub fn labels(&self) -> u128 {
        self.ext.as_ref().map_or(0, |e| e.labels)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_and_links_fit_in_128_bytes() {
        assert_eq!(std::mem::size_of::<ProtoState>(), 52);
        assert_eq!(std::mem::size_of::<Conn>() + crate::table::LINK_BYTES, 128);
    }
}
