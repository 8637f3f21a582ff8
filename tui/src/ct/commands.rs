//! The commands: each sends the conntrack plugin its request and prints the answer as
//! `conntrack` does — entries on standard output, the summary line on standard error.

use super::args::{CtArgs, OutputFormat, Table};
use super::{events, query, CtError, Session, EXIT_OK, PREFIX};
use brickwall_hooks::connlabel;
use serde_json::{json, Map, Value};
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
            Table::Conntrack => list(a, out, err),
            Table::Expect => expect_list(a, out, err),
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
    if let Some(t) = a.event {
        return events::run(a, t, out, err);
    }
    Err(CtError::usage(
        "no command given (-L, -G, -D, -F, -C, -S, -E or -I)",
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

/// The plugin's name for the output format asked for.
fn format_name(a: &CtArgs) -> &'static str {
    if a.output.contains(&OutputFormat::Json) {
        "json"
    } else if a.output.contains(&OutputFormat::Extended) {
        "extended"
    } else {
        "text"
    }
}

/// A `list` or `get` request in the output format asked for, with the labels when
/// `-o labels` asks for them.
fn with_format(a: &CtArgs, mut fields: Value) -> Value {
    fields["format"] = format_name(a).into();
    if a.output.contains(&OutputFormat::Labels) {
        fields["show_labels"] = true.into();
    }
    fields
}

/// The label names `-o labels` prints (conntrack-tools' map), if it was asked for.
fn label_names(a: &CtArgs) -> Option<Vec<(u8, String)>> {
    a.output.contains(&OutputFormat::Labels).then(|| {
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

/// A JSON request with the engine's clock, if it has one.
fn request(s: &mut Session, fields: Value) -> Result<Value, CtError> {
    Ok(at_clock(fields, s.now_ns()?))
}

/// `fields` as a request object carrying the clock `now` (when known), so that the
/// requests of one command judge expiry at the same time.
fn at_clock(fields: Value, now: Option<u64>) -> Value {
    let mut m = match fields {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    if let Some(n) = now {
        m.insert("now_ns".into(), n.into());
    }
    Value::Object(m)
}

/// Prints one entry: a line as the plugin formatted it (its label bits in `names`, with
/// `-o labels`), or a JSON object on one line.
fn print_entry(out: &mut dyn Write, e: &Value, names: Option<&[(u8, String)]>) {
    let _ = match (e, names) {
        (Value::String(line), Some(names)) => writeln!(out, "{}", named_labels(line, names)),
        (Value::String(line), None) => writeln!(out, "{line}"),
        (other, _) => writeln!(out, "{other}"),
    };
}

/// The `entries` of a `list` answer.
fn entries(v: &Value) -> Result<&Vec<Value>, CtError> {
    v.get("entries")
        .and_then(Value::as_array)
        .ok_or_else(|| CtError::fail(format!("unexpected answer from the conntrack plugin: {v}")))
}

/// `-L`: the connections, filtered.
fn list(a: &CtArgs, out: &mut dyn Write, err: &mut dyn Write) -> Result<i32, CtError> {
    let filter = query::filter(a, "-L")?;
    let mut s = Session::open(a)?;
    let mut fields = with_format(a, json!({"op": "list"}));
    if let Some(f) = filter {
        fields["filter"] = f;
    }
    let req = request(&mut s, fields)?;
    let shown = print_pages(&mut s, req, out, label_names(a).as_deref())?;
    let _ = writeln!(err, "{PREFIX}: {shown} flow entries have been shown.");
    Ok(EXIT_OK)
}

/// Entries per `list` request: at 10 000, a page of JSON entries stays far below the
/// protocol's 16 MiB frame limit.
const PAGE: u64 = 10_000;

/// Prints every entry a `list` request matches, a page at a time (each page starts at
/// the previous answer's `cursor`), so that no answer has to hold the whole table.
/// Entries are printed as pages arrive; the number printed is returned. As with
/// conntrack's netlink dump, a connection created or removed while the pages are
/// fetched may or may not be listed.
fn print_pages(
    s: &mut Session,
    mut req: Value,
    out: &mut dyn Write,
    names: Option<&[(u8, String)]>,
) -> Result<u64, CtError> {
    req["limit"] = PAGE.into();
    req["total"] = false.into();
    let mut shown = 0u64;
    loop {
        let v = s.conntrack(&req)?;
        for e in entries(&v)? {
            print_entry(out, e, names);
            shown += 1;
        }
        match v.get("cursor").and_then(Value::as_u64) {
            Some(c) if v.get("more") == Some(&Value::Bool(true)) => req["cursor"] = c.into(),
            _ => break,
        }
    }
    let _ = out.flush();
    Ok(shown)
}

/// `-G`: one connection by tuple.
fn get(a: &CtArgs, out: &mut dyn Write, err: &mut dyn Write) -> Result<i32, CtError> {
    let tuple = query::tuple(a, "-G")?;
    let mut s = Session::open(a)?;
    let req = request(&mut s, with_format(a, json!({"op": "get", "tuple": tuple})))?;
    let v = s.conntrack(&req)?;
    let e = v.get("entry").ok_or_else(|| {
        CtError::fail(format!("unexpected answer from the conntrack plugin: {v}"))
    })?;
    print_entry(out, e, label_names(a).as_deref());
    let _ = out.flush();
    let _ = writeln!(err, "{PREFIX}: 1 flow entries have been shown.");
    Ok(EXIT_OK)
}

/// `-D`: one connection by its full tuple, or every match of the filters (every
/// connection without filters). Prints what it deletes, as conntrack does.
fn delete(a: &CtArgs, out: &mut dyn Write, err: &mut dyn Write) -> Result<i32, CtError> {
    let by_tuple = query::is_full_tuple(a);
    let (shown, del) = if by_tuple {
        let t = query::tuple(a, "-D")?;
        (
            with_format(a, json!({"op": "get", "tuple": t.clone()})),
            json!({"op": "delete", "tuple": t}),
        )
    } else {
        let f = query::filter(a, "-D")?.unwrap_or_else(|| json!({}));
        (
            with_format(a, json!({"op": "list", "filter": f.clone()})),
            json!({"op": "delete", "filter": f}),
        )
    };
    let mut s = Session::open(a)?;
    let now = s.now_ns()?;
    // Both requests judge expiry at the same clock.
    let at_now = |v: Value| at_clock(v, now);
    if by_tuple {
        let listed = s.conntrack(&at_now(shown))?;
        if let Some(e) = listed.get("entry") {
            print_entry(out, e, label_names(a).as_deref());
        }
        let _ = out.flush();
    } else {
        print_pages(&mut s, at_now(shown), out, label_names(a).as_deref())?;
    }
    let v = s.conntrack(&at_now(del))?;
    let n = v.get("deleted").and_then(Value::as_u64).unwrap_or(0);
    let _ = writeln!(err, "{PREFIX}: {n} flow entries have been deleted.");
    Ok(EXIT_OK)
}

/// `-U`: sets the mark (`-m MARK[/MASK]`: the bits of MASK from MARK) and adds or
/// deletes labels of one connection by its full tuple, or of every match of the other
/// filters (every connection without them). Prints the updated connections, as
/// conntrack does.
fn update(a: &CtArgs, out: &mut dyn Write, err: &mut dyn Write) -> Result<i32, CtError> {
    let mut fields = json!({"op": "update"});
    if let Some((mark, mask)) = a.mark.as_deref().and_then(super::args::mark_parts) {
        fields["mark"] = mark.into();
        fields["mark_mask"] = mask.into();
    }
    let conf = std::path::Path::new(brickwall_hooks::connlabel::CONNLABEL_CONF);
    if let Some(l) = &a.label_add {
        fields["label_add"] = brickwall_hooks::connlabel::bits(l, conf)
            .map_err(CtError::usage)?
            .into();
    }
    match a.label_del.as_deref() {
        None => {}
        Some("") => fields["label_del"] = true.into(),
        Some(l) => {
            fields["label_del"] = brickwall_hooks::connlabel::bits(l, conf)
                .map_err(CtError::usage)?
                .into()
        }
    }
    if fields.as_object().is_some_and(|m| m.len() == 1) {
        return Err(CtError::usage(
            "-U: nothing to change (-m, --label-add or --label-del)",
        ));
    }
    // The mark is what -U sets, not a filter.
    let which = CtArgs {
        mark: None,
        ..a.clone()
    };
    let shown = if query::is_full_tuple(&which) {
        let t = query::tuple(&which, "-U")?;
        fields["tuple"] = t.clone();
        with_format(a, json!({"op": "get", "tuple": t}))
    } else {
        let f = query::filter(&which, "-U")?.unwrap_or_else(|| json!({}));
        fields["filter"] = f.clone();
        with_format(a, json!({"op": "list", "filter": f}))
    };
    let mut s = Session::open(a)?;
    let now = s.now_ns()?;
    // Both requests judge expiry at the same clock.
    let at_now = |v: Value| at_clock(v, now);
    let v = s.conntrack(&at_now(fields))?;
    let n = v.get("updated").and_then(Value::as_u64).unwrap_or(0);
    let shown = at_now(shown);
    if shown["op"] == "get" {
        if let Some(e) = s.conntrack(&shown)?.get("entry") {
            print_entry(out, e, label_names(a).as_deref());
        }
    } else {
        print_pages(&mut s, shown, out, label_names(a).as_deref())?;
    }
    let _ = writeln!(err, "{PREFIX}: {n} flow entries have been updated.");
    Ok(EXIT_OK)
}

/// The expectation lines as of the engine's clock.
fn expect_lines(s: &mut Session) -> Result<Vec<String>, CtError> {
    let req = match s.now_ns()? {
        Some(n) => format!("expect-list {n}"),
        None => "expect-list".to_string(),
    };
    let v = s.conntrack(&Value::String(req))?;
    let text = match &v {
        Value::String(t) => t.as_str(),
        other => {
            return Err(CtError::fail(format!(
                "unexpected answer from the conntrack plugin: {other}"
            )))
        }
    };
    Ok(text.lines().map(str::to_string).collect())
}

/// `-L expect`.
fn expect_list(a: &CtArgs, out: &mut dyn Write, err: &mut dyn Write) -> Result<i32, CtError> {
    no_filters(a, "-L expect")?;
    let mut s = Session::open(a)?;
    let lines = expect_lines(&mut s)?;
    for l in &lines {
        let _ = writeln!(out, "{l}");
    }
    let _ = out.flush();
    let _ = writeln!(
        err,
        "{PREFIX}: {} expectations have been shown.",
        lines.len()
    );
    Ok(EXIT_OK)
}

/// `-D expect --id N`.
fn expect_delete(a: &CtArgs, err: &mut dyn Write) -> Result<i32, CtError> {
    no_filters(a, "-D expect")?;
    let id =
        a.id.ok_or_else(|| CtError::usage("-D expect: give the expectation's --id"))?;
    let mut s = Session::open(a)?;
    s.conntrack(&Value::String(format!("expect-delete {id}")))?;
    let _ = writeln!(err, "{PREFIX}: 1 expectations have been deleted.");
    Ok(EXIT_OK)
}

/// `-I expect`: the master named as -G names a connection, the expected tuple by the
/// --tuple-* options, the mask by --mask-*.
fn expect_create(a: &CtArgs, err: &mut dyn Write) -> Result<i32, CtError> {
    let master = query::tuple(a, "-I expect")?;
    let need =
        |what: &str| CtError::usage(format!("-I expect: missing {what} (the expected tuple)"));
    let mut expect = json!({
        "proto": master["proto"].clone(),
        "src": a.tuple_src.as_deref().ok_or_else(|| need("--tuple-src"))?,
        "dst": a.tuple_dst.as_deref().ok_or_else(|| need("--tuple-dst"))?,
    });
    if let Some(p) = a.tuple_port_src {
        expect["sport"] = p.into();
    }
    if let Some(p) = a.tuple_port_dst {
        expect["dport"] = p.into();
    }
    let mut mask = json!({});
    if let Some(m) = &a.mask_src {
        mask["src"] = m.as_str().into();
    }
    if let Some(m) = a.mask_port_src {
        mask["sport"] = m.into();
    }
    let mut req = json!({"op": "expect-create", "master": master, "expect": expect, "mask": mask});
    if let Some(t) = a.timeout {
        req["timeout"] = t.into();
    }
    if let Some(h) = &a.helper {
        req["helper"] = h.as_str().into();
    }
    let mut s = Session::open(a)?;
    if let Some(now) = s.now_ns()? {
        req["now_ns"] = now.into();
    }
    s.conntrack(&req)?;
    let _ = writeln!(err, "{PREFIX}: 1 expectation has been created.");
    Ok(EXIT_OK)
}

/// `-F` and `-F expect`.
fn flush(a: &CtArgs, t: Table, err: &mut dyn Write) -> Result<i32, CtError> {
    no_filters(a, "-F")?;
    let mut s = Session::open(a)?;
    let what = match t {
        Table::Conntrack => {
            s.conntrack(&json!({"op": "flush"}))?;
            "connection tracking table"
        }
        Table::Expect => {
            s.conntrack(&Value::String("expect-flush".into()))?;
            "expectation table"
        }
    };
    let _ = writeln!(err, "{PREFIX}: {what} has been emptied.");
    Ok(EXIT_OK)
}

/// `-C` and `-C expect`: the number alone.
fn count(a: &CtArgs, t: Table, out: &mut dyn Write) -> Result<i32, CtError> {
    no_filters(a, "-C")?;
    let mut s = Session::open(a)?;
    let n = match t {
        Table::Conntrack => {
            let v = s.conntrack(&json!({"op": "count"}))?;
            v.get("count").and_then(Value::as_u64).ok_or_else(|| {
                CtError::fail(format!("unexpected answer from the conntrack plugin: {v}"))
            })?
        }
        Table::Expect => expect_lines(&mut s)?.len() as u64,
    };
    let _ = writeln!(out, "{n}");
    Ok(EXIT_OK)
}

/// A worker's `conntrack -S` line from the plugin's `stats` answer: `cpu=N` padded to
/// four, a tab, then each counter followed by a space (conntrack-tools' own format).
pub fn stats_line(cpu: u32, v: &Value) -> String {
    let mut s = format!("cpu={cpu:<4}\t");
    for k in STAT_FIELDS {
        let n = v.get(k).and_then(Value::as_u64).unwrap_or(0);
        s.push_str(&format!("{k}={n} "));
    }
    s
}

/// `-S`: one line per worker, `cpu=N` as conntrack-tools numbers CPUs (an engine that
/// reports no workers gets one line of its totals).
fn stats(a: &CtArgs, out: &mut dyn Write) -> Result<i32, CtError> {
    no_filters(a, "-S")?;
    let mut s = Session::open(a)?;
    let v = s.conntrack(&json!({"op": "stats"}))?;
    match v.get("workers").and_then(Value::as_array) {
        Some(ws) if !ws.is_empty() => {
            for (cpu, w) in ws.iter().enumerate() {
                let _ = writeln!(out, "{}", stats_line(cpu as u32, w));
            }
        }
        _ => {
            let _ = writeln!(out, "{}", stats_line(0, &v));
        }
    }
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
