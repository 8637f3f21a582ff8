//! The stable packet view every callback receives: frame bytes, parsed offsets and the
//! per-packet metadata plugins share (the fields of the kernel's `sk_buff` they need).

use crate::abi::HostApi;
use crate::hook::{Family, Hook};
use brickwall_wire::ip_proto;
use std::ffi::c_void;

/// Connection-tracking information attached to a packet (Linux's `ctinfo`), plus the
/// two states Linux expresses with the conntrack pointer itself.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CtInfo {
    /// Part of an established connection, original direction (`IP_CT_ESTABLISHED`).
    Established = 0,
    /// Starts a connection that an expectation announced (`IP_CT_RELATED`).
    Related = 1,
    /// Starts a connection, or belongs to one not yet answered (`IP_CT_NEW`).
    New = 2,
    /// Established, reply direction (`IP_CT_ESTABLISHED_REPLY`).
    EstablishedReply = 3,
    /// Related, reply direction (`IP_CT_RELATED_REPLY`).
    RelatedReply = 4,
    /// Marked not to be tracked (`IP_CT_UNTRACKED`).
    Untracked = 7,
    /// Conntrack looked at the packet and found it invalid (Linux: no conntrack attached).
    Invalid = 0xfe,
    /// No conntrack has seen this packet.
    None = 0xff,
}

impl CtInfo {
    /// Decodes the metadata byte; unknown values read as `None`.
    #[inline]
    pub fn from_u8(v: u8) -> CtInfo {
        match v {
            0 => CtInfo::Established,
            1 => CtInfo::Related,
            2 => CtInfo::New,
            3 => CtInfo::EstablishedReply,
            4 => CtInfo::RelatedReply,
            7 => CtInfo::Untracked,
            0xfe => CtInfo::Invalid,
            _ => CtInfo::None,
        }
    }

    /// The state name as in nftables' `ct state` and the replay report
    /// (`NEW`, `ESTABLISHED`, `RELATED`, `INVALID`, `UNTRACKED`); `None` when untouched.
    pub fn state_name(self) -> Option<&'static str> {
        Some(match self {
            CtInfo::Established | CtInfo::EstablishedReply => "ESTABLISHED",
            CtInfo::Related | CtInfo::RelatedReply => "RELATED",
            CtInfo::New => "NEW",
            CtInfo::Untracked => "UNTRACKED",
            CtInfo::Invalid => "INVALID",
            CtInfo::None => return None,
        })
    }

    /// Whether a packet with this information travels in its connection's reply
    /// direction; `None` for packets without a connection.
    pub fn is_reply(self) -> Option<bool> {
        match self {
            CtInfo::Established | CtInfo::Related | CtInfo::New => Some(false),
            CtInfo::EstablishedReply | CtInfo::RelatedReply => Some(true),
            CtInfo::Untracked | CtInfo::Invalid | CtInfo::None => None,
        }
    }

    /// `original` or `reply` for packets with a connection.
    pub fn direction_name(self) -> Option<&'static str> {
        self.is_reply()
            .map(|reply| if reply { "reply" } else { "original" })
    }
}

/// Bits of [`PacketView::flags`].
pub mod flags {
    // The parser's bits, defined where it sets them.
    pub use brickwall_wire::flags::{FRAGMENT, L4_MALFORMED, LATER_FRAGMENT};
    /// The packet was injected by the local side or a plugin (starts at LOCAL_OUT).
    pub const INJECTED: u16 = 1 << 3;
    /// The engine is writing a report: annotations are kept.
    pub const REPORTING: u16 = 1 << 4;
    /// Marked not to be tracked (set by a `notrack` rule at the RAW priority).
    pub const NOTRACK: u16 = 1 << 5;
}

