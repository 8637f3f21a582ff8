//! The engine's own packet: an owned frame buffer, the C-ABI view callbacks see, and what
//! the pipeline records about the packet's path for reports.

use crate::pipeline::fib::NextHop;
use crate::wire::{self, LinkType, ParseError, Parsed};
use brickwall_hooks::{flags, CtInfo, Hook, PacketView};

/// Most hooks a packet can traverse (PREROUTING, FORWARD/INPUT, POSTROUTING, or
/// OUTPUT, POSTROUTING), with room for a later re-entry.
const MAX_PATH: usize = 6;

/// One packet inside the engine.
pub struct Packet {
    buf: Vec<u8>,
    /// The view callbacks receive; `view.data` points into this packet's buffer.
    pub view: PacketView,
    /// Position of the packet in its input (0-based), for reports.
    pub index: u64,
    /// Original length on the wire (may exceed the captured bytes).
    pub orig_len: u32,
    /// Link type of the buffer's first byte.
    pub link: LinkType,
    path: [u8; MAX_PATH],
    path_len: u8,
    /// Notes plugins attached (kept only when reporting).
    pub notes: Vec<(String, String)>,
    /// In router mode, where the packet goes once it passes POSTROUTING.
    pub next_hop: Option<NextHop>,
}

impl Default for Packet {
    fn default() -> Self {
        Packet {
            buf: Vec::new(),
            view: PacketView::default(),
            index: 0,
            orig_len: 0,
            link: LinkType::Ethernet,
            path: [0; MAX_PATH],
            path_len: 0,
            notes: Vec::new(),
            next_hop: None,
        }
    }
}

impl Packet {
    /// Parses `frame` of link type `link` into a packet. On an L3 error the bytes are
    /// kept (for the report and output) and the error is returned beside them.
    pub fn from_frame(
        link: LinkType,
        frame: &[u8],
        ts_ns: u64,
    ) -> (Packet, Result<(), ParseError>) {
        let mut p = Packet::default();
        let r = p.reset(link, frame, ts_ns);
        (p, r)
    }

    /// Reuses this packet's buffer for a new frame (metadata reset to defaults).
    pub fn reset(&mut self, link: LinkType, frame: &[u8], ts_ns: u64) -> Result<(), ParseError> {
        self.buf.clear();
        self.buf.extend_from_slice(frame);
        self.view = PacketView::default();
        self.view.ts_ns = ts_ns;
        self.orig_len = frame.len() as u32;
        self.link = link;
        self.path_len = 0;
        self.notes.clear();
        self.next_hop = None;
        self.sync_data();
        let parsed = wire::parse_frame(link, &self.buf)?;
        self.apply(&parsed);
        Ok(())
    }

    /// A packet holding a bare IP datagram (injected by the local side or a plugin).
    pub fn from_datagram(datagram: &[u8], ts_ns: u64) -> Result<Packet, ParseError> {
        let mut p = Packet::default();
        p.reset(LinkType::Raw, datagram, ts_ns)?;
        p.view.flags |= flags::INJECTED;
        Ok(p)
    }

    /// Replaces the datagram (from `l3_off` on) with `datagram`, keeping the metadata;
    /// the link header is dropped and the packet becomes raw IP.
    pub fn replace_datagram(&mut self, datagram: &[u8]) -> Result<(), ParseError> {
        let parsed = wire::parse_datagram(datagram)?;
        self.buf.clear();
        self.buf.extend_from_slice(datagram);
        self.link = LinkType::Raw;
        self.sync_data();
        self.apply(&parsed);
        Ok(())
    }

