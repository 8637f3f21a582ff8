//! Unit tests of the wire parsers, on frames built by hand.

mod build;
mod ip;
mod link;
mod robustness;
mod transport;