/// The view of one packet passed to callbacks. `#[repr(C)]` and versioned with the ABI:
/// fields are only ever appended, never reordered.
///
/// `data[0..len]` is the frame; the IP header starts at `l3_off` and the datagram ends at
/// `l3_off + l3_len` (link-layer padding may follow). A callback may change bytes in place
/// but not the length; to replace the whole datagram (reassembly) it calls the host.
///
/// The frame's address and length and the host's pointers are private: only
/// [`set_frame`](Self::set_frame) and [`set_host`](Self::set_host), which are `unsafe`,
/// set them, so the safe accessors cannot be pointed at memory that is not the frame.
///
/// ```compile_fail,E0451
/// let mut bytes = [0u8; 4];
/// let v = brickwall_hooks::PacketView {
///     data: bytes.as_mut_ptr(),
///     len: 4096,
///     ..Default::default()
/// };
/// ```
#[repr(C)]
#[derive(Debug)]
pub struct PacketView {
    /// Frame bytes (set with [`PacketView::set_frame`], whose contract makes the safe
    /// accessors sound).
    data: *mut u8,
    /// Number of valid bytes at `data`.
    len: u32,
    /// Length of the IP datagram from `l3_off` (IP total length, clipped to the frame).
    pub l3_len: u32,
    /// Offset of the IP header.
    pub l3_off: u16,
    /// Offset of the L4 header (valid unless `L4_MALFORMED` or `LATER_FRAGMENT`).
    pub l4_off: u16,
    /// Offset of the L4 payload (valid under the same conditions).
    pub payload_off: u16,
    /// `flags::*` bits.
    pub flags: u16,
    /// Family, `NFPROTO_*` value ([`Family`]).
    pub family: u8,
    /// L4 protocol number (after IPv6 extension headers).
    pub l4proto: u8,
    /// Hook being traversed ([`Hook`]).
    pub hook: u8,
    /// Conntrack information ([`CtInfo`]), set by conntrack.
    pub ctinfo: u8,
    /// Conntrack zone.
    pub zone: u16,
    /// Non-zero to trace this packet's path.
    pub trace: u8,
    /// Reserved, zero.
    pub _pad: u8,
    /// Packet mark (`meta mark`).
    pub mark: u32,
    /// Input interface index (0: none, e.g. locally generated).
    pub iif: u32,
    /// Output interface index (0: not yet routed).
    pub oif: u32,
    /// Mark of the packet's connection (`ct mark`), set by conntrack.
    pub ct_mark: u32,
    /// Timestamp in nanoseconds since the Unix epoch (capture time, or receive time when live).
    pub ts_ns: u64,
    /// Opaque reference to the packet's connection, owned by conntrack (0: none).
    pub ct: u64,
    /// Stable id of the packet's connection, for reports and the control socket (0: none).
    pub ct_id: u64,
    /// The host's services for this packet (set with [`PacketView::set_host`]).
    host: *const HostApi,
    /// Host-private per-packet context, passed back to `host` functions.
    host_ctx: *mut c_void,
    /// A helper name, NUL-padded, at most 16 bytes as Linux's `NF_CT_HELPER_NAME_LEN`;
    /// all zero for none. As nftables' `ct helper` key, it is read and written: conntrack
    /// fills it with the helper of the connection's master (what `ct helper "ftp"`
    /// matches: FTP data, not the control connection), and a plugin may set it on a new
    /// connection's packet to ask conntrack to assign that helper (`ct helper set`).
    pub ct_helper: [u8; 16],
    /// The worker handling the packet (0 for the first): per-worker statistics key on
    /// it, as Linux's are per CPU.
    pub worker: u32,
    /// The connection's status bits as conntrack attached them (Linux's `IPS_*`, as
    /// [`crate::services::conntrack::status`] numbers them; 0 without a connection): what
    /// a later plugin can tell without a lookup, as Linux's hooks read `ct->status` from
    /// the packet's connection (NAT: whether the connection is confirmed and translated).
    /// Bits that change later in the packet's walk (a NAT binding on its first packet,
    /// confirmation) are not updated. A field that was reserved (zero) in ABI 2's first
    /// form.
    pub ct_status: u32,
    /// Reserved for later ABI versions, zero.
    pub reserved: [u64; 1],
    /// The connection's 128 labels (nft's `ct label`; bit `n` of the 128 is bit `n % 64`
    /// of word `n / 64`): conntrack fills them in, a later plugin may change them, and
    /// confirmation keeps the change. Appended to ABI 1: plugins built before it do not
    /// see it.
    pub ct_labels: [u64; 2],
}

