//! Unit tests of the wire crate: the parsers on frames built by hand, the header views,
//! protocol names, checksums and prefixes, and the formats a router builds.

mod build;
mod checksum;
mod cidr;
mod ip;
mod ip_proto;
mod link;
mod robustness;
mod router_formats;
mod transport;
mod views;
