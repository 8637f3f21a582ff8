//! Finding the FTP commands and replies that announce a data connection, the way
//! Linux's `nf_conntrack_ftp` does: a keyword at the very start of the payload (ASCII
//! case ignored), then an address and port in the RFC 959 form (`PORT`), the RFC 1123
//! reading of the `227` reply, or the RFC 2428 forms (`EPRT`, the `229` reply).
//!
//! Numbers are read as Linux reads them: decimal digits accumulate with wrap-around and
//! nothing checks that an octet is at most 255, so `256` spills into the neighbouring
//! octet (or the port's high byte) exactly as it does in the kernel.

use brickwall_helper_sdk::Direction;

/// Which announcement was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The client's `PORT h1,h2,h3,h4,p1,p2` (RFC 959).
    Port,
    /// The client's `EPRT |proto|address|port|` (RFC 2428).
    Eprt,
    /// The server's `227` reply to `PASV`.
    Pasv,
    /// The server's `229 (|||port|)` reply to `EPSV`.
    Epsv,
}

/// The address a command names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmdAddr {
    /// None given (the `229` reply): the sender's own address.
    Sender,
    /// An IPv4 address, network order.
    V4([u8; 4]),
    /// An IPv6 address, network order.
    V6([u8; 16]),
}

/// A parsed announcement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Command {
    /// Which one.
    pub kind: Kind,
    /// The address.
    pub addr: CmdAddr,
    /// The port.
    pub port: u16,
    /// Where the address and port text starts in the payload (Linux's `matchoff`).
    pub start: usize,
    /// Where it ends (exclusive): what a NAT helper rewrites is `start..end`.
    pub end: usize,
}

impl Command {
    /// The payload bytes holding the address and port: `h1,h2,h3,h4,p1,p2` of `PORT`
    /// and `227` (up to the byte ending the numbers), the whole `|1|addr|port|` of
    /// `EPRT`, the whole `|||port|` of `229`.
    pub fn text(&self) -> core::ops::Range<usize> {
        self.start..self.end
    }
}

/// What an argument parser read: the address, the port and the text's range within
/// the arguments.
struct Parsed {
    addr: CmdAddr,
    port: u16,
    start: usize,
    end: usize,
}

/// What a payload holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scan {
    /// No keyword: not an announcement.
    NoMatch,
    /// A keyword, but cut short or unreadable after it (Linux drops such a packet).
    Partial(Kind),
    /// A complete announcement.
    Found(Command),
}

/// A keyword and the byte after which its arguments start (if any).
struct Pattern {
    keyword: &'static [u8],
    skip_to: Option<u8>,
    kind: Kind,
}

/// What the client says, tried in order.
const CLIENT: [Pattern; 2] = [
    Pattern {
        keyword: b"PORT",
        skip_to: Some(b' '),
        kind: Kind::Port,
    },
    Pattern {
        keyword: b"EPRT",
        skip_to: Some(b' '),
        kind: Kind::Eprt,
    },
];

/// What the server says, tried in order.
const SERVER: [Pattern; 2] = [
    Pattern {
        keyword: b"227 ",
        skip_to: None,
        kind: Kind::Pasv,
    },
    Pattern {
        keyword: b"229 ",
        skip_to: Some(b'('),
        kind: Kind::Epsv,
    },
];

/// Looks for an announcement at the start of `payload`, sent in direction `dir` (the
/// client's commands travel Original, the server's replies Reply) on a connection of
/// the family `v6` says (`EPRT` must name the same family).
pub fn scan(dir: Direction, payload: &[u8], v6: bool) -> Scan {
    let patterns = match dir {
        Direction::Original => &CLIENT,
        Direction::Reply => &SERVER,
    };
    for p in patterns {
        match scan_one(p, payload, v6) {
            Scan::NoMatch => continue,
            found => return found,
        }
    }
    Scan::NoMatch
}