// The view is handed across threads only together with the buffer it points into.
unsafe impl Send for PacketView {}

impl Default for PacketView {
    fn default() -> Self {
        PacketView {
            data: std::ptr::null_mut(),
            len: 0,
            l3_len: 0,
            l3_off: 0,
            l4_off: 0,
            payload_off: 0,
            flags: 0,
            family: Family::Ipv4 as u8,
            l4proto: 0,
            hook: Hook::PreRouting as u8,
            ctinfo: CtInfo::None as u8,
            zone: 0,
            trace: 0,
            _pad: 0,
            mark: 0,
            iif: 0,
            oif: 0,
            ct_mark: 0,
            ts_ns: 0,
            ct: 0,
            ct_id: 0,
            host: std::ptr::null(),
            host_ctx: std::ptr::null_mut(),
            ct_helper: [0; 16],
            worker: 0,
            ct_status: 0,
            reserved: [0; 1],
            ct_labels: [0; 2],
        }
    }
}

impl PacketView {
    /// Points the view at the frame `data[..len]`.
    ///
    /// # Safety
    /// `data[..len]` must stay valid for reads and writes, and be reached through
    /// nothing but this view, for as long as the view is used with it (the safe
    /// accessors [`frame`](Self::frame) and [`frame_mut`](Self::frame_mut) rely on it).
    #[inline]
    pub unsafe fn set_frame(&mut self, data: *mut u8, len: u32) {
        self.data = data;
        self.len = len;
    }

    /// The frame's length in bytes.
    #[inline]
    pub fn frame_len(&self) -> u32 {
        self.len
    }

    /// Sets the host's services for this packet.
    ///
    /// # Safety
    /// `host` must be null or point to a [`HostApi`] that stays valid while the view is
    /// used, whose functions accept `ctx` (the helpers [`annotate`](Self::annotate) and
    /// others call them).
    #[inline]
    pub unsafe fn set_host(&mut self, host: *const HostApi, ctx: *mut c_void) {
        self.host = host;
        self.host_ctx = ctx;
    }

    /// The host's per-packet context (for the host's own functions).
    #[inline]
    pub fn host_ctx(&self) -> *mut c_void {
        self.host_ctx
    }

    /// The host's services, if set.
    #[inline]
    pub fn host_api(&self) -> *const HostApi {
        self.host
    }

    /// The connection labels as one 128-bit set (bit `n` is label `n`).
    #[inline]
    pub fn labels(&self) -> u128 {
        (self.ct_labels[1] as u128) << 64 | self.ct_labels[0] as u128
    }

    /// Sets the connection labels the packet carries (see [`PacketView::ct_labels`]).
    #[inline]
    pub fn set_labels(&mut self, labels: u128) {
        self.ct_labels = [labels as u64, (labels >> 64) as u64];
    }

    /// The helper name in [`PacketView::ct_helper`], if any.
    pub fn ct_helper_name(&self) -> Option<&str> {
        let end = self.ct_helper.iter().position(|&b| b == 0).unwrap_or(16);
        (end > 0)
            .then(|| std::str::from_utf8(&self.ct_helper[..end]).ok())
            .flatten()
    }

    /// Asks conntrack to assign helper `name` (at most 16 bytes; longer names are
    /// refused with `false`).
    pub fn set_ct_helper(&mut self, name: &str) -> bool {
        if name.len() > 16 {
            return false;
        }
        self.ct_helper = [0; 16];
        self.ct_helper[..name.len()].copy_from_slice(name.as_bytes());
        true
    }

