//! `-E`: conntrack's event listener, as a poll loop over the control socket.
//!
//! The client asks the conntrack plugin `{"op":"events","cursor":0,"max":N,"mask":M,
//! "timestamps":T}`, which opens an event session, then `{"op":"events","cursor":C,...}`
//! with the cursor of each answer `{"events":["[NEW] ...", ...],"cursor":C,"lost":L}`.
//! It prints each line as it arrives, polls again at once after a full batch and
//! otherwise every [`POLL_INTERVAL`]. `lost` counts the events the session has lost
//! because it polled too slowly; when it grows, a warning says by how much, as
//! conntrack's ENOBUFS warning does.
//!
//! The mask is the plugin's event classes: NEW 1, UPDATE 2, DESTROY 4 for connections
//! (`-E`), 8 and 16 for expectation NEW and DESTROY (`-E expect`); `-e` narrows it.
//!
//! It ends with exit code 0 on SIGINT (with conntrack's count of events shown) and when
//! the engine goes away (with a message); with 1 if the engine refuses the request (an
//! engine whose conntrack plugin has no `events` operation, for one).

use super::args::{CtArgs, OutputFormat, Table};
use super::event_filter::EventFilter;
use super::{CtError, Session, EXIT_FAIL, EXIT_OK, PREFIX};
use crate::client::{Client, ClientError};
use serde_json::{json, Value};
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
        Table::Conntrack => (1u8, 2u8, 4u8),
        Table::Expect => (8, 0, 16),
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

/// What one answer to an `events` request holds.
struct Batch {
    lines: Vec<String>,
    cursor: Value,
    lost: u64,
}

/// Reads an answer to an `events` request.
fn batch(v: &Value) -> Result<Batch, String> {
    let lines = v
        .get("events")
        .and_then(Value::as_array)
        .ok_or_else(|| format!("unexpected answer to an events request: {v}"))?
        .iter()
        .map(|e| match e {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect();
    Ok(Batch {
        lines,
        cursor: v.get("cursor").cloned().unwrap_or(Value::Null),
        lost: v.get("lost").and_then(Value::as_u64).unwrap_or(0),
    })
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
    let mut cursor = Value::from(0u64);
    let (mut shown, mut lost) = (0u64, 0u64);
    loop {
        if stop.load(Ordering::Relaxed) {
            let _ = writeln!(err, "{PREFIX}: {shown} {what} have been shown.");
            return EXIT_OK;
        }
        let req = json!({
            "op": "events",
            "cursor": cursor,
            "max": MAX_PER_POLL,
            "mask": q.mask,
            "timestamps": q.timestamps,
        });
        let v = match client.call("conntrack", &req) {
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
        let b = match batch(&v) {
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
        for l in &b.lines {
            if q.filter.as_ref().is_some_and(|f| !f.matches(l)) {
                continue;
            }
            if writeln!(out, "{l}").is_err() {
                return EXIT_OK;
            }
            shown += 1;
        }
        let _ = out.flush();
        cursor = b.cursor;
        if (b.lines.len() as u64) < MAX_PER_POLL {
            nap(interval, stop);
        }
    }
}
