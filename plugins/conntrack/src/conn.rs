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
    /// The source is translated: a NAT binding changed the reply tuple's destination.
    pub const SRC_NAT: u16 = 1 << 4;
    /// The destination is translated: a NAT binding changed the reply tuple's source.
    pub const DST_NAT: u16 = 1 << 5;
    /// Either translation: the reply tuple is stored, not the original inverted.
    pub const NAT_MASK: u16 = SRC_NAT | DST_NAT;
    /// TCP sequence numbers are adjusted (a helper changed a payload's length); no
    /// helper here resizes payloads, so it is never set.
    pub const SEQ_ADJUST: u16 = 1 << 6;
    /// The source translation is set up (set with [`SRC_NAT`]).
    pub const SRC_NAT_DONE: u16 = 1 << 7;
    /// The destination translation is set up (set with [`DST_NAT`]).
    pub const DST_NAT_DONE: u16 = 1 << 8;
    /// The translation bits with their `DONE` forms.
    pub const NAT_DONE_MASK: u16 = NAT_MASK | SRC_NAT_DONE | DST_NAT_DONE;
    /// A helper is attached.
    pub const HELPER: u16 = 1 << 13;

    /// The names `conntrack -o extended`/`--status` use (Linux's `IPS_*` without the
    /// prefix), in bit order.
    pub const NAMES: [(u16, &str); 12] = [
        (EXPECTED, "EXPECTED"),
        (SEEN_REPLY, "SEEN_REPLY"),
        (ASSURED, "ASSURED"),
        (CONFIRMED, "CONFIRMED"),
        (SRC_NAT, "SRC_NAT"),
        (DST_NAT, "DST_NAT"),
        (SEQ_ADJUST, "SEQ_ADJUST"),
        (SRC_NAT_DONE, "SRC_NAT_DONE"),
        (DST_NAT_DONE, "DST_NAT_DONE"),
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
    /// Held by a lane changing the record (see [`crate::table::cell`]).
    pub lock: crate::table::cell::RecordLock,
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
    /// ([`crate::tracker::Tracker::end_expected`]) ends them without walking the table.
    pub children: Vec<(u32, u32)>,
    /// For a RELATED connection, its master's slot and that slot's generation when
    /// this connection was created (a master that died before its child leaves a
    /// stale link, which the generation tells apart).
    pub master: Option<(u32, u32)>,
    /// The reply tuple a NAT binding chose (with [`status::NAT_MASK`] bits set).
    pub nat_reply: Option<Tuple>,
    /// TCP sequence adjustment by direction, once a helper changed a payload's length
    /// (with [`status::SEQ_ADJUST`] set).
    pub seqadj: Option<crate::seqadj::SeqAdjPair>,
}

impl Conn {
    /// The tuple of direction `dir` (0 original, 1 reply). Without NAT the reply tuple
    /// is the original one inverted, so only the original is stored; a NAT binding
    /// keeps its reply tuple in the extension.
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
        if let Some(t) = self.nat_reply() {
            return t;
        }
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

    /// The reply tuple of a NAT binding, if one is set.
    #[inline]
    pub fn nat_reply(&self) -> Option<Tuple> {
        if self.status & status::NAT_MASK == 0 {
            return None;
        }
        self.ext.as_ref().and_then(|e| e.nat_reply)
    }

    /// Whether `t` is the reply tuple, compared in place (no inverted copy is built
    /// unless the tuple is ICMP's).
    #[inline]
    pub fn reply_is(&self, t: &Tuple) -> bool {
        match self.nat_reply() {
            Some(r) => r == *t,
            None => self.orig.is_inverse_of(t),
        }
    }

