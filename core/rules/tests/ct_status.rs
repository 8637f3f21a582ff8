//! `ct status` and `ct direction` (nftables' words): compiled from a rule's YAML,
//! matched against a packet's connection status and conntrack information, and
//! printed back in nft's form.

use brickwall_hooks::services::conntrack::status;
use brickwall_hooks::{CtInfo, PacketView};
use brickwall_rules::compile::{matcher, Stage};
use brickwall_rules::config::MatchCfg;
use brickwall_rules::matcher::{Facts, Matcher};

fn compile(yaml: &str, stage: Stage) -> Result<Matcher, String> {
    let m: MatchCfg = serde_yaml_ng::from_str(yaml).expect("yaml");
    matcher(&m, "rules[0].match", stage).map_err(|e| e.to_string())
}

fn pkt(ct_status: u32, info: CtInfo) -> PacketView {
    let mut p = PacketView::default();
    p.ct = 1;
    p.ct_status = ct_status;
    p.set_ctinfo(info);
    p
}

#[test]
fn ct_status_matches_any_of_its_flags_and_prints_as_nft_does() {
    let m = compile("{ct_status: [snat, dnat]}", Stage::AfterConntrack).expect("compiles");
    let hit = |s: u32| {
        let p = pkt(s, CtInfo::Established);
        m.matches(&Facts::of(&p), &p)
    };
    assert!(hit(status::CONFIRMED | status::DST_NAT));
    assert!(hit(status::SRC_NAT));
    assert!(!hit(status::CONFIRMED | status::ASSURED));
    // A packet without a connection has no status.
    let mut none = pkt(status::SRC_NAT, CtInfo::Invalid);
    none.ct = 0;
    assert!(!m.matches(&Facts::of(&none), &none));
    assert_eq!(brickwall_rules::text::matcher(&m), ["ct status snat,dnat"]);
    let one = compile("{ct_status: seen-reply}", Stage::AfterConntrack).expect("compiles");
    assert_eq!(
        brickwall_rules::text::matcher(&one),
        ["ct status seen-reply"]
    );
}

#[test]
fn ct_direction_follows_the_conntrack_information() {
    let reply = compile("{ct_direction: reply}", Stage::AfterConntrack).expect("compiles");
    let original = compile("{ct_direction: original}", Stage::AfterConntrack).expect("compiles");
    for (info, is_reply) in [
        (CtInfo::New, Some(false)),
        (CtInfo::Established, Some(false)),
        (CtInfo::EstablishedReply, Some(true)),
        (CtInfo::RelatedReply, Some(true)),
        (CtInfo::Invalid, None),
    ] {
        let p = pkt(0, info);
        let f = Facts::of(&p);
        assert_eq!(reply.matches(&f, &p), is_reply == Some(true), "{info:?}");
        assert_eq!(
            original.matches(&f, &p),
            is_reply == Some(false),
            "{info:?}"
        );
    }
    assert_eq!(
        brickwall_rules::text::matcher(&reply),
        ["ct direction reply"]
    );
}

#[test]
fn before_conntrack_they_are_refused_and_unknown_flags_name_the_field() {
    let e = compile("{ct_status: dnat}", Stage::BeforeConntrack).unwrap_err();
    assert!(e.contains("ct_status") && e.contains("raw chain"), "{e}");
    let e = compile("{ct_direction: reply}", Stage::BeforeConntrack).unwrap_err();
    assert!(e.contains("ct_direction"), "{e}");
    let bad: Result<MatchCfg, _> = serde_yaml_ng::from_str("{ct_status: masq}");
    let e = bad.unwrap_err().to_string();
    assert!(e.contains("masq") && e.contains("snat"), "{e}");
}
