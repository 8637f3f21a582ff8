//! SDP bodies as Linux's SIP helper reads them: the session description starts at a
//! `v=` line; its `c=` line (`IN IP4` or `IN IP6`, as the connection's family) is the
//! default connection address, which a media description's own `c=` overrides; each
//! `m=audio`, `m=video` and `m=image` line with a port other than 0 is a stream, at
//! most three of them.

use crate::addr;
use brickwall_helper_sdk::Addr;

/// Expectation classes, as Linux numbers them.
pub mod class {
    /// Incoming signalling (a REGISTER's contact).
    pub const SIGNALLING: u8 = 0;
    /// `m=audio`.
    pub const AUDIO: u8 = 1;
    /// `m=video`.
    pub const VIDEO: u8 = 2;
    /// `m=image` (T.38 fax).
    pub const IMAGE: u8 = 3;
}

/// The media types read, with their class.
const MEDIA_TYPES: [(&[u8], u8); 3] = [
    (b"audio ", class::AUDIO),
    (b"video ", class::VIDEO),
    (b"image ", class::IMAGE),
];

/// One media stream a body announces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stream {
    /// Its class.
    pub class: u8,
    /// The address it is received on.
    pub addr: Addr,
    /// Its (RTP) port, as written.
    pub port: u16,
}

/// What a body announces.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Body {
    /// The streams, in order, up to the first bad one.
    pub streams: Vec<Stream>,
    /// A stream was bad: a port out of 1024..=65535, or no connection address (Linux
    /// drops the message, after expecting the streams before it).
    pub bad: bool,
}

/// The offset just past a line break at or after `at` where a line starts with
/// `name` (without case), unless a line starting with `term` comes first: the offset
/// after the name.
fn line(msg: &[u8], from: usize, name: &[u8], term: Option<&[u8]>) -> Option<usize> {
    let starts = |i: usize, p: &[u8]| {
        msg.get(i..i + p.len())
            .is_some_and(|s| s.eq_ignore_ascii_case(p))
    };
    let mut i = from;
    while let Some(start) = crate::msg::after_line_break(msg, i) {
        i = start;
        if i >= msg.len() {
            return None;
        }
        if term.is_some_and(|t| starts(i, t)) {
            return None;
        }
        if starts(i, name) {
            return Some(i + name.len());
        }
    }
    None
}

/// The connection address of a `c=` line in `from..` before the next `m=` line: the
/// address after `IN IP4 ` (or `IN IP6 `) on that line.
fn connection(msg: &[u8], from: usize, v6: bool) -> Option<Addr> {
    let at = line(msg, from, b"c=", Some(b"m="))?;
    let needle: &[u8] = if v6 { b"IN IP6 " } else { b"IN IP4 " };
    let rest = &msg[at..];
    let end = rest
        .iter()
        .position(|c| matches!(c, b'\r' | b'\n'))
        .unwrap_or(rest.len());
    // The needle must lie wholly before the line's end, as the kernel's search bound is.
    let p = rest[..end]
        .windows(needle.len())
        .position(|w| w == needle)?;
    let host = at + p + needle.len();
    addr::bare(&msg[host..], v6).map(|(a, _)| a)
}

