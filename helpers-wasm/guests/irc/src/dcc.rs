//! Finding a DCC offer in what an IRC client sends, with the rules of Linux 6.x's
//! `nf_conntrack_irc` (tightened in 2022 so that only a CTCP at the start of a
//! PRIVMSG's text counts).
//!
//! The shape looked for, after optional leading blanks:
//!
//! ```text
//! PRIVMSG <target> :\x01DCC <CMD> <argument> <address> <port>[ more]\x01\r\n
//! ```
//!
//! `<CMD>` is one of SEND, CHAT, MOVE, TSEND, SCHAT (upper case, as Linux compares
//! them); `<argument>` (file name, `chat`) runs to the first space, so a quoted name
//! holding spaces is not understood (nor by Linux); `<address>` is the IPv4 address
//! as one decimal number; `<port>` a decimal number. Linux does not look for the
//! closing `\x01`, but it wants a line feed somewhere after the address.

/// Bytes of a payload that are searched, as Linux's `MAX_SEARCH_SIZE`.
pub const MAX_SEARCH: usize = 4095;

/// The DCC commands that announce a connection, each with its trailing space.
const COMMANDS: [&[u8]; 5] = [b"SEND ", b"CHAT ", b"MOVE ", b"TSEND ", b"SCHAT "];

/// Shortest rest of the window, counted from a candidate `" :"`, worth looking at:
/// `" :\x01DCC SEND t AAAAAAAA P\x01\n"` is 26 bytes, so more than 26 must remain.
const MIN_FROM_COLON: usize = 26;

/// Least bytes that must follow the space ending the argument (Linux's bound).
const MIN_AFTER_ARGUMENT: usize = 11;

/// A DCC offer's endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dcc {
    /// The IPv4 address offered, network order.
    pub addr: [u8; 4],
    /// The port offered (never 0).
    pub port: u16,
    /// Where the address starts in the payload.
    pub start: usize,
    /// Where the port's digits end (exclusive): `start..end` is `<address> <port>`,
    /// what Linux's `nf_nat_irc` rewrites.
    pub end: usize,
}

impl Dcc {
    /// The payload bytes holding the address and the port.
    pub fn text(&self) -> core::ops::Range<usize> {
        self.start..self.end
    }
}

/// Searches `payload` for a DCC offer and returns the first one that `acceptable`
/// agrees to (the helper rejects forged addresses with it); an offer it refuses does
/// not end the search, as in Linux, which skips a forged offer and looks further.
pub fn find(payload: &[u8], mut acceptable: impl FnMut(Dcc) -> bool) -> Option<Dcc> {
    let buf = payload.get(..MAX_SEARCH).unwrap_or(payload);
    let len = buf.len();
    let mut i = 0;

    // Blanks before the command, then the command itself, which must be PRIVMSG;
    // a window too short to hold "PRIVMSG x " is left unchecked (it cannot hold a
    // DCC offer either).
    while i + 10 < len && matches!(buf.get(i), Some(b' ' | b'\r' | b'\n')) {
        i += 1;
    }
    if i + 10 < len {
        if !buf.get(i..i + 8)?.eq_ignore_ascii_case(b"PRIVMSG ") {
            return None;
        }
        i += 8;
    }

    while i + MIN_FROM_COLON < len {
        // The first " :" starts the message text; a CTCP DCC must open it.
        if buf.get(i..i + 2)? != b" :" {
            i += 1;
            continue;
        }
        i += 2;
        if !buf.get(i..)?.starts_with(b"\x01DCC ") {
            return None;
        }
        i += 5;
        // As in Linux, a command whose arguments fail leaves the cursor after its
        // name: the commands after it are tried from there, then the search for the
        // next " :" goes on from there.
        for cmd in COMMANDS {
            if !buf.get(i..)?.starts_with(cmd) {
                continue;
            }
            i += cmd.len();
            if let Some(dcc) = parse_args(buf, i) {
                if acceptable(dcc) {
                    return Some(dcc);
                }
            }
        }
    }
    None
}

