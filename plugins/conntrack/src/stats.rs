//! Statistics, as Linux's `/proc/net/stat/nf_conntrack` (and `conntrack -S`) names them.

use brickwall_control_protocol::conntrack_stats;
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
    /// The fields with their names, in `conntrack -S` order and then the expectation
    /// ones (the names are the control protocol's list).
    pub fn fields(&self) -> [(&'static str, u64); 13] {
        let values = [
            self.found,
            self.invalid,
            self.insert,
            self.insert_failed,
            self.drop,
            self.early_drop,
            self.icmp_error,
            self.search_restart,
            self.clash_resolve,
            self.chaintoolong,
            self.expect_new,
            self.expect_create,
            self.expect_delete,
        ];
        std::array::from_fn(|i| (conntrack_stats::ALL[i], values[i]))
    }
}
