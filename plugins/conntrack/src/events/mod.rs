//! Conntrack events, as Linux's ctnetlink event groups deliver them and `conntrack -E`
//! prints them.
//!
//! The tracker builds an owned snapshot of a connection ([`ConnEvent`]) when something
//! happens to it — created (NEW), changed (UPDATE: a reply seen, ASSURED, a TCP/SCTP
//! state change, a new mark or helper), or removed (DESTROY) — and publishes it on an
//! [`EventBus`]. Expectations publish [`ExpectEvent`]s (NEW and DESTROY) whose body the
//! expectation module formats itself.
//!
//! Subscribers ([`Subscription`]) each have a bounded queue and a mask of the event
//! classes they want ([`class`]). Publishing never blocks: when a subscriber's queue is
//! full the event is lost for that subscriber only and its `lost` counter grows, as
//! Linux drops netlink messages on a full socket buffer (ENOBUFS) instead of stalling
//! packet processing. [`EventBus::wants`] is a single atomic load, so a tracker with no
//! listeners builds no events at all.
//!
//! Lines follow conntrack-tools 1.4.7 on a Linux 6.x kernel
//! (`ctnetlink_conntrack_event` decides which attributes an event carries,
//! libnetfilter_conntrack's default output prints them):
//!
//! * the type column `[NEW]`, `[UPDATE]`, `[DESTROY]` is right-aligned to 9 characters;
//! * with `-o timestamp` each line starts with `[seconds.micros]` and a tab. conntrack
//!   1.4.7 pads the microseconds differently for the two kinds of events, and the
//!   kernel sample shows both: connection events zero-pad them
//!   (`[1795760653.034351]`), expectation events left-align and space-pad them
//!   (`%-6ld`: `[1795760653.39567 ]` is .039567);
//! * NEW and UPDATE lines carry the timeout; a DESTROY line carries it only when it is
//!   not zero (a connection killed before its time; an expired one shows none);
//! * the TCP/SCTP state appears on NEW lines, on UPDATE lines whose `what` has
//!   [`what::PROTOINFO`], and on every DESTROY line;
//! * `[UNREPLIED]` follows the original tuple until a reply is seen, `[ASSURED]` follows
//!   the reply tuple once assured;
//! * `mark=` appears when the mark is not zero or the event has [`what::MARK`];
//!   `zone=` when the zone is not 0; `helper=` on NEW and UPDATE lines of a connection
//!   with a helper (never on DESTROY lines);
//! * per-direction `packets= bytes=` appear only on DESTROY lines and only with
//!   accounting on (`nf_conntrack_acct=1`): see [`ConnEvent::line`].
//!
//! Files: [`kind`] (what happened: the event types and their classes), [`format`](mod@format)
//! (the `conntrack -E` lines), [`bus`] (the publish/subscribe bus), [`poll`] (sessions
//! of control clients that poll), and their tests.

pub mod bus;
pub mod format;
pub mod kind;
pub mod poll;

pub use bus::{EventBus, EventCounters, Subscription};
pub use format::summary_line;
pub use kind::{class, what, ConnEvent, Event, EventKind, ExpectEvent};
pub use poll::{Poll, Pollers};

#[cfg(test)]
mod tests;
