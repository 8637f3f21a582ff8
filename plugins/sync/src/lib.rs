//! brickwall's state synchronisation plugin: conntrackd's network protocol, as
//! conntrack-tools 1.4 speaks it, so that brickwall and Linux hosts running conntrackd
//! share their connections' states over a dedicated link.
//!
//! Files: [`wire`] (the messages, their header and attributes, as views over bytes that
//! never panic and as builders).

pub mod wire;
