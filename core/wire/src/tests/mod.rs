//! Unit tests of the wire crate: the parsers on frames built by hand, the header views,
//! protocol names, checksums and prefixes.

mod build;
mod checksum;
mod cidr;
mod ip;
mod ip_proto;
mod link;
mod robustness;
mod transport;
mod views;