fn scan_one(p: &Pattern, data: &[u8], v6: bool) -> Scan {
    if data.len() <= p.keyword.len() {
        // Too short to tell: a payload that could still grow into the keyword is
        // treated as a cut-off command.
        let prefix = p.keyword.get(..data.len()).unwrap_or(p.keyword);
        return if data.eq_ignore_ascii_case(prefix) {
            Scan::Partial(p.kind)
        } else {
            Scan::NoMatch
        };
    }
    let Some((head, mut args)) = data.split_at_checked(p.keyword.len()) else {
        return Scan::NoMatch;
    };
    if !head.eq_ignore_ascii_case(p.keyword) {
        return Scan::NoMatch;
    }
    // Where `args` starts in the payload.
    let mut base = p.keyword.len();
    if let Some(skip) = p.skip_to {
        match args.iter().position(|&c| c == skip) {
            Some(at) => {
                args = args.get(at + 1..).unwrap_or(&[]);
                base += at + 1;
            }
            None => return Scan::Partial(p.kind),
        }
    }
    let parsed = match p.kind {
        Kind::Port => rfc959(args, Some(b'\r')),
        Kind::Pasv => rfc1123(args),
        Kind::Eprt => eprt(args, v6),
        Kind::Epsv => epsv(args),
    };
    match parsed {
        Some(r) => Scan::Found(Command {
            kind: p.kind,
            addr: r.addr,
            port: r.port,
            start: base + r.start,
            end: base + r.end,
        }),
        None => Scan::Partial(p.kind),
    }
}

/// Reads `N` decimal numbers separated by `sep` (an empty one counts as 0) and ended,
/// right after the last, by `term` (`None`: by any other byte). Returns them and the
/// terminator's offset.
fn numbers<const N: usize>(data: &[u8], sep: u8, term: Option<u8>) -> Option<([u32; N], usize)> {
    let mut vals = [0u32; N];
    let mut i = 0;
    for (at, &c) in data.iter().enumerate() {
        let slot = vals.get_mut(i)?;
        if c.is_ascii_digit() {
            *slot = slot.wrapping_mul(10).wrapping_add(u32::from(c - b'0'));
        } else if c == sep {
            i += 1;
        } else if term.is_none_or(|t| t == c) && i + 1 == N {
            return Some((vals, at));
        } else {
            return None;
        }
    }
    None
}

/// An IPv4 address from four numbers, combined as Linux combines them (no range check).
fn v4_from(n: [u32; 4]) -> [u8; 4] {
    let [a, b, c, d] = n;
    ((a << 24) | (b << 16) | (c << 8) | d).to_be_bytes()
}

/// `h1,h2,h3,h4,p1,p2` followed by `term` (the text ends before it).
fn rfc959(data: &[u8], term: Option<u8>) -> Option<Parsed> {
    let ([a, b, c, d, p1, p2], end) = numbers::<6>(data, b',', term)?;
    let port = ((p1 << 8) | p2) as u16;
    Some(Parsed {
        addr: CmdAddr::V4(v4_from([a, b, c, d])),
        port,
        start: 0,
        end,
    })
}

/// The `227` reply: per RFC 1123 the parentheses may be missing, so the six numbers
/// start at the first digit and end at any byte that is neither a digit nor a comma.
fn rfc1123(data: &[u8]) -> Option<Parsed> {
    let first = data.iter().position(u8::is_ascii_digit)?;
    let r = rfc959(data.get(first..)?, None)?;
    Some(Parsed {
        start: first,
        end: first + r.end,
        ..r
    })
}

/// Whether `d` may delimit RFC 2428 fields (printable ASCII, not a digit).
fn is_delimiter(d: u8) -> bool {
    (33..=126).contains(&d) && !d.is_ascii_digit()
}

/// A port: decimal digits (wrapping modulo 2^16), then `delim`; returns it and the
/// delimiter's offset. Port 0 is refused.
fn port_before(data: &[u8], delim: u8) -> Option<(u16, usize)> {
    let mut port: u16 = 0;
    for (at, &c) in data.iter().enumerate() {
        if c == delim {
            return (port != 0).then_some((port, at));
        }
        if !c.is_ascii_digit() {
            return None;
        }
        port = port.wrapping_mul(10).wrapping_add(u16::from(c - b'0'));
    }
    None
}

