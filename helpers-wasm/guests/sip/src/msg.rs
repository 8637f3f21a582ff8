//! SIP messages as Linux's `nf_conntrack_sip` reads them: the start line (a request's
//! method, a response's status code), header lines by full or compact name (folded
//! continuation lines included, CR, LF or CRLF line ends), the numbers and the
//! `sip:` URIs they carry, and the framing of messages on a TCP stream by
//! `Content-Length`.
//!
//! Offsets are into the message as given; nothing here allocates.

use crate::addr;
use brickwall_helper_sdk::Addr;

/// The port a SIP URI without one means.
pub const SIP_PORT: u16 = 5060;

/// The shortest message read at all (`SIP/2.0 200`).
pub const MIN_LEN: usize = 11;

/// A header the helper reads: its name, its compact form, and the text its value is
/// searched for (the URI scheme, for the headers holding one).
#[derive(Clone, Copy, Debug)]
pub struct Header {
    /// Full name (compared without case, as a prefix of the line).
    pub name: &'static [u8],
    /// One-letter compact form, when the header has one.
    pub compact: Option<u8>,
    /// Text searched for within the value; the match starts after it.
    pub search: Option<&'static [u8]>,
}

/// `CSeq`.
pub const CSEQ: Header = Header {
    name: b"CSeq",
    compact: None,
    search: None,
};
/// `Contact` (`m`), at its `sip:` URI.
pub const CONTACT: Header = Header {
    name: b"Contact",
    compact: Some(b'm'),
    search: Some(b"sip:"),
};
/// `Expires`.
pub const EXPIRES: Header = Header {
    name: b"Expires",
    compact: None,
    search: None,
};
/// `Content-Length` (`l`).
pub const CONTENT_LENGTH: Header = Header {
    name: b"Content-Length",
    compact: Some(b'l'),
    search: None,
};
/// `Call-ID` (`i`).
pub const CALL_ID: Header = Header {
    name: b"Call-ID",
    compact: Some(b'i'),
    search: None,
};

/// What a header lookup found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Found {
    /// No such header after the offset.
    Missing,
    /// The header is there but its value lacks the searched text; `at` is where its
    /// value starts (a walk over several headers goes on from there).
    Unreadable {
        /// Start of the value.
        at: usize,
    },
    /// The value (after the searched text, if any) starts at `at`.
    At {
        /// Start of the match.
        at: usize,
    },
}

/// The methods whose messages the helper reads (Linux's handler table).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// `INVITE`.
    Invite,
    /// `UPDATE`.
    Update,
    /// `ACK`.
    Ack,
    /// `PRACK`.
    Prack,
    /// `BYE`.
    Bye,
    /// `REGISTER`.
    Register,
}

/// The handler table's order: a name matches as a prefix, so `PRACK` must not be
/// mistaken for anything shorter and nothing here is a prefix of another.
const METHODS: [(&[u8], Method); 6] = [
    (b"INVITE", Method::Invite),
    (b"UPDATE", Method::Update),
    (b"ACK", Method::Ack),
    (b"PRACK", Method::Prack),
    (b"BYE", Method::Bye),
    (b"REGISTER", Method::Register),
];

fn starts_with_nocase(s: &[u8], prefix: &[u8]) -> bool {
    s.len() >= prefix.len() && s[..prefix.len()].eq_ignore_ascii_case(prefix)
}

/// Whether the message is a response (`SIP/2.0 ` without case).
pub fn is_response(msg: &[u8]) -> bool {
    starts_with_nocase(msg, b"SIP/2.0 ")
}

/// A decimal number at `at` as the kernel's `simple_strtoul` reads it (wrapping, no
/// sign, no leading blanks) and how many digits it had.
pub fn number(msg: &[u8], at: usize) -> (u64, usize) {
    let digits = msg
        .get(at..)
        .unwrap_or_default()
        .iter()
        .take_while(|c| c.is_ascii_digit())
        .count();
    let value = msg[at.min(msg.len())..][..digits]
        .iter()
        .fold(0u64, |v, d| {
            v.wrapping_mul(10).wrapping_add(u64::from(d - b'0'))
        });
    (value, digits)
}

/// A response's status code (0 when there are no digits after `SIP/2.0 `).
pub fn status_code(msg: &[u8]) -> u32 {
    number(msg, 8).0 as u32
}

