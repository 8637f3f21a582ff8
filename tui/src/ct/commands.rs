//! The commands: each sends the conntrack plugin its request and prints the answer as
//! `conntrack` does — entries on standard output, the summary line on standard error.

use super::args::{CtArgs, ListTable, OutputFormat, Table};
use super::{events, query, xml, CtError, Session, EXIT_FAIL, EXIT_OK, PREFIX};
use brickwall_control_protocol::conntrack::request::{
    At, Delete, ExpectCreate, ExpectDelete, ExpectMask, Filter, Format, Get, List, Resize,
    TupleSpec, Update,
};
use brickwall_control_protocol::conntrack::response::{
    CountResponse, Counts, Deleted, Entry, ExpectCreated, ExpectListResponse, GetResponse,
    ListResponse, ResizeResponse, StatsResponse, Updated,
};
use brickwall_control_protocol::conntrack::value::{LabelBits, Mark};
use brickwall_control_protocol::conntrack::{ExpectRecord, Request};
use brickwall_hooks::connlabel;
use std::cell::Cell;
use std::io::Write;

/// The `conntrack -S` counters of a worker line, in conntrack-tools' order (Linux 6.x).
pub use brickwall_control_protocol::conntrack_stats::SHOWN as STAT_FIELDS;

/// Runs the one command the options give; the exit code on success.
pub fn dispatch(a: &CtArgs, out: &mut dyn Write, err: &mut dyn Write) -> Result<i32, CtError> {
    if a.id.is_some() && a.delete != Some(Table::Expect) {
        return Err(CtError::usage(
            "--id names an expectation: -D expect --id N",
        ));
    }
    if (a.label_add.is_some() || a.label_del.is_some()) && !a.update {
        return Err(CtError::usage(
            "--label-add and --label-del change labels with -U",
        ));
    }
    if a.event.is_none() {
        if a.event_mask.is_some() {
            return Err(CtError::usage("-e selects the events of -E"));
        }
        if a.output.contains(&OutputFormat::Timestamp) {
            return Err(CtError::usage(
                "-o timestamp applies to -E (use extended or json)",
            ));
        }
    }
    if a.zero && a.dump.is_none() {
        return Err(CtError::usage("-z zeroes the counters of what -L lists"));
    }
    if a.output.contains(&OutputFormat::Save) && a.output.iter().any(|o| *o != OutputFormat::Save) {
        // conntrack's words, and its exit code (1).
        return Err(CtError::fail(
            "cannot combine save output with any other output type, use -o save only",
        ));
    }
    if let Some(t) = a.create {
        if t == Table::Expect {
            return expect_create(a, err);
        }
        return Err(CtError::fail(
            "-I: creating connections by hand is not available (expectations are: -I expect)",
        ));
    }
    if a.get {
        return get(a, out, err);
    }
    if let Some(t) = a.dump {
        return match t {
            ListTable::Conntrack => list(a, out, err),
            ListTable::Expect => expect_list(a, out, err),
            ListTable::Dying | ListTable::Unconfirmed => outside_list(a, t, out, err),
        };
    }
    if let Some(t) = a.delete {
        return match t {
            Table::Conntrack => delete(a, out, err),
            Table::Expect => expect_delete(a, err),
        };
    }
    if (a.label_add.is_some() || a.label_del.is_some()) && !a.update {
        return Err(CtError::usage(
            "--label-add and --label-del change labels with -U",
        ));
    }
    if a.update {
        return update(a, out, err);
    }
    if let Some(t) = a.flush {
        return flush(a, t, err);
    }
    if let Some(t) = a.count {
        return count(a, t, out);
    }
    if a.stats {
        return stats(a, out);
    }
    if let Some(n) = a.buckets {
        return buckets(a, n, out, err);
    }
    if let Some(t) = a.event {
        return events::run(a, t, out, err);
    }
    if *a
        == (CtArgs {
            socket: a.socket.clone(),
            ..CtArgs::default()
        })
    {
        // No options at all: the usage, as conntrack prints its own (exit code 0).
        use clap::CommandFactory;
        let help = super::CtCli::command().render_help();
        let _ = write!(out, "{help}");
        return Ok(EXIT_OK);
    }
    Err(CtError::usage(
        "no command given (-L, -G, -D, -U, -F, -C, -S, -E, -I or --buckets)",
    ))
}

