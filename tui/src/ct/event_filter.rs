//! `-E` with filters (`-p`, `-f`, `-s`, `-d`, `--sport`, `--dport`, `--state`,
//! `--mark`, `--zone`, `--src-nat`, `--dst-nat`, `--any-nat`), as `conntrack -E -p tcp
//! --dport 21` narrows its events: the conditions are those of `-L` and apply to an
//! event record's original tuple, its family, protocol, mark and zone, the state its
//! line shows, and its translation (its tuples and `SRC_NAT`/`DST_NAT` bits).

use super::args::{CtArgs, FamilyArg};
use super::CtError;
use brickwall_control_protocol::conntrack::request::{NatFilter, NatSide};
use brickwall_control_protocol::conntrack::EventRecord;
use brickwall_wire::{Cidr, Family};

fn mark_of(s: &str) -> Option<(u32, u32)> {
    let num = |s: &str| match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u32::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    };
    match s.split_once('/') {
        Some((m, k)) => Some((num(m)?, num(k)?)),
        None => Some((num(s)?, u32::MAX)),
    }
}

/// The conditions of `-E`'s filter options; every one given must hold.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventFilter {
    proto: Option<u8>,
    v6: Option<bool>,
    src: Option<Cidr>,
    dst: Option<Cidr>,
    sport: Option<u16>,
    dport: Option<u16>,
    states: Option<Vec<String>>,
    mark: Option<(u32, u32)>,
    zone: Option<u16>,
    src_nat: Option<NatFilter>,
    dst_nat: Option<NatFilter>,
    any_nat: Option<NatFilter>,
}

impl EventFilter {
    /// The filter the options ask for (`None`: print every event). `--status` and the
    /// ICMP fields name no condition of an event line and are refused.
    pub fn from_args(a: &CtArgs) -> Result<Option<EventFilter>, CtError> {
        if a.status.is_some()
            || a.icmp_type.is_some()
            || a.icmp_code.is_some()
            || a.icmp_id.is_some()
            || super::query::reply_options(a)
        {
            return Err(CtError::usage(
                "-E filters by -p, -f, -s, -d, --sport, --dport, --state, --mark, --zone, --src-nat, --dst-nat and --any-nat",
            ));
        }
        let net = |s: &Option<String>| s.as_deref().and_then(|s| s.parse::<Cidr>().ok());
        let f = EventFilter {
            proto: a.proto,
            v6: a.family.map(|f| f == FamilyArg::Ipv6),
            src: net(&a.src),
            dst: net(&a.dst),
            sport: a.sport,
            dport: a.dport,
            states: a.state.as_ref().map(|s| {
                s.split(',')
                    .map(|x| x.trim().to_ascii_uppercase())
                    .collect()
            }),
            mark: a.mark.as_deref().and_then(mark_of),
            zone: a.zone,
            src_nat: a.src_nat.map(super::query::nat_filter),
            dst_nat: a.dst_nat.map(super::query::nat_filter),
            any_nat: a.any_nat.map(super::query::nat_filter),
        };
        // Status and ICMP fields were refused above, so any other option is a condition.
        let any = super::query::has_filters(a);
        Ok(any.then_some(f))
    }

    /// Whether an event meets every condition. A connection event is judged by its
    /// original tuple (addresses and ports), family, protocol number, mark, zone, and
    /// the state its line shows ([`shown_state`]: an UPDATE that did not change the
    /// state shows none, and no `--state` holds for it). An expectation event (`-E
    /// expect` takes no filters, so only a plugin that sends one unasked gets here) is
    /// judged by its expected tuple, family, protocol and zone; it has no state, and its
    /// mark counts as 0.
    ///
    /// [`shown_state`]: brickwall_control_protocol::conntrack::ConnEventRecord::shown_state
    pub fn matches(&self, event: &EventRecord) -> bool {
        let (t, family, protonum, state, mark, zone) = match event {
            EventRecord::Conn(e) => (
                &e.conn.orig,
                e.conn.family.0,
                e.conn.protonum,
                e.shown_state(),
                e.conn.mark,
                e.conn.zone,
            ),
            EventRecord::Expect(e) => (
                &e.expect.tuple,
                e.expect.family.0,
                e.expect.protonum,
                None,
                0,
                e.expect.zone,
            ),
        };
        if self.proto.is_some_and(|p| p != protonum) {
            return false;
        }
        if self.v6.is_some_and(|v6| (family == Family::Ipv6) != v6) {
            return false;
        }
        for (net, addr) in [(&self.src, t.src), (&self.dst, t.dst)] {
            if net.is_some_and(|n| !n.contains(addr)) {
                return false;
            }
        }
        for (want, have) in [(self.sport, t.sport), (self.dport, t.dport)] {
            if want.is_some_and(|p| have != Some(p)) {
                return false;
            }
        }
        if let Some(states) = &self.states {
            if state.is_none_or(|s| !states.iter().any(|x| x == s)) {
                return false;
            }
        }
        if let Some((m, mask)) = self.mark {
            if mark & mask != m & mask {
                return false;
            }
        }
        if self.zone.is_some_and(|z| z != zone) {
            return false;
        }
        self.nat_matches(event)
    }

