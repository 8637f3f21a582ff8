//! Plugin services: named, versioned tables of C functions that one plugin exports and
//! others import, as kernel modules export symbols for the modules that build on them.
//!
//! A plugin lists what it exports and imports in its descriptor
//! ([`Plugin::EXPORTS`](crate::Plugin::EXPORTS), [`Plugin::IMPORTS`](crate::Plugin::IMPORTS)).
//! The engine loads an exporter before its importers, refuses an importer whose
//! service is missing or of an incompatible version (naming both), and keeps an
//! exporter alive as long as a plugin that imported from it. An importer takes its
//! services at init with [`Host::import`](crate::Host::import), which answers only for
//! the services it declared.
//!
//! Versions follow the usual rule: a service of version `M.m` satisfies an import of
//! `M.n` for any `n <= m` (minor versions only append to a table; a major version
//! changes it). Each table starts with its own `size`, so an importer built against a
//! later minor version can tell which appended functions are there.
//!
//! The services plugins of this workspace export are defined here, beside the ABI, so
//! that an importer depends on this crate only: [`conntrack`].

pub mod conntrack;

use crate::abi::BwStr;
use std::ffi::c_void;
use std::fmt;

/// A service's version.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServiceVersion {
    /// Incompatible changes bump it.
    pub major: u16,
    /// Appended functions bump it.
    pub minor: u16,
}

impl ServiceVersion {
    /// Version `major.minor`.
    pub const fn new(major: u16, minor: u16) -> ServiceVersion {
        ServiceVersion { major, minor }
    }

    /// Whether a service of this version satisfies an import of `want`.
    pub fn satisfies(self, want: ServiceVersion) -> bool {
        self.major == want.major && self.minor >= want.minor
    }
}

impl fmt::Display for ServiceVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// A service a plugin exports, as its Rust code declares it.
#[derive(Clone, Copy, Debug)]
pub struct ServiceExport {
    /// The service's name (unique among loaded plugins).
    pub name: &'static str,
    /// Its version.
    pub version: ServiceVersion,
}

/// A service a plugin imports: a name and the oldest compatible version.
#[derive(Clone, Copy, Debug)]
pub struct ServiceImport {
    /// The service's name.
    pub name: &'static str,
    /// The version wanted: the same major, this minor or later.
    pub version: ServiceVersion,
}

/// An exported service in a descriptor: name, version, and the index the plugin's
/// [`ServiceFn`] takes.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ServiceExportRaw {
    /// Name.
    pub name: BwStr,
    /// Version.
    pub version: ServiceVersion,
    /// Passed to the descriptor's `service` function.
    pub index: u32,
}

/// An imported service in a descriptor.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ServiceImportRaw {
    /// Name.
    pub name: BwStr,
    /// Oldest compatible version.
    pub version: ServiceVersion,
    /// Reserved, zero.
    pub _pad: u32,
}

/// A plugin's function that hands out its exported tables: its state and an export's
/// index; the table, alive as long as the plugin, or null.
pub type ServiceFn = extern "C" fn(state: *mut c_void, index: u32) -> *const c_void;

/// A service as the engine hands it to an importer: the exporter's table and the
/// version it has.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ServiceRef {
    /// The table (a `#[repr(C)]` struct the service's definition names).
    pub table: *const c_void,
    /// The exporter's version of the service.
    pub version: ServiceVersion,
}

/// The host's import function: the service named `name[..len]` of at least `version`
/// into `out`. Returns 0, or non-zero when the plugin being initialised did not
/// declare that import or no loaded plugin exports a compatible version.
pub type ImportFn = extern "C" fn(
    ctx: *mut c_void,
    name: *const u8,
    len: usize,
    version: ServiceVersion,
    out: *mut ServiceRef,
) -> i32;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_satisfy_within_a_major() {
        let v = ServiceVersion::new(1, 2);
        assert!(v.satisfies(ServiceVersion::new(1, 0)));
        assert!(v.satisfies(ServiceVersion::new(1, 2)));
        assert!(!v.satisfies(ServiceVersion::new(1, 3)));
        assert!(!v.satisfies(ServiceVersion::new(2, 0)));
        assert!(!ServiceVersion::new(2, 0).satisfies(ServiceVersion::new(1, 0)));
        assert_eq!(v.to_string(), "1.2");
    }
}
