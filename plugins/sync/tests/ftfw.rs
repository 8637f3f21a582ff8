//! FTFW's rules on their own: HELLO until answered, acknowledgements per window, NACKs
//! for gaps, late messages dropped, the resend queue emptied by ACKs and resent for
//! NACKs, bounded.

use brickwall_sync::ftfw::{Ftfw, Verdict};
use brickwall_sync::wire::conntrack::Conntrack;
use brickwall_sync::wire::message::{Action, Body, Control, Message};

fn data(seq: u32, mark: u32) -> Message {
    Message {
        seq,
        hello: false,
        hello_back: false,
        body: Body::Conntrack(
            Action::New,
            Conntrack {
                mark: Some(mark),
                ..Conntrack::default()
            },
        ),
    }
}

fn ctl(seq: u32, c: Control) -> Message {
    Message {
        seq,
        hello: false,
        hello_back: false,
        body: Body::Control(c),
    }
}

#[test]
fn hello_until_answered_and_hello_back_once() {
    let mut f = Ftfw::new(300, 10);
    assert_eq!(f.flags(), (true, false));
    assert_eq!(f.flags(), (true, false));
    let mut back = ctl(1, Control::Alive);
    back.hello_back = true;
    f.received(&back);
    assert_eq!(f.flags(), (false, false));
    let mut hello = ctl(2, Control::Alive);
    hello.hello = true;
    f.received(&hello);
    assert!(f.peer_says_hello());
    assert!(f.take_joined(), "a first HELLO: the peer joined");
    assert!(!f.take_joined());
    // Answered at once: an ALIVE waits to carry the HELLO_BACK.
    assert_eq!(f.take_outbox(), vec![Body::Control(Control::Alive)]);
    assert_eq!(f.flags(), (false, true));
    assert_eq!(f.flags(), (false, false));
}

#[test]
fn a_window_is_acknowledged_and_a_gap_nacked() {
    let mut f = Ftfw::new(3, 10);
    for seq in 10..13 {
        assert_eq!(f.received(&data(seq, 0)), Verdict::Accept);
    }
    assert_eq!(
        f.take_outbox(),
        vec![Body::Control(Control::Ack { from: 10, to: 12 })]
    );
    f.received(&data(13, 0));
    // 14 to 16 lost: what came before is acknowledged, the gap asked for again.
    assert_eq!(f.received(&data(17, 0)), Verdict::Accept);
    assert_eq!(
        f.take_outbox(),
        vec![
            Body::Control(Control::Ack { from: 13, to: 13 }),
            Body::Control(Control::Nack { from: 14, to: 16 }),
        ]
    );
    assert_eq!(f.nacks_sent, 1);
    // A late one is dropped.
    assert_eq!(f.received(&data(15, 0)), Verdict::Drop);
    // An idle second acknowledges what is pending.
    assert_eq!(f.idle(), Control::Ack { from: 17, to: 17 });
    assert_eq!(f.idle(), Control::Alive);
}

#[test]
fn acks_empty_the_resend_queue_and_nacks_resend() {
    let mut f = Ftfw::new(300, 10);
    for seq in 100..105 {
        f.sent(&data(seq, seq));
    }
    f.sent(&ctl(105, Control::Alive)); // not kept
    assert_eq!(f.unacknowledged(), 5);
    f.received(&ctl(1, Control::Ack { from: 100, to: 101 }));
    assert_eq!(f.unacknowledged(), 3);
    f.received(&ctl(2, Control::Nack { from: 103, to: 104 }));
    assert_eq!(
        f.take_outbox(),
        vec![data(103, 103).body, data(104, 104).body]
    );
    assert_eq!((f.unacknowledged(), f.resent), (1, 2));
    // A HELLO from the peer: it knows nothing of what we kept.
    let mut hello = ctl(50, Control::Alive);
    hello.hello = true;
    f.received(&hello);
    assert_eq!(f.unacknowledged(), 0);
}

#[test]
fn the_resend_queue_is_bounded() {
    let mut f = Ftfw::new(300, 3);
    for seq in 0..5 {
        f.sent(&data(seq, seq));
    }
    assert_eq!((f.unacknowledged(), f.resend_overflow), (3, 2));
    f.received(&ctl(9, Control::Nack { from: 0, to: 4 }));
    assert_eq!(
        f.take_outbox(),
        vec![data(2, 2).body, data(3, 3).body, data(4, 4).body]
    );
}
