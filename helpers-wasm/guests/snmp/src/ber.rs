//! The SNMP messages the helper reads, as BER (ASN.1 basic encoding rules), walked
//! along the grammar Linux's `nf_nat_snmp_basic` decodes: a message of version 1 or 2c
//! (SNMPv1's `version` 0 or 1), its community, and one PDU — a request, response,
//! report or SNMPv2 trap (request id, error status, error index, variable bindings), a
//! bulk request, or an SNMPv1 trap (enterprise, agent address, generic and specific
//! trap, time stamp, variable bindings). What the walk yields are the offsets of the
//! four bytes of every `IpAddress` value: an SNMPv1 trap's agent address and the
//! variable bindings' values of that type.
//!
//! Anything off the grammar (another version such as SNMPv3, a tag out of place, a
//! length past its container, an `IpAddress` that is not four bytes) is an error:
//! Linux drops such a packet of a translated connection.

/// Why a message could not be walked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BerError {
    /// The bytes end inside an element.
    Truncated,
    /// An element's tag is not what the grammar allows there.
    Unexpected(u8),
    /// A length form the walk does not read (indefinite, or more than four bytes).
    Length,
    /// A version other than 1 and 2c.
    Version,
    /// An `IpAddress` that is not four bytes.
    Address,
}

const INTEGER: u8 = 0x02;
const OCTET_STRING: u8 = 0x04;
const NULL: u8 = 0x05;
const OID: u8 = 0x06;
const SEQUENCE: u8 = 0x30;
/// `[APPLICATION 0] IpAddress`.
const IP_ADDRESS: u8 = 0x40;
/// `[APPLICATION 3] TimeTicks`.
const TIME_TICKS: u8 = 0x43;
/// The SNMPv1 trap PDU, `[4]`.
const TRAP_V1: u8 = 0xa4;
/// The bulk request PDU, `[5]`: its second and third integers are non-repeaters and
/// max-repetitions rather than error status and index.
const GET_BULK: u8 = 0xa5;

/// One element: its tag, and where its contents lie in the message.
struct Element {
    tag: u8,
    start: usize,
    end: usize,
}

/// Reads elements one after another within `msg[at..end]`.
struct Reader<'a> {
    msg: &'a [u8],
    at: usize,
    end: usize,
}

impl<'a> Reader<'a> {
    fn new(msg: &'a [u8]) -> Reader<'a> {
        Reader {
            msg,
            at: 0,
            end: msg.len(),
        }
    }

    /// The reader of an element's contents.
    fn inside(&self, e: &Element) -> Reader<'a> {
        Reader {
            msg: self.msg,
            at: e.start,
            end: e.end,
        }
    }

    fn done(&self) -> bool {
        self.at >= self.end
    }

    fn byte(&mut self) -> Result<u8, BerError> {
        if self.at >= self.end {
            return Err(BerError::Truncated);
        }
        let b = self.msg[self.at];
        self.at += 1;
        Ok(b)
    }

    /// The next element, whatever its tag.
    fn any(&mut self) -> Result<Element, BerError> {
        let tag = self.byte()?;
        if tag & 0x1f == 0x1f {
            // A tag number past 30 appears nowhere in the grammar.
            return Err(BerError::Unexpected(tag));
        }
        let first = self.byte()?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 || n > 4 {
                return Err(BerError::Length);
            }
            let mut len = 0usize;
            for _ in 0..n {
                len = len << 8 | usize::from(self.byte()?);
            }
            len
        };
        let start = self.at;
        let end = start.checked_add(len).ok_or(BerError::Truncated)?;
        if end > self.end {
            return Err(BerError::Truncated);
        }
        self.at = end;
        Ok(Element { tag, start, end })
    }

    /// The next element, which must have tag `tag`.
    fn expect(&mut self, tag: u8) -> Result<Element, BerError> {
        let e = self.any()?;
        if e.tag == tag {
            Ok(e)
        } else {
            Err(BerError::Unexpected(e.tag))
        }
    }
}

/// The offset of an `IpAddress` element's four bytes.
fn address(e: &Element) -> Result<usize, BerError> {
    if e.end - e.start == 4 {
        Ok(e.start)
    } else {
        Err(BerError::Address)
    }
}

/// The variable bindings: each a sequence of a name and a value of the grammar's
/// types; `IpAddress` values go to `out`.
fn bindings(list: &mut Reader, out: &mut Vec<usize>) -> Result<(), BerError> {
    while !list.done() {
        let vb = list.expect(SEQUENCE)?;
        let mut r = list.inside(&vb);
        r.expect(OID)?;
        let value = r.any()?;
        match value.tag {
            IP_ADDRESS => out.push(address(&value)?),
            // INTEGER, OCTET STRING, NULL, OBJECT IDENTIFIER; Counter32, Unsigned32,
            // TimeTicks, Opaque, Counter64; noSuchObject, noSuchInstance, endOfMibView.
            INTEGER | OCTET_STRING | NULL | OID | 0x41 | 0x42 | TIME_TICKS | 0x44 | 0x46 | 0x80
            | 0x81 | 0x82 => {}
            other => return Err(BerError::Unexpected(other)),
        }
    }
    Ok(())
}

