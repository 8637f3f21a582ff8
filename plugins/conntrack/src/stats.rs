//! Statistics, as Linux's `/proc/net/stat/nf_conntrack` (and `conntrack -S`) names them.

use serde::Serialize;

/// Counters of one worker.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Lookups that found a connection.
    pub found: u64,
    /// Packets marked INVALID.
    pub invalid: u64,
    /// Connections inserted into the table.
    pub insert: u64,
    /// Connections that could not be inserted (clash or chain too long).
    pub insert_failed: u64,
    /// Packets dropped by conntrack (table full, failed insert).
    pub drop: u64,
    /// Connections evicted early to make room.
    pub early_drop: u64,
    /// ICMP errors that matched no connection (or failed their checks).
    pub icmp_error: u64,
    /// Connections created from an expectation.
    pub expect_new: u64,
    /// Expectations created.
    pub expect_create: u64,
    /// Expectations deleted.
    pub expect_delete: u64,
    /// Lookups restarted (kept for the format; our table never restarts a walk).
    pub search_restart: u64,
    /// Inserts refused because a chain was longer than the walk limit.
    pub chaintoolong: u64,
    /// Clashes at confirm resolved by reusing the existing connection.
    pub clash_resolve: u64,
}

impl Stats {
    /// The fields in `conntrack -S` order, with their names.
    pub fn fields(&self) -> [(&'static str, u64); 13] {
        [
            ("found", self.found),
            ("invalid", self.invalid),
            ("insert", self.insert),
            ("insert_failed", self.insert_failed),
            ("drop", self.drop),
            ("early_drop", self.early_drop),
            ("error", self.icmp_error),
            ("search_restart", self.search_restart),
            ("clash_resolve", self.clash_resolve),
            ("chaintoolong", self.chaintoolong),
            ("expect_new", self.expect_new),
            ("expect_create", self.expect_create),
            ("expect_delete", self.expect_delete),
        ]
    }
}
