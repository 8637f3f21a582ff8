//! The book of periodic records: a connection's next record starts where its last
//! ended, a connection that ends leaves the book, and a complete walk drops those it
//! did not meet (their ends were lost), so the book never outgrows the table.

use brickwall_hooks::services::conntrack::CtCounters;
use brickwall_ipfix::active::Reported;

fn k(p: u64) -> [CtCounters; 2] {
    [CtCounters {
        packets: p,
        bytes: p * 10,
    }; 2]
}

#[test]
fn the_book_follows_the_table() {
    let mut r = Reported::default();
    r.begin_walk();
    r.set(1, 100, k(1));
    r.set(2, 200, k(2));
    r.set(3, 300, k(3));
    r.end_walk();
    assert_eq!(r.len(), 3);
    assert_eq!(r.get(2), Some((200, k(2))));

    // Connection 1 ends; the next walk meets 2 only, so 3 (whose end was lost) goes.
    assert_eq!(r.take(1), Some((100, k(1))));
    assert_eq!(r.take(1), None);
    r.begin_walk();
    r.met(2);
    r.set(4, 400, k(4));
    r.end_walk();
    assert_eq!(
        (r.get(2).is_some(), r.get(3), r.get(4).is_some()),
        (true, None, true)
    );
    assert_eq!(r.len(), 2);

    // A walk cut short keeps everything: only `end_walk` prunes.
    r.begin_walk();
    assert_eq!(r.len(), 2);
    r.begin_walk();
    r.end_walk();
    assert!(r.is_empty());
}