    /// [`replace_datagram`](Self::replace_datagram) for the host API, while a plugin's
    /// callback holds `view` (the packet's own view, borrowed mutably): the packet's
    /// other fields are written through `p`, the view only through `view`, so no
    /// reference made here overlaps the plugin's.
    ///
    /// # Safety
    /// `p` must point to a live `Packet` whose `view` field is `*view`, and nothing but
    /// `view` may be borrowing that packet's fields for the call.
    pub(crate) unsafe fn replace_datagram_under(
        p: *mut Packet,
        view: &mut PacketView,
        datagram: &[u8],
    ) -> Result<(), ParseError> {
        let parsed = wire::parse_datagram(datagram)?;
        let buf = &mut *std::ptr::addr_of_mut!((*p).buf);
        buf.clear();
        buf.extend_from_slice(datagram);
        *std::ptr::addr_of_mut!((*p).link) = LinkType::Raw;
        // SAFETY: the view is the packet's own, and the packet owns `buf`: the view is
        // pointed at it again whenever the buffer changes (as here).
        view.set_frame(buf.as_mut_ptr(), buf.len() as u32);
        Self::apply_to(view, &parsed);
        Ok(())
    }

    fn sync_data(&mut self) {
        // SAFETY: the packet owns both its buffer and its view; the view is pointed at
        // the buffer again after every change to it, and the pipeline hands the view out
        // only while the packet is held in place.
        unsafe {
            self.view
                .set_frame(self.buf.as_mut_ptr(), self.buf.len() as u32)
        };
    }

    fn apply(&mut self, p: &Parsed) {
        Self::apply_to(&mut self.view, p);
    }

    /// Sets a view's offsets, family and protocol from a parse, keeping the flags the
    /// engine set.
    fn apply_to(view: &mut PacketView, p: &Parsed) {
        let keep = view.flags & (flags::INJECTED | flags::REPORTING | flags::NOTRACK);
        view.l3_off = p.l3_off;
        view.l3_len = p.l3_len;
        view.l4_off = p.l4_off;
        view.payload_off = p.payload_off;
        view.flags = p.flags | keep;
        view.family = p.family as u8;
        view.l4proto = p.l4proto;
    }

    /// The frame bytes as they are now (callbacks may have changed them).
    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }

    /// The IP datagram (from `l3_off`, `l3_len` bytes), writable.
    pub fn datagram_mut(&mut self) -> &mut [u8] {
        let start = (self.view.l3_off as usize).min(self.buf.len());
        let end = start
            .saturating_add(self.view.l3_len as usize)
            .min(self.buf.len());
        &mut self.buf[start..end]
    }

    /// The IP datagram (from `l3_off`, `l3_len` bytes).
    pub fn datagram(&self) -> &[u8] {
        let start = (self.view.l3_off as usize).min(self.buf.len());
        let end = start
            .saturating_add(self.view.l3_len as usize)
            .min(self.buf.len());
        &self.buf[start..end]
    }

    /// Records that the packet entered `hook`.
    #[inline]
    pub fn enter(&mut self, hook: Hook) {
        self.view.hook = hook as u8;
        if (self.path_len as usize) < MAX_PATH {
            self.path[self.path_len as usize] = hook as u8;
            self.path_len += 1;
        }
    }

    /// The hooks traversed so far, in order.
    pub fn path(&self) -> impl Iterator<Item = Hook> + '_ {
        self.path[..self.path_len as usize]
            .iter()
            .filter_map(|h| Hook::from_u8(*h))
    }

    /// What the report needs of this packet (index, timestamp, length, path, conntrack
    /// state), without its bytes: left in place of a packet handed to a queue.
    pub(crate) fn shadow(&self) -> Packet {
        Packet {
            view: {
                let mut v = PacketView::default();
                v.ts_ns = self.view.ts_ns;
                v.flags = self.view.flags;
                v.ctinfo = self.view.ctinfo;
                v.ct_id = self.view.ct_id;
                v
            },
            index: self.index,
            orig_len: self.orig_len,
            link: self.link,
            path: self.path,
            path_len: self.path_len,
            ..Packet::default()
        }
    }

    /// The conntrack information plugins left on the packet.
    pub fn ctinfo(&self) -> CtInfo {
        self.view.ctinfo()
    }
}
