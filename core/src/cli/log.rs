//! Where the engine's and the plugins' log lines go: standard error, through
//! `tracing-subscriber`, as `brickwall: LEVEL: message`. Warnings and errors by default;
//! `-v` adds info, `-vv` debug, `-vvv` trace, `-q` (of `replay` and `run`) leaves
//! errors only, and `BRICKWALL_LOG` (the `RUST_LOG` syntax: `info`,
//! `warn,brickwall_engine=debug`) overrides both. The level is coloured on a terminal
//! unless `NO_COLOR` is set.

use std::fmt;
use std::io::IsTerminal;
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::EnvFilter;

/// The environment variable that sets the filter.
pub const ENV: &str = "BRICKWALL_LOG";

/// The level a count of `-v` asks for, `quiet` for errors only.
pub fn level(verbose: u8, quiet: bool) -> Level {
    match (quiet, verbose) {
        (true, _) => Level::ERROR,
        (false, 0) => Level::WARN,
        (false, 1) => Level::INFO,
        (false, 2) => Level::DEBUG,
        _ => Level::TRACE,
    }
}

/// Installs the subscriber for the process: `BRICKWALL_LOG` if it is set and valid,
/// else `level`. A bad `BRICKWALL_LOG` is said once, at warning level, and ignored.
pub fn init(level: Level) {
    let (filter, bad) = match std::env::var(ENV) {
        Ok(v) if !v.trim().is_empty() => match EnvFilter::try_new(&v) {
            Ok(f) => (f, None),
            Err(e) => (
                EnvFilter::new(level.as_str()),
                Some(format!("{ENV}={v}: {e}")),
            ),
        },
        _ => (EnvFilter::new(level.as_str()), None),
    };
    let colour = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let installed = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colour)
        .event_format(Line { colour })
        .try_init()
        .is_ok();
    if let (true, Some(bad)) = (installed, bad) {
        tracing::warn!("{bad} (ignored)");
    }
}

/// The line format: `brickwall: LEVEL: ` and the event's message and fields.
struct Line {
    colour: bool,
}

impl<S, N> FormatEvent<S, N> for Line
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut w: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let level = *event.metadata().level();
        let (name, sgr) = match level {
            Level::ERROR => ("error", "31"),
            Level::WARN => ("warning", "33"),
            Level::INFO => ("info", "32"),
            Level::DEBUG => ("debug", "34"),
            Level::TRACE => ("trace", "35"),
        };
        if self.colour {
            write!(w, "brickwall: \x1b[{sgr}m{name}\x1b[0m: ")?;
        } else {
            write!(w, "brickwall: {name}: ")?;
        }
        ctx.field_format().format_fields(w.by_ref(), event)?;
        writeln!(w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbosity_counts_up_from_warnings() {
        assert_eq!(level(0, false), Level::WARN);
        assert_eq!(level(1, false), Level::INFO);
        assert_eq!(level(2, false), Level::DEBUG);
        assert_eq!(level(5, false), Level::TRACE);
        assert_eq!(level(3, true), Level::ERROR);
    }
}
