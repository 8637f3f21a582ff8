//! Plugin loading through the C ABI: the example counter plugin built and loaded from
//! its shared object, the same code linked statically, and refusals (wrong ABI version,
//! missing symbol, failing init, unknown priority override), each naming the file.

mod common;

use brickwall_core::config::Config;
use brickwall_core::engine::Engine;
use brickwall_core::pipeline::{DropReason, Outcome};
use brickwall_core::plugin::PluginSource;
use brickwall_hooks::{Family, Hook};
use common::{packet, udp4};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The example counter plugin's shared object, built with cargo.
fn counter_so() -> &'static Path {
    static SO: OnceLock<PathBuf> = OnceLock::new();
    SO.get_or_init(|| common::example_plugin_so("brickwall-example-counter"))
}

/// Compiles a C fixture into a shared object with the system's C compiler.
fn c_so(name: &str) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(format!("{name}.c"));
    let out = common::plugin_scratch().join(format!("lib{name}.so"));
    let status = Command::new("cc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(&out)
        .arg(&src)
        .status()
        .expect("run cc");
    assert!(status.success(), "compiling {name}.c failed");
    out
}

fn engine_with(yaml: &str) -> Result<Engine, String> {
    let cfg = Config::parse(yaml, "plugins.yaml").map_err(|e| e.to_string())?;
    Engine::from_config(&cfg, Path::new("/"), "plugins.yaml").map_err(|e| e.to_string())
}

#[test]
fn counter_plugin_loads_from_its_shared_object_and_counts() {
    let so = counter_so();
    let e = engine_with(&format!(
        "plugins:\n  - name: counter\n    path: {}\n    priorities: {{count-forward: mangle}}\n    config: {{drop_every: 3}}\n",
        so.display()
    ))
    .unwrap();
    let t = e.registry().snapshot();
    let fwd = t.chain(Family::Ipv4, Hook::Forward);
    assert_eq!(fwd.len(), 1);
    assert_eq!(&*fwd[0].name, "count-forward");
    assert_eq!(fwd[0].priority, -150, "priority override by name applies");
    assert_eq!(t.chain(Family::Ipv6, Hook::PreRouting)[0].priority, 10);

    let mut pl = e.pipeline();
    let frame = udp4([10, 0, 0, 1], [10, 0, 0, 2], 5, 6, b"hello");
    let mut outcomes = Vec::new();
    for _ in 0..6 {
        outcomes.push(pl.process(&t, &mut packet(&frame)));
    }
    let dropped = outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::Dropped(_)))
        .count();
    assert_eq!(dropped, 2, "every third packet is dropped: {outcomes:?}");
    let Outcome::Dropped(DropReason::Id(id)) = outcomes[2] else {
        panic!()
    };
    assert_eq!(
        e.registry().reason_name(id).as_deref(),
        Some("counter-drop-every")
    );

    let stats = e.plugin("counter").unwrap().control(b"stats").unwrap();
    let v: serde_json::Value = serde_json::from_slice(&stats).unwrap();
    assert_eq!(v["PREROUTING"]["packets"], 6);
    assert_eq!(v["FORWARD"]["packets"], 4);
    assert_eq!(v["POSTROUTING"]["bytes"], 4 * (20 + 8 + 5));
    let err = e.plugin("counter").unwrap().control(b"bogus").unwrap_err();
    assert!(err.contains("unknown request"), "{err}");
}

#[test]
fn the_same_plugin_code_links_statically() {
    let mut e = engine_with("{}").unwrap();
    let slot = e
        .load(
            &PluginSource::Static(brickwall_example_counter::brickwall_descriptor),
            "null",
            &BTreeMap::new(),
            None,
        )
        .unwrap();
    assert_eq!(slot.plugin.origin, "static");
    let t = e.registry().snapshot();
    assert_eq!(t.chain(Family::Ipv4, Hook::LocalIn).len(), 1);
    // Loading a second plugin of the same name is refused.
    let again = e.load(
        &PluginSource::Static(brickwall_example_counter::brickwall_descriptor),
        "null",
        &BTreeMap::new(),
        None,
    );
    assert!(again.unwrap_err().to_string().contains("already loaded"));
    assert!(e.unload("counter"));
    assert!(e
        .registry()
        .snapshot()
        .chain(Family::Ipv4, Hook::LocalIn)
        .is_empty());
}