    /// The frame bytes (empty if the view has no buffer).
    #[inline]
    pub fn frame(&self) -> &[u8] {
        if self.data.is_null() {
            return &[];
        }
        // SAFETY: the host guarantees `data[..len]` is valid for the callback's duration.
        unsafe { std::slice::from_raw_parts(self.data, self.len as usize) }
    }

    /// The frame bytes, writable in place.
    #[inline]
    pub fn frame_mut(&mut self) -> &mut [u8] {
        if self.data.is_null() {
            return &mut [];
        }
        // SAFETY: as `frame`, and the callback has exclusive access to the packet.
        unsafe { std::slice::from_raw_parts_mut(self.data, self.len as usize) }
    }

    #[inline]
    fn range(&self, start: usize, end: usize) -> &[u8] {
        self.frame().get(start..end).unwrap_or(&[])
    }

    #[inline]
    fn l3_end(&self) -> usize {
        (self.l3_off as usize + self.l3_len as usize).min(self.len as usize)
    }

    /// Whether the L4 header offsets are valid.
    #[inline]
    pub fn has_l4(&self) -> bool {
        self.flags & (flags::L4_MALFORMED | flags::LATER_FRAGMENT) == 0
    }

    /// The IP datagram (header and everything after it, without link padding).
    #[inline]
    pub fn l3(&self) -> &[u8] {
        self.range(self.l3_off as usize, self.l3_end())
    }

    /// The L4 header and payload; empty when there is no valid L4 header.
    #[inline]
    pub fn l4(&self) -> &[u8] {
        if !self.has_l4() {
            return &[];
        }
        self.range(self.l4_off as usize, self.l3_end())
    }

