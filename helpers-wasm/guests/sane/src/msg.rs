//! The two messages of the SANE network protocol the helper reads (words are four
//! bytes, big-endian): a client's request, whose first word is the procedure number,
//! and the daemon's answer to `SANE_NET_START`, which names the port the image data
//! will be sent from.
//!
//! Each is read from one segment, as Linux reads them: a request only when the segment
//! is exactly a request of two words (the procedure and the device handle), an answer
//! from the first eight bytes of the segment that follows a start request.

/// `SANE_NET_START`'s procedure number.
pub const NET_START: u32 = 7;

/// `SANE_STATUS_GOOD`.
pub const STATUS_GOOD: u32 = 0;

/// Bytes of a start request: the procedure and the handle.
pub const REQUEST_LEN: usize = 8;

/// Bytes of a start answer the helper reads: the status, then the port as a word
/// whose high half is zero.
pub const START_REPLY_LEN: usize = 8;

/// What a client's segment says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request {
    /// A start request: the next answer names the data port.
    Start,
    /// Another procedure.
    Other,
    /// Not a two-word request (a request with arguments, a partial one): ignored.
    Unread,
}

fn word(b: &[u8], at: usize) -> Option<u32> {
    let w = b.get(at..at + 4)?;
    Some(u32::from_be_bytes([w[0], w[1], w[2], w[3]]))
}

/// Classifies a client's segment.
pub fn request(payload: &[u8]) -> Request {
    if payload.len() != REQUEST_LEN {
        return Request::Unread;
    }
    match word(payload, 0) {
        Some(NET_START) => Request::Start,
        _ => Request::Other,
    }
}

/// The data port a daemon's answer to a start request announces; `None` when the
/// segment is too short, the status is not good, or the port word's high half is not
/// zero (not a start answer).
pub fn start_reply(payload: &[u8]) -> Option<u16> {
    if payload.len() < START_REPLY_LEN || word(payload, 0)? != STATUS_GOOD {
        return None;
    }
    let port = word(payload, 4)?;
    if port >> 16 != 0 {
        return None;
    }
    Some(port as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_two_word_segment_is_a_request() {
        assert_eq!(request(&[0, 0, 0, 7, 0, 0, 0, 1]), Request::Start);
        assert_eq!(request(&[0, 0, 0, 3, 0, 0, 0, 1]), Request::Other);
        assert_eq!(request(&[0, 0, 0, 7, 0, 0, 0]), Request::Unread);
        assert_eq!(request(&[0, 0, 0, 7, 0, 0, 0, 1, 0]), Request::Unread);
        assert_eq!(request(&[]), Request::Unread);
    }

    #[test]
    fn a_good_answer_names_its_port() {
        // Status, port, byte order, resource name (what saned sends).
        let mut a = vec![0, 0, 0, 0, 0, 0, 0x9c, 0x41, 0, 0, 0x12, 0x34];
        a.extend_from_slice(&[0, 0, 0, 0]);
        assert_eq!(start_reply(&a), Some(40001));
        assert_eq!(start_reply(&a[..8]), Some(40001));
        assert_eq!(start_reply(&a[..7]), None, "short");
        a[3] = 4; // SANE_STATUS_INVAL
        assert_eq!(start_reply(&a), None);
        a[3] = 0;
        a[5] = 1; // high half of the port word
        assert_eq!(start_reply(&a), None);
    }
}
