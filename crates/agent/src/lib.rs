//! Bot-Mox agent: pairing, config, the daemon session and the command executors.

pub mod api;
pub mod backoff;
pub mod config;
pub mod executor;
pub mod pairing;
pub mod secret;
pub mod session;
pub mod transport;