    /// The L4 payload; empty when there is none or no valid L4 header.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        if !self.has_l4() {
            return &[];
        }
        self.range(self.payload_off as usize, self.l3_end())
    }

    /// The packet's family, if the byte is valid.
    #[inline]
    pub fn family(&self) -> Option<Family> {
        Family::from_u8(self.family)
    }

    /// The hook being traversed, if the byte is valid.
    pub fn hook(&self) -> Option<Hook> {
        Hook::from_u8(self.hook)
    }

    /// The conntrack information.
    #[inline]
    pub fn ctinfo(&self) -> CtInfo {
        CtInfo::from_u8(self.ctinfo)
    }

    /// Sets the conntrack information.
    #[inline]
    pub fn set_ctinfo(&mut self, info: CtInfo) {
        self.ctinfo = info as u8;
    }

    /// The L4 source and destination ports of TCP, UDP, SCTP, DCCP and UDP-Lite packets.
    #[inline]
    pub fn ports(&self) -> Option<(u16, u16)> {
        match self.l4proto {
            ip_proto::TCP | ip_proto::UDP | ip_proto::DCCP | ip_proto::SCTP | ip_proto::UDPLITE => {
                let l4 = self.l4();
                if l4.len() < 4 {
                    return None;
                }
                Some((
                    u16::from_be_bytes([l4[0], l4[1]]),
                    u16::from_be_bytes([l4[2], l4[3]]),
                ))
            }
            _ => None,
        }
    }

    /// Source and destination address bytes (4 or 16 each), or `None` if the header is short.
    #[inline]
    pub fn addrs(&self) -> Option<(&[u8], &[u8])> {
        let l3 = self.l3();
        match self.family()? {
            Family::Ipv4 if l3.len() >= 20 => Some((&l3[12..16], &l3[16..20])),
            Family::Ipv6 if l3.len() >= 40 => Some((&l3[8..24], &l3[24..40])),
            _ => None,
        }
    }

    /// Attaches a `key`/`value` note for the replay report and traces (ignored unless the
    /// engine is reporting).
    pub fn annotate(&mut self, key: &str, value: &str) {
        if self.flags & flags::REPORTING == 0 || self.host.is_null() {
            return;
        }
        // SAFETY: `host` is the engine's table, valid for the callback's duration.
        let host = unsafe { &*self.host };
        (host.annotate)(
            self as *mut PacketView,
            key.as_ptr(),
            key.len(),
            value.as_ptr(),
            value.len(),
        );
    }

    /// The engine's own address on interface `ifindex` for traffic to or from `toward`
    /// (4 or 16 bytes; the address is of its family): in router mode, that interface's
    /// address (of several, the one whose prefix holds `toward`), what `masquerade`
    /// translates to. The address's bytes and length; `None` where the engine has no
    /// address there (a bridge) or predates the call.
    pub fn interface_address(&self, ifindex: u32, toward: &[u8]) -> Option<([u8; 16], usize)> {
        if self.host.is_null() {
            return None;
        }
        // SAFETY: as in `annotate`; the appended fields are read only when `size`
        // covers them.
        let host = unsafe { &*self.host };
        let end = std::mem::offset_of!(HostApi, interface_address_ctx)
            + std::mem::size_of::<*mut c_void>();
        let f = host
            .interface_address
            .filter(|_| host.size as usize >= end)?;
        let mut out = [0u8; 16];
        let n = f(
            host.interface_address_ctx,
            ifindex,
            toward.as_ptr(),
            toward.len(),
            out.as_mut_ptr(),
        );
        matches!(n, 4 | 16).then_some((out, n))
    }

    /// Sends `datagram`, an answer to this packet (a reject's reset or ICMP error),
    /// back toward its sender: it enters at LOCAL_OUT, and a bridge sends it out of the
    /// interface this packet came in on. An engine that predates the call injects it
    /// (see `Host::inject`). Whether the engine took it.
    pub fn reply(&mut self, datagram: &[u8]) -> bool {
        if self.host.is_null() {
            return false;
        }
        // SAFETY: as in `annotate`; the appended fields are read only when `size`
        // covers them.
        let host = unsafe { &*self.host };
        let end = std::mem::offset_of!(HostApi, reply_ctx) + std::mem::size_of::<*mut c_void>();
        match host.reply.filter(|_| host.size as usize >= end) {
            Some(f) => {
                f(
                    host.reply_ctx,
                    self as *mut PacketView,
                    datagram.as_ptr(),
                    datagram.len(),
                ) == 0
            }
            None => (host.inject)(host.inject_ctx, datagram.as_ptr(), datagram.len()) == 0,
        }
    }

    /// Replaces the whole datagram (e.g. by a reassembled one). The new bytes start with
    /// the IP header. Returns false if the host refused (no host, bad datagram).
    pub fn replace_datagram(&mut self, datagram: &[u8]) -> bool {
        if self.host.is_null() {
            return false;
        }
        // SAFETY: as in `annotate`.
        let host = unsafe { &*self.host };
        (host.replace_datagram)(self as *mut PacketView, datagram.as_ptr(), datagram.len()) == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accessors_never_read_out_of_bounds() {
        let mut buf = vec![0u8; 30];
        let mut v = PacketView {
            l3_off: 14,
            l3_len: 1000,
            l4_off: 60,
            payload_off: 80,
            family: 2,
            l4proto: 6,
            ..Default::default()
        };
        // SAFETY: `buf` outlives `v` and is used only through it.
        unsafe { v.set_frame(buf.as_mut_ptr(), 30) };
        assert_eq!(v.l3().len(), 16);
        assert!(v.l4().is_empty());
        assert!(v.payload().is_empty());
        assert_eq!(v.ports(), None);
        assert_eq!(v.addrs(), None);
        v.flags |= flags::L4_MALFORMED;
        assert!(!v.has_l4());
        let empty = PacketView::default();
        assert!(empty.frame().is_empty());
        assert_eq!(CtInfo::from_u8(200), CtInfo::None);
        assert_eq!(CtInfo::RelatedReply.state_name(), Some("RELATED"));
        assert_eq!(CtInfo::RelatedReply.direction_name(), Some("reply"));
    }
}
