//! The `CONNECT` line of an Amanda client's answer, which names the TCP ports the
//! client listens on for the backup's streams: `CONNECT DATA 50000 MESG 50001 INDEX
//! 50002 STATE 50003`, ended by a newline.
//!
//! Read as Linux reads it: the first `CONNECT ` of the datagram, up to the first
//! newline after it (no newline: nothing is read); in that span the first `DATA `,
//! `MESG `, `INDEX ` and `STATE `, in that order, each followed by at most five
//! decimal digits,
//! whose value is taken modulo 65 536. A port of zero (or no digits) ends the reading:
//! the streams after it are not announced.

/// The streams, in the order they are read.
pub const STREAMS: [&[u8]; 4] = [b"DATA ", b"MESG ", b"INDEX ", b"STATE "];

/// What starts the line.
const CONNECT: &[u8] = b"CONNECT ";

/// Digits read after a stream's name.
const MAX_DIGITS: usize = 5;

/// Where `needle` first starts in `hay`.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The ports `payload` announces, in stream order, at most one per stream.
pub fn ports(payload: &[u8]) -> Vec<u16> {
    let mut out = Vec::new();
    let Some(at) = find(payload, CONNECT) else {
        return out;
    };
    let rest = &payload[at + CONNECT.len()..];
    let Some(end) = rest.iter().position(|&b| b == b'\n') else {
        return out;
    };
    let line = &rest[..end];
    for name in STREAMS {
        let Some(at) = find(line, name) else {
            continue;
        };
        let digits = &line[at + name.len()..];
        let value = digits
            .iter()
            .take(MAX_DIGITS)
            .take_while(|b| b.is_ascii_digit())
            .fold(0u32, |v, b| v * 10 + u32::from(b - b'0'));
        let port = value as u16;
        if port == 0 {
            break;
        }
        out.push(port);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_streams_in_order() {
        let a = b"Amanda 2.6 REP HANDLE 000-00000000 SEQ 1\n\
                  CONNECT DATA 50001 MESG 50002 INDEX 50003 STATE 50004\n\
                  OPTIONS features=ffff;\n";
        assert_eq!(ports(a), [50001, 50002, 50003, 50004]);
        // What amandad answers when no index is wanted: the reading stops at -1.
        assert_eq!(
            ports(b"CONNECT DATA 50001 MESG 50002 INDEX -1 STATE 50004\n"),
            [50001, 50002]
        );
        // Order in the line does not matter; each stream is read once.
        assert_eq!(ports(b"CONNECT INDEX 3 DATA 1 DATA 9 MESG 2\n"), [1, 2, 3]);
        assert_eq!(ports(b"CONNECT MESG 7\n"), [7]);
    }

    #[test]
    fn what_linux_does_with_odd_lines() {
        // No newline after CONNECT: nothing.
        assert!(ports(b"CONNECT DATA 50001").is_empty());
        // Names after the newline are not on the line.
        assert!(ports(b"CONNECT \nDATA 50001\n").is_empty());
        // A zero port (or no digits) ends the reading.
        assert!(ports(b"CONNECT DATA 0 MESG 2\n").is_empty());
        assert_eq!(ports(b"CONNECT DATA 1 MESG x INDEX 3\n"), [1]);
        // Five digits at most (70000), modulo 65 536.
        assert_eq!(ports(b"CONNECT DATA 700001\n"), [4464]);
        assert!(ports(b"CONNECT DATA 65536\n").is_empty());
        // Lower case is not a keyword.
        assert!(ports(b"connect DATA 1\n").is_empty());
        assert!(ports(b"").is_empty());
    }
}
