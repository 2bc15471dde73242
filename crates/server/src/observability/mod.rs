//! Logs, request correlation, metrics.

pub mod correlation;
pub mod logging;
pub mod metrics;

pub use correlation::RequestId;
