//! `-E`: conntrack's event listener, as a poll loop over the control socket.
//!
//! The client asks the conntrack plugin `{"op":"events","cursor":0,"max":N,"mask":M}`
//! ([`Request::Events`]), which opens an event session, then
//! `{"op":"events","cursor":C,...}` with the cursor of each answer
//! ([`EventsResponse`]: `{"events":[{"type":"conn",...}, ...],"cursor":C,"lost":L}`).
//! It prints each event's `conntrack -E` line
//! ([`EventRecord::line`](brickwall_control_protocol::conntrack::EventRecord::line), with the
//! `[seconds.micros]` prefix for `-o timestamp`) as it arrives, polls again at once
//! after a full batch and otherwise every [`POLL_INTERVAL`]. `lost` counts the events
//! the session has lost because it polled too slowly; when it grows, a warning says by
//! how much, as conntrack's ENOBUFS warning does.
//!
//! The mask is the plugin's event classes ([`class`]): NEW 1, UPDATE 2, DESTROY 4 for
//! connections (`-E`), 8 and 16 for expectation NEW and DESTROY (`-E expect`); `-e`
//! narrows it.
//!
//! It ends with exit code 0 on SIGINT (with conntrack's count of events shown) and when
//! the engine goes away (with a message); with 1 if the engine refuses the request (an
//! engine whose conntrack plugin has no `events` operation, for one).

use super::args::{CtArgs, OutputFormat, Table};
use super::event_filter::EventFilter;
use super::{CtError, Session, EXIT_FAIL, EXIT_OK, PREFIX};
use crate::client::{Client, ClientError};
use brickwall_control_protocol::conntrack::event::class;
use brickwall_control_protocol::conntrack::request::Events;
use brickwall_control_protocol::conntrack::{EventsResponse, Request, TARGET};
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How often to ask for new events when the last answer was not a full batch.
pub const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// Most events asked for per request.
pub const MAX_PER_POLL: u64 = 1024;

/// What to ask the plugin for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventQuery {
    /// The plugin's event classes.
    pub mask: u8,
    /// Lines with `[seconds.micros]` first (`-o timestamp`).
    pub timestamps: bool,
    /// Connection events (`flow events` in the summary) or expectation events.
    pub table: Table,
    /// The filter options' conditions (connection events only).
    pub filter: Option<EventFilter>,
}

/// The event classes of `table` that `-e` (a checked comma list) selects.
pub fn mask(table: Table, names: Option<&str>) -> Result<u8, CtError> {
    let (new, update, destroy) = match table {
        Table::Conntrack => (class::NEW, class::UPDATE, class::DESTROY),
        Table::Expect => (class::EXPECT_NEW, 0, class::EXPECT_DESTROY),
    };
    let Some(names) = names else {
        return Ok(new | update | destroy);
    };
    let mut m = 0;
    for n in names.split(',') {
        m |= match n {
            "NEW" => new,
            "UPDATE" if update == 0 => {
                return Err(CtError::usage(
                    "-e UPDATE: expectations have NEW and DESTROY events",
                ))
            }
            "UPDATE" => update,
            "DESTROY" => destroy,
            _ => new | update | destroy,
        };
    }
    Ok(m)
}

/// Runs `-E` for the table the options name until SIGINT or the engine goes away.
pub fn run(
    a: &CtArgs,
    table: Table,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<i32, CtError> {
    let filter = EventFilter::from_args(a)?;
    if filter.is_some() && table == Table::Expect {
        return Err(CtError::usage(
            "-E expect takes no filters (they apply to connection events)",
        ));
    }
    if a.output.iter().any(|o| *o != OutputFormat::Timestamp) {
        return Err(CtError::usage("-E takes -o timestamp only"));
    }
    let timestamps = a.output.contains(&OutputFormat::Timestamp);
    let q = EventQuery {
        mask: mask(table, a.event_mask.as_deref())?,
        timestamps,
        table,
        filter,
    };
    let mut s = Session::open(a)?;
    let stop = super::signal::stop_on_sigint();
    Ok(event_loop(&mut s.client, q, out, err, stop, POLL_INTERVAL))
}

/// Reads an answer to an `events` request.
fn batch(v: serde_json::Value) -> Result<EventsResponse, String> {
    serde_json::from_value(v).map_err(|e| format!("unexpected answer to an events request: {e}"))
}

/// Sleeps `d`, waking early if `stop` is set.
fn nap(d: Duration, stop: &AtomicBool) {
    let end = Instant::now() + d;
    while !stop.load(Ordering::Relaxed) {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        std::thread::sleep(left.min(Duration::from_millis(10)));
    }
}

/// Polls the conntrack plugin for events and prints them until `stop` is set or the
/// engine goes away (exit code 0), or the engine refuses the request (exit code 1).
pub fn event_loop(
    client: &mut Client,
    q: EventQuery,
    out: &mut dyn Write,
    err: &mut dyn Write,
    stop: &AtomicBool,
    interval: Duration,
) -> i32 {
    let what = match q.table {
        Table::Conntrack => "flow events",
        Table::Expect => "expectation events",
    };
    let mut cursor = 0u64;
    let (mut shown, mut lost) = (0u64, 0u64);
    loop {
        if stop.load(Ordering::Relaxed) {
            let _ = writeln!(err, "{PREFIX}: {shown} {what} have been shown.");
            return EXIT_OK;
        }
        let req = Request::Events(Events {
            cursor,
            max: Some(MAX_PER_POLL),
            mask: Some(q.mask),
        });
        let v = match client.call(TARGET, &req.to_value()) {
            Ok(v) => v,
            Err(e @ ClientError::Gone(_)) => {
                let _ = writeln!(err, "brickwall ct: {e}; {shown} {what} have been shown.");
                return EXIT_OK;
            }
            Err(e) => {
                let _ = writeln!(err, "brickwall ct: -E: {e}");
                return EXIT_FAIL;
            }
        };
        let b = match batch(v) {
            Ok(b) => b,
            Err(e) => {
                let _ = writeln!(err, "brickwall ct: -E: {e}");
                return EXIT_FAIL;
            }
        };
        if b.lost > lost {
            let _ = writeln!(
                err,
                "WARNING: {} events were lost (this reader polled too slowly)",
                b.lost - lost
            );
        }
        lost = b.lost;
        for e in &b.events {
            if q.filter.as_ref().is_some_and(|f| !f.matches(e)) {
                continue;
            }
            if writeln!(out, "{}", e.line(q.timestamps)).is_err() {
                return EXIT_OK;
            }
            shown += 1;
        }
        let _ = out.flush();
        cursor = b.cursor;
        if (b.events.len() as u64) < MAX_PER_POLL {
            nap(interval, stop);
        }
    }
}