/// The streams of the SDP body in `msg` (the whole message: the `v=` line is searched
/// from its start).
pub fn body(msg: &[u8], v6: bool) -> Body {
    let mut out = Body::default();
    let Some(v) = line(msg, 0, b"v=", None) else {
        return out;
    };
    if !msg.get(v).is_some_and(u8::is_ascii_digit) {
        return out;
    }
    let session = connection(msg, v, v6);
    let mut at = v;
    while out.streams.len() < MEDIA_TYPES.len() {
        let Some(m) = line(msg, at, b"m=", None) else {
            break;
        };
        // The media type: letters, then a space (else the body is read no further).
        let letters = msg[m..]
            .iter()
            .take_while(|c| c.is_ascii_alphabetic())
            .count();
        if msg.get(m + letters) != Some(&b' ') {
            break;
        }
        let Some(&(name, class)) = MEDIA_TYPES
            .iter()
            .find(|(name, _)| msg[m..].starts_with(name))
        else {
            at = m + letters + 1;
            continue;
        };
        at = m + name.len();
        let (port, _) = crate::msg::number(msg, at);
        let port = port as u32;
        if port == 0 {
            continue;
        }
        if !(1024..=65535).contains(&port) {
            out.bad = true;
            break;
        }
        let Some(addr) = connection(msg, at, v6).or(session) else {
            out.bad = true;
            break;
        };
        out.streams.push(Stream {
            class,
            addr,
            port: port as u16,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const OFFER: &[u8] = b"INVITE sip:b@10.0.0.2 SIP/2.0\r\nContent-Type: application/sdp\r\n\r\n\
        v=0\r\n\
        o=alice 2890844526 2890844526 IN IP4 10.0.0.1\r\n\
        s=-\r\n\
        c=IN IP4 10.0.0.1\r\n\
        t=0 0\r\n\
        m=audio 49170 RTP/AVP 0\r\n\
        m=video 51372 RTP/AVP 31\r\n\
        c=IN IP4 10.0.0.9\r\n\
        m=application 9 TCP/BFCP *\r\n\
        m=image 0 udptl t38\r\n";

    #[test]
    fn session_and_media_connection_addresses() {
        let b = body(OFFER, false);
        assert!(!b.bad);
        assert_eq!(
            b.streams,
            vec![
                Stream {
                    class: class::AUDIO,
                    addr: Addr::V4([10, 0, 0, 1]),
                    port: 49170
                },
                Stream {
                    class: class::VIDEO,
                    addr: Addr::V4([10, 0, 0, 9]),
                    port: 51372
                },
            ]
        );
        // An IPv6 connection reads only `IN IP6` lines.
        assert!(body(OFFER, true).bad);
    }

    #[test]
    fn ipv6_bodies_and_bare_line_ends() {
        let m = b"SIP/2.0 200 OK\nCSeq: 1 INVITE\n\nv=0\nc=IN IP6 2001:db8::2\nm=audio 3457 RTP/AVP 0\n";
        let b = body(m, true);
        assert_eq!(b.streams.len(), 1);
        assert_eq!(b.streams[0].port, 3457);
        assert!(b.streams[0].addr.is_v6());
    }

    #[test]
    fn bad_and_missing_bodies() {
        // No body, no version digits: nothing, and nothing wrong.
        assert_eq!(body(b"BYE sip:x SIP/2.0\r\n\r\n", false), Body::default());
        assert_eq!(
            body(b"X\r\nv=x\r\nm=audio 5000 RTP\r\n", false),
            Body::default()
        );
        // A port below 1024, a stream without an address: bad after the good ones.
        let low = b"X\r\nv=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 5000 R\r\nm=video 80 R\r\n";
        let b = body(low, false);
        assert!(b.bad);
        assert_eq!(b.streams.len(), 1);
        let none = b"X\r\nv=0\r\nm=audio 5000 R\r\n";
        assert!(body(none, false).bad);
        // A media line without a space after its type ends the reading.
        assert_eq!(
            body(b"X\r\nv=0\r\nc=IN IP4 1.2.3.4\r\nm=audio\r\n", false),
            Body::default()
        );
        // At most three streams.
        let mut many = b"X\r\nv=0\r\nc=IN IP4 1.2.3.4\r\n".to_vec();
        for p in 0..5 {
            many.extend_from_slice(format!("m=audio {} R\r\n", 5000 + 2 * p).as_bytes());
        }
        assert_eq!(body(&many, false).streams.len(), 3);
        for cut in 0..OFFER.len() {
            let _ = body(&OFFER[..cut], false);
            let _ = body(&OFFER[..cut], true);
        }
    }
}
