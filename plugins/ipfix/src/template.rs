//! The four templates the plugin exports — IPv4 and IPv6, each without and with RFC
//! 8158's NAT fields — and their template records (RFC 7011, section 3.4.1).

use crate::element::Element;

/// Template ids: data sets carry them as their set id.
pub mod id {
    /// IPv4 connections without translation.
    pub const IPV4: u16 = 256;
    /// IPv6 connections without translation.
    pub const IPV6: u16 = 257;
    /// Translated IPv4 connections.
    pub const IPV4_NAT: u16 = 258;
    /// Translated IPv6 connections.
    pub const IPV6_NAT: u16 = 259;
}

/// One template: its id and elements, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    /// The template id (256 or more).
    pub id: u16,
    /// Its elements, in record order.
    pub elements: Vec<Element>,
    /// Bytes of one data record.
    pub record_len: usize,
}

impl Template {
    fn new(id: u16, elements: Vec<Element>) -> Template {
        let record_len = elements.iter().map(|e| e.wire_len() as usize).sum();
        Template {
            id,
            elements,
            record_len,
        }
    }

    /// Appends the template record: id, field count, then each field specifier (the
    /// enterprise bit and number for enterprise-specific elements).
    pub fn write_record(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.id.to_be_bytes());
        out.extend_from_slice(&(self.elements.len() as u16).to_be_bytes());
        for e in &self.elements {
            let (id, enterprise, len) = e.spec();
            match enterprise {
                Some(pen) => {
                    out.extend_from_slice(&(id | 0x8000).to_be_bytes());
                    out.extend_from_slice(&len.to_be_bytes());
                    out.extend_from_slice(&pen.to_be_bytes());
                }
                None => {
                    out.extend_from_slice(&id.to_be_bytes());
                    out.extend_from_slice(&len.to_be_bytes());
                }
            }
        }
    }
}

/// The templates of one exporter (the mark element is in all four or none).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Templates {
    /// [`id::IPV4`], [`id::IPV6`], [`id::IPV4_NAT`], [`id::IPV6_NAT`], in that order.
    pub all: [Template; 4],
}

impl Templates {
    /// The templates, with the `ct mark` element when `mark` names one.
    pub fn new(mark: Option<Element>) -> Templates {
        use Element::*;
        let build = |id: u16, v6: bool, nat: bool| {
            let mut e = vec![FlowId];
            e.extend(if v6 {
                [SourceIpv6, DestinationIpv6]
            } else {
                [SourceIpv4, DestinationIpv4]
            });
            e.extend([SourcePort, DestinationPort, Protocol]);
            e.push(if v6 {
                IcmpTypeCodeIpv6
            } else {
                IcmpTypeCodeIpv4
            });
            e.extend([
                FlowEndReason,
                FlowStart,
                FlowEnd,
                Octets,
                Packets,
                ReverseOctets,
                ReversePackets,
            ]);
            if nat {
                e.extend(if v6 {
                    [PostNatSourceIpv6, PostNatDestinationIpv6]
                } else {
                    [PostNatSourceIpv4, PostNatDestinationIpv4]
                });
                e.extend([PostNaptSourcePort, PostNaptDestinationPort]);
            }
            e.extend(mark);
            Template::new(id, e)
        };
        Templates {
            all: [
                build(id::IPV4, false, false),
                build(id::IPV6, true, false),
                build(id::IPV4_NAT, false, true),
                build(id::IPV6_NAT, true, true),
            ],
        }
    }

    /// The template for a connection of IPv6 (`v6`) or IPv4, translated (`nat`) or not.
    pub fn pick(&self, v6: bool, nat: bool) -> &Template {
        &self.all[v6 as usize + 2 * nat as usize]
    }
}
