//! The names of conntrack's per-worker statistics, as Linux's
//! `/proc/net/stat/nf_conntrack` and `conntrack -S` spell them: the one list the plugin
//! answers with, `brickwall ct -S` prints, the dashboard shows and the metrics name.

/// The statistics `conntrack -S` prints on a worker's line, in its order (Linux 6.x).
pub const SHOWN: [&str; 10] = [
    "found",
    "invalid",
    "insert",
    "insert_failed",
    "drop",
    "early_drop",
    "error",
    "search_restart",
    "clash_resolve",
    "chaintoolong",
];

/// The expectation statistics (Linux keeps them beside the others; `conntrack -S`
/// leaves them out).
pub const EXPECT: [&str; 3] = ["expect_new", "expect_create", "expect_delete"];

/// Every statistic, in `conntrack -S` order then the expectation ones.
pub const ALL: [&str; 13] = [
    SHOWN[0], SHOWN[1], SHOWN[2], SHOWN[3], SHOWN[4], SHOWN[5], SHOWN[6], SHOWN[7], SHOWN[8],
    SHOWN[9], EXPECT[0], EXPECT[1], EXPECT[2],
];

/// Where node_exporter's conntrack collector reports a statistic: its metric name,
/// for the statistics it knows.
pub fn node_exporter_name(stat: &str) -> Option<&'static str> {
    Some(match stat {
        "found" => "node_nf_conntrack_stat_found",
        "invalid" => "node_nf_conntrack_stat_invalid",
        "insert" => "node_nf_conntrack_stat_insert",
        "insert_failed" => "node_nf_conntrack_stat_insert_failed",
        "drop" => "node_nf_conntrack_stat_drop",
        "early_drop" => "node_nf_conntrack_stat_early_drop",
        "error" => "node_nf_conntrack_stat_icmp_error",
        "search_restart" => "node_nf_conntrack_stat_search_restart",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_full_list_is_the_shown_one_then_expectations() {
        assert_eq!(&ALL[..10], &SHOWN);
        assert_eq!(&ALL[10..], &EXPECT);
        assert_eq!(
            node_exporter_name("error"),
            Some("node_nf_conntrack_stat_icmp_error")
        );
        assert_eq!(node_exporter_name("chaintoolong"), None);
    }
}
