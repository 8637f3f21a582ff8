//! Messages: a header and what follows it, and the messages of a datagram.
//!
//! A datagram holds messages back to back, each as long as its header says. As
//! conntrackd reads them: a header that is cut short or whose length is impossible
//! ends the datagram (what follows cannot be found); a message that is whole but wrong
//! inside (version, type, flags, attributes) is refused alone and the next one is read.

use super::conntrack::Conntrack;
use super::expect::Expect;
use super::header::{self, flag, kind, Header};
use super::{Error, Result};

/// What an entry message says happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// A new entry.
    New,
    /// An entry changed (or is being refreshed).
    Update,
    /// An entry ended.
    Destroy,
}

/// A control message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Control {
    /// FTFW: the messages `from..=to` arrived.
    Ack {
        /// First sequence number acknowledged.
        from: u32,
        /// Last sequence number acknowledged.
        to: u32,
    },
    /// FTFW: the messages `from..=to` were lost; send them again.
    Nack {
        /// First sequence number missing.
        from: u32,
        /// Last sequence number missing.
        to: u32,
    },
    /// Send me all your states.
    Resync,
    /// Nothing to send for a while; still alive.
    Alive,
}

/// What a message carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// A conntrack.
    Conntrack(Action, Conntrack),
    /// An expectation.
    Expect(Action, Expect),
    /// A control message.
    Control(Control),
}

/// One message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Its sequence number.
    pub seq: u32,
    /// The header's HELLO flag (FTFW: the sender starts a new sequence).
    pub hello: bool,
    /// The header's HELLO_BACK flag (FTFW: the sender saw our HELLO).
    pub hello_back: bool,
    /// What it carries.
    pub body: Body,
}

impl Message {
    /// The message at the start of `bytes`, and how many bytes it takes. The `Err` of
    /// the outer result means the bytes cannot be split further (a cut or impossible
    /// header); the inner `Err` is a whole message refused, `len` bytes long.
    pub fn parse_prefix(bytes: &[u8]) -> Result<(usize, Result<Message>)> {
        let h = Header::new_checked(bytes)?;
        let len = h.len() as usize;
        Ok((len, Message::parse_header(&h)))
    }

    /// One message that fills `bytes` exactly.
    pub fn parse(bytes: &[u8]) -> Result<Message> {
        let (len, m) = Message::parse_prefix(bytes)?;
        if len != bytes.len() {
            return Err(Error::BadLength);
        }
        m
    }

    fn parse_header(h: &Header<&[u8]>) -> Result<Message> {
        if h.version() != header::VERSION {
            return Err(Error::BadVersion(h.version()));
        }
        let flags = h.flags();
        let body = match h.kind() {
            k @ kind::CT_NEW..=kind::STATE_MAX => {
                if flags & !flag::DATA_ALLOWED != 0 {
                    return Err(Error::BadFlags(flags));
                }
                let action = match k % 3 {
                    0 => Action::New,
                    1 => Action::Update,
                    _ => Action::Destroy,
                };
                if k < kind::EXP_NEW {
                    Body::Conntrack(action, Conntrack::parse(h.payload())?)
                } else {
                    Body::Expect(action, Expect::parse(h.payload())?)
                }
            }
            kind::CONTROL => {
                let (from, to) = (h.from(), h.to());
                let c = if flags & flag::ACK != 0 {
                    Control::Ack { from, to }
                } else if flags & flag::NACK != 0 {
                    Control::Nack { from, to }
                } else if flags & flag::RESYNC != 0 {
                    Control::Resync
                } else if flags & flag::ALIVE != 0 {
                    Control::Alive
                } else {
                    return Err(Error::BadFlags(flags));
                };
                if let Control::Ack { from, to } | Control::Nack { from, to } = c {
                    if header::seq_before(to, from) {
                        return Err(Error::BadRange);
                    }
                }
                Body::Control(c)
            }
            k => return Err(Error::BadType(k)),
        };
        Ok(Message {
            seq: h.seq(),
            hello: flags & flag::HELLO != 0,
            hello_back: flags & flag::HELLO_BACK != 0,
            body,
        })
    }

    /// The header's type and flags for this message.
    fn kind_flags(&self) -> (u8, u8) {
        let mut flags = 0;
        if self.hello {
            flags |= flag::HELLO;
        }
        if self.hello_back {
            flags |= flag::HELLO_BACK;
        }
        let action = |a: Action| match a {
            Action::New => 0,
            Action::Update => 1,
            Action::Destroy => 2,
        };
        match &self.body {
            Body::Conntrack(a, _) => (kind::CT_NEW + action(*a), flags),
            Body::Expect(a, _) => (kind::EXP_NEW + action(*a), flags),
            Body::Control(c) => (
                kind::CONTROL,
                flags
                    | match c {
                        Control::Ack { .. } => flag::ACK,
                        Control::Nack { .. } => flag::NACK,
                        Control::Resync => flag::RESYNC,
                        Control::Alive => flag::ALIVE,
                    },
            ),
        }
    }

    /// Appends the message to `out`. Returns false, leaving `out` as it was, if it
    /// would be longer than a header's length field holds.
    pub fn emit(&self, out: &mut Vec<u8>) -> bool {
        let (k, flags) = self.kind_flags();
        let start = header::begin(out, k, flags, self.seq);
        match &self.body {
            Body::Conntrack(_, c) => c.emit(out),
            Body::Expect(_, e) => e.emit(out),
            Body::Control(Control::Ack { from, to } | Control::Nack { from, to }) => {
                Header::new_unchecked(&mut out[start..]).set_range(*from, *to)
            }
            Body::Control(_) => {}
        }
        if header::finish(out, start) {
            true
        } else {
            out.truncate(start);
            false
        }
    }

    /// The message as bytes of its own.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.emit(&mut v);
        v
    }
}

/// The messages of a datagram, in order: each a message or the reason it was refused.
/// A header that cannot be read ends the walk with its error.
#[derive(Debug, Clone)]
pub struct Messages<'a> {
    rest: &'a [u8],
}

impl<'a> Messages<'a> {
    /// The messages of `datagram`.
    pub fn new(datagram: &'a [u8]) -> Messages<'a> {
        Messages { rest: datagram }
    }
}

impl Iterator for Messages<'_> {
    type Item = Result<Message>;

    fn next(&mut self) -> Option<Result<Message>> {
        if self.rest.is_empty() {
            return None;
        }
        match Message::parse_prefix(self.rest) {
            Ok((len, m)) => {
                self.rest = &self.rest[len..];
                Some(m)
            }
            Err(e) => {
                self.rest = &[];
                Some(Err(e))
            }
        }
    }
}