/// Refuses filter and format options for a command that takes none.
fn no_filters(a: &CtArgs, cmd: &str) -> Result<(), CtError> {
    if query::has_filters(a) {
        return Err(CtError::usage(format!("{cmd} takes no filters")));
    }
    if !a.output.is_empty() {
        return Err(CtError::usage(format!("{cmd} takes no -o")));
    }
    Ok(())
}

/// The format the output options ask the plugin for (`-o save` is printed here, from
/// records).
fn format(a: &CtArgs) -> Format {
    if [OutputFormat::Json, OutputFormat::Save, OutputFormat::Xml]
        .iter()
        .any(|o| a.output.contains(o))
    {
        Format::Json
    } else if a.output.contains(&OutputFormat::Extended) {
        Format::Extended
    } else {
        Format::Text
    }
}

/// Whether `-o id` asks for each connection's id.
fn show_id(a: &CtArgs) -> bool {
    a.output.contains(&OutputFormat::Id)
}

/// How entries are printed: label bits by name (`-o labels`), records as `-o save`
/// lines, as XML `<flow>`s (`-o xml`) or as JSON.
#[derive(Default)]
struct Print {
    /// The label names of conntrack-tools' map, with `-o labels`.
    names: Option<Vec<(u8, String)>>,
    /// Records as `-o save` lines.
    save: bool,
    /// Records as XML, with `-o xml`; whether the root element is open yet.
    xml: Option<Cell<bool>>,
    /// The clock the entries were read at (for XML's `<deltatime>`).
    now_ns: u64,
}

impl Print {
    /// How the options ask entries read at `now_ns` to be printed.
    fn of(a: &CtArgs, now_ns: u64) -> Print {
        Print {
            names: label_names(a),
            save: a.output.contains(&OutputFormat::Save),
            xml: a
                .output
                .contains(&OutputFormat::Xml)
                .then(|| Cell::new(false)),
            now_ns,
        }
    }

    /// Ends the listing: closes the XML root element if an entry opened it.
    fn finish(&self, out: &mut dyn Write) {
        if self.xml.as_ref().is_some_and(Cell::get) {
            let _ = writeln!(out, "</{}>", xml::Root::Conntrack.name());
        }
        let _ = out.flush();
    }
}

/// The names of the label bits set in `labels` that conntrack-tools' map names.
fn label_words(labels: u128, names: &[(u8, String)]) -> Vec<String> {
    names
        .iter()
        .filter(|(b, _)| labels.checked_shr(u32::from(*b)).unwrap_or(0) & 1 == 1)
        .map(|(_, n)| n.clone())
        .collect()
}

/// Whether `-o labels` asks for each connection's labels.
fn show_labels(a: &CtArgs) -> bool {
    a.output.contains(&OutputFormat::Labels)
}

/// The label names `-o labels` prints (conntrack-tools' map), if it was asked for.
fn label_names(a: &CtArgs) -> Option<Vec<(u8, String)>> {
    show_labels(a).then(|| {
        std::fs::read_to_string(connlabel::CONNLABEL_CONF)
            .map(|t| connlabel::parse_map(&t))
            .unwrap_or_default()
    })
}

/// A line's trailing `labels=BIT,...` (as the plugin writes it) in names, as conntrack
/// prints them: only bits the map names; no `labels=` when none is named.
fn named_labels(line: &str, names: &[(u8, String)]) -> String {
    let Some((head, bits)) = line.rsplit_once(" labels=") else {
        return line.to_string();
    };
    let named: Vec<&str> = bits
        .split(',')
        .filter_map(|b| b.parse::<u8>().ok())
        .filter_map(|b| names.iter().find(|(n, _)| *n == b).map(|(_, s)| s.as_str()))
        .collect();
    if named.is_empty() {
        head.to_string()
    } else {
        format!("{head} labels={}", named.join(","))
    }
}

/// Prints one entry: a line as the plugin formatted it (its label bits in names, with
/// `-o labels`), or a record as an `-o save` line or one line of JSON.
fn print_entry(out: &mut dyn Write, e: &Entry, p: &Print) {
    let _ = match (e, p.names.as_deref()) {
        (Entry::Line(line), Some(names)) => writeln!(out, "{}", named_labels(line, names)),
        (Entry::Line(line), None) => writeln!(out, "{line}"),
        (Entry::Record(r), _) if p.save => writeln!(out, "{}", super::save::line(r)),
        (Entry::Record(r), names) if p.xml.is_some() => {
            if p.xml.as_ref().is_some_and(|open| !open.replace(true)) {
                let _ = writeln!(
                    out,
                    "{}\n<{}>",
                    xml::DECLARATION,
                    xml::Root::Conntrack.name()
                );
            }
            let labels = names.map(|n| label_words(r.labels.0, n));
            writeln!(out, "{}", xml::flow(r, p.now_ns, labels.as_deref()))
        }
        // Through a JSON value, which writes its fields as the answer's were written.
        (Entry::Record(r), _) => match serde_json::to_value(r) {
            Ok(v) => writeln!(out, "{v}"),
            Err(e) => writeln!(out, "{{\"error\": \"{e}\"}}"),
        },
    };
}

