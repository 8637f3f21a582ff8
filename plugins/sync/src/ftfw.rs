//! FTFW, conntrackd's reliable mode: the state both threads share and the rules of
//! conntrack-tools 1.4's `sync-ftfw.c`, written afresh.
//!
//! - Sending: every message says HELLO until the peer answers one with HELLO_BACK; a
//!   HELLO from the peer is answered by HELLO_BACK on our next message. Data messages and
//!   ACK, NACK and RESYNC go into a bounded resend queue (the oldest is dropped when it
//!   is full) until the peer acknowledges them.
//! - A HELLO from the peer is answered at once (an ALIVE, if nothing else goes first);
//!   the first of a run says the peer (re)joined, and the sender then sends it the
//!   whole table (a bulk send, as `conntrackd -B`).
//! - Receiving: messages in sequence are acknowledged once per window (`ACK from..=to`);
//!   a gap is NACKed (`NACK expected..=seq-1`), after acknowledging what came before it;
//!   a message before the expected number is dropped; a HELLO restarts the peer's
//!   numbers and empties the resend queue (the peer knows nothing of it). An ACK from
//!   the peer removes the range from the resend queue, a NACK sends it again under new
//!   sequence numbers (conntrackd builds a resent message afresh too).
//! - With nothing to send for a second: an ACK of what is pending, else an ALIVE.

use crate::sequence::Seq;
use crate::wire::header::seq_before;
use crate::wire::message::{Body, Control, Message};
use std::collections::VecDeque;

/// Where our HELLO stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hello {
    /// Not yet sent.
    Init,
    /// Sent on every message until a HELLO_BACK.
    Say,
    /// Answered.
    Done,
}

/// What to do with a received message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Apply it (a data message) or take it as done (a control message).
    Accept,
    /// Drop it: it came before the expected number.
    Drop,
}

/// The shared FTFW state.
#[derive(Debug)]
pub struct Ftfw {
    hello: Hello,
    say_hello_back: bool,
    window_size: u32,
    window: u32,
    ack_from: Option<u32>,
    /// The last sequence number received from the peer.
    last_recv: Option<u32>,
    /// Whether the peer's last message said HELLO (it has not seen our HELLO_BACK).
    peer_hello: bool,
    /// Set when the peer starts saying HELLO: it (re)joined and knows none of our
    /// states. Taken by [`Ftfw::take_joined`].
    joined: bool,
    /// Sent messages not acknowledged yet: sequence number and body.
    resend_queue: VecDeque<(u32, Body)>,
    resend_max: usize,
    /// What the sender is to send next: control messages and resends.
    outbox: VecDeque<Body>,
    /// Counters: NACKs received (and the messages resent for them), ACKs received,
    /// messages dropped from a full resend queue, NACKs sent.
    pub nacks_received: u64,
    /// Messages resent for NACKs.
    pub resent: u64,
    /// ACKs received.
    pub acks_received: u64,
    /// Messages dropped from a full resend queue.
    pub resend_overflow: u64,
    /// NACKs sent.
    pub nacks_sent: u64,
}

impl Ftfw {
    /// A fresh state: acknowledgements every `window_size` messages, at most
    /// `resend_max` messages kept for resending.
    pub fn new(window_size: u32, resend_max: usize) -> Ftfw {
        let window_size = window_size.max(1);
        Ftfw {
            hello: Hello::Init,
            say_hello_back: false,
            window_size,
            window: window_size,
            ack_from: None,
            last_recv: None,
            peer_hello: false,
            joined: false,
            resend_queue: VecDeque::new(),
            resend_max: resend_max.max(1),
            outbox: VecDeque::new(),
            nacks_received: 0,
            resent: 0,
            acks_received: 0,
            resend_overflow: 0,
            nacks_sent: 0,
        }
    }

    /// The HELLO and HELLO_BACK flags of the next message sent.
    pub fn flags(&mut self) -> (bool, bool) {
        if self.hello == Hello::Init {
            self.hello = Hello::Say;
        }
        let back = std::mem::take(&mut self.say_hello_back);
        (self.hello == Hello::Say, back)
    }

    /// Records a message just sent: data and ranged control messages wait in the
    /// resend queue for their acknowledgement.
    pub fn sent(&mut self, m: &Message) {
        let keep = match &m.body {
            Body::Conntrack(..) | Body::Expect(..) => true,
            Body::Control(c) => !matches!(c, Control::Alive),
        };
        if keep {
            if self.resend_queue.len() >= self.resend_max {
                self.resend_queue.pop_front();
                self.resend_overflow += 1;
            }
            self.resend_queue.push_back((m.seq, m.body.clone()));
        }
    }

