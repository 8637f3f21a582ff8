//! [`FrameMeta`] (what a capture says about one frame) and [`CaptureFormat`].

use brickwall_wire::LinkType;

/// Metadata of one captured frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameMeta {
    /// Capture time in nanoseconds since the Unix epoch (0 when the record has none, as
    /// pcapng's simple packet blocks).
    pub ts_ns: u64,
    /// Bytes captured (the length of the frame returned).
    pub caplen: u32,
    /// Length of the frame on the wire (larger than `caplen` when the snap length cut it).
    pub orig_len: u32,
    /// Link type of the interface the frame was captured on.
    pub link: LinkType,
    /// Interface number: 0 in classic pcap; in pcapng the index of the interface among
    /// all interfaces of the file so far (pcapng ids restart with each section; this
    /// numbering does not).
    pub iface: u32,
}

/// The format of a capture file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CaptureFormat {
    /// Classic pcap, with microsecond or nanosecond timestamps.
    Pcap {
        /// Timestamps are in nanoseconds (magic `a1b23c4d`).
        nanos: bool,
    },
    /// pcapng.
    Pcapng,
}
