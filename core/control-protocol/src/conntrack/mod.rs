//! The conntrack plugin's part of the protocol (target [`TARGET`]): its requests, the
//! values they carry, what it answers, and the records of connections, expectations
//! and events.

pub mod event;
pub mod record;
pub mod request;
pub mod response;
pub mod states;
pub mod value;

pub use event::{ConnEventRecord, EventKind, EventRecord, EventsResponse, ExpectEventRecord};
pub use record::{ConnRecord, Dir, ExpectRecord, TupleRecord};
pub use request::Request;

/// The conntrack plugin's name on the control socket.
pub const TARGET: &str = "conntrack";
#[cfg(test)]
mod tests;
