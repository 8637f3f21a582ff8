//! Unit tests of the wire crate: the parsers on frames built by hand, the header views,
//! protocol names, checksums and prefixes, and the formats a router builds.

mod build;
mod checksum;
mod cidr;
mod ip;
mod ip_proto;
mod link;
mod robustness;
mod router_formats;
mod transport;
mod views;

/// A deterministic xorshift64 stream.
fn stream(mut state: u64) -> impl FnMut() -> u64 {
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    }
}

/// The running sum of `data`'s big-endian 16-bit words onto `acc` (an odd last byte
/// padded with zero), carries folded back in: the crate's sums written out plainly,
/// word by word, for the tests to check them against.
fn sum_by_words(acc: u32, data: &[u8]) -> u32 {
    let mut s = u64::from(acc);
    for w in data.chunks(2) {
        let lo = w.get(1).copied().unwrap_or(0);
        s += u64::from(u16::from_be_bytes([w[0], lo]));
    }
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    s as u32
}
