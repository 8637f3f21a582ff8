//! brickwall's rule vocabulary, shared by the plugins with rules (the filter and NAT):
//! a rule's `match` as users write it ([`config`], with the flexible leaves of
//! [`scalar`]), the parsers of its values ([`parse`], [`names`]), its compilation and
//! checks ([`compile`]) into a [`matcher::Matcher`], the per-packet evaluation against a
//! packet's [`matcher::Facts`] (interface names through [`ifname`]), and its
//! nftables-like text form ([`text`]).
//!
//! Chains, actions and loading stay with each plugin.

#![warn(missing_docs)]

pub mod compile;
pub mod config;
pub mod ifname;
pub mod matcher;
pub mod names;
pub mod parse;
pub mod scalar;
pub mod text;
