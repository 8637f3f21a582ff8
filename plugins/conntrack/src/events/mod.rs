//! Conntrack events, as Linux's ctnetlink event groups deliver them and `conntrack -E`
//! prints them.
//!
//! The tracker builds an owned snapshot of a connection ([`ConnEvent`]) when something
//! happens to it — created (NEW), changed (UPDATE: a reply seen, ASSURED, a TCP/SCTP/DCCP
//! state change, a new mark or helper), or removed (DESTROY) — and publishes it on an
//! [`EventBus`]. Expectations publish [`ExpectEvent`]s (NEW and DESTROY) carrying the
//! expectation's record.
//!
//! Subscribers ([`Subscription`]) each have a bounded queue and a mask of the event
//! classes they want ([`class`]). Publishing never blocks: when a subscriber's queue is
//! full the event is lost for that subscriber only and its `lost` counter grows, as
//! Linux drops netlink messages on a full socket buffer (ENOBUFS) instead of stalling
//! packet processing. [`EventBus::wants`] is a single atomic load, so a tracker with no
//! listeners builds no events at all.
//!
//! A poll of a control client ([`Pollers`]) answers the protocol's
//! [`EventsResponse`](brickwall_control_protocol::conntrack::EventsResponse): each
//! event as a typed record ([`Event::record`]), which prints its own `conntrack -E`
//! line (the rules are in [`brickwall_control_protocol::conntrack::event`]).
//!
//! Files: [`kind`] (the events and their records; the kinds, [`what`] bits and
//! [`class`]es are the protocol's), [`bus`] (the publish/subscribe bus), [`poll`]
//! (sessions of control clients that poll), and their tests.

pub mod bus;
pub mod kind;
pub mod poll;

pub use bus::{EventBus, EventCounters, Subscription};
pub use kind::{class, what, ConnEvent, Event, EventKind, ExpectEvent};
pub use poll::Pollers;

#[cfg(test)]
mod tests;