    /// Binds the reply tuple NAT chose (the original inverted clears the binding) and
    /// sets the translation bits as Linux does: SRC_NAT when the reply's destination
    /// differs from the original's source, DST_NAT when the reply's source differs
    /// from the original's destination, each with its `DONE` form.
    pub fn bind_nat_reply(&mut self, reply: Tuple) {
        self.status &= !status::NAT_DONE_MASK;
        let plain = self.orig.is_inverse_of(&reply);
        if !plain {
            // ICMP keeps its id in `src_id` both ways (NAT treats it as the source
            // port) and its type in `dst_id`, which inversion changes anyway.
            let icmp = self.orig.is_icmp();
            let src_id_changed = if icmp {
                reply.src_id != self.orig.src_id
            } else {
                reply.dst_id != self.orig.src_id
            };
            if reply.dst != self.orig.src || src_id_changed {
                self.status |= status::SRC_NAT;
            }
            if reply.src != self.orig.dst || (!icmp && reply.src_id != self.orig.dst_id) {
                self.status |= status::DST_NAT;
            }
            if self.status & status::NAT_MASK == 0 {
                // Nothing NAT changes differs (an ICMP type only): keep it as stored.
                self.status |= status::DST_NAT;
            }
            if self.has(status::SRC_NAT) {
                self.status |= status::SRC_NAT_DONE;
            }
            if self.has(status::DST_NAT) {
                self.status |= status::DST_NAT_DONE;
            }
        }
        if plain {
            if let Some(e) = self.ext.as_mut() {
                e.nat_reply = None;
            }
        } else {
            self.ext.get_or_insert_with(Default::default).nat_reply = Some(reply);
        }
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

    fn conn(orig: Tuple) -> Conn {
        Conn {
            orig,
            expires_ns: 0,
            id: 1,
            status: 0,
            slot: Slot::Unconfirmed,
            lock: Default::default(),
            mark: 0,
            proto: ProtoState::Generic,
            ext: None,
        }
    }

    fn v4(a: [u8; 4]) -> [u8; 16] {
        let mut b = [0; 16];
        b[..4].copy_from_slice(&a);
        b
    }

    #[test]
    fn nat_bindings_set_linux_s_translation_bits_and_the_reply() {
        let orig = Tuple {
            src: v4([10, 0, 0, 1]),
            dst: v4([192, 0, 2, 1]),
            src_id: 1000,
            dst_id: 80,
            proto: 6,
            family: crate::tuple::FAMILY_V4,
            zone: 0,
        };
        let mut c = conn(orig);
        let plain = c.reply();
        // Masquerade: the reply goes to the router's address and another port.
        let mut snat = plain;
        snat.dst = v4([198, 51, 100, 7]);
        snat.dst_id = 61000;
        c.bind_nat_reply(snat);
        assert_eq!(
            c.status & status::NAT_DONE_MASK,
            status::SRC_NAT | status::SRC_NAT_DONE
        );
        assert_eq!(c.reply(), snat);
        assert!(c.reply_is(&snat) && !c.reply_is(&plain));
        assert_eq!(c.tuple(0), orig, "the original tuple stays");
        // A redirect: the reply comes from another port of the same host.
        let mut dnat = plain;
        dnat.src_id = 8080;
        c.bind_nat_reply(dnat);
        assert_eq!(
            c.status & status::NAT_DONE_MASK,
            status::DST_NAT | status::DST_NAT_DONE
        );
        // Both at once.
        let mut both = snat;
        both.src = v4([10, 9, 9, 9]);
        c.bind_nat_reply(both);
        assert_eq!(c.status & status::NAT_DONE_MASK, status::NAT_DONE_MASK);
        // The plain inversion clears the binding.
        c.bind_nat_reply(plain);
        assert_eq!(c.status & status::NAT_DONE_MASK, 0);
        assert_eq!(c.reply(), plain);
        assert!(c.reply_is(&plain));

        // ICMP: a new echo id is source NAT; the reply type is not a translation.
        let echo = Tuple {
            src_id: 77,
            dst_id: 8 << 8,
            proto: 1,
            ..orig
        };
        let mut c = conn(echo);
        let mut id = c.reply();
        assert_eq!(id.dst_id, 0, "echo reply");
        id.src_id = 99;
        c.bind_nat_reply(id);
        assert_eq!(c.status & status::NAT_MASK, status::SRC_NAT);
    }

    #[test]
    fn status_names_are_linux_s_bits_in_order() {
        // Linux's IPS_*_BIT numbers.
        let linux = [
            ("EXPECTED", 0),
            ("SEEN_REPLY", 1),
            ("ASSURED", 2),
            ("CONFIRMED", 3),
            ("SRC_NAT", 4),
            ("DST_NAT", 5),
            ("SEQ_ADJUST", 6),
            ("SRC_NAT_DONE", 7),
            ("DST_NAT_DONE", 8),
            ("DYING", 9),
            ("FIXED_TIMEOUT", 10),
            ("HELPER", 13),
        ];
        let ours: Vec<(&str, u32)> = status::NAMES
            .iter()
            .map(|(bit, n)| (*n, bit.trailing_zeros()))
            .collect();
        assert_eq!(ours, linux);
    }

    #[test]
    fn record_and_links_fit_in_128_bytes() {
        assert_eq!(std::mem::size_of::<ProtoState>(), 52);
        assert_eq!(std::mem::size_of::<Conn>() + crate::table::LINK_BYTES, 128);
    }
}