    /// Whether the event meets the NAT conditions; an expectation event meets none.
    fn nat_matches(&self, event: &EventRecord) -> bool {
        if self.src_nat.is_none() && self.dst_nat.is_none() && self.any_nat.is_none() {
            return true;
        }
        let EventRecord::Conn(e) = event else {
            return false;
        };
        let c = &e.conn;
        let holds = |f: &NatFilter, side: NatSide| {
            let bit = match side {
                NatSide::Src => "SRC_NAT",
                NatSide::Dst => "DST_NAT",
            };
            f.holds(side, c.has_status(bit), &c.orig, &c.reply)
        };
        self.src_nat.is_none_or(|f| holds(&f, NatSide::Src))
            && self.dst_nat.is_none_or(|f| holds(&f, NatSide::Dst))
            && self
                .any_nat
                .is_none_or(|f| holds(&f, NatSide::Src) || holds(&f, NatSide::Dst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use brickwall_control_protocol::conntrack::event::what;
    use brickwall_control_protocol::conntrack::record::proto_name;
    use brickwall_control_protocol::conntrack::value::{FamilyName, Labels};
    use brickwall_control_protocol::conntrack::{
        ConnEventRecord, ConnRecord, EventKind, ExpectEventRecord, ExpectRecord, TupleRecord,
    };
    use clap::Parser;

    fn filter(args: &[&str]) -> EventFilter {
        let mut v = vec!["ct", "-E"];
        v.extend_from_slice(args);
        let a = super::super::args::CtCli::parse_from(v).args;
        EventFilter::from_args(&a).unwrap().expect("a filter")
    }

    fn tuple(src: &str, dst: &str, sport: u16, dport: u16) -> TupleRecord {
        let mut t = TupleRecord::new(src.parse().unwrap(), dst.parse().unwrap());
        (t.sport, t.dport) = (Some(sport), Some(dport));
        t
    }

    /// A connection event from `src`:`sport` to `dst`:`dport` and back.
    fn conn(
        kind: EventKind,
        what: u16,
        (src, dst, sport, dport): (&str, &str, u16, u16),
        proto: u8,
        state: Option<&str>,
    ) -> ConnEventRecord {
        let v6 = src.contains(':');
        ConnEventRecord {
            kind,
            what,
            ts_ns: 1_795_760_642_649_978_000,
            conn: ConnRecord {
                id: 1,
                family: FamilyName(if v6 { Family::Ipv6 } else { Family::Ipv4 }),
                proto: proto_name(proto).to_string(),
                protonum: proto,
                state: state.map(str::to_string),
                timeout: if proto == 6 { 120 } else { 30 },
                status: Vec::new(),
                orig: tuple(src, dst, sport, dport),
                reply: tuple(dst, src, dport, sport),
                mark: 0,
                zone: 0,
                labels: Labels(0),
                helper: None,
                uses: 1,
                start_ns: None,
            },
        }
    }

    /// A TCP SYN with mark 5, and its line.
    fn new() -> EventRecord {
        let mut e = conn(
            EventKind::New,
            what::NEW | what::PROTOINFO,
            ("10.77.0.1", "10.77.1.2", 45604, 21),
            6,
            Some("SYN_SENT"),
        );
        e.conn.mark = 5;
        EventRecord::Conn(e)
    }

    const NEW: &str = "    [NEW] tcp      6 120 SYN_SENT src=10.77.0.1 dst=10.77.1.2 sport=45604 dport=21 [UNREPLIED] src=10.77.1.2 dst=10.77.0.1 sport=21 dport=45604 mark=5";

    /// A UDP reply in zone 3, and its line.
    fn udp() -> EventRecord {
        let mut e = conn(
            EventKind::Update,
            what::REPLY,
            ("fd77::1", "fd77:1::2", 53000, 53),
            17,
            None,
        );
        e.conn.status = vec!["SEEN_REPLY".into()];
        e.conn.zone = 3;
        EventRecord::Conn(e)
    }

    const UDP: &str = "[1795760642.649978]\t [UPDATE] udp      17 30 src=fd77::1 dst=fd77:1::2 sport=53000 dport=53 src=fd77:1::2 dst=fd77::1 sport=53 dport=53000 zone=3";

    #[test]
    fn conditions_apply_to_the_original_tuple() {
        let (new, udp) = (new(), udp());
        assert_eq!(
            (new.line(false).as_str(), udp.line(true).as_str()),
            (NEW, UDP)
        );
        assert!(filter(&["-p", "tcp", "--dport", "21"]).matches(&new));
        assert!(!filter(&["-p", "udp"]).matches(&new));
        // The reply tuple's sport=21 does not count.
        assert!(!filter(&["--sport", "21"]).matches(&new));
        assert!(filter(&["-s", "10.77.0.0/16"]).matches(&new));
        assert!(!filter(&["-d", "10.77.0.1"]).matches(&new));
        assert!(filter(&["--state", "SYN_SENT,ESTABLISHED"]).matches(&new));
        assert!(!filter(&["--state", "ESTABLISHED"]).matches(&new));
        assert!(filter(&["--mark", "4/0x4"]).matches(&new));
        assert!(!filter(&["--mark", "1"]).matches(&new));
        assert!(filter(&["-f", "ipv6", "--zone", "3"]).matches(&udp));
        assert!(!filter(&["-f", "ipv4"]).matches(&udp));
        assert!(!filter(&["--zone", "1"]).matches(&new));
        assert!(filter(&["-s", "fd77::/16", "--dport", "53"]).matches(&udp));
    }

    #[test]
    fn the_state_is_the_one_the_line_shows() {
        let est = |what| {
            EventRecord::Conn(conn(
                EventKind::Update,
                what,
                ("10.0.0.1", "10.0.0.2", 1, 2),
                6,
                Some("ESTABLISHED"),
            ))
        };
        let f = filter(&["--state", "ESTABLISHED"]);
        assert!(f.matches(&est(what::PROTOINFO)));
        // A mark change of an ESTABLISHED connection shows no state.
        assert!(!est(what::MARK).line(false).contains("ESTABLISHED"));
        assert!(!f.matches(&est(what::MARK)));
    }

    #[test]
    fn expectations_match_by_their_expected_tuple() {
        let e = EventRecord::Expect(ExpectEventRecord {
            kind: EventKind::New,
            ts_ns: 0,
            expect: ExpectRecord {
                id: 1,
                timeout: 300,
                protonum: 6,
                family: FamilyName(Family::Ipv4),
                tuple: tuple("10.77.0.1", "10.77.1.2", 0, 30076),
                mask: tuple("255.255.255.255", "255.255.255.255", 0, 65535),
                master: tuple("10.77.0.1", "10.77.1.2", 45604, 21),
                flags: Vec::new(),
                class: 0,
                helper: "ftp".into(),
                zone: 0,
            },
        });
        assert!(filter(&["-s", "10.77.0.1", "--dport", "30076", "--mark", "0"]).matches(&e));
        assert!(!filter(&["--dport", "21"]).matches(&e));
        assert!(!filter(&["--state", "ESTABLISHED"]).matches(&e));
    }

    #[test]
    fn nat_conditions_judge_the_translated_reply() {
        // A port forward: 203.0.113.9:40000 -> 192.0.2.1:8080, to 10.0.0.5:80.
        let mut e = conn(
            EventKind::New,
            what::NEW,
            ("203.0.113.9", "192.0.2.1", 40000, 8080),
            17,
            None,
        );
        e.conn.reply = tuple("10.0.0.5", "203.0.113.9", 80, 40000);
        e.conn.status = vec!["DST_NAT".into(), "DST_NAT_DONE".into()];
        let dnat = EventRecord::Conn(e);
        assert!(dnat
            .line(false)
            .contains("dport=8080 [UNREPLIED] src=10.0.0.5 dst=203.0.113.9 sport=80 dport=40000"));
        assert!(filter(&["--dst-nat"]).matches(&dnat));
        assert!(filter(&["-g", "10.0.0.5:80"]).matches(&dnat));
        assert!(filter(&["-j", "10.0.0.5"]).matches(&dnat));
        assert!(!filter(&["-g", "10.0.0.6"]).matches(&dnat));
        assert!(!filter(&["--src-nat"]).matches(&dnat));
        assert!(!filter(&["--src-nat", "--dst-nat"]).matches(&dnat));
        assert!(!filter(&["--any-nat"]).matches(&new()));
    }

    #[test]
    fn status_and_icmp_fields_are_refused() {
        let a = super::super::args::CtCli::parse_from(["ct", "-E", "-u", "ASSURED"]).args;
        assert!(EventFilter::from_args(&a).is_err());
        let a = super::super::args::CtCli::parse_from(["ct", "-E"]).args;
        assert!(EventFilter::from_args(&a).unwrap().is_none());
    }
}
