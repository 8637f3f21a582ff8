//! Builders of pcapng blocks for the tests, in either byte order.

/// Byte order of a built section.
#[derive(Clone, Copy)]
pub enum Order {
    /// Little-endian.
    Le,
    /// Big-endian.
    Be,
}

/// Serialises fields in one byte order.
pub struct Body {
    order: Order,
    /// The bytes so far.
    pub bytes: Vec<u8>,
}

impl Body {
    /// An empty body.
    pub fn new(order: Order) -> Body {
        Body {
            order,
            bytes: Vec::new(),
        }
    }

    /// Appends a `u16`.
    pub fn u16(mut self, v: u16) -> Body {
        let b = match self.order {
            Order::Le => v.to_le_bytes(),
            Order::Be => v.to_be_bytes(),
        };
        self.bytes.extend_from_slice(&b);
        self
    }

    /// Appends a `u32`.
    pub fn u32(mut self, v: u32) -> Body {
        let b = match self.order {
            Order::Le => v.to_le_bytes(),
            Order::Be => v.to_be_bytes(),
        };
        self.bytes.extend_from_slice(&b);
        self
    }

    /// Appends raw bytes padded to 4.
    pub fn padded(mut self, data: &[u8]) -> Body {
        self.bytes.extend_from_slice(data);
        self.bytes.resize(self.bytes.len().next_multiple_of(4), 0);
        self
    }

    /// Appends an option (code, length, value padded to 4).
    pub fn option(self, code: u16, value: &[u8]) -> Body {
        self.u16(code).u16(value.len() as u16).padded(value)
    }

    /// Wraps the body in a block of `btype`.
    pub fn block(self, btype: u32) -> Vec<u8> {
        let total = (self.bytes.len() + 12) as u32;
        let mut out = Body::new(self.order).u32(btype).u32(total).bytes;
        out.extend_from_slice(&self.bytes);
        out.extend_from_slice(&Body::new(self.order).u32(total).bytes);
        out
    }
}

/// A section header block.
pub fn shb(order: Order) -> Vec<u8> {
    Body::new(order)
        .u32(0x1a2b_3c4d)
        .u16(1)
        .u16(0)
        .u32(u32::MAX)
        .u32(u32::MAX)
        .option(3, b"test")
        .u32(0)
        .block(0x0a0d_0d0a)
}

/// An interface description block, with an `if_tsresol` option if given.
pub fn idb(order: Order, link: u16, tsresol: Option<u8>) -> Vec<u8> {
    let mut b = Body::new(order)
        .u16(link)
        .u16(0)
        .u32(65535)
        .option(2, b"eth0");
    if let Some(r) = tsresol {
        b = b.option(9, &[r]);
    }
    b.u32(0).block(1)
}

/// An enhanced packet block.
pub fn epb(order: Order, iface: u32, ts: u64, data: &[u8], orig_len: u32) -> Vec<u8> {
    Body::new(order)
        .u32(iface)
        .u32((ts >> 32) as u32)
        .u32(ts as u32)
        .u32(data.len() as u32)
        .u32(orig_len)
        .padded(data)
        .block(6)
}