/// The offsets of the four bytes of every `IpAddress` in the message `msg`, in order.
pub fn addresses(msg: &[u8]) -> Result<Vec<usize>, BerError> {
    let mut top = Reader::new(msg);
    let message = top.expect(SEQUENCE)?;
    let mut m = top.inside(&message);
    let version = m.expect(INTEGER)?;
    // As Linux, the version's first content byte: 0 (SNMPv1) or 1 (SNMPv2c).
    if version.start == version.end || msg[version.start] > 1 {
        return Err(BerError::Version);
    }
    m.expect(OCTET_STRING)?;
    let pdu = m.any()?;
    let mut p = m.inside(&pdu);
    let mut out = Vec::new();
    match pdu.tag {
        TRAP_V1 => {
            p.expect(OID)?;
            out.push(address(&p.expect(IP_ADDRESS)?)?);
            p.expect(INTEGER)?;
            p.expect(INTEGER)?;
            p.expect(TIME_TICKS)?;
        }
        0xa0..=0xa3 | GET_BULK | 0xa6..=0xa8 => {
            p.expect(INTEGER)?;
            p.expect(INTEGER)?;
            p.expect(INTEGER)?;
        }
        other => return Err(BerError::Unexpected(other)),
    }
    let list = p.expect(SEQUENCE)?;
    bindings(&mut p.inside(&list), &mut out)?;
    Ok(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A TLV with a short or long length.
    pub fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
        let mut v = vec![tag];
        if body.len() < 0x80 {
            v.push(body.len() as u8);
        } else {
            v.push(0x82);
            v.extend_from_slice(&(body.len() as u16).to_be_bytes());
        }
        v.extend_from_slice(body);
        v
    }

    fn cat(parts: &[Vec<u8>]) -> Vec<u8> {
        parts.concat()
    }

    /// A variable binding of `value` (already a TLV).
    pub fn binding(value: Vec<u8>) -> Vec<u8> {
        tlv(SEQUENCE, &cat(&[tlv(OID, &[0x2b, 6, 1, 2, 1]), value]))
    }

    /// An SNMPv1 trap from agent `agent` with `bindings`.
    pub fn trap_v1(agent: [u8; 4], bindings: &[Vec<u8>]) -> Vec<u8> {
        let pdu = cat(&[
            tlv(OID, &[0x2b, 6, 1, 4, 1, 0xbf, 0x08]),
            tlv(IP_ADDRESS, &agent),
            tlv(INTEGER, &[6]),
            tlv(INTEGER, &[1]),
            tlv(TIME_TICKS, &[0x12, 0x34]),
            tlv(SEQUENCE, &bindings.concat()),
        ]);
        tlv(
            SEQUENCE,
            &cat(&[
                tlv(INTEGER, &[0]),
                tlv(OCTET_STRING, b"public"),
                tlv(TRAP_V1, &pdu),
            ]),
        )
    }

    /// An SNMPv2c response with `bindings`.
    pub fn response_v2c(bindings: &[Vec<u8>]) -> Vec<u8> {
        let pdu = cat(&[
            tlv(INTEGER, &[0x11, 0x22]),
            tlv(INTEGER, &[0]),
            tlv(INTEGER, &[0]),
            tlv(SEQUENCE, &bindings.concat()),
        ]);
        tlv(
            SEQUENCE,
            &cat(&[
                tlv(INTEGER, &[1]),
                tlv(OCTET_STRING, b"public"),
                tlv(0xa2, &pdu),
            ]),
        )
    }

    #[test]
    fn a_v1_traps_agent_address_and_address_values_are_found() {
        let m = trap_v1(
            [10, 0, 0, 2],
            &[
                binding(tlv(IP_ADDRESS, &[10, 0, 0, 2])),
                binding(tlv(OCTET_STRING, b"x")),
                binding(tlv(IP_ADDRESS, &[10, 0, 0, 9])),
            ],
        );
        let at = addresses(&m).unwrap();
        assert_eq!(at.len(), 3);
        assert_eq!(&m[at[0]..at[0] + 4], &[10, 0, 0, 2]);
        assert_eq!(&m[at[2]..at[2] + 4], &[10, 0, 0, 9]);
    }

    #[test]
    fn a_v2c_response_with_long_lengths() {
        let many: Vec<Vec<u8>> = (0..40)
            .map(|i| binding(tlv(IP_ADDRESS, &[192, 0, 2, i])))
            .collect();
        let m = response_v2c(&many);
        assert!(m.len() > 255, "long-form lengths are used");
        let at = addresses(&m).unwrap();
        assert_eq!(at.len(), 40);
        assert_eq!(m[at[39] + 3], 39);
    }

    #[test]
    fn what_is_off_the_grammar_is_an_error() {
        let ok = response_v2c(&[binding(tlv(INTEGER, &[5]))]);
        assert_eq!(addresses(&ok), Ok(vec![]));
        // SNMPv3.
        let mut v3 = ok.clone();
        let at = v3.iter().position(|&b| b == INTEGER).unwrap();
        v3[at + 2] = 3;
        assert_eq!(addresses(&v3), Err(BerError::Version));
        // An address of five bytes.
        let bad = response_v2c(&[binding(tlv(IP_ADDRESS, &[1, 2, 3, 4, 5]))]);
        assert_eq!(addresses(&bad), Err(BerError::Address));
        // A value type the grammar lacks (BOOLEAN).
        let bad = response_v2c(&[binding(tlv(0x01, &[1]))]);
        assert_eq!(addresses(&bad), Err(BerError::Unexpected(0x01)));
        // Cut short, and every prefix of a valid message.
        for n in 0..ok.len() {
            assert!(addresses(&ok[..n]).is_err(), "{n} bytes");
        }
        // Indefinite length.
        assert_eq!(addresses(&[0x30, 0x80, 0, 0]), Err(BerError::Length));
        assert!(addresses(&[]).is_err());
    }
}
