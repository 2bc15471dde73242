//! The Bot-Mox wire: every type that crosses the network, shared by the server, the agent and
//! the tests. Nothing here does I/O.

pub mod artifacts;
pub mod auth;
pub mod envelope;
pub mod error_code;
pub mod health;
pub mod licenses;
pub mod pagination;
pub mod rules;
pub mod secrets;
pub mod validation;
pub mod vms;

pub use envelope::{ApiErrorBody, ErrorEnvelope, ListMeta, SuccessEnvelope};
