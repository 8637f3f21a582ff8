//! Per-helper counters, as the dashboard, `/metrics` and the control channel show them:
//! the control protocol's type, which the host counts into.

pub use brickwall_control_protocol::helpers::HelperStats;