/// The connections a command is about: one by its full tuple, or every match of a
/// filter (every connection for an empty one).
enum Which {
    Tuple(TupleSpec),
    Filter(Filter),
}

impl Which {
    /// One connection when the options name a full tuple, else the filter's matches.
    fn of(a: &CtArgs, cmd: &str) -> Result<Which, CtError> {
        if query::is_full_tuple(a) {
            Ok(Which::Tuple(query::tuple(a, cmd)?))
        } else {
            Ok(Which::Filter(query::filter(a, cmd)?.unwrap_or_default()))
        }
    }

    /// Prints them as of `now_ns` in the format the options ask for: the connection
    /// (`get`), or every match (`list`, in pages).
    fn print(
        self,
        s: &mut Session,
        a: &CtArgs,
        now_ns: u64,
        out: &mut dyn Write,
    ) -> Result<(), CtError> {
        let p = Print::of(a, now_ns);
        match self {
            Which::Tuple(tuple) => {
                let r: GetResponse = s.ask(&Request::Get(Get {
                    now_ns,
                    tuple,
                    format: format(a),
                    show_labels: show_labels(a),
                    show_id: show_id(a),
                }))?;
                print_entry(out, &r.entry, &p);
            }
            Which::Filter(filter) => {
                let req = List {
                    now_ns,
                    filter: Some(filter),
                    format: format(a),
                    show_labels: show_labels(a),
                    show_id: show_id(a),
                    ..List::default()
                };
                print_pages(s, req, out, &p)?;
            }
        }
        p.finish(out);
        Ok(())
    }
}

/// `-L`: the connections, filtered; with `-z` (no filters, as conntrack), their
/// counters zeroed once listed.
fn list(a: &CtArgs, out: &mut dyn Write, err: &mut dyn Write) -> Result<i32, CtError> {
    let filter = query::filter(a, "-L")?;
    if a.zero && filter.is_some() {
        return Err(CtError::usage("Can't use -z with filtering parameters"));
    }
    let mut s = Session::open(a)?;
    let now_ns = s.now_ns()?.unwrap_or(0);
    let req = List {
        now_ns,
        filter,
        format: format(a),
        show_labels: show_labels(a),
        show_id: show_id(a),
        zero: a.zero,
        ..List::default()
    };
    let p = Print::of(a, now_ns);
    let shown = print_pages(&mut s, req, out, &p)?;
    p.finish(out);
    let _ = writeln!(err, "{PREFIX}: {shown} flow entries have been shown.");
    Ok(EXIT_OK)
}

/// Entries per `list` request: at 10 000, a page of JSON entries stays far below the
/// protocol's 16 MiB frame limit.
const PAGE: u64 = List::MAX_LIMIT;

/// Prints every entry a `list` request matches, a page at a time (each page starts at
/// the previous answer's `cursor`), so that no answer has to hold the whole table.
/// Entries are printed as pages arrive; the number printed is returned. As with
/// conntrack's netlink dump, a connection created or removed while the pages are
/// fetched may or may not be listed.
fn print_pages(
    s: &mut Session,
    mut req: List,
    out: &mut dyn Write,
    p: &Print,
) -> Result<u64, CtError> {
    req.limit = Some(PAGE);
    req.total = false;
    let mut shown = 0u64;
    loop {
        let page: ListResponse = s.ask(&Request::List(req.clone()))?;
        for e in &page.entries {
            print_entry(out, e, p);
            shown += 1;
        }
        match (page.cursor, page.more) {
            (Some(c), Some(true)) => req.cursor = Some(c),
            _ => break,
        }
    }
    let _ = out.flush();
    Ok(shown)
}

