//! Batches: a tracker that prepares each batch (tuples hashed, the table prefetched)
//! decides exactly as one that takes packets one at a time — on new and established
//! flows, repeated tuples within a batch, packets that never reach conntrack-in, and a
//! packet rewritten between preparation and conntrack-in.

use brickwall_conntrack::config::CtConfig;
use brickwall_conntrack::datagram::{ipv4, tcp, udp, view};
use brickwall_conntrack::tracker::Tracker;
use brickwall_hooks::PacketView;

/// A TCP segment (sequence number 100) or UDP datagram from host 10.0.0.`a` to
/// 10.0.0.`b`.
fn packet(a: u8, b: u8, proto: u8, sport: u16, dport: u16, flags: u8) -> Vec<u8> {
    let l4 = if proto == 6 {
        tcp(sport, dport, 100, 0, flags)
    } else {
        udp(sport, dport)
    };
    ipv4([10, 0, 0, a], [10, 0, 0, b], proto, &l4)
}

const SEC: u64 = 1_000_000_000;

/// Traffic: 40 UDP flows and 20 TCP handshakes, each packet of a flow followed by its
/// reply, interleaved so batches hold several packets of one tuple.
fn traffic() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for round in 0..3u16 {
        for f in 0..40u8 {
            out.push(packet(f, 200, 17, 1000 + f as u16, 53, 0));
            out.push(packet(200, f, 17, 53, 1000 + f as u16, 0));
            if round == 0 && f % 2 == 0 {
                // The same tuple again, inside the same batch.
                out.push(packet(f, 200, 17, 1000 + f as u16, 53, 0));
            }
        }
        for f in 0..20u8 {
            let flags = [0x02, 0x12, 0x10][round as usize];
            let (a, b, sp, dp) = if round == 1 {
                (201, f, 80, 2000 + f as u16)
            } else {
                (f, 201, 2000 + f as u16, 80)
            };
            out.push(packet(a, b, 6, sp, dp, flags));
        }
    }
    out
}

/// One packet's outcome: ctinfo, connection id, the `conntrack -L` line count after it.
type Outcome = (u8, u64, u8);

fn run(batch: Option<usize>) -> (Vec<Outcome>, String) {
    let cfg = CtConfig {
        buckets: 64,
        accounting: true,
        ..CtConfig::default()
    };
    let mut t = Tracker::new(cfg, 80);
    t.set_prefetch_min_bytes(0);
    let mut pkts = traffic();
    let n = pkts.len();
    let mut out = Vec::new();
    let step = batch.unwrap_or(1);
    let mut i = 0;
    while i < n {
        let end = (i + step).min(n);
        let mut views: Vec<_> = pkts[i..end]
            .iter_mut()
            .enumerate()
            .map(|(k, d)| view(d, SEC + (i + k) as u64))
            .collect();
        if batch.is_some() {
            let refs: Vec<&PacketView> = views.iter().map(|v| &**v).collect();
            t.prefetch(refs.iter().copied());
        }
        for (k, v) in views.iter_mut().enumerate() {
            let at = i + k;
            // Every 7th packet never reaches conntrack (dropped before it, as a raw
            // table might); every 11th is rewritten after preparation (another port).
            if at % 7 == 3 {
                continue;
            }
            if at % 11 == 5 {
                v.frame_mut()[20..22].copy_from_slice(&7777u16.to_be_bytes());
            }
            t.conntrack_in(v);
            t.confirm(v);
            out.push((v.ctinfo, v.ct_id, 0));
        }
        i = end;
    }
    let mut lines: Vec<String> = t
        .table()
        .slots()
        .map(|(i, c)| {
            let n = t.table().counters(i);
            format!("{:?} {:?} {} {:?}", c.orig, c.proto, c.status, n)
        })
        .collect();
    lines.sort();
    (out, lines.join("\n"))
}

#[test]
fn prepared_batches_decide_as_one_packet_at_a_time() {
    let (single, table_single) = run(None);
    assert!(single.len() > 200, "{} packets", single.len());
    for size in [2, 8, 32] {
        let (batched, table_batched) = run(Some(size));
        assert_eq!(batched, single, "batches of {size}");
        assert_eq!(table_batched, table_single, "batches of {size}");
    }
    // The traffic did create, establish and repeat connections.
    let states: std::collections::BTreeSet<u8> = single.iter().map(|o| o.0).collect();
    assert!(states.len() >= 4, "{states:?}");
}
