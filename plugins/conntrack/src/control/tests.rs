//! Control requests against a tracker filled by driving conntrack-in and confirm with
//! hand-built IPv4 and IPv6 TCP, UDP and ICMP packets.

use super::handle;
use crate::config::CtConfig;
use crate::datagram::{icmp, ipv4, ipv6, tcp, udp, view};
use crate::tracker::{ConfirmVerdict, InVerdict, Tracker};
use brickwall_hooks::CtInfo;
use serde_json::{json, Value};

const SEC: u64 = 1_000_000_000;
/// The time requests are made at (every packet below is sent at 1 s).
const NOW: u64 = 2 * SEC;

const A: [u8; 4] = [10, 0, 0, 1];
const B: [u8; 4] = [10, 0, 0, 2];
const R: [u8; 4] = [10, 9, 9, 9];

fn a6(last: u8) -> [u8; 16] {
    let mut a = [0u8; 16];
    a[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
    a[15] = last;
    a
}

/// An ICMP or ICMPv6 echo message with `id` and sequence 1.
fn echo(ty: u8, id: u16) -> Vec<u8> {
    let [hi, lo] = id.to_be_bytes();
    icmp(ty, 0, &[hi, lo, 0, 1])
}

/// Runs a datagram through conntrack-in and (if asked) confirm, with `ct mark` set to
/// `mark` before confirmation when given; returns its ctinfo and connection id.
fn run(t: &mut Tracker, mut d: Vec<u8>, confirm: bool, mark: Option<u32>) -> (CtInfo, u64) {
    let mut v = view(&mut d, SEC);
    assert_eq!(t.conntrack_in(&mut v), InVerdict::Accept);
    if let Some(m) = mark {
        v.ct_mark = m;
    }
    if confirm {
        assert_eq!(t.confirm(&mut v), ConfirmVerdict::Accept);
    }
    (v.ctinfo(), v.ct_id)
}

/// The ids of the connections [`filled`] makes.
struct Ids {
    tcp_est: u64,
    tcp_syn: u64,
    udp: u64,
    icmp: u64,
    tcp6: u64,
    udp6: u64,
    icmp6: u64,
}

/// A tracker with seven confirmed connections (and one unconfirmed):
/// - `tcp_est`: 10.0.0.1:5555 → 10.0.0.2:80, handshake done: ESTABLISHED, ASSURED;
/// - `tcp_syn`: 10.0.0.1:6000 → 10.9.9.9:443, SYN only, `ct mark` 0x10 set at confirm;
/// - `udp`: 10.0.0.1:1000 → 10.0.0.2:53, answered;
/// - `icmp`: echo 10.0.0.1 → 10.0.0.2 id 77, answered;
/// - `tcp6`: 2001:db8::1:4000 → 2001:db8::2:80, SYN only;
/// - `udp6`: 2001:db8::1:5353 → 2001:db8::3:5353, unanswered;
/// - `icmp6`: echo 2001:db8::1 → 2001:db8::2 id 9, unanswered;
/// - unconfirmed: UDP 10.9.9.9:7 → 10.0.0.1:7 (its packet never reached confirm).
///
/// Accounting and timestamps on.
fn filled() -> (Tracker, Ids) {
    filled_with(true)
}

/// The tracker of [`filled`]; `extensions`: accounting and timestamps on (off is
/// Linux's default).
fn filled_with(extensions: bool) -> (Tracker, Ids) {
    let mut t = Tracker::new(
        CtConfig {
            buckets: 64,
            accounting: extensions,
            timestamp: extensions,
            ..Default::default()
        },
        60,
    );
    let (_, tcp_est) = run(
        &mut t,
        ipv4(A, B, 6, &tcp(5555, 80, 100, 0, 0x02)),
        true,
        None,
    );
    run(
        &mut t,
        ipv4(B, A, 6, &tcp(80, 5555, 900, 101, 0x12)),
        true,
        None,
    );
    let (info, _) = run(
        &mut t,
        ipv4(A, B, 6, &tcp(5555, 80, 101, 901, 0x10)),
        true,
        None,
    );
    assert_eq!(info, CtInfo::Established);
    let (_, tcp_syn) = run(
        &mut t,
        ipv4(A, R, 6, &tcp(6000, 443, 1, 0, 0x02)),
        true,
        Some(0x10),
    );
    let (_, udp_id) = run(&mut t, ipv4(A, B, 17, &udp(1000, 53)), true, None);
    run(&mut t, ipv4(B, A, 17, &udp(53, 1000)), true, None);
    let (_, icmp) = run(&mut t, ipv4(A, B, 1, &echo(8, 77)), true, None);
    let (info, _) = run(&mut t, ipv4(B, A, 1, &echo(0, 77)), true, None);
    assert_eq!(info, CtInfo::EstablishedReply);
    let (_, tcp6) = run(
        &mut t,
        ipv6(a6(1), a6(2), 6, &tcp(4000, 80, 1, 0, 0x02)),
        true,
        None,
    );
    let (_, udp6) = run(&mut t, ipv6(a6(1), a6(3), 17, &udp(5353, 5353)), true, None);
    let (_, icmp6) = run(&mut t, ipv6(a6(1), a6(2), 58, &echo(128, 9)), true, None);
    run(&mut t, ipv4(R, A, 17, &udp(7, 7)), false, None);
    assert_eq!(t.table.confirmed(), 7);
    assert_eq!(t.live(), 8);
    let ids = Ids {
        tcp_est,
        tcp_syn,
        udp: udp_id,
        icmp,
        tcp6,
        udp6,
        icmp6,
    };
    (t, ids)
}

/// Sends a JSON request; the response parsed.
fn ask(t: &mut Tracker, req: Value) -> Value {
    let bytes = handle(t, req.to_string().as_bytes())
        .unwrap_or_else(|e| panic!("request {req} failed: {e}"));
    serde_json::from_slice(&bytes).expect("the response is JSON")
}

/// Sends a JSON request that must fail; the message.
fn refuse(t: &mut Tracker, req: &str) -> String {
    match handle(t, req.as_bytes()) {
        Ok(r) => panic!("{req} answered {}", String::from_utf8_lossy(&r)),
        Err(e) => e,
    }
}

/// The lines of a text or extended list.
fn lines(t: &mut Tracker, filter: Value) -> Vec<String> {
    let r = ask(t, json!({"op": "list", "now_ns": NOW, "filter": filter}));
    let entries: Vec<String> = r["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e.as_str().expect("a line").to_string())
        .collect();
    assert_eq!(r["count"], entries.len());
    entries
}

/// The ids of a JSON list.
fn ids_of(t: &mut Tracker, filter: Value) -> Vec<u64> {
    let r = ask(
        t,
        json!({"op": "list", "now_ns": NOW, "filter": filter, "format": "json"}),
    );
    let mut ids: Vec<u64> = r["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["id"].as_u64().expect("id"))
        .collect();
    ids.sort_unstable();
    ids
}

fn sorted(mut v: Vec<u64>) -> Vec<u64> {
    v.sort_unstable();
    v
}

/// The `conntrack -L` line of the established TCP flow (sport 5555), and every line.
fn established_line(t: &mut Tracker) -> (String, Vec<String>) {
    let all = lines(t, json!({}));
    let est = all
        .iter()
        .find(|l| l.contains("sport=5555"))
        .expect("the established flow")
        .clone();
    (est, all)
}

#[test]
fn counters_and_start_time_show_only_with_their_extensions() {
    let (mut t, _) = filled_with(false);
    let (est, _) = established_line(&mut t);
    assert_eq!(
        est,
        "tcp      6 431999 ESTABLISHED src=10.0.0.1 dst=10.0.0.2 sport=5555 dport=80 \
         src=10.0.0.2 dst=10.0.0.1 sport=80 dport=5555 [ASSURED] mark=0 use=1"
    );
    let r = ask(
        &mut t,
        json!({"op": "list", "now_ns": NOW, "format": "json", "filter": {"sport": 5555}}),
    );
    let e = &r["entries"][0];
    assert_eq!(e["state"], "ESTABLISHED");
    assert!(e.get("start_ns").is_none(), "{e}");
    assert!(e["orig"].get("packets").is_none(), "{e}");
    assert!(e["reply"].get("bytes").is_none(), "{e}");
}

#[test]
fn list_text_lines_and_count() {
    let (mut t, _) = filled();
    let (est, all) = established_line(&mut t);
    assert_eq!(all.len(), 7, "{all:#?}");
    assert_eq!(
        est,
        "tcp      6 431999 ESTABLISHED src=10.0.0.1 dst=10.0.0.2 sport=5555 dport=80 \
         packets=2 bytes=80 src=10.0.0.2 dst=10.0.0.1 sport=80 dport=5555 packets=1 bytes=40 \
         [ASSURED] mark=0 use=1"
    );
    assert!(all.iter().any(|l| l.starts_with("icmp     1 ")
        && l.contains("type=8 code=0 id=77")
        && l.contains("type=0 code=0 id=77")));
    assert!(all.iter().any(|l| l
        .contains("src=2001:db8::1 dst=2001:db8::3 sport=5353 dport=5353")
        && l.contains("[UNREPLIED]")));
    // The unconfirmed flow is not in the table.
    assert!(!all.iter().any(|l| l.contains("sport=7 ")), "{all:#?}");
    assert_eq!(
        ask(&mut t, json!({"op": "count"})),
        json!({"count": 7, "max": 262144})
    );
    // Without a filter, and with `null` for one, the same.
    let r = ask(&mut t, json!({"op": "list", "now_ns": NOW, "filter": null}));
    assert_eq!(r["count"], 7);
    // Expired entries are not listed: at 32 s the UDP and ICMP flows (30 s from 1 s) are
    // gone; the TCP ones (ESTABLISHED 432000 s, SYN_SENT 120 s) stay.
    let later = ask(&mut t, json!({"op": "list", "now_ns": 32 * SEC}));
    assert_eq!(later["count"], 3, "{later}");
}

/// Paging by `cursor`: each answer names the slot of the first match after its page
/// (none after the last page), and following the cursors lists every match once, in
/// the unpaged order, also with a filter.
#[test]
fn list_pages_follow_the_cursor() {
    let (mut t, _) = filled();
    for (filter, n) in [(json!({}), 7), (json!({"proto": "udp"}), 2)] {
        let all = lines(&mut t, filter.clone());
        assert_eq!(all.len(), n);
        let mut paged = Vec::new();
        let mut req = json!({"op": "list", "now_ns": NOW, "filter": filter, "limit": 2,
                             "total": false});
        loop {
            let r = ask(&mut t, req.clone());
            let page = r["entries"].as_array().expect("entries");
            paged.extend(page.iter().map(|e| e.as_str().expect("a line").to_string()));
            match r.get("cursor") {
                Some(c) => {
                    assert_eq!(r["more"], true, "{r}");
                    req["cursor"] = c.clone();
                }
                None => {
                    assert_eq!(r["more"], false, "{r}");
                    break;
                }
            }
        }
        assert_eq!(paged, all);
    }
    let e = refuse(&mut t, r#"{"op": "list", "cursor": -1}"#);
    assert!(e.starts_with("cursor:"), "{e}");
}

/// Pages of `list` cover the matches once each, in the order of the unpaged list;
/// `count` is every match; `states` counts every match by state or protocol.
#[test]
fn list_pages_in_slot_order_with_total_count_and_states() {
    let (mut t, _) = filled();
    let all = lines(&mut t, json!({}));
    let mut paged = Vec::new();
    for offset in (0..9).step_by(3) {
        let r = ask(
            &mut t,
            json!({"op": "list", "now_ns": NOW, "offset": offset, "limit": 3}),
        );
        assert_eq!(r["count"], 7, "{r}");
        assert_eq!(r["offset"], offset);
        assert_eq!(r["limit"], 3);
        let page = r["entries"].as_array().expect("entries");
        assert_eq!(page.len(), 3.min(7 - offset.min(7)), "{r}");
        paged.extend(page.iter().map(|e| e.as_str().expect("a line").to_string()));
    }
    assert_eq!(paged, all);
    // Past the end: an empty page, the count still right.
    let r = ask(&mut t, json!({"op": "list", "now_ns": NOW, "offset": 100}));
    assert_eq!(r["entries"], json!([]));
    assert_eq!(r["count"], 7);
    // A filter pages over its matches only.
    let r = ask(
        &mut t,
        json!({"op": "list", "now_ns": NOW, "filter": {"proto": "tcp"}, "limit": 1,
               "format": "json", "states": true}),
    );
    assert_eq!(r["count"], 3);
    assert_eq!(r["entries"].as_array().expect("entries").len(), 1);
    assert_eq!(r["states"], json!({"SYN_SENT": 2, "ESTABLISHED": 1}));
    // Every match by state, stateless protocols by name.
    let r = ask(
        &mut t,
        json!({"op": "list", "now_ns": NOW, "limit": 0, "states": true}),
    );
    assert_eq!(r["entries"], json!([]));
    assert_eq!(
        r["states"],
        json!({"SYN_SENT": 2, "icmp": 1, "udp": 2, "ESTABLISHED": 1, "icmpv6": 1})
    );
    let total: u64 = r["states"]
        .as_object()
        .expect("states")
        .values()
        .map(|v| v.as_u64().expect("a count"))
        .sum();
    assert_eq!(total, 7);
    // Without counting: the page, and whether more follow.
    let r = ask(
        &mut t,
        json!({"op": "list", "now_ns": NOW, "offset": 2, "limit": 3, "total": false}),
    );
    assert!(r.get("count").is_none(), "{r}");
    assert_eq!(r["more"], true);
    let page: Vec<String> = r["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e.as_str().expect("a line").to_string())
        .collect();
    assert_eq!(page, all[2..5]);
    let r = ask(
        &mut t,
        json!({"op": "list", "now_ns": NOW, "offset": 4, "limit": 3, "total": false}),
    );
    assert_eq!(r["more"], false, "{r}");
    assert_eq!(r["entries"].as_array().expect("entries").len(), 3);
    let e = refuse(&mut t, r#"{"op":"list","states":true,"total":false}"#);
    assert!(
        e.starts_with("states: counting by state needs total"),
        "{e}"
    );
    // Unpaged answers keep their old shape.
    let r = ask(&mut t, json!({"op": "list", "now_ns": NOW}));
    assert!(
        r.get("offset").is_none() && r.get("states").is_none(),
        "{r}"
    );
}

/// `histogram` over bucket ranges: the parts of a sweep add up to the whole table's.
#[test]
fn histogram_ranges_add_up_to_the_whole() {
    let (mut t, _) = filled();
    let whole = ask(&mut t, json!({"op": "histogram", "max_len": 3}));
    let mut sum = [0u64; 4];
    let (mut nodes, mut longest) = (0, 0);
    for offset in (0..64).step_by(24) {
        let r = ask(
            &mut t,
            json!({"op": "histogram", "max_len": 3, "offset": offset, "limit": 24}),
        );
        assert_eq!(r["buckets"], 64);
        assert_eq!(r["offset"], offset);
        assert_eq!(r["limit"], 24.min(64 - offset), "{r}");
        for (s, n) in sum
            .iter_mut()
            .zip(r["histogram"].as_array().expect("histogram"))
        {
            *s += n.as_u64().expect("a count");
        }
        nodes += r["nodes"].as_u64().expect("nodes");
        longest = longest.max(r["longest"].as_u64().expect("longest"));
    }
    assert_eq!(json!(sum), whole["histogram"]);
    assert_eq!(json!(nodes), whole["nodes"]);
    assert_eq!(json!(longest), whole["longest"]);
    let r = ask(
        &mut t,
        json!({"op": "histogram", "offset": 999, "limit": 5}),
    );
    assert_eq!(r["limit"], 0);
    assert_eq!(r["nodes"], 0);
}

/// `buckets` answers the chain length of each bucket of a window, clipped to the table.
#[test]
fn buckets_window_lengths() {
    let (mut t, _) = filled();
    let r = ask(&mut t, json!({"op": "buckets"}));
    assert_eq!(r["buckets"], 64);
    assert_eq!(r["offset"], 0);
    let lens: Vec<u64> = r["lengths"]
        .as_array()
        .expect("lengths")
        .iter()
        .map(|n| n.as_u64().expect("a length"))
        .collect();
    let want: Vec<u64> = (0..64).map(|b| t.table.chain(b).len() as u64).collect();
    assert_eq!(lens, want, "the default window covers this small table");
    let r = ask(&mut t, json!({"op": "buckets", "offset": 60, "limit": 10}));
    assert_eq!(r["offset"], 60);
    assert_eq!(r["lengths"], json!(want[60..]));
    let r = ask(
        &mut t,
        json!({"op": "buckets", "offset": 1000, "limit": 10}),
    );
    assert_eq!(r["offset"], 64);
    assert_eq!(r["lengths"], json!([]));
}

#[test]
fn filters_select_by_original_tuple_state_mark_status() {
    let (mut t, ids) = filled();
    let i = &ids;
    assert_eq!(
        ids_of(&mut t, json!({"proto": "tcp"})),
        sorted(vec![i.tcp_est, i.tcp_syn, i.tcp6])
    );
    assert_eq!(
        ids_of(&mut t, json!({"proto": 17})),
        sorted(vec![i.udp, i.udp6])
    );
    assert_eq!(ids_of(&mut t, json!({"proto": "ICMPv6"})), vec![i.icmp6]);
    assert_eq!(
        ids_of(&mut t, json!({"src": "10.0.0.1"})),
        sorted(vec![i.tcp_est, i.tcp_syn, i.udp, i.icmp])
    );
    // Reply-direction addresses do not match -s.
    assert_eq!(
        ids_of(&mut t, json!({"src": "10.0.0.2"})),
        Vec::<u64>::new()
    );
    assert_eq!(
        ids_of(&mut t, json!({"dst": "10.9.0.0/16"})),
        vec![i.tcp_syn]
    );
    assert_eq!(
        ids_of(&mut t, json!({"dst": "2001:db8::2"})),
        sorted(vec![i.tcp6, i.icmp6])
    );
    assert_eq!(
        ids_of(&mut t, json!({"src": "2001:db8::/32", "proto": "udp"})),
        vec![i.udp6]
    );
    assert_eq!(
        ids_of(&mut t, json!({"dport": 80})),
        sorted(vec![i.tcp_est, i.tcp6])
    );
    assert_eq!(ids_of(&mut t, json!({"sport": 1000})), vec![i.udp]);
    assert_eq!(
        ids_of(&mut t, json!({"proto": "tcp", "state": "ESTABLISHED"})),
        vec![i.tcp_est]
    );
    assert_eq!(
        ids_of(&mut t, json!({"state": "syn_sent"})),
        sorted(vec![i.tcp_syn, i.tcp6])
    );
    assert_eq!(
        ids_of(&mut t, json!({"state": ["ESTABLISHED", "SYN_SENT"]})),
        sorted(vec![i.tcp_est, i.tcp_syn, i.tcp6])
    );
    assert_eq!(
        ids_of(&mut t, json!({"mark": "0x10/0xff"})),
        vec![i.tcp_syn]
    );
    assert_eq!(ids_of(&mut t, json!({"mark": 16})), vec![i.tcp_syn]);
    assert_eq!(ids_of(&mut t, json!({"mark": "0x0/0xf0"})).len(), 6);
    assert_eq!(ids_of(&mut t, json!({"mark": "0"})).len(), 6);
    assert_eq!(
        ids_of(&mut t, json!({"status": ["ASSURED"]})),
        vec![i.tcp_est]
    );
    assert_eq!(
        ids_of(&mut t, json!({"status": "SEEN_REPLY"})),
        sorted(vec![i.tcp_est, i.udp, i.icmp])
    );
    assert_eq!(
        ids_of(&mut t, json!({"status": ["seen_reply", "ASSURED"]})),
        vec![i.tcp_est]
    );
    assert_eq!(
        ids_of(&mut t, json!({"family": "ipv6"})),
        sorted(vec![i.tcp6, i.udp6, i.icmp6])
    );
    assert_eq!(
        ids_of(&mut t, json!({"family": "ipv6", "proto": "tcp"})),
        vec![i.tcp6]
    );
    assert_eq!(ids_of(&mut t, json!({"zone": 0})).len(), 7);
    assert_eq!(ids_of(&mut t, json!({"zone": 1})), Vec::<u64>::new());
    // Text lines under a filter, and a filter every condition of which must hold.
    let l = lines(
        &mut t,
        json!({"proto": "udp", "src": "10.0.0.1", "dport": 53}),
    );
    assert_eq!(l.len(), 1);
    assert!(l[0].starts_with("udp      17 "), "{}", l[0]);
    assert!(lines(&mut t, json!({"proto": "udp", "dport": 80})).is_empty());
}

#[test]
fn get_by_original_and_reply_tuple() {
    let (mut t, ids) = filled();
    let orig =
        json!({"proto": "tcp", "src": "10.0.0.1", "dst": "10.0.0.2", "sport": 5555, "dport": 80});
    let r = ask(&mut t, json!({"op": "get", "tuple": orig, "now_ns": NOW}));
    assert_eq!(r["dir"], "original");
    let line = r["entry"].as_str().expect("a line");
    assert!(
        line.starts_with("tcp      6 431999 ESTABLISHED src=10.0.0.1 dst=10.0.0.2 sport=5555"),
        "{line}"
    );
    let reply =
        json!({"proto": 6, "src": "10.0.0.2", "dst": "10.0.0.1", "sport": 80, "dport": 5555});
    let r2 = ask(&mut t, json!({"op": "get", "tuple": reply, "now_ns": NOW}));
    assert_eq!(
        (r2["dir"].as_str(), r2["entry"].as_str()),
        (Some("reply"), Some(line))
    );
    // ICMP by the reply's tuple (echo reply, type 0); IPv6 by the original one.
    let r = ask(
        &mut t,
        json!({"op": "get", "format": "json", "now_ns": NOW,
               "tuple": {"proto": "icmp", "src": "10.0.0.2", "dst": "10.0.0.1", "type": 0, "id": 77}}),
    );
    assert_eq!(r["entry"]["id"], ids.icmp);
    let r = ask(
        &mut t,
        json!({"op": "get", "format": "json", "now_ns": NOW,
               "tuple": {"proto": "udp", "src": "2001:db8::1", "dst": "2001:db8::3", "sport": 5353, "dport": 5353}}),
    );
    assert_eq!(r["entry"]["id"], ids.udp6);
    // Not there: a wrong port, another zone, an unconfirmed flow, an expired one.
    let e = refuse(
        &mut t,
        r#"{"op":"get","tuple":{"proto":"tcp","src":"10.0.0.1","dst":"10.0.0.2","sport":5556,"dport":80}}"#,
    );
    assert_eq!(
        e,
        "no such connection: tcp src=10.0.0.1 dst=10.0.0.2 sport=5556 dport=80"
    );
    let e = refuse(
        &mut t,
        r#"{"op":"get","tuple":{"proto":"tcp","src":"10.0.0.1","dst":"10.0.0.2","sport":5555,"dport":80,"zone":3}}"#,
    );
    assert!(
        e.starts_with("no such connection") && e.ends_with("zone=3"),
        "{e}"
    );
    let e = refuse(
        &mut t,
        r#"{"op":"get","tuple":{"proto":"udp","src":"10.9.9.9","dst":"10.0.0.1","sport":7,"dport":7}}"#,
    );
    assert!(e.starts_with("no such connection"), "{e}");
    let e = refuse(
        &mut t,
        r#"{"op":"get","now_ns":100000000000,"tuple":{"proto":"udp","src":"10.0.0.1","dst":"10.0.0.2","sport":1000,"dport":53}}"#,
    );
    assert!(e.starts_with("no such connection"), "{e}");
}

#[test]
fn delete_by_tuple_and_by_filter_then_flush() {
    let (mut t, ids) = filled();
    let udp =
        json!({"proto": "udp", "src": "10.0.0.2", "dst": "10.0.0.1", "sport": 53, "dport": 1000});
    assert_eq!(
        ask(&mut t, json!({"op": "delete", "tuple": udp, "now_ns": NOW})),
        json!({"deleted": 1})
    );
    let e = refuse(
        &mut t,
        &json!({"op": "get", "tuple": udp, "now_ns": NOW}).to_string(),
    );
    assert!(e.starts_with("no such connection"), "{e}");
    let e = refuse(
        &mut t,
        &json!({"op": "delete", "tuple": udp, "now_ns": NOW}).to_string(),
    );
    assert!(e.starts_with("no such connection"), "{e}");
    assert_eq!(ask(&mut t, json!({"op": "count"}))["count"], 6);
    // Every match of a filter, and only those.
    assert_eq!(
        ask(
            &mut t,
            json!({"op": "delete", "filter": {"family": "ipv6"}, "now_ns": NOW})
        ),
        json!({"deleted": 3})
    );
    assert_eq!(
        ids_of(&mut t, json!({})),
        sorted(vec![ids.tcp_est, ids.tcp_syn, ids.icmp])
    );
    assert_eq!(
        ask(
            &mut t,
            json!({"op": "delete", "filter": {"proto": "tcp", "state": "SYN_RECV"}})
        ),
        json!({"deleted": 0})
    );
    assert_eq!(ask(&mut t, json!({"op": "count"}))["count"], 3);
    // The unconfirmed connection is untouched by flush; the three others go.
    assert_eq!(ask(&mut t, json!({"op": "flush"})), json!({"deleted": 3}));
    assert_eq!(ask(&mut t, json!({"op": "count"}))["count"], 0);
    assert_eq!(t.live(), 1);
    assert!(lines(&mut t, json!({})).is_empty());
    assert_eq!(ask(&mut t, json!({"op": "flush"})), json!({"deleted": 0}));
}

#[test]
fn extended_and_json_formats() {
    let (mut t, ids) = filled();
    let r = ask(
        &mut t,
        json!({"op": "list", "now_ns": NOW, "format": "extended"}),
    );
    let ext: Vec<&str> = r["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e.as_str())
        .collect();
    assert_eq!(ext.len(), 7);
    let plain = lines(&mut t, json!({}));
    for (e, p) in ext.iter().zip(&plain) {
        let rest = e
            .strip_prefix("ipv4     2 ")
            .or_else(|| e.strip_prefix("ipv6     10 "))
            .unwrap_or_else(|| panic!("no family prefix: {e}"));
        assert_eq!(rest, p);
    }
    assert_eq!(
        ext.iter()
            .filter(|e| e.starts_with("ipv6     10 tcp      6 "))
            .count(),
        1
    );
    let r = ask(
        &mut t,
        json!({"op": "list", "now_ns": NOW, "format": "json", "filter": {"sport": 5555}}),
    );
    assert_eq!(r["count"], 1);
    let e = &r["entries"][0];
    assert_eq!(
        e,
        &json!({
            "id": ids.tcp_est, "family": "ipv4", "proto": "tcp", "protonum": 6,
            "state": "ESTABLISHED", "timeout": 431999,
            "status": ["SEEN_REPLY", "ASSURED", "CONFIRMED"],
            "orig": {"src": "10.0.0.1", "dst": "10.0.0.2", "sport": 5555, "dport": 80, "packets": 2, "bytes": 80},
            "reply": {"src": "10.0.0.2", "dst": "10.0.0.1", "sport": 80, "dport": 5555, "packets": 1, "bytes": 40},
            "mark": 0, "zone": 0, "labels": "0x0", "helper": null, "use": 1, "start_ns": SEC
        })
    );
    // Fields are written in that order.
    let raw = handle(
        &mut t,
        br#"{"op":"get","format":"json","tuple":{"proto":"tcp","src":"10.0.0.1","dst":"10.9.9.9","sport":6000,"dport":443}}"#,
    )
    .expect("get");
    let raw = String::from_utf8(raw).expect("utf-8");
    assert!(raw.starts_with(r#"{"entry":{"id":"#), "{raw}");
    let v: Value = serde_json::from_str(&raw).expect("json");
    assert_eq!(v["entry"]["mark"], 16);
    assert_eq!(v["entry"]["status"], json!(["CONFIRMED"]));
    assert_eq!(v["entry"]["state"], "SYN_SENT");
    // ICMP tuples carry type, code and id; UDP has no state.
    let r = ask(
        &mut t,
        json!({"op": "list", "format": "json", "filter": {"proto": "icmpv6"}}),
    );
    let e = &r["entries"][0];
    assert_eq!(e["id"], ids.icmp6);
    assert_eq!(
        e["orig"],
        json!({"src": "2001:db8::1", "dst": "2001:db8::2", "type": 128, "code": 0, "id": 9, "packets": 1, "bytes": 48})
    );
    assert_eq!(e["reply"]["type"], 129);
    assert_eq!(e["family"], "ipv6");
    let r = ask(
        &mut t,
        json!({"op": "list", "format": "json", "filter": {"proto": "udp", "family": "ipv4"}}),
    );
    assert_eq!(r["entries"][0]["state"], Value::Null);
}

#[test]
fn stats_are_linux_names_with_entries_and_buckets() {
    let (mut t, _) = filled();
    let raw = handle(&mut t, br#"{"op": "stats"}"#).expect("stats");
    let v: Value = serde_json::from_slice(&raw).expect("json");
    let m = v.as_object().expect("an object");
    let mut keys = vec!["entries"];
    keys.extend(t.stats.fields().iter().map(|(k, _)| *k));
    keys.push("buckets");
    keys.push("workers");
    assert_eq!(m.len(), keys.len());
    // In conntrack -S order.
    let raw = String::from_utf8(raw).expect("utf-8");
    let mut at = 0;
    for k in &keys {
        let pos = raw[at..]
            .find(&format!("\"{k}\":"))
            .unwrap_or_else(|| panic!("{k} missing or out of order in {raw}"));
        at += pos;
    }
    assert_eq!(v["entries"], 7);
    assert_eq!(v["buckets"], 64);
    assert_eq!(v["insert"], 7);
    assert_eq!(v["found"], t.stats.found);
    assert_eq!(v["error"], 0);
    // Per worker: the table was filled by worker 0 alone.
    let workers = v["workers"].as_array().expect("workers");
    assert_eq!(workers.len(), 1);
    assert_eq!(workers[0]["insert"], 7);
}

/// Each worker's packets count in its own statistics, and the totals are their sum.
#[test]
fn statistics_are_kept_per_worker() {
    let mut t = Tracker::new(CtConfig::default(), 64);
    for (worker, sport) in [(0, 1000), (2, 1001)] {
        let mut d = ipv4(A, B, 17, &udp(sport, 53));
        let mut v = view(&mut d, 1_000);
        v.worker = worker;
        assert_eq!(t.conntrack_in(&mut v), InVerdict::Accept);
        assert_eq!(t.confirm(&mut v), ConfirmVerdict::Accept);
    }
    assert_eq!(t.worker_stats.len(), 3);
    assert_eq!(t.worker_stats[0].insert, 1);
    assert_eq!(t.worker_stats[1].insert, 0);
    assert_eq!(t.worker_stats[2].insert, 1);
    assert_eq!(t.stats.insert, 2);
}

#[test]
fn histogram_counts_every_bucket() {
    let (mut t, _) = filled();
    let lens: Vec<usize> = (0..64).map(|b| t.table.chain(b).len()).collect();
    let longest = *lens.iter().max().expect("buckets");
    let h = ask(&mut t, json!({"op": "histogram"}));
    assert_eq!(h["buckets"], 64);
    let hist: Vec<u64> = h["histogram"]
        .as_array()
        .expect("histogram")
        .iter()
        .map(|n| n.as_u64().expect("a count"))
        .collect();
    assert_eq!(hist.len(), 17, "max_len 16 by default: lengths 0-16");
    assert_eq!(hist.iter().sum::<u64>(), 64);
    for (len, n) in hist.iter().enumerate() {
        assert_eq!(*n as usize, lens.iter().filter(|&&l| l == len).count());
    }
    assert_eq!(h["longest"], longest);
    assert_eq!(h["nodes"], 14);
    assert_eq!(h["load_factor"], 14.0 / 64.0);
    let weighted: u64 = hist.iter().enumerate().map(|(l, n)| l as u64 * n).sum();
    assert_eq!(weighted, 14);
    // A short max_len folds longer chains into the last entry.
    let h = ask(&mut t, json!({"op": "histogram", "max_len": 1}));
    let hist = h["histogram"].as_array().expect("histogram");
    assert_eq!(hist.len(), 2);
    assert_eq!(
        hist[0],
        lens.iter().filter(|&&l| l == 0).count(),
        "empty buckets"
    );
    assert_eq!(hist[1], lens.iter().filter(|&&l| l >= 1).count());
}

#[test]
fn chains_list_nodes_in_order_both_directions() {
    let (mut t, ids) = filled();
    let mut seen: Vec<(u64, String)> = Vec::new();
    for b in 0..64usize {
        let r = ask(&mut t, json!({"op": "chain", "bucket": b}));
        assert_eq!(r["bucket"], b);
        let nodes = r["nodes"].as_array().expect("nodes");
        let expect = t.table.chain(b);
        assert_eq!(nodes.len(), expect.len());
        for (n, &(idx, dir)) in nodes.iter().zip(&expect) {
            let c = t.table.get(idx).expect("a connection");
            assert_eq!(n["id"], c.id);
            assert_eq!(n["dir"], if dir == 0 { "original" } else { "reply" });
            assert_eq!(n["tuple"], c.tuple(dir).conntrack_words());
            assert_eq!(t.table.bucket_of(&c.tuple(dir)), b);
            seen.push((c.id as u64, n["dir"].as_str().expect("dir").to_string()));
        }
    }
    assert_eq!(seen.len(), 14);
    for id in [
        ids.tcp_est,
        ids.tcp_syn,
        ids.udp,
        ids.icmp,
        ids.tcp6,
        ids.udp6,
        ids.icmp6,
    ] {
        let dirs: Vec<&str> = seen
            .iter()
            .filter(|(i, _)| *i == id)
            .map(|(_, d)| d.as_str())
            .collect();
        assert_eq!(
            sorted_strs(dirs),
            vec!["original", "reply"],
            "connection {id}"
        );
    }
    let n = seen.iter().find(|(i, _)| *i == ids.tcp_est).expect("tcp");
    assert!(!n.1.is_empty());
    let e = refuse(&mut t, r#"{"op":"chain","bucket":64}"#);
    assert_eq!(
        e,
        "bucket: 64 is out of range (the table has 64 buckets, 0-63)"
    );
}

fn sorted_strs(mut v: Vec<&str>) -> Vec<&str> {
    v.sort_unstable();
    v
}

#[test]
fn malformed_requests_are_errors_naming_the_field() {
    let (mut t, _) = filled();
    let cases: &[(&str, &str)] = &[
        (
            "{",
            "request: malformed JSON: EOF while parsing an object at line 1 column 1",
        ),
        (
            "{\"op\": \"list\",\n \"now_ns\": }",
            "request: malformed JSON: expected value at line 2 column 12",
        ),
        ("[1, 2]", "request: expected a JSON object"),
        (
            "{}",
            "op: missing (list, get, delete, flush, count, stats, update, histogram, buckets, chain, events, expect-list",
        ),
        (
            r#"{"op": "lst"}"#,
            r#"op: unknown operation "lst" (list, get, delete"#,
        ),
        (r#"{"op": 5}"#, "op: expected a string"),
        (
            r#"{"op": "list", "limit": 10001}"#,
            "limit: 10001 is out of range (0-10000)",
        ),
        (
            r#"{"op": "buckets", "limit": 65537}"#,
            "limit: 65537 is out of range (0-65536)",
        ),
        (
            r#"{"op": "list", "offset": -3}"#,
            "offset: invalid value: integer `-3`, expected u64",
        ),
        (
            r#"{"op": "list", "states": "yes"}"#,
            r#"states: invalid type: string "yes", expected a boolean"#,
        ),
        (
            r#"{"op": "get", "limit": 5}"#,
            "limit: unknown field `limit`, expected one of `now_ns`, `tuple`, `format`, `show_labels`",
        ),
        (
            r#"{"op": "buckets", "states": true}"#,
            "states: unknown field `states`, expected one of `now_ns`, `offset`, `limit`",
        ),
        (
            r#"{"op": "list", "fliter": {}}"#,
            "fliter: unknown field `fliter`, expected one of `now_ns`, `filter`",
        ),
        (
            r#"{"op": "count", "filter": {}}"#,
            "filter: unknown field `filter`, expected `now_ns`",
        ),
        (
            r#"{"op": "list", "now_ns": -1}"#,
            "now_ns: invalid value: integer `-1`, expected u64",
        ),
        (
            r#"{"op": "list", "now_ns": "soon"}"#,
            r#"now_ns: invalid type: string "soon", expected u64"#,
        ),
        (
            r#"{"op": "list", "format": "xml"}"#,
            "format: unknown variant `xml`, expected one of `text`, `extended`, `json`",
        ),
        (
            r#"{"op": "list", "filter": {"sprot": 1}}"#,
            "filter.sprot: unknown field `sprot`, expected one of `proto`, `family`",
        ),
        (
            r#"{"op": "list", "filter": {"src": "10.0.0.300"}}"#,
            r#"filter.src: not an address or network: "10.0.0.300""#,
        ),
        (
            r#"{"op": "list", "filter": {"dst": "10.0.0.0/33"}}"#,
            r#"filter.dst: not an address or network: "10.0.0.0/33" (prefix length not in 0-32)"#,
        ),
        (
            r#"{"op": "list", "filter": {"src": "10.0.0.1", "dst": "::1"}}"#,
            "filter.dst: an ipv6 address, but filter.src is ipv4",
        ),
        (
            r#"{"op": "list", "filter": {"family": "ipv6", "src": "10.0.0.1"}}"#,
            "filter.src: an ipv4 address, but filter.family is ipv6",
        ),
        (
            r#"{"op": "list", "filter": {"family": "inet"}}"#,
            r#"filter.family: unknown family "inet" (ipv4, ipv6)"#,
        ),
        (
            r#"{"op": "list", "filter": {"dport": 70000}}"#,
            "filter.dport: invalid value: integer `70000`, expected u16",
        ),
        (
            r#"{"op": "list", "filter": {"sport": "http"}}"#,
            r#"filter.sport: invalid type: string "http", expected u16"#,
        ),
        (
            r#"{"op": "list", "filter": {"proto": "icmp", "sport": 1}}"#,
            "filter.sport: icmp has no ports",
        ),
        (
            r#"{"op": "list", "filter": {"proto": "tpc"}}"#,
            r#"filter.proto: unknown protocol "tpc" (a number 0-255 or icmp"#,
        ),
        (
            r#"{"op": "list", "filter": {"proto": 256}}"#,
            "filter.proto: protocol 256 is out of range (0-255)",
        ),
        (
            r#"{"op": "list", "filter": {"state": "ESTABLISHD"}}"#,
            r#"filter.state: unknown tcp, sctp or dccp state "ESTABLISHD""#,
        ),
        (
            r#"{"op": "list", "filter": {"proto": "tcp", "state": "COOKIE_WAIT"}}"#,
            r#"filter.state: unknown tcp state "COOKIE_WAIT""#,
        ),
        (
            r#"{"op": "list", "filter": {"proto": "udp", "state": "ESTABLISHED"}}"#,
            "filter.state: only tcp, sctp and dccp connections have a state (filter.proto is udp)",
        ),
        (
            r#"{"op": "list", "filter": {"state": [1]}}"#,
            "filter.state[0]: invalid type: integer `1`, expected a string",
        ),
        (
            r#"{"op": "list", "filter": {"mark": "0xzz"}}"#,
            r#"filter.mark: not a mark: "0xzz" (MARK or MARK/MASK"#,
        ),
        (
            r#"{"op": "list", "filter": {"mark": 4294967296}}"#,
            "filter.mark: mark 4294967296 does not fit 32 bits",
        ),
        (
            r#"{"op": "list", "filter": {"zone": -3}}"#,
            "filter.zone: invalid value: integer `-3`, expected u16",
        ),
        (
            r#"{"op": "list", "filter": {"status": ["ASURED"]}}"#,
            r#"filter.status: unknown status "ASURED" (EXPECTED, SEEN_REPLY, ASSURED"#,
        ),
        (
            r#"{"op": "get"}"#,
            "tuple: missing",
        ),
        (
            r#"{"op": "get", "tuple": "10.0.0.1"}"#,
            r#"tuple: invalid type: string "10.0.0.1", expected struct TupleSpec"#,
        ),
        (
            r#"{"op": "get", "tuple": {"src": "10.0.0.1", "dst": "10.0.0.2"}}"#,
            "tuple.proto: missing",
        ),
        (
            r#"{"op": "get", "tuple": {"proto": "tcp", "dst": "10.0.0.2"}}"#,
            "tuple.src: missing",
        ),
        (
            r#"{"op": "get", "tuple": {"proto": "tcp", "src": "10.0.0.0/8", "dst": "10.0.0.2"}}"#,
            "tuple.src: invalid IP address syntax",
        ),
        (
            r#"{"op": "get", "tuple": {"proto": "tcp", "src": "10.0.0.1", "dst": "10.0.0.2", "sport": 1}}"#,
            "tuple.dport: missing (tcp needs sport, dport)",
        ),
        (
            r#"{"op": "get", "tuple": {"proto": "udp", "src": "10.0.0.1", "dst": "10.0.0.2", "sport": 1, "dport": 2, "type": 8}}"#,
            "tuple.type: not used by udp (it takes sport, dport)",
        ),
        (
            r#"{"op": "get", "tuple": {"proto": "icmp", "src": "10.0.0.1", "dst": "10.0.0.2", "type": 8}}"#,
            "tuple.id: missing (icmp needs type, id)",
        ),
        (
            r#"{"op": "get", "tuple": {"proto": "icmp", "src": "10.0.0.1", "dst": "10.0.0.2", "type": 300, "id": 1}}"#,
            "tuple.type: invalid value: integer `300`, expected u8",
        ),
        (
            r#"{"op": "get", "tuple": {"proto": "icmp", "src": "::1", "dst": "::2", "type": 8, "id": 1}}"#,
            "tuple.proto: icmp with IPv6 addresses (use icmpv6)",
        ),
        (
            r#"{"op": "get", "tuple": {"proto": 50, "src": "10.0.0.1", "dst": "10.0.0.2", "sport": 1}}"#,
            "tuple.sport: not used by 50 (it has only addresses)",
        ),
        (
            r#"{"op": "get", "tuple": {"proto": "tcp", "src": "10.0.0.1", "dst": "::2", "sport": 1, "dport": 2}}"#,
            "tuple.dst: an ipv6 address, but tuple.src is ipv4",
        ),
        (
            r#"{"op": "get", "tuple": {"proto": "tcp", "src": "10.0.0.1", "dst": "10.0.0.2", "sport": 1, "dport": 2, "zip": 1}}"#,
            "tuple.zip: unknown field `zip`",
        ),
        (
            r#"{"op": "delete"}"#,
            "delete: needs tuple (one connection) or filter",
        ),
        (
            r#"{"op": "delete", "filter": {}, "tuple": {"proto": "tcp", "src": "10.0.0.1", "dst": "10.0.0.2", "sport": 1, "dport": 2}}"#,
            "delete: give either tuple (one connection) or filter (every match), not both",
        ),
        (
            r#"{"op": "flush", "filter": {"proto": "tcp"}}"#,
            "filter: unknown field `filter`, expected `now_ns`",
        ),
        (
            r#"{"op": "chain"}"#,
            "bucket: missing",
        ),
        (
            r#"{"op": "chain", "bucket": 18446744073709551615}"#,
            "bucket: 18446744073709551615 is out of range",
        ),
        (
            r#"{"op": "chain", "bucket": 1.5}"#,
            "bucket: invalid type: floating point `1.5`, expected u64",
        ),
        (
            r#"{"op": "histogram", "max_len": 0}"#,
            "max_len: must be at least 1 (1-1024)",
        ),
        (
            r#"{"op": "histogram", "max_len": 100000}"#,
            "max_len: invalid value: integer `100000`, expected u16",
        ),
        (
            r#"{"op": "histogram", "bucket": 3}"#,
            "bucket: unknown field `bucket`, expected one of `now_ns`, `max_len`, `offset`, `limit`",
        ),
    ];
    let mut bad = Vec::new();
    for (req, want) in cases {
        let e = handle(&mut t, req.as_bytes())
            .err()
            .unwrap_or_else(|| "ACCEPTED".into());
        if !e.starts_with(want) {
            bad.push(format!("{req}\n  got:  {e}\n  want: {want}…"));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    // Nothing changed.
    assert_eq!(t.table.confirmed(), 7);
    // Nesting beyond serde_json's limit, bad UTF-8 and a very long value are errors too.
    let deep = format!("{{\"op\": {}{}}}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(refuse(&mut t, &deep).starts_with("request: malformed JSON: recursion limit"));
    let e = handle(&mut t, b"{\"op\": \"list\xff\"}").expect_err("bad utf-8");
    assert!(e.starts_with("request: malformed JSON"), "{e}");
    let long = format!(r#"{{"op": "{}"}}"#, "x".repeat(10_000));
    let e = refuse(&mut t, &long);
    assert!(
        e.len() < 400 && e.starts_with("op: unknown operation \"xxx"),
        "{e}"
    );
}

#[test]
fn no_input_panics() {
    let (mut t, _) = filled();
    let seeds: &[&[u8]] = &[
        br#"{"op":"list","now_ns":2000000000,"format":"json","filter":{"proto":"tcp","src":"10.0.0.0/8","dport":80,"state":["ESTABLISHED"],"mark":"0x10/0xff","status":"ASSURED","zone":0,"family":"ipv4"}}"#,
        br#"{"op":"get","format":"extended","tuple":{"proto":"icmp","src":"10.0.0.2","dst":"10.0.0.1","type":0,"code":0,"id":77}}"#,
        br#"{"op":"delete","tuple":{"proto":"gre","src":"2001:db8::1","dst":"2001:db8::2","srckey":1,"dstkey":2}}"#,
        br#"{"op":"histogram","max_len":3}"#,
        br#"{"op":"chain","bucket":7}"#,
        br#"{"op":"list","offset":2,"limit":3,"states":true,"format":"json"}"#,
        br#"{"op":"buckets","offset":60,"limit":10}"#,
        br#"{"op":"histogram","offset":6,"limit":10,"max_len":2}"#,
        br#"{"op":"list","offset":1,"limit":2,"total":false}"#,
        b"list 2000000000",
    ];
    // A small deterministic generator: truncations, byte flips and insertions.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let alphabet = b"{}[]\":,0123456789-.eE/x ntrufal\\\xff";
    for round in 0..4000 {
        let seed = seeds[round % seeds.len()];
        let mut req = seed.to_vec();
        for _ in 0..1 + next() % 4 {
            let pos = (next() % (req.len() as u64 + 1)) as usize;
            let b = alphabet[(next() % alphabet.len() as u64) as usize];
            match next() % 3 {
                0 => req.truncate(pos),
                1 if pos < req.len() => req[pos] = b,
                _ => req.insert(pos, b),
            }
        }
        let _ = handle(&mut t, &req);
    }
}

/// The plain words of the first versions (`list 0`, `count`) are not requests: the
/// error says the request is not JSON; the expectation operations are JSON requests.
#[test]
fn plain_words_are_refused_and_expectations_are_json_operations() {
    let (mut t, _) = filled();
    for words in [&b"list 2000000000"[..], b"count", b"expect-list", b""] {
        let e = handle(&mut t, words).expect_err("words");
        assert!(e.starts_with("request: malformed JSON"), "{e}");
    }
    let v = ask(&mut t, json!({"op": "expect-list", "now_ns": NOW}));
    assert_eq!(v, json!({"expectations": []}));
    let e = refuse(&mut t, r#"{"op": "expect-delete", "id": 9}"#);
    assert_eq!(e, "expect-delete: no expectation 9");
    assert_eq!(
        ask(&mut t, json!({"op": "expect-flush"})),
        json!({"deleted": 0})
    );
    let e = refuse(&mut t, r#"{"op": "expect-delete"}"#);
    assert_eq!(e, "id: missing");
}

/// `update` sets the mark (only the bits of `mark_mask` when given) and changes the
/// labels (replace, add bits, delete bits or all), on one connection by tuple or on
/// every match of a filter; a request that changes nothing is refused.
#[test]
fn update_sets_marks_and_labels() {
    let (mut t, _) = filled();
    let tcp_json = |t: &mut Tracker| {
        let r = ask(
            t,
            json!({"op": "list", "now_ns": NOW, "format": "json", "filter": {"proto": "tcp"}}),
        );
        r["entries"].as_array().expect("entries").clone()
    };
    let r = ask(
        &mut t,
        json!({"op": "update", "now_ns": NOW, "filter": {"proto": "tcp"}, "mark": 0xf0f,
               "labels": "0x10000000000000000", "label_add": [1, 127]}),
    );
    assert_eq!(r["updated"], 3);
    for e in tcp_json(&mut t) {
        assert_eq!(e["mark"], 0xf0f, "{e}");
        assert_eq!(e["labels"], "0x80000000000000010000000000000002", "{e}");
    }
    // Other connections are untouched.
    let udp = ask(
        &mut t,
        json!({"op": "list", "now_ns": NOW, "format": "json", "filter": {"proto": "udp"}}),
    );
    assert_eq!(udp["entries"][0]["mark"], 0);
    assert_eq!(udp["entries"][0]["labels"], "0x0");
    // A mask keeps the other bits; label_del clears bits, `true` all of them.
    let r = ask(
        &mut t,
        json!({"op": "update", "now_ns": NOW, "filter": {"proto": "tcp"}, "mark": 0x0a0,
               "mark_mask": 0x0f0, "label_del": 127}),
    );
    assert_eq!(r["updated"], 3);
    for e in tcp_json(&mut t) {
        assert_eq!(e["mark"], 0xfaf, "{e}");
        assert_eq!(e["labels"], "0x10000000000000002", "{e}");
    }
    // `conntrack -o labels`: text lines end in the label bits when asked, and only then.
    for (format, show) in [("text", true), ("extended", true), ("text", false)] {
        let r = ask(
            &mut t,
            json!({"op": "list", "now_ns": NOW, "format": format, "show_labels": show}),
        );
        let lines: Vec<&str> = r["entries"]
            .as_array()
            .expect("entries")
            .iter()
            .filter_map(|l| l.as_str())
            .collect();
        let labelled = lines.iter().filter(|l| l.ends_with(" labels=1,64")).count();
        assert_eq!(labelled, if show { 3 } else { 0 }, "{lines:?}");
        assert!(lines.iter().all(|l| show || !l.contains("labels=")));
    }
    ask(
        &mut t,
        json!({"op": "update", "now_ns": NOW, "filter": {}, "label_del": true}),
    );
    assert!(tcp_json(&mut t).iter().all(|e| e["labels"] == "0x0"));
    let e = refuse(&mut t, r#"{"op": "update", "filter": {}}"#);
    assert!(e.contains("nothing to change"), "{e}");
    let e = refuse(
        &mut t,
        r#"{"op": "update", "filter": {}, "label_add": [128]}"#,
    );
    assert!(
        e.starts_with("label_add: label bit 128 is out of range"),
        "{e}"
    );
}

/// An expectation flood through the control socket: thousands of `expect-create`
/// requests on one master leave the table at its limit (past it, a new expectation is
/// refused, as Linux's `nf_ct_expect_max` refuses with "expectation table full"), and
/// the master's end takes every one with it.
#[test]
fn an_expectation_flood_stays_within_the_limit_and_dies_with_its_master() {
    let (mut t, _) = filled();
    let limit = t.config().expect_max;
    let mut refused = 0;
    for port in 0..2 * limit as u32 {
        let req = json!({"op": "expect-create", "now_ns": NOW,
            "master": {"proto": "tcp", "src": "10.0.0.1", "dst": "10.0.0.2", "sport": 5555, "dport": 80},
            "expect": {"proto": "tcp", "src": "10.0.0.2", "dst": "10.0.0.1", "sport": 0,
                       "dport": 1024 + port},
            "mask": {"sport": 0}});
        if let Err(e) = handle(&mut t, req.to_string().as_bytes()) {
            assert_eq!(e, "expect-create: expectation table full");
            refused += 1;
        }
        assert!(t.expects.len() <= limit, "{} expectations", t.expects.len());
    }
    assert_eq!(t.expects.len(), limit);
    assert_eq!(refused, limit);
    let listed = ask(&mut t, json!({"op": "expect-list", "now_ns": NOW}));
    let listed = listed["expectations"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(listed.len(), limit);
    assert!(listed.iter().any(|e| e["tuple"]["dport"] == 1024));
    ask(
        &mut t,
        json!({"op": "delete", "now_ns": NOW, "tuple": {"proto": "tcp", "src": "10.0.0.1",
               "dst": "10.0.0.2", "sport": 5555, "dport": 80}}),
    );
    assert_eq!(
        t.expects.len(),
        0,
        "the master's end removes its expectations"
    );
}