    /// Takes what the sender is to send next.
    pub fn take_outbox(&mut self) -> Vec<Body> {
        self.outbox.drain(..).collect()
    }

    /// The message for an idle second: an ACK of what is pending, else an ALIVE.
    pub fn idle(&mut self) -> Control {
        match (self.ack_from.take(), self.last_recv) {
            (Some(from), Some(to)) => Control::Ack { from, to },
            (pending, _) => {
                self.ack_from = pending;
                Control::Alive
            }
        }
    }

    fn in_range(seq: u32, from: u32, to: u32) -> bool {
        !seq_before(seq, from) && !seq_before(to, seq)
    }

    /// What the peer's control message asks of the resend queue.
    fn control(&mut self, c: &Control) {
        match *c {
            Control::Ack { from, to } => {
                self.acks_received += 1;
                self.resend_queue
                    .retain(|(s, _)| !Ftfw::in_range(*s, from, to));
            }
            Control::Nack { from, to } => {
                self.nacks_received += 1;
                let mut keep = VecDeque::new();
                for (s, b) in self.resend_queue.drain(..) {
                    if Ftfw::in_range(s, from, to) {
                        self.outbox.push_back(b);
                        self.resent += 1;
                    } else {
                        keep.push_back((s, b));
                    }
                }
                self.resend_queue = keep;
            }
            Control::Resync | Control::Alive => {}
        }
    }

    /// Takes in a well-formed message from the peer, as conntrackd's `ftfw_recv`.
    pub fn received(&mut self, m: &Message) -> Verdict {
        if m.hello_back && self.hello == Hello::Say {
            self.hello = Hello::Done;
        }
        if m.hello && !self.peer_hello {
            self.joined = true;
        }
        self.peer_hello = m.hello;
        let status = if m.hello {
            // Answered at once (an ALIVE carries the HELLO_BACK if nothing else goes
            // first): until the peer has it, its messages bypass the sequence check and
            // what it loses cannot be asked for again.
            if !self.say_hello_back {
                self.outbox.push_back(Body::Control(Control::Alive));
            }
            self.say_hello_back = true;
            if let Some(from) = self.ack_from {
                if seq_before(m.seq, from) {
                    self.window = self.window_size - 1;
                    self.ack_from = Some(m.seq);
                }
            }
            self.resend_queue.clear();
            Seq::InSync
        } else {
            match self.last_recv {
                None => Seq::First,
                Some(last) => {
                    let want = last.wrapping_add(1);
                    if m.seq == want {
                        Seq::InSync
                    } else if seq_before(want, m.seq) {
                        Seq::After(m.seq.wrapping_sub(want))
                    } else {
                        Seq::Before
                    }
                }
            }
        };
        if let Body::Control(c) = &m.body {
            self.control(c);
        }
        match status {
            Seq::Before => return Verdict::Drop,
            Seq::After(_) => {
                let want = self.last_recv.map_or(m.seq, |l| l.wrapping_add(1));
                if let Some(from) = self.ack_from.take() {
                    self.outbox.push_back(Body::Control(Control::Ack {
                        from,
                        to: want.wrapping_sub(1),
                    }));
                }
                self.outbox.push_back(Body::Control(Control::Nack {
                    from: want,
                    to: m.seq.wrapping_sub(1),
                }));
                self.nacks_sent += 1;
                self.window = self.window_size - 1;
                self.ack_from = Some(m.seq);
            }
            Seq::First | Seq::InSync => {
                if self.ack_from.is_none() {
                    self.ack_from = Some(m.seq);
                }
                self.window = self.window.saturating_sub(1);
                if self.window == 0 {
                    let from = self.ack_from.take().unwrap_or(m.seq);
                    self.outbox
                        .push_back(Body::Control(Control::Ack { from, to: m.seq }));
                    self.window = self.window_size;
                }
            }
        }
        self.last_recv = Some(m.seq);
        Verdict::Accept
    }

    /// Whether the peer answered our HELLO.
    pub fn hello_done(&self) -> bool {
        self.hello == Hello::Done
    }

    /// Whether the peer (re)joined since the last call: its messages began to say HELLO.
    pub fn take_joined(&mut self) -> bool {
        std::mem::take(&mut self.joined)
    }

    /// Whether the peer's last message still said HELLO.
    pub fn peer_says_hello(&self) -> bool {
        self.peer_hello
    }

    /// Messages waiting for an acknowledgement.
    pub fn unacknowledged(&self) -> usize {
        self.resend_queue.len()
    }
}
