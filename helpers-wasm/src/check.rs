//! Load-time checks of a component against the helper world: which version of the world
//! it implements (0.4.0, or the older 0.3.0 or 0.2.0), that it imports nothing but that
//! version's log and types, and that it exports that version's `helper`.

use std::fmt;
use wasmtime::component::Component;
use wasmtime::Engine;

/// A version of the helper world the host speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WorldVersion {
    /// `brickwall:helper@0.2.0`: no `expect-nat`; rewrites reserved (never applied).
    V0_2,
    /// `brickwall:helper@0.3.0`: `expect-nat`, and rewrites the host applies.
    V0_3,
    /// `brickwall:helper@0.4.0`, the current world: besides 0.3.0's, expectations
    /// flushed by class and the connection's timeout set by the helper.
    V0_4,
}

impl WorldVersion {
    /// The current world, what helpers are built against.
    pub const CURRENT: WorldVersion = WorldVersion::V0_4;

    /// Every version the host loads, newest first.
    pub const ALL: [WorldVersion; 3] = [WorldVersion::V0_4, WorldVersion::V0_3, WorldVersion::V0_2];

    /// The package version, `0.4.0`.
    pub fn semver(self) -> &'static str {
        match self {
            WorldVersion::V0_2 => "0.2.0",
            WorldVersion::V0_3 => "0.3.0",
            WorldVersion::V0_4 => "0.4.0",
        }
    }

    /// The export a helper of this version must have, `brickwall:helper/helper@0.4.0`.
    pub fn export(self) -> String {
        format!("brickwall:helper/helper@{}", self.semver())
    }

    /// The imports this version offers: `types` and `log`.
    pub fn imports(self) -> [String; 2] {
        ["types", "log"].map(|i| format!("brickwall:helper/{i}@{}", self.semver()))
    }

    /// The world's full name, `brickwall:helper/helper-world@0.4.0`.
    pub fn world(self) -> String {
        format!("brickwall:helper/helper-world@{}", self.semver())
    }

    /// The version whose import or export `name` is.
    fn of_item(name: &str) -> Option<WorldVersion> {
        WorldVersion::ALL
            .into_iter()
            .find(|v| v.export() == name || v.imports().iter().any(|i| i == name))
    }
}

impl fmt::Display for WorldVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.semver())
    }
}

/// Whether `bytes` is a component rather than a core module (the header's layer field).
pub fn is_component(bytes: &[u8]) -> bool {
    bytes.len() >= 8 && bytes[..4] == *b"\0asm" && bytes[6..8] == [1, 0]
}

/// What a component imports and exports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interface {
    /// Import names.
    pub imports: Vec<String>,
    /// Export names.
    pub exports: Vec<String>,
}

impl Interface {
    /// Reads a compiled component's imports and exports.
    pub fn of(engine: &Engine, component: &Component) -> Interface {
        let ty = component.component_type();
        Interface {
            imports: ty.imports(engine).map(|(n, _)| n.to_owned()).collect(),
            exports: ty.exports(engine).map(|(n, _)| n.to_owned()).collect(),
        }
    }

    /// The world version the component implements, from its `helper` export. Refuses,
    /// naming them, imports outside every version of the world, a missing export, and
    /// imports and exports of different versions.
    pub fn validate(&self) -> Result<WorldVersion, String> {
        let current = WorldVersion::CURRENT;
        if let Some(bad) = self
            .imports
            .iter()
            .find(|i| WorldVersion::of_item(i).is_none())
        {
            return Err(format!(
                "imports `{bad}`, which the helper world does not offer (a helper may import only {}, or the same of an older world)",
                current.imports().join(" and ")
            ));
        }
        let versions: Vec<WorldVersion> = WorldVersion::ALL
            .into_iter()
            .filter(|v| self.exports.contains(&v.export()))
            .collect();
        let version = match versions[..] {
            [v] => v,
            [] => {
                let older: Vec<String> = WorldVersion::ALL[1..]
                    .iter()
                    .map(|v| format!("`{}`", v.export()))
                    .collect();
                return Err(format!(
                    "does not export `{}` (or {} of an older world; exports: {})",
                    current.export(),
                    older.join(", "),
                    if self.exports.is_empty() {
                        "nothing".to_owned()
                    } else {
                        self.exports.join(", ")
                    }
                ));
            }
            _ => {
                let both: Vec<String> = versions
                    .iter()
                    .map(|v| format!("`{}`", v.export()))
                    .collect();
                return Err(format!(
                    "exports {}: a helper implements one version of the world",
                    both.join(" and ")
                ));
            }
        };
        if let Some(other) = self
            .imports
            .iter()
            .find(|i| WorldVersion::of_item(i) != Some(version))
        {
            return Err(format!(
                "mixes world versions: exports `{}` but imports `{other}` (a {version} helper imports only {})",
                version.export(),
                version.imports().join(" and ")
            ));
        }
        Ok(version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iface(imports: &[String], exports: &[String]) -> Interface {
        Interface {
            imports: imports.to_vec(),
            exports: exports.to_vec(),
        }
    }

    #[test]
    fn component_headers_are_told_from_modules() {
        assert!(is_component(b"\0asm\x0d\0\x01\0"));
        assert!(!is_component(b"\0asm\x01\0\0\0"));
        assert!(!is_component(b"\0as"));
    }

    #[test]
    fn names_are_the_packages() {
        let v = WorldVersion::V0_4;
        assert_eq!(v.export(), "brickwall:helper/helper@0.4.0");
        assert_eq!(
            v.imports(),
            ["brickwall:helper/types@0.4.0", "brickwall:helper/log@0.4.0"]
        );
        assert_eq!(v.world(), "brickwall:helper/helper-world@0.4.0");
        assert_eq!(
            WorldVersion::V0_3.world(),
            "brickwall:helper/helper-world@0.3.0"
        );
        assert_eq!(
            WorldVersion::V0_2.world(),
            "brickwall:helper/helper-world@0.2.0"
        );
    }

    #[test]
    fn either_version_is_recognised() {
        for v in WorldVersion::ALL {
            assert_eq!(iface(&v.imports(), &[v.export()]).validate(), Ok(v));
            // Importing nothing is fine too.
            assert_eq!(iface(&[], &[v.export()]).validate(), Ok(v));
        }
    }

    #[test]
    fn foreign_imports_and_missing_exports_are_named() {
        let v = WorldVersion::CURRENT;
        let wasi = iface(&["wasi:cli/environment@0.2.0".into()], &[v.export()]);
        assert!(wasi
            .validate()
            .unwrap_err()
            .contains("`wasi:cli/environment@0.2.0`"));
        let none = iface(&v.imports(), &[]);
        let err = none.validate().unwrap_err();
        assert!(err.contains("exports: nothing"), "{err}");
        assert!(err.contains("`brickwall:helper/helper@0.4.0`"), "{err}");
        assert!(err.contains("`brickwall:helper/helper@0.3.0`"), "{err}");
        assert!(err.contains("`brickwall:helper/helper@0.2.0`"), "{err}");
    }

    #[test]
    fn versions_are_not_mixed() {
        let (new, old) = (WorldVersion::V0_4, WorldVersion::V0_3);
        let mixed = iface(&old.imports(), &[new.export()]);
        let err = mixed.validate().unwrap_err();
        assert!(err.contains("mixes world versions"), "{err}");
        assert!(err.contains("`brickwall:helper/types@0.3.0`"), "{err}");
        let both = iface(&[], &[new.export(), old.export()]);
        let err = both.validate().unwrap_err();
        assert!(err.contains("one version of the world"), "{err}");
    }
}