/// The request's method, when the message starts with one of the handled methods
/// followed by a space and a letter.
pub fn request_method(msg: &[u8]) -> Option<Method> {
    METHODS.iter().find_map(|&(name, m)| {
        let next = msg.get(name.len()..name.len() + 2)?;
        (starts_with_nocase(msg, name) && next[0] == b' ' && next[1].is_ascii_alphabetic())
            .then_some(m)
    })
}

/// The method a response answers: the name right after the `CSeq` number and one
/// separating byte (`at` is that byte's offset + 1).
pub fn response_method(msg: &[u8], at: usize) -> Option<Method> {
    let rest = msg.get(at..)?;
    METHODS
        .iter()
        .find_map(|&(name, m)| starts_with_nocase(rest, name).then_some(m))
}

/// The `CSeq` number and the offset just past the byte after it (where a response's
/// method starts). `None`: no `CSeq`, no digits, or a 0 not written as one (Linux drops
/// such a message).
pub fn cseq(msg: &[u8]) -> Option<(u32, usize)> {
    let Found::At { at } = header(msg, 0, &CSEQ) else {
        return None;
    };
    let (value, len) = number(msg, at);
    if len == 0 || (value as u32 == 0 && msg[at] != b'0') {
        return None;
    }
    Some((value as u32, at + len + 1))
}

/// The start of the line after the line break at `at` (CR, LF or CRLF), when that line
/// continues the previous one (starts with a blank): past its leading blanks. `None`
/// when the next line is a new one or the message ends.
fn follow_continuation(msg: &[u8], at: usize) -> Option<usize> {
    let mut i = at + 1;
    if msg.get(at) == Some(&b'\r') && msg.get(i) == Some(&b'\n') {
        i += 1;
    }
    if !matches!(msg.get(i), Some(b' ' | b'\t')) {
        return None;
    }
    while matches!(msg.get(i), Some(b' ' | b'\t')) {
        i += 1;
    }
    (i < msg.len()).then_some(i)
}

/// Past spaces and line folds at `at`; `None` when a line break ends the header or
/// the message ends.
fn skip_blanks(msg: &[u8], mut at: usize) -> Option<usize> {
    loop {
        match msg.get(at)? {
            b' ' => at += 1,
            b'\r' | b'\n' => at = follow_continuation(msg, at)?,
            _ => return Some(at),
        }
    }
}