/// `-L dying` and `-L unconfirmed`: the connections outside the table, printed as
/// Linux's idle host prints them: none. brickwall has no dying connections (a
/// connection removed is freed at once); its unconfirmed ones live only while a burst
/// is between conntrack-in and confirmation, and are not asked for. The engine is still
/// reached, so that an unreachable one is an error as for `-L`.
fn outside_list(
    a: &CtArgs,
    t: ListTable,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<i32, CtError> {
    let _ = (t, out);
    query::filter(a, "-L")?;
    let mut s = Session::open(a)?;
    s.now_ns()?;
    let _ = writeln!(err, "{PREFIX}: 0 flow entries have been shown.");
    Ok(EXIT_OK)
}

/// `-G`: one connection by tuple.
fn get(a: &CtArgs, out: &mut dyn Write, err: &mut dyn Write) -> Result<i32, CtError> {
    let tuple = query::tuple(a, "-G")?;
    let mut s = Session::open(a)?;
    let now_ns = s.now_ns()?.unwrap_or(0);
    Which::Tuple(tuple).print(&mut s, a, now_ns, out)?;
    let _ = writeln!(err, "{PREFIX}: 1 flow entries have been shown.");
    Ok(EXIT_OK)
}

/// `-D`: one connection by its full tuple, or every match of the filters (every
/// connection without filters). Prints what it deletes, as conntrack does.
fn delete(a: &CtArgs, out: &mut dyn Write, err: &mut dyn Write) -> Result<i32, CtError> {
    let which = Which::of(a, "-D")?;
    let mut del = match &which {
        Which::Tuple(t) => Delete {
            tuple: Some(t.clone()),
            ..Delete::default()
        },
        Which::Filter(f) => Delete {
            filter: Some(f.clone()),
            ..Delete::default()
        },
    };
    let mut s = Session::open(a)?;
    // Both requests judge expiry at the same clock.
    let now_ns = s.now_ns()?.unwrap_or(0);
    which.print(&mut s, a, now_ns, out)?;
    del.now_ns = now_ns;
    let n = s.ask::<Deleted>(&Request::Delete(del))?.deleted;
    let _ = writeln!(err, "{PREFIX}: {n} flow entries have been deleted.");
    // Nothing deleted is a failure, as conntrack's.
    Ok(if n == 0 { EXIT_FAIL } else { EXIT_OK })
}

/// Label bit numbers (0-127, as `connlabel::bits` gives them) as a mask.
fn label_bits(bits: &[u8]) -> LabelBits {
    LabelBits(bits.iter().fold(0u128, |m, b| {
        m | 1u128.checked_shl(u32::from(*b)).unwrap_or(0)
    }))
}

/// `-U`: sets the mark (`-m MARK[/MASK]`: the bits of MASK from MARK) and the timeout
/// (`-t SECS`), and adds or deletes labels of one connection by its full tuple, or of every match of the other
/// filters (every connection without them). Prints the updated connections, as
/// conntrack does.
fn update(a: &CtArgs, out: &mut dyn Write, err: &mut dyn Write) -> Result<i32, CtError> {
    let mut change = Update::default();
    if let Some(m) = a.mark.as_deref() {
        let m: Mark = m.parse().map_err(CtError::usage)?;
        change.mark = Some(m.value);
        change.mark_mask = Some(m.mask);
    }
    let conf = std::path::Path::new(connlabel::CONNLABEL_CONF);
    if let Some(l) = &a.label_add {
        let bits = connlabel::bits(l, conf).map_err(CtError::usage)?;
        change.label_add = Some(label_bits(&bits));
    }
    change.label_del = match a.label_del.as_deref() {
        None => None,
        Some("") => Some(LabelBits(u128::MAX)),
        Some(l) => Some(label_bits(
            &connlabel::bits(l, conf).map_err(CtError::usage)?,
        )),
    };
    change.timeout = a.timeout;
    if change == Update::default() {
        return Err(CtError::usage(
            "-U: nothing to change (-m, -t, --label-add or --label-del)",
        ));
    }
    // The mark is what -U sets, not a filter.
    let which = CtArgs {
        mark: None,
        ..a.clone()
    };
    let which = Which::of(&which, "-U")?;
    match &which {
        Which::Tuple(t) => change.tuple = Some(t.clone()),
        Which::Filter(f) => change.filter = Some(f.clone()),
    }
    let mut s = Session::open(a)?;
    // Both requests judge expiry at the same clock.
    let now_ns = s.now_ns()?.unwrap_or(0);
    change.now_ns = now_ns;
    let n = s.ask::<Updated>(&Request::Update(change))?.updated;
    which.print(&mut s, a, now_ns, out)?;
    let _ = writeln!(err, "{PREFIX}: {n} flow entries have been updated.");
    // Nothing updated is a failure, as conntrack's.
    Ok(if n == 0 { EXIT_FAIL } else { EXIT_OK })
}

/// The expectations as of the engine's clock.
fn expectations(s: &mut Session) -> Result<Vec<ExpectRecord>, CtError> {
    let now_ns = s.now_ns()?.unwrap_or(0);
    let r: ExpectListResponse = s.ask(&Request::ExpectList(At { now_ns }))?;
    Ok(r.expectations)
}

/// `-L expect`: lines, as `-o extended` prints them too (conntrack-tools 1.4.7 adds
/// nothing to an expectation's line), or XML (`-o xml`).
fn expect_list(a: &CtArgs, out: &mut dyn Write, err: &mut dyn Write) -> Result<i32, CtError> {
    if query::has_filters(a) {
        return Err(CtError::usage("-L expect takes no filters"));
    }
    let taken = [OutputFormat::Extended, OutputFormat::Xml, OutputFormat::Id];
    if a.output.iter().any(|o| !taken.contains(o)) {
        return Err(CtError::usage(
            "-L expect takes -o extended, xml or id only",
        ));
    }
    let mut s = Session::open(a)?;
    let list = expectations(&mut s)?;
    let as_xml = a.output.contains(&OutputFormat::Xml);
    if as_xml && !list.is_empty() {
        let _ = writeln!(out, "{}\n<{}>", xml::DECLARATION, xml::Root::Expect.name());
    }
    for e in &list {
        let line = if as_xml {
            xml::expect_flow(e)
        } else {
            e.line()
        };
        let _ = writeln!(out, "{line}");
    }
    if as_xml && !list.is_empty() {
        let _ = writeln!(out, "</{}>", xml::Root::Expect.name());
    }
    let _ = out.flush();
    let _ = writeln!(
        err,
        "{PREFIX}: {} expectations have been shown.",
        list.len()
    );
    Ok(EXIT_OK)
}

/// `-D expect --id N`.
fn expect_delete(a: &CtArgs, err: &mut dyn Write) -> Result<i32, CtError> {
    no_filters(a, "-D expect")?;
    let id =
        a.id.ok_or_else(|| CtError::usage("-D expect: give the expectation's --id"))?;
    let mut s = Session::open(a)?;
    let n = s
        .ask::<Deleted>(&Request::ExpectDelete(ExpectDelete { id }))?
        .deleted;
    let _ = writeln!(err, "{PREFIX}: {n} expectations have been deleted.");
    Ok(EXIT_OK)
}

/// `-I expect`: the master named as -G names a connection, the expected tuple by the
/// --tuple-* options, the mask by --mask-*.
fn expect_create(a: &CtArgs, err: &mut dyn Write) -> Result<i32, CtError> {
    const CMD: &str = "-I expect";
    let master = query::tuple(a, CMD)?;
    let need = |what: &str| CtError::usage(format!("{CMD}: missing {what} (the expected tuple)"));
    let src = a.tuple_src.as_deref().ok_or_else(|| need("--tuple-src"))?;
    let dst = a.tuple_dst.as_deref().ok_or_else(|| need("--tuple-dst"))?;
    let mut expect = TupleSpec::new(
        master.proto.0,
        query::address(CMD, "--tuple-src", src)?,
        query::address(CMD, "--tuple-dst", dst)?,
    );
    expect.sport = a.tuple_port_src;
    expect.dport = a.tuple_port_dst;
    let mask_src = a
        .mask_src
        .as_deref()
        .map(|m| {
            m.parse().map_err(|_| {
                CtError::usage(format!(
                    "{CMD}: --mask-src {m}: not an IPv4 or IPv6 address"
                ))
            })
        })
        .transpose()?;
    let mask = (mask_src.is_some() || a.mask_port_src.is_some()).then_some(ExpectMask {
        src: mask_src,
        sport: a.mask_port_src,
    });
    let mut req = ExpectCreate {
        now_ns: 0,
        master,
        expect,
        mask,
        timeout: a.timeout,
        helper: a.helper.clone(),
    };
    let mut s = Session::open(a)?;
    req.now_ns = s.now_ns()?.unwrap_or(0);
    s.ask::<ExpectCreated>(&Request::ExpectCreate(req))?;
    let _ = writeln!(err, "{PREFIX}: 1 expectation has been created.");
    Ok(EXIT_OK)
}

/// `-F` and `-F expect`.
fn flush(a: &CtArgs, t: Table, err: &mut dyn Write) -> Result<i32, CtError> {
    no_filters(a, "-F")?;
    let mut s = Session::open(a)?;
    let (req, what) = match t {
        Table::Conntrack => (Request::Flush(At::default()), "connection tracking table"),
        Table::Expect => (Request::ExpectFlush(At::default()), "expectation table"),
    };
    s.ask::<Deleted>(&req)?;
    let _ = writeln!(err, "{PREFIX}: {what} has been emptied.");
    Ok(EXIT_OK)
}

/// `-C` and `-C expect`: the number alone.
fn count(a: &CtArgs, t: Table, out: &mut dyn Write) -> Result<i32, CtError> {
    no_filters(a, "-C")?;
    let mut s = Session::open(a)?;
    let n = match t {
        Table::Conntrack => {
            s.ask::<CountResponse>(&Request::Count(At::default()))?
                .count
        }
        Table::Expect => expectations(&mut s)?.len() as u64,
    };
    let _ = writeln!(out, "{n}");
    Ok(EXIT_OK)
}

/// A worker's `conntrack -S` line from its counts in the plugin's `stats` answer:
/// `cpu=N` padded to four, a tab, then each counter followed by a space
/// (conntrack-tools' own format); a counter the answer lacks is 0.
pub fn stats_line(cpu: u32, counts: &Counts) -> String {
    let mut s = format!("cpu={cpu:<4}\t");
    for k in STAT_FIELDS {
        let n = counts.get(k).unwrap_or(0);
        s.push_str(&format!("{k}={n} "));
    }
    s
}

/// `-S`: one line per worker, `cpu=N` as conntrack-tools numbers CPUs (an engine that
/// reports no workers gets one line of its totals).
fn stats(a: &CtArgs, out: &mut dyn Write) -> Result<i32, CtError> {
    no_filters(a, "-S")?;
    let mut s = Session::open(a)?;
    let r: StatsResponse = s.ask(&Request::Stats(At::default()))?;
    if r.workers.is_empty() {
        let _ = writeln!(out, "{}", stats_line(0, &r.totals));
    }
    for (cpu, w) in r.workers.iter().enumerate() {
        let _ = writeln!(out, "{}", stats_line(cpu as u32, w));
    }
    Ok(EXIT_OK)
}

/// `--buckets`: the bucket count (mid-resize, `FROM -> TO` and the old buckets moved so
/// far) on standard output; `--buckets N`: resizes the table, the summary on standard
/// error.
fn buckets(
    a: &CtArgs,
    n: Option<u64>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<i32, CtError> {
    no_filters(a, "--buckets")?;
    let mut s = Session::open(a)?;
    let Some(n) = n else {
        let r: StatsResponse = s.ask(&Request::Stats(At::default()))?;
        let _ = match r.resize {
            Some(p) => writeln!(
                out,
                "{} -> {} ({} of {} buckets moved)",
                p.from, p.to, p.migrated, p.from
            ),
            None => writeln!(out, "{}", r.buckets),
        };
        return Ok(EXIT_OK);
    };
    let r: ResizeResponse = s.ask(&Request::Resize(Resize { buckets: n }))?;
    let _ = if r.already_running {
        writeln!(
            err,
            "{PREFIX}: a resize is running; resizing to {} buckets follows it.",
            r.new
        )
    } else if r.old == r.new {
        writeln!(
            err,
            "{PREFIX}: the hash table has {} buckets already.",
            r.new
        )
    } else {
        writeln!(
            err,
            "{PREFIX}: the hash table is being resized from {} to {} buckets.",
            r.old, r.new
        )
    };
    Ok(EXIT_OK)
}

#[cfg(test)]
mod tests {
    use super::named_labels;

    #[test]
    fn label_bits_become_the_names_of_the_map_as_conntrack_prints_them() {
        let names = vec![(1, "vpn".to_string()), (3, "eth0-in".to_string())];
        let line = "udp      17 29 src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2 mark=0 use=1";
        assert_eq!(
            named_labels(&format!("{line} labels=1,3,5"), &names),
            format!("{line} labels=vpn,eth0-in")
        );
        // Bits the map does not name are left out, and with them an empty `labels=`.
        assert_eq!(named_labels(&format!("{line} labels=5,9"), &names), line);
        assert_eq!(named_labels(line, &names), line);
    }
}
