//! An expectation as an expectation message's attributes carry it: its master's
//! tuple, the expected tuple and its mask, timeout, flags, class, NAT and helper.
//!
//! Parsed as conntrackd 1.4.7 parses it: an unknown code or a fixed-size attribute of
//! another size refuses the message, the helper name's attribute is at most 16 bytes
//! and the function name's at most 32, headers included.

use super::attr::{self, exp, Attr, Attrs, Writer};
use super::conntrack::{ports, ports_bytes, Addrs};
use super::{Error, Result};

/// conntrackd's limit on a helper name's attribute, header included.
pub const HELPER_ATTR_MAX: usize = 16;
/// conntrackd's limit on an expectation function name's attribute, header included.
pub const FN_ATTR_MAX: usize = 32;

/// A tuple as expectation messages carry them: addresses, protocol, ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Tuple {
    /// Source and destination addresses.
    pub addrs: Option<Addrs>,
    /// The layer-4 protocol.
    pub l4proto: Option<u8>,
    /// Source and destination ports.
    pub ports: Option<(u16, u16)>,
}

impl Tuple {
    fn emit(&self, w: &mut Writer<'_>, base: u16) {
        if let Some(a) = &self.addrs {
            a.emit(w, base, base + 1);
        }
        if let Some(p) = self.l4proto {
            w.u8(base + 2, p);
        }
        if let Some(p) = self.ports {
            w.bytes(base + 3, &ports_bytes(p));
        }
    }
}

/// An expectation as a message describes it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Expect {
    /// The master conntrack's original tuple.
    pub master: Tuple,
    /// The expected tuple.
    pub expected: Tuple,
    /// The mask over the expected tuple.
    pub mask: Tuple,
    /// Seconds left.
    pub timeout: Option<u32>,
    /// Flags (`NF_CT_EXPECT_*`).
    pub flags: Option<u32>,
    /// Class.
    pub class: Option<u32>,
    /// The NAT tuple (addresses are IPv4 only in conntrackd 1.4).
    pub nat: Tuple,
    /// The NAT direction.
    pub nat_dir: Option<u32>,
    /// The helper's name.
    pub helper: Option<String>,
    /// The expectation function's name.
    pub func: Option<String>,
}

impl Expect {
    /// The expectation an expectation message's attributes describe.
    pub fn parse(payload: &[u8]) -> Result<Expect> {
        let mut e = Expect::default();
        for a in Attrs::new(payload) {
            e.apply(a?)?;
        }
        Ok(e)
    }

    fn apply(&mut self, a: Attr<'_>) -> Result<()> {
        let tuple = |t: &mut Tuple, which: u16| -> Result<()> {
            match which {
                0 => t.addrs = Some(Addrs::v4(a.fixed()?)),
                1 => t.addrs = Some(Addrs::v6(a.fixed()?)),
                2 => t.l4proto = Some(a.u8()?),
                _ => t.ports = Some(ports(a.fixed()?)),
            }
            Ok(())
        };
        match a.code {
            exp::MASTER_IPV4..=exp::MASTER_PORT => tuple(&mut self.master, a.code)?,
            exp::EXPECT_IPV4..=exp::EXPECT_PORT => {
                tuple(&mut self.expected, a.code - exp::EXPECT_IPV4)?
            }
            exp::MASK_IPV4..=exp::MASK_PORT => tuple(&mut self.mask, a.code - exp::MASK_IPV4)?,
            exp::TIMEOUT => self.timeout = Some(a.u32()?),
            exp::FLAGS => self.flags = Some(a.u32()?),
            exp::CLASS => self.class = Some(a.u32()?),
            exp::NAT_IPV4 => self.nat.addrs = Some(Addrs::v4(a.fixed()?)),
            exp::NAT_PORT => self.nat.ports = Some(ports(a.fixed()?)),
            exp::NAT_L4PROTO => self.nat.l4proto = Some(a.u8()?),
            exp::NAT_DIR => self.nat_dir = Some(a.u32()?),
            exp::HELPER_NAME => {
                let s = a.string(HELPER_ATTR_MAX - attr::HEADER_LEN)?;
                self.helper = Some(s.to_owned());
            }
            exp::FN => {
                let s = a.string(FN_ATTR_MAX - attr::HEADER_LEN)?;
                self.func = Some(s.to_owned());
            }
            code => return Err(Error::UnknownAttr(code)),
        }
        Ok(())
    }

    /// Appends the expectation's attributes to a message, in conntrackd's order.
    pub fn emit(&self, out: &mut Vec<u8>) {
        let mut w = Writer::new(out);
        self.master.emit(&mut w, exp::MASTER_IPV4);
        self.expected.emit(&mut w, exp::EXPECT_IPV4);
        self.mask.emit(&mut w, exp::MASK_IPV4);
        if let Some(v) = self.timeout {
            w.u32(exp::TIMEOUT, v);
        }
        if let Some(v) = self.flags {
            w.u32(exp::FLAGS, v);
        }
        if let Some(v) = self.class {
            w.u32(exp::CLASS, v);
        }
        if let Some(Addrs::V4 { src, dst }) = self.nat.addrs {
            let mut b = [0; 8];
            b[..4].copy_from_slice(&src.octets());
            b[4..].copy_from_slice(&dst.octets());
            w.bytes(exp::NAT_IPV4, &b);
        }
        if let Some(p) = self.nat.l4proto {
            w.u8(exp::NAT_L4PROTO, p);
        }
        if let Some(p) = self.nat.ports {
            w.bytes(exp::NAT_PORT, &ports_bytes(p));
        }
        if let Some(v) = self.nat_dir {
            w.u32(exp::NAT_DIR, v);
        }
        if let Some(h) = &self.helper {
            w.string(exp::HELPER_NAME, h);
        }
        if let Some(f) = &self.func {
            w.string(exp::FN, f);
        }
    }
}
