//! Textual IP addresses as SIP and SDP carry them, read the way Linux's `in4_pton` and
//! `in6_pton` read them with "any delimiter": the address ends at the first byte that
//! cannot continue it, and that byte may be anything.

use brickwall_helper_sdk::Addr;

/// An IPv4 address at the start of `s`: four dot-separated decimal parts of at most
/// 255, ended by a byte that is neither a hex digit nor a dot (or by the end of `s`).
/// Returns the address and its length.
pub fn v4(s: &[u8]) -> Option<([u8; 4], usize)> {
    let mut out = [0u8; 4];
    let (mut part, mut value, mut digits) = (0usize, 0u32, 0usize);
    let mut i = 0;
    loop {
        match s.get(i).copied() {
            Some(d @ b'0'..=b'9') => {
                value = value * 10 + u32::from(d - b'0');
                digits += 1;
                if value > 255 {
                    return None;
                }
            }
            Some(b'.') => {
                if digits == 0 || part >= 3 {
                    return None;
                }
                out[part] = value as u8;
                part += 1;
                (value, digits) = (0, 0);
            }
            // A hex letter can neither continue nor end a decimal part.
            Some(c) if c.is_ascii_hexdigit() => return None,
            _ => {
                if digits == 0 || part != 3 {
                    return None;
                }
                out[3] = value as u8;
                return Some((out, i));
            }
        }
        i += 1;
    }
}

/// An IPv6 address at the start of `s`: up to eight hex groups of at most four digits
/// separated by colons, one `::` at most, the last 32 bits optionally in dotted
/// decimal. Returns the address and its length.
pub fn v6(s: &[u8]) -> Option<([u8; 16], usize)> {
    // The groups in order; `gap`: how many came before the `::`, if there is one.
    let mut groups = [0u16; 8];
    let mut n = 0usize;
    let mut gap: Option<usize> = None;
    let mut i = 0;
    if s.starts_with(b"::") {
        gap = Some(0);
        i = 2;
    } else if s.first() == Some(&b':') {
        return None;
    }
    loop {
        let start = i;
        let mut value = 0u32;
        while let Some(d) = s.get(i).and_then(|c| (*c as char).to_digit(16)) {
            if i - start == 4 {
                return None;
            }
            value = value << 4 | d;
            i += 1;
        }
        if i == start {
            // Nothing after a separator: only a `::` may end the address.
            if gap.is_some() && s.get(i.wrapping_sub(1)) == Some(&b':') {
                break;
            }
            return None;
        }
        if s.get(i) == Some(&b'.') {
            // Dotted IPv4 for the last 32 bits.
            let (a, len) = v4(&s[start..])?;
            if n > 6 {
                return None;
            }
            groups[n] = u16::from_be_bytes([a[0], a[1]]);
            groups[n + 1] = u16::from_be_bytes([a[2], a[3]]);
            n += 2;
            i = start + len;
            break;
        }
        if n >= 8 {
            return None;
        }
        groups[n] = value as u16;
        n += 1;
        if s.get(i) != Some(&b':') {
            break;
        }
        if s.get(i + 1) == Some(&b':') {
            if gap.is_some() {
                return None;
            }
            gap = Some(n);
            i += 2;
            if !s
                .get(i)
                .is_some_and(|c| c.is_ascii_hexdigit() || *c == b':')
            {
                break;
            }
        } else {
            i += 1;
        }
    }
    let full = match gap {
        None if n == 8 => groups,
        Some(before) if n < 8 => {
            let mut full = [0u16; 8];
            full[..before].copy_from_slice(&groups[..before]);
            let after = n - before;
            full[8 - after..].copy_from_slice(&groups[before..n]);
            full
        }
        _ => return None,
    };
    let mut out = [0u8; 16];
    for (k, g) in full.iter().enumerate() {
        out[2 * k..2 * k + 2].copy_from_slice(&g.to_be_bytes());
    }
    Some((out, i))
}

/// An address of the family `v6` says at the start of `s`, bare (as SDP writes it).
pub fn bare(s: &[u8], v6: bool) -> Option<(Addr, usize)> {
    if v6 {
        self::v6(s).map(|(a, n)| (Addr::V6(a), n))
    } else {
        v4(s).map(|(a, n)| (Addr::V4(a), n))
    }
}

/// An address as a SIP URI writes it: IPv4 bare, IPv6 in brackets. The length
/// includes the brackets.
pub fn uri_host(s: &[u8], v6: bool) -> Option<(Addr, usize)> {
    if !v6 {
        return bare(s, false);
    }
    let inner = s.strip_prefix(b"[")?;
    let (a, n) = self::v6(inner)?;
    (inner.get(n) == Some(&b']')).then_some((Addr::V6(a), n + 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_ends_at_any_delimiter() {
        assert_eq!(v4(b"10.0.0.1"), Some(([10, 0, 0, 1], 8)));
        assert_eq!(v4(b"192.168.1.2:5060"), Some(([192, 168, 1, 2], 11)));
        assert_eq!(v4(b"224.2.1.1/127"), Some(([224, 2, 1, 1], 9)));
        assert_eq!(v4(b"1.2.3.4\r\n"), Some(([1, 2, 3, 4], 7)));
        for bad in [
            &b"1.2.3"[..],
            b"1.2.3.4.5",
            b"256.1.1.1",
            b"1..2.3",
            b"1.2.3.4a",
            b"",
            b".1.2.3",
            b"1.2.3.",
        ] {
            assert_eq!(v4(bad), None, "{:?}", core::str::from_utf8(bad));
        }
    }

    #[test]
    fn ipv6_forms() {
        let one = {
            let mut a = [0u8; 16];
            a[15] = 1;
            a
        };
        assert_eq!(v6(b"::1 "), Some((one, 3)));
        let (a, n) = v6(b"2001:db8::10\r\n").unwrap();
        assert_eq!(n, 12);
        assert_eq!(&a[..4], &[0x20, 0x01, 0x0d, 0xb8]);
        assert_eq!(a[15], 0x10);
        let (a, n) = v6(b"::ffff:10.0.0.1/").unwrap();
        assert_eq!(n, 15);
        assert_eq!(&a[10..], &[0xff, 0xff, 10, 0, 0, 1]);
        assert_eq!(v6(b"1:2:3:4:5:6:7:8").map(|x| x.1), Some(15));
        assert_eq!(v6(b"fe80::").map(|x| x.1), Some(6));
        for bad in [
            &b"1:2:3"[..],
            b"1::2::3",
            b":1::",
            b"12345::",
            b"1:2:3:4:5:6:7:8:9",
            b"",
        ] {
            assert_eq!(v6(bad), None, "{:?}", core::str::from_utf8(bad));
        }
        assert_eq!(uri_host(b"[::1]:5060", true).map(|x| x.1), Some(5));
        assert_eq!(uri_host(b"::1", true), None);
        assert_eq!(
            uri_host(b"10.0.0.1", false),
            Some((Addr::V4([10, 0, 0, 1]), 8))
        );
    }
}