/// Reads `<argument> <address> <port>` starting at `start`; `None` when the bytes do
/// not fit Linux's rules or the port is 0.
fn parse_args(buf: &[u8], start: usize) -> Option<Dcc> {
    let len = buf.len();
    let mut i = start;
    // The argument runs through its first space, which must leave enough behind.
    loop {
        let c = *buf.get(i)?;
        i += 1;
        if c == b' ' {
            break;
        }
        if i + MIN_AFTER_ARGUMENT + 1 > len {
            return None;
        }
    }
    // A line must end within the window.
    if !buf.get(i..)?.contains(&b'\n') {
        return None;
    }
    let start = i;
    let (addr, used) = decimal(buf.get(i..)?, u64::from(u32::MAX))?;
    i += used;
    while buf.get(i) == Some(&b' ') {
        i += 1;
    }
    let (port, used) = decimal(buf.get(i..)?, u64::from(u16::MAX))?;
    let port = u16::try_from(port).ok().filter(|&p| p != 0)?;
    let addr = u32::try_from(addr).ok()?.to_be_bytes();
    Some(Dcc {
        addr,
        port,
        start,
        end: i + used,
    })
}

/// The unsigned decimal number `b` starts with and the digits it took; `None` without
/// a digit or above `max` (Linux would wrap such a number; it is refused here).
fn decimal(b: &[u8], max: u64) -> Option<(u64, usize)> {
    let digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 {
        return None;
    }
    let mut v: u64 = 0;
    for &c in b.get(..digits)? {
        v = v * 10 + u64::from(c - b'0');
        if v > max {
            return None;
        }
    }
    Some((v, digits))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn any(payload: &[u8]) -> Option<Dcc> {
        find(payload, |_| true)
    }

    /// The address and port `any` finds.
    fn endpoint(payload: &[u8]) -> Option<([u8; 4], u16)> {
        any(payload).map(|d| (d.addr, d.port))
    }

    #[test]
    fn each_command_is_recognised() {
        for cmd in ["SEND f", "CHAT chat", "MOVE f", "TSEND f", "SCHAT chat"] {
            let line = format!("PRIVMSG bob :\x01DCC {cmd} 167772161 5555\x01\r\n");
            assert_eq!(
                endpoint(line.as_bytes()),
                Some(([10, 0, 0, 1], 5555)),
                "{cmd}"
            );
        }
        assert_eq!(
            any(b"PRIVMSG bob :\x01DCC RESUME f 167772161 5555 0\x01\r\n"),
            None
        );
    }

    #[test]
    fn privmsg_is_case_insensitive_and_may_follow_blanks() {
        let d = any(b"\r\n  privmsg bob :\x01DCC SEND f 167772161 5555\x01\r\n");
        assert_eq!(d.map(|d| d.port), Some(5555));
    }

    #[test]
    fn the_command_must_be_privmsg() {
        assert_eq!(
            any(b"NOTICE bob :\x01DCC SEND f 167772161 5555\x01\r\n"),
            None
        );
        assert_eq!(
            any(b"PRIVMSGbob :\x01DCC SEND f 167772161 5555\x01\r\n"),
            None
        );
    }

    #[test]
    fn the_dcc_must_open_the_message_text() {
        assert_eq!(
            any(b"PRIVMSG bob :hi \x01DCC SEND f 167772161 5555\x01\r\n"),
            None
        );
        // The first " :" decides, even if a later one would have held a DCC.
        assert_eq!(
            any(b"PRIVMSG bob :x\r\nPRIVMSG bob :\x01DCC SEND f 167772161 5555\x01\r\n"),
            None
        );
    }

    #[test]
    fn the_commands_and_dcc_are_case_sensitive() {
        assert_eq!(
            any(b"PRIVMSG bob :\x01DCC send f 167772161 5555\x01\r\n"),
            None
        );
        assert_eq!(
            any(b"PRIVMSG bob :\x01dcc SEND f 167772161 5555\x01\r\n"),
            None
        );
    }

    #[test]
    fn a_line_feed_must_follow() {
        assert_eq!(any(b"PRIVMSG bob :\x01DCC SEND f 167772161 5555\x01"), None);
        assert!(any(b"PRIVMSG bob :\x01DCC SEND f 167772161 5555\x01\n").is_some());
    }

    #[test]
    fn address_and_port_must_be_decimal_and_in_range() {
        for bad in [
            &b"PRIVMSG bob :\x01DCC SEND f 10.0.0.1 5555\x01\r\n"[..],
            b"PRIVMSG bob :\x01DCC SEND f 167772161 0\x01\r\n",
            b"PRIVMSG bob :\x01DCC SEND f 167772161 65536\x01\r\n",
            b"PRIVMSG bob :\x01DCC SEND f 4294967296 5555\x01\r\n",
            b"PRIVMSG bob :\x01DCC SEND f 167772161 abc\x01\r\n",
            b"PRIVMSG bob :\x01DCC SEND f 167772161\x01\r\n",
        ] {
            assert_eq!(any(bad), None, "{}", String::from_utf8_lossy(bad));
        }
        let p = b"PRIVMSG bob :\x01DCC SEND f 4294967295   65535 12\x01\r\n";
        assert_eq!(endpoint(p), Some(([255; 4], 65535)));
    }

    #[test]
    fn the_text_is_the_address_through_the_port() {
        for (p, text) in [
            (
                &b"PRIVMSG bob :\x01DCC SEND f 167772161 5555\x01\r\n"[..],
                &b"167772161 5555"[..],
            ),
            (
                b"PRIVMSG bob :\x01DCC SEND f 4294967295   65535 12\x01\r\n",
                b"4294967295   65535",
            ),
            (
                b"  PRIVMSG bob :\x01DCC SCHAT chat 1 2 (a chat offer)\x01\n",
                b"1 2",
            ),
        ] {
            let d = any(p).expect("an offer");
            assert_eq!(&p[d.text()], text, "{}", String::from_utf8_lossy(p));
        }
    }

    #[test]
    fn a_quoted_name_with_a_space_is_not_understood() {
        assert_eq!(
            any(b"PRIVMSG bob :\x01DCC SEND \"a b.txt\" 167772161 5555\x01\r\n"),
            None
        );
        // Without a space, quotes are just part of the name.
        assert!(any(b"PRIVMSG bob :\x01DCC SEND \"ab.txt\" 167772161 5555\x01\r\n").is_some());
    }

    #[test]
    fn a_refused_offer_does_not_end_the_search() {
        let two = b"PRIVMSG bob :\x01DCC SEND f 167772162 1\x01\r\nPRIVMSG bob :\x01DCC SEND f 167772161 2\x01\r\n";
        let d = find(two, |d| d.addr == [10, 0, 0, 1]);
        assert_eq!(d.map(|d| d.port), Some(2));
        // Only the first acceptable one is returned.
        assert_eq!(any(two).map(|d| d.port), Some(1));
    }

    #[test]
    fn only_the_first_4095_bytes_are_searched() {
        let offer = b" :\x01DCC SEND f 167772161 5555\x01\r\n";
        let padded = |to: usize| {
            let mut p = b"PRIVMSG bob ".to_vec();
            p.resize(to, b'x');
            p.extend_from_slice(offer);
            p
        };
        let inside = padded(MAX_SEARCH - offer.len());
        assert_eq!(inside.len(), MAX_SEARCH);
        assert!(any(&inside).is_some());
        let across = padded(MAX_SEARCH - offer.len() + 5);
        assert_eq!(any(&across), None);
    }

    #[test]
    fn short_and_empty_payloads_find_nothing() {
        let line = b"PRIVMSG bob :\x01DCC SEND f 167772161 5555\x01\r\n";
        for n in 0..line.len() {
            let _ = any(&line[..n]);
        }
        assert_eq!(any(b""), None);
        assert_eq!(any(&line[..line.len() - 2]), None);
    }
}