#[test]
fn panicking_plugin_is_contained_and_counted() {
    let so = counter_so();
    let e = engine_with(&format!(
        "plugins:\n  - path: {}\n    failure_policy: fail-closed\n    config: {{panic_every: 2}}\n",
        so.display()
    ))
    .unwrap();
    let t = e.registry().snapshot();
    let mut pl = e.pipeline();
    let frame = udp4([10, 0, 0, 1], [10, 0, 0, 2], 5, 6, b"x");
    let o1 = pl.process(&t, &mut packet(&frame));
    let o2 = pl.process(&t, &mut packet(&frame));
    assert_eq!(o1, Outcome::Forwarded);
    let Outcome::Dropped(DropReason::Id(id)) = o2 else {
        panic!("{o2:?}")
    };
    assert_eq!(
        e.registry().reason_name(id).as_deref(),
        Some("plugin-panic")
    );
    assert_eq!(pl.counters.panics.get("counter"), Some(&1));
}

#[test]
fn refusals_name_the_file_and_the_reason() {
    let wrong = c_so("wrong_abi");
    let err = engine_with(&format!("plugins:\n  - path: {}\n", wrong.display())).unwrap_err();
    assert!(err.contains(&wrong.display().to_string()), "{err}");
    assert!(
        err.contains("plugin ABI version 99, this engine speaks versions 1 to 2"),
        "{err}"
    );

    let none = c_so("no_entry");
    let err = engine_with(&format!("plugins:\n  - path: {}\n", none.display())).unwrap_err();
    assert!(
        err.contains(&none.display().to_string())
            && err.contains("missing symbol `brickwall_plugin_entry`"),
        "{err}"
    );

    let null = c_so("null_vtable");
    let err = engine_with(&format!("plugins:\n  - path: {}\n", null.display())).unwrap_err();
    assert!(
        err.contains(&null.display().to_string())
            && err.contains("its vtable has no `init` function (null)"),
        "{err}"
    );

    let err = engine_with("plugins:\n  - path: /nonexistent/libx.so\n").unwrap_err();
    assert!(
        err.starts_with("/nonexistent/libx.so: cannot load"),
        "{err}"
    );

    let so = counter_so();
    let err = engine_with(&format!(
        "plugins:\n  - path: {}\n    config: {{drop_evry: 1}}\n",
        so.display()
    ))
    .unwrap_err();
    assert!(
        err.starts_with("plugins.yaml:3:13: plugins[0].config: plugin counter (")
            && err.contains("refused its config")
            && err.contains("drop_evry"),
        "{err}"
    );

    let err = engine_with(&format!(
        "plugins:\n  - path: {}\n    priorities: {{count-sideways: 5}}\n",
        so.display()
    ))
    .unwrap_err();
    assert!(
        err.contains("count-sideways") && err.contains("count-prerouting"),
        "{err}"
    );

    let err = engine_with(&format!(
        "plugins:\n  - name: conntrack\n    path: {}\n",
        so.display()
    ))
    .unwrap_err();
    assert!(
        err.contains("plugins[0].name") && err.contains("`counter`"),
        "{err}"
    );

    let err = engine_with("plugins:\n  - builtin: nothing\n").unwrap_err();
    assert!(
        err.contains("plugins[0].builtin") && err.contains("no built-in plugin `nothing`"),
        "{err}"
    );
}

/// A plugin path without a slash names a file in the config's directory, never a
/// library on the dynamic loader's search path (`libm.so.6` would be the system's).
#[test]
fn a_bare_plugin_name_is_not_looked_up_on_the_library_path() {
    let cfg = Config::parse("plugins:\n  - path: libm.so.6\n", "plugins.yaml").unwrap();
    let err = Engine::from_config(&cfg, Path::new(""), "plugins.yaml")
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("./libm.so.6: cannot load"),
        "the system's libm was loaded or the error is unclear: {err}"
    );
}

/// A helper's `wasm` path in conntrack's section is relative to the config's
/// directory (the host tells the plugin where that is), not to the working directory.
#[test]
fn helper_files_are_found_beside_the_config() {
    let dir = common::TempDir::new("helper-dir");
    let ftp = brickwall_helpers::builtin::bundled("ftp").unwrap();
    std::fs::write(dir.join("my-ftp.wasm"), ftp).unwrap();
    let yaml = "plugins:\n  - builtin: conntrack\n    config:\n      helper_sandbox: {cache_dir: ''}\n      helpers: [{name: ftp, wasm: my-ftp.wasm, ports: [tcp/21]}]\n";
    std::fs::write(dir.join("fw.yaml"), yaml).unwrap();
    let cfg = Config::load(&dir.join("fw.yaml")).unwrap();
    let e = Engine::from_config(&cfg, &dir.0, "fw.yaml").expect("the helper beside the config");
    let helpers = e
        .plugin("conntrack")
        .unwrap()
        .control(br#"{"op":"helpers"}"#)
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&helpers).unwrap();
    assert_eq!(v["helpers"][0]["name"], "ftp");
    // The working directory (the crate's, in tests) has no such file.
    let err = Engine::from_config(&cfg, Path::new("."), "fw.yaml")
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(err.contains("my-ftp.wasm"), "{err}");
}
