//! brickwall's engine: reads frames, parses them, walks them through the five hooks and
//! applies the verdicts of the callbacks that plugins register.

pub mod wire;
pub mod pcap;
pub mod gen;
