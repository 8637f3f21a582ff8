//! `iif` and `oif` by index or by name: a name is looked up when the rules load (as
//! nft's `iif`/`oif` do), one that does not exist is refused with the field named.

use brickwall_hooks::PacketView;
use brickwall_rules::compile::{matcher, Stage};
use brickwall_rules::config::MatchCfg;
use brickwall_rules::matcher::{Facts, Matcher};

fn compile(yaml: &str) -> Result<Matcher, String> {
    let m: MatchCfg = serde_yaml_ng::from_str(yaml).expect("yaml");
    matcher(&m, "rules[0].match", Stage::AfterConntrack).map_err(|e| e.to_string())
}

fn on(iif: u32, oif: u32) -> PacketView {
    let mut p = PacketView::default();
    p.iif = iif;
    p.oif = oif;
    p
}

/// The loopback device's index, which every namespace has (by name).
fn lo() -> u32 {
    let name = std::ffi::CString::new("lo").unwrap();
    // SAFETY: a NUL-terminated name.
    let i = unsafe { libc::if_nametoindex(name.as_ptr()) };
    assert_ne!(i, 0, "no loopback device");
    i
}

#[test]
fn names_and_indexes_match_the_same_interface() {
    let lo = lo();
    let by_name = compile("{iif: lo}").expect("lo exists");
    let by_index = compile(&format!("{{iif: {lo}}}")).expect("an index");
    for m in [&by_name, &by_index] {
        assert!(m.matches(&Facts::of(&on(lo, 0)), &on(lo, 0)));
        assert!(!m.matches(&Facts::of(&on(lo + 1, 0)), &on(lo + 1, 0)));
    }
    // A list mixes both; 0 is no interface (a replay's output).
    let m = compile("{oif: [lo, 0]}").expect("compiles");
    assert!(m.matches(&Facts::of(&on(9, lo)), &on(9, lo)));
    assert!(m.matches(&Facts::of(&on(9, 0)), &on(9, 0)));
    assert!(!m.matches(&Facts::of(&on(9, lo + 7)), &on(9, lo + 7)));
    assert_eq!(
        brickwall_rules::text::matcher(&by_name),
        [format!("iif {lo}")]
    );
}

#[test]
fn an_unknown_name_is_refused_naming_the_field() {
    let e = compile("{oif: [lo, no-such-if0]}").unwrap_err();
    assert_eq!(
        e,
        "rules[0].match.oif[1]: no interface `no-such-if0` here (a name is looked up when the rules load)"
    );
    let e = compile("{iif: 4294967296}").unwrap_err();
    assert!(
        e.contains("rules[0].match.iif: 4294967296 is not an interface index"),
        "{e}"
    );
}
