//! Load-time checks of a component against the helper world: what it imports (only the
//! world's log and types) and what it exports.

use wasmtime::component::Component;
use wasmtime::Engine;

/// The imports the helper world offers.
pub const ALLOWED_IMPORTS: [&str; 2] =
    ["brickwall:helper/types@0.3.0", "brickwall:helper/log@0.3.0"];

/// The export every helper must have.
pub const REQUIRED_EXPORT: &str = "brickwall:helper/helper@0.3.0";

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

    /// Refuses imports outside the world and a missing export, naming them.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(bad) = self
            .imports
            .iter()
            .find(|i| !ALLOWED_IMPORTS.contains(&i.as_str()))
        {
            return Err(format!(
                "imports `{bad}`, which the helper world does not offer (a helper may import only {})",
                ALLOWED_IMPORTS.join(" and ")
            ));
        }
        if !self.exports.iter().any(|e| e == REQUIRED_EXPORT) {
            return Err(format!(
                "does not export `{REQUIRED_EXPORT}` (exports: {})",
                if self.exports.is_empty() {
                    "nothing".to_owned()
                } else {
                    self.exports.join(", ")
                }
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn component_headers_are_told_from_modules() {
        assert!(is_component(b"\0asm\x0d\0\x01\0"));
        assert!(!is_component(b"\0asm\x01\0\0\0"));
        assert!(!is_component(b"\0as"));
    }

    #[test]
    fn foreign_imports_and_missing_exports_are_named() {
        let ok = Interface {
            imports: vec![ALLOWED_IMPORTS[0].into(), ALLOWED_IMPORTS[1].into()],
            exports: vec![REQUIRED_EXPORT.into()],
        };
        assert_eq!(ok.validate(), Ok(()));
        let wasi = Interface {
            imports: vec!["wasi:cli/environment@0.2.0".into()],
            ..ok.clone()
        };
        assert!(wasi
            .validate()
            .unwrap_err()
            .contains("`wasi:cli/environment@0.2.0`"));
        let none = Interface {
            exports: vec![],
            ..ok
        };
        assert!(none.validate().unwrap_err().contains("exports: nothing"));
    }
}