/// The first occurrence of `needle` (without case) in a header value from `at`,
/// following folded lines; `None` when the header ends first.
pub fn search_value(msg: &[u8], at: usize, needle: &[u8]) -> Option<usize> {
    let limit = msg.len().checked_sub(needle.len())?;
    let mut i = at;
    while i < limit {
        if matches!(msg[i], b'\r' | b'\n') {
            i = follow_continuation(msg, i)?;
            continue;
        }
        if msg[i..i + needle.len()].eq_ignore_ascii_case(needle) {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// The offset just past the first line break (CR, LF or CRLF) at or after `at`; `None`
/// when the message has no line break there.
pub fn after_line_break(msg: &[u8], at: usize) -> Option<usize> {
    let i = at
        + msg
            .get(at..)?
            .iter()
            .position(|c| matches!(c, b'\r' | b'\n'))?;
    let crlf = msg[i] == b'\r' && msg.get(i + 1) == Some(&b'\n');
    Some(i + 1 + usize::from(crlf))
}

/// Finds header `h` on a line that starts after a line break at or after `from`
/// (the start line is never a header): the name in full or compact form (the
/// compact one followed by a non-letter), blanks, a colon, blanks, then the value.
pub fn header(msg: &[u8], from: usize, h: &Header) -> Found {
    let mut i = from;
    while let Some(start) = after_line_break(msg, i) {
        i = start;
        let Some(&first) = msg.get(i) else {
            break;
        };
        if first == b' ' || first == b'\t' {
            continue;
        }
        let rest = &msg[i..];
        if starts_with_nocase(rest, h.name) {
            i += h.name.len();
        } else if h.compact.is_some_and(|c| {
            rest.len() > 1 && rest[0].eq_ignore_ascii_case(&c) && !rest[1].is_ascii_alphabetic()
        }) {
            i += 1;
        } else {
            continue;
        }
        let Some(colon) = skip_blanks(msg, i) else {
            break;
        };
        if msg[colon] != b':' || colon + 1 >= msg.len() {
            break;
        }
        let Some(value) = skip_blanks(msg, colon + 1) else {
            break;
        };
        return match h.search {
            None => Found::At { at: value },
            Some(needle) => match search_value(msg, value, needle) {
                Some(p) => Found::At {
                    at: p + needle.len(),
                },
                None => Found::Unreadable { at: value },
            },
        };
    }
    Found::Missing
}

/// A decimal header value (`CSeq`, `Expires`, `Content-Length`): `None` when the
/// header is missing or its value has no digits.
pub fn header_number(msg: &[u8], h: &Header) -> Option<(u64, usize)> {
    let Found::At { at } = header(msg, 0, h) else {
        return None;
    };
    let (v, len) = number(msg, at);
    (len > 0).then_some((v, at + len))
}

/// A URI's host and port, as found in a header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Uri {
    /// The host address.
    pub addr: Addr,
    /// The port (5060 when the URI has none).
    pub port: u16,
    /// Offset just past the host and port (where parameters start).
    pub end: usize,
}

/// What reading the first readable URI of a header found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UriFound {
    /// No such header with a readable URI.
    Missing,
    /// A header whose host is not an address or whose port is out of 1024..=65535
    /// (Linux drops the message).
    Bad,
    /// The URI.
    Uri(Uri),
}

/// The length of a URI's `host[:port]` at `at` once a `user@` part (on the same line)
/// is skipped: the offset of the host and the length, or `None` when it is no address.
fn host_port(msg: &[u8], at: usize, v6: bool) -> Option<(usize, usize)> {
    let rest = msg.get(at..)?;
    let line = rest
        .iter()
        .position(|c| matches!(c, b'@' | b'\r' | b'\n'))
        .unwrap_or(rest.len());
    let host = if rest.get(line) == Some(&b'@') {
        at + line + 1
    } else {
        at
    };
    let (_, mut len) = addr::uri_host(&msg[host..], v6)?;
    if msg.get(host + len) == Some(&b':') {
        len += 1 + number(msg, host + len + 1).1;
    }
    Some((host, len))
}

/// The first header `h` (from offset `from`) whose value holds a readable URI
/// (`sip:` then `user@` then an address of the connection's family), with its port.
pub fn uri(msg: &[u8], mut from: usize, h: &Header, v6: bool) -> UriFound {
    loop {
        let at = match header(msg, from, h) {
            Found::Missing => return UriFound::Missing,
            Found::Unreadable { at } => {
                from = at;
                continue;
            }
            Found::At { at } => at,
        };
        let Some((host, _)) = host_port(msg, at, v6) else {
            from = at;
            continue;
        };
        let Some((addr, len)) = addr::uri_host(&msg[host..], v6) else {
            return UriFound::Bad;
        };
        let mut end = host + len;
        let port = if msg.get(end) == Some(&b':') {
            let (p, digits) = number(msg, end + 1);
            end += 1 + digits;
            let p = p as u32;
            if !(1024..=65535).contains(&p) {
                return UriFound::Bad;
            }
            p as u16
        } else {
            SIP_PORT
        };
        return UriFound::Uri(Uri { addr, port, end });
    }
}

/// The end of the header parameter list at `at`: the next comma of the header (a
/// new value), or the end of the message.
fn params_end(msg: &[u8], at: usize) -> usize {
    search_value(msg, at, b",").unwrap_or(msg.len())
}

/// A parameter's value start (`name` includes its `=`), searched from `at` to the end
/// of the header value.
pub fn param(msg: &[u8], at: usize, name: &[u8]) -> Option<usize> {
    let end = params_end(msg, at);
    let p = search_value(&msg[..end], at, name)?;
    Some(p + name.len())
}

/// A numerical parameter (`expires=`), read as C's `strtoul` with base 0 reads it
/// (`0x` hexadecimal, a leading `0` octal, else decimal); `None` when absent or
/// without digits.
pub fn numeric_param(msg: &[u8], at: usize, name: &[u8]) -> Option<u32> {
    let p = param(msg, at, name)?;
    let s = &msg[p..];
    let (radix, skip) = if s.len() > 2 && s[0] == b'0' && matches!(s[1], b'x' | b'X') {
        if s[2].is_ascii_hexdigit() {
            (16, 2)
        } else {
            // "0x" without digits: the 0 alone.
            return Some(0);
        }
    } else if s.first() == Some(&b'0') {
        (8, 0)
    } else {
        (10, 0)
    };
    let mut value = 0u64;
    let mut n = 0;
    for &c in &s[skip..] {
        let Some(d) = (c as char).to_digit(radix) else {
            break;
        };
        value = value
            .wrapping_mul(u64::from(radix))
            .wrapping_add(u64::from(d));
        n += 1;
    }
    (n > 0).then_some(value as u32)
}

/// The transport a URI's `transport=` parameter names: `Some(proto)` as the
/// connection's `proto` when absent or equal, `None` when it names another (or one
/// that is neither TCP nor UDP).
pub fn transport(msg: &[u8], at: usize, proto: u8) -> Option<u8> {
    let Some(p) = param(msg, at, b"transport=") else {
        return Some(proto);
    };
    let named = if starts_with_nocase(&msg[p..], b"TCP") {
        6
    } else if starts_with_nocase(&msg[p..], b"UDP") {
        17
    } else {
        return None;
    };
    (named == proto).then_some(proto)
}

/// The messages at the start of a TCP segment, as Linux frames them: each needs a
/// `Content-Length` with digits, a blank line after it, and all its body in the
/// segment. Returns the ranges of the whole messages, in order; the first one that
/// is not whole ends the list.
pub fn tcp_messages(payload: &[u8]) -> impl Iterator<Item = core::ops::Range<usize>> + '_ {
    let mut start = 0usize;
    core::iter::from_fn(move || {
        let msg = payload.get(start..)?;
        let Found::At { at } = header(msg, 0, &CONTENT_LENGTH) else {
            return None;
        };
        let (clen, digits) = number(msg, at);
        if digits == 0 {
            return None;
        }
        let after = at + digits;
        let blank = msg
            .get(after..)?
            .windows(4)
            .position(|w| w == b"\r\n\r\n")?;
        let len = (after + blank + 4).checked_add(usize::try_from(clen).ok()?)?;
        if len > msg.len() {
            return None;
        }
        let range = start..start + len;
        start += len;
        Some(range)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const INVITE: &[u8] = b"INVITE sip:bob@10.0.0.2 SIP/2.0\r\n\
        Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1\r\n\
        From: <sip:alice@10.0.0.1>;tag=1\r\n\
        To: <sip:bob@10.0.0.2>\r\n\
        Call-ID: a84b4c76e66710@pc33\r\n\
        CSeq: 314159 INVITE\r\n\
        Contact: <sip:alice@10.0.0.1:5070>\r\n\
        Content-Length: 4\r\n\r\nbody";

    #[test]
    fn headers_by_full_and_compact_name() {
        assert_eq!(cseq(INVITE).map(|c| c.0), Some(314159));
        let at = cseq(INVITE).unwrap().1;
        assert_eq!(response_method(INVITE, at), Some(Method::Invite));
        assert_eq!(header_number(INVITE, &CONTENT_LENGTH).map(|x| x.0), Some(4));
        let compact =
            b"ACK sip:b@h SIP/2.0\nv: SIP/2.0/UDP h\ni : abc@def\nl: 7\nm: <sip:10.0.0.1>\n\n";
        assert_eq!(
            header_number(compact, &CONTENT_LENGTH).map(|x| x.0),
            Some(7)
        );
        // Only spaces are skipped around the colon (a tab is part of the value).
        assert_eq!(header_number(b"X\nl:\t7\n", &CONTENT_LENGTH), None);
        assert!(matches!(header(compact, 0, &CALL_ID), Found::At { .. }));
        // A compact name must not be the first letter of a longer one.
        assert_eq!(
            header(b"X y\r\nMax-Forwards: 70\r\nmax: 1\r\n", 0, &CONTACT),
            Found::Missing
        );
        // Names are compared without case; the start line is never a header.
        assert_eq!(
            header_number(b"CSeq: 1 X\r\ncseq: 9 INVITE\r\n", &CSEQ).map(|x| x.0),
            Some(9)
        );
    }

    #[test]
    fn folded_lines_and_bare_line_ends() {
        let m = b"REGISTER sip:r SIP/2.0\r\nCSeq:\r\n  42 REGISTER\rContact:\n\t<sip:u@10.0.0.1:5062>\n\n";
        assert_eq!(cseq(m).map(|c| c.0), Some(42));
        assert_eq!(
            uri(m, 0, &CONTACT, false),
            UriFound::Uri(Uri {
                addr: Addr::V4([10, 0, 0, 1]),
                port: 5062,
                end: m.len() - 3,
            })
        );
    }

    #[test]
    fn start_lines() {
        assert!(is_response(b"sip/2.0 200 OK"));
        assert_eq!(status_code(b"SIP/2.0 183 Session Progress"), 183);
        assert_eq!(status_code(b"SIP/2.0 abc"), 0);
        assert_eq!(request_method(INVITE), Some(Method::Invite));
        assert_eq!(request_method(b"prack sip:x"), Some(Method::Prack));
        assert_eq!(request_method(b"INVITEX sip:x"), None);
        assert_eq!(request_method(b"INVITE 1"), None);
        assert_eq!(request_method(b"OPTIONS sip:x"), None);
        assert_eq!(request_method(b"BYE"), None);
    }

    #[test]
    fn contact_uris_ports_and_parameters() {
        let m = b"R s SIP/2.0\r\nContact: *\r\nContact: <sip:u@[2001:db8::1]:5070;transport=tcp>;expires=0x10\r\n\r\n";
        let UriFound::Uri(u) = uri(m, 0, &CONTACT, true) else {
            panic!("no uri");
        };
        assert_eq!(u.port, 5070);
        assert_eq!(transport(m, u.end, 6), Some(6));
        assert_eq!(transport(m, u.end, 17), None);
        assert_eq!(numeric_param(m, u.end, b"expires="), Some(16));
        let low = b"R s SIP/2.0\r\nm: sip:10.0.0.1:80\r\n\r\n";
        assert_eq!(uri(low, 0, &CONTACT, false), UriFound::Bad);
        let none = b"R s SIP/2.0\r\nm: sip:host.example\r\n\r\n";
        assert_eq!(uri(none, 0, &CONTACT, false), UriFound::Missing);
        // A parameter belongs to its own value, not the next one after a comma.
        let two = b"R s SIP/2.0\r\nContact: <sip:10.0.0.1>, <sip:10.0.0.2>;expires=0600\r\n\r\n";
        let UriFound::Uri(u) = uri(two, 0, &CONTACT, false) else {
            panic!("no uri");
        };
        assert_eq!(numeric_param(two, u.end, b"expires="), None);
        let oct = b"R s SIP/2.0\r\nm: <sip:10.0.0.1>;expires=0600\r\n\r\n";
        let UriFound::Uri(u) = uri(oct, 0, &CONTACT, false) else {
            panic!("no uri");
        };
        assert_eq!(numeric_param(oct, u.end, b"expires="), Some(0o600));
    }

    #[test]
    fn tcp_framing_by_content_length() {
        let one = b"BYE sip:x SIP/2.0\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n";
        let mut two = one.to_vec();
        two.extend_from_slice(INVITE);
        let ranges: Vec<_> = tcp_messages(&two).collect();
        assert_eq!(ranges, vec![0..one.len(), one.len()..two.len()]);
        // A message whose body is not all here ends the list.
        let cut = &two[..two.len() - 1];
        assert_eq!(tcp_messages(cut).count(), 1);
        assert_eq!(tcp_messages(b"Content-Length: 5\r\n\r\n").count(), 0);
        assert_eq!(tcp_messages(b"X\r\nContent-Length: x\r\n\r\n").count(), 0);
        assert_eq!(
            tcp_messages(b"X\r\nl: 99999999999999999999999\r\n\r\n").count(),
            0
        );
    }

    #[test]
    fn malformed_input_never_panics() {
        let mut buf = INVITE.to_vec();
        for cut in 0..buf.len() {
            let m = &buf[..cut];
            let _ = (cseq(m), request_method(m), status_code(m));
            let _ = uri(m, 0, &CONTACT, false);
            let _ = tcp_messages(m).count();
            let _ = numeric_param(m, cut / 2, b"expires=");
        }
        for b in buf.iter_mut() {
            *b = b'\r';
        }
        assert_eq!(cseq(&buf), None);
    }
}