/// `|1|a.b.c.d|port|` or `|2|ipv6|port|` (any delimiter allowed by RFC 2428), the
/// protocol matching the connection's family; the text is all of it, delimiters
/// included.
fn eprt(data: &[u8], v6: bool) -> Option<Parsed> {
    let [d, proto, d2, ..] = *data else {
        return None;
    };
    if data.len() <= 3 || !is_delimiter(d) || d2 != d {
        return None;
    }
    let want = if v6 { b'2' } else { b'1' };
    if proto != want {
        return None;
    }
    let rest = data.get(3..)?;
    let (addr, len) = if v6 {
        let (a, len) = ipv6_text(rest, d)?;
        (CmdAddr::V6(a), len)
    } else {
        let (n, len) = numbers::<4>(rest, b'.', Some(d))?;
        (CmdAddr::V4(v4_from(n)), len)
    };
    // Step over the address and the delimiter that ends it.
    let (port, at) = port_before(rest.get(len + 1..)?, d)?;
    Some(Parsed {
        addr,
        port,
        start: 0,
        // "|1|", the address, its delimiter, the port and the last delimiter.
        end: 3 + len + 1 + at + 1,
    })
}

/// The `229` reply's `|||port|` (after the opening parenthesis), all of it the text.
fn epsv(data: &[u8]) -> Option<Parsed> {
    let [d, d1, d2, ..] = *data else {
        return None;
    };
    if data.len() <= 3 || !is_delimiter(d) || d1 != d || d2 != d {
        return None;
    }
    let (port, at) = port_before(data.get(3..)?, d)?;
    Some(Parsed {
        addr: CmdAddr::Sender,
        port,
        start: 0,
        end: 3 + at + 1,
    })
}

/// An IPv6 address in text (RFC 4291 section 2.2) ended by `delim` (or, as in Linux,
/// a NUL byte); returns it and the terminator's offset.
fn ipv6_text(data: &[u8], delim: u8) -> Option<([u8; 16], usize)> {
    let end = data.iter().position(|&c| c == delim || c == 0)?;
    let addr = ipv6_from(data.get(..end)?)?;
    Some((addr, end))
}

/// Parses a whole IPv6 text: eight groups, or fewer around one `::` that stands for at
/// least one zero group; the last 32 bits may be written as a dotted IPv4 address.
pub fn ipv6_from(text: &[u8]) -> Option<[u8; 16]> {
    let gap = text.windows(2).position(|w| w == b"::");
    let (head, tail) = match gap {
        Some(at) => (text.get(..at)?, text.get(at + 2..)?),
        None => (text, &[][..]),
    };
    let mut front = Groups::default();
    let mut back = Groups::default();
    front.read(head, gap.is_none())?;
    if gap.is_some() {
        back.read(tail, true)?;
        if front.len + back.len > 7 {
            return None;
        }
    } else if front.len != 8 {
        return None;
    }
    let mut words = [0u16; 8];
    for (w, g) in words.iter_mut().zip(front.as_slice()) {
        *w = *g;
    }
    for (w, g) in words.iter_mut().rev().zip(back.as_slice().iter().rev()) {
        *w = *g;
    }
    let mut out = [0u8; 16];
    for (o, w) in out.chunks_exact_mut(2).zip(words) {
        o.copy_from_slice(&w.to_be_bytes());
    }
    Some(out)
}

/// Up to eight 16-bit groups of one side of `::`.
#[derive(Default)]
struct Groups {
    vals: [u16; 8],
    len: usize,
}

impl Groups {
    fn as_slice(&self) -> &[u16] {
        self.vals.get(..self.len).unwrap_or(&[])
    }

    fn push(&mut self, v: u16) -> Option<()> {
        *self.vals.get_mut(self.len)? = v;
        self.len += 1;
        Some(())
    }

    /// Reads colon-separated groups (none if `part` is empty); the last may be a dotted
    /// IPv4 address if `v4_last`.
    fn read(&mut self, part: &[u8], v4_last: bool) -> Option<()> {
        if part.is_empty() {
            return Some(());
        }
        let mut fields = part.split(|&c| c == b':').peekable();
        while let Some(f) = fields.next() {
            let last = fields.peek().is_none();
            if last && v4_last && f.contains(&b'.') {
                let [a, b, c, d] = dotted_v4(f)?;
                self.push(u16::from_be_bytes([a, b]))?;
                self.push(u16::from_be_bytes([c, d]))?;
            } else {
                self.push(hex_group(f)?)?;
            }
        }
        Some(())
    }
}

/// One group: hex digits worth at most 0xffff (Linux accepts extra leading zeros).
fn hex_group(f: &[u8]) -> Option<u16> {
    if f.is_empty() {
        return None;
    }
    let mut v: u32 = 0;
    for &c in f {
        let digit = char::from(c).to_digit(16)?;
        v = (v << 4) | digit;
        if v > 0xffff {
            return None;
        }
    }
    u16::try_from(v).ok()
}

/// `a.b.c.d` with four decimal octets of at most 255.
fn dotted_v4(f: &[u8]) -> Option<[u8; 4]> {
    let mut out = [0u8; 4];
    let mut parts = f.split(|&c| c == b'.');
    for o in out.iter_mut() {
        let p = parts.next()?;
        if p.is_empty() {
            return None;
        }
        let mut v: u16 = 0;
        for &c in p {
            if !c.is_ascii_digit() {
                return None;
            }
            v = v * 10 + u16::from(c - b'0');
            if v > 255 {
                return None;
            }
        }
        *o = u8::try_from(v).ok()?;
    }
    parts.next().is_none().then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Direction::{Original, Reply};

    fn found(dir: Direction, p: &[u8], v6: bool) -> Command {
        match scan(dir, p, v6) {
            Scan::Found(c) => c,
            other => panic!("{:?}: {other:?}", String::from_utf8_lossy(p)),
        }
    }

    fn v6(s: &str) -> [u8; 16] {
        s.parse::<std::net::Ipv6Addr>()
            .expect("test address")
            .octets()
    }

    #[test]
    fn port_and_pasv() {
        let c = found(Original, b"PORT 172,23,0,3,174,127\r\n", false);
        assert_eq!(
            c,
            Command {
                kind: Kind::Port,
                addr: CmdAddr::V4([172, 23, 0, 3]),
                port: 44671,
                start: 5,
                end: 23,
            }
        );
        let c = found(
            Reply,
            b"227 Entering Passive Mode (90,130,70,73,100,85).\r\n",
            false,
        );
        assert_eq!(
            (c.kind, c.addr, c.port),
            (Kind::Pasv, CmdAddr::V4([90, 130, 70, 73]), 25685)
        );
        let c = found(
            Reply,
            b"227 Entering Passive Mode 90,130,70,73,95,203\r\n",
            false,
        );
        assert_eq!((c.addr, c.port), (CmdAddr::V4([90, 130, 70, 73]), 24523));
        // The server's replies are not looked for in the client's direction and back.
        assert_eq!(scan(Reply, b"PORT 1,2,3,4,5,6\r\n", false), Scan::NoMatch);
        assert_eq!(
            scan(
                Original,
                b"227 Entering Passive Mode (1,2,3,4,5,6)\r\n",
                false
            ),
            Scan::NoMatch
        );
    }

    #[test]
    fn the_text_is_the_address_and_port() {
        for (dir, p, text, v6) in [
            (
                Original,
                &b"PORT 172,23,0,3,174,127\r\n"[..],
                &b"172,23,0,3,174,127"[..],
                false,
            ),
            (Original, b"port 1,,3,4,0,\r\n", b"1,,3,4,0,", false),
            (
                Reply,
                b"227 Entering Passive Mode (90,130,70,73,100,85).\r\n",
                b"90,130,70,73,100,85",
                false,
            ),
            (Reply, b"227 =1,2,3,4,5,6\r\n", b"1,2,3,4,5,6", false),
            (
                Original,
                b"EPRT |1|132.235.1.2|6275|\r\n",
                b"|1|132.235.1.2|6275|",
                false,
            ),
            (
                Original,
                b"eprt !2!::ffff:10.0.0.1!21!",
                b"!2!::ffff:10.0.0.1!21!",
                true,
            ),
            (
                Reply,
                b"229 Entering Extended Passive Mode (|||57086|)\r\n",
                b"|||57086|",
                false,
            ),
            (Reply, b"229 x (!!!21!", b"!!!21!", true),
        ] {
            let c = found(dir, p, v6);
            assert_eq!(&p[c.text()], text, "{:?}", String::from_utf8_lossy(p));
        }
    }

    #[test]
    fn port_needs_a_carriage_return_after_the_numbers() {
        assert_eq!(
            scan(Original, b"PORT 1,2,3,4,5,6\n", false),
            Scan::Partial(Kind::Port)
        );
        assert_eq!(
            scan(Original, b"PORT 1,2,3,4,5,6 \r\n", false),
            Scan::Partial(Kind::Port)
        );
        assert_eq!(
            scan(Original, b"PORT 1,2,3,4,5,6,\r\n", false),
            Scan::Partial(Kind::Port),
            "a seventh field"
        );
        // Empty fields count as zero, like Linux.
        let c = found(Original, b"PORT 1,,3,4,0,\r\n", false);
        assert_eq!((c.addr, c.port), (CmdAddr::V4([1, 0, 3, 4]), 0));
    }

    #[test]
    fn eprt_both_families() {
        let c = found(Original, b"EPRT |1|132.235.1.2|6275|\r\n", false);
        assert_eq!(
            (c.kind, c.addr, c.port),
            (Kind::Eprt, CmdAddr::V4([132, 235, 1, 2]), 6275)
        );
        let c = found(
            Original,
            b"EPRT |2|2001:470:1f11:81f:c999:d94:aa7c:2e3e|49189|\r\n",
            true,
        );
        assert_eq!(
            c.addr,
            CmdAddr::V6(v6("2001:470:1f11:81f:c999:d94:aa7c:2e3e"))
        );
        assert_eq!(c.port, 49189);
        let c = found(Original, b"eprt !2!::ffff:10.0.0.1!21!", true);
        assert_eq!((c.addr, c.port), (CmdAddr::V6(v6("::ffff:10.0.0.1")), 21));
        // The protocol must be the connection's.
        assert_eq!(
            scan(Original, b"EPRT |2|::1|80|\r\n", false),
            Scan::Partial(Kind::Eprt)
        );
        assert_eq!(
            scan(Original, b"EPRT |1|1.2.3.4|80|\r\n", true),
            Scan::Partial(Kind::Eprt)
        );
        // Bad delimiters and ports.
        for bad in [
            &b"EPRT 1|1|1.2.3.4|80|\r\n"[..],
            b"EPRT  1 1.2.3.4 80 \r\n",
            b"EPRT |1!1.2.3.4|80|\r\n",
            b"EPRT |1|1.2.3.4|0|\r\n",
            b"EPRT |1|1.2.3.4|80\r\n",
            b"EPRT |1|1.2.3.4.5|80|\r\n",
            b"EPRT |1|",
        ] {
            assert_eq!(
                scan(Original, bad, false),
                Scan::Partial(Kind::Eprt),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn epsv() {
        let c = found(
            Reply,
            b"229 Entering Extended Passive Mode (|||57086|)\r\n",
            true,
        );
        assert_eq!(
            (c.kind, c.addr, c.port),
            (Kind::Epsv, CmdAddr::Sender, 57086)
        );
        let c = found(Reply, b"229 x (!!!21!", false);
        assert_eq!(c.port, 21);
        for bad in [
            &b"229 Entering Extended Passive Mode (|||0|)\r\n"[..],
            b"229 Entering Extended Passive Mode |||57086|\r\n",
            b"229 Entering Extended Passive Mode (||57086|)\r\n",
            b"229 Entering Extended Passive Mode (111222|)\r\n",
            b"229 (|||",
            b"229 (",
        ] {
            assert_eq!(
                scan(Reply, bad, false),
                Scan::Partial(Kind::Epsv),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn keywords_ignore_case_and_must_start_the_payload() {
        assert_eq!(found(Original, b"port 10,0,0,1,0,21\r\n", false).port, 21);
        assert_eq!(found(Original, b"pOrT 10,0,0,1,0,21\r\n", false).port, 21);
        assert_eq!(found(Original, b"ePrT |1|10.0.0.1|21|\r\n", false).port, 21);
        assert_eq!(
            scan(Original, b" PORT 10,0,0,1,0,21\r\n", false),
            Scan::NoMatch
        );
        assert_eq!(
            scan(Original, b"XPORT 10,0,0,1,0,21\r\n", false),
            Scan::NoMatch
        );
        assert_eq!(
            scan(Reply, b"200 PORT command successful.\r\n", false),
            Scan::NoMatch
        );
        assert_eq!(scan(Reply, b"2270 (1,2,3,4,5,6)\r\n", false), Scan::NoMatch);
    }

    #[test]
    fn cut_short_or_unreadable_is_partial() {
        for p in [
            &b"P"[..],
            b"po",
            b"POR",
            b"PORT",
            b"PORT 1,2,3",
            b"PORT\r\n",
            b"E",
            b"EPR",
        ] {
            assert!(
                matches!(scan(Original, p, false), Scan::Partial(_)),
                "{p:?}"
            );
        }
        for p in [
            &b"2"[..],
            b"22",
            b"227",
            b"227 ",
            b"229",
            b"229 ",
            b"227 \r\n",
            b"229 \r\n",
        ] {
            assert!(matches!(scan(Reply, p, false), Scan::Partial(_)), "{p:?}");
        }
        assert_eq!(scan(Original, b"Q", false), Scan::NoMatch);
        assert_eq!(scan(Original, b"", false), Scan::Partial(Kind::Port));
        // The 227 scan starts at the first digit: other digits before it break it.
        assert_eq!(
            scan(Reply, b"227 Mode 2 (1,2,3,4,5,6)\r\n", false),
            Scan::Partial(Kind::Pasv)
        );
    }

    #[test]
    fn numbers_wrap_like_linux() {
        // 256 in the first port byte shifts out of the 16-bit port.
        assert_eq!(found(Original, b"PORT 1,2,3,4,256,1\r\n", false).port, 1);
        // 256 in an octet ORs into the one before it.
        assert_eq!(
            found(Original, b"PORT 1,2,4,256,0,1\r\n", false).addr,
            CmdAddr::V4([1, 2, 5, 0])
        );
        // Very long numbers wrap silently.
        let c = found(
            Original,
            b"PORT 1,2,3,4,0,99999999999999999999999999\r\n",
            false,
        );
        assert_eq!(c.addr, CmdAddr::V4([1, 2, 3, 4]));
        let c = found(Reply, b"229 (|||65537|)\r\n", false);
        assert_eq!(c.port, 1);
        assert!(matches!(
            scan(Reply, b"229 (|||65536|)\r\n", false),
            Scan::Partial(_)
        ));
    }

    #[test]
    fn ipv6_text_forms() {
        for s in [
            "::",
            "::1",
            "1::",
            "2001:db8::1",
            "1:2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7::",
            "::2:3:4:5:6:7:8",
            "::ffff:1.2.3.4",
            "::1.2.3.4",
            "1:2:3:4:5:6:1.2.3.4",
            "FE80::ABCD",
        ] {
            assert_eq!(ipv6_from(s.as_bytes()), Some(v6(s)), "{s}");
        }
        assert_eq!(
            ipv6_from(b"00001::"),
            Some(v6("1::")),
            "Linux's extra leading zeros"
        );
        for s in [
            "",
            ":",
            ":::",
            "1:2:3",
            "1::2::3",
            "12345::",
            "1:2:3:4:5:6:7:8:9",
            "1:2:3:4::5:6:7:8",
            ":1:2:3:4:5:6:7",
            "1:2:3:4:5:6:7:",
            "g::",
            "1.2.3.4",
            "1.2.3.4::",
            "::1.2.3",
            "::1.2.3.256",
            "1:2:3:4:5:6:7:1.2.3.4",
        ] {
            assert_eq!(ipv6_from(s.as_bytes()), None, "{s}");
        }
    }
}
